//! Public-key pins: the leaf's SubjectPublicKeyInfo as PEM (`-----BEGIN PUBLIC KEY-----`), what
//! the ESP8266 core's `BearSSL::PublicKey` parses for `setKnownKey`, and the warning every key
//! pin carries.

use super::{CodegenError, HostPins, Stamp, provenance};
use crate::cert::advice::date;

/// Why a key pin is fragile, for stderr and for the comment beside every key.
pub const KEY_PIN_BREAKS: &str = "a public-key pin breaks when the server renews its \
    certificate with a new key, and certbot makes a new key at every renewal by default (unless \
    the server uses --reuse-key)";

/// The same warning as comment lines beside a `PUBKEY_PEM` symbol.
pub const KEY_PIN_COMMENT: [&str; 2] = [
    "A key pin survives reissues that keep the key, but breaks when the server renews with a new",
    "key: certbot makes a new key at every renewal by default (unless --reuse-key).",
];

/// The SPKI DER as a PEM `PUBLIC KEY` block: 64 columns, LF, trailing newline (as `openssl x509
/// -pubkey` prints it).
pub fn pem(spki_der: &[u8]) -> String {
    crate::cert::model::pem_block("PUBLIC KEY", spki_der)
}

/// The `--format public-key` file: per host, `#` comment lines and then the leaf's key. PEM
/// readers (BearSSL's, OpenSSL's) skip text before `-----BEGIN`, so the file loads as it is.
pub fn file(hosts: &[HostPins], stamp: &Stamp) -> Result<String, (String, CodegenError)> {
    let mut lines = provenance::preamble(stamp, "The server's public key (SubjectPublicKeyInfo)");
    lines.push("ESP8266: client.setKnownKey(new BearSSL::PublicKey(pem_text));".to_owned());
    lines.push(format!("Warning: {KEY_PIN_BREAKS}."));
    let mut out = hash_comment(&lines);
    for h in hosts {
        let Some(leaf) = &h.leaf else {
            return Err((
                h.source.origin.clone(),
                CodegenError::NoSuchPin(
                    "holds no leaf certificate, and a public-key pin is the server's own key"
                        .to_owned(),
                ),
            ));
        };
        let title = match &h.source.host {
            Some(host) if *host != h.source.origin => format!("{host}, from {}", h.source.origin),
            Some(host) => host.clone(),
            None => h.source.origin.clone(),
        };
        out.push_str(&hash_comment(&[
            String::new(),
            format!(
                "{title}: the key of {} ({}, certificate expires {}; SPKI SHA-256 {})",
                leaf.subject,
                leaf.key,
                date(leaf.not_after),
                leaf.spki_sha256
            ),
        ]));
        out.push_str(&pem(&leaf.spki_der));
    }
    Ok(out)
}

/// `# `-prefixed lines that no PEM reader can take for a boundary: no control characters and no
/// run of more than two dashes (`--reuse-key` stays readable).
fn hash_comment(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        let mut text = provenance::sanitize(l);
        while text.contains("---") {
            text = text.replace("---", "--");
        }
        if text.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(&text);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn pem_wraps_at_64_and_round_trips() {
        let chain = crate::cert::testutil::chain(90, "Test");
        let text = pem(&chain[0].spki_der);
        assert!(
            text.starts_with("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")
        );
        assert!(text.lines().all(|l| l.len() <= 64));
        use rustls_pki_types::pem::PemObject as _;
        let back =
            rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(text.as_bytes()).unwrap();
        assert_eq!(back.as_ref(), chain[0].spki_der.as_slice());
    }

    #[test]
    fn comments_cannot_open_a_pem_block() {
        let c = hash_comment(&["O=-----BEGIN PUBLIC KEY-----".to_owned(), String::new()]);
        assert_eq!(c, "# O=--BEGIN PUBLIC KEY--\n#\n");
    }
}
