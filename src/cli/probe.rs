//! `espcheck probe`: will this server work from an ESP8266 (BearSSL) or an ESP32 (mbedTLS)?

use std::io::Write;

use super::NetArgs;
use crate::error::{Exit, Result};
use crate::tls::Target;

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck probe api.github.com
  espcheck probe example.org:8443 --json
  espcheck probe api.github.com --connect 127.0.0.1:8443

Exit code 1 when a board profile cannot connect.";

/// Arguments of `probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server, as HOST[:PORT].
    #[arg(value_name = "HOST[:PORT]", required_unless_present = "list_profiles")]
    pub target: Option<String>,
    /// Print each board profile's cipher suites (IANA names) and exit.
    #[arg(long)]
    pub list_profiles: bool,
    #[command(flatten)]
    pub net: NetArgs,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run `probe`.
pub fn run(args: Args) -> Result<Exit> {
    let Some(text) = args.target.as_deref().filter(|_| !args.list_profiles) else {
        return list_profiles(args.json);
    };
    let mut target = Target::parse(text, 443)?;
    target.connect.clone_from(&args.net.connect);
    let timeout = args.net.timeout;
    let report = super::runtime()?.block_on(crate::tls::probe::probe(&target, timeout))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        super::json_line(&mut out, &report)?;
    } else {
        report.render_text(&mut out)?;
    }
    Ok(if report.profiles.iter().all(|p| p.ok) {
        Exit::Ok
    } else {
        Exit::No
    })
}

fn list_profiles(json: bool) -> Result<Exit> {
    use crate::tls::profile::{PROFILES, suite_name};
    let mut out = std::io::stdout().lock();
    for p in PROFILES {
        let suites: Vec<String> = p.suites.iter().map(|s| suite_name(*s)).collect();
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "name": p.name, "suites": suites })
            )?;
        } else {
            writeln!(out, "{} ({} suites)", p.name, suites.len())?;
            for s in suites {
                writeln!(out, "  {s}")?;
            }
        }
    }
    Ok(Exit::Ok)
}
