//! The `https-request` profile: the reference sketch (ESP8266WiFi `HTTPSRequest`) in every
//! spelling from core 2.0 to 3.x (each core's `HTTPSRequest.ino` prints it a little
//! differently), and sketches adapted from it for another repo.

use std::sync::LazyLock;

use regex::Regex;

use super::engine::{Engine, Finality};
use super::lines::Line;
use super::model::{Stage, StageStatus, Verdict};

/// The stages, in order.
pub(crate) const STAGES: &[Stage] = &[
    Stage::Boot,
    Stage::Wifi,
    Stage::Time,
    Stage::TlsConnect,
    Stage::Certificate,
    Stage::Request,
    Stage::Headers,
    Stage::Body,
    Stage::Verdict,
];

/// Lines after the sketch's verdict line to wait for the body line it echoes.
const BODY_WAIT: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Board {
    Successful,
    Failed,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    ssid: Option<String>,
    host: Option<String>,
    wifi_connected: bool,
    want_ip: bool,
    in_pem: bool,
    pinned: Option<String>,
    uses_ca: bool,
    cert_checked: bool,
    headers_seen: bool,
    /// The first line after `headers received` that is not the sketch's own, while no verdict
    /// line came: the body the server sent (line, text).
    body_after_headers: Option<(usize, String)>,
    board: Option<Board>,
    verdict_line: Option<String>,
    rules_seen: u8,
    body: Option<String>,
    pub(crate) cert_problem: bool,
    pub(crate) restarted: bool,
}

/// What the grader should do after the profile looked at a line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Nothing,
    /// The sketch started over without a visible reset banner.
    Restarted,
}

impl State {
    /// Whether the firmware said it joined the WiFi network.
    pub(crate) fn wifi_connected(&self) -> bool {
        self.wifi_connected
    }

    pub(crate) fn sketch_started(&self, core: &Engine) -> bool {
        core.reached(Stage::Wifi)
    }

    /// Whether a line only the reference sketch prints was seen (its SSID or server, `WiFi
    /// connected`, a pin, its verdict), not just a stage other code entered.
    pub(crate) fn heard_sketch(&self) -> bool {
        self.ssid.is_some()
            || self.host.is_some()
            || self.wifi_connected
            || self.pinned.is_some()
            || self.uses_ca
            || self.board.is_some()
    }

    /// The server's body, when the sketch printed one after `headers received` and no verdict
    /// line of its own (arduino-esp32's WiFiClientSecure example prints the body and stops):
    /// where it starts, and its first line.
    pub(crate) fn answered_body(&self) -> Option<(usize, &str)> {
        if self.board.is_some() {
            return None;
        }
        self.body_after_headers
            .as_ref()
            .map(|(at, first)| (*at, first.as_str()))
    }

