//! Why a run ended with no verdict: the stage it was in, and what that stage's silence most
//! likely means (no app, no Wi-Fi, no NTP, a handshake or a reply that never finished).

use super::{End, Grader, Profile, ProfileState, Stage};

impl Grader {
    pub(super) fn timeout_reason(&self, end: End) -> String {
        let stage = self.core.current_name();
        let idf = self.profile_name() == Profile::EspIdf.name();
        let hint = match Stage::from_name(stage) {
            Some(Stage::Boot) if idf => "; the app never started (no `app_main`, no app log line)",
            Some(Stage::Run) if idf => {
                "; the app ran with no error, crash or HTTP status, and nothing generic says an \
                 ESP-IDF app succeeded: give --pass REGEX for the line that means success"
            }
            Some(Stage::Boot) => {
                "; nothing the profile knows was printed (wrong --baud, --profile, or firmware?)"
            }
            Some(Stage::Wifi)
                if self.wifi_up
                    || matches!(&self.state, ProfileState::Https(s) if s.wifi_connected()) =>
            {
                "; the board joined the Wi-Fi network, then printed nothing the profile knows (it \
                 hung, or it is not the reference sketch: give --pass/--fail for its lines)"
            }
            Some(Stage::Wifi) => {
                "; the board never joined the Wi-Fi network (SSID/password, signal, 5 GHz-only AP?)"
            }
            Some(Stage::Time)
                if self
                    .core
                    .stage_detail(Stage::Time)
                    .is_some_and(|d| d != "waiting for NTP") =>
            {
                "; the clock was set, then the firmware printed nothing the profile knows"
            }
            Some(Stage::Time) => "; NTP never answered (is UDP port 123 blocked?)",
            Some(Stage::TlsConnect | Stage::Certificate) => "; the TLS handshake never finished",
            Some(Stage::Request | Stage::Headers) => "; the server never answered the request",
            Some(Stage::Body | Stage::Verdict) => "; the reply stopped mid-way",
            Some(Stage::Tests) => "; the test run never printed its summary",
            _ => "",
        };
        // A Wi-Fi stack that said why it could not join explains a run that got no further.
        let wifi = self
            .wifi_down
            .as_ref()
            .filter(|_| {
                matches!(
                    Stage::from_name(stage),
                    Some(Stage::Boot | Stage::Wifi | Stage::Run)
                )
            })
            .map(|(n, d)| match d.code {
                Some(code) => format!(
                    "; the board never joined the Wi-Fi network: line {n} says disconnect reason \
                     {code}, {}",
                    d.meaning
                ),
                None => format!(
                    "; the board never joined the Wi-Fi network: line {n} says why: {}",
                    d.meaning
                ),
            });
        let retried = self.core.retried.as_ref().map(|(n, why)| {
            format!("; an earlier attempt failed ({why}), and line {n} says a retry connected")
        });
        // The ROM loader in download mode runs no firmware: the profile's silence is its.
        let download = self
            .download_wait
            .as_ref()
            .filter(|_| Stage::from_name(stage) == Some(Stage::Boot))
            .map(|(n, mode)| {
                format!(
                    "; the chip is in download mode (line {n}: `{mode}`): the ROM loader waits \
                     for a flasher and no firmware runs (a boot strapping pin, GPIO0 or GPIO9, \
                     held low at reset, or the flasher's reset left it there: reset it with the \
                     pin released)"
                )
            });
        let unread = (Stage::from_name(stage) == Some(Stage::Boot) && !idf)
            .then(|| self.unread_output())
            .flatten();
        let hint = download
            .as_deref()
            .or(wifi.as_deref())
            .or(self.recent_core_note())
            .or(retried.as_deref())
            .or(unread.as_deref())
            .unwrap_or(hint);
        match end {
            End::Eof => format!("the log ended during {stage} before a verdict{hint}"),
            End::Deadline(d) => format!(
                "no verdict within {}: the board was in {stage}{hint}",
                crate::util::human_duration(d)
            ),
            End::Idle(d) => format!(
                "the board printed nothing for {} during {stage}{hint}",
                crate::util::human_duration(d)
            ),
            End::Interrupted => format!("interrupted during {stage}, before a verdict"),
            End::PortLost => format!("the serial port went away during {stage}, before a verdict"),
        }
    }

    /// Readable output after the last boot that no rule took as a step: firmware espcheck has
    /// no rules for, not a wrong baud rate (which prints garbage).
    fn unread_output(&self) -> Option<String> {
        let from = self.last_boot.map_or(0, |(line, _)| line);
        let lines = self.splitter.count().saturating_sub(from);
        let last = self.last_line.trim();
        // Garbage anywhere (a baud rate scan, a wrong rate) keeps the baud rate hint.
        let plain = last.len() >= 4 && last.bytes().all(|b| (0x20..0x7f).contains(&b));
        if lines < UNREAD_LINES || self.garbled > 0 || !plain {
            return None;
        }
        let last: String = last.chars().take(120).collect();
        Some(format!(
            "; the firmware printed {lines} lines after boot, none of which espcheck reads as a \
             step or an outcome (firmware it has no rules for: give --pass/--fail REGEX for the \
             lines that mean success or failure); its last line: `{last}`"
        ))
    }
}

/// Readable lines after boot that say the firmware runs, though no rule read them.
const UNREAD_LINES: usize = 5;
