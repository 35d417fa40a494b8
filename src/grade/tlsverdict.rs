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
    if echoes.is_empty() {
        return Some(reason);
    }
    Some(format!(
        "{reason}; then HTTPClient printed {}",
        echoes.join(", ")
    ))
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
}