    /// Grade one line.
    pub(crate) fn line(&mut self, core: &mut Engine, line: &Line, lower: &str) -> Step {
        let text = line.text.trim();
        let lower = lower.trim();
        if self.in_pem {
            if lower.contains("-----end") {
                self.in_pem = false;
            }
            return Step::Nothing;
        }
        // After the verdict line: `reply was:`, `==========`, the body line, `==========`.
        if self.board.is_some() {
            return self.after_verdict(core, text, lower);
        }
        if let Some(rest) = strip_ci(lower, text, "connecting to ") {
            let name = rest.trim().to_owned();
            // Other sketches' progress words (AsyncMqttClient's `Connecting to MQTT...` on every
            // reconnect) name no SSID or server: not this sketch starting over.
            let word = name.trim_end_matches('.').to_ascii_lowercase();
            if matches!(
                word.as_str(),
                "mqtt" | "mqtt broker" | "broker" | "wi-fi" | "wifi"
            ) {
                return Step::Nothing;
            }
            // Before `WiFi connected` the line names the SSID, after it the server. A log that
            // starts late may miss `WiFi connected`; NTP or GitHub's own name settle it.
            let is_server = self.wifi_connected
                || core.reached(Stage::Time)
                || name.eq_ignore_ascii_case("api.github.com");
            if !is_server {
                self.ssid = Some(name.clone());
                core.enter(Stage::Wifi, Some(format!("SSID {name}")));
                return Step::Nothing;
            }
            if self.ssid.as_deref() == Some(name.as_str()) {
                self.restarted = true;
                return Step::Restarted;
            }
            self.host = Some(name.clone());
            core.host = Some(name.clone());
            core.enter(Stage::TlsConnect, Some(name));
            return Step::Nothing;
        }
        // The ESP8266 core's BearSSL examples (BearSSL_Validation, _CertStore,
        // _MaxFragmentLength): `Trying: www.howsmyssl.com:443...`, then on the same line
        // `Connected!` or `*** Can't connect. ***`.
        if let Some(rest) = strip_ci(lower, text, "trying: ") {
            let target = rest.split("...").next().unwrap_or(rest).trim();
            let host = target
                .rsplit_once(':')
                .map_or(target, |(h, _)| h)
                .to_owned();
            if !host.is_empty() && !host.contains(' ') {
                self.host = Some(host.clone());
                core.host = Some(host);
                core.enter(Stage::TlsConnect, Some(target.to_owned()));
            }
            if !says_connection_failed(lower) {
                if lower.ends_with("connected!") {
                    core.connected_again();
                }
                return Step::Nothing;
            }
        }
        if lower.starts_with("wifi connected") || lower.ends_with("wifi connected") {
            self.wifi_connected = true;
            core.enter(Stage::Wifi, None);
            return Step::Nothing;
        }
        if lower.starts_with("ip address:") {
            let ip = text["ip address:".len()..].trim();
            if ip.is_empty() {
                self.want_ip = true;
            } else {
                self.note_ip(core, ip);
            }
            return Step::Nothing;
        }
        if self.want_ip {
            self.want_ip = false;
            if text.split('.').count() == 4 {
                self.note_ip(core, text);
                return Step::Nothing;
            }
        }
        if lower.starts_with("waiting for ntp time sync") {
            core.enter(Stage::Time, Some("waiting for NTP".to_owned()));
            return Step::Nothing;
        }
        if lower.starts_with("current time:") {
            core.enter(Stage::Time, None);
            core.set_detail(Stage::Time, text["current time:".len()..].trim().to_owned());
            return Step::Nothing;
        }
        if let Some(rest) = strip_ci(lower, text, "using fingerprint ") {
            core.enter(Stage::TlsConnect, None);
            let fp = rest.trim().trim_matches(['\'', '"']).to_owned();
            self.pinned = Some(super::tlsdiag::colon_hex(&fp).unwrap_or(fp));
            return Step::Nothing;
        }
        if lower.starts_with("using certificate:") {
            core.enter(Stage::TlsConnect, None);
            self.uses_ca = true;
            self.in_pem = !lower.contains("-----end");
            return Step::Nothing;
        }
        if says_connection_failed(lower) {
            let stage = if self.cert_problem {
                Stage::Certificate.name()
            } else {
                Stage::TlsConnect.name()
            };
            if !core.reached(Stage::Request) {
                let reason = self.connection_failed_reason(core, text);
                // The reference sketch stops after its `connection failed`; other firmware goes
                // on, and what it prints next (a crash, a reboot, a retry that gets an answer)
                // may say more.
                let finality = Finality::AfterLines(OTHER_FAILURE_WAIT);
                core.propose_failed_attempt(Some(stage), reason, finality);
            }
            return Step::Nothing;
        }
        if lower == "certificate matches" {
            self.cert_checked = true;
            core.enter(
                Stage::Certificate,
                Some("verify() matched the fingerprint".to_owned()),
            );
            return Step::Nothing;
        }
        if lower == "certificate doesn't match" || lower == "certificate does not match" {
            self.cert_checked = true;
            core.enter(
                Stage::Certificate,
                Some("verify() did not match".to_owned()),
            );
            // Cores 2.0-2.4 carry on after this line; wait for the rest of the run so the report
            // can say what the sketch went on to read.
            core.propose(
                Verdict::Fault,
                Some(Stage::Certificate.name()),
                format!(
                    "certificate doesn't match: the server{} did not present the pinned \
                     fingerprint{}, so the reply cannot be trusted (cores up to 2.4 carry on \
                     regardless)",
                    self.host
                        .as_deref()
                        .map(|h| format!(" {h}"))
                        .unwrap_or_default(),
                    self.pinned
                        .as_deref()
                        .map(|p| format!(" {p}"))
                        .unwrap_or_default()
                ),
                Finality::AfterLines(20),
            );
            return Step::Nothing;
        }
        if let Some(rest) = strip_ci(lower, text, "requesting url: ") {
            self.settle_certificate(core);
            core.enter(Stage::Request, Some(rest.trim().to_owned()));
            return Step::Nothing;
        }
        if lower == "request sent" {
            self.settle_certificate(core);
            core.enter(Stage::Request, None);
            return Step::Nothing;
        }
        if lower == "headers received" {
            self.headers_seen = true;
            self.body_after_headers = None;
            core.enter(Stage::Headers, None);
            return Step::Nothing;
        }
        // The reference sketch's own frame around the body is not the body.
        let frame = lower.starts_with("reply was")
            || lower.starts_with("closing connection")
            || text.bytes().all(|b| b == b'=');
        if self.headers_seen && self.body_after_headers.is_none() && !text.is_empty() && !frame {
            self.body_after_headers = Some((line.number, shorten(text, 80)));
        }
        if let Some(board) = verdict_line(lower) {
            self.settle_certificate(core);
            if !self.headers_seen && core.reached(Stage::Request) {
                core.mark(
                    Stage::Headers,
                    StageStatus::Passed,
                    Some(
                        "no `Headers received` line (core 3.1+ reads headers with available())"
                            .to_owned(),
                    ),
                );
            }
            core.enter(Stage::Body, None);
            core.enter(Stage::Verdict, Some(text.to_owned()));
            self.board = Some(board);
            self.verdict_line = Some(text.to_owned());
            let (verdict, reason) = self.conclusion();
            core.propose(
                verdict,
                Some(Stage::Verdict.name()),
                reason,
                Finality::AfterLines(BODY_WAIT),
            );
            return Step::Nothing;
        }
        Step::Nothing
    }

