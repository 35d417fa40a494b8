//! The arduino-mqtt library (256dpi's `MQTTClient`, lwmqtt underneath), as the AWS IoT and
//! other examples print it: `clientMQTT.lastError = -5` and `returnCode = 6` (the sketch's own
//! print of `lastError()` and `returnCode()`), and the words some sketches map them to (`failed,
//! reason -> Unknown Return Code`).

/// lwmqtt's `lwmqtt_err_t`, what it means for a connect.
fn error_name(code: i32) -> Option<(&'static str, &'static str)> {
    Some(match code {
        -1 => (
            "LWMQTT_BUFFER_TOO_SHORT",
            "a packet did not fit the client's buffer",
        ),
        -2 => (
            "LWMQTT_VARNUM_OVERFLOW",
            "a packet's length field was malformed",
        ),
        -3 => (
            "LWMQTT_NETWORK_FAILED_CONNECT",
            "the network connection to the broker failed (DNS, TCP or TLS)",
        ),
        -4 => (
            "LWMQTT_NETWORK_TIMEOUT",
            "the broker did not answer in time",
        ),
        -5 => (
            "LWMQTT_NETWORK_FAILED_READ",
            "reading the broker's answer failed: the connection was closed under the client (AWS \
             IoT closes it after CONNECT when the certificate has no policy that allows \
             iot:Connect for this client ID)",
        ),
        -6 => (
            "LWMQTT_NETWORK_FAILED_WRITE",
            "writing to the broker failed",
        ),
        -9 => (
            "LWMQTT_MISSING_OR_WRONG_PACKET",
            "the broker's answer was not the packet expected",
        ),
        -10 => (
            "LWMQTT_CONNECTION_DENIED",
            "the broker refused the connection",
        ),
        -13 => (
            "LWMQTT_PONG_TIMEOUT",
            "the broker did not answer a keep-alive ping",
        ),
        _ => return None,
    })
}

/// A failed connect in arduino-mqtt's terms: its explanation and code.
pub(crate) fn failure(lower: &str) -> Option<(String, Option<i32>)> {
    if let Some(at) = lower.find("lasterror") {
        let rest = lower[at + "lasterror".len()..]
            .trim_start_matches("()")
            .trim_start_matches([' ', '=', ':'])
            .trim_start();
        let digits: String = rest
            .chars()
            .take_while(|c| *c == '-' || c.is_ascii_digit())
            .collect();
        let code = digits.parse::<i32>().ok().filter(|c| *c < 0)?;
        let (name, meaning) = error_name(code)?;
        return Some((
            format!("the MQTT client (arduino-mqtt) failed: lastError {code}, {name}: {meaning}"),
            Some(code),
        ));
    }
    let said = lower.split_once("failed, reason -> ")?.1;
    let said = said.split(['<', '.']).next()?.trim();
    (said == "unknown return code").then(|| {
        (
            "the MQTT connect failed: `Unknown Return Code` (lwmqtt's LWMQTT_UNKNOWN_RETURN_CODE: \
             the broker closed the connection without a CONNACK code the client knows; AWS IoT \
             does this when the certificate's policy does not allow the connect)"
                .to_owned(),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arduino_mqtts_errors_are_named() {
        for (line, word) in [
            (
                "clientMQTT.lastError = -5",
                "lastError -5, LWMQTT_NETWORK_FAILED_READ",
            ),
            ("lastError(): -3", "LWMQTT_NETWORK_FAILED_CONNECT"),
            (
                "failed, reason -> Unknown Return Code < try again in 5 seconds",
                "`Unknown Return Code`",
            ),
        ] {
            let (why, _) = failure(&line.to_ascii_lowercase()).unwrap_or_else(|| panic!("{line}"));
            assert!(why.contains(word), "{line}: {why}");
        }
        for line in [
            "clientmqtt.lasterror = 0",
            "lasterror = -99",
            "failed, reason -> ok",
        ] {
            assert_eq!(failure(line), None, "{line}");
        }
    }
}
