//! `check` without the network: every pin found, its kind, host, expiry and days left. This is what
//! `check --offline` prints, and what `check` prints for pins whose file names no host. Pure: pins
//! and `now` in, a report out.

use rustls_pki_types::UnixTime;
use std::io::Write;

use super::found::{Pin, PinKind, PinSet};
use crate::cert::advice::{date, short};
use crate::cert::extract::Commented;
use crate::error::Exit;
use crate::util::shown;

/// One pin, seen offline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfflinePin {
    /// The symbol in the file.
    pub symbol: String,
    /// 1-based line, when the file is text.
    pub line: Option<usize>,
    /// `sha1`, `sha256`, `pubkey`, `ca` or `bundle`, as in the online report.
    pub kind: &'static str,
    /// The pinned value: a fingerprint (colon hex), a subject, or a bundle summary.
    pub pinned: String,
    /// For a certificate pin, its SHA-1 (colon hex).
    pub sha1: Option<String>,
    /// Expiry of a certificate pin (a fingerprint has none of its own).
    pub not_after: Option<String>,
    /// Days from now to that expiry.
    pub days_left: Option<i64>,
    /// `ok`, `expiring`, `expired`, or `unknown` for pins that carry no date.
    pub status: &'static str,
}

/// A certificate block in a comment or `#if 0`: reported, never judged.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommentedPin {
    /// 1-based line.
    pub line: usize,
    /// `comment` or `if0`.
    pub inside: &'static str,
    /// Its SHA-1, when the commented text still parses.
    pub sha1: Option<String>,
    /// Its subject, likewise.
    pub subject: Option<String>,
    /// A commented-out fingerprint (colon hex) rather than a certificate.
    pub fingerprint: Option<String>,
}

impl CommentedPin {
    /// From what the extractor set aside.
    pub fn from_commented(c: &Commented) -> Self {
        CommentedPin {
            line: c.line,
            inside: if c.if_zero { "if0" } else { "comment" },
            sha1: c.cert.as_ref().map(|c| c.sha1.colon()),
            subject: c.cert.as_ref().map(|c| c.subject.clone()),
            fingerprint: c.fingerprint.as_ref().map(|f| f.colon()),
        }
    }
}

/// The offline verdict for one pin set: one JSON line with `--json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfflineReport {
    /// The file the pins came from.
    pub file: String,
    /// The espcheck prefix or Rust module, when the file groups pins that way.
    pub group: Option<String>,
    /// The host the file names for these pins, if any.
    pub host: Option<String>,
    /// Its port, if written.
    pub port: Option<u16>,
    /// Always true: nothing was fetched.
    pub offline: bool,
    /// No pin has expired or expires within `--warn-days`.
    pub ok: bool,
    /// Why nothing was fetched, and what would fetch it.
    pub note: String,
    /// One entry per pin.
    pub pins: Vec<OfflinePin>,
    /// Certificate blocks in comments or `#if 0`.
    pub commented_out: Vec<CommentedPin>,
    /// Broken blocks and other things to fix.
    pub warnings: Vec<String>,
}

