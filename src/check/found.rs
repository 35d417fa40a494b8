//! Reading pins back out of files: espcheck's own headers and Rust modules, hand-written sketches
//! (`fingerprint = "AA BB …"`, `setFingerprint("…")`, `R"EOF(` PEM literals), PEM/DER files and
//! ESP-IDF certificate bundles (both layouts, raw or as a C array). Pure: bytes in, pins out.

use std::sync::LazyLock;

use regex::Regex;

use super::context::{context, module_of_each, name_before};
use super::hosts::{HostSeen, Placed, bind};
use super::lex::{Skipped, Tok, Token, lex_all};
use crate::cert::extract::{Commented, commented_blocks, extract_at, scan_literal, uncomment};
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
    /// Every pin sits in a comment or `#if 0`.
    #[error("no live pins: every pin is commented out (line {0})")]
    OnlyCommented(String),
}

/// Everything read out of one file: the live pins, what is commented out, what is broken.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The pins, grouped by prefix/module and host.
    pub sets: Vec<PinSet>,
    /// Certificate blocks in comments or `#if 0`: reported, never judged.
    pub commented: Vec<Commented>,
    /// Broken blocks (`line N (symbol): why`) and other things to fix; the good pins still count.
    pub warnings: Vec<String>,
    /// The symbols an espcheck header marks as the chosen pin (`API_GITHUB_COM_CA_PEM`,
    /// `api_github_com::CA_PEM`); the others in the same group are informational.
    pub chosen: Vec<String>,
}

impl Source {
    /// Is `symbol` of `group` the one its header marks as chosen?
    pub fn is_chosen(&self, group: &str, symbol: &str) -> bool {
        self.chosen
            .iter()
            .any(|c| c == symbol || c.split_once("::") == Some((group, symbol)))
    }
}

/// `// espcheck: chosen pin SYMBOL (…)`, written by `gen-cert-header`.
static CHOSEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"espcheck: chosen pin ([A-Za-z0-9_:]+)").unwrap_or_else(|_| unreachable!())
});

/// Every identifier in a C/C++/Rust source: what a sketch references of a header it includes.
pub fn identifiers(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let mut out: Vec<String> = lex_all(text)
        .tokens
        .into_iter()
        .filter_map(|t| match t.tok {
            Tok::Ident(w) => Some(w),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Reads the file an `include_str!("…")` names, relative to the source; `Err` says why not.
pub type Include<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

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

static CERT_BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-{2,}\s*BEGIN (X509 |TRUSTED )?CERTIFICATE\s*-{2,}")
        .unwrap_or_else(|_| unreachable!())
});

static PEM_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-{2,}\s*BEGIN ").unwrap_or_else(|_| unreachable!()));

/// Read every pin in `bytes` (`include_str!` is not followed).
pub fn read_pins(bytes: &[u8]) -> Result<Vec<PinSet>, PinError> {
    read_source(bytes, &|_| Err("not followed here".to_owned())).map(|s| s.sets)
}

/// Read every pin in `bytes`, and what is commented out or broken. `include` reads the files
/// `include_str!` names.
pub fn read_source(bytes: &[u8], include: Include) -> Result<Source, PinError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PinError::Empty);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !bytes.contains(&0) => read_text(text, include),
        _ => read_binary(bytes).map(|sets| Source {
            sets,
            ..Source::default()
        }),
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

