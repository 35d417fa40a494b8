//! A Wi-Fi connection that failed and stayed failed: the station's last network state is a
//! failure its stack printed, so the run ends on a connection fault rather than a timeout.
//! ESP-IDF's driver (`wifi: bcn_timout,ap_probe_send_start`, `state: run -> init (c800)`, whose
//! high byte is the `wifi_err_reason_t`), its event names (`WIFI_EVENT_STA_DISCONNECTED`,
//! `SYSTEM_EVENT_STA_DISCONNECTED … Reason 2`, `Disconnect reason : 16`), its examples
//! (`connect to the AP fail`), arduino-esp32 (`Reason: 2 - AUTH_EXPIRE`, `connect failed!`),
//! WiFiManager (`WL_NO_SSID_AVAIL`, `AutoConnect: FAILED`), Tasmota (`WIF: Connect failed`),
//! ESPHome (`Error while connecting to network`), the ESP8266 SDK (`state: 5 -> 0 (2)`) and
//! MicroPython over ESP-IDF (`sta is connecting, return error`, `wifi not start`,
//! `esp_wifi_internal_reg_rxcb ret=0x3014`).
//!
//! A drop followed by a line that shows the board back on the network (associated, an IP, a TLS
//! or TCP connection) is no fault: the last state decides. A board that only keeps trying
//! (`Connecting....`) printed no failure and stays a timeout.

use std::sync::LazyLock;

use regex::Regex;

/// Lines after the last failure within which the log ending means the board stayed off the
/// network (later lines that show no network state at all are the firmware going on offline).
pub(crate) const TAIL: usize = 40;

/// `state: run -> init (10c0)`, `state: 5 -> 0 (2)`, `state: auth -> init (0x200)`.
static TO_INIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"state:\s*([a-z0-9_]+)\s*->\s*(init|0)\s*\((?:0x)?([0-9a-f]{1,6})\)")
        .unwrap_or_else(|_| unreachable!())
});

/// The ESP8266 Arduino core's Wi-Fi debug: `STA disconnect: 2` (after `wifi evt: 1`, the SDK's
/// `EVENT_STAMODE_DISCONNECTED`), the number being the SDK's disconnect reason.
static STA_DISCONNECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bsta disconnect(?:ed)?\s*:\s*(\d{1,3})\b").unwrap_or_else(|_| unreachable!())
});

/// `state: init -> auth (b0)`: the driver leaves its initial state on a new attempt.
static FROM_INIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"state:\s*(init|0)\s*->\s*([a-z1-9_]+)").unwrap_or_else(|_| unreachable!())
});

/// `reason: 201 - NO_AP_FOUND`, `Reason 2`, `reason : 16`, `reason=202`, `reason='(201)`.
static REASON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"reason\s*[:=]?\s*'?\(?(\d{1,3})\b(\s*-\s*[a-z0-9_]+)?")
        .unwrap_or_else(|_| unreachable!())
});

/// One failure line: where, what it said, and the reason code when it gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `wifi_err_reason_t`, when the line gives (or encodes) one.
    pub code: Option<u16>,
    /// What the line says, for the report.
    pub what: String,
    /// How well the line explains the drop: 2 names it (a reason code, a beacon timeout, a
    /// status), 1 is a firmware's own words for a failed join, 0 only a state change or a bare
    /// event. The best one of a drop explains it.
    pub rank: u8,
}

/// The station's last Wi-Fi state as the log showed it.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// The failure that best explains the current drop (line, quote, failure), and the line of
    /// the latest failure line of the same drop.
    down: Option<(usize, String, Failure, usize)>,
    /// The firmware left the network itself, and has not tried to join since.
    left: bool,
    /// The ESP8266 SDK's `no <ssid> found, reconnect after 1s` (line, quote, last line): its
    /// next attempt does not end it, only a join does.
    not_found: Option<(usize, String, usize)>,
    /// The last line with text was the sketch's `Connecting…` (or a status after it).
    connecting: bool,
    /// Drops since the station was last on the network, each one an attempt that failed: the
    /// first drop's best failure (line, quote, failure), how many, and the latest failure line
    /// (line, quote). A board that retries after each (`state: init -> auth`) clears `down`,
    /// not this.
    streak: Option<Streak>,
}

/// Failed join attempts with no join between them.
#[derive(Debug)]
struct Streak {
    first: (usize, String, Failure),
    drops: usize,
    last: (usize, String),
}

/// Failed attempts in a row, none joined, after which a log that ends on the next try ends on a
/// join loop that only ever failed.
const LOOP_DROPS: usize = 2;

/// The ESP8266 SDK's scan that found no access point of the configured name, before its next
/// try: `no GVT-C05C found, reconnect after 1s` (MicroPython, NodeMCU, NonOS and Arduino
/// builds on the ESP8266 print it alike).
fn ssid_not_found(lower: &str) -> bool {
    let t = lower.trim();
    let Some((head, tail)) = t.split_once(" found, reconnect after ") else {
        return false;
    };
    head.starts_with("no ") && head.len() > 3 && tail.trim_end().ends_with('s')
}

