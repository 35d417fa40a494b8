//! Error lines of the clients above the TLS layer: ESP-IDF's `esp_http_client` and MQTT client
//! (esp-mqtt), PubSubClient, ESP-IDF's and arduinoWebSockets' WebSocket clients, and the OTA
//! and cloud libraries that say in one line that they could not reach their server. Each
//! explains what the client was doing when it failed; whether TCP or TLS under it failed is
//! said only where the line says it.

use super::libdiag::{CONNECTION, Found, number_after, tcp_errno};
use super::tlsdiag::{About, Finding, Weight};

/// Classify one line; `None` when none of these clients printed it.
pub(crate) fn classify(lower: &str, found: &Found) -> Option<Finding> {
    websocket(lower, found)
        .or_else(|| pubsubclient(lower, found))
        .or_else(|| mqtt_client(lower, found))
        .or_else(|| http_client_error(lower, found))
        .or_else(|| httpclient_code(lower, found))
        .or_else(|| ota_and_cloud(lower, found))
        .or_else(|| httpclient_return_error(lower, found))
}

/// The `source` of a finding about a connection that was up and then broke (a read that timed
/// out mid-frame), not one that could not be opened.
pub(crate) const BROKE: &str = "connection-broke";

/// The `source` of arduino-esp32 HTTPClient's own error line (`returnError(): error(-1):
/// connection refused`).
pub(crate) const HTTPCLIENT: &str = "httpclient";

/// HTTPClient's debug line for a request that got no HTTP status: `[W][HTTPClient.cpp:1262]
/// returnError(): error(-1): connection refused` (core debug level Warning or more), its
/// `HTTPC_ERROR_*` code and words.
fn httpclient_return_error(lower: &str, found: &Found) -> Option<Finding> {
    let i = lower.find("returnerror(): error(")?;
    let said = lower[i + 15..].trim();
    let code = said[6..].split(')').next()?.trim().parse::<i32>().ok()?;
    let why = if said.contains("connection refused") {
        ": HTTPClient says this for any failed connect (refused, unreachable, DNS, or the TLS \
         handshake), so it is unknown whether TCP or TLS failed"
    } else if said.contains("read timeout") {
        ": the server did not answer in time"
    } else {
        ""
    };
    found(
        HTTPCLIENT,
        About::Connection,
        Weight::Fails,
        format!("HTTPClient's request got no HTTP status (`{said}`){why}"),
        Some(code),
    )
}

/// ESP-IDF's MQTT client (esp-mqtt): it could not reach the broker, or the broker's answer
/// was not MQTT. The transport lines before it (esp-tls) say why when they are there.
fn mqtt_client(lower: &str, found: &Found) -> Option<Finding> {
    let at = lower.find("mqtt_client:")?;
    let message = lower[at + 12..].trim();
    let errno = number_after(message, "errno=");
    let explanation = if message.contains("invalid msg_type response") {
        "the MQTT client could not connect: the broker's answer to CONNECT was not a CONNACK \
         (`invalid msg_type response`): the port speaks another protocol, or plain MQTT met a \
         TLS port (or the other way round)"
            .to_owned()
    } else if message.starts_with("connection refused") {
        format!("the MQTT client could not connect: the broker refused the CONNECT (`{message}`)")
    } else if message.contains("transport_read() error") {
        // A read on a transport that was open: the connect came first, the session broke.
        let why = errno
            .map(|e| format!(": {}", tcp_errno(Some(e))))
            .unwrap_or_default();
        format!(
            "the MQTT client's connection to the broker broke: reading from it failed \
             (`{message}`){why}"
        )
    } else if message.contains("error transport connect") || message.contains("mqtt connect failed")
    {
        let why = errno
            .map(|e| format!(": {}", tcp_errno(Some(e))))
            .unwrap_or_default();
        format!(
            "the MQTT client could not connect to the broker (`{message}`){why}; the log does \
             not say whether TCP, TLS or the MQTT CONNECT itself failed"
        )
    } else if message.starts_with("no ping_resp") {
        "the MQTT client lost the broker: it stopped answering keep-alive pings (`no \
         ping_resp`), the connection broke or the network dropped"
            .to_owned()
    } else if message.contains("error write data or timeout") || message.contains("writing failed")
    {
        "the MQTT client could not send to the broker (the connection broke or timed out)"
            .to_owned()
    } else {
        return None;
    };
    found(
        CONNECTION,
        About::Connection,
        Weight::Fails,
        explanation,
        errno.map(|e| -e),
    )
}

