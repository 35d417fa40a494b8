//! How a TLS or connection failure the libraries reported becomes the run's verdict and its
//! reason: which diagnostic leads, which stage failed, and the words that name the library.

use super::engine::{Engine, Finality};
use super::{Grader, ProfileState, Stage, Verdict, clientdiag, libdiag, tlsdiag};

impl Grader {
    pub(super) fn on_tls(&mut self, f: tlsdiag::Finding) {
        if let Some(fp) = f.expected_fp {
            self.core.expected_fingerprint = Some(fp);
        }
        if let Some(fp) = f.received_fp {
            self.core.suggested_fingerprint = Some(fp);
        }
        if f.cert
            && let ProfileState::Https(s) = &mut self.state
        {
            s.cert_problem = true;
            if self.core.reached(Stage::TlsConnect) || self.core.reached(Stage::Wifi) {
                self.core.enter(Stage::Certificate, None);
            }
        }
        if let Some(d) = f.diag {
            let sharper = tlsdiag::blames_clock(&d)
                && !self
                    .core
                    .primary
                    .as_ref()
                    .is_some_and(tlsdiag::blames_clock);
            if f.error
                && (self.core.primary.is_none() || (f.cert && !self.primary_is_cert) || sharper)
            {
                self.core.primary = Some(d.clone());
                self.primary_is_cert = f.cert;
            }
            self.core.diagnose(d);
        }
        if f.error
            || (f.cert
                && self
                    .core
                    .outcome
                    .as_ref()
                    .is_some_and(|o| o.verdict == Verdict::Fault))
        {
            if f.error && !f.cert {
                // A failed connection (DNS, TCP, TLS) means the firmware got as far as
                // connecting: the stages before it were passed over, not where it failed.
                self.core.enter(Stage::TlsConnect, None);
            }
            let stage = if f.cert && self.core.index(Stage::Certificate).is_some() {
                Stage::Certificate.name().to_owned()
            } else {
                self.core.current_name().to_owned()
            };
            if let Some(reason) = tls_reason(&self.core) {
                // The sketch says `connection failed` next; wait a little for it and the rest of
                // BearSSL's lines (the received fingerprint comes after the mismatch line).
                self.core.propose_failed_attempt(
                    Some(&stage),
                    reason,
                    Finality::AfterLines(TLS_WAIT),
                );
            }
        }
    }
}

/// Lines to wait after a TLS failure for the sketch's `connection failed`, the rest of BearSSL's
/// lines (the received fingerprint comes after the mismatch line), or a crash that follows it
/// (MicroPython's modussl aborting on the next attempt).
pub(super) const TLS_WAIT: u32 = 20;

