//! BearSSL trust anchors as C, in the layout `brssl ta` prints (BearSSL's `tools/ta.c`), which is
//! also what SSLClient and raw-BearSSL sketches paste in: `TA<n>_DN`, `TA<n>_RSA_N`/`TA<n>_RSA_E`
//! or `TA<n>_EC_Q`, the `TAs[]` array and `TAs_NUM`.
//!
//! Two deliberate differences from brssl's text, neither visible to code that uses the array:
//! the DN pair is braced (`{ TA0_DN, sizeof TA0_DN }`, the `br_x500_name` it initialises), since
//! brssl's brace elision fails `gcc -Wall -Werror` (`-Wmissing-braces`); and the file carries an
//! include guard, an `#include` of BearSSL and the provenance comment. The values are what
//! BearSSL's own X.509 decoder extracts: the subject Name DER (SEQUENCE header included), the RSA
//! modulus and exponent as unsigned big-endian without leading zeros, the EC point as encoded in
//! the SubjectPublicKeyInfo; `BR_X509_TA_CA` when basicConstraints says CA, else 0 (direct trust).

use std::fmt::Write as _;

use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::Stamp;
use super::c::UNUSED_PREAMBLE;
use super::provenance::{self, comment, sanitize};
use crate::cert::advice::date;
use crate::cert::{Certificate, KeyKind};

/// One trust anchor, as `br_x509_trust_anchor` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The subject Name DER.
    pub dn: Vec<u8>,
    /// `BR_X509_TA_CA`: the certificate is a CA (otherwise only direct trust).
    pub ca: bool,
    /// The public key.
    pub key: AnchorKey,
}

/// The key of a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorKey {
    /// RSA modulus and public exponent, unsigned big-endian, no leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An EC point on a named curve.
    Ec {
        /// `BR_EC_secp256r1`, `BR_EC_secp384r1` or `BR_EC_secp521r1`.
        curve: &'static str,
        /// The encoded point (uncompressed: `04 || X || Y`).
        q: Vec<u8>,
    },
}

/// The anchor BearSSL would make of `cert`. The error says why it cannot be one (BearSSL takes RSA
/// and EC keys on the NIST curves only).
pub fn anchor(cert: &Certificate) -> Result<Anchor, String> {
    let unsupported = || {
        format!(
            "{} has a {} key; BearSSL trust anchors hold RSA or EC (P-256, P-384, P-521) keys",
            provenance::sanitize(&cert.subject),
            cert.key
        )
    };
    let (_, spki) = SubjectPublicKeyInfo::from_der(&cert.spki_der)
        .map_err(|e| format!("unreadable public key ({e})"))?;
    let key = match (spki.parsed(), cert.key_kind) {
        (Ok(PublicKey::RSA(rsa)), KeyKind::Rsa(_)) => AnchorKey::Rsa {
            n: unsigned(rsa.modulus),
            e: unsigned(rsa.exponent),
        },
        (Ok(PublicKey::EC(point)), KeyKind::Ec(bits)) => AnchorKey::Ec {
            curve: match bits {
                256 => "BR_EC_secp256r1",
                384 => "BR_EC_secp384r1",
                521 => "BR_EC_secp521r1",
                _ => return Err(unsupported()),
            },
            q: point.data().to_vec(),
        },
        _ => return Err(unsupported()),
    };
    Ok(Anchor {
        dn: cert.subject_der.clone(),
        ca: cert.is_ca,
        key,
    })
}

/// An INTEGER's content as an unsigned magnitude: DER adds a 0 byte before a set top bit.
fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    if trimmed.is_empty() {
        vec![0]
    } else {
        trimmed.to_vec()
    }
}

/// One anchor to write, with what the comment says about it.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The certificate.
    pub cert: &'a Certificate,
    /// Its anchor.
    pub anchor: Anchor,
    /// `pins.test:443 (root)` or the file it came from.
    pub from: String,
}

