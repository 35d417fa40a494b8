//! Pull certificates out of whatever a user has: `openssl s_client` output, PEM bundles, DER, and
//! C/C++/Rust sources with PEM pasted into string literals (indented, quoted per line, or mangled).

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use regex::Regex;

use super::lex::{Skipped, Tok, lex_all};
use super::model::Certificate;

/// What kind of input the certificates came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// `openssl s_client` output (with or without `-showcerts`).
    SClient,
    /// Plain PEM.
    Pem,
    /// Binary DER.
    Der,
    /// A C/C++/Rust source file holding PEM literals.
    Source,
}

/// The certificates found, in file order, and what was odd about the input.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Certificates in file order, duplicates of an s_client dump dropped.
    pub certs: Vec<Certificate>,
    /// Things the user should fix but that did not stop parsing.
    pub warnings: Vec<String>,
    /// What the input looked like.
    pub kind: InputKind,
    /// Certificate blocks in comments or `#if 0`: reported, never used.
    pub commented: Vec<Commented>,
    /// Blocks that could not be read (truncated, placeholder, empty); the others still count.
    pub broken: Vec<Broken>,
}

/// A certificate block the compiler never sees (inside `//`, `/* */` or `#if 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commented {
    /// 1-based line of its BEGIN (or of the comment holding it).
    pub line: usize,
    /// The certificate, when the commented text still parses.
    pub cert: Option<Certificate>,
    /// A fingerprint literal set aside instead (`// const char* fp = "AA BB …";`); only `check`
    /// looks for these, `fingerprint --from` wants certificates.
    pub fingerprint: Option<crate::cert::Fingerprint>,
    /// `#if 0` rather than a comment.
    pub if_zero: bool,
}

/// A certificate block that is there but unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line of the first thing wrong (its BEGIN, or the line with a bad character).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Why no usable certificate came out. The text is the part after `error: FILE: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Nothing certificate-like in the input.
    #[error(
        "no certificate found (expected PEM, DER, openssl s_client output, or a source file with PEM literals)"
    )]
    NoCertificate,
    /// Only private keys. The key itself is never echoed.
    #[error("holds a private key and no certificate")]
    OnlyPrivateKey,
    /// The input is empty.
    #[error("is empty")]
    Empty,
    /// Every certificate block sits in a comment or `#if 0`.
    #[error("every certificate block is commented out (line {0}); nothing to use")]
    OnlyCommented(String),
    /// A specific certificate block is broken.
    #[error("certificate {index}: {reason}")]
    Certificate {
        /// 1-based position in the file.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

static BEGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(-{2,})\s*BEGIN ([A-Z0-9 ]+?)\s*(-{2,})").unwrap_or_else(|_| unreachable!())
});
static BEGIN_CERT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-{2,}\s*BEGIN (X509 |TRUSTED )?CERTIFICATE\s*-{2,}")
        .unwrap_or_else(|_| unreachable!())
});
static END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(-{2,})\s*END ([A-Z0-9 ]+?)\s*(-{2,})").unwrap_or_else(|_| unreachable!())
});

/// Base64 that tolerates missing padding: pasted PEM often loses the `=`.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Find every certificate in `input`.
pub fn extract(input: &[u8]) -> Result<Extracted, ExtractError> {
    if input.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ExtractError::Empty);
    }
    let text = String::from_utf8_lossy(input);
    if !BEGIN.is_match(&text) {
        if input.first() == Some(&0x30) {
            return extract_der(input);
        }
        let certs = der_arrays(&text);
        if certs.is_empty() {
            return Err(ExtractError::NoCertificate);
        }
        return Ok(Extracted {
            certs,
            warnings: Vec::new(),
            kind: InputKind::Source,
            commented: Vec::new(),
            broken: Vec::new(),
        });
    }
    match sniff(&text) {
        InputKind::Source => extract_source(&text),
        _ => extract_text(&text),
    }
}