impl Watch {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        // A sketch's `WiFi.status()` in the dots after its `Connecting…` line.
        let status = if self.connecting {
            super::wifi_said::status_digit(text)
        } else {
            None
        };
        if !text.trim().is_empty() {
            self.connecting = lower.contains("connecting") || (self.connecting && status.is_some());
        }
        match status {
            Some(Some(f)) => {
                let quote = text.trim().to_owned();
                match &mut self.down {
                    Some((_, _, best, last)) if best.rank >= f.rank => *last = number,
                    slot => *slot = Some((number, quote, f, number)),
                }
                return;
            }
            Some(None) => {
                self.down = None;
                return;
            }
            None => {}
        }
        if ssid_not_found(lower) {
            let quote = super::https::shorten(text.trim(), 120);
            let first = self.not_found.as_ref().map_or(number, |n| n.0);
            let quote = self.not_found.take().map_or(quote, |n| n.1);
            self.not_found = Some((first, quote, number));
        } else if back_online(lower) {
            self.not_found = None;
        }
        if let Some(f) = failure(lower) {
            // The app's own `disconnected` after the firmware left on purpose is that leave.
            if self.left && f.rank == 0 {
                return;
            }
            let quote = super::https::shorten(text.trim().trim_start_matches("> "), 120);
            let new_drop = self.down.is_none();
            match &mut self.streak {
                Some(s) => {
                    s.drops += usize::from(new_drop);
                    s.last = (number, quote.clone());
                }
                slot => {
                    *slot = Some(Streak {
                        first: (number, quote.clone(), f.clone()),
                        drops: 1,
                        last: (number, quote.clone()),
                    })
                }
            }
            match &mut self.down {
                // The same drop: its first best-named failure is its cause, the rest its echo.
                Some((_, _, best, last)) if best.rank >= f.rank => *last = number,
                slot => *slot = Some((number, quote, f, number)),
            }
        } else if left_on_purpose(lower) || setup_mode(lower) {
            self.down = None;
            self.streak = None;
            self.left = true;
        } else if back_online(lower) {
            self.down = None;
            self.streak = None;
            self.left = false;
        } else if FROM_INIT.is_match(lower) || driver_starting(lower) {
            // On the network again, or the driver is on a new attempt whose end the log may
            // not show: a board still trying is no fault.
            self.down = None;
            self.left = false;
        }
    }

    /// The board showed itself on the network by other means (a TLS or TCP connection).
    pub(crate) fn online(&mut self) {
        self.not_found = None;
        self.down = None;
        self.streak = None;
        self.left = false;
    }

    /// The line of the latest failure of a drop still open.
    pub(crate) fn last_failure(&self) -> Option<usize> {
        self.down
            .as_ref()
            .map(|d| d.3)
            .or_else(|| self.join_loop().map(|s| s.last.0))
    }

    /// The failed attempts in a row, when there are enough of them to be a join loop and the
    /// board is on a new try (`down` cleared) rather than still down after the last one.
    fn join_loop(&self) -> Option<&Streak> {
        self.streak
            .as_ref()
            .filter(|s| self.down.is_none() && s.drops >= LOOP_DROPS)
    }

    /// The fault, when the log (`lines` long) ended with the station still down.
    pub(crate) fn verdict(&self, lines: usize) -> Option<String> {
        if self.down.is_none()
            && let Some((at, quote, last)) = &self.not_found
            && lines.saturating_sub(*last) <= TAIL
        {
            return Some(format!(
                "line {at}: the Wi-Fi station never joined: the ESP8266 SDK's scan found no \
                 access point of the configured name (`{quote}`), and its retries after it \
                 never associated (NO_AP_FOUND: the SSID misspelt, out of range, or a 5 GHz-only \
                 network; the ESP8266 sees only 2.4 GHz)"
            ));
        }
        if let Some(s) = self.join_loop()
            && lines.saturating_sub(s.last.0) <= TAIL
        {
            let (at, quote, f) = &s.first;
            let (last_at, last_quote) = &s.last;
            return Some(format!(
                "line {at}: the Wi-Fi station never joined: {} attempts in a row failed, the \
                 first with `{quote}` ({}), the last with `{last_quote}` (line {last_at}); the \
                 log ends on the next try with nothing that shows the board on the network",
                s.drops,
                explain(f)
            ));
        }
        let (at, quote, f, last) = self.down.as_ref()?;
        if lines.saturating_sub(*last) > TAIL {
            return None;
        }
        let why = explain(f);
        Some(format!(
            "line {at}: the Wi-Fi connection failed (`{quote}`): {why}; the log ends with the \
             board off the network (no line after it shows the station associated or with an \
             IP address)"
        ))
    }
}

/// What a failure means: its reason code's name and meaning, or what the line says.
fn explain(f: &Failure) -> String {
    match f.code.and_then(|c| reason_name(c).map(|n| (c, n))) {
        Some((code, (name, meaning))) => format!("disconnect reason {code} {name}: {meaning}"),
        None => f.what.clone(),
    }
}