/// The C file for `entries` (which are numbered TA0, TA1, … in order).
pub fn render(entries: &[Entry<'_>], stamp: &Stamp) -> String {
    let mut lines = provenance::preamble(stamp, "BearSSL trust anchors (brssl ta layout)");
    lines.push(
        "Use: br_x509_minimal_init(&xc, &br_sha256_vtable, TAs, TAs_NUM), SSLClient(..., TAs, \
         TAs_NUM, ...), or BearSSL::WiFiClientSecure's setTrustAnchors() via an X509List."
            .to_owned(),
    );
    lines.push(String::new());
    for (i, e) in entries.iter().enumerate() {
        lines.push(format!(
            "TA{i}: {} ({}, expires {}), from {}",
            sanitize(&e.cert.subject),
            if e.anchor.ca {
                "CA, BR_X509_TA_CA"
            } else {
                "not a CA: direct trust only"
            },
            date(e.cert.not_after),
            sanitize(&e.from)
        ));
    }
    if let Some(earliest) = entries.iter().map(|e| e.cert.not_after).min() {
        lines.push(format!(
            "Regenerate before {}: the earliest expiry, minus {} days.",
            date(earliest - super::REGENERATE_MARGIN_DAYS * 86_400),
            super::REGENERATE_MARGIN_DAYS
        ));
    }
    let mut out = comment(&lines);
    out.push_str("\n#ifndef ESPCHECK_BEARSSL_TAS_H\n#define ESPCHECK_BEARSSL_TAS_H\n\n");
    out.push_str(INCLUDE_BEARSSL);
    out.push_str(UNUSED_PREAMBLE);
    for (i, e) in entries.iter().enumerate() {
        blob(&mut out, &format!("TA{i}_DN"), &e.anchor.dn);
        match &e.anchor.key {
            AnchorKey::Rsa { n, e } => {
                blob(&mut out, &format!("TA{i}_RSA_N"), n);
                blob(&mut out, &format!("TA{i}_RSA_E"), e);
            }
            AnchorKey::Ec { q, .. } => blob(&mut out, &format!("TA{i}_EC_Q"), q),
        }
    }
    let _ = write!(
        out,
        "\nESPCHECK_UNUSED static const br_x509_trust_anchor TAs[{}] = {{",
        entries.len()
    );
    for (i, e) in entries.iter().enumerate() {
        if i != 0 {
            out.push(',');
        }
        out.push('\n');
        anchor_struct(&mut out, i, &e.anchor);
    }
    out.push_str("\n};\n");
    let _ = writeln!(out, "\n#define TAs_NUM   {}", entries.len());
    out.push_str("\n#endif /* ESPCHECK_BEARSSL_TAS_H */\n");
    out
}

/// BearSSL's header: `<bearssl/bearssl.h>` in the ESP8266 core, `<bearssl.h>` elsewhere
/// (SSLClient, a system install). Skipped when the sketch has included it already.
const INCLUDE_BEARSSL: &str = "\
#ifndef BR_BEARSSL_H__
#if defined(ARDUINO_ARCH_ESP8266)
#include <bearssl/bearssl.h>
#else
#include <bearssl.h>
#endif
#endif

";

/// `brssl ta`'s `print_blob`: twelve bytes a line, tab-indented.
fn blob(out: &mut String, name: &str, bytes: &[u8]) {
    let _ = write!(out, "\nstatic const unsigned char {name}[] = {{");
    for (u, b) in bytes.iter().enumerate() {
        if u != 0 {
            out.push(',');
        }
        out.push_str(if u % 12 == 0 { "\n\t" } else { " " });
        let _ = write!(out, "0x{b:02X}");
    }
    out.push_str("\n};\n");
}

/// `brssl ta`'s `print_ta`, with the DN braced.
fn anchor_struct(out: &mut String, i: usize, a: &Anchor) {
    out.push_str("\t{\n");
    let _ = writeln!(out, "\t\t{{ (unsigned char *)TA{i}_DN, sizeof TA{i}_DN }},");
    let _ = writeln!(out, "\t\t{},", if a.ca { "BR_X509_TA_CA" } else { "0" });
    out.push_str("\t\t{\n");
    match &a.key {
        AnchorKey::Rsa { .. } => {
            out.push_str("\t\t\tBR_KEYTYPE_RSA,\n\t\t\t{ .rsa = {\n");
            let _ = writeln!(
                out,
                "\t\t\t\t(unsigned char *)TA{i}_RSA_N, sizeof TA{i}_RSA_N,"
            );
            let _ = writeln!(
                out,
                "\t\t\t\t(unsigned char *)TA{i}_RSA_E, sizeof TA{i}_RSA_E,"
            );
        }
        AnchorKey::Ec { curve, .. } => {
            out.push_str("\t\t\tBR_KEYTYPE_EC,\n\t\t\t{ .ec = {\n");
            let _ = writeln!(out, "\t\t\t\t{curve},");
            let _ = writeln!(
                out,
                "\t\t\t\t(unsigned char *)TA{i}_EC_Q, sizeof TA{i}_EC_Q,"
            );
        }
    }
    out.push_str("\t\t\t} }\n\t\t}\n\t}");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn ec_anchors_and_flags() {
        let chain = crate::cert::testutil::chain(90, "Test");
        let leaf = anchor(&chain[0]).unwrap();
        let root = anchor(&chain[2]).unwrap();
        assert!(!leaf.ca && root.ca);
        assert_eq!(root.dn, chain[2].subject_der);
        let AnchorKey::Ec { curve, q } = &root.key else {
            panic!("EC expected")
        };
        assert_eq!(*curve, "BR_EC_secp256r1");
        assert_eq!(q.len(), 65);
        assert_eq!(q[0], 4);
        // The point is the tail of the SPKI's BIT STRING.
        assert!(chain[2].spki_der.ends_with(q));
    }

    #[test]
    fn layout_follows_brssl() {
        let chain = crate::cert::testutil::chain(90, "Test");
        let entries: Vec<Entry<'_>> = chain
            .iter()
            .map(|c| Entry {
                cert: c,
                anchor: anchor(c).unwrap(),
                from: "x".to_owned(),
            })
            .collect();
        let text = render(&entries, &Stamp::default());
        assert!(text.contains("\nstatic const unsigned char TA0_DN[] = {\n\t0x30, "));
        assert!(
            text.contains("ESPCHECK_UNUSED static const br_x509_trust_anchor TAs[3] = {\n\t{\n")
        );
        assert!(text.contains("\t\t0,\n\t\t{\n\t\t\tBR_KEYTYPE_EC,\n\t\t\t{ .ec = {\n\t\t\t\tBR_EC_secp256r1,\n\t\t\t\t(unsigned char *)TA0_EC_Q, sizeof TA0_EC_Q,\n\t\t\t} }\n\t\t}\n\t},\n"));
        assert!(text.contains("\t\tBR_X509_TA_CA,\n"));
        assert!(text.contains("\n#define TAs_NUM   3\n"));
    }

    #[test]
    fn leading_zeros_are_dropped() {
        assert_eq!(unsigned(&[0, 0xC5, 0]), [0xC5, 0]);
        assert_eq!(unsigned(&[1, 0, 1]), [1, 0, 1]);
        assert_eq!(unsigned(&[0]), [0]);
    }
}
