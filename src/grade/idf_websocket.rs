//! ESP-IDF's esp_websocket_client's events as apps log them (`I (2838) websocket_handler:
//! WEBSOCKET_EVENT_CONNECTED`): a connection that came up passes unless an error or a
//! disconnect follows; `WEBSOCKET_EVENT_ERROR` and `WEBSOCKET_EVENT_DISCONNECTED` are a broken
//! connection, the verdict when the log ends on them.

use super::engine::{Engine, Finality};
use super::model::{Stage, Verdict};

/// The websocket session of one run.
#[derive(Debug, Default)]
pub(crate) struct Session {
    passed: bool,
    downs: u32,
}

impl Session {
    /// Read one line. The app error it leaves for the log's end, if the connection broke.
    pub(crate) fn line(&mut self, core: &mut Engine, text: &str) -> Option<String> {
        let t = text.trim();
        if t.contains("WEBSOCKET_EVENT_CONNECTED") {
            self.downs = 0;
            if core.outcome.is_none() {
                core.enter(Stage::Run, None);
                let reason = format!(
                    "line {}: the websocket connection came up (`{t}`) and no error or \
                     disconnect follows it: the connection works",
                    core.line
                );
                core.propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
                self.passed = true;
            }
            return None;
        }
        let down = ["WEBSOCKET_EVENT_ERROR", "WEBSOCKET_EVENT_DISCONNECTED"]
            .iter()
            .any(|e| t.contains(e));
        if !down {
            return None;
        }
        self.downs += 1;
        if std::mem::take(&mut self.passed) {
            core.withdraw_pass();
        }
        let again = if self.downs >= 2 {
            format!(" ({} times without a connect that stayed up)", self.downs)
        } else {
            String::new()
        };
        Some(format!(
            "the websocket connection broke or never came up: `{t}`{again}, and the log ends \
             without a connect that worked after it (the line does not say whether TCP, TLS or \
             the server's handshake failed)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::grade::{GradeConfig, Profile, Verdict, grade_bytes};

    fn auto(log: &str) -> crate::grade::Report {
        grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
    }

    #[test]
    fn a_websocket_that_came_up_and_stays_up_passes() {
        let r = auto(
            "E (2838) websocket_handler: Client not connected\n\
             I (2838) websocket_handler: WEBSOCKET_EVENT_CONNECTED\n\
             I (13138) websocket_handler: WEBSOCKET_EVENT_DATA\n\
             I (13148) websocket_handler: Received opcode=10\n",
        );
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
        assert!(
            r.reason.contains("WEBSOCKET_EVENT_CONNECTED"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn websocket_errors_and_disconnects_are_a_fault() {
        for log in [
            "I (5000) WEBSOCKET: WEBSOCKET_EVENT_CONNECTED\n\
             I (9000) WEBSOCKET: WEBSOCKET_EVENT_DISCONNECTED\n",
            "I (3000) ws_client: WEBSOCKET_EVENT_ERROR\n\
             I (3010) ws_client: WEBSOCKET_EVENT_DISCONNECTED\n\
             I (13010) ws_client: WEBSOCKET_EVENT_ERROR\n",
        ] {
            let r = auto(log);
            assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
            assert!(
                r.reason.contains("websocket connection broke"),
                "{}",
                r.reason
            );
        }
    }
}
