//! Firmware whose job, as far as the log shows it, is the network itself, ending with it up.
//!
//! Arduino-ESP32's event examples (WiFiClientEvents, ETH_LAN8720, the 3.x Network examples) print
//! the core's network events and nothing else: `Arduino Event: 22 - ETH_GOT_IP`, 3.x's `Network
//! Event: 13 - STA_CONNECTED` and `_onIpEvent(): sta Got New IP: …`, 2.x's `[WiFi-event] event:
//! 7`. When the last event is the address and the log ends right on it (only core lines after),
//! the link came up and nothing failed: a pass. A sketch that goes on to a job (`Connecting to
//! MQTT…`) prints its own lines after the address, and the log ending there is a hang.
//!
//! ESPEasy's watchdog status (`WD : Uptime 6 ConnectFailures 0 … WiFiStatus: WL_CONNECTED`) while
//! its services take clients (`Ser2Net: Client connected!`) is a node up and serving.

/// Lines after the address within which the log must end, all of them the core's own.
const AFTER_IP: usize = 3;

#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Network event lines seen.
    events: u32,
    /// The last address event (line, text), while no other event came after it.
    got_ip: Option<(usize, String)>,
    /// A line after the address that is not the core's.
    app_after: bool,
    /// ESPEasy's last watchdog line said Wi-Fi is connected with no connect failures (line).
    espeasy_up: Option<usize>,
    /// A client of an ESPEasy service connected.
    served: bool,
}

impl Watch {
    pub(crate) fn line(&mut self, number: usize, text: &str) {
        let t = text.trim().trim_start_matches('>').trim();
        if t.is_empty() || t.len() > 300 {
            return;
        }
        let lower = t.to_ascii_lowercase();
        if let Some(event) = event_name(&lower) {
            self.events += 1;
            if got_ip(event) {
                self.got_ip = Some((number, t.to_owned()));
                self.app_after = false;
            } else if !matches!(event, "" | "unknown") {
                self.got_ip = None;
            }
        } else if new_ip(&lower) {
            self.events += 1;
            self.got_ip = Some((number, t.to_owned()));
            self.app_after = false;
        } else if joined(&lower) {
            self.events += 1;
        } else if self.got_ip.is_some() && !core_line(t) {
            self.app_after = true;
        }
        if let Some(rest) = espeasy_wd(&lower) {
            let word = |key: &str| {
                let at = rest.find(key)? + key.len();
                rest[at..].split_whitespace().next()
            };
            let failures = word("connectfailures ");
            let status = word("wifistatus: ");
            let up = failures == Some("0") && status == Some("wl_connected");
            // A line the paste cut (`WiFiStatus: WL_CONN`) says nothing new.
            let down = failures.is_some_and(|f| f != "0" && f.bytes().all(|b| b.is_ascii_digit()))
                || status.is_some_and(|s| !"wl_connected".starts_with(s));
            if up {
                self.espeasy_up = Some(number);
            } else if down {
                self.espeasy_up = None;
            }
        }
        if self.espeasy_up.is_some() && lower.contains("client connected") {
            self.served = true;
        }
    }

    /// The pass, when the log (of `lines` lines) ends with the network up.
    pub(crate) fn verdict(&self, lines: usize) -> Option<String> {
        if let Some((at, said)) = &self.got_ip
            && self.events >= 2
            && !self.app_after
            && lines.saturating_sub(*at) <= AFTER_IP
        {
            return Some(format!(
                "line {at}: the board got its address (`{said}`) and the log ends on it: the \
                 network came up, the last of the core's network events the firmware printed, \
                 and nothing after it failed"
            ));
        }
        let at = self.espeasy_up.filter(|_| self.served)?;
        (lines.saturating_sub(at) <= 40).then(|| {
            format!(
                "line {at}: ESPEasy's watchdog reports Wi-Fi connected with no connect failures \
                 (`WiFiStatus: WL_CONNECTED`) while its service takes clients: the node is up \
                 and serving"
            )
        })
    }
}

