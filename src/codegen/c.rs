//! C and C++ output: the Arduino header (`PROGMEM` raw literals) and the plain C99 header for
//! ESP-IDF projects, plus the IDF bundle wrapped as a C array.
//!
//! Both headers compile as they are on a host compiler with `-Wall -Werror` (no Arduino headers
//! needed) and inside the Arduino cores, where `<Arduino.h>` supplies the real `PROGMEM`.

use std::fmt::Write as _;

use super::provenance::{self, comment};
use super::{HostPins, Layout, Stamp, c_prefix};
use crate::cert::advice::rfc3339;

/// Which dialect of header (`--style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Style {
    /// C++ for the Arduino cores: `PROGMEM`, raw string literals for PEM.
    Arduino,
    /// Plain C99: one string literal per PEM line, no `PROGMEM`.
    C,
}

/// Bytes per line in byte-array initialisers.
const BYTES_PER_LINE: usize = 12;

/// The header for every host in `hosts`.
pub fn header(hosts: &[HostPins], style: Style, stamp: &Stamp) -> String {
    let what = match style {
        Style::Arduino => "TLS pins for ESP8266/ESP32 Arduino sketches",
        Style::C => "TLS pins for ESP-IDF (C99)",
    };
    let mut out = comment(&provenance::preamble(stamp, what));
    let guard = guard(hosts.iter().map(|h| c_prefix(&h.source.name)));
    out.push('\n');
    let _ = writeln!(out, "#ifndef {guard}\n#define {guard}\n");
    out.push_str("#include <stdint.h>\n\n");
    if style == Style::Arduino {
        out.push_str(ARDUINO_PREAMBLE);
    }
    out.push_str(UNUSED_PREAMBLE);
    for h in hosts {
        out.push('\n');
        host(&mut out, h, style);
    }
    let _ = writeln!(out, "\n#endif /* {guard} */");
    out
}

/// The IDF bundle as a C array `<P>CRT_BUNDLE` with its length `<P>CRT_BUNDLE_len`.
pub fn bundle_array(hosts: &[HostPins], bytes: &[u8], layout: Layout, stamp: &Stamp) -> String {
    let prefix = hosts
        .first()
        .map(|h| c_prefix(&h.source.name))
        .unwrap_or_else(|| "PINS_".to_owned());
    let sym = format!("{prefix}CRT_BUNDLE");
    let mut lines = provenance::preamble(stamp, "ESP-IDF certificate bundle for ESP32");
    for h in hosts {
        lines.push(String::new());
        lines.extend(provenance::host(h, "in the bundle"));
    }
    let mut out = comment(&lines);
    let guard = guard(std::iter::once(format!("{sym}_")));
    let count = hosts.iter().map(|h| h.pinned.len()).sum::<usize>();
    let _ = writeln!(out, "\n#ifndef {guard}\n#define {guard}\n");
    out.push_str("#include <stddef.h>\n#include <stdint.h>\n\n");
    out.push_str(UNUSED_PREAMBLE);
    let _ = writeln!(
        out,
        "\n// x509_crt_bundle, {} ({count} certificate(s), {} bytes).\n\
         // arduino-esp32 3.x: client.setCACertBundle({sym}, {sym}_len);\n\
         // ESP-IDF: esp_crt_bundle_set({sym}, {sym}_len);",
        layout.describe(),
        bytes.len()
    );
    let _ = writeln!(out, "ESPCHECK_UNUSED static const uint8_t {sym}[] = {{");
    byte_lines(&mut out, bytes);
    out.push_str("};\n");
    let _ = writeln!(
        out,
        "ESPCHECK_UNUSED static const size_t {sym}_len = sizeof({sym});"
    );
    let _ = writeln!(out, "\n#endif /* {guard} */");
    out
}

const ARDUINO_PREAMBLE: &str = "\
// In a sketch <Arduino.h> defines PROGMEM (flash on the ESP8266); on a host compiler it means nothing.
#if defined(ARDUINO)
#include <Arduino.h>
#endif
#ifndef PROGMEM
#define PROGMEM
#endif
";

