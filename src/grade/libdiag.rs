//! Error lines of the connection stack other than BearSSL's and mbedTLS's codes: ESP-IDF's
//! `E (t) tag: message` family (esp-tls, transport_base, HTTP_CLIENT, esp-tls-mbedtls), wolfSSL
//! (ESP-IDF and ESP8266_RTOS_SDK builds), axTLS ([`super::axtls`]), DNS and TCP failures, and
//! the board's own TLS server; the clients above them (MQTT, WebSocket, OTA) are
//! [`super::clientdiag`]'s. Each finding names the library it comes from, so the report never
//! blames mbedTLS for a wolfSSL line.

use super::model::Diagnostic;
use super::tlsdiag::{About, Finding, Weight};

/// The `source` of a finding that is about reaching the server (TCP, DNS, timeouts), not TLS.
pub(crate) const CONNECTION: &str = "esp-tls";

/// The `source` of a finding about the board's own TLS server failing a client's handshake.
pub(crate) const SERVER: &str = "tls-server";

/// Classify one line; `None` when none of these libraries printed it.
pub(crate) fn classify(
    lower: &str,
    diag: &dyn Fn(&str, String, Option<i32>) -> Diagnostic,
) -> Option<Finding> {
    let found =
        |source: &str, about: About, weight: Weight, explanation: String, code: Option<i32>| {
            let mut f = Finding::new(about, weight);
            f.diag = Some(diag(source, explanation, code));
            Some(f)
        };
    if lower.contains("wolfssl") || lower.contains("no ca signer to verify with") {
        return wolfssl(lower, &found);
    }
    if let Some(f) = super::axtls::classify(lower, diag) {
        return Some(f);
    }
    // The board is the server: esp32_https_server (`[HTTPS:E] SSL_accept failed. Aborting
    // handshake.`) and ESP-IDF's esp_https_server.
    if lower.contains("ssl_accept failed") || lower.contains("esp_tls_create_server_session failed")
    {
        return found(
            SERVER,
            About::Connection,
            Weight::Fails,
            "the board's HTTPS server could not complete the TLS handshake with a client: the \
             client (a browser) rejected the board's certificate (self-signed, or not for the \
             name or address it was opened with), or they share no TLS version or cipher suite"
                .to_owned(),
            None,
        );
    }
    if let Some((code, name, meaning)) = super::esptls_code::returned(lower) {
        return found(
            "mbedtls",
            About::Connection,
            Weight::Fails,
            format!("esp-tls returned {code} ({name}): {meaning}"),
            None,
        );
    }
    if lower.contains("no server verification option set") {
        return found(
            "mbedtls",
            About::Connection,
            Weight::Fails,
            "esp-tls has no server verification option set (esp_tls_cfg_t): give it the server's \
             CA (cacert_buf), attach the certificate bundle (crt_bundle_attach), or a PSK; no \
             connection was attempted"
                .to_owned(),
            None,
        );
    }
    connection(lower, &found)
}

pub(crate) type Found<'a> =
    dyn Fn(&str, About, Weight, String, Option<i32>) -> Option<Finding> + 'a;

