//! Lines after which firmware may stop without a crash: a MicroPython program's uncaught
//! exception, an ESP-IDF PSRAM chip that did not answer, and a restart reason that a running
//! board reports about the crash, watchdog or brownout before it (Tasmota's `RestartReason`, a
//! sketch that prints `esp_reset_reason()` or `ESP.getResetReason()`).

/// The start of a MicroPython (CPython-style) traceback, also when a paste cut its colon off.
pub(crate) fn traceback_start(text: &str) -> bool {
    let t = text.trim();
    t.strip_suffix(':').unwrap_or(t) == "Traceback (most recent call last)"
}

/// The reason for a traceback the log cut off before its exception line: the program still
/// stopped on an uncaught exception.
pub(crate) fn cut_traceback_reason(
    line: usize,
    frame: Option<&str>,
    statement: Option<&str>,
) -> String {
    let mut s = format!(
        "the MicroPython program stopped on an uncaught exception: the traceback at line {line} \
         is cut off before the exception's line"
    );
    if let Some(f) = frame {
        s.push_str(&format!(" (last frame: {})", f.trim()));
    }
    if let Some(st) = statement {
        s.push_str(&format!(", raised by `{}`", st.trim()));
    }
    s
}

/// A frame of a traceback: `  File "main.py", line 368, in <module>` (some consoles drop the
/// indent).
pub(crate) fn traceback_frame(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("File \"") || (text.starts_with(' ') && !t.is_empty())
}

/// The reason for a traceback that ended with `exception` (`OSError: [Errno 113] ECONNABORTED`),
/// its last frame `frame` and the last REPL statement `statement` before it.
pub(crate) fn traceback_reason(
    line: usize,
    exception: &str,
    frame: Option<&str>,
    statement: Option<&str>,
) -> String {
    let mut s = format!(
        "the MicroPython program stopped on an uncaught exception at line {line}: `{}`",
        exception.trim()
    );
    if let Some(f) = frame {
        s.push_str(&format!(" ({})", f.trim()));
    }
    if let Some(st) = statement {
        s.push_str(&format!(", raised by `{}`", st.trim()));
    }
    let lower = exception.to_ascii_lowercase();
    if let Some(meaning) = super::pytrace::oserror(exception) {
        s.push_str(&meaning);
    } else if lower.starts_with("oserror") {
        s.push_str(
            "; an OSError is the network or TLS call failing (a negative number is the TLS \
             library's code, an Errno the socket's)",
        );
    }
    s
}

/// A MicroPython REPL statement the user typed: `>>> s = ssl.wrap_socket(s)`.
pub(crate) fn repl_statement(text: &str) -> Option<&str> {
    let t = text.trim_start();
    let s = t.strip_prefix(">>> ").or_else(|| t.strip_prefix(">> "))?;
    (!s.trim().is_empty()).then_some(s)
}

/// ESP-IDF found no PSRAM chip where the build expects one: `E (151) psram: PSRAM ID read
/// error: 0xffffffff`, `E (299) quad_psram: PSRAM ID read error: 0x00ffffff, …`.
pub(crate) fn psram_missing(text: &str) -> Option<String> {
    let i = text.find("PSRAM ID read error")?;
    let said = text[i..].split(',').next().unwrap_or(&text[i..]).trim();
    Some(format!(
        "the PSRAM chip did not answer (`{said}`): the module has no PSRAM, or the build's \
         PSRAM mode (quad/octal) or pins are not the module's; turn PSRAM off for this module or \
         pick its mode, and the log stops after it (an ESP-IDF build aborts here unless told to \
         ignore a missing PSRAM)"
    ))
}

