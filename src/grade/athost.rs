//! The host's side of an ESP-AT module: an MCU's driver that logs which AT command failed
//! (`esp01: Failed AT+CWJAP_DEF="myap","pw"`, `Command failed: AT+CIPSTART=…`, `Error sending
//! AT+CIPSEND=0,42`, `AT+CWJAP_CUR timed out`). The module's own echo and result codes are
//! [`super::esp_at`]'s. The first failed command is the cause (what follows it fails because
//! of it); a failed `AT+CWQAP` is not one (leaving an AP the module never joined fails). A later
//! line that says the board is on the network takes a failed join back.

/// One command the host said failed: its name (`CWJAP_DEF`) and the words it was quoted in,
/// without its arguments (they hold the password).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failed {
    line: usize,
    name: String,
    quoted: String,
}

/// What the host's log said so far.
#[derive(Debug, Default)]
pub(crate) struct Host {
    first: Option<Failed>,
    join: Option<Failed>,
}

/// Words that say the command failed, outside its arguments.
fn says_failed(words: &str) -> bool {
    let lower = words.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.starts_with("fail") || matches!(w, "error" | "err" | "timeout" | "unsuccessful"))
        || lower.contains("timed out")
        || lower.contains("no response")
}

/// The command a host line says failed: its name and the line quoted up to the name.
fn failed_command(text: &str) -> Option<(String, String)> {
    let t = text.trim();
    let at = t.find("AT+")?;
    let before = &t[..at];
    // The module's echo (`AT+CWJAP="x","y"`) is esp_at's; `CAT+DOG` is not a command.
    if before.trim().is_empty() || before.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = &t[at + 3..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    if name.len() < 2 {
        return None;
    }
    // The arguments without their quoted strings (an SSID may be called `error`).
    let mut after = String::new();
    let mut quoted = false;
    for c in rest[name.len()..].chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            after.push(c);
        }
    }
    if !says_failed(before) && !says_failed(&after) {
        return None;
    }
    Some((name.clone(), format!("{}AT+{name}", before.trim_start())))
}

fn is_join(name: &str) -> bool {
    name == "CWJAP" || name.starts_with("CWJAP_")
}

impl Host {
    /// Read one line. `online`: the line says the board is on the network.
    pub(crate) fn line(&mut self, number: usize, text: &str, online: bool) {
        if online {
            if self.first.as_ref().is_some_and(|f| is_join(&f.name)) {
                self.first = None;
            }
            self.join = None;
            return;
        }
        let Some((name, quoted)) = failed_command(text) else {
            return;
        };
        if name == "CWQAP" {
            return;
        }
        let f = Failed {
            line: number,
            name,
            quoted,
        };
        if is_join(&f.name) && self.join.is_none() {
            self.join = Some(f.clone());
        }
        self.first.get_or_insert(f);
    }

    /// Whether the cause is a failed join (the Wi-Fi stage), else a later command's.
    pub(crate) fn join_failed(&self) -> bool {
        self.first.as_ref().is_some_and(|f| is_join(&f.name))
    }

    /// Why the run is a fault when the log ends without another verdict.
    pub(crate) fn reason(&self) -> Option<String> {
        let f = self.first.as_ref()?;
        let what = match f.name.as_str() {
            n if is_join(n) => {
                "the ESP-AT module could not join the Wi-Fi network (SSID or password, signal, a \
                 2.4 GHz AP in range?), and the commands after it fail because of it"
            }
            "CIPSTART" => {
                "the ESP-AT module could not open the connection to the server (DNS, TCP or \
                 TLS: the line does not say which)"
            }
            "CIPSEND" | "CIPSENDEX" => "the ESP-AT module could not send on its connection",
            _ => {
                "the ESP-AT module did not accept a command the host needs (no answer, or \
                 `ERROR`: wiring, baud rate, or a firmware without that command)"
            }
        };
        let join = self
            .join
            .as_ref()
            .filter(|j| j.line != f.line)
            .map(|j| {
                format!(
                    "; the Wi-Fi join failed too (line {}: `{}`)",
                    j.line, j.quoted
                )
            })
            .unwrap_or_default();
        Some(format!(
            "line {}: the host's ESP-AT driver logs `{}`: {what}{join}",
            f.line, f.quoted
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_logs_the_failed_join_first() {
        let mut h = Host::default();
        for (n, l) in [
            "3.041368: esp01: Connecting to an access point: myap,mypassword",
            "3.045548: esp01: Failed AT+CWQAP",
            "43.464165: esp01: Failed AT+CWJAP_DEF=\"myap\",\"mypassword\"",
            "43.467396: esp01: Failed AT+CIPMUX=1",
            "43.476002: esp01: Initialization complete",
        ]
        .iter()
        .enumerate()
        {
            h.line(n + 1, l, false);
        }
        assert!(h.join_failed());
        let why = h.reason().unwrap_or_default();
        assert!(
            why.contains("esp01: Failed AT+CWJAP_DEF`: the ESP-AT module could not join"),
            "{why}"
        );
        assert!(!why.contains("mypassword"), "{why}");
        // A later join that worked takes it back.
        h.line(9, "WIFI GOT IP", true);
        assert_eq!(h.reason(), None);
    }

    #[test]
    fn other_drivers_words_and_lines_that_only_look_alike() {
        for (line, name) in [
            (
                "Command failed: AT+CIPSTART=\"TCP\",\"example.com\",80",
                "CIPSTART",
            ),
            ("[ESP] AT+CWJAP_CUR timed out", "CWJAP_CUR"),
            ("Error sending AT+CIPSEND=0,42", "CIPSEND"),
            ("ESP8266: AT+CWMODE=1 -> ERROR", "CWMODE"),
        ] {
            assert_eq!(
                failed_command(line).map(|(n, _)| n).as_deref(),
                Some(name),
                "{line}"
            );
        }
        for line in [
            // The module's own echo, a command sent, an SSID called `error`, prose.
            "AT+CWJAP=\"x\",\"y\"",
            "Sending AT+CWJAP_DEF=\"error\",\"failpass\"",
            "esp01: AT+CIPMUX=1 OK",
            "CAT+DOG failed",
            "Failed AT+",
            "+CWJAP:1",
            "FAIL",
        ] {
            assert_eq!(failed_command(line), None, "{line}");
        }
    }
}
