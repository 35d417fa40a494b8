//! A serial session: watch a link under a [`WatchPlan`] (raw log, Ctrl-C, reopening a port that
//! went away) and hand back the graded outcome. `watch`, `flash-and-watch` and `demo` all run
//! their boards through [`run`]; what they print is the observer's business.

use std::path::PathBuf;
use std::time::Duration;

use super::log::RawLog;
use super::watch::{Notice, WatchEnd, WatchOptions, WatchOutcome, stop_on_signals, watch};
use super::{SerialLink, open_link};
use crate::error::{Error, Result};
use crate::grade::{Grader, Verdict};

/// How to watch one board.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// The port, as named to the user.
    pub port: PathBuf,
    /// Deadlines, settle time, reopen grace.
    pub limits: WatchOptions,
    /// Keep every raw byte in this file.
    pub log: Option<PathBuf>,
    /// When the port goes away, reopen it at this baud (`None`: a port that goes away ends the
    /// watch).
    pub reopen_baud: Option<u32>,
}

/// Watch `link` until a verdict or a limit, logging and reopening as `plan` says. `observe` gets
/// every notice with the time since the start. A port that went away for good, with no verdict,
/// is a host-side error that names the log holding what was read.
pub fn run(
    mut link: Box<dyn SerialLink>,
    plan: &WatchPlan,
    grader: &mut Grader,
    observe: &mut dyn FnMut(Notice<'_>, Duration),
) -> Result<WatchOutcome> {
    let stop = stop_on_signals()?;
    let mut log = match &plan.log {
        Some(p) => Some(RawLog::create(p)?),
        None => None,
    };
    for earlier in log.iter().flat_map(RawLog::earlier_partials) {
        observe(
            Notice::Note(&format!(
                "{} holds a partial log from an earlier watch that was killed",
                earlier.display()
            )),
            Duration::ZERO,
        );
    }
    let reopen_path = plan.port.clone();
    // A pty named by its own /dev/pts/N never comes back: once its master closes, the next pty
    // the kernel hands out may take the same number, and it belongs to someone else. A symlink
    // to a pty (`sim device --link`) may be pointed at a new one, so it is reopened.
    let raw_pty = plan.port.starts_with("/dev/pts/");
    let mut reopen = plan
        .reopen_baud
        .filter(|_| !raw_pty)
        .map(|baud| move || -> Result<Box<dyn SerialLink>> { open_link(&reopen_path, baud) });
    let outcome = watch(
        &mut link,
        grader,
        &plan.limits,
        log.as_mut(),
        &stop,
        observe,
        reopen
            .as_mut()
            .map(|r| r as &mut dyn FnMut() -> Result<Box<dyn SerialLink>>),
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
    let outcome = outcome?;
    if let WatchEnd::Unrunnable(why) = &outcome.end {
        // Not the firmware's fault and not a timeout: the simulated board cannot run it.
        return Err(Error::env(plan.port.display(), format!("{why}{log_note}")));
    }
    if let WatchEnd::PortLost(why) = &outcome.end
        && outcome.report.verdict == Verdict::Timeout
    {
        return Err(Error::env(
            plan.port.display(),
            format!(
                "the port went away ({}) and did not come back within {}{log_note}",
                why.split_once(": ").map(|(_, w)| w).unwrap_or(why),
                crate::util::human_duration(plan.limits.reopen_grace)
            ),
        ));
    }
    Ok(outcome)
}