fn read_text(text: &str, include: Include) -> Result<Source, PinError> {
    let lexed = lex_all(text);
    let toks = &lexed.tokens;
    let modules = module_of_each(toks);
    let mut placed: Vec<Placed> = Vec::new();
    let mut hosts: Vec<HostSeen> = Vec::new();
    let mut ports: Vec<(String, u16)> = Vec::new();
    let mut broken: Vec<PinError> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let (found, at) = match &t.tok {
            Tok::Str(value) => (from_literal(toks, i, value), i),
            Tok::Punct('=') => (from_array_or_port(toks, i, i + 1), i + 1),
            // C++11 brace-init without `=`: `uint8_t fp[20] {0x5F, …}`.
            Tok::Punct('{') if i > 0 && toks[i - 1].tok == Tok::Punct(']') => {
                (from_array_or_port(toks, i - 1, i), i)
            }
            Tok::Ident(w) if w == "include_str" => (from_include(toks, i, include), i + 3),
            // `#define MQTT_PORT 8883`, `#define FP {0x7e, …}`: a macro body has no `=`.
            Tok::Num(_) | Tok::Punct('{') if after_define(toks, i) => {
                (from_array_or_port(toks, i, i), i)
            }
            // A DER certificate as a bare initializer (`#include`d into `X[] PROGMEM =`).
            Tok::Punct('{') if starts_der(toks, i) && !follows(toks, i, &['=', ']']) => {
                (from_array_or_port(toks, i, i), i)
            }
            // `#define MQTT_HOST IPAddress(192, 168, 1, 10)`.
            Tok::Ident(w) if w == "IPAddress" => (from_ip_address(toks, i), i),
            _ => continue,
        };
        if matches!(found, Found::None) {
            continue;
        }
        let mut ctx = context(toks, at);
        if toks.get(at).is_some_and(|t| t.tok == Tok::Punct('{')) && !after_define(toks, at) {
            ctx.name = name_before(toks, at);
        }
        let symbol = ctx.symbol();
        let group = match (&modules[i], &ctx.name) {
            (Some(m), _) => m.clone(),
            (None, Some(n)) => OWN_SYMBOL
                .captures(n)
                .map(|c| c[1].to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        match found {
            Found::Host(host, port, strong) => hosts.push(HostSeen {
                group,
                name: ctx.name.clone(),
                index: i,
                line: t.line,
                host,
                port,
                strong,
            }),
            Found::Port(p) => ports.push((group, p)),
            Found::Pins(kinds, notes) => {
                warnings.extend(notes);
                for kind in kinds {
                    placed.push(Placed {
                        group: group.clone(),
                        index: i,
                        pin: Pin {
                            symbol: symbol.clone(),
                            line: Some(t.line),
                            kind,
                        },
                    });
                }
            }
            Found::Broken(line, reason) => {
                warnings.push(format!("line {line} ({symbol}): {reason}"));
                broken.push(PinError::Bad {
                    line,
                    symbol: symbol.clone(),
                    reason,
                });
            }
            Found::None => {}
        }
    }
    // `MQTT_HOST` looks like an espcheck `PREFIX_HOST`, but a prefix no pin shares is no group:
    // the host belongs with the sketch's pins (`MQTT_SERVER_FINGERPRINT`).
    let pin_groups: Vec<String> = placed.iter().map(|p| p.group.clone()).collect();
    for h in &mut hosts {
        if modules[h.index].is_none() && !pin_groups.contains(&h.group) {
            h.group.clear();
        }
    }
    let mut commented: Vec<Commented> = lexed.skipped.iter().flat_map(commented_blocks).collect();
    commented.extend(lexed.skipped.iter().flat_map(commented_fingerprints));
    commented.sort_by_key(|c| c.line);
    let mut sets = bind(toks, placed, &hosts, &ports);
    sets.retain(|s| !s.pins.is_empty() || s.host.is_some());
    if sets.iter().any(|s| !s.pins.is_empty()) {
        let chosen = CHOSEN
            .captures_iter(text)
            .map(|c| c[1].to_owned())
            .collect();
        return Ok(Source {
            sets,
            commented,
            warnings,
            chosen,
        });
    }
    if let Some(first) = broken.into_iter().next() {
        return Err(first);
    }
    if !commented.is_empty() {
        let lines: Vec<String> = commented.iter().map(|c| c.line.to_string()).collect();
        return Err(PinError::OnlyCommented(lines.join(", ")));
    }
    // No literals: a plain PEM file, or an s_client dump.
    match crate::cert::extract(text.as_bytes()) {
        Ok(found) => {
            let mut set = single_certs(found.certs, None);
            set.host = sets.into_iter().find_map(|s| s.host);
            Ok(Source {
                sets: vec![set],
                commented: found.commented,
                warnings: found.warnings,
                chosen: Vec::new(),
            })
        }
        Err(crate::cert::ExtractError::Certificate { index, reason }) => Err(PinError::Bad {
            line: 0,
            symbol: format!("certificate {index}"),
            reason,
        }),
        Err(_) => Err(PinError::NoPins),
    }
}

/// `include_str!("ca.pem")`: the certificates in the file it names.
fn from_include(toks: &[Token], i: usize, include: Include) -> Found {
    let is = |k: usize, c: char| toks.get(k).is_some_and(|t| t.tok == Tok::Punct(c));
    let (true, true, Some(Tok::Str(path))) = (
        is(i + 1, '!'),
        is(i + 2, '('),
        toks.get(i + 3).map(|t| &t.tok),
    ) else {
        return Found::None;
    };
    let line = toks[i].line;
    let bytes = match include(path) {
        Ok(b) => b,
        Err(why) => return Found::Broken(line, format!("include_str!(\"{path}\"): {why}")),
    };
    let text = String::from_utf8_lossy(&bytes);
    if !PEM_BEGIN.is_match(&text) {
        return Found::None;
    }
    match extract_at(&text, 1) {
        Ok(found) => Found::Pins(
            found
                .certs
                .into_iter()
                .map(|c| PinKind::Cert(Box::new(c)))
                .collect(),
            found
                .broken
                .iter()
                .map(|b| format!("{path}: {}; skipped", b.reason_at()))
                .collect(),
        ),
        Err(e) => Found::Broken(line, format!("{path}: {e}")),
    }
}

enum Found {
    None,
    /// A host, its port if written, and whether it is the file's own `HOST` symbol.
    Host(String, Option<u16>, bool),
    Port(u16),
    /// Pins, and notes on blocks beside them that were skipped.
    Pins(Vec<PinKind>, Vec<String>),
    /// A block that is there but unreadable: its line and why.
    Broken(usize, String),
}

fn from_literal(toks: &[Token], i: usize, value: &str) -> Found {
    let ctx = context(toks, i);
    let line = toks[i].line;
    if PUBKEY_BEGIN.is_match(value) && !CERT_BEGIN.is_match(value) {
        use rustls_pki_types::pem::PemObject as _;
        return match rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(value.as_bytes()) {
            Ok(der) => Found::Pins(vec![PinKind::PublicKey(der.as_ref().to_vec())], Vec::new()),
            Err(e) => Found::Broken(line, format!("unreadable PUBLIC KEY block ({e})")),
        };
    }
    if CERT_BEGIN.is_match(value) {
        // `"-----BEGIN CERTIFICATE-----\n" CONFIG_BROKER_CERTIFICATE_OVERRIDE "\n-----END…"`
        // (esp-mqtt's examples): the body is a macro set at build time, not a cut paste.
        if !value.contains("-----END")
            && let (Some(Tok::Ident(m)), Some(Tok::Str(end))) = (
                toks.get(i + 1).map(|t| &t.tok),
                toks.get(i + 2).map(|t| &t.tok),
            )
            && end.contains("-----END")
        {
            return Found::Broken(
                line,
                format!(
                    "the certificate body is the macro {m}, set at build time; pin the PEM file it comes from"
                ),
            );
        }
        let (certs, broken) = scan_literal(value, line);
        if certs.is_empty()
            && let Some(b) = broken.first()
        {
            return Found::Broken(b.line, b.reason.clone());
        }
        return Found::Pins(
            certs
                .into_iter()
                .map(|c| PinKind::Cert(Box::new(c)))
                .collect(),
            broken
                .iter()
                .map(|b| format!("line {} ({}): {}; skipped", b.line, ctx.symbol(), b.reason))
                .collect(),
        );
    }
    if PEM_BEGIN.is_match(value) {
        // A private key or a CSR: not a pin.
        return Found::None;
    }
    if ctx.says_private_key() {
        return Found::None;
    }
    if let Some(fp) = fingerprint(value, ctx.says_fingerprint()) {
        return Found::Pins(vec![fp], Vec::new());
    }
    let strength = ctx.says_host();
    let url = ctx.says_url()
        && (value.starts_with("https://") || value.starts_with("wss://") || !value.contains('/'));
    if (strength > 0 || url)
        && !value.contains(char::is_whitespace)
        && let Ok((host, port)) = crate::target::Target::parse_parts(value)
        && plausible_host(&host)
    {
        // `connect("example.com", 1234, …)`, `beginSslWithCA("echo.websocket.org", 443, …)`.
        let port = port.or_else(|| match (&ctx.call, toks.get(i + 1), toks.get(i + 2)) {
            (Some((_, 0)), Some(c), Some(n)) if c.tok == Tok::Punct(',') => match &n.tok {
                Tok::Num(n) => n.parse::<u16>().ok().filter(|p| *p > 0),
                _ => None,
            },
            _ => None,
        });
        return Found::Host(host, port, strength == 2);
    }
    Found::None
}

/// Fingerprint literals in a comment or `#if 0` (`//#define FP "FD C0 …"`): listed, never judged.
fn commented_fingerprints(skipped: &Skipped) -> Vec<Commented> {
    let text = if skipped.if_zero {
        // Blank out the `#if 0` / `#elif 0` line itself, or lexing would skip the region again.
        let body = skipped.text.split_once('\n').map_or("", |(_, b)| b);
        format!("\n{body}")
    } else {
        uncomment(&skipped.text)
    };
    let toks = lex_all(&text).tokens;
    toks.iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let Tok::Str(value) = &t.tok else {
                return None;
            };
            let (PinKind::Sha1(fp) | PinKind::Sha256(fp)) =
                fingerprint(value, context(&toks, i).says_fingerprint())?
            else {
                return None;
            };
            Some(Commented {
                line: skipped.line + t.line - 1,
                cert: None,
                fingerprint: Some(fp),
                if_zero: skipped.if_zero,
            })
        })
        .collect()
}