/// esp_http_client's `esp_err_t` names as apps print them (`Error perform http request
/// ESP_ERR_HTTP_INVALID_TRANSPORT`), and its own `No transport found`: the request failed before
/// any HTTP status. (`ESP_ERR_HTTP_CONNECT` is the generic connection failure below;
/// `ESP_ERR_HTTP_EAGAIN` and `_CONNECTING` are an async client's "not yet", not failures.)
fn http_client_error(lower: &str, found: &Found) -> Option<Finding> {
    const ERRORS: &[(&str, &str)] = &[
        (
            "esp_err_http_invalid_transport",
            "the client has no transport for the URL's scheme (an https:// URL in a build \
             without HTTPS support: turn on CONFIG_ESP_HTTP_CLIENT_ENABLE_HTTPS), so no \
             connection was attempted",
        ),
        (
            "esp_err_http_fetch_header",
            "the connection opened but the response's headers never came (the server closed \
             the connection or did not answer in time)",
        ),
        ("esp_err_http_write_data", "sending the request failed"),
        (
            "esp_err_http_connection_closed",
            "the server closed the connection before the response was complete",
        ),
        (
            "esp_err_http_read_timeout",
            "the server did not send the response in time",
        ),
        (
            "esp_err_http_incomplete_data",
            "the response ended before all its data came",
        ),
        ("esp_err_http_max_redirect", "too many redirects"),
    ];
    let (name, why) = if lower.contains("http_client: no transport found") {
        ERRORS[0]
    } else if lower.contains("http_client: error parse url") {
        (
            "esp_fail",
            "the URL could not be parsed (a typo, or no scheme), so no request was sent",
        )
    } else {
        *ERRORS.iter().find(|(name, _)| lower.contains(name))?
    };
    found(
        CONNECTION,
        About::Connection,
        Weight::Fails,
        format!("esp_http_client: {}: {why}", name.to_ascii_uppercase()),
        None,
    )
}

/// OTA and cloud libraries that say in one line that they could not reach their server:
/// HTTPUpdate (`HTTP_UPDATE_FAILD Error (-1): HTTP error: connection refused`, both cores, both
/// spellings), esp_https_ota (`Failed to open HTTP connection: 28675`, `Complete headers were not
/// received`) and the Firebase libraries (`Token error: code: -1, message: connection refused`).
fn ota_and_cloud(lower: &str, found: &Found) -> Option<Finding> {
    if let Some((code, msg)) = super::httpclient::update_error(lower) {
        if super::httpclient::update_answered(code) || super::updater::refused(lower).is_some() {
            // The server answered (404, 403, 401, another status): the HTTP client's verdict;
            // or the device's updater refused the image it got: the updater's.
            return None;
        }
        let hint = if msg.contains("connection refused") {
            ": the server refused the connection (nothing listens on that port, or an https URL \
             was fetched with a plain WiFiClient or the other way round)"
        } else if msg.contains("connection failed") {
            ": the board could not connect to the update server; the line does not say whether \
             TCP or TLS failed"
        } else {
            ""
        };
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!("the HTTP update (OTA) failed with HTTPUpdate error {code}, `{msg}`{hint}"),
            Some(code),
        );
    }
    if let Some(i) = lower.find("failed to open http connection") {
        let what = lower[i + 30..].trim_start_matches(':').trim();
        let name = match what {
            "28675" | "0x7003" | "esp_err_http_connect" => "ESP_ERR_HTTP_CONNECT".to_owned(),
            "" => "no error code".to_owned(),
            other => other.to_owned(),
        };
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "esp_https_ota could not open the HTTP connection to the update server \
                 ({name}); the log does not say whether TCP or TLS failed (set esp-tls's log \
                 level to debug to see which)"
            ),
            None,
        );
    }
    if lower.contains("esp_https_ota: complete headers were not received") {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            "esp_https_ota did not receive the update server's complete response headers \
             (`Complete headers were not received`): the connection closed or stalled before \
             the headers ended, or they did not fit the client's receive buffer (`buffer_size` \
             in esp_http_client_config_t)"
                .to_owned(),
            None,
        );
    }
    if let Some((code, msg)) = super::httpclient::token_error(lower) {
        if code.is_some_and(|c| c >= 100 && !super::httpclient::own_timeout(c)) {
            // The token server answered with an HTTP status: the HTTP client's verdict.
            return None;
        }
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "the Firebase library could not get its auth token: {msg} (code {}{}); the \
                 board did not reach Google's token server (its network, DNS, or a TLS \
                 failure: turn on the core's debug output to see which)",
                code.unwrap_or_default(),
                if code.is_some_and(super::httpclient::own_timeout) {
                    ", the library's own request timeout: no answer came, not a server's status"
                } else {
                    ""
                }
            ),
            code,
        );
    }
    None
}

