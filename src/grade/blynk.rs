//! Blynk, the Arduino library (`[5001] Connecting to blynk.cloud:80`, `[5120] Ready (ping:
//! 24ms).`, `Invalid auth token.`, `Login timeout`, `Heartbeat timeout`) and blynk-library-lua
//! (`Connecting Blynk...`, `Ready. Ping: 40ms`, `Disconnected.`): the server said no, the
//! connection came up, it never did, or it came up and was lost. The last state decides: a
//! `Ready` that a `Login timeout` has followed before is not trusted until it holds.

/// What a line says about the Blynk connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// The server answered and refused the device: a fail.
    Refused(String),
    /// Connected and logged in: a pass.
    Ready(String),
    /// Another try without `Ready` since the last: where the run stands if the log ends here.
    Down(String),
    /// A `Ready` connection was lost (`Login timeout`, `Heartbeat timeout`, `Disconnected`):
    /// the pass it gave no longer holds.
    Lost(String),
}

/// One run's Blynk connection.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// A line named Blynk (its banner, `Connecting Blynk...`, its server).
    seen: bool,
    /// Connect attempts and drops since the last `Ready`.
    tries: u32,
    drops: u32,
    /// A `Ready` since the last drop.
    ready: bool,
    /// `Login timeout`s and `Heartbeat timeout`s in the whole run.
    timeouts: u32,
    /// The first of them, quoted.
    first_timeout: Option<String>,
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
            self.ready = true;
            if let Some(first) = &self.first_timeout {
                // Ready, then `Login timeout`, in a loop: this Ready is one more turn of it.
                return Some(Said::Down(format!(
                    "the Blynk login timed out {} (first `{first}`): the TCP connection \
                     comes up (`{said}`) but the server never completes the login, and the \
                     library reconnects in a loop (check the auth token against the server \
                     it belongs to: blynk.cloud for Blynk IoT, blynk-cloud.com or a local \
                     server for legacy tokens, and the port)",
                    times(self.timeouts)
                )));
            }
            return Some(Said::Ready(format!(
                "the device connected and logged in to the Blynk server (`{said}`)"
            )));
        }
        let timeout = ["login timeout", "heartbeat timeout"]
            .iter()
            .any(|w| low.trim_end_matches(['.', '!']) == *w);
        if timeout {
            self.timeouts += 1;
            self.ready = false;
            let first = self.first_timeout.get_or_insert_with(|| said.to_owned());
            let first = if first == said {
                String::new()
            } else {
                format!(", first `{first}`")
            };
            let what = if low.starts_with("login") {
                "the server accepted the TCP connection but the login timed out"
            } else {
                "the server stopped answering the heartbeat"
            };
            return Some(Said::Lost(format!(
                "{what} (`{said}`, {}{first}) and the library reconnects: \
                 the Blynk connection does not hold (a login timeout: check the auth token \
                 against the server it belongs to, blynk.cloud for Blynk IoT, blynk-cloud.com \
                 or a local server for legacy tokens, and the port)",
                times(self.timeouts)
            )));
        }
        // Over an ESP-AT module (BlynkSimpleShieldEsp8266), the AT driver's echo of each TCP
        // open is the try: `AT+CIPSTART=1,"TCP","blynk-cloud.com",8442`.
        let connecting = low.starts_with("connecting blynk")
            || (low.starts_with("connecting to ") && low.contains("blynk"))
            || (low.starts_with("at+cipstart=") && low.contains("\"tcp\""));
        if connecting {
            self.tries += 1;
        }
        if connecting && std::mem::take(&mut self.ready) {
            // The library connects only when it is not: the `Ready` before was lost.
            return Some(Said::Lost(format!(
                "the Blynk connection came up and was lost: the library connects again \
                 (`{said}`), and nothing after says it came back"
            )));
        }
        let dropped =
            low.trim_end_matches(['.', '!']) == "disconnected" && (self.tries > 0 || self.ready);
        if dropped {
            self.drops += 1;
        }
        if dropped && std::mem::take(&mut self.ready) {
            return Some(Said::Lost(format!(
                "the Blynk connection came up and then dropped (`{said}`): the server closed \
                 it or the network went away, and nothing after says it came back"
            )));
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

/// `once`, `3 times`.
fn times(n: u32) -> String {
    if n == 1 {
        "once".to_owned()
    } else {
        format!("{n} times")
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
    fn an_esp_at_shield_that_opens_tcp_again_and_again_never_came_up() {
        let said = run("[10232] Connected to WiFi\nAT+CIPCLOSE=1\n\
             AT+CIPSTART=1,\"TCP\",\"blynk-cloud.com\",8442\nAT+CIPSEND=1,37\n\
             AT+CIPCLOSE=1\nAT+CIPSTART=1,\"TCP\",\"blynk-cloud.com\",8442\n");
        assert!(
            matches!(said.last(), Some(Said::Down(w)) if w.contains("2 tries")),
            "{said:?}"
        );
        // One open and its login answered: Ready, no loop.
        let said =
            run("AT+CIPSTART=1,\"TCP\",\"blynk-cloud.com\",8442\n[11000] Ready (ping: 30ms).\n");
        assert!(matches!(said.last(), Some(Said::Ready(_))), "{said:?}");
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

    #[test]
    fn ready_then_login_timeout_in_a_loop_is_lost() {
        let said = run("[188600] Connecting to cloud.blynk.cc:8442\n\
             [188723] Ready (ping: 0ms).\n[194115] Login timeout\n\
             [194116] Connecting to cloud.blynk.cc:8442\n[194236] Ready (ping: 0ms).\n");
        assert!(matches!(said.first(), Some(Said::Ready(_))), "{said:?}");
        assert!(
            matches!(&said[1], Said::Lost(r) if r.contains("login timed out")),
            "{said:?}"
        );
        // The Ready after a login timeout is one more turn of the loop, not a pass.
        assert!(
            matches!(said.last(), Some(Said::Down(r)) if r.contains("login timed out once")),
            "{said:?}"
        );
        let said = run(
            "[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n\
             [65120] Heartbeat timeout\n",
        );
        assert!(matches!(said.last(), Some(Said::Lost(r)) if r.contains("heartbeat")));
        let said = run(
            "[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n\
             [9120] Disconnected\n",
        );
        assert!(matches!(said.last(), Some(Said::Lost(r)) if r.contains("dropped")));
        let said = run(
            "[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n\
             [95120] Connecting to blynk.cloud:80\n",
        );
        assert!(matches!(said.last(), Some(Said::Lost(r)) if r.contains("was lost")));
        let said = run(
            "[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n\
             [95120] Connecting to blynk.cloud:80\n[95220] Ready (ping: 20ms).\n",
        );
        assert!(matches!(said.last(), Some(Said::Ready(_))), "{said:?}");
        // Near misses: another library's timeout, and a timeout in a sentence.
        assert!(run("MQTT Login timeout\n").is_empty());
        let said = run(
            "[5001] Connecting to blynk.cloud:80\n[5120] Ready (ping: 24ms).\n\
             ntp: Login timeout on pool, retrying\n",
        );
        assert!(matches!(&said[..], [Said::Ready(_)]), "{said:?}");
    }
}