fn connection(lower: &str, found: &Found) -> Option<Finding> {
    if let Some(why) = reported_code(lower) {
        return found(CONNECTION, About::Connection, Weight::Fails, why, None);
    }
    if let Some(code) = stack_error(lower) {
        let (why, about) = super::tlsdiag::explain_mbedtls(code);
        let why = format!("{STACK_ERROR}0x{:x}: mbedTLS {why}", -code);
        return found("mbedtls", about, Weight::Fails, why, Some(code));
    }
    // esp-mqtt's write that timed out on a connection that was open (`Writing didn't complete
    // in specified timeout: errno=119`): the link stalled, nothing was being opened.
    if lower.contains("writing didn't complete in specified timeout") {
        let errno = number_after(lower, "errno=")
            .map(|n| format!(": errno={n}"))
            .unwrap_or_default();
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "the MQTT client's write to the broker did not complete within its timeout \
                 (`Writing didn't complete in specified timeout{errno}`): the connection was \
                 open but the link stalled (weak signal, or a cellular or PPP link that dropped)"
            ),
            None,
        );
    }
    // The log's own word (`timeout`) stays in the reason: it is what users search for.
    let timeout = if lower.contains("select() timeout") {
        Some("`select() timeout`")
    } else if lower.contains("in specified timeout") {
        Some("`Failed to open new connection in specified timeout`")
    } else {
        None
    };
    if let Some(said) = timeout {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "esp-tls timed out opening the connection ({said}: the server, or the TLS \
                 handshake with it, did not answer within the timeout): is it up, and reachable \
                 from the board's network?"
            ),
            None,
        );
    }
    if let Some((host, said)) = dns_failure(lower) {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "the DNS lookup of {host} failed (`{said}`){}: the board could not resolve the host name \
                 (check the name in the URL, and the DNS server the network gives the board)",
                dns_code(lower)
            ),
            None,
        );
    }
    // Not MicroPython's REPL echoing the user's `>>> ai = usocket.getaddrinfo(host, 443)`.
    let repl_echo = lower.trim_start().starts_with(">>>");
    if lower.contains("couldn't get hostname") || (lower.contains("getaddrinfo") && !repl_echo) {
        // esp-tls: `couldn't get hostname for :example.com: getaddrinfo() returns 202,
        // addrinfo=0x0` (IDF 4.3 on); IDF 4.0-4.2 print no code.
        let host = lower
            .find("couldn't get hostname for ")
            .map(|i| lower[i + 26..].trim_start_matches(':'))
            .and_then(|r| r.split([':', ' ']).next())
            .filter(|h| !h.is_empty())
            .map(|h| format!(" {h}"))
            .unwrap_or_default();
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "esp-tls could not resolve the host name{host} (DNS){}: check the URL and the \
                 network's DNS",
                dns_code(lower)
            ),
            None,
        );
    }
    // `Failed to connect to host (errno 104)`; ESP-IDF 4.0 spelled it `connnect`.
    if let Some(i) = lower.find(" to host (errno ") {
        let errno = lower[i + 16..]
            .split(')')
            .next()
            .and_then(|n| n.trim().parse::<i32>().ok());
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!("esp-tls: {}", tcp_errno(errno)),
            errno.map(|e| -e),
        );
    }
    // esp-tls (ESP-IDF 4.3 and later): `[sock=54] connect() error: Host is unreachable`,
    // `[sock=54] delayed connect error: Connection reset by peer`, the socket's strerror.
    let strerror = ["connect() error: ", "delayed connect error: "]
        .iter()
        .find_map(|key| lower.find(key).map(|i| lower[i + key.len()..].trim()))
        .filter(|what| !what.is_empty());
    if let Some(what) = strerror {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "esp-tls: the TCP connect failed: {what}{}",
                strerror_meaning(what)
            ),
            None,
        );
    }
    // arduino-esp32's WiFiClient: `connect(): lwip_connect_r: 113` (1.0.x) and
    // `connect on fd 54, errno: 113, "Software caused connection abort"` (2.x, 3.x).
    // 1.0.0 prints no errno at all: `[E][WiFiClient.cpp:220] connect(): lwip_connect`.
    let bare = lower
        .trim_end()
        .ends_with("connect(): lwip_connect")
        .then_some(lower.len());
    let wifi_client = lower
        .find("lwip_connect_r: ")
        .map(|i| i + 16)
        .or_else(|| {
            let i = lower.find("connect on fd ")?;
            lower[i..].find("errno: ").map(|j| i + j + 7)
        })
        .or(bare);
    if let Some(at) = wifi_client {
        let errno = lower[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse::<i32>().ok());
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!("WiFiClient: {}", tcp_errno(errno)),
            errno.map(|e| -e),
        );
    }
    if let Some(f) = super::clientdiag::classify(lower, found) {
        return Some(f);
    }
    if matches!(
        lower.trim().trim_end_matches(['.', '!']),
        // arduino-websocketclient spells it `Handshak Failed.`
        "handshake failed" | "handshake failed with server" | "handshak failed"
    ) {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            "the firmware printed `handshake failed`: the server did not complete the \
             handshake; the line does not say whether it was the TLS handshake or the \
             application's own (a WebSocket upgrade)"
                .to_owned(),
            None,
        );
    }
    // Each in the words its component printed, so the reason quotes the log.
    let generic = if lower.contains("connection failed, sock < 0") {
        Some(
            "esp_http_client's connection failed (`Connection failed, sock < 0`: no socket came up)",
        )
    } else if lower.contains("esp_err_http_connect") {
        Some("esp_http_client could not connect (ESP_ERR_HTTP_CONNECT)")
    } else if lower.contains("failed to open new connection")
        || lower.contains("failed to open a new connection")
        || lower.contains("esp_transport_connect failed")
    {
        if let Some(why) = open_connection_code(lower) {
            return found(CONNECTION, About::Connection, Weight::Fails, why, None);
        }
        Some("ESP-IDF failed to open a new connection")
    } else {
        None
    };
    if let Some(said) = generic {
        return found(
            CONNECTION,
            About::Connection,
            Weight::Fails,
            format!(
                "{said}; the log does not say whether TCP or TLS failed (set the log level of \
                 esp-tls to debug to see which)"
            ),
            None,
        );
    }
    None
}

