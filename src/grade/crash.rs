//! Crash, watchdog, brownout and reset signatures of the ESP8266 (core postmortem, ROM banner) and
//! the ESP32 (panic handler, ROM banner), and how each ends its register/stack block.

/// What a line announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Signal {
    /// A crash; the block that follows belongs to it until `end`.
    Crash { kind: &'static str, end: BlockEnd },
    /// A ROM boot banner: the chip (re)started. `cause` is as printed (`2`, `SW_CPU_RESET`).
    Boot { cause: String },
}

/// How a crash's register/stack block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockEnd {
    /// ESP8266 postmortem: `<<<stack<<<`.
    StackEnd,
    /// ESP32 panic handler: the `Backtrace:` line.
    Backtrace,
    /// ESP-IDF task watchdog: one `Backtrace:` per CPU it listed as running (`CPU 1: IDLE1`).
    Backtraces,
    /// espcoredump.py's text report: its `CORE DUMP END` line.
    ReportEnd,
    /// Nothing follows worth waiting for.
    Immediate,
}

/// Lines of a crash block kept for the report (a deep ESP8266 stack dump is ~100 lines).
pub(crate) const BLOCK_LIMIT: usize = 160;

/// Classify one line. `lower` is `text` in ASCII lower case.
pub(crate) fn classify(text: &str, lower: &str) -> Option<Signal> {
    // Cheap gate: every signature has one of these letters in a fixed place; most lines have none.
    if !(lower.contains("exception")
        || lower.contains("wdt")
        || lower.contains("rst")
        || lower.contains("guru")
        || lower.contains("abort")
        || lower.contains("panic")
        || lower.contains("brownout")
        || lower.contains("watchdog")
        || lower.contains("flash read err")
        || lower.contains("load:0xffffffff")
        || lower.contains("assert_")
        || lower.contains("invalid header")
        || lower.contains("corrupt heap")
        || lower.contains("assert failed")
        || lower.contains("stack overflow")
        || lower.contains("stack smashing")
        || lower.contains("register dump")
        || lower.contains("core dump start")
        || lower.contains("backtrace:")
        || lower.contains("ctx: ")
        || lower.contains(">>>stack>>>")
        || lower.contains("decoding stack results")
        || lower.starts_with("3ff"))
    {
        return None;
    }
    if core_dump_report(lower) {
        // The host's `espcoredump.py info_corefile` (or `idf.py coredump-info`) report of a dump
        // the board saved: the crashed task and its registers follow.
        return Some(Signal::Crash {
            kind: "core-dump-report",
            end: BlockEnd::ReportEnd,
        });
    }
    if lower.contains("brownout detector was triggered") {
        return Some(Signal::Crash {
            kind: "brownout",
            end: BlockEnd::Immediate,
        });
    }
    if guru_at(lower).is_some() {
        return Some(Signal::Crash {
            kind: "guru-meditation",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.trim_start().starts_with("corrupt heap:") {
        // Heap poisoning found a damaged block; its assert and abort follow, then a Backtrace.
        return Some(Signal::Crash {
            kind: "heap-corrupt",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.trim_end().ends_with("- assert failed!") {
        // FreeRTOS's configASSERT in ESP-IDF 1.x/2.x: `…/tasks.c:601 (xTaskGenericCreate)- assert
        // failed!`; the panic follows.
        return Some(Signal::Crash {
            kind: "abort",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.trim_start().starts_with("assert failed:") {
        // ESP-IDF 4.4 and later: `assert failed: multi_heap_free multi_heap_poisoning.c:253 (…)`.
        return Some(Signal::Crash {
            kind: "abort",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.contains("stack smashing protect failure") {
        // The stack protector's canary was overwritten; `abort()` and a Backtrace follow.
        return Some(Signal::Crash {
            kind: "stack-smashing",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.contains("***error*** a stack overflow in task") {
        return Some(Signal::Crash {
            kind: "stack-overflow",
            end: BlockEnd::Backtrace,
        });
    }
    if bt_controller_assert(text) {
        // The Bluetooth controller's own check failed (`ASSERT_PARAM(576 0), in rwble.c at line
        // 390`); it stops the CPU on purpose, and the panic handler's Guru Meditation follows.
        return Some(Signal::Crash {
            kind: "bt-assert",
            end: BlockEnd::Backtrace,
        });
    }
    if let Some(kind) = rom_boot_error(lower) {
        return Some(Signal::Crash {
            kind,
            end: BlockEnd::Immediate,
        });
    }
    if lower.contains("soft wdt reset") {
        return Some(Signal::Crash {
            kind: "soft-wdt",
            end: BlockEnd::StackEnd,
        });
    }
    if lower.contains("task watchdog got triggered") {
        return Some(Signal::Crash {
            kind: "task-wdt",
            end: BlockEnd::Backtraces,
        });
    }
    if decoder_headline(text) {
        // The exception decoder's output pasted instead of the crash: its block is decoded
        // frames, not the postmortem's rows.
        return Some(Signal::Crash {
            kind: "exception",
            end: BlockEnd::Immediate,
        });
    }
    if text.starts_with("Exception (")
        || (lower.starts_with("fatal exception") && !sdk_reset_report_without_crash(lower))
    {
        return Some(Signal::Crash {
            kind: "exception",
            end: BlockEnd::StackEnd,
        });
    }
    if lower.contains("abort() was called") {
        return Some(Signal::Crash {
            kind: "abort",
            end: BlockEnd::Backtrace,
        });
    }
    if lower.starts_with("abort called")
        || lower.starts_with("user exception (panic/abort/assert)")
        || lower.starts_with("unhandled c++ exception")
        || (lower.starts_with("panic ") && text.contains(".cpp:"))
    {
        return Some(Signal::Crash {
            kind: "abort",
            end: BlockEnd::StackEnd,
        });
    }
    if let Some(kind) = headless(text) {
        return Some(Signal::Crash {
            kind,
            end: match kind {
                "register-dump" => BlockEnd::Backtrace,
                "stack-dump" => BlockEnd::StackEnd,
                _ => BlockEnd::Immediate,
            },
        });
    }
    if let Some(cause) = boot_cause(text) {
        return Some(Signal::Boot { cause });
    }
    None
}

/// The opening line of espcoredump.py's text report, `==================== ESP32 CORE DUMP
/// START ====================` (the chip's name, then the words between rows of `=`); not the
/// panic handler's `================= CORE DUMP START =================`, which opens base64.
fn core_dump_report(lower: &str) -> bool {
    let t = lower.trim().trim_matches('=').trim();
    t.strip_suffix("core dump start")
        .is_some_and(|chip| chip.trim_end().starts_with("esp") && chip.ends_with(' '))
}

/// What espcoredump.py's report says about the crash: the crashed task (`Crashed task handle:
/// 0x3ffe3958, name: 'wifi', GDB name: …`), the cause register as gdb names it (`exccause 0x1d
/// (StoreProhibitedCause)`, RISC-V `mcause`), ESP-IDF 5's `Panic reason: …`, and the PC with its
/// symbol (`pc 0x4002eae1
/// 0x4002eae1 <panic_abort+21>`).
fn describe_core_dump_report(block: &[String]) -> String {
    let register = |name: &str| {
        block.iter().find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(name)).then(|| words.collect::<Vec<_>>())
        })
    };
    let task = block.iter().find_map(|l| {
        let i = l.find("name: '")?;
        let rest = &l[i + 7..];
        rest.find('\'').map(|j| rest[..j].to_owned())
    });
    let mut s = match task {
        Some(t) => format!(
            "the board crashed: its core dump (espcoredump.py's report) says task '{t}' crashed"
        ),
        None => "the board crashed: the log shows a core dump's report (espcoredump.py)".to_owned(),
    };
    let pc = register("pc");
    let symbol = pc
        .as_ref()
        .and_then(|w| w.iter().find(|w| w.starts_with('<')).map(|w| w.to_string()));
    let aborted = symbol.as_deref().is_some_and(|s| s.contains("abort"));
    if let Some(w) = &pc
        && let Some(at) = w.first()
    {
        s.push_str(&format!(" at pc {at}"));
        if let Some(sym) = &symbol {
            s.push_str(&format!(" {sym}"));
        }
    }
    // ESP-IDF 5 records the panic's message in the dump: it says more than any register.
    let panic = block
        .iter()
        .find_map(|l| l.trim().strip_prefix("Panic reason:").map(str::trim));
    if let Some(why) = panic {
        s.push_str(&format!(", panic reason `{why}`"));
    } else if let Some(cause) = register("exccause").or_else(|| register("mcause")) {
        let value = cause.first().copied().unwrap_or_default();
        let named = cause
            .get(1)
            .map(|n| n.trim_matches(['(', ')']).to_owned())
            .or_else(|| {
                u32::from_str_radix(value.trim_start_matches("0x"), 16)
                    .ok()
                    .and_then(exception_name)
                    .map(str::to_owned)
            });
        let cause = match named {
            Some(n) => format!("{value} ({n})"),
            None => value.to_owned(),
        };
        if aborted {
            s.push_str(&format!(
                ": the firmware called abort() (the cause {cause} is how ESP-IDF's panic_abort \
                 stops the CPU, a deliberate write to address 0, not the bug; the caller of \
                 abort() in the backtrace is where it gave up)"
            ));
        } else {
            s.push_str(&format!(", cause {cause}"));
        }
    }
    s.push_str(
        "; the report's CURRENT THREAD STACK is the crashed task's backtrace, decoded with the ELF \
         it names",
    );
    s
}

/// A crash's body whose headline the log does not show (it starts after it, or the headline
/// was lost): an ESP32 `Core  0 register dump:`, a bare `Backtrace: 0x…:0x…`, an ESP8266
/// postmortem's `ctx: cont` or `>>>stack>>>`. Only a crash when no crash came before: after a
/// headline these lines are its block (or the second core's part of it).
fn headless(text: &str) -> Option<&'static str> {
    let t = text.trim_start();
    if t.starts_with("Core ") && t.trim_end().ends_with("register dump:") {
        return Some("register-dump");
    }
    if is_backtrace(t) && t.contains(":0x") {
        return Some("backtrace-only");
    }
    let ctx = t
        .strip_prefix("ctx: ")
        .is_some_and(|c| matches!(c.trim(), "cont" | "sys" | "bearssl"));
    if t.trim_end() == "Decoding stack results" {
        // The exception decoder's output alone: the crash it decoded was not pasted.
        return Some("decoded-stack");
    }
    if ctx || t.starts_with(">>>stack>>>") || stack_row(t) {
        return Some("stack-dump");
    }
    None
}

/// The ESP8266/ESP32 exception decoder's (EspExceptionDecoder, esp-exception-decoder) first
/// line: `Exception 3: LoadStoreError: Processor internal physical address or data error …`.
fn decoder_headline(text: &str) -> bool {
    let Some(rest) = text.trim_start().strip_prefix("Exception ") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(": ")
}

/// A row of the ESP8266 postmortem's stack dump, `3ffffb00:  9779906d 761b1521 f70f8096
/// 4a472fe2`: an address in the stack's RAM, two blanks, four words. A paste that starts in the
/// middle of the dump (the headline and `>>>stack>>>` scrolled off) is still a crash.
fn stack_row(t: &str) -> bool {
    let hex8 = |w: &str| w.len() == 8 && w.bytes().all(|b| b.is_ascii_hexdigit());
    let Some((at, words)) = t.split_once(':') else {
        return false;
    };
    let words: Vec<&str> = words.split_whitespace().collect();
    at.starts_with("3ff") && hex8(at) && words.len() == 4 && words.iter().all(|w| hex8(w))
}

/// Whether `kind` is one of [`headless`]'s: a crash only if none was seen before it.
pub(crate) fn is_headless(kind: &str) -> bool {
    matches!(
        kind,
        "register-dump" | "backtrace-only" | "stack-dump" | "decoded-stack"
    )
}

/// RISC-V `mcause` exception codes (the privileged ISA's table, as ESP-IDF's panic handler
/// names them).
fn mcause_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0 => "Instruction address misaligned",
        1 => "Instruction access fault",
        2 => "Illegal instruction",
        3 => "Breakpoint",
        4 => "Load address misaligned",
        5 => "Load access fault",
        6 => "Store address misaligned",
        7 => "Store access fault",
        8 | 11 => "Environment call",
        _ => return None,
    })
}

/// Where `Guru Meditation Error` starts in `lower`, wherever the line has it and however many
/// blanks a terminal's line wrap put between the words (`GP : 0x3Guru Meditation      Error:`).
fn guru_at(lower: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find("guru meditation") {
        let at = from + i;
        let rest = &lower[at + "guru meditation".len()..];
        // A paste cut right after the words (`Guru Meditation` alone on the last line).
        let cut_alone = rest.trim().is_empty() && lower[..at].trim().is_empty();
        if rest.trim_start().starts_with("error") || cut_alone {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The ESP32 Bluetooth controller's fatal asserts, `ASSERT_ERR(…), in ke_mem.c at line 1011`
/// and `ASSERT_PARAM(576 0), in rwble.c at line 390` (not `ASSERT_WARN`, which goes on).
fn bt_controller_assert(text: &str) -> bool {
    // Wherever the line has it: a log collector's or a monitor's prefix may come first.
    (text.contains("ASSERT_ERR(") || text.contains("ASSERT_PARAM(")) && text.contains(" at line ")
}

/// The ROM bootloader could not load the second-stage bootloader from flash: ESP32
/// `flash read err, 1000` (then `ets_main.c 371`), `invalid header: 0xffffffff`, and the
/// segment header read as all ones, `load:0xffffffff,len:-1` (blank flash, or read in the wrong
/// flash mode).
fn rom_boot_error(lower: &str) -> Option<&'static str> {
    let t = lower.trim_start();
    if t.starts_with("flash read err") {
        Some("flash-read-err")
    } else if t.starts_with("invalid header:") {
        Some("invalid-header")
    } else if t.starts_with("load:0xffffffff,len:-1") {
        Some("load-blank")
    } else {
        None
    }
}

/// What the panic handler's `Debug exception reason:` line adds to an `Unhandled debug
/// exception`: a stack overflow caught by the canary, or the watchpoint or break that fired.
fn debug_exception_reason(block: &[String]) -> Option<String> {
    let line = block.iter().find_map(|l| {
        let i = l.find("Debug exception reason:")?;
        Some(l[i + "Debug exception reason:".len()..].trim())
    })?;
    if let Some(rest) = line.strip_prefix("Stack canary watchpoint triggered") {
        let task = rest.trim().trim_matches(['(', ')']).trim();
        let task = if task.is_empty() { "a task" } else { task };
        return Some(format!(
            ": {task} overflowed its stack (Stack canary watchpoint triggered), give it a bigger \
             stack or use less of it"
        ));
    }
    Some(format!(" ({line})"))
}

/// The tail of an ESP-IDF panic whose start the log missed: the handler's bare
/// `ELF file SHA256: …` (the boot log prints it behind a tag, `I (…) cpu_start: ELF file …`),
/// and its last line, a bare `Rebooting...`, unless the line `before` it says an update
/// succeeded (ESP8266HTTPUpdateServer's `Update Success: 228624`, then `Rebooting...`).
pub(crate) fn panic_tail(text: &str, before: &str) -> bool {
    let deliberate = || {
        let b = before.to_ascii_lowercase();
        b.contains("success") || b.contains("succeed") || b.contains("update ok")
    };
    text.trim_start().starts_with("ELF file SHA256:")
        || core_dump_unsaved(text)
        || (text.trim() == "Rebooting..." && !deliberate())
}

/// The panic handler's `E (638) esp_core_dump_flash: Core dump flash config is corrupted!`: it
/// tried to save a core dump after a panic (no valid coredump partition).
fn core_dump_unsaved(text: &str) -> bool {
    text.to_ascii_lowercase()
        .contains("esp_core_dump_flash: core dump flash config is corrupted")
}

/// The ESP8266 NONOS SDK's report of the last reset at start-up, `Fatal exception:0 flag:6
/// (EXT_SYS_RST) epc1:0x00000000 …`, whose flag (`rst_info.reason`) is not an exception (2) or
/// a watchdog (1, 3): power-on (0), software restart (4), deep-sleep wake-up (5) or the reset
/// pin (6). Despite its words it reports no crash; the crash's own `Exception (N):` says more.
fn sdk_reset_report_without_crash(lower: &str) -> bool {
    let Some(rest) = lower.strip_prefix("fatal exception:") else {
        return false;
    };
    let flag = rest.split_once(" flag:").and_then(|(_, f)| {
        f.chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse::<u32>()
            .ok()
    });
    matches!(flag, Some(0 | 4 | 5 | 6))
}

/// The reset cause of a ROM boot banner: ESP8266 ` ets Jan  8 2013,rst cause:2, boot mode:(3,6)`,
/// ESP32 `rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)`.
fn boot_cause(text: &str) -> Option<String> {
    if let Some(i) = text.find("rst cause:") {
        let digits: String = text[i + 10..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if !digits.is_empty() {
            return Some(digits);
        }
    }
    if let Some(i) = text.find("rst:0x") {
        let rest = &text[i + 4..];
        // Prefer the name in parentheses; fall back to the number.
        if let (Some(o), Some(c)) = (rest.find('('), rest.find(')'))
            && o < c
            && o < 8
        {
            return Some(rest[o + 1..c].to_owned());
        }
        let code: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        return Some(code);
    }
    None
}

/// Whether a ROM boot banner says the chip started in its serial download mode, waiting for a
/// flasher: `boot:0x5 (DOWNLOAD(USB/UART0/1))`, `boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))`
/// on the ESP32 family, `boot mode:(1,7)` on the ESP8266.
pub(crate) fn download_mode(text: &str) -> bool {
    text.find("boot:0x")
        .is_some_and(|i| text[i..].contains("(DOWNLOAD"))
        || text.contains("boot mode:(1,")
}

/// Whether a ROM boot banner's line has an ESP-IDF log line before the banner (`I (437)
/// cpu_start: Multicore app␛[0m ESP-ROM:esp32s3-20210327 … rst:0x10 …`, a log whose line
/// breaks were lost): the app was running when the chip reset, even at the log's first banner.
pub(crate) fn app_output_before_banner(text: &str) -> bool {
    let Some(at) = ["ESP-ROM:", "ets ", "rst:0x"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
    else {
        return false;
    };
    let before = &text[..at];
    ["I (", "W (", "E (", "D ("].iter().any(|tag| {
        before.match_indices(tag).any(|(i, _)| {
            before[i + tag.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    })
}

/// Whether the ROM boot banner on `text` cut the firmware's own output mid-line (`count: 1,
/// printing a long message, The quick browets Jun  8 2016 00:22:57`): the chip reset while the
/// firmware was printing. The text before the banner must read as words, not as the few garbage
/// bytes a power-up prints.
pub(crate) fn output_cut_by_banner(text: &str) -> bool {
    let Some(at) = ["ets Jun  8 2016", "ets Jan  8 2013", "ESP-ROM:"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
    else {
        return false;
    };
    let before = text[..at].trim();
    let mut word = 0;
    let mut longest = 0;
    for c in before.chars() {
        if !(c.is_ascii_graphic() || c == ' ') {
            return false;
        }
        word = if c.is_ascii_alphabetic() { word + 1 } else { 0 };
        longest = longest.max(word);
    }
    longest >= 4
}

/// Whether `text`, the last of the block's `lines` so far, ends a block that ends with `end`.
pub(crate) fn ends_block(end: BlockEnd, text: &str) -> bool {
    match end {
        BlockEnd::StackEnd => text.contains("<<<stack<<<"),
        BlockEnd::Backtrace => is_backtrace(text),
        // Over only at the first line that is not watchdog output: see [`block_over`].
        BlockEnd::Backtraces => false,
        BlockEnd::ReportEnd => text.contains("CORE DUMP END"),
        BlockEnd::Immediate => true,
    }
}

fn is_backtrace(text: &str) -> bool {
    text.trim_start().starts_with("Backtrace:")
}

/// Whether a task-watchdog block is over before `text`: it printed a backtrace (one per CPU
/// whose task starved: one or both, by ESP-IDF version), and `text` is none of the watchdog's
/// lines (`E (…) task_wdt: …`, `Backtrace:`, a monitor's decoded `0x…: f at …`, blank).
/// On a RISC-V chip each CPU's part is a register dump and its `Stack memory:` instead of a
/// `Backtrace:` line.
pub(crate) fn block_over(end: BlockEnd, text: &str, lines: &[String]) -> bool {
    let t = text.trim();
    let next_report = t.contains("Task watchdog got triggered");
    end == BlockEnd::Backtraces
        && lines
            .iter()
            .any(|l| is_backtrace(l) || l.trim_start().starts_with("Stack memory:"))
        && (next_report
            || !(t.is_empty()
                || is_backtrace(t)
                || t.contains("task_wdt")
                || t.starts_with("0x")
                || riscv_dump_line(t)))
}

/// A line of a RISC-V register dump or of the stack memory printed with it.
fn riscv_dump_line(t: &str) -> bool {
    let register = |s: &str| {
        s.split_once(':').is_some_and(|(name, value)| {
            let name = name.trim();
            !name.is_empty()
                && name.len() <= 8
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '/')
                && value.trim_start().starts_with("0x")
        })
    };
    let memory_row = t.split_once(':').is_some_and(|(at, rest)| {
        at.len() == 8
            && at.chars().all(|c| c.is_ascii_hexdigit())
            && rest.trim_start().starts_with("0x")
    });
    (t.starts_with("Core ") && t.contains("register dump"))
        || t.starts_with("Stack memory:")
        || memory_row
        || register(t)
}

/// Whether a reset cause says a watchdog killed the firmware that ran before: ESP32 timer-group
/// and RTC system/CPU watchdogs (`TG1WDT_SYS_RESET`, `RTCWDT_SYS_RST`, `SUPER_WDT_RST`) and the
/// ESP8266's hardware watchdog (`rst cause:4`). Not `RTCWDT_RTC_RESET`: an ESP32 reports that at
/// many ordinary power-ups.
pub(crate) fn killed_by_watchdog(cause: &str) -> bool {
    cause == "4" || (cause.contains("WDT") && !cause.contains("RTCWDT_RTC"))
}

/// Whether a reset cause is one a person or a tool asks for: power-on, the reset pin (which
/// serial monitors and esptool pulse through DTR/RTS), or the USB serial's own chip reset.
pub(crate) fn reset_by_hand(cause: &str) -> bool {
    matches!(cause, "1" | "6")
        || ["POWERON", "EXT_SYS", "USB_UART", "USB_JTAG"]
            .iter()
            .any(|c| cause.contains(c))
}

/// What a reset cause means, in words, and whether it is a fault by itself.
pub(crate) fn explain_cause(cause: &str) -> (String, bool) {
    let (words, fault) = match cause {
        "0" => ("unknown", false),
        "1" => ("power-on", false),
        "2" => ("reset pin or restart after a crash", false),
        "3" => ("software restart", false),
        "4" => ("hardware watchdog", false),
        "5" => ("deep-sleep wake-up", false),
        "6" => ("external reset", false),
        c if c.contains("BROWNOUT") => ("brownout: the supply voltage sagged", true),
        c if c.contains("WDT") => ("watchdog", false),
        c if c.contains("POWERON") => ("power-on", false),
        c if c.contains("SW_CPU") || c.contains("SW_SYS") => ("software restart", false),
        c if c.contains("DEEPSLEEP") => ("deep-sleep wake-up", false),
        _ => ("", false),
    };
    let text = if words.is_empty() {
        cause.to_owned()
    } else if cause.chars().all(|c| c.is_ascii_digit()) {
        format!("rst cause:{cause}, {words}")
    } else {
        format!("{cause}, {words}")
    };
    (text, fault)
}

/// What the reason of a crash suggests doing when no ELF decoded it; [`super::decode`] swaps it
/// for the decoded crash site.
pub(crate) const HINT_DECODER: &str = "; paste the stack into the ESP exception decoder";
pub(crate) const HINT_BACKTRACE: &str =
    "; decode the Backtrace with the ELF (espflash/idf.py monitor do it)";
pub(crate) const HINT_UNWIND: &str =
    "; give the ELF (--elf) to unwind the stack memory into a backtrace";
pub(crate) const HINT_ABORT_STACK: &str = "; decode the stack to find the failed assert or panic";

/// Xtensa exception cause names (ESP8266 `Exception (N):`): the EXCCAUSE table of the Xtensa ISA
/// as the esp8266 core documents it (doc/Troubleshooting/exception_causes.rst).
pub(crate) fn exception_name(n: u32) -> Option<&'static str> {
    Some(match n {
        0 => "IllegalInstruction",
        1 => "Syscall",
        2 => "InstructionFetchError",
        3 => "LoadStoreError: a byte-wide access to IRAM/flash",
        4 => "Level1Interrupt (a watchdog or an interrupt during a crash)",
        5 => "Alloca",
        6 => "IntegerDivideByZero",
        7 | 10 | 11 | 19 | 21..=23 | 27 | 30 | 31 => "Reserved",
        8 => "Privileged",
        9 => "LoadStoreAlignment: an unaligned access",
        12 => "InstrPIFDataError",
        13 => "LoadStorePIFDataError",
        14 => "InstrPIFAddrError",
        15 => "LoadStorePIFAddrError",
        16 => "InstTLBMiss",
        17 => "InstTLBMultiHit",
        18 => "InstFetchPrivilege",
        20 => "InstFetchProhibited: a jump through a bad function pointer",
        24 => "LoadStoreTLBMiss",
        25 => "LoadStoreTLBMultiHit",
        26 => "LoadStorePrivilege",
        28 => "LoadProhibited: a read from an invalid address",
        29 => "StoreProhibited: a write to an invalid address",
        32 => "Coprocessor0Disabled",
        33 => "Coprocessor1Disabled",
        34 => "Coprocessor2Disabled",
        35 => "Coprocessor3Disabled",
        36 => "Coprocessor4Disabled",
        37 => "Coprocessor5Disabled",
        38 => "Coprocessor6Disabled",
        39 => "Coprocessor7Disabled",
        _ => return None,
    })
}

/// The one-line reason for a crash, from its headline and block.
pub(crate) fn describe(kind: &str, headline: &str, block: &[String]) -> String {
    let field = |key: &str| -> Option<String> {
        block.iter().find_map(|l| {
            let i = l.find(key)?;
            let v: String = l[i + key.len()..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == 'x')
                .collect();
            (!v.is_empty()).then_some(v)
        })
    };
    match kind {
        "exception" => {
            let n: Option<u32> = headline
                .split(['(', ')', ' ', ':'])
                .find_map(|t| t.trim().parse().ok());
            let mut s = match n {
                Some(n) => match exception_name(n) {
                    Some(name) => format!("the board crashed: Exception ({n}) {name}"),
                    None => format!("the board crashed: Exception ({n})"),
                },
                None => format!("the board crashed: {headline}"),
            };
            if let Some(epc) = field("epc1=") {
                s.push_str(&format!(" at epc1={epc}"));
            }
            if let Some(addr) = field("excvaddr=") {
                let null = u64::from_str_radix(addr.trim_start_matches("0x"), 16)
                    .is_ok_and(|a| a < 0x1000);
                s.push_str(&format!(", excvaddr={addr}"));
                if null && matches!(n, Some(28 | 29)) {
                    s.push_str(" (a null pointer)");
                }
            }
            s.push_str(HINT_DECODER);
            s
        }
        "core-dump-report" => describe_core_dump_report(block),
        "soft-wdt" => "the software watchdog reset the board: loop() or a callback ran for over \
                       ~3 s without yield() or delay()"
            .to_owned(),
        "task-wdt" => {
            "the ESP32 task watchdog fired: a task hogged its CPU without yielding".to_owned()
        }
        "guru-meditation" => {
            // From `Guru` on: a wrapped line can carry a register dump's tail before it.
            let lower = headline.to_ascii_lowercase();
            let headline = guru_at(&lower).map_or(headline, |i| &headline[i..]);
            let why = headline.find('(').and_then(|o| {
                headline[o + 1..]
                    .find(')')
                    .map(|c| &headline[o + 1..o + 1 + c])
            });
            // ESP-IDF 2.x/3.0: `Guru Meditation Error of type LoadProhibited occurred on core  0`.
            let why = why.or_else(|| {
                let i = headline.find(" of type ")?;
                headline[i + 9..].split_whitespace().next()
            });
            let mut s = match why {
                Some(w) => format!("the board crashed: Guru Meditation Error ({w})"),
                None => format!("the board crashed: {headline}"),
            };
            let extra = debug_exception_reason(block).unwrap_or_default();
            if let Some(pc) = field("PC      :").or_else(|| field("PC:")) {
                s.push_str(&format!(" at PC {pc}{extra}"));
                s.push_str(HINT_BACKTRACE);
            } else if let Some(pc) = field("MEPC    :") {
                s.push_str(&format!(" at MEPC {pc}{extra}"));
                s.push_str(HINT_UNWIND);
            } else {
                s.push_str(&extra);
                s.push_str(HINT_BACKTRACE);
            }
            s
        }
        "abort" => format!(
            "the firmware aborted: {}{HINT_ABORT_STACK}",
            headline.trim()
        ),
        "stack-smashing" => format!(
            "the stack protector caught a buffer overflow on the stack (`Stack smashing protect \
             failure!`): a function wrote past the end of a local array, and the check failed \
             when it returned; the Backtrace's frame after abort() is that function{}",
            block
                .iter()
                .find_map(|l| l.trim().starts_with("abort() was called").then(|| l.trim()))
                .map(|l| format!(" ({l})"))
                .unwrap_or_default()
        ),

        "bt-assert" => {
            let guru = block.iter().find_map(|l| {
                let lower = l.to_ascii_lowercase();
                guru_at(&lower).map(|i| &l[i..])
            });
            let after = guru
                .map(|g| describe("guru-meditation", g, block))
                .map(|d| {
                    let d = d
                        .strip_prefix("the board crashed: ")
                        .unwrap_or(&d)
                        .to_owned();
                    format!("; it stopped the CPU on purpose, hence the {d}")
                })
                .unwrap_or_else(|| HINT_BACKTRACE.to_owned());
            format!(
                "the board crashed: the Bluetooth controller's assert failed (`{}`), a state the \
                 controller (libbtdm_app) does not expect, often from BLE calls on several tasks \
                 at once or heap running out{after}",
                headline
                    .find("ASSERT_")
                    .map_or(headline, |i| &headline[i..])
                    .trim()
            )
        }
        "flash-read-err" | "invalid-header" | "load-blank" => format!(
            "the ROM bootloader could not load the second-stage bootloader from flash (`{}`): \
             the flash is blank or its bootloader is corrupt, the flash was not ready when the \
             ROM read it (power-on timing), or the flash mode/frequency or the flash's supply is \
             wrong (a strapping pin, GPIO 12 on 3.3 V flash, or a pin of the \
             flash wired to something else); erase and reflash the bootloader, partition table \
             and app with the right flash settings",
            headline.trim()
        ),
        "heap-corrupt" => {
            let caught = block
                .iter()
                .find_map(|l| {
                    let t = l.trim();
                    t.strip_prefix("assert failed: ")
                        .or_else(|| t.strip_prefix("CORRUPT HEAP: multi_heap.c"))
                        .map(|_| t.to_owned())
                })
                .map(|t| format!("; it was caught at `{t}`"))
                .unwrap_or_default();
            format!(
                "the heap is corrupt (`{}`): code wrote past the end of a heap block, or used or \
                 freed memory after freeing it{caught}; the Backtrace shows where it was noticed, \
                 not where it was damaged",
                headline.trim()
            )
        }
        "stack-overflow" => format!(
            "a task overflowed its stack (`{}`): give it a bigger stack",
            headline.trim()
        ),
        "register-dump" => {
            let hex = |v: &str| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok();
            let cause = field("MCAUSE  :")
                .and_then(|v| hex(&v))
                .and_then(mcause_name)
                .or_else(|| {
                    field("EXCCAUSE:")
                        .and_then(|v| hex(&v))
                        .and_then(exception_name)
                });
            let mut s = "the board crashed: the log shows its register dump but not the panic's \
                         message before it"
                .to_owned();
            if let Some(c) = cause {
                s.push_str(&format!(" (the cause register says {c})"));
            }
            if let Some(pc) = field("MEPC    :") {
                s.push_str(&format!(" at MEPC {pc}{HINT_UNWIND}"));
            } else if let Some(pc) = field("PC      :") {
                s.push_str(&format!(" at PC {pc}{HINT_BACKTRACE}"));
            }
            s
        }
        "backtrace-only" => format!(
            "the board crashed: the log shows a panic's Backtrace but not the message before it \
             (capture from before the crash to see which panic){HINT_BACKTRACE}"
        ),
        "decoded-stack" => "the board crashed: the log shows the exception decoder's decoded \
                            stack (`Decoding stack results`) but not the crash it decodes; \
                            paste the crash's first lines (Exception, Soft WDT or abort) too"
            .to_owned(),
        "stack-dump" => format!(
            "the board crashed or a watchdog reset it: the log shows the core's postmortem stack \
             dump (`{}`) but not its first line (Exception, Soft WDT or abort){HINT_DECODER}",
            headline.trim()
        ),
        "panic-tail" if core_dump_unsaved(headline) => "the board panicked and rebooted: the log \
             starts after the panic's message, only its tail was captured (the panic handler \
             tried to save a core dump: `Core dump flash config is corrupted`, there is no valid \
             coredump partition); capture from before the crash to see which panic"
            .to_owned(),
        "panic-tail" => "the board panicked and rebooted: the log starts after the panic's \
                         message, only its tail (`ELF file SHA256:`, `Rebooting...`) was \
                         captured; capture from before the crash to see which panic"
            .to_owned(),
        "brownout" => "brownout: the supply voltage sagged below the detector's threshold \
                       (weak USB port or cable, or a Wi-Fi/TLS current peak); power the board \
                       properly"
            .to_owned(),
        _ => headline.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(s: &str) -> Option<Signal> {
        classify(s, &s.to_ascii_lowercase())
    }

    #[test]
    fn download_mode_banners_of_both_chips() {
        assert!(download_mode(
            "rst:0x1 (POWERON),boot:0x5 (DOWNLOAD(USB/UART0/1))"
        ));
        assert!(download_mode(
            "rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))"
        ));
        assert!(download_mode(
            " ets Jan  8 2013,rst cause:2, boot mode:(1,7)"
        ));
        assert!(!download_mode(
            "rst:0x1 (POWERON),boot:0xd (SPI_FAST_FLASH_BOOT)"
        ));
        assert!(!download_mode(
            " ets Jan  8 2013,rst cause:2, boot mode:(3,6)"
        ));
    }

    #[test]
    fn boot_banners_of_both_chips() {
        assert_eq!(
            cls(" ets Jan  8 2013,rst cause:4, boot mode:(3,6)"),
            Some(Signal::Boot { cause: "4".into() })
        );
        assert_eq!(
            cls("rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"),
            Some(Signal::Boot {
                cause: "SW_CPU_RESET".into()
            })
        );
        assert_eq!(cls("first rst of the day? no: plain text"), None);
    }

    #[test]
    fn crash_kinds() {
        let kind = |s| match cls(s) {
            Some(Signal::Crash { kind, .. }) => kind,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(kind("Exception (28):"), "exception");
        assert_eq!(
            kind("Fatal exception 28(LoadProhibitedCause):"),
            "exception"
        );
        assert_eq!(
            kind("Fatal exception:29 flag:2 (EXCEPTION) epc1:0x402242ff epc2:0x00000000"),
            "exception"
        );
        // The SDK's start-up report of a reset by the reset pin is no crash.
        assert_eq!(
            cls("Fatal exception:0 flag:6 (EXT_SYS_RST) epc1:0x00000000 epc2:0x00000000"),
            None
        );
        assert_eq!(kind("Soft WDT reset"), "soft-wdt");
        assert_eq!(
            kind(
                "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled."
            ),
            "guru-meditation"
        );
        assert_eq!(kind("Brownout detector was triggered"), "brownout");
        assert!(app_output_before_banner(
            "I (437) cpu_start: Multicore app\u{1b}[0m ESP-ROM:esp32s3-20210327 Build:Mar 27 2021 \
             rst:0x10 (RTCWDT_RTC_RST),boot:0x2b (SPI_FAST_FLASH_BOOT)"
        ));
        assert!(!app_output_before_banner(
            "rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"
        ));
        assert!(output_cut_by_banner(
            "count: 1, printing a long message, The quick browets Jun  8 2016 00:22:57"
        ));
        assert!(output_cut_by_banner(
            "Connecting to WiFi..ESP-ROM:esp32s3-20210327"
        ));
        assert!(!output_cut_by_banner("ets Jun  8 2016 00:22:57"));
        assert!(!output_cut_by_banner(
            "\u{fffd}\u{fffd}l ets Jun  8 2016 00:22:57"
        ));
        assert!(!output_cut_by_banner("~x ets Jun  8 2016 00:22:57"));
        assert!(!app_output_before_banner(
            "19:50:30.071 -> ESP-ROM:esp32s3-20210327"
        ));
        assert_eq!(kind("load:0xffffffff,len:-1"), "load-blank");
        assert_eq!(kind("\tload:0xffffffff,len:-1"), "load-blank");
        assert_eq!(
            kind("ASSERT_PARAM(576 0), in rwble.c at line 390"),
            "bt-assert"
        );
        assert_eq!(
            kind("ASSERT_ERR(KE_LIST_PATTERN), in ke_mem.c at line 1011"),
            "bt-assert"
        );
        assert_eq!(
            kind("abort() was called at PC 0x400d2b4f on core 1"),
            "abort"
        );
        assert_eq!(kind("Abort called"), "abort");
        assert_eq!(
            kind(
                "E (15123) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:"
            ),
            "task-wdt"
        );
    }

    #[test]
    fn exception_reason_names_the_cause_and_a_null_pointer() {
        let block = vec![
            "epc1=0x40201e3c epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000"
                .to_owned(),
        ];
        let r = describe("exception", "Exception (28):", &block);
        assert!(r.contains("Exception (28) LoadProhibited"), "{r}");
        assert!(r.contains("epc1=0x40201e3c"), "{r}");
        assert!(r.contains("null pointer"), "{r}");
    }

    #[test]
    fn exception_names_follow_the_cores_table() {
        let name = |n| exception_name(n).map(|s| s.split(':').next().unwrap_or(s));
        assert_eq!(name(0), Some("IllegalInstruction"));
        assert_eq!(name(3), Some("LoadStoreError"));
        assert_eq!(name(6), Some("IntegerDivideByZero"));
        assert_eq!(name(7), Some("Reserved"));
        assert_eq!(name(9), Some("LoadStoreAlignment"));
        assert_eq!(name(20), Some("InstFetchProhibited"));
        assert_eq!(name(28), Some("LoadProhibited"));
        assert_eq!(name(29), Some("StoreProhibited"));
        assert_eq!(name(33), Some("Coprocessor1Disabled"));
        assert_eq!(name(40), None);
    }
    #[test]
    fn guru_meditation_anywhere_in_a_wrapped_line() {
        // A terminal's line wrap glued the previous dump's tail on and padded the words apart.
        let line = "90648  RA      : 0x40390660  SP      : 0x3fcc3e00  GP      : 0x3Guru Meditation                                                                         Error: Core  0 panic'ed (Load access fault). Exception was unhandled.";
        assert!(matches!(
            cls(line),
            Some(Signal::Crash {
                kind: "guru-meditation",
                ..
            })
        ));
        let r = describe("guru-meditation", line, &[]);
        assert!(r.contains("(Load access fault)"), "{r}");
        assert!(!r.contains("RA"), "{r}");
        assert_eq!(cls("my guru meditation retreat starts"), None);
        // A paste cut right after the words is still the panic handler's headline.
        assert!(matches!(
            cls("Guru Meditation"),
            Some(Signal::Crash {
                kind: "guru-meditation",
                ..
            })
        ));
        assert_eq!(cls("Entering Guru Meditation"), None);
    }

    #[test]
    fn old_guru_wording_names_the_cause() {
        let line = "Guru Meditation Error of type StoreProhibited occurred on core  0. Exception was unhandled.";
        let r = describe("guru-meditation", line, &[]);
        assert!(r.contains("Guru Meditation Error (StoreProhibited)"), "{r}");
    }

    #[test]
    fn rom_cannot_load_the_bootloader() {
        for line in ["flash read err, 1000", "invalid header: 0xffffffff"] {
            let Some(Signal::Crash { kind, end }) = cls(line) else {
                panic!("{line}: not a crash");
            };
            assert_eq!(end, BlockEnd::Immediate);
            let r = describe(kind, line, &[]);
            assert!(r.contains("second-stage bootloader"), "{r}");
            assert!(r.contains(line), "{r}");
        }
        assert_eq!(cls("ets_main.c 371 "), None);
    }

    #[test]
    fn a_bare_elf_sha_line_is_a_panic_tail_and_the_boot_logs_is_not() {
        assert!(panic_tail("ELF file SHA256: a5191f47", ""));
        assert!(!panic_tail(
            "I (245) cpu_start: ELF file SHA256:  0123456789abcdef...",
            ""
        ));
        assert!(!panic_tail(
            "I (98) app_init: ELF file SHA256:  4c9d6a1b2...",
            ""
        ));
    }

    #[test]
    fn a_bare_rebooting_line_is_a_panic_tail_unless_an_update_just_succeeded() {
        // The panic handler's last line, at the top of a paste (a reboot follows).
        assert!(panic_tail("Rebooting...", ""));
        assert!(panic_tail(
            "Rebooting...",
            "I (281) cpu_start: Multicore app"
        ));
        // ESP8266HTTPUpdateServer and the OTA examples restart on purpose.
        assert!(!panic_tail("Rebooting...", "Update Success: 228624"));
        assert!(!panic_tail("Rebooting...", "I (9) ota: OTA Succeed"));
        // An app's own words around it are not the panic handler's line.
        assert!(!panic_tail("[I][app:102]: Rebooting safely...", ""));
        assert!(!panic_tail("Update done. Rebooting...", ""));
    }

    #[test]
    fn an_esp8266_stack_row_without_its_header_is_a_headless_stack_dump() {
        let headless = |s: &str| match cls(s) {
            Some(Signal::Crash { kind, end }) => Some((kind, end)),
            _ => None,
        };
        assert_eq!(
            headless("3ffffb00:  9779906d 761b1521 f70f8096 4a472fe2  "),
            Some(("stack-dump", BlockEnd::StackEnd))
        );
        assert_eq!(
            headless("3fffff10:  00000000 00000001 402a180b 00000001"),
            Some(("stack-dump", BlockEnd::StackEnd))
        );
        // A RISC-V `Stack memory:` row (0x words), a hex dump of bytes, and a short row are not.
        assert_eq!(
            headless("3fca11b0: 0x3c0a570c 0x3fc8e600 0x00000000 0x00000001"),
            None
        );
        assert_eq!(headless("3ffffb00:  97 79 90 6d 76 1b 15 21"), None);
        assert_eq!(headless("3ffffb00:  9779906d 761b1521"), None);
    }

    #[test]
    fn heap_corruption_asserts_and_stack_overflows() {
        let kind = |s| match cls(s) {
            Some(Signal::Crash { kind, .. }) => kind,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            kind("CORRUPT HEAP: Bad head at 0x3ffeb398. Expected 0xabba1234 got 0x3ffe4364"),
            "heap-corrupt"
        );
        assert_eq!(
            kind("assert failed: multi_heap_free multi_heap_poisoning.c:253 (head != NULL)"),
            "abort"
        );
        assert_eq!(
            kind("***ERROR*** A stack overflow in task sys_evt has been detected."),
            "stack-overflow"
        );
        assert_eq!(
            kind("/esp-idf/components/freertos/./tasks.c:601 (xTaskGenericCreate)- assert failed!"),
            "abort"
        );
        let block = vec![
            "assert failed: multi_heap_free multi_heap_poisoning.c:253 (head != NULL)".to_owned(),
        ];
        let r = describe(
            "heap-corrupt",
            "CORRUPT HEAP: Bad head at 0x3ffeb398.",
            &block,
        );
        assert!(
            r.contains("heap is corrupt") && r.contains("multi_heap_free"),
            "{r}"
        );
    }

    #[test]
    fn a_stack_canary_names_the_task_that_overflowed() {
        let block = vec![
            "Debug exception reason: Stack canary watchpoint triggered (loopTask) ".to_owned(),
            "PC      : 0x400d3254  PS      : 0x00060636".to_owned(),
        ];
        let r = describe(
            "guru-meditation",
            "Guru Meditation Error: Core  1 panic'ed (Unhandled debug exception)",
            &block,
        );
        assert!(r.contains("loopTask overflowed its stack"), "{r}");
        assert!(r.ends_with(HINT_BACKTRACE), "{r}");
    }

    #[test]
    fn watchdog_reset_causes() {
        assert!(killed_by_watchdog("TG1WDT_SYS_RESET"));
        assert!(killed_by_watchdog("RTCWDT_SYS_RST"));
        assert!(killed_by_watchdog("4"));
        assert!(!killed_by_watchdog("RTCWDT_RTC_RESET"));
        assert!(!killed_by_watchdog("POWERON_RESET"));
        assert!(!killed_by_watchdog("SW_CPU_RESET"));
        assert!(reset_by_hand("POWERON_RESET"));
        assert!(reset_by_hand("1"));
        assert!(!reset_by_hand("RTCWDT_RTC_RESET"));
        assert!(!reset_by_hand("TG1WDT_SYS_RESET"));
    }

    #[test]
    fn the_exception_decoders_output_alone_is_a_crash() {
        let line = "Exception 3: LoadStoreError: Processor internal physical address or data error during load or store";
        assert!(matches!(
            cls(line),
            Some(Signal::Crash {
                kind: "exception",
                end: BlockEnd::Immediate
            })
        ));
        let r = describe("exception", line, &[]);
        assert!(r.contains("Exception (3) LoadStoreError"), "{r}");
        assert!(matches!(
            cls("Decoding stack results"),
            Some(Signal::Crash {
                kind: "decoded-stack",
                ..
            })
        ));
        assert!(describe("decoded-stack", "Decoding stack results", &[]).contains("stack"));
        assert_eq!(cls("Exception handling: see the docs"), None);
    }

    #[test]
    fn a_paste_that_starts_inside_an_esp8266_stack_dump_is_a_crash() {
        let stack = Some(Signal::Crash {
            kind: "stack-dump",
            end: BlockEnd::StackEnd,
        });
        assert_eq!(
            cls("3ffffa40:  00002020 4024813d 3fff3ee4 3fff0ff0  "),
            stack
        );
        assert_eq!(cls("3fff2160:  00000080 3fff5914 3fffb15c 4022c1c4"), stack);
        // Not a stack row: an ESP32 stack memory row, a register line, a hex dump of flash.
        assert_eq!(
            cls("3fc9a4f0: 0x00000000 0x3fc9a5a0 0x4200c2f4 0x3fc8f000"),
            None
        );
        assert_eq!(cls("40200000:  00000000 00000000 00000000 00000000"), None);
        assert_eq!(cls("3ffe8000:  00000000 00000000"), None);
    }

    #[test]
    fn espcoredump_text_reports_name_the_task_cause_and_abort() {
        let start = "==================== ESP32 CORE DUMP START ====================";
        assert_eq!(
            cls(start),
            Some(Signal::Crash {
                kind: "core-dump-report",
                end: BlockEnd::ReportEnd
            })
        );
        assert!(core_dump_report(
            &"=============== ESP32S3 CORE DUMP START ==============".to_ascii_lowercase()
        ));
        // The panic handler's own line opens base64, read elsewhere.
        assert_eq!(
            cls("================= CORE DUMP START ================="),
            None
        );
        let block = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        let abort = describe(
            "core-dump-report",
            start,
            &block(&[
                "Crashed task handle: 0x3ffe3958, name: 'wifi', GDB name: 'process 1073625432'",
                "exccause       0x1d (StoreProhibitedCause)",
                "pc             0x4002eae1       0x4002eae1 <panic_abort+21>",
            ]),
        );
        assert!(
            abort.contains("task 'wifi'")
                && abort.contains("<panic_abort+21>")
                && abort.contains("abort()")
                && abort.contains("not the bug"),
            "{abort}"
        );
        let wdt = describe(
            "core-dump-report",
            start,
            &block(&[
                "Crashed task handle: 0x3ffbbbf4, name: 'esp_timer', GDB name: 'process 1'",
                "exccause       0x45 (InterruptWDTTimoutCPU0)",
                "pc             0x4009903f          0x4009903f <xPortEnterCriticalTimeout+67>",
            ]),
        );
        assert!(
            wdt.contains("task 'esp_timer'")
                && wdt.contains("InterruptWDTTimoutCPU0")
                && !wdt.contains("abort()"),
            "{wdt}"
        );
        // A report cut before its registers still names the task; an unnamed cause is looked up.
        let bare = describe(
            "core-dump-report",
            start,
            &block(&[
                "exccause       0x0",
                "pc             0x3ffd3b70\t0x3ffd3b70",
            ]),
        );
        assert!(
            bare.contains("IllegalInstruction") && bare.contains("0x3ffd3b70"),
            "{bare}"
        );
        assert!(ends_block(
            BlockEnd::ReportEnd,
            "===================== ESP32 CORE DUMP END ====================="
        ));
    }
}
