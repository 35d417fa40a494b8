//! mbedTLS's own debug trace (`mbedtls_debug_set_threshold`, NodeMCU's `TLS<2> (heap=8968 ):`,
//! ESP-IDF's `mbedtls: ssl_tls.c:…` with the debug option on): lines that name the source file
//! and line (`ssl_tls.c:2541`, `ssl_cli.c:`, `ssl_msg.c:`, `ssl_tls13_client.c:`) and narrate
//! the handshake step by step. Its `f_recv(_timeout)() returned 5` is a read of five bytes, not
//! a timeout: only a negative return (`returned -29184 (-0x7200)`) or an `error`/`failed`
//! message in the trace is a failure.

/// The `ssl_tls.c:2541`-style place of an mbedTLS trace line, when the line has one.
fn place(text: &str) -> Option<&str> {
    text.split_whitespace().find(|w| {
        let Some((file, line)) = w.split_once(".c:") else {
            return false;
        };
        let file = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let known = [
            "ssl_", "x509", "pk", "rsa", "ecp", "ecdh", "bignum", "cipher", "md",
        ]
        .iter()
        .any(|p| file.starts_with(p));
        known && !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
    })
}

/// An mbedTLS trace line that narrates and fails nothing: a non-negative return, a function's
/// `=>`/`<=`, a dump. Such a line is no error whatever words it holds (`f_recv(_timeout)`).
pub(crate) fn narrates(text: &str) -> bool {
    let Some(at) = place(text) else {
        return false;
    };
    let rest = text.split_once(at).map_or("", |(_, r)| r);
    let lower = rest.to_ascii_lowercase();
    if let Some((_, ret)) = lower.split_once("returned ") {
        return !ret.trim_start().starts_with('-');
    }
    !["error", "fail", "alert", "bad ", "invalid"]
        .iter()
        .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_that_narrates_is_no_error() {
        for l in [
            "TLS<2> (heap=8968 ): ssl_tls.c:2541 ssl->f_recv(_timeout)() returned 5 (-0xfffffffb)",
            "TLS<2> (heap=8968 ): ssl_tls.c:2561 <= fetch input",
            "I (4567) mbedtls: ssl_cli.c:3373 => parse server hello",
            "ssl_msg.c:2104 ssl->f_recv(_timeout)() returned 0 (-0x0000)",
            "D (1200) mbedtls: ../library/ssl_tls13_client.c:1120 <= write client hello",
        ] {
            assert!(narrates(l), "{l}");
        }
        for l in [
            "TLS<1> (heap=8968 ): ssl_tls.c:4427 mbedtls_ssl_read_record() returned -29184 (-0x7200)",
            "ssl_cli.c:1556 bad server hello message",
            "ssl_tls.c:4711 got an alert message, type: [2:40]",
            "ssl_tls.c:5032 x509_verify_cert() returned -9984 (-0x2700)",
            "mbedtls_ssl_handshake returned -0x7200",
            "main.c:12 f_recv(_timeout) returned 5",
            "TLS connection timeout",
        ] {
            assert!(!narrates(l), "{l}");
        }
    }
}
