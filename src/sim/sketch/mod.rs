//! The reference sketch (ESP8266WiFi `HTTPSRequest`) and the second seed's raw-POST sketch, step for
//! step, as a sans-IO state machine: it produces the exact bytes the board writes to `Serial` and
//! asks its driver ([`run`]) for network I/O one step at a time.

pub mod board;
pub mod pin;
pub mod run;

use std::str::FromStr;
use std::time::Duration;

use time::OffsetDateTime;

pub use board::Board;
pub use pin::{PinCheck, Trust, parse_set_fingerprint};
pub use run::{RunConfig, run_sketch};

/// The status URL the reference sketch asks for.
pub const DEFAULT_URL: &str = "/repos/esp8266/Arduino/commits/master/status";
/// The path of the second seed's POST.
pub const DEFAULT_POST_URL: &str = "/oauth/token";
/// What the sketch prints for `WiFi.localIP()` (the first seed's address).
const IP: &str = "192.168.1.104";

/// Whose line style the sketch prints: the esp8266 Arduino core version it was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CoreVersion {
    /// 2.0–2.4: axTLS, `verify(fp, host)` after connect, `certificate matches`.
    V2_4,
    /// 2.5–2.7: BearSSL `setFingerprint`, `Using fingerprint '…'`, `connection failed`.
    V2_7,
    /// 3.0.0: capitalised, NTP time, `setTrustAnchors`, still `successfull!`.
    V3_0,
    /// 3.0.1–3.0.2: spelled `successful!`.
    V3_0_1,
    /// 3.1.x: the header loop tests `available()` right after sending.
    V3_1,
}

impl FromStr for CoreVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        let num = |i: usize| parts.get(i).and_then(|p| p.parse::<u32>().ok());
        let bad = || format!("core version `{s}` is not one of 2.0–2.7, 3.0, 3.0.1, 3.1");
        if parts.iter().any(|p| p.parse::<u32>().is_err()) || parts.len() > 3 {
            return Err(bad());
        }
        match (num(0), num(1), num(2)) {
            (Some(2), Some(0..=4), _) => Ok(CoreVersion::V2_4),
            (Some(2), Some(5..=7), _) => Ok(CoreVersion::V2_7),
            (Some(3), Some(0), None | Some(0)) => Ok(CoreVersion::V3_0),
            (Some(3), Some(0), Some(_)) => Ok(CoreVersion::V3_0_1),
            (Some(3), Some(1), _) => Ok(CoreVersion::V3_1),
            _ => Err(bad()),
        }
    }
}

impl CoreVersion {
    fn capitalised(self) -> bool {
        self >= CoreVersion::V3_0
    }
}

/// Which sketch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The reference sketch: GET the combined status, print the CI verdict.
    GetStatus,
    /// The second seed: a raw `POST … HTTP/1.0` with a JSON body, response printed as read.
    PostJson,
}

/// The sketch's compile-time settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchConfig {
    pub host: String,
    pub url: String,
    pub ssid: String,
    pub core: CoreVersion,
    pub variant: Variant,
    /// The POST body.
    pub data: String,
    /// What the sketch says it pins (only printed).
    pub shown_pin: ShownPin,
}

/// The pin as the sketch prints it before connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShownPin {
    Fingerprint(String),
    Certificate(String),
    None,
}

/// The CI verdict line the sketch printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CiVerdict {
    Success,
    Failed,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// `connect()` succeeded (TCP, TLS and, from core 2.5, the pin).
    pub connected: bool,
    /// The 2.4-style `verify()` after connect, when the sketch made one.
    pub verified: Option<bool>,
    /// The CI verdict line, for the GET sketch.
    pub verdict: Option<CiVerdict>,
    /// The sketch ran to its last line.
    pub finished: bool,
    /// Why the board refused or lost the server (for stderr, not for Serial).
    pub detail: Option<String>,
}

impl RunSummary {
    /// The board side failed: no connection, or a pin that did not hold.
    pub fn board_failed(&self) -> bool {
        !self.connected || self.verified == Some(false)
    }
}

/// What the sketch needs from the network next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `client.connect(host, port)`: TCP, TLS handshake and (cores ≥ 2.5) the pin check.
    Connect,
    /// `client.verify(fingerprint, host)` on the connected session (cores ≤ 2.4).
    Verify,
    /// `client.print(...)`.
    Send(Vec<u8>),
    /// `client.readStringUntil('\n')`.
    ReadLine,
    /// Poll `available()` every 500 ms until data comes, for at most this long.
    WaitForData(Duration),
    /// `read()` and print everything until the peer closes or this long has passed.
    ReadAll(Duration),
    /// The sketch is done.
    Done,
}

