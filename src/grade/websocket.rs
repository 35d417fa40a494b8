//! WebSocket clients in their own words: arduinoWebSockets' debug output (`[WS-Client]
//! connected to host:80.`, `[WS-Client][handleHeader] RX: HTTP/1.1 101 Switching Protocols`)
//! and its examples' event handlers (`[WSc] Connected to url: /`, socket.io's `[IOc]
//! Connected to url: /socket.io/?EIO=4`). A server that answers the upgrade with 101 took the
//! websocket: the connection works. Any other status (socket.io's polling `200 OK` first step)
//! is not yet a verdict.

/// The upgrade the server took: what shows it.
pub(crate) fn upgraded(text: &str) -> Option<String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let status = lower
        .find("http/1.1 101")
        .or_else(|| lower.find("http/1.0 101"))
        .filter(|&at| {
            // The status line itself (bare, or after arduinoWebSockets' `RX: `), not a
            // sentence that mentions it.
            let before = lower[..at].trim_end();
            before.is_empty() || before.ends_with("rx:")
        });
    if status.is_some() {
        return Some(format!(
            "the server accepted the websocket upgrade (`{t}`): the connection works"
        ));
    }
    let event = ["[wsc] connected to url:", "[ioc] connected to url:"]
        .iter()
        .any(|p| lower.starts_with(p));
    event.then(|| format!("the websocket client connected (`{t}`): the connection works"))
}

/// arduinoWebSockets' TCP connect that worked (`[WS-Client] connected to 192.168.1.106:5000.`):
/// a retry that takes back an earlier `connection to host:80 Faild`, not yet a pass.
pub(crate) fn tcp_connected(text: &str) -> bool {
    text.trim()
        .to_ascii_lowercase()
        .starts_with("[ws-client] connected to ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_answered_101_is_a_working_websocket() {
        for line in [
            "[WS-Client][handleHeader] RX: HTTP/1.1 101 Switching Protocols",
            "HTTP/1.1 101 Switching Protocols",
            "[WSc] Connected to url: /",
            "[IOc] Connected to url: /socket.io/?EIO=4",
        ] {
            assert!(upgraded(line).is_some(), "{line}");
        }
        for line in [
            "[WS-Client][handleHeader] RX: HTTP/1.1 200 OK",
            "[WS-Client][handleHeader]  - cCode: 101",
            "expected HTTP/1.1 101 but got 400",
            "[WSc] Disconnected!",
        ] {
            assert!(upgraded(line).is_none(), "{line}");
        }
        assert!(tcp_connected(
            "[WS-Client] connected to echo.websocket.org:80."
        ));
        assert!(!tcp_connected(
            "[WS-Client] connection to echo.websocket.org:80 Faild"
        ));
    }

    fn graded(log: &str) -> crate::grade::Report {
        crate::grade::grade_bytes(
            crate::grade::GradeConfig::new(crate::grade::Profile::Auto),
            log.as_bytes(),
        )
    }

    #[test]
    fn a_retry_that_connects_takes_back_the_failed_connect() {
        let faild = "[WS-Client] connect ws...\n\
                     [WS-Client] connection to echo.websocket.org:80 Faild\n\
                     [WSc] Disconnected!\n[WS-Client] connect ws...\n";
        let r = graded(&format!(
            "{faild}[WS-Client] connected to echo.websocket.org:80.\n[WS-Client][sendHeader] sending header...\n"
        ));
        assert_eq!(r.exit_code, 3, "{}", r.reason);
        let r = graded(&format!(
            "{faild}[WS-Client] connected to echo.websocket.org:80.\n\
             [WS-Client][handleHeader] RX: HTTP/1.1 101 Switching Protocols\n"
        ));
        assert_eq!(r.exit_code, 0, "{}", r.reason);
        assert!(r.reason.contains("101"), "{}", r.reason);
        // The failed connect alone stays a fault.
        assert_eq!(graded(faild).exit_code, 5);
    }
}
