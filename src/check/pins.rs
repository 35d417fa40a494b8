//! Reading pins back out of files: espcheck's own headers and Rust modules, hand-written sketches
//! (`fingerprint = "AA BB …"`, `setFingerprint("…")`, `R"EOF(` PEM literals), PEM/DER files and
//! ESP-IDF certificate bundles (both layouts, raw or as a C array). Pure: bytes in, pins out.

use std::sync::LazyLock;

use regex::Regex;

use super::context::{context, module_of_each};
use super::lex::{Tok, Token, lex};
use crate::cert::{Certificate, Fingerprint};
use crate::codegen::idf_bundle::{self, BundleEntry, Layout};

/// What a pin holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinKind {
    /// The leaf's SHA-1 (`setFingerprint`, legacy `verify`).
    Sha1(Fingerprint),
    /// The leaf's SHA-256 (arduino-esp32 `verify`).
    Sha256(Fingerprint),
    /// A certificate given as a trust anchor (`setTrustAnchors`, `setCACert`, `CA_PEM`).
    Cert(Box<Certificate>),
    /// The server's public key (`setKnownKey`, `PUBKEY_PEM`): SubjectPublicKeyInfo DER.
    PublicKey(Vec<u8>),
    /// An ESP-IDF certificate bundle.
    Bundle {
        /// Which layout it was written in.
        layout: Layout,
        /// Subject + key of every CA in it.
        entries: Vec<BundleEntry>,
    },
}

/// One pin found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The symbol it was assigned to (`API_GITHUB_COM_CA_PEM`, `fingerprint`, `setFingerprint()`).
    pub symbol: String,
    /// 1-based line of the literal; `None` for binary files.
    pub line: Option<usize>,
    /// The pinned value.
    pub kind: PinKind,
}

/// The pins that belong together: one espcheck prefix or Rust module, or a whole sketch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PinSet {
    /// The C prefix (`API_GITHUB_COM_`) or Rust module; empty for a sketch or plain file.
    pub group: String,
    /// The host the file names for these pins.
    pub host: Option<String>,
    /// A port the file names (`httpsPort = 443`, `host:8443`).
    pub port: Option<u16>,
    /// The pins, deduplicated (a `FINGERPRINT_SHA1` string and its `_BYTES` array are one pin).
    pub pins: Vec<Pin>,
}

/// Why no pins came out. The text is the part after `error: FILE: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Nothing pin-like in the file.
    #[error(
        "no pins found (looked for fingerprints, PEM certificates, espcheck symbols and IDF bundles)"
    )]
    NoPins,
    /// A pin that is there but broken (a truncated PEM, say).
    #[error("line {line} ({symbol}): {reason}")]
    Bad {
        /// Where.
        line: usize,
        /// Which symbol.
        symbol: String,
        /// What is wrong.
        reason: String,
    },
    /// A binary file that is neither a bundle nor DER.
    #[error("binary file that is neither an ESP-IDF certificate bundle nor DER ({0})")]
    Binary(String),
    /// The file is empty.
    #[error("is empty")]
    Empty,
}

/// espcheck's own symbol suffixes; what precedes them is the group prefix.
static OWN_SYMBOL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(.+_)(HOST|FINGERPRINT_SHA1|FINGERPRINT_SHA1_BYTES|FINGERPRINT_SHA256|PUBKEY_PEM|CA_PEM|CA_NOT_AFTER|CRT_BUNDLE)$",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// `AA:BB:…` or `AA BB …`: every byte its own pair, so a stray space in a hash is not enough.
static SEPARATED_PAIRS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9A-Fa-f]{2}([: ]+[0-9A-Fa-f]{2})+$").unwrap_or_else(|_| unreachable!())
});

/// A public-key literal (`PUBKEY_PEM`, `PublicKey(...)`): checked as a key pin, not a certificate.
static PUBKEY_BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-{2,}\s*BEGIN PUBLIC KEY\s*-{2,}").unwrap_or_else(|_| unreachable!())
});

static PEM_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-{2,}\s*BEGIN ").unwrap_or_else(|_| unreachable!()));

/// Read every pin in `bytes`.
pub fn read_pins(bytes: &[u8]) -> Result<Vec<PinSet>, PinError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PinError::Empty);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !bytes.contains(&0) => read_text(text),
        _ => read_binary(bytes),
    }
}