/// The failure `lower` (a line in ASCII lower case) reports, if it is one.
pub(crate) fn failure(lower: &str) -> Option<Failure> {
    let named = |code: Option<u16>, what: &str| {
        Some(Failure {
            code,
            what: what.to_owned(),
            rank: 2,
        })
    };
    if lower.contains("bcn_timout") || lower.contains("bcn_timeout") {
        return named(
            Some(200),
            "the station lost the access point's beacons (`bcn_timout`)",
        );
    }
    if let Some(c) = TO_INIT.captures(lower) {
        let from = c.get(1).map_or("", |m| m.as_str());
        let value = c
            .get(3)
            .and_then(|m| u32::from_str_radix(m.as_str(), 16).ok())?;
        if from == "init" || from == "0" {
            return None;
        }
        // ESP-IDF prints the reason in the high byte (`c800` is 200); the ESP8266 SDK and old
        // ESP-IDF print a small value that is not the reason.
        let code = (value >= 0x100)
            .then(|| u16::try_from(value >> 8).ok())
            .flatten();
        if matches!(code, Some(3 | 8)) {
            return None; // the firmware left the network itself
        }
        return Some(Failure {
            code,
            what: "the Wi-Fi driver dropped the station back to its initial state".to_owned(),
            rank: if code.is_some_and(|c| reason_name(c).is_some()) {
                2
            } else {
                0
            },
        });
    }
    if let Some(f) = disconnect_reason(lower).or_else(|| super::wifi_said::failure(lower)) {
        return Some(f);
    }
    if lower.contains("sta is connecting, return error") {
        return named(
            None,
            "`esp_wifi_connect` was refused because the station was still connecting (a \
             second `connect()` before the first one finished: MicroPython's `WLAN.connect` \
             raises on it)",
        );
    }
    if lower.contains("wifi not start") {
        return named(
            None,
            "`esp_wifi_connect` was called while the Wi-Fi driver was not started \
             (`esp_wifi_start` had not run, or the driver was stopping)",
        );
    }
    if lower.contains("esp_wifi_internal_reg_rxcb") && lower.contains("ret=0x3014") {
        return named(
            None,
            "the Wi-Fi driver could not register its receive callback: ret=0x3014 \
             (ESP_ERR_WIFI_STOP_STATE, the driver was stopping)",
        );
    }
    for (words, what, rank) in [
        (
            "wl_no_ssid_avail",
            "the station found no access point with the configured SSID (WL_NO_SSID_AVAIL)",
            2,
        ),
        (
            // Arduino-ESP32's WiFiClientConnect example, and sketches that print the status
            // in words: `[WiFi] SSID not found`, `SSID not available`.
            "ssid not found",
            "the station found no access point with the configured SSID (`SSID not found`: \
             out of range, a 5 GHz-only network, or a typo in the name)",
            2,
        ),
        (
            "ssid not available",
            "the station found no access point with the configured SSID (`SSID not available`: \
             out of range, a 5 GHz-only network, or a typo in the name)",
            2,
        ),
        (
            "wl_connect_failed",
            "the connection to the access point failed (WL_CONNECT_FAILED; a wrong password?)",
            2,
        ),
        (
            "wl_connection_lost",
            "the connection to the access point was lost (WL_CONNECTION_LOST)",
            2,
        ),
        (
            "wl_wrong_password",
            "the access point refused the password (WL_WRONG_PASSWORD)",
            2,
        ),
        (
            "connect to the ap fail",
            "the ESP-IDF station gave up joining the access point after its retries",
            1,
        ),
        (
            "failed to connect to ssid",
            "the ESP-IDF station gave up joining the access point after its retries",
            1,
        ),
        (
            "autoconnect: failed",
            "WiFiManager's AutoConnect could not join any saved network",
            1,
        ),
        (
            // 2.x's `*wm:[0] [ERROR] Connect to new AP Failed`, older `Connect to new AP [FAILED]`.
            "connect to new ap failed",
            "WiFiManager could not join the network it was given in its portal (`Connect to new \
             AP Failed`: a wrong password, or the access point out of reach)",
            1,
        ),
        (
            "connect to new ap [failed]",
            "WiFiManager could not join the network it was given in its portal (`Connect to new \
             AP [FAILED]`: a wrong password, or the access point out of reach)",
            1,
        ),
        (
            // ESP-IDF 5's coexistence module on each failed attempt: `wifi:Coexist: Wi-Fi
            // connect fail, apply reconnect coex policy`.
            "wi-fi connect fail,",
            "the Wi-Fi driver reports the connect attempt failed",
            1,
        ),
        (
            "wif: connect failed",
            "Tasmota could not join the access point",
            1,
        ),
        (
            "error while connecting to network",
            "ESPHome's Wi-Fi component could not join the network",
            1,
        ),
    ] {
        if lower.contains(words) && !lower.contains("stadisconnected") {
            return Some(Failure {
                code: None,
                what: what.to_owned(),
                rank,
            });
        }
    }
    if wifi_join_failed(lower) {
        return Some(Failure {
            code: None,
            what: "the firmware says joining the Wi-Fi network failed".to_owned(),
            rank: 1,
        });
    }
    if app_says_wifi_down(lower) {
        return Some(Failure {
            code: None,
            what: "the app says the station lost the Wi-Fi network (it gives no reason)".to_owned(),
            rank: 0,
        });
    }
    // A bare disconnect event: a drop, with nothing said about why.
    if (lower.contains("sta_disconnected") || lower.contains("sta disconnected"))
        && !lower.contains("stadisconnected")
        && !lower.contains("wifi_event_ap")
    {
        return Some(Failure {
            code: None,
            what: "the station was disconnected (the event gives no reason)".to_owned(),
            rank: 0,
        });
    }
    None
}

