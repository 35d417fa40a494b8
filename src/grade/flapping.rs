//! A connection that keeps dropping: `** Disconnected from the broker **`, `Reconnecting to
//! MQTT...`, again and again, in firmware no rule knows (an example sketch, a Socket.IO or
//! CircuitPython loop, an app's own `[WiFi] Connection lost`). When the log ends with the link
//! down after it dropped more than once and the firmware tried again between, the board never
//! kept its connection: a fault, however busily it retries. One drop and a reconnect is a
//! retry; a link that came back up, or a server's clients leaving (`[1] Disconnected!` with no
//! attempt to connect), is not this.
//!
//! A link that came back up can still be flapping: when it was up and dropped again within a
//! few lines, three times or more (`Success connected`, `Disconnected = TCP_DISCONNECTED (0)`,
//! over and over), the last reconnect is one more turn of the loop, not a recovery. A link that
//! stayed up for a while before each drop is a firmware that reconnects, as it should.

/// Drops of the link before the log ends down, for it to count as dropping again and again.
const DROPS: usize = 2;

/// Times an established link dropped soon after it came up, for a log that ends with it up
/// again to count as flapping.
const SHORT_LIVED: usize = 3;

/// Lines a link may stay up before it drops and still count as dropping soon after it came up.
const SHORT_LIFE: usize = 6;

/// A link's drops: since it was last up, and over the whole log.
#[derive(Debug, Default)]
pub(crate) struct Flapping {
    since_up: SinceUp,
    /// Up and down over the whole log: see [`Cycles`].
    cycles: Cycles,
}

/// The drops since the link was last up.
#[derive(Debug, Default)]
struct SinceUp {
    /// The first drop since the link was last up: its line number and its text.
    first: Option<(usize, String)>,
    drops: usize,
    /// Whether the firmware tried to connect again after the first drop.
    retried: bool,
}

/// An established link's short lives: the line it last came up on, and the drops that came
/// soon after an up (the first of them, and how many in a row).
#[derive(Debug, Default)]
struct Cycles {
    up_since: Option<usize>,
    first: Option<(usize, String)>,
    short: usize,
}

impl Cycles {
    fn up(&mut self, number: usize) {
        self.up_since.get_or_insert(number);
    }

    fn dropped(&mut self, number: usize, text: &str) {
        let Some(since) = self.up_since.take() else {
            return;
        };
        if number.saturating_sub(since) <= SHORT_LIFE {
            self.short += 1;
            self.first
                .get_or_insert_with(|| (number, text.trim().to_owned()));
        } else {
            // It stayed up a while: a firmware that reconnects after a drop, not a loop.
            *self = Self::default();
        }
    }
}

