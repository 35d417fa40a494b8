//! The `fingerprint` report: one struct, rendered as human text or as JSON (`fingerprint --json`:
//! fields are added, never renamed, since scripts read them).

use rustls_pki_types::UnixTime;
use std::io::Write;

use crate::util::shown;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::advice::{self, Advice, date, rfc3339, short};
use super::chain::{Chain, Role};

/// Styles for the words that matter. Renderers always emit them; the CLI writes through `anstream`,
/// which strips them when stdout is not a terminal, with `NO_COLOR`, or with `--color never`.
pub(crate) const GOOD: Style = AnsiColor::Green.on_default().bold();
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default().bold();

/// TLS parameters of a live capture.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// rustls' suite name, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: String,
}

/// What the trust check found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Trust {
    /// The chain verifies to a trust anchor (webpki-roots, `--ca-file`, the system store).
    pub trusted: bool,
    /// Why not, when it does not.
    pub trust_error: Option<String>,
    /// The leaf is valid for the host name; `null` when there is no name to check.
    pub hostname_ok: Option<bool>,
}

/// One certificate, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CertReport {
    pub index: usize,
    pub role: Role,
    /// False for a root supplied by a local trust store rather than the server.
    pub sent: bool,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub key: String,
    pub signature: String,
    pub self_signed: bool,
    pub sha1: String,
    pub sha256: String,
    pub spki_sha256: String,
    pub pem: String,
}

/// The whole report for one target.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    pub host: Option<String>,
    pub port: Option<u16>,
    /// `live` or `file`.
    pub source: &'static str,
    /// The file the chain came from, for `--from`.
    pub file: Option<String>,
    pub tls: Option<TlsInfo>,
    pub trusted: bool,
    pub trust_error: Option<String>,
    pub hostname_ok: Option<bool>,
    pub chain: Vec<CertReport>,
    pub recommended: Option<advice::Recommendation>,
    /// Every pin choice, weighed.
    pub choices: Vec<advice::Choice>,
    pub warnings: Vec<String>,
}

impl ChainReport {
    /// Assemble the report from its parts.
    pub fn new(chain: &Chain, advice: Advice, trust: Trust, now: UnixTime) -> Self {
        let certs = chain
            .entries
            .iter()
            .map(|e| CertReport {
                index: e.index,
                role: e.role,
                sent: e.sent,
                subject: e.cert.subject.clone(),
                issuer: e.cert.issuer.clone(),
                serial: e.cert.serial.clone(),
                not_before: rfc3339(e.cert.not_before),
                not_after: rfc3339(e.cert.not_after),
                days_left: e.cert.days_left(now),
                key: e.cert.key.clone(),
                signature: e.cert.signature.clone(),
                self_signed: e.cert.self_signed,
                sha1: e.cert.sha1.colon(),
                sha256: e.cert.sha256.colon(),
                spki_sha256: e.cert.spki_sha256.clone(),
                pem: e.cert.pem(),
            })
            .collect();
        ChainReport {
            host: None,
            port: None,
            source: "file",
            file: None,
            tls: None,
            trusted: trust.trusted,
            trust_error: trust.trust_error,
            hostname_ok: trust.hostname_ok,
            chain: certs,
            recommended: advice.recommended,
            choices: advice.choices,
            warnings: advice.warnings,
        }
    }

    /// The target as a heading: `host:port`, or the file name.
    pub fn title(&self) -> String {
        match (&self.host, self.port, &self.file) {
            (Some(h), Some(p), _) if h.contains(':') => format!("[{h}]:{p}"),
            (Some(h), Some(p), _) => format!("{h}:{p}"),
            (_, _, Some(f)) => f.clone(),
            (Some(h), None, None) => h.clone(),
            _ => "-".to_owned(),
        }
    }

