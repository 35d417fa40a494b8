//! Does each pin still hold against the chain a server serves now? Pure: pins, the served chain and
//! `now` in, one result per pin out.
//!
//! - A fingerprint pin holds when it equals the served leaf's digest: `setFingerprint` (SHA-1) and
//!   arduino-esp32's `verify()` (SHA-256) look at the first certificate only.
//! - A CA pin holds when it anchors the served chain: webpki verifies the chain with the pin as the
//!   sole trust anchor (name + key, so an intermediate anchors too, as on both boards), and the
//!   pin itself must be unexpired (mbedTLS rejects an expired anchor). A pinned leaf is direct
//!   trust: it holds while the server serves that exact certificate.
//! - A bundle holds when it contains the issuer of the topmost certificate sent and that entry
//!   anchors the chain, which is what `esp_crt_bundle.c` looks up.

use rustls_pki_types::TrustAnchor;
use rustls_pki_types::UnixTime;
use x509_parser::prelude::FromDer as _;

use super::found::{Pin, PinKind};
use crate::cert::advice::{date, short};
use crate::cert::verify::{self, VerifyError, anchor_of};
use crate::cert::{Certificate, Chain, Fingerprint};
use crate::codegen::idf_bundle::BundleEntry;

/// How a pin fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Holds, with more than `--warn-days` left.
    Match,
    /// Holds, but expires within `--warn-days`.
    Expiring,
    /// The pinned certificate has expired.
    Expired,
    /// No longer matches the served chain.
    Mismatch,
}

/// The verdict on one pin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PinResult {
    /// The symbol in the file.
    pub symbol: String,
    /// 1-based line, when the file is text.
    pub line: Option<usize>,
    /// `sha1`, `sha256`, `pubkey`, `ca` or `bundle`.
    pub kind: &'static str,
    /// The pinned value: a fingerprint (colon hex), a subject, or a bundle summary.
    pub pinned: String,
    /// Match, expiring, expired or mismatch.
    pub status: Status,
    /// True only for `match`.
    pub ok: bool,
    /// Index in the served chain the pin matched (or is), if any.
    pub matches: Option<usize>,
    /// For CA and bundle pins: does it anchor the served chain.
    pub anchors: Option<bool>,
    /// Expiry of what the pin depends on (the leaf for fingerprints, the pinned CA otherwise).
    pub not_after: Option<String>,
    /// Days from now to that expiry.
    pub days_left: Option<i64>,
    /// One sentence for the user.
    pub detail: String,
    /// Not a pin the firmware uses (another symbol is the chosen pin, or its sources never
    /// reference this one): reported, but it does not fail the check.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub informational: bool,
}

/// Judge one pin against `chain` (as served, leaf first) at `now`.
pub fn judge(pin: &Pin, chain: &Chain, now: UnixTime, warn_days: i64) -> PinResult {
    let mut r = match &pin.kind {
        PinKind::Sha1(fp) => fingerprint(fp, chain, now, "sha1"),
        PinKind::Sha256(fp) => fingerprint(fp, chain, now, "sha256"),
        PinKind::Cert(cert) => ca(cert, chain, now),
        PinKind::PublicKey(spki) => public_key(spki, chain, now),
        PinKind::Bundle { layout, entries } => bundle(entries, layout.describe(), chain, now),
    };
    r.symbol.clone_from(&pin.symbol);
    r.line = pin.line;
    if r.status == Status::Match
        && let Some(days) = r.days_left
        && days < warn_days
    {
        r.status = Status::Expiring;
        r.detail.push_str(&format!(
            "; expires in {days} days (inside --warn-days {warn_days})"
        ));
    }
    r.ok = r.status == Status::Match;
    r
}

fn blank(kind: &'static str, pinned: String) -> PinResult {
    PinResult {
        symbol: String::new(),
        line: None,
        kind,
        pinned,
        status: Status::Mismatch,
        ok: false,
        matches: None,
        anchors: None,
        not_after: None,
        days_left: None,
        detail: String::new(),
        informational: false,
    }
}

fn fingerprint(fp: &Fingerprint, chain: &Chain, now: UnixTime, kind: &'static str) -> PinResult {
    let mut r = blank(kind, fp.colon());
    let digest = |c: &Certificate| {
        if kind == "sha1" {
            c.sha1.clone()
        } else {
            c.sha256.clone()
        }
    };
    let sent: Vec<_> = chain.entries.iter().filter(|e| e.sent).collect();
    let Some(leaf) = sent.first() else {
        r.detail = "the server sent no certificate".to_owned();
        return r;
    };
    if digest(&leaf.cert) == *fp {
        r.status = Status::Match;
        r.matches = Some(0);
        r.not_after = Some(date(leaf.cert.not_after));
        r.days_left = Some(leaf.cert.days_left(now));
        r.detail = format!(
            "matches the served leaf ({}), which expires {}; it breaks at the next reissue",
            short(&leaf.cert.subject),
            date(leaf.cert.not_after)
        );
        if leaf.cert.not_after < crate::util::unix_secs(now) {
            r.status = Status::Expired;
            r.detail = format!(
                "matches the served leaf, but the leaf expired on {}",
                date(leaf.cert.not_after)
            );
        }
        return r;
    }
    r.detail = format!(
        "the server's leaf is now {} ({}, expires {})",
        digest(&leaf.cert).colon(),
        short(&leaf.cert.subject),
        date(leaf.cert.not_after)
    );
    if let Some(other) = sent.iter().skip(1).find(|e| digest(&e.cert) == *fp) {
        r.matches = Some(other.index);
        r.detail.push_str(&format!(
            "; the pin is certificate {} ({}), but fingerprint checks compare only the leaf",
            other.index,
            other.role.as_str()
        ));
    }
    r
}

