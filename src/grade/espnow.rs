//! ESP-NOW send callbacks: whether the peer acknowledged each packet. Sketches print the
//! callback's status in a few spellings: `ESPNOW: SEND_FAILED` / `ESPNOW: ACK_OK`, Random
//! Nerd Tutorials' `Last Packet Send Status: Delivery Success` / `Delivery Fail` (ESP8266 and
//! ESP32), a bare `Delivery success` after the status word on the line before. The last
//! delivery decides: a delivered last packet is a pass (the link works, however lossy), a
//! failed one is a fault: no ACK came back, so the packet never reached the peer's radio (it
//! is off, out of range, on another Wi-Fi channel, or the sketch sends to the wrong MAC).
//! `esp_now_send`'s own return (`Sent with success`, `Send Status: Success`) only says the
//! packet was queued, not delivered: not read here.

use super::Verdict;

/// One run's ESP-NOW deliveries.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// A line named ESP-NOW.
    seen: bool,
    /// The previous non-empty line asked for the status (`Last Packet Send Status:`).
    status_asked: bool,
    delivered: u32,
    failed: u32,
    /// The last delivery: its line, whether it was delivered, and the line quoted.
    last: Option<(usize, bool, String)>,
}

impl State {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        let t = lower.trim();
        if t.is_empty() {
            return;
        }
        if ["espnow", "esp-now", "esp_now", "esp now"]
            .iter()
            .any(|w| t.contains(w))
        {
            self.seen = true;
        }
        let asked = std::mem::take(&mut self.status_asked);
        let status = t.strip_prefix("last packet send status").map(str::trim);
        let said = match status {
            Some(rest) => rest.trim_start_matches([':', ' ', '\t']),
            None => t,
        };
        if status.is_some() && said.is_empty() {
            self.status_asked = true;
            return;
        }
        let named = status.is_some() || asked || self.seen;
        let Some(ok) = delivery(said, status.is_some() || asked).filter(|_| named) else {
            return;
        };
        if ok {
            self.delivered += 1;
        } else {
            self.failed += 1;
        }
        let quote: String = text.trim().chars().take(120).collect();
        self.last = Some((number, ok, quote));
    }

    /// The verdict when nothing else decided: the last delivery's.
    pub(crate) fn verdict(&self) -> Option<(Verdict, String)> {
        let (at, ok, quote) = self.last.as_ref()?;
        let total = self.delivered + self.failed;
        if *ok {
            let tally = if self.failed > 0 {
                format!(
                    " ({} of {total} sends delivered: a lossy link, but it works)",
                    self.delivered
                )
            } else {
                String::new()
            };
            return Some((
                Verdict::Pass,
                format!(
                    "line {at}: the last ESP-NOW packet was delivered: the peer acknowledged it \
                     (`{quote}`){tally}"
                ),
            ));
        }
        let how = if self.delivered == 0 {
            format!("none of {total} ESP-NOW sends was delivered")
        } else {
            format!(
                "the last ESP-NOW send failed ({} of {total} delivered before)",
                self.delivered
            )
        };
        Some((
            Verdict::Fault,
            format!(
                "line {at}: {how} (`{quote}`): no ACK came back from the peer, so the packet \
                 never reached it: the receiver is off or out of range, on another Wi-Fi \
                 channel than the sender, or the sketch sends to the wrong MAC address (a fault \
                 of the link, not an answer from the peer)"
            ),
        ))
    }
}

/// Whether a status line says delivered (`true`) or not (`false`). `status_line`: the line
/// (or the one before) is the callback's `Last Packet Send Status:`, where a bare `Success` or
/// `Fail` is enough.
fn delivery(said: &str, status_line: bool) -> Option<bool> {
    let s = said
        .trim_start_matches("espnow")
        .trim_start_matches("esp-now")
        .trim_start_matches([':', ' ', '\t', '-']);
    let first = s
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let starts = |w: &[&str]| w.iter().any(|p| s.starts_with(p));
    if starts(&["delivery fail", "send_failed", "send failed", "send_fail"])
        || (status_line && matches!(first, "fail" | "failed" | "failure" | "error"))
    {
        return Some(false);
    }
    if starts(&["delivery success", "delivery succeeded", "ack_ok", "ack ok"])
        || (status_line && matches!(first, "success" | "ok" | "delivered"))
    {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(log: &str) -> Option<(Verdict, String)> {
        let mut s = State::default();
        for (i, l) in log.lines().enumerate() {
            s.line(i + 1, l, &l.to_ascii_lowercase());
        }
        s.verdict()
    }

    #[test]
    fn the_last_delivery_decides() {
        let log = "ESPNOW: SEND_FAILED\n[SUCCESS] = 13/57 \nSend Command: Success 0\n\
                   ESPNOW: SEND_FAILED\nESPNOW: ACK_OK\n[SUCCESS] = 14/59 \n";
        let (v, why) = run(log).unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Pass, "{why}");
        assert!(why.contains("1 of 3 sends delivered"), "{why}");
        let log = "Last Packet Send Status:\tDelivery Success\nLast Packet Send Status: \
                   Delivery Fail\n";
        assert_eq!(run(log).map(|v| v.0), Some(Verdict::Fault));
        let log = "Last Packet Send Status: \nDelivery fail\nLast Packet Send Status: \n\
                   Delivery fail\n";
        let (v, why) = run(log).unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Fault);
        assert!(why.contains("none of 2 ESP-NOW sends"), "{why}");
        assert_eq!(
            run("Last Packet Send Status: Success\n").map(|v| v.0),
            Some(Verdict::Pass)
        );
    }

    #[test]
    fn other_send_words_are_not_deliveries() {
        // No ESP-NOW anywhere: another radio's or protocol's words.
        assert!(run("LoRa: SEND_FAILED\nsend failed, retrying\n").is_none());
        assert!(run("Delivery Success\n").is_none());
        // esp_now_send's return only says queued.
        assert!(run("ESP-NOW init\nSent with success\nSend Status: Success\n").is_none());
        // A status question answered by something else.
        assert!(run("Last Packet Send Status: pending\n").is_none());
    }
}
