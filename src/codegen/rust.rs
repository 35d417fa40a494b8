//! Rust output: one `pub mod <host_snake>` per host holding `&str`, `[u8; 20]` and `i64` consts.
//!
//! The file holds only items and `//` comments, so it works as a module file (`mod pins;`), through
//! `include!`, and as a library crate root, under `-D warnings` in each case.

use std::fmt::Write as _;

use super::provenance::{self, comment};
use super::{HostPins, Stamp, rust_module};
use crate::cert::advice::{date, rfc3339};

/// The module file for every host in `hosts`.
pub fn module(hosts: &[HostPins], stamp: &Stamp) -> String {
    let mut out = comment(&provenance::preamble(
        stamp,
        "TLS pins for ESP32/ESP8266 Rust firmware (esp-idf-svc, embedded-tls, ...)",
    ));
    for h in hosts {
        out.push('\n');
        host(&mut out, h);
    }
    out
}

fn host(out: &mut String, h: &HostPins) {
    let m = rust_module(&h.source.name);
    out.push_str(&comment(&provenance::host(h, &format!("module {m}"))));
    let _ = writeln!(out, "// {}", h.chosen_marker(&format!("{m}::CA_PEM")));
    let title = h.source.host.as_deref().unwrap_or(&h.source.origin);
    let _ = writeln!(out, "/// TLS pins for `{}`.", doc_text(title));
    // A binary that uses only some of the pins must still build under -D warnings.
    out.push_str("#[allow(dead_code)]\n");
    let _ = writeln!(out, "pub mod {m} {{");
    if let Some(host) = &h.source.host {
        out.push_str("    /// The host these pins are for.\n");
        let _ = writeln!(out, "    pub const HOST: &str = {host:?};");
    }
    if let Some(leaf) = &h.leaf {
        let _ = writeln!(
            out,
            "    /// SHA-1 of the leaf's DER (`setFingerprint` form). Breaks when the leaf is reissued \
             (it expires {}).",
            date(leaf.not_after)
        );
        let _ = writeln!(
            out,
            "    pub const FINGERPRINT_SHA1: &str = \"{}\";",
            leaf.sha1.colon()
        );
        out.push_str("    /// The same SHA-1, as bytes.\n");
        out.push_str("    pub const FINGERPRINT_SHA1_BYTES: [u8; 20] = [\n");
        for chunk in leaf.sha1.bytes().chunks(10) {
            out.push_str("       ");
            for b in chunk {
                let _ = write!(out, " 0x{b:02X},");
            }
            out.push('\n');
        }
        out.push_str("    ];\n");
        out.push_str(
            "    /// SHA-256 of the leaf's DER (what arduino-esp32's `verify()` compares).\n",
        );
        let _ = writeln!(
            out,
            "    pub const FINGERPRINT_SHA256: &str = \"{}\";",
            leaf.sha256.colon()
        );
    }
    if let Some(leaf) = &h.leaf {
        out.push_str(
            "    /// PEM of the leaf's public key (SubjectPublicKeyInfo), for a public-key pin.\n",
        );
        for line in super::pubkey::KEY_PIN_COMMENT {
            let _ = writeln!(out, "    /// {line}");
        }
        let _ = writeln!(
            out,
            "    pub const PUBKEY_PEM: &str = \"\\\n{}\";",
            super::pubkey::pem(&leaf.spki_der)
        );
    }
    let pem = h.ca_pem();
    let what = match h.pinned.as_slice() {
        [one] => format!("the {}", one.role.as_str()),
        many => format!("{} certificates", many.len()),
    };
    let _ = writeln!(
        out,
        "    /// PEM of the pinned certificate(s): {what}, as a trust anchor."
    );
    // `"\` + newline starts the literal at `-----BEGIN`, so the string is the PEM byte for byte.
    let _ = writeln!(out, "    pub const CA_PEM: &str = \"\\\n{pem}\";");
    if let Some(not_after) = h.ca_not_after() {
        let _ = writeln!(
            out,
            "    /// Expiry of the pinned certificate(s), Unix seconds ({}).",
            rfc3339(not_after)
        );
        let _ = writeln!(out, "    pub const CA_NOT_AFTER: i64 = {not_after};");
    }
    out.push_str("}\n");
}

/// Text safe in a `///` line: no backticks (they would unbalance the code span), no newlines.
fn doc_text(s: &str) -> String {
    provenance::sanitize(s).replace('`', "'")
}
