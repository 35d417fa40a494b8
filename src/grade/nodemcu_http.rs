//! NodeMCU's `http` module (Lua) in its own words: `HTTP client: Disconnected with error: -114`,
//! `HTTP client: Connection timeout`, `HTTP client: DNS failed for example.com`, then the
//! documented callback's `HTTP request failed` for the negative code it got. The callback's
//! line says only that it failed; the module's line before it has the code, which is what a
//! user searches for, so the reason of the whole burst carries the first thing it printed.

/// Lines within which the next of these lines is the same request's.
const BURST: usize = 5;

/// The request being read: the burst's first failure (line, what it said) and its last line.
#[derive(Debug, Default)]
pub(crate) struct Http {
    first: Option<(usize, String)>,
    last: usize,
}

impl Http {
    /// Read a line: why the request failed, when the line says it did.
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<String> {
        let t = text.trim();
        if number.saturating_sub(self.last) > BURST {
            self.first = None;
        }
        let what = if let Some(rest) = t.strip_prefix("HTTP client: ") {
            let rest = rest.trim_end_matches('.');
            if let Some(code) = rest.strip_prefix("Disconnected with error: ") {
                let code: i32 = code.trim().parse().ok()?;
                format!(
                    "the connection ended with error {code} before any response came (the \
                     SDK's espconn or TLS error code)"
                )
            } else if rest == "Connection timeout" {
                "the request timed out with no response".to_owned()
            } else if let Some(host) = rest.strip_prefix("DNS failed for ") {
                format!("the DNS lookup of {} failed", host.trim())
            } else {
                return None;
            }
        } else if t == "HTTP request failed" && self.first.is_some() {
            "its callback got a negative code, no HTTP status".to_owned()
        } else {
            return None;
        };
        self.last = number;
        let said = format!("{what} (`{t}`)");
        let first = match &self.first {
            Some((at, first)) => format!("; first, line {at}: {first}"),
            None => {
                self.first = Some((number, said.clone()));
                String::new()
            }
        };
        Some(format!(
            "line {number}: NodeMCU's http module: the request failed before any HTTP status: \
             {said}{first}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_keeps_its_first_code() {
        let mut h = Http::default();
        let lines = [
            "HTTP client: Disconnected with error: -114",
            "HTTP client: Connection timeout",
            "HTTP request failed",
        ];
        let said: Vec<String> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| h.line(i + 1, l))
            .collect();
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(said[0].contains("error -114"), "{}", said[0]);
        assert!(
            said[2].contains("`HTTP request failed`")
                && said[2].contains("line 1: ")
                && said[2].contains("-114"),
            "{}",
            said[2]
        );
        let mut h = Http::default();
        assert!(
            h.line(1, "HTTP client: DNS failed for example.com")
                .is_some_and(|r| r.contains("DNS lookup of example.com"))
        );
        // A burst long ago is not this request's.
        let r = h
            .line(40, "HTTP client: Connection timeout")
            .unwrap_or_default();
        assert!(!r.contains("first, line 1"), "{r}");
        let mut h = Http::default();
        for l in [
            "HTTP request failed",
            "HTTP client: Connected",
            "HTTP client: Disconnected with error: x",
            "WiFi client: Disconnected with error: -8",
            "[HTTP] GET... failed, error: connection refused",
        ] {
            assert_eq!(h.line(1, l), None, "{l}");
        }
    }
}
