//! The real-world corpus: every serial log in `fixtures/logs/real/` (copied from public issues,
//! provenance in its README) graded with no flags and held against `expectations.toml`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::path::PathBuf;

use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectations {
    log: Vec<Expected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    file: String,
    verdict: String,
    exit: u8,
    #[serde(default)]
    words: Vec<String>,
    /// The profile `auto` must pick, when the log shows one.
    profile: Option<String>,
    /// A known miss, graded otherwise than expected, and why it is not fixed yet. The
    /// expectation stays as it was written blind; the test holds that it still misses, so a fix
    /// has to take the marker away.
    miss: Option<String>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/real")
}

fn expectations() -> Vec<Expected> {
    let text = std::fs::read_to_string(dir().join("expectations.toml")).unwrap();
    toml::from_str::<Expectations>(&text).unwrap().log
}

/// What is wrong with the grade of one log, if anything.
fn check(e: &Expected) -> Option<String> {
    let bytes = std::fs::read(dir().join(&e.file)).unwrap();
    let r = grade_bytes(GradeConfig::new(Profile::Auto), &bytes);
    let lower = r.reason.to_ascii_lowercase();
    let missing: Vec<&str> = e
        .words
        .iter()
        .map(String::as_str)
        .filter(|w| !lower.contains(&w.to_ascii_lowercase()))
        .collect();
    if !r.verdict.word().eq_ignore_ascii_case(&e.verdict)
        || r.exit_code != e.exit
        || e.profile.as_ref().is_some_and(|p| *p != r.profile)
        || !missing.is_empty()
    {
        return Some(format!(
            "{}: got {} (exit {}, profile {}) `{}`; expected {} (exit {}, profile {}){}",
            e.file,
            r.verdict.word(),
            r.exit_code,
            r.profile,
            r.reason,
            e.verdict,
            e.exit,
            e.profile.as_deref().unwrap_or("any"),
            if missing.is_empty() {
                String::new()
            } else {
                format!(", reason lacks {missing:?}")
            }
        ));
    }
    None
}

#[test]
fn every_real_log_has_an_expectation_and_every_expectation_a_log() {
    let listed: Vec<String> = expectations().into_iter().map(|e| e.file).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a log is listed twice");
    assert_eq!(sorted, on_disk);
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    for f in &listed {
        assert!(readme.contains(f.as_str()), "README.md does not cite {f}");
    }
}

#[test]
fn real_logs_are_graded_as_an_engineer_would() {
    let all = expectations();
    let wrong: Vec<String> = all
        .iter()
        .filter(|e| e.miss.is_none())
        .filter_map(check)
        .collect();
    let fixed: Vec<&str> = all
        .iter()
        .filter(|e| e.miss.as_ref().is_some_and(|why| !why.is_empty()) && check(e).is_none())
        .map(|e| e.file.as_str())
        .collect();
    assert!(
        all.iter()
            .all(|e| e.miss.as_ref().is_none_or(|why| !why.is_empty())),
        "a known miss says why"
    );
    assert!(
        fixed.is_empty(),
        "known misses now graded right, drop `miss`: {fixed:?}"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
