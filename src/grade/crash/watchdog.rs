//! A Guru Meditation whose kind is a watchdog, said in plain words: ESP-IDF's panic handler names
//! it in its own shorthand (`Interrupt wdt timeout on CPU0`), and a user searches for "watchdog".

/// What the watchdog in a Guru Meditation's kind (the text in its parentheses) means, or `None`
/// when the kind is no watchdog (`LoadProhibited`, a `Stack canary watchpoint`).
pub(super) fn plain_words(kind: &str) -> Option<String> {
    let lower = kind.to_ascii_lowercase();
    let words = |w: &str| {
        lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| t == w)
    };
    if !(words("wdt") || words("watchdog") || words("wdog")) {
        return None;
    }
    let cpu = lower
        .find("cpu")
        .map(|i| &kind[i..])
        .and_then(|t| t.split_whitespace().next())
        .map(|t| format!(" on {}", t.trim_end_matches([')', '.', ','])))
        .unwrap_or_default();
    Some(if words("interrupt") {
        format!(
            "the interrupt watchdog fired{cpu}: an interrupt handler or a critical section \
             (interrupts off, a spinlock) ran too long, or the CPU was stuck with interrupts \
             disabled"
        )
    } else if words("task") {
        format!(
            "the task watchdog fired{cpu}: a task ran without yielding and starved the idle task"
        )
    } else if words("rtc") {
        "the RTC watchdog fired: the whole chip stopped making progress (a hang in boot, flash \
         access or a long stall)"
            .to_owned()
    } else {
        format!("a watchdog fired{cpu}: the firmware stopped making progress in time")
    })
}

#[cfg(test)]
mod tests {
    use super::plain_words;

    #[test]
    fn watchdog_kinds_are_said_in_plain_words() {
        let w = plain_words("Interrupt wdt timeout on CPU0").unwrap_or_default();
        assert!(
            w.contains("interrupt watchdog") && w.contains("on CPU0"),
            "{w}"
        );
        let w = plain_words("Interrupt wdt timeout on CPU1").unwrap_or_default();
        assert!(w.contains("on CPU1"), "{w}");
        let w = plain_words("Task watchdog").unwrap_or_default();
        assert!(w.contains("task watchdog"), "{w}");
        let w = plain_words("RTC WDT timeout").unwrap_or_default();
        assert!(w.contains("RTC watchdog"), "{w}");
        // Near misses: not a watchdog.
        for kind in [
            "LoadProhibited",
            "Unhandled debug exception",
            "Stack canary watchpoint triggered (loopTask)",
            "Cache disabled but cached memory region accessed",
            "IllegalInstruction",
        ] {
            assert_eq!(plain_words(kind), None, "{kind}");
        }
    }
}
