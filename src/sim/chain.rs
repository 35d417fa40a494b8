//! The mock server's certificate chain: root → intermediate → leaf, generated with rcgen (ring) and
//! kept in a directory so pins made from one run still hold in the next.
//!
//! The root key is thrown away once the intermediate is signed (as a real CA keeps it offline); the
//! intermediate key is kept (`intermediate.key`, 0600) so the leaf can be re-issued from the same
//! intermediate, which is exactly the event that breaks a leaf pin and leaves a CA pin working.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Subject CN of the generated root.
pub const ROOT_CN: &str = "espcheck Mock Root CA";
/// Subject CN of the generated intermediate.
pub const INTERMEDIATE_CN: &str = "espcheck Mock Intermediate CA";
/// Organisation on the CA certificates.
const ORG: &str = "espcheck";
/// Leaf lifetime: what Let's Encrypt and the CDNs issue today.
const LEAF_DAYS: i64 = 90;

/// The files of a chain directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPaths {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub intermediate: PathBuf,
    pub intermediate_key: PathBuf,
    pub leaf: PathBuf,
    pub leaf_key: PathBuf,
    /// Leaf + intermediate: exactly what the server sends.
    pub chain: PathBuf,
}

impl ChainPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        ChainPaths {
            dir: dir.to_path_buf(),
            root: dir.join("root.pem"),
            intermediate: dir.join("intermediate.pem"),
            intermediate_key: dir.join("intermediate.key"),
            leaf: dir.join("leaf.pem"),
            leaf_key: dir.join("leaf.key"),
            chain: dir.join("chain.pem"),
        }
    }
}

/// What the leaf must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// The host the leaf is for (its CN and first SAN).
    pub host: String,
    /// Issue a leaf whose validity ended yesterday.
    pub expired: bool,
}

impl LeafSpec {
    /// A valid leaf for `host`.
    pub fn new(host: impl Into<String>) -> Self {
        LeafSpec {
            host: host.into(),
            expired: false,
        }
    }

    /// rcgen takes any IA5 string; a client can only ask for a DNS name or an address.
    pub fn validate(&self) -> Result<()> {
        match rustls_pki_types::ServerName::try_from(self.host.as_str()) {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Usage(format!(
                "--host `{}` is not a DNS name or an IP address",
                self.host
            ))),
        }
    }

    /// The leaf's SANs: the host plus the loopback names, so a local client can verify by address.
    pub fn sans(&self) -> Vec<String> {
        let mut sans = vec![self.host.clone()];
        for extra in ["localhost", "127.0.0.1", "::1"] {
            if !sans.iter().any(|s| s.eq_ignore_ascii_case(extra)) {
                sans.push(extra.to_owned());
            }
        }
        sans
    }
}

/// A generated (or loaded) chain, in memory. `Debug` leaves the keys out.
#[derive(Clone)]
pub struct MockPki {
    pub root: CertificateDer<'static>,
    pub intermediate: CertificateDer<'static>,
    pub leaf: CertificateDer<'static>,
    /// The leaf's private key, PKCS#8 DER.
    leaf_key: Vec<u8>,
    /// The intermediate's private key (PEM), kept to re-issue the leaf.
    intermediate_key_pem: String,
}

impl std::fmt::Debug for MockPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockPki")
            .field("root", &subject(&self.root))
            .field("intermediate", &subject(&self.intermediate))
            .field("leaf", &subject(&self.leaf))
            .field("leaf_sha1", &self.leaf_sha1_colon())
            .finish_non_exhaustive()
    }
}

impl MockPki {
    /// Generate a fresh chain for `spec`, valid around `now`.
    pub fn generate(spec: &LeafSpec, now: OffsetDateTime) -> Result<MockPki> {
        let root_key = KeyPair::generate().map_err(gen_err)?;
        let mut root_params = ca_params(ROOT_CN, None, now, 3650)?;
        root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root_cert = root_params.self_signed(&root_key).map_err(gen_err)?;
        let root_issuer = Issuer::new(root_params, root_key);

        let int_key = KeyPair::generate().map_err(gen_err)?;
        let int_params = ca_params(INTERMEDIATE_CN, Some(0), now, 1825)?;
        let int_cert = int_params
            .signed_by(&int_key, &root_issuer)
            .map_err(gen_err)?;

        let mut chain = MockPki {
            root: root_cert.der().clone(),
            intermediate: int_cert.der().clone(),
            leaf: CertificateDer::from(Vec::new()),
            leaf_key: Vec::new(),
            intermediate_key_pem: int_key.serialize_pem(),
        };
        chain.reissue_leaf(spec, now)?;
        Ok(chain)
    }

