//! The state every profile shares: the stage track, the proposed outcome and how soon it becomes
//! final, diagnostics, the crash, and the events that go out to the caller.

use std::time::Duration;

use super::Event;
use super::model::{Crash, Diagnostic, Stage, StageResult, StageStatus, Verdict};

/// A verdict with where and why, before it is wrapped into a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub stage: String,
    pub reason: String,
}

/// When a proposed outcome stops being open to better evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finality {
    /// Final at once.
    Now,
    /// Final after this many more graded lines, or sooner when the profile says the run is over,
    /// or when the caller calls `settle` (the port went quiet).
    AfterLines(u32),
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub stages: Vec<StageResult>,
    pub current: usize,
    pub outcome: Option<Decision>,
    /// The line the outcome was proposed on.
    pub decided_at: usize,
    pub budget: Option<u32>,
    pub is_final: bool,
    pub diagnostics: Vec<Diagnostic>,
    pub crash: Option<Crash>,
    pub ci_state: Option<String>,
    pub suggested_fingerprint: Option<String>,
    /// The fingerprint BearSSL says the sketch pinned.
    pub expected_fingerprint: Option<String>,
    /// The server the firmware connects to, once it says.
    pub host: Option<String>,
    /// The chip and framework the log shows, once it shows them.
    pub family: Option<super::context::Family>,
    /// The TLS diagnostic that best explains a failure (certificate problems first).
    pub primary: Option<Diagnostic>,
    pub now: Duration,
    pub timed: bool,
    pub line: usize,
    /// The line being graded was cut at [`super::MAX_LINE`]: this many bytes of it were dropped.
    pub cut: usize,
    /// The first line of the run that was cut, and how many bytes of it were dropped: what was
    /// dropped may have matched a failure, so no later line can prove a pass either.
    pub first_cut: Option<(usize, usize)>,
    /// The open outcome is one failed connection attempt: firmware that retries may still
    /// connect, and a success before the outcome is final supersedes it.
    pub attempt_failed: bool,
    /// A failed attempt that a later connection superseded: line and reason, for a run that
    /// then ends without a verdict.
    pub retried: Option<(usize, String)>,
    pub events: Vec<Event>,
}

impl Engine {
    pub fn new(stage_names: &[&str], timed: bool) -> Self {
        let mut stages: Vec<StageResult> = stage_names
            .iter()
            .map(|n| StageResult {
                name: (*n).to_owned(),
                status: StageStatus::NotReached,
                line: None,
                detail: None,
                at_ms: None,
            })
            .collect();
        if let Some(first) = stages.first_mut() {
            first.status = StageStatus::Running;
            first.at_ms = timed.then_some(0);
        }
        Engine {
            stages,
            current: 0,
            outcome: None,
            decided_at: 0,
            budget: None,
            is_final: false,
            diagnostics: Vec::new(),
            crash: None,
            ci_state: None,
            suggested_fingerprint: None,
            expected_fingerprint: None,
            primary: None,
            host: None,
            family: None,
            now: Duration::ZERO,
            timed,
            line: 0,
            cut: 0,
            first_cut: None,
            attempt_failed: false,
            retried: None,
            events: Vec::new(),
        }
    }

    /// Take over what an engine of another profile learnt before the switch: the boot stage,
    /// the outcome proposed, diagnostics, the crash, the clock, and the events not yet sent.
    pub fn carry_over(&mut self, old: Engine) {
        if let (Some(new), Some(boot)) = (self.stages.first_mut(), old.stages.into_iter().next()) {
            *new = boot;
        }
        self.outcome = old.outcome;
        self.decided_at = old.decided_at;
        self.budget = old.budget;
        self.diagnostics = old.diagnostics;
        self.crash = old.crash;
        self.ci_state = old.ci_state;
        self.suggested_fingerprint = old.suggested_fingerprint;
        self.expected_fingerprint = old.expected_fingerprint;
        self.host = old.host;
        self.family = old.family;
        self.primary = old.primary;
        self.now = old.now;
        self.timed = old.timed;
        self.line = old.line;
        self.cut = old.cut;
        self.events = old.events;
    }

