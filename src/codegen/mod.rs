//! Code generators: pins as a C/Arduino header, a Rust module, or an ESP-IDF certificate bundle.
//!
//! Pure: a chain per host and a pin choice come in, bytes go out. Nothing here reads the clock or
//! the environment; the caller passes `now` (for pin choice only) and the generation stamp
//! (`SOURCE_DATE_EPOCH`), so the same input gives the same bytes (reproducible builds; the symbol names are a contract).

mod anchors;
pub mod bearssl_ta;
pub mod c;
pub mod certs_ar;
pub mod idf_bundle;
mod names;
mod provenance;
pub mod pubkey;
pub mod rust;
mod select;

pub use anchors::{NeededBy, Selection};
pub use idf_bundle::Layout;
pub use names::{c_prefix, rust_module};
pub use select::{Pinned, select};

use crate::cert::{Certificate, Chain, Role};
use rustls_pki_types::UnixTime;

/// How many days before the earliest expiry the provenance comment says to regenerate.
pub const REGENERATE_MARGIN_DAYS: i64 = 30;

/// Which certificate `CA_PEM` holds (`--pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum PinChoice {
    /// The pin advice's recommendation (a root if one is known, else the top intermediate).
    Auto,
    /// The leaf itself: direct trust.
    Leaf,
    /// The intermediate that issued the leaf ("the second certificate").
    Intermediate,
    /// The self-signed root, sent or found in a local store.
    Root,
}

impl PinChoice {
    /// `auto`, `leaf`, `intermediate`, `root`.
    pub fn as_str(self) -> &'static str {
        match self {
            PinChoice::Auto => "auto",
            PinChoice::Leaf => "leaf",
            PinChoice::Intermediate => "intermediate",
            PinChoice::Root => "root",
        }
    }
}

/// Where a chain came from, and what to call it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The symbol name (`--name`, else the host or the file stem): `api.github.com` gives the C
    /// prefix `API_GITHUB_COM_` and the Rust module `api_github_com`.
    pub name: String,
    /// The host the pins are for; `None` for a file that names none (a bundle of roots).
    pub host: Option<String>,
    /// `api.github.com:443` or the file name, for the provenance comment.
    pub origin: String,
    /// The chain as served (or listed), with any root a local store supplied appended.
    pub chain: Chain,
}

/// The pins chosen for one source: what the generators write.
#[derive(Debug, Clone)]
pub struct HostPins {
    /// The source they came from.
    pub source: Source,
    /// The leaf, for `FINGERPRINT_*`; `None` when the input holds only CA certificates.
    pub leaf: Option<Certificate>,
    /// What `CA_PEM` holds, in chain order (several only for a file of CA certificates).
    pub pinned: Vec<Pinned>,
    /// What was asked for.
    pub choice: PinChoice,
}

impl HostPins {
    /// The marker line `check` reads back: which symbol the firmware is meant to use, and what it
    /// holds. The other symbols of the host are informational.
    pub fn chosen_marker(&self, symbol: &str) -> String {
        let roles: Vec<&str> = self.pinned.iter().map(|p| p.role.as_str()).collect();
        format!(
            "espcheck: chosen pin {symbol} (--pin {}: {})",
            self.choice.as_str(),
            roles.join(", ")
        )
    }

    /// `CA_NOT_AFTER`: the earliest expiry among the pinned certificates.
    pub fn ca_not_after(&self) -> Option<i64> {
        self.pinned.iter().map(|p| p.cert.not_after).min()
    }

    /// The PEM of every pinned certificate, concatenated.
    pub fn ca_pem(&self) -> String {
        self.pinned.iter().map(|p| p.cert.pem()).collect()
    }

