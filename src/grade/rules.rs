//! Custom grading rules for firmware other than the reference sketch: `--pass REGEX`,
//! `--fail REGEX` (repeatable) and a TOML rules file (`--rules FILE`).
//!
//! ```toml
//! # Each regex is matched against every line (colours, NULs and line ends stripped).
//! pass  = ["^All checks passed$"]
//! fail  = ["FAILED", "HTTP code: [45]\\d\\d"]
//! fault = ["PANIC"]                 # optional: exit 5 like a crash
//!
//! [[stage]]                         # optional: named stages, in order, for the report/JUnit
//! name  = "wifi"
//! regex = "WiFi connected"
//! ```

use regex::Regex;
use serde::Deserialize;

use super::model::Verdict;

/// Compiled rules. Checked on every line before the profile; the first match decides.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pass: Vec<Regex>,
    fail: Vec<Regex>,
    fault: Vec<Regex>,
    stages: Vec<(String, Regex)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    pass: Vec<String>,
    #[serde(default)]
    fail: Vec<String>,
    #[serde(default)]
    fault: Vec<String>,
    #[serde(default)]
    stage: Vec<StageRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageRule {
    name: String,
    regex: String,
}

fn compile(what: &str, re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| {
        // regex's message is multi-line with a caret diagram; keep its last line.
        let msg = e.to_string();
        let last = msg
            .lines()
            .last()
            .unwrap_or("invalid regex")
            .trim()
            .to_owned();
        format!("{what} `{re}`: {last}")
    })
}

impl Rules {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are no verdict rules (stage rules alone decide nothing).
    pub fn is_empty(&self) -> bool {
        self.pass.is_empty() && self.fail.is_empty() && self.fault.is_empty()
    }

    /// Add a `--pass` regex.
    pub fn add_pass(&mut self, re: &str) -> Result<(), String> {
        self.pass.push(compile("--pass", re)?);
        Ok(())
    }

    /// Add a `--fail` regex.
    pub fn add_fail(&mut self, re: &str) -> Result<(), String> {
        self.fail.push(compile("--fail", re)?);
        Ok(())
    }

    /// Add the rules of a TOML rules file (its text).
    pub fn add_toml(&mut self, text: &str) -> Result<(), String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| {
            // toml's message has a source excerpt; keep the position and the last line.
            let msg = e.to_string();
            let last = msg
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid TOML");
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("line {line}: {}", last.trim())
                }
                None => last.trim().to_owned(),
            }
        })?;
        for re in &file.pass {
            self.pass.push(compile("pass", re)?);
        }
        for re in &file.fail {
            self.fail.push(compile("fail", re)?);
        }
        for re in &file.fault {
            self.fault.push(compile("fault", re)?);
        }
        for s in file.stage {
            if s.name.trim().is_empty() {
                return Err("a [[stage]] has an empty name".to_owned());
            }
            let re = compile(&format!("stage {}", s.name), &s.regex)?;
            self.stages.push((s.name, re));
        }
        Ok(())
    }

    /// Names of the stages the rules define, in order.
    pub fn stage_names(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|(n, _)| n.as_str())
    }

    /// The stage a line enters, if any.
    pub(crate) fn stage(&self, text: &str) -> Option<&str> {
        self.stages
            .iter()
            .find(|(_, re)| re.is_match(text))
            .map(|(n, _)| n.as_str())
    }

    /// The verdict a line decides, with the rule that matched. Faults first, then failures: a
    /// line matching both a pass and a fail rule is a failure.
    ///
    /// On a line cut at [`super::MAX_LINE`] (`cut`), a rule anchored at the end (`…$`, `…\z`)
    /// never matches: the line's real end was not read.
    pub(crate) fn verdict(&self, text: &str, cut: bool) -> Option<(Verdict, &str)> {
        let sets = [
            (Verdict::Fault, &self.fault),
            (Verdict::Fail, &self.fail),
            (Verdict::Pass, &self.pass),
        ];
        for (v, set) in sets {
            if let Some(re) = set
                .iter()
                .find(|re| !(cut && end_anchored(re.as_str())) && re.is_match(text))
            {
                return Some((v, re.as_str()));
            }
        }
        None
    }
}

/// Whether a pattern can only match at the end of the line (`$` or `\z` last, not escaped).
fn end_anchored(re: &str) -> bool {
    let escaped = |tail: &str| {
        re.strip_suffix(tail)
            .is_some_and(|head| head.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1)
    };
    (re.ends_with('$') && !escaped("$")) || (re.ends_with("\\z") && !escaped("\\z"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;

    #[test]
    fn toml_rules_and_precedence() {
        let mut r = Rules::new();
        r.add_toml(
            "pass = [\"done\"]\nfail = [\"FAILED\"]\n[[stage]]\nname = \"wifi\"\nregex = \"WiFi connected\"\n",
        )
        .unwrap();
        assert_eq!(
            r.verdict("all done", false).map(|v| v.0),
            Some(Verdict::Pass)
        );
        assert_eq!(
            r.verdict("done but FAILED", false).map(|v| v.0),
            Some(Verdict::Fail)
        );
        assert_eq!(r.stage("WiFi connected"), Some("wifi"));
        assert!(r.verdict("nothing", false).is_none());
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        let mut r = Rules::new();
        let e = r.add_pass("(unclosed").unwrap_err();
        assert!(e.starts_with("--pass `(unclosed`:"), "{e}");
        let e = r.add_toml("pas = [\"x\"]").unwrap_err();
        assert!(e.contains("unknown field"), "{e}");
    }
}