/// How the explanation of a failed connect that printed its esp-tls code starts.
pub(crate) const OPEN_CODED: &str = "ESP-IDF failed to open a new connection (`";

/// transport_base's `Failed to open a new connection: 32774`: the esp-tls error code it printed
/// (decimal, or `0x8006`), quoted as printed and named.
fn open_connection_code(lower: &str) -> Option<String> {
    let i = lower.find("new connection:")?;
    let rest = lower[i + 15..].trim_start();
    let (digits, radix) = match rest.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (rest, 10),
    };
    let n: String = digits
        .chars()
        .take_while(|c| c.is_digit(radix))
        .take(10)
        .collect();
    let code = u32::from_str_radix(&n, radix).ok()?;
    let shown = if radix == 16 { format!("0x{n}") } else { n };
    let name = esp_tls_code(code)?;
    Some(format!(
        "{OPEN_CODED}Failed to open a new connection: {shown}`, 0x{code:x}, {name})"
    ))
}

/// An esp-tls error code's name and what it means (`0x8006`: the connection timed out).
fn esp_tls_code(code: u32) -> Option<&'static str> {
    Some(match code {
        0x8001 => "ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME: the DNS lookup of the server failed",
        0x8002 => "ESP_ERR_ESP_TLS_CANNOT_CREATE_SOCKET: no socket could be created",
        0x8003 => {
            "ESP_ERR_ESP_TLS_UNSUPPORTED_PROTOCOL_FAMILY: the address family is not supported"
        }
        0x8004 => {
            "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST: the TCP connection to the server failed \
             (refused, or no route)"
        }
        0x8005 => "ESP_ERR_ESP_TLS_SOCKET_SETOPT_FAILED: a socket option could not be set",
        0x8006 => {
            "ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT: the TCP connection to the server timed out \
             (the server or the network did not answer)"
        }
        0x8008 => "ESP_ERR_ESP_TLS_TCP_CLOSED_FIN: the server closed the connection",
        0x801a => "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED: the TLS handshake failed",
        _ => return None,
    })
}

/// The esp-mqtt and esp_http_client examples' report of the esp-tls error behind an
/// `MQTT_EVENT_ERROR` or a failed perform: `Last error code reported from esp-tls: 0x8006`,
/// `Last error reported from esp-tls: 0x8008`; 0 (no esp-tls error) says nothing.
fn reported_code(lower: &str) -> Option<String> {
    let i = lower.find("reported from esp-tls:")?;
    let rest = lower[i + 22..].trim_start();
    let hex = rest.strip_prefix("0x")?;
    let n: String = hex
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(8)
        .collect();
    let code = u32::from_str_radix(&n, 16).ok().filter(|&c| c != 0)?;
    let name = esp_tls_code(code).unwrap_or("an esp-tls error code");
    Some(format!(
        "the app reports the esp-tls error behind the failure: 0x{n} ({name})"
    ))
}

/// How the explanation of the TLS stack's own error, as the esp-mqtt examples report it,
/// starts: the reason adds it to the esp-tls error it follows.
pub(crate) const STACK_ERROR: &str = "the TLS stack's error behind it: ";

