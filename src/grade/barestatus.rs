//! A sketch that prints HTTPClient's status code alone on a line and then the body
//! (`Serial.println(httpCode); Serial.println(payload);`): `401`, then `{"status": 401, "info":
//! "Authentication required"}`. A bare number is only a status when the body after it agrees:
//! it repeats the code, or says the status's own words.

use super::model::Verdict;

/// How many lines after the number the body may confirm it.
pub(crate) const WITHIN: usize = 8;

/// A line that is only an HTTP status code.
pub(crate) fn code(text: &str) -> Option<u16> {
    let t = text.trim();
    (t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse::<u16>().ok())
        .flatten()
        .filter(|c| (100..600).contains(c))
}

/// The words a body uses for a status.
fn words(code: u16) -> &'static [&'static str] {
    match code {
        200 => &["\"ok\""],
        301 | 302 => &["moved"],
        400 => &["bad request"],
        401 => &["unauthorized", "authentication required", "unauthorised"],
        403 => &["forbidden", "access denied"],
        404 => &["not found"],
        500 => &["internal server error"],
        502 => &["bad gateway"],
        503 => &["service unavailable"],
        _ => &[],
    }
}

/// Whether a body line after the bare `code` confirms it as the response's status.
pub(crate) fn confirms(code: u16, lower: &str) -> bool {
    let n = code.to_string();
    let repeats = [
        "\"status\":",
        "\"code\":",
        "\"statuscode\":",
        "\"status_code\":",
    ]
    .iter()
    .any(|k| {
        lower.find(k).is_some_and(|i| {
            let rest = lower[i + k.len()..].trim_start().trim_start_matches('"');
            rest.strip_prefix(n.as_str())
                .is_some_and(|r| !r.starts_with(|c: char| c.is_ascii_digit()))
        })
    });
    repeats || words(code).iter().any(|w| lower.contains(w))
}

/// The verdict and why, once confirmed.
pub(crate) fn verdict(code: u16, at: usize, body: &str) -> (Verdict, String) {
    let v = if (200..300).contains(&code) {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let what = match code {
        401 => ": the request needs credentials it did not send (or they were wrong)",
        403 => ": the server refused this client",
        404 => ": no such path on the server",
        c if c >= 500 => ": the server failed to handle the request",
        c if (300..400).contains(&c) => ": a redirect the sketch did not follow",
        _ => "",
    };
    (
        v,
        format!(
            "the server answered HTTP {code}{what} (the sketch printed the code at line {at}, \
             and the body agrees: `{}`)",
            body.trim().chars().take(100).collect::<String>()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_code_is_a_status_when_the_body_agrees() {
        assert_eq!(code("401"), Some(401));
        assert_eq!(code(" 200 "), Some(200));
        assert_eq!(code("4010"), None);
        assert_eq!(code("042"), None);
        assert!(confirms(401, "  \"status\": 401,"));
        assert!(confirms(401, "  \"info\": \"authentication required\","));
        assert!(confirms(404, "<h1>404 not found</h1>"));
        assert!(confirms(200, "{\"code\":\"200\",\"data\":[]}"));
        assert!(!confirms(401, "{\"temperature\": 21.5}"));
        assert!(!confirms(200, "\"status\": 2001"));
        let (v, why) = verdict(401, 3, "\"info\": \"Authentication required\",");
        assert_eq!(v, Verdict::Fail);
        assert!(why.contains("HTTP 401"), "{why}");
        assert_eq!(verdict(200, 1, "{}").0, Verdict::Pass);
    }
}
