//! Which certificates the generated code pins (`--pin`), per source.

use super::{CodegenError, HostPins, PinChoice, Source};
use crate::cert::advice::{self, date, short};
use crate::cert::{Certificate, Entry, Role};
use rustls_pki_types::UnixTime;

/// One pinned certificate and where it sat in the chain.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// Position in the chain (0 = leaf), as `fingerprint` numbers it.
    pub index: usize,
    /// Leaf, intermediate or root.
    pub role: Role,
    /// False for a root a local trust store supplied.
    pub sent: bool,
    /// The certificate.
    pub cert: Certificate,
}

impl Pinned {
    fn of(e: &Entry) -> Self {
        Pinned {
            index: e.index,
            role: e.role,
            sent: e.sent,
            cert: e.cert.clone(),
        }
    }
}

/// Choose the pins of `source`. `bundle` is true for the IDF bundle, which needs the CA that
/// issued the topmost certificate sent (that is what the IDF looks up), so only `auto`/`root` make
/// sense there. Returns the pins and warnings for the user.
pub fn select(
    source: Source,
    choice: PinChoice,
    bundle: bool,
    now: UnixTime,
) -> Result<(HostPins, Vec<String>), CodegenError> {
    let chain = &source.chain;
    if chain.entries.is_empty() {
        return Err(CodegenError::Empty("no certificate to pin".to_owned()));
    }
    let mut warnings = Vec::new();
    let leaf = chain.leaf().map(|e| e.cert.clone());
    let pinned = match (&leaf, bundle) {
        (None, _) => ca_only(&source, choice)?,
        (Some(_), true) => vec![bundle_anchor(&source, choice)?],
        (Some(_), false) => vec![with_leaf(&source, choice, now, &mut warnings)?],
    };
    Ok((
        HostPins {
            source,
            leaf,
            pinned,
            choice,
        },
        warnings,
    ))
}

/// Warnings for pinned certificates that expire soon or have expired. Separate from [`select`]
/// so that an anchor set warns only about what `--filter`/`--for-hosts` kept.
pub fn expiry_warnings(h: &HostPins, now: UnixTime) -> Vec<String> {
    let mut warnings = Vec::new();
    for p in &h.pinned {
        let days = p.cert.days_left(now);
        if (0..super::REGENERATE_MARGIN_DAYS).contains(&days) {
            warnings.push(format!(
                "{}: the pinned certificate {} ({}) expires in {days} days, on {}",
                h.source.origin,
                p.index,
                short(&p.cert.subject),
                date(p.cert.not_after)
            ));
        }
        if p.cert.not_after < crate::util::unix_secs(now) {
            warnings.push(format!(
                "{}: the pinned certificate {} ({}) expired on {}; ESP32 setCACert rejects an expired \
                 anchor (BearSSL trust anchors and the IDF bundle keep no dates)",
                h.source.origin,
                p.index,
                short(&p.cert.subject),
                date(p.cert.not_after)
            ));
        }
    }
    warnings
}

/// A file of CA certificates (a bundle of roots): pin every certificate of the asked role.
fn ca_only(source: &Source, choice: PinChoice) -> Result<Vec<Pinned>, CodegenError> {
    let want = |e: &&Entry| match choice {
        PinChoice::Auto => true,
        PinChoice::Root => e.role == Role::Root,
        PinChoice::Intermediate => e.role == Role::Intermediate,
        PinChoice::Leaf => false,
    };
    let pinned: Vec<Pinned> = source
        .chain
        .entries
        .iter()
        .filter(want)
        .map(Pinned::of)
        .collect();
    if pinned.is_empty() {
        return Err(CodegenError::NoSuchPin(format!(
            "holds no {} certificate (it has only CA certificates: {})",
            choice.as_str(),
            roles(source)
        )));
    }
    Ok(pinned)
}

fn with_leaf(
    source: &Source,
    choice: PinChoice,
    now: UnixTime,
    warnings: &mut Vec<String>,
) -> Result<Pinned, CodegenError> {
    let chain = &source.chain;
    let by_role = |role: Role| chain.entries.iter().find(|e| e.role == role);
    let found = match choice {
        PinChoice::Leaf => by_role(Role::Leaf),
        PinChoice::Intermediate => {
            let leaf = chain.leaf().map(|e| &e.cert);
            chain
                .entries
                .iter()
                .filter(|e| e.role == Role::Intermediate)
                .find(|e| leaf.is_some_and(|l| l.is_issued_by(&e.cert)))
                .or_else(|| by_role(Role::Intermediate))
        }
        PinChoice::Root => by_role(Role::Root),
        PinChoice::Auto => match advice::advise(chain, now).recommended {
            Some(rec) => chain.entries.iter().find(|e| e.index == rec.index),
            None => {
                warnings.push(format!(
                    "{}: no CA certificate in the chain is valid to pin, so CA_PEM holds the leaf \
                     (direct trust); it breaks at the next reissue",
                    source.origin
                ));
                by_role(Role::Leaf)
            }
        },
    };
    found.map(Pinned::of).ok_or_else(|| missing(source, choice))
}

/// The CA the ESP-IDF bundle must hold: the issuer of the topmost certificate sent.
fn bundle_anchor(source: &Source, choice: PinChoice) -> Result<Pinned, CodegenError> {
    if matches!(choice, PinChoice::Leaf | PinChoice::Intermediate) {
        return Err(CodegenError::NoSuchPin(format!(
            "--pin {} cannot go into an IDF bundle: the IDF looks up the issuer of the topmost \
             certificate the server sends, so the bundle needs that CA (use --pin root or auto)",
            choice.as_str()
        )));
    }
    let chain = &source.chain;
    let Some(top) = chain.top_sent() else {
        return Err(CodegenError::Empty("no certificate to pin".to_owned()));
    };
    let anchor = if top.cert.self_signed {
        Some(top)
    } else {
        chain
            .entries
            .iter()
            .find(|e| e.role != Role::Leaf && top.cert.is_issued_by(&e.cert))
    };
    anchor.map(Pinned::of).ok_or_else(|| {
        CodegenError::NoSuchPin(format!(
            "the bundle needs the CA that issued {} ({}), which is neither in the chain nor in a \
             local trust store; pass it with --ca-file",
            short(&top.cert.subject),
            short(&top.cert.issuer)
        ))
    })
}

fn missing(source: &Source, choice: PinChoice) -> CodegenError {
    let hint = match choice {
        PinChoice::Root => {
            "; the server does not send its root and no local store holds it: pass the root with \
             --ca-file, or pin the intermediate"
        }
        _ => "",
    };
    CodegenError::NoSuchPin(format!(
        "the chain has no {} certificate (it has: {}){hint}",
        choice.as_str(),
        roles(source)
    ))
}

fn roles(source: &Source) -> String {
    source
        .chain
        .entries
        .iter()
        .map(|e| format!("{} {}", e.index, e.role.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