fn read_binary(bytes: &[u8]) -> Result<Vec<PinSet>, PinError> {
    let bundle_err = match idf_bundle::decode(bytes) {
        Ok((layout, entries)) => {
            return Ok(vec![single(Pin {
                symbol: "x509_crt_bundle".to_owned(),
                line: None,
                kind: PinKind::Bundle { layout, entries },
            })]);
        }
        Err(e) => e,
    };
    match crate::cert::extract(bytes) {
        Ok(found) => Ok(vec![single_certs(found.certs, None)]),
        Err(_) => Err(PinError::Binary(bundle_err.to_string())),
    }
}

fn single(pin: Pin) -> PinSet {
    PinSet {
        pins: vec![pin],
        ..PinSet::default()
    }
}

fn single_certs(certs: Vec<Certificate>, line: Option<usize>) -> PinSet {
    let pins = certs
        .into_iter()
        .enumerate()
        .map(|(i, c)| Pin {
            symbol: format!("certificate {}", i + 1),
            line,
            kind: PinKind::Cert(Box::new(c)),
        })
        .collect();
    PinSet {
        pins,
        ..PinSet::default()
    }
}

fn read_text(text: &str) -> Result<Vec<PinSet>, PinError> {
    let toks = lex(text);
    let mut sets: Vec<PinSet> = Vec::new();
    let modules = module_of_each(&toks);
    for (i, t) in toks.iter().enumerate() {
        let found = match &t.tok {
            Tok::Str(value) => from_literal(&toks, i, value)?,
            Tok::Punct('=') => from_array_or_port(&toks, i),
            _ => Found::None,
        };
        if matches!(found, Found::None) {
            continue;
        }
        let at = if matches!(t.tok, Tok::Str(_)) {
            i
        } else {
            i + 1
        };
        let ctx = context(&toks, at);
        let symbol = ctx.symbol();
        let group = match (&modules[i], &ctx.name) {
            (Some(m), _) => m.clone(),
            (None, Some(n)) => OWN_SYMBOL
                .captures(n)
                .map(|c| c[1].to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let set = match sets.iter_mut().position(|s| s.group == group) {
            Some(p) => &mut sets[p],
            None => {
                sets.push(PinSet {
                    group,
                    ..PinSet::default()
                });
                let last = sets.len() - 1;
                &mut sets[last]
            }
        };
        match found {
            Found::Host(h, port, strong) => {
                if set.host.is_none() || strong {
                    set.host = Some(h);
                    set.port = port.or(set.port);
                }
            }
            Found::Port(p) => set.port = set.port.or(Some(p)),
            Found::Pins(kinds) => {
                for kind in kinds {
                    if !set.pins.iter().any(|p| p.kind == kind) {
                        set.pins.push(Pin {
                            symbol: symbol.clone(),
                            line: Some(t.line),
                            kind,
                        });
                    }
                }
            }
            Found::None => {}
        }
    }
    sets.retain(|s| !s.pins.is_empty() || s.host.is_some());
    if sets.iter().any(|s| !s.pins.is_empty()) {
        return Ok(sets);
    }
    // No literals: a plain PEM file, or an s_client dump.
    match crate::cert::extract(text.as_bytes()) {
        Ok(found) => {
            let mut set = single_certs(found.certs, None);
            set.host = sets.into_iter().find_map(|s| s.host);
            Ok(vec![set])
        }
        Err(crate::cert::ExtractError::Certificate { index, reason }) => Err(PinError::Bad {
            line: 0,
            symbol: format!("certificate {index}"),
            reason,
        }),
        Err(_) => Err(PinError::NoPins),
    }
}

enum Found {
    None,
    /// A host, its port if written, and whether it is the file's own `HOST` symbol.
    Host(String, Option<u16>, bool),
    Port(u16),
    Pins(Vec<PinKind>),
}

fn from_literal(toks: &[Token], i: usize, value: &str) -> Result<Found, PinError> {
    let ctx = context(toks, i);
    if PUBKEY_BEGIN.is_match(value) {
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(value.as_bytes())
            .map_err(|e| PinError::Bad {
                line: toks[i].line,
                symbol: ctx.symbol(),
                reason: format!("unreadable PUBLIC KEY block ({e})"),
            })?;
        return Ok(Found::Pins(vec![PinKind::PublicKey(der.as_ref().to_vec())]));
    }
    if PEM_BEGIN.is_match(value) {
        let certs = crate::cert::extract(value.as_bytes()).map_err(|e| PinError::Bad {
            line: toks[i].line,
            symbol: ctx.symbol(),
            reason: e.to_string(),
        })?;
        let kinds = certs
            .certs
            .into_iter()
            .map(|c| PinKind::Cert(Box::new(c)))
            .collect();
        return Ok(Found::Pins(kinds));
    }
    if let Some(fp) = fingerprint(value, ctx.says_fingerprint()) {
        return Ok(Found::Pins(vec![fp]));
    }
    let strength = ctx.says_host();
    let url = value.starts_with("https://") && ctx.says_url();
    if (strength > 0 || url)
        && !value.contains(char::is_whitespace)
        && let Ok((host, port)) = crate::target::Target::parse_parts(value)
    {
        return Ok(Found::Host(host, port, strength == 2));
    }
    Ok(Found::None)
}

/// A fingerprint as boards accept it. Without a fingerprint-ish name, only the separated forms
/// (`AA:BB…`, `AA BB…`) count, so a 40-hex-digit token or commit id is not mistaken for one.
fn fingerprint(value: &str, named: bool) -> Option<PinKind> {
    let v = value.trim();
    if !v
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | ' ' | '-'))
    {
        return None;
    }
    if !named && !SEPARATED_PAIRS.is_match(v) {
        return None;
    }
    let fp = Fingerprint::parse_lenient(v)?;
    Some(match fp.bytes().len() {
        20 => PinKind::Sha1(fp),
        _ => PinKind::Sha256(fp),
    })
}

