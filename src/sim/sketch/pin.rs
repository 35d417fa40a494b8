//! The boards' pin semantics, as pure functions over the presented chain and `now`:
//! `setFingerprint` (SHA-1 of the first certificate, nothing else), `setTrustAnchors` /
//! `setCACert` (any CA certificate in the list is an anchor, intermediates included), insecure.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha1::{Digest, Sha1};

use super::Board;
use crate::sim::chain::colon_hex;

/// How the sketch trusts the server.
#[derive(Debug, Clone)]
pub enum Trust {
    /// `setFingerprint("…")`: the string exactly as it would sit in the sketch.
    Fingerprint(String),
    /// `setTrustAnchors(X509List)` / `setCACert(pem)`: the PEM text and its certificates.
    Anchors {
        pem: String,
        certs: Vec<CertificateDer<'static>>,
    },
    /// `setInsecure()`.
    Insecure,
}

impl Trust {
    /// `X509List(pem)` / `setCACert(pem)`: every certificate in the PEM text is an anchor.
    pub fn anchors(pem: &str) -> Result<Trust, String> {
        use rustls_pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM certificate file ({e})"))?;
        if certs.is_empty() {
            return Err("no PEM certificate in the file".to_owned());
        }
        if let Some(i) = certs
            .iter()
            .position(|c| x509_parser::parse_x509_certificate(c.as_ref()).is_err())
        {
            return Err(format!("certificate {} is not valid X.509", i + 1));
        }
        Ok(Trust::Anchors {
            pem: pem.to_owned(),
            certs,
        })
    }
}

/// Parse a fingerprint exactly as the esp8266 core's `setFingerprint(const char*)` does: 20 hex
/// pairs in either case, each followed by zero or more spaces or colons, and nothing else. A
/// leading separator, dashes, a short string, trailing text or a SHA-256 make it return false,
/// which leaves the client with no trust mode, so `connect()` fails.
///
/// The axTLS `verify()` of cores up to 2.4 was laxer (it skipped leading separators and ignored
/// trailing text); applying the stricter grammar everywhere means a pin accepted here works on
/// every core.
pub fn parse_set_fingerprint(text: &str) -> Option<[u8; 20]> {
    // A C string ends at its first NUL.
    let b = text.split('\0').next().unwrap_or("").as_bytes();
    let mut fp = [0u8; 20];
    let mut i = 0;
    let mut idx = 0;
    while idx < 20 {
        let Some(&c) = b.get(i) else { break };
        let &d = b.get(i + 1)?;
        i += 2;
        fp[idx] = (nibble(c)? << 4) | nibble(d)?;
        idx += 1;
        while matches!(b.get(i), Some(b' ' | b':')) {
            i += 1;
        }
    }
    (idx == 20 && i == b.len()).then_some(fp)
}

