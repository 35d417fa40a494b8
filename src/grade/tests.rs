//! Fixture tests of the grader: captured-style logs under `fixtures/logs/`, each with its verdict,
//! stage and the details a user would act on.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/logs/",
            $name
        ))
        .as_slice()
    };
}

fn https(log: &[u8]) -> Report {
    grade_bytes(GradeConfig::new(Profile::HttpsRequest), log)
}

/// Feed the log in small, odd-sized chunks, as a serial port would deliver it, and check the
/// answer is the same as all at once.
fn chunked(config: GradeConfig, log: &[u8]) -> Report {
    let mut g = Grader::new(config);
    let mut ev = Vec::new();
    for c in log.chunks(7) {
        g.feed(c, Duration::ZERO, &mut ev);
    }
    g.finish(End::Eof, &mut ev)
}

fn status(r: &Report, stage: &str) -> StageStatus {
    r.stages
        .iter()
        .find(|s| s.name == stage)
        .map(|s| s.status)
        .unwrap()
}

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

fn auto(log: &str) -> Report {
    grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
}

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
fn connection_advice_fits_the_chip_and_names_the_host() {
    let esp32 = auto(
        "ets Jun  8 2016 00:22:57\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         [   812][I][app.cpp:20] setup(): start\nConnecting to MyWifi\nWiFi connected\n\
         connecting to api.example.com\nconnection failed\n",
    );
    assert_eq!(esp32.verdict, Verdict::Fault, "{}", esp32.reason);
    assert!(esp32.reason.contains("api.example.com"), "{}", esp32.reason);
    assert!(!esp32.reason.contains("BSSL"), "{}", esp32.reason);
    assert!(
        esp32.reason.contains("CORE_DEBUG_LEVEL"),
        "{}",
        esp32.reason
    );
    let esp8266 = auto(
        "SDK:2.2.1(cfd48f3)/Core:2.4.1\nConnecting to MyWifi\nWiFi connected\n\
         connecting to api.example.com\nconnection failed\n",
    );
    assert!(esp8266.reason.contains("BSSL:"), "{}", esp8266.reason);
    // A name other firmware prints before its own failure line.
    let other = auto(
        "00:01:376 connecting to api.monitec.systems\n00:01:973 Request failed. Reason: (0) connection failed\n",
    );
    assert!(
        other.reason.contains("api.monitec.systems"),
        "{}",
        other.reason
    );
}

