//! The task watchdog's own report, read for the tasks it names: the ones that did not reset it in
//! time (` - async_tcp (CPU 1)`) and what each CPU was running (`CPU 0: IDLE0`). ESP-IDF 3 to 5
//! and every Arduino-ESP32 core print it the same way, with or without the `E (t) task_wdt:` tag.

/// What the report's lines name.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// `async_tcp (CPU 1)`: as printed, the tasks that did not reset the watchdog.
    pub starved: Vec<String>,
    /// `CPU 0: IDLE0`: as printed, what each CPU was running when it fired.
    pub running: Vec<String>,
}

/// The report's part of a line: after the `task_wdt:` tag when there is one.
fn body(line: &str) -> &str {
    line.find("task_wdt:")
        .map_or(line, |i| &line[i + 9..])
        .trim()
}

/// Read the watchdog's report from the lines after its headline (it stops at the first line
/// that is not the report's: `Aborting.`, the backtrace).
pub(crate) fn read(block: &[String]) -> Report {
    let mut r = Report::default();
    for line in block {
        let b = body(line);
        if let Some(task) = b.strip_prefix("- ") {
            // ` - async_tcp (CPU 0/1)`: a task name has no spaces; its CPU follows in brackets.
            let task = task.trim();
            if !task.is_empty() && task.len() <= 40 && r.starved.len() < 8 {
                r.starved.push(task.to_owned());
            }
        } else if let Some(rest) = b.strip_prefix("CPU ") {
            let mut parts = rest.splitn(2, ':');
            let (cpu, task) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or("").trim(),
            );
            let cpu_ok =
                !cpu.is_empty() && cpu.len() <= 2 && cpu.chars().all(|c| c.is_ascii_digit());
            if cpu_ok && !task.is_empty() && !task.contains(' ') && r.running.len() < 8 {
                r.running.push(format!("CPU {cpu}: {task}"));
            }
        } else if b.is_empty()
            || b.starts_with("Tasks currently running")
            || b.starts_with("The following")
        {
            continue;
        } else if !r.starved.is_empty() || !r.running.is_empty() {
            // `Aborting.`, `Print CPU 0 (current core) backtrace`, the backtrace: the list is over.
            break;
        }
    }
    r
}

/// The task watchdog's reason, naming what its report names.
pub(crate) fn describe(block: &[String]) -> String {
    let r = read(block);
    // ESP-IDF's tag, as the user searches for it, when the report printed it.
    let tag = if block.iter().any(|l| l.contains("task_wdt:")) {
        " (`task_wdt`)"
    } else {
        ""
    };
    let mut s =
        format!("the ESP32 task watchdog{tag} fired: a task hogged its CPU without yielding");
    if !r.starved.is_empty() {
        s.push_str(&format!(
            "; the task(s) that did not reset it in time: {}",
            r.starved.join(", ")
        ));
    }
    if !r.running.is_empty() {
        s.push_str(&format!(
            "; running when it fired: {}",
            r.running.join(", ")
        ));
    }
    let idle = r.starved.iter().any(|t| t.starts_with("IDLE"));
    let busy: Vec<&str> = r
        .running
        .iter()
        .filter_map(|c| c.split(": ").nth(1))
        .filter(|t| !t.starts_with("IDLE"))
        .collect();
    if idle && !busy.is_empty() {
        // The idle task is watched only so that a busy task shows up: it never got the CPU.
        s.push_str(&format!(
            " (an idle task got no CPU time: {} kept its CPU busy)",
            busy.join(" or ")
        ));
    }
    // A panic the watchdog's interrupt ran into (the ESP8266 RTOS SDK and ESP-AT print the
    // watchdog's line, then the Guru Meditation of the task it interrupted).
    let guru = block
        .iter()
        .take(4)
        .find(|l| l.to_ascii_lowercase().contains("guru meditation error"));
    if let Some(g) = guru {
        let d = super::describe("guru-meditation", g, block);
        let d = d.strip_prefix("the board crashed: ").unwrap_or(&d);
        s.push_str(&format!("; then the panic handler reported {d}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_owned).collect()
    }

    #[test]
    fn idf_tagged_report_names_the_starved_task_and_both_cpus() {
        let block = lines(
            "E (77747) task_wdt:  - async_tcp (CPU 1)\n\
             E (77747) task_wdt: Tasks currently running:\n\
             E (77747) task_wdt: CPU 0: IDLE\n\
             E (77747) task_wdt: CPU 1: async_tcp\n\
             E (77747) task_wdt: Print CPU 0 (current core) backtrace\n\
             Backtrace:0x400E897B:0x3FFB0650",
        );
        let d = describe(&block);
        assert!(
            d.contains("did not reset it in time: async_tcp (CPU 1)"),
            "{d}"
        );
        assert!(d.contains("CPU 0: IDLE, CPU 1: async_tcp"), "{d}");
    }

    #[test]
    fn untagged_arduino_report_with_a_starved_idle_task_names_the_busy_one() {
        // arduino-esp32 1.0.x (ESP-IDF 3.x) prints the report with no log tag.
        let block = lines(
            " - IDLE0 (CPU 0)\n\
             Tasks currently running:\n\
             CPU 0: loopTask\n\
             CPU 1: IDLE1\n\
             Aborting.\n\
             abort() was called at PC 0x400d4a8b on core 0",
        );
        let d = describe(&block);
        assert!(d.contains("in time: IDLE0 (CPU 0)"), "{d}");
        assert!(d.contains("CPU 0: loopTask, CPU 1: IDLE1"), "{d}");
        assert!(d.contains("loopTask kept its CPU busy"), "{d}");
    }

    #[test]
    fn a_guru_meditation_right_after_the_watchdog_is_named() {
        let block = lines(
            "Guru Meditation Error: Core  0 panic'ed (Guru Meditation Error: Core  0 panic'ed \
             (LoadProhibited). Exception was unhandled\n\
             Core 0 register dump:\n\
             PC      : 0x402541cb  PS      : 0x00000033",
        );
        let d = describe(&block);
        assert!(
            d.starts_with("the ESP32 task watchdog fired")
                && d.contains("then the panic handler reported Guru Meditation Error (LoadProhibited) at PC 0x402541cb"),
            "{d}"
        );
    }

    #[test]
    fn a_report_cut_after_its_headline_still_says_task_watchdog() {
        let d = describe(&[]);
        assert_eq!(
            d,
            "the ESP32 task watchdog fired: a task hogged its CPU without yielding"
        );
    }
}
