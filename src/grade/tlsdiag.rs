//! TLS and certificate error lines of both boards, explained: BearSSL's `BSSL:` debug lines on the
//! ESP8266, mbedTLS error codes and the `esp-x509-crt-bundle` on the ESP32, and date checks that
//! fail because the board's clock was never set (the sketch skipped its NTP step).

use std::sync::LazyLock;

use regex::Regex;

use super::model::Diagnostic;

/// What one line told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub diag: Option<Diagnostic>,
    /// The problem is with the certificate (pin, anchor, dates), not the connection.
    pub cert: bool,
    /// Serious enough to fail the run if the firmware says nothing more.
    pub error: bool,
    pub expected_fp: Option<String>,
    pub received_fp: Option<String>,
}

/// What a line's problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum About {
    /// The certificate: a pin, an anchor, its dates.
    Certificate,
    /// Reaching the server: TCP, DNS, the handshake itself.
    Connection,
}

/// Whether the line fails the run on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    /// Serious enough to fail the run if the firmware says nothing more.
    Fails,
    /// Context for a later verdict.
    Informs,
}

impl Finding {
    pub(crate) fn new(about: About, weight: Weight) -> Self {
        Finding {
            diag: None,
            cert: about == About::Certificate,
            error: weight == Weight::Fails,
            expected_fp: None,
            received_fp: None,
        }
    }
}

const EXPLAIN_CLOCK: &str = "the certificate's dates did not check out; the board's clock is \
    probably not set (time() starts at 1970 until NTP syncs: call configTime() and wait for it, or \
    setX509Time()). If the clock is right, the certificate really has expired";

const EXPLAIN_NOT_YET: &str = "the certificate is not valid yet by the board's clock: the \
    clock is not set (time() starts at 1970 until NTP syncs: call configTime() or start SNTP and \
    wait for the time before connecting)";

/// Whether a diagnostic blames the board's clock: more specific than the generic verify
/// failure (mbedTLS's -0x2700) that comes with it.
pub(crate) fn blames_clock(d: &Diagnostic) -> bool {
    d.explanation == EXPLAIN_CLOCK || d.explanation == EXPLAIN_NOT_YET
}

/// A BearSSL error number as the ESP8266 core's `getLastSSLError()` returns it and sketches
/// print it (`getLastSSLError = 54`, Blynk's `SSL error: 56`). mbedTLS's codes are negative,
/// and axTLS's `Error: SSL error 40` has no colon.
static BEARSSL_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:getlastsslerror(?:\(\))?\s*(?:[=:]|returned|is)?|\bssl error:)\s*(\d{1,3})\b")
        .unwrap_or_else(|_| unreachable!())
});

fn bearssl_code(lower: &str) -> Option<i32> {
    let code = BEARSSL_CODE
        .captures(lower)?
        .get(1)?
        .as_str()
        .parse::<i32>()
        .ok()?;
    (code > 0).then_some(code)
}

/// BearSSL's `BR_ERR_*` numbers (bearssl_ssl.h, bearssl_x509.h), explained.
fn explain_bearssl(code: i32) -> (String, About) {
    let trust = "BearSSL does not trust the server's chain: it does not lead to the trust anchor \
        the sketch set (the site changed CA or intermediate), or the pinned fingerprint does not \
        match. `espcheck fingerprint HOST` shows what it serves now";
    let (name, text, about) = match code {
        53 => ("X509_TIME_UNKNOWN", EXPLAIN_CLOCK, About::Certificate),
        54 => ("X509_EXPIRED", EXPLAIN_CLOCK, About::Certificate),
        56 => (
            "X509_BAD_SERVER_NAME",
            "the certificate is not for the server name the sketch connected to (connecting by IP \
             address, or to another host name): connect by the name the certificate is for",
            About::Certificate,
        ),
        55 => ("X509_DN_MISMATCH", trust, About::Certificate),
        58 => ("X509_NOT_CA", trust, About::Certificate),
        62 => ("X509_NOT_TRUSTED", trust, About::Certificate),
        52 => (
            "X509_BAD_SIGNATURE",
            "a signature in the server's chain did not verify",
            About::Certificate,
        ),
        51 | 60 => (
            "X509_WRONG_KEY_TYPE",
            "the server's key is of a type or size BearSSL was not set up for",
            About::Certificate,
        ),
        6 | 18 | 23 => (
            "TOO_LARGE",
            "a TLS record was larger than BearSSL's receive buffer: the server ignored the \
             maximum fragment length (MFLN) the sketch asked for; give setBufferSizes() a larger \
             receive buffer (16384 when the server does not support MFLN)",
            About::Connection,
        ),
        3 | 4 | 16 => (
            "UNSUPPORTED_VERSION",
            "the server and BearSSL share no TLS version or cipher suite",
            About::Connection,
        ),
        31 => (
            "IO",
            "the connection dropped during the TLS handshake (the server closed it, or the \
             network did)",
            About::Connection,
        ),
        257..=511 => (
            "RECV_FATAL_ALERT",
            "the server sent a fatal TLS alert and closed the handshake (the alert number is \
             the code minus 256)",
            About::Connection,
        ),
        512..=767 => (
            "SEND_FATAL_ALERT",
            "BearSSL sent a fatal TLS alert and closed the handshake (the alert number is the \
             code minus 512)",
            About::Connection,
        ),
        32..=62 => (
            "X509",
            "the server's certificate chain could not be decoded or checked",
            About::Certificate,
        ),
        _ => ("", "the TLS handshake failed", About::Connection),
    };
    let label = if name.is_empty() {
        format!("error {code}")
    } else {
        format!("BR_ERR_{name} ({code})")
    };
    (format!("{label}: {text}"), about)
}

