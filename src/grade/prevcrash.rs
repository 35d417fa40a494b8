//! A firmware's own report of the crash that ended its previous boot: ESPHome's crash handler
//! (`*** CRASH DETECTED ON PREVIOUS BOOT ***`, then `Reason: Fault - LoadProhibited (cause 28)`,
//! `PC:`, `EXCVADDR:`, `BT0:` lines). The crash is not in this log, but the board says it
//! happened: a fault, named as the handler names it.

/// What the crash handler has said so far.
#[derive(Debug, Default)]
pub(crate) struct Report {
    line: usize,
    reason: Option<String>,
    pc: Option<String>,
    /// The function at the PC, as the ESPHome dashboard decodes it (`WARNING Decoded
    /// 0x40257116: pm_send_nullfunc`).
    pc_function: Option<String>,
    excvaddr: Option<String>,
    /// Backtrace lines (`BT0:`) read so far.
    frames: usize,
}

/// The body of an ESPHome log line (`[13:53:35.286][E][esp32.crash:404]:   PC: …`): what follows
/// the `]: ` of its tag, or the whole line.
fn body(text: &str) -> &str {
    text.find("]: ").map_or(text, |i| &text[i + 3..]).trim()
}

/// Whether a line is the crash handler's: ESPHome's ESP32 handler logs under `esp32.crash`, the
/// ESP8266 one under the platform's own tag (`[E][esp8266:186]:   Reason: Soft WDT …`).
fn handler_tag(text: &str) -> bool {
    let Some(end) = text.find("]: ") else {
        return false;
    };
    let tag = text[..end].rsplit('[').next().unwrap_or_default();
    tag.contains("crash") || tag.starts_with("esp8266") || tag.starts_with("esp32")
}

/// The ESPHome dashboard's decoding of an address it saw in the log, `WARNING Decoded
/// 0x40257116: pm_send_nullfunc`: the function.
fn decoded(text: &str) -> Option<&str> {
    let rest = text.trim().strip_prefix("WARNING Decoded 0x")?;
    let (_, name) = rest.split_once(": ")?;
    let name = name.split(" at ").next().unwrap_or(name).trim();
    (!name.is_empty()).then_some(name)
}

/// The first word of a hex address after `key` (`PC:  0x4000C250  (fault location)`).
fn address(body: &str, key: &str) -> Option<String> {
    let rest = body.strip_prefix(key)?.trim_start();
    let word: String = rest
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    word.starts_with("0x").then_some(word)
}

impl Report {
    /// The crash handler's headline.
    pub(crate) fn starts(line: usize, text: &str) -> Option<Self> {
        text.to_ascii_lowercase()
            .contains("crash detected on previous boot")
            .then(|| Report {
                line,
                ..Report::default()
            })
    }