fn nibble(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Why the board refused the server, one line.
pub type Refusal = String;

/// Everything the check needs besides the chain.
#[derive(Debug, Clone)]
pub struct PinCheck {
    pub trust: Trust,
    pub board: Board,
    /// Also match the host name in fingerprint mode (axTLS `verify(fp, host)`, cores ≤ 2.4).
    pub fingerprint_checks_host: bool,
    /// Built once from the anchors; `None` unless `trust` is `Anchors`.
    webpki: Option<Arc<WebPkiServerVerifier>>,
}

impl PinCheck {
    /// Prepare a check; fails only when the anchors cannot make a verifier.
    pub fn new(trust: Trust, board: Board, fingerprint_checks_host: bool) -> Result<Self, String> {
        let webpki = match &trust {
            Trust::Anchors { certs, .. } => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certs {
                    // BearSSL and mbedTLS store an anchor as name + key, so an intermediate is as
                    // good an anchor as a root; webpki's anchor_from_trusted_cert does the same.
                    roots
                        .add(cert.clone())
                        .map_err(|e| format!("certificate not usable as an anchor: {e}"))?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                Some(
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
            }
            _ => None,
        };
        Ok(PinCheck {
            trust,
            board,
            fingerprint_checks_host,
            webpki,
        })
    }

    /// Decide whether the board accepts `chain` (as sent, leaf first) from `host` at `now`.
    pub fn check(
        &self,
        chain: &[CertificateDer<'_>],
        host: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), Refusal> {
        let Some(leaf) = chain.first() else {
            return Err("the server sent no certificate".to_owned());
        };
        match &self.trust {
            Trust::Insecure => Ok(()),
            Trust::Fingerprint(text) => {
                let Some(want) = parse_set_fingerprint(text) else {
                    return Err(format!(
                        "fingerprint `{text}` is not one setFingerprint accepts (20 hex pairs, \
                         each followed by optional spaces or colons), so the board has no pin"
                    ));
                };
                let got: [u8; 20] = Sha1::digest(leaf.as_ref()).into();
                if got != want {
                    return Err(format!(
                        "leaf SHA-1 {} does not match the pin {}",
                        colon_hex(&got),
                        colon_hex(&want)
                    ));
                }
                if self.fingerprint_checks_host {
                    host_matches(leaf, host)?;
                }
                Ok(())
            }
            Trust::Anchors { certs, .. } => {
                // A leaf given as the anchor is direct trust: no path to build, no dates.
                if certs.iter().any(|a| a.as_ref() == leaf.as_ref()) {
                    return host_matches(leaf, host);
                }
                if self.board == Board::Esp32 {
                    expired_anchor(certs, chain, now)?;
                }
                let Some(verifier) = &self.webpki else {
                    return Err("no trust anchors".to_owned());
                };
                verifier
                    .verify_server_cert(leaf, &chain[1..], host, &[], now)
                    .map(|_| ())
                    .map_err(|e| format!("chain does not verify against the anchors: {e}"))
            }
        }
    }
}

fn host_matches(leaf: &CertificateDer<'_>, host: &ServerName<'_>) -> Result<(), Refusal> {
    let cert = rustls::server::ParsedCertificate::try_from(leaf)
        .map_err(|e| format!("leaf does not parse: {e}"))?;
    rustls::client::verify_server_name(&cert, host)
        .map_err(|e| format!("leaf is not valid for {}: {e}", host.to_str()))
}

/// mbedTLS checks an anchor's own dates (BearSSL does not): an expired anchor that issued a
/// presented certificate fails the handshake.
fn expired_anchor(
    anchors: &[CertificateDer<'_>],
    chain: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<(), Refusal> {
    let now = now.as_secs() as i64;
    let issuers: Vec<Vec<u8>> = chain
        .iter()
        .filter_map(|c| x509_parser::parse_x509_certificate(c.as_ref()).ok())
        .map(|(_, c)| c.issuer().as_raw().to_vec())
        .collect();
    for anchor in anchors {
        let Ok((_, a)) = x509_parser::parse_x509_certificate(anchor.as_ref()) else {
            continue;
        };
        if !issuers.iter().any(|i| i.as_slice() == a.subject().as_raw()) {
            continue;
        }
        let v = a.validity();
        if now > v.not_after.timestamp() || now < v.not_before.timestamp() {
            return Err(format!(
                "anchor {} is outside its validity ({} to {})",
                a.subject(),
                v.not_before,
                v.not_after
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEX: &str = "CF0598 89CAFF8ED85E5CE0C2E4F7E6C3C750DD5C";

    #[test]
    fn set_fingerprint_acceptance_table() {
        let accepted = [
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C",
            "CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C",
            "cf:05:98:89:ca:ff:8e:d8:5e:5c:e0:c2:e4:f7:e6:c3:c7:50:dd:5c",
            "CF059889CAFF8ED85E5CE0C2E4F7E6C3C750DD5C",
            "CF: 05  98::89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C",
            // Separators after the last pair are skipped too.
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C  ",
            "CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C:",
        ];
        let rejected = [
            "",
            " CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C",
            ":CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C",
            "CF-05-98-89-CA-FF-8E-D8-5E-5C-E0-C2-E4-F7-E6-C3-C7-50-DD-5C",
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD",
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5",
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C x",
            "CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C\n",
            "C F05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C",
            "0x CF 05 98 89 CA FF 8E D8 5E 5C E0 C2 E4 F7 E6 C3 C7 50 DD 5C",
            // A SHA-256 is 32 pairs: the 21st pair is trailing text.
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        ];
        let want = hex::decode(HEX.replace(' ', "")).unwrap();
        for text in accepted {
            assert_eq!(
                parse_set_fingerprint(text).map(|f| f.to_vec()),
                Some(want.clone()),
                "should accept {text:?}"
            );
        }
        for text in rejected {
            assert_eq!(parse_set_fingerprint(text), None, "should reject {text:?}");
        }
    }

    #[test]
    fn intermediate_and_leaf_are_anchors_and_fingerprint_ignores_host_and_dates() {
        use crate::sim::chain::{LeafSpec, MockPki};
        let now = time::OffsetDateTime::now_utc();
        let unix =
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.unix_timestamp() as u64));
        let chain = MockPki::generate(
            &LeafSpec {
                host: "api.github.com".into(),
                expired: true,
            },
            now,
        )
        .unwrap();
        let served = chain.served();
        let right = ServerName::try_from("api.github.com").unwrap();
        let wrong = ServerName::try_from("example.com").unwrap();
        let fp = PinCheck::new(
            Trust::Fingerprint(chain.leaf_sha1_colon()),
            Board::Esp8266,
            false,
        )
        .unwrap();
        assert_eq!(
            fp.check(&served, &wrong, unix),
            Ok(()),
            "no host, no date check"
        );
        let anchors = |certs: Vec<CertificateDer<'static>>| Trust::Anchors {
            pem: String::new(),
            certs,
        };
        let by_int = PinCheck::new(
            anchors(vec![chain.intermediate.clone()]),
            Board::Esp8266,
            false,
        )
        .unwrap();
        let err = by_int.check(&served, &right, unix).unwrap_err();
        assert!(
            err.contains("xpired"),
            "the leaf's dates are checked: {err}"
        );
        let mut fresh = chain.clone();
        fresh
            .reissue_leaf(&LeafSpec::new("api.github.com"), now)
            .unwrap();
        let served = fresh.served();
        assert_eq!(by_int.check(&served, &right, unix), Ok(()));
        assert!(
            by_int.check(&served, &wrong, unix).is_err(),
            "host is checked"
        );
        let by_root =
            PinCheck::new(anchors(vec![chain.root.clone()]), Board::Esp32, false).unwrap();
        assert_eq!(by_root.check(&served, &right, unix), Ok(()));
        let direct =
            PinCheck::new(anchors(vec![fresh.leaf.clone()]), Board::Esp8266, false).unwrap();
        assert_eq!(direct.check(&served, &right, unix), Ok(()));
    }
}