/// `connect(): start_ssl_client: -1`, `start_ssl_client failed: 0`: the TLS client's connect
/// failed (not its `start_ssl_client(): Performing the SSL/TLS handshake...` progress lines).
static START_SSL_CLIENT_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"start_ssl_client(?:: connect)?(?: failed)?:\s*(-?\d+)")
        .unwrap_or_else(|_| unreachable!())
});

/// Classify one line. `lower` is `text` in ASCII lower case; `number` its line number.
pub(crate) fn classify(number: usize, text: &str, lower: &str) -> Option<Finding> {
    let diag = |source: &str, explanation: String, code: Option<i32>| Diagnostic {
        line: number,
        source: source.to_owned(),
        text: text.to_owned(),
        explanation,
        code,
    };
    if let Some(i) = lower.find("bssl:") {
        return bearssl(&text[i + 5..], &lower[i + 5..], |e| {
            diag("bearssl", e, None)
        });
    }
    if lower.contains("expired or not yet valid")
        || lower.contains("validity has expired")
        || lower.contains("validity starts in the future")
    {
        // OPEnSLab's SSLClient prints BearSSL's own words; `verification info: ! The
        // certificate validity …` is mbedTLS's x509 verify string (esp-tls prints it).
        let source = if lower.contains("(sslclient)") {
            "bearssl"
        } else if lower.contains("validity starts in the future")
            || lower.contains("validity has expired")
        {
            "mbedtls"
        } else {
            "clock"
        };
        let explanation = if lower.contains("starts in the future") {
            EXPLAIN_NOT_YET
        } else {
            EXPLAIN_CLOCK
        };
        let mut f = Finding::new(About::Certificate, Weight::Fails);
        f.diag = Some(diag(source, explanation.to_owned(), None));
        return Some(f);
    }
    if let Some(code) = super::libdiag::number_after(lower, "tls connection error:") {
        // Tasmota's MQTT client over its BearSSL port (both chips): `MQT: TLS connection
        // error: 55`, BearSSL's code or one of Tasmota's own negative ones.
        let own = match code {
            -1000 => Some(("out of memory for the TLS connection", About::Connection)),
            -1001 => Some(("the host name did not resolve (DNS)", About::Connection)),
            -1002 => Some(("the TCP connect failed", About::Connection)),
            -1003 => Some(("the EC key is missing", About::Connection)),
            -1004 => Some(("no CA is set to check the server with", About::Certificate)),
            // BR_ERR_OK: the connection failed with no BearSSL error to name (the server
            // closed it or did not answer, as a plain-MQTT port such as 1883 does to TLS).
            0 => Some((
                "the connection failed with no BearSSL error to name (0): the server closed \
                 it or never answered the handshake (a port that does not speak TLS, such as \
                 plain MQTT's 1883, does this); the line does not say whether TCP or TLS",
                About::Connection,
            )),
            _ => None,
        };
        let said = format!("Tasmota's MQTT TLS client said `TLS connection error: {code}`");
        let (explanation, about) = match own {
            Some((why, about)) if code == 0 => (format!("{said}: {why}"), about),
            Some((why, about)) => (format!("{said}, its own error: {why}"), about),
            None => {
                let (why, about) = explain_bearssl(code);
                (format!("{said}: {why}"), about)
            }
        };
        let mut f = Finding::new(about, Weight::Fails);
        f.diag = Some(diag("bearssl", explanation, Some(code)));
        return Some(f);
    }
    if let Some(code) = bearssl_code(lower) {
        let (explanation, about) = explain_bearssl(code);
        let mut f = Finding::new(about, Weight::Fails);
        f.diag = Some(diag("bearssl", explanation, Some(code)));
        return Some(f);
    }
    if lower.contains("esp-x509-crt-bundle")
        && (lower.contains("fail") || lower.contains("no matching") || lower.contains("error"))
    {
        let mut f = Finding::new(About::Certificate, Weight::Fails);
        let (explanation, code) = match bundle_pk_verify(lower) {
            Some(code) => (bundle_pk_verify_explained(code), Some(code)),
            None => (
                "the certificate bundle holds no root for this server's chain (the lookup uses \
                 the issuer of the topmost certificate the server sent; cross-signed chains fail \
                 before IDF 6.0). Regenerate the bundle with the server's real root"
                    .to_owned(),
                None,
            ),
        };
        f.diag = Some(diag("esp-x509-crt-bundle", explanation, code));
        return Some(f);
    }
    if lower.contains("failed to verify peer certificate") {
        // esp-tls prints this for mbedTLS and wolfSSL alike; its tag names the backend.
        let source = if lower.contains("esp-tls-mbedtls") {
            "mbedtls"
        } else if lower.contains("esp-tls-wolfssl") {
            "wolfssl"
        } else {
            "esp-tls"
        };
        let mut f = Finding::new(About::Certificate, Weight::Fails);
        f.diag = Some(diag(
            source,
            "the server's (peer) certificate did not verify against the CA the firmware gave \
             (cacert_buf, or the certificate bundle); esp-tls's `verification info` line, when \
             printed, says why"
                .to_owned(),
            None,
        ));
        return Some(f);
    }
    if let Some(f) = super::libdiag::classify(lower, &diag) {
        return Some(f);
    }
    if lower.contains("wolfssl") {
        // wolfSSL's debug trace (`return -188`): its codes are not mbedTLS's.
        return None;
    }
    let tls_context = lower.contains("ssl")
        || lower.contains("tls")
        || lower.contains("x509")
        || lower.contains("connect failed");
    if lower.contains("start_ssl_client") && lower.contains("connect to server failed") {
        // arduino-esp32 1.0.x's ssl_client: `start_ssl_client(): Connect to Server failed!` is
        // its lwip_connect failing, before any TLS; start_ssl_client then returns -1.
        let mut f = Finding::new(About::Connection, Weight::Fails);
        f.diag = Some(diag(
            super::libdiag::CONNECTION,
            "ssl_client said `Connect to Server failed!`: the TCP connect to the server failed \
             before TLS began (its lwip_connect; start_ssl_client returns -1): the server is \
             down or unreachable, or the host or port is wrong"
                .to_owned(),
            Some(-1),
        ));
        return Some(f);
    }
    // mbedTLS built without its error strings prints `UNKNOWN ERROR CODE (0001)` for -0x0001.
    let generic = lower.contains("(-1) error - generic error")
        || lower.contains("(-1) unknown error code (0001)");
    if tls_context && generic {
        // mbedTLS's strerror of -0x0001, as arduino-esp32's ssl_client prints it.
        let mut f = Finding::new(About::Connection, Weight::Fails);
        let explanation = with_strerror(
            "ERROR_GENERIC_ERROR (-1, -0x0001): the TLS connection failed and mbedTLS gives no reason \
             (often the TCP connect under it failed or timed out)"
                .to_owned(),
            text,
        );
        f.diag = Some(diag("mbedtls", explanation, Some(-1)));
        return Some(f);
    }
    if tls_context && START_SSL_CLIENT_FAILED.is_match(lower) && mbedtls_code(text).is_none() {
        // `connect(): start_ssl_client: -1` (ssl_client's own -1: the socket or its TCP connect
        // failed) or `start_ssl_client failed: 0`: no mbedTLS code on the line.
        // The value as printed, so the user finds it in the reason: `-1` is ssl_client's own.
        let printed = START_SSL_CLIENT_FAILED
            .captures(lower)
            .and_then(|c| c.get(1))
            .map_or("", |m| m.as_str());
        let code = printed.parse::<i32>().ok().filter(|c| *c < 0);
        let mut f = Finding::new(About::Connection, Weight::Fails);
        f.diag = Some(diag(
            super::libdiag::CONNECTION,
            format!(
                "the TLS client could not connect (start_ssl_client returned {printed}, no \
                 mbedTLS code: the socket, the TCP connect or a handshake timeout; the log does \
                 not say which)"
            ),
            code,
        ));
        return Some(f);
    }
    if tls_context && let Some(explanation) = negated_success(text) {
        let mut f = Finding::new(About::Connection, Weight::Fails);
        f.diag = Some(diag("mbedtls", explanation, None));
        return Some(f);
    }
    if tls_context && let Some((code, printed)) = mbedtls_code(text) {
        let (explanation, about) = explain_mbedtls(code);
        // arduino-esp32's ssl_client names the function that failed: past the handshake
        // (`data_to_read`, `send_ssl_data`, `get_ssl_receive`), the connection was up and broke.
        let after_handshake = ["data_to_read", "send_ssl_data", "get_ssl_receive"]
            .iter()
            .any(|f| lower.contains(f));
        let explanation = if after_handshake && code == -0x7200 {
            "invalid record (-0x7200): after the handshake, a record arrived that was not valid \
             TLS (the stream was corrupted or cut, or the server wrote plain data on the TLS \
             connection)"
                .to_owned()
        } else {
            explanation
        };
        let explanation = as_printed(explanation, code, &printed);
        let explanation = with_strerror(explanation, text);
        let mut f = Finding::new(about, Weight::Fails);
        f.diag = Some(diag("mbedtls", explanation, Some(code)));
        return Some(f);
    }
    None
}

