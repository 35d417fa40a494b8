//! The watch loop: read a [`SerialLink`], log every raw byte, feed the grader, and stop as soon as
//! the verdict is known, the deadline or idle limit passes, the user interrupts, or the port goes
//! away for longer than the reopen grace. `watch` and `flash-and-watch` both run it; the latter
//! hands over the link it flashed through, so no boot output is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::log::RawLog;
use super::{LinkError, SerialLink};
use crate::error::{Error, Result};
use crate::grade::{End, Event, Grader, Report};

/// Limits of a watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Overall bound (`--timeout`).
    pub timeout: Option<Duration>,
    /// Bound on silence (`--idle-timeout`).
    pub idle_timeout: Option<Duration>,
    /// With a verdict proposed but waiting for the rest of its block (the body line after
    /// `CI has failed`, a stack dump), how long a quiet port settles it.
    pub settle: Duration,
    /// How long to keep trying to reopen a port that went away (`--reopen-grace`).
    pub reopen_grace: Duration,
    /// Read granularity: how often limits and Ctrl-C are checked.
    pub poll: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            timeout: Some(Duration::from_secs(120)),
            idle_timeout: Some(Duration::from_secs(30)),
            settle: Duration::from_millis(1500),
            reopen_grace: Duration::from_secs(3),
            poll: Duration::from_millis(100),
        }
    }
}

/// Why the watch stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEnd {
    /// The verdict became final.
    Verdict,
    /// `--timeout` passed.
    Deadline,
    /// `--idle-timeout` passed.
    Idle,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The port went away and did not come back within the grace period.
    PortLost(String),
    /// A simulated board said (on a [`SIMULATOR_TAG`] line) that it cannot run what it was
    /// flashed with; the line, without the tag.
    Unrunnable(String),
}

/// How the virtual board (`espcheck sim device`) starts the one line that is its own, not the
/// chip's: that it cannot execute the real firmware it booted. No real board prints it.
pub const SIMULATOR_TAG: &str = "[espcheck sim device] ";

/// The simulator's line in `text`, if a whole one is there.
fn simulator_says(text: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(text);
    let at = text.find(SIMULATOR_TAG)?;
    let rest = &text[at + SIMULATOR_TAG.len()..];
    let end = rest.find('\n')?;
    Some(rest[..end].trim_end().to_owned())
}

/// What the watch saw.
#[derive(Debug, Clone)]
pub struct WatchOutcome {
    pub report: Report,
    pub end: WatchEnd,
    /// Raw bytes read.
    pub bytes: u64,
    /// How many times the port was reopened.
    pub reopened: u32,
}

