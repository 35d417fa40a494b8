//! The GitHub truth: what the combined status and the check runs of a ref say, and whether the
//! board's verdict agrees (an Actions-only repository reports through check runs, not statuses).
//! Pure: JSON in, judgement out; `github` fetches.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::{Report, Verdict};
use crate::error::{Error, Result};

/// Where to ask and what about.
#[derive(Debug, Clone)]
pub struct TruthQuery {
    /// `https://api.github.com`, or a stand-in.
    pub api_base: String,
    /// `owner/name`.
    pub repo: String,
    /// Branch, tag or SHA.
    pub git_ref: String,
    /// Extra trust anchors beside the public roots.
    pub ca_files: Vec<PathBuf>,
    /// From `GITHUB_TOKEN` only, never from argv.
    pub token: Option<String>,
    /// Bound on each request.
    pub timeout: Duration,
}

impl TruthQuery {
    /// A query for `repo`@`git_ref` at GitHub, without a token (the edge sets it).
    pub fn new(repo: &str, git_ref: &str) -> Self {
        TruthQuery {
            api_base: "https://api.github.com".to_owned(),
            repo: repo.to_owned(),
            git_ref: git_ref.to_owned(),
            ca_files: Vec::new(),
            token: None,
            timeout: Duration::from_secs(15),
        }
    }

    /// The API URL for `tail` under this ref's commit.
    pub fn url(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/commits/{}/{tail}",
            self.api_base.trim_end_matches('/'),
            self.repo,
            self.git_ref
        )
    }
}

/// Check `owner/name`.
pub fn check_repo(repo: &str) -> Result<()> {
    let ok = repo.split('/').count() == 2
        && repo.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--repo `{repo}`: expected OWNER/NAME"
        )))
    }
}

/// Counts of a ref's check runs (GitHub Actions reports only through these).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRuns {
    pub total: u64,
    /// Completed with success, neutral or skipped.
    pub success: u64,
    /// Completed with failure, timed_out, cancelled, action_required, startup_failure or stale.
    pub failure: u64,
    /// Queued or in progress.
    pub pending: u64,
}

/// What GitHub says about a ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The combined status' `state`: success, pending or failure.
    pub combined_state: String,
    /// How many commit statuses make it up (`total_count`).
    pub statuses: u64,
    pub check_runs: CheckRuns,
}

/// The `truth` object of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub combined_state: String,
    pub statuses: u64,
    pub check_runs: CheckRuns,
    /// `green`, `red` or `pending`, all things considered.
    pub ci: String,
    /// What the board concluded: `successful`, `failed`, or null when it reached no CI verdict.
    pub board: Option<String>,
    /// Whether the board's verdict agrees with GitHub; null when the board has no CI verdict.
    pub agrees: Option<bool>,
    pub explanation: String,
}

/// Parse GitHub's two answers: `/commits/{ref}/status` and one page of `/commits/{ref}/check-runs`.
pub fn facts_from_json(status: &[u8], checks: &[u8]) -> Result<Facts, String> {
    facts_from_pages(status, &[checks])
}

