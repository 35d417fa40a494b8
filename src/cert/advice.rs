//! Which certificate to pin, and how long that pin will hold. Pure: a chain and `now` in, advice out.
//!
//! The rules are how each pin breaks in practice: a leaf pin breaks at every reissue, an intermediate pin when
//! the CA rotates its intermediates, a root pin when the site changes CA.

use super::chain::{Chain, Entry, Role};
use super::model::KeyKind;
use rustls_pki_types::UnixTime;

/// Leaf lifetimes at or under this many days are CDN/ACME-style short-lived certificates.
const SHORT_LIVED_DAYS: i64 = 100;

/// The advice for one chain.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Advice {
    /// The certificate to give `setTrustAnchors` (ESP8266) / `setCACert` (ESP32).
    pub recommended: Option<Recommendation>,
    /// Every choice weighed, leaf first.
    pub choices: Vec<Choice>,
    /// Things that will bite.
    pub warnings: Vec<String>,
}

/// The recommended CA pin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recommendation {
    /// Index in the chain.
    pub index: usize,
    /// Why this one, with dates.
    pub why: String,
}

/// One way to pin this server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Choice {
    /// Index in the chain.
    pub index: usize,
    /// Leaf, intermediate or root.
    pub role: Role,
    /// The board APIs this pin is for.
    pub apis: String,
    /// Expiry of the pinned certificate, Unix seconds.
    pub holds_until: i64,
    /// Days from `now` to that expiry.
    pub days_left: i64,
    /// What breaks it before then.
    pub breaks_when: String,
}

/// Weigh every pin for `chain` at `now` (Unix seconds).
pub fn advise(chain: &Chain, now: UnixTime) -> Advice {
    let mut advice = Advice::default();
    for entry in &chain.entries {
        advice.choices.push(choice(entry, now));
        validity_warning(entry, now, &mut advice.warnings);
    }
    if let Some(leaf) = chain.leaf() {
        leaf_warnings(leaf, &mut advice.warnings);
    }
    if chain.entries.iter().any(|e| e.cross_signed) {
        advice.warnings.push(cross_sign_warning(chain));
    }
    if !chain.is_in_order() {
        advice.warnings.push(
            "the server sends its chain out of order or with extra certificates; BearSSL walks it \
             in order and may reject it"
                .to_owned(),
        );
    }
    mbedtls_warnings(chain, &mut advice.warnings);
    advice.recommended = recommend(chain, now);
    if let Some(rec) = &advice.recommended
        && let Some(e) = chain.entries.get(rec.index)
        && is_lets_encrypt(&e.cert.subject)
        && e.role == Role::Intermediate
    {
        advice.warnings.push(
            "Let's Encrypt picks its intermediate at random (R10–R14, E5–E9) at each renewal; \
             pin the root instead if you can get it (--ca-file or the system store)"
                .to_owned(),
        );
    }
    advice
}

fn choice(entry: &Entry, now: UnixTime) -> Choice {
    let (apis, breaks_when) = match entry.role {
        Role::Leaf => (
            "setFingerprint (ESP8266, SHA-1), verify() (ESP32, SHA-256), setTrustAnchors/setCACert \
             as direct trust",
            format!(
                "the server reissues its certificate ({}-day lifetime; CDNs and ACME reissue every \
                 60–90 days, 45 by 2028)",
                entry.cert.lifetime_days()
            ),
        ),
        Role::Intermediate => (
            "setTrustAnchors (ESP8266), setCACert (ESP32)",
            "the CA rotates its intermediates, or the site changes CA".to_owned(),
        ),
        Role::Root => (
            "setTrustAnchors (ESP8266), setCACert (ESP32), the IDF certificate bundle",
            "the site changes CA".to_owned(),
        ),
    };
    Choice {
        index: entry.index,
        role: entry.role,
        apis: apis.to_owned(),
        holds_until: entry.cert.not_after,
        days_left: entry.cert.days_left(now),
        breaks_when,
    }
}

/// Prefer a root (longest-lived, breaks only on a CA change); otherwise the top intermediate, which
/// is "the second certificate" of `s_client -showcerts`. A leaf-only chain gets no CA advice.
fn recommend(chain: &Chain, now: UnixTime) -> Option<Recommendation> {
    let valid_ca = |e: &&Entry| e.role != Role::Leaf && e.cert.is_valid_at(now) && !e.cross_signed;
    if let Some(root) = chain
        .entries
        .iter()
        .filter(|e| e.role == Role::Root)
        .find(valid_ca)
    {
        let how = if root.sent {
            "the server sends it"
        } else {
            "the server does not send it; it comes from your trust store, so paste it from here"
        };
        return Some(Recommendation {
            index: root.index,
            why: format!(
                "the root holds until {} ({} days) and only breaks when the site changes CA; {how}",
                date(root.cert.not_after),
                root.cert.days_left(now)
            ),
        });
    }
    let top = chain
        .entries
        .iter()
        .rev()
        .filter(|e| e.role == Role::Intermediate)
        .find(valid_ca)?;
    Some(Recommendation {
        index: top.index,
        why: format!(
            "the root was not served and is not in a local store, so pin the top intermediate: it \
             holds until {} ({} days) and breaks when the CA rotates intermediates; both boards \
             accept an intermediate as an anchor",
            date(top.cert.not_after),
            top.cert.days_left(now)
        ),
    })
}

