//! One certificate: its DER, the facts a firmware author needs, and its fingerprints.

use base64::Engine as _;
use rustls_pki_types::UnixTime;
use sha1::Digest as _;
use x509_parser::prelude::*;

use super::fingerprint::Fingerprint;

/// A parsed X.509 certificate. Everything is computed once from the DER at parse time, so the
/// report, the code generators and `check` all see the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certificate's DER bytes, exactly as served or read.
    pub der: Vec<u8>,
    /// Subject as a one-line RFC 4514 string, most specific first (`CN=…, O=…, C=…`).
    pub subject: String,
    /// Issuer, in the same form.
    pub issuer: String,
    /// The subject's raw DER (what BearSSL trust anchors and the IDF bundle store).
    pub subject_der: Vec<u8>,
    /// The issuer's raw DER.
    pub issuer_der: Vec<u8>,
    /// Serial number as upper-case hex.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// `RSA 2048`, `EC P-256`, `Ed25519`, ...
    pub key: String,
    /// Public key algorithm family and size, for board-limit checks.
    pub key_kind: KeyKind,
    /// Signature algorithm, in OpenSSL's naming (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`).
    pub signature: String,
    /// Subject equals issuer and the certificate verifies under its own key.
    pub self_signed: bool,
    /// Basic constraints say CA.
    pub is_ca: bool,
    /// DNS and IP subject alternative names.
    pub sans: Vec<String>,
    /// The SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// SHA-1 over the DER.
    pub sha1: Fingerprint,
    /// SHA-256 over the DER.
    pub sha256: Fingerprint,
    /// SHA-256 over the SPKI DER, as base64 (HPKP / public-key pin form).
    pub spki_sha256: String,
}

/// Key family and size in bits (curve size for EC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with this modulus size.
    Rsa(u32),
    /// ECDSA on a named curve of this size (256, 384, 521).
    Ec(u32),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// Anything else.
    Other,
}

/// Why a DER blob is not a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid X.509 certificate ({0})")]
pub struct ParseError(pub String);

impl Certificate {
    /// Parse one DER certificate. Trailing bytes after the certificate are an error: they mean the
    /// input was cut or concatenated wrongly.
    pub fn from_der(der: &[u8]) -> Result<Self, ParseError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| ParseError(short_x509_error(&e)))?;
        if !rest.is_empty() {
            return Err(ParseError(format!(
                "{} stray bytes after the certificate",
                rest.len()
            )));
        }
        let spki = cert.public_key();
        let (key, key_kind) = describe_key(spki);
        let subject_der = cert.subject().as_raw().to_vec();
        let issuer_der = cert.issuer().as_raw().to_vec();
        let self_signed = subject_der == issuer_der && signed_by_own_key(&cert);
        let sans = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .filter_map(general_name)
                    .collect()
            })
            .unwrap_or_default();
        let spki_digest = sha2::Sha256::digest(spki.raw);
        Ok(Certificate {
            subject: rfc4514(cert.subject()),
            issuer: rfc4514(cert.issuer()),
            subject_der,
            issuer_der,
            serial: hex::encode_upper(cert.raw_serial()),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            key,
            key_kind,
            signature: signature_name(&cert.signature_algorithm.algorithm),
            self_signed,
            is_ca: cert.is_ca(),
            sans,
            spki_der: spki.raw.to_vec(),
            sha1: Fingerprint::new(sha1::Sha1::digest(der).to_vec()),
            sha256: Fingerprint::new(sha2::Sha256::digest(der).to_vec()),
            spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki_digest),
            der: der.to_vec(),
        })
    }

    /// The certificate as PEM, 64 columns, LF line ends, with a trailing newline.
    pub fn pem(&self) -> String {
        pem_block("CERTIFICATE", &self.der)
    }

    /// Whole days from `now` to expiry (negative once expired).
    pub fn days_left(&self, now: UnixTime) -> i64 {
        (self.not_after - crate::util::unix_secs(now)).div_euclid(86_400)
    }

    /// Validity period length in days.
    pub fn lifetime_days(&self) -> i64 {
        (self.not_after - self.not_before) / 86_400
    }

    /// Valid at `now`.
    pub fn is_valid_at(&self, now: UnixTime) -> bool {
        let now = crate::util::unix_secs(now);
        self.not_before <= now && now <= self.not_after
    }

    /// The common name, if the subject has one.
    pub fn common_name(&self) -> Option<&str> {
        self.subject
            .split(", ")
            .find_map(|part| part.strip_prefix("CN="))
    }

    /// Did `issuer` sign this certificate? Names must match and the signature must verify.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        if self.issuer_der != issuer.subject_der {
            return false;
        }
        let (Ok((_, me)), Ok((_, them))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        me.verify_signature(Some(them.public_key())).is_ok()
    }
}

/// A self-issued certificate is self-signed when its key identifiers agree (or it names no authority
/// key, as roots usually don't); only when the subject key id is missing is the signature checked (it costs a public-key operation per certificate, which adds up over a
/// 150-root bundle).
fn signed_by_own_key(cert: &X509Certificate<'_>) -> bool {
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(id.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0)
            }
            _ => {}
        }
    }
    match (ski, aki) {
        (Some(s), Some(a)) => s == a,
        // Self-issued with no authority key id: how roots are usually written.
        (_, None) => true,
        (None, Some(_)) => cert.verify_signature(None).is_ok(),
    }
}

/// DER as a PEM block with `label`: 64 columns, LF line ends, trailing newline (as openssl writes).
pub fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 32);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn short_x509_error(err: &nom::Err<X509Error>) -> String {
    match err {
        nom::Err::Incomplete(_) => "the DER ends early".to_owned(),
        nom::Err::Error(e) | nom::Err::Failure(e) => match e {
            X509Error::InvalidCertificate => "bad certificate structure".to_owned(),
            other => other.to_string(),
        },
    }
}

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(d) => Some((*d).to_owned()),
        GeneralName::IPAddress(ip) => match ip.len() {
            4 => Some(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
            16 => <[u8; 16]>::try_from(*ip)
                .ok()
                .map(|b| std::net::Ipv6Addr::from(b).to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// RFC 4514 order (most specific first), with OpenSSL's short attribute names.
fn rfc4514(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let mut parts = Vec::new();
    for rdn in name.iter().collect::<Vec<_>>().into_iter().rev() {
        for attr in rdn.iter() {
            let key = x509_parser::objects::oid2abbrev(attr.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            let value = attr
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|_| format!("#{}", hex::encode(attr.attr_value().data)));
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join(", ")
}

fn describe_key(spki: &SubjectPublicKeyInfo<'_>) -> (String, KeyKind) {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => rsa.key_size() as u32,
                _ => 0,
            };
            (format!("RSA {bits}"), KeyKind::Rsa(bits))
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => ("EC P-256".to_owned(), KeyKind::Ec(256)),
                "1.3.132.0.34" => ("EC P-384".to_owned(), KeyKind::Ec(384)),
                "1.3.132.0.35" => ("EC P-521".to_owned(), KeyKind::Ec(521)),
                other => (format!("EC {other}"), KeyKind::Other),
            }
        }
        "1.3.101.112" => ("Ed25519".to_owned(), KeyKind::Ed25519),
        "1.3.101.113" => ("Ed448".to_owned(), KeyKind::Ed448),
        other => (format!("unknown key {other}"), KeyKind::Other),
    }
}

fn signature_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    let id = oid.to_id_string();
    let name = match id.as_str() {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        _ => return id,
    };
    name.to_owned()
}
