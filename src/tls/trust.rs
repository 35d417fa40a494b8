//! Judging a captured chain: does it verify to an anchor (webpki-roots, `--ca-file`, the system
//! store), is the leaf valid for the name, and which local root completes it.

use rustls_pki_types::UnixTime;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use crate::cert::report::Trust;
use crate::cert::verify::{self, VerifyError};
use crate::cert::{Certificate, Chain, Role};
use crate::error::{Error, Result};

/// Every anchor espcheck trusts for a run. The system store is read on first use only: reading
/// and parsing a few hundred certificates costs more than reporting a whole bundle.
#[derive(Debug)]
pub struct TrustStore {
    /// `--ca-file` certificates, read and checked up front so a bad file is an error at once.
    extra: Vec<CertificateDer<'static>>,
    system: bool,
    loaded: OnceLock<Loaded>,
    parsed: OnceLock<Vec<Certificate>>,
}

#[derive(Debug)]
struct Loaded {
    roots: Arc<RootCertStore>,
    /// Full certificates (system store and `--ca-file`), to name the root a chain ends in.
    full: Vec<CertificateDer<'static>>,
    /// Subjects (DER contents, no outer tag) of every anchor, to spot cross-signed copies.
    anchor_subjects: HashSet<Vec<u8>>,
}

impl TrustStore {
    /// webpki-roots, plus the system store when present, plus every certificate in `ca_files`
    /// (any certificate is accepted as an anchor, intermediates included, as on the boards).
    pub fn load(ca_files: &[PathBuf], system: bool) -> Result<Self> {
        let mut extra = Vec::new();
        for path in ca_files {
            let bytes = crate::util::read_input(path, crate::util::MAX_INPUT_BYTES)?;
            let name = crate::error::show_path(path);
            let found = crate::cert::extract(&bytes).map_err(|e| Error::input(&name, e))?;
            for cert in found.certs {
                let der = CertificateDer::from(cert.der);
                rustls::server::ParsedCertificate::try_from(&der)
                    .and_then(|_| rustls::RootCertStore::empty().add(der.clone()))
                    .map_err(|e| {
                        Error::input(&name, format!("cannot use as a trust anchor: {e}"))
                    })?;
                extra.push(der);
            }
        }
        Ok(TrustStore {
            extra,
            system,
            loaded: OnceLock::new(),
            parsed: OnceLock::new(),
        })
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(|| {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let mut full = Vec::new();
            if self.system {
                // A missing or partly unreadable system store is normal in containers: use what
                // loads.
                for cert in rustls_native_certs::load_native_certs().certs {
                    if roots.add(cert.clone()).is_ok() {
                        full.push(cert);
                    }
                }
            }
            for der in &self.extra {
                if roots.add(der.clone()).is_ok() {
                    full.push(der.clone());
                }
            }
            let anchor_subjects = roots
                .roots
                .iter()
                .map(|a| a.subject.as_ref().to_vec())
                .collect();
            Loaded {
                roots: Arc::new(roots),
                full,
                anchor_subjects,
            }
        })
    }

    /// The anchors as a rustls root store.
    pub fn roots(&self) -> Arc<RootCertStore> {
        self.loaded().roots.clone()
    }

    fn full_certs(&self) -> &[Certificate] {
        self.parsed.get_or_init(|| {
            self.loaded()
                .full
                .iter()
                .filter_map(|d| Certificate::from_der(d.as_ref()).ok())
                .collect()
        })
    }