/// `NAME[...] = { 0x.., … }` / `NAME: [u8; 20] = [0x.., …]` (fingerprint bytes or a bundle as a
/// C array), and `httpsPort = 443`.
fn from_array_or_port(toks: &[Token], eq: usize) -> Found {
    let ctx = context(toks, eq + 1);
    let Some(open) = toks.get(eq + 1) else {
        return Found::None;
    };
    let close = match open.tok {
        Tok::Punct('{') => '}',
        Tok::Punct('[') => ']',
        Tok::Num(ref n) => {
            let is_port = ctx.lower_name().contains("port");
            return match (is_port, n.parse::<u16>()) {
                (true, Ok(p)) if p > 0 => Found::Port(p),
                _ => Found::None,
            };
        }
        _ => return Found::None,
    };
    let mut bytes = Vec::new();
    for t in &toks[eq + 2..] {
        match &t.tok {
            Tok::Punct(c) if *c == close => break,
            Tok::Punct(',') => {}
            Tok::Num(n) => match parse_u8(n) {
                Some(b) => bytes.push(b),
                None => return Found::None,
            },
            _ => return Found::None,
        }
    }
    let name = ctx.name.as_deref().unwrap_or("");
    if matches!(bytes.len(), 20 | 32) && (ctx.says_fingerprint() || name.ends_with("_BYTES")) {
        let fp = Fingerprint::new(bytes);
        return Found::Pins(vec![if fp.bytes().len() == 20 {
            PinKind::Sha1(fp)
        } else {
            PinKind::Sha256(fp)
        }]);
    }
    if bytes.len() > 8
        && let Ok((layout, entries)) = idf_bundle::decode(&bytes)
    {
        return Found::Pins(vec![PinKind::Bundle { layout, entries }]);
    }
    Found::None
}

