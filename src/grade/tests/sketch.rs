//! The reference sketch's logs in every core version, and the grader's own behaviour.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use super::*;

/// Every reference-sketch fixture log: its verdict, stage and exit code, whether the bytes come at
/// once or in the odd-sized chunks a serial port delivers. The tests below check what else each
/// log must make the report say.
const GRADES: &[(&str, Verdict, &str, u8)] = &[
    ("core24_pass.log", Verdict::Pass, "verdict", 0),
    ("core3x_pass.log", Verdict::Pass, "verdict", 0),
    ("ci_failed.log", Verdict::Fail, "verdict", 1),
    ("ci_pending.log", Verdict::Fail, "verdict", 1),
    ("core31_status_line_body.log", Verdict::Fail, "verdict", 1),
    (
        "fingerprint_mismatch_bssl.log",
        Verdict::Fault,
        "certificate",
        5,
    ),
    ("core24_cert_mismatch.log", Verdict::Fault, "certificate", 5),
    ("esp8266_exception.log", Verdict::Fault, "tls-connect", 5),
    (
        "esp8266_soft_wdt_loop.log",
        Verdict::Fault,
        "tls-connect",
        5,
    ),
    ("esp8266_hw_wdt_reset_loop.log", Verdict::Fault, "boot", 5),
    (
        "esp32_guru_meditation.log",
        Verdict::Fault,
        "tls-connect",
        5,
    ),
    ("esp32_brownout.log", Verdict::Fault, "wifi", 5),
    ("no_wifi.log", Verdict::Timeout, "wifi", 3),
    ("cut_after_request.log", Verdict::Timeout, "request", 3),
    ("esp32_mbedtls_9984.log", Verdict::Fault, "certificate", 5),
    ("core3x_clock_not_set.log", Verdict::Fault, "certificate", 5),
];

#[test]
fn every_fixture_log_gets_its_verdict_stage_and_exit_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs");
    for &(file, verdict, stage, exit) in GRADES {
        let log = std::fs::read(dir.join(file)).unwrap();
        let r = https(&log);
        assert_eq!(
            (r.verdict, r.stage.as_str(), r.exit_code),
            (verdict, stage, exit),
            "{file}: {}",
            r.reason
        );
        assert_eq!(
            r,
            chunked(GradeConfig::new(Profile::HttpsRequest), &log),
            "{file}: the same report when the bytes come in chunks"
        );
    }
}

#[test]
fn core24_lowercase_pass() {
    let r = https(fixture!("core24_pass.log"));
    assert_eq!(r.ci_state.as_deref(), Some("success"));
    assert_eq!(status(&r, "certificate"), StageStatus::Passed);
    assert_eq!(status(&r, "time"), StageStatus::Skipped);
    assert_eq!(r.garbled_lines, 1, "the ROM banner at 74880 baud");
    assert_eq!(
        r,
        chunked(
            GradeConfig::new(Profile::HttpsRequest),
            fixture!("core24_pass.log")
        )
    );
}

#[test]
fn core3x_capitalised_pass_with_ntp_and_a_pinned_ca() {
    let r = https(fixture!("core3x_pass.log"));
    assert_eq!(r.ci_state.as_deref(), Some("success"));
    assert_eq!(status(&r, "time"), StageStatus::Passed);
    let cert = r.stages.iter().find(|s| s.name == "certificate").unwrap();
    assert_eq!(cert.status, StageStatus::Passed);
    assert!(cert.detail.as_deref().unwrap().contains("pinned CA"));
    let wifi = r.stages.iter().find(|s| s.name == "wifi").unwrap();
    assert_eq!(
        wifi.detail.as_deref(),
        Some("SSID sensor-net, IP 192.168.1.104")
    );
}

#[test]
fn ci_failed_is_fail_with_the_state() {
    let r = https(fixture!("ci_failed.log"));
    assert_eq!(r.ci_state.as_deref(), Some("failure"));
    assert!(r.reason.contains("\"failure\""), "{}", r.reason);
}

#[test]
fn ci_pending_is_fail_with_pending() {
    let r = https(fixture!("ci_pending.log"));
    assert_eq!(r.ci_state.as_deref(), Some("pending"));
}

#[test]
fn core31_status_line_as_body_has_no_ci_state() {
    let r = https(fixture!("core31_status_line_body.log"));
    assert_eq!(r.ci_state, None);
    assert!(
        r.reason.contains("did not skip the headers"),
        "{}",
        r.reason
    );
    let headers = r.stages.iter().find(|s| s.name == "headers").unwrap();
    assert!(headers.detail.as_deref().unwrap().contains("3.1"));
}

