//! `espcheck watch [PORT]`: tail a serial port (or pty), echo what the board prints, and grade it
//! live; exit as soon as the verdict is known.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::grade::{Echo, GradeArgs};
use super::parse_duration;
use crate::error::{Error, Exit, Result};
use crate::grade::{Grader, Verdict};
use crate::serial::log::RawLog;
use crate::serial::watch::{Notice, WatchEnd, WatchOptions, stop_on_signals, watch};
use crate::serial::{SerialLink, TtyLink, resolve_port};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck watch                       # the one attached ESP board (or $ESPCHECK_PORT)
  espcheck watch /dev/ttyUSB0 --log run.log --timestamps
  espcheck watch /dev/pts/5 --json --timeout 60s
  espcheck watch --profile unity --junit tests.xml
  espcheck watch --truth               # and check the board's answer against GitHub
  espcheck watch --elf build/app.elf   # a crash is decoded to function and source line

Exit: 0 pass, 1 fail, 3 no verdict in time, 4 port trouble, 5 device fault.";

/// Flags of the watching phase, shared with `flash-and-watch` (which has its own `--baud`).
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Give up when no verdict comes within this long.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Give up when the board prints nothing for this long (0 = never).
    #[arg(long = "idle-timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// When the port disappears (USB re-enumeration on reset), keep trying to reopen it this long.
    #[arg(long = "reopen-grace", value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub reopen_grace: Duration,
    /// Keep every raw byte in FILE (renamed into place when the watch ends, however it ends).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Prefix echoed lines with the seconds since the watch started.
    #[arg(long)]
    pub timestamps: bool,
    /// Do not echo the board's lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port or pty [default: $ESPCHECK_PORT, or the one attached ESP board].
    #[arg(value_name = "PORT")]
    pub port: Option<PathBuf>,
    /// Baud rate.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub grade: GradeArgs,
}

/// Run the command.
pub fn run(args: Args) -> Result<Exit> {
    args.grade.config()?;
    if args.baud == 0 {
        return Err(Error::Usage(
            "--baud 0: give a baud rate, e.g. 115200".to_owned(),
        ));
    }
    let path = resolve_port(args.port.clone())?;
    let link: Box<dyn SerialLink> = Box::new(TtyLink::open(&path, args.baud)?);
    watch_and_report(link, &path, args.baud, &args.watch, &args.grade)
}

/// Watch an open link, echo, grade, and print the report; the whole `watch` command after the
/// port is open. `flash-and-watch` calls it with the link it flashed through. `baud` is used to
/// reopen the port at `path` if it goes away.
pub fn watch_and_report(
    mut link: Box<dyn SerialLink>,
    path: &Path,
    baud: u32,
    w: &WatchArgs,
    g: &GradeArgs,
) -> Result<Exit> {
    let mut config = g.config()?;
    config.timed = true;
    let stop = stop_on_signals()?;
    let mut log = match &w.log {
        Some(p) => Some(RawLog::create(p)?),
        None => None,
    };
    let opts = WatchOptions {
        timeout: Some(w.timeout),
        idle_timeout: (!w.idle_timeout.is_zero()).then_some(w.idle_timeout),
        reopen_grace: w.reopen_grace,
        ..WatchOptions::default()
    };
    let mut grader = Grader::new(config);
    let mut echo = Echo::new(g.json);
    let mut echo_err: Option<Error> = None;
    let quiet = w.quiet;
    let timestamps = w.timestamps;
    let mut notify = |n: Notice<'_>, at: Duration| {
        if echo_err.is_some() {
            return;
        }
        let r = match n {
            Notice::Event(e) if !quiet => echo.event(e, timestamps.then_some(at)),
            Notice::Event(_) => Ok(()),
            Notice::Flush => echo.flush(),
            Notice::PortLost(why) => echo.note(&format!("port lost: {why}; trying to reopen it")),
            Notice::Reopened(name) => echo.note(&format!("{name} is back")),
        };
        if let Err(e) = r {
            echo_err = Some(e);
        }
    };
    let reopen_path = path.to_path_buf();
    let mut reopen =
        move || -> Result<Box<dyn SerialLink>> { Ok(Box::new(TtyLink::open(&reopen_path, baud)?)) };
    let outcome = watch(
        &mut link,
        &mut grader,
        &opts,
        log.as_mut(),
        &stop,
        &mut notify,
        Some(&mut reopen),
    );
    drop(link);
    let log_note = match log {
        Some(l) => {
            let note = format!(
                "; the log {} has the {} bytes read",
                l.path().display(),
                l.len()
            );
            l.finish()?;
            note
        }
        None => String::new(),
    };
    let mut outcome = outcome?;
    if let Some(e) = echo_err {
        return Err(e);
    }
    if let WatchEnd::PortLost(why) = &outcome.end
        && outcome.report.verdict == Verdict::Timeout
    {
        return Err(Error::env(
            path.display(),
            format!(
                "the port went away ({}) and did not come back within {}{log_note}",
                why.split_once(": ").map(|(_, w)| w).unwrap_or(why),
                crate::util::human_duration(w.reopen_grace)
            ),
        ));
    }
    g.complete(&mut outcome.report)?;
    if !g.json && !w.quiet {
        // Set the report apart from the echoed lines above it.
        writeln!(std::io::stdout().lock())?;
    }
    g.print(&outcome.report)?;
    Ok(outcome.report.exit())
}