/// Why a TLS connection failed, from the diagnostics so far.
pub(crate) fn tls_reason(core: &Engine) -> Option<String> {
    let host = core.host.as_deref().unwrap_or("the server");
    if let (Some(exp), Some(got)) = (&core.expected_fingerprint, &core.suggested_fingerprint) {
        let check = match &core.host {
            Some(h) => format!("`espcheck fingerprint {h}`"),
            None => "`espcheck fingerprint HOST`".to_owned(),
        };
        return Some(format!(
            "fingerprint mismatch: {host}'s leaf certificate has SHA-1 {got}, not the pinned {exp}; \
             the server reissued its certificate. Pin {got} (check it first with {check}), or pin \
             a CA instead"
        ));
    }
    let primary = core.primary.as_ref()?;
    let reason = primary_reason(host, primary);
    let reason = match handshake_returned(core) {
        Some(said) if !primary.text.contains(said) => format!("{reason} (the log: `{said}`)"),
        _ => reason,
    };
    let reason = match top_layer(core, primary) {
        Some(top) => format!("{reason} ({top})"),
        None => reason,
    };
    // A later connect that printed its esp-tls code says how the last attempt ended.
    // Or a later attempt that failed with another code of the same library (MicroPython's
    // `mbedtls_ssl_handshake error: -7280`, then at the log's end `-4290`).
    let reason = match core.diagnostics.iter().rev().find(|d| {
        d.line > primary.line
            && d.explanation.starts_with(libdiag::OPEN_CODED)
            && !primary.explanation.starts_with(libdiag::OPEN_CODED)
    }) {
        Some(last) => format!(
            "{reason}; the last attempt (line {}): {}",
            last.line, last.explanation
        ),
        None => match core.diagnostics.iter().rev().find(|d| {
            d.line > primary.line + SAME_FAILURE
                && d.source == primary.source
                && d.code.is_some()
                && primary.code.is_some()
                && d.code != primary.code
        }) {
            Some(last) => format!(
                "{reason}; the last attempt (line {}) failed otherwise: {}",
                last.line, last.explanation
            ),
            None => reason,
        },
    };
    // HTTPClient's own error lines after the cause (`returnError(): error(-1): connection
    // refused`): what the firmware printed, quoted, so the user finds it in the reason.
    let echoes: Vec<String> = core
        .diagnostics
        .iter()
        .filter(|d| d.source == clientdiag::HTTPCLIENT && d.line > primary.line)
        .take(2)
        .map(|d| {
            let t = d.text.as_str();
            let said = t.find("returnError(): ").map_or(t, |i| &t[i + 15..]);
            format!("`{}`", said.trim())
        })
        .collect();
    let reason = if echoes.is_empty() {
        reason
    } else {
        format!("{reason}; then HTTPClient printed {}", echoes.join(", "))
    };
    // The TLS stack's own code after the esp-tls error the app reported first.
    let reason = match same_failure(core, primary)
        .find(|d| d.explanation.starts_with(libdiag::STACK_ERROR))
    {
        Some(d) => format!("{reason}; {}", d.explanation),
        None => reason,
    };
    // esp-mqtt's own summary of the same failure (`MQTT_CLIENT: MQTT connect failed`).
    let reason = match same_failure(core, primary).find(|d| {
        d.text
            .to_ascii_lowercase()
            .contains("mqtt_client: mqtt connect failed")
    }) {
        Some(_) => format!("{reason}; then esp-mqtt said `MQTT connect failed`"),
        None => reason,
    };
    // The MQTT client's own failure line for the same connect (Tasmota's `MQT: Connect failed
    // to …:8883, rc -2` after its `TLS connection error`): the code its state machine shows.
    let mqtt = same_failure(core, primary).find(|d| {
        super::mqtt::failure(&d.text.to_ascii_lowercase()).is_some()
            && !primary.text.contains(d.text.trim())
    });
    Some(match mqtt {
        Some(d) => format!(
            "{reason}; then the MQTT client reported `{}`",
            super::https::shorten(d.text.trim(), 160)
        ),
        None => reason,
    })
}

fn primary_reason(host: &str, d: &super::model::Diagnostic) -> String {
    match library(&d.source) {
        // A failed DNS lookup names its host already: `connection to X failed: the DNS lookup
        // of X failed` says it twice.
        _ if d.source == libdiag::CONNECTION && d.explanation.starts_with("the DNS lookup of ") => {
            d.explanation.clone()
        }
        _ if d.source == libdiag::CONNECTION || d.source == clientdiag::HTTPCLIENT => {
            format!("connection to {host} failed: {}", d.explanation)
        }
        _ if d.source == libdiag::SERVER => format!("TLS failed: {}", d.explanation),
        _ if d.source == clientdiag::BROKE => {
            format!("the connection to {host} broke: {}", d.explanation)
        }
        Some(lib) => format!("TLS to {host} failed ({lib}): {}", d.explanation),
        None => format!("TLS to {host} failed: {}", d.explanation),
    }
}

/// Lines after the cause that are still the same failure, told by the layers above it (esp-tls,
/// transport, esp_http_client, then esp_https_ota or the app): ESP-IDF logs them within a few
/// lines of each other.
const SAME_FAILURE: usize = 8;