/// Parse the combined status and every page of check runs read. A failed run on any page makes
/// the CI red, so all pages must be read: GitHub sends at most 100 runs a page.
pub fn facts_from_pages(status: &[u8], check_pages: &[&[u8]]) -> Result<Facts, String> {
    #[derive(Deserialize)]
    struct Status {
        state: String,
        #[serde(default)]
        total_count: Option<u64>,
        #[serde(default)]
        statuses: Vec<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Checks {
        #[serde(default)]
        total_count: Option<u64>,
        #[serde(default)]
        check_runs: Vec<Run>,
    }
    #[derive(Deserialize)]
    struct Run {
        status: String,
        conclusion: Option<String>,
    }
    let s: Status = serde_json::from_slice(status)
        .map_err(|e| format!("the combined status is not what GitHub sends: {e}"))?;
    let mut all = Vec::new();
    let mut total_count = None;
    for page in check_pages {
        let c: Checks = serde_json::from_slice(page)
            .map_err(|e| format!("the check runs are not what GitHub sends: {e}"))?;
        total_count = total_count.or(c.total_count);
        all.extend(c.check_runs);
    }
    if let Some(total) = total_count
        && (all.len() as u64) < total
    {
        return Err(format!(
            "GitHub reports {total} check runs but only {} could be read",
            all.len()
        ));
    }
    let mut runs = CheckRuns {
        total: all.len() as u64,
        ..CheckRuns::default()
    };
    for r in &all {
        if r.status != "completed" {
            runs.pending += 1;
            continue;
        }
        match r.conclusion.as_deref() {
            Some("success" | "neutral" | "skipped") => runs.success += 1,
            _ => runs.failure += 1,
        }
    }
    Ok(Facts {
        combined_state: s.state,
        statuses: s.total_count.unwrap_or(s.statuses.len() as u64),
        check_runs: runs,
    })
}

impl Facts {
    /// `green`, `red` or `pending`.
    pub fn ci(&self) -> &'static str {
        let c = &self.check_runs;
        if matches!(self.combined_state.as_str(), "failure" | "error") || c.failure > 0 {
            "red"
        } else if c.pending > 0 || (self.combined_state == "pending" && self.statuses > 0) {
            "pending"
        } else if self.combined_state == "success" || (self.statuses == 0 && c.total > 0) {
            "green"
        } else {
            "pending"
        }
    }

    /// One phrase with the numbers.
    pub fn summary(&self) -> String {
        let c = &self.check_runs;
        let mut s = format!(
            "combined status {} with {} status{}; {} check run{}",
            self.combined_state,
            self.statuses,
            if self.statuses == 1 { "" } else { "es" },
            c.total,
            if c.total == 1 { "" } else { "s" },
        );
        if c.total > 0 {
            s.push_str(&format!(
                ": {} succeeded, {} failed, {} in progress",
                c.success, c.failure, c.pending
            ));
        }
        s
    }
}

