//! The `esp-idf` profile: a plain ESP-IDF app (no Arduino sketch). Its log says when the app
//! starts (`main_task: Calling app_main()` from IDF 5.0, `cpu_start: Starting scheduler` before):
//! `auto` picks this profile on that line only. Arduino-ESP32 builds print the bootloader's lines
//! and the odd component error too, but their start-up code logs nothing at the info level.
//! After it only the app's components speak: errors, crashes and resets decide, as under every
//! profile, and HTTP statuses from `esp_http_client` are verdicts. Nothing generic says an IDF
//! app *succeeded*, so a clean run ends without a verdict unless `--pass` says what success prints.

use super::engine::Engine;
use super::model::Stage;

/// The stages, in order.
pub(crate) const STAGES: &[Stage] = &[Stage::Boot, Stage::Run];

/// The line an ESP-IDF app prints as its own code starts: IDF 5.x's `main_task`, and the
/// scheduler start of IDF 3/4 (`cpu_start`) and of IDF 5 on single-core chips (`app_start`).
pub(crate) fn app_started(text: &str) -> bool {
    let Some(rest) = log_body(text) else {
        return false;
    };
    rest.starts_with("main_task: Calling app_main()")
        || rest.starts_with("cpu_start: Starting scheduler")
        || rest.starts_with("app_start: Starting scheduler")
}

/// A line an ESP-IDF app (not its second-stage bootloader) logs: `I (4312) esp-tls: …`,
/// `E (9510) HTTP_CLIENT: …`. A log pasted from the middle of a run may have no `app_main` line.
pub(crate) fn app_line(text: &str) -> bool {
    log_tag(text).is_some_and(|tag| !BOOTLOADER.contains(&tag) && !tag.starts_with("boot."))
}

/// A line only the second-stage bootloader logs (`I (29) boot: ESP-IDF v4.4.5 2nd stage
/// bootloader`, `I (45) boot.esp32: SPI Speed : 40MHz`); not `esp_image`, which the app's OTA
/// code logs too.
pub(crate) fn bootloader_line(text: &str) -> bool {
    log_tag(text).is_some_and(|tag| {
        (BOOTLOADER.contains(&tag) && tag != "esp_image") || tag.starts_with("boot.")
    })
}

/// The bootloader's refusal of the OTA slot it was told to boot: `E (137) boot: OTA app
/// partition slot 1 is not bootable`. The image an OTA update wrote there did not verify (or
/// none was written): the update did not take, and the board boots another slot. Why, quoting
/// the line.
pub(crate) fn slot_not_bootable(text: &str) -> Option<String> {
    let rest = log_body(text)?.strip_prefix("boot:")?.trim();
    let lower = rest.to_ascii_lowercase();
    (lower.contains("slot") && lower.contains("is not bootable")).then(|| {
        format!(
            "the bootloader said `{rest}`: the image in the OTA slot it was told to boot did not \
             verify (or was never written), so the OTA update did not take and the board boots \
             the other app slot"
        )
    })
}

/// The ROM's last line before it runs the second-stage bootloader: `entry 0x40080034`.
pub(crate) fn rom_entry(text: &str) -> bool {
    text.trim()
        .strip_prefix("entry 0x")
        .is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The tags of the bootloader's lines.
const BOOTLOADER: [&str; 7] = [
    "boot",
    "boot_comm",
    "esp_image",
    "qio_mode",
    "bootloader_init",
    "flash_encrypt",
    "secure_boot",
];

/// The tag of an ESP-IDF log line: `I (29) boot: …` → `boot`.
fn log_tag(text: &str) -> Option<&str> {
    log_body(text)
        .and_then(|rest| rest.split_once(':'))
        .map(|(tag, _)| tag)
        .filter(|tag| !tag.is_empty() && !tag.contains(' '))
}

/// `I (1234) tag: message` → `tag: message` (the `(t)` may be a tick count or a wall time).
pub(crate) fn log_body(text: &str) -> Option<&str> {
    let text = text.trim();
    let rest = text
        .strip_prefix(['I', 'W', 'E', 'D', 'V'])?
        .strip_prefix(" (")?;
    let (time, rest) = rest.split_once(") ")?;
    time.chars()
        .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
        .then_some(rest)
}

#[derive(Debug, Default)]
pub(crate) struct State;

impl State {
    pub(crate) fn line(&mut self, core: &mut Engine, text: &str) {
        if app_started(text) || app_speaks(text) {
            core.enter(Stage::Run, Some(text.trim().to_owned()));
        }
    }
}

/// The tags of the bootloader and of the start-up code that runs before `app_main`.
const STARTUP_TAGS: &[&str] = &[
    "boot",
    "boot_comm",
    "bootloader_flash",
    "qio_mode",
    "esp_image",
    "flash_encrypt",
    "secure_boot",
    "cpu_start",
    "app_start",
    "app_init",
    "heap_init",
    "spi_flash",
    "efuse_init",
    "clk",
    "sleep",
    "intr_alloc",
    "system_api",
    "esp_psram",
    "quad_psram",
    "octal_psram",
    "spiram",
    "esp_core_dump_flash",
    "main_task",
];

/// A log line from a component that is not start-up code: the app is running (the ESP8266
/// RTOS SDK prints no `app_main` line; its app's first tag is the first sign).
fn app_speaks(text: &str) -> bool {
    log_body(text)
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(tag, _)| !tag.contains(' ') && !STARTUP_TAGS.contains(&tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootloader_refusing_an_ota_slot_is_read() {
        let why = slot_not_bootable("E (137) boot: OTA app partition slot 1 is not bootable")
            .unwrap_or_default();
        assert!(
            why.contains("`OTA app partition slot 1 is not bootable`"),
            "{why}"
        );
        for line in [
            "E (40) boot: Failed to verify app image @ 0x110000 (8194)",
            "I (52) boot: Loaded app from partition at offset 0x10000",
            "E (12) app: OTA app partition slot 1 is not bootable",
        ] {
            assert_eq!(slot_not_bootable(line), None, "{line}");
        }
        assert!(rom_entry("entry 0x40080034") && rom_entry("entry 0x403cc710 "));
        assert!(!rom_entry("entry 0x") && !rom_entry("entry point 0x40080034"));
    }

    #[test]
    fn app_start_lines_of_every_idf_generation() {
        assert!(app_started("I (318) main_task: Calling app_main()"));
        assert!(app_started(
            "I (527) cpu_start: Starting scheduler on PRO CPU."
        ));
        assert!(app_started(
            "I (12:00:01.123) app_start: Starting scheduler on CPU0"
        ));
        assert!(!app_started(
            "I (29) boot: ESP-IDF v4.4.4 2nd stage bootloader"
        ));
        assert!(!app_started("main_task: Calling app_main()"));
        assert!(app_speaks("I (389) MQTT_EXAMPLE: [APP] Startup.."));
        assert!(!app_speaks(
            "I (369) boot: Loaded app from partition at offset 0x10000"
        ));
    }
}
