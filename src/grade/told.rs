//! What firmware tells about itself in its own words, read between the crash rules and the
//! connection rules: a crash handler's report of the previous boot ([`super::prevcrash`]), an
//! update pushed to the board that completed and the reboot it asked for
//! ([`super::pushota`]), an MQTT broker's CONNACK refusal ([`super::connack`]), a Firebase
//! library's connection errors ([`super::firebase`]), the ESP8266 ROM's bare `wdt reset` and a status code printed bare before its
//! body ([`super::barestatus`]).

use super::engine::Finality;
use super::model::Verdict;
use super::{Grader, barestatus, connack, firebase, prevcrash, pushota, tasmota};

/// The state those lines need across lines.
#[derive(Debug, Default)]
pub(super) struct Told {
    prev_crash: Option<prevcrash::Report>,
    /// An update is being received (ArduinoOTA's `Progress: 42%`).
    receiving: bool,
    /// A pushed update completed (line, its words) and its reboot has not been seen.
    pushed: Option<(usize, String)>,
    /// The reboot after a completed update was announced: the next boot banner is that reboot.
    rebooting: bool,
    /// A bare status code waiting for its body (line, code).
    bare: Option<(usize, u16)>,
    /// Tasmota's `STATUS12` stack block (the previous boot's crash).
    stk: tasmota::Stk,
}

/// The ESP8266 ROM's `wdt reset`, alone on its line (the hardware watchdog reset the chip).
/// Not the core's `Soft WDT reset`, a crash with its own dump.
fn rom_wdt_reset(text: &str) -> bool {
    text.trim() == "wdt reset"
}

impl Told {
    /// The log ended inside Tasmota's stack block: the previous boot's crash it reports.
    pub(super) fn ended_in_stack_block(&mut self) -> Option<String> {
        self.stk.finish()
    }

    /// The crash the firmware reported from its previous boot, in full.
    pub(super) fn previous_crash(&self) -> Option<String> {
        self.prev_crash.as_ref().map(prevcrash::Report::reason)
    }
}

impl Grader {
    /// Read one line; whether it decided or belongs to a report no other rule should read.
    pub(super) fn told_line(&mut self, number: usize, text: &str, lower: &str) -> bool {
        let open = self.core.outcome.is_none() || self.core.attempt_failed;
        if rom_wdt_reset(text) && !self.prev_line.contains("rst cause:4") {
            // The ESP8266 ROM's line after a `rst cause:4` banner, pasted without it.
            self.on_boot("4", text);
            return true;
        }
        if let Some(r) = prevcrash::Report::starts(number, text) {
            self.ended_fault.get_or_insert(r.reason());
            self.told.prev_crash = Some(r);
            self.mqtt.withdraw(&mut self.core);
            return true;
        }
        if let Some(r) = self.told.prev_crash.as_mut()
            && r.detail(text)
        {
            return true;
        }
        if let Some(reason) = self.told.stk.line(number, text) {
            self.ended_fault.get_or_insert(reason);
            self.mqtt.withdraw(&mut self.core);
            return true;
        }
        if pushota::progress(lower) {
            self.told.receiving = true;
        }
        if let Some(why) = pushota::failed(text, self.told.receiving) {
            self.told.receiving = false;
            let reason = format!("line {number}: {why}");
            self.core
                .propose(Verdict::Fail, None, reason, Finality::AfterLines(40));
            return true;
        }
        if let Some(said) = pushota::completed(text, self.told.receiving) {
            self.told.receiving = false;
            self.told.pushed = Some((number, said));
            if !pushota::reboot(lower) {
                return true;
            }
        }
        if pushota::reboot(lower)
            && let Some((at, said)) = self.told.pushed.take()
        {
            self.told.rebooting = true;
            if open {
                let reason = format!(
                    "line {at}: the update pushed to the board completed ({said}) and it reboots \
                     into the new firmware as asked (line {number})"
                );
                self.core
                    .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
            }
            return true;
        }
        if let Some(why) = connack::refused(lower) {
            let reason = format!("line {number}: {why}");
            self.core
                .propose(Verdict::Fail, None, reason, Finality::Now);
            return true;
        }
        if let Some(why) = firebase::no_connection(text) {
            // The stream's timeout after the library's own `not connected` says less than it.
            let timeout = why.starts_with(firebase::STREAM_TIMEOUT);
            match &mut self.app_error {
                Some((at, earlier)) if timeout && earlier.contains("Firebase") => *at = number,
                _ => self.app_error = Some((number, why)),
            }
        }
        if let Some(code) = barestatus::code(text) {
            self.told.bare = Some((number, code));
        } else if let Some((at, code)) = self.told.bare {
            if number > at + barestatus::WITHIN {
                self.told.bare = None;
            } else if open && barestatus::confirms(code, lower) {
                self.told.bare = None;
                let (verdict, why) = barestatus::verdict(code, at, text);
                let finality = if verdict == Verdict::Pass {
                    Finality::AfterLines(40)
                } else {
                    Finality::Now
                };
                self.core
                    .propose(verdict, None, format!("line {number}: {why}"), finality);
                return true;
            }
        }
        false
    }

    /// A pushed update that completed, its reboot not in the log (which ends first): where,
    /// and what the firmware said.
    pub(super) fn told_pushed(&self) -> Option<(usize, String)> {
        self.told.pushed.as_ref().map(|(at, said)| {
            (
                *at,
                format!(
                    "the update pushed to the board completed ({said}); the log ends before \
                     the reboot into it"
                ),
            )
        })
    }