/// The event's name from an event dispatcher line (`Arduino Event: 22 - ETH_GOT_IP`, `Network
/// Event: 9 - WIFI_READY`, `Event: 7 - STA_GOT_IP`); `""` for 2.x's bare `[WiFi-event] event: 7`.
fn event_name(lower: &str) -> Option<&str> {
    for key in [
        "arduino event: ",
        "network event: ",
        "_eventcallback(): event: ",
    ] {
        if let Some(at) = lower.find(key) {
            let rest = &lower[at + key.len()..];
            let (_, name) = rest.split_once(" - ")?;
            return Some(name.split_whitespace().next().unwrap_or(""));
        }
    }
    if let Some(at) = lower.find("[wifi-event] event: ") {
        // WiFiClientEvents prints the number; 7 is SYSTEM_EVENT_STA_GOT_IP on 1.x/2.x.
        let n = lower[at + 20..].trim();
        return Some(if n == "7" { "sta_got_ip" } else { "" });
    }
    None
}

fn got_ip(event: &str) -> bool {
    matches!(
        event,
        "sta_got_ip" | "eth_got_ip" | "got_ip6" | "sta_got_ip6" | "eth_got_ip6"
    )
}

/// 3.x's `_onIpEvent(): sta Got New IP: 192.168.254.84 …` (also `eth`), 2.x's `ETH IP: …` debug.
fn new_ip(lower: &str) -> bool {
    lower.contains("_onipevent(): ") && lower.contains(" got new ip")
        || lower.contains("_eventcallback(): eth ip: ")
        || lower.contains("_eventcallback(): sta ip: ")
        // The ESP8266 SDK's own `ip:192.168.0.115,mask:255.255.255.0,gw:192.168.0.1`.
        || (lower.starts_with("ip:") && lower.contains(",mask:") && lower.contains(",gw:"))
}

/// A station that associated, before its address: the ESP8266 SDK's `connected with MY_AP,
/// channel 12`. (ESPHome's config dump, `[C][wifi:241]:   IP Address: …`, is its component
/// listing its settings at boot, not the job: its logs end there when the paste does.)
fn joined(lower: &str) -> bool {
    lower.starts_with("connected with ") && lower.contains(", channel ")
}

/// An Arduino-ESP32 core log line: `[D][WiFiGeneric.cpp:831] …`, `[  3420][D][…] …`.
fn core_line(t: &str) -> bool {
    let rest = match t.strip_prefix('[') {
        Some(r) => r,
        None => return false,
    };
    let rest = match rest.split_once(']') {
        Some((stamp, after)) if stamp.trim().bytes().all(|b| b.is_ascii_digit()) => {
            match after.strip_prefix('[') {
                Some(r) => r,
                None => return false,
            }
        }
        _ => rest,
    };
    let b = rest.as_bytes();
    b.len() > 3 && b"VDIWEC".contains(&b[0]) && b[1] == b']' && b[2] == b'['
}

