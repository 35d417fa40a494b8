//! What ESP-AT says beyond `OK` and `ERROR`: its `ERR CODE:0x010b0000` lines (`AT+SYSLOG=1`,
//! and ESP32 builds that print them by default), whose second byte names why the command was
//! refused; the `busy p...` (still processing) and `busy s...` (still sending) it answers while
//! a command is not done, which, answered to every command until the log ends, is a module
//! stuck on the one before; and `AT+CIUPDATE`, its OTA update from Espressif's server, whose
//! `+CIPUPDATE:<n>` stages say how far it got before an `ERROR`.

/// The meaning of an `ERR CODE:0x0108_0000`'s second byte (ESP-AT's `esp_at_error_code`
/// sub-categories).
fn sub_code(sub: u32) -> Option<&'static str> {
    Some(match sub {
        0x00 => "no error",
        0x01 => "a common error",
        0x02 => "the command has no terminator (CR LF expected)",
        0x03 => "the line does not start with `AT`",
        0x04 => "a parameter's length does not match",
        0x05 => "a parameter's type does not match",
        0x06 => "the number of parameters does not match",
        0x07 => "a parameter is invalid",
        0x08 => "a parameter could not be parsed",
        0x09 => "the command is not supported",
        0x0a => "the command's execution failed",
        0x0b => "the previous command is still being processed (the module is busy)",
        0x0c => "the command's operation type is wrong",
        _ => return None,
    })
}

/// `ERR CODE:0x010b0000` → the code as printed and what it means.
pub(crate) fn err_code(text: &str) -> Option<(String, String)> {
    let t = text.trim();
    let rest = t.strip_prefix("ERR CODE:")?.trim();
    let hex = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let hex: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 8 {
        return None;
    }
    let code = u32::from_str_radix(&hex, 16).ok()?;
    let meaning = if code >> 24 == 0x01 {
        sub_code((code >> 16) & 0xff).unwrap_or("an ESP-AT error")
    } else {
        "an ESP-AT error of the command's own module"
    };
    Some((format!("0x{hex}"), meaning.to_owned()))
}

/// ESP-AT's `busy p...` (processing) or `busy s...` (sending): the command is refused because
/// the one before is not done.
pub(crate) fn busy(text: &str) -> bool {
    matches!(text.trim(), "busy p..." | "busy s..." | "busy p" | "busy s")
}

/// `+CIPUPDATE:3` (ESP8266 AT) or `+CIUPDATE:3`: the stage an OTA update reached.
fn update_stage(text: &str) -> Option<u8> {
    let t = text.trim();
    let n = t
        .strip_prefix("+CIPUPDATE:")
        .or_else(|| t.strip_prefix("+CIUPDATE:"))?;
    n.trim().parse().ok()
}

fn stage_name(n: u8) -> &'static str {
    match n {
        1 => "found the update server",
        2 => "connected to it",
        3 => "got the new version's number",
        4 => "started writing the update",
        _ => "an update stage",
    }
}

/// The AT session as far as these lines tell: a run of busy answers, an update under way.
#[derive(Debug, Default)]
pub(crate) struct Stuck {
    /// The busy answers (and `ERR CODE`s) since the last `OK`: the first line and count.
    busy: Option<(usize, u32)>,
    /// The last `ERR CODE` and what it means.
    code: Option<(String, String)>,
    /// `AT+CIUPDATE` sent: its line and the last stage it printed.
    update: Option<(usize, u8)>,
}

impl Stuck {
    /// Read a line; `Some` when an OTA update ended in `ERROR` after reaching the server.
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<String> {
        let t = text.trim();
        if let Some(code) = err_code(t) {
            if code.0.starts_with("0x010b") {
                self.busy.get_or_insert((number, 0)).1 += 1;
            }
            self.code = Some(code);
            return None;
        }
        if busy(t) {
            self.busy.get_or_insert((number, 0)).1 += 1;
            return None;
        }
        if t == "OK" || t.starts_with("SEND OK") {
            self.busy = None;
            self.code = None;
        }
        if t == "AT+CIUPDATE" || t.starts_with("AT+CIUPDATE=") {
            self.update = Some((number, 0));
            return None;
        }
        if let Some(n) = update_stage(t)
            && let Some((_, stage)) = self.update.as_mut()
        {
            *stage = n;
            return None;
        }
        match (t, self.update) {
            ("OK", Some(_)) => self.update = None,
            ("ERROR" | "FAIL", Some((at, stage))) if stage > 0 => {
                self.update = None;
                return Some(format!(
                    "line {number}: the AT firmware's OTA update failed: `AT+CIUPDATE` (line \
                     {at}) reached stage {stage} (`+CIPUPDATE:{stage}`: it {}) and then \
                     answered `ERROR`: the server was reached but the new firmware was not \
                     written (no update for this flash size or AT version, a download that \
                     broke, or a flash too small for two OTA slots)",
                    stage_name(stage)
                ));
            }
            _ if t.starts_with("AT") => self.update = None,
            _ => {}
        }
        None
    }

