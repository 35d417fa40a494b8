//! Rendering a [`Report`]: the human text, JSON, and a JUnit XML report (one testcase per stage,
//! or per Unity test).

use std::io::Write;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::decode;
use super::model::{Report, StageStatus, Verdict};
use crate::util::shown;

/// The human report, through the redaction layer; every string that came from the serial line
/// or another outside source is escaped ([`shown`]).
pub fn human(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::new();
    human_raw(report, &mut buf)?;
    out.write_all(crate::util::redacted(&String::from_utf8_lossy(&buf)).as_bytes())
}

fn human_raw(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  (exit {}, stage {}, profile {})",
        report.verdict.word(),
        report.exit_code,
        report.stage,
        report.profile
    )?;
    writeln!(out, "  {}", shown(&report.reason))?;
    if let Some(state) = &report.ci_state {
        writeln!(out, "  CI state read by the board: {}", shown(state))?;
    }
    if let Some(fp) = &report.suggested_fingerprint {
        writeln!(out, "  suggested fingerprint: {fp}")?;
    }
    if let Some(why) = &report.truth_unavailable {
        writeln!(
            out,
            "  truth: unavailable ({}); the board's verdict stands alone",
            shown(why)
        )?;
    }
    if let Some(t) = &report.truth {
        let agree = match t.agrees {
            Some(true) => "agrees",
            Some(false) => "DISAGREES",
            None => "no comparison",
        };
        writeln!(
            out,
            "  truth ({}@{}): CI is {}; {agree}",
            t.repo, t.git_ref, t.ci
        )?;
        if t.agrees != Some(false) {
            writeln!(out, "    {}", shown(&t.explanation))?;
        }
    }
    if report.tests.is_empty() {
        writeln!(out, "stages:")?;
        for s in &report.stages {
            let mark = match s.status {
                StageStatus::Passed => "ok  ",
                StageStatus::Failed => "FAIL",
                StageStatus::Skipped => "skip",
                StageStatus::NotReached => "--  ",
                StageStatus::Running => "... ",
            };
            let line = s.line.map(|l| format!("line {l}")).unwrap_or_default();
            let detail = shown(s.detail.as_deref().unwrap_or(""));
            let row = format!("  {mark} {:<12} {:<10} {detail}", s.name, line);
            writeln!(out, "{}", row.trim_end())?;
        }
    } else {
        writeln!(out, "tests:")?;
        for t in &report.tests {
            let mark = match t.status.as_str() {
                "pass" => "ok  ",
                "fail" => "FAIL",
                _ => "skip",
            };
            let msg = t
                .message
                .as_deref()
                .map(|m| format!(": {}", shown(m)))
                .unwrap_or_default();
            writeln!(
                out,
                "  {mark} {} ({}:{}){msg}",
                shown(&t.name),
                shown(&t.file),
                t.line
            )?;
        }
    }
    if !report.diagnostics.is_empty() {
        writeln!(out, "diagnostics:")?;
        for d in &report.diagnostics {
            writeln!(out, "  line {} [{}] {}", d.line, d.source, shown(&d.text))?;
            writeln!(out, "    -> {}", shown(&d.explanation))?;
        }
    }
    if let Some(c) = &report.crash {
        writeln!(
            out,
            "crash: {} at line {}: {}",
            c.kind,
            c.line,
            shown(&c.headline)
        )?;
        for l in c.block.iter().take(12) {
            writeln!(out, "{}", format!("  | {}", shown(l)).trim_end())?;
        }
        if c.block.len() > 12 {
            writeln!(out, "  | … {} more lines (see --json)", c.block.len() - 12)?;
        }
    }
    for w in &report.decode_warnings {
        writeln!(out, "WARNING: {}", shown(w))?;
    }
    if !report.backtrace.is_empty() {
        writeln!(out, "decoded with the ELF:")?;
        for line in decoded_lines(&report.backtrace) {
            writeln!(out, "  {line}")?;
        }
    }
    if !report.fault_addresses.is_empty() {
        writeln!(out, "fault address (what was accessed, not a frame):")?;
        for line in decoded_lines(&report.fault_addresses) {
            writeln!(out, "  {line}")?;
        }
    }
    if let Some(d) = &report.core_dump {
        core_dump(d, out)?;
    }
    write!(
        out,
        "read {} lines ({} unreadable), {} bytes",
        report.lines, report.garbled_lines, report.bytes
    )?;
    if report.lines_cut > 0 {
        write!(
            out,
            "; lines cut: {} (matched only up to {} bytes)",
            report.lines_cut,
            super::MAX_LINE
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// The core dump: where it was, what it says, then each task (the crashed one first) with its
/// frames.
fn core_dump(d: &crate::grade::model::CoreDumpReport, out: &mut dyn Write) -> std::io::Result<()> {
    let at = d.line.map(|l| format!(" at line {l}")).unwrap_or_default();
    if let Some(e) = &d.error {
        return writeln!(out, "core dump{at}: not read: {}", shown(e));
    }
    let chip = match (&d.chip, d.chip_rev) {
        (Some(c), Some(r)) => format!(", {c} rev {}.{}", r / 100, r % 100),
        (Some(c), None) => format!(", {c}"),
        _ => String::new(),
    };
    writeln!(out, "core dump{at} ({}{chip}):", d.format)?;
    if let Some(sha) = &d.app_elf_sha256 {
        writeln!(out, "  app ELF SHA256: {sha}")?;
    }
    match (&d.panic_reason, d.exception_cause) {
        (Some(p), _) => writeln!(out, "  panic reason: {}", shown(p))?,
        (None, Some(cause)) => writeln!(
            out,
            "  exception cause {cause}, fault address {}",
            d.fault_address.as_deref().unwrap_or("?")
        )?,
        (None, None) => {}
    }
    if d.in_isr == Some(true) {
        writeln!(out, "  crashed in an interrupt handler")?;
    }
    for n in &d.notes {
        writeln!(out, "  note: {}", shown(n))?;
    }
    for t in &d.tasks {
        let name = t.name.as_deref().unwrap_or("?");
        let crashed = if t.crashed { "crashed task " } else { "task " };
        writeln!(
            out,
            "  {crashed}'{}' (TCB {}), PC {}",
            shown(name),
            t.tcb,
            t.pc
        )?;
        for line in decoded_lines(&t.frames) {
            writeln!(out, "    {line}")?;
        }
    }
    Ok(())
}

/// The decoded backtrace, one line per address and one per inlining caller: where the board
/// printed the address, the address, and what the ELF says is there.
fn decoded_lines(frames: &[crate::grade::model::Frame]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut core = None;
    for f in frames {
        if f.core.is_some() && f.core != core {
            core = f.core;
            lines.push(format!("CPU {}:", f.core.unwrap_or_default()));
        }
        let what = match (&f.function, &f.file, f.in_elf) {
            (None, None, false) => "?? (outside the ELF)".to_owned(),
            (None, None, true) => "?? (no function here)".to_owned(),
            _ => decode::place(f),
        };
        let mut notes = Vec::new();
        if f.guess {
            notes.push("guess: a code-looking word, not unwound");
        }
        if f.unreliable {
            notes.push("unreliable: not the ELF that crashed");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        lines.push(format!("{:<9} {}  {what}{notes}", f.from, f.addr));
        for c in &f.inlined_into {
            lines.push(format!(
                "{:<9} {:<10}    inlined into {}",
                "",
                "",
                decode::caller_place(c)
            ));
        }
    }
    lines
}

/// The report as one line of JSON, through the redaction layer.
pub fn json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let text = serde_json::to_string(report).map_err(std::io::Error::other)?;
    writeln!(out, "{}", crate::util::redacted(&text))
}

/// A JUnit XML report: one testcase per stage (per test for Unity), so a CI server shows where
/// the board stopped.
pub fn junit(report: &Report, name: &str) -> Result<String, String> {
    let mut suite = TestSuite::new(format!("espcheck {}", report.profile));
    let classname = format!("espcheck.{}", report.profile);
    if report.tests.is_empty() {
        for s in &report.stages {
            let status = match s.status {
                StageStatus::Passed | StageStatus::Running => TestCaseStatus::success(),
                StageStatus::Failed => {
                    let kind = if report.verdict == Verdict::Fault {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut st = TestCaseStatus::non_success(kind);
                    st.set_message(report.reason.clone());
                    st.set_type(report.verdict.word());
                    if let Some(c) = &report.crash {
                        let mut text = format!("{}\n{}", c.headline, c.block.join("\n"));
                        if !report.backtrace.is_empty() {
                            text.push_str("\n\ndecoded with the ELF:\n");
                            text.push_str(&decoded_lines(&report.backtrace).join("\n"));
                        }
                        st.set_description(text);
                    }
                    st
                }
                StageStatus::Skipped => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(s.detail.clone().unwrap_or_else(|| "not printed".to_owned()));
                    st
                }
                StageStatus::NotReached => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message("not reached");
                    st
                }
            };
            let mut tc = TestCase::new(s.name.clone(), status);
            tc.set_classname(classname.clone());
            if let Some(d) = &s.detail {
                tc.set_system_out(d.clone());
            }
            suite.add_test_case(tc);
        }
    } else {
        for t in &report.tests {
            let status = match t.status.as_str() {
                "pass" => TestCaseStatus::success(),
                "fail" => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(t.message.clone().unwrap_or_else(|| "failed".to_owned()));
                    st
                }
                _ => TestCaseStatus::skipped(),
            };
            let mut tc = TestCase::new(t.name.clone(), status);
            tc.set_classname(format!("{classname}.{}", t.file));
            suite.add_test_case(tc);
        }
        if matches!(report.verdict, Verdict::Fault | Verdict::Timeout) {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
            st.set_message(report.reason.clone());
            let mut tc = TestCase::new("run", st);
            tc.set_classname(classname.clone());
            suite.add_test_case(tc);
        }
    }
    let mut r = quick_junit::Report::new(name.to_owned());
    r.add_test_suite(suite);
    r.to_string()
        .map(|xml| crate::util::redacted(&xml).into_owned())
        .map_err(|e| e.to_string())
}
