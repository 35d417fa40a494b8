//! Wi-Fi joins that failed, told in words rather than in a reason code: the ESP-IDF driver's
//! `wifi:Association refused temporarily, comeback time 200 mSec` (the access point's status
//! 30, with protected management frames), and ESPHome's `Event: Disconnected ssid='x' …
//! reason='Authentication Failed'`, whose name stands for a `wifi_err_reason_t`.

use super::wifi_fail::Failure;

/// The failure `lower` (a line in ASCII lower case) reports in words, if it is one.
pub(crate) fn failure(lower: &str) -> Option<Failure> {
    association_refused(lower).or_else(|| esphome_reason(lower))
}

/// `wifi:Association refused temporarily, comeback time 205824 mSec` (older drivers: `TUs`).
/// A comeback time of 0 is the driver's retry in progress (it tries again at once, as in a
/// loop of them every 20 ms), not where the join stopped.
fn association_refused(lower: &str) -> Option<Failure> {
    let at = lower.find("association refused temporarily")?;
    let comeback = lower[at..]
        .split_once("comeback time")
        .map(|(_, t)| t.trim().trim_end_matches('.'))
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    if comeback.is_some_and(|t| t.split(' ').next().is_some_and(|n| n.parse() == Ok(0u32))) {
        return None;
    }
    let comeback = comeback.map(|t| format!(" and asked it to come back after {t}"));
    Some(Failure {
        code: None,
        what: format!(
            "Association refused temporarily: the access point turned the station away{} \
             (802.11 status 30: with protected management frames it still holds an earlier \
             association of this station, and checks that one before it takes a new one; a \
             board that rebooted without leaving meets it, and a router whose PMF setting is \
             `required` keeps refusing)",
            comeback.unwrap_or_default()
        ),
        rank: 2,
    })
}

/// ESPHome's disconnect event with the name its Wi-Fi component gives the reason (its
/// `get_disconnect_reason_str`): `reason='Authentication Failed'`. Not the leaves ESPHome
/// makes itself (`Auth Leave`, `Association Leave`).
fn esphome_reason(lower: &str) -> Option<Failure> {
    if !lower.contains("event: disconnected") {
        return None;
    }
    let name = lower.split_once("reason='")?.1.split_once('\'')?.0.trim();
    let meaning = match name {
        "authentication failed" | "auth failed" => {
            "the access point refused the authentication (a wrong password, or a security mode \
             the board does not offer)"
        }
        "auth expired" => "the access point did not answer the authentication in time (signal?)",
        "association failed" => "the access point refused the association",
        "association expired" => "the access point did not answer the association in time",
        "4-way handshake timeout" | "handshake failed" | "handshake timeout" => {
            "the WPA handshake never finished, most often a wrong password"
        }
        "beacon timeout" => "the board lost the access point's beacons (signal, power save)",
        "network not found" => {
            "no access point with that SSID was in range (misspelt, out of range, or 5 GHz only)"
        }
        "connection failed" => "the connection to the access point failed",
        _ => return None,
    };
    Some(Failure {
        code: None,
        what: format!("ESPHome reports reason '{}': {meaning}", title_case(name)),
        rank: 2,
    })
}

/// `authentication failed` → `Authentication Failed`, as ESPHome prints its names.
fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sketch's print of `WiFi.status()` after its `Connecting to WiFi…` line, in the dots it
/// prints while it waits: `.4`, `...1`. The core's `wl_status_t`: what it means, and whether the
/// station joined (`Some(None)` for 3, WL_CONNECTED); `None` for a line that is not one.
pub(crate) fn status_digit(text: &str) -> Option<Option<Failure>> {
    let t = text.trim();
    let digits = t.trim_start_matches('.');
    if digits.len() == t.len() || digits.len() != 1 {
        return None;
    }
    let what = match digits {
        "3" => return Some(None),
        "1" => "WiFi.status() is 1, WL_NO_SSID_AVAIL: no access point with the SSID is in range",
        "4" => {
            "WiFi.status() is 4, WL_CONNECT_FAILED: the access point refused the join (a wrong \
             password, or a security mode the board does not offer)"
        }
        "5" => "WiFi.status() is 5, WL_CONNECTION_LOST",
        _ => return None,
    };
    Some(Some(Failure {
        code: None,
        what: what.to_owned(),
        rank: 2,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_printed_in_the_dots_is_read() {
        assert!(
            status_digit(".4")
                .flatten()
                .is_some_and(|f| f.what.contains("WL_CONNECT_FAILED"))
        );
        assert!(
            status_digit("...1")
                .flatten()
                .is_some_and(|f| f.what.contains("WL_NO_SSID"))
        );
        assert_eq!(status_digit(".3"), Some(None));
        for l in ["4", ".6", "..", ".42", "Connecting to WiFi Network .."] {
            assert!(status_digit(l).flatten().is_none(), "{l}");
        }
    }

    #[test]
    fn failures_told_in_words_are_read() {
        for (line, word) in [
            (
                "E (759) wifi:Association refused temporarily, comeback time 205824 mSec",
                "come back after 205824 msec",
            ),
            (
                "E (2462) wifi:association refused temporarily, comeback time 200 tus",
                "status 30",
            ),
            (
                "[w][wifi_esp8266:504]: event: disconnected ssid='iot' bssid=7e:fe:ce:ce:20:94 \
                 reason='authentication failed'",
                "reason 'Authentication Failed'",
            ),
            (
                "[w][wifi_esp32:545][arduino_events]: event: disconnected ssid='r' bssid=[x] \
                 reason='4-way handshake timeout'",
                "'4-way Handshake Timeout'",
            ),
        ] {
            let f = failure(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("{line}"));
            assert!(f.what.contains(word), "{line}: {}", f.what);
            assert_eq!(f.rank, 2);
        }
        for line in [
            "[w][wifi_esp32:545]: event: disconnected ssid='r' reason='auth leave'",
            "[d][api]: reason='authentication failed' is a string",
            "association refused",
            "e (14822) wifi:association refused temporarily, comeback time 0 msec",
        ] {
            assert_eq!(failure(line), None, "{line}");
        }
    }
}