/// Marks symbols a sketch may leave unused, so `-Wall -Werror` builds do not fail on them.
pub(super) const UNUSED_PREAMBLE: &str = "\
// A sketch uses some of these symbols, not all; -Wall -Werror must not mind.
#ifndef ESPCHECK_UNUSED
#if defined(__GNUC__)
#define ESPCHECK_UNUSED __attribute__((unused))
#else
#define ESPCHECK_UNUSED
#endif
#endif
";

fn guard(prefixes: impl Iterator<Item = String>) -> String {
    let mut g = String::from("ESPCHECK_");
    for p in prefixes {
        g.push_str(&p);
    }
    g.push('H');
    g
}

fn host(out: &mut String, h: &HostPins, style: Style) {
    let p = c_prefix(&h.source.name);
    out.push_str(&comment(&provenance::host(h, &format!("symbols {p}*"))));
    let _ = writeln!(out, "// {}", h.chosen_marker(&format!("{p}CA_PEM")));
    let progmem = match style {
        Style::Arduino => " PROGMEM",
        Style::C => "",
    };
    if let Some(host) = &h.source.host {
        let _ = writeln!(
            out,
            "ESPCHECK_UNUSED static const char {p}HOST[]{progmem} = \"{}\";",
            c_escape(host)
        );
    }
    if let Some(leaf) = &h.leaf {
        let _ = writeln!(
            out,
            "ESPCHECK_UNUSED static const char {p}FINGERPRINT_SHA1[]{progmem} = \"{}\";",
            leaf.sha1.colon()
        );
        let _ = writeln!(
            out,
            "ESPCHECK_UNUSED static const uint8_t {p}FINGERPRINT_SHA1_BYTES[20]{progmem} = {{"
        );
        byte_lines(out, leaf.sha1.bytes());
        out.push_str("};\n");
        let _ = writeln!(
            out,
            "ESPCHECK_UNUSED static const char {p}FINGERPRINT_SHA256[]{progmem} = \"{}\";",
            leaf.sha256.colon()
        );
        let _ = writeln!(
            out,
            "// {p}PUBKEY_PEM: the leaf's public key, for \
             client.setKnownKey(new BearSSL::PublicKey({p}PUBKEY_PEM));"
        );
        for line in super::pubkey::KEY_PIN_COMMENT {
            let _ = writeln!(out, "// {line}");
        }
        let pubkey = super::pubkey::pem(&leaf.spki_der);
        pem_literal(out, &format!("{p}PUBKEY_PEM"), &pubkey, style);
    }
    pem_literal(out, &format!("{p}CA_PEM"), &h.ca_pem(), style);
    if let Some(not_after) = h.ca_not_after() {
        let _ = writeln!(
            out,
            "ESPCHECK_UNUSED static const int64_t {p}CA_NOT_AFTER = {not_after}LL; // {}",
            rfc3339(not_after)
        );
    }
}

/// A PEM text as a `char[]` whose contents are the PEM byte for byte.
fn pem_literal(out: &mut String, name: &str, pem: &str, style: Style) {
    match style {
        Style::Arduino => {
            // The literal starts right at `-----BEGIN`, so the string is the PEM byte for byte.
            let _ = writeln!(
                out,
                "ESPCHECK_UNUSED static const char {name}[] PROGMEM = R\"EOF({pem})EOF\";"
            );
        }
        Style::C => {
            let _ = writeln!(out, "ESPCHECK_UNUSED static const char {name}[] =");
            let lines: Vec<&str> = pem.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let end = if i + 1 == lines.len() { ";" } else { "" };
                let _ = writeln!(out, "    \"{line}\\n\"{end}");
            }
        }
    }
}

fn byte_lines(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(BYTES_PER_LINE) {
        out.push_str("   ");
        for b in chunk {
            let _ = write!(out, " 0x{b:02X},");
        }
        out.push('\n');
    }
}

/// A host name as a C string body. Hosts are validated DNS names or IP literals already; this
/// only guards against a quote or backslash slipping through.
fn c_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}