/// The answer to the last [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Connected(bool),
    Verified(bool),
    Sent,
    /// The line without its `\n`, or `None` when the connection ended with nothing more.
    Line(Option<Vec<u8>>),
    /// How long the data took to arrive (or the whole wait, when none came).
    Waited(Duration),
    /// Everything read.
    Read(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting { retries: u32 },
    Verifying,
    Sending,
    Headers,
    Body,
    Waiting,
    Reading,
    Done,
}

/// The sketch as a state machine. Serial output accumulates until [`Sketch::take_serial`].
#[derive(Debug)]
pub struct Sketch {
    cfg: SketchConfig,
    state: State,
    serial: Vec<u8>,
    outcome: RunSummary,
}

impl Sketch {
    /// Run `setup()` up to its first network step. `now` is the NTP time the 3.x sketch prints.
    pub fn start(cfg: SketchConfig, now: OffsetDateTime) -> (Sketch, Action) {
        let mut s = Sketch {
            cfg,
            state: State::Connecting { retries: 0 },
            serial: Vec::new(),
            outcome: RunSummary::default(),
        };
        let cap = s.cfg.core.capitalised();
        s.println("");
        s.print(if cap {
            "Connecting to "
        } else {
            "connecting to "
        });
        let ssid = s.cfg.ssid.clone();
        s.println(&ssid);
        s.print("........");
        s.println("");
        s.println("WiFi connected");
        s.println("IP address: ");
        s.println(IP);
        if cap {
            s.print("Waiting for NTP time sync: ");
            s.print(".");
            s.println("");
            s.print("Current time: ");
            s.print(&asctime(now));
        }
        if s.cfg.variant == Variant::PostJson {
            s.print("[HTTP] POST...\n");
            return (s, Action::Connect);
        }
        s.print(if cap {
            "Connecting to "
        } else {
            "connecting to "
        });
        let host = s.cfg.host.clone();
        s.println(&host);
        if s.cfg.core >= CoreVersion::V2_7 {
            // Serial.printf with a bare "\n", as the sketch has it.
            match s.cfg.shown_pin.clone() {
                ShownPin::Fingerprint(fp) => s.print(&format!("Using fingerprint '{fp}'\n")),
                // The sketch's PEM literal starts and ends with a newline.
                ShownPin::Certificate(pem) => {
                    s.print(&format!("Using certificate: \n{}\n\n", pem.trim()))
                }
                ShownPin::None => {}
            }
        }
        (s, Action::Connect)
    }