/// The diagnostics after the cause that are still its failure (within [`SAME_FAILURE`] lines).
fn same_failure<'a>(
    core: &'a Engine,
    primary: &'a super::model::Diagnostic,
) -> impl DoubleEndedIterator<Item = &'a super::model::Diagnostic> {
    core.diagnostics
        .iter()
        .filter(|d| d.line > primary.line && d.line <= primary.line + SAME_FAILURE)
}

/// The top layer's error name for the failure the cause explains: the last `ESP_ERR_…` name in
/// the lines that follow it (`esp_https_ota: Failed to open HTTP connection: ESP_ERR_HTTP_CONNECT`
/// → `esp_https_ota: ESP_ERR_HTTP_CONNECT`), with the tag of the component that printed it, so
/// the reason has the name the app's own error handling sees.
fn top_layer(core: &Engine, primary: &super::model::Diagnostic) -> Option<String> {
    same_failure(core, primary)
        .filter_map(|d| {
            let name = esp_err_name(&d.text)?;
            let body = super::idf::log_body(&d.text)?;
            let (tag, _) = body.split_once(':')?;
            let name = match printed_code(&d.text, name) {
                Some(code) => format!("{code} {name}"),
                None => name.to_owned(),
            };
            Some((tag.trim().to_owned(), name))
        })
        .next_back()
        .filter(|(_, name)| {
            !primary
                .text
                .contains(name.rsplit(' ').next().unwrap_or(name))
        })
        .map(|(tag, name)| format!("{tag}: {name}"))
}

/// The code printed in front of an `esp_err_t` name (esp-tls's `returned [0x8017]
/// (ESP_ERR_MBEDTLS_SSL_SETUP_FAILED)`, the esp-mqtt example's `Last error code reported from
/// esp-tls: 0x8006: ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT`): the number users search for.
fn printed_code<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let before = text[..text.find(name)?].trim_end();
    let code = match before.strip_suffix('(') {
        Some(b) => {
            let code = b.trim_end().strip_suffix(']')?;
            &code[code.rfind('[')? + 1..]
        }
        None => before.strip_suffix(':')?.rsplit(' ').next()?,
    };
    Some(code).filter(|c| c.starts_with("0x") && c.len() > 2)
}

/// The first `ESP_ERR_…` name in a line, as printed.
fn esp_err_name(text: &str) -> Option<&str> {
    let at = text.find("ESP_ERR_")?;
    let rest = &text[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|n| n.len() > "ESP_ERR_".len())
}

/// What esp-tls said its handshake returned (`mbedtls_ssl_handshake returned -0x3000`), as the
/// log printed it: the one code users search for, whichever line explains the failure best.
fn handshake_returned(core: &Engine) -> Option<&str> {
    const SAID: &str = "mbedtls_ssl_handshake returned ";
    core.diagnostics.iter().rev().find_map(|d| {
        let at = d.text.find(SAID)?;
        let rest = &d.text[at + SAID.len()..];
        let code = rest
            .split(|c: char| c.is_whitespace() || c == ',' || c == ')')
            .next()
            .filter(|c| c.starts_with('-') && c.len() > 1)?;
        d.text.get(at..at + SAID.len() + code.len())
    })
}