/// ESP-IDF's WebSocket transport (`transport_ws`, esp_websocket_client): TCP (and TLS) worked
/// or not, and then the HTTP upgrade to WebSocket.
fn websocket(lower: &str, found: &Found) -> Option<Finding> {
    let ws = |explanation: String, errno: Option<i32>| {
        found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            explanation,
            errno.map(|e| -e),
        )
    };
    if lower.contains("transport_ws:") && lower.contains("sec-websocket-accept not found") {
        return ws(
            "the server's answer to the WebSocket upgrade had no Sec-WebSocket-Accept header: \
             the connection itself worked, but the server (or a proxy in front of it) did not \
             accept the upgrade (wrong path or port, or not a WebSocket endpoint)"
                .to_owned(),
            None,
        );
    }
    if lower.contains("transport_ws:") && lower.contains("error read response for upgrade") {
        return ws(
            "the server sent no answer to the WebSocket upgrade request (it closed or reset \
             the connection, or timed out)"
                .to_owned(),
            None,
        );
    }
    // arduinoWebSockets (Links2004), both cores: the answer to its upgrade was not `101`.
    if lower.contains("[ws-client][handleheader] no websocket connection close") {
        return ws(
            "the server did not accept the WebSocket upgrade (its status, the `cCode` line \
             before, was not 101 Switching Protocols): the connection itself worked, but the \
             path, port or protocol is wrong, or it is not a WebSocket endpoint"
                .to_owned(),
            None,
        );
    }
    if lower.contains("websocket_client:") && lower.contains("esp_transport_connect() failed") {
        let errno = number_after(lower, "errno=").filter(|e| *e != 0);
        return ws(
            format!(
                "the WebSocket client could not connect: {}",
                tcp_errno(errno)
            ),
            errno,
        );
    }
    // arduinoWebSockets' read callback gave up waiting for the rest of a frame (`[readCb]
    // receive TIMEOUT! 15001`, the ms it waited); the library drops the connection next.
    if lower.contains("[readcb] receive timeout") {
        return found(
            BROKE,
            About::Connection,
            Weight::Fails,
            "arduinoWebSockets timed out reading a frame's payload (`receive TIMEOUT`) and \
             drops the connection: the server or the network stopped sending mid-frame, or the \
             stream was out of step (a frame header before it with reserved bits or opCode says \
             the bytes it read were not a frame)"
                .to_owned(),
            None,
        );
    }
    if lower.contains("transport_base:") && lower.contains("poll_read select error") {
        let errno = number_after(lower, "poll_read select error");
        return ws(tcp_errno(errno), errno);
    }
    None
}

/// PubSubClient's examples (`Attempting MQTT connection...failed, rc=-2 try again in 5
/// seconds`), Tasmota's `MQT: Connect failed to …, rc -2` and coreMQTT's statuses (read by
/// [`super::mqtt`], which also knows the connect that may follow).
fn pubsubclient(lower: &str, found: &Found) -> Option<Finding> {
    let (explanation, rc) = super::mqtt::failure(lower)?;
    found(
        CONNECTION,
        About::Connection,
        Weight::Fails,
        explanation,
        rc,
    )
}