    /// Issue a new leaf (new key) from the same intermediate.
    pub fn reissue_leaf(&mut self, spec: &LeafSpec, now: OffsetDateTime) -> Result<()> {
        let int_key = KeyPair::from_pem(&self.intermediate_key_pem).map_err(gen_err)?;
        let issuer = Issuer::from_ca_cert_der(&self.intermediate, int_key).map_err(gen_err)?;
        spec.validate()?;
        let leaf_key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::new(spec.sans()).map_err(|e| {
            Error::Usage(format!("--host {}: not a valid DNS name: {e}", spec.host))
        })?;
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.host.as_str());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        if spec.expired {
            params.not_before = now - Duration::days(LEAF_DAYS + 1);
            params.not_after = now - Duration::days(1);
        } else {
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(LEAF_DAYS);
        }
        let cert = params.signed_by(&leaf_key, &issuer).map_err(gen_err)?;
        self.leaf = cert.der().clone();
        self.leaf_key = leaf_key.serialize_der();
        Ok(())
    }

    /// The certificates the server sends: leaf, then intermediate (never the root).
    pub fn served(&self) -> Vec<CertificateDer<'static>> {
        vec![self.leaf.clone(), self.intermediate.clone()]
    }

    /// The leaf's key in the form rustls wants.
    pub fn leaf_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()))
    }

    /// SHA-1 of the leaf's DER: what `setFingerprint` pins.
    pub fn leaf_sha1(&self) -> [u8; 20] {
        Sha1::digest(self.leaf.as_ref()).into()
    }

    /// The leaf's SHA-1 as `AA:BB:…`, ready to paste into `setFingerprint`.
    pub fn leaf_sha1_colon(&self) -> String {
        colon_hex(&self.leaf_sha1())
    }

    /// Load the chain from `dir` if it is there and still fits `spec`; otherwise generate what is
    /// missing and write it. Root and intermediate are reused whenever they and the intermediate key
    /// are present; the leaf is re-issued when it is missing, for another host, or its expiry state
    /// differs from `spec`.
    pub fn load_or_create(dir: &Path, spec: &LeafSpec, now: OffsetDateTime) -> Result<MockPki> {
        spec.validate()?;
        let paths = ChainPaths::in_dir(dir);
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, &e))?;
        let have_ca =
            paths.root.exists() && paths.intermediate.exists() && paths.intermediate_key.exists();
        if !have_ca {
            let chain = MockPki::generate(spec, now)?;
            chain.write(&paths)?;
            return Ok(chain);
        }
        let root = read_cert(&paths.root)?;
        let intermediate = read_cert(&paths.intermediate)?;
        let intermediate_key_pem = std::fs::read_to_string(&paths.intermediate_key)
            .map_err(|e| Error::file(&paths.intermediate_key, &e))?;
        KeyPair::from_pem(&intermediate_key_pem)
            .map_err(|e| Error::input(paths.intermediate_key.display(), e))?;
        let mut chain = MockPki {
            root,
            intermediate,
            leaf: CertificateDer::from(Vec::new()),
            leaf_key: Vec::new(),
            intermediate_key_pem,
        };
        match load_leaf(&paths, &chain.intermediate, spec, now) {
            Some((leaf, key)) => {
                chain.leaf = leaf;
                chain.leaf_key = key.secret_pkcs8_der().to_vec();
            }
            None => {
                chain.reissue_leaf(spec, now)?;
                chain.write_leaf(&paths)?;
            }
        }
        Ok(chain)
    }

    /// Write every file of the chain into `paths`.
    pub fn write(&self, paths: &ChainPaths) -> Result<()> {
        write_file(
            &paths.root,
            pem("CERTIFICATE", &self.root).as_bytes(),
            0o644,
        )?;
        write_file(
            &paths.intermediate,
            pem("CERTIFICATE", &self.intermediate).as_bytes(),
            0o644,
        )?;
        write_file(
            &paths.intermediate_key,
            self.intermediate_key_pem.as_bytes(),
            0o600,
        )?;
        self.write_leaf(paths)
    }

    /// Write the leaf, its key and the served chain (after a re-issue).
    pub fn write_leaf(&self, paths: &ChainPaths) -> Result<()> {
        write_file(
            &paths.leaf_key,
            pem("PRIVATE KEY", &self.leaf_key).as_bytes(),
            0o600,
        )?;
        write_file(
            &paths.leaf,
            pem("CERTIFICATE", &self.leaf).as_bytes(),
            0o644,
        )?;
        let chain_pem = format!(
            "{}{}",
            pem("CERTIFICATE", &self.leaf),
            pem("CERTIFICATE", &self.intermediate)
        );
        write_file(&paths.chain, chain_pem.as_bytes(), 0o644)
    }
}

