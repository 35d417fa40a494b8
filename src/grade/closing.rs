//! What the end of the log decides when no line did. The end-of-log rules are one ordered list,
//! [`CLOSERS`]: each is asked in turn, and the first with a word decides. Without any, the run
//! timed out where it stalled.
//!
//! The order is the judgement: what the board last visibly went through beats what it said
//! earlier, and a job's own state beats the network's (a Wi-Fi failure that came after the app's
//! error explains it; one that came before does not).

use super::engine::Finality;
use super::{APP_ERROR_TAIL, End, Grader, Stage, Verdict, micropy, stops};

/// A verdict the end of the log gives, and the stage it failed in when it names one.
pub(super) struct Closing {
    verdict: Verdict,
    stage: Option<Stage>,
    reason: String,
}

impl Closing {
    fn fault(reason: String) -> Self {
        Self {
            verdict: Verdict::Fault,
            stage: None,
            reason,
        }
    }

    fn new(verdict: Verdict, reason: String) -> Self {
        Self {
            verdict,
            stage: None,
            reason,
        }
    }

    fn at(mut self, stage: Stage) -> Self {
        self.stage = Some(stage);
        self
    }
}

type Closer = fn(&mut Grader) -> Option<Closing>;

/// The end-of-log rules, in the order they are asked.
const CLOSERS: [Closer; 23] = [
    Grader::close_on_watchdog_boot,
    Grader::close_on_traceback_after_wifi,
    Grader::close_on_cut_traceback,
    Grader::close_on_link_down,
    Grader::close_on_previous_crash,
    Grader::close_on_ended_fault,
    Grader::close_on_mac_blocked,
    Grader::close_on_dump_body,
    Grader::close_on_wifi_after_app_error,
    Grader::close_on_at_stuck,
    Grader::close_on_at_host,
    Grader::close_on_app_error,
    Grader::close_on_job,
    Grader::close_on_last_word,
    Grader::close_on_micropython_join,
    Grader::close_on_wifi,
    Grader::close_on_flapping,
    Grader::close_on_no_address,
    Grader::close_on_no_rf_data,
    Grader::close_on_network_up,
    Grader::close_on_weak_pass,
    Grader::close_on_core_note,
    Grader::close_on_last_error,
];

impl Grader {
    /// Ask the end-of-log rules, when no line decided the run; else the run timed out.
    pub(super) fn close(&mut self, end: End) {
        // A crash report the log ended inside is a fault if nothing else decides.
        if let Some(reason) = self.told.ended_in_stack_block() {
            self.ended_fault.get_or_insert(reason);
        }
        // A 200 the firmware printed, whose body the log cut off mid-download, is no outcome.
        if !self.core.is_final
            && self
                .core
                .outcome
                .as_ref()
                .is_some_and(|o| o.verdict == Verdict::Pass)
            && let Some(reason) = self.raw_body.cut_short(self.splitter.count())
        {
            self.core.outcome = None;
            self.core.enter(Stage::Body, None);
            self.core
                .propose(Verdict::Timeout, None, reason, Finality::Now);
            return;
        }
        if self.core.outcome.is_some() {
            return;
        }
        self.ending = Some(end);
        let closing = CLOSERS
            .iter()
            .find_map(|closer| closer(self))
            .unwrap_or_else(|| {
                let reason = self.timeout_reason(end);
                Closing::new(Verdict::Timeout, reason)
            });
        if let Some(stage) = closing.stage {
            // Forward only: a profile without that stage stays where it was.
            self.core.enter(stage, None);
        }
        self.core
            .propose(closing.verdict, None, closing.reason, Finality::Now);
    }

    /// All the log shows is a boot out of a watchdog reset: the run before it hung.
    fn close_on_watchdog_boot(&mut self) -> Option<Closing> {
        let words = self.start_watchdog.as_ref()?;
        (self.core.current_name() == Stage::Boot.name()).then(|| {
            Closing::fault(format!(
                "the board came up from a watchdog reset ({words}): the firmware that ran before \
                 this log hung or crashed, and nothing after the boot says it recovered"
            ))
        })
    }