    /// The date before which to regenerate: the earliest expiry of anything pinned (the CA pins
    /// and, when fingerprints are written, the leaf), minus the margin.
    pub fn regenerate_before(&self) -> Option<i64> {
        let earliest = self
            .pinned
            .iter()
            .map(|p| p.cert.not_after)
            .chain(self.leaf.iter().map(|l| l.not_after))
            .min()?;
        Some(earliest - REGENERATE_MARGIN_DAYS * 86_400)
    }
}

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A C/C++ header in the given style.
    C(c::Style),
    /// A Rust module per host.
    Rust,
    /// The ESP-IDF `x509_crt_bundle` binary.
    IdfBundle(Layout),
    /// The same bundle bytes as a C array with a `_len`, for `setCACertBundle(buf, len)`.
    IdfBundleC(Layout),
    /// The ESP8266 core's `certs.ar` (`BearSSL::CertStore`): an `ar` archive of DER certificates.
    CertsAr,
    /// BearSSL trust anchors as C, in `brssl ta`'s layout (`TAs[]`, `TAs_NUM`).
    BearsslTa,
    /// The leaf's public key as PEM, for `setKnownKey`.
    PublicKey,
}

impl Output {
    /// Outputs that are a set of anchors with no per-host symbols (so names cannot clash, and
    /// `--filter`/`--for-hosts` can narrow them).
    pub fn is_anchor_set(self) -> bool {
        matches!(
            self,
            Output::IdfBundle(_) | Output::IdfBundleC(_) | Output::CertsAr | Output::BearsslTa
        )
    }
}

/// Everything a generator needs besides the pins.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// `SOURCE_DATE_EPOCH`, written as the generation time; no time is written without it.
    pub generated_at: Option<i64>,
    /// The espcheck version, for the comment header.
    pub tool_version: String,
}

/// Why pins could not be generated. The message is the part after `error: INPUT: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodegenError {
    /// The requested certificate is not in the chain.
    #[error("{0}")]
    NoSuchPin(String),
    /// Nothing usable in the input.
    #[error("{0}")]
    Empty(String),
    /// Two inputs give the same symbols.
    #[error("{0}")]
    Clash(String),
    /// The bundle cannot be encoded.
    #[error("{0}")]
    Bundle(String),
}

/// The result of a generator: bytes, plus what the user should know.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The output file's bytes.
    pub bytes: Vec<u8>,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
}

/// Choose pins for every source and render them. This is the library entry point `demo` and
/// `gen-cert-header` share; `now` only decides which certificates are still valid to pin. Errors
/// name the source they are about (exit 2).
pub fn generate(
    sources: Vec<Source>,
    choice: PinChoice,
    output: Output,
    stamp: &Stamp,
    now: UnixTime,
) -> crate::Result<Generated> {
    generate_with(sources, choice, output, stamp, now, &Selection::default())
}

/// [`generate`], with the certificates of an anchor-set output (`certs.ar`, BearSSL anchors, the
/// IDF bundle) narrowed by `selection` (`--filter`, `--for-hosts`).
pub fn generate_with(
    sources: Vec<Source>,
    choice: PinChoice,
    output: Output,
    stamp: &Stamp,
    now: UnixTime,
    selection: &Selection,
) -> crate::Result<Generated> {
    generate_inner(sources, choice, output, stamp, now, selection)
        .map_err(|(input, e)| crate::Error::input(input, e))
}

