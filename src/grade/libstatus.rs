//! An HTTP library's own failure line that quotes the server's status: the ThingSpeak library's
//! examples (`Problem updating channel. HTTP error code 302`, `Problem reading channel. HTTP
//! error code 404`), and sketches that word it alike (`HTTP error: 500`, `HTTP error code: 401`).
//! A three-digit code there is the server's answer to a request that ran (exit 1), not a
//! connection that failed; the library's own negative codes (ThingSpeak's `-301`, failed to
//! connect) are left to the connection rules.

use std::sync::LazyLock;

use regex::Regex;

use super::model::Verdict;

/// `HTTP error code 302`, `HTTP error code: 404`, `HTTP error = 500`, `HTTP error 403.` at the
/// line's end, after whatever the library said first.
static HTTP_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\w-])http\s+error(?:\s+code)?\s*[:=]?\s*(\d{3})\s*[.!]?\s*$")
        .unwrap_or_else(|_| unreachable!())
});

/// The verdict and why, when `text` is such a line with an HTTP status in it.
pub(crate) fn answered(text: &str) -> Option<(Verdict, String)> {
    let t = text.trim();
    if t.len() > 200 {
        return None;
    }
    let code: u16 = HTTP_ERROR.captures(t)?.get(1)?.as_str().parse().ok()?;
    let (verdict, what) = match code {
        200..=299 => (
            Verdict::Pass,
            "a success, though the library called it an error",
        ),
        300..=399 => (
            Verdict::Fail,
            "a redirect, which the library does not follow (the request went to an http:// \
             address the server moved, or to the wrong host)",
        ),
        400..=499 => (Verdict::Fail, "the server refused the request"),
        500..=599 => (Verdict::Fail, "the server failed"),
        _ => return None,
    };
    Some((
        verdict,
        format!("the server answered HTTP {code} (`{t}`): {what}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_librarys_http_error_code_is_the_servers_answer() {
        for (line, code) in [
            ("Problem updating channel. HTTP error code 302", "302"),
            ("> Problem updating channel. HTTP error code 302", "302"),
            ("Problem reading channel. HTTP error code 404", "404"),
            (
                "12:00:01.123 -> Problem updating channel. HTTP error code 400",
                "400",
            ),
            ("HTTP error code: 401", "401"),
            ("Upload failed, HTTP error = 500.", "500"),
        ] {
            let (v, why) = answered(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(v, Verdict::Fail, "{line}");
            assert!(why.contains(code) && why.contains("answered"), "{why}");
        }
    }

    #[test]
    fn the_librarys_own_codes_and_other_numbers_are_not_statuses() {
        for line in [
            // ThingSpeak's own codes: it never reached the server, or could not parse it.
            "Problem updating channel. HTTP error code -301",
            "Problem updating channel. HTTP error code -304",
            // Not a status, or not at the end.
            "HTTP error code 42",
            "HTTP error code 302 while retrying 3 times",
            "HTTPS error code 1234",
            "Channel update successful.",
            "MQTT error code 5",
        ] {
            assert_eq!(answered(line), None, "{line}");
        }
    }
}