#[test]
fn fingerprint_mismatch_suggests_the_received_fingerprint() {
    let r = https(fixture!("fingerprint_mismatch_bssl.log"));
    assert_eq!(
        r.suggested_fingerprint.as_deref(),
        Some("59:74:61:88:13:CA:12:34:69:8B:05:5D:1A:4C:8E:67:2E:5C:6A:4B")
    );
    assert!(r.reason.contains("not the pinned 5F:F1:60"), "{}", r.reason);
    assert!(r.diagnostics.iter().all(|d| d.source == "bearssl"));
    assert!(r.diagnostics.len() >= 2);
}

#[test]
fn core24_certificate_doesnt_match_is_a_fault_even_when_ci_is_green() {
    let r = https(fixture!("core24_cert_mismatch.log"));
    // The sketch carried on and read the body: the report still says what it read.
    assert_eq!(r.ci_state.as_deref(), Some("success"));
    assert_eq!(status(&r, "certificate"), StageStatus::Failed);
}

#[test]
fn esp8266_exception_crash() {
    let r = https(fixture!("esp8266_exception.log"));
    assert!(
        r.reason.contains("Exception (28) LoadProhibited"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("null pointer"), "{}", r.reason);
    let c = r.crash.unwrap();
    assert_eq!(c.kind, "exception");
    assert!(c.block.iter().any(|l| l.contains(">>>stack>>>")));
    assert_eq!(c.block.last().map(String::as_str), Some("<<<stack<<<"));
}

#[test]
fn esp8266_soft_wdt() {
    let r = https(fixture!("esp8266_soft_wdt_loop.log"));
    assert_eq!(r.crash.unwrap().kind, "soft-wdt");
    assert!(r.reason.contains("watchdog"), "{}", r.reason);
}

#[test]
fn esp8266_hardware_wdt_reset_loop_at_74880() {
    let r = https(fixture!("esp8266_hw_wdt_reset_loop.log"));
    assert!(r.reason.starts_with("reset loop"), "{}", r.reason);
    assert!(r.reason.contains("hardware watchdog"), "{}", r.reason);
    assert_eq!(r.crash.unwrap().kind, "reset-loop");
}

#[test]
fn esp32_guru_meditation() {
    let r = https(fixture!("esp32_guru_meditation.log"));
    assert!(
        r.reason
            .contains("Guru Meditation Error (LoadProhibited) at PC 0x400d1f6c"),
        "{}",
        r.reason
    );
    let c = r.crash.unwrap();
    assert_eq!(c.kind, "guru-meditation");
    assert!(c.block.last().unwrap().starts_with("Backtrace: 0x400d1f69"));
}

#[test]
fn esp32_brownout() {
    let r = https(fixture!("esp32_brownout.log"));
    assert_eq!(r.crash.unwrap().kind, "brownout");
}

#[test]
fn no_wifi_dots_forever_is_a_timeout_in_wifi() {
    let r = https(fixture!("no_wifi.log"));
    assert!(r.reason.contains("never joined"), "{}", r.reason);
}

#[test]
fn cut_off_after_the_request_is_a_timeout_in_request() {
    let r = https(fixture!("cut_after_request.log"));
    assert_eq!(status(&r, "request"), StageStatus::Failed);
    assert_eq!(status(&r, "headers"), StageStatus::NotReached);
}

#[test]
fn esp32_mbedtls_9984_is_a_certificate_fault() {
    let r = https(fixture!("esp32_mbedtls_9984.log"));
    assert_eq!(
        r.diagnostics.len(),
        1,
        "the code is printed twice, reported once"
    );
    assert_eq!(r.diagnostics[0].code, Some(-9984));
    assert!(r.reason.contains("X509_CERT_VERIFY_FAILED"), "{}", r.reason);
    // The ROM banner at power-on is not a reboot.
    assert!(r.crash.is_none());
}

#[test]
fn clock_not_set_is_explained() {
    let r = https(fixture!("core3x_clock_not_set.log"));
    assert!(r.reason.contains("clock"), "{}", r.reason);
}

#[test]
fn the_clock_line_outranks_the_generic_verify_failure_before_it() {
    let log = b"E (13560) esp-tls: mbedtls_ssl_handshake returned -0x2700\n\
I (13560) esp-tls: Failed to verify peer certificate!\n\
I (13561) esp-tls: verification info:   ! The certificate validity starts in the future\n\
E (13570) esp-tls: Failed to open new connection\n";
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log);
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("mbedTLS"), "{}", r.reason);
    assert!(r.reason.contains("clock"), "{}", r.reason);
    assert!(!r.reason.contains("chain did not verify"), "{}", r.reason);
}

