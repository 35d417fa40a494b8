//! Deep-sleep cycles and quiet resets. A board that deep-sleeps restarts through the ROM at
//! every wake-up: ESP8266 ` ets Jan  8 2013,rst cause:5, boot mode:(3,6)` (or `rst cause:2` when
//! GPIO16 pulls the reset pin), ESP32 `rst:0x5 (DEEPSLEEP_RESET)`, the core's `Deep-Sleep
//! Wake` reason, or, at the sketch's baud rate, a line of garbage (the 74880-baud banner). Such
//! a banner is a wake-up, not a reboot, and a sketch that announces its sleep again after it is
//! a working cycle. A banner by the reset pin (`rst cause:2`) with nothing of the firmware
//! before it is someone's reset (the button, a monitor's DTR/RTS, a deep-sleep wire), no crash:
//! a crash prints its dump first.

//! A failure the sketch printed between its last wake-up and its last announcement (`Failed to
//! obtain time`, `HTTP GET failed`) is that cycle's job not done: the board went back to sleep
//! without it, and the cycle is no pass.

/// Lines after a sleep announcement within which a banner is that sleep's wake-up.
const WAKE_WITHIN: u32 = 4;

/// One run's sleeps and boots.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Lines of the firmware (not the ROM's, not empty) since the last banner.
    output: u32,
    /// Lines since the last sleep announcement, while within [`WAKE_WITHIN`].
    since_sleep: Option<u32>,
    /// A wake-up (a banner or the ROM's garbage) since the last announcement.
    woke: bool,
    /// Announcements, and those that came after a wake-up.
    announced: u32,
    cycles: u32,
    /// The last announcement: its line and text.
    last: Option<(usize, String)>,
    /// The first failure the sketch printed since the last wake-up (line, text).
    failure: Option<(usize, String)>,
    /// The failure of the cycle the last announcement closed.
    last_failed: Option<(usize, String)>,
}

impl State {
    /// Read one line (banners included; the engine calls [`State::booted`] for them too).
    /// `garbled`: the line splitter found it unreadable.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str, garbled: bool) {
        let t = lower.trim();
        if t.is_empty() || rom_line(t) {
            return;
        }
        // The ROM's banner at 74880 baud, read at the sketch's rate: a restart. What follows
        // its last unreadable byte is the sketch's again.
        let garbage = garbled || text.matches('\u{FFFD}').nth(3).is_some();
        self.output += 1;
        let said = if garbage {
            self.wake();
            text.rsplit('\u{FFFD}').next().unwrap_or("").trim()
        } else {
            text.trim()
        };
        // The sketch's own word that it woke (`Reset reason: Deep-Sleep Wake`, ESP32's
        // `Wakeup caused by timer`): a wake-up as a banner is, and no announcement.
        let woke = wake_line(t);
        if woke {
            self.wake();
        }
        let sleeps = if woke {
            false
        } else if garbage {
            said.to_ascii_lowercase().contains("sleep")
        } else {
            announces_sleep(t)
        };
        if !sleeps && !woke && self.failure.is_none() && failed(said) {
            self.failure = Some((number, said.chars().take(120).collect()));
        }
        if sleeps {
            if self.woke && self.announced > 0 {
                self.cycles += 1;
            }
            self.last_failed = self.failure.take();
            self.woke = false;
            self.announced += 1;
            self.since_sleep = Some(0);
            // Quote from the word on: bytes of the garbage may stick to it.
            let from = said.to_ascii_lowercase().find("sleep").filter(|_| garbage);
            let quote = from.and_then(|i| said.get(i..)).unwrap_or(said);
            self.last = Some((number, quote.chars().take(80).collect()));
        } else if let Some(n) = self.since_sleep.as_mut() {
            *n += 1;
            if *n > WAKE_WITHIN {
                self.since_sleep = None;
            }
        }
    }

    /// Whether a banner with `cause` is a wake-up from deep sleep: its cause says so, or it is
    /// the reset pin's right after the sketch said it goes to sleep.
    pub(crate) fn is_wake(&self, cause: &str) -> bool {
        wake_cause(cause) || (cause == "2" && self.since_sleep.is_some())
    }

    /// Whether a banner with `cause` is a reset by the pin with nothing of the firmware
    /// printed since the banner before: no crash, no run, someone's (or a wire's) reset.
    pub(crate) fn quiet_pin_reset(&self, cause: &str) -> bool {
        cause == "2" && self.output == 0
    }

    /// A banner was read.
    pub(crate) fn booted(&mut self) {
        self.output = 0;
        self.wake();
    }

    fn wake(&mut self) {
        if self.announced > 0 {
            self.woke = true;
        }
        self.failure = None;
        self.since_sleep = None;
    }

    /// The verdict when nothing else decided: the board slept and woke, and the sketch ran
    /// again after a wake-up (a pass), unless it printed a failure in its last cycle (a fault).
    pub(crate) fn verdict(&self) -> Option<(super::Verdict, String)> {
        if self.cycles == 0 {
            return None;
        }
        let (at, quote) = self.last.as_ref()?;
        if let Some((n, failure)) = &self.last_failed {
            return Some((
                super::Verdict::Fault,
                format!(
                    "line {n}: the board woke from deep sleep and the sketch ran, but in its last \
                     cycle it printed `{failure}` and went back to sleep (line {at}: `{quote}`) \
                     without doing that part of its job"
                ),
            ));
        }
        let times = if self.cycles == 1 {
            "once".to_owned()
        } else {
            format!("{} times", self.cycles)
        };
        Some((
            super::Verdict::Pass,
            format!(
                "line {at}: the deep-sleep cycle works: the board woke up {times} and the sketch \
                 ran and announced its sleep again each time (`{quote}`); the restarts between \
                 are wake-ups, not resets"
            ),
        ))
    }
}

