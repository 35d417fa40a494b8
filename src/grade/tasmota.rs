//! Tasmota's console in its own words: the restart reason it reports about the boot before
//! this one, and the answers it publishes to commands.
//!
//! A restart reason is the previous boot's end, not this run's: `INFO3` and `STATUS1`
//! `"RestartReason":"Fatal exception:0 flag:2 (EXCEPTION) epc1:0x40106fc5 …"` (Tasmota 6.x
//! quotes the ESP8266 core's `ESP.getResetInfo()`, which sketches print too), the string forms
//! (`"RestartReason":"Exception"`, `"Hardware Watchdog"`), and `STATUS12`'s `StatusSTK` block
//! (`"Exception":29`, `"EPC":[…]`), one line or pretty-printed over several. The
//! `{"RestartReason":{"Exception":29,…}}` object is [`super::stops::reported_crash`]'s.
//!
//! A command's answer (`MQT: stat/x/RESULT = {"NAME":"Generic",…}` after `Template`, `Module`
//! or `GPIO`, `stat/x/STATUS5 = {…}`) is the console replying to whoever typed the command:
//! Tasmota 6.x logs it as `MQT:` whenever MQTT is enabled, connected or not, so it proves no job.

/// How many lines after `StatusSTK` its `"Exception":N` may come (pretty-printed JSON).
const STK_WITHIN: usize = 4;

