//! `espcheck watch [PORT]`: tail a serial port (or pty), echo what the board prints, and grade it
//! live; exit as soon as the verdict is known.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::grade::{Echo, GradeArgs, Outputs, finish_stopped};
use super::parse_duration;
use crate::error::{Error, Exit, Result};
use crate::grade::Plan;
use crate::serial::session::{self, WatchPlan};
use crate::serial::watch::{Notice, WatchEnd, WatchOptions};
use crate::serial::{SerialLink, open_link, resolve_port};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck watch                       # the one attached ESP board (or $ESPCHECK_PORT)
  espcheck watch /dev/ttyUSB0 --log run.log --timestamps
  espcheck watch /dev/pts/5 --json --timeout 60s
  espcheck watch rfc2217://farm-exporter:4001 --timeout 5m   # a board exported by ser2net
  espcheck watch --profile unity --junit tests.xml
  espcheck watch --truth               # and check the board's answer against GitHub
  espcheck watch --elf build/app.elf   # a crash is decoded to function and source line

Exit: 0 pass, 1 fail, 3 no verdict in time, 4 port trouble, 5 device fault, 130 stopped by a signal.";

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
    #[arg(long = "no-echo")]
    pub no_echo: bool,
}

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port, pty, or `rfc2217://HOST:PORT` (ser2net, a labgrid exporter) [default:
    /// $ESPCHECK_PORT, or the one attached ESP board].
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
    let plan = args.grade.plan()?;
    if args.baud == 0 {
        return Err(Error::Usage(
            "--baud 0: give a baud rate, e.g. 115200".to_owned(),
        ));
    }
    let path = resolve_port(args.port.clone())?;
    let link = open_link(&path, args.baud)?;
    let session = args.watch.plan(&path, args.baud);
    watch_and_report(
        link,
        &session,
        plan,
        &args.grade.outputs(),
        &args.watch.echo(),
    )
}

impl WatchArgs {
    /// The session these flags ask for on `port`, reopened at `baud` if it goes away.
    pub fn plan(&self, port: &Path, baud: u32) -> WatchPlan {
        WatchPlan {
            port: port.to_path_buf(),
            limits: WatchOptions {
                timeout: Some(self.timeout),
                idle_timeout: (!self.idle_timeout.is_zero()).then_some(self.idle_timeout),
                reopen_grace: self.reopen_grace,
                ..WatchOptions::default()
            },
            log: self.log.clone(),
            reopen_baud: Some(baud),
        }
    }

    /// How the board's lines are echoed.
    pub fn echo(&self) -> EchoPlan {
        EchoPlan {
            lines: !self.no_echo,
            timestamps: self.timestamps,
        }
    }
}

/// How the board's lines are echoed while watching.
#[derive(Debug, Clone, Copy)]
pub struct EchoPlan {
    /// Echo them at all.
    pub lines: bool,
    /// Prefix each with the time since the start.
    pub timestamps: bool,
}

/// Watch a board through `session`, echo what it prints, grade it under `grade`, and print the
/// report. `watch`, `flash-and-watch` and `demo` all end here.
pub fn watch_and_report(
    link: Box<dyn SerialLink>,
    session: &WatchPlan,
    mut grade: Plan,
    outputs: &Outputs,
    echo_plan: &EchoPlan,
) -> Result<Exit> {
    grade.config.timed = true;
    let mut grader = grade.grader();
    let mut echo = Echo::new(outputs.json);
    let mut echo_err: Option<Error> = None;
    let mut notify = |n: Notice<'_>, at: Duration| {
        if echo_err.is_some() {
            return;
        }
        let r = match n {
            Notice::Event(e) if echo_plan.lines => {
                echo.event(e, echo_plan.timestamps.then_some(at))
            }
            Notice::Event(_) => Ok(()),
            Notice::Flush => echo.flush(),
            Notice::PortLost(why) => echo.note(&format!("port lost: {why}; trying to reopen it")),
            Notice::Reopened(name) => echo.note(&format!("{name} is back")),
            Notice::Note(text) => echo.note(text),
        };
        if let Err(e) = r {
            echo_err = Some(e);
        }
    };
    let outcome = session::run(link, session, &mut grader, &mut notify);
    if let Some(e) = echo_err {
        return Err(e);
    }
    let mut outcome = outcome?;
    if !outputs.json && echo_plan.lines {
        // Set the report apart from the echoed lines above it.
        writeln!(std::io::stdout().lock())?;
    }
    let interrupted = outcome.end == WatchEnd::Interrupted;
    finish_stopped(&grade, outputs, &mut outcome.report, interrupted)
}