    pub fn index(&self, name: impl AsRef<str>) -> Option<usize> {
        let name = name.as_ref();
        self.stages.iter().position(|s| s.name == name)
    }

    pub fn current_name(&self) -> &str {
        self.stages
            .get(self.current)
            .map(|s| s.name.as_str())
            .unwrap_or(Stage::Run.name())
    }

    /// Whether the run has got past `name`'s position (or is in it).
    pub fn reached(&self, name: impl AsRef<str>) -> bool {
        let name = name.as_ref();
        self.index(name).is_some_and(|i| i <= self.current)
    }

    /// Enter a stage. Stages only move forward: the ones passed over without a word are marked
    /// skipped, the one left behind passed.
    pub fn enter(&mut self, name: impl AsRef<str>, detail: Option<String>) {
        let name = name.as_ref();
        let Some(idx) = self.index(name) else { return };
        if idx <= self.current {
            if idx == self.current && detail.is_some() && self.stages[idx].detail.is_none() {
                self.stages[idx].detail = detail;
            }
            return;
        }
        if let Some(cur) = self.stages.get_mut(self.current)
            && cur.status == StageStatus::Running
        {
            cur.status = StageStatus::Passed;
        }
        for s in &mut self.stages[self.current + 1..idx] {
            if s.status == StageStatus::NotReached {
                s.status = StageStatus::Skipped;
            }
        }
        self.current = idx;
        let at_ms = self.timed.then_some(self.now.as_millis() as u64);
        let s = &mut self.stages[idx];
        s.status = StageStatus::Running;
        s.line = Some(self.line);
        s.at_ms = at_ms;
        if detail.is_some() {
            s.detail = detail;
        }
        self.events.push(Event::Stage {
            name: name.to_owned(),
            line: self.line,
        });
    }

    /// Set a stage's status and detail outright (a stage the firmware proved without naming it).
    pub fn mark(&mut self, name: impl AsRef<str>, status: StageStatus, detail: Option<String>) {
        let name = name.as_ref();
        if let Some(i) = self.index(name) {
            self.stages[i].status = status;
            if detail.is_some() {
                self.stages[i].detail = detail;
            }
        }
    }

    /// Take back a pass proposed but not yet final (a later line showed it did not hold).
    pub fn withdraw_pass(&mut self) {
        if !self.is_final
            && self
                .outcome
                .as_ref()
                .is_some_and(|o| o.verdict == Verdict::Pass)
        {
            self.outcome = None;
            self.budget = None;
        }
    }

    pub fn stage_detail(&self, name: impl AsRef<str>) -> Option<&str> {
        let i = self.index(name.as_ref())?;
        self.stages[i].detail.as_deref()
    }

    pub fn set_detail(&mut self, name: impl AsRef<str>, detail: String) {
        let name = name.as_ref();
        if let Some(i) = self.index(name) {
            self.stages[i].detail = Some(detail);
        }
    }

