//! The last resort at the log's end: firmware espcheck has no rule for (a Rust app, a Lua
//! script, a library nobody wrote a rule for) that printed an error and then little or nothing
//! else. A careful reader does not call that "no verdict": the board said what went wrong, and
//! the log stops there. This reads the last error-looking line, and gives it when no rule
//! decided and nothing after it says the job worked.
//!
//! Only lines at an error or warning level (or with no level) count; an ESP-IDF or
//! arduino-esp32 line at debug or verbose level is a trace, not an outcome. The error must be
//! among the last [`TAIL`] lines that say anything.

use super::model::Verdict;

/// Lines with text that may follow the error before the log's end, and it still ends there.
pub(crate) const TAIL: usize = 8;

/// The longest part of the line the reason quotes.
const QUOTE: usize = 200;

/// The last error-looking line and what came after it.
#[derive(Debug, Default)]
pub(crate) struct LastError {
    last: Option<(usize, String)>,
    /// Lines with text since it.
    since: usize,
    /// Whether a line since it said something worked.
    worked: bool,
}

impl LastError {
    /// Read one line (`lower` is its text in lower case).
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        let t = text.trim();
        if t.is_empty() {
            return;
        }
        let Some(body) = counted_body(t, lower) else {
            self.after(t, lower);
            return;
        };
        if says_error(&body.to_ascii_lowercase()) {
            self.last = Some((number, body.to_owned()));
            self.since = 0;
            self.worked = false;
        } else {
            self.after(t, lower);
        }
    }

    fn after(&mut self, text: &str, lower: &str) {
        if self.last.is_some() {
            self.since += 1;
            self.worked |= worked(text, lower);
        }
    }

    /// The line of the last error line read, if any.
    pub(crate) fn last_line(&self) -> Option<usize> {
        self.last.as_ref().map(|l| l.0)
    }

    /// The verdict the last error gives when the log ends now, and why.
    pub(crate) fn verdict(&self) -> Option<(Verdict, String)> {
        let (at, body) = self.last.as_ref()?;
        if self.since > TAIL || self.worked {
            return None;
        }
        let quoted = quote(body);
        let lower = message(body).to_ascii_lowercase();
        let (verdict, what) = if super::appfail::refused(&lower) {
            (
                Verdict::Fail,
                "it reads this as the far end refusing the board (not a fault of the board)",
            )
        } else if about_time(&lower) {
            (
                Verdict::Fault,
                "it reads this as the time server not answering: NTP over UDP port 123 \
                 blocked, no route, or the server's name not resolving",
            )
        } else if !BROKE.iter().any(|w| lower.contains(w)) {
            (
                Verdict::Fail,
                "it reads this as the app's own step failing, not its connection or the board",
            )
        } else {
            (
                Verdict::Fault,
                "it reads this as the board or its connection failing there",
            )
        };
        Some((
            verdict,
            format!(
                "line {at}: the last error the firmware printed, and the log ends soon after it \
                 with nothing that worked: `{quoted}` (espcheck does not know this firmware's \
                 lines; {what})"
            ),
        ))
    }
}

/// A failure line about getting the time (arduino-esp32's SimpleTime `Failed to obtain time`,
/// `NTP update failed`, `TimeClient no update posible`): the time server, over the network.
fn about_time(lower: &str) -> bool {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "time" | "ntp" | "sntp" | "timeclient" | "ntpclient"))
}

/// Words that put a failure on the connection or the board (a crash, a watchdog), not on the
/// app's own step (`setupCert failed`); an error code or `error` is read as the board's too.
const BROKE: [&str; 31] = [
    "connect",
    // Libraries' own spelling: uTLGBotLib's `[Bot] Conection fail.`
    "conect",
    "socket",
    "tcp",
    "udp",
    "tls",
    "ssl",
    "dns",
    "host",
    "server",
    "timeout",
    "timed",
    "http",
    "mqtt",
    "send",
    "recv",
    "read",
    "write",
    "network",
    "fault",
    "exception",
    "panic",
    "abort",
    "assert",
    "wdt",
    "watchdog",
    "err",
    "ack",
    "broker",
    "request",
    "certificate",
];

/// The message of a line that may report an outcome: past an ESP-IDF, arduino-esp32 or
/// ESPHome level prefix, `None` for the debug and verbose levels, for lines the Wi-Fi rules
/// own, and for lines that are known noise (a setting not stored yet, a bootloader's hash
/// warning, a socket option).
fn counted_body<'a>(t: &'a str, lower: &str) -> Option<&'a str> {
    let owned = super::wifi::about_wifi(lower);
    // A setting's name in a config dump (`ppp_error_event_enabled: false`) says no error.
    if lower.contains("_enabled: ") {
        return None;
    }
    let narrated = super::mbedtls_trace::narrates(t);
    if owned || narrated || trace_level(t) || NOISE.iter().any(|n| lower.contains(n)) || a_name(t) {
        return None;
    }
    Some(super::idf::log_body(t).unwrap_or(t))
}

