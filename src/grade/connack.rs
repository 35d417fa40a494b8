//! An MQTT broker that answered the CONNECT and said no: CONNACK return codes 1-5 (bad protocol,
//! client ID rejected, server unavailable, bad user name or password, not authorised), as
//! PubSubClient's `state()` prints them (`failed, rc=5`, Tasmota's `rc 5`, a sketch's
//! `...failed (error 5)` or `failed, state 4`) and esp-mqtt's `Connection refused, not
//! authorized`, tuanpmt's esp-mqtt (`Connection refuse, reason code: 5`), ESP-IDF's MQTT
//! examples (`Connection refused error: 0x5`, `connect_return_code=5`) and the names the
//! libraries give the codes (AsyncMqttClient's `MQTT_NOT_AUTHORIZED`, PubSubClient's
//! `MQTT_CONNECT_UNAUTHORIZED`, esp-mqtt's `MQTT_CONNECTION_REFUSE_NOT_AUTHORIZED`). Like an HTTP 401, the connection worked and the server refused: a fail. The
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

/// The CONNACK code a client printed in its own format, and how it printed it:
/// `connection refuse, reason code: 5`, `connection refused error: 0x5`,
/// `connect_return_code=5`, or a library's name for the code.
fn client_code(lower: &str) -> Option<(i32, String)> {
    for key in [
        "connection refuse, reason code:",
        "connection refused, reason code:",
        "connection refused error:",
        "connect_return_code=",
        "connect_return_code:",
        "connect_return_code ",
    ] {
        let Some(i) = lower.find(key) else {
            continue;
        };
        let rest = lower[i + key.len()..].trim_start();
        let digits = rest.strip_prefix("0x").unwrap_or(rest);
        let n: String = digits.chars().take_while(char::is_ascii_hexdigit).collect();
        let radix = if rest.starts_with("0x") { 16 } else { 10 };
        if let Ok(rc) = i32::from_str_radix(&n, radix)
            && rc != 0
        {
            let shown = if radix == 16 { format!("0x{n}") } else { n };
            let sep = if key.ends_with(':') { " " } else { "" };
            return Some((rc, format!("`{key}{sep}{shown}`")));
        }
    }
    // The libraries' names for the codes (esp-mqtt's, AsyncMqttClient's, PubSubClient's).
    for (name, rc) in [
        ("mqtt_connection_refuse_protocol", 1),
        ("mqtt_connection_refuse_id_rejected", 2),
        ("mqtt_connection_refuse_server_unavailable", 3),
        ("mqtt_connection_refuse_bad_username", 4),
        ("mqtt_connection_refuse_not_authorized", 5),
        ("mqtt_unacceptable_protocol_version", 1),
        ("mqtt_identifier_rejected", 2),
        ("mqtt_server_unavailable", 3),
        ("mqtt_malformed_credentials", 4),
        ("mqtt_not_authorized", 5),
        ("mqtt_connect_bad_protocol", 1),
        ("mqtt_connect_bad_client_id", 2),
        ("mqtt_connect_unavailable", 3),
        ("mqtt_connect_bad_credentials", 4),
        ("mqtt_connect_unauthorized", 5),
    ] {
        if lower.contains(name) {
            return Some((rc, format!("`{}`", name.to_ascii_uppercase())));
        }
    }
    None
}

/// A broker's refusal: why, with the code as printed, or `None`.
pub(crate) fn refused(lower: &str) -> Option<String> {
    if let Some((rc, said)) = client_code(lower)
        && let Some(what) = named(rc)
    {
        return Some(format!(
            "the MQTT broker answered and refused the connection: CONNACK {what} (the client \
             printed {said}); the network and the broker are reachable, the broker said no"
        ));
    }
    if let Some(i) = lower.find("connection refused, ") {
        // esp-mqtt (`MQTT_CLIENT: Connection refused, not authorized`).
        let what = lower[i + 20..].trim().trim_end_matches('.');
        let known = [
            "unacceptable protocol version",
            "bad protocol",
            "identifier rejected",
            "id rejected",
            "server unavailable",
            "bad username or password",
            "not authorized",
        ];
        // esp-mqtt's `default:` case, for a CONNACK code it has no name for (`Unknow reason`,
        // its spelling): still the broker's refusal, only on its own line (`MQTT_CLIENT:`),
        // not a sketch's `connection refused, retrying` about a TCP connect.
        let unnamed = (what.starts_with("unknow reason") || what.starts_with("unknown reason"))
            && lower.contains("mqtt_client:");
        if known.iter().any(|k| what.starts_with(k)) {
            return Some(format!(
                "the MQTT broker refused the connection (esp-mqtt: `connection refused, {what}`): \
                 it answered the CONNECT with a CONNACK refusal; check the client's credentials \
                 and the broker's access rules"
            ));
        }
        if unnamed {
            return Some(format!(
                "the MQTT broker refused the connection (esp-mqtt: `connection refused, {what}`): \
                 it answered the CONNECT with a CONNACK refusal whose return code the client has \
                 no name for (MQTT 5 reason codes from a broker the client speaks 3.1.1 to, or a \
                 broker's own); the network and the broker are reachable, the broker said no"
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
            // tuanpmt's esp-mqtt, the ESP-IDF examples, and the libraries' names for the code.
            ("[MQTT WARN] Connection refuse, reason code: 5", "CONNACK 5"),
            (
                "I (4790) MQTT_EXAMPLE: Connection refused error: 0x5",
                "`connection refused error: 0x5`",
            ),
            (
                "E (3290) app: MQTT_EVENT_ERROR type=2 connect_return_code=4",
                "bad user name",
            ),
            (
                "Disconnected from MQTT. reason: MQTT_NOT_AUTHORIZED",
                "`MQTT_NOT_AUTHORIZED`",
            ),
            ("mqtt state: MQTT_CONNECT_BAD_CREDENTIALS", "CONNACK 4"),
            (
                "W (1) mqtt: MQTT_CONNECTION_REFUSE_SERVER_UNAVAILABLE",
                "server unavailable",
            ),
            // esp-mqtt's default case, both spellings; and its other names.
            (
                "W (5080) MQTT_CLIENT: Connection refused, Unknow reason",
                "no name for",
            ),
            (
                "W (5080) mqtt_client: Connection refused, unknown reason",
                "no name for",
            ),
            (
                "W (5080) MQTT_CLIENT: Connection refused, bad protocol",
                "bad protocol",
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
            // Accepted (code 0), a TCP disconnect, or a number nobody defines.
            "E (3290) app: MQTT_EVENT_ERROR type=1 connect_return_code=0",
            "Disconnected from MQTT. reason: TCP_DISCONNECTED",
            "[MQTT WARN] Connection refuse, reason code: 9",
            "I (4790) MQTT_EXAMPLE: Connection refused error: 0x0",
            // Not esp-mqtt's own line: a TCP connect refused, in a sketch's words.
            "MQTT: connection refused, unknown reason, retrying",
            "[HTTP] connection refused, unknow reason",
        ] {
            assert!(refused(&line.to_ascii_lowercase()).is_none(), "{line}");
        }
    }
}
