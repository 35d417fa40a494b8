//! `espcheck ports`: list serial ports with their USB identity, marking likely ESP boards.

use std::io::Write;

use crate::error::{Exit, Result};
use crate::serial::{PortInfo, list_ports};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck ports
  espcheck ports --json | jq -r 'select(.likely_esp) | .path'
  ESPCHECK_PORT=/dev/ttyUSB1 espcheck watch   # pick one when several boards are attached";

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object per port, one per line.
    #[arg(long)]
    pub json: bool,
}

/// Run the command.
pub fn run(args: Args) -> Result<Exit> {
    let ports = list_ports()?;
    let mut out = std::io::stdout().lock();
    render(&ports, args.json, &mut out)?;
    out.flush()?;
    Ok(Exit::Ok)
}

/// Write the port list, as a table or JSON Lines.
pub fn render(ports: &[PortInfo], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        for p in ports {
            super::json_line(&mut *out, p)?;
        }
        return Ok(());
    }
    if ports.is_empty() {
        writeln!(out, "no serial ports found")?;
        return Ok(());
    }
    for p in ports {
        let id = match (&p.vid, &p.pid) {
            (Some(v), Some(d)) => format!("{v}:{d}"),
            _ => p.bus.clone(),
        };
        let mut what: Vec<String> = Vec::new();
        if let Some(b) = &p.bridge {
            what.push(b.clone());
        }
        for s in [&p.manufacturer, &p.product].into_iter().flatten() {
            what.push(s.clone());
        }
        if let Some(s) = &p.serial_number {
            what.push(format!("serial {s}"));
        }
        let mark = if p.likely_esp {
            "  <- likely ESP board"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<16} {:<10} {}{mark}",
            p.path.display(),
            id,
            what.join(", ")
        )?;
    }
    Ok(())
}
