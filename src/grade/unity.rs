//! The `unity` profile: Unity test output as PlatformIO's `pio test` runs it on a board
//! (`test/test_main.cpp:25:test_add:PASS`, then `3 Tests 1 Failures 0 Ignored` and `OK`/`FAIL`).

use super::engine::{Engine, Finality};
use super::model::{Stage, UnityTest, Verdict};

/// The stages, in order.
pub(crate) const STAGES: &[Stage] = &[Stage::Boot, Stage::Tests, Stage::Summary];

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) tests: Vec<UnityTest>,
    summary: Option<(u32, u32, u32)>,
}

impl State {
    pub(crate) fn line(&mut self, core: &mut Engine, text: &str) {
        let text = text.trim();
        if let Some(t) = parse_test(text) {
            core.enter(Stage::Tests, None);
            let failed = t.status == "fail";
            self.tests.push(t);
            core.set_detail(Stage::Tests, format!("{} run", self.tests.len()));
            if failed && self.summary.is_none() {
                // A failed test fails the run whatever follows; the summary, if it comes,
                // only counts. A log cut before it (a CI excerpt, a board that hung in the
                // next test) is still a failed run, not one with no verdict.
                let (verdict, reason) = self.conclusion(None);
                let reason = format!("{reason} (the run had not printed its summary yet)");
                core.propose(
                    verdict,
                    Some(Stage::Tests.name()),
                    reason,
                    Finality::AfterLines(200),
                );
            }
            return;
        }
        if let Some(sum) = parse_summary(text) {
            self.summary = Some(sum);
            core.enter(Stage::Summary, Some(text.to_owned()));
            let (verdict, reason) = self.conclusion(None);
            // Unity prints `OK` or `FAIL` right after; wait a line or two for it.
            core.propose(
                verdict,
                Some(Stage::Summary.name()),
                reason,
                Finality::AfterLines(2),
            );
            return;
        }
        if self.summary.is_some() && (text == "OK" || text == "FAIL") {
            let (verdict, reason) = self.conclusion(Some(text == "OK"));
            core.propose(verdict, Some(Stage::Summary.name()), reason, Finality::Now);
        }
    }

    fn conclusion(&self, ok: Option<bool>) -> (Verdict, String) {
        let (n, failures, ignored) = self.summary.unwrap_or((0, 0, 0));
        let failed: Vec<String> = self
            .tests
            .iter()
            .filter(|t| t.status == "fail")
            .map(|t| match &t.message {
                Some(m) => format!("{} ({}:{}: {m})", t.name, t.file, t.line),
                None => format!("{} ({}:{})", t.name, t.file, t.line),
            })
            .collect();
        if failures > 0 || ok == Some(false) || !failed.is_empty() {
            let list = if failed.is_empty() {
                String::new()
            } else {
                format!(": {}", failed.join(", "))
            };
            return (
                Verdict::Fail,
                format!(
                    "{} of {n} Unity tests failed{list}",
                    failures.max(failed.len() as u32)
                ),
            );
        }
        let ign = if ignored > 0 {
            format!(", {ignored} ignored")
        } else {
            String::new()
        };
        (Verdict::Pass, format!("all {n} Unity tests passed{ign}"))
    }
}

/// Whether a line is Unity's own: a test result or the summary.
pub(crate) fn recognises(text: &str) -> bool {
    let text = text.trim();
    parse_test(text).is_some() || parse_summary(text).is_some()
}

/// `file:line:name:PASS`, `file:line:name:FAIL: message`, `file:line:name:IGNORE`.
fn parse_test(text: &str) -> Option<UnityTest> {
    if !(text.contains(":PASS") || text.contains(":FAIL") || text.contains(":IGNORE")) {
        return None;
    }
    let mut parts = text.splitn(5, ':');
    let file = parts.next()?.trim();
    let line: u32 = parts.next()?.trim().parse().ok()?;
    let name = parts.next()?.trim();
    let status = match parts.next()?.trim() {
        "PASS" => "pass",
        "FAIL" => "fail",
        "IGNORE" => "ignore",
        _ => return None,
    };
    let message = parts
        .next()
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    if file.is_empty() || name.is_empty() {
        return None;
    }
    Some(UnityTest {
        file: file.to_owned(),
        line,
        name: name.to_owned(),
        status: status.to_owned(),
        message,
    })
}

/// `3 Tests 1 Failures 0 Ignored`.
fn parse_summary(text: &str) -> Option<(u32, u32, u32)> {
    let w: Vec<&str> = text.split_whitespace().collect();
    if w.len() != 6 || w[1] != "Tests" || w[3] != "Failures" || w[5] != "Ignored" {
        return None;
    }
    Some((w[0].parse().ok()?, w[2].parse().ok()?, w[4].parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_lines() {
        let t = parse_test("test/test_main.cpp:30:test_div:FAIL: Expected 2 Was 3");
        let t = t.unwrap_or_else(|| panic!("not parsed"));
        assert_eq!(
            (t.line, t.name.as_str(), t.status.as_str()),
            (30, "test_div", "fail")
        );
        assert_eq!(t.message.as_deref(), Some("Expected 2 Was 3"));
        assert!(parse_test("test/a.c:9:test_x:IGNORE").is_some());
        assert!(parse_test("nothing:here:PASS").is_none());
        assert_eq!(
            parse_summary("3 Tests 1 Failures 0 Ignored"),
            Some((3, 1, 0))
        );
        assert_eq!(parse_summary("3 Tests"), None);
    }

    fn graded(log: &str) -> crate::grade::Report {
        crate::grade::grade_bytes(
            crate::grade::GradeConfig::new(crate::grade::Profile::Auto),
            log.as_bytes(),
        )
    }

    #[test]
    fn a_failed_test_fails_the_run_before_any_summary() {
        for log in [
            "2024-07-03 07:39:32 /home/runner/work/arduino-esp32/tests/validation/uart/uart.ino:108:periman_test:FAIL: Expected 'Hello' Was ''\n",
            "test/test_main.cpp:20:test_add:PASS\ntest/test_main.cpp:30:test_div:FAIL: Expected 2 Was 3\n",
            "> 2024-05-22 19:26:48 /home/runner/tests/validation/uart/uart.ino:101:periman_test:FAIL: Expected 'Hello' Was 'x\n",
        ] {
            let r = graded(log);
            assert_eq!(
                (r.verdict, r.exit_code),
                (Verdict::Fail, 1),
                "{log}: {}",
                r.reason
            );
            assert!(r.reason.contains("failed"), "{}", r.reason);
        }
        // The summary, when it comes, still counts.
        let r = graded(
            "test/t.cpp:30:test_div:FAIL: Expected 2 Was 3\ntest/t.cpp:31:test_mul:PASS\n2 Tests 1 Failures 0 Ignored\nFAIL\n",
        );
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.reason.starts_with("1 of 2 Unity tests failed"),
            "{}",
            r.reason
        );
        // Passes alone, cut before the summary, are no verdict yet.
        let r = graded("test/t.cpp:31:test_mul:PASS\n");
        assert_ne!(r.verdict, Verdict::Pass);
    }
}