    /// A traceback cut off right after a Wi-Fi failure was most likely raised by it.
    fn close_on_traceback_after_wifi(&mut self) -> Option<Closing> {
        let (at, _) = self.py_trace.as_ref()?;
        if self.wifi_fail.last_failure().is_some_and(|n| n < *at) {
            self.close_on_wifi()
        } else {
            None
        }
    }

    fn close_on_cut_traceback(&mut self) -> Option<Closing> {
        let (at, frame) = self.py_trace.take()?;
        Some(Closing::fault(stops::cut_traceback_reason(
            at,
            frame.as_deref(),
            self.repl_last.as_deref(),
        )))
    }

    fn close_on_link_down(&mut self) -> Option<Closing> {
        self.link_down.clone().map(Closing::fault)
    }

    /// Firmware that reported a crash on its previous boot, and nothing decided since.
    fn close_on_previous_crash(&mut self) -> Option<Closing> {
        self.told.previous_crash().map(Closing::fault)
    }

    fn close_on_ended_fault(&mut self) -> Option<Closing> {
        self.ended_fault.clone().map(Closing::fault)
    }

    /// The ESP8266's Wi-Fi MAC blocked reception (`LmacRxBlk:1` over and over) up to the end.
    fn close_on_mac_blocked(&mut self) -> Option<Closing> {
        self.lmac
            .verdict()
            .map(|why| Closing::fault(why).at(Stage::Wifi))
    }

    /// The log shows a core dump's body without its header: the board crashed.
    fn close_on_dump_body(&mut self) -> Option<Closing> {
        self.dump_body.verdict().map(Closing::fault)
    }

    /// The last state decides: a Wi-Fi failure after the app's error explains it.
    fn close_on_wifi_after_app_error(&mut self) -> Option<Closing> {
        let (at, _) = self.app_error.as_ref()?;
        if self.wifi_fail.last_failure().is_some_and(|n| n >= *at) {
            self.close_on_wifi()
        } else {
            None
        }
    }

    /// ESP-AT answered `busy p...` to every command until the log ended.
    fn close_on_at_stuck(&mut self) -> Option<Closing> {
        let reason = self.at_stuck.stuck_reason()?;
        if self.profile == super::Profile::Auto && self.detected.is_none() {
            self.detected = Some(super::esp_at::PROFILE);
        }
        Some(Closing::fault(reason))
    }

    /// A host driving an ESP-AT module saw its commands fail.
    fn close_on_at_host(&mut self) -> Option<Closing> {
        let reason = self.at_host.reason()?;
        let stage = if self.at_host.join_failed() {
            Stage::Wifi
        } else {
            Stage::TlsConnect
        };
        Some(Closing::fault(reason).at(stage))
    }

    /// The app's own error, when the log ended soon after it.
    fn close_on_app_error(&mut self) -> Option<Closing> {
        let (at, reason) = self.app_error.as_ref()?;
        (self.splitter.count().saturating_sub(*at) <= APP_ERROR_TAIL)
            .then(|| Closing::fault(reason.clone()))
    }

    /// The app's job said how it ended (an update written, a request answered).
    fn close_on_job(&mut self) -> Option<Closing> {
        let (verdict, reason) = self.job.verdict(self.splitter.count(), APP_ERROR_TAIL)?;
        Some(Closing::new(verdict, reason))
    }

    /// ESP-NOW's last delivery, the board's web server's last answer, deep-sleep cycles.
    fn close_on_last_word(&mut self) -> Option<Closing> {
        let (verdict, reason) = self
            .espnow
            .verdict()
            .or_else(|| self.web.verdict())
            .or_else(|| self.sleep.verdict())?;
        Some(Closing::new(verdict, reason))
    }

    /// MicroPython joined the network and is at its prompt.
    fn close_on_micropython_join(&mut self) -> Option<Closing> {
        match &self.upy_joined {
            Some((at, ip, true)) => {
                Some(Closing::new(Verdict::Pass, micropy::joined_reason(*at, ip)))
            }
            _ => None,
        }
    }