/// A board that reports its last restart was a crash: Tasmota's `INFO3` or `STATUS1`
/// `{"RestartReason":{"Exception":29,"Reason":"Exception",…}}`, and the boot-loop guards of
/// WLED (`checking for bootloop: …`, then `crash detected!`) and ESPHome's safe mode
/// (`Boot loop detected. Proceeding to safe mode.`).
pub(crate) fn reported_crash(text: &str) -> Option<String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.starts_with("crash detected") {
        return Some(
            "the firmware's boot-loop guard says the board crashed before this boot (WLED's \
             `crash detected!`: it restarted several times in a row soon after booting); the \
             crash itself is not in this log, capture the boot before it"
                .to_owned(),
        );
    }
    if lower.contains("boot loop detected") {
        return Some(format!(
            "the firmware's boot-loop guard says the board kept crashing or resetting soon after \
             boot (`{}`); the crash itself is not in this log, capture the boots before it",
            text.trim()
        ));
    }
    let i = text.find("\"RestartReason\":{\"Exception\":")?;
    let rest = &text[i + 29..];
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u32 = n.parse().ok()?;
    let name = super::crash::exception_name(n)
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    Some(format!(
        "the board reports that it restarted after a crash: Exception ({n}){name} (Tasmota's \
         RestartReason; its EPC says where), so it crashed before this log"
    ))
}

/// A board that prints why it last reset, and the reason is a fault: ESP-IDF's descriptions
/// of `esp_reset_reason()` (`Brownout reset (software or hardware)`, `Software reset due to
/// exception/panic`, …) or their names (`ESP_RST_BROWNOUT`), the RTC's (`RTCWDT_BROWN_OUT_RESET`,
/// as arduino-esp32's ResetReason example prints it), and the ESP8266's `ESP.getResetReason()`
/// (`Hardware Watchdog`, `Exception`) after the word "reason". A ROM banner's `rst:` line is a
/// boot, not this.
pub(crate) fn reported_reset(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let what = if lower.contains("brownout reset (software or hardware)")
        || lower.contains("esp_rst_brownout")
        || lower.contains("brown_out_reset")
        || lower.contains("brownout_rst")
    {
        "brownout"
    } else if lower.contains("software reset due to exception/panic")
        || lower.contains("esp_rst_panic")
    {
        "crash (a panic)"
    } else if lower.contains("due to interrupt watchdog")
        || lower.contains("due to task watchdog")
        || lower.contains("due to other watchdogs")
        || lower.contains("esp_rst_int_wdt")
        || lower.contains("esp_rst_task_wdt")
        || lower.contains("esp_rst_wdt")
    {
        "watchdog reset"
    } else if let Some(i) = lower.find("reason") {
        // The ESP8266 core's `ESP.getResetReason()` words, after `reason`, as a log line
        // (`Reset Reason: Software Watchdog`, ESPEasy's and ESPHome's debug lines) or as a
        // JSON value (Tasmota's `STATUS1` `"RestartReason":"Software Watchdog"`).
        // OVMS's `Reset reason: Task watchdog (6)`: the code after the words.
        let said = lower[i..].trim_end();
        let said = match said.rsplit_once(" (") {
            Some((words, code))
                if code
                    .strip_suffix(')')
                    .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit())) =>
            {
                words
            }
            _ => said,
        };
        // Only Tasmota's own key: the `"Reason":"Exception"` inside its `RestartReason`
        // object is the stack block's (tasmota.rs), with the exception's number.
        let json = lower.find("\"restartreason\":\"").map(|j| &lower[j + 17..]);
        let said = match json {
            Some(value) => value.split('"').next().unwrap_or(value),
            None if said.starts_with("reason\":") => return None,
            None => said,
        };
        let watchdog = [
            "hardware watchdog",
            "software watchdog",
            "soft wdt",
            "task watchdog",
            "interrupt watchdog",
        ];
        if watchdog.iter().any(|w| said.ends_with(w)) {
            "watchdog reset"
        } else if said.ends_with(": exception")
            || said.ends_with("= exception")
            || said == "exception"
            || said.ends_with("exception/panic")
        {
            "crash (an exception)"
        } else {
            return None;
        }
    } else {
        return None;
    };
    let said = text.trim();
    Some(if what == "brownout" {
        format!(
            "the board reports that its last reset was a brownout (`{said}`): the supply sagged \
             before this log (a weak USB port or cable, or a Wi-Fi current peak); power it \
             properly"
        )
    } else {
        format!(
            "the board reports that its last reset was a {what} (`{said}`), so the firmware \
             failed before this log"
        )
    })
}