fn generate_inner(
    sources: Vec<Source>,
    choice: PinChoice,
    output: Output,
    stamp: &Stamp,
    now: UnixTime,
    selection: &Selection,
) -> Result<Generated, (String, CodegenError)> {
    if sources.is_empty() {
        return Err((
            "-".to_owned(),
            CodegenError::Empty("nothing to generate".to_owned()),
        ));
    }
    let mut warnings = Vec::new();
    let mut hosts = Vec::with_capacity(sources.len());
    for source in sources {
        let origin = source.origin.clone();
        let bundle = matches!(output, Output::IdfBundle(_) | Output::IdfBundleC(_));
        let (pins, mut w) = select(source, choice, bundle, now).map_err(|e| (origin, e))?;
        warnings.append(&mut w);
        // News only where per-host symbols are written.
        if pins.leaf.is_none() && matches!(output, Output::C(_) | Output::Rust) {
            warnings.push(format!(
                "{}: no leaf certificate, so HOST and FINGERPRINT_* are not written (CA_PEM only)",
                pins.source.origin
            ));
        }
        hosts.push(pins);
    }
    check_clashes(&hosts, output)?;
    if output.is_anchor_set() {
        anchors::narrow(&mut hosts, selection)?;
    }
    for h in &hosts {
        warnings.extend(select::expiry_warnings(h, now));
    }
    let bytes = match output {
        Output::C(style) => c::header(&hosts, style, stamp).into_bytes(),
        Output::Rust => rust::module(&hosts, stamp).into_bytes(),
        Output::IdfBundle(layout) => {
            let (bytes, mut w) = bundle_bytes(&hosts, layout, selection.dedup)?;
            warnings.append(&mut w);
            bytes
        }
        Output::IdfBundleC(layout) => {
            let (bytes, mut w) = bundle_bytes(&hosts, layout, selection.dedup)?;
            warnings.append(&mut w);
            c::bundle_array(&hosts, &bytes, layout, stamp).into_bytes()
        }
        Output::CertsAr => {
            anchors::only_cas(&hosts)?;
            let certs = anchors::distinct(&hosts);
            let ders: Vec<&[u8]> = certs.iter().map(|(c, _)| c.der.as_slice()).collect();
            certs_ar::encode(&ders, stamp.generated_at.unwrap_or(0))
        }
        Output::BearsslTa => {
            let mut entries = Vec::new();
            let mut refused = None;
            for (cert, from) in anchors::distinct(&hosts) {
                match bearssl_ta::anchor(cert) {
                    Ok(anchor) => entries.push(bearssl_ta::Entry { cert, anchor, from }),
                    // One odd root in a big bundle is left out; BearSSL could not use it anyway.
                    Err(e) => {
                        warnings.push(format!("{from}: left out: {e}"));
                        refused.get_or_insert((from, e));
                    }
                }
            }
            if entries.is_empty()
                && let Some((from, e)) = refused
            {
                return Err((from, CodegenError::NoSuchPin(e)));
            }
            bearssl_ta::render(&entries, stamp).into_bytes()
        }
        Output::PublicKey => {
            warnings.push(pubkey::KEY_PIN_BREAKS.to_owned());
            pubkey::file(&hosts, stamp)?.into_bytes()
        }
    };
    Ok(Generated { bytes, warnings })
}

fn bundle_bytes(
    hosts: &[HostPins],
    layout: Layout,
    dedup: bool,
) -> Result<(Vec<u8>, Vec<String>), (String, CodegenError)> {
    let certs: Vec<&Certificate> = hosts
        .iter()
        .flat_map(|h| h.pinned.iter().map(|p| &p.cert))
        .collect();
    let origin = hosts
        .first()
        .map(|h| h.source.origin.clone())
        .unwrap_or_default();
    let bytes = idf_bundle::encode(&certs, layout, dedup)
        .map_err(|e| (origin, CodegenError::Bundle(e.to_string())))?;
    let mut warnings = Vec::new();
    let count = idf_bundle::decode(&bytes).map_or(0, |(_, e)| e.len());
    if count > idf_bundle::IDF_DEFAULT_MAX_CERTS {
        warnings.push(format!(
            "the bundle holds {count} certificates; the IDF refuses more than \
             CONFIG_MBEDTLS_CERTIFICATE_BUNDLE_MAX_CERTS (default {}), so raise that option",
            idf_bundle::IDF_DEFAULT_MAX_CERTS
        ));
    }
    let mut distinct: Vec<(&[u8], &[u8])> = Vec::with_capacity(certs.len());
    for c in &certs {
        let e = (c.subject_der.as_slice(), c.spki_der.as_slice());
        if !distinct.contains(&e) {
            distinct.push(e);
        }
    }
    let repeated = certs.len() - distinct.len();
    if repeated > 0 && dedup {
        warnings.push(format!(
            "{repeated} duplicate certificate(s) (same subject and key) left out of the bundle"
        ));
    } else if repeated > 0 {
        warnings.push(format!(
            "{repeated} duplicate certificate(s) (same subject and key) kept, as ESP-IDF's \
             gen_crt_bundle.py keeps them; --dedup leaves them out"
        ));
    }
    Ok((bytes, warnings))
}