/// The ESP8266 core's reset info: `Fatal exception:29 flag:2 (EXCEPTION) epc1:0x…`, or the
/// watchdogs' `Fatal exception:4 flag:1 (WDT)` / `flag:3 (SOFT_WDT)`. Not the SDK's live
/// `Fatal exception 28(LoadProhibitedCause):`, which is a crash in this log.
fn reset_info(text: &str, source: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let i = lower.find("fatal exception:")?;
    let rest = &lower[i + "fatal exception:".len()..];
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let n: u32 = n.parse().ok()?;
    let rest = rest[n.to_string().len()..].trim_start();
    let flag = rest.strip_prefix("flag:")?;
    let kind = flag
        .split_once('(')
        .and_then(|(_, k)| k.split_once(')'))
        .map(|(k, _)| k.trim())
        .unwrap_or("");
    let epc1 = lower
        .find("epc1:")
        .map(|j| {
            lower[j + 5..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|a| a.starts_with("0x"));
    let at = epc1.map(|a| format!(" at epc1 {a}")).unwrap_or_default();
    // The flag's name as printed: the core's `WDT`, ESPHome's `Hardware Watchdog`.
    let printed = text
        .get(i..)
        .and_then(|t| t.split_once('('))
        .and_then(|(_, k)| k.split_once(')'))
        .map_or("", |(k, _)| k.trim());
    Some(match kind {
        "wdt" | "hardware watchdog" => format!(
            "the board reports that its previous boot ended in a hardware watchdog reset \
             (`Fatal exception:{n} flag:1 ({printed})`{at}, {source}): the firmware hung before \
             this log"
        ),
        "soft_wdt" | "software watchdog" => format!(
            "the board reports that its previous boot ended in a software watchdog reset \
             (`Fatal exception:{n} flag:3 ({printed})`{at}, {source}): the firmware blocked its \
             loop too long before this log"
        ),
        _ => crash_reason(n, &at, source),
    })
}

/// The reason for a previous boot that ended in exception `n` (`at`: where, if known).
fn crash_reason(n: u32, at: &str, source: &str) -> String {
    let name = super::crash::exception_name(n)
        .map(|w| format!(" {w}"))
        .unwrap_or_default();
    format!(
        "the board reports that its previous boot ended in a crash: Exception ({n}){name}{at} \
         ({source}); it restarted after crashing before this log, however well it runs now \
         (decode the EPC with the build's ELF)"
    )
}

/// `"RestartReason":"…"` as a string: the reason when it names a crash or a watchdog.
fn restart_string(text: &str) -> Option<String> {
    let i = text.find("\"RestartReason\":\"")?;
    let rest = &text[i + "\"RestartReason\":\"".len()..];
    let said = rest.split('"').next().unwrap_or(rest);
    if let Some(r) = reset_info(said, "Tasmota's RestartReason") {
        return Some(r);
    }
    let lower = said.trim().to_ascii_lowercase();
    let what = match lower.as_str() {
        "exception" => "a crash (an exception)",
        "hardware watchdog" => "a hardware watchdog reset",
        "software watchdog" => "a software watchdog reset",
        "interrupt watchdog" | "task watchdog" | "other watchdog" => "a watchdog reset",
        "brownout" | "reset when the vdd voltage is not stable" => "a brownout",
        _ if lower.contains("watch dog") || lower.contains("watchdog") => "a watchdog reset",
        _ => return None,
    };
    Some(format!(
        "the board reports that its previous boot ended in {what} (Tasmota's RestartReason \
         `{}`): the firmware failed before this log, however well it runs now",
        said.trim()
    ))
}

/// A previous boot's end that one line reports: the reset info string, on its own or as
/// Tasmota's `RestartReason`.
pub(crate) fn restart_reason(text: &str) -> Option<String> {
    restart_string(text).or_else(|| reset_info(text, "the ESP8266 core's reset info"))
}

/// `"Exception":29` on a line: the number.
fn exception_field(text: &str) -> Option<u32> {
    let i = text.find("\"Exception\":")?;
    let n: String = text[i + "\"Exception\":".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    n.parse().ok()
}

/// The first address of `"EPC":["4025abad",…]`.
fn epc_field(text: &str) -> Option<String> {
    let i = text.find("\"EPC\":[\"")?;
    let a: String = text[i + "\"EPC\":[\"".len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (!a.is_empty()).then(|| format!("0x{a}"))
}

/// `STATUS12`'s `StatusSTK` block being read: where it opened, the exception and EPC so far.
#[derive(Debug, Default)]
pub(crate) struct Stk {
    open: Option<usize>,
    exception: Option<u32>,
    epc: Option<String>,
    /// The block has been graded.
    done: bool,
}

impl Stk {
    /// Read one line; the reason once the block has named its exception.
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<String> {
        if text.contains("\"StatusSTK\":{") {
            *self = Stk {
                open: Some(number),
                ..Stk::default()
            };
        }
        let at = self.open?;
        if number > at + STK_WITHIN && self.exception.is_none() {
            self.open = None;
            return None;
        }
        if self.exception.is_none() {
            self.exception = exception_field(text);
        }
        if self.epc.is_none() {
            self.epc = epc_field(text);
        }
        let n = self.exception?;
        if self.done {
            return None;
        }
        // Wait for the EPC while the block goes on (it follows `Reason`).
        if self.epc.is_none() && number <= at + STK_WITHIN {
            return None;
        }
        Some(self.reason(n))
    }

    /// The reason for a block the log ended in before its EPC.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let n = self
            .exception
            .filter(|_| !self.done && self.open.is_some())?;
        Some(self.reason(n))
    }

    fn reason(&mut self, n: u32) -> String {
        self.done = true;
        let at = self
            .epc
            .as_ref()
            .map(|a| format!(" at EPC {a}"))
            .unwrap_or_default();
        let line = self.open.unwrap_or(0);
        format!(
            "line {line}: {}",
            crash_reason(n, &at, "Tasmota's STATUS12 StatusSTK")
        )
    }
}

/// A Tasmota topic that is a command's answer: `…/RESULT`, `…/STATUS`, `…/STATUS12`.
pub(crate) fn command_answer(topic: &str) -> bool {
    let last = topic.rsplit('/').next().unwrap_or(topic);
    last.eq_ignore_ascii_case("result")
        || last
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("status"))
            && last[6..].chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_reasons_that_name_a_crash_or_a_watchdog() {
        let r = restart_reason(
            "00:00:05 MQT: home/DVES_B3FA70/INFO3 = {\"RestartReason\":\"Fatal exception:0 \
             flag:2 (EXCEPTION) epc1:0x40106fc5 epc2:0x00000000 epc3:0x00000000 \
             excvaddr:0x00000000 depc:0x00000000\"}",
        )
        .unwrap_or_default();
        for w in [
            "Exception (0) IllegalInstruction",
            "epc1 0x40106fc5",
            "previous boot",
        ] {
            assert!(r.contains(w), "{r}");
        }
        // A sketch printing ESP.getResetInfo().
        let r = restart_reason(
            "Reset info: Fatal exception:29 flag:2 (EXCEPTION) epc1:0x4000df64 epc2:0x00000000",
        )
        .unwrap_or_default();
        assert!(r.contains("Exception (29) StoreProhibited"), "{r}");
        let r =
            restart_reason("Fatal exception:4 flag:1 (WDT) epc1:0x40105aa0").unwrap_or_default();
        assert!(
            r.contains("hardware watchdog") && r.contains("flag:1 (WDT)"),
            "{r}"
        );
        // ESPHome's debug component names the flag in words.
        let r = restart_reason(
            "[D][debug:193]: Reset Info: Fatal exception:4 flag:1 (Hardware Watchdog) \
             epc1:0x40102ff5",
        )
        .unwrap_or_default();
        assert!(
            r.contains("hardware watchdog reset (`Fatal exception:4 flag:1 (Hardware Watchdog)`"),
            "{r}"
        );
        let r = restart_reason("Fatal exception:0 flag:3 (SOFT_WDT)").unwrap_or_default();
        assert!(r.contains("software watchdog"), "{r}");
        for s in [
            "Exception",
            "Hardware Watchdog",
            "Software Watchdog",
            "Brownout",
        ] {
            let line = format!("MQT: tele/x/INFO3 = {{\"RestartReason\":\"{s}\"}}");
            assert!(restart_reason(&line).is_some(), "{line}");
        }
        for line in [
            "MQT: tele/x/INFO3 = {\"RestartReason\":\"Power On\"}",
            "MQT: tele/x/INFO3 = {\"RestartReason\":\"Software/System restart\"}",
            "MQT: tele/x/INFO3 = {\"RestartReason\":\"External System\"}",
            // The SDK's live crash (this log's), and prose.
            "Fatal exception 28(LoadProhibitedCause):",
            "Fatal exception:",
            "the fatal exception: was handled",
        ] {
            assert_eq!(restart_reason(line), None, "{line}");
        }
    }

    #[test]
    fn status12s_stack_block_pretty_printed_or_on_one_line() {
        let lines = [
            "17:13:55.146 MQT: stat/tasmota_8D8936/STATUS12 = {",
            "  \"StatusSTK\":{",
            "    \"Exception\":29,",
            "    \"Reason\":\"Exception\",",
            "    \"EPC\":[\"4025abad\",\"00000000\",\"00000000\"],",
            "    \"EXCVADDR\":\"00000000\",",
        ];
        let mut stk = Stk::default();
        let said: Vec<_> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| stk.line(i + 1, l))
            .collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("Exception (29) StoreProhibited"),
            "{}",
            said[0]
        );
        assert!(said[0].contains("at EPC 0x4025abad"), "{}", said[0]);
        assert_eq!(stk.finish(), None);

        let mut stk = Stk::default();
        let one = "MQT: stat/t/STATUS12 = {\"StatusSTK\":{\"Exception\":3,\"Reason\":\"Exception\",\"EPC\":[\"40100da4\"]}}";
        assert!(
            stk.line(1, one)
                .is_some_and(|r| r.contains("Exception (3)"))
        );

        // Cut before the EPC: graded at the end.
        let mut stk = Stk::default();
        assert_eq!(stk.line(1, "\"StatusSTK\":{"), None);
        assert_eq!(stk.line(2, "\"Exception\":28,"), None);
        assert!(stk.finish().is_some_and(|r| r.contains("Exception (28)")));

        // An `Exception` field far from any StatusSTK, or none at all.
        let mut stk = Stk::default();
        assert_eq!(stk.line(1, "{\"Exception\":29}"), None);
        assert_eq!(stk.line(2, "\"StatusSTK\":{"), None);
        for n in 3..10 {
            assert_eq!(stk.line(n, "\"Reason\":\"None\""), None);
        }
        assert_eq!(stk.line(10, "\"Exception\":29,"), None);
        assert_eq!(stk.finish(), None);
    }

    #[test]
    fn command_answers_are_result_and_status_topics() {
        for t in [
            "stat/tasmota_650431/RESULT",
            "stat/t/STATUS12",
            "stat/t/STATUS",
            "home/x/RESULT",
        ] {
            assert!(command_answer(t), "{t}");
        }
        for t in [
            "tele/t/LWT",
            "tele/t/STATE",
            "stat/t/POWER",
            "tele/t/INFO3",
            "stat/t/STATUSX",
            "é",
        ] {
            assert!(!command_answer(t), "{t}");
        }
    }
}