/// The token right after `#define NAME`.
fn after_define(toks: &[Token], i: usize) -> bool {
    i >= 2
        && toks[i - 2].tok == Tok::Ident("define".to_owned())
        && matches!(toks[i - 1].tok, Tok::Ident(_))
}

fn follows(toks: &[Token], i: usize, puncts: &[char]) -> bool {
    i > 0 && matches!(toks[i - 1].tok, Tok::Punct(c) if puncts.contains(&c))
}

/// `{ 0x30, 0x82, …`: the SEQUENCE header every DER certificate over 255 bytes starts with.
fn starts_der(toks: &[Token], i: usize) -> bool {
    let byte = |k: usize| toks.get(k).and_then(|t| t.tok.byte());
    byte(i + 1) == Some(0x30) && byte(i + 3) == Some(0x82)
}

/// `IPAddress(192, 168, 1, 10)` named as a host (`#define MQTT_HOST IPAddress(…)`).
fn from_ip_address(toks: &[Token], i: usize) -> Found {
    let ctx = context(toks, i);
    if ctx.says_host() == 0 {
        return Found::None;
    }
    let tok = |k: usize| toks.get(i + k).map(|t| &t.tok);
    if tok(1) != Some(&Tok::Punct('(')) || tok(9) != Some(&Tok::Punct(')')) {
        return Found::None;
    }
    let mut octets = Vec::with_capacity(4);
    for k in [2, 4, 6, 8] {
        match tok(k) {
            Some(Tok::Num(n)) => match n.parse::<u8>() {
                Ok(o) => octets.push(o.to_string()),
                Err(_) => return Found::None,
            },
            _ => return Found::None,
        }
    }
    if [3, 5, 7].iter().any(|&k| tok(k) != Some(&Tok::Punct(','))) {
        return Found::None;
    }
    Found::Host(octets.join("."), None, ctx.says_host() == 2)
}