/// ESPEasy's watchdog line, past its `WD : ` (the time before it varies).
fn espeasy_wd(lower: &str) -> Option<&str> {
    let at = lower
        .find("wd : uptime ")
        .or_else(|| lower.find("wd   : uptime "))?;
    Some(&lower[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(log: &str) -> (Watch, usize) {
        let mut w = Watch::default();
        let mut n = 0;
        for (i, l) in log.lines().enumerate() {
            w.line(i + 1, l);
            n = i + 1;
        }
        (w, n)
    }

    #[test]
    fn a_log_that_ends_on_the_address_event_is_the_network_up() {
        for log in [
            "[  3367][D][WiFiGeneric.cpp:831] _eventCallback(): Arduino Event: 18 - ETH_START\n\
             [  3396][D][WiFiGeneric.cpp:831] _eventCallback(): Arduino Event: 20 - ETH_CONNECTED\n\
             ETH Connected\n\
             [  3420][D][WiFiGeneric.cpp:831] _eventCallback(): Arduino Event: 22 - ETH_GOT_IP\n\
             [  3420][D][WiFiGeneric.cpp:916] _eventCallback(): ETH IP: 192.168.7.169, MASK: 255.255.252.0",
            "[   867][V][NetworkEvents.cpp:125] checkForEvent(): Network Event: 11 - STA_START\n\
             [  1012][V][NetworkEvents.cpp:125] checkForEvent(): Network Event: 13 - STA_CONNECTED\n\
             [  1025][V][NetworkInterface.cpp:65] _onIpEvent(): sta Got New IP: 192.168.254.84 MASK",
            "[D][WiFiGeneric.cpp:374] _eventCallback(): Event: 0 - WIFI_READY\n\
             [D][WiFiGeneric.cpp:374] _eventCallback(): Event: 7 - STA_GOT_IP",
            // The ESP8266 SDK's own lines, quoted as markdown.
            "> connected with MY_AP, channel 12\n> dhcp client start...\n\
             > ip:192.168.0.115,mask:255.255.255.0,gw:192.168.0.1",
        ] {
            let (w, n) = watch(log);
            let why = w.verdict(n).unwrap_or_else(|| panic!("no pass: {log}"));
            assert!(why.contains("got its address"), "{why}");
        }
    }

    #[test]
    fn an_address_and_then_the_sketchs_own_job_or_a_drop_is_no_pass() {
        for log in [
            // The sketch goes on to its job and the log ends there.
            "Arduino Event: 0 - WIFI_READY\nArduino Event: 7 - STA_GOT_IP\nConnecting to MQTT...",
            // The address came, then the station dropped.
            "Arduino Event: 7 - STA_GOT_IP\nArduino Event: 5 - STA_DISCONNECTED",
            // One event alone says little.
            "[D][WiFiGeneric.cpp:374] _eventCallback(): Event: 7 - STA_GOT_IP",
            "WiFi connected\nIP address: 192.168.1.20",
        ] {
            let (w, n) = watch(log);
            assert_eq!(w.verdict(n), None, "{log}");
        }
        // Long after the address, the log ending is no longer about it.
        let mut log = "Arduino Event: 0 - WIFI_READY\nArduino Event: 7 - STA_GOT_IP\n".to_owned();
        log.push_str(&"[D][x.cpp:1] tick\n".repeat(5));
        let (w, n) = watch(&log);
        assert_eq!(w.verdict(n), None);
    }

    #[test]
    fn espeasy_up_and_serving() {
        let wd = "194644: WD : Uptime 3 ConnectFailures 0 FreeMem 18384 WiFiStatus: WL_CONNECTED 3 \
                  ESPeasy internal wifi status: Conn. IP Init";
        let (w, n) = watch(&format!("{wd}\n252185: Ser2Net: Client connected!\n{wd}"));
        assert!(w.verdict(n).is_some_and(|why| why.contains("ESPEasy")));
        // The paste cut the last watchdog line: the one before still holds.
        let cut = "344644: WD : Uptime 6 ConnectFailures 0 FreeMem 19808 WiFiStatus: WL_CONN";
        let (w, n) = watch(&format!("{wd}\nSer2Net: Client connected!\n{cut}"));
        assert!(w.verdict(n).is_some());
        let lost =
            "344644: WD : Uptime 6 ConnectFailures 1 FreeMem 19808 WiFiStatus: WL_DISCONNECTED";
        let (w, n) = watch(&format!("{wd}\nSer2Net: Client connected!\n{lost}"));
        assert_eq!(w.verdict(n), None);
        // No client served, failures counted, or no Wi-Fi status: no pass.
        for log in [
            wd.to_owned(),
            format!(
                "{}\nSer2Net: Client connected!",
                wd.replace("Failures 0", "Failures 12")
            ),
            "340586: WD   : Uptime 6 ConnectFailures 0 FreeMem 20528\nClient connected".to_owned(),
        ] {
            let (w, n) = watch(&log);
            assert_eq!(w.verdict(n), None, "{log}");
        }
    }
}