impl Flapping {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        // The Wi-Fi rules read the station's own drops; a trace is not an event.
        if super::wifi::about_wifi(lower) || super::lasterror::trace_level(text) {
            return;
        }
        let s = &mut self.since_up;
        if dropped(lower) {
            self.cycles.dropped(number, text);
            // `Connecting... Disconnecting...` on one line: an attempt, then its drop.
            s.retried |= s.first.is_some() && attempt(&lower.replace("disconnect", ""));
            s.drops += 1;
            s.first
                .get_or_insert_with(|| (number, text.trim().to_owned()));
        } else if up(lower) {
            *s = SinceUp::default();
            self.cycles.up(number);
        } else if s.first.is_some() {
            s.retried |= attempt(lower);
        }
    }

    /// Why the log ends with a link that kept dropping, if it does.
    pub(crate) fn verdict(&self) -> Option<String> {
        self.down_at_the_end()
            .or_else(|| self.up_again_at_the_end())
            .or_else(|| self.down_after_short_lives())
    }

    /// Up and down, soon after each up, again and again, and down at the log's end (an
    /// Ethernet link whose PHY drops it each time, with no attempt lines: it comes back alone).
    fn down_after_short_lives(&self) -> Option<String> {
        let c = &self.cycles;
        let (at, said) = c.first.as_ref().filter(|_| c.short >= SHORT_LIVED)?;
        // A server's clients that come and go (`Ser2Net: Client disconnected!`) are theirs.
        if said.to_ascii_lowercase().contains("client") {
            return None;
        }
        self.since_up.first.as_ref()?;
        Some(format!(
            "line {at}: the connection died soon after it came up, {} times in a row (`{said}`, \
             each within {SHORT_LIFE} lines of coming up), and the log ends with it down (a \
             cable, switch port or PHY that drops the link, its clock or power, or a server \
             that closes it at once)",
            c.short
        ))
    }

    fn up_again_at_the_end(&self) -> Option<String> {
        let c = &self.cycles;
        let (at, said) = c.first.as_ref().filter(|_| c.short >= SHORT_LIVED)?;
        c.up_since?;
        Some(format!(
            "line {at}: the connection keeps dropping soon after it comes up: `{said}`, {} \
             times in a row, each within {SHORT_LIFE} lines of connecting; it is up again at \
             the log's end, but that is one more turn of the loop, not a recovery (the server \
             or broker closing it: a client ID another client also uses, a keep-alive or \
             subscription it refuses, or a weak link)",
            c.short
        ))
    }

    fn down_at_the_end(&self) -> Option<String> {
        let s = &self.since_up;
        let (at, said) = s.first.as_ref().filter(|_| s.drops >= DROPS && s.retried)?;
        Some(format!(
            "line {at}: the connection kept dropping and the log ends with it down: `{said}` \
             and {} more drop{} after it, with no line saying it was up again (the firmware \
             retries, but never keeps the connection: the server or broker closing it, a \
             client ID or keep-alive clash, or a weak link)",
            s.drops - 1,
            if s.drops == 2 { "" } else { "s" }
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
    .any(|w| lower.contains(w))
        // Mongoose OS's MQTT event handler: `ev_handler           MQTT Disconnect`.
        || lower.trim_end().ends_with("mqtt disconnect");
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
    // arduino-esp32's ETH examples: `ETH MAC: 30:AE:…, IPv4: 192.168.0.90, FULL_DUPLEX`.
    let address = lower.split_once("ipv4: ").is_some_and(|(_, a)| {
        let a = a.split([',', ' ']).next().unwrap_or("");
        a.split('.').count() == 4 && a != "0.0.0.0" && a.split('.').all(|o| o.parse::<u8>().is_ok())
    });
    rest.contains("connected") || rest.contains("got ip") || address
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
    fn mongoose_oss_mqtt_connect_and_disconnect_loop() {
        let why = grade(&[
            "mqtt_global_connect  MQTT connecting to x.iot.us-east-1.amazonaws.com:8883",
            "ev_handler           MQTT Connect (1)",
            "ev_handler           MQTT Disconnect",
            "mqtt_global_connect  MQTT connecting to x.iot.us-east-1.amazonaws.com:8883",
            "ev_handler           MQTT Connect (1)",
            "ev_handler           MQTT Disconnect",
        ])
        .unwrap_or_default();
        assert!(
            why.contains("`ev_handler           MQTT Disconnect`"),
            "{why}"
        );
    }

    #[test]
    fn a_link_that_dies_soon_after_each_up_and_ends_down() {
        let came = "ETH MAC: 30:AE:A4:1B:C1:FF, IPv4: 192.168.0.90, FULL_DUPLEX, 100Mbps";
        let mut lines = vec!["ETH Started"];
        for _ in 0..3 {
            lines.extend([came, came, "ETH Disconnected"]);
        }
        let why = grade(&lines).unwrap_or_default();
        assert!(
            why.contains("3 times in a row (`ETH Disconnected`"),
            "{why}"
        );
        // Twice is a link that reconnects; an address of 0.0.0.0 is not up.
        assert_eq!(grade(&lines[..7]), None);
        let zero = "ETH MAC: 30:AE:A4:1B:C1:FF, IPv4: 0.0.0.0, FULL_DUPLEX";
        assert!(!up(&zero.to_ascii_lowercase()));
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
    fn a_link_that_drops_soon_after_each_connect_is_flapping_even_when_up_at_the_end() {
        let mut lines = Vec::new();
        for _ in 0..3 {
            lines.extend([
                "[MQTT] connection: Success connected",
                "[MQTT] subscribing: Subscribed",
                "[MQTT] connection: Disconnected = TCP_DISCONNECTED (0)",
            ]);
        }
        lines.push("[MQTT] connection: Success connected");
        let why = grade(&lines).unwrap_or_default();
        assert!(
            why.contains("line 3: ")
                && why.contains("3 times in a row")
                && why.contains("up again"),
            "{why}"
        );
        // Twice is a reconnect or two, not a loop.
        assert_eq!(grade(&lines[3..]), None);
    }

    #[test]
    fn a_link_that_stays_up_a_while_between_drops_is_a_firmware_that_reconnects() {
        let mut lines = Vec::new();
        for _ in 0..4 {
            lines.push("MQTT connected");
            lines.extend(["Published temperature 21.5"; 8]);
            lines.push("MQTT disconnected, reconnecting");
        }
        lines.push("MQTT connected");
        assert_eq!(grade(&lines), None);
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