/// The esp-mqtt examples' `Last tls stack error number: 0x7f00`: mbedTLS's code, without its
/// sign (-0x7F00, SSL_ALLOC_FAILED); 0 says nothing.
fn stack_error(lower: &str) -> Option<i32> {
    let i = lower.find("tls stack error number:")?;
    let hex = lower[i + 23..].trim_start().strip_prefix("0x")?;
    let n: String = hex
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(6)
        .collect();
    let code = i32::from_str_radix(&n, 16).ok().filter(|&c| c != 0)?;
    Some(-code)
}

/// The host of a failed DNS lookup as arduino-esp32 (`hostByName(): DNS Failed for HOST`, 3.x:
/// `DNS Failed for 'HOST' with error '-54'`) and the ESP8266 core (`[hostByName] Host: HOST
/// lookup error: -5!`) print it; `a host name` when the line names none. With it, the log's own
/// words for the failure, which users search for.
fn dns_failure(lower: &str) -> Option<(String, &'static str)> {
    let name = |rest: &str| {
        let rest = rest.trim_start();
        let host = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split('\'').next().unwrap_or(""),
            None => rest.split_whitespace().next().unwrap_or(""),
        };
        if host.is_empty() {
            "a host name".to_owned()
        } else {
            host.to_owned()
        }
    };
    if let Some(i) = lower.find("dns failed for") {
        return Some((name(&lower[i + 14..]), "DNS Failed"));
    }
    if lower.contains("lookup error") && lower.contains("hostbyname") {
        let host = lower
            .find("host: ")
            .map(|i| &lower[i + 6..])
            .and_then(|r| r.split(" lookup error").next())
            .map(name);
        return Some((
            host.unwrap_or_else(|| "a host name".to_owned()),
            "lookup error",
        ));
    }
    if lower.contains("dns lookup failed") {
        return Some(("a host name".to_owned(), "DNS lookup failed"));
    }
    lower
        .contains("dns failed")
        .then(|| ("a host name".to_owned(), "DNS Failed"))
}

/// The resolver's code as the line printed it, quoted with lwIP's name for it:
/// `getaddrinfo() returns 202` (esp-tls), `DNS lookup failed err=202` (the IDF examples,
/// tcp_transport); empty when the line has none.
fn dns_code(lower: &str) -> String {
    let said = ["getaddrinfo() returns ", "err="].iter().find_map(|key| {
        let at = lower.find(key)?;
        let rest = &lower[at + key.len()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(rest.len());
        let code = rest[..digits].parse::<i32>().ok()?;
        Some((lower.get(at..at + key.len() + digits)?, code))
    });
    match said {
        Some((said, code)) => match eai_name(code.abs()) {
            Some(name) => format!(" (`{said}`: lwIP's {name}{})", eai_meaning(code.abs())),
            None => format!(" (`{said}`)"),
        },
        None => String::new(),
    }
}

/// lwIP's `getaddrinfo` error codes (lwip/netdb.h), which ESP-IDF and MicroPython print.
pub(crate) fn eai_name(code: i32) -> Option<&'static str> {
    Some(match code {
        200 => "EAI_NONAME",
        201 => "EAI_SERVICE",
        202 => "EAI_FAIL",
        203 => "EAI_MEMORY",
        204 => "EAI_FAMILY",
        _ => return None,
    })
}

fn eai_meaning(code: i32) -> &'static str {
    match code {
        // lwIP returns EAI_FAIL for every failed lookup: no such name, or no DNS server answered.
        202 => ", the lookup failed: no such name, or no DNS server answered",
        203 => ", out of memory",
        _ => "",
    }
}

/// The number after `key` in `lower` (`errno=119`, `error 104`).
pub(crate) fn number_after(lower: &str, key: &str) -> Option<i32> {
    let i = lower.find(key)?;
    lower[i + key.len()..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .next()
        .and_then(|n| n.parse::<i32>().ok())
}

/// What a socket's strerror (newlib's words, as ESP-IDF prints them) says about the server.
fn strerror_meaning(what: &str) -> &'static str {
    match what.trim_end_matches('.') {
        "host is unreachable" | "network is unreachable" => {
            " (the board has no route to the server: a wrong address, or the server or its \
             network is down)"
        }
        "connection refused" => " (nothing listens on that port)",
        "connection reset by peer" => " (the server reset the connection)",
        "connection timed out" => " (the server did not answer in time)",
        "software caused connection abort" => " (the board's own stack aborted the connection)",
        _ => "",
    }
}

