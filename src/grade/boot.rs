//! How the board's boots, crash blocks and core dumps become verdicts: a reset nobody asked
//! for, a reset loop, a brownout, a crash's register dump, a core dump printed over UART.

use super::engine::Finality;
use super::{Crash, Grader, Verdict, crash, decode};

/// Lines a restart may be announced before the banner of the boot it caused.
const RESTART_WINDOW: usize = 4;

/// A line that announces or asks for a restart: Tasmota's `APP: Restarting`, ESP-IDF's
/// example `Restarting now.`, a sketch's `ESP.restart()` note, NodeMCU's `node.restart()` typed
/// at its prompt. Not a panic handler's `Rebooting...`, which follows a crash.
pub(super) fn asks_restart(lower: &str) -> bool {
    let t = lower.trim();
    !t.contains("fail")
        && !t.contains("error")
        && (t.contains("restarting")
            || t.contains("node.restart()")
            || t.contains("esp.restart()")
            || t.contains("esp_restart()")
            || t == "restart"
            || t.ends_with(": restart"))
}

impl Grader {
    pub(super) fn on_boot(&mut self, cause: &str, text: &str) {
        // A wake-up from deep sleep restarts the sketch on purpose; a reset by the pin with
        // nothing printed since the last banner is someone's (a button, a monitor's DTR/RTS,
        // GPIO16's wire), not a crash, which prints its dump first. Neither is a reboot.
        let wake = self.sleep.is_wake(cause);
        let quiet = self.boots > 0
            && self.sleep.quiet_pin_reset(cause)
            && !crash::output_cut_by_banner(text);
        self.sleep.booted();
        if wake || quiet {
            self.download_wait = None;
            return;
        }
        let (words, fatal) = crash::explain_cause(cause);
        if crash::download_mode(text) && !fatal && !crash::killed_by_watchdog(cause) {
            // The ROM loader waiting for a flasher (GPIO0 held low, or esptool's reset): no
            // firmware ran, and the boot after it is a fresh start, not a reboot. Out of a
            // watchdog reset it is still the watchdog's (the run before hung).
            self.boots = 0;
            self.start_banner = false;
            let mode = text.find("boot:").map_or(text, |i| &text[i..]).trim();
            self.download_wait = Some((self.core.line, mode.chars().take(80).collect()));
            return;
        }
        self.download_wait = None;
        let (last_line, last_by_hand) = self.last_boot.unwrap_or_default();
        // A restart the firmware announced, or its user typed, right before the banner is as
        // deliberate as the reset pin (an ESP8266's `node.restart()` even reports `rst cause:4`).
        let asked = self
            .restart_asked
            .is_some_and(|at| self.core.line.saturating_sub(at) <= RESTART_WINDOW);
        let by_hand = crash::reset_by_hand(cause) || asked;
        self.last_boot = Some((self.core.line, by_hand));
        if cause.contains("RTCWDT_RTC")
            && last_by_hand
            && self.boots > 0
            && self.core.line.saturating_sub(last_line) <= 4
        {
            // The first ESP32 ROMs print `POWERON_RESET` and at once `RTCWDT_RTC_RESET` for one
            // power-up: the second banner is the same boot.
            return;
        }
        if by_hand && !fatal && self.boots > 0 {
            // A power cycle or the reset pin (a person, a monitor, esptool): the board did not
            // reset itself, so no loop counts across it; the log starts over here.
            self.boots = 1;
            self.start_banner = true;
            self.wifi_down = None;
            return;
        }
        self.boots += 1;
        // A monitor that resets the board as it opens the port cuts the last output short too:
        // only a reset nobody asked for says the firmware was stopped mid-print.
        let cut = !crash::reset_by_hand(cause)
            && (crash::output_cut_by_banner(text) || crash::output_cut_by_banner(&self.prev_line));
        let ran_before = self.logged_before_boot >= 3 && !crash::reset_by_hand(cause);
        let started =
            self.sketch_started() || crash::app_output_before_banner(text) || cut || ran_before;
        if self.boots == 1 && !started && !fatal {
            self.tell_panic_tail_reset(cause);
            // The banner of the boot this run started with.
            self.start_banner = true;
            if crash::killed_by_watchdog(cause) && !asked {
                self.start_watchdog = Some(words);
            }
            return;
        }
        // A run that started out of a watchdog reset and is reset again, by nobody's hand,
        // before the firmware printed anything was reset twice: the first banner is a reboot too.
        let watchdog_again =
            !started && self.start_watchdog.is_some() && !crash::reset_by_hand(cause);
        let reboots = self.boots - u32::from(self.start_banner && !watchdog_again);
        let stage = self.core.current_name().to_owned();
        let (kind, reason, finality) = if crash::cpu_locked_up(cause) {
            // Final once the boot has had time to print the crash that follows, if any.
            (
                "reboot",
                format!(
                    "the board reset because its CPU locked up ({words}): the firmware that ran \
                     before this boot crashed; the ROM's `Saved PC` line after the banner is \
                     where it stopped (decode it with the ELF)"
                ),
                Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
            )
        } else if fatal && cause.contains("GLITCH") {
            (
                "brownout",
                format!(
                    "the board reset because the chip's glitch detector fired ({words}): power \
                     it properly"
                ),
                Finality::Now,
            )
        } else if fatal {
            (
                "brownout",
                format!("the board reset because of a brownout ({words}): power it properly"),
                Finality::Now,
            )
        } else if reboots >= 2 {
            (
                "reset-loop",
                format!("reset loop: the board rebooted {reboots} times (last reset: {words})"),
                Finality::Now,
            )
        } else if cut && !self.sketch_started() {
            (
                "reboot",
                format!(
                    "the board reset while the firmware was printing: the ROM boot banner cut its \
                     output mid-line ({words})"
                ),
                Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
            )
        } else if started {
            // Final once the next boot has had time to print a crash (a Guru Meditation right
            // after the banner says more than the reboot does), or at the next reboot.
            (
                "reboot",
                format!("the board rebooted during {stage} ({words})"),
                Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1),
            )
        } else {
            // Rebooted before the firmware printed anything: wait to see whether it loops.
            (
                "reboot",
                format!("the board rebooted before the firmware printed anything ({words})"),
                Finality::AfterLines(200),
            )
        };
        self.core.crash = Some(Crash {
            kind: kind.to_owned(),
            line: self.core.line,
            headline: text.to_owned(),
            block: Vec::new(),
            elf_sha256: None,
        });
        self.core
            .propose(Verdict::Fault, Some(&stage), reason, finality);
    }

    /// Whether `text` belongs to a core dump block (its markers or its base64), which no rule
    /// may see: base64 spells `rst`, `wdt` and `abort` often enough.
    pub(super) fn core_dump_line(&mut self, number: usize, text: &str) -> bool {
        if text.contains(decode::CORE_DUMP_START) {
            if self.block.is_some() {
                self.end_block();
            }
            self.dump_block = Some((number, Vec::new()));
            return true;
        }
        let Some((_, lines)) = self.dump_block.as_mut() else {
            return false;
        };
        if text.contains(decode::CORE_DUMP_END) {
            self.end_core_dump();
        } else if let Some(word) = text.split_whitespace().last() {
            lines.push(word.to_owned());
        }
        true
    }

    /// The block is over (its end marker, or the log's end): read it. A dump with no crash
    /// before it is still a crash.
    pub(super) fn end_core_dump(&mut self) {
        let Some((number, lines)) = self.dump_block.take() else {
            return;
        };
        // The dump is the handler's last word before `Rebooting...`.
        self.panic_tail = None;
        let dump = decode::read_block(lines.iter().map(String::as_str), Some(number));
        if self.core.outcome.is_none() && self.block.is_none() {
            let why = match (&dump.panic_reason, &dump.error) {
                (Some(p), _) => format!("a core dump of a crash: {p}"),
                (None, Some(e)) => format!("a core dump of a crash, unreadable: {e}"),
                (None, None) => "a core dump of a crash".to_owned(),
            };
            self.core.crash = Some(Crash {
                kind: "core-dump".to_owned(),
                line: number,
                headline: why.clone(),
                block: Vec::new(),
                elf_sha256: self.elf_sha256.clone(),
            });
            let reason = format!("line {number}: {why}");
            self.core
                .propose(Verdict::Fault, None, reason, Finality::Now);
        }
        self.core_dump = Some(dump);
    }

    /// A log that opens with a panic's tail (`Rebooting...`), then the banner of the reboot it
    /// asked for: the banner's reset cause (`rst:0xc (RTC_SW_CPU_RST)`) joins the reason.
    fn tell_panic_tail_reset(&mut self, cause: &str) {
        let tail = crash::describe("panic-tail", "", &[]);
        let first = self
            .core
            .crash
            .as_ref()
            .is_some_and(|c| c.kind == "panic-tail");
        let told = self.core.outcome.as_ref().is_some_and(|o| o.reason == tail);
        if first && told {
            let reason = format!("{tail}; the reboot's reset cause: {cause}");
            let finality = Finality::AfterLines(crash::BLOCK_LIMIT as u32 + 1);
            self.core.propose_failed_attempt(None, reason, finality);
        }
    }

    /// Whether a line is within a few lines of NodeMCU's Lua panic, where what follows is its
    /// consequence: the error handler's own panic (`attempt to call a string value`), or the
    /// task watchdog that aborts the task the panic left spinning.
    pub(super) fn after_lua_panic(&self, number: usize) -> bool {
        self.core.crash.as_ref().is_some_and(|c| {
            c.kind == "lua-panic" && number.saturating_sub(c.line) <= LUA_PANIC_TAIL
        })
    }

    pub(super) fn end_block(&mut self) {
        let Some(block) = self.block.take() else {
            return;
        };
        let reason = crash::describe(block.kind, &block.headline, &block.lines);
        let reason = match &block.error_before {
            Some(e) => format!("{reason}; right before it the firmware printed `{e}`"),
            None => reason,
        };
        // NodeMCU's Lua panic leaves its task spinning until the task watchdog aborts it: one
        // crash, told in the order it happened.
        let lua_first = self.after_lua_panic(block.line);
        let reason = match self.core.crash.as_ref().filter(|_| lua_first) {
            Some(c) => format!(
                "{}; then {reason}",
                crash::describe(&c.kind, &c.headline, &c.block)
            ),
            None => reason,
        };
        let finality = if block.kind == "lua-panic" {
            Finality::AfterLines(LUA_PANIC_TAIL as u32)
        } else {
            Finality::Now
        };
        self.core.crash = Some(Crash {
            kind: block.kind.to_owned(),
            line: block.line,
            headline: block.headline,
            block: block.lines,
            elf_sha256: self.elf_sha256.clone(),
        });
        // ESP-IDF's panic handler goes on after the backtrace: the app's ELF SHA-256, a core
        // dump to UART if configured, then `Rebooting...`.
        if matches!(
            block.end,
            crash::BlockEnd::Backtrace | crash::BlockEnd::Backtraces
        ) {
            self.panic_tail = Some(PANIC_TAIL_LINES);
        }
        self.core.propose(Verdict::Fault, None, reason, finality);
    }

    /// A line after an ESP-IDF panic's backtrace: the handler is done at `Rebooting...`, `CPU
    /// halted.`, the next boot's banner, or after a few lines of anything else. Its `ELF file
    /// SHA256:` names the build that crashed, for a log that began after the boot's.
    pub(super) fn panic_tail_line(&mut self, text: &str) {
        let Some(left) = self.panic_tail else {
            return;
        };
        if let Some(sha) = decode::logged_elf_sha256(text)
            && let Some(crash) = self.core.crash.as_mut()
        {
            crash.elf_sha256.get_or_insert(sha);
        }
        let t = text.trim();
        let over = t.starts_with("Rebooting...")
            || t.starts_with("CPU halted")
            || crash::classify(text, &text.to_ascii_lowercase())
                .is_some_and(|s| matches!(s, crash::Signal::Boot { .. }));
        self.panic_tail = match left {
            _ if over => None,
            _ if t.is_empty() => Some(left),
            0 | 1 => None,
            n => Some(n - 1),
        };
    }
}