/// Firmware that prints HTTPClient's negative code and its `errorToString()` where a status
/// would be: ESPEasy's `HTTP : C008 192.168.44.34 GET... failed HTTP code: -11 read Timeout`.
fn httpclient_code(lower: &str, found: &Found) -> Option<Finding> {
    let at = lower.find("http code: -")?;
    let code = number_after(&lower[at..], "http code:")?;
    let what = match code {
        -1 => {
            "connection refused: HTTPClient says this for any failed connect (refused, \
             unreachable, DNS, or the TLS handshake), so it is unknown whether TCP or TLS failed"
        }
        -2 | -3 | -10 => "sending the request failed: the connection broke",
        -4 => "not connected: an earlier connect failed",
        -5 => "connection lost: the connection dropped before the response came",
        -7 => "no HTTP server: what answered did not speak HTTP",
        -11 => {
            "read timeout: the server took the connection but sent no response in time (it is \
             overloaded, or the firmware's timeout is too short)"
        }
        _ => "one of HTTPClient's errors before any response",
    };
    found(
        CONNECTION,
        About::Connection,
        Weight::Fails,
        format!("the request got no HTTP status: HTTPClient error {code}, {what}"),
        Some(code),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tlsdiag::{self, source_and_words};

    #[test]
    fn httpclient_codes_that_firmware_prints_in_its_own_words() {
        let (s, e) = source_and_words(
            "1154679: HTTP : C008 192.168.44.34 GET... failed HTTP code: -11 read Timeout",
        );
        assert_eq!(s, super::CONNECTION);
        assert!(e.contains("HTTPClient error -11, read timeout"), "{e}");
        let (_, e) = source_and_words("HTTP : C011 GET... failed HTTP code: -1 connection refused");
        assert!(e.contains("unknown whether TCP or TLS"), "{e}");
        let line = "HTTP : C011 GET... HTTP code: 200";
        assert_eq!(tlsdiag::classify(1, line, &line.to_ascii_lowercase()), None);
    }

    #[test]
    fn arduino_websockets_read_timeout_and_httpclient_errors_are_connection_faults() {
        let (source, e) = source_and_words("[readCb] receive TIMEOUT! 15001");
        assert_eq!(source, super::BROKE);
        assert!(e.contains("`receive TIMEOUT`"), "{e}");
        let (source, e) = source_and_words(
            "[W][HTTPClient.cpp:1262] returnError(): error(-1): connection refused",
        );
        assert_eq!(source, super::HTTPCLIENT);
        assert!(e.contains("(`error(-1): connection refused`)"), "{e}");
        assert!(e.contains("unknown whether TCP or TLS"), "{e}");
    }

    #[test]
    fn esp_http_client_errors_fail_before_any_status() {
        for (line, word) in [
            (
                "E (3340) auth3: Error perform http request ESP_ERR_HTTP_INVALID_TRANSPORT",
                "HTTPS support",
            ),
            ("E (3336) HTTP_CLIENT: No transport found", "HTTPS support"),
            (
                "E (2337) HTTP_CLIENT: Error parse url htps:/example.com",
                "URL could not be parsed",
            ),
            (
                "E (7150) HTTP_CLIENT: Error perform http request ESP_ERR_HTTP_FETCH_HEADER",
                "headers never came",
            ),
            (
                "E (9000) app: HTTP GET request failed: ESP_ERR_HTTP_CONNECTION_CLOSED",
                "closed the connection",
            ),
            (
                " E (10769) esp_https_ota: Complete headers were not received",
                "response headers",
            ),
            (
                "Token error: code: -4, message: connection lost",
                "connection lost",
            ),
            // The library's own timeout, coded like HTTP 408: no answer came.
            (
                "Token error: code: 408, message: request timed out",
                "own request timeout",
            ),
        ] {
            let (s, e) = source_and_words(line);
            assert_eq!(s, super::CONNECTION, "{line}");
            assert!(e.contains(word), "{line}: {e}");
        }
        // An async client's "not yet", and other components' lines, are not failures.
        for line in [
            "D (5000) HTTP_CLIENT: esp_http_client_perform returned ESP_ERR_HTTP_EAGAIN",
            "I (5000) MQTT_CLIENT: Sending MQTT CONNECT message, type: 1, id: 0000",
            "I (5571) MQTT_CLIENT: Error MQTT Connected",
            // The token server answered: its status is the HTTP client's verdict.
            "Token error: code: 400, message: bad request",
            // The server answered and the image was refused.
            "HTTP_UPDATE_FAILD Error (-106): Verify bin header failed",
        ] {
            assert_eq!(
                tlsdiag::classify(1, line, &line.to_ascii_lowercase()),
                None,
                "{line}"
            );
        }
    }
}