    /// The station's last Wi-Fi state was a failure it never recovered from.
    fn close_on_wifi(&mut self) -> Option<Closing> {
        let reason = self.wifi_fail.verdict(self.splitter.count())?;
        Some(Closing::fault(reason).at(Stage::Wifi))
    }

    /// The board's own address was 0.0.0.0 when the log ended soon after: it never got one.
    fn close_on_no_address(&mut self) -> Option<Closing> {
        let (at, said) = self.no_address.as_ref()?;
        (self.splitter.count().saturating_sub(*at) <= APP_ERROR_TAIL).then(|| {
            Closing::fault(format!(
                "line {at}: the board's own address is 0.0.0.0 (`{said}`) and the log ends \
                 with no other: it never got an IP address (DHCP, or PPP's IPCP, got no \
                 answer, or a static address was not applied: with a W5500 or other SPI \
                 Ethernet, the address is set after the driver has started)"
            ))
        })
    }

    /// The ESP8266 SDK said its RF init data is blank, and nothing after shows the radio up.
    fn close_on_no_rf_data(&mut self) -> Option<Closing> {
        let at = self.no_rf_data?;
        Some(Closing::fault(format!(
            "line {at}: the ESP8266 SDK found no RF calibration data (`rf_cal[0] !=0x05,is \
             0x00`): the init-data sector near the flash's end (esp_init_data_default.bin, at \
             the flash size minus 16 KiB: 0x3FC000 on 4 MB) is blank or the flash size is set \
             wrong, so the radio does not start and nothing after shows it working; write \
             esp_init_data_default.bin there, or erase the flash and flash again"
        )))
    }

    /// A link that dropped again and again, down at the log's end.
    fn close_on_flapping(&mut self) -> Option<Closing> {
        self.flapping.verdict().map(Closing::fault)
    }

    /// Firmware whose visible job is the network, and the log ends with it up.
    fn close_on_network_up(&mut self) -> Option<Closing> {
        let reason = self.netup.verdict(self.splitter.count())?;
        Some(Closing::new(Verdict::Pass, reason).at(Stage::Wifi))
    }

    /// A weak outcome (a time sync, a join that is the firmware's whole job, a client of its
    /// API) that nothing took back, and no error line came after it.
    fn close_on_weak_pass(&mut self) -> Option<Closing> {
        let body = match &self.state {
            super::ProfileState::Https(s) => s.answered_body().map(|(at, first)| {
                (
                    at,
                    format!(
                        "the server answered: after `headers received` the sketch printed its \
                         body (`{first}`); the sketch prints no status, so a 2xx is not proven"
                    ),
                )
            }),
            _ => None,
        };
        let stage = body.as_ref().map(|_| Stage::Body);
        let pushed = self.told_pushed();
        let (at, why) = body
            .as_ref()
            .or(pushed.as_ref())
            .or(self.weak_pass.as_ref())?;
        if self.last_error.last_line().is_some_and(|e| e > *at) {
            return None;
        }
        let closing = Closing::new(
            Verdict::Pass,
            format!("line {at}: {why}; no error after it"),
        );
        Some(match stage {
            Some(stage) => closing.at(stage),
            None => closing,
        })
    }

    /// The log ends on a core error about a setting (`setSocketOption(): 1006 : 9`): no outcome,
    /// and no failure either (a later rule would read the error line as the run's fault).
    fn close_on_core_note(&mut self) -> Option<Closing> {
        self.recent_core_note()?;
        let end = self.ending.unwrap_or(End::Eof);
        Some(Closing::new(Verdict::Timeout, self.timeout_reason(end)))
    }

    /// The core note, when the log ended soon after it.
    pub(super) fn recent_core_note(&self) -> Option<&str> {
        let (at, note) = self.core_note.as_ref()?;
        (self.splitter.count().saturating_sub(*at) <= APP_ERROR_TAIL).then_some(note.as_str())
    }

    /// The last resort: an error line of firmware no rule knows, near the log's end.
    fn close_on_last_error(&mut self) -> Option<Closing> {
        let (verdict, reason) = self.last_error.verdict()?;
        Some(Closing::new(verdict, reason))
    }
}