/// Lines after NodeMCU's `PANIC: unprotected error` within which a crash is its consequence.
const LUA_PANIC_TAIL: usize = 4;

/// Lines an ESP-IDF panic handler prints between the backtrace and its end, beside a core dump
/// (read as a block of its own): `ELF file SHA256:`, `Entering gdb stub`, `Press Enter to print
/// core dump to UART...`, `I (…) esp_core_dump_uart: Initialize core dump on UART...`.
const PANIC_TAIL_LINES: u32 = 8;

#[cfg(test)]
mod tests {
    use super::super::{GradeConfig, Profile, Verdict, grade_bytes};

    fn auto(log: &str) -> super::super::Report {
        grade_bytes(GradeConfig::new(Profile::Auto), log.as_bytes())
    }

    #[test]
    fn a_log_that_opens_on_a_panics_tail_names_the_reboots_reset_cause() {
        let r = auto(
            "Rebooting...\nESP-ROM:esp32c3-api1-20210207\nBuild:Feb  7 2021\n\
             rst:0xc (RTC_SW_CPU_RST),boot:0xd (SPI_FAST_FLASH_BOOT)\nSaved PC:0x40048b92\n",
        );
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        assert!(
            r.reason.contains("panicked and rebooted") && r.reason.contains("RTC_SW_CPU_RST"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_restart_asked_for_is_told_from_one_after_a_failure() {
        for l in [
            "00:01:36.723 APP: Restarting",
            "node.restart()",
            "Restarting now.",
            "calling ESP.restart()",
        ] {
            assert!(super::asks_restart(&l.to_ascii_lowercase()), "{l}");
        }
        for l in [
            "Rebooting...",
            "MQTT failed, restarting",
            "restart reason: error",
            "Restart count: 3",
        ] {
            assert!(!super::asks_restart(&l.to_ascii_lowercase()), "{l}");
        }
    }

    #[test]
    fn a_watchdog_banner_right_after_a_typed_restart_is_no_crash() {
        let r = auto(
            "node.restart()\n> \n ets Jan  8 2013,rst cause:4, boot mode:(3,6)\n\nwdt reset\n\
             NodeMCU custom build\n> home : 4,-57,b0:d5:9d:84:26:c9,6\n",
        );
        assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
        let r = auto(
            "Connecting...\n ets Jan  8 2013,rst cause:4, boot mode:(3,6)\n\nwdt reset\n\
             NodeMCU custom build\n",
        );
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
    }

    #[test]
    fn a_glitch_reset_is_named_even_when_a_power_on_boot_follows() {
        let r = auto(
            "rst:0x13 (GLITCH_RTC_RST),boot:0xd (SPI_FAST_FLASH_BOOT)\n\n\
             ESP-ROM:esp32c3-api1-20210207\nBuild:Feb  7 2021\n\
             rst:0x1 (POWERON),boot:0xd (SPI_FAST_FLASH_BOOT)\nSPIWP:0xee\nmode:DIO, clock div:1\n",
        );
        assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
        assert!(r.reason.contains("GLITCH_RTC_RST"), "{}", r.reason);
        assert!(r.reason.contains("glitch detector"), "{}", r.reason);
    }

    #[test]
    fn resets_by_a_person_are_no_loop_but_resets_the_board_does_itself_are() {
        // The first ESP32 ROM prints POWERON_RESET and at once RTCWDT_RTC_RESET per power-up.
        let power_up = "ets Jun  8 2016 00:22:57\n\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
                        ets Jun  8 2016 00:22:57\n\nrst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
                        configsip: 0, SPIWP:0x00\nmode:DIO, clock div:1\nentry 0x40080034\n\n";
        let run = "Connecting to Livebox-27C3\n\
                   [D][WiFiGeneric.cpp:174] _eventCallback(): Event: 2 - STA_START\n";
        let r = auto(&format!("{power_up}{run}{power_up}{run}{power_up}{run}"));
        assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
        assert!(!r.reason.starts_with("reset loop"), "{}", r.reason);
        // The reset pin (EXT_RST on later ROMs) twice: a person's, too.
        let ext = "rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\nentry 0x403cc710\nhello\n\
                   rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\nentry 0x403cc710\nhello\n\
                   rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\nentry 0x403cc710\nhello\n";
        assert!(!auto(ext).reason.starts_with("reset loop"));
        // Near miss: the board restarting itself after it ran is still a loop.
        let sw = "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n\
                  configsip: 0, SPIWP:0xee\nentry 0x400805e4\n";
        let r = auto(&format!("{power_up}{run}{sw}{run}{sw}{run}{sw}{run}"));
        assert!(r.reason.starts_with("reset loop"), "{}", r.reason);
    }

    #[test]
    fn a_cpu_lockup_reset_of_the_newer_risc_v_chips_is_a_crash() {
        for chip in ["esp32c5", "esp32p4", "esp32c61"] {
            let r = auto(&format!(
                "ESP-ROM:{chip}-eco2-20250121\nBuild:Jan 21 2025\n\
                 rst:0x1a (CPU_LOCKUP),boot:0x18 (SPI_FAST_FLASH_BOOT)\n\
                 Core0 Saved PC:0x42122746\nSPI mode:DIO, clock div:1\n\
                 load:0x408556b0,len:0x16b8\nentry 0x4084bbaa\n\
                 I (28) boot: ESP-IDF v5.5.3 2nd stage bootloader\n"
            ));
            assert_eq!(r.verdict, Verdict::Fault, "{}", r.reason);
            assert!(
                r.reason.contains("CPU_LOCKUP") && r.reason.contains("locked up"),
                "{}",
                r.reason
            );
        }
    }

    #[test]
    fn a_chip_left_in_download_mode_says_so_when_the_log_ends() {
        for (banner, mode) in [
            (
                "ESP-ROM:esp32s3-20210327\nBuild:Mar 27 2021\n\
                 rst:0x15 (USB_UART_CHIP_RESET),boot:0x0 (DOWNLOAD(USB/UART0))\n\
                 Saved PC:0x40041a76\nwaiting for download\n",
                "boot:0x0 (DOWNLOAD(USB/UART0))",
            ),
            (
                "ets Jun  8 2016 00:22:57\n\n\
                 rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\n\
                 waiting for download\n",
                "boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))",
            ),
        ] {
            let r = auto(banner);
            assert_eq!(r.verdict, Verdict::Timeout, "{}", r.reason);
            assert!(r.reason.contains("download mode"), "{}", r.reason);
            assert!(r.reason.contains(mode), "{}", r.reason);
        }
        // Flashed and reset into the app: the download banner before it no longer explains.
        let r = auto(
            "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\n\
             waiting for download\n\
             ets Jun  8 2016 00:22:57\n\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\n",
        );
        assert!(!r.reason.contains("download mode"), "{}", r.reason);
    }
}
