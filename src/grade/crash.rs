//! Crash, watchdog, brownout and reset signatures of the ESP8266 (core postmortem, ROM banner) and
//! the ESP32 (panic handler, ROM banner), and how each ends its register/stack block.

mod describe;
mod rust;
mod taskstack;
mod taskwdt;
mod watchdog;

pub(crate) use describe::{describe, exception_name};

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
    /// The handler halts the chip after its report (esp-backtrace): every line up to the next
    /// boot banner, the block's limit or the log's end is the report's.
    Halted,
    /// A bare Backtrace or the exception decoder's `Decoding stack results`: the frames a
    /// monitor or decoder decoded (`0x40088f9d: invoke_abort at …/panic.c:155`) follow, and
    /// they may say which panic it was. Over at the first line that is not one.
    Decoded,
}

/// Lines of a crash block kept for the report (a deep ESP8266 stack dump is ~100 lines).
pub(crate) const BLOCK_LIMIT: usize = 160;

/// NodeMCU's `PANIC: unprotected error in call to Lua API (init.lua:30: attempt to …)`.
fn lua_panic(lower: &str) -> bool {
    lower
        .trim_start()
        .starts_with("panic: unprotected error in call to lua api")
}

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
        || lower.contains("stack guard")
        || lower.contains("stack smashing")
        || lower.contains("register dump")
        || lower.starts_with("stack memory:")
        || lower.contains("mcause")
        || lower.trim_start().starts_with("mepc")
        || lower.contains("core dump start")
        || lower.contains("backtrace:")
        || lower.contains("ctx: ")
        || lower.contains("stack>>>")
        || lower.contains("decoding stack results")
        || lower.contains("stack from [")
        || lower.trim_start().starts_with("3ff"))
    {
        return None;
    }
    if lower.trim_start().starts_with("last crash:") {
        // OVMS's `boot status` report of the previous boot's crash: history, read as a reported
        // reset (stops::reported_reset), not a crash in this log.
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
    if let Some(kind) = rust::kind(text) {
        return Some(Signal::Crash {
            kind,
            end: BlockEnd::Halted,
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
    if lua_panic(lower) {
        // NodeMCU's Lua VM hit an error no `pcall` caught: it prints this and restarts.
        return Some(Signal::Crash {
            kind: "lua-panic",
            end: BlockEnd::Immediate,
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
                "stack-dump" | "task-stack" | "panic-stack" => BlockEnd::StackEnd,
                "backtrace-only" | "decoded-stack" => BlockEnd::Decoded,
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

/// A crash's body whose headline the log does not show (it starts after it, or the headline
/// was lost): an ESP32 `Core  0 register dump:`, a bare `Backtrace: 0x…:0x…`, an ESP8266
/// postmortem's `ctx: cont` or `>>>stack>>>`. Only a crash when no crash came before: after a
/// headline these lines are its block (or the second core's part of it).
fn headless(text: &str) -> Option<&'static str> {
    let t = text.trim_start();
    if t.starts_with("Core ") && t.trim_end().ends_with("register dump:") {
        return Some("register-dump");
    }
    // A RISC-V panic's register rows with its `Core 0 register dump:` (and the Guru Meditation
    // above it) cut off or never printed: `MEPC    : 0x4200…  RA      : 0x…`, `MSTATUS : 0x…
    // MTVEC   : 0x…  MCAUSE  : 0x00000018  MTVAL   : 0x…`. Only the panic handler prints these.
    let riscv_row = |name: &str| {
        t.strip_prefix(name)
            .is_some_and(|rest| rest.trim_start().starts_with(": 0x"))
    };
    if riscv_row("MEPC") || (riscv_row("MSTATUS") && t.contains("MCAUSE")) {
        return Some("register-dump");
    }
    if is_backtrace(t) && t.contains(":0x") {
        return Some("backtrace-only");
    }
    let ctx = t
        .strip_prefix("ctx: ")
        .is_some_and(|c| matches!(c.trim(), "cont" | "sys" | "bearssl"));
    if taskstack::task(t).is_some() {
        return Some("task-stack");
    }
    if t.trim_end() == "Stack memory:" {
        // ESP-IDF's RISC-V panic handler prints it after the register dump.
        return Some("panic-stack");
    }
    if t.trim_end() == "Decoding stack results" {
        // The exception decoder's output alone: the crash it decoded was not pasted.
        return Some("decoded-stack");
    }
    // A paste's indentation goes before any of these; a Markdown quote eats the leading `>>>`
    // of `>>>stack>>>`, leaving `stack>>>` alone on its line.
    if ctx || t.starts_with(">>>stack>>>") || t.trim_end() == "stack>>>" || stack_row(t) {
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
        "register-dump"
            | "backtrace-only"
            | "stack-dump"
            | "decoded-stack"
            | "task-stack"
            | "panic-stack"
    )
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

/// The cause given for a boot whose ROM banner came without its `rst:` line.
pub(crate) const NO_RESET_LINE: &str = "reset reason not shown: the ROM banner's `rst:` line is missing, lost in the garbage the reset left";

/// The ESP32 ROM's banner line (`ets Jun  8 2016 00:22:57`, ECO3's `ets Jul 29 2019 12:21:46`),
/// which the `rst:` line follows; anywhere in the line, after the garbage a reset leaves.
pub(crate) fn esp32_rom_banner(lower: &str) -> bool {
    lower.contains("ets jun  8 2016 00:22:57") || lower.contains("ets jul 29 2019 12:21:46")
}

/// The ESP32 ROM loading the second stage after its banner: `configsip: 0, SPIWP:0xee`,
/// `mode:DIO, clock div:2`, `load:0x3fff0018,len:4`, `entry 0x4007ad68`.
pub(crate) fn rom_loading(lower: &str) -> bool {
    let t = lower.trim_start();
    [
        "configsip:",
        "mode:dio",
        "mode:qio",
        "mode:dout",
        "mode:qout",
        "load:0x",
        "entry 0x",
    ]
    .iter()
    .any(|p| t.starts_with(p))
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
        BlockEnd::Halted => false,
        // Over only at the first line that is not a decoded frame: see [`block_over`].
        BlockEnd::Decoded => false,
    }
}

/// A frame as idf.py monitor (`0x40088f9d: invoke_abort at /esp-idf/components/esp32/
/// panic.c:155`, esp-idf-monitor 1.x behind `--- `) or the exception decoder (`0x400d1234:
/// loop() at /sketch/sketch.ino line 12`) prints it: the function's name.
pub(crate) fn decoded_frame(text: &str) -> Option<&str> {
    let t = text.trim();
    let t = t.strip_prefix("--- ").unwrap_or(t);
    let t = t.strip_prefix("PC: ").unwrap_or(t);
    let rest = t.strip_prefix("0x")?;
    let (addr, rest) = rest.split_once(": ")?;
    if addr.len() != 8 || !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = rest.split(" at ").next()?.trim();
    let name = name.split('(').next().unwrap_or(name).trim();
    (!name.is_empty() && !name.contains(' ')).then_some(name)
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
    if end == BlockEnd::Decoded {
        return !(t.is_empty() || decoded_frame(t).is_some());
    }
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

/// Whether a reset cause says the CPU locked up (`CPU_LOCKUP`, `CPU0_LOCKUP`): a crash reset.
pub(crate) fn cpu_locked_up(cause: &str) -> bool {
    cause.contains("LOCKUP")
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
        // The ROM prints `wdt reset` on the line after this banner: the words users search for.
        "4" => ("hardware watchdog, `wdt reset`", false),
        "5" => ("deep-sleep wake-up", false),
        "6" => ("external reset", false),
        c if c.contains("BROWNOUT") => ("brownout: the supply voltage sagged", true),
        // ESP32-C3/S3/C6's `rst:0x13 (GLITCH_RTC_RST)`: the voltage glitch detector reset the
        // chip. No firmware asks for it; it says the supply dipped (often at Wi-Fi's current
        // peaks), as a brownout does.
        c if c.contains("GLITCH") => ("a glitch in the supply voltage", true),
        // ESP32-C5/C61/P4's `rst:0x1a (CPU_LOCKUP)` (soc/reset_reasons.h `RESET_REASON_CPU_LOCKUP`):
        // the CPU faulted while it was handling a fault and the chip reset it. A crash.
        c if cpu_locked_up(c) => (
            "the CPU locked up: it faulted while handling a fault, and the chip reset it",
            true,
        ),
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

#[cfg(test)]
mod tests;
