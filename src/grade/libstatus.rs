//! An HTTP library's own failure line that quotes the server's status: the ThingSpeak library's
//! examples (`Problem updating channel. HTTP error code 302`, `Problem reading channel. HTTP
//! error code 404`), and sketches that word it alike (`HTTP error: 500`, `HTTP error code: 401`).
//! A three-digit code there is the server's answer to a request that ran (exit 1), not a
//! connection that failed. ThingSpeak's own negative codes in the same place are named
//! (`-301`, TS_ERR_CONNECT_FAILED, is a connection fault; `-401`, TS_ERR_NOT_INSERTED, the
//! server's no), and its examples' `Channel update successful.` (printed on a 200) is a pass.

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
    if let Some(said) = thingspeak(t) {
        return Some(said);
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

/// The ThingSpeak library's examples: `Channel update successful.` (on a 200) and its own
/// codes (ThingSpeak.h's `TS_ERR_*`) where the status would be.
fn thingspeak(t: &str) -> Option<(Verdict, String)> {
    let lower = t.to_ascii_lowercase();
    let end = lower.trim_end().trim_end_matches('.');
    if end.ends_with("channel update successful") || end.ends_with("channel write successful") {
        return Some((
            Verdict::Pass,
            format!("ThingSpeak took the update (`{t}`: its examples print this on HTTP 200)"),
        ));
    }
    let at = lower.find("channel. http error code ")? + "channel. http error code ".len();
    let code: i32 = lower[at..].trim().trim_end_matches('.').parse().ok()?;
    let (verdict, what) = match code {
        -301 => (
            Verdict::Fault,
            "TS_ERR_CONNECT_FAILED: the library could not connect to the ThingSpeak server (DNS \
             or TCP: the board's network, or the server's name or port)",
        ),
        -302 => (
            Verdict::Fault,
            "TS_ERR_UNEXPECTED_FAIL: the write failed partway (the connection broke)",
        ),
        -303 => (
            Verdict::Fault,
            "TS_ERR_BAD_RESPONSE: the server's answer could not be parsed",
        ),
        -304 => (
            Verdict::Fault,
            "TS_ERR_TIMEOUT: the server did not answer in time",
        ),
        -401 => (
            Verdict::Fail,
            "TS_ERR_NOT_INSERTED: the server answered but did not take the point (too frequent \
             writes: the free plan takes one update per 15 s per channel)",
        ),
        _ => return None,
    };
    Some((verdict, format!("ThingSpeak said `{t}`: {what}")))
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
    fn thingspeaks_own_codes_are_named_and_other_numbers_are_not_statuses() {
        for (line, verdict, name) in [
            (
                "Problem updating channel. HTTP error code -301",
                Verdict::Fault,
                "TS_ERR_CONNECT_FAILED",
            ),
            (
                "Problem updating channel. HTTP error code -304",
                Verdict::Fault,
                "TS_ERR_TIMEOUT",
            ),
            (
                "Problem updating channel. HTTP error code -401",
                Verdict::Fail,
                "TS_ERR_NOT_INSERTED",
            ),
            ("Channel update successful.", Verdict::Pass, "HTTP 200"),
        ] {
            let (v, why) = answered(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(v, verdict, "{line}");
            assert!(why.contains(name), "{why}");
        }
        for line in [
            "Problem updating channel. HTTP error code -999",
            // Not a status, or not at the end.
            "HTTP error code 42",
            "HTTP error code 302 while retrying 3 times",
            "HTTPS error code 1234",
            "MQTT error code 5",
        ] {
            assert_eq!(answered(line), None, "{line}");
        }
    }
}
