//! Why a board could not join the Wi-Fi network, from the disconnect reasons its Wi-Fi stack
//! prints: arduino-esp32's `Reason: 201 - NO_AP_FOUND` and `STA Disconnected: … Reason: 15`
//! (cores 1.x to 3.x), ESPEasy's `Disconnected! Reason: '(201) No AP found'`, ESPHome's
//! `Disconnected ssid='x' bssid=… reason='Auth Expired'` and `WiFi Unknown connection status 0`,
//! and ESP-IDF's `… STA_DISCONNECTED … reason: 201`. A disconnect is no verdict on its own (the stack
//! reconnects); it explains a log that ends before the firmware got anywhere.

use std::sync::LazyLock;

use regex::Regex;

/// `reason: 201 - no_ap_found` (the code and ESP-IDF's name for it).
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"reason:\s*(\d{1,3})\s*-\s*[a-z0-9_]+").unwrap_or_else(|_| unreachable!())
});

/// `reason: 15`, `reason='(201)`, `reason=8` on a line about a disconnect.
static BARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"reason\s*[:=]\s*'?\(?(\d{1,3})\b").unwrap_or_else(|_| unreachable!())
});

/// ESPHome's `reason='Auth Expired'`: the name its Wi-Fi component gives the code.
static ESPHOME_NAMED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"reason='([a-z0-9 -]+)'").unwrap_or_else(|_| unreachable!()));

/// One disconnect the log printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disconnect {
    /// ESP-IDF's `wifi_err_reason_t`, when the line gives one.
    pub code: Option<u16>,
    /// What the code means for someone trying to get the board online.
    pub meaning: &'static str,
}

/// OpenMQTTGateway's `W: Network disconnected` (ArduinoLog's level letter in front): the
/// firmware's own word that its network (Wi-Fi or Ethernet) went down, with no reason.
pub(crate) fn network_down(lower: &str) -> bool {
    let t = lower.trim();
    let t = ["w: ", "n: ", "e: ", "t: ", "v: "]
        .iter()
        .find_map(|p| t.strip_prefix(p))
        .unwrap_or(t);
    t.trim_end_matches(['.', '!']) == "network disconnected"
}

/// The disconnect `lower` (a line in ASCII lower case) reports, if it reports one.
pub(crate) fn disconnect(lower: &str) -> Option<Disconnect> {
    if network_down(lower) {
        return Some(Disconnect {
            code: None,
            meaning: "the firmware says its network went down (`Network disconnected`), with no \
                      reason",
        });
    }
    if lower.contains("wifi unknown connection status 0") {
        // ESPHome's check of the station's status found it idle, not connecting.
        return Some(Disconnect {
            code: None,
            meaning: "ESPHome's Wi-Fi component found the station idle (`WiFi Unknown connection \
                      status 0`): the Wi-Fi driver was not even trying to connect",
        });
    }
    let about = lower.contains("disconnect");
    let code = if let Some(caps) = NAMED
        .captures(lower)
        .or_else(|| about.then(|| BARE.captures(lower)).flatten())
    {
        caps.get(1)?.as_str().parse::<u16>().ok()?
    } else {
        let name = about.then(|| ESPHOME_NAMED.captures(lower)).flatten()?;
        esphome_code(name.get(1)?.as_str())?
    };
    Some(Disconnect {
        code: Some(code),
        meaning: meaning(code)?,
    })
}

/// The code behind ESPHome's name for a disconnect reason (its `get_disconnect_reason_str`).
/// Not `Auth Leave` and `Association Leave`: ESPHome prints those when it leaves the network
/// itself, as before its reboot after an OTA update.
fn esphome_code(name: &str) -> Option<u16> {
    Some(match name {
        "auth expired" => 2,
        "association expired" => 4,
        "4-way handshake timeout" => 15,
        "beacon timeout" => 200,
        "network not found" => 201,
        "authentication failed" | "auth failed" => 202,
        "association failed" => 203,
        "handshake failed" | "handshake timeout" => 204,
        "connection failed" => 205,
        _ => return None,
    })
}

/// A line about the station's Wi-Fi itself (`WL_CONNECTION_LOST`, `Reason: 15 -
/// 4WAY_HANDSHAKE_TIMEOUT`, `Connecting to network failed`): the Wi-Fi rules explain those.
pub(crate) fn about_wifi(lower: &str) -> bool {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
        .any(|w| {
            matches!(w, "wifi" | "wi-fi" | "wlan" | "ssid" | "sta" | "ap")
                || w.starts_with("wifi_")
                || w.starts_with("wl_")
                || w.starts_with("4way")
        })
        || disconnect(lower).is_some()
}

