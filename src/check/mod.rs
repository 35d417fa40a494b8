//! `check`: read pins back out of files and judge them against the chain a server serves now.
//!
//! Pure: `pins` turns bytes into pins, `judge` turns pins + a served chain + `now` into verdicts,
//! and `CheckReport` renders them as text or JSON. `cli::check` does the reading and dialing.

mod context;
pub mod found;
mod hosts;
pub mod judge;
pub mod offline;

/// The C/C++/Rust lexer lives with the certificate extractor; `check` reads pins through it too.
pub use crate::cert::lex;

use rustls_pki_types::UnixTime;
use std::io::Write;

use crate::util::shown;

pub use found::{
    Include, Pin, PinError, PinKind, PinSet, Source, identifiers, read_pins, read_source,
};
pub use judge::{PinResult, Status, judge};
pub use offline::{CommentedPin, OfflineReport};

use crate::cert::Chain;
use crate::cert::advice::date;
use crate::error::Exit;

/// Default `--warn-days`: a pin expiring within this many days fails the check.
pub const DEFAULT_WARN_DAYS: i64 = 30;

/// Pins bound to the host they are checked against.
#[derive(Debug, Clone)]
pub struct Job {
    /// The file they came from.
    pub file: String,
    /// The espcheck prefix or Rust module, or empty.
    pub group: String,
    /// The host to fetch.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The pins.
    pub pins: Vec<Pin>,
    /// The symbols the firmware uses (referenced by its sources, or marked chosen in the
    /// header): only these are judged, the others are informational. `None` judges all.
    pub judged: Option<Vec<String>>,
}

/// Bind each pin set to a host: the one it names, else `--host` (`fallback`), else the only host
/// the file names anywhere. A set with no host is an error naming the group. A `--host` with a
/// port that names a set's own host gives that set its port (espcheck headers record no port).
pub fn assign_hosts(
    file: &str,
    sets: Vec<PinSet>,
    fallback: Option<(&str, Option<u16>)>,
) -> Result<Vec<Job>, String> {
    let (jobs, hostless) = bind_hosts(file, sets, fallback);
    if let Some(set) = hostless.first() {
        let what = if set.group.is_empty() {
            "the pins".to_owned()
        } else {
            format!("the pins of {}", set.group)
        };
        return Err(format!(
            "{what} name no host (no *_HOST, HOST or host = \"…\"); pass --host"
        ));
    }
    Ok(jobs)
}

/// Like [`assign_hosts`], but the sets that no host can be found for come back as they are, to be
/// reported offline.
pub fn bind_hosts(
    file: &str,
    sets: Vec<PinSet>,
    fallback: Option<(&str, Option<u16>)>,
) -> (Vec<Job>, Vec<PinSet>) {
    let mut file_hosts: Vec<(String, Option<u16>)> = Vec::new();
    for s in &sets {
        if let Some(h) = &s.host
            && !file_hosts.iter().any(|(fh, _)| fh == h)
        {
            file_hosts.push((h.clone(), s.port));
        }
    }
    let only = match file_hosts.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let default_port = sets.iter().find_map(|s| s.port);
    let mut jobs = Vec::new();
    let mut hostless = Vec::new();
    for set in sets.into_iter().filter(|s| !s.pins.is_empty()) {
        let (host, port) = match (&set.host, fallback, &only) {
            // `--host HOST:PORT` naming the file's own host supplies the port it lacks.
            (Some(h), Some((fh, Some(p))), _) if fh == h => (h.clone(), set.port.or(Some(p))),
            (Some(h), _, _) => (h.clone(), set.port),
            (None, Some((h, p)), _) => (h.to_owned(), p.or(set.port)),
            (None, None, Some((h, p))) => (h.clone(), set.port.or(*p)),
            (None, None, None) => {
                hostless.push(set);
                continue;
            }
        };
        jobs.push(Job {
            file: file.to_owned(),
            group: set.group,
            host,
            port: port.or(default_port).unwrap_or(443),
            pins: set.pins,
            judged: None,
        });
    }
    (jobs, hostless)
}

/// The leaf the server serves now, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServedLeaf {
    /// Its subject.
    pub subject: String,
    /// SHA-1, colon hex.
    pub sha1: String,
    /// SHA-256, colon hex.
    pub sha256: String,
    /// Expiry date.
    pub not_after: String,
    /// Days from now.
    pub days_left: i64,
}

