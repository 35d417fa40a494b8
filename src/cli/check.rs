//! `espcheck check`: read pins back out of headers, sketches and bundles, re-fetch each host's
//! chain, and say whether every pin still holds and for how long.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::NetArgs;
use crate::check::{self, CheckReport, CommentedPin, Job, OfflineReport};
use crate::error::{Error, Exit, Result, show_path};
use crate::tls::{Acquired, Input, Target, TrustStore, source};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck check include/certs.h
  espcheck check src/main.ino --warn-days 60
  espcheck check pins.rs x509_crt_bundle --host api.github.com --json
  espcheck check certs.h --connect 127.0.0.1:8443 --ca-file root.pem
  espcheck check --offline src/*.h --warn-days 60     (CI without network: expiry only)

Pins in comments or #if 0 are listed as commented out and never judged. Pins whose file names
no host are reported offline (kind, expiry, days left); --host would fetch the served chain.

Exit status: 0 every pin holds; 1 a pin no longer matches or expires within --warn-days;
2 unreadable file or no pins; 3 timeout; 4 network.";

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files holding pins: espcheck headers and Rust modules, sketches, PEM/DER, IDF bundles.
    /// Sketches given beside a header say which of its symbols the firmware uses; a directory
    /// stands for the C/C++/Rust sources in it.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// HOST[:PORT] for pins whose file names no host (a bundle, a PEM file).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub host: Option<String>,
    /// Fail when a pin expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = check::DEFAULT_WARN_DAYS,
          value_parser = clap::value_parser!(i64).range(0..=36500))]
    pub warn_days: i64,
    /// JSON on stdout, one object per file and host per line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub net: NetArgs,
    /// Judge the served chain without the operating system's store (webpki-roots and --ca-file).
    #[arg(long)]
    pub no_system_roots: bool,
    /// No network at all: list every pin with its kind, host, expiry and days left; exit 1 when
    /// one expires within --warn-days.
    #[arg(long, conflicts_with_all = ["connect", "ca_file", "no_system_roots"])]
    pub offline: bool,
}

/// Run `check`.
pub fn run(args: Args) -> Result<Exit> {
    let fallback = args
        .host
        .as_deref()
        .map(check::parse_host_arg)
        .transpose()?;
    let fallback_ref = fallback.as_ref().map(|(h, p)| (h.as_str(), *p));
    let now = crate::util::now();
    let mut exit = Exit::Ok;
    let mut out = std::io::stdout().lock();
    let mut printed = 0usize;
    // Pins per file, in order; a file that cannot be read is reported and skipped.
    let mut jobs: Vec<(Job, Extras)> = Vec::new();
    let reads: Vec<Read> = expand(&args.files)
        .iter()
        .map(|p| read_file(p, &show_path(p)))
        .collect();
    let symbols: HashSet<&str> = reads
        .iter()
        .filter_map(|r| r.source.as_ref().ok())
        .flat_map(|s| s.sets.iter().flat_map(|set| set.pins.iter()))
        .map(|p| p.symbol.as_str())
        .collect();
    for (i, read) in reads.iter().enumerate() {
        let name = &read.name;
        let source = match &read.source {
            Ok(s) => s.clone(),
            // A sketch with no pins of its own that uses a header's symbols: it says which pins
            // the firmware uses, and is not an error.
            Err(_) if read.no_pins && read.idents.iter().any(|w| uses(&symbols, w)) => continue,
            Err(err) => {
                report_failure(&mut out, args.json, name, None, err)?;
                exit = exit.worst(err.exit());
                continue;
            }
        };
        let used: HashSet<&str> = reads
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, r)| r.idents.iter().map(String::as_str))
            .collect();
        let mut extras = Some(Extras {
            commented: source
                .commented
                .iter()
                .map(CommentedPin::from_commented)
                .collect(),
            warnings: source.warnings.clone(),
        });
        let (file_jobs, hostless) = if args.offline {
            let sets = source
                .sets
                .into_iter()
                .filter(|s| !s.pins.is_empty())
                .map(|mut s| {
                    if s.host.is_none()
                        && let Some((h, p)) = fallback_ref
                    {
                        s.host = Some(h.to_owned());
                        s.port = p.or(s.port);
                    }
                    s
                })
                .collect();
            (Vec::new(), sets)
        } else {
            let (mut jobs, hostless) = check::bind_hosts(name, source.sets.clone(), fallback_ref);
            for job in &mut jobs {
                job.judged = judged_symbols(job, &source, &used);
            }
            (jobs, hostless)
        };
        for set in hostless {
            let mut report = OfflineReport::new(name, &set, now, args.warn_days, args.offline);
            if let Some(x) = extras.take() {
                report.commented_out = x.commented;
                report.warnings = x.warnings;
            }
            exit = exit.worst(report.exit());
            emit(&mut out, args.json, &mut printed, &report, |r, o| {
                r.render_text(o)
            })?;
        }
        for job in file_jobs {
            jobs.push((job, extras.take().unwrap_or_default()));
        }
    }
    if jobs.is_empty() {
        out.flush()?;
        return Ok(exit);
    }
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&args.net.ca_file, !args.no_system_roots)?),
        timeout: args.net.timeout,
        jobs: 16,
        now,
        profile: None,
    };
    let plain: Vec<Job> = jobs.iter().map(|(j, _)| j.clone()).collect();
    let chains = fetch_all(&plain, &args.net, &plan)?;
    for (job, extras) in jobs {
        let fetched = chains.get(&(job.host.clone(), job.port));
        match fetched.ok_or_else(|| Error::env(&job.host, "was not fetched"))? {
            Ok(acquired) => {
                let mut report = CheckReport::new(&job, &acquired.served(), now, args.warn_days);
                let trust = &acquired.trust;
                report.trusted = Some(trust.trusted && trust.hostname_ok != Some(false));
                report.trust_error.clone_from(&trust.trust_error);
                report.commented_out = extras.commented;
                report.warnings = extras.warnings;
                exit = exit.worst(report.exit());
                emit(&mut out, args.json, &mut printed, &report, |r, o| {
                    r.render_text(o)
                })?;
            }
            Err(err) => {
                report_failure(&mut out, args.json, &job.file, Some(&job), err)?;
                exit = exit.worst(err.exit());
            }
        }
    }
    out.flush()?;
    Ok(exit)
}

/// What a file holds beside its live pins; shown with the first report of that file.
#[derive(Debug, Default)]
struct Extras {
    commented: Vec<CommentedPin>,
    warnings: Vec<String>,
}

/// One report: a JSON line, or text with a blank line between reports.
fn emit<R: serde::Serialize>(
    out: &mut dyn Write,
    json: bool,
    printed: &mut usize,
    report: &R,
    text: impl Fn(&R, &mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if json {
        super::json_line(&mut *out, report)?;
    } else {
        if *printed > 0 {
            writeln!(out)?;
        }
        text(report, out)?;
    }
    *printed += 1;
    Ok(())
}

/// Source file extensions a project directory is searched for.
const SOURCE_EXTENSIONS: &[&str] = &["h", "hpp", "hh", "c", "cc", "cpp", "ino", "rs"];

/// The paths to read: files as given, directories replaced by the sources under them (sorted,
/// hidden directories and `target`/`build` skipped).
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, 0);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if p.is_dir() {
            if depth < 8 && !name.starts_with('.') && !matches!(name.as_str(), "target" | "build") {
                walk(&p, out, depth + 1);
            }
        } else if p
            .extension()
            .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e.to_string_lossy().as_ref()))
        {
            out.push(p);
        }
    }
}

/// One file as read: its pins (or why not), and every identifier it mentions.
struct Read {
    name: String,
    source: Result<check::Source>,
    /// The file holds no pins at all (it may still use a header's).
    no_pins: bool,
    idents: Vec<String>,
}

/// Read the pins of one file; `include_str!("…")` is read relative to it.
fn read_file(path: &std::path::Path, name: &str) -> Read {
    let bytes = match crate::util::read_input(path, crate::util::MAX_INPUT_BYTES) {
        Ok(b) => b,
        Err(e) => {
            return Read {
                name: name.to_owned(),
                source: Err(e),
                no_pins: false,
                idents: Vec::new(),
            };
        }
    };
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let include = move |rel: &str| -> std::result::Result<Vec<u8>, String> {
        crate::util::read_input(&dir.join(rel), crate::util::MAX_INPUT_BYTES)
            .map_err(|e| e.to_string())
    };
    let source = check::read_source(&bytes, &include);
    // What the file uses, not what it declares: a header's own symbols are not uses of another
    // header with the same names.
    let own: HashSet<&str> = source
        .iter()
        .flat_map(|s| s.sets.iter().flat_map(|set| set.pins.iter()))
        .map(|p| p.symbol.as_str())
        .collect();
    let idents = check::identifiers(&bytes)
        .into_iter()
        .filter(|w| !uses(&own, w))
        .collect();
    Read {
        name: name.to_owned(),
        no_pins: matches!(source, Err(check::PinError::NoPins)),
        source: source.map_err(|e| Error::input(name, e)),
        idents,
    }
}

/// Does identifier `w` name one of `symbols` (a `FINGERPRINT_SHA1_BYTES` array names its pin)?
fn uses(symbols: &HashSet<&str>, w: &str) -> bool {
    symbols.contains(w)
        || w.strip_suffix("_BYTES")
            .is_some_and(|s| symbols.contains(s))
}

/// Which of a job's pins the firmware uses: the symbols the other files reference, else the one
/// the header marks as chosen, else all (`None`).
fn judged_symbols(job: &Job, source: &check::Source, used: &HashSet<&str>) -> Option<Vec<String>> {
    let referenced: Vec<String> = job
        .pins
        .iter()
        .filter(|p| {
            used.contains(p.symbol.as_str())
                || used.contains(format!("{}_BYTES", p.symbol).as_str())
        })
        .map(|p| p.symbol.clone())
        .collect();
    if !referenced.is_empty() {
        return Some(referenced);
    }
    let chosen: Vec<String> = job
        .pins
        .iter()
        .filter(|p| source.is_chosen(&job.group, &p.symbol))
        .map(|p| p.symbol.clone())
        .collect();
    (!chosen.is_empty()).then_some(chosen)
}

fn report_failure(
    out: &mut dyn Write,
    json: bool,
    file: &str,
    job: Option<&Job>,
    err: &Error,
) -> Result<()> {
    if json {
        let line = serde_json::json!({
            "file": file,
            "host": job.map(|j| j.host.clone()),
            "port": job.map(|j| j.port),
            "ok": false,
            "error": err.to_string(),
            "exit": err.exit().code(),
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    super::report_error(err);
    Ok(())
}

type Fetched = HashMap<(String, u16), Result<Acquired>>;

/// Capture each distinct host:port once, however many files pin it.
fn fetch_all(jobs: &[Job], net: &NetArgs, plan: &source::Plan) -> Result<Fetched> {
    let mut targets: Vec<Target> = Vec::new();
    for j in jobs {
        if !targets.iter().any(|t| t.host == j.host && t.port == j.port) {
            targets.push(Target {
                host: j.host.clone(),
                port: j.port,
                connect: net.connect.clone(),
            });
        }
    }
    if targets.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<(String, u16)> = targets.iter().map(|t| (t.host.clone(), t.port)).collect();
    let inputs = targets.into_iter().map(Input::Live).collect();
    Ok(keys
        .into_iter()
        .zip(source::acquire(inputs, plan)?)
        .collect())
}