/// An ESP-IDF app's own error line naming an `esp_err_t`: `E (214119) tool_time: Error: failed
/// to fetch time (ESP_ERR_NOT_FOUND)`. When nothing follows it, the run stopped at that error.
pub(crate) fn app_error(text: &str) -> Option<String> {
    let t = text.trim();
    if !t.starts_with("E (") {
        return None;
    }
    let body = super::idf::log_body(t)?;
    let lower = body.to_ascii_lowercase();
    let names_error = body.contains("ESP_ERR_") || body.contains("ESP_FAIL");
    let says_failed = ["fail", "error", "unable", "could not", "cannot", "can't"]
        .iter()
        .any(|w| lower.contains(w));
    (names_error && says_failed).then(|| {
        format!(
            "the app logged an error and the log ends without another verdict: `{body}` (the \
             ESP_ERR_ name is the esp_err_t the failing call returned)"
        )
    })
}

/// A Firebase library's `token is not ready` (its `errorReason()` for every call made before
/// it got an auth token; sketches print it as `Set int... token is not ready`). When nothing
/// follows it, the board never got the token.
pub(crate) fn token_not_ready(text: &str) -> Option<String> {
    let t = text.trim();
    t.to_ascii_lowercase()
        .contains("token is not ready")
        .then(|| {
            format!(
                "the Firebase library never got its auth token (`{t}`) and the log ends there: \
                 its request to Google's token server did not succeed (the network, DNS, TLS or \
                 the clock, or the API key and credentials; a `tokenStatusCallback` prints the \
                 token error)"
            )
        })
}

/// Lines within which connection errors are one failure: its first line is the cause, the last
/// the firmware's summary of it (ESP Mail Client's `! E: could not get ip from host` then `> E:
/// unable to connect to server`).
const BURST: usize = 6;

/// The connection errors of unknown firmware, one burst at a time.
#[derive(Debug, Default)]
pub(crate) struct ConnectionErrors {
    /// The first error line of the latest burst (line, text), and the burst's last line.
    first: Option<(usize, String, usize)>,
}

impl ConnectionErrors {
    /// Read one line: the reason, when it says the connection failed, quoting the burst's
    /// first error when that was an earlier line.
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<String> {
        let t = text.trim();
        if !connection_failed(t) {
            return None;
        }
        let first = match self.first.take() {
            Some((at, cause, last)) if number.saturating_sub(last) <= BURST => (at, cause),
            _ => (number, t.to_owned()),
        };
        let cause = if first.0 == number {
            String::new()
        } else {
            format!(
                ", after line {}'s `{}` (the first error of this failure)",
                first.0, first.1
            )
        };
        self.first = Some((first.0, first.1, number));
        Some(format!(
            "the last error the firmware printed before the log ends is about its connection: \
             `{t}`{cause} (espcheck does not know this firmware's lines; it reads this as a \
             failed connection, and the line does not say whether TCP or TLS failed)"
        ))
    }
}