    /// The log ends on a run of busy answers: the module never finished the command before.
    pub(crate) fn stuck_reason(&self) -> Option<String> {
        let (at, count) = self.busy?;
        if count < 2 {
            return None;
        }
        let code = match &self.code {
            Some((c, m)) => format!(" and `ERR CODE:{c}` ({m})"),
            None => String::new(),
        };
        Some(format!(
            "from line {at} the AT firmware answers every command with `busy p...`{code}, \
             {count} times to the log's end: it is stuck on an earlier command that never \
             finished (stray bytes such as a doubled CR LF count as a new command while one \
             runs); it needs a reset, and the host should wait for each `OK` before sending"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_codes_are_named() {
        let (c, m) = err_code("ERR CODE:0x010b0000").unwrap_or_default();
        assert_eq!(c, "0x010b0000");
        assert!(m.contains("still being processed"), "{m}");
        let (_, m) = err_code("ERR CODE:0x01090000").unwrap_or_default();
        assert!(m.contains("not supported"));
        let (_, m) = err_code("  ERR CODE:0x01030000 ").unwrap_or_default();
        assert!(m.contains("start with `AT`"));
        let (_, m) = err_code("ERR CODE:0x08010000").unwrap_or_default();
        assert!(m.contains("own module"));
        for l in [
            "ERR CODE:",
            "ERR CODE:0x0109",
            "ERROR",
            "E (1) ERR CODE:0x010b0000",
        ] {
            assert_eq!(err_code(l), None, "{l}");
        }
        assert!(busy("busy p...") && busy("busy s..."));
        assert!(!busy("busy waiting for the sensor"));
    }

    fn run(lines: &str) -> (Vec<String>, Option<String>) {
        let mut s = Stuck::default();
        let said = lines
            .lines()
            .enumerate()
            .filter_map(|(i, l)| s.line(i + 1, l))
            .collect();
        (said, s.stuck_reason())
    }

    #[test]
    fn a_busy_loop_to_the_end_is_a_stuck_module() {
        let (_, stuck) = run(
            "AT\nOK\nAT\nERR CODE:0x010b0000\n\nbusy p...\nERR CODE:0x010b0000\n\
             \nbusy p...\n",
        );
        let why = stuck.unwrap_or_default();
        assert!(
            why.contains("0x010b0000") && why.contains("busy p..."),
            "{why}"
        );
        // A busy answer the module recovers from (an OK after it) is not stuck.
        assert_eq!(run("AT+CIPSEND=4\nbusy s...\nSEND OK\n").1, None);
        assert_eq!(run("busy p...\n").1, None);
    }

    #[test]
    fn an_update_that_reached_the_server_and_answered_error_failed() {
        let (said, _) = run("AT+CIUPDATE\n+CIPUPDATE:1\n+CIPUPDATE:2\n+CIPUPDATE:3\n\nERROR\n");
        assert!(
            matches!(&said[..], [w] if w.contains("stage 3") && w.contains("`ERROR`")),
            "{said:?}"
        );
        // Done, no stage (the server was never reached: a connection's failure), another command.
        assert!(run("AT+CIUPDATE\n+CIPUPDATE:4\nOK\n").0.is_empty());
        assert!(run("AT+CIUPDATE\nERROR\n").0.is_empty());
        assert!(
            run("AT+CIUPDATE\n+CIPUPDATE:1\nAT+GMR\nERROR\n")
                .0
                .is_empty()
        );
        assert!(run("+CIPUPDATE:3\nERROR\n").0.is_empty());
    }
}