/// DER certificates written as C byte arrays (`caCert[] PROGMEM = {0x30, 0x82, …}`): every
/// brace list of byte literals that parses as a certificate.
fn der_arrays(text: &str) -> Vec<Certificate> {
    let toks = lex_all(text).tokens;
    let mut certs = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.tok != Tok::Punct('{') || toks.get(i + 1).and_then(|t| t.tok.byte()) != Some(0x30) {
            continue;
        }
        let mut bytes = Vec::new();
        for t in &toks[i + 1..] {
            match &t.tok {
                Tok::Punct(',') => {}
                Tok::Punct('}') => break,
                other => match other.byte() {
                    Some(b) => bytes.push(b),
                    None => break,
                },
            }
        }
        if let Ok(c) = Certificate::from_der(&bytes) {
            certs.push(c);
        }
    }
    certs
}

fn extract_der(input: &[u8]) -> Result<Extracted, ExtractError> {
    let mut certs = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let index = certs.len() + 1;
        let len = der_len(rest).ok_or_else(|| ExtractError::Certificate {
            index,
            reason: "DER ends early or is not a certificate".to_owned(),
        })?;
        let (one, tail) = rest.split_at(len);
        let cert = Certificate::from_der(one).map_err(|e| ExtractError::Certificate {
            index,
            reason: e.to_string(),
        })?;
        certs.push(cert);
        rest = tail;
    }
    Ok(Extracted {
        certs,
        warnings: Vec::new(),
        kind: InputKind::Der,
        commented: Vec::new(),
        broken: Vec::new(),
    })
}

/// Length of the outer DER SEQUENCE at the start of `bytes`, header included.
fn der_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first()? != &0x30 {
        return None;
    }
    let first = *bytes.get(1)?;
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *bytes.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= bytes.len()).then_some(total)
}

struct Block {
    label: String,
    begin_line: usize,
    index: usize,
    body: String,
    /// The line and reason of the first thing wrong in it.
    bad: Option<(usize, String)>,
}

/// What one pass over PEM-ish text found.
#[derive(Default)]
struct Scan {
    certs: Vec<Certificate>,
    broken: Vec<Broken>,
    keys: usize,
    warnings: Vec<String>,
    /// Certificate blocks seen, good or broken.
    blocks: usize,
}

/// Every PEM block in `text`, whose first line is line `first_line` of the file.
fn scan_pem(text: &str, first_line: usize) -> Scan {
    let mut scan = Scan::default();
    let mut open: Option<Block> = None;
    for (n, raw_line) in text.split('\n').enumerate() {
        let line_no = first_line + n;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let mut rest = line;
        if open.is_none() {
            let Some(m) = BEGIN.captures(line) else {
                continue;
            };
            let label = m[2].to_owned();
            check_dashes(&m[1], &m[3], line_no, "BEGIN", &mut scan.warnings);
            let index = if is_cert_label(&label) {
                scan.blocks += 1;
                scan.blocks
            } else {
                0
            };
            let after = m.get(0).map_or(line.len(), |g| g.end());
            rest = &line[after..];
            open = Some(Block {
                label,
                begin_line: line_no,
                index,
                body: String::new(),
                bad: None,
            });
        }
        let Some(block) = open.as_mut() else { continue };
        let (body_part, ended) = match END.captures(rest) {
            Some(m) => {
                check_dashes(&m[1], &m[3], line_no, "END", &mut scan.warnings);
                (&rest[..m.get(0).map_or(0, |g| g.start())], true)
            }
            None => (rest, false),
        };
        if block.index > 0 && block.bad.is_none() {
            // A literal may carry several PEM lines joined by `\n` escapes; each piece is cleaned
            // on its own.
            for piece in body_part.split("\\n") {
                let cleaned = clean_literal(piece.trim_end_matches("\\r"));
                if let Some(bad) = cleaned.chars().find(|c| !is_b64(*c)) {
                    block.bad = Some((line_no, format!("unexpected character {bad:?} in base64")));
                    break;
                }
                block.body.push_str(cleaned);
            }
        }
        if ended {
            let Some(done) = open.take() else { continue };
            if done.index == 0 {
                if done.label.contains("PRIVATE KEY") {
                    scan.keys += 1;
                }
                continue;
            }
            let decoded = match done.bad.clone() {
                Some(bad) => Err(bad),
                None => decode_block(&done).map_err(|reason| (done.begin_line, reason)),
            };
            match decoded {
                Ok(cert) => scan.certs.push(cert),
                Err((line, reason)) => scan.broken.push(Broken { line, reason }),
            }
        }
    }
    if let Some(block) = open {
        if block.index > 0 {
            scan.broken.push(Broken {
                line: block.begin_line,
                reason: "BEGIN has no END line (the paste was cut?)".to_owned(),
            });
        } else if block.label.contains("PRIVATE KEY") {
            scan.keys += 1;
        }
    }
    scan
}