    fn note_ip(&mut self, core: &mut Engine, ip: &str) {
        let ssid = self.ssid.as_deref().unwrap_or("?");
        core.set_detail(Stage::Wifi, format!("SSID {ssid}, IP {ip}"));
    }

    /// Cores 2.5+ check the pin inside connect(): reaching the request proves it held.
    fn settle_certificate(&mut self, core: &mut Engine) {
        if self.cert_checked || !core.reached(Stage::TlsConnect) || core.reached(Stage::Certificate)
        {
            return;
        }
        self.cert_checked = true;
        let (status, detail) = match (&self.pinned, self.uses_ca) {
            (Some(fp), _) => (
                StageStatus::Passed,
                format!("the handshake accepted the pinned fingerprint {fp}"),
            ),
            (None, true) => (
                StageStatus::Passed,
                "the handshake verified the chain against the pinned CA".to_owned(),
            ),
            (None, false) => (
                StageStatus::Skipped,
                "the sketch printed no certificate check".to_owned(),
            ),
        };
        core.enter(Stage::Certificate, None);
        // Marked skipped, the next `enter` leaves it skipped rather than passed.
        core.mark(Stage::Certificate, status, Some(detail));
    }

    fn after_verdict(&mut self, core: &mut Engine, text: &str, lower: &str) -> Step {
        if lower.starts_with("reply was:") {
            return Step::Nothing;
        }
        if lower.starts_with("closing connection") {
            core.finalize();
            return Step::Nothing;
        }
        if !text.is_empty() && text.bytes().all(|b| b == b'=') {
            self.rules_seen += 1;
            if self.rules_seen >= 2 {
                core.finalize();
            }
            return Step::Nothing;
        }
        if self.rules_seen == 1 && self.body.is_none() {
            self.body = Some(text.to_owned());
            core.ci_state = ci_state(text);
            core.set_detail(Stage::Body, shorten(text, 120));
            let (verdict, reason) = self.conclusion();
            core.propose(verdict, Some(Stage::Verdict.name()), reason, Finality::Now);
        }
        Step::Nothing
    }

    /// The verdict and reason from what the sketch printed so far.
    fn conclusion(&self) -> (Verdict, String) {
        let line = self.verdict_line.as_deref().unwrap_or("");
        match (self.board, self.body.as_deref()) {
            (Some(Board::Successful), Some(body)) => match ci_state(body).as_deref() {
                Some("success") | None => (
                    Verdict::Pass,
                    format!("the board read CI state \"success\" and printed `{line}`"),
                ),
                Some(other) => (
                    Verdict::Fail,
                    format!("the board printed `{line}` but the body it read says \"{other}\""),
                ),
            },
            (Some(Board::Successful), None) => {
                (Verdict::Pass, format!("the board printed `{line}`"))
            }
            (Some(Board::Failed), Some(body)) => (Verdict::Fail, failed_reason(line, body)),
            (Some(Board::Failed), None) => (Verdict::Fail, format!("the board printed `{line}`")),
            (None, _) => (Verdict::Timeout, String::new()),
        }
    }

