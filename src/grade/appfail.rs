//! An ESP-IDF app's own words, at the log's end, that its job could not be done:
//! `E (77672) esp_claim: Claim Verify Failed.`, `E (870) app_main: Could not initialise node.
//! Aborting!!!`, esp-matter's `E (…) chip[CTL]: Failed in verifying 'Attestation Information'`.
//! Only error-level lines count, only when no later line says something worked, and only near
//! the end (the grader holds the tail); the first error of the last run of them is the cause.

use super::model::Verdict;

/// Lines an error may be apart and still belong to the same run of errors.
const GAP: usize = 20;

/// The last run of error lines that said the app's job failed.
#[derive(Debug, Default)]
pub(crate) struct Job {
    burst: Option<Burst>,
}

#[derive(Debug)]
struct Burst {
    /// The first failure line of the run: its line number and its text (the cause).
    first: (usize, String),
    /// The last failure line of the run (the consequence), and its line number.
    last: (usize, String),
    /// Whether a line of the run says the request got no answer (`Status = -1`).
    no_status: bool,
}

impl Job {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        if succeeded(lower) {
            self.burst = None;
            return;
        }
        let Some(body) = error_body(text) else {
            return;
        };
        let body_lower = body.to_ascii_lowercase();
        if super::lasterror::mends_itself(&body_lower) {
            return;
        }
        let no_status = no_status(&body_lower);
        let same_run = self
            .burst
            .as_ref()
            .is_some_and(|b| number.saturating_sub(b.last.0) <= GAP);
        if !says_failed(&body_lower) {
            if let Some(b) = self.burst.as_mut().filter(|_| same_run) {
                b.no_status |= no_status;
            } else if no_status {
                // `Status = -1, Data = None` opens a run that its `… Failed.` names.
                self.burst = Some(Burst {
                    first: (number, body.to_owned()),
                    last: (number, body.to_owned()),
                    no_status,
                });
            }
            return;
        }
        match self.burst.as_mut().filter(|_| same_run) {
            Some(b) => {
                b.last = (number, body.to_owned());
                b.no_status |= no_status;
            }
            None => {
                self.burst = Some(Burst {
                    first: (number, body.to_owned()),
                    last: (number, body.to_owned()),
                    no_status,
                });
            }
        }
    }

    /// The verdict when the log ends at `end` (its line count) within `tail` lines of the run's
    /// last error, and why.
    pub(crate) fn verdict(&self, end: usize, tail: usize) -> Option<(Verdict, String)> {
        let b = self.burst.as_ref()?;
        if end.saturating_sub(b.last.0) > tail {
            return None;
        }
        let first = &b.first.1;
        let fl = first.to_ascii_lowercase();
        let quoted = if b.first.0 == b.last.0 {
            format!("`{first}`")
        } else {
            format!("`{first}` … `{}`", b.last.1)
        };
        let (verdict, why) = if refused(&fl) {
            (
                Verdict::Fail,
                "the app ran and the answer is no: it is not set up for its job, or the server \
                 refused it (not a fault of the board)",
            )
        } else if certificate(&fl) {
            (
                Verdict::Fault,
                "a certificate or attestation check rejected what the other side presented",
            )
        } else if b.no_status {
            (
                Verdict::Fault,
                "its request got no valid answer (no HTTP status): the connection or TLS failed, \
                 or the server did not answer",
            )
        } else {
            (
                Verdict::Fault,
                "the call it needed failed and nothing after it worked",
            )
        };
        Some((
            verdict,
            format!(
                "line {}: the app logged that its job failed and the log ends without anything \
                 working after it: {quoted}; {why}",
                b.first.0
            ),
        ))
    }
}

/// `E (870) tag: message` → `tag: message`, past decoration a paste put before the level
/// (`----E (870) …`, `> E (870) …`).
fn error_body(text: &str) -> Option<&str> {
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || "-|>*#".contains(c));
    // The bootloader's errors are not the app's job (the app has not run yet).
    if !t.starts_with("E (") || super::idf::bootloader_line(t) {
        return None;
    }
    super::idf::log_body(t)
}