    /// Human text.
    pub fn render_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut head = shown(&self.title()).into_owned();
        if let Some(tls) = &self.tls {
            head.push_str(&format!("  {} {}", tls.version, tls.cipher));
        }
        writeln!(out, "{head}")?;
        let trust = if self.trusted {
            format!("{GOOD}trusted{GOOD:#}")
        } else {
            let why = shown(self.trust_error.as_deref().unwrap_or("unknown"));
            format!("{BAD}NOT trusted{BAD:#}: {why}")
        };
        let host = match self.hostname_ok {
            Some(true) => format!("{GOOD}hostname ok{GOOD:#}"),
            Some(false) => format!("{BAD}hostname MISMATCH{BAD:#}"),
            None => "hostname not checked".to_owned(),
        };
        writeln!(out, "  {trust}; {host}")?;
        for c in &self.chain {
            writeln!(out)?;
            let sent = if c.sent {
                ""
            } else {
                "  (not in the chain as given; from the local trust store)"
            };
            writeln!(
                out,
                "[{}] {}  {}{sent}",
                c.index,
                c.role.as_str(),
                shown(&c.subject)
            )?;
            writeln!(out, "    issuer    {}", shown(&c.issuer))?;
            writeln!(out, "    serial    {}", c.serial)?;
            writeln!(
                out,
                "    valid     {} to {} ({} days left)",
                &c.not_before[..10.min(c.not_before.len())],
                &c.not_after[..10.min(c.not_after.len())],
                c.days_left
            )?;
            let ss = if c.self_signed { ", self-signed" } else { "" };
            writeln!(out, "    key       {}, {}{ss}", c.key, c.signature)?;
            writeln!(out, "    SHA-1     {}", c.sha1)?;
            writeln!(out, "              {}", c.sha1.replace(':', " "))?;
            writeln!(out, "    SHA-256   {}", c.sha256)?;
            writeln!(out, "    SPKI      sha256/{}", c.spki_sha256)?;
        }
        self.render_advice(out)
    }

    fn render_advice(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "Pin advice")?;
        if let Some(leaf) = self.chain.iter().find(|c| c.role == Role::Leaf) {
            let until = date_of(&leaf.not_after);
            writeln!(out, "  ESP8266 setFingerprint(\"{}\")", leaf.sha1)?;
            writeln!(
                out,
                "  ESP8266 (core <= 2.4) verify(\"{}\", host)",
                leaf.sha1.replace(':', " ")
            )?;
            writeln!(out, "  ESP32 verify() SHA-256 {}", leaf.sha256)?;
            writeln!(
                out,
                "    leaf pins hold until {until} at the latest ({} days)",
                leaf.days_left
            )?;
        }
        match &self.recommended {
            Some(rec) => {
                if let Some(c) = self.chain.get(rec.index) {
                    writeln!(
                        out,
                        "  setTrustAnchors / setCACert: [{}] {} {} (until {})",
                        c.index,
                        c.role.as_str(),
                        shown(short(&c.subject)),
                        date_of(&c.not_after)
                    )?;
                }
                writeln!(out, "    why: {}", shown(&rec.why))?;
            }
            None => writeln!(
                out,
                "  setTrustAnchors / setCACert: no CA certificate to recommend"
            )?,
        }
        let others: Vec<_> = self
            .choices
            .iter()
            .filter(|ch| Some(ch.index) != self.recommended.as_ref().map(|r| r.index))
            .collect();
        if !others.is_empty() {
            writeln!(out, "  other choices:")?;
            for ch in others {
                writeln!(
                    out,
                    "    [{}] {:<12} until {} ({} days); breaks when {}",
                    ch.index,
                    ch.role.as_str(),
                    date(ch.holds_until),
                    ch.days_left,
                    shown(&ch.breaks_when)
                )?;
            }
        }
        if !self.warnings.is_empty() {
            writeln!(out)?;
            for w in &self.warnings {
                writeln!(out, "{WARN}warning:{WARN:#} {}", shown(w))?;
            }
        }
        Ok(())
    }

    /// The chain as `openssl s_client -showcerts` prints it.
    pub fn render_showcerts(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "---\nCertificate chain")?;
        for c in self.chain.iter().filter(|c| c.sent) {
            writeln!(out, " {} s:{}", c.index, c.subject)?;
            writeln!(out, "   i:{}", c.issuer)?;
            writeln!(out, "   a:PKEY: {}; sigalg: {}", c.key, c.signature)?;
            writeln!(
                out,
                "   v:NotBefore: {}; NotAfter: {}",
                c.not_before, c.not_after
            )?;
            write!(out, "{}", c.pem)?;
        }
        writeln!(out, "---")
    }
}

fn date_of(rfc: &str) -> &str {
    &rfc[..10.min(rfc.len())]
}