    fn connection_failed_reason(&self, core: &Engine, text: &str) -> String {
        let host = self
            .host
            .as_deref()
            .or(core.host.as_deref())
            .unwrap_or("the server");
        if let Some(reason) = super::tls_reason(core) {
            return reason;
        }
        let pin = match (&self.pinned, self.uses_ca) {
            (Some(fp), _) => format!(
                "; if it was TLS, the pinned fingerprint {fp} may be stale (`espcheck fingerprint \
                 {host}` shows the current one)"
            ),
            (None, true) => format!(
                "; if it was TLS, the pinned CA may no longer be in {host}'s chain (`espcheck \
                 fingerprint {host}`)"
            ),
            (None, false) => String::new(),
        };
        // `connection failed` is all the sketch prints: client.connect() covers DNS, TCP and
        // TLS, and a server that is down looks the same as a pin that no longer matches.
        // The firmware's own words, quoted as printed (the reference sketch's too: they are
        // what a user searches the log for).
        let printed = text.trim();
        let printed = if printed.is_empty() {
            String::new()
        } else {
            format!(" (the firmware printed `{}`)", shorten(printed, 120))
        };
        format!(
            "connection to {host} failed{printed}; the log does not say whether TCP or TLS failed \
             (the server may be down or unreachable){pin}. {}",
            // The reference sketch is the ESP8266 core's example: unless the log shows another
            // chip, its `connecting to HOST` says ESP8266.
            super::context::Family::debug_advice(
                core.family.or(self
                    .host
                    .is_some()
                    .then_some(super::context::Family::Esp8266))
            )
        )
    }
}

static TRAILING_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s*(\([^()]*\)|rc\s*=\s*-?\d+|error\s*[:=]?\s*-?\d+)$")
        .unwrap_or_else(|_| unreachable!())
});

/// Lines to wait after another firmware's connection failure for a crash that says more.
const OTHER_FAILURE_WAIT: u32 = 20;

/// A line in which firmware says it could not connect to its server, as the reference sketch
/// (`connection failed`) and the many sketches and libraries built on it word it:
/// `Connection failed!`, `Request failed. Reason: (0) connection failed`, `failed to connect to
/// mail server`, `Connect to Server failed!`, `Connection to server failed`. Lines about joining
/// the WiFi network are not about the server.
pub(crate) fn says_connection_failed(lower: &str) -> bool {
    let t = lower.trim().trim_end_matches(['!', '.', ' ', '*']);
    // The BearSSL examples' `Trying: host:443...*** Can't connect. ***`.
    if ["can't connect", "cannot connect", "can not connect"]
        .iter()
        .any(|w| t.ends_with(w))
        && t.len() < 120
        && !t.contains("wifi")
    {
        return true;
    }
    // A status after it: `connection failed (49/0)`, `MQTT Connection Failed  rc=-2`.
    let t = TRAILING_STATUS.replace(t, "");
    let t = t.trim_end_matches(['!', '.', ' ', ',']);
    let wifi = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "wifi" | "wlan" | "ssid" | "ap" | "sta"));
    if wifi || t.contains("access point") {
        return false;
    }
    // Progress dots and the outcome on one line: `HTTPS Connecting.......Connection failed`.
    if let Some((head, tail)) = t.rsplit_once("..")
        && head.contains("connect")
        && matches!(
            tail.trim_start_matches('.').trim(),
            "connection failed" | "connect failed" | "failed"
        )
    {
        return true;
    }
    // A library's own tag before it: UniversalTelegramBot's `[BOT Client]Conection error`
    // (its spelling).
    let untagged = t.rsplit(']').next().unwrap_or(t).trim();
    t == "connection failed"
        || t == "connect failed"
        || matches!(untagged, "connection error" | "conection error")
        || t.ends_with(": connection failed")
        || t.ends_with(") connection failed")
        || (t.ends_with(" connection failed") && t.len() < 60)
        || [
            "failed to connect to ",
            "could not connect to ",
            "couldn't connect to ",
            "unable to connect to ",
        ]
        .iter()
        .any(|p| t.starts_with(p))
        || ((t.starts_with("connect to ") || t.starts_with("connection to "))
            && t.ends_with(" failed")
            && t.len() < 60)
}

