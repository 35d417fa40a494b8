//! Crashes, resets and boots in any firmware's output, and what a watcher waits for after them.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use super::*;

/// A real ESP32-C6 core dump's base64 lines (esp-coredump's test data).
const C6_DUMP_B64: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/crashes/coredump/esp32c6/coredump.b64"
));

#[test]
fn a_crash_whose_headline_the_log_lacks_is_still_a_crash() {
    // A RISC-V register dump is named by its MCAUSE; a bare Backtrace and an ESP8266 stack
    // dump are crashes too, and win over a connection failure printed before them.
    let r = auto(
        "Core  0 register dump:\nMEPC    : 0x421d736c  RA      : 0x421d7736\n\
         MSTATUS : 0x00001881  MTVEC   : 0x40800001  MCAUSE  : 0x00000007  MTVAL   : 0x00000152\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("Store access fault"), "{}", r.reason);
    let r = auto("15:15:56.412 > Backtrace: 0x400e943f:0x3ffb1f00 0x400d1379:0x3ffb1f20\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("Backtrace"), "{}", r.reason);
    let r = auto(
        "WiFi connected\nConnection failed.\n\nctx: cont\nsp: 3ffea780 end: 3ffea960 offset: \
         01b0\n\n>>>stack>>>\n3ffea930:  3ffe8f88 1600a8c0 00000000 00000000\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("stack dump"), "{}", r.reason);
}

#[test]
fn a_second_cores_register_dump_is_part_of_the_crash_not_a_new_one() {
    let r = auto(
        "Guru Meditation Error: Core  1 panic'ed (Interrupt wdt timeout on CPU1).\n\
         Core  1 register dump:\nPC      : 0x4037d1b2  PS      : 0x00060034\n\
         Backtrace: 0x4037d1af:0x3fcebd20 0x42008d3d:0x3fcebd40\n\
         Core  0 register dump:\nPC      : 0x40377ae2  PS      : 0x00060434\n",
    );
    assert!(r.reason.contains("Interrupt wdt timeout"), "{}", r.reason);
}

#[test]
fn stack_smashing_and_an_unsaved_core_dump_name_what_happened() {
    let r = auto(
        "Stack smashing protect failure!\n\nabort() was called at PC 0x400ef580 on core 1\n\n\
         Backtrace: 0x4008d9ec:0x3ffd9880 0x400ef580:0x3ffd98c0\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("buffer overflow on the stack"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("0x400ef580"), "{}", r.reason);
    // Only the panic's tail: the core dump line, the reboot and the next boot.
    let r = auto(
        "E (638) esp_core_dump_flash: Core dump flash config is corrupted! CRC=0x7bd5c66f instead of 0x0\n\
         Rebooting...\nESP-ROM:esp32s2-rc4-20191025\nrst:0xc (RTC_SW_CPU_RST),boot:0xa (SPI_FAST_FLASH_BOOT)\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("core dump"), "{}", r.reason);
    // A panic headline after it (the next boot's) says more and wins.
    let r = auto(
        "E (157) esp_core_dump_flash: Core dump flash config is corrupted! CRC=0x7bd5c66f instead of 0x0\n\
         Rebooting...\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         assert failed: do_core_init startup.c:328 (flash_ret == ESP_OK)\n",
    );
    assert!(r.reason.contains("do_core_init"), "{}", r.reason);
}

#[test]
fn a_missing_psram_chip_is_a_fault_only_when_the_log_stops_there() {
    let r = auto("entry 0x400805f8\nE (151) psram: PSRAM ID read error: 0xffffffff\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("PSRAM ID read error"), "{}", r.reason);
    // Arduino-ESP32 ignores a missing PSRAM and runs the sketch: its crash is the verdict.
    let r = auto(
        "E (151) psram: PSRAM ID read error: 0xffffffff\n\
         Guru Meditation Error: Core  1 panic'ed (StoreProhibited). Exception was unhandled.\n",
    );
    assert!(r.reason.contains("StoreProhibited"), "{}", r.reason);
}

#[test]
fn boot_failures_asserts_and_reports_of_an_earlier_crash_are_faults() {
    let r = auto(
        "rst:0x10 (RTCWDT_RTC_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)\nload:0x3fff0018,len:4\n\
         load:0xffffffff,len:-1\nets Jun  8 2016 00:22:57\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("load:0xffffffff,len:-1"), "{}", r.reason);
    let r = auto(
        "x |ASSERT_PARAM(576 0), in rwble.c at line 390\n\
         x |Guru Meditation Error: Core  0 panic'ed (IllegalInstruction). Exception was unhandled.\n\
         x |PC      : 0x4008d9e3  PS      : 0x00060e34\n",
    );
    assert!(r.reason.contains("ASSERT_PARAM(576 0)"), "{}", r.reason);
    assert!(r.reason.contains("IllegalInstruction"), "{}", r.reason);
    let r = auto(
        "03:58:08 MQT: tele/Tasmota/INFO3 = {\"RestartReason\":{\"Exception\":29,\"Reason\":\"Exception\"}}\n",
    );
    assert!(r.reason.contains("Exception (29)"), "{}", r.reason);
    // A ROM banner after app output on the same line: the running app was reset.
    let r = auto(
        "I (437) cpu_start: Multicore app ESP-ROM:esp32s3-20210327 Build:Mar 27 2021 \
         rst:0x10 (RTCWDT_RTC_RST),boot:0x2b (SPI_FAST_FLASH_BOOT) entry 0x403c891c\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("RTCWDT_RTC_RST"), "{}", r.reason);
}

#[test]
fn a_panics_bare_rebooting_line_then_a_software_reset_is_a_fault_and_a_later_crash_says_more() {
    // The paste starts at the panic handler's last line; the next boot prints no crash.
    let r = auto(
        "Rebooting...\nESP-ROM:esp32s3-20210327\nrst:0x3 (RTC_SW_SYS_RST),boot:0x9 (SPI_FAST_FLASH_BOOT)\n\
         entry 0x403c9890\nW (281) FLASH: DO NOT USE FOR MASS PRODUCT\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("panicked and rebooted"), "{}", r.reason);
    // The next boot's bare Backtrace is that crash, and names it.
    let r = auto(
        "Rebooting...\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         Backtrace: 0x40088538:0x3ffd4460 0x40088637:0x3ffd4480\n",
    );
    assert!(r.reason.contains("Backtrace"), "{}", r.reason);
    // An update that succeeded restarts on purpose: its `Rebooting...` is the update's last
    // step, a pass, not a panic's tail.
    let r = auto("Update Success: 228624\nRebooting...\n");
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn an_idf_apps_esp_err_line_or_a_boot_loop_guard_decides_a_log_that_ends_there() {
    let r = auto(
        "I (209439) tool_time: Fetching current time...\n\
         E (214119) tool_time: Error: failed to fetch time (ESP_ERR_NOT_FOUND)\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("failed to fetch time"), "{}", r.reason);
    // An app that went on for a while after its error is not stopped there.
    let mut log = "E (1) app: sntp sync failed: ESP_ERR_TIMEOUT\n".to_owned();
    for t in 0..30 {
        log.push_str(&format!("I ({t}00) app: reading sensor {t}\n"));
    }
    assert_eq!(auto(&log).verdict, Verdict::Timeout);
    // An HTTP status after it is the run's verdict.
    let r = auto(
        "E (1) app: sntp sync failed: ESP_ERR_TIMEOUT\n\
         I (9) HTTP_CLIENT: HTTP GET Status = 200, content_length = 12\n",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    let r = auto(
        "---WLED 0.16.0-alpha 2506160 INIT---\nchecking for bootloop: time 31047, counter 3, action 3\n\
         crash detected!\nrestore /cfg.json\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("boot-loop guard"), "{}", r.reason);
}

#[test]
fn a_crash_is_not_superseded_by_a_later_pass() {
    let r = auto(
        "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\n\
         [HTTPS] GET... code: 200\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_watcher_waits_for_the_core_dump_a_crash_prints() {
    // A real C6 dump (esp-coredump's) after the abort it records, arriving as a port delivers
    // it: the verdict is a fault at the abort, but not final until the block's end marker.
    let b64 = C6_DUMP_B64;
    let mut g = Grader::new(GradeConfig::new(Profile::Auto));
    let mut ev = Vec::new();
    let head = "abort() was called at PC 0x4200c3d5 on core 0\n\n\
                ================= CORE DUMP START =================\n";
    g.feed(head.as_bytes(), Duration::ZERO, &mut ev);
    assert!(!g.is_final());
    g.feed(b64.as_bytes(), Duration::ZERO, &mut ev);
    assert!(!g.is_final());
    g.feed(
        b"================= CORE DUMP END =================\n",
        Duration::ZERO,
        &mut ev,
    );
    assert!(g.is_final());
    let r = g.finish(End::Eof, &mut ev);
    assert_eq!(r.verdict, Verdict::Fault);
    let dump = r.core_dump.unwrap();
    assert_eq!(dump.error, None);
    assert_eq!(dump.tasks.len(), 3);
    assert_eq!(dump.tasks[0].name.as_deref(), Some("main"));
}

#[test]
fn a_watcher_waits_for_the_panic_handlers_tail_after_the_backtrace() {
    // The Guru Meditation ends at its Backtrace in one read; the handler's ELF SHA-256 and the
    // core dump arrive in later reads. A watcher must not stop in between.
    let b64 = C6_DUMP_B64;
    let mut g = Grader::new(GradeConfig::new(Profile::Auto));
    let mut ev = Vec::new();
    let crash = "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\n\
                 Core  0 register dump:\nPC      : 0x400d1234  PS      : 0x00060830\n\n\
                 Backtrace: 0x400d1234:0x3ffb1f00 0x400d5678:0x3ffb1f20\n";
    g.feed(crash.as_bytes(), Duration::ZERO, &mut ev);
    assert!(
        !g.is_final() && g.is_open(),
        "the handler is still printing"
    );
    g.feed(
        b"\n\nELF file SHA256: 64d3738c1a2b3c4d\n\n================= CORE DUMP START =================\n",
        Duration::ZERO,
        &mut ev,
    );
    g.feed(b64.as_bytes(), Duration::ZERO, &mut ev);
    g.feed(
        b"================= CORE DUMP END =================\n",
        Duration::ZERO,
        &mut ev,
    );
    assert!(g.is_final(), "the dump is the handler's last word");
    let r = g.finish(End::Eof, &mut ev);
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("LoadProhibited"), "{}", r.reason);
    assert_eq!(r.core_dump.map(|d| d.tasks.len()), Some(3));
    // The handler's own SHA-256 line names the build that crashed.
    assert_eq!(
        r.crash.and_then(|c| c.elf_sha256).as_deref(),
        Some("64d3738c1a2b3c4d")
    );

    // A handler that halts, or waits for Enter before the dump, goes quiet: the watcher's
    // settle ends the wait.
    let mut g = Grader::new(GradeConfig::new(Profile::Auto));
    g.feed(crash.as_bytes(), Duration::ZERO, &mut ev);
    g.feed(
        b"\nELF file SHA256: 64d3738c1a2b3c4d\n",
        Duration::ZERO,
        &mut ev,
    );
    assert!(!g.is_final() && g.is_open());
    g.settle(&mut ev);
    assert!(g.is_final());

    // Without a core dump, `Rebooting...` ends the wait.
    let mut g = Grader::new(GradeConfig::new(Profile::Auto));
    g.feed(crash.as_bytes(), Duration::ZERO, &mut ev);
    assert!(!g.is_final());
    g.feed(
        b"\nELF file SHA256: 64d3738c1a2b3c4d\n\nRebooting...\n",
        Duration::ZERO,
        &mut ev,
    );
    assert!(g.is_final());
}

#[test]
fn a_reset_that_cuts_the_firmwares_output_or_repeats_a_watchdog_is_a_fault() {
    // The chip reset mid-print by a reset nobody asked for: the board reset while running.
    let r = auto(
        "count: 2, printing a long message\ncount: 1, printing a long mesets Jun  8 2016 00:22:57\n\n\
         rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\nconfigsip: 0, SPIWP:0xee\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("mid-line"), "{}", r.reason);
    // A monitor that resets the board as it opens the port cuts the remnant short too.
    let r = auto(
        "--- idf_monitor on /dev/ttyUSB0 115200 ---\n segment 2: pets Jun  8 2016 00:22:57\n\n\
         rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\nconfigsip: 0, SPIWP:0xee\n",
    );
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    // Out of a watchdog reset and straight into another one: a reset loop.
    let boot = "rst:0x8 (TG1WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
                configsip: 188777542, SPIWP:0xee\nmode:DIO, clock div:1\nentry 0x400805e4\n\
                ets Jun  8 2016 00:22:57\n\n";
    let r = auto(&boot.repeat(2));
    assert!(r.reason.starts_with("reset loop"), "{}", r.reason);
    // A hung board that someone then resets by hand has not looped.
    let r = auto(&format!(
        "{boot}rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\nconfigsip: 0\n"
    ));
    assert!(!r.reason.starts_with("reset loop"), "{}", r.reason);
    // The ESP8266 SDK's start-up report of a reset by the reset pin is not the crash.
    let r = auto(
        "Fatal exception:0 flag:6 (EXT_SYS_RST) epc1:0x00000000 epc2:0x00000000 epc3:0x00000000\n\
         ......\nException (29):\nepc1=0x402242ff epc2=0x00000000 epc3=0x00000000 \
         excvaddr=0x00000038 depc=0x00000000\n",
    );
    assert!(r.reason.contains("Exception (29)"), "{}", r.reason);
}

#[test]
fn a_boot_into_download_mode_is_flashing_not_a_reboot() {
    // idf.py flash monitor on an ESP32-C3: the ROM loader waits, esptool resets it, it boots.
    let r = auto(
        "Hard resetting via RTS pin...\nESP-ROM:esp32c3-api1-20210207\n\
         rst:0x1 (POWERON),boot:0x5 (DOWNLOAD(USB/UART0/1))\nwaiting for download\n\
         ESP-ROM:esp32c3-api1-20210207\nrst:0x1 (POWERON),boot:0xd (SPI_FAST_FLASH_BOOT)\n\
         I (30) boot: ESP-IDF v5.4-dirty 2nd stage bootloader\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Timeout, 3),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("log ended"), "{}", r.reason);
    // Out of a watchdog reset, the download-mode boot still says the run before it hung.
    let r = auto("\n ets Jan  8 2013,rst cause:4, boot mode:(1,0)\n\nwdt reset\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("watchdog"), "{}", r.reason);
    // Two boots from flash in a row are still a reboot.
    let r = auto(
        "rst:0x1 (POWERON),boot:0x13 (SPI_FAST_FLASH_BOOT)\nI (31) boot: ESP-IDF v5.1\n\
         rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_crash_while_reading_the_body_after_http_200_is_a_fault() {
    let log = "[HTTP] GET... code: 200\n[HTTP-Client] read chunk len: 7656\n\
               Fatal exception 3(LoadStoreErrorCause):\n\nException (3):\n\
               epc1=0x4010044e epc2=0x00000000 epc3=0x00000000 excvaddr=0x40248740 depc=0x00000000\n";
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes());
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("Exception (3)"), "{}", r.reason);
    // Without the crash the 200 still passes.
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"[HTTP] GET... code: 200\n<html>ok</html>\n",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn a_software_reset_after_framework_log_lines_is_a_reboot() {
    let head = "[10:32:32][I][app:090]: Running through setup()\n\
                [10:32:32][C][component:164]: Setup preferences took 1ms\n\
                [10:32:32][C][wifi:060]: Starting\n";
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        format!("{head}[10:32:32]ets Jun  8 2016 00:22:57\n[10:32:32]rst:0x3 (SW_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n").as_bytes(),
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("SW_RESET"), "{}", r.reason);
    // The same lines before a power-on banner: the user reset the board, no verdict from that.
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        format!("{head}rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n").as_bytes(),
    );
    assert_ne!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn the_error_right_before_a_crash_is_named_with_it() {
    let r = auto(
        "[E][WiFiClient.cpp:365] write(): fail on fd 54, errno: 104, \"Connection reset by peer\"\n\
         Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\n\
         Core 1 register dump:\nPC      : 0x40141c8c  PS      : 0x00060a30\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("LoadProhibited") && r.reason.contains("Connection reset by peer"),
        "{}",
        r.reason
    );
    // The ESP8266 core's decoder banner is the crash's own output, not an error before it.
    let r = auto(
        "--------------- CUT HERE FOR EXCEPTION DECODER ---------------\n\
         Exception (28):\nepc1=0x40206a4e epc2=0x00000000 excvaddr=0x00000000\n",
    );
    assert!(!r.reason.contains("right before it"), "{}", r.reason);
}

#[test]
fn a_reboot_whose_rom_banner_lost_its_rst_line_is_still_a_reboot() {
    let run = "I (237) cpu_start: Pro cpu up.\nI (300) main: start\n\
               >>> wlan_connect('net', 'pass')\nI (37860) wifi: wifi driver task: 3ffcb834\n\
               I (37990) phy: phy_version: 3910, c0c45a3\u{fffd}\u{fffd}ets Jun  8 2016 00:22:57\n\n\
               ets Jun  8 2016 00:22:57\n\nconfigsip: 0, SPIWP:0xee\nmode:DIO, clock div:2\n\
               entry 0x4007ad68\nI (237) cpu_start: Pro cpu up.\n";
    let r = auto(run);
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("rebooted"), "{}", r.reason);
    // The usual banner, its rst: line and the loader: one start, no reboot.
    let start = auto(
        "ets Jun  8 2016 00:22:57\n\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         configsip: 0, SPIWP:0xee\nmode:DIO, clock div:2\nentry 0x4007ad68\n\
         I (237) cpu_start: Pro cpu up.\n",
    );
    assert_eq!(start.verdict, Verdict::Timeout, "{}", start.reason);
}