/// What an lwIP errno means for a TCP connection.
pub(crate) fn tcp_errno(errno: Option<i32>) -> String {
    match errno {
        Some(104) => "the server reset the TCP connection (errno 104)".to_owned(),
        Some(111) => {
            "the server refused the TCP connection, nothing listens on that port (errno 111)"
                .to_owned()
        }
        // The chips' newlib numbers errno as BSD does, not as Linux: 113 is ECONNABORTED
        // (Linux's EHOSTUNREACH), which lwIP gives a connect the server never answered.
        Some(113) => {
            "the TCP connect was aborted (errno 113, ECONNABORTED: lwIP's word for a connect \
             the server never answered): it is down, unreachable from the board's network, or \
             a firewall drops the connection"
                .to_owned()
        }
        Some(118) => {
            "the host is unreachable (errno 118, EHOSTUNREACH): no route to it from the board's \
             network (gateway, subnet?)"
                .to_owned()
        }
        Some(119) => {
            "the operation was still in progress when it gave up (errno 119, EINPROGRESS: \
             usually a timeout)"
                .to_owned()
        }
        Some(128) => "the socket was not connected (errno 128)".to_owned(),
        Some(e) => format!("the TCP connection failed (errno {e})"),
        None => "the TCP connection failed".to_owned(),
    }
}

