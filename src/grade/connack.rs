//! An MQTT broker that answered the CONNECT and said no: CONNACK return codes 1-5 (bad protocol,
//! client ID rejected, server unavailable, bad user name or password, not authorised), as
//! PubSubClient's `state()` prints them (`failed, rc=5`, Tasmota's `rc 5`, a sketch's
//! `...failed (error 5)` or `failed, state 4`) and esp-mqtt's `Connection refused, not
//! authorized`. Like an HTTP 401, the connection worked and the server refused: a fail. The
//! negative codes are the client's own (no TCP connection, a timeout): connection faults, read
//! by [`super::mqtt`].

use super::libdiag::number_after;

/// The CONNACK refusal's name and meaning.
fn named(rc: i32) -> Option<&'static str> {
    Some(match rc {
        1 => "1, unacceptable protocol version: the broker does not speak this MQTT version",
        2 => "2, identifier rejected: the broker refused the client ID",
        3 => "3, server unavailable: the broker is up but not taking clients",
        4 => "4, bad user name or password",
        5 => "5, not authorised: the broker wants credentials (or others) for this client",
        _ => return None,
    })
}

/// A sketch's own words for PubSubClient's `state()` after a connect that failed:
/// `Connecting to MQTT Broker 192.168.1.2 as meter...failed (error 5)`, `failed, state 4`.
fn sketch_code(lower: &str) -> Option<i32> {
    if !lower.contains("mqtt") {
        return None;
    }
    let at = lower.find("fail")?;
    let rest = &lower[at..];
    [
        "(error ", "error: ", "error ", "state ", "state=", "state: ", "rc: ",
    ]
    .iter()
    .find_map(|k| number_after(rest, k))
}

/// A broker's refusal: why, with the code as printed, or `None`.
pub(crate) fn refused(lower: &str) -> Option<String> {
    if let Some(i) = lower.find("connection refused, ") {
        // esp-mqtt (`MQTT_CLIENT: Connection refused, not authorized`).
        let what = lower[i + 20..].trim().trim_end_matches('.');
        let known = [
            "unacceptable protocol version",
            "identifier rejected",
            "server unavailable",
            "bad username or password",
            "not authorized",
        ];
        if known.iter().any(|k| what.starts_with(k)) {
            return Some(format!(
                "the MQTT broker refused the connection (esp-mqtt: `connection refused, {what}`): \
                 it answered the CONNECT with a CONNACK refusal; check the client's credentials \
                 and the broker's access rules"
            ));
        }
    }
    let (said, rc) = match super::mqtt::failure(lower) {
        Some((why, Some(rc))) => (why, rc),
        _ => {
            let rc = sketch_code(lower)?;
            let said = lower.find("fail").map_or("", |i| lower[i..].trim());
            (
                format!("the sketch printed `{said}`, PubSubClient's state {rc}"),
                rc,
            )
        }
    };
    let what = named(rc)?;
    Some(format!(
        "the MQTT broker answered and refused the connection: CONNACK {what} ({said}); the \
         network and the broker are reachable, the broker said no"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_that_said_no_is_not_a_connection_fault() {
        for (line, word) in [
            (
                "00:00:06 MQT: Connect failed to 10.11.11.1:1883, rc 5. Retry in 10 sec",
                "not authorised",
            ),
            (
                "Attempting MQTT connection...failed, rc=4 try again in 5 seconds",
                "bad user name or password",
            ),
            (
                "[12:43:13]Connecting to MQTT Broker 192.168.1.9 as PowerMeter_91488...failed (error 5)",
                "`failed (error 5)`",
            ),
            ("MQTT connect failed, state 2", "client ID"),
            (
                "W (5336) MQTT_CLIENT: Connection refused, not authorized",
                "not authorized",
            ),
        ] {
            let why = refused(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("{line}"));
            assert!(why.contains(word), "{line}: {why}");
        }
        for line in [
            "Attempting MQTT connection...failed, rc=-2 try again in 5 seconds",
            "MQT: Connect failed to 10.0.4.106:1883, rc -4. Retry in 10 sec",
            "Connecting to MQTT Broker 192.168.1.9 as meter...failed (error -2)",
            "[HTTP] GET... failed, error: connection refused",
            "E (5336) MQTT_CLIENT: Error transport connect",
        ] {
            assert!(refused(&line.to_ascii_lowercase()).is_none(), "{line}");
        }
    }
}