fn validity_warning(entry: &Entry, now: UnixTime, warnings: &mut Vec<String>) {
    let c = &entry.cert;
    let what = format!(
        "certificate {} ({}, {})",
        entry.index,
        entry.role.as_str(),
        short(&c.subject)
    );
    if crate::util::unix_secs(now) > c.not_after {
        warnings.push(format!("{what} expired on {}", date(c.not_after)));
    } else if crate::util::unix_secs(now) < c.not_before {
        warnings.push(format!(
            "{what} is not valid until {}; a board with its clock set would reject it",
            date(c.not_before)
        ));
    }
}

fn leaf_warnings(leaf: &Entry, warnings: &mut Vec<String>) {
    let lifetime = leaf.cert.lifetime_days();
    if lifetime <= SHORT_LIVED_DAYS {
        warnings.push(format!(
            "the leaf lives {lifetime} days: a fingerprint pin (setFingerprint/verify) breaks at \
             the next reissue, on or before {}",
            date(leaf.cert.not_after)
        ));
    } else {
        warnings.push(format!(
            "a fingerprint pin breaks whenever the leaf is reissued, at the latest on {}",
            date(leaf.cert.not_after)
        ));
    }
}

fn cross_sign_warning(chain: &Chain) -> String {
    let names: Vec<_> = chain
        .entries
        .iter()
        .filter(|e| e.cross_signed)
        .map(|e| format!("{} ({})", e.index, short(&e.cert.subject)))
        .collect();
    format!(
        "cross-signed CA in the chain: certificate {}; the same CA also exists as a self-signed root. \
         Pin the self-signed root, not the cross-signed copy, and note that the ESP-IDF bundle \
         fails on cross-signed chains before IDF 6.0",
        names.join(", ")
    )
}

/// mbedTLS (`setCACert`) rejects non-anchor certificates with SHA-1 signatures or RSA under 2048.
fn mbedtls_warnings(chain: &Chain, warnings: &mut Vec<String>) {
    for e in chain.entries.iter().filter(|e| e.role != Role::Root) {
        if e.cert.signature.contains("sha1") || e.cert.signature.contains("SHA1") {
            warnings.push(format!(
                "certificate {} is signed with SHA-1: ESP32 (mbedTLS) rejects it unless it is the anchor",
                e.index
            ));
        }
        if let KeyKind::Rsa(bits) = e.cert.key_kind {
            if bits < 2048 {
                warnings.push(format!(
                    "certificate {} has an RSA {bits} key: ESP32 (mbedTLS) rejects RSA under 2048 bits",
                    e.index
                ));
            }
            if bits > 4096 {
                warnings.push(format!(
                    "certificate {} has an RSA {bits} key: BearSSL (ESP8266) handles at most 4096",
                    e.index
                ));
            }
        }
    }
}

fn is_lets_encrypt(subject: &str) -> bool {
    subject.contains("O=Let's Encrypt")
}

/// The most specific part of a subject, for one-line messages.
pub fn short(subject: &str) -> &str {
    subject.split(", ").next().unwrap_or(subject)
}

/// `2026-04-01` from Unix seconds.
pub fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day()))
        .unwrap_or_else(|_| unix.to_string())
}

/// `2026-04-01T00:00:00Z` from Unix seconds.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::testutil::chain;

    const JAN_2026: i64 = 1_767_225_600;

    fn at(secs: i64) -> UnixTime {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.unsigned_abs()))
    }

    #[test]
    fn prefers_the_root_and_explains_leaf_rotation() {
        let mut certs = chain(90, "Test");
        let c = Chain::from_served(std::mem::take(&mut certs));
        let advice = advise(&c, at(JAN_2026 + 86_400));
        let rec = advice.recommended.as_ref().map(|r| r.index);
        assert_eq!(rec, Some(2), "a served root is the longest-lived pin");
        assert!(
            advice
                .warnings
                .iter()
                .any(|w| w.contains("the leaf lives 90 days"))
        );
        assert_eq!(advice.choices.len(), 3);
        assert_eq!(advice.choices[0].days_left, 89);
    }

    #[test]
    fn without_a_root_the_intermediate_is_the_pin_and_lets_encrypt_rotation_is_flagged() {
        let mut certs = chain(90, "Let's Encrypt");
        certs.truncate(2);
        let c = Chain::from_served(certs);
        let advice = advise(&c, at(JAN_2026));
        assert_eq!(advice.recommended.as_ref().map(|r| r.index), Some(1));
        assert!(advice.warnings.iter().any(|w| w.contains("R10–R14")));
    }

    #[test]
    fn expired_and_not_yet_valid_are_warned() {
        let c = Chain::from_served(chain(30, "Test"));
        let late = advise(&c, at(JAN_2026 + 40 * 86_400));
        assert!(
            late.warnings
                .iter()
                .any(|w| w.contains("expired on 2026-01-31"))
        );
        let early = advise(&c, at(JAN_2026 - 86_400));
        assert!(
            early
                .warnings
                .iter()
                .any(|w| w.contains("not valid until 2026-01-01"))
        );
    }

    #[test]
    fn out_of_order_chain_is_warned() {
        let mut certs = chain(90, "Test");
        certs.swap(1, 2);
        let advice = advise(&Chain::from_served(certs), at(JAN_2026));
        assert!(advice.warnings.iter().any(|w| w.contains("out of order")));
    }
}