/// An app's own line that Wi-Fi went down, the whole message: `I (581471393) WiFi:
/// Disconnected` (BLE2MQTT's `WiFi` tag), `[WiFi] Disconnected`, `WiFi disconnected!`, `WiFi:
/// disconnected from AP`. Not a longer sentence (`WiFi disconnected, reconnecting in 5 s` is
/// still read by the rules above when it names a reason).
fn app_says_wifi_down(lower: &str) -> bool {
    if super::wifi::network_down(lower) {
        return true;
    }
    let t = lower.trim();
    // ESP-IDF's `I (581471393) ` in front, lower-cased.
    let t = t
        .strip_prefix(['i', 'w', 'e', 'd', 'v'])
        .and_then(|r| r.strip_prefix(" ("))
        .and_then(|r| r.split_once(") "))
        .filter(|(time, _)| {
            time.bytes()
                .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
        })
        .map_or(t, |(_, body)| body);
    let t = t.trim().trim_end_matches(['.', '!']).trim_end();
    // A sketch's own tick count in front (`[ 2951 ] [WiFi] Connection lost`), and the dots
    // it printed while it waited.
    let t = t.trim_start_matches('.');
    let t = t
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .filter(|(n, _)| !n.trim().is_empty() && n.trim().bytes().all(|b| b.is_ascii_digit()))
        .map_or(t, |(_, rest)| rest.trim_start());
    let Some(rest) = ["[wifi]", "wifi:", "wi-fi:", "wifi", "wi-fi"]
        .iter()
        .find_map(|p| t.strip_prefix(p))
    else {
        return false;
    };
    matches!(
        rest.trim(),
        "disconnected"
            | "disconnected from ap"
            | "disconnected from the ap"
            | "disconnected from access point"
            | "disconnected from the access point"
            | "disconnected from the network"
            | "lost connection"
            | "connection lost"
    )
}

/// A disconnect line with a reason code: `Reason: 2 - AUTH_EXPIRE`, `…STA_DISCONNECTED (107),
/// Reason 2`, `wifi station: Disconnect reason : 16`. Not a softAP's client leaving, not
/// another protocol's disconnect, not a reset reason.
fn disconnect_reason(lower: &str) -> Option<Failure> {
    const NOT_WIFI: [&str; 9] = [
        "mqtt",
        "websocket",
        "gatt",
        "bluetooth",
        "http",
        "tcp",
        "stadisconnected",
        "reset reason",
        "boot reason",
    ];
    if NOT_WIFI.iter().any(|w| lower.contains(w)) {
        return None;
    }
    if let Some(code) = STA_DISCONNECT
        .captures(lower)
        .and_then(|c| c.get(1)?.as_str().parse::<u16>().ok())
    {
        if matches!(code, 3 | 8) {
            return None;
        }
        let known = reason_name(code).is_some();
        return Some(Failure {
            code: Some(code),
            what: format!("the station was disconnected with reason {code}"),
            rank: if known { 2 } else { 0 },
        });
    }
    let caps = REASON.captures(lower)?;
    let named_form = caps.get(2).is_some();
    let about = lower.contains("disconnect")
        && [
            "wifi",
            "wi-fi",
            "wlan",
            "sta_",
            "sta ",
            "station",
            "disconnect reason",
        ]
        .iter()
        .any(|w| lower.contains(w));
    if !named_form && !about {
        return None;
    }
    let code = caps.get(1)?.as_str().parse::<u16>().ok()?;
    if matches!(code, 3 | 8) {
        return None; // the firmware left the network itself
    }
    let known = reason_name(code).is_some();
    if named_form && !known {
        return None;
    }
    Some(Failure {
        code: Some(code),
        what: format!("the station was disconnected with reason {code}"),
        rank: if known { 2 } else { 0 },
    })
}

/// The station left the network itself (`Reason: 8 - ASSOC_LEAVE`, `state: run -> init (800)`):
/// the firmware's `disconnect()` before a sleep or a restart, not a failure.
fn left_on_purpose(lower: &str) -> bool {
    let code = |c: Option<regex::Match<'_>>| c.and_then(|m| m.as_str().parse::<u16>().ok());
    if let Some(c) = TO_INIT.captures(lower) {
        let value = c
            .get(3)
            .and_then(|m| u32::from_str_radix(m.as_str(), 16).ok());
        return matches!(value.map(|v| v >> 8), Some(3 | 8)) && value.is_some_and(|v| v >= 0x100);
    }
    let Some(c) = REASON.captures(lower) else {
        return false;
    };
    let about = c.get(2).is_some() || lower.contains("disconnect");
    about && matches!(code(c.get(1)), Some(3 | 8)) && !lower.contains("stadisconnected")
}

