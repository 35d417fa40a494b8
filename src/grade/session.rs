//! Sessions of firmware no profile knows that visibly worked: a websocket that opened and
//! answered (gilmaimon's ArduinoWebsockets: its examples print `Connnection Opened`, their own
//! spelling, and `Got a Pong!`; arduinoWebSockets' `[WSc] get pong`), a Bluetooth LE connection
//! that came up (the Bluedroid BLE library's `ESP_GATTS_CONNECT_EVT` on a server, the BLE_client
//! example's `We are now connected to the BLE Server.`). A pass that a later failure, crash or
//! reset still overrides (the engine ranks them higher).

/// Why `text` says the session worked, or `None`.
pub(crate) fn worked(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() > 300 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let bare = lower.trim_end_matches(['!', '.', ' ']);
    if matches!(
        bare,
        "connnection opened" | "connection opened" | "websocket connection opened"
    ) {
        return Some(format!(
            "the websocket client opened its connection (`{t}`, ArduinoWebsockets' \
             ConnectionOpened event): the connection works"
        ));
    }
    if matches!(bare, "got a pong" | "[wsc] get pong" | "got pong") {
        return Some(format!(
            "the websocket server answered a ping (`{t}`): the connection works"
        ));
    }
    if let Some(why) = ws_server_accepted(t) {
        return Some(why);
    }
    if bare == "we are now connected to the ble server" {
        return Some(format!(
            "the BLE client connected to its server (`{t}`): the connection works"
        ));
    }
    // The BLE library's debug lines name the event; the server got a client's connection.
    // Not `…_DISCONNECT_EVT`, nor a client's failed `ESP_GATTC_OPEN_EVT`.
    let event = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == "esp_gatts_connect_evt");
    event.then(|| {
        format!("a BLE client connected to the board's GATT server (`{t}`): the connection works")
    })
}

/// An ESP-IDF websocket server that took a client: the ws_echo_server example's `Handshake done,
/// the new connection was opened`, or an app's websocket tag saying `client 1 connected!`. Not
/// a client that left (`client 1 disconnected`), nor an Arduino line without the IDF log frame.
fn ws_server_accepted(t: &str) -> Option<String> {
    let body = super::idf::log_body(t)?;
    let lower = body.to_ascii_lowercase();
    let (tag, message) = lower.split_once(": ")?;
    let message = message.trim().trim_end_matches(['!', '.']);
    let handshake = message == "handshake done, the new connection was opened";
    let client = message
        .strip_prefix("client ")
        .and_then(|r| r.strip_suffix(" connected"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ws_tag = tag.contains("websocket") || tag.starts_with("ws");
    (handshake || (client && ws_tag)).then(|| {
        format!(
            "the board's websocket server accepted a client (`{}`): the server works",
            t.trim()
        )
    })
}

/// A firmware that joined the network and then printed its command menu (SerialTerm's
/// `available commands:`, a CLI's `Type 'help' for commands`) is up and waiting for its user.
#[derive(Debug, Default)]
pub(crate) struct Ready {
    /// The board's address, from a line that reports it (`IP address  .: 192.168.2.168`).
    ip: Option<String>,
}

impl Ready {
    /// Read one line; the pass reason once the menu follows an address.
    pub(crate) fn line(&mut self, text: &str) -> Option<String> {
        let t = text.trim();
        if t.len() > 200 {
            return None;
        }
        let lower = t.to_ascii_lowercase();
        if let Some(ip) = address(&lower) {
            self.ip = Some(ip);
            return None;
        }
        let ip = self.ip.as_deref()?;
        menu(&lower).then(|| {
            format!(
                "the board joined the network ({ip}) and printed its command menu (`{t}`): the \
                 firmware is up and waiting for input"
            )
        })
    }
}

/// The board's IPv4 address from `IP address: 1.2.3.4`, `IP address  .: 1.2.3.4`, `IP: 1.2.3.4`.
fn address(lower: &str) -> Option<String> {
    let i = lower.find("ip address").or_else(|| {
        lower
            .find("ip")
            .filter(|&i| i == 0 && lower[2..].trim_start().starts_with([':', '.']))
    })?;
    let rest = lower[i..].trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
    let rest = rest.trim_start_matches([' ', '.', ':', '=']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let ip = word.parse::<std::net::Ipv4Addr>().ok()?;
    (!ip.is_unspecified()).then_some(word)
}

/// A command menu's heading or prompt.
fn menu(lower: &str) -> bool {
    let t = lower.trim_end_matches([':', ' ']);
    t == "available commands"
        || t == "commands"
        || t == "list of commands"
        || [
            "type 'help'",
            "type \"help\"",
            "type help for",
            "enter 'help'",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::{Ready, worked};

    #[test]
    fn a_menu_after_the_network_came_up_is_ready() {
        let mut r = Ready::default();
        assert_eq!(r.line("  available commands:"), None);
        assert_eq!(r.line("IP address  .: 192.168.2.168"), None);
        let why = r.line("  available commands:").unwrap_or_default();
        assert!(why.contains("192.168.2.168"), "{why}");
        // No address, an unset one, or no menu: not ready.
        let mut r = Ready::default();
        assert_eq!(r.line("IP address: 0.0.0.0"), None);
        assert_eq!(r.line("Type 'help' for commands"), None);
        let mut r = Ready::default();
        assert_eq!(r.line("IP address: 10.0.0.7"), None);
        assert_eq!(r.line("unknown command: help"), None);
        assert_eq!(r.line("commands failed: 3"), None);
    }

    #[test]
    fn a_session_that_opened_is_read() {
        for line in [
            "Connnection Opened",
            "Connection Opened!",
            "Got a Pong!",
            "[WSc] get pong",
            "We are now connected to the BLE Server.",
            "[D][BLEServer.cpp:175] handleGATTServerEvent(): >> handleGATTServerEvent: ESP_GATTS_CONNECT_EVT",
            "[D][BLEUtils.cpp:1611] dumpGattServerEvent(): GATT ServerEvent: ESP_GATTS_CONNECT_EVT",
        ] {
            assert!(worked(line).is_some(), "{line}");
        }
    }

    #[test]
    fn an_idf_websocket_server_that_took_a_client_worked() {
        for line in [
            "I (204927) websocket_callback: client 1 connected!",
            "I (5120) ws_echo_server: Handshake done, the new connection was opened",
            "I (88) ws_server: client 12 connected",
        ] {
            assert!(worked(line).is_some(), "{line}");
        }
        for line in [
            "I (204927) websocket_callback: client 1 disconnected!",
            "I (204917) server_task: new client",
            "I (9) http_server: client 1 connected",
            "websocket_callback: client 1 connected!",
        ] {
            assert!(worked(line).is_none(), "{line}");
        }
    }

    #[test]
    fn lines_that_look_alike_are_not_read() {
        for line in [
            "Connnection Closed",
            "Connection opened failed",
            "Trying to open connection",
            "Ping sent",
            "[D][BLEServer.cpp:175] handleGATTServerEvent(): >> handleGATTServerEvent: ESP_GATTS_DISCONNECT_EVT",
            "[D][BLEDevice.cpp:95] gattClientEventHandler(): ESP_GATTC_OPEN_EVT status=133",
            "We are not connected to the BLE Server.",
            "Failed to connect to the BLE Server",
        ] {
            assert_eq!(worked(line), None, "{line}");
        }
    }
}
