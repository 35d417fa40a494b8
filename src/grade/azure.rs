//! The Azure IoT C SDK's error lines (c-shared-utility's `LogError`, as esp-azure and the
//! Arduino ports print it: `Func:tlsio_esp_tls_destroy Line:152 …`; the full logger's `Error:
//! Time:… File:… Func:… Line:… …`). The SDK logs only failures this way, so the last one
//! before the log ends is where the run stopped.

/// An SDK error line, explained; `None` for any other line.
pub(crate) fn error(text: &str) -> Option<String> {
    let t = text.trim();
    let at = t.find("Func:")?;
    let rest = &t[at + 5..];
    let (func, rest) = rest.split_once(' ')?;
    let line = rest.trim_start().strip_prefix("Line:")?;
    let (number, message) = line.split_once(' ').unwrap_or((line, ""));
    if func.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let message = message.trim();
    let said = if message.is_empty() { t } else { message };
    let lower = said.to_ascii_lowercase();
    let what = if lower.contains("tlsio") && lower.contains("not in tlsio_state_closed") {
        "the SDK tore down its TLS connection (tlsio) while it was still open or had failed: \
         the connection to the IoT hub ended in an error state (a TLS or network failure, or \
         the hub closed it; the SDK's lines before this one say which)"
    } else if lower.contains("tlsio") || lower.contains("tls") {
        "the SDK's TLS connection (tlsio) to the IoT hub failed"
    } else {
        "the Azure IoT SDK logged an error"
    };
    Some(format!(
        "{what} (`{said}`, in {func}); nothing after it says the connection recovered"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_error_lines_say_where_it_stopped() {
        let r = error(
            " Func:tlsio_esp_tls_destroy Line:152 tlsio_esp_tls_destroy called while not in TLSIO_STATE_CLOSED.",
        )
        .unwrap_or_default();
        assert!(
            r.contains("tore down its TLS connection")
                && r.contains("`tlsio_esp_tls_destroy called while not in TLSIO_STATE_CLOSED.`"),
            "{r}"
        );
        let r = error("Error: Time:Thu Jan  1 00:00:05 1970 File:/x/iothubtransport_mqtt_common.c Func:SendMqttConnectMsg Line:2109 failure creating mqtt connection")
            .unwrap_or_default();
        assert!(
            r.contains("logged an error") && r.contains("SendMqttConnectMsg"),
            "{r}"
        );
        assert_eq!(error("Func: Line:"), None);
        assert_eq!(error("Function: main Line: 3"), None);
    }
}
