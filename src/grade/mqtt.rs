//! PubSubClient, the MQTT client most Arduino sketches on both boards use, as its examples
//! print it: `Attempting MQTT connection...failed, rc=-2 try again in 5 seconds`, and the
//! `...connected` of the try that worked. A retry that connects takes back the failures before
//! it.

use super::libdiag::number_after;

/// How every explanation of a PubSubClient failure starts, so a later connect can tell it.
pub(crate) const WHO: &str = "the MQTT client (PubSubClient)";

/// A failed connect: its explanation and `rc` (`state()`: negative, the client's own: no TCP
/// connection, or it was lost; positive, the broker's CONNACK refusal).
pub(crate) fn failure(lower: &str) -> Option<(String, i32)> {
    let at = lower.find("failed, rc=")?;
    if !(lower.contains("mqtt") || lower[at..].contains("try again")) {
        return None;
    }
    let rc = number_after(&lower[at..], "rc=")?;
    let what = match rc {
        -4 => "MQTT_CONNECTION_TIMEOUT: the broker did not answer the CONNECT in time",
        -3 => "MQTT_CONNECTION_LOST: the connection to the broker broke",
        -2 => {
            "MQTT_CONNECT_FAILED: the network connection to the broker failed (DNS, TCP, or TLS \
             with a secure client: the log does not say which)"
        }
        -1 => "MQTT_DISCONNECTED: the client was disconnected",
        1 => "MQTT_CONNECT_BAD_PROTOCOL: the broker does not speak this MQTT version",
        2 => "MQTT_CONNECT_BAD_CLIENT_ID: the broker rejected the client ID",
        3 => "MQTT_CONNECT_UNAVAILABLE: the broker is unavailable",
        4 => "MQTT_CONNECT_BAD_CREDENTIALS: wrong user name or password",
        5 => "MQTT_CONNECT_UNAUTHORIZED: the client is not authorised to connect",
        _ => "an unknown state",
    };
    Some((
        format!("{WHO} could not connect to the broker: rc={rc}, {what}"),
        rc,
    ))
}

/// The examples' connect that worked: `Attempting MQTT connection...connected` (not
/// `disconnected`, not `not connected`).
pub(crate) fn connected(lower: &str) -> bool {
    let t = lower.trim().trim_end_matches(['.', '!']);
    let Some(before) = t.strip_suffix("connected") else {
        return false;
    };
    t.contains("mqtt connection")
        && !before.ends_with(|c: char| c.is_ascii_alphabetic())
        && !before.trim_end().ends_with("not")
        && !t.contains("failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_the_connect_that_follows() {
        let (why, rc) =
            failure("attempting mqtt connection...failed, rc=-2 try again in 5 seconds")
                .unwrap_or_else(|| panic!("not read"));
        assert_eq!(rc, -2);
        assert!(
            why.starts_with(WHO) && why.contains("MQTT_CONNECT_FAILED"),
            "{why}"
        );
        assert!(connected("attempting mqtt connection...connected"));
        assert!(connected(
            "Attempting MQTT connection... connected!"
                .to_ascii_lowercase()
                .as_str()
        ));
        assert!(!connected("attempting mqtt connection...disconnected"));
        assert!(!connected("attempting mqtt connection...not connected"));
        assert!(!connected("wifi connected"));
    }
}