/// The firmware gave up joining as it is built to and waits for a person to set it up
/// (WiFiManager's `Starting Config Portal` / `No saved credentials`, ESP-IDF's provisioning
/// manager, SmartConfig): the drop before it is the design, not a fault; the log has no verdict.
fn setup_mode(lower: &str) -> bool {
    [
        "config portal",
        "configportal",
        "no saved credentials",
        "provisioning started",
        "starting provisioning",
        "smartconfig start",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// A firmware's own words for a join that failed: `[E][WiFiSTA.cpp:219] begin(): connect
/// failed!`, `WiFi connection failed`, `Failed to connect to WiFi`. Not a server's or a
/// broker's connection.
fn wifi_join_failed(lower: &str) -> bool {
    let wifi = lower.contains("wifi") || lower.contains("wi-fi") || lower.contains("wlan");
    let failed = lower.contains("connect failed")
        || lower.contains("connection failed")
        || lower.contains("failed to connect");
    let other = [
        "mqtt",
        "http",
        "server",
        "broker",
        "websocket",
        "tcp",
        "socket",
        "host",
        "client",
    ];
    wifi && failed && !other.iter().any(|w| lower.contains(w))
}

/// The Wi-Fi driver still starting after a failure line (`I (2807) wifi: wifi timer task:
/// 3ffd21f8, prio:22`, `wifi:mode : sta (…)`): an early `wifi not start` during its init (Mongoose
/// OS calls connect before the driver is up) is not where the join ended.
fn driver_starting(lower: &str) -> bool {
    ["wifi timer task", "wifi: mode : ", "wifi:mode : "]
        .iter()
        .any(|w| lower.contains(w))
}

/// A line that shows the station back on the network: associated, or with an address.
pub(crate) fn back_online(lower: &str) -> bool {
    super::wifi::connected(lower)
        || lower.contains("sta_connected")
        || (lower.contains("connected with ") && lower.contains("channel"))
        || lower.contains("assoc -> run")
        || lower.contains("3 -> 5")
        || lower.contains("wl_connected")
        || firmware_joined(lower)
}

/// Tasmota's `00:00:14 WIF: Connected` and ESPEasy's `WIFI : Connected! AP: …`: the firmware's
/// own word that the station joined, which ends an earlier `WIF: Connect failed as AP cannot be
/// reached` (Tasmota tries its other AP, then this one again).
fn firmware_joined(lower: &str) -> bool {
    ["wif: connected", "wifi : connected"].iter().any(|w| {
        lower.split_once(w).is_some_and(|(before, after)| {
            let stamp = before
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '-' | '/'));
            stamp && (after.is_empty() || after.starts_with(['!', ' ', ',', '.']))
        })
    })
}

