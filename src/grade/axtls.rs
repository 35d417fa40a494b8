//! axTLS, the ESP8266 Arduino core's TLS library up to 2.4 (and `DEPRECATED_SSL_WITH_AXTLS`
//! after): its `ssl_display_error` lines (`Error: SSL error 40`, `Error: invalid handshake`) and
//! the alerts it logs (`Alert: decode error`). Every one of them ends the connection, so each
//! fails the run on its own, also when the sketch prints nothing after it.

use super::model::Diagnostic;
use super::tlsdiag::{About, Finding, Weight};

/// The name of a TLS alert number (RFC 5246 §7.2, the ones axTLS sends or reports).
fn alert_name(code: i32) -> Option<&'static str> {
    Some(match code {
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        100 => "no_renegotiation",
        110 => "unsupported_extension",
        _ => return None,
    })
}

/// What an alert (by its RFC name) says went wrong, and whether it is about the certificate.
fn explain_alert(name: &str) -> (String, About) {
    let why = match name {
        "handshake_failure" => {
            "it shares no cipher suite or TLS version with axTLS (which offers only TLS 1.2 RSA \
             AES-CBC suites); use BearSSL (ESP8266 core 2.5 and later)"
        }
        "decode_error" | "unexpected_message" => {
            "one side could not parse the other's handshake message: usually a server whose \
             TLS axTLS does not speak (a TLS 1.3-only or ECDSA-only server, or a certificate \
             chain too large for axTLS); use BearSSL (ESP8266 core 2.5 and later)"
        }
        "protocol_version" | "invalid_version" => {
            "the server and axTLS share no TLS version; use BearSSL (ESP8266 core 2.5 and later)"
        }
        "bad_certificate"
        | "unknown_ca"
        | "certificate_unknown"
        | "certificate_expired"
        | "unsupported_certificate" => {
            return (
                "the certificate was rejected; check the pinned fingerprint or CA and the \
                 board's clock"
                    .to_owned(),
                About::Certificate,
            );
        }
        "record_overflow" => {
            "a TLS record was larger than axTLS's buffer: the server ignored the maximum \
             fragment length"
        }
        _ => "the handshake was aborted",
    };
    (why.to_owned(), About::Connection)
}

/// A negative status that is minus a TLS alert's number (what axTLS returns for the alert the
/// server sent), named; `None` for axTLS's own small codes (`SSL_ERROR_DEAD` is -2).
pub(crate) fn alert_status(code: i32) -> Option<String> {
    let name = alert_name(-code)?;
    Some(format!(
        "the server sent a fatal TLS alert {} ({name})",
        -code
    ))
}

/// What an `ssl_handshake_status` code means (axTLS's ssl.h): a fatal alert the server sent
/// comes back as minus its number, the library's own errors from -256, X509's from -512.
fn handshake_status(code: i32) -> (String, About) {
    let (why, about) = match code {
        -255..=-1 => {
            let n = -code;
            return match alert_name(n) {
                Some(name) => {
                    let (why, about) = explain_alert(name);
                    (
                        format!("the server sent a fatal TLS alert {n} ({name}): {why}"),
                        about,
                    )
                }
                None => (
                    format!("the server sent a fatal TLS alert {n}"),
                    About::Connection,
                ),
            };
        }
        -256 => (
            "SSL_ERROR_CONN_LOST: the connection dropped during the handshake",
            About::Connection,
        ),
        -257 => (
            "SSL_ERROR_RECORD_OVERFLOW: a TLS record was larger than axTLS's buffer",
            About::Connection,
        ),
        -266 => (
            "SSL_ERROR_NO_CIPHER: the server chose a cipher suite axTLS does not have",
            About::Connection,
        ),
        -268 => (
            "SSL_ERROR_BAD_CERTIFICATE: the server's certificate could not be read",
            About::Certificate,
        ),
        c if c <= -512 => (
            "an X509 error: the server's certificate did not verify (no trusted CA, a bad \
             signature, or dates outside the board's clock)",
            About::Certificate,
        ),
        _ => ("the TLS handshake failed", About::Connection),
    };
    (why.to_owned(), about)
}

/// Classify one line; `None` when axTLS did not print it.
pub(crate) fn classify(
    lower: &str,
    diag: &dyn Fn(&str, String, Option<i32>) -> Diagnostic,
) -> Option<Finding> {
    let (explanation, about, code) = explain(lower.trim())?;
    let mut f = Finding::new(about, Weight::Fails);
    f.diag = Some(diag("axtls", explanation, code));
    Some(f)
}

