//! The Firebase Arduino libraries' (Firebase-ESP8266, Firebase-ESP32, Firebase-ESP-Client)
//! connection errors as sketches print them: `errorReason()` alone on a line or after the
//! examples' `REASON: ` (`not connected`, `connection refused`, `connection lost`), and the
//! stream timeout callback's `Stream timeout, resume streaming...`. With nothing after them the
//! board never reached the database.

/// The library's words for a request that got no connection, as the sketch printed them.
const REASONS: &[(&str, &str)] = &[
    (
        "not connected",
        "the library had no connection to the server (an earlier connect failed: DNS, TCP or TLS)",
    ),
    (
        "connection refused",
        "the connection to the server failed (the library says this for a failed TCP or TLS \
         connect)",
    ),
    ("connection lost", "the connection to the server broke"),
];

/// The examples' report of a request the database answered: `Set int... ok` (4.x), `Set
/// int... PASSED` (older), `Push json... ok`, `Get string... PASSED`. Why, or `None`.
pub(crate) fn succeeded(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() > 120 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let (what, said) = lower.split_once("...")?;
    let verb = what.split_whitespace().next()?;
    let verbs = [
        "set", "get", "push", "update", "delete", "remove", "send", "upload", "download", "append",
        "patch", "query", "create", "commit",
    ];
    (verbs.contains(&verb) && matches!(said.trim(), "ok" | "passed")).then(|| {
        format!("the Firebase example's request was answered (`{t}`): the database took it")
    })
}

/// How the explanation of a stream timeout starts.
pub(crate) const STREAM_TIMEOUT: &str = "the Firebase stream timed out";

/// A Firebase connection error, explained, or `None`.
pub(crate) fn no_connection(text: &str) -> Option<String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let said = lower
        .strip_prefix("reason:")
        .or_else(|| lower.split_once(" reason: ").map(|(_, r)| r))
        .unwrap_or(&lower)
        .trim();
    if let Some((_, what)) = REASONS.iter().find(|(r, _)| said == *r) {
        return Some(format!(
            "the firmware's request got no connection (`{t}`, the Firebase library's \
             errorReason()): {what}, and the log ends without data"
        ));
    }
    lower.starts_with("stream timeout").then(|| {
        format!(
            "{STREAM_TIMEOUT} and no data came (`{t}`): the board did not reach the database (or \
             the stream's connection broke)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_requests_that_the_database_answered() {
        for l in [
            "Set int... ok",
            "Set int... PASSED",
            "Push json...  ok",
            "Get string... PASSED",
        ] {
            assert!(succeeded(l).is_some(), "{l}");
        }
        for l in [
            "Set int... FAILED",
            "Connecting... ok",
            "Set int...",
            "Setting up... ok",
        ] {
            assert_eq!(succeeded(l), None, "{l}");
        }
    }

    #[test]
    fn firebase_errors_as_sketches_print_them() {
        for line in [
            "not connected",
            "REASON: connection refused",
            "FAILED REASON: connection lost",
            "Stream timeout, resume streaming...",
        ] {
            assert!(no_connection(line).is_some(), "{line}");
        }
        for line in [
            "connected",
            "Firebase not connected yet, waiting",
            "REASON: ",
        ] {
            assert!(no_connection(line).is_none(), "{line}");
        }
    }
}
