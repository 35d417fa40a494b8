//! WebSocket clients in their own words: arduinoWebSockets' debug output (`[WS-Client]
//! connected to host:80.`, `[WS-Client][handleHeader] RX: HTTP/1.1 101 Switching Protocols`)
//! and its examples' event handlers (`[WSc] Connected to url: /`, socket.io's `[IOc]
//! Connected to url: /socket.io/?EIO=4`). A server that answers the upgrade with 101 took the
//! websocket: the connection works. Any other status (socket.io's polling `200 OK` first step)
//! is not yet a verdict.
//!
//! The session after it ([`Session`]): the libraries' connect and disconnect events
//! (arduinoWebSockets' `[WSc] Disconnected!` and its server's `[0] Connected from … url: /`,
//! ESPAsyncWebServer's `ws[/ws][1] disconnect`, gilmaimon's ArduinoWebsockets `Connnection
//! Closed`, and a sketch's own short `Server Disconnect` once the log shows a websocket). A
//! client that never connects, or a session whose last event is a drop, is a connection fault
//! when the log ends there; `not in WSC_CONNECTED state` after a 101 says the session did not
//! come up yet (socket.io still waits for its open packet), so the upgrade is no pass.

use super::engine::Engine;

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
    // timum-viw's SocketIoClient tags its lines `[SIoC]`.
    let event = [
        "[wsc] connected to url:",
        "[ioc] connected to url:",
        "[sioc] connected to url:",
    ]
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

/// What one line said about the websocket session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Said {
    /// A client connected (or the client connected to its server).
    Up,
    /// The session dropped, or a connect failed: the fault if the log ends on it.
    Down(String),
}

/// The websocket session of one run, in the Arduino libraries' words.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// The log showed a websocket (a library's line, a `ws://` URL): a sketch's own short
    /// `Disconnect` line is then the session's.
    seen: bool,
    ups: u32,
    downs: u32,
}

impl Session {
    /// Read one line; a drop takes back a pass not yet final (a 101, a connect).
    pub(crate) fn line(&mut self, core: &mut Engine, text: &str) -> Option<Said> {
        let t = text.trim();
        if t.len() > 400 {
            return None;
        }
        let lower = t.to_ascii_lowercase();
        if lower.contains("ws://") || lower.contains("wss://") || library_line(&lower) {
            self.seen = true;
        }
        if lower.contains("not in wsc_connected state") {
            // The library itself says the session is not up: the upgrade did not finish it.
            core.withdraw_pass();
            return None;
        }
        if up(&lower, self.seen) {
            self.seen = true;
            self.ups += 1;
            return Some(Said::Up);
        }
        let client = down(&lower, self.seen)?;
        self.seen = true;
        if !client && self.ups == 0 {
            // A server's client left (or a sketch's own line) with no connect in the log: the
            // paste starts mid-session, and a browser that closes its tab is no fault.
            return None;
        }
        self.downs += 1;
        core.withdraw_pass();
        let how = if self.ups == 0 {
            format!(
                "the websocket client never connected: `{t}`{}, with no connect before it",
                times(self.downs)
            )
        } else if self.downs >= 2 {
            format!(
                "the websocket session keeps dropping: `{t}` ({} drops after {} connects)",
                self.downs, self.ups
            )
        } else {
            format!("the websocket session dropped: `{t}` after the client had connected")
        };
        Some(Said::Down(format!(
            "{how}, and the log ends without a connect that stayed up after it (the line does \
             not say whether TCP, TLS or the peer closed it)"
        )))
    }
}

fn times(n: u32) -> String {
    if n >= 2 {
        format!(" ({n} times)")
    } else {
        String::new()
    }
}