/// The certificates in PEM-ish `text` (a decoded string literal, say) whose first line is line
/// `first_line` of its file, so broken blocks name file lines.
pub fn extract_at(text: &str, first_line: usize) -> Result<Extracted, ExtractError> {
    finish(scan_pem(text, first_line), InputKind::Pem, Vec::new())
}

fn extract_text(text: &str) -> Result<Extracted, ExtractError> {
    let kind = sniff(text);
    let scan = scan_pem(text, 1);
    finish(scan, kind, Vec::new())
}

/// A C/C++/Rust source: certificates are read from its string literals, so `"…\n" \` lines,
/// `#define` continuations, raw literals and `\0` after END all read alike. Blocks in comments and
/// `#if 0` are set aside as commented out.
fn extract_source(text: &str) -> Result<Extracted, ExtractError> {
    let lexed = lex_all(text);
    let mut scan = Scan::default();
    for t in &lexed.tokens {
        if let Tok::Str(value) = &t.tok
            && BEGIN.is_match(value)
        {
            scan.merge(scan_pem(value, t.line));
        }
    }
    let commented: Vec<Commented> = lexed.skipped.iter().flat_map(commented_blocks).collect();
    if scan.blocks == 0 && scan.keys == 0 && commented.is_empty() {
        // PEM outside any literal (a plain PEM that mentions `const char` in a comment, say).
        return extract_text(text);
    }
    finish(scan, InputKind::Source, commented)
}

impl Scan {
    fn merge(&mut self, other: Scan) {
        self.certs.extend(other.certs);
        self.broken.extend(other.broken);
        self.keys += other.keys;
        self.warnings.extend(other.warnings);
        self.blocks += other.blocks;
    }
}

/// The certificate blocks in a comment or `#if 0` region, read as well as they still can be.
pub fn commented_blocks(skipped: &Skipped) -> Vec<Commented> {
    if !(skipped.text.contains("BEGIN ") && skipped.text.contains("-----")) {
        // Kept for a string literal in it (a commented-out fingerprint), not for a PEM block.
        return Vec::new();
    }
    let text = if skipped.if_zero {
        skipped.text.clone()
    } else {
        uncomment(&skipped.text)
    };
    let mut scan = Scan::default();
    let lexed = lex_all(&text);
    for t in &lexed.tokens {
        if let Tok::Str(value) = &t.tok
            && BEGIN.is_match(value)
        {
            scan.merge(scan_pem(value, skipped.line + t.line - 1));
        }
    }
    if scan.blocks == 0 {
        scan = scan_pem(&text, skipped.line);
    }
    let mut out: Vec<Commented> = scan
        .certs
        .into_iter()
        .map(|c| Commented {
            line: skipped.line,
            cert: Some(c),
            fingerprint: None,
            if_zero: skipped.if_zero,
        })
        .collect();
    out.extend(scan.broken.into_iter().map(|b| Commented {
        line: b.line,
        cert: None,
        fingerprint: None,
        if_zero: skipped.if_zero,
    }));
    if out.is_empty() && BEGIN_CERT.is_match(&text) {
        out.push(Commented {
            line: skipped.line,
            cert: None,
            fingerprint: None,
            if_zero: skipped.if_zero,
        });
    }
    out
}

