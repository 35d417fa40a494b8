//! A grading plan: everything grading needs, decided before any I/O runs. The command line turns
//! its flags into a [`Plan`] once (`grade`, `watch`, `flash-and-watch`); `demo` builds one
//! directly. Running the grader and finishing the report are pure; fetching the CI truth and
//! writing files are the caller's edge.

use super::decode;
use super::truth::{self, Facts, TruthQuery};
use super::{GradeConfig, Grader, Report, Verdict};
use crate::error::Exit;

/// A firmware ELF read for decoding crashes.
#[derive(Debug, Clone)]
pub struct Elf {
    /// The path as the user gave it, for messages.
    pub name: String,
    /// The file's bytes (already checked to be an ELF).
    pub bytes: Vec<u8>,
}

/// How to grade, decode and judge one run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Profile, rules and timing.
    pub config: GradeConfig,
    /// Decode a crash against this ELF (the app: checked against the log's `ELF file SHA256:`).
    pub elf: Option<Elf>,
    /// Further ELFs for the addresses the app does not hold: more `--elf`s, then `--rom-elf`s.
    pub more_elves: Vec<Elf>,
    /// Ask the CI for the truth the board reported (`--truth`).
    pub truth: Option<TruthQuery>,
    /// A core dump read from a file (`--core-dump`): reported and decoded in place of any the
    /// log printed.
    pub core_dump: Option<decode::CoreDump>,
}

impl Plan {
    /// A plan that only grades.
    pub fn new(config: GradeConfig) -> Self {
        Plan {
            config,
            elf: None,
            more_elves: Vec::new(),
            truth: None,
            core_dump: None,
        }
    }

    /// A fresh grader for this plan.
    pub fn grader(&self) -> Grader {
        Grader::new(self.config.clone())
    }

    /// Decode the report's crash against the plan's ELFs. Returns what the user should be told
    /// (no debug info, an unreadable ELF, an ELF that is not the build that crashed); the report
    /// is annotated in place.
    pub fn decode(&self, report: &mut Report) -> Vec<String> {
        if let Some(dump) = &self.core_dump {
            report.core_dump = Some(decode::summarize(dump.clone(), None));
        }
        let has_dump = report.core_dump.as_ref().is_some_and(|d| d.dump.is_some());
        let Some(app) = &self.elf else {
            return Vec::new();
        };
        if report.crash.is_none() && !has_dump {
            return Vec::new();
        }
        let mut notes = Vec::new();
        let mut set = Vec::new();
        for (i, elf) in std::iter::once(app).chain(&self.more_elves).enumerate() {
            match decode::Symbols::parse(&elf.bytes) {
                Ok(symbols) => {
                    // ROM ELFs carry only symbols: said of the app alone.
                    if i == 0 && !symbols.has_line_info() {
                        notes.push(format!(
                            "{}: no DWARF debug info; only function names are decoded (build with -g)",
                            elf.name
                        ));
                    }
                    set.push(symbols);
                }
                Err(e) => return vec![format!("the crash is not decoded: {}: {e}", elf.name)],
            }
        }
        decode::annotate(report, &set);
        if let Some(dump) = report.core_dump.as_mut() {
            for w in decode::decode_core_dump(dump, &set) {
                if !report.decode_warnings.contains(&w) {
                    report.decode_warnings.push(w);
                }
            }
        }
        for w in &report.decode_warnings {
            notes.push(format!("{}: {w}", app.name));
        }
        notes
    }

    /// The CI could not be asked: keep the board's verdict, say why the truth is missing, and
    /// give the exit code. A PASS or FAIL is the board's reading of the CI, which `--truth` was
    /// asked to confirm, so it ends in the truth's own failure (3 for a timeout, 4 otherwise); a
    /// fault or a board that reached no verdict keeps its code, since no CI answer changes it.
    pub fn truth_unavailable(&self, report: &mut Report, why: &str, failed: Exit) -> Exit {
        report.truth_unavailable = Some(why.to_owned());
        let exit = match report.verdict {
            Verdict::Pass | Verdict::Fail => failed,
            Verdict::Fault | Verdict::Timeout => report.exit(),
        };
        report.exit_code = exit.code();
        exit
    }

    /// Judge the board's answer against what the CI says.
    pub fn judge_truth(&self, report: &mut Report, facts: &Facts) {
        if let Some(q) = &self.truth {
            truth::judge(report, facts, &q.repo, &q.git_ref);
        }
    }
}
