//! `espcheck fingerprint`: capture a chain (live or from a file), print every fingerprint, and say
//! which certificate to pin.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::NetArgs;
use crate::cert::report::ChainReport;
use crate::error::{Error, Exit, Result};
use crate::tls::{Input, Target, TrustStore, source};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck fingerprint api.github.com
  espcheck fingerprint example.org:8443 api.github.com --json
  espcheck fingerprint api.github.com --connect 127.0.0.1:8443 --ca-file root.pem
  openssl s_client -showcerts -connect host:443 </dev/null | espcheck fingerprint --from -
  espcheck fingerprint --from sketch.ino --pem-out ca.pem";

/// Arguments of `fingerprint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Servers to capture, as HOST[:PORT] (default port 443). IPv6 as [::1]:443.
    #[arg(value_name = "HOST[:PORT]")]
    pub targets: Vec<String>,
    /// Read certificates from a file instead (s_client output, PEM, DER, or a C/C++/Rust source);
    /// `-` for stdin. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// With --from: check the leaf against this host name.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
    /// How many targets to capture at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: u32,
    /// Capture with a board's own ClientHello (esp8266, esp8266-less-secure, esp32), so the pin
    /// printed is the one that board receives.
    #[arg(long, value_name = "BOARD", value_parser = ["esp8266", "esp8266-less-secure", "esp32"])]
    pub profile: Option<String>,
    /// Do not trust the operating system's certificate store (webpki-roots and --ca-file only).
    #[arg(long)]
    pub no_system_roots: bool,
    /// JSON on stdout, one object per target per line.
    #[arg(long)]
    pub json: bool,
    /// Also print the chain as `openssl s_client -showcerts` does.
    #[arg(long)]
    pub showcerts: bool,
    /// Write the recommended CA certificate (PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub pem_out: Option<PathBuf>,
}

/// Run `fingerprint`.
pub fn run(args: Args) -> Result<Exit> {
    if args.targets.is_empty() && args.from.is_empty() {
        return Err(Error::Usage(
            "give at least one HOST[:PORT] or --from FILE (see --help)".to_owned(),
        ));
    }
    if args.pem_out.is_some() && args.targets.len() + args.from.len() > 1 {
        return Err(Error::Usage(
            "--pem-out takes exactly one target".to_owned(),
        ));
    }
    let mut inputs: Vec<Input> = args
        .from
        .iter()
        .map(|path| Input::File {
            path: path.clone(),
            host: args.host.clone(),
        })
        .collect();
    for t in &args.targets {
        let mut target = Target::parse(t, 443)?;
        target.connect.clone_from(&args.net.connect);
        inputs.push(Input::Live(target));
    }
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&args.net.ca_file, !args.no_system_roots)?),
        timeout: args.net.timeout,
        jobs: args.jobs as usize,
        now: crate::util::now(),
        profile: args
            .profile
            .as_deref()
            .and_then(crate::tls::profile::by_name),
    };
    let names: Vec<String> = inputs.iter().map(Input::display).collect();
    let results: Vec<(String, Result<ChainReport>)> = names
        .into_iter()
        .zip(source::acquire(inputs, &plan)?)
        .map(|(name, r)| (name, r.map(|a| a.report(plan.now))))
        .collect();

    let mut exit = Exit::Ok;
    let mut out = anstream::stdout().lock();
    for (i, (name, result)) in results.iter().enumerate() {
        match result {
            Ok(report) => {
                if args.json {
                    super::json_line(&mut out, report)?;
                } else {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    if args.showcerts {
                        report.render_showcerts(&mut out)?;
                    }
                    report.render_text(&mut out)?;
                    out.flush()?;
                }
            }
            Err(err) => {
                if args.json {
                    let line = serde_json::json!({ "target": name, "error": err.to_string(), "exit": err.exit().code() });
                    writeln!(out, "{line}")?;
                }
                out.flush()?;
                super::report_error(err);
                exit = exit.worst(err.exit());
            }
        }
    }
    if let Some(path) = &args.pem_out
        && let Some((name, Ok(report))) = results.first()
    {
        write_pem_out(path, name, report)?;
    }
    Ok(exit)
}

fn write_pem_out(path: &std::path::Path, name: &str, report: &ChainReport) -> Result<()> {
    let rec = report.recommended.as_ref().ok_or_else(|| {
        Error::input(
            name,
            "no CA certificate to recommend (the chain holds only the leaf)",
        )
    })?;
    let cert = report
        .chain
        .get(rec.index)
        .ok_or_else(|| Error::input(name, "recommended certificate is missing"))?;
    crate::util::write_atomic(path, cert.pem.as_bytes())
}