#[test]
fn a_board_that_never_joins_wifi_says_why() {
    let log = b"[D][WiFiGeneric.cpp:342] _eventCallback(): Event: 5 - STA_DISCONNECTED\n\
[W][WiFiGeneric.cpp:357] _eventCallback(): Reason: 201 - NO_AP_FOUND\n\
[D][WiFiGeneric.cpp:342] _eventCallback(): Event: 2 - STA_START\n";
    // The stack said why and nothing after it shows the board on the network: a fault.
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log);
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("Wi-Fi connection failed"), "{}", r.reason);
    assert!(r.reason.contains("201 NO_AP_FOUND"), "{}", r.reason);
    // Once the board is on the network, an old disconnect explains nothing.
    let log = b"[W][WiFiGeneric.cpp:357] _eventCallback(): Reason: 201 - NO_AP_FOUND\n\
[D][WiFiGeneric.cpp:374] _eventCallback(): Event: 7 - STA_GOT_IP\n";
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log);
    assert!(!r.reason.contains("never joined"), "{}", r.reason);
    assert!(
        r.reason.contains("joined the Wi-Fi network, then"),
        "{}",
        r.reason
    );
}

#[test]
fn a_dns_failure_is_the_reason_not_the_connection_refused_after_it() {
    let log = b"[HTTP] GET...\n\
[E][WiFiGeneric.cpp:652] hostByName(): DNS Failed for www.example.org\n\
[E][WiFiClientSecure.cpp:132] connect(): start_ssl_client: -1\n\
[HTTP] GET... failed, error: connection refused\n";
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log);
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(
        r.reason.contains("DNS lookup of www.example.org failed"),
        "{}",
        r.reason
    );
}

#[test]
fn unity_profile() {
    let r = grade_bytes(GradeConfig::new(Profile::Unity), fixture!("unity_fail.log"));
    assert_eq!(
        (r.verdict, r.stage.as_str()),
        (Verdict::Fail, "summary"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("test_division"), "{}", r.reason);
    assert_eq!(r.tests.len(), 3);
    let r = grade_bytes(GradeConfig::new(Profile::Unity), fixture!("unity_pass.log"));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn custom_rules_decide_and_crashes_still_count() {
    let mut config = GradeConfig::new(Profile::Custom);
    config.rules.add_pass("^WiFi connected$").unwrap();
    let r = grade_bytes(config.clone(), fixture!("core24_pass.log"));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("line "), "{}", r.reason);
    let r = grade_bytes(config, fixture!("esp32_brownout.log"));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn the_verdict_is_final_as_soon_as_the_body_line_arrives() {
    let mut g = Grader::new(GradeConfig::new(Profile::HttpsRequest));
    let mut ev = Vec::new();
    let log = fixture!("core24_pass.log");
    let body_end = log.windows(3).position(|w| w == b"}\r\n").unwrap() + 3;
    g.feed(&log[..body_end - 2], Duration::from_millis(5), &mut ev);
    assert!(g.is_open() && !g.is_final(), "waiting for the body line");
    g.feed(
        &log[body_end - 2..body_end],
        Duration::from_millis(6),
        &mut ev,
    );
    assert!(g.is_final());
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Verdict(o) if o.verdict == Verdict::Pass))
    );
}

#[test]
fn settle_makes_an_open_verdict_final() {
    let mut g = Grader::new(GradeConfig::new(Profile::HttpsRequest));
    let mut ev = Vec::new();
    g.feed(b"connecting to x\r\nWiFi connected\r\nconnecting to api.github.com\r\nrequesting URL: /\r\nrequest sent\r\nheaders received\r\nesp8266/Arduino CI has failed\r\n", Duration::ZERO, &mut ev);
    assert!(g.is_open());
    g.settle(&mut ev);
    assert!(g.is_final());
    assert_eq!(g.report().verdict, Verdict::Fail);
    assert_eq!(g.report().ci_state, None);
}

#[test]
fn a_silent_restart_mid_run_is_a_reboot_fault() {
    let log = b"connecting to home\r\n...\r\nWiFi connected\r\nconnecting to api.github.com\r\n\xe0\x8c\x1c\x80\x8e\x02\x8c\xfe\r\nconnecting to home\r\n";
    let r = https(log);
    assert_eq!(
        (r.verdict, r.stage.as_str()),
        (Verdict::Fault, "tls-connect"),
        "{}",
        r.reason
    );
    assert_eq!(r.crash.unwrap().kind, "reboot");
}