fn explain(t: &str) -> Option<(String, About, Option<i32>)> {
    if let Some(code) = super::libdiag::number_after(t, "ssl_handshake_status:").filter(|&c| c < 0)
    {
        // MicroPython's modussl_axtls (the ESP8266 port up to 1.12) prints the code as is.
        let (why, about) = handshake_status(code);
        return Some((
            format!("axTLS's ssl_handshake_status {code}: {why}"),
            about,
            Some(code),
        ));
    }
    if let Some(found) = out_of_heap(t) {
        return Some(found);
    }
    if let Some(name) = t.strip_prefix("alert: ") {
        // RFC 5246's spelling of the name: `handshake failure` is `handshake_failure`.
        let name = name.trim().replace(' ', "_");
        if name.is_empty() || name == "close_notify" {
            return None;
        }
        let (why, about) = explain_alert(&name);
        return Some((
            format!("the TLS handshake ended with a `{name}` alert: {why}"),
            about,
            None,
        ));
    }
    let error = t
        .strip_prefix("error: ")
        .or_else(|| t.find("error: ssl error ").map(|i| &t[i + 7..]))?;
    if let Some(n) = error.strip_prefix("ssl error ") {
        let code = n.trim().parse::<i32>().ok().filter(|c| *c > 0)?;
        let (why, about) = match alert_name(code) {
            Some(name) => {
                let (why, about) = explain_alert(name);
                (format!("TLS alert {code} ({name}): {why}"), about)
            }
            None => ("the handshake was aborted".to_owned(), About::Connection),
        };
        return Some((
            format!("axTLS reported SSL error {code}, {why}"),
            about,
            Some(code),
        ));
    }
    // `ssl_display_error`'s own names (ssl/tls1.c); not BearSSL's or a sketch's `Error:` lines.
    let (what, about) = match error {
        "invalid handshake"
        | "invalid protocol message"
        | "invalid mac"
        | "invalid version"
        | "invalid session"
        | "no cipher"
        | "finished invalid"
        | "unsupported extension" => ("the TLS handshake failed", About::Connection),
        "bad certificate" => ("the server's certificate was rejected", About::Certificate),
        "connection lost" | "connection dead" => {
            ("the connection broke during TLS", About::Connection)
        }
        _ => return None,
    };
    Some((
        format!(
            "axTLS: `{error}`: {what}; axTLS is deprecated, use BearSSL (ESP8266 core 2.5 and \
             later)"
        ),
        about,
        None,
    ))
}

/// The ESP8266 core's axTLS (tls1.c) growing its record buffer on demand: a record larger than
/// the room the buffer has (`ssl->need_bytes=16448 > 6859`), and the `realloc` for it that
/// failed (`failed to grow plain buffer`). Either way the read fails and the connection is
/// dropped: the heap is too small for a full 16 KB TLS record.
fn out_of_heap(t: &str) -> Option<(String, About, Option<i32>)> {
    const ADVICE: &str = "the TLS connection needs a 16 KB record buffer and the heap does not \
                          have it: free heap before connecting, or use BearSSL (ESP8266 core 2.5 \
                          and later) with a smaller buffer (setBufferSizes) or MFLN";
    if let Some(rest) = t.strip_prefix("ssl->need_bytes=") {
        let (need, room) = rest.split_once('>')?;
        let need = need.trim().parse::<u32>().ok()?;
        let room = room.trim().parse::<u32>().ok()?;
        return Some((
            format!(
                "axTLS: `ssl->need_bytes={need} > {room}`: a TLS record of {need} bytes does not \
                 fit the {room} bytes its buffer has room for; {ADVICE}"
            ),
            About::Connection,
            None,
        ));
    }
    (t == "failed to grow plain buffer").then(|| {
        (
            format!("axTLS: `failed to grow plain buffer`: out of heap; {ADVICE}"),
            About::Connection,
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::tlsdiag;

    fn finding(line: &str) -> Option<(bool, bool, String)> {
        let f = tlsdiag::classify(1, line, &line.to_ascii_lowercase())?;
        let d = f.diag?;
        assert_eq!(d.source, "axtls", "{line}");
        Some((f.error, f.cert, d.explanation))
    }

    #[test]
    fn every_axtls_error_and_alert_fails_the_run_and_says_why() {
        for (line, cert, word) in [
            ("Error: SSL error 50", false, "decode_error"),
            ("Error: SSL error 40", false, "cipher suite"),
            ("Error: SSL error 48", true, "unknown_ca"),
            ("Alert: decode error", false, "parse"),
            ("Alert: handshake failure", false, "cipher suite"),
            ("Alert: bad certificate", true, "rejected"),
            ("Error: invalid handshake", false, "handshake failed"),
            ("Error: no cipher", false, "handshake failed"),
        ] {
            let (error, is_cert, e) = finding(line).unwrap_or_else(|| panic!("no finding: {line}"));
            assert!(error, "{line} must fail the run");
            assert_eq!(is_cert, cert, "{line}");
            assert!(e.contains(word), "{line}: {e}");
        }
        // Not failures: the orderly close, and other libraries' `Error:` lines.
        for line in ["Alert: close notify", "Error: Couldn't connect to server"] {
            assert_eq!(finding(line), None, "{line}");
        }
    }

    #[test]
    fn axtls_out_of_heap_for_a_record_fails_the_connection() {
        let (error, cert, e) = finding("ssl->need_bytes=16448 > 6859")
            .unwrap_or_else(|| panic!("need_bytes not read"));
        assert!(error && !cert);
        assert!(
            e.contains("need_bytes=16448 > 6859") && e.contains("heap"),
            "{e}"
        );
        let (error, _, e) = finding("failed to grow plain buffer")
            .unwrap_or_else(|| panic!("grow plain buffer not read"));
        assert!(error && e.contains("out of heap"), "{e}");
        assert_eq!(finding("ssl->need_bytes=many"), None);
    }

    #[test]
    fn axtls_handshake_status_codes_as_micropython_prints_them() {
        let (error, cert, e) = finding("ssl_handshake_status: -40")
            .unwrap_or_else(|| panic!("MicroPython's axTLS line not read"));
        assert!(error && !cert);
        assert!(e.contains("-40") && e.contains("handshake_failure"), "{e}");
        let (_, _, e) =
            finding("ssl_handshake_status: -256").unwrap_or_else(|| panic!("CONN_LOST not read"));
        assert!(e.contains("CONN_LOST"), "{e}");
        let f = tlsdiag::classify(
            1,
            "ssl_handshake_status: -516",
            "ssl_handshake_status: -516",
        )
        .unwrap_or_else(|| panic!("X509 code not read"));
        assert!(f.cert && f.error);
        // Zero is SSL_OK.
        assert!(
            tlsdiag::classify(1, "ssl_handshake_status: 0", "ssl_handshake_status: 0").is_none()
        );
    }
}