/// A websocket library's own line (not yet an event).
fn library_line(lower: &str) -> bool {
    [
        "[ws-client]",
        "[ws-server]",
        "[wsc]",
        "[ioc]",
        "[sioc]",
        "[ws][",
        "websocket",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// `[WSc]`/`[IOc]` events, arduinoWebSockets' server (`[0] Connected from …`), an
/// ESPAsyncWebServer handler (`ws[/ws][1] connect`), and with a websocket seen, a sketch's own
/// short line.
fn up(lower: &str, seen: bool) -> bool {
    if ["[wsc]", "[ioc]", "[sioc]"]
        .iter()
        .any(|tag| lower.starts_with(&format!("{tag} connected to url:")))
    {
        return true;
    }
    if let Some(rest) = client_tag(lower) {
        return rest.starts_with("connected from ") || rest.starts_with("connected:");
    }
    if let Some(rest) = async_ws_tag(lower) {
        return rest == "connect";
    }
    if lower.starts_with("websocket client #") && lower.contains(" connected from ") {
        return true;
    }
    seen && short_event(lower)
        .is_some_and(|(_, last)| matches!(last, "connected" | "opened" | "successful"))
}

/// A drop: `Some(true)` for a client's own (`[WSc] Disconnected!`: a connect that failed, too),
/// `Some(false)` for a server's client leaving or a sketch's own words.
fn down(lower: &str, seen: bool) -> Option<bool> {
    let bare = lower.trim_end_matches(['!', '.']);
    if matches!(
        bare,
        "[wsc] disconnected" | "[ioc] disconnected" | "[sioc] disconnected"
    ) {
        return Some(true);
    }
    if let Some(rest) = client_tag(lower) {
        return (rest.trim_end_matches(['!', '.']) == "disconnected").then_some(false);
    }
    if let Some(rest) = async_ws_tag(lower) {
        return (rest == "disconnect").then_some(false);
    }
    if lower.starts_with("websocket client #") && bare.ends_with(" disconnected") {
        return Some(false);
    }
    (seen
        && short_event(lower)
            .is_some_and(|(_, last)| matches!(last, "disconnect" | "disconnected" | "closed")))
    .then_some(false)
}

/// arduinoWebSockets' server examples' `[%u] ` before the event: the rest.
fn client_tag(lower: &str) -> Option<&str> {
    let rest = lower.strip_prefix('[')?;
    let close = rest.find(']')?;
    let num = &rest[..close];
    (!num.is_empty() && num.len() <= 3 && num.bytes().all(|b| b.is_ascii_digit()))
        .then(|| rest[close + 1..].trim_start())
}

/// ESPAsyncWebServer's `ws[%s][%u] ` before the event: the rest.
fn async_ws_tag(lower: &str) -> Option<&str> {
    let rest = lower.strip_prefix("ws[")?;
    let first = rest.find(']')?;
    let rest = rest[first + 1..].strip_prefix('[')?;
    let second = rest.find(']')?;
    rest[..second]
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| rest[second + 1..].trim())
}

/// A sketch's own event line of at most three words (`Server   Disconnect`, `Connnection
/// Closed`, `Connection successful`): who, and what happened to it.
fn short_event(lower: &str) -> Option<(Vec<&str>, &str)> {
    let words: Vec<&str> = lower
        .trim_end_matches(['!', '.'])
        .split_whitespace()
        .collect();
    let (last, who) = words.split_last()?;
    let subject = [
        "server",
        "client",
        "websocket",
        "websockets",
        "ws",
        "socket",
        "connection",
        "connnection",
    ];
    (who.len() <= 2 && !who.is_empty() && who.iter().all(|w| subject.contains(w)))
        .then_some((who.to_vec(), *last))
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
            "[SIoC] Connected to url: /socket.io/?transport=websocket",
        ] {
            assert!(upgraded(line).is_some(), "{line}");
        }
        for line in [
            "[SIoC] Disconnected!",
            "[SIoC] add packet 42[\"message\",hello from esp]",
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

    #[test]
    fn a_websocket_client_that_never_connects_is_a_fault() {
        let r = graded("[WSc] Disconnected!\n[WSc] Disconnected!\n");
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(r.reason.contains("never connected"), "{}", r.reason);
        let r = graded("[IOc] Disconnected!\n");
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        // A connect after the drop takes it back.
        let r = graded("[WSc] Disconnected!\n[WSc] Connected to url: /\n[WSc] get text: hi\n");
        assert_eq!(r.exit_code, 0, "{}", r.reason);
    }

    #[test]
    fn a_session_that_drops_after_it_connected_is_a_fault() {
        for log in [
            "[0] Connected from 192.168.4.2 url: /\n[0] get Text: hi\n[0] Disconnected!\n\
             [0] Connected from 192.168.4.2 url: /\n[0] Disconnected!\n",
            "ws[/ws][1] connect\nws[/ws][1] text-message[len=3]: abc\nws[/ws][1] disconnect\n",
            "server.listen(8080);\nws://192.168.10.111:8080\nConnection successful\n\
             Echo: 123\n\nServer   Disconnect\n",
        ] {
            let r = graded(log);
            assert_eq!(r.exit_code, 5, "{log}: {}", r.reason);
            assert!(r.reason.contains("websocket session"), "{}", r.reason);
        }
        // Connected and still up at the end: the connection works.
        let r = graded("[0] Connected from 192.168.4.2 url: /\n[0] get Text: hi\n");
        assert_eq!(r.exit_code, 0, "{}", r.reason);
    }

    #[test]
    fn drops_that_do_not_say_a_websocket_failed_are_no_fault() {
        for log in [
            // A server's clients leaving, with no connect in the paste.
            "[1] Disconnected!\n[0] Disconnected!\n",
            // A plain web server's request loop: no websocket anywhere.
            "WiFi connected\nNew Client.\nGET / HTTP/1.1\nClient disconnected.\n",
            // A sketch's short line with no websocket in the log.
            "Connection successful\nServer Disconnect\n",
        ] {
            let r = graded(log);
            assert_ne!(r.exit_code, 5, "{log}: {}", r.reason);
        }
    }

    #[test]
    fn an_upgrade_the_library_calls_not_connected_is_no_pass() {
        let upgrade = "[WS-Client][sendHeader] sending header... Done (159312us).\n\
                       [WS-Client][handleHeader] RX: HTTP/1.1 101 Switching Protocols\n\
                       [WS-Client][handleHeader] RX: Connection: upgrade\n";
        assert_eq!(graded(upgrade).exit_code, 0);
        let r = graded(&format!(
            "{upgrade}[WS][0][sendFrame] not in WSC_CONNECTED state!?\n[WS-Client][ha"
        ));
        assert_eq!(r.exit_code, 3, "{}", r.reason);
    }
}