/// The TLS library a diagnostic's source names, spelled as its authors spell it.
fn library(source: &str) -> Option<&'static str> {
    match source {
        "mbedtls" => Some("mbedTLS"),
        "esp-x509-crt-bundle" => Some("mbedTLS, esp-x509-crt-bundle"),
        "bearssl" => Some("BearSSL"),
        "wolfssl" => Some("wolfSSL"),
        "axtls" => Some("axTLS"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{GradeConfig, Profile, grade_bytes};

    #[test]
    fn the_apps_report_of_the_esp_tls_code_names_it_with_its_number() {
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (66065) esp-tls: [sock=54] select() timeout\n\
              E (66065) esp-tls: Failed to open new connection\n\
              E (66065) TRANSPORT_BASE: Failed to open a new connection\n\
              E (66065) mqtt_client: Error transport connect\n\
              E (66075) app: Last error code reported from esp-tls: 0x8006: ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT\n\
              E (66085) app: Last tls stack error number: 0x0: ESP_OK\n",
        );
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(r.reason.contains("select() timeout"), "{}", r.reason);
        assert!(
            r.reason
                .contains("app: 0x8006 ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT"),
            "{}",
            r.reason
        );
        assert_eq!(super::printed_code("x: 0x: ESP_ERR_A", "ESP_ERR_A"), None);
        assert_eq!(super::printed_code("code: ESP_ERR_A", "ESP_ERR_A"), None);
    }

    #[test]
    fn a_bundle_failure_keeps_the_code_the_handshake_returned() {
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (2948) esp-x509-crt-bundle: PK verify failed with error FFFFBD70\n\
              E (2958) esp-x509-crt-bundle: Failed to verify certificate\n\
              E (2958) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x3000\n\
              I (2958) esp-tls-mbedtls: Failed to verify peer certificate!\n\
              E (2968) esp-tls: Failed to open new connection\n",
        );
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(r.reason.contains("esp-x509-crt-bundle"), "{}", r.reason);
        assert!(
            r.reason
                .contains("`mbedtls_ssl_handshake returned -0x3000`"),
            "{}",
            r.reason
        );
        // The handshake's own line leads: its code is not said twice.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (5234) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x7280\n\
              E (5240) esp-tls: Failed to open new connection\n",
        );
        assert_eq!(r.reason.matches("-0x7280").count(), 1, "{}", r.reason);
    }

    #[test]
    fn the_reason_quotes_the_resolvers_code_and_the_top_layers_error_name() {
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (552543) esp-tls: couldn't get hostname for :ws.example.net: getaddrinfo() returns 202, addrinfo=0x0\n\
              E (552543) TRANSPORT_BASE: Failed to open a new connection: 32769\n\
              E (552553) WEBSOCKET_CLIENT: Error transport connect\n",
        );
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(
            r.reason.contains("ws.example.net")
                && r.reason.contains("`getaddrinfo() returns 202`")
                && r.reason.contains("EAI_FAIL"),
            "{}",
            r.reason
        );
        // The IDF examples' own lookup, and an IDF 4.0 esp-tls line with no code.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (3342) example: DNS lookup failed err=202 res=0x0\n",
        );
        assert!(
            r.reason.contains("`err=202`: lwIP's EAI_FAIL"),
            "{}",
            r.reason
        );
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (6352) esp-tls: couldn't get hostname for :api.example.com:\n",
        );
        assert!(r.reason.contains("api.example.com (DNS)"), "{}", r.reason);
        // Several layers report one failure: the cause leads, the top layer's name follows.
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (22023) esp-tls: Failed to connnect to host (errno 113)\n\
              E (22023) TRANS_SSL: Failed to open a new connection\n\
              E (22023) HTTP_CLIENT: Connection failed\n\
              E (22023) esp_https_ota: Failed to open HTTP connection: ESP_ERR_HTTP_CONNECT\n\
              E (22033) simple_ota_example: Firmware Upgrades Failed\n",
        );
        assert_eq!(r.exit_code, 5, "{}", r.reason);
        assert!(r.reason.contains("errno 113"), "{}", r.reason);
        assert!(
            r.reason.contains("(esp_https_ota: ESP_ERR_HTTP_CONNECT)"),
            "{}",
            r.reason
        );
        let r = grade_bytes(
            GradeConfig::new(Profile::Auto),
            b"E (5234) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700\n\
              E (5240) esp-tls: Failed to open new connection\n\
              E (5240) TRANSPORT_BASE: Failed to open a new connection\n\
              E (5250) HTTP_CLIENT: Connection failed, sock < 0\n\
              E (5250) app: HTTP GET request failed: ESP_ERR_HTTP_CONNECT\n",
        );
        assert!(
            r.reason.contains("-0x2700") && r.reason.contains("(app: ESP_ERR_HTTP_CONNECT)"),
            "{}",
            r.reason
        );
    }
}
