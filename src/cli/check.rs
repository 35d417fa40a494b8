//! `espcheck check`: read pins back out of headers, sketches and bundles, re-fetch each host's
//! chain, and say whether every pin still holds and for how long.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::NetArgs;
use crate::check::{self, CheckReport, Job};
use crate::error::{Error, Exit, Result, show_path};
use crate::tls::{Acquired, Input, Target, TrustStore, source};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck check include/certs.h
  espcheck check src/main.ino --warn-days 60
  espcheck check pins.rs x509_crt_bundle --host api.github.com --json
  espcheck check certs.h --connect 127.0.0.1:8443 --ca-file root.pem

Exit status: 0 every pin holds; 1 a pin no longer matches or expires within --warn-days;
2 unreadable file or no pins; 3 timeout; 4 network.";

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files holding pins: espcheck headers and Rust modules, sketches, PEM/DER, IDF bundles.
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
}

/// Run `check`.
pub fn run(args: Args) -> Result<Exit> {
    let fallback = args
        .host
        .as_deref()
        .map(check::parse_host_arg)
        .transpose()?;
    let mut exit = Exit::Ok;
    let mut out = std::io::stdout().lock();
    // Pins per file, in order; a file that cannot be read is reported and skipped.
    let mut jobs: Vec<Job> = Vec::new();
    for path in &args.files {
        let name = show_path(path);
        match file_jobs(path, &name, fallback.as_ref()) {
            Ok(mut j) => jobs.append(&mut j),
            Err(err) => {
                report_failure(&mut out, args.json, &name, None, &err)?;
                exit = exit.worst(err.exit());
            }
        }
    }
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&args.net.ca_file, !args.no_system_roots)?),
        timeout: args.net.timeout,
        jobs: 16,
        now: crate::util::now_unix(),
        profile: None,
    };
    let now = plan.now;
    let chains = fetch_all(&jobs, &args.net, &plan)?;
    for (i, job) in jobs.iter().enumerate() {
        let fetched = chains.get(&(job.host.clone(), job.port));
        match fetched.ok_or_else(|| Error::env(&job.host, "was not fetched"))? {
            Ok(acquired) => {
                let mut report = CheckReport::new(job, &acquired.served(), now, args.warn_days);
                let trust = &acquired.trust;
                report.trusted = Some(trust.trusted && trust.hostname_ok != Some(false));
                report.trust_error.clone_from(&trust.trust_error);
                exit = exit.worst(report.exit());
                if args.json {
                    serde_json::to_writer(&mut out, &report).map_err(std::io::Error::from)?;
                    writeln!(out)?;
                } else {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    report.render_text(&mut out)?;
                }
            }
            Err(err) => {
                report_failure(&mut out, args.json, &job.file, Some(job), err)?;
                exit = exit.worst(err.exit());
            }
        }
    }
    out.flush()?;
    Ok(exit)
}

fn file_jobs(
    path: &std::path::Path,
    name: &str,
    fallback: Option<&(String, Option<u16>)>,
) -> Result<Vec<Job>> {
    let bytes = crate::util::read_input(path, crate::util::MAX_INPUT_BYTES)?;
    let sets = check::read_pins(&bytes).map_err(|e| Error::input(name, e))?;
    check::assign_hosts(name, sets, fallback.map(|(h, p)| (h.as_str(), *p)))
        .map_err(|e| Error::input(name, e))
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