fn parse_u8(n: &str) -> Option<u8> {
    let n = n.trim_end_matches(['u', 'U']);
    match n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h.trim_end_matches("u8"), 16).ok(),
        None => n.trim_end_matches("u8").parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn sha1s(set: &PinSet) -> Vec<String> {
        set.pins
            .iter()
            .filter_map(|p| match &p.kind {
                PinKind::Sha1(f) => Some(format!("{}={}", p.symbol, f.colon())),
                _ => None,
            })
            .collect()
    }

    const FP: &str = "5F F1 60 31 09 04 3E F2 90 D2 B0 8A 50 38 04 E8 37 9F BC 76";
    const FP_COLON: &str = "5F:F1:60:31:09:04:3E:F2:90:D2:B0:8A:50:38:04:E8:37:9F:BC:76";

    #[test]
    fn hand_written_sketch() {
        let src = format!(
            "const char* host = \"api.github.com\";\nconst int httpsPort = 8443;\n\
             // const char* old = \"00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33\";\n\
             const char fingerprint[] PROGMEM = \"{FP}\";\n\
             void setup() {{ client.setFingerprint(\"{FP_COLON}\"); }}\n"
        );
        let sets = read_pins(src.as_bytes()).unwrap();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].host.as_deref(), Some("api.github.com"));
        assert_eq!(sets[0].port, Some(8443));
        // Both spell the same pin: one entry, the first symbol.
        assert_eq!(sha1s(&sets[0]), [format!("fingerprint={FP_COLON}")]);
    }

    #[test]
    fn set_fingerprint_call_and_define() {
        let src = format!("#define FP \"{FP}\"\nclient.setFingerprint(F(\"{FP_COLON}\"));");
        let sets = read_pins(src.as_bytes()).unwrap();
        assert_eq!(sha1s(&sets[0]), [format!("FP={FP_COLON}")]);
        let src = format!("void f() {{ c.setFingerprint(F(\"{FP_COLON}\")); }}");
        let sets = read_pins(src.as_bytes()).unwrap();
        assert_eq!(sha1s(&sets[0]), [format!("setFingerprint()={FP_COLON}")]);
    }

    #[test]
    fn unrelated_hex_is_not_a_pin() {
        let src = "const char* commit = \"5ff16031090 43ef290d2b08a503804e8379fbc76\";\n\
                   const char* token = \"5ff1603109043ef290d2b08a503804e8379fbc76\";";
        assert_eq!(read_pins(src.as_bytes()), Err(PinError::NoPins));
    }

    #[test]
    fn espcheck_prefixes_group_pins() {
        let src = format!(
            "static const char A_COM_HOST[] PROGMEM = \"a.com\";\n\
             static const char A_COM_FINGERPRINT_SHA1[] PROGMEM = \"{FP_COLON}\";\n\
             ESPCHECK_UNUSED static const uint8_t A_COM_FINGERPRINT_SHA1_BYTES[20] PROGMEM = {{\n\
             0x5F, 0xF1, 0x60, 0x31, 0x09, 0x04, 0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38,\n\
             0x04, 0xE8, 0x37, 0x9F, 0xBC, 0x76, }};\n\
             static const char B_ORG_HOST[] = \"b.org\";\n\
             static const uint8_t B_ORG_FINGERPRINT_SHA1_BYTES[20] = {{ 0x5F, 0xF1, 0x60, 0x31, \
             0x09, 0x04, 0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38, 0x04, 0xE8, 0x37, 0x9F, \
             0xBC, 0x77 }};\n"
        );
        let sets = read_pins(src.as_bytes()).unwrap();
        let got: Vec<_> = sets
            .iter()
            .map(|s| (s.group.as_str(), s.host.as_deref(), s.pins.len()))
            .collect();
        assert_eq!(
            got,
            [("A_COM_", Some("a.com"), 1), ("B_ORG_", Some("b.org"), 1)]
        );
    }

    #[test]
    fn rust_modules_group_pins() {
        let src = format!(
            "pub mod a_com {{ pub const HOST: &str = \"a.com\"; \
             pub const FINGERPRINT_SHA1: &str = \"{FP_COLON}\"; }}\n\
             pub mod b_org {{ pub const HOST: &str = \"b.org:8443\"; \
             pub const FINGERPRINT_SHA1_BYTES: [u8; 20] = [0x5F, 0xF1, 0x60, 0x31, 0x09, 0x04, \
             0x3E, 0xF2, 0x90, 0xD2, 0xB0, 0x8A, 0x50, 0x38, 0x04, 0xE8, 0x37, 0x9F, 0xBC, 0x76]; }}"
        );
        let sets = read_pins(src.as_bytes()).unwrap();
        let got: Vec<_> = sets
            .iter()
            .map(|s| (s.group.as_str(), s.host.as_deref(), s.port, sha1s(s).len()))
            .collect();
        assert_eq!(
            got,
            [
                ("a_com", Some("a.com"), None, 1),
                ("b_org", Some("b.org"), Some(8443), 1)
            ]
        );
    }

    #[test]
    fn binary_garbage_is_refused() {
        assert!(matches!(
            read_pins(&[0, 1, 2, 3, 0xff]),
            Err(PinError::Binary(_))
        ));
        assert_eq!(read_pins(b"  \n"), Err(PinError::Empty));
    }
}
