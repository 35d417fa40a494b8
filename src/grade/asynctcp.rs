//! AsyncTCP (ESP32) and ESPAsyncTCP (ESP8266), the TCP layer under ESPAsyncWebServer,
//! AsyncMqttClient and their kin, saying a connection timed out or broke: `_poll(): ack timeout 4`
//! (the peer never acknowledged what was sent), `_poll(): rx timeout 4` (nothing arrived within
//! the receive timeout, so the library closed the connection), an `[E][AsyncTCP.cpp:…]` error
//! line, or the library's error text as a sketch prints it (`Connection reset`). The library logs
//! its timeouts at warning level, which the generic connection rule skips; when the log ends on
//! one, the connection failed there. `_poll(): pcb is NULL` is bookkeeping for a connection
//! already closed, not a failure.

/// Why `text` says an AsyncTCP connection failed, or `None`.
pub(crate) fn error(text: &str) -> Option<String> {
    let t = text.trim().trim_matches('`').trim();
    if t.len() > 300 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let tagged = lower.contains("asynctcp") || lower.contains("async_tcp");
    // ESPAsyncTCP's debug output has no file tag: `_poll: ack timeout` / `_poll(): ack timeout`.
    let poll = lower.contains("_poll(): ") || lower.contains("_poll: ");
    if !(tagged || poll) {
        return None;
    }
    let state = |key: &str| {
        let at = lower.find(key)? + key.len();
        let rest = lower[at..].trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(digits)
    };
    if let Some(n) = state("ack timeout") {
        return Some(format!(
            "AsyncTCP timed out waiting for the peer's ACK (`{t}`{}): a client of the board's \
             async server (or the server its async client talks to) stopped acknowledging \
             the data sent to it, so the TCP connection timed out (the peer went away, or \
             the Wi-Fi link is too weak or too busy)",
            tcp_state(&n)
        ));
    }
    if let Some(n) = state("rx timeout") {
        return Some(format!(
            "AsyncTCP closed a connection on which nothing arrived within its receive timeout \
             (`{t}`{}): the TCP connection timed out",
            tcp_state(&n)
        ));
    }
    let broke = [
        "connection reset",
        "connection aborted",
        "connection closed",
        "not connected",
        "connection timed out",
    ]
    .iter()
    .find(|w| lower.contains(*w));
    let error_level = lower.contains("[e][asynctcp") || lower.contains("]e][asynctcp");
    if tagged && (error_level || broke.is_some()) {
        return Some(format!(
            "AsyncTCP reported an error on a TCP connection (`{t}`): the connection broke \
             there, and the log ends without it coming back"
        ));
    }
    None
}

/// lwIP's TCP state number as AsyncTCP prints it after its timeouts.
fn tcp_state(n: &str) -> String {
    let name = match n {
        "4" => "ESTABLISHED",
        "5" => "FIN_WAIT_1",
        "6" => "FIN_WAIT_2",
        "7" => "CLOSE_WAIT",
        "8" => "CLOSING",
        "9" => "LAST_ACK",
        "2" => "SYN_SENT",
        "3" => "SYN_RCVD",
        _ => return String::new(),
    };
    format!("; {n} is the lwIP TCP state {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asynctcp_timeouts_and_errors_are_failed_connections() {
        for (line, word) in [
            (
                "[W][AsyncTCP.cpp:896] _poll(): ack timeout 4",
                "ack timeout",
            ),
            (
                "`[W][AsyncTCP.cpp:906] _poll(): ack timeout 4`",
                "ESTABLISHED",
            ),
            (
                "[ 12345][W][AsyncTCP.cpp:1020] _poll(): rx timeout 4",
                "receive timeout",
            ),
            ("14:02:11.100 -> _poll: ack timeout", "ack timeout"),
            (
                "[E][AsyncTCP.cpp:1110] _error(): Connection reset",
                "Connection reset",
            ),
            (
                "[ 5012][E][AsyncTCP.cpp:1530] _accept(): failed to allocate client",
                "AsyncTCP reported an error",
            ),
        ] {
            let why = error(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains(word), "{line}: {why}");
        }
    }

    #[test]
    fn bookkeeping_and_other_libraries_are_not_failures() {
        for line in [
            "[W][AsyncTCP.cpp:893] _poll(): pcb is NULL",
            "`[W][AsyncTCP.cpp:893] _poll(): pcb is NULL`",
            "[D][AsyncTCP.cpp:120] onConnect",
            "E (1201) wifi: ack timeout",
            "[E][WiFiClient.cpp:396] write(): fail on fd 48, errno: 104, \"Connection reset\"",
            "Client connected",
        ] {
            assert_eq!(error(line), None, "{line}");
        }
    }
}
