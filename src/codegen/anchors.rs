//! Narrowing a set of anchors (`certs.ar`, BearSSL trust anchors, the IDF bundle): `--filter` by
//! subject, and `--for-hosts`, which keeps only the certificates that anchor the chains those
//! hosts serve.

use super::{CodegenError, HostPins};
use crate::cert::{Certificate, Chain};

/// What to keep of an anchor set. The default keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Keep certificates whose subject contains any of these (case-insensitive); empty keeps all.
    pub filter: Vec<String>,
    /// Keep only certificates that anchor at least one of these served chains; empty keeps all.
    pub needed_by: Vec<NeededBy>,
    /// IDF bundle: leave out repeated (subject, key) entries, which `gen_crt_bundle.py` keeps.
    pub dedup: bool,
}

/// A chain a host served, for `--for-hosts`.
#[derive(Debug, Clone)]
pub struct NeededBy {
    /// `api.github.com:443`, for messages.
    pub origin: String,
    /// The chain as served.
    pub chain: Chain,
}

/// Does `anchor` anchor `chain` for BearSSL and mbedTLS? Either it signed a certificate the server
/// sent (its name is that certificate's issuer and the signature verifies under its key), or it is
/// a sent CA certificate itself (same subject and key: a re-issued or cross-signed copy counts).
pub fn anchors(anchor: &Certificate, chain: &Chain) -> bool {
    chain.entries.iter().filter(|e| e.sent).any(|e| {
        e.cert.is_issued_by(anchor)
            || (e.cert.is_ca
                && e.cert.subject_der == anchor.subject_der
                && e.cert.spki_der == anchor.spki_der)
    })
}

/// Apply `selection` to the pinned certificates of `hosts`, in place. Every `--for-hosts` chain
/// must keep an anchor, and something must be left.
pub fn narrow(hosts: &mut [HostPins], selection: &Selection) -> Result<(), (String, CodegenError)> {
    let first_origin = hosts
        .first()
        .map(|h| h.source.origin.clone())
        .unwrap_or_default();
    if !selection.filter.is_empty() {
        let needles: Vec<String> = selection.filter.iter().map(|f| f.to_lowercase()).collect();
        for h in hosts.iter_mut() {
            h.pinned.retain(|p| {
                let subject = p.cert.subject.to_lowercase();
                needles.iter().any(|n| subject.contains(n.as_str()))
            });
        }
        if hosts.iter().all(|h| h.pinned.is_empty()) {
            return Err((
                first_origin,
                CodegenError::Empty(format!(
                    "no certificate's subject contains {} (--filter compares case-insensitively)",
                    selection
                        .filter
                        .iter()
                        .map(|f| format!("{f:?}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            ));
        }
    }
    if selection.needed_by.is_empty() {
        return Ok(());
    }
    let mut keep: Vec<Vec<u8>> = Vec::new();
    for needed in &selection.needed_by {
        let found: Vec<&Certificate> = hosts
            .iter()
            .flat_map(|h| h.pinned.iter().map(|p| &p.cert))
            .filter(|c| anchors(c, &needed.chain))
            .collect();
        if found.is_empty() {
            let top = needed
                .chain
                .top_sent()
                .map(|e| crate::cert::advice::short(&e.cert.issuer))
                .unwrap_or_default();
            return Err((
                needed.origin.clone(),
                CodegenError::NoSuchPin(format!(
                    "no certificate in the input anchors the chain it serves (its topmost \
                     certificate is issued by {top}); add that CA with --from"
                )),
            ));
        }
        keep.extend(found.into_iter().map(|c| c.der.clone()));
    }
    for h in hosts.iter_mut() {
        h.pinned.retain(|p| keep.contains(&p.cert.der));
    }
    Ok(())
}

/// Every pinned certificate once, in order, with where it came from (`pins.test:443 (root)`).
pub fn distinct(hosts: &[HostPins]) -> Vec<(&Certificate, String)> {
    let mut out: Vec<(&Certificate, String)> = Vec::new();
    for h in hosts {
        for p in &h.pinned {
            if !out.iter().any(|(c, _)| c.der == p.cert.der) {
                out.push((
                    &p.cert,
                    format!("{} ({})", h.source.origin, p.role.as_str()),
                ));
            }
        }
    }
    out
}

/// `certs.ar` holds CA certificates only: `CertStore` finds an anchor by the name of the issuer
/// of a certificate the server sends, which a leaf never is.
pub fn only_cas(hosts: &[HostPins]) -> Result<(), (String, CodegenError)> {
    for h in hosts {
        if let Some(p) = h.pinned.iter().find(|p| !p.cert.is_ca) {
            return Err((
                h.source.origin.clone(),
                CodegenError::NoSuchPin(format!(
                    "certificate {} ({}) is not a CA; certs.ar needs the CA that issued what the \
                     server sends (use --pin root or intermediate, or pass the root with \
                     --ca-file)",
                    p.index,
                    crate::cert::advice::short(&p.cert.subject)
                )),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::cert::Chain;

    #[test]
    fn an_anchor_signs_or_is_a_sent_ca() {
        let a = crate::cert::testutil::chain(90, "A");
        let b = crate::cert::testutil::chain(90, "B");
        let served = Chain::from_served(vec![a[0].clone(), a[1].clone()]);
        assert!(anchors(&a[2], &served), "the root signed the intermediate");
        assert!(
            anchors(&a[1], &served),
            "the intermediate is sent and signed the leaf"
        );
        assert!(!anchors(&b[2], &served), "a stranger root with another key");
        assert!(!anchors(&a[0], &served), "a leaf anchors nothing");
    }
}