/// The verdict for one file/host: one JSON line with `--json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The file the pins came from.
    pub file: String,
    /// The espcheck prefix or Rust module, when the file groups pins that way.
    pub group: Option<String>,
    /// The host checked.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Every pin holds, none inside `--warn-days`.
    pub ok: bool,
    /// What the server serves now.
    pub leaf: Option<ServedLeaf>,
    /// Whether the served chain verifies against the local anchors (webpki-roots, the system
    /// store, `--ca-file`) for the host; information only, it does not change the exit code.
    pub trusted: Option<bool>,
    /// Why not, when it does not.
    pub trust_error: Option<String>,
    /// One verdict per pin.
    pub pins: Vec<PinResult>,
    /// Certificate blocks in comments or `#if 0` in the file: reported, never judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commented_out: Vec<CommentedPin>,
    /// Broken blocks and other things to fix in the file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// Judge every pin of `job` against `chain` (as served) at `now`.
    pub fn new(job: &Job, chain: &Chain, now: UnixTime, warn_days: i64) -> Self {
        let pins: Vec<PinResult> = job
            .pins
            .iter()
            .map(|p| {
                let mut r = judge(p, chain, now, warn_days);
                r.informational = job.judged.as_ref().is_some_and(|j| !j.contains(&p.symbol));
                r
            })
            .collect();
        let leaf = chain.entries.first().map(|e| ServedLeaf {
            subject: e.cert.subject.clone(),
            sha1: e.cert.sha1.colon(),
            sha256: e.cert.sha256.colon(),
            not_after: date(e.cert.not_after),
            days_left: e.cert.days_left(now),
        });
        CheckReport {
            file: job.file.clone(),
            group: (!job.group.is_empty()).then(|| job.group.clone()),
            host: job.host.clone(),
            port: job.port,
            ok: pins.iter().all(|p| p.ok || p.informational),
            leaf,
            trusted: None,
            trust_error: None,
            pins,
            commented_out: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// 0 when every pin holds, 1 otherwise.
    pub fn exit(&self) -> Exit {
        if self.ok { Exit::Ok } else { Exit::No }
    }

    /// `host:port` as dialed.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Human text.
    pub fn render_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let group = self
            .group
            .as_deref()
            .map(|g| format!(" ({})", shown(g)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: {}{group}",
            shown(&self.file),
            shown(&self.target())
        )?;
        match (self.trusted, &self.trust_error) {
            (Some(true), _) => writeln!(out, "  served chain: trusted by the local anchors")?,
            (Some(false), why) => writeln!(
                out,
                "  served chain: NOT trusted by the local anchors ({})",
                shown(why.as_deref().unwrap_or("unknown"))
            )?,
            (None, _) => {}
        }
        for p in &self.pins {
            let word = match p.status {
                Status::Match => "ok",
                _ if p.informational => "info",
                Status::Expiring => "EXPIRING",
                Status::Expired => "EXPIRED",
                Status::Mismatch => "FAIL",
            };
            let line = p.line.map(|l| format!(" (line {l})")).unwrap_or_default();
            let days = p
                .days_left
                .map(|d| format!(", {d} days left"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {word:<8} {} {}{line}{days}",
                p.kind,
                shown(&p.symbol)
            )?;
            writeln!(out, "           pinned: {}", shown(&p.pinned))?;
            writeln!(out, "           {}", shown(&p.detail))?;
        }
        offline::render_extras(out, &self.commented_out, &self.warnings)?;
        let stale: Vec<&PinResult> = self
            .pins
            .iter()
            .filter(|p| !p.ok && p.informational)
            .collect();
        let chosen: Vec<&PinResult> = self.pins.iter().filter(|p| !p.informational).collect();
        if !stale.is_empty() && !chosen.is_empty() && chosen.iter().all(|p| p.ok) {
            let names: Vec<&str> = stale.iter().map(|p| p.symbol.as_str()).collect();
            let uses: Vec<&str> = chosen.iter().map(|p| p.symbol.as_str()).collect();
            writeln!(
                out,
                "  {} in this file is stale, but the firmware does not use it; \
                 your chosen pin ({}) holds",
                shown(&names.join(", ")),
                shown(&uses.join(", "))
            )?;
        }
        let failed = self
            .pins
            .iter()
            .filter(|p| !p.ok && !p.informational)
            .count();
        if failed == 0 {
            writeln!(out, "  all {} pin(s) hold", self.pins.len())
        } else {
            writeln!(out, "  {failed} of {} pin(s) fail", self.pins.len())
        }
    }
}

/// A `--host HOST[:PORT]` value: the host, and the port if one was written.
pub fn parse_host_arg(text: &str) -> crate::Result<(String, Option<u16>)> {
    crate::target::Target::parse_parts(text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::cert::Fingerprint;

    fn set(group: &str, host: Option<&str>, port: Option<u16>, pins: usize) -> PinSet {
        PinSet {
            group: group.to_owned(),
            host: host.map(str::to_owned),
            port,
            pins: (0..pins)
                .map(|i| Pin {
                    symbol: format!("p{i}"),
                    line: None,
                    kind: PinKind::Sha1(Fingerprint::new(vec![i as u8; 20])),
                })
                .collect(),
        }
    }

    fn bound(jobs: &[Job]) -> Vec<(&str, &str, u16)> {
        jobs.iter()
            .map(|j| (j.group.as_str(), j.host.as_str(), j.port))
            .collect()
    }

    #[test]
    fn hosts_come_from_the_file_then_from_host_flag() {
        let sets = vec![set("A_", Some("a.com"), None, 1), set("B_", None, None, 1)];
        assert_eq!(
            bound(&assign_hosts("f", sets.clone(), Some(("b.org", Some(8443)))).unwrap()),
            [("A_", "a.com", 443), ("B_", "b.org", 8443)]
        );
        // The file's only host covers pins declared apart from it (a sketch).
        assert_eq!(
            bound(&assign_hosts("f", sets.clone(), None).unwrap()),
            [("A_", "a.com", 443), ("B_", "a.com", 443)]
        );
        // --host HOST:PORT for the file's own host supplies the port.
        assert_eq!(
            bound(&assign_hosts("f", sets, Some(("a.com", Some(4443)))).unwrap())[0],
            ("A_", "a.com", 4443)
        );
        let err = assign_hosts("f", vec![set("", None, None, 2)], None).unwrap_err();
        assert!(err.contains("--host"), "{err}");
        // A set with a host but no pins is not a job.
        let jobs = assign_hosts("f", vec![set("", Some("x.io"), Some(1), 0)], None).unwrap();
        assert!(jobs.is_empty());
    }
}