/// A key pin holds while the served leaf carries that key. Its horizon is the leaf's expiry: the
/// renewal is when the key usually changes (certbot makes a new one by default).
fn public_key(spki: &[u8], chain: &Chain, now: UnixTime) -> PinResult {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki));
    let mut r = blank("pubkey", format!("SPKI SHA-256 {digest}"));
    let Some(leaf) = chain.entries.iter().find(|e| e.sent) else {
        r.detail = "the server sent no certificate".to_owned();
        return r;
    };
    if leaf.cert.spki_der != spki {
        r.detail = format!(
            "the server's leaf ({}) now has another key, SPKI SHA-256 {}",
            short(&leaf.cert.subject),
            leaf.cert.spki_sha256
        );
        return r;
    }
    r.status = Status::Match;
    r.matches = Some(0);
    r.not_after = Some(date(leaf.cert.not_after));
    r.days_left = Some(leaf.cert.days_left(now));
    r.detail = format!(
        "the served leaf has this key; it holds until the server gets a new key, which certbot \
         makes at every renewal by default (the leaf expires {})",
        date(leaf.cert.not_after)
    );
    r
}

fn ca(pinned: &Certificate, chain: &Chain, now: UnixTime) -> PinResult {
    let mut r = blank("ca", pinned.subject.clone());
    r.not_after = Some(date(pinned.not_after));
    r.days_left = Some(pinned.days_left(now));
    r.matches = chain
        .entries
        .iter()
        .find(|e| e.sent && e.cert.der == pinned.der)
        .map(|e| e.index);
    if !pinned.is_ca {
        // A leaf as anchor is direct trust (BearSSL): it holds while that exact leaf is served.
        let direct = r.matches == Some(0);
        r.anchors = Some(direct);
        if direct {
            r.status = Status::Match;
            r.detail = format!(
                "the served leaf itself (direct trust); breaks at the next reissue, by {}",
                date(pinned.not_after)
            );
        } else {
            let now_leaf = chain
                .entries
                .first()
                .map(|e| format!(" (the server now serves {})", e.cert.sha1.colon()))
                .unwrap_or_default();
            r.detail =
                format!("a pinned leaf (direct trust) that the server no longer serves{now_leaf}");
        }
        return r;
    }
    let anchor = match anchor_of(&pinned.subject_der, &pinned.spki_der) {
        Some(a) => a,
        None => {
            r.detail = "the pinned certificate cannot be used as a trust anchor".to_owned();
            r.anchors = Some(false);
            return r;
        }
    };
    let verdict = verify(anchor, chain, now);
    r.anchors = Some(verdict.is_ok());
    match verdict {
        Ok(()) if pinned.not_after < crate::util::unix_secs(now) => {
            r.status = Status::Expired;
            r.detail = format!(
                "anchors the served chain, but expired on {}: mbedTLS (ESP32) rejects an expired \
                 anchor",
                date(pinned.not_after)
            );
        }
        Ok(()) => {
            r.status = Status::Match;
            let place = match r.matches {
                Some(i) => format!("it is certificate {i} of the served chain"),
                None => "the server does not send it; it signs the top of the chain".to_owned(),
            };
            r.detail = format!(
                "anchors the served chain ({place}); expires {}",
                date(pinned.not_after)
            );
        }
        Err(why) => {
            r.detail = format!("does not anchor the served chain: {why}");
        }
    }
    r
}

fn bundle(entries: &[BundleEntry], layout: &str, chain: &Chain, now: UnixTime) -> PinResult {
    let mut r = blank(
        "bundle",
        format!("{} certificate(s), {layout}", entries.len()),
    );
    r.anchors = Some(false);
    let Some(top) = chain.top_sent() else {
        r.detail = "the server sent no certificate".to_owned();
        return r;
    };
    // esp_crt_bundle.c looks up the issuer name of the topmost certificate sent.
    let Some(entry) = entries
        .iter()
        .find(|e| e.subject_der == top.cert.issuer_der)
    else {
        r.detail = format!(
            "the bundle lacks {}, the issuer of the topmost certificate sent ({})",
            short(&top.cert.issuer),
            short(&top.cert.subject)
        );
        return r;
    };
    let name = x509_parser::x509::X509Name::from_der(&entry.subject_der)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|_| top.cert.issuer.clone());
    match anchor_of(&entry.subject_der, &entry.spki_der).map(|a| verify(a, chain, now)) {
        Some(Ok(())) => {
            r.status = Status::Match;
            r.anchors = Some(true);
            r.detail = format!("holds {name}, which anchors the served chain");
        }
        Some(Err(why)) => {
            r.detail = format!("holds {name}, but it does not anchor the served chain: {why}");
        }
        None => r.detail = format!("the entry for {name} is not a usable key"),
    }
    r
}

/// Verify the sent chain with `anchor` as the only trust anchor, at `now`.
fn verify(anchor: TrustAnchor<'static>, chain: &Chain, now: UnixTime) -> Result<(), String> {
    let sent: Vec<&[u8]> = chain.ders().collect();
    verify::verify_with_anchor(anchor, &sent, now).map_err(|e| match e {
        VerifyError::Empty => "the server sent no certificate".to_owned(),
        VerifyError::UnknownIssuer => {
            "no path from the served chain to the pin (unknown issuer)".to_owned()
        }
        VerifyError::Expired => "a served certificate has expired".to_owned(),
        VerifyError::NotValidYet => "a served certificate is not valid yet".to_owned(),
        VerifyError::BadSignature => "a signature does not verify under the pinned key".to_owned(),
        other => other.to_string(),
    })
}
