//! A crash after the verdict. A whole log (`grade`) is read to its end: a board that printed
//! its answer and then crashed (an Exception, a Guru Meditation, a panic, a watchdog reset)
//! has a fault, whatever it answered first. Live watching (`watch`) stops at the verdict, as
//! it always did: the question it was asked is answered, and the port may never go quiet; the
//! `--log` it keeps can be graded whole afterwards.

use super::engine::Decision;
use super::{Grader, Line, Verdict, crash};

impl Grader {
    /// The verdict is final and `line` is a crash (or a watchdog's reset) after it: reopen the
    /// run so the crash is read like any other, keeping the verdict it overturns for the
    /// reason. Whether it reopened.
    pub(super) fn crash_after_verdict(&mut self, line: &Line) -> bool {
        if !self.whole_log || self.earlier.is_some() {
            return false;
        }
        let decided = self
            .core
            .outcome
            .as_ref()
            .is_some_and(|o| matches!(o.verdict, Verdict::Pass | Verdict::Fail));
        if !decided {
            return false;
        }
        let text = line.text.as_str();
        let crashed = match crash::classify(text, &text.to_ascii_lowercase()) {
            Some(crash::Signal::Crash { .. }) => true,
            Some(crash::Signal::Boot { cause }) => crash::killed_by_watchdog(&cause),
            None => false,
        };
        if !crashed {
            return false;
        }
        self.earlier = self.core.outcome.take();
        self.core.is_final = false;
        self.core.budget = None;
        self.core.attempt_failed = false;
        true
    }

    /// The reason of a fault that came after an earlier verdict: that verdict, then the crash.
    pub(super) fn after_earlier(&self, verdict: Verdict, reason: String) -> String {
        match &self.earlier {
            Some(Decision {
                verdict: was,
                reason: why,
                ..
            }) if verdict == Verdict::Fault => format!(
                "after the run's {} verdict ({why}), the board crashed: {}",
                was.word(),
                // The crash's own reason may open with the same words.
                reason
                    .strip_prefix("the board crashed: ")
                    .unwrap_or(&reason)
            ),
            _ => reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    fn grade(log: &str) -> Report {
        grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
    }

    #[test]
    fn an_exception_after_the_sketchs_verdict_is_a_fault_that_keeps_the_verdict() {
        // axtls-8266 #42: the reference sketch's failure line, then Exception (3) on closing.
        let r = grade(
            "connecting to api.github.com\ncertificate matches\nrequesting URL: /repos/a/b\n\
             request sent\nesp8266/Arduino CI has failed\nreply was:\n==========\n\n==========\n\
             closing connection\n\nException (3):\nepc1=0x4010010e epc2=0x00000000 \
             epc3=0x00000000 excvaddr=0x40046f69 depc=0x00000000\n\nctx: cont\n\
             sp: 3fff1340 end: 3fff15d0 offset: 01a0\n\n>>>stack>>>\n\
             3fff14e0:  3fff0558 000007a1 000007a1 4010020c\n<<<stack<<<\n",
        );
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        assert!(r.reason.contains("Exception (3)"), "{}", r.reason);
        assert!(
            r.reason.contains("after the run's FAIL verdict"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("CI has failed"), "{}", r.reason);
        assert!(
            !r.reason.contains("crashed: the board crashed"),
            "{}",
            r.reason
        );
        assert!(r.crash.is_some());
    }

    #[test]
    fn a_watchdog_reset_after_a_pass_is_a_fault_and_a_plain_restart_is_not() {
        // The pass is final once 40 more lines came without a crash.
        let pass = format!("[HTTP] GET... code: 200\n{}", "payload\n".repeat(45));
        let r = grade(&format!(
            "{pass}\n ets Jan  8 2013,rst cause:4, boot mode:(3,6)\n\nwdt reset\n"
        ));
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        assert!(
            r.reason.contains("wdt reset") && r.reason.contains("PASS"),
            "{}",
            r.reason
        );
        let r = grade(&format!(
            "{pass}\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n"
        ));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
    }

    #[test]
    fn watching_live_still_stops_at_the_verdict() {
        let mut config = GradeConfig::new(Profile::Auto);
        config.timed = true;
        let mut g = Grader::new(config);
        let mut out = Vec::new();
        g.feed(
            b"[HTTP] GET... code: 404\nException (28):\nepc1=0x40201234\n",
            Duration::ZERO,
            &mut out,
        );
        let r = g.finish(End::Eof, &mut out);
        assert_eq!(r.verdict, Verdict::Fail, "{}", r.reason);
    }
}