/// An app's words for a job it could not do.
fn says_failed(lower: &str) -> bool {
    let word_fail = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.starts_with("fail"));
    word_fail
        || [
            "could not",
            "couldn't",
            "cannot",
            "unable to",
            "aborting",
            "invalid response",
            // ESP-IDF's Ethernet PHY drivers: `lan87xx_init(499): wrong chip ID`.
            "wrong chip id",
            "reset timeout",
            "power up timeout",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// A request that got no status back: esp_rainmaker's `Status = -1, Data = None`.
fn no_status(lower: &str) -> bool {
    lower.contains("status = -") || lower.contains("status: -") || lower.contains("no response")
}

/// The app's configuration or the server's refusal, not a fault: RainMaker's `Please perform
/// "claiming" using RainMaker CLI`, a 401/403.
pub(crate) fn refused(lower: &str) -> bool {
    [
        "please perform",
        "please provision",
        "not claimed",
        "not provisioned",
        "not configured",
        "unauthorized",
        "unauthorised",
        "forbidden",
        "access denied",
        "status = 401",
        "status = 403",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// A certificate or attestation rejection.
fn certificate(lower: &str) -> bool {
    ["attestation", "certificate", "x509", "x.509", "verify cert"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A line that says something worked after the errors: the run is not stuck there.
fn succeeded(lower: &str) -> bool {
    let t = lower.trim_start();
    let level_ok = !t.starts_with("e (") && !t.contains("error") && !t.contains("fail");
    level_ok
        && (lower.contains("success")
            || lower.contains("_event_connected")
            || lower.contains("claim successful")
            || lower.contains("connected to"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(lines: &[&str]) -> Option<(Verdict, String)> {
        let mut job = Job::default();
        for (i, l) in lines.iter().enumerate() {
            job.line(i + 1, l, &l.to_ascii_lowercase());
        }
        job.verdict(lines.len(), 20)
    }

    #[test]
    fn a_request_with_no_status_is_a_fault_quoting_its_cause() {
        let (v, r) = grade(&[
            "I (61572) wifi_prov_mgr: Provisioning stopped",
            "E (77672) esp_claim: Invalid response for https://esp-claiming.rainmaker.espressif.com/claim/verify",
            "E (77672) esp_claim: Status = -1, Data = None",
            "E (77672) esp_claim: Claim Verify Failed.",
            "E (77682) esp_rmaker_core: esp_rmaker_self_claim_perform() returned -1. Aborting",
            "I (79622) esp_rmaker_time: SNTP Synchronised.",
        ])
        .unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Fault, "{r}");
        assert!(
            r.contains("Invalid response for https://esp-claiming") && r.contains("no HTTP status"),
            "{r}"
        );
    }

    #[test]
    fn a_node_that_is_not_set_up_is_a_fail() {
        let (v, r) = grade(&[
            "----E (870) esp_rmaker_core: Failed to initialise Node Id. Please perform \"claiming\" using RainMaker CLI.",
            "----E (870) app_main: Could not initialise node. Aborting!!!",
        ])
        .unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Fail, "{r}");
        assert!(r.contains("claiming") && r.contains("Aborting!!!"), "{r}");
    }

    #[test]
    fn an_attestation_rejection_is_a_fault() {
        let (v, r) = grade(&[
            "I (2801126) chip[CTL]: Verifying attestation",
            "E (2801366) chip[CTL]: Failed in verifying 'Attestation Information' command received from the device: err 101.",
            "I (2801386) chip[CTL]: Error on commissioning step 'AttestationVerification': 'Error CHIP:0x000000AC'",
            "E (2801396) chip[CTL]: Failed to perform commissioning step 8",
        ])
        .unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Fault, "{r}");
        assert!(r.contains("attestation check"), "{r}");
    }

    #[test]
    fn warnings_later_success_and_old_errors_are_no_verdict() {
        assert!(grade(&["W (5) app: could not read config, using defaults"]).is_none());
        assert!(
            grade(&[
                "E (5) app: http request failed",
                "I (9) app: HTTP request success"
            ])
            .is_none()
        );
        assert!(grade(&["E (5) app: Client not connected"]).is_none());
        let mut long = vec!["E (5) app: sensor read failed"];
        long.extend(std::iter::repeat_n("I (6) app: tick", 25));
        assert!(grade(&long).is_none());
    }
}