/// A real host name or IP, not a placeholder (`HUE_BRIDGE_HOST`, `<https-host>.com`, `xxx`).
fn plausible_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()) && tld.len() >= 2)
        && !host.to_ascii_lowercase().contains("xxx")
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
fn from_array_or_port(toks: &[Token], eq: usize, open_at: usize) -> Found {
    let mut ctx = context(toks, open_at);
    if open_at == eq + 1 && toks[eq].tok != Tok::Punct('=') {
        ctx.name = name_before(toks, open_at);
    }
    let Some(open) = toks.get(open_at) else {
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
    for t in &toks[open_at + 1..] {
        match &t.tok {
            Tok::Punct(c) if *c == close => break,
            Tok::Punct(',') => {}
            num @ Tok::Num(_) => match num.byte() {
                Some(b) => bytes.push(b),
                None => return Found::None,
            },
            _ => return Found::None,
        }
    }
    let name = ctx.name.as_deref().unwrap_or("");
    if matches!(bytes.len(), 20 | 32) && (ctx.says_fingerprint() || name.ends_with("_BYTES")) {
        let fp = Fingerprint::new(bytes);
        return Found::Pins(
            vec![if fp.bytes().len() == 20 {
                PinKind::Sha1(fp)
            } else {
                PinKind::Sha256(fp)
            }],
            Vec::new(),
        );
    }
    if bytes.len() > 8
        && let Ok((layout, entries)) = idf_bundle::decode(&bytes)
    {
        return Found::Pins(vec![PinKind::Bundle { layout, entries }], Vec::new());
    }
    // A DER certificate as a C array (axTLS `setCACert_P(caCert, caCertLen)`, Blynk `_der.h`).
    if bytes.starts_with(&[0x30, 0x82]) && !ctx.lower_name().contains("key") {
        let line = toks[open_at].line;
        return match Certificate::from_der(&bytes) {
            Ok(c) => Found::Pins(vec![PinKind::Cert(Box::new(c))], Vec::new()),
            Err(e) => Found::Broken(line, format!("DER byte array: {e}")),
        };
    }
    Found::None
}

#[cfg(test)]
#[path = "found_tests.rs"]
mod tests;