    /// A line of garbage right after a pushed update completed: the ESP8266 ROM's banner at
    /// 74880 baud, read at the sketch's baud rate, is the reboot into the new firmware.
    pub(super) fn told_garbled_boot(&mut self) {
        if self.told.pushed.is_some() {
            self.told_boot();
        }
    }

    /// A boot banner: whether it is the reboot a completed update asked for (then the new
    /// firmware starts afresh, and its boot is no fault).
    pub(super) fn told_boot(&mut self) -> bool {
        let announced = std::mem::take(&mut self.told.rebooting);
        let pushed = self.told.pushed.take();
        if !announced && pushed.is_none() {
            return false;
        }
        // ArduinoOTA's `End` restarts the ESP8266 with no word: the banner is the reboot.
        if let Some((at, said)) = pushed
            && (self.core.outcome.is_none() || self.core.attempt_failed)
        {
            let reason = format!(
                "line {at}: the update pushed to the board completed ({said}) and it rebooted \
                 into the new firmware (line {})",
                self.core.line
            );
            self.core
                .propose(Verdict::Pass, None, reason, Finality::AfterLines(40));
        }
        self.boots = 0;
        self.start_banner = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::{GradeConfig, Profile, grade_bytes};
    use super::*;

    fn grade(log: &str) -> (Verdict, u8, String) {
        let r = grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes());
        (r.verdict, r.exit_code, r.reason)
    }

    #[test]
    fn arduino_otas_end_then_the_roms_banner_at_the_wrong_baud_is_the_update_done() {
        let (v, exit, why) = grade(
            "Ready\nIP address: 172.16.0.24\nStart\nProgress: 99%\nProgress: 100%\nEnd\n\
             H\u{2592}\u{2592}\u{485}\u{2592}\u{2592}D\u{2592}J\u{2592}\u{2592}Booting\nReady\nIP address: 172.16.0.24\n",
        );
        assert_eq!((v, exit), (Verdict::Pass, 0), "{why}");
        assert!(why.contains("`End`") && why.contains("rebooted"), "{why}");
    }

    #[test]
    fn firmware_in_its_own_words() {
        for (log, verdict, exit, word) in [
            // ESPHome's crash handler, host-tool lines between its lines.
            (
                "INFO Successful handshake with neato @ 192.168.22.57 in 0.096s\n\
                 [13:53:35.286][E][esp32.crash:404]: *** CRASH DETECTED ON PREVIOUS BOOT ***\n\
                 [13:53:35.415][E][esp32.crash:407]:   Reason: Fault - LoadProhibited (cause 28)\n\
                 INFO Checking ESP-IDF 5.5.5 framework ...\n\
                 [13:53:35.926][E][esp32.crash:422]:   EXCVADDR: 0x0000000C  (faulting address)\n\
                 [13:53:36.001][I][app:100]: ESPHome version 2026.8.0\n",
                Verdict::Fault,
                5,
                "LoadProhibited",
            ),
            // ArduinoOTA's example, then the ESP8266's restart into the new sketch.
            (
                "Start updating sketch\nProgress: 50%\nProgress: 100%\nEnd\n\n \
                 ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n\nload 0x4010f000, len 1384, room 16\n",
                Verdict::Pass,
                0,
                "`End`",
            ),
            // Tasmota's upgrade.
            (
                "00:01:10 UPG: Progress 100 kB\n00:01:12 RSLT: Upgrade = Successful. Restarting\n",
                Verdict::Pass,
                0,
                "Upgrade = Successful",
            ),
            // The ESP8266 ROM's `wdt reset`, alone and after its banner.
            (
                "wdt reset\nload 0x4010f000, len 1384, room 16 \ntail 8\nchksum 0x2d\n",
                Verdict::Fault,
                5,
                "wdt reset",
            ),
            (
                " ets Jan  8 2013,rst cause:4, boot mode:(3,6)\n\nwdt reset\nload 0x4010f000, len 1384, room 16 \n",
                Verdict::Fault,
                5,
                "wdt reset",
            ),
            // A broker's CONNACK refusal, and the client's own failure.
            (
                "Attempting MQTT connection...failed, rc=5 try again in 5 seconds\n",
                Verdict::Fail,
                1,
                "rc=5",
            ),
            (
                "Attempting MQTT connection...failed, rc=-2 try again in 5 seconds\n",
                Verdict::Fault,
                5,
                "rc=-2",
            ),
            // Firebase's errorReason() and the stream's timeout.
            (
                "------------------------------------\nnot connected\n\
                 ------------------------------------\nStream timeout, resume streaming...\n",
                Verdict::Fault,
                5,
                "not connected",
            ),
            (
                "Set int... FAILED\nREASON: connection refused\n",
                Verdict::Fault,
                5,
                "connection refused",
            ),
            // A bare status code, then its body.
            (
                "401\n{\n  \"status\": 401,\n  \"info\": \"Authentication required\"\n}\n",
                Verdict::Fail,
                1,
                "401",
            ),
            (
                "404\n<html><body><h1>Not Found</h1></body></html>\n",
                Verdict::Fail,
                1,
                "404",
            ),
        ] {
            let (v, e, why) = grade(log);
            assert_eq!((v, e), (verdict, exit), "{log}: {why}");
            assert!(why.contains(word), "{log}: {why}");
        }
        // A number alone, with nothing that says it is a status, decides nothing.
        let (v, _, why) = grade("Temperature:\n401\nHumidity: 40\n");
        assert_eq!(v, Verdict::Timeout, "{why}");
        // A crash after the requested reboot still counts.
        let (v, _, why) = grade(
            "OTA update successful!\nRebooting...\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\n\n\
             Exception (28):\nepc1=0x40201b2c epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000\n",
        );
        assert_eq!(v, Verdict::Fault, "{why}");
    }
}
