//! Certificate-path verification, pure: a leaf, the certificates sent with it, the anchors and the
//! time go in; a verdict in words a firmware engineer understands comes out. `tls::trust` (local
//! anchors) and `check` (the pinned certificate as the only anchor) both verify here.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls_pki_types::{CertificateDer, Der, ServerName, TrustAnchor, UnixTime};

/// The ring provider: the one crypto backend in the tree.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Nothing was sent.
    #[error("the chain is empty")]
    Empty,
    /// The leaf is not something webpki can read.
    #[error("the leaf cannot be parsed as an X.509 certificate: {0}")]
    Unparsable(String),
    /// No path to any anchor.
    #[error("unknown issuer: no path from the chain to a trust anchor")]
    UnknownIssuer,
    /// A certificate on the path has expired.
    #[error("a certificate in the chain has expired")]
    Expired,
    /// A certificate on the path is not valid yet (or the clock is wrong).
    #[error("a certificate in the chain is not valid yet (or this machine's clock is behind)")]
    NotValidYet,
    /// A signature on the path does not verify.
    #[error("a signature in the chain does not verify")]
    BadSignature,
    /// Anything else webpki refuses, in words.
    #[error("{0}")]
    Other(String),
}

/// Verify `leaf` with `intermediates` (as sent) against `anchors` at `now`.
pub fn verify_chain(
    leaf: &[u8],
    intermediates: &[&[u8]],
    anchors: &RootCertStore,
    now: UnixTime,
) -> Result<(), VerifyError> {
    let ee = CertificateDer::from(leaf.to_vec());
    let parsed =
        ParsedCertificate::try_from(&ee).map_err(|e| VerifyError::Unparsable(describe(&e)))?;
    let intermediates: Vec<CertificateDer<'static>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.to_vec()))
        .collect();
    let algs = provider().signature_verification_algorithms;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        anchors,
        &intermediates,
        now,
        algs.all,
    )
    .map_err(|e| classify(&e))
}

/// Verify a chain (leaf first, as sent) whose only anchor is `anchor`.
pub fn verify_with_anchor(
    anchor: TrustAnchor<'static>,
    sent: &[&[u8]],
    now: UnixTime,
) -> Result<(), VerifyError> {
    let (leaf, rest) = sent.split_first().ok_or(VerifyError::Empty)?;
    let roots = RootCertStore {
        roots: vec![anchor],
    };
    verify_chain(leaf, rest, &roots, now)
}

/// Is `leaf` valid for `host`? `None` when `host` is not a DNS name or IP address, or the leaf
/// cannot be read.
pub fn name_ok(leaf: &[u8], host: &str) -> Option<bool> {
    let ee = CertificateDer::from(leaf.to_vec());
    let parsed = ParsedCertificate::try_from(&ee).ok()?;
    let name = ServerName::try_from(host.to_owned()).ok()?;
    Some(rustls::client::verify_server_name(&parsed, &name).is_ok())
}

/// A webpki trust anchor from a subject Name DER and an SPKI DER, each with its SEQUENCE header
/// (webpki wants the contents).
pub fn anchor_of(subject_der: &[u8], spki_der: &[u8]) -> Option<TrustAnchor<'static>> {
    Some(TrustAnchor {
        subject: Der::from(sequence_contents(subject_der)?.to_vec()),
        subject_public_key_info: Der::from(sequence_contents(spki_der)?.to_vec()),
        name_constraints: None,
    })
}

/// The contents of a DER SEQUENCE, without its tag and length.
pub fn sequence_contents(der: &[u8]) -> Option<&[u8]> {
    if der.first() != Some(&0x30) {
        return None;
    }
    let first = *der.get(1)?;
    let header = if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7f)
    };
    der.get(header..)
}

fn classify(err: &rustls::Error) -> VerifyError {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => VerifyError::UnknownIssuer,
            C::Expired | C::ExpiredContext { .. } => VerifyError::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => VerifyError::NotValidYet,
            C::BadSignature => VerifyError::BadSignature,
            _ => VerifyError::Other(describe(err)),
        },
        _ => VerifyError::Other(describe(err)),
    }
}

/// A webpki/rustls refusal in words, never a Rust debug name.
fn describe(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    use rustls::OtherError;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::BadEncoding => "a certificate is not valid DER (malformed or truncated)".to_owned(),
            C::Expired | C::ExpiredContext { .. } => "a certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "a certificate is not valid yet".to_owned()
            }
            C::Revoked => "a certificate is revoked".to_owned(),
            C::UnhandledCriticalExtension => {
                "a certificate carries a critical extension webpki does not handle".to_owned()
            }
            C::UnknownIssuer => "unknown issuer".to_owned(),
            C::BadSignature => "a signature does not verify".to_owned(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the leaf is not valid for this host name".to_owned()
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "a certificate is not allowed for TLS server authentication (extended key usage)"
                    .to_owned()
            }
            C::Other(OtherError(inner)) => other_words(&inner.to_string()),
            other => other_words(&format!("{other:?}")),
        },
        rustls::Error::InvalidCertRevocationList(_) => "a revocation list is invalid".to_owned(),
        other => other.to_string(),
    }
}

/// webpki's own error names, which reach us only as text, in words.
fn other_words(name: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        (
            "CaUsedAsEndEntity",
            "the first certificate is a CA certificate, not a server's leaf",
        ),
        (
            "EndEntityUsedAsCa",
            "a leaf certificate appears where a CA should sign",
        ),
        (
            "UnsupportedCriticalExtension",
            "a certificate carries a critical extension webpki does not handle",
        ),
        (
            "UnsupportedSignatureAlgorithm",
            "a certificate is signed with an algorithm no board supports (or webpki does not)",
        ),
        (
            "UnsupportedCertVersion",
            "a certificate is not X.509 version 3",
        ),
        (
            "PathLenConstraintViolated",
            "a CA's path-length constraint is exceeded",
        ),
        (
            "NameConstraintViolation",
            "a CA's name constraints exclude this leaf",
        ),
        ("BadDer", "a certificate is not valid DER"),
        ("BadEncoding", "a certificate is not valid DER"),
        (
            "MaximumPathDepthExceeded",
            "the chain is longer than webpki will follow",
        ),
        (
            "RequiredEkuNotFound",
            "a certificate is not allowed for TLS server authentication (extended key usage)",
        ),
    ];
    WORDS
        .iter()
        .find(|(n, _)| name.contains(n))
        .map(|(_, w)| (*w).to_owned())
        .unwrap_or_else(|| format!("webpki refuses the chain ({name})"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn webpki_names_become_words() {
        assert!(other_words("Other(OtherError(CaUsedAsEndEntity))").contains("CA certificate"));
        assert!(
            !describe(&rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadEncoding
            ))
            .contains("BadEncoding")
        );
    }

    #[test]
    fn an_empty_chain_is_said_so() {
        let anchor = TrustAnchor {
            subject: Der::from(vec![]),
            subject_public_key_info: Der::from(vec![]),
            name_constraints: None,
        };
        assert_eq!(
            verify_with_anchor(
                anchor,
                &[],
                UnixTime::since_unix_epoch(std::time::Duration::ZERO)
            ),
            Err(VerifyError::Empty)
        );
    }
}