/// Something worth telling the user while watching.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A grader event (a line to echo, a stage, a diagnostic, the verdict).
    Event(&'a Event),
    /// The port went away; trying to reopen it.
    PortLost(&'a str),
    /// The port is back.
    Reopened(&'a str),
    /// A batch of bytes has been handled: a good moment to flush an echo.
    Flush,
    /// Something the user should know about the session itself (a partial log left by a run
    /// that was killed).
    Note(&'a str),
}

/// Opens the port again after it went away.
pub type Reopen<'a> = &'a mut dyn FnMut() -> Result<Box<dyn SerialLink>>;

/// Watch `link` until a verdict or a limit. `notify` gets every event with the time since the
/// start; `log` gets every raw byte and is flushed whenever the watch stops. Errors are only for
/// the host side (the log cannot be written, the port fails in a way that is not it going away).
pub fn watch(
    link: &mut Box<dyn SerialLink>,
    grader: &mut Grader,
    opts: &WatchOptions,
    mut log: Option<&mut RawLog>,
    stop: &AtomicBool,
    notify: &mut dyn FnMut(Notice<'_>, Duration),
    mut reopen: Option<Reopen<'_>>,
) -> Result<WatchOutcome> {
    let start = Instant::now();
    let mut last_byte = start;
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Vec::new();
    let mut bytes = 0u64;
    let mut reopened = 0u32;
    // The last few KiB read, to spot a simulator line split across reads.
    let mut tail: Vec<u8> = Vec::new();
    let end = loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) {
            break WatchEnd::Interrupted;
        }
        if grader.is_open() && now.duration_since(last_byte) >= opts.settle {
            grader.settle(&mut events);
            emit(&mut events, notify, now.duration_since(start));
        }
        if grader.is_final() {
            break WatchEnd::Verdict;
        }
        if opts.timeout.is_some_and(|t| now.duration_since(start) >= t) {
            break WatchEnd::Deadline;
        }
        if opts
            .idle_timeout
            .is_some_and(|t| now.duration_since(last_byte) >= t)
        {
            break WatchEnd::Idle;
        }
        let mut wait = opts.poll;
        if let Some(t) = opts.timeout {
            wait = wait.min(t.saturating_sub(now.duration_since(start)));
        }
        match link.read(&mut buf, wait.max(Duration::from_millis(1))) {
            Ok(0) => {
                if let Some(l) = log.as_deref_mut() {
                    l.tick()?;
                }
            }
            Ok(n) => {
                let at = start.elapsed();
                last_byte = Instant::now();
                bytes += n as u64;
                if let Some(l) = log.as_deref_mut() {
                    l.write(&buf[..n])?;
                }
                grader.feed(&buf[..n], at, &mut events);
                emit(&mut events, notify, at);
                notify(Notice::Flush, at);
                tail.extend_from_slice(&buf[..n]);
                if let Some(line) = simulator_says(&tail) {
                    break WatchEnd::Unrunnable(line);
                }
                let keep = tail.len().saturating_sub(4096);
                tail.drain(..keep);
            }
            Err(LinkError::Gone(why)) => {
                if let Some(l) = log.as_deref_mut() {
                    l.flush()?;
                }
                let name = link.name().to_owned();
                *link = Box::new(Dead(name.clone()));
                match reopen.as_deref_mut() {
                    Some(f) => {
                        notify(Notice::PortLost(&format!("{name}: {why}")), start.elapsed());
                        match reopen_within(f, opts.reopen_grace, stop) {
                            Some(new) => {
                                *link = new;
                                reopened += 1;
                                last_byte = Instant::now();
                                notify(Notice::Reopened(&name), start.elapsed());
                            }
                            None => break WatchEnd::PortLost(format!("{name}: {why}")),
                        }
                    }
                    None => break WatchEnd::PortLost(format!("{name}: {why}")),
                }
            }
            Err(e) => {
                if let Some(l) = log.as_deref_mut() {
                    l.flush()?;
                }
                return Err(Error::env(link.name(), e));
            }
        }
    };
    if let Some(l) = log {
        l.flush()?;
    }
    let elapsed = start.elapsed();
    let reason = match &end {
        WatchEnd::Verdict => End::Eof,
        WatchEnd::Deadline => End::Deadline(opts.timeout.unwrap_or(elapsed)),
        WatchEnd::Idle => End::Idle(opts.idle_timeout.unwrap_or(elapsed)),
        WatchEnd::Interrupted => End::Interrupted,
        WatchEnd::PortLost(_) | WatchEnd::Unrunnable(_) => End::PortLost,
    };
    let report = if end == WatchEnd::Verdict {
        grader.report()
    } else {
        let r = grader.finish(reason, &mut events);
        emit(&mut events, notify, elapsed);
        notify(Notice::Flush, elapsed);
        r
    };
    Ok(WatchOutcome {
        report,
        end,
        bytes,
        reopened,
    })
}

fn emit(events: &mut Vec<Event>, notify: &mut dyn FnMut(Notice<'_>, Duration), at: Duration) {
    for e in events.drain(..) {
        notify(Notice::Event(&e), at);
    }
}

fn reopen_within(
    reopen: &mut dyn FnMut() -> Result<Box<dyn SerialLink>>,
    grace: Duration,
    stop: &AtomicBool,
) -> Option<Box<dyn SerialLink>> {
    let start = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        if let Ok(link) = reopen() {
            return Some(link);
        }
        let left = grace.saturating_sub(start.elapsed());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// A link that is gone: stands in while reopening.
#[derive(Debug)]
struct Dead(String);

impl SerialLink for Dead {
    fn name(&self) -> &str {
        &self.0
    }
    fn read(&mut self, _: &mut [u8], _: Duration) -> Result<usize, LinkError> {
        Err(LinkError::Gone("closed".to_owned()))
    }
    fn write_all(&mut self, _: &[u8]) -> Result<(), LinkError> {
        Err(LinkError::Gone("closed".to_owned()))
    }
    fn set_baud(&mut self, _: u32) -> Result<(), LinkError> {
        Err(LinkError::Gone("closed".to_owned()))
    }
    fn set_dtr(&mut self, _: bool) -> Result<(), LinkError> {
        Err(LinkError::Gone("closed".to_owned()))
    }
    fn set_rts(&mut self, _: bool) -> Result<(), LinkError> {
        Err(LinkError::Gone("closed".to_owned()))
    }
}

/// A flag that turns true on Ctrl-C (SIGINT), SIGTERM, SIGHUP (the terminal closed) or SIGQUIT,
/// so a watch stops the same clean way for each and keeps its log. The handlers are in place
/// when this returns.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("espcheck-signals".to_owned())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let kinds = [
                    SignalKind::interrupt(),
                    SignalKind::terminate(),
                    SignalKind::hangup(),
                    SignalKind::quit(),
                ];
                let mut streams = Vec::with_capacity(kinds.len());
                for kind in kinds {
                    match signal(kind) {
                        Ok(s) => streams.push(s),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    }
                }
                let _ = ready_tx.send(Ok(()));
                let [int, term, hup, quit] = &mut streams[..] else {
                    return;
                };
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                    _ = quit.recv() => {}
                }
                set.store(true, Ordering::Relaxed);
            });
        })
        .map_err(|e| Error::env("signal handler", e))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(flag),
        Ok(Err(e)) => Err(Error::env("signal handler", e)),
        Err(_) => Err(Error::env("signal handler", "its thread stopped")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use std::collections::VecDeque;

    use super::*;
    use crate::grade::{GradeConfig, Profile, Verdict};

    /// A scripted port: each step is bytes, a quiet poll, or the port going away.
    struct Script(VecDeque<Option<&'static [u8]>>);

    impl SerialLink for Script {
        fn name(&self) -> &str {
            "script"
        }
        fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
            match self.0.pop_front() {
                Some(Some(b)) => {
                    buf[..b.len()].copy_from_slice(b);
                    Ok(b.len())
                }
                Some(None) => {
                    std::thread::sleep(timeout);
                    Ok(0)
                }
                None => Err(LinkError::Gone("unplugged".to_owned())),
            }
        }
        fn write_all(&mut self, _: &[u8]) -> Result<(), LinkError> {
            Ok(())
        }
        fn set_baud(&mut self, _: u32) -> Result<(), LinkError> {
            Ok(())
        }
        fn set_dtr(&mut self, _: bool) -> Result<(), LinkError> {
            Err(LinkError::Unsupported("DTR"))
        }
        fn set_rts(&mut self, _: bool) -> Result<(), LinkError> {
            Err(LinkError::Unsupported("RTS"))
        }
    }

    fn opts() -> WatchOptions {
        WatchOptions {
            settle: Duration::from_millis(30),
            poll: Duration::from_millis(5),
            reopen_grace: Duration::from_millis(50),
            ..WatchOptions::default()
        }
    }

    fn run(steps: Vec<Option<&'static [u8]>>, reopen: Option<Reopen<'_>>) -> WatchOutcome {
        let mut link: Box<dyn SerialLink> = Box::new(Script(steps.into()));
        let mut g = Grader::new(GradeConfig::new(Profile::HttpsRequest));
        let stop = AtomicBool::new(false);
        watch(
            &mut link,
            &mut g,
            &opts(),
            None,
            &stop,
            &mut |_, _| {},
            reopen,
        )
        .unwrap()
    }

    #[test]
    fn a_quiet_port_settles_an_open_verdict() {
        let out = run(
            vec![Some(b"WiFi connected\r\nconnecting to api.github.com\r\nesp8266/Arduino CI has failed\r\n"), None, None, None, None, None, None, None, None, None, None],
            None,
        );
        assert_eq!(out.end, WatchEnd::Verdict);
        assert_eq!(out.report.verdict, Verdict::Fail);
    }

    #[test]
    fn a_port_that_comes_back_is_read_on() {
        let mut calls = 0;
        let mut reopen = || -> Result<Box<dyn SerialLink>> {
            calls += 1;
            if calls < 2 {
                return Err(Error::env("script", "not yet"));
            }
            Ok(Box::new(Script(
                vec![Some(&b"esp8266/Arduino CI successful!\r\nReply was:\r\n==========\r\n{\"state\":\"success\"}\r\n"[..])].into(),
            )))
        };
        let out = run(
            vec![Some(
                b"Connecting to home\r\nWiFi connected\r\nConnecting to api.github.com\r\n",
            )],
            Some(&mut reopen),
        );
        assert_eq!(out.reopened, 1);
        assert_eq!(out.end, WatchEnd::Verdict);
        assert_eq!(out.report.verdict, Verdict::Pass, "{}", out.report.reason);
    }

    #[test]
    fn a_port_that_stays_gone_ends_the_watch() {
        let out = run(vec![Some(b"Connecting to home\r\n")], None);
        assert!(matches!(out.end, WatchEnd::PortLost(ref m) if m.contains("unplugged")));
        assert_eq!(out.report.verdict, Verdict::Timeout);
    }
}