/// A line that says the board is on the network after all.
pub(crate) fn connected(lower: &str) -> bool {
    lower.contains("got ip")
        || lower.contains("sta_got_ip")
        || lower.contains("wifi connected")
        || lower.contains("connected to wifi")
        || lower.contains("ip address:")
        || lower.contains("ip:") && lower.contains("mask:") && lower.contains("gw:")
}

fn meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        2 => "AUTH_EXPIRE: the access point did not answer the authentication in time (signal?)",
        3 | 8 => "the station left the network (the firmware disconnected)",
        4 => "ASSOC_EXPIRE: the access point did not answer the association in time (signal?)",
        15 | 204 => {
            "4WAY_HANDSHAKE_TIMEOUT: the WPA handshake never finished, most often a wrong \
             password (or a weak signal, or an AP that insists on WPA3/PMF)"
        }
        200 => "BEACON_TIMEOUT: the board lost the access point's beacons (signal, power save)",
        201 => {
            "NO_AP_FOUND: no access point with that SSID was in range (the name misspelt, out \
             of range, or a 5 GHz-only network; the ESP32 and ESP8266 see only 2.4 GHz)"
        }
        202 => "AUTH_FAIL: the access point refused the authentication (wrong password or mode)",
        203 => "ASSOC_FAIL: the access point refused the association",
        205 => "CONNECTION_FAIL: the connection to the access point failed",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> Option<u16> {
        disconnect(&line.to_ascii_lowercase()).and_then(|d| d.code)
    }

    #[test]
    fn disconnect_reasons_as_each_stack_prints_them() {
        for (line, want) in [
            (
                "[W][WiFiGeneric.cpp:357] _eventCallback(): Reason: 201 - NO_AP_FOUND",
                Some(201),
            ),
            (
                "[ 80972][W][STA.cpp:137] _onStaArduinoEvent(): Reason: 15 - 4WAY_HANDSHAKE_TIMEOUT",
                Some(15),
            ),
            (
                "[ 43774][V][WiFiGeneric.cpp:362] _arduino_event_cb(): STA Disconnected: SSID: x, \
                 BSSID: 00:00:00:00:00:00, Reason: 201",
                Some(201),
            ),
            (
                "17368 : WIFI : Disconnected! Reason: '(201) No AP found' Connected for 2859 ms",
                Some(201),
            ),
            (
                "D (153894) event: SYSTEM_EVENT_STA_DISCONNECTED, ssid:x, reason:202,wifi reason",
                Some(202),
            ),
            // Not a disconnect, or a code nobody documents.
            (
                "[  6246][E][NetworkManager.cpp:83] hostByName(): Clearing DNS cache",
                None,
            ),
            ("reason: 15 seconds to go", None),
            ("Disconnected, reason: 99", None),
            ("Reboot reason: 4", None),
            // ESPHome names the reason.
            (
                "[18:44:01][W][wifi_esp32:803]: Disconnected ssid='QraIoT' bssid=[redacted] \
                 reason='Auth Expired'",
                Some(2),
            ),
            (
                "[W][wifi_esp32:482]: Event: Disconnected ssid='x' bssid=00:00:00:00:00:00 \
                 reason='Network Not Found'",
                Some(201),
            ),
            ("Disconnected reason='Something Else'", None),
            (
                "[12:13:46][W][wifi_esp8266:482]: Event: Disconnected ssid='SC-01' \
                 bssid=[redacted] reason='Association Leave'",
                None,
            ),
            ("[I][app]: reason='Auth Expired' is a string", None),
        ] {
            assert_eq!(code(line), want, "{line}");
        }
        let d = disconnect("reason: 201 - no_ap_found").unwrap_or_else(|| unreachable!());
        assert!(d.meaning.contains("SSID"), "{}", d.meaning);
        let d = disconnect("reason: 15 - 4way_handshake_timeout").unwrap_or_else(|| unreachable!());
        assert!(d.meaning.contains("password"), "{}", d.meaning);
        let d = disconnect("[w][wifi:554]: wifi unknown connection status 0")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(d.code, None);
        assert!(d.meaning.contains("idle"), "{}", d.meaning);
    }

    #[test]
    fn lines_that_say_the_board_is_online() {
        assert!(connected(
            "ip:192.168.1.132,mask:255.255.255.0,gw:192.168.1.1"
        ));
        assert!(connected(
            "[d][wifigeneric.cpp:374] _eventcallback(): event: 7 - sta_got_ip"
        ));
        assert!(connected("wifi connected"));
        assert!(!connected("connecting to wi-fi..."));
    }
}