#[test]
fn stage_times_are_recorded_when_timed() {
    let mut config = GradeConfig::new(Profile::HttpsRequest);
    config.timed = true;
    let mut g = Grader::new(config);
    let mut ev = Vec::new();
    g.feed(
        b"connecting to home\r\n",
        Duration::from_millis(1500),
        &mut ev,
    );
    let r = g.finish(End::Idle(Duration::from_secs(30)), &mut ev);
    let wifi = r.stages.iter().find(|s| s.name == "wifi").unwrap();
    assert_eq!(wifi.at_ms, Some(1500));
    assert!(r.reason.contains("printed nothing for 30s"), "{}", r.reason);
}

/// Issue 18 item 3: a line longer than the bound is cut, and a run cannot pass on what the cut
/// line seemed to say, nor may a `$`-anchored rule match its (unread) end.
#[test]
fn issue18_item3_a_cut_line_cannot_pass() {
    let mut long = b"{\"state\":\"success\",\"statuses\":[".to_vec();
    long.extend(std::iter::repeat_n(b'x', MAX_LINE + 500));
    long.extend_from_slice(b"]} FAILED\r\n");

    let mut config = GradeConfig::new(Profile::Custom);
    config.rules.add_pass("state\":\"success").unwrap();
    let r = grade_bytes(config, &long);
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(r.reason.contains("cut"), "{}", r.reason);
    assert_eq!(r.lines_cut, 1);

    // `x+$` matches the kept text, but the line's real end was never read.
    let mut config = GradeConfig::new(Profile::Custom);
    config.rules.add_pass("x+$").unwrap();
    let r = grade_bytes(config, &long);
    assert_ne!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert_eq!(r.lines_cut, 1);

    // The same line within the bound is matched in full.
    let mut short = b"{\"state\":\"success\",\"statuses\":[".to_vec();
    short.extend(std::iter::repeat_n(b'x', 20_000));
    short.extend_from_slice(b"]}\r\n");
    let mut config = GradeConfig::new(Profile::Custom);
    config.rules.add_pass("\\]\\}$").unwrap();
    let r = grade_bytes(config, &short);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert_eq!(r.lines_cut, 0);
}

/// Offline, an Arduino IDE log's timestamps time the stages (the monitor kept them; the rules
/// never saw them).
#[test]
fn monitor_timestamps_time_the_stages() {
    let log = b"23:59:59.500 -> connecting to home\r\n\
23:59:59.900 -> ....\r\n\
00:00:01.000 -> WiFi connected\r\n\
00:00:01.100 -> connecting to api.github.com\r\n";
    let r = https(log);
    let at = |name: &str| {
        r.stages
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.at_ms)
    };
    assert_eq!(at("wifi"), Some(0));
    assert_eq!(at("tls-connect"), Some(1_600), "{:?}", r.stages);
}

#[test]
fn auto_picks_unity_from_the_log_and_says_so() {
    let r = grade_bytes(GradeConfig::new(Profile::Auto), fixture!("unity_fail.log"));
    assert_eq!((r.verdict, r.profile.as_str()), (Verdict::Fail, "unity"));
    assert!(r.reason.contains("test_division"), "{}", r.reason);
    let r = grade_bytes(GradeConfig::new(Profile::Auto), fixture!("unity_pass.log"));
    assert_eq!((r.verdict, r.profile.as_str()), (Verdict::Pass, "unity"));
}

#[test]
fn auto_follows_an_idf_app_into_its_unity_tests() {
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        fixture!("idf_unity_app.log"),
    );
    assert_eq!(
        (r.verdict, r.profile.as_str(), r.stage.as_str()),
        (Verdict::Fail, "unity", "summary"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("test_base64_roundtrip"), "{}", r.reason);
    assert_eq!(r.stages[0].status, StageStatus::Passed, "boot carried over");
}