#[test]
fn websocket_mqtt_and_plain_http_answers_of_other_firmware() {
    let r = auto(
        "TRANSPORT_WS: Sec-WebSocket-Accept not found\nMQTT_CLIENT: Error transport connect\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("WebSocket upgrade"), "{}", r.reason);
    let r =
        auto("WiFi connected\nAttempting MQTT connection...failed, rc=-2 try again in 5 seconds\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("MQTT_CONNECT_FAILED"), "{}", r.reason);
    let r =
        auto("connecting to server...\nConected\nHTTP/1.1 400 Bad Request\nServer: cloudflare\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("400"), "{}", r.reason);
    let r = auto(
        ":ref 1\nBSSL:_connectSSL: start connection\nBSSL:Connection *will* fail, no authentication method is setup\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("setInsecure"), "{}", r.reason);
}

#[test]
fn ota_and_cloud_libraries_that_could_not_reach_their_server_are_faults() {
    for (log, words) in [
        (
            "16:48:15.042 -> HTTP_UPDATE_FAILD Error (-1): HTTP error: connection refused.\n",
            ["HTTPUpdate error -1", "connection refused"],
        ),
        (
            "HTTP_UPDATE_FAILED Error (-1): HTTP error: connection failed\n",
            ["HTTPUpdate error -1", "connection failed"],
        ),
        (
            "E (5885) esp_https_ota: Failed to open HTTP connection: 28675\n",
            ["esp_https_ota", "ESP_ERR_HTTP_CONNECT"],
        ),
        (
            "Token info: type = id token, status = error\n\
             Token error: code: -1, message: connection refused\n",
            ["Firebase", "connection refused"],
        ),
        (
            "E (59859) esp-tls: Failed to connnect to host (errno 104)\n",
            ["esp-tls", "reset the TCP connection (errno 104)"],
        ),
    ] {
        let r = auto(log);
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{log}: {}",
            r.reason
        );
        for w in words {
            assert!(r.reason.contains(w), "{log}: {}", r.reason);
        }
    }
}

#[test]
fn bearssl_handshake_failure_is_a_fault() {
    let r = auto(":c0 2, 7\nBSSL:_wait_for_handshake: failed\n:ur 1\nWS:dis\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("TLS handshake failed"), "{}", r.reason);
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
fn a_micropython_traceback_is_a_fault_that_names_the_exception_and_the_call() {
    let r = auto(
        ">>> s.connect(addr)\n>>> s = ssl.wrap_socket(s)\nTraceback (most recent call last):\n  \
         File \"<stdin>\", line 1, in <module>\nOSError: -40\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("`OSError: -40`"), "{}", r.reason);
    assert!(r.reason.contains("ssl.wrap_socket"), "{}", r.reason);
    // The REPL's echo of `getaddrinfo(…)` is the user's input, not esp-tls failing DNS.
    let r = auto(">>> ai = usocket.getaddrinfo(hostname, 443)\n>>> print(ai)\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    // A crash after a TLS failure and the program's traceback is the headline.
    let r = auto(
        "Socket Open\nmbedtls_ssl_handshake error: -7280\nSocket has timed out: [Errno 5] EIO\n\
         Traceback (most recent call last):\n  File \"main.py\", line 548, in <module>\n\
         OSError: [Errno 22] EINVAL\n\nSending to server /update\nSocket Open\n\n\
         abort() was called at PC 0x40131a87 on core 0\n\nBacktrace: 0x400873fb:0x3ffce020\n",
    );
    assert!(r.reason.contains("abort() was called"), "{}", r.reason);
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
fn an_idf_socket_example_whose_server_closes_without_answering_is_a_fault() {
    let r = auto(
        "I (863514) example: Connection established...\nI (863514) example: 88 bytes written\n\
         I (863514) example: Reading HTTP response...\nI (983584) example: connection closed\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("without sending any response"),
        "{}",
        r.reason
    );
    // With the response printed between them, the status line decides.
    let r = auto(
        "I (5) example: Reading HTTP response...\nHTTP/1.1 200 OK\nContent-Type: text/plain\n\
         \nhello\nI (9) example: connection closed\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
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
fn a_retry_that_gets_a_status_supersedes_the_failed_attempt() {
    let r = auto(
        "[HTTPS] begin...\n[HTTPS] GET...\nBSSL:_wait_for_handshake: failed\n\
         [HTTPS] GET... failed, error: connection refused\n[HTTPS] begin...\n[HTTPS] GET...\n\
         [HTTPS] GET... code: 200\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(r.reason.contains("HTTP 200"), "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    assert!(r.reason.contains("_wait_for_handshake"), "{}", r.reason);
}

#[test]
fn a_request_that_got_no_status_is_a_connection_fault() {
    for log in [
        "[HTTP] begin...\n[HTTP] GET...\n[HTTP] GET... failed, error: connection refused\n",
        "Connected to WiFi network\nError code: -1\n",
        "[HTTPS] GET... code: -11\n",
    ] {
        let r = auto(log);
        assert_eq!(
            (r.verdict, r.exit_code),
            (Verdict::Fault, 5),
            "{log}: {}",
            r.reason
        );
        assert_eq!(r.stage, "tls-connect", "{log}");
        assert!(
            r.reason.contains("before any HTTP status"),
            "{log}: {}",
            r.reason
        );
    }
}

#[test]
fn a_retry_that_connects_withdraws_the_failure_but_not_a_wifi_reconnect() {
    let r =
        auto("BSSL:_wait_for_handshake: failed\nretrying in 5 s\nConnected to server!\nhello\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Timeout, 3),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("a retry connected"), "{}", r.reason);
    let r = auto("BSSL:_wait_for_handshake: failed\nConnected to WiFi\nhello\n");
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
}

#[test]
fn a_crash_is_not_superseded_by_a_later_pass() {
    let r = auto(
        "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\n\
         [HTTPS] GET... code: 200\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

/// The ESP8266 core's BearSSL_Validation example: its first fetch is meant to fail, the next
/// connects (the shape of esp8266/Arduino#4738's log).
#[test]
fn bearssl_examples_trying_lines_fail_and_retry() {
    let log = "WiFi connected\nCurrent time: Thu Nov 26 10:00:00 2026\n\
               Trying: api.github.com:443...*** Can't connect. ***\n-------\n";
    let r = auto(log);
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("connection to api.github.com failed"),
        "{}",
        r.reason
    );
    let r = auto(&format!(
        "{log}\nTrying: api.github.com:443...Connected!\n-------\nHTTP/1.1 200 OK\n-------\n"
    ));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    let r = auto("Current time: Thu Nov 26 10:00:00 2026\nsomething else\n");
    assert!(r.reason.contains("the clock was set"), "{}", r.reason);
}

#[test]
fn a_pubsubclient_retry_that_connects_takes_back_the_failures_before_it() {
    let fail = "Attempting MQTT connection...failed, rc=-2 try again in 5 seconds\n";
    let ok = "Attempting MQTT connection...connected\n";
    let r = auto(&format!("{fail}{fail}{ok}"));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("after 2 failed tries"), "{}", r.reason);
    // Failures only, or a connection lost again after the connect: the fault stands.
    for log in [format!("{fail}{fail}"), format!("{fail}{ok}{fail}")] {
        let r = auto(&log);
        assert_eq!(r.verdict, Verdict::Fault, "{log}: {}", r.reason);
        assert!(r.reason.contains("rc=-2"), "{}", r.reason);
    }
    // A crash is not taken back by a connect.
    let r = auto(&format!(
        "{fail}Exception (28):\nepc1=0x4020a5d4 epc2=0x00000000\n{ok}"
    ));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn a_web_servers_received_host_header_is_not_the_server() {
    let r = auto(
        "WiFi connected\nIP address: 192.168.1.50\nHTTP server started\nGET /update HTTP/1.1\n\
         Host: 192.168.1.50\nBSSL:_wait_for_handshake: failed\n",
    );
    assert!(!r.reason.contains("192.168.1.50"), "{}", r.reason);
    let r = auto("GET /repos HTTP/1.1\nHost: api.github.com\nBSSL:_wait_for_handshake: failed\n");
    assert!(r.reason.contains("api.github.com"), "{}", r.reason);
}

#[test]
fn an_idf_log_pasted_from_mid_run_is_graded_as_an_idf_app() {
    let r = auto(
        "I (5212) wifi:state: run -> init (0)\n\
         W (5222) wifi:disconnected, reason: 8\n\
         I (9130) esp_netif_handlers: sta ip: 192.168.1.7, mask: 255.255.255.0\n\
         E (9510) esp-tls: Failed to open new connection\n\
         E (9520) transport_base: Failed to open a new connection\n",
    );
    assert_eq!(
        (r.verdict, r.profile.as_str()),
        (Verdict::Fault, "esp-idf"),
        "{}",
        r.reason
    );
    // Bootloader lines alone are not an app; an Arduino log keeps its own profile.
    let r =
        auto("I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader\nI (29) boot: compile time 12:00\n");
    assert_ne!(r.profile, "esp-idf");
    let r = auto("connecting to api.github.com\nE (9510) task_wdt: Task watchdog got triggered.\n");
    assert_ne!(r.profile, "esp-idf", "{}", r.reason);
}

/// A real ESP32-C6 core dump's base64 lines (esp-coredump's test data).
const C6_DUMP_B64: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/crashes/coredump/esp32c6/coredump.b64"
));

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
fn an_ota_download_whose_image_is_refused_is_a_no_not_a_fault() {
    let r = auto(
        "I (63543) Ota: Progress: 100% (2653552/2653552), Speed: 7275B/s\n\
         I (63543) HttpClient: HTTP connection closed\n\
         I (63543) esp_image: segment 0: paddr=00410020 vaddr=3c1c0020 size=a6fa4h (683940) map\n\
         E (63753) esp_image: Image hash failed - image is corrupt\n\
         E (63753) esp_ota_ops: New image failed verification\n\
         E (63763) Application: Firmware upgrade failed, restarting audio service\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("Image hash failed"), "{}", r.reason);
    let r = auto("HTTP_UPDATE_FAILD Error (-106): Verify bin header failed\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    // The bootloader checking the installed app is no OTA download.
    let r = auto(
        "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
         I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader\n\
         E (58) esp_image: image at 0x10000 has invalid magic byte (nothing flashed here)\n",
    );
    assert_ne!(r.verdict, Verdict::Fail, "{}", r.reason);
    // Nor when the paste starts at the bootloader's lines, without the ROM banner.
    let r = auto(
        "I (29) boot: ESP-IDF v4.4.5 2nd stage bootloader
         E (58) esp_image: image at 0x10000 has invalid magic byte (nothing flashed here)
",
    );
    assert_ne!(r.verdict, Verdict::Fail, "{}", r.reason);
}

#[test]
fn firebase_token_errors_say_whether_the_server_answered() {
    let r = auto(
        "WiFi connected\nFirebase Client v2.5.5\nToken info: type = id token, status = error\n\
         Token error: code: 400, message: bad request\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("HTTP 400"), "{}", r.reason);
    let r = auto(
        "19:55:29.216 -> Connected with IP: 10.0.0.6\n19:55:29.216 -> Firebase Client v3.9.3\n\
         19:55:29.216 -> Set int... token is not ready\n19:55:34.232 -> Set int... token is not ready\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("auth token"), "{}", r.reason);
}

#[test]
fn esphome_says_why_wifi_never_connected() {
    let r = auto(
        "[18:43:56][I][wifi:1097]: Connecting to [redacted] (attempt 1/2)...\n\
         [18:44:01][W][wifi_esp32:803]: Disconnected ssid='QraIoT' bssid=[redacted] \
         reason='Auth Expired'\n[18:44:01][W][wifi:1673]: Connecting to network failed (callback)\n",
    );
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    assert!(
        r.reason.contains("never joined the Wi-Fi network"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("AUTH_EXPIRE"), "{}", r.reason);
    let r = auto(&"[W][wifi:554]: WiFi Unknown connection status 0\n".repeat(3));
    assert!(
        r.reason.contains("never joined the Wi-Fi network"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("idle"), "{}", r.reason);
}

#[test]
fn a_sketch_that_prints_the_bare_code_after_its_url() {
    let url = "http://updates.example.com/version.txt\n";
    let r = auto(&format!("{url}200\n1 F52187696F59EE5A\n"));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    // Its later requests all time out: the board no longer gets an answer.
    let r = auto(&format!(
        "{url}200\n1 F52187696F59EE5A\n{url}-11\n\n{url}-11\n"
    ));
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("-11, read timeout"), "{}", r.reason);
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
fn the_esp_http_client_examples_sequence_is_graded_by_its_worst_request() {
    let seq = "I (19671) HTTP_CLIENT: HTTP PATCH Status = 200, content_length = 335\n\
               I (21311) HTTP_CLIENT: HTTP DELETE Status = 200, content_length = 308\n\
               I (21721) HTTP_CLIENT: HTTP HEAD Status = 502, content_length = 122\n\
               I (21861) HTTP_CLIENT: HTTP GET Status = 200, content_length = 295\n";
    let r = auto(seq);
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("502"), "{}", r.reason);
    let r = auto(&format!(
        "{seq}I (39341) HTTP_CLIENT: HTTPS request with url =>\n\
         E (39381) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x0050\n"
    ));
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("-0x0050"), "{}", r.reason);
    let r = auto("I (3730) HTTP_CLIENT: HTTP GET Status = 200, content_length = -1\n");
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn nodemcu_lua_http_callbacks_and_cut_micropython_tracebacks() {
    let r = auto(
        "> http.get(\"http://m.xkcd.com/\",function(c, d) print(c,#d) end)\n\
         > I (136615) HTTP_CLIENT: Redirect to https://m.xkcd.com/\n200\t2459\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    // The same line with no http call before it is not a status.
    let r = auto("200\t2459\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    let r =
        auto("http.get(\"https://x.example/\", nil, function(code, data)\nHTTP request failed\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    // A traceback the paste cut before its exception line still stopped the program.
    let r = auto(
        ">>> r = urequests.get('https://www.google.com/')\nTraceback (most recent call last)\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("urequests.get"), "{}", r.reason);
    let r = auto("Traceback (most recent call last):\n  File \"main.py\", line 12, in <module>\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("main.py"), "{}", r.reason);
}

#[test]
fn an_update_server_that_answered_400_fails_and_esphome_connection_lost_is_a_fault() {
    let r = auto(
        "[HTTP-Client][sendRequest] type: 'GET' redirCount: 0\n\
         [HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'\n\
         [HTTP-Client][handleHeaderResponse] RX:\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("400"), "{}", r.reason);
    // The sketch's own line after it says the same, and is no connection fault.
    let r = auto(
        "[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'\n\
         HTTP_UPDATE_FAILD Error (-104): Wrong HTTP Code\n",
    );
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    let r = auto(
        "m[W][http_request:081]: HTTP Request failed; URL: https://reqbin.com/echo/get/json; \
         Error: connection lost\n[HTTP-Client][end] tcp is closed\nBSSL:_connectSSL: start connection\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("connection lost"), "{}", r.reason);
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
fn mqtt_that_works_in_the_firmwares_own_words_passes_and_its_last_state_decides() {
    // Tasmota: rc 8, then connected and publishing, twice over: the retries worked.
    let fail = "22:25:55 MQT: Connect failed to 192.168.10.150:1883, rc 8. Retry in 10 sec\n";
    let ok = "22:26:01 MQT: Connected\n22:26:01 MQT: tele/sonoff01/LWT = Online (retained)\n";
    let r = auto(&format!("{ok}{fail}{ok}{fail}{ok}"));
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    assert!(
        r.reason.contains("after 1 failed try") && r.reason.contains("`MQT: Connected`"),
        "{}",
        r.reason
    );
    // Connected, then lost for good: the failure stands, in Tasmota's words.
    let r = auto(&format!("{ok}{fail}"));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("rc 8"), "{}", r.reason);
    let r = auto("14:48:48 MQTT: Connect FAILED to 192.168.2.139:1883, rc -4.\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("rc -4, MQTT_CONNECTION_TIMEOUT"),
        "{}",
        r.reason
    );
    // ESP-IDF's mqtt/tcp example getting its events, then the connection breaking.
    let events = "I (101963) MQTT_EXAMPLE: MQTT_EVENT_SUBSCRIBED, msg_id=22790\n\
                  I (101983) MQTT_EXAMPLE: MQTT_EVENT_PUBLISHED, msg_id=27724\n\
                  I (101993) MQTT_EXAMPLE: MQTT_EVENT_DATA\nTOPIC=/topic/qos0\nDATA=data\n";
    let r = auto(events);
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("MQTT_EVENT_SUBSCRIBED"), "{}", r.reason);
    let r = auto(&format!(
        "{events}E (28954) MQTT_CLIENT: Read error or end of stream\n\
         I (28954) MQTT_CLIENT: Reconnect after 10000 ms\n"
    ));
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    // coreMQTT: the broker closed the TLS session before its CONNACK.
    let r = auto(
        "E (32003) coreMQTT: A single byte was not read from the transport: transportStatus=-30848.\n\
         E (32013) coreMQTT: CONNACK recv failed with status = MQTTRecvFailed.\n\
         E (32013) coreMQTT: MQTT connection failed with status = MQTTRecvFailed.\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("`MQTTRecvFailed`"), "{}", r.reason);
    // AsyncMqttClient's example: lost, then connected again.
    let r = auto(
        "Connecting to MQTT...\nDisconnected from MQTT.\nConnecting to MQTT...\nConnected to MQTT.\n",
    );
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    assert!(r.reason.contains("earlier attempt failed"), "{}", r.reason);
    let r = auto("Connecting to MQTT...\nDisconnected from MQTT.\n");
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(r.reason.contains("AsyncMqttClient"), "{}", r.reason);
    // A board that reported an earlier crash is graded on it.
    let r = auto(
        "03:58:08 MQT: tele/Tasmota/INFO1 = {\"Module\":\"Generic\"}\n\
         03:58:08 MQT: tele/Tasmota/INFO3 = {\"RestartReason\":{\"Exception\":29,\"Reason\":\"Exception\"}}\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
}

#[test]
fn pasted_micropython_tracebacks_end_on_an_oserror_that_is_named() {
    // Inside markdown back-ticks, and with the `Traceback` header cut off.
    let r = auto(
        "` File \"urequests.py\", line 108, in get`\n\
         `  File \"urequests.py\", line 53, in request`\n`OSError: -202`\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(
        r.reason.contains("`OSError: -202`") && r.reason.contains("getaddrinfo"),
        "{}",
        r.reason
    );
    let r = auto(
        "`Traceback (most recent call last):\n  File \"<stdin>\", line 7, in <module>\n\
         \x20 File \"/lib/urllib/urequest.py\", line 30, in urlopen\nOSError: -40`\n",
    );
    assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    assert!(
        r.reason.contains("-40") && r.reason.contains("handshake_failure"),
        "{}",
        r.reason
    );
}

#[test]
fn blynk_refused_ready_or_never_connected() {
    let r = auto("[846659] Connecting to blynk.cloud:80\n[847566] Invalid auth token.\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Fail, 1), "{}", r.reason);
    assert!(r.reason.contains("auth token"), "{}", r.reason);
    let r = auto("[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n");
    assert_eq!((r.verdict, r.exit_code), (Verdict::Pass, 0), "{}", r.reason);
    let r = auto(
        "Connecting WiFi...\n> Connecting Blynk...\nDisconnected.\nConnecting Blynk...\nDisconnected.\n",
    );
    assert_eq!(
        (r.verdict, r.exit_code),
        (Verdict::Fault, 5),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("`Disconnected.`"), "{}", r.reason);
}

#[test]
fn httpclients_redirect_is_the_answer_unless_it_follows_it() {
    // ESP8266 core 3.1 debug output (esp8266/Arduino #9101's server), behind IDE stamps.
    let head = "12:00:01.100 -> [HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 301 Moved \
                Permanently\n'\n12:00:01.101 -> [HTTP-Client][handleHeaderResponse] RX: \
                'Location: /points/40.697,-74.33\n'\n";
    let r = auto(head);
    assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    assert!(r.reason.contains("301"), "{}", r.reason);
    let r = auto(&format!(
        "{head}[HTTP-Client][sendRequest] following redirect (the same method): \
         'https://api.weather.gov/points/40.697,-74.33' redirCount: 1\n\
         [HTTP-Client][handleHeaderResponse] code: 200\n[HTTPS] GET... code: 200\n"
    ));
    assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
}

#[test]
fn a_timeout_in_unknown_firmware_says_it_printed_lines_no_rule_reads() {
    let r = auto("publish 1\nCount = 1\nRAM free 82016\npublish 2\nCount = 2\nRAM free 82016\n");
    assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    assert!(
        r.reason.contains("printed 6 lines after boot")
            && r.reason.contains("its last line: `RAM free 82016`"),
        "{}",
        r.reason
    );
    // Garbage keeps the baud rate hint; so does a log too short to say the firmware runs.
    let r = auto("\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\na\nb\nc\nd\ne\n");
    assert!(r.reason.contains("wrong --baud"), "{}", r.reason);
    let r = auto("hello\nworld\n");
    assert!(r.reason.contains("wrong --baud"), "{}", r.reason);
}