fn check_clashes(hosts: &[HostPins], output: Output) -> Result<(), (String, CodegenError)> {
    // Only the C and Rust outputs have per-host symbols.
    if !matches!(output, Output::C(_) | Output::Rust) {
        return Ok(());
    }
    let mut seen = std::collections::HashMap::new();
    for h in hosts {
        let key = c_prefix(&h.source.name);
        if let Some(first) = seen.insert(key.clone(), h.source.origin.clone()) {
            return Err((
                h.source.origin.clone(),
                CodegenError::Clash(format!(
                    "gives the same symbol prefix {key} as {first}; set a different --name for each"
                )),
            ));
        }
    }
    Ok(())
}

/// The role word for comments.
fn role_word(role: Role) -> &'static str {
    role.as_str()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    const CHAIN: &str = include_str!("../../fixtures/chains/pins/chain.pem");
    const NOW: UnixTime = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000));

    fn source(name: &str, certs: usize) -> Source {
        let mut all = crate::cert::extract(CHAIN.as_bytes()).unwrap().certs;
        all.truncate(certs);
        Source {
            name: name.to_owned(),
            host: Some("pins.example".to_owned()),
            origin: "chain.pem".to_owned(),
            chain: Chain::from_served(all),
        }
    }

    fn pinned_role(choice: PinChoice, certs: usize, bundle: bool) -> Result<Role, CodegenError> {
        select(source("x", certs), choice, bundle, NOW).map(|(h, _)| h.pinned[0].role)
    }

    #[test]
    fn pin_choices() {
        assert_eq!(pinned_role(PinChoice::Auto, 3, false), Ok(Role::Root));
        assert_eq!(
            pinned_role(PinChoice::Auto, 2, false),
            Ok(Role::Intermediate)
        );
        assert_eq!(pinned_role(PinChoice::Leaf, 3, false), Ok(Role::Leaf));
        assert_eq!(
            pinned_role(PinChoice::Intermediate, 3, false),
            Ok(Role::Intermediate)
        );
        assert!(pinned_role(PinChoice::Root, 2, false).is_err());
        // The bundle needs the issuer of the top certificate sent: the root, which this chain
        // (leaf + intermediate) lacks.
        assert_eq!(pinned_role(PinChoice::Auto, 3, true), Ok(Role::Root));
        assert!(pinned_role(PinChoice::Auto, 2, true).is_err());
        assert!(pinned_role(PinChoice::Leaf, 3, true).is_err());
    }

    #[test]
    fn same_input_same_bytes_and_clashing_names_refused() {
        let stamp = Stamp {
            generated_at: Some(0),
            tool_version: "t".to_owned(),
        };
        let gen_once = || {
            generate(
                vec![source("a", 3), source("b", 2)],
                PinChoice::Auto,
                Output::C(c::Style::C),
                &stamp,
                NOW,
            )
            .unwrap()
            .bytes
        };
        assert_eq!(gen_once(), gen_once());
        let clash = generate(
            vec![source("a.b", 3), source("a-b", 3)],
            PinChoice::Auto,
            Output::Rust,
            &stamp,
            NOW,
        );
        assert!(clash.unwrap_err().to_string().contains("--name"));
    }
}
