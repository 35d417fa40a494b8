//! An app's own state names, printed as its state machine moves (`(E p:^9397 mqttConnect C1)
//! MQTT_CONNECT_OK`, `state: SERVER_CONNECT_OK`): a connect state that ends in `_OK` says the
//! connection works again, so an error state before it (`MQTT_PUB_ERR`, `MQTT_CONNECT_ERR`) is
//! not where the run stopped.

/// Whether the line names a connect state that worked: one upper-case word ending in
/// `_CONNECT_OK` or `_CONNECTED_OK` (`MQTT_CONNECT_OK`, `WIFI_CONNECTED_OK` is Wi-Fi's, not
/// the connection's, and does not count).
pub(crate) fn connect_ok(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| {
            w.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && (w.ends_with("_CONNECT_OK") || w.ends_with("_CONNECTED_OK"))
                && !w.starts_with("WIFI")
                && !w.starts_with("WLAN")
                && !w.contains("DISCONNECT")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_state_that_worked() {
        for line in [
            "(E p:^9397 mqttConnect C1) MQTT_CONNECT_OK",
            "state: SERVER_CONNECT_OK",
            "[app] TCP_CONNECTED_OK",
        ] {
            assert!(connect_ok(line), "{line}");
        }
        for line in [
            "(E p:^48002 loop C1) MQTT_PUB_ERR",
            "(E p:^33211 mqttConnect C1) MQTT_CONNECT_ERR",
            "MQTT_CONNECTING",
            "WIFI_CONNECT_OK",
            "mqtt_connect_ok",
            "MQTT_DISCONNECT_OK",
            "MQTT_CONNECT_OKAY_NOT",
        ] {
            assert!(!connect_ok(line), "{line}");
        }
    }
}