fn bearssl(rest: &str, lower: &str, diag: impl Fn(String) -> Diagnostic) -> Option<Finding> {
    // `BSSL:CERT: 30 82 …` is a hex dump of the leaf: noise for a report.
    if lower.starts_with("cert:") {
        return None;
    }
    if lower.contains("received cert fp doesn't match") {
        let mut f = Finding::new(About::Certificate, Weight::Fails);
        f.diag = Some(diag(
            "the SHA-1 of the server's leaf certificate is not the fingerprint the sketch pins \
             (setFingerprint): the server reissued its certificate"
                .to_owned(),
        ));
        return Some(f);
    }
    if let Some(i) = lower.find("insecure_end_chain: expected ") {
        let mut f = Finding::new(About::Certificate, Weight::Informs);
        f.expected_fp = colon_hex(&rest[i + 29..]);
        return Some(f);
    }
    if let Some(i) = lower.find("insecure_end_chain: received ") {
        let mut f = Finding::new(About::Certificate, Weight::Informs);
        f.received_fp = colon_hex(&rest[i + 29..]);
        return Some(f);
    }
    if let Some(i) = lower.find("couldn't connect. error = ") {
        let msg = rest[i + 26..].trim().trim_matches('\'').trim();
        let m = msg.to_ascii_lowercase();
        let (explanation, about) = if m.contains("expired or not yet valid") {
            (EXPLAIN_CLOCK.to_owned(), About::Certificate)
        } else if m.contains("trust anchor") {
            (
                "BearSSL does not trust the server: with setFingerprint, the leaf's fingerprint \
                 did not match; with setTrustAnchors, the chain does not lead to the anchor (the \
                 site changed CA or intermediate). `espcheck fingerprint HOST` shows what it \
                 serves now"
                    .to_owned(),
                About::Certificate,
            )
        } else if m.contains("server name") || m.contains("name mismatch") {
            (
                "the certificate is not for the host name the sketch connected to".to_owned(),
                About::Certificate,
            )
        } else if m.contains("fingerprint") || m.contains("not trusted") {
            (
                "the server's certificate is not trusted by the pin in the sketch".to_owned(),
                About::Certificate,
            )
        } else {
            (
                format!("BearSSL refused the connection: {msg}"),
                About::Connection,
            )
        };
        let mut f = Finding::new(about, Weight::Fails);
        f.diag = Some(diag(explanation));
        return Some(f);
    }
    if lower.contains("no authentication method is setup") {
        // `BSSL:Connection *will* fail, no authentication method is setup`: BearSSL was given
        // no trust anchor, fingerprint or setInsecure(), so it refuses every server.
        let mut f = Finding::new(About::Certificate, Weight::Fails);
        f.diag = Some(diag(
            "BearSSL had no authentication method set up (no setTrustAnchors, setFingerprint or \
             setInsecure before connect), so it rejects every server's certificate; give it the \
             server's CA or fingerprint (`espcheck fingerprint HOST`)"
                .to_owned(),
        ));
        return Some(f);
    }
    if lower.contains("oom") || lower.contains("out of memory") {
        let mut f = Finding::new(About::Connection, Weight::Fails);
        f.diag = Some(diag(
            "BearSSL ran out of heap: a connection needs ~20-22 KB with the default buffers \
             (about 5 KB with setBufferSizes(512, 512) when the server supports MFLN)"
                .to_owned(),
        ));
        return Some(f);
    }
    if lower.contains("_wait_for_handshake: failed") {
        // Fails unless the firmware goes on to say it connected (a retry that worked).
        let mut f = Finding::new(About::Connection, Weight::Fails);
        f.diag = Some(diag(
            "the TLS handshake failed: BearSSL's `_wait_for_handshake: failed` (the server \
             closed the connection or sent an alert; the BSSL lines before it say which)"
                .to_owned(),
        ));
        return Some(f);
    }
    None
}

