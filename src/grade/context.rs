//! What a log says about where it runs, for advice that fits it: the chip family and framework
//! (so a failed connection on an ESP32 is not told to turn on the ESP8266 core's `BSSL:` lines),
//! and the name of the server the firmware talks to (so the reason names it, not "the server").

/// The chip and framework a log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// ESP8266 Arduino core (BearSSL, axTLS).
    Esp8266,
    /// arduino-esp32 (`[  1234][E][ssl_client.cpp:37] …`, mbedTLS under WiFiClientSecure).
    Esp32Arduino,
    /// An ESP-IDF app (`E (9510) esp-tls: …`), or ESP8266_RTOS_SDK, which logs the same way.
    EspIdf,
    /// An ESP32-family chip, framework not known yet.
    Esp32,
}

impl Family {
    /// The family one line shows, if it shows one.
    pub(crate) fn hint(text: &str) -> Option<Family> {
        let t = text.trim_start();
        let arduino_esp32 = t.starts_with('[')
            && ["][E][", "][W][", "][I][", "][D][", "][V]["]
                .iter()
                .any(|k| t.contains(k))
            || ["[E][", "[W][", "[I][", "[D][", "[V]["]
                .iter()
                .any(|k| t.starts_with(k) && t.contains(".cpp:"));
        if arduino_esp32 {
            return Some(Family::Esp32Arduino);
        }
        if idf_log_line(t) {
            return Some(Family::EspIdf);
        }
        if t.starts_with("BSSL:")
            || t.contains("ets Jan  8 2013")
            || t.contains("rst cause:")
            || t.starts_with("SDK:")
            || t.starts_with(":ref ")
            || t.starts_with("[hostByName]")
            || t.starts_with("Exception (")
            || t.starts_with("pm open,type:")
        {
            return Some(Family::Esp8266);
        }
        if t.contains("ets Jun  8 2016")
            || t.starts_with("ESP-ROM:esp32")
            || t.contains("Guru Meditation Error")
            || t.starts_with("rst:0x")
        {
            return Some(Family::Esp32);
        }
        None
    }

    /// What the family learnt so far becomes with `next`: the first chip seen stays; a framework
    /// named later refines it (an arduino-esp32 sketch also prints ESP-IDF's own log lines).
    pub(crate) fn refine(now: Option<Family>, next: Family) -> Family {
        match (now, next) {
            (None, n) => n,
            (Some(Family::Esp32 | Family::EspIdf), Family::Esp32Arduino) => Family::Esp32Arduino,
            (Some(Family::Esp32), Family::EspIdf) => Family::EspIdf,
            (Some(f), _) => f,
        }
    }

    /// How to make the firmware say why its connection failed.
    pub(crate) fn debug_advice(family: Option<Family>) -> &'static str {
        match family {
            Some(Family::Esp8266) => {
                "Build with the SSL debug level (Tools > Debug level: SSL) to get the BSSL: lines \
                 that say why"
            }
            Some(Family::Esp32Arduino | Family::Esp32) => {
                "Build with Core Debug Level Verbose (-DCORE_DEBUG_LEVEL=5) to get WiFiClient's \
                 and ssl_client's [E] lines that say why"
            }
            Some(Family::EspIdf) => {
                "Set the log level of esp-tls and transport_base to debug to see why"
            }
            None => {
                "Turn on the network library's debug output to see why (ESP8266 core: Debug level \
                 SSL; arduino-esp32: Core Debug Level Verbose; ESP-IDF: esp-tls at debug)"
            }
        }
    }
}

/// ESP-IDF's log format: `E (9510) esp-tls: …`, `I (12:00:01.123) wifi: …`.
fn idf_log_line(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() > 5
        && matches!(b[0], b'E' | b'W' | b'I' | b'D' | b'V')
        && b[1] == b' '
        && b[2] == b'('
        && t[3..].split_once(')').is_some_and(|(stamp, rest)| {
            !stamp.is_empty()
                && stamp
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b':' || c == b'.')
                && rest.starts_with(' ')
        })
}

/// The server a line names, as firmware and libraries print it: `connecting to api.github.com`,
/// `Connecting to 192.168.1.210`, HTTPClient's debug `host: example.com port: 443`, ESP8266's
/// `[hostByName] request IP for: example.com`, esp-tls `host:example.com: strlen 11`, and a
/// printed request's `Host: example.com:80`. A name without a dot (a WiFi SSID, `homecontrol`)
/// is not taken: it could be the network's.
pub(crate) fn host_named(text: &str, lower: &str) -> Option<String> {
    let keys = [
        "connecting to ",
        "request ip for: ",
        "] host: ",
        "(): host: ",
        "host:",
        "host=",
    ];
    let url = ["connect", "url", "uri", "begin"]
        .iter()
        .any(|k| lower.contains(k))
        .then(|| {
            [
                "wss://", "ws://", "https://", "http://", "mqtts://", "mqtt://",
            ]
            .iter()
            .find_map(|scheme| lower.find(scheme).map(|i| i + scheme.len()))
        })
        .flatten();
    let at = match url {
        Some(at) => at,
        None => {
            let (key, at) = keys
                .iter()
                .find_map(|k| lower.find(k).map(|i| (*k, i + k.len())))?;
            if key == "host:"
                && !(lower.trim_start().starts_with("host:") || lower.contains("esp-tls"))
            {
                return None;
            }
            at
        }
    };
    let rest = text[at..].trim_start();
    // `user:password@host` in a URL.
    let rest = match (
        url,
        rest.split(['/', ' ']).next().and_then(|a| a.rfind('@')),
    ) {
        (Some(_), Some(i)) => &rest[i + 1..],
        _ => rest,
    };
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let word = word.trim_end_matches('.');
    let labels: Vec<&str> = word.split('.').collect();
    let plausible = labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty())
        && labels.last().is_some_and(|tld| {
            tld.chars().all(|c| c.is_ascii_alphabetic())
                || word.parse::<std::net::Ipv4Addr>().is_ok()
        });
    plausible.then(|| word.to_owned())
}