    /// Everything written to Serial since the last call.
    pub fn take_serial(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.serial)
    }

    /// How the run went so far.
    pub fn outcome(&self) -> &RunSummary {
        &self.outcome
    }

    /// Record a diagnostic for the driver's caller (not printed on Serial).
    pub fn note(&mut self, detail: impl Into<String>) {
        self.outcome.detail.get_or_insert(detail.into());
    }

    /// Feed the answer to the last action; get the next one.
    pub fn resume(&mut self, input: Input) -> Action {
        let cap = self.cfg.core.capitalised();
        match (self.state, input) {
            (State::Connecting { retries }, Input::Connected(ok)) => {
                if self.cfg.variant == Variant::PostJson {
                    return self.post_connected(retries, ok);
                }
                if !ok {
                    self.println(if cap {
                        "Connection failed"
                    } else {
                        "connection failed"
                    });
                    return self.done();
                }
                self.outcome.connected = true;
                if self.cfg.core == CoreVersion::V2_4 && self.cfg.shown_pin != ShownPin::None {
                    self.state = State::Verifying;
                    return Action::Verify;
                }
                self.request()
            }
            (State::Verifying, Input::Verified(ok)) => {
                self.outcome.verified = Some(ok);
                self.println(if ok {
                    "certificate matches"
                } else {
                    "certificate doesn't match"
                });
                // The 2.4 sketch carries on either way.
                self.request()
            }
            (State::Sending, Input::Sent) if self.cfg.variant == Variant::PostJson => {
                self.println("Reading response ...");
                self.state = State::Waiting;
                Action::WaitForData(Duration::from_secs(10))
            }
            (State::Sending, Input::Sent) => {
                self.println(if cap { "Request sent" } else { "request sent" });
                if self.cfg.core == CoreVersion::V3_1 {
                    // `while (client.available())` runs right after the request left: nothing has
                    // come back yet, so the header loop is skipped and the status line is read
                    // as the "first body line".
                    self.state = State::Body;
                } else {
                    self.state = State::Headers;
                }
                Action::ReadLine
            }
            (State::Headers, Input::Line(line)) => match line {
                Some(l) if l == b"\r" => {
                    self.println(if cap {
                        "Headers received"
                    } else {
                        "headers received"
                    });
                    self.state = State::Body;
                    Action::ReadLine
                }
                Some(_) => Action::ReadLine,
                // `while (client.connected())` ends: read the (empty) line after it.
                None => {
                    self.state = State::Body;
                    Action::ReadLine
                }
            },
            (State::Body, Input::Line(line)) => {
                let line = line.unwrap_or_default();
                let success = line.starts_with(br#"{"state":"success""#);
                self.outcome.verdict = Some(if success {
                    CiVerdict::Success
                } else {
                    CiVerdict::Failed
                });
                self.println(match (success, self.cfg.core >= CoreVersion::V3_0_1) {
                    (true, false) => "esp8266/Arduino CI successfull!",
                    (true, true) => "esp8266/Arduino CI successful!",
                    (false, _) => "esp8266/Arduino CI has failed",
                });
                self.println(if cap { "Reply was:" } else { "reply was:" });
                self.println("==========");
                self.serial.extend_from_slice(&line);
                self.println("");
                self.println("==========");
                self.println(if cap {
                    "Closing connection"
                } else {
                    "closing connection"
                });
                self.outcome.finished = true;
                self.done()
            }
            (State::Waiting, Input::Waited(waited)) => {
                // The first poll comes right after the request, before any reply can be back.
                let dots = 1 + (waited.as_millis() / 500).min(19) as usize;
                self.print(&".".repeat(dots));
                self.println("");
                self.state = State::Reading;
                Action::ReadAll(Duration::from_secs(5))
            }
            (State::Reading, Input::Read(bytes)) => {
                // Serial.print(char*) stops at a NUL in each 511-byte read; close enough to
                // drop NULs.
                self.serial.extend(bytes.iter().filter(|&&b| b != 0));
                self.println("Finished reading");
                self.print("\nDone!\n-------\n\n");
                self.outcome.finished = true;
                self.done()
            }
            // An answer that does not fit the question: the driver is wrong, stop cleanly.
            (_, _) => self.done(),
        }
    }

    fn post_connected(&mut self, retries: u32, ok: bool) -> Action {
        // The seed checks `tries > 10` right after each retry's connect(), before looking at
        // whether it worked, so the 12th attempt's result is never used.
        if retries > 10 {
            self.outcome.connected = false;
            return self.done();
        }
        if !ok {
            self.print("*** Can't connect. ***\n-------\n");
            self.print(".");
            self.state = State::Connecting {
                retries: retries + 1,
            };
            return Action::Connect;
        }
        self.outcome.connected = true;
        self.print("Connected!\n-------\n");
        let body = self.cfg.data.clone();
        let request = format!(
            "POST {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: ESP8266\r\nContent-Length: {}\r\n\
             Content-Type: application/json\r\nAccept-encoding: *\r\n\r\n{}",
            self.cfg.url,
            self.cfg.host,
            body.len(),
            body
        );
        self.state = State::Sending;
        Action::Send(request.into_bytes())
    }

    fn request(&mut self) -> Action {
        let cap = self.cfg.core.capitalised();
        self.print(if cap {
            "Requesting URL: "
        } else {
            "requesting URL: "
        });
        let url = self.cfg.url.clone();
        self.println(&url);
        self.state = State::Sending;
        Action::Send(get_request(&self.cfg.url, &self.cfg.host))
    }

    fn done(&mut self) -> Action {
        self.state = State::Done;
        Action::Done
    }

    fn print(&mut self, text: &str) {
        self.serial.extend_from_slice(text.as_bytes());
    }

    /// `Serial.println`: CRLF, as on the board.
    fn println(&mut self, text: &str) {
        self.print(text);
        self.serial.extend_from_slice(b"\r\n");
    }
}