/// ESP-IDF's `wifi_err_reason_t`: the name, and what it means for getting the board online.
pub(crate) fn reason_name(code: u16) -> Option<(&'static str, &'static str)> {
    Some(match code {
        1 => ("UNSPECIFIED", "the access point gave no reason"),
        2 => (
            "AUTH_EXPIRE",
            "the access point did not answer the authentication in time (signal?)",
        ),
        4 => (
            "ASSOC_EXPIRE",
            "the access point dropped the association (idle, or out of range)",
        ),
        5 => ("ASSOC_TOOMANY", "the access point has too many stations"),
        6 => ("NOT_AUTHED", "the access point no longer knows the station"),
        7 => (
            "NOT_ASSOCED",
            "the access point no longer knows the station",
        ),
        9 => (
            "ASSOC_NOT_AUTHED",
            "the access point no longer knows the station",
        ),
        13 => (
            "IE_INVALID",
            "the access point rejected an element of the join",
        ),
        14 => (
            "MIC_FAILURE",
            "a message integrity check failed (wrong key?)",
        ),
        15 => (
            "4WAY_HANDSHAKE_TIMEOUT",
            "the WPA handshake never finished, most often a wrong password (or a weak \
             signal, or an AP that insists on WPA3/PMF)",
        ),
        16 => (
            "GROUP_KEY_UPDATE_TIMEOUT",
            "the station missed the access point's group key update (signal, power save)",
        ),
        17 => (
            "IE_IN_4WAY_DIFFERS",
            "the WPA handshake's elements did not match",
        ),
        18 => (
            "GROUP_CIPHER_INVALID",
            "the access point's group cipher is not supported",
        ),
        19 => (
            "PAIRWISE_CIPHER_INVALID",
            "the access point's cipher is not supported",
        ),
        20 => (
            "AKMP_INVALID",
            "the access point's key management is not supported",
        ),
        23 => (
            "802_1X_AUTH_FAILED",
            "the enterprise (802.1X) authentication failed",
        ),
        24 => (
            "CIPHER_SUITE_REJECTED",
            "the access point rejected the cipher suite",
        ),
        200 => (
            "BEACON_TIMEOUT",
            "the board lost the access point's beacons (signal, power save, the AP went away)",
        ),
        201 => (
            "NO_AP_FOUND",
            "no access point with that SSID was in range (the name misspelt, out of range, or \
             a 5 GHz-only network; the ESP32 and ESP8266 see only 2.4 GHz)",
        ),
        202 => (
            "AUTH_FAIL",
            "the access point refused the authentication (wrong password or mode)",
        ),
        203 => ("ASSOC_FAIL", "the access point refused the association"),
        204 => (
            "HANDSHAKE_TIMEOUT",
            "the WPA handshake never finished, most often a wrong password",
        ),
        205 => (
            "CONNECTION_FAIL",
            "the connection to the access point failed",
        ),
        206 => ("AP_TSF_RESET", "the access point restarted"),
        207 => ("ROAMING", "the station roamed to another access point"),
        209 => (
            "SA_QUERY_TIMEOUT",
            "the access point's SA query timed out (PMF)",
        ),
        210 => (
            "NO_AP_FOUND_W_COMPATIBLE_SECURITY",
            "the access point's security mode is not one the station accepts",
        ),
        211 => (
            "NO_AP_FOUND_IN_AUTHMODE_THRESHOLD",
            "the access point's security is weaker than the station's threshold",
        ),
        212 => (
            "NO_AP_FOUND_IN_RSSI_THRESHOLD",
            "the access point's signal is below the station's threshold",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(line: &str) -> Option<Failure> {
        failure(&line.to_ascii_lowercase())
    }

    fn graded(lines: &[&str]) -> Option<String> {
        let mut w = Watch::default();
        for (i, l) in lines.iter().enumerate() {
            w.line(i + 1, l, &l.to_ascii_lowercase());
        }
        w.verdict(lines.len())
    }

    #[test]
    fn an_apps_own_wifi_down_line() {
        for l in [
            "I (581471393) WiFi: Disconnected",
            "[WiFi] Disconnected",
            "WiFi disconnected!",
            "WiFi: disconnected from AP",
            "Wi-Fi connection lost",
            "W: Network disconnected",
        ] {
            assert!(app_says_wifi_down(&l.to_ascii_lowercase()), "{l}");
        }
        for l in [
            "I (581469823) BLE2MQTT: Disconnected from the network, stopping MQTT",
            "WiFi connected",
            "MQTT disconnected",
            "WiFi: not disconnected",
            "wifi disconnected clients: 0",
            "I (100) wifi: connected with ssid",
            "W: Network disconnected clients",
        ] {
            assert!(!app_says_wifi_down(&l.to_ascii_lowercase()), "{l}");
        }
    }

    #[test]
    fn failures_as_each_stack_prints_them() {
        for (line, code) in [
            ("I (77177) wifi: bcn_timout,ap_probe_send_start", Some(200)),
            ("I (13136665) wifi:state: run -> init (10c0)", Some(16)),
            ("I (1234) wifi:state: auth -> init (200)", Some(2)),
            ("I (1234) wifi:state: run -> init (c800)", Some(200)),
            ("I (79687) wifi: state: run -> init (1)", None),
            ("state: 5 -> 0 (2)", None),
            (
                "E (3672460) BEA*ST: SYSTEM_EVENT_STA_DISCONNECTED (107), Reason 2",
                Some(2),
            ),
            (
                "E (13136685) wifi station: Disconnect reason : 16",
                Some(16),
            ),
            (
                "[W][WiFiGeneric.cpp:180] _eventCallback(): Reason: 2 - AUTH_EXPIRE",
                Some(2),
            ),
            ("I (652662) OPC: SYSTEM_EVENT_STA_DISCONNECTED", None),
            ("*WM: [2] Connection result: WL_NO_SSID_AVAIL", None),
            ("[E][WiFiSTA.cpp:219] begin(): connect failed!", None),
            ("E (781062) wifi:sta is connecting, return error", None),
            (
                "E (1999968) wifi: esp_wifi_connect 1134 wifi not start",
                None,
            ),
            (
                "E (1999968) event: system_event_sta_disconnected_handle_default 294 \
                 esp_wifi_internal_reg_rxcb ret=0x3014",
                None,
            ),
            ("I (5323) wifi station: connect to the AP fail", None),
            ("wifi evt: disconnected, reason 202", Some(202)),
            ("*wm:[0] [ERROR] Connect to new AP Failed ", None),
            ("*wm:Connect to new AP [FAILED] ", None),
            ("12:01:33.120 -> *WM: [1] Connect to new AP [FAILED]", None),
            ("[WiFi] SSID not found", None),
            ("WiFi status: SSID not available", None),
        ] {
            let f = fail(line).unwrap_or_else(|| panic!("not a failure: {line}"));
            assert_eq!(f.code, code, "{line}");
        }
    }

    #[test]
    fn an_ssid_the_sdk_never_found() {
        assert!(ssid_not_found("no gvt-c05c found, reconnect after 1s"));
        assert!(ssid_not_found("no my home wifi found, reconnect after 10s"));
        assert!(!ssid_not_found("no ap found"));
        assert!(!ssid_not_found("no sensor found, reconnect after reset"));
        assert!(!ssid_not_found("found, reconnect after 1s"));
        let mut w = Watch::default();
        for (n, l) in [
            "state: 3 -> 0 (19)",
            "no gvt-c05c found, reconnect after 1s",
            "reconnect",
            "state: 0 -> 2 (b0)",
        ]
        .iter()
        .enumerate()
        {
            w.line(n + 1, l, l);
        }
        let why = w.verdict(5).unwrap_or_default();
        assert!(
            why.contains("`no gvt-c05c found, reconnect after 1s`"),
            "{why}"
        );
        w.line(
            6,
            "connected with gvt-c05c, channel 6",
            "connected with gvt-c05c, channel 6",
        );
        w.line(
            7,
            "ip:192.168.1.5,mask:255.255.255.0,gw:192.168.1.1",
            "ip:192.168.1.5,mask:255.255.255.0,gw:192.168.1.1",
        );
        assert_eq!(w.verdict(8), None);
    }

    #[test]
    fn firmwares_that_say_they_joined() {
        for l in [
            "00:00:14 wif: connected",
            "12:08:05.123 wif: connected",
            "wifi : connected! ap: myap (aa:bb:cc:dd:ee:ff) ch: 6",
        ] {
            assert!(back_online(l), "{l}");
        }
        for l in [
            "00:00:07 wif: connect failed as ap cannot be reached",
            "00:00:15 mqt: attempting connection...",
            "00:00:15 mqt: wif: connected? no",
            "00:00:14 wif: connectedness unknown",
        ] {
            assert!(!back_online(l), "{l}");
        }
    }

    #[test]
    fn lines_that_look_alike_but_are_no_wifi_failure() {
        for line in [
            "I (3668400) wifi: state: init -> auth (b0)",
            "I (3668410) wifi: state: assoc -> run (10)",
            "I (1234) wifi:state: run -> init (800)",
            "I (1234) wifi:state: run -> init (300)",
            "I (5000) wifi:station: 24:0a:c4:00:00:01 leave, AID = 1, bss_flags is 134243, bss:0x3ffb",
            "I (5000) example: WIFI_EVENT_AP_STADISCONNECTED station leave, reason=2",
            "[D][WiFiGeneric.cpp:374] _eventCallback(): Event: 15 - AP_STADISCONNECTED",
            "MQTT disconnected, reason: 2",
            "E (5336) MQTT_CLIENT: Error transport connect",
            "Reboot reason: 4",
            "rst cause:2, boot mode:(3,6)",
            "Connecting to WiFi....",
            "*wm:[1] Connecting to NEW AP: (friends wifi ssid)",
            "*wm:Connect to new AP [SUCCESS] ",
            "W (13146925) wifi:Haven't to connect to a suitable AP now!",
            "[HTTP] GET... failed, error: connection refused",
            "WiFi connected, but MQTT connection failed",
            "I (300) wifi: Set ps type: 0",
            "Disconnected reason: 15 seconds ago",
        ] {
            assert_eq!(fail(line), None, "{line}");
        }
    }

    #[test]
    fn the_last_network_state_decides() {
        // Lost for good: the beacon timeout is named, not the state change after it.
        let why = graded(&[
            "I (77177) wifi: bcn_timout,ap_probe_send_start",
            "I (79687) wifi: ap_probe_send over, resett wifi status to disassoc",
            "I (79687) wifi: state: run -> init (1)",
            "I (79687) wifi: pm stop, total sleep time: 0/42649695",
        ])
        .unwrap_or_else(|| unreachable!());
        assert!(
            why.contains("bcn_timout") && why.contains("BEACON_TIMEOUT"),
            "{why}"
        );
        let why = graded(&[
            "I (13136665) wifi:state: run -> init (10c0)",
            "E (13136685) wifi station: Disconnect reason : 16",
            "W (13146925) wifi:Haven't to connect to a suitable AP now!",
        ])
        .unwrap_or_else(|| unreachable!());
        assert!(why.contains("16 GROUP_KEY_UPDATE_TIMEOUT"), "{why}");
        // Dropped, then back: no fault (set 27's auth expire, then a reset and a join).
        assert_eq!(
            graded(&[
                "[D][WiFiGeneric.cpp:174] _eventCallback(): Event: 5 - STA_DISCONNECTED",
                "[W][WiFiGeneric.cpp:180] _eventCallback(): Reason: 2 - AUTH_EXPIRE",
                "rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
                "[D][WiFiGeneric.cpp:174] _eventCallback(): Event: 4 - STA_CONNECTED",
            ]),
            None
        );
        assert_eq!(
            graded(&[
                "I (652662) OPC: SYSTEM_EVENT_STA_DISCONNECTED",
                "I (664862) wifi: connected with TP-LINK_FF3107, channel 2",
                "I (664882) OPC: got ip:192.168.1.100",
            ]),
            None
        );
        // Failed, then the driver on a new attempt when the log was cut (ESPHome's verbose
        // driver lines): still trying.
        assert_eq!(
            graded(&[
                "[V][esp-idf:000]: state: assoc -> init (2c0)",
                "[V][esp-idf:000]: new:<1,0>, old:<6,0>, ap:<255,255>, sta:<1,0>, prof:1",
                "[V][esp-idf:000]: state: init -> auth (b0",
            ]),
            None
        );
        // The firmware disconnected itself (before a deep sleep): no failure.
        assert_eq!(
            graded(&[
                "[D][WiFiGeneric.cpp:374] _eventCallback(): Event: 5 - STA_DISCONNECTED",
                "[W][WiFiGeneric.cpp:391] _eventCallback(): Reason: 8 - ASSOC_LEAVE",
                "Going to sleep now",
            ]),
            None
        );
        assert_eq!(
            graded(&[
                "I (9000) wifi:state: run -> init (800)",
                "I (9010) app: WIFI_EVENT_STA_DISCONNECTED",
            ]),
            None
        );
        // Long ago, and the firmware went on: not the last state.
        let mut lines = vec!["I (652662) OPC: SYSTEM_EVENT_STA_DISCONNECTED"];
        lines.extend(std::iter::repeat_n("I (7) app: tick", TAIL + 1));
        assert_eq!(graded(&lines), None);
        // WiFiManager's result names the status.
        let why = graded(&[
            "[E][WiFiSTA.cpp:219] begin(): connect failed!",
            "*WM: [2] Connection result: WL_NO_SSID_AVAIL",
            "*WM: [1] AutoConnect: FAILED ",
        ])
        .unwrap_or_else(|| unreachable!());
        assert!(why.contains("WL_NO_SSID_AVAIL"), "{why}");
        // With no credentials WiFiManager fails by design and opens its portal for a person:
        // waiting, not a fault; a later failed join is one again.
        let portal = [
            "*WM: [1] No saved credentials, skipping wifi",
            "*WM: [2] Connection result: WL_NO_SSID_AVAIL",
            "*WM: [1] AutoConnect: FAILED",
            "*WM: [2] Starting Config Portal",
            "*WM: [3] WIFI station disconnect",
        ];
        assert_eq!(graded(&portal), None);
        // The ESP8266 core's debug names the SDK's reason.
        let why = graded(&["wifi evt: 1", "STA disconnect: 2", "....wifi evt: 7"])
            .unwrap_or_else(|| unreachable!());
        assert!(
            why.contains("STA disconnect: 2") && why.contains("AUTH_EXPIRE"),
            "{why}"
        );
        assert_eq!(graded(&["STA disconnect: 8"]), None);
        assert_eq!(
            graded(&["wifi evt: 1", "STA disconnect: 2", "wifi evt: 3", "got IP"]),
            None
        );
        let mut again = portal.to_vec();
        again.push("*WM: [2] Connection result: WL_CONNECT_FAILED");
        assert!(graded(&again).is_some());
    }

    #[test]
    fn a_join_loop_that_only_ever_fails_is_a_fault_when_the_log_ends_on_the_next_try() {
        let attempt = [
            "I (64715) wifi:state: init -> auth (0xb0)",
            "I (65716) wifi:state: auth -> init (0x200)",
            "I (65717) wifi:Coexist: Wi-Fi connect fail, apply reconnect coex policy",
        ];
        let twice: Vec<&str> = attempt
            .iter()
            .chain(attempt.iter())
            .copied()
            .chain(["I (66726) wifi:state: init -> auth (0xb0)"])
            .collect();
        let reason = graded(&twice).unwrap_or_default();
        assert!(
            reason.contains("2 attempts in a row failed")
                && reason.contains("AUTH_EXPIRE")
                && reason.contains("Wi-Fi connect fail"),
            "{reason}"
        );
        // One failed attempt and a new try: the board may yet join.
        let once: Vec<&str> = attempt
            .iter()
            .copied()
            .chain(["I (66726) wifi:state: init -> auth (0xb0)"])
            .collect();
        assert_eq!(graded(&once), None);
        // Two failures, then a join: no loop.
        let joined: Vec<&str> = twice
            .iter()
            .copied()
            .chain(["I (66900) wifi:state: assoc -> run (0x10)"])
            .collect();
        assert_eq!(graded(&joined), None);
    }

    #[test]
    fn a_whole_log_ends_on_the_failure_or_on_the_recovery() {
        use crate::grade::{GradeConfig, Profile, Verdict, grade_bytes};
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"I (3669470) wifi: connected with linksysTest, channel 4\n\
              I (3672460) wifi: state: run -> auth (2c0)\n\
              E (3672460) BEA*ST: SYSTEM_EVENT_STA_DISCONNECTED (107), Reason 2\n",
        );
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        assert!(
            r.reason.contains("Reason 2") && r.reason.contains("AUTH_EXPIRE"),
            "{}",
            r.reason
        );
        // Only trying, no failure printed: still a timeout.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"Connecting to MyNet\n.......\n",
        );
        assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
        // Lost, then back with an address: no fault.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"I (650152) wifi: bcn_timout,ap_probe_send_start\n\
              I (652652) wifi: state: run -> init (1)\n\
              I (664862) wifi: connected with TP-LINK_FF3107, channel 2\n\
              I (664882) OPC: got ip:192.168.1.100\n",
        );
        assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for line in [
            "state: run -> init (ffffff)",
            "state: run -> init ()",
            "reason: 999 - x",
            "\u{fffd}\u{0}reason",
            "",
        ] {
            let _ = fail(line);
        }
        let long = "sta_disconnected reason: ".repeat(10_000);
        let _ = fail(&long);
    }
}