/// Firmware saying it reached its server (`Connected to server!`, `connected to
/// api.github.com`, `[MQTT] connected`, `TLS connection established`): after a failed attempt,
/// the retry got through. Joining the Wi-Fi network is not this.
pub(crate) fn connected(lower: &str) -> bool {
    let says = lower.starts_with("connected to ")
        || lower.starts_with("connected!")
        || lower.ends_with("] connected")
        || lower.contains("connection established")
        || lower.contains("handshake succeeded")
        || lower.contains("handshake ok");
    let network = [
        "wifi",
        "wi-fi",
        "wlan",
        "ssid",
        "access point",
        "network",
        "ap ",
    ]
    .iter()
    .any(|w| lower.contains(w));
    says && !network && !lower.contains("not connected") && !lower.contains("disconnected")
}

/// What the diagnostics make of one line: the diagnostic's source and its explanation (for the
/// tests of every module whose lines `classify` reads).
#[cfg(test)]
pub(crate) fn source_and_words(line: &str) -> (String, String) {
    let f = classify(1, line, &line.to_ascii_lowercase())
        .and_then(|f| f.diag)
        .unwrap_or_else(|| panic!("no finding for {line}"));
    (f.source, f.explanation)
}

/// The bundle's `PK verify failed with error FFFFBD70`: it found a root by the name of the
/// chain's top issuer, and checking the signature with that root's key returned this mbedTLS
/// code (printed as an unsigned 32-bit hex number).
fn bundle_pk_verify(lower: &str) -> Option<i32> {
    let i = lower.find("pk verify failed with error ")?;
    let hex: String = lower[i + 28..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let code = u32::from_str_radix(&hex, 16).ok()? as i32;
    is_mbedtls_code(code).then_some(code)
}

fn bundle_pk_verify_explained(code: i32) -> String {
    let v = code.unsigned_abs();
    let why = if v & 0x7F == 0x10 {
        // MBEDTLS_ERR_MPI_ALLOC_FAILED under the RSA or ECP module's code.
        "its low-level part -0x0010 is MPI_ALLOC_FAILED: the board ran out of heap while \
         checking the signature (free heap before connecting, or use dynamic TLS buffers)"
    } else {
        "the bundle's root of that name has another key than the one that signed the chain (an \
         old or re-keyed root): regenerate the bundle with the server's real root"
    };
    format!(
        "the certificate bundle found a root by the name of the chain's top issuer, but \
         checking the chain's signature with its key failed (-0x{v:04X}); {why}"
    )
}

/// The 20 (or so) hex bytes in `s` (`5f f1 60 …` or `5F:F1:…`) as upper-case colon hex.
pub(crate) fn colon_hex(s: &str) -> Option<String> {
    let mut bytes = Vec::new();
    for tok in s.split([' ', ':']).filter(|t| !t.is_empty()) {
        match u8::from_str_radix(tok, 16) {
            Ok(b) if tok.len() == 2 => bytes.push(b),
            _ => break,
        }
    }
    if bytes.len() < 16 {
        return None;
    }
    Some(
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// An mbedTLS error code on the line: `-0x2700`, `(-9984)`, `connect failed: -9984`. Only
/// numbers mbedTLS can return count: a low-level module's (`-0x0002`…`-0x007F`), a high-level
/// module's (`-0x1080`…`-0x7F80`, multiples of 0x80), or the two added; another library's code
/// (ESPEasy's `TLS error code: -1002`) is not read as mbedTLS's.
fn mbedtls_code(text: &str) -> Option<(i32, String)> {
    raw_mbedtls_code(text).filter(|(c, _)| is_mbedtls_code(*c))
}

/// The explanation with the code also spelled as the log printed it, so that what the user
/// searches their log for is in the reason: `-27648` as "-27648 (-0x6C00)", `-0x52` beside
/// mbedTLS's own `-0x0052`.
fn as_printed(explanation: String, code: i32, printed: &str) -> String {
    let lower = explanation.to_ascii_lowercase();
    if printed.is_empty() || lower.contains(&printed.to_ascii_lowercase()) {
        return explanation;
    }
    let canonical = format!("-0x{:04X}", code.unsigned_abs());
    let Some(i) = explanation.find(&canonical) else {
        return format!("{explanation} (printed {printed})");
    };
    let (before, after) = (&explanation[..i], &explanation[i + canonical.len()..]);
    if before.ends_with('(') {
        // `invalid record (-0x7200)` → `invalid record (-29184, -0x7200)`
        format!("{before}{printed}, {canonical}{after}")
    } else {
        format!("{before}{printed} ({canonical}){after}")
    }
}

/// arduino-esp32's ssl_client (and the libraries that copy it) print mbedTLS's own text for the
/// code: `[data_to_read():287]: (-29184) SSL - An invalid SSL record was received`, `(-1) ERROR
/// - Generic error`. The reason quotes it as printed.
fn with_strerror(explanation: String, text: &str) -> String {
    let Some(i) = text.rfind(") ") else {
        return explanation;
    };
    let open = text[..i].rfind('(').unwrap_or(i);
    let code = &text[open + 1..i];
    let is_code = code.starts_with('-')
        && code.len() > 1
        && code[1..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == 'x' || c == 'X');
    let said = text[i + 2..].trim();
    let module = said.split(" - ").next().unwrap_or("");
    let looks = !module.is_empty()
        && module.len() <= 12
        && module
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !is_code || !looks || said.len() > 160 {
        return explanation;
    }
    format!("{explanation}; mbedTLS printed `{said}`")
}

/// A TLS client's `mbedtls_ssl_get_record_expansion returned -0xffffffe3` (an SSLClient build
/// for GSM modems): the client printed `-0x%x` of the negated result, so the call returned
/// +29, a success (the record overhead in bytes), which the client took for an error before it
/// closed the connection. No mbedTLS code is behind it.
fn negated_success(text: &str) -> Option<String> {
    let at = text.find(" returned -0x")?;
    let hex: String = text[at + 13..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let value = u32::from_str_radix(&hex, 16)
        .ok()
        .filter(|v| hex.len() == 8 && *v >= 0xffff_0000)?;
    let returned = 0x1_0000_0000_u64 - u64::from(value);
    let call = text[..at]
        .rsplit([' ', ':'])
        .next()
        .unwrap_or("the call")
        .trim();
    Some(format!(
        "`{call} returned -0x{hex}` is not an mbedTLS error: the client printed the negated \
         result, so {call} returned +{returned}, a success; this TLS client took it for an error \
         and closed the connection (a bug in that client library's version)"
    ))
}

fn is_mbedtls_code(code: i32) -> bool {
    let v = code.unsigned_abs();
    let (high, low) = (v & !0x7F, v & 0x7F);
    code < 0 && ((high == 0 && low >= 2) || (0x1000..=0x7F80).contains(&high))
}

fn raw_mbedtls_code(text: &str) -> Option<(i32, String)> {
    // MicroPython's modussl_mbedtls prints the code in hex without `0x`: `printf("mbedtls_ssl_
    // handshake error: -%x\n", -ret)`, so `-7280` is -0x7280.
    if let Some(i) = text.find("mbedtls_ssl_handshake error: -") {
        let hex: String = text[i + 30..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if let Ok(v) = i32::from_str_radix(&hex, 16) {
            return Some((-v, format!("-{hex}")));
        }
    }
    if let Some(i) = text.find("-0x") {
        let hex: String = text[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if let Ok(v) = i32::from_str_radix(&hex, 16)
            && !hex.is_empty()
        {
            return Some((-v, format!("-0x{hex}")));
        }
    }
    // A negative decimal after `(` or `: ` or a space, at least two digits.
    let bytes = text.as_bytes();
    for (i, w) in bytes.windows(2).enumerate() {
        if w[1] == b'-' && matches!(w[0], b'(' | b' ' | b':') {
            let digits: String = text[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if digits.len() >= 2
                && let Ok(v) = digits.parse::<i32>()
            {
                return Some((-v, format!("-{digits}")));
            }
        }
    }
    None
}

pub(crate) fn explain_mbedtls(code: i32) -> (String, About) {
    match code {
        -0x2700 => (
            "X509_CERT_VERIFY_FAILED (-0x2700, -9984): the server's chain did not verify against the CA \
             set with setCACert or the bundle. Pin a certificate the server really chains to (the \
             intermediate or root; `espcheck fingerprint HOST` shows the chain), and set the clock \
             if dates are checked"
                .to_owned(),
            About::Certificate,
        ),
        -0x3000 => (
            "-0x3000: the old certificate bundle found no root for the server's chain; add the \
             server's root to the bundle"
                .to_owned(),
            About::Certificate,
        ),
        -0x7F00 => (
            "SSL_ALLOC_FAILED (-0x7F00): out of heap for the TLS buffers (~42 KB with IDF \
             defaults, ~22 KB with dynamic buffers)"
                .to_owned(),
            About::Connection,
        ),
        -0x7780 => (
            "fatal alert from the server (-0x7780): it refused the handshake (no common TLS \
             version or cipher suite, or a bad SNI)"
                .to_owned(),
            About::Connection,
        ),
        -0x7200 => (
            "invalid record (-0x7200): the peer is not speaking TLS on that port".to_owned(),
            About::Connection,
        ),
        -0x004C => (
            "NET_RECV_FAILED (-0x004C): reading from the socket failed, in the handshake or in \
             a transfer after it (the server or the network closed the connection)"
                .to_owned(),
            About::Connection,
        ),
        -0x0050 => (
            "NET_CONN_RESET (-0x0050, -80): the server or the network reset the TCP connection"
                .to_owned(),
            About::Connection,
        ),
        -0x0052 => (
            "NET_UNKNOWN_HOST (-0x0052): the host name did not resolve (DNS)".to_owned(),
            About::Connection,
        ),
        -0x0044 => (
            "NET_CONNECT_FAILED (-0x0044): the TCP connect failed".to_owned(),
            About::Connection,
        ),
        -0x7280 => (
            "SSL_CONN_EOF (-0x7280): the server closed the connection during the handshake (it \
             rejected the client's hello: TLS version, cipher suites, SNI, or a client \
             certificate it wanted)"
                .to_owned(),
            About::Connection,
        ),
        -0x6800 => (
            "SSL_TIMEOUT (-0x6800): the handshake timed out".to_owned(),
            About::Connection,
        ),
        -0x6C00 => (
            "SSL_INTERNAL_ERROR (-0x6C00): mbedTLS failed inside (a lower-level module: often \
             out of heap, or the socket failed under a read or write)"
                .to_owned(),
            About::Connection,
        ),
        -0x4D80 => (
            "ECP_ALLOC_FAILED (-0x4D80): out of heap for the elliptic-curve key exchange".to_owned(),
            About::Connection,
        ),
        c => (
            format!("mbedTLS error -0x{:04X}", c.unsigned_abs()),
            // The X509 module's codes.
            if (-0x3000..=-0x2000).contains(&c) {
                About::Certificate
            } else {
                About::Connection
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(s: &str) -> Option<Finding> {
        classify(7, s, &s.to_ascii_lowercase())
    }

    #[test]
    fn bearssl_received_fingerprint_becomes_colon_hex() {
        let f = cls("BSSL:insecure_end_chain: received 5f f1 60 31 09 04 3e f2 90 d2 b0 8a 50 38 04 e8 37 9f bc 76 ")
            .unwrap_or_else(|| panic!("no finding"));
        assert_eq!(
            f.received_fp.as_deref(),
            Some("5F:F1:60:31:09:04:3E:F2:90:D2:B0:8A:50:38:04:E8:37:9F:BC:76")
        );
    }

    #[test]
    fn the_bundles_pk_verify_failure_reads_its_code() {
        let (s, e) =
            source_and_words("E (2948) esp-x509-crt-bundle: PK verify failed with error FFFFBD70");
        assert_eq!(s, "esp-x509-crt-bundle");
        assert!(e.contains("-0x4290") && e.contains("out of heap"), "{e}");
        let (_, e) =
            source_and_words("E (2948) esp-x509-crt-bundle: PK verify failed with error FFFFBC80");
        assert!(e.contains("-0x4380") && e.contains("another key"), "{e}");
        let (_, e) = source_and_words(
            "E (1523) esp-x509-crt-bundle: No matching trusted root certificate found",
        );
        assert!(e.contains("holds no root"), "{e}");
    }

    #[test]
    fn a_negated_success_is_no_mbedtls_error() {
        let why = negated_success(
            "[  9427][E][ssl_client.cpp:728] perform_ssl_handshake(): \
             mbedtls_ssl_get_record_expansion returned -0xffffffe3",
        )
        .unwrap_or_default();
        assert!(
            why.contains("`mbedtls_ssl_get_record_expansion returned -0xffffffe3`")
                && why.contains("returned +29"),
            "{why}"
        );
        assert_eq!(
            negated_success("mbedtls_ssl_handshake returned -0x7280"),
            None
        );
    }

    #[test]
    fn mbedtls_codes_in_their_three_spellings() {
        for line in [
            "[E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():273]: (-9984) X509 - Certificate verification failed, e.g. CRL, CA or signature check failed",
            "[E][WiFiClientSecure.cpp:133] connect(): start_ssl_client: connect failed: -9984",
            "E (5234) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700",
        ] {
            let f = cls(line).unwrap_or_else(|| panic!("no finding for {line}"));
            let d = f.diag.unwrap_or_else(|| panic!("no diag"));
            assert_eq!(d.code, Some(-9984), "{line}");
            assert!(f.cert && f.error);
        }
        let f =
            cls("[E][ssl_client.cpp:36] _handle_error(): (-32512) SSL - Memory allocation failed");
        assert_eq!(f.and_then(|f| f.diag).and_then(|d| d.code), Some(-0x7F00));
    }

    #[test]
    fn expired_means_the_clock() {
        let f =
            cls("BSSL:Couldn't connect. Error = 'Server certificate is expired or not yet valid.'");
        let d = f.and_then(|f| f.diag).unwrap_or_else(|| panic!("no diag"));
        assert!(d.explanation.contains("clock"), "{}", d.explanation);
    }

    #[test]
    fn bearssl_error_numbers_as_sketches_print_them() {
        for (line, code, word, cert) in [
            (
                "client getLastSSLError = 54 // BR_ERR_X509_EXPIRED",
                54,
                "clock",
                true,
            ),
            (
                "[18310] SSL error: 56  ",
                56,
                "not for the server name",
                true,
            ),
            ("getLastSSLError(): 62", 62, "trust anchor", true),
            (
                "SSL error: 296",
                296,
                "server sent a fatal TLS alert",
                false,
            ),
            ("getLastSSLError = 23", 23, "setBufferSizes", false),
        ] {
            let f = cls(line).unwrap_or_else(|| panic!("no finding for {line}"));
            assert_eq!(f.cert, cert, "{line}");
            let d = f.diag.unwrap_or_else(|| panic!("no diag for {line}"));
            assert_eq!(
                (d.source.as_str(), d.code),
                ("bearssl", Some(code)),
                "{line}"
            );
            assert!(d.explanation.contains(word), "{line}: {}", d.explanation);
        }
        // No error, mbedTLS's negative codes and axTLS's own wording are not BearSSL's.
        assert_eq!(cls("client getLastSSLError = 0"), None);
        assert!(
            cls("SSL error: -9984").is_none_or(|f| f.diag.is_none_or(|d| d.source != "bearssl"))
        );
        let axtls = cls("Error: SSL error 40").and_then(|f| f.diag);
        assert_eq!(axtls.map(|d| d.source), Some("axtls".to_owned()));
    }

    #[test]
    fn a_certificate_not_yet_valid_names_its_library_and_the_clock() {
        let f = cls(
            "I (13561) esp-tls: verification info:   ! The certificate validity starts in the future",
        );
        let d = f.and_then(|f| f.diag).unwrap_or_else(|| panic!("no diag"));
        assert_eq!(d.source, "mbedtls");
        assert!(d.explanation.contains("not valid yet"), "{}", d.explanation);
        assert!(blames_clock(&d));
        let f = cls(
            "(SSLClient)(SSL_ERROR)(m_print_br_error): Certificate is expired or not yet valid.",
        );
        let d = f.and_then(|f| f.diag).unwrap_or_else(|| panic!("no diag"));
        assert_eq!(d.source, "bearssl");
        assert!(blames_clock(&d));
    }

    #[test]
    fn mbedtls_codes_are_spelled_as_the_log_printed_them() {
        // Decimal (arduino-esp32's ssl_client) beside mbedTLS's hex, with its printed text.
        let (_, e) = source_and_words(
            "[send_ssl_data():382]: (-27648) SSL - Internal error (eg, unexpected failure in \
             lower-level module)",
        );
        assert!(e.contains("(-27648, -0x6C00)"), "{e}");
        assert!(e.contains("`SSL - Internal error (eg, unexpected"), "{e}");
        let (_, e) = source_and_words(
            "[E][ssl_client.cpp:36] _handle_error(): [data_to_read():287]: (-29184) SSL - An \
             invalid SSL record was received",
        );
        assert!(e.contains("(-29184, -0x7200)"), "{e}");
        assert!(e.contains("after the handshake"), "{e}");
        assert!(
            e.contains("`SSL - An invalid SSL record was received`"),
            "{e}"
        );
        // Short hex, as esp-tls and many libraries print it, beside the header's spelling.
        let (_, e) = source_and_words("E (8123) esp-tls: mbedtls_ssl_handshake returned -0x52");
        assert!(e.contains("-0x52, -0x0052"), "{e}");
        let (_, e) = source_and_words(
            "[ 10296][E][ESP32_SSL_Client.cpp:61] _esp32_ssl_handle_error(): \
             [connect_ssl():341]: (-1) ERROR - Generic error",
        );
        assert!(e.contains("`ERROR - Generic error`"), "{e}");
    }

    #[test]
    fn ordinary_lines_are_not_tls_findings() {
        assert_eq!(
            cls("Requesting URL: /repos/esp8266/Arduino/commits/master/status"),
            None
        );
        assert_eq!(cls("temperature -12 C"), None);
        assert_eq!(cls("BSSL:CERT: 30 82 05 0b"), None);
    }

    #[test]
    fn arduino_tls_client_failures_without_an_mbedtls_code() {
        for line in [
            "[265461][E][SSLClient.cpp:110] connect(): start_ssl_client: -1",
            "[ 62515][E][SSLClient.cpp:242] connect(): start_ssl_client failed: 0",
        ] {
            let f = cls(line).and_then(|f| f.diag);
            assert_eq!(f.map(|d| d.source), Some("esp-tls".to_owned()), "{line}");
        }
        // The value as printed is in the reason; the 1.0.x TCP failure before it says TCP.
        let why = |l: &str| cls(l).and_then(|f| f.diag).map(|d| (d.explanation, d.code));
        for line in [
            "[E][SSLClient2.cpp:110] connect(): start_ssl_client: -1",
            " [E][WiFiClientSecure.cpp:132] connect(): start_ssl_client: -1",
            "[  5123][E][NetworkClientSecure.cpp:159] connect(): start_ssl_client: connect failed: -1",
        ] {
            let (e, code) = why(line).unwrap_or_default();
            assert!(e.contains("returned -1"), "{e}");
            assert_eq!(code, Some(-1));
        }
        let (e, code) =
            why(" [E][ssl_client.cpp:87] start_ssl_client(): Connect to Server failed!")
                .unwrap_or_default();
        assert!(e.contains("TCP connect") && e.contains("-1"), "{e}");
        assert_eq!(code, Some(-1));
        let (e, code) = why("[E][ssl_client.cpp:35] _handle_error(): [start_ssl_client():280]: (-1) UNKNOWN ERROR CODE (0001)")
            .unwrap_or_default();
        assert!(e.contains("(-1, -0x0001)"), "{e}");
        assert_eq!(code, Some(-1));
        // Near misses: a debug line that only names the function, an app's own counter.
        assert_eq!(
            cls("[D][ssl_client.cpp:60] start_ssl_client(): Connecting to server..."),
            None
        );
        assert_eq!(
            cls("Connect to Server failed count: 3 (retrying)").and_then(|f| f.diag),
            None
        );
        // Its progress lines are not failures.
        assert_eq!(
            cls("[V][ssl_client.cpp:56] start_ssl_client(): Free internal heap before TLS 264652"),
            None
        );
        let f = cls("[ 62514][E][ssl__client.cpp:42] _handle_error(): [start_ssl_client():367]: (-1) ERROR - Generic error")
            .and_then(|f| f.diag);
        assert_eq!(f.and_then(|d| d.code), Some(-1));
    }

    #[test]
    fn only_numbers_mbedtls_can_return_are_read_as_its_codes() {
        // ESPEasy's own TLS error code is not mbedTLS's -0x03EA.
        assert_eq!(cls("1516439: MQTT : TLS error code: -1002"), None);
        let code = |l: &str| cls(l).and_then(|f| f.diag).and_then(|d| d.code);
        assert_eq!(
            code(
                "[E][ssl_client.cpp:33] _handle_error(): [send_ssl_data():284]: (-80) UNKNOWN ERROR CODE (0050)"
            ),
            Some(-0x50)
        );
        assert_eq!(
            code("E (271678) esp-tls: mbedtls_ssl_handshake returned -0x4d80"),
            Some(-0x4D80)
        );
        let why = |l: &str| cls(l).and_then(|f| f.diag).map(|d| d.explanation);
        assert!(
            why("E (22929) esp-tls: mbedtls_ssl_handshake returned -0x7280")
                .is_some_and(|e| e.contains("SSL_CONN_EOF"))
        );
        // MicroPython's modussl_mbedtls: hex without `0x`.
        assert_eq!(code("mbedtls_ssl_handshake error: -7280"), Some(-0x7280));
        assert!(
            why("mbedtls_ssl_handshake error: -7280").is_some_and(|e| e.contains("SSL_CONN_EOF"))
        );
    }

    #[test]
    fn tasmotas_tls_connection_errors_are_bearssls_or_its_own() {
        let f = cls("01:57:35.983 MQT: TLS connection error: 55")
            .unwrap_or_else(|| panic!("Tasmota's line not read"));
        assert!(f.cert && f.error);
        let d = f.diag.unwrap_or_else(|| panic!("no diag"));
        assert_eq!((d.source.as_str(), d.code), ("bearssl", Some(55)));
        assert!(
            d.explanation.contains("X509_DN_MISMATCH"),
            "{}",
            d.explanation
        );
        let f = cls("MQT: TLS connection error: 296").unwrap_or_else(|| panic!("alert not read"));
        assert!(!f.cert && f.error);
        let f = cls("MQT: TLS connection error: 0").unwrap_or_else(|| panic!("error 0 not read"));
        let why = f.diag.map(|d| d.explanation).unwrap_or_default();
        assert!(why.contains("connection failed"), "{why}");
        assert!(!why.contains("handshake failed"), "{why}");
        let d = cls("MQT: TLS connection error: -1002")
            .and_then(|f| f.diag)
            .unwrap_or_else(|| panic!("Tasmota's own code not read"));
        assert!(d.explanation.contains("TCP connect"), "{}", d.explanation);
    }
}
