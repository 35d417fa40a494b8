//! The failure of an attempt that says most about it. A verdict is decided on one line, often a
//! library's last word (`wolfSSL request failed`, `Writing failed: errno=11`, a bare
//! `Backtrace:`), while a line of the same attempt a little before or after it names the cause
//! (`handshake timeout`, `esp-aes: Failed to allocate memory`, `assert failed: heap_caps_free`).
//! The reason then names that line too, so the user reads the cause and not only the symptom.
//! Only lines near the deciding one count, and none from before a connection that worked.

/// Lines either side of the deciding one within which a cause belongs to the same attempt.
const WINDOW: usize = 30;

/// The causes kept; older ones are dropped.
const KEPT: usize = 8;

/// A cause a line names: the word the reason should then carry, and what it means.
fn cause(lower: &str) -> Option<(&'static str, &'static str)> {
    let failed = |l: &str| {
        ["fail", "error", "timeout", "timed out", "abort"]
            .iter()
            .any(|w| l.contains(w))
    };
    // TLS's handshake, with the failure next to it (`handshake timeout`, `Handshake failed`,
    // `_wait_for_handshake: failed`, `failed handshake`); not a field name that only contains
    // the word (`esp_ws_handshake_status_code=0`), nor Wi-Fi's 4-way handshake.
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let handshake_failed = words.iter().enumerate().any(|(i, w)| {
        let named = *w == "handshake" || w.ends_with("_handshake");
        let next = words[i + 1..].iter().take(2).any(|n| failed(n));
        let before = i
            .checked_sub(1)
            .and_then(|j| words.get(j))
            .is_some_and(|p| failed(p));
        named && (next || before)
    });
    if handshake_failed
        && !["4way", "4-way", "wpa", "wifi", "reason:"]
            .iter()
            .any(|w| lower.contains(w))
    {
        return Some(("handshake", "the TLS handshake did not complete"));
    }
    let memory = [
        "failed to allocate",
        "allocation failed",
        "alloc failed",
        "out of memory",
        "not enough memory",
        "esp_err_no_mem",
        "ssl_alloc_failed",
    ];
    if memory.iter().any(|w| lower.contains(w)) {
        return Some((
            "memory",
            "the board ran out of memory (an allocation failed), which TLS and other buffers \
             need",
        ));
    }
    if lower.contains("assert failed") || (lower.contains("assertion") && lower.contains("failed"))
    {
        return Some((
            "assert",
            "an assertion failed: this is the crash's own message",
        ));
    }
    None
}

/// The causes the log named, in order: (line, the cause's word, what it means, the line).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    causes: Vec<(usize, &'static str, &'static str, String)>,
}

impl Seen {
    /// Read one line (before or after the verdict: a later line of the attempt may name it).
    pub(crate) fn line(&mut self, number: usize, text: &str) {
        let t = text.trim();
        if t.len() > 300 {
            return;
        }
        if let Some((word, what)) = cause(&t.to_ascii_lowercase()) {
            if self.causes.len() >= KEPT {
                self.causes.remove(0);
            }
            self.causes.push((number, word, what, t.to_owned()));
        }
    }

    /// A connection worked: the causes before it were another attempt's.
    pub(crate) fn clear(&mut self) {
        self.causes.clear();
    }

    /// The reason of a failure decided on line `at`, naming the nearest cause of the same
    /// attempt when the reason does not already name one.
    pub(crate) fn name_in(&self, at: usize, reason: String) -> String {
        let lower = reason.to_ascii_lowercase();
        if self.causes.iter().any(|(_, word, ..)| lower.contains(word)) {
            return reason;
        }
        // A reason that already names the TLS failure's cause (a certificate, a pinned
        // fingerprint, the TLS library's code) says more than a failed handshake would.
        let tls_explained = [
            "certificate",
            "fingerprint",
            "trust anchor",
            "-0x",
            "bssl",
            "bearssl",
            "mbedtls",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let nearest = self
            .causes
            .iter()
            .filter(|(n, word, ..)| {
                n.abs_diff(at) <= WINDOW && *n != at && !(*word == "handshake" && tls_explained)
            })
            .min_by_key(|(n, ..)| n.abs_diff(at));
        match nearest {
            Some((n, _, what, line)) => {
                let when = if *n < at { "before" } else { "after" };
                format!("{reason}; line {n}, {when} it, says more: `{line}`: {what}")
            }
            None => reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_in_their_libraries_words() {
        for (line, word) in [
            ("[SecureClient] handshake timeout", "handshake"),
            (
                "E (5123) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x7200",
                "",
            ),
            (
                "[E][ssl_client.cpp:36] _handle_error(): (-29184) SSL - Handshake failed",
                "handshake",
            ),
            ("BSSL:_wait_for_handshake: failed", "handshake"),
            ("TLS: failed handshake with broker", "handshake"),
            ("E (1587595) esp-aes: Failed to allocate memory", "memory"),
            ("E (812) esp-tls: ESP_ERR_NO_MEM", "memory"),
            (
                "assert failed: heap_caps_free heap_caps.c:360 (heap != NULL)",
                "assert",
            ),
            (
                "assertion \"heap != NULL && \"free() target pointer\"\" failed: file \"heap.c\"",
                "assert",
            ),
        ] {
            let got = cause(&line.to_ascii_lowercase()).map(|(w, _)| w);
            if word.is_empty() {
                // `returned -0x7200` names no failure word: the TLS rules explain its code.
                assert_eq!(got, None, "{line}");
            } else {
                assert_eq!(got, Some(word), "{line}");
            }
        }
    }

    #[test]
    fn other_lines_name_no_cause() {
        for line in [
            "[SecureClient] retrying with TLS 1.2-only handshake",
            "W (2000) wifi: Reason: 15 - 4WAY_HANDSHAKE_TIMEOUT",
            "I (900) heap: free memory 120000",
            "assert(x) passed",
            "Memory allocated: 4096 bytes",
            "E (6381) websocket_client: esp_transport_connect() failed with -1, \
             esp_ws_handshake_status_code=0, errno=119",
        ] {
            assert_eq!(cause(&line.to_ascii_lowercase()), None, "{line}");
        }
    }

    #[test]
    fn the_nearest_cause_of_the_attempt_is_named_once() {
        let mut seen = Seen::default();
        seen.line(1, "[SecureClient] handshake timeout");
        let why = seen.name_in(3, "the connection failed".to_owned());
        assert!(
            why.contains("handshake timeout") && why.contains("line 1, before it"),
            "{why}"
        );
        // Already named, or too far away: the reason stays.
        let named = "the TLS handshake failed".to_owned();
        assert_eq!(seen.name_in(3, named.clone()), named);
        assert_eq!(seen.name_in(100, "x".to_owned()), "x");
        let pinned = "fingerprint mismatch: pin the new one".to_owned();
        assert_eq!(seen.name_in(3, pinned.clone()), pinned);
        // A connection that worked since: another attempt's cause.
        seen.clear();
        assert_eq!(seen.name_in(3, "x".to_owned()), "x");
    }
}
