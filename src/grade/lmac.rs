//! The ESP8266 SDK's `LmacRxBlk:1`: the Wi-Fi MAC found its receive buffers full and is
//! blocking reception (the firmware does not read what arrives, or a loop that never yields
//! starves the SDK). A line or two of it passes; a log that ends on a long run of it (only the
//! SDK's `wifi evt:` between) shows a module that stopped receiving.

/// How many `LmacRxBlk` lines in a row at the log's end say the module stopped receiving.
const RUN: usize = 8;

/// The run of `LmacRxBlk` lines going on at the log's end.
#[derive(Debug, Default)]
pub(crate) struct Blocked {
    /// Lines of the current run, and the line it started at.
    run: usize,
    from: usize,
}

/// The SDK's line, `LmacRxBlk:1`, also cut at the log's end (`LmacRxBlk`) or glued behind
/// other output that did not end its line.
fn blocked_line(t: &str) -> bool {
    t.starts_with("LmacRxBlk") || t.ends_with("LmacRxBlk:1")
}

impl Blocked {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str) {
        let t = text.trim();
        if blocked_line(t) {
            if self.run == 0 {
                self.from = number;
            }
            self.run += 1;
        } else if !(t.is_empty() || t.starts_with("wifi evt:")) {
            self.run = 0;
        }
    }

    /// Why the log's end is a fault, when it ends on a long run.
    pub(crate) fn verdict(&self) -> Option<String> {
        (self.run >= RUN).then(|| {
            format!(
                "line {}: the ESP8266's Wi-Fi MAC reports `LmacRxBlk:1` {} times in a row up to \
                 the log's end: its receive buffers are full and it blocks reception, so the \
                 module takes in nothing more (the firmware does not read the data that arrives, \
                 or a loop that does not yield starves the Wi-Fi stack)",
                self.from, self.run
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[&str]) -> Blocked {
        let mut b = Blocked::default();
        for (i, l) in lines.iter().enumerate() {
            b.line(i + 1, l);
        }
        b
    }

    #[test]
    fn a_log_that_ends_on_a_long_run_is_blocked() {
        let mut lines = vec!["station: b8:76:3f:45:64:43 join, AID = 1", "wifi evt: 5"];
        lines.extend(["LmacRxBlk:1"; 5]);
        lines.push("wifi evt: 7");
        lines.extend(["LmacRxBlk:1"; 4]);
        lines.push("LmacRxBlk");
        let why = feed(&lines).verdict().unwrap_or_default();
        assert!(why.contains("LmacRxBlk:1` 10 times"), "{why}");
        assert!(why.starts_with("line 3:"), "{why}");
    }

    #[test]
    fn a_few_or_a_run_the_firmware_recovered_from_is_not() {
        assert!(
            feed(&["LmacRxBlk:1", "LmacRxBlk:1", "etc."])
                .verdict()
                .is_none()
        );
        let mut lines = vec!["LmacRxBlk:1"; 12];
        lines.push("HTTP request sent, 200 OK");
        assert!(feed(&lines).verdict().is_none());
        assert!(
            feed(&["the FAQ says LmacRxBlk means full buffers"; 9])
                .verdict()
                .is_none()
        );
    }
}