#[test]
fn auto_keeps_the_reference_sketch_and_names_it() {
    let r = grade_bytes(GradeConfig::new(Profile::Auto), fixture!("core24_pass.log"));
    assert_eq!(
        (r.verdict, r.profile.as_str()),
        (Verdict::Pass, "https-request")
    );
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        fixture!("esp8266_exception.log"),
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_plain_idf_app_that_runs_clean_is_no_verdict_with_a_way_out() {
    let log = b"I (29) boot: ESP-IDF v5.1.2 2nd stage bootloader\n\
                I (318) main_task: Calling app_main()\n\
                I (400) app: sensor read 21.5 C\n";
    let r = grade_bytes(GradeConfig::new(Profile::Auto), log);
    assert_eq!(
        (r.verdict, r.profile.as_str(), r.stage.as_str()),
        (Verdict::Timeout, "esp-idf", "run")
    );
    assert!(r.reason.contains("--pass"), "{}", r.reason);
    let mut config = GradeConfig::new(Profile::Auto);
    config.rules.add_pass("sensor read").unwrap();
    assert_eq!(grade_bytes(config, log).verdict, Verdict::Pass);
}

#[test]
fn a_crash_after_another_firmwares_connection_failure_or_a_panic_tail_says_more() {
    let auto = |log: &str| grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes());
    let r = auto(
        "Connect to Server failed!\nCleaning SSL connection.\n\
         Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\n\
         Backtrace: 0x400f4514:0x3ffdd350\n",
    );
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("LoadProhibited"), "{}", r.reason);
    let r = auto("failed to connect to mail server\nssl_error: Unknown error code.\n");
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("TCP or TLS"), "{}", r.reason);
    // Only a panic's tail was captured; it is a fault, and a crash after the reboot says more.
    let r = auto(
        "ELF file SHA256: a5191f47\n\nRebooting...\nrst:0xc (SW_CPU),boot:0x6e (SPI_FAST_FLASH_BOOT)\n",
    );
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("panicked"), "{}", r.reason);
    let r = auto(
        "ELF file SHA256: b8b886e3804b1cdc\n\nRebooting...\n\
         rst:0xc (SW_CPU_RESET),boot:0x12 (SPI_FAST_FLASH_BOOT)\n\
         Guru Meditation Error: Core  0 panic'ed (StoreProhibited). Exception was unhandled.\n\
         Backtrace:0x40145fbf:0x3ffcee70\n",
    );
    assert!(r.reason.contains("StoreProhibited"), "{}", r.reason);
    // A log that starts with the tail and whose run after the reboot passes: that run counts.
    let r = auto(
        "Rebooting...
ets Jun  8 2016 00:22:57

         rst:0xc (SW_CPU_RESET),boot:0x1b (SPI_FAST_FLASH_BOOT)
         [HTTPS] begin...
[HTTPS] GET...
[HTTPS] GET... code: 200
",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    // Not when the firmware printed before the tail: that run is the log's, and it crashed.
    let r = auto(
        "[HTTPS] begin...
Rebooting...
         rst:0xc (SW_CPU_RESET),boot:0x1b (SPI_FAST_FLASH_BOOT)
         [HTTPS] begin...
[HTTPS] GET...
[HTTPS] GET... code: 200
",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_log_that_only_shows_a_boot_out_of_a_watchdog_reset_is_a_fault() {
    let auto = |log: &str| grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes());
    let boot = |cause: &str| {
        format!(
            "rst:{cause},boot:0x13 (SPI_FAST_FLASH_BOOT)\nconfigsip: 0, SPIWP:0xee\n\
             mode:DIO, clock div:1\nload:0x3fff0018,len:4\nentry 0x40080310\n"
        )
    };
    let r = auto(&boot("0x8 (TG1WDT_SYS_RESET)"));
    assert_eq!(r.verdict, Verdict::Fault);
    assert!(r.reason.contains("TG1WDT_SYS_RESET"), "{}", r.reason);
    // An ESP32 says RTCWDT_RTC_RESET at many plain power-ups: no verdict from that alone.
    assert_eq!(
        auto(&boot("0x10 (RTCWDT_RTC_RESET)")).verdict,
        Verdict::Timeout
    );
    // The run after the watchdog reset passed: it is the run that counts.
    let r = auto(&format!(
        "{}[HTTPS] begin...\n[HTTPS] GET...\n[HTTPS] GET... code: 200\n",
        boot("0x8 (TG1WDT_SYS_RESET)")
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn a_log_that_ends_after_wifi_connected_does_not_say_wifi_never_joined() {
    let r = grade_bytes(
        GradeConfig::new(Profile::Auto),
        b"Connecting to ****\n...\nWiFi connected\nIP address: \n10.10.10.106\nConnected\nWaiting...\n",
    );
    assert_eq!(r.verdict, Verdict::Timeout);
    assert!(
        r.reason.contains("joined the Wi-Fi network, then"),
        "{}",
        r.reason
    );
    assert!(!r.reason.contains("never joined"), "{}", r.reason);
}