/// A line at a debug or verbose level: ESP-IDF's `D (77) tag:`, ESPHome's `[D][api:246]:`,
/// arduino-esp32's `[  1234][V][WiFiGeneric.cpp:…]`, also behind a timestamp or the text of an
/// escape code a terminal did not run (`[1B][0;36m[D][…`).
pub(crate) fn trace_level(text: &str) -> bool {
    let t = text.trim();
    if super::idf::log_body(t).is_some() {
        return t.starts_with(['D', 'V']);
    }
    if lwip_debug(t) {
        return true;
    }
    let head: String = t.chars().take(40).collect();
    if ["[D][", "[V][", "[VV]["].iter().any(|l| head.contains(l)) {
        return true;
    }
    // Python's logging in CircuitPython and MicroPython libraries: adafruit_logging's `27.266:
    // DEBUG - Loop timed out after 2 seconds`, the standard `DEBUG:root:…`.
    let past_time = t
        .split_once(": ")
        .filter(|(time, _)| time.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .map_or(t, |(_, rest)| rest);
    past_time.starts_with("DEBUG - ") || past_time.starts_with("DEBUG:")
}

/// lwIP's own debug output (`LWIP_DEBUGF`), which has no level: a module's function name and
/// a colon, `dhcp_select: could not allocate DHCP request`, `tcp_connect: …`, `etharp_query: …`.
/// A trace of the stack at work; its failures are retried and its callers report them.
fn lwip_debug(t: &str) -> bool {
    const MODULES: [&str; 10] = [
        "dhcp_", "etharp_", "tcp_", "udp_", "ip4_", "ip6_", "pbuf_", "netif_", "dns_", "igmp_",
    ];
    let Some((name, _)) = t.split_once(": ") else {
        return false;
    };
    MODULES.iter().any(|m| {
        name.strip_prefix(m).is_some_and(|f| {
            !f.is_empty() && f.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
    })
}

/// Error lines that firmware prints on every good run.
const NOISE: [&str; 4] = [
    // arduino-esp32's Preferences on a key not written yet.
    "nvs_get",
    // NodeMCU with no script uploaded yet: it starts the Lua prompt instead.
    "cannot open init.lua",
    // The ESP32-C3 bootloader on an image built without its hash; it boots anyway.
    "sha-256 comparison failed",
    // arduino-esp32 3.x on a socket option the stack does not take.
    "setsocketoption",
];

/// A line that is one lower-case identifier (`failure_number`): a label or key the firmware
/// printed, not a message.
fn a_name(t: &str) -> bool {
    t.contains('_')
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Words that say something failed, as whole words (also inside a constant's name such as
/// `HTTP_UPDATE_FAILED`), and not a zero count of errors (`Error count: 0`).
pub(crate) fn says_error(lower: &str) -> bool {
    const PHRASES: [&str; 6] = [
        "timed out",
        "could not",
        "couldn't",
        "can't",
        // meshcom's TimeClient: `TimeClient no update posible`.
        "no update posible",
        "no update possible",
    ];
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let failed = tokens.iter().enumerate().any(|(i, w)| {
        let next = |k: usize| tokens.get(i + k).copied();
        let zero = next(1) == Some("0")
            || (next(1).is_some_and(|n| ["count", "counts", "code", "s"].contains(&n))
                && next(2) == Some("0"))
            || (i > 0 && tokens[i - 1] == "0");
        FAILURE_WORDS.contains(w) && !zero
    });
    (failed || PHRASES.iter().any(|p| lower.contains(p)))
        && !lower.contains("no error")
        && !mends_itself(lower)
}

/// A failure whose line says the firmware mended it there: ESP-IDF's PHY init on a first boot,
/// `esp_phy_get_init_data(): failed to validate PHY data partition, restoring default data into
/// flash...`.
pub(crate) fn mends_itself(lower: &str) -> bool {
    lower.contains("restoring default data")
}

const FAILURE_WORDS: [&str; 22] = [
    "error",
    "err",
    "fail",
    "failed",
    "fails",
    "failure",
    "fault",
    "exception",
    "panic",
    "panicked",
    "abort",
    "aborted",
    "aborting",
    "timeout",
    "refused",
    "denied",
    "unable",
    "cannot",
    "unreachable",
    "rejected",
    "forbidden",
    "unauthorized",
];

/// A line that says the job, or a connection, worked, or that the firmware moved on to retry
/// or to wait for the user (a config portal): the log does not end on the error then.
fn worked(text: &str, lower: &str) -> bool {
    !says_error(lower)
        && (lower.trim() == "ok"
            || [
                "success",
                "succeeded",
                "connected",
                "200 ok",
                "done",
                "complete",
                "retry",
                "attempt",
                "connecting",
                "reconnect",
                "portal",
            ]
            .iter()
            .any(|w| lower.contains(w))
            // A client's request the board's own server received.
            || super::webserver::received_request(text))
}

/// An arduino-esp32 line's message, past its `[  2010][E][file.cpp:91] ` source (a file name
/// such as `esp_https_server.cpp` says nothing about what failed).
fn message(body: &str) -> &str {
    ["][E][", "][W][", "][I]["]
        .iter()
        .chain(&["[E][", "[W][", "[I]["])
        .find_map(|level| body.split_once(level))
        .and_then(|(_, rest)| rest.split_once("] "))
        .map_or(body, |(_, message)| message)
}

/// `body`, cut at [`QUOTE`] characters.
fn quote(body: &str) -> String {
    if body.chars().count() <= QUOTE {
        return body.to_owned();
    }
    let cut: String = body.chars().take(QUOTE).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(lines: &[&str]) -> Option<(Verdict, String)> {
        let mut e = LastError::default();
        for (i, l) in lines.iter().enumerate() {
            e.line(i + 1, l, &l.to_ascii_lowercase());
        }
        e.verdict()
    }

    #[test]
    fn an_unknown_libraries_last_error_is_the_outcome() {
        for (lines, verdict, words) in [
            (
                &["WiFi connected", "ack timeout 4"][..],
                Verdict::Fault,
                "`ack timeout 4`",
            ),
            (
                &["[  2010][E][esp_https_server.cpp:91] setupCert(): setupCert failed"][..],
                Verdict::Fail,
                "setupCert failed",
            ),
            (
                &[
                    "I (420) app: start",
                    "E (910) cloud: Access denied for device",
                    "",
                ][..],
                Verdict::Fail,
                "line 2: ",
            ),
            (
                &[
                    "Exception 'Store/AMO access fault' mepc=0x42001234",
                    "0x42001234",
                    "0x42005678",
                ][..],
                Verdict::Fault,
                "Store/AMO access fault",
            ),
            (
                &["WiFi connected", "Failed to obtain time"][..],
                Verdict::Fault,
                "time server not answering",
            ),
            (
                &[
                    "22:41:02 TimeClient no update posible",
                    "22:41:19 [KEEP]...KEEP2",
                ][..],
                Verdict::Fault,
                "TimeClient no update posible`",
            ),
        ] {
            let (v, why) = grade(lines).unwrap_or((Verdict::Timeout, String::new()));
            assert_eq!(v, verdict, "{lines:?}: {why}");
            assert!(why.contains(words), "{why}");
        }
    }

    #[test]
    fn what_is_not_an_outcome() {
        for lines in [
            // Traces at debug level, counts of no errors, and plain progress.
            &["[D][HTTPClient.cpp:293] beginInternal(): error parsing"][..],
            &["D (77) mbedtls: ssl_tls.c:2541 ssl->f_recv() returned -1 error"][..],
            &["sent 12 packets, 0 errors"][..],
            &["27.266: DEBUG - Loop timed out after 2 seconds"][..],
            &["DEBUG:umqtt:recv timed out"][..],
            // lwIP's own debug output, and a config dump's setting names.
            &["dhcp_select: could not allocate DHCP request"][..],
            &["Netif config: esp_netif_ppp_config { ppp_error_event_enabled: false }"][..],
            &["Connecting...", "Retrying in 5 s"][..],
            // A failure the firmware mends on the spot.
            &[
                "E (2348) phy_init: esp_phy_get_init_data(): failed to validate PHY data partition, restoring default data into flash...",
            ][..],
            // The job worked after the error.
            &["connect failed, retrying", "MQTT connected"][..],
            // The error is long behind the log's end.
            &[
                "DNS lookup failed",
                "a",
                "b",
                "c",
                "d",
                "e",
                "f",
                "g",
                "h",
                "i",
            ][..],
        ] {
            assert_eq!(grade(lines), None, "{lines:?}");
        }
    }

    #[test]
    fn a_long_line_is_quoted_cut() {
        let long = format!("error: {}", "x".repeat(400));
        let (_, why) = grade(&[&long]).unwrap_or((Verdict::Timeout, String::new()));
        assert!(why.contains('…') && why.len() < 500, "{why}");
    }
}