/// Comment text without its markers: `// `, `/*`, `*/` and the ` * ` of block comments.
pub fn uncomment(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix("//").unwrap_or(t);
            let t = t.strip_prefix("/*").unwrap_or(t);
            let t = t.trim_end().strip_suffix("*/").unwrap_or(t);
            let t = t.trim_start();
            t.strip_prefix("* ")
                .or_else(|| t.strip_prefix('*'))
                .unwrap_or(t)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn finish(
    scan: Scan,
    kind: InputKind,
    commented: Vec<Commented>,
) -> Result<Extracted, ExtractError> {
    let Scan {
        mut certs,
        broken,
        keys,
        mut warnings,
        ..
    } = scan;
    if certs.is_empty() {
        if let Some(first) = broken.first() {
            return Err(ExtractError::Certificate {
                index: 1,
                reason: first.reason_at(),
            });
        }
        if !commented.is_empty() {
            let lines: Vec<String> = commented.iter().map(|c| c.line.to_string()).collect();
            return Err(ExtractError::OnlyCommented(lines.join(", ")));
        }
        return Err(if keys > 0 {
            ExtractError::OnlyPrivateKey
        } else {
            ExtractError::NoCertificate
        });
    }
    for b in &broken {
        warnings.push(format!(
            "{}; skipped, the other certificates are used",
            b.reason_at()
        ));
    }
    for c in &commented {
        warnings.push(format!(
            "line {}: a certificate block {}; not used",
            c.line,
            if c.if_zero {
                "inside #if 0"
            } else {
                "is commented out"
            }
        ));
    }
    if keys > 0 {
        warnings.push(format!(
            "ignored {keys} private key block(s); a private key never belongs in firmware pins"
        ));
    }
    if kind == InputKind::SClient {
        let mut seen = std::collections::HashSet::new();
        certs.retain(|c| seen.insert(c.sha256.clone()));
        // Without -showcerts s_client prints only the leaf; say how to see the rest.
        if certs.len() == 1 {
            warnings.push(
                "the dump holds only the leaf; run `openssl s_client -showcerts` to see the chain"
                    .to_owned(),
            );
        }
    }
    Ok(Extracted {
        certs,
        warnings,
        kind,
        commented,
        broken,
    })
}

impl Broken {
    /// `line N: reason`.
    pub fn reason_at(&self) -> String {
        format!("line {}: {}", self.line, self.reason)
    }
}

/// The certificates and broken blocks in a decoded string literal whose first line is line
/// `first_line` of its file. Never fails: a literal with only broken blocks yields only those.
pub fn scan_literal(text: &str, first_line: usize) -> (Vec<Certificate>, Vec<Broken>) {
    let scan = scan_pem(text, first_line);
    (scan.certs, scan.broken)
}

fn decode_block(block: &Block) -> Result<Certificate, String> {
    if block.body.is_empty() {
        return Err("the block is empty".to_owned());
    }
    let unpadded = block.body.trim_end_matches('=');
    if unpadded.len() % 4 == 1 || block.body.trim_end_matches('=').contains('=') {
        return Err("base64 ends mid-block".to_owned());
    }
    let der = LENIENT_B64.decode(&block.body).map_err(|e| match e {
        base64::DecodeError::InvalidByte(_, b) => {
            format!("bad base64 character {:?}", b as char)
        }
        _ => "base64 ends mid-block".to_owned(),
    })?;
    Certificate::from_der(&der).map_err(|e| {
        if der_len(&der).is_none() {
            "the DER inside the base64 is cut short (truncated paste?)".to_owned()
        } else {
            e.to_string()
        }
    })
}

fn is_cert_label(label: &str) -> bool {
    matches!(
        label,
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
    )
}

fn is_b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

fn check_dashes(open: &str, close: &str, line_no: usize, what: &str, warnings: &mut Vec<String>) {
    if open.len() != 5 || close.len() != 5 {
        warnings.push(format!(
            "line {line_no}: the {what} line has {} leading and {} trailing dashes instead of 5; \
             accepted here, but fix the paste: strict PEM parsers reject it",
            open.len(),
            close.len()
        ));
    }
}

/// One line of PEM body as it appears in a source file, reduced to its base64. Handles
/// `"MIIB...\n"`, `"MIIB...\n",`, `"MIIB..." \`, indented raw-literal lines and plain PEM.
fn clean_literal(line: &str) -> &str {
    // A trailing line splice (`"MIIB…\n" \`) is not part of the literal.
    let s = line.trim();
    let s = s.strip_suffix('\\').map_or(s, str::trim_end);
    // The end of a literal on a line of its own (`)EOF"`, `"#`, `";`) holds no base64.
    if s.is_empty()
        || matches!(
            s.trim_end_matches([';', ',']),
            ")EOF\"" | "\"#" | "\"" | "\")"
        )
    {
        return "";
    }
    if let Some(inner) = s.strip_prefix('"') {
        let inner = match inner.rfind('"') {
            Some(end) => &inner[..end],
            None => inner,
        };
        let inner = inner.trim_end_matches("\\n").trim_end_matches("\\r");
        return inner.trim();
    }
    s.trim_end_matches([';', ','])
}

fn sniff(text: &str) -> InputKind {
    const SCLIENT: [&str; 5] = [
        "CONNECTED(",
        "Certificate chain",
        "Server certificate",
        "SSL-Session:",
        "SSL handshake has read",
    ];
    const SOURCE: [&str; 12] = [
        "R\"",
        "PROGMEM",
        "const char",
        "r#\"",
        "\"-----BEGIN",
        "static const",
        "pub const",
        "#define",
        "#include",
        "&str",
        "char *",
        "char*",
    ];
    if SCLIENT.iter().any(|m| text.contains(m)) {
        InputKind::SClient
    } else if SOURCE.iter().any(|m| text.contains(m)) {
        InputKind::Source
    } else {
        InputKind::Pem
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::cert::testutil::chain;

    #[test]
    fn cleans_every_literal_form() {
        assert_eq!(clean_literal("  \"MIIBkTCB+w==\\n\" \\"), "MIIBkTCB+w==");
        assert_eq!(clean_literal("\"MIIB\\r\\n\","), "MIIB");
        assert_eq!(clean_literal("    MIIB/+=="), "MIIB/+==");
        assert_eq!(clean_literal(")EOF\";"), "");
        assert_eq!(clean_literal("\"#;"), "");
    }

    #[test]
    fn der_length_is_bounded_by_input() {
        assert_eq!(der_len(&[0x30, 0x03, 1, 2, 3]), Some(5));
        assert_eq!(der_len(&[0x30, 0x82, 0x01, 0x00, 0]), None);
        assert_eq!(der_len(&[0x30, 0x85, 0, 0, 0, 0, 0]), None);
        assert_eq!(der_len(&[0x31]), None);
    }

    #[test]
    fn concatenated_der_certificates() {
        let certs = chain(90, "Test");
        let mut der = certs[0].der.clone();
        der.extend_from_slice(&certs[1].der);
        let got = extract(&der).unwrap();
        assert_eq!(got.kind, InputKind::Der);
        assert_eq!(got.certs.len(), 2);
        assert_eq!(got.certs[1], certs[1]);
    }

    #[test]
    fn one_line_string_with_escapes() {
        let certs = chain(90, "Test");
        let pem = certs[0].pem().replace('\n', "\\n");
        let src = format!("const char* ca = \"{pem}\";\n");
        let got = extract(src.as_bytes()).unwrap();
        assert_eq!(got.kind, InputKind::Source);
        assert_eq!(got.certs, vec![certs[0].clone()]);
    }

    #[test]
    fn key_next_to_certificate_is_ignored_with_a_warning() {
        let certs = chain(90, "Test");
        let input = format!(
            "{}-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            certs[0].pem()
        );
        let got = extract(input.as_bytes()).unwrap();
        assert_eq!(got.certs.len(), 1);
        assert!(got.warnings[0].contains("private key"));
    }

    #[test]
    fn der_byte_arrays_in_a_source_are_read() {
        let certs = crate::cert::testutil::chain(90, "Test");
        let list: Vec<String> = certs[1].der.iter().map(|b| format!("0x{b:02X}")).collect();
        let src = format!(
            "const unsigned char caCert[] PROGMEM = {{\n  {}\n}};\n",
            list.join(", ")
        );
        let got = extract(src.as_bytes()).unwrap();
        assert_eq!(got.certs.len(), 1);
        assert_eq!(got.certs[0].sha1, certs[1].sha1);
        // Byte arrays that are no certificate are not one.
        assert!(extract(b"const uint8_t fp[] = {0x30, 0x01, 0x02};").is_err());
    }
}