fn failed_reason(line: &str, body: &str) -> String {
    let short = shorten(body, 80);
    match ci_state(body).as_deref() {
        Some(state) => {
            format!("the board printed `{line}`: the combined status it read is \"{state}\"")
        }
        None if body.is_empty() => {
            format!("the board printed `{line}`: the first body line was empty, not a CI state")
        }
        None if body.starts_with("HTTP/") => format!(
            "the board printed `{line}`: it read the status line `{short}` as the body, so the \
             sketch did not skip the headers"
        ),
        None if body.starts_with("{\"message\"") => format!(
            "the board printed `{line}`: GitHub answered `{short}` (rate limit, 403 or 404), not \
             a CI state"
        ),
        None if body.chars().all(|c| c.is_ascii_hexdigit()) => format!(
            "the board printed `{line}`: the first body line `{short}` is a chunk size \
             (chunked transfer encoding), not a CI state"
        ),
        None => {
            format!("the board printed `{line}`: the first body line `{short}` is not a CI state")
        }
    }
}

/// `{"state":"pending",…` → `pending`.
pub(crate) fn ci_state(body: &str) -> Option<String> {
    let rest = body.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"state\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let state = &rest[..end];
    (!state.is_empty() && state.chars().all(|c| c.is_ascii_alphabetic())).then(|| state.to_owned())
}

/// `esp8266/Arduino CI successfull!` (any owner/repo, any core's spelling).
fn verdict_line(lower: &str) -> Option<Board> {
    if !lower.contains(" ci ") {
        return None;
    }
    if lower.ends_with(" ci successfull!") || lower.ends_with(" ci successful!") {
        Some(Board::Successful)
    } else if lower.ends_with(" ci has failed") {
        Some(Board::Failed)
    } else {
        None
    }
}

/// `prefix` matched case-insensitively at the start (or after boot garbage) of the line; the rest
/// of the original text.
fn strip_ci<'a>(lower: &str, text: &'a str, prefix: &str) -> Option<&'a str> {
    if lower.starts_with(prefix) {
        return text.get(prefix.len()..);
    }
    None
}

/// `s` cut to `n` characters, with `…` where it was cut.
pub(crate) fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_firmwares_words_for_a_failed_connection() {
        for line in [
            "connection failed",
            "Connection failed!",
            "[BOT Client]Conection error",
            "Request failed. Reason: (0) connection failed",
            "failed to connect to mail server",
            "Connect to Server failed!",
            "Connection to server failed.",
            "Couldn't connect to api.github.com",
            "1516438: MQTT : Broker C005 connection failed (49/0)",
            "MQTT Connection Failed  rc=-2",
            "HTTPS Connecting..............................Connection failed",
            "Connecting to my.tado.com....failed",
        ] {
            assert!(says_connection_failed(&line.to_ascii_lowercase()), "{line}");
        }
        for line in [
            "Failed to connect to WiFi",
            "connection to AP failed",
            "connecting to api.github.com",
            "connection failed counter: 3 of 5 allowed, retrying the whole setup again",
            "Connecting to WiFi.........failed",
            "connecting.....done",
        ] {
            assert!(
                !says_connection_failed(&line.to_ascii_lowercase()),
                "{line}"
            );
        }
    }

    #[test]
    fn ci_state_from_the_first_body_line() {
        assert_eq!(
            ci_state(r#"{"state":"success","statuses":[]}"#).as_deref(),
            Some("success")
        );
        assert_eq!(
            ci_state(r#"{"state": "pending"}"#).as_deref(),
            Some("pending")
        );
        assert_eq!(ci_state(r#"{"message":"API rate limit exceeded"}"#), None);
        assert_eq!(ci_state("HTTP/1.1 200 OK"), None);
        assert_eq!(ci_state(""), None);
    }

    #[test]
    fn verdict_lines_of_every_core() {
        assert_eq!(
            verdict_line("esp8266/arduino ci successfull!"),
            Some(Board::Successful)
        );
        assert_eq!(
            verdict_line("esp8266/arduino ci successful!"),
            Some(Board::Successful)
        );
        assert_eq!(verdict_line("me/thing ci has failed"), Some(Board::Failed));
        assert_eq!(verdict_line("ci has failed"), None);
    }
}