    /// Propose an outcome. A final outcome never changes; otherwise stronger evidence wins
    /// (fault over fail over pass), and equal evidence replaces the older wording. A pass also
    /// replaces a failed connection attempt that is not yet final: the firmware retried and got
    /// through, and the reason says what failed first.
    pub fn propose(&mut self, verdict: Verdict, stage: Option<&str>, reason: String, f: Finality) {
        if self.is_final {
            return;
        }
        let mut reason = reason;
        if let Some(old) = &self.outcome
            && old.verdict.rank() > verdict.rank()
        {
            if !(self.attempt_failed && verdict == Verdict::Pass) {
                return;
            }
            reason = format!("{reason} (after an earlier attempt failed: {})", old.reason);
        } else if verdict == Verdict::Pass
            && let Some((_, why)) = &self.retried
        {
            reason = format!("{reason} (after an earlier attempt failed: {why})");
        }
        self.attempt_failed = false;
        // What was dropped from a cut line may say the opposite: no pass on its account.
        let (verdict, reason) = if verdict == Verdict::Pass && self.cut > 0 {
            (
                Verdict::Fail,
                format!(
                    "line {} is longer than {} bytes and was cut ({} bytes not read), so it \
                     cannot prove a pass: {reason}",
                    self.line,
                    super::MAX_LINE,
                    self.cut
                ),
            )
        } else if verdict == Verdict::Pass
            && let Some((line, dropped)) = self.first_cut
        {
            // The unread part of an earlier line may have held a failure the rules would match.
            (
                Verdict::Fail,
                format!(
                    "line {line} is longer than {} bytes and was cut ({dropped} bytes not read): \
                     a failure there would go unseen, so the run cannot pass: {reason}",
                    super::MAX_LINE,
                ),
            )
        } else {
            (verdict, reason)
        };
        let stage = stage.unwrap_or(self.current_name()).to_owned();
        self.outcome = Some(Decision {
            verdict,
            stage,
            reason,
        });
        self.decided_at = self.line;
        match f {
            Finality::Now => self.finalize(),
            Finality::AfterLines(n) => self.budget = Some(n),
        }
    }

    /// Propose that a connection attempt failed (DNS, TCP, TLS, or a request that got no HTTP
    /// status): a fault, unless the firmware retries and succeeds before it is final.
    /// A crash or a reset proposed before stays what it is.
    pub fn propose_failed_attempt(&mut self, stage: Option<&str>, reason: String, f: Finality) {
        let only_attempts = self.outcome.is_none() || self.attempt_failed;
        self.propose(Verdict::Fault, stage, reason.clone(), f);
        self.attempt_failed = only_attempts
            && !self.is_final
            && self.outcome.as_ref().is_some_and(|o| o.reason == reason);
    }

    /// The firmware said it connected after a failed attempt that is not yet final: that
    /// attempt no longer decides the run.
    pub fn connected_again(&mut self) {
        if !self.attempt_failed || self.is_final {
            return;
        }
        if let Some(old) = self.outcome.take() {
            self.retried = Some((self.line, old.reason));
        }
        self.attempt_failed = false;
        self.budget = None;
    }

    /// Make the proposed outcome final (if there is one).
    pub fn finalize(&mut self) {
        if self.is_final {
            return;
        }
        let Some(outcome) = self.outcome.clone() else {
            return;
        };
        self.is_final = true;
        self.budget = None;
        self.close_stages(&outcome);
        self.events.push(Event::Verdict(outcome));
    }

    /// One graded line went by: count down the budget of an open outcome.
    pub fn tick(&mut self) {
        if let Some(b) = self.budget.as_mut() {
            if *b == 0 {
                self.finalize();
            } else {
                *b -= 1;
            }
        }
    }

    /// Settle the stage track for an outcome.
    pub fn close_stages(&mut self, outcome: &Decision) {
        let idx = self.index(&outcome.stage).unwrap_or(self.current);
        if idx > self.current {
            self.enter(outcome.stage.clone(), None);
        }
        let status = if outcome.verdict == Verdict::Pass {
            StageStatus::Passed
        } else {
            StageStatus::Failed
        };
        if let Some(s) = self.stages.get_mut(idx) {
            s.status = status;
        }
        for s in &mut self.stages {
            if s.status == StageStatus::Running {
                s.status = StageStatus::Passed;
            }
        }
    }

    pub fn diagnose(&mut self, d: Diagnostic) {
        // The ESP32 prints each mbedTLS failure twice (`_handle_error` and `connect failed`);
        // one diagnostic per code is enough.
        if d.code.is_some()
            && self
                .diagnostics
                .iter()
                .any(|x| x.code == d.code && x.source == d.source)
        {
            return;
        }
        self.events.push(Event::Diagnostic(d.clone()));
        self.diagnostics.push(d);
    }
}