impl OfflineReport {
    /// Report `set` from `file` at `now`. `asked` is true for `--offline`, false when the file
    /// named no host.
    pub fn new(file: &str, set: &PinSet, now: UnixTime, warn_days: i64, asked: bool) -> Self {
        let pins: Vec<OfflinePin> = set
            .pins
            .iter()
            .map(|p| offline_pin(p, now, warn_days))
            .collect();
        let note = match (asked, &set.host) {
            (true, _) => "--offline: nothing fetched; expiry is all that can be judged".to_owned(),
            (false, _) => "the file names no host; `--host HOST` would fetch the served chain \
                           and judge every pin against it"
                .to_owned(),
        };
        OfflineReport {
            file: file.to_owned(),
            group: (!set.group.is_empty()).then(|| set.group.clone()),
            host: set.host.clone(),
            port: set.port,
            offline: true,
            ok: pins.iter().all(|p| matches!(p.status, "ok" | "unknown")),
            note,
            pins,
            commented_out: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// 0 unless a pin has expired or expires within `--warn-days`.
    pub fn exit(&self) -> Exit {
        if self.ok { Exit::Ok } else { Exit::No }
    }

    /// Human text.
    pub fn render_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let group = self
            .group
            .as_deref()
            .map(|g| format!(" ({g})"))
            .unwrap_or_default();
        let host = match (&self.host, self.port) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.clone(),
            (None, _) => "no host".to_owned(),
        };
        writeln!(
            out,
            "{}: {}{}, offline",
            shown(&self.file),
            shown(&host),
            shown(&group)
        )?;
        writeln!(out, "  {}", self.note)?;
        for p in &self.pins {
            let word = match p.status {
                "ok" => "ok",
                "expiring" => "EXPIRING",
                "expired" => "EXPIRED",
                _ => "-",
            };
            let line = p.line.map(|l| format!(" (line {l})")).unwrap_or_default();
            let expiry = match (&p.not_after, p.days_left) {
                (Some(d), Some(n)) => format!(", expires {d} ({n} days left)"),
                _ => ", no expiry of its own".to_owned(),
            };
            writeln!(
                out,
                "  {word:<8} {} {}{line}{expiry}",
                p.kind,
                shown(&p.symbol)
            )?;
            writeln!(out, "           pinned: {}", shown(&p.pinned))?;
        }
        render_extras(out, &self.commented_out, &self.warnings)?;
        let bad = self
            .pins
            .iter()
            .filter(|p| matches!(p.status, "expiring" | "expired"))
            .count();
        if bad == 0 {
            writeln!(
                out,
                "  {} pin(s), none expired or expiring",
                self.pins.len()
            )
        } else {
            writeln!(
                out,
                "  {bad} of {} pin(s) expired or expiring",
                self.pins.len()
            )
        }
    }
}

fn offline_pin(p: &Pin, now: UnixTime, warn_days: i64) -> OfflinePin {
    let mut out = OfflinePin {
        symbol: p.symbol.clone(),
        line: p.line,
        kind: "",
        pinned: String::new(),
        sha1: None,
        not_after: None,
        days_left: None,
        status: "unknown",
    };
    match &p.kind {
        PinKind::Sha1(fp) => {
            out.kind = "sha1";
            out.pinned = fp.colon();
        }
        PinKind::Sha256(fp) => {
            out.kind = "sha256";
            out.pinned = fp.colon();
        }
        PinKind::PublicKey(der) => {
            out.kind = "pubkey";
            out.pinned = format!("public key ({} bytes of SubjectPublicKeyInfo)", der.len());
        }
        PinKind::Bundle { entries, .. } => {
            out.kind = "bundle";
            out.pinned = format!("{} CA(s)", entries.len());
        }
        PinKind::Cert(c) => {
            let days = c.days_left(now);
            out.kind = "ca";
            out.pinned = c.subject.clone();
            out.sha1 = Some(c.sha1.colon());
            out.not_after = Some(date(c.not_after));
            out.days_left = Some(days);
            out.status = if days < 0 {
                "expired"
            } else if days < warn_days {
                "expiring"
            } else {
                "ok"
            };
        }
    }
    out
}

/// The commented-out blocks and warnings of a file, as report lines.
pub fn render_extras(
    out: &mut dyn Write,
    commented: &[CommentedPin],
    warnings: &[String],
) -> std::io::Result<()> {
    for c in commented {
        let what = match (&c.subject, &c.fingerprint) {
            (Some(s), _) => short(s).to_owned(),
            (None, Some(f)) => format!("fingerprint {f}"),
            (None, None) => "a certificate".to_owned(),
        };
        let inside = if c.inside == "if0" {
            "inside #if 0"
        } else {
            "commented out"
        };
        writeln!(
            out,
            "  note     line {}: {what} is {inside}; not judged",
            c.line
        )?;
    }
    for w in warnings {
        writeln!(out, "  warning  {w}")?;
    }
    Ok(())
}