/// A line of firmware espcheck does not know that says its connection failed, in any words:
/// `Connection lost while reading`, `MQT: TLS connection error: 55`, `Host unreachable`,
/// `Failed to get token`; mobizt's libraries' (ESP Mail Client, Firebase) error marker `! E:`
/// before an error code (`! E: UNKNOWN ERROR CODE (0001)`, their TLS client's). When nothing
/// follows it, the run stopped there.
fn connection_failed(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("! e:") && lower.contains("error code") && t.len() < 200 {
        return true;
    }
    // A library's debug and verbose lines narrate, and its info and warning lines (ESP-IDF's
    // `W (19844) websocket_client: `network_timeout_ms` is not set, ... using default time out`,
    // Arduino-ESP32's `[W]`) announce a default or a retry: none of them is its verdict.
    let debug = ["[d]", "[v]", "[i]", "[w]", "d (", "v (", "i (", "w ("]
        .iter()
        .any(|p| lower.starts_with(p) || lower.contains(&format!("]{p}")))
        // An Arduino-ESP32 log tag's level decides its line, whatever a `Serial.print` left
        // glued before it: `Error[V][ssl_client.cpp:279] send_ssl_data(): Writing HTTP...`.
        || ["[d][", "[v]["].iter().any(|p| lower.contains(p));
    if debug || super::mbedtls_trace::narrates(t) || super::lasterror::trace_level(t) {
        return false;
    }
    let words = |list: &[&str]| {
        lower
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
            .any(|w| list.iter().any(|l| w.starts_with(l)))
    };
    let net = words(&[
        "ssl",
        "tls",
        "handshake",
        "connect",
        "socket",
        "dns",
        "host",
        "http",
        "mqtt",
        "cert",
        "server",
        "broker",
        "websocket",
        "url",
        "request",
        "token",
    ]);
    let failed = words(&[
        "fail",
        "error",
        "err",
        "refused",
        "lost",
        "unable",
        "cannot",
        "can't",
        "couldn't",
        "timeout",
        "unreachable",
        "rejected",
        "denied",
    ]) || lower.contains("timed out")
        || lower.contains("could not");
    let not_a_failure = [
        "no error",
        "errors: 0",
        "error: 0",
        "error=0",
        "without error",
        "0 errors",
    ]
    .iter()
    .any(|w| lower.contains(w));
    // Wi-Fi's own failures (`WL_CONNECTION_LOST`, `Reason: 15 - 4WAY_HANDSHAKE_TIMEOUT`) say the
    // board never got on the network: the Wi-Fi rules explain those.
    let wifi = super::wifi::about_wifi(&lower);
    net && failed && !not_a_failure && !wifi && t.len() < 300
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firebase_token_that_never_came() {
        let r = token_not_ready("Set int... token is not ready").unwrap_or_default();
        assert!(
            r.contains("auth token") && r.contains("`Set int... token is not ready`"),
            "{r}"
        );
        assert_eq!(
            token_not_ready("Token info: type = id token, status = ready"),
            None
        );
    }

    #[test]
    fn a_connection_error_in_any_firmwares_words() {
        for l in [
            "Connection lost while reading",
            "[E][HTTPSRedirect.cpp:57] request failed: connection lost",
            "00:00:12 MQT: TLS connection error: 55",
            "Host unreachable",
            "Failed to get token",
        ] {
            let r = ConnectionErrors::default().line(1, l).unwrap_or_default();
            assert!(r.contains(&format!("connection: `{l}` (espcheck")), "{r}");
        }
        // ESP Mail Client: the first error of the burst is the cause, the last its summary.
        let mut errors = ConnectionErrors::default();
        let lines = [
            "! E: could not get ip from host",
            "> C: cleaning SSL connection",
            "Error, unable to connect to server",
            "> E: unable to connect to server",
        ];
        let said: Vec<Option<String>> = (1..).zip(lines).map(|(n, l)| errors.line(n, l)).collect();
        let last = said[3].as_deref().unwrap_or_default();
        assert!(
            last.contains("`> E: unable to connect to server`")
                && last.contains("line 1's `! E: could not get ip from host`"),
            "{last}"
        );
        let tls = ConnectionErrors::default().line(9, "! E: UNKNOWN ERROR CODE (0001)");
        assert!(tls.is_some_and(|r| r.contains("(0001)")));
        // An error long after is a failure of its own.
        let again = errors.line(40, "Host unreachable").unwrap_or_default();
        assert!(!again.contains("after line"), "{again}");
        for l in [
            "Connecting to server",
            "WiFi connection failed",
            "HTTP request done, no error",
            "errors: 0",
            "Request sent",
            "[D][WiFiClient.cpp:482] connected(): Disconnected: RES: 0, ERR: 128",
            "WL_CONNECTION_LOST",
            "W (19844) websocket_client: `network_timeout_ms` is not set, or it is less than or \
             equal to zero, using default time out 10000 (milliseconds)",
            "I (5123) mqtt_client: MQTT connect timeout not set, using default 10 s",
            "[  2345][W][ssl_client.cpp:112] start_ssl_client(): handshake timeout not set, using default",
        ] {
            assert!(!connection_failed(l), "{l}");
        }
    }

    #[test]
    fn reads_tracebacks_psram_and_restart_reasons() {
        assert!(traceback_start("Traceback (most recent call last):"));
        assert!(traceback_start("Traceback (most recent call last)"));
        assert!(!traceback_start("Traceback (most"));
        assert!(traceback_start("Traceback (most recent call last):"));
        assert!(traceback_frame("  File \"main.py\", line 368, in <module>"));
        assert!(traceback_frame("File \"<stdin>\", line 1, in <module>"));
        assert!(!traceback_frame("OSError: -40"));
        assert_eq!(
            repl_statement(">>> s = ssl.wrap_socket(s)"),
            Some("s = ssl.wrap_socket(s)")
        );
        assert_eq!(repl_statement(">>> "), None);
        let r = psram_missing("E (151) psram: PSRAM ID read error: 0xffffffff").unwrap_or_default();
        assert!(r.contains("`PSRAM ID read error: 0xffffffff`"), "{r}");
        let r = psram_missing(
            "E (299) quad_psram: PSRAM ID read error: 0x00ffffff, PSRAM chip not found",
        )
        .unwrap_or_default();
        assert!(r.contains("0x00ffffff`"), "{r}");
        let r = reported_crash(
            "03:58:08 MQT: tele/Tasmota/INFO3 = {\"RestartReason\":{\"Exception\":29,\"Reason\":\"Exception\"}}",
        )
        .unwrap_or_default();
        assert!(r.contains("Exception (29) StoreProhibited"), "{r}");
        assert_eq!(reported_crash("{\"RestartReason\":\"Power On\"}"), None);
        // Boot-loop guards: WLED's and ESPHome's safe mode.
        let r = reported_crash("crash detected!").unwrap_or_default();
        assert!(r.contains("crashed before this boot"), "{r}");
        let r = reported_crash("[E][safe_mode:080]: Boot loop detected. Proceeding to safe mode.")
            .unwrap_or_default();
        assert!(
            r.contains("`[E][safe_mode:080]: Boot loop detected."),
            "{r}"
        );
        assert_eq!(
            reported_crash("checking for bootloop: time 31047, counter 3, action 3"),
            None
        );
    }

    #[test]
    fn an_apps_own_esp_err_line_is_where_the_run_stopped() {
        let r = app_error("E (214119) tool_time: Error: failed to fetch time (ESP_ERR_NOT_FOUND)")
            .unwrap_or_default();
        assert!(r.contains("`tool_time: Error: failed to fetch time"), "{r}");
        assert!(app_error("E (5) app: nvs_open failed: ESP_FAIL").is_some());
        // Not an error line, no esp_err_t named, or no failure said.
        assert_eq!(
            app_error("W (5) app: failed to fetch time (ESP_ERR_NOT_FOUND)"),
            None
        );
        assert_eq!(app_error("E (5) app: failed to fetch time"), None);
        assert_eq!(app_error("E (5) app: state ESP_ERR_NOT_FOUND seen"), None);
    }

    #[test]
    fn a_reported_reset_reason_that_is_a_fault() {
        for (line, word) in [
            (
                "INFO settings-handler: Last reset reason: Brownout reset (software or hardware)",
                "brownout",
            ),
            ("Reset reason: ESP_RST_BROWNOUT", "brownout"),
            ("RTCWDT_BROWN_OUT_RESET", "brownout"),
            (
                "reset reason: Software reset due to exception/panic",
                "panic",
            ),
            ("Reset reason: Reset due to task watchdog", "watchdog"),
            ("Reset reason: Hardware Watchdog", "watchdog"),
            ("[BOOT] Reset reason: Exception", "exception"),
            (
                "stat/tasmota/STATUS1 = {\"StatusPRM\":{\"Baudrate\":115200,\"RestartReason\":\"Software Watchdog\",\"Uptime\":\"0T00:00:12\"}}",
                "watchdog",
            ),
            ("[D][debug:114]: Reset Reason: Task watchdog", "watchdog"),
            ("INIT : Warm boot #3 - Reset Reason: Soft WDT", "watchdog"),
            ("Reset reason: Exception/panic", "exception"),
            // OVMS's `boot status`, the reason's code after it.
            ("  Reset reason: Task watchdog (6)", "Task watchdog (6)"),
        ] {
            let r = reported_reset(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(r.contains(word), "{line}: {r}");
        }
        for line in [
            "Reset reason: Power On",
            "Last reset reason: Reset due to power-on event",
            "reason: Software/System restart",
            "CPU0 reset reason: 1 POWERON_RESET",
            "{\"RestartReason\":\"Power On\",\"Uptime\":\"0T00:00:05\"}",
            "{\"RestartReason\":\"Software/System restart\"}",
            "reason: the watchdog is fed by loop(), no exception",
            "{\"RestartReason\":{\"Exception\":29,\"Reason\":\"Exception\",\"EPC\":[\"4000c250\"]}}",
        ] {
            assert_eq!(reported_reset(line), None, "{line}");
        }
    }
}