/// `AA:BB:…` upper-case hex.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A certificate's subject as `CN=…, O=…`, or `?` when it does not parse.
pub fn subject(der: &[u8]) -> String {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => cert.subject().to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// A certificate's notAfter as RFC 3339, or `?`.
pub fn not_after(der: &[u8]) -> String {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .and_then(|(_, c)| {
            c.validity()
                .not_after
                .to_datetime()
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn ca_params(
    cn: &str,
    path_len: Option<u8>,
    now: OffsetDateTime,
    days: i64,
) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORG);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = match path_len {
        Some(n) => IsCa::Ca(BasicConstraints::Constrained(n)),
        None => IsCa::Ca(BasicConstraints::Unconstrained),
    };
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = path_len.is_some();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days);
    Ok(params)
}

/// The stored leaf and key, when they still fit: issued by `intermediate`, for `spec.host`, in the
/// requested expiry state, and the key belongs to the certificate.
fn load_leaf(
    paths: &ChainPaths,
    intermediate: &CertificateDer<'_>,
    spec: &LeafSpec,
    now: OffsetDateTime,
) -> Option<(CertificateDer<'static>, PrivatePkcs8KeyDer<'static>)> {
    let leaf = CertificateDer::from_pem_file(&paths.leaf).ok()?;
    let key = PrivatePkcs8KeyDer::from_pem_file(&paths.leaf_key).ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let (_, int) = x509_parser::parse_x509_certificate(intermediate.as_ref()).ok()?;
    if cert.issuer().as_raw() != int.subject().as_raw() {
        return None;
    }
    let expired = cert.validity().not_after.to_datetime() < now;
    if expired != spec.expired {
        return None;
    }
    let names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
                x509_parser::extensions::GeneralName::IPAddress(ip) => ip_text(ip),
                other => other.to_string(),
            })
            .collect(),
        _ => return None,
    };
    if !spec
        .sans()
        .iter()
        .all(|want| names.iter().any(|n| n.eq_ignore_ascii_case(want)))
    {
        return None;
    }
    let pair = KeyPair::try_from(&key).ok()?;
    if pair.public_key_raw() != cert.public_key().subject_public_key.data.as_ref() {
        return None;
    }
    Some((leaf, key))
}

fn ip_text(raw: &[u8]) -> String {
    match raw.len() {
        4 => std::net::Ipv4Addr::from([raw[0], raw[1], raw[2], raw[3]]).to_string(),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            std::net::Ipv6Addr::from(b).to_string()
        }
        _ => String::new(),
    }
}

fn read_cert(path: &Path) -> Result<CertificateDer<'static>> {
    CertificateDer::from_pem_file(path).map_err(|e| Error::input(path.display(), pem_reason(&e)))
}

fn pem_reason(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => crate::util::io_reason(io),
        rustls_pki_types::pem::Error::NoItemsFound => "no certificate in the file".to_owned(),
        other => format!("not a PEM file ({other:?})"),
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Atomic write, then the mode we mean (the temporary file is created 0600).
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    crate::util::write_atomic(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::file(path, &e))
}

fn gen_err(e: rcgen::Error) -> Error {
    Error::env("certificate generation", e)
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_chain_verifies_to_the_root_and_names_the_host() {
        let now = OffsetDateTime::now_utc();
        let chain = MockPki::generate(&LeafSpec::new("api.github.com"), now).unwrap();
        let anchor = webpki::anchor_from_trusted_cert(&chain.root).unwrap();
        let ee = webpki::EndEntityCert::try_from(&chain.leaf).unwrap();
        let t = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            now.unix_timestamp() as u64,
        ));
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            std::slice::from_ref(&chain.intermediate),
            t,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .unwrap();
        for name in ["api.github.com", "localhost", "127.0.0.1", "::1"] {
            let sn = rustls_pki_types::ServerName::try_from(name).unwrap();
            ee.verify_is_valid_for_subject_name(&sn).unwrap();
        }
    }

    #[test]
    fn directory_is_reused_and_leaf_reissued_only_when_it_no_longer_fits() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let spec = LeafSpec::new("api.github.com");
        let a = MockPki::load_or_create(dir.path(), &spec, now).unwrap();
        let b = MockPki::load_or_create(dir.path(), &spec, now).unwrap();
        assert_eq!(a.leaf, b.leaf, "a present chain is reused");
        assert_eq!(a.root, b.root);
        let paths = ChainPaths::in_dir(dir.path());
        for (p, mode) in [
            (&paths.leaf_key, 0o600),
            (&paths.intermediate_key, 0o600),
            (&paths.leaf, 0o644),
        ] {
            let m = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{}", p.display());
        }
        let expired = LeafSpec {
            expired: true,
            ..spec.clone()
        };
        let c = MockPki::load_or_create(dir.path(), &expired, now).unwrap();
        assert_ne!(c.leaf, a.leaf, "an expired leaf was asked for");
        assert_eq!(c.intermediate, a.intermediate, "same intermediate");
        let other =
            MockPki::load_or_create(dir.path(), &LeafSpec::new("example.com"), now).unwrap();
        assert_ne!(other.leaf, c.leaf);
        assert_eq!(other.root, a.root);
    }
}
