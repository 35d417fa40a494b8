//! An app's own error-level line that its firmware update failed on the device: amsreader's
//! `(E) Update failed`, `[E][main.cpp:210] onUpdate(): OTA failed`, `E (8123) app_ota: Firmware
//! update failed`, `[ERROR] OTA Error: 4`. The update ran and did not happen: the answer is no
//! (exit 1), as with the updater's own refusals (`updater.rs`). Lines that blame the network
//! (`OTA failed: connection refused`, `update check failed`), that are not about the firmware
//! (`Shadow update failed`, `NTP update failed`, `Display update failed`), HTTPUpdate's own
//! `Update failed` (its next line says why, often the network) and lines below error level are
//! not read here.

/// The message of an error-level line, past its level and tag: `(E) msg`, `[E] msg`,
/// `[  1234][E][file.cpp:12] func(): msg`, `E (123) tag: msg`, `[ERROR] msg`, `ERROR: msg`.
fn error_message(text: &str) -> Option<&str> {
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || "-|>*#".contains(c));
    // Arduino-ESP32's timestamp before its level: `[  1234][E]…`.
    let t = match t.strip_prefix('[') {
        Some(rest) if rest.starts_with(|c: char| c == ' ' || c.is_ascii_digit()) => {
            let (stamp, after) = rest.split_once(']')?;
            if !stamp.trim().chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            after
        }
        _ => t,
    };
    if t.starts_with("E (") {
        return super::idf::log_body(t).map(|b| b.split_once(": ").map_or(b, |(_, m)| m));
    }
    let level = ["(E)", "[E]", "[ERROR]", "ERROR:"]
        .iter()
        .find(|p| t.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))?;
    let rest = &t[level.len()..];
    // `[E][file.cpp:12] func(): msg`: past the source location and the function.
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']').map_or(r, |(_, m)| m),
        None => rest,
    };
    let rest = rest.trim_start();
    Some(match rest.find("(): ") {
        Some(i) if !rest[..i].contains(' ') => &rest[i + 4..],
        _ => rest,
    })
}

/// Words before `update` that make it the firmware's.
const FIRMWARE: [&str; 15] = [
    "ota",
    "fota",
    "firmware",
    "fw",
    "sketch",
    "app",
    "image",
    "flash",
    "spiffs",
    "littlefs",
    "fs",
    "filesystem",
    "software",
    "the",
    "web",
];

/// Words that put the failure on the network (left to the connection rules), or on a step
/// before the update (a version check).
const NOT_THE_DEVICE: [&str; 14] = [
    "connect",
    "http",
    "download",
    "timeout",
    "timed out",
    "socket",
    "dns",
    "wifi",
    "server",
    "check",
    "no update",
    "not found",
    "404",
    "url",
];

/// Whether `lower` (a message in lower case) says the firmware update failed.
fn says_update_failed(lower: &str) -> bool {
    if NOT_THE_DEVICE.iter().any(|w| lower.contains(w)) {
        return false;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        let subject = match *w {
            "ota" | "fota" => true,
            "update" | "updating" | "upgrade" => i == 0 || FIRMWARE.contains(&words[i - 1]),
            _ => false,
        };
        subject
            && words[i + 1..]
                .iter()
                .take(3)
                .any(|n| n.starts_with("fail") || n.starts_with("error") || n.starts_with("abort"))
    })
}

/// The reason when `text` is an app's error-level line that its firmware update failed.
pub(crate) fn failed(text: &str) -> Option<String> {
    let message = error_message(text)?.trim();
    let lower = message.to_ascii_lowercase();
    // HTTPUpdate's `[E][HTTPUpdate.cpp:355] handleUpdate(): Update failed`: its result line says
    // why; the updater and HTTP rules read that one.
    if text.to_ascii_lowercase().contains("httpupdate") || message.len() > 200 {
        return None;
    }
    says_update_failed(&lower).then(|| {
        format!(
            "the update did not happen: the app logged `{}`: the device could not take or \
             finish the new image (the line does not say which step)",
            text.trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::failed;

    #[test]
    fn an_apps_error_that_its_update_failed_is_read() {
        for line in [
            "(E) Update failed",
            "[E][main.cpp:210] onUpdate(): OTA failed",
            "[ 12034][E][WebOTA.cpp:88] handleUpload(): Update failed!",
            "E (8123) app_ota: Firmware update failed",
            "[ERROR] OTA Error: 4",
            "ERROR: OTA update aborted",
            "(E) Firmware upgrade failed, rolling back",
        ] {
            let why = failed(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains(line.trim()), "{why}");
            assert!(why.contains("did not happen"), "{why}");
        }
    }

    #[test]
    fn other_failures_and_other_levels_are_not_update_failures() {
        for line in [
            // Below error level, or no level at all.
            "(W) Update failed",
            "[I] OTA failed",
            "Update failed",
            "I (8123) app_ota: Firmware update failed",
            // Not the firmware's update.
            "(E) Shadow update failed",
            "[E][ntp.cpp:40] sync(): NTP update failed",
            "(E) Display update failed",
            "E (100) app: time update failed",
            // The network's, or a step before the update.
            "[E][main.cpp:99] ota(): OTA failed: connection refused",
            "(E) Update check failed",
            "E (5123) app: OTA failed, HTTP error 404",
            "[E][HTTPUpdate.cpp:355] handleUpdate(): Update failed",
            // Success, or a word that only looks alike.
            "(E) OTA started",
            "(E) Updated config, failed sensors: 0",
            "[E] \u{0}\u{ff}garbage ota",
        ] {
            assert_eq!(failed(line), None, "{line}");
        }
    }
}