/// The reference sketch's request, byte for byte (as `HTTPSRequest.ino` writes it in every core from 2.0 to 3.x).
pub fn get_request(url: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {url} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: BuildFailureDetectorESP8266\r\n\
         Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// newlib's `asctime`: `Thu Jan  1 00:00:00 1970\n`.
pub fn asctime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let wd = &t.weekday().to_string()[..3];
    let mon = &t.month().to_string()[..3];
    format!(
        "{wd} {mon}{:3} {:02}:{:02}:{:02} {}\n",
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cfg(core: CoreVersion, variant: Variant) -> SketchConfig {
        SketchConfig {
            host: "api.github.com".into(),
            url: DEFAULT_URL.into(),
            ssid: "sensor-net".into(),
            core,
            variant,
            data: "{}".into(),
            shown_pin: ShownPin::Fingerprint("AA".into()),
        }
    }

    /// Drive a sketch with canned answers; return its serial text and outcome.
    fn drive(cfg: SketchConfig, lines: &[&str]) -> (String, RunSummary) {
        let (mut s, mut action) = Sketch::start(cfg, OffsetDateTime::UNIX_EPOCH);
        let mut lines = lines.iter();
        loop {
            action = match action {
                Action::Connect => s.resume(Input::Connected(true)),
                Action::Verify => s.resume(Input::Verified(true)),
                Action::Send(_) => s.resume(Input::Sent),
                Action::ReadLine => {
                    s.resume(Input::Line(lines.next().map(|l| l.as_bytes().to_vec())))
                }
                Action::WaitForData(_) => s.resume(Input::Waited(Duration::ZERO)),
                Action::ReadAll(_) => s.resume(Input::Read(b"HTTP/1.0 200 OK\r\n\r\n{}".to_vec())),
                Action::Done => break,
            }
        }
        (
            String::from_utf8(s.take_serial()).unwrap(),
            s.outcome().clone(),
        )
    }

    const REPLY: [&str; 4] = [
        "HTTP/1.1 200 OK\r",
        "Content-Type: application/json\r",
        "\r",
        r#"{"state":"success","statuses":[]}"#,
    ];

    #[test]
    fn core_24_prints_the_first_seed_lines() {
        let (text, outcome) = drive(cfg(CoreVersion::V2_4, Variant::GetStatus), &REPLY);
        assert_eq!(
            text,
            "\r\nconnecting to sensor-net\r\n........\r\nWiFi connected\r\nIP address: \r\n\
             192.168.1.104\r\nconnecting to api.github.com\r\ncertificate matches\r\n\
             requesting URL: /repos/esp8266/Arduino/commits/master/status\r\nrequest sent\r\n\
             headers received\r\nesp8266/Arduino CI successfull!\r\nreply was:\r\n==========\r\n\
             {\"state\":\"success\",\"statuses\":[]}\r\n==========\r\nclosing connection\r\n"
        );
        assert_eq!(outcome.verdict, Some(CiVerdict::Success));
        assert!(!outcome.board_failed());
    }

    #[test]
    fn core_3_spelling_and_31_skips_the_header_loop() {
        let (text, _) = drive(cfg(CoreVersion::V3_0, Variant::GetStatus), &REPLY);
        assert!(text.contains("Current time: Thu Jan  1 00:00:00 1970\n"));
        assert!(text.contains("Using fingerprint 'AA'\n"));
        assert!(text.contains("CI successfull!"));
        let (text, _) = drive(cfg(CoreVersion::V3_0_1, Variant::GetStatus), &REPLY);
        assert!(text.contains("Headers received\r\nesp8266/Arduino CI successful!\r\n"));
        let (text, outcome) = drive(cfg(CoreVersion::V3_1, Variant::GetStatus), &REPLY);
        assert!(!text.contains("Headers received"));
        assert!(
            text.contains("CI has failed\r\nReply was:\r\n==========\r\nHTTP/1.1 200 OK\r\r\n")
        );
        assert_eq!(outcome.verdict, Some(CiVerdict::Failed));
    }

    #[test]
    fn post_variant_gives_up_after_the_seeds_retries() {
        let (mut s, mut action) = Sketch::start(
            cfg(CoreVersion::V2_7, Variant::PostJson),
            OffsetDateTime::UNIX_EPOCH,
        );
        let mut connects = 0;
        while action == Action::Connect {
            connects += 1;
            action = s.resume(Input::Connected(false));
        }
        assert_eq!(action, Action::Done);
        assert_eq!(connects, 12);
        let text = String::from_utf8(s.take_serial()).unwrap();
        assert_eq!(text.matches("*** Can't connect. ***").count(), 11);
        assert!(s.outcome().board_failed());
    }

    #[test]
    fn core_versions_parse() {
        for (text, core) in [
            ("2.4", CoreVersion::V2_4),
            ("2.4.2", CoreVersion::V2_4),
            ("2.7", CoreVersion::V2_7),
            ("3.0", CoreVersion::V3_0),
            ("3.0.1", CoreVersion::V3_0_1),
            ("3.1.2", CoreVersion::V3_1),
        ] {
            assert_eq!(text.parse::<CoreVersion>(), Ok(core));
        }
        for bad in ["1.0", "3.2", "latest", "2.x", ""] {
            assert!(bad.parse::<CoreVersion>().is_err(), "{bad}");
        }
    }
}
