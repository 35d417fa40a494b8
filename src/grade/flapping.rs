//! A connection that keeps dropping: `** Disconnected from the broker **`, `Reconnecting to
//! MQTT...`, again and again, in firmware no rule knows (an example sketch, a Socket.IO or
//! CircuitPython loop, an app's own `[WiFi] Connection lost`). When the log ends with the link
//! down after it dropped more than once and the firmware tried again between, the board never
//! kept its connection: a fault, however busily it retries. One drop and a reconnect is a
//! retry; a link that came back up, or a server's clients leaving (`[1] Disconnected!` with no
//! attempt to connect), is not this.

/// Drops of the link before the log ends down, for it to count as dropping again and again.
const DROPS: usize = 2;

/// The drops since the link was last up.
#[derive(Debug, Default)]
pub(crate) struct Flapping {
    /// The first drop since the link was last up: its line number and its text.
    first: Option<(usize, String)>,
    drops: usize,
    /// Whether the firmware tried to connect again after the first drop.
    retried: bool,
}

impl Flapping {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        // The Wi-Fi rules read the station's own drops; a trace is not an event.
        if super::wifi::about_wifi(lower) || super::lasterror::trace_level(text) {
            return;
        }
        if dropped(lower) {
            // `Connecting... Disconnecting...` on one line: an attempt, then its drop.
            self.retried |= self.first.is_some() && attempt(&lower.replace("disconnect", ""));
            self.drops += 1;
            self.first
                .get_or_insert_with(|| (number, text.trim().to_owned()));
        } else if up(lower) {
            *self = Self::default();
        } else if self.first.is_some() {
            self.retried |= attempt(lower);
        }
    }

    /// Why the log ends with a link that kept dropping, if it does.
    pub(crate) fn verdict(&self) -> Option<String> {
        let (at, said) = self
            .first
            .as_ref()
            .filter(|_| self.drops >= DROPS && self.retried)?;
        Some(format!(
            "line {at}: the connection kept dropping and the log ends with it down: `{said}` \
             and {} more drop{} after it, with no line saying it was up again (the firmware \
             retries, but never keeps the connection: the server or broker closing it, a \
             client ID or keep-alive clash, or a weak link)",
            self.drops - 1,
            if self.drops == 2 { "" } else { "s" }
        ))
    }
}

/// A line saying the link went down: `Disconnected!`, `** Disconnected from the broker **`,
/// `Connection lost`, `Disconnecting...`. Not one saying it was not found or ignored.
fn dropped(lower: &str) -> bool {
    let said = [
        "disconnected",
        "disconnecting",
        "connection lost",
        "lost connection",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let not_a_drop = ["not found", "ignored", "not disconnected", "no event"]
        .iter()
        .any(|w| lower.contains(w));
    said && !not_a_drop
}

/// A line saying the firmware tries to connect again.
fn attempt(lower: &str) -> bool {
    ["connecting", "reconnect", "retry"]
        .iter()
        .any(|w| lower.contains(w))
}

/// A line saying the link is up: `Connected to url: …`, `Success connected`, `Got IP`.
fn up(lower: &str) -> bool {
    let rest = lower
        .replace("disconnected", "")
        .replace("not connected", "");
    rest.contains("connected") || rest.contains("got ip")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(lines: &[&str]) -> Option<String> {
        let mut f = Flapping::default();
        for (i, l) in lines.iter().enumerate() {
            f.line(i + 1, l, &l.to_ascii_lowercase());
        }
        f.verdict()
    }

    #[test]
    fn a_link_that_keeps_dropping_until_the_end() {
        let why = grade(&[
            "Connecting to MQTT...",
            "** Disconnected from the broker **",
            "Reconnecting to MQTT...",
            "** Disconnected from the broker **",
            "Reconnecting to MQTT...",
        ])
        .unwrap_or_default();
        assert!(
            why.contains("line 2: ") && why.contains("`** Disconnected from the broker **`"),
            "{why}"
        );
        let why = grade(&[
            "Connecting... Disconnecting...",
            "Connecting... Disconnecting...",
            "Co",
        ])
        .unwrap_or_default();
        assert!(why.contains("1 more drop after"), "{why}");
    }

    #[test]
    fn one_drop_or_a_link_that_came_back_is_not_it() {
        for lines in [
            &["Disconnected!", "Reconnecting..."][..],
            &[
                "Disconnected!",
                "Disconnected!",
                "[SIoC] Connected to url: /socket.io/",
            ][..],
            &[
                "event disconnected not found",
                "event disconnected not found",
            ][..],
            &["MQTT not connected", "MQTT not connected"][..],
            // A web socket server's clients leaving; the station's own Wi-Fi; a debug trace.
            &["[1] Disconnected!", "[0] Disconnected!"][..],
            &[
                "[WiFi] Connection lost",
                "Connecting",
                "[WiFi] Connection lost",
            ][..],
            &[
                "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: 0, ERR: 128",
                "reconnecting",
                "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: 0, ERR: 128",
            ][..],
        ] {
            assert_eq!(grade(lines), None, "{lines:?}");
        }
    }
}