/// The board's own address, as the Wi-Fi code and sketches print it: `IP address: 192.168.1.5`,
/// ESP-IDF's `sta ip: 192.168.1.5, mask: …` and `got ip:192.168.1.5`, the ESP8266 SDK's
/// `ip:192.168.1.5,mask:…`, `Local IP: 192.168.1.5`.
pub(crate) fn own_ip(lower: &str) -> Option<String> {
    // MicroPython's `ifconfig()` tuple: `('0.0.0.0', '0.0.0.0', '255.255.255.255', '0.0.0.0')`.
    if let Some(rest) = lower.trim().strip_prefix("('") {
        let quads = rest.matches("', '").count() == 3 && rest.trim_end().ends_with("')");
        let first = rest.split('\'').next().unwrap_or("");
        return (quads && first.parse::<std::net::Ipv4Addr>().is_ok()).then(|| first.to_owned());
    }
    let at = [
        "ip address:",
        "sta ip:",
        "got ip:",
        "local ip:",
        "local ip :",
        "localip:",
        "ip:",
    ]
    .iter()
    .find_map(|k| {
        let i = lower.find(k)?;
        // `ip:` alone only at a word's start (not `sta ip:` again, nor `wifi ip:` forms).
        let starts_word = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
        starts_word.then_some(i + k.len())
    })?;
    let word: String = lower[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    word.parse::<std::net::Ipv4Addr>().ok().map(|_| word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boards_own_address() {
        let ip = |l: &str| own_ip(&l.to_ascii_lowercase());
        assert_eq!(ip("Local IP : 0.0.0.0").as_deref(), Some("0.0.0.0"));
        assert_eq!(
            ip("('10.0.0.5', '255.255.255.0', '10.0.0.1', '8.8.8.8')").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(ip("('a', 'b')"), None);
        assert_eq!(
            ip("IP address: 192.168.1.5").as_deref(),
            Some("192.168.1.5")
        );
        assert_eq!(
            ip("I (4312) esp_netif_handlers: sta ip: 10.0.0.7, mask: 255.255.255.0").as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(
            ip("ip:192.168.8.113,mask:255.255.255.0,gw:192.168.8.1").as_deref(),
            Some("192.168.8.113")
        );
        assert_eq!(ip("Host: 192.168.1.5"), None);
        assert_eq!(ip("IP address: "), None);
    }

    #[test]
    fn each_framework_gets_its_own_debug_advice() {
        let family = |lines: &[&str]| {
            lines
                .iter()
                .filter_map(|l| Family::hint(l))
                .fold(None, |f, n| Some(Family::refine(f, n)))
        };
        let esp8266 = family(&["BSSL:_connectSSL: start connection", "connection failed"]);
        assert!(Family::debug_advice(esp8266).contains("BSSL:"));
        let esp32 = family(&[
            "ets Jun  8 2016 00:22:57",
            "I (29) boot: ESP-IDF v4.4 2nd stage bootloader",
            "[  5001][E][WiFiClient.cpp:275] connect(): connect on fd 54, errno: 104",
        ]);
        assert_eq!(esp32, Some(Family::Esp32Arduino));
        assert!(!Family::debug_advice(esp32).contains("BSSL"));
        let idf = family(&["E (9510) esp-tls: Failed to open new connection"]);
        assert!(Family::debug_advice(idf).contains("esp-tls"));
        assert!(Family::debug_advice(None).contains("ESP8266 core"));
    }

    #[test]
    fn the_server_a_line_names() {
        for (line, host) in [
            (
                "connecting to api.monitec.systems",
                Some("api.monitec.systems"),
            ),
            ("Connecting to 192.168.1.210", Some("192.168.1.210")),
            (
                "[hostByName] request IP for: sockets.streamlabs.com",
                Some("sockets.streamlabs.com"),
            ),
            (
                "[V][HTTPClient.cpp:252] beginInternal(): host: example.com port: 443 url: /",
                Some("example.com"),
            ),
            (
                "D (129256) esp-tls: host:149.129.44.205: strlen 14",
                Some("149.129.44.205"),
            ),
            ("Host: echo.websocket.org:80", Some("echo.websocket.org")),
            (
                "Connecting to ws://192.168.31.99:8090/",
                Some("192.168.31.99"),
            ),
            (
                "I (5) HTTP_CLIENT: url=https://api.example.com/v1/x begin",
                Some("api.example.com"),
            ),
            ("Connecting to homeNet", None),
            ("Connecting to Wifi ...", None),
            ("[hostByName] Host: homecontrol IP: 192.168.178.50", None),
        ] {
            let got = host_named(line, &line.to_ascii_lowercase());
            assert_eq!(got.as_deref(), host, "{line}");
        }
    }
}