fn wolfssl(lower: &str, found: &Found) -> Option<Finding> {
    let code = if lower.contains("no ca signer to verify with") {
        Some(-188)
    } else if let Some(i) = lower.find("error occurred, error = ") {
        lower[i + 24..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse::<i32>().ok())
            .map(|n| -n)
    } else {
        None
    }?;
    let (name, about, why) = match code {
        -188 => (
            "ASN_NO_SIGNER_E",
            About::Certificate,
            "no CA it was given signed the server's certificate: load the root (or \
             intermediate) the server really chains to",
        ),
        -150 => (
            "ASN_AFTER_DATE_E",
            About::Certificate,
            "the certificate has expired, or the board's clock is wrong (set it with SNTP first)",
        ),
        -151 => (
            "ASN_BEFORE_DATE_E",
            About::Certificate,
            "the certificate is not yet valid: the board's clock is probably not set (SNTP)",
        ),
        -155 => (
            "ASN_SIG_CONFIRM_E",
            About::Certificate,
            "a signature in the chain did not verify",
        ),
        -308 => (
            "SOCKET_ERROR_E",
            About::Connection,
            "the socket failed under the handshake",
        ),
        -313 => (
            "FATAL_ERROR",
            About::Connection,
            "the server sent a fatal alert and refused the handshake",
        ),
        -322 => (
            "DOMAIN_NAME_MISMATCH",
            About::Certificate,
            "the certificate is not for the host name the firmware connected to",
        ),
        _ => ("error", About::Connection, "see the wolfSSL error list"),
    };
    found(
        "wolfssl",
        about,
        Weight::Fails,
        format!("{name} ({code}): {why}"),
        Some(code),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tlsdiag::{self, source_and_words};

    #[test]
    fn the_tls_stacks_own_error_number_is_mbedtls_code() {
        assert_eq!(
            super::stack_error("e (1) mqtt.idf: last tls stack error number: 0x7f00"),
            Some(-0x7f00)
        );
        assert_eq!(super::stack_error("last tls stack error number: 0x0"), None);
        assert_eq!(
            super::stack_error("last tls stack error number: none"),
            None
        );
    }

    #[test]
    fn the_apps_report_of_the_esp_tls_code_and_a_stalled_write_are_named() {
        let why = super::reported_code(
            "e (66075) be_commmanager: last error code reported from esp-tls: 0x8006: esp_err_esp_tls_connection_timeout",
        )
        .unwrap_or_else(|| unreachable!());
        assert!(
            why.contains("0x8006 (ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT"),
            "{why}"
        );
        let why =
            super::reported_code("e (1) mqtt_example: last error reported from esp-tls: 0x801a")
                .unwrap_or_else(|| unreachable!());
        assert!(why.contains("HANDSHAKE_FAILED"), "{why}");
        // No error, or no code at all.
        for line in [
            "e (66085) mqtt_example: last error code reported from esp-tls: 0x0",
            "e (1) mqtt_example: last error reported from esp-tls: none",
            "e (66085) mqtt_example: last tls stack error number: 0x0",
        ] {
            assert_eq!(super::reported_code(line), None, "{line}");
        }
        let f = super::connection(
            "e (1773301) mqtt_client: writing didn't complete in specified timeout: errno=119",
            &|_, _, _, why, _| {
                assert!(why.contains("timeout: errno=119`"), "{why}");
                assert!(why.contains("stalled") && !why.contains("opening"), "{why}");
                None
            },
        );
        assert!(f.is_none());
    }

    #[test]
    fn a_failed_connect_quotes_its_esp_tls_code_as_printed() {
        let why = super::open_connection_code(
            "e (1483441) transport_base: failed to open a new connection: 32774",
        )
        .unwrap_or_else(|| unreachable!());
        assert!(why.contains("connection: 32774`"), "{why}");
        assert!(
            why.contains("0x8006, ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT"),
            "{why}"
        );
        let why =
            super::open_connection_code("transport_base: failed to open a new connection: 0x8004")
                .unwrap_or_else(|| unreachable!());
        assert!(why.contains("FAILED_CONNECT_TO_HOST"), "{why}");
        // No code, a code esp-tls does not define, or a number that overflows.
        for line in [
            "e (9510) esp-tls: failed to open new connection",
            "transport_base: failed to open a new connection: 12",
            "failed to open a new connection: 99999999999999999999",
        ] {
            assert_eq!(super::open_connection_code(line), None, "{line}");
        }
    }

    #[test]
    fn each_line_names_its_own_library() {
        for (line, source, word) in [
            (
                "E (9510) esp-tls: [sock=55] select() timeout",
                "esp-tls",
                "timed out",
            ),
            (
                "E (9510) HTTP_CLIENT: Connection failed, sock < 0",
                "esp-tls",
                "TCP or TLS",
            ),
            // The reason quotes the component's own words.
            (
                "E (21529) HTTP_CLIENT: Connection failed, sock < 0",
                "esp-tls",
                "connection failed (`Connection failed, sock < 0`",
            ),
            (
                "W (20103) esp-tls: Failed to open new connection in specified timeout",
                "esp-tls",
                "timed out opening the connection (`Failed to open new connection in specified timeout`",
            ),
            (
                "E (1) esp-tls: Failed to connect to host (errno 111)",
                "esp-tls",
                "refused",
            ),
            (
                "wolfSSL error occurred, error = 188 line:9095 file:x",
                "wolfssl",
                "ASN_NO_SIGNER_E",
            ),
            ("Alert: handshake failure", "axtls", "cipher suite"),
            (
                "[HTTPS:E] SSL_accept failed. Aborting handshake. FID=55",
                "tls-server",
                "HTTPS server",
            ),
            (
                "E (51230) esp_https_server: esp_tls_create_server_session failed",
                "tls-server",
                "rejected",
            ),
            (
                "E (1097) esp-tls-mbedtls: No server verification option set in esp_tls_cfg_t structure.",
                "mbedtls",
                "verification option",
            ),
            // esp-tls's verify failure names its backend in its tag.
            (
                "I (9653513) esp-tls-mbedtls: Failed to verify peer certificate!",
                "mbedtls",
                "peer) certificate",
            ),
            (
                "E (4530) esp-tls-wolfssl: Failed to verify peer certificate , returned -188",
                "wolfssl",
                "peer) certificate",
            ),
        ] {
            let (s, e) = source_and_words(line);
            assert_eq!(s, source, "{line}");
            assert!(e.contains(word), "{line}: {e}");
        }
    }

    #[test]
    fn dns_failures_of_both_cores_name_the_host() {
        for (line, host) in [
            (
                "[E][WiFiGeneric.cpp:652] hostByName(): DNS Failed for www.example.org",
                "www.example.org",
            ),
            (
                "[130777][E][NetworkManager.cpp:131] hostByName(): DNS Failed for 'ocpp.example.net' \
                 with error '-54'",
                "ocpp.example.net",
            ),
            (
                "[hostByName] Host: example.com lookup error: -5!",
                "example.com",
            ),
        ] {
            let (s, e) = source_and_words(line);
            assert_eq!(s, super::CONNECTION, "{line}");
            assert!(
                e.contains(&format!("DNS lookup of {host} failed")),
                "{line}: {e}"
            );
        }
        // The log's own words stay in the reason, also when the name printed empty.
        for (line, said) in [
            (
                "[E][WiFiGeneric.cpp:654] hostByName(): DNS Failed for",
                "(`DNS Failed`)",
            ),
            (
                "[hostByName] Host: example.com lookup error: -5!",
                "(`lookup error`)",
            ),
            (
                "E (5210) example: DNS lookup failed err=202",
                "(`DNS lookup failed`)",
            ),
        ] {
            let (_, e) = source_and_words(line);
            assert!(e.contains(said), "{line}: {e}");
        }
        // Resolving, and clearing the cache, are not failures.
        for line in [
            "[  6246][E][NetworkManager.cpp:83] hostByName(): Clearing DNS cache",
            "[hostByName] Host: example.com IP: 93.184.216.34",
        ] {
            assert_eq!(
                tlsdiag::classify(1, line, &line.to_ascii_lowercase()),
                None,
                "{line}"
            );
        }
    }

    #[test]
    fn wolfssl_return_codes_are_not_read_as_mbedtls() {
        let line = "wolfSSL Leaving ProcessPeerCerts, return -188";
        assert_eq!(tlsdiag::classify(1, line, &line.to_ascii_lowercase()), None);
    }

    #[test]
    fn socket_errnos_are_newlibs_not_linuxs() {
        assert!(super::tcp_errno(Some(113)).contains("ECONNABORTED"));
        assert!(super::tcp_errno(Some(118)).contains("EHOSTUNREACH"));
        assert!(super::tcp_errno(Some(104)).contains("reset"));
    }

    #[test]
    fn wifi_client_and_mqtt_client_connection_errors() {
        for (line, word) in [
            (
                "[E][WiFiClient.cpp:98] connect(): lwip_connect_r: 113",
                "ECONNABORTED",
            ),
            (
                "[E][WiFiClient.cpp:220] connect(): lwip_connect",
                "WiFiClient",
            ),
            (
                "[  5001][E][WiFiClient.cpp:275] connect(): connect on fd 54, errno: 104, \"Connection reset by peer\"",
                "reset",
            ),
            (
                "E (302794) MQTT_CLIENT: mqtt_message_receive: transport_read() error: errno=119",
                "MQTT",
            ),
            (
                "E (391663) MQTT_CLIENT: Error transport connect",
                "broker (`error transport connect`)",
            ),
            (
                "mqtt_writeE (35372) MQTT_CLIENT: Error transport connect",
                "`error transport connect`",
            ),
            (
                "E (5571) MQTT_CLIENT: Invalid MSG_TYPE response: 0, read_len: 16",
                "not a CONNACK",
            ),
            (
                "E (8000) mqtt_client: Connection refused, not authorized",
                "refused the CONNECT",
            ),
            (
                "E (9000) mqtt_client: Error write data or timeout, written len = -1, errno=104",
                "could not send",
            ),
            (
                "E (120551) mqtt_client: No PING_RESP, disconnected",
                "keep-alive",
            ),
        ] {
            let l = line.to_ascii_lowercase();
            let f = tlsdiag::classify(1, line, &l).and_then(|f| f.diag);
            let e = f.map(|d| d.explanation).unwrap_or_default();
            assert!(e.contains(word), "{line}: {e}");
        }
    }

    #[test]
    fn esp_tls_connect_errors_carry_the_sockets_words() {
        for (line, word) in [
            (
                "E (1621) esp-tls: [sock=54] connect() error: Host is unreachable",
                "no route to the server",
            ),
            (
                "E (5111) esp-tls: [sock=48] delayed connect error: Connection reset by peer",
                "reset the connection",
            ),
            (
                "E (2090) esp-tls: [sock=54] connect() error: Connection refused",
                "nothing listens",
            ),
        ] {
            let (s, e) = source_and_words(line);
            assert_eq!(s, super::CONNECTION, "{line}");
            assert!(e.contains(word), "{line}: {e}");
        }
        // The tag cut before its message says nothing.
        assert!(tlsdiag::classify(1, "E (1631) esp-tls", "e (1631) esp-tls").is_none());
    }
}
