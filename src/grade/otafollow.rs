//! What the firmware says right after an update was refused: `Error Occurred. Error #: 9`,
//! `esp_https_ota: Error: esp_ota_write failed! err=0x5379`, `Could Not Activate The Firmware`.
//! The library's line that refused the image says why; the app's own lines after it carry the
//! code and the outcome its author will search for, so the reason quotes them too.

use super::Verdict;
use super::engine::Decision;

/// Lines after the refusal in which the app's own error lines belong to it.
const FOLLOW: usize = 6;

/// App lines quoted at most.
const QUOTED: usize = 2;

/// An update refusal the app may still add to: the line it was on, and the lines quoted so far.
#[derive(Debug, Default)]
pub(crate) struct Follow {
    at: Option<usize>,
    quoted: usize,
}

impl Follow {
    /// The update was refused on line `number`.
    pub(crate) fn refused(&mut self, number: usize) {
        *self = Self {
            at: Some(number),
            quoted: 0,
        };
    }

    /// Read one line: an error line soon after the refusal joins the outcome's reason.
    pub(crate) fn line(
        &mut self,
        number: usize,
        text: &str,
        lower: &str,
        outcome: Option<&mut Decision>,
    ) {
        let Some(at) = self.at else {
            return;
        };
        if number <= at {
            return;
        }
        if number - at > FOLLOW || self.quoted >= QUOTED {
            self.at = None;
            return;
        }
        // Only the refusal's own outcome: a crash after it has its own reason.
        let Some(o) = outcome.filter(|o| o.verdict == Verdict::Fail) else {
            return;
        };
        let t = text.trim();
        if !super::lasterror::says_error(lower) || o.reason.contains(t) {
            return;
        }
        o.reason.push_str(&format!("; then, line {number}: `{t}`"));
        self.quoted += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(lines: &[&str]) -> String {
        let mut d = Decision {
            verdict: Verdict::Fail,
            stage: String::new(),
            reason: "line 1: the OTA update downloaded an image that failed verification".into(),
        };
        let mut f = Follow::default();
        f.refused(1);
        for (i, l) in lines.iter().enumerate() {
            f.line(i + 2, l, &l.to_ascii_lowercase(), Some(&mut d));
        }
        d.reason
    }

    #[test]
    fn the_apps_own_error_lines_after_a_refusal_join_the_reason() {
        let why = follow(&[
            "Error Occurred. Error #: 9",
            "Written : 710640/710640 [100%]",
            "Error #: 9",
        ]);
        // The repeat of a line already quoted is not quoted again.
        assert!(
            why.contains("line 2: `Error Occurred. Error #: 9`") && !why.contains("line 4"),
            "{why}"
        );
        let why = follow(&["E (10062) esp_https_ota: Error: esp_ota_write failed! err=0x5379"]);
        assert!(why.contains("err=0x5379"), "{why}");
    }

    #[test]
    fn lines_that_say_no_error_or_come_late_do_not() {
        let why = follow(&["Rebooting...", "", "", "", "", "", "", "Error late"]);
        assert!(!why.contains("then"), "{why}");
        let why = follow(&["a", "b", "c", "d", "e", "f", "g", "Could not connect"]);
        assert!(!why.contains("then"), "{why}");
    }
}
