//! A JSON error body the firmware printed: Google's APIs (`{"error": {"code": 401, "message":
//! "…", "status": "UNAUTHENTICATED"}}`), and the many REST APIs that answer the same way, on
//! one line or pretty-printed over several, with straight or typographic quotes (a paste through
//! a word processor). A 4xx or 5xx `code` there is the server's answer to a request that ran.

use super::model::Verdict;

/// Lines the `"code"` may follow the `"error"` key by.
const WITHIN: usize = 6;

/// An open `"error": {` object, waiting for its code.
#[derive(Debug, Default)]
pub(crate) struct JsonError {
    /// The line the error object opened on.
    open: Option<usize>,
}

impl JsonError {
    /// The verdict and why, when this line completes an error body with an HTTP code in it.
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<(Verdict, String)> {
        let t = text.replace(['“', '”', '„'], "\"");
        let t = t.trim();
        if let Some(i) = t.find("\"error\"") {
            let after = t[i + 7..].trim_start().strip_prefix(':')?.trim_start();
            if !after.starts_with('{') {
                return None;
            }
            self.open = Some(number);
            return answer(&after[1..]);
        }
        let open = self.open?;
        if number.saturating_sub(open) > WITHIN {
            self.open = None;
            return None;
        }
        let verdict = answer(t);
        if verdict.is_some() {
            self.open = None;
        }
        verdict
    }
}

/// `"code": 401` in `text`, as the server's answer.
fn answer(text: &str) -> Option<(Verdict, String)> {
    let i = text.find("\"code\"")?;
    let after = text[i + 6..].trim_start().strip_prefix(':')?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let code: u16 = digits.parse().ok().filter(|_| digits.len() == 3)?;
    let what = match code {
        400..=499 => "the server refused the request",
        500..=599 => "the server failed",
        _ => return None,
    };
    Some((
        Verdict::Fail,
        format!(
            "the server answered with a JSON error body, code {code}: {what} (the request \
             reached it and ran; fix what it names, such as the credentials for a 401)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(lines: &[&str]) -> Option<(Verdict, String)> {
        let mut j = JsonError::default();
        lines.iter().enumerate().find_map(|(i, l)| j.line(i + 1, l))
    }

    #[test]
    fn an_error_body_on_one_line_or_several() {
        for lines in [
            &[r#"{"error":{"code":403,"message":"Forbidden","status":"PERMISSION_DENIED"}}"#][..],
            &[
                "{",
                " “error”: {",
                " “code”: 401,",
                " “status”: “UNAUTHENTICATED”",
            ][..],
        ] {
            let (v, why) = grade(lines).unwrap_or((Verdict::Timeout, String::new()));
            assert_eq!(v, Verdict::Fail, "{lines:?}");
            assert!(why.contains("code 40"), "{why}");
        }
    }

    #[test]
    fn what_is_not_an_error_answer() {
        for lines in [
            &[r#"{"error": null, "code": 200}"#][..],
            &[r#"{"result":{"code":401}}"#][..],
            &[
                r#""error": {"#,
                "a",
                "b",
                "c",
                "d",
                "e",
                "f",
                "g",
                r#""code": 401"#,
            ][..],
            &[r#"{"error":{"code":12345}}"#][..],
        ] {
            assert_eq!(grade(lines), None, "{lines:?}");
        }
    }
}