/// Compare the board's report with GitHub and fold the judgement into it. With the truth, PASS
/// requires agreement: a disagreement makes the verdict `fail` (exit 1). Faults and timeouts are
/// left as they are; the truth is then only information.
pub fn judge(report: &mut Report, facts: &Facts, repo: &str, git_ref: &str) {
    let ci = facts.ci();
    let summary = facts.summary();
    let board = if report.profile == "https-request" && report.stage == super::Stage::Verdict.name()
    {
        match report.verdict {
            Verdict::Pass => Some("successful"),
            Verdict::Fail => Some("failed"),
            _ => None,
        }
    } else if report.verdict == Verdict::Pass {
        Some("successful")
    } else {
        None
    };
    let (agrees, explanation) = match board {
        None => (
            None,
            format!(
                "the board reached no CI verdict ({}); GitHub says CI is {ci} ({summary})",
                report.verdict.word().to_lowercase()
            ),
        ),
        Some("successful") if ci == "green" => (
            Some(true),
            format!("GitHub agrees: CI is green ({summary})"),
        ),
        Some("successful") => (
            Some(false),
            format!(
                "the board says successful but GitHub says CI is {ci} ({summary}): the board did \
                 not read what GitHub serves now (a stale reply, or another server answered)"
            ),
        ),
        Some(_) if ci != "green" => (
            Some(true),
            format!("GitHub agrees: CI is not green, it is {ci} ({summary})"),
        ),
        Some(_) => {
            let c = &facts.check_runs;
            let why = match report.ci_state.as_deref() {
                Some("pending") if facts.statuses == 0 && c.total > 0 && c.success == c.total => {
                    format!(
                        "the board says failed because the combined status is pending with 0 \
                         statuses while all {} check runs succeeded: the sketch's test is wrong, \
                         CI is green",
                        c.total
                    )
                }
                Some(state) => format!(
                    "the board says failed because it read combined state \"{state}\", while \
                     GitHub says CI is green ({summary}): the state changed since, or the board \
                     read another server"
                ),
                None => format!(
                    "the board says failed because it never read a CI state ({}), while GitHub \
                     says CI is green ({summary})",
                    report.reason
                ),
            };
            (Some(false), why)
        }
    };
    if agrees == Some(false) {
        report.verdict = Verdict::Fail;
        report.reason = explanation.clone();
        report.exit_code = report.verdict.exit().code();
    }
    report.truth = Some(Truth {
        repo: repo.to_owned(),
        git_ref: git_ref.to_owned(),
        combined_state: facts.combined_state.clone(),
        statuses: facts.statuses,
        check_runs: facts.check_runs.clone(),
        ci: ci.to_owned(),
        board: board.map(str::to_owned),
        agrees,
        explanation,
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;
    use crate::grade::{GradeConfig, Profile, grade_bytes};

    const ACTIONS_ONLY: &str = r#"{"state":"pending","statuses":[],"sha":"abc","total_count":0}"#;
    const ALL_GREEN: &str = r#"{"total_count":2,"check_runs":[{"status":"completed","conclusion":"success"},{"status":"completed","conclusion":"skipped"}]}"#;

    fn board(verdict_line: &str, body: &str) -> Report {
        let log = format!(
            "connecting to wifi\nWiFi connected\nconnecting to api.github.com\nrequesting URL: /x\nrequest sent\nheaders received\n{verdict_line}\nreply was:\n==========\n{body}\n==========\nclosing connection\n"
        );
        grade_bytes(GradeConfig::new(Profile::HttpsRequest), log.as_bytes())
    }

    #[test]
    fn actions_only_repo_is_green_and_the_board_is_wrong() {
        let facts = facts_from_json(ACTIONS_ONLY.as_bytes(), ALL_GREEN.as_bytes()).unwrap();
        assert_eq!(facts.ci(), "green");
        let mut r = board(
            "esp8266/Arduino CI has failed",
            r#"{"state":"pending","statuses":[]}"#,
        );
        assert_eq!(r.ci_state.as_deref(), Some("pending"));
        judge(&mut r, &facts, "esp8266/Arduino", "master");
        let t = r.truth.as_ref().unwrap();
        assert_eq!(t.agrees, Some(false));
        assert!(
            t.explanation
                .contains("pending with 0 statuses while all 2 check runs succeeded"),
            "{}",
            t.explanation
        );
        assert_eq!(r.verdict, Verdict::Fail);
    }

    #[test]
    fn pass_needs_agreement() {
        let red = r#"{"state":"failure","statuses":[{}],"total_count":1}"#;
        let facts = facts_from_json(red.as_bytes(), br#"{"check_runs":[]}"#).unwrap();
        assert_eq!(facts.ci(), "red");
        let mut r = board("esp8266/Arduino CI successfull!", r#"{"state":"success"}"#);
        assert_eq!(r.verdict, Verdict::Pass);
        judge(&mut r, &facts, "esp8266/Arduino", "master");
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.exit_code, 1);

        let green = r#"{"state":"success","statuses":[{}],"total_count":1}"#;
        let facts = facts_from_json(green.as_bytes(), br#"{"check_runs":[]}"#).unwrap();
        let mut r = board("esp8266/Arduino CI successful!", r#"{"state":"success"}"#);
        judge(&mut r, &facts, "esp8266/Arduino", "master");
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(r.truth.unwrap().agrees, Some(true));
    }

    #[test]
    fn running_checks_are_pending() {
        let checks = r#"{"check_runs":[{"status":"in_progress","conclusion":null}]}"#;
        let facts = facts_from_json(ACTIONS_ONLY.as_bytes(), checks.as_bytes()).unwrap();
        assert_eq!(facts.ci(), "pending");
    }
}
