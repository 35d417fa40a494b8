//! Blynk, the Arduino library (`[5001] Connecting to blynk.cloud:80`, `[5120] Ready (ping:
//! 24ms).`, `Invalid auth token.`) and blynk-library-lua (`Connecting Blynk...`, `Ready.
//! Ping: 40ms`, `Disconnected.`): the server said no, the connection came up, or it never did.

/// What a line says about the Blynk connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// The server answered and refused the device: a fail.
    Refused(String),
    /// Connected and logged in: a pass.
    Ready(String),
    /// Another try without `Ready` since the last: where the run stands if the log ends here.
    Down(String),
}

/// One run's Blynk connection.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// A line named Blynk (its banner, `Connecting Blynk...`, its server).
    seen: bool,
    /// Connect attempts and drops since the last `Ready`.
    tries: u32,
    drops: u32,
}

impl State {
    /// Read one line.
    pub(crate) fn line(&mut self, text: &str, lower: &str) -> Option<Said> {
        // The Arduino library's lines start with its `[millis] ` stamp.
        let t = text.trim();
        let said = match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((ms, rest)) if ms.chars().all(|c| c.is_ascii_digit()) => rest.trim(),
            _ => t,
        };
        // blynk-library-lua's lines can follow the NodeMCU prompt.
        let said = said.strip_prefix("> ").unwrap_or(said);
        let low = said.to_ascii_lowercase();
        if lower.contains("blynk") {
            self.seen = true;
        }
        if !self.seen {
            return None;
        }
        if low.starts_with("invalid auth token") {
            return Some(Said::Refused(format!(
                "the Blynk server refused the device's auth token (`{said}`): the server \
                 answered and said no; copy the device's token from the Blynk console, and \
                 connect to the server that issued it (blynk.cloud or its regional server for \
                 Blynk IoT, blynk-cloud.com for legacy tokens)"
            )));
        }
        if low.starts_with("ready (ping:") || low.starts_with("ready. ping:") {
            self.tries = 0;
            self.drops = 0;
            return Some(Said::Ready(format!(
                "the device connected and logged in to the Blynk server (`{said}`)"
            )));
        }
        let connecting = low.starts_with("connecting blynk")
            || (low.starts_with("connecting to ") && low.contains("blynk"));
        if connecting {
            self.tries += 1;
        }
        let dropped = low.trim_end_matches(['.', '!']) == "disconnected" && self.tries > 0;
        if dropped {
            self.drops += 1;
        }
        if !(dropped || (connecting && self.tries > 1)) {
            return None;
        }
        let how = if self.drops > 0 {
            format!(
                "`Disconnected.` after {} of {} tries",
                self.drops, self.tries
            )
        } else {
            format!("{} tries to connect", self.tries)
        };
        Some(Said::Down(format!(
            "the Blynk connection never came up: {how} (`{said}`), and no `Ready`: the server \
             was not reached or closed the connection (check the network, the server and port, \
             and the auth token)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(log: &str) -> Vec<Said> {
        let mut s = State::default();
        log.lines()
            .filter_map(|l| s.line(l, &l.to_ascii_lowercase()))
            .collect()
    }

    #[test]
    fn refused_ready_or_never_up() {
        let said = run("[846659] Connecting to blynk.cloud:80\n[847566] Invalid auth token.\n");
        assert!(
            matches!(&said[..], [Said::Refused(r)] if r.contains("`Invalid auth token.`")),
            "{said:?}"
        );
        let said = run("[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n");
        assert!(matches!(&said[..], [Said::Ready(_)]), "{said:?}");
        let said =
            run("> Connecting Blynk...\nDisconnected.\nConnecting Blynk...\nDisconnected.\n");
        assert!(
            matches!(said.last(), Some(Said::Down(r)) if r.contains("`Disconnected.` after 2 of 2 tries")),
            "{said:?}"
        );
        // Without a Blynk line, these words are someone else's.
        assert!(run("Invalid auth token.\nDisconnected.\n").is_empty());
    }
}