/// Whether a sketch's line says something it tried failed: `Failed to obtain time`, `HTTP GET
/// failed, error: connection refused`, `Could not connect to MQTT`, `Error reading sensor`. Not a
/// count of none (`0 errors`), nor a framework's log line that narrates (`E (98) phy_comm: gpio[0]
/// number: 2 is reserved` says no failure word).
fn failed(said: &str) -> bool {
    let lower = said.to_ascii_lowercase();
    if [
        "no error",
        "0 error",
        "errors: 0",
        "error: 0",
        "without error",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return false;
    }
    let words = lower.split(|c: char| !c.is_ascii_alphanumeric());
    let word = words.clone().any(|w| {
        matches!(
            w,
            "failed" | "fail" | "failure" | "error" | "unable" | "couldn" | "cannot"
        )
    });
    word || lower.contains("could not")
}

/// Whether a ROM banner's reset cause is a deep-sleep wake-up: ESP8266 `rst cause:5`, ESP32
/// `DEEPSLEEP_RESET`, newer chips' `DSLEEP`.
pub(crate) fn wake_cause(cause: &str) -> bool {
    cause == "5" || cause.contains("DEEPSLEEP") || cause.contains("DSLEEP")
}

/// Whether a sketch's line says the board woke from deep sleep: the ESP8266 core's reset
/// reason `Deep-Sleep Wake`, ESP32's `Wakeup caused by timer` (`esp_sleep_get_wakeup_cause`).
fn wake_line(t: &str) -> bool {
    [
        "deep-sleep wake",
        "deep sleep wake",
        "deepsleep wake",
        "wakeup caused by",
        "wake up caused by",
        "woke up from deep sleep",
        "woke from deep sleep",
        "wake from deep sleep",
        "waking up from deep sleep",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The ROM's own lines around a banner: ESP8266 `load 0x4010f000, len 1384, room 16`, `tail 8`,
/// `chksum 0x2d`, `csum 0x2d`, `v8b899c12`, `~ld`; ESP32 `configsip: 0, SPIWP:0xee`,
/// `mode:DIO, clock div:1`, `entry 0x400805f0`, `load:0x3fff0018,len:4`; the banner itself.
fn rom_line(t: &str) -> bool {
    let version =
        t.len() == 9 && t.starts_with('v') && t[1..].chars().all(|c| c.is_ascii_hexdigit());
    version
        || t == "~ld"
        || t.contains("rst cause:")
        || t.contains("rst:0x")
        || t.contains("boot mode:")
        || t == "wdt reset"
        || [
            "ets ",
            "load 0x",
            "load:0x",
            "tail ",
            "chksum ",
            "csum ",
            "ho 0 tail",
            "configsip:",
            "clk_drv:",
            "mode:dio",
            "mode:qio",
            "mode:dout",
            "mode:qout",
            "entry 0x",
            "esp-rom:",
            "build:",
            "spiwp:",
            "boot:0x",
        ]
        .iter()
        .any(|p| t.starts_with(p))
}

/// Whether a sketch's line says it goes to deep sleep: `Going to sleep now`, `Entering deep
/// sleep for 10 s`, `ESP8266 in sleep mode`, a countdown `Sleep.... 2`. Not Wi-Fi's modem or
/// light sleep, nor a setting's name.
fn announces_sleep(t: &str) -> bool {
    if [
        "light sleep",
        "light-sleep",
        "modem sleep",
        "modem-sleep",
        "wifi sleep",
        "sleep mode:",
        "setsleep",
        "no sleep",
        "sleep disabled",
    ]
    .iter()
    .any(|w| t.contains(w))
    {
        return false;
    }
    let t = t.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    t.starts_with("sleep")
        || [
            "deep sleep",
            "deep-sleep",
            "deepsleep",
            "going to sleep",
            "go to sleep",
            "goes to sleep",
            "entering sleep",
            "enter sleep",
            "sleeping for",
            "sleep for ",
            "in sleep mode",
            "sleep now",
        ]
        .iter()
        .any(|w| t.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(log: &str) -> State {
        let mut s = State::default();
        for (i, l) in log.lines().enumerate() {
            let lower = l.to_ascii_lowercase();
            s.line(i + 1, l, &lower, false);
            if lower.contains("rst cause:") {
                s.booted();
            }
        }
        s
    }

    #[test]
    fn a_sketch_that_sleeps_again_after_each_wake_is_a_cycle() {
        let garbage = "\u{FFFD}\u{FFFD}d\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}";
        let log = format!(
            "tail 0 \nch{garbage}bbSleep.... 2 \nSleep.... 1 \n{garbage}bSleep.... 2 \n\
             Sleep.... 1 \nb{garbage}Sleep.."
        );
        let s = run(&log);
        let why = s.verdict().map(|(_, why)| why).unwrap_or_default();
        assert!(why.contains("woke up 2 times"), "{why}");
        assert!(why.contains("(`Sleep..`)"), "{why}");
        let s = run(
            "Going into deep sleep for 10 seconds\n\n ets Jan  8 2013,rst cause:5, \
                     boot mode:(3,6)\n\nload 0x4010f000, len 1384, room 16\nBoot number: 2\n\
                     Going into deep sleep for 10 seconds\n",
        );
        assert!(s.verdict().is_some());
        assert!(wake_cause("DEEPSLEEP_RESET") && wake_cause("5") && !wake_cause("2"));
        // No banner at all, only the core's reset reason after each wake.
        let s = run(
            "Going to sleep\nReset reason: Deep-Sleep Wake\nGoing to sleep\n\
                     Reset reason: Deep-Sleep Wake\nGoing to sleep\n",
        );
        let why = s.verdict().map(|(_, why)| why).unwrap_or_default();
        assert!(why.contains("woke up 2 times"), "{why}");
        // The wake line itself is no announcement.
        let s = run("Reset reason: Deep-Sleep Wake\nReset reason: Deep-Sleep Wake\n");
        assert!(s.verdict().is_none());
    }

    #[test]
    fn a_failure_in_the_last_cycle_is_no_pass() {
        let cycle = |middle: &str| {
            format!(
                "Starting deep-sleep period...\n ets Jan  8 2013,rst cause:5, boot mode:(3,6)\n\
                 load 0x4010f000, len 1384, room 16\nConnecting to: ssid\n\
                 E (98) phy_comm: gpio[0] number: 2 is reserved\n\
                 WiFi connected at: 192.168.1.20\n{middle}\nStarting deep-sleep period...\n"
            )
        };
        for failure in [
            "Failed to obtain time",
            "HTTP GET failed, error: connection refused",
            "Could not connect to MQTT broker",
            "Error reading DHT sensor!",
        ] {
            let s = run(&cycle(failure));
            let (v, why) = s
                .verdict()
                .unwrap_or_else(|| panic!("no verdict: {failure}"));
            assert_eq!(v, crate::grade::Verdict::Fault, "{failure}");
            assert!(why.contains(failure), "{why}");
        }
        for fine in [
            "Time: 12:30:01",
            "0 errors, 3 readings",
            "Upload done, no error",
        ] {
            let s = run(&cycle(fine));
            let v = s.verdict().map(|(v, _)| v);
            assert_eq!(v, Some(crate::grade::Verdict::Pass), "{fine}");
        }
        // A failure in an earlier cycle, with the last one clean, is a pass.
        let s = run(&format!(
            "{}{}",
            cycle("Failed to obtain time"),
            cycle("Time: 12:30:01").replacen("Starting deep-sleep period...\n", "", 1)
        ));
        assert_eq!(
            s.verdict().map(|(v, _)| v),
            Some(crate::grade::Verdict::Pass)
        );
    }

    #[test]
    fn sleep_words_without_a_wake_are_no_cycle() {
        // Announced twice, never restarted; and Wi-Fi's modem sleep.
        assert!(run("Going to sleep\nGoing to sleep\n").verdict().is_none());
        assert!(
            run(
                "WiFi modem sleep on\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n\
                 WiFi modem sleep on\n"
            )
            .verdict()
            .is_none()
        );
        assert!(!announces_sleep("wifi.setsleep(false)"));
        assert!(!announces_sleep("light sleep enabled"));
    }

    #[test]
    fn a_pin_reset_is_quiet_only_with_nothing_printed() {
        let s = run(
            " ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n\nload 0x4010f000, len 1384, \
                     room 16\ntail 8\nchksum 0x2d\ncsum 0x2d\nv8b899c12\n~ld\n",
        );
        assert!(s.quiet_pin_reset("2"));
        assert!(!s.quiet_pin_reset("4"));
        let s = run(" ets Jan  8 2013,rst cause:2, boot mode:(3,6)\nHello from setup\n");
        assert!(!s.quiet_pin_reset("2"));
        // The reset pin right after the sketch said it sleeps: a wake-up.
        let s = run("Going to sleep now\n");
        assert!(s.is_wake("2"));
        assert!(!run("Reading sensor\n").is_wake("2"));
    }

    fn auto(log: &str) -> crate::grade::Report {
        use crate::grade::{GradeConfig, Profile, grade_bytes};
        grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
    }

    #[test]
    fn the_engine_reads_wake_ups_as_no_reboot() {
        use crate::grade::Verdict;
        let banner = |cause: &str| {
            format!(
                " ets Jan  8 2013,rst cause:{cause}, boot mode:(3,6)\n\nload 0x4010f000, len \
                 1384, room 16\ntail 8\nchksum 0x2d\ncsum 0x2d\nv8b899c12\n~ld\n"
            )
        };
        // ESP32's DeepSleep example: every wake is a DEEPSLEEP_RESET banner.
        let cycle = "rst:0x5 (DEEPSLEEP_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
                     configsip: 0, SPIWP:0xee\nmode:DIO, clock div:1\nentry 0x400805f0\n\
                     Boot number: 2\nWakeup caused by timer\n\
                     Setup ESP32 to sleep for every 5 Seconds\nGoing to sleep now\n";
        let r = auto(&format!(
            "Boot number: 1\nGoing to sleep now\n{cycle}{cycle}{cycle}"
        ));
        assert_eq!(r.verdict, Verdict::Pass, "{}", r.reason);
        assert!(r.reason.contains("deep-sleep cycle"), "{}", r.reason);
        // Banners by the reset pin with nothing of the firmware: no verdict, not a fault.
        let r = auto(&format!("{}{}{}", banner("2"), banner("2"), banner("2")));
        assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
        // The same banners with the sketch's output between: reboots, as before.
        let r = auto(&format!(
            "{}Connecting to WiFi\n{}Connecting to WiFi\n{}Connecting to WiFi\n",
            banner("2"),
            banner("2"),
            banner("2")
        ));
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        // The hardware watchdog is never someone's reset.
        let r = auto(&format!("{}{}", banner("4"), banner("4")));
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    }
}