    /// Read one of the handler's detail lines; whether it was one.
    pub(crate) fn detail(&mut self, text: &str) -> bool {
        if let Some(name) = decoded(text) {
            // The first decoded address after `PC:` is the PC's.
            if self.pc.is_some() && self.frames == 0 && self.pc_function.is_none() {
                self.pc_function = Some(name.to_owned());
            }
            return true;
        }
        if !handler_tag(text) {
            return false;
        }
        let b = body(text);
        let frame = b
            .strip_prefix("BT")
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(n, v)| {
                !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) && v.trim().starts_with("0x")
            });
        if frame {
            self.frames += 1;
            return true;
        }
        if let Some(r) = b.strip_prefix("Reason:") {
            let r = r.trim();
            self.reason = Some(r.strip_prefix("Fault - ").unwrap_or(r).to_owned());
        } else if let Some(a) = address(b, "PC:") {
            self.pc = Some(a);
        } else if let Some(a) = address(b, "EXCVADDR:").or_else(|| address(b, "MTVAL:")) {
            self.excvaddr = Some(a);
        } else {
            return false;
        }
        true
    }

    /// Why the board is graded a fault.
    pub(crate) fn reason(&self) -> String {
        let what = match &self.reason {
            Some(r) => format!("a {r} crash"),
            None => "a crash".to_owned(),
        };
        let mut at = String::new();
        if let Some(pc) = &self.pc {
            at.push_str(&format!(" at PC {pc}"));
            if let Some(f) = &self.pc_function {
                at.push_str(&format!(" ({f})"));
            }
        }
        if let Some(a) = &self.excvaddr {
            at.push_str(&format!(" (faulting address {a})"));
        }
        let null = self
            .excvaddr
            .as_deref()
            .and_then(|a| u32::from_str_radix(a.trim_start_matches("0x"), 16).ok())
            .is_some_and(|a| a < 0x1000);
        let said = self
            .reason
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let hint = if said.contains("soft wdt") {
            ": the software watchdog fired, code ran for over ~3 s without yielding (the PC's \
             function is where it was stuck)"
        } else if said.contains("hardware wdt") || said.contains("hw wdt") {
            ": the hardware watchdog fired, interrupts or the CPU were blocked for seconds"
        } else if null {
            ": a read through a null pointer (a member of a freed or never-set object)"
        } else {
            ""
        };
        format!(
            "line {}: the firmware's crash handler reports that the previous boot ended in \
             {what}{at}{hint}; the board crashed before this log, decode its backtrace (BT lines) \
             with the build's ELF",
            self.line
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esphome_crash_handler_names_the_exception() {
        for (lines, words) in [
            (
                &[
                    "[13:53:35.286][E][esp32.crash:404]: *** CRASH DETECTED ON PREVIOUS BOOT ***",
                    "[13:53:35.415][E][esp32.crash:407]:   Reason: Fault - LoadProhibited (cause 28)",
                    "[13:53:35.416][E][esp32.crash:418]:   PC:  0x4000C250  (fault location)",
                    "[13:53:35.926][E][esp32.crash:422]:   EXCVADDR: 0x0000000C  (faulting address)",
                ][..],
                &["LoadProhibited (cause 28)", "PC 0x4000C250", "null pointer"][..],
            ),
            (
                &[
                    "[E][esp32.crash:329]: *** CRASH DETECTED ON PREVIOUS BOOT ***",
                    "[E][esp32.crash:332]:   Reason: Fault - StoreProhibited",
                    "[E][esp32.crash:337]:   PC:  0x42008DB7  (fault location)",
                ][..],
                &["StoreProhibited crash at PC 0x42008DB7"][..],
            ),
        ] {
            let mut r = Report::starts(7, lines[0]).unwrap_or_else(|| panic!("{}", lines[0]));
            for l in &lines[1..] {
                assert!(r.detail(l), "{l}");
            }
            let why = r.reason();
            for w in words {
                assert!(why.contains(w), "{why}");
            }
        }
        let mut r = Report::starts(
            3,
            "[08:48:09.985][E][esp8266:171]: *** CRASH DETECTED ON PREVIOUS BOOT ***",
        )
        .unwrap_or_default();
        for l in [
            "[08:48:09.985][E][esp8266:186]:   Reason: Soft WDT - Level1Int (exccause=4)",
            "[08:48:09.986][E][esp8266:191]:   PC: 0x40257116",
            "WARNING Decoded 0x40257116: pm_send_nullfunc",
            "[08:48:10.040][E][esp8266:196]:   BT0: 0x40245166",
            "WARNING Decoded 0x40245166: sta_input",
        ] {
            assert!(r.detail(l), "{l}");
        }
        let why = r.reason();
        for w in [
            "Soft WDT",
            "PC 0x40257116 (pm_send_nullfunc)",
            "software watchdog",
        ] {
            assert!(why.contains(w), "{w}: {why}");
        }
        assert!(!why.contains("sta_input"), "{why}");
        assert!(Report::starts(1, "[I][app:100]: ESPHome version 2025.1.0").is_none());
        // Another component's lines are not the handler's, whatever they say.
        assert!(!r.detail("[E][modbus:082]:   PC: 0x12"));
        assert!(!r.detail("[D][uart_debug:114]: <<< BT0: 0x40"));
        let mut r = Report::default();
        assert!(!r.detail("[D][sensor:130]: 'PC': Sending state 3.0"));
    }
}