    /// Judge `chain` at `now`: trust, hostname, the unsent root, cross-signed CAs. `host` is `None`
    /// when there is no name to check (a file without one).
    pub fn judge(&self, chain: &mut Chain, host: Option<&str>, now: UnixTime) -> Trust {
        self.mark_cross_signed(chain);
        let Some(leaf) = chain.entries.first() else {
            return Trust {
                trusted: false,
                trust_error: Some("empty chain".to_owned()),
                hostname_ok: None,
            };
        };
        if leaf.role != Role::Leaf {
            return Trust {
                trusted: false,
                trust_error: Some("no leaf certificate: the first certificate is a CA".to_owned()),
                hostname_ok: None,
            };
        }
        let intermediates: Vec<&[u8]> = chain.ders().skip(1).collect();
        let verdict =
            verify::verify_chain(&leaf.cert.der, &intermediates, &self.loaded().roots, now);
        let hostname_ok = host.and_then(|h| verify::name_ok(&leaf.cert.der, h));
        if let Err(e @ VerifyError::Unparsable(_)) = &verdict {
            return Trust {
                trusted: false,
                trust_error: Some(
                    dated(chain, e, now)
                        .unwrap_or_else(|| "the leaf cannot be parsed by webpki".to_owned()),
                ),
                hostname_ok: None,
            };
        }
        let trust = match verdict {
            Ok(()) => {
                self.complete_with_root(chain);
                Trust {
                    trusted: true,
                    trust_error: None,
                    hostname_ok,
                }
            }
            Err(e) => Trust {
                trusted: false,
                trust_error: Some(dated(chain, &e, now).unwrap_or_else(|| describe(&e))),
                hostname_ok,
            },
        };
        if trust.hostname_ok == Some(false) {
            let names = chain
                .entries
                .first()
                .map(|e| e.cert.sans.join(", "))
                .unwrap_or_default();
            return Trust {
                trust_error: trust.trust_error.or_else(|| {
                    Some(format!(
                        "the leaf is not valid for this host (it names: {names})"
                    ))
                }),
                trusted: trust.trusted,
                ..trust
            };
        }
        trust
    }

    /// Append the self-signed root that anchors the chain, when a local store has it. Walking up
    /// from the leaf, the anchor is either a store root with the same name and key as a sent CA (the
    /// sent one is then a cross-signed or duplicate copy) or the store root that issued it.
    fn complete_with_root(&self, chain: &mut Chain) {
        let roots: Vec<&Certificate> = self.full_certs().iter().filter(|c| c.self_signed).collect();
        let mut anchor = None;
        for e in chain.entries.iter().filter(|e| e.sent) {
            if e.cert.self_signed {
                return;
            }
            let same = |r: &&&Certificate| {
                e.cert.is_ca && r.subject_der == e.cert.subject_der && r.spki_der == e.cert.spki_der
            };
            if let Some(r) = roots
                .iter()
                .find(same)
                .or_else(|| roots.iter().find(|r| e.cert.is_issued_by(r)))
            {
                anchor = Some((*r).clone());
                break;
            }
        }
        if let Some(root) = anchor {
            chain.push_unsent_root(root);
        }
    }

    fn mark_cross_signed(&self, chain: &mut Chain) {
        for e in chain
            .entries
            .iter_mut()
            .filter(|e| e.role == Role::Intermediate)
        {
            let contents =
                verify::sequence_contents(&e.cert.subject_der).unwrap_or(&e.cert.subject_der);
            e.cross_signed = self.loaded().anchor_subjects.contains(contents);
        }
    }
}

/// A failure that the certificates' own dates explain, named by the certificate concerned:
/// webpki reports an expiry it cannot even encode (before 1950, after 2049 in UTCTime) as bad
/// encoding, and names no certificate for any date failure.
fn dated(chain: &Chain, err: &VerifyError, now: UnixTime) -> Option<String> {
    let date_related = matches!(
        err,
        VerifyError::Expired
            | VerifyError::NotValidYet
            | VerifyError::Unparsable(_)
            | VerifyError::Other(_)
    );
    if !date_related {
        return None;
    }
    let sent = chain.entries.iter().filter(|e| e.sent);
    for e in sent {
        let who = format!("the {} ({})", e.role.as_str(), e.cert.subject);
        if e.cert.not_after < crate::util::unix_secs(now) {
            return Some(format!(
                "{who} expired on {}",
                crate::cert::advice::date(e.cert.not_after)
            ));
        }
        if e.cert.not_before > crate::util::unix_secs(now) {
            return Some(format!(
                "{who} is not valid until {} (or this machine's clock is behind)",
                crate::cert::advice::date(e.cert.not_before)
            ));
        }
    }
    None
}

fn describe(err: &VerifyError) -> String {
    match err {
        VerifyError::UnknownIssuer => {
            "unknown issuer: no trust anchor for this chain (pass the CA with --ca-file)".to_owned()
        }
        other => other.to_string(),
    }
}
