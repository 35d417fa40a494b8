//! What a crash means, in one line: the headline, the cause register's name (Xtensa EXCCAUSE,
//! RISC-V mcause), the faulting address, and what to do next.

use super::*;

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

/// Xtensa exception cause names (ESP8266 `Exception (N):`): the EXCCAUSE table of the Xtensa ISA
/// as the esp8266 core documents it (doc/Troubleshooting/exception_causes.rst).
pub(crate) fn exception_name(n: u32) -> Option<&'static str> {
    Some(match n {
        0 => {
            "IllegalInstruction: an illegal instruction (a jump into data or a corrupted \
             function pointer, a stack overwritten, or flash code called while the cache was off)"
        }
        1 => "Syscall",
        2 => "InstructionFetchError: an instruction fetch from an invalid address",
        6 => "IntegerDivideByZero: an integer division by zero",
        3 => "LoadStoreError: a byte-wide access to IRAM/flash",
        4 => "Level1Interrupt (a watchdog or an interrupt during a crash)",
        5 => "Alloca",
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
        k if k.starts_with("rust-") => super::rust::describe(k, headline, block),
        "soft-wdt" => "`Soft WDT reset`: the software watchdog reset the board: loop() or a \
                       callback ran for over ~3 s without yield() or delay()"
            .to_owned(),
        "task-wdt" => super::taskwdt::describe(block),
        "guru-meditation" => {
            // From `Guru` on: a wrapped line can carry a register dump's tail before it.
            let lower = headline.to_ascii_lowercase();
            let headline = guru_at(&lower).map_or(headline, |i| &headline[i..]);
            // The innermost brackets: a paste that doubled the headline (`panic'ed (Guru
            // Meditation Error: Core  0 panic'ed (LoadProhibited).`) still names its cause.
            let why = headline.find(')').and_then(|c| {
                let o = headline[..c].rfind('(')?;
                Some(&headline[o + 1..c])
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
            let mut extra = debug_exception_reason(block).unwrap_or_default();
            if let Some(plain) = why.and_then(super::watchdog::plain_words) {
                extra.push_str(&format!(": {plain}"));
            }
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
        "abort" => {
            let head = headline.trim();
            let lower = head.to_ascii_lowercase();
            // Say `abort()` in the words users search for, whichever line named the abort.
            let how = if head.contains("abort()") {
                String::new()
            } else if let Some(called) = block
                .iter()
                .map(|l| l.trim())
                .find(|l| l.contains("abort() was called"))
            {
                format!(", then `{called}`")
            } else if lower.contains("assert") {
                " (a failed assert calls abort())".to_owned()
            } else {
                " (the firmware called abort())".to_owned()
            };
            format!("the firmware aborted: {head}{how}{HINT_ABORT_STACK}")
        }
        "lua-panic" => {
            let t = headline.trim();
            let why = t
                .find('(')
                .map(|o| t[o + 1..].trim_end_matches(')'))
                .filter(|w| !w.is_empty());
            format!(
                "the firmware crashed: NodeMCU's Lua VM panicked (`PANIC: unprotected error in \
                 call to Lua API`{}), an error no pcall() caught, and it restarts the board; fix \
                 the Lua line it names (a nil value is most often a module missing from the \
                 firmware build or a variable not yet set)",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            )
        }
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
        "backtrace-only" => match decoded_abort(block) {
            Some(what) => format!(
                "the board crashed: {what}; the log shows the panic's decoded Backtrace but not \
                 the message before it (capture from before the crash to see it)"
            ),
            None => format!(
                "the board crashed: the log shows a panic's Backtrace but not the message before \
                 it (capture from before the crash to see which panic){HINT_BACKTRACE}"
            ),
        },
        "decoded-stack" => match decoded_abort(block) {
            Some(what) => format!(
                "the board crashed: {what}; the log shows the exception decoder's decoded stack \
                 (`Decoding stack results`) but not the crash it decodes"
            ),
            None => "the board crashed: the log shows the exception decoder's decoded stack \
                     (`Decoding stack results`) but not the crash it decodes; paste the crash's \
                     first lines (Exception, Soft WDT or abort) too"
                .to_owned(),
        },
        "task-stack" => super::taskstack::describe(headline),
        "panic-stack" => "the board panicked: the log shows the ESP-IDF panic handler's `Stack \
                          memory:` dump (printed after a RISC-V chip's register dump) but not the \
                          Guru Meditation line above it; capture from before the crash to see \
                          which panic"
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

/// The functions a panic that called abort() has at the top of its stack: ESP-IDF's
/// (`panic_abort`, `esp_system_abort`, IDF 3/4's `invoke_abort`), newlib's, and what calls them
/// for an assert or an `ESP_ERROR_CHECK`.
const ABORT_FRAMES: [&str; 8] = [
    "panic_abort",
    "esp_system_abort",
    "invoke_abort",
    "abort",
    "__assert_func",
    "__assert",
    "_esp_error_check_failed",
    "esp_libc_include_assert_impl",
];

/// What the decoded frames of a crash say, when its top frames are abort()'s: `abort() was
/// called from xQueueGenericSend (…/freertos/queue.c:729), called from httpd_bind`.
fn decoded_abort(block: &[String]) -> Option<String> {
    let frames: Vec<(&str, &str)> = block
        .iter()
        .filter_map(|l| {
            let name = decoded_frame(l)?;
            let at = l.split_once(" at ").map_or("", |(_, at)| at.trim());
            Some((name, at))
        })
        .collect();
    let top = frames
        .iter()
        .take_while(|(name, _)| ABORT_FRAMES.contains(name))
        .count();
    if top == 0 {
        return None;
    }
    let named = |n: &str| frames[..top].iter().any(|(f, _)| *f == n);
    let mut what = if named("__assert_func") || named("__assert") {
        "an assert failed (`__assert_func` is in the decoded Backtrace)".to_owned()
    } else if named("_esp_error_check_failed") {
        "an ESP_ERROR_CHECK failed (`_esp_error_check_failed`: a call returned an error the code \
         did not expect), and it called abort()"
            .to_owned()
    } else {
        let shown: Vec<String> = frames[..top]
            .iter()
            .map(|(f, _)| format!("`{f}`"))
            .collect();
        format!(
            "abort() was called ({} in the decoded Backtrace)",
            shown.join(", ")
        )
    };
    if let Some((caller, at)) = frames.get(top) {
        let file = at
            .rsplit(['/', '\\'])
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("/");
        let file = file.split(" (discriminator").next().unwrap_or(&file).trim();
        what.push_str(&format!(" in {caller}"));
        if !file.is_empty() {
            what.push_str(&format!(" ({file})"));
        }
        if let Some((next, _)) = frames.get(top + 1) {
            what.push_str(&format!(", called from {next}"));
        }
        if at.contains("freertos") && !named("__assert_func") {
            what.push_str(
                ": a FreeRTOS function, whose configASSERT calls abort() in ESP-IDF (a NULL or \
                 deleted queue or semaphore handle, or a call from an ISR, is the usual cause)",
            );
        }
    }
    Some(what)
}
