//! Crash decoding: the code addresses of a crash block (the ESP8266 core's postmortem, the ESP32
//! panic handler) turned into `function at file:line` with the firmware's ELF, as PlatformIO's
//! and esp-idf-monitor's exception decoders do, but through the `addr2line` crate instead of a
//! toolchain binary. Pure: ELF bytes and the crash in, frames out.
//!
//! Nothing is guessed: an address outside the ELF's loaded sections, or inside them with no
//! function and no line info, comes back with `function`, `file` and `line` all `None`. ESP-IDF
//! core dumps are read in `coredump` and decoded task by task in `tasks`.

use std::sync::LazyLock;

use gimli::{EndianSlice, RunTimeEndian};
use regex::Regex;

use super::crash;
use super::model::{Caller, Crash, Frame, Report};

mod coredump;
mod identity;
mod prologue;
mod symbols;
mod tailcall;
mod tasks;
mod unwind;
mod xtensa;

pub use coredump::{CoreDump, CoreDumpError, DumpedTask};
pub use identity::{Arch, logged_elf_sha256};
pub use symbols::Symbols;
pub use tasks::{decode_core_dump, read_block, summarize, unreadable};
pub use unwind::{Cfi, RiscvDump};

/// The lines that open and close a core dump block on the UART.
pub const CORE_DUMP_START: &str = coredump::START;
pub const CORE_DUMP_END: &str = coredump::END;

/// The ELF of a set (the app's first, then ROM ELFs) whose loaded sections hold `addr`; the app's
/// when none does.
fn owner<'s, 'a>(set: &'s [Symbols<'a>], addr: u64) -> Option<&'s Symbols<'a>> {
    set.iter()
        .find(|s| s.is_loaded(addr))
        .or_else(|| set.first())
}

fn frame_in(set: &[Symbols<'_>], addr: u64, from: &str) -> Option<Frame> {
    owner(set, addr).map(|s| s.frame(addr, from))
}

fn return_frame_in(set: &[Symbols<'_>], addr: u64, from: &str) -> Option<Frame> {
    owner(set, addr.saturating_sub(1)).map(|s| s.return_frame(addr, from))
}

type Reader<'a> = EndianSlice<'a, RunTimeEndian>;

/// An address the crash output printed, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAddress {
    pub addr: u64,
    /// `epc1`, `excvaddr`, `stack`, `pc`, `backtrace`, `mepc`, `ra` or `mtval`.
    pub from: &'static str,
    /// A stack word: only a code address if it falls in the ELF's code, as the usual decoders
    /// assume (most stack words are data).
    pub code_only: bool,
    /// The CPU the dump said this address is from (`Core  1 register dump:`, `Print CPU 1
    /// backtrace`), when it said.
    pub core: Option<u32>,
}

/// A line that names the CPU of what follows: the panic handler's `Core  1 register dump:` and
/// `Guru Meditation Error: Core  1 panic'ed`, the task watchdog's `Print CPU 1 backtrace`.
static CORE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Core\s+(\d)\s+(?:register dump|panic'ed)|Print CPU (\d)\b[^:]*backtrace)")
        .expect("static regex")
});

/// ESP8266 postmortem registers: `epc1=0x40201e3c ... excvaddr=0x00000000` (NONOS SDKs put commas
/// between them).
static ESP8266_REG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s,])(epc1|excvaddr)=0x([0-9a-fA-F]{1,8})\b").expect("static regex")
});

/// ESP32 panic register dump: `PC      : 0x400d1f6c  PS      : …`, `EXCVADDR: 0x00000000`, and
/// the RISC-V chips' `MEPC    : 0x42006a2c  RA      : 0x42006a1e`, `MTVAL   : 0x00000000`.
static ESP32_REG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(PC|EXCVADDR|MEPC|RA|MTVAL)\s*:\s*0x([0-9a-fA-F]{1,8})\b").expect("static regex")
});

/// `abort() was called at PC 0x400d2b4f on core 1`.
static ABORT_PC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"abort\(\) was called at PC 0x([0-9a-fA-F]{1,8})").expect("static regex")
});

/// One `0xPC:0xSP` pair of an ESP32 `Backtrace:` line.
static BACKTRACE_PAIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"0x([0-9a-fA-F]{1,8}):0x[0-9a-fA-F]{1,8}").expect("static regex"));

/// A stack dump row: ESP8266 `3ffffed0:  3fffdad0 00000000 3ffee6f8 40203a9c <`, RISC-V ESP32
/// `3fc8f3a0: 0x42006a1e 0x00000000 …`.
static STACK_ROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[0-9a-fA-F]{8}:\s+(.*)$").expect("static regex"));

fn hex(digits: &str) -> Option<u64> {
    u64::from_str_radix(digits, 16).ok()
}

/// The addresses a crash printed, in order: registers, backtrace pairs and stack words.
pub fn addresses(crash: &Crash) -> Vec<RawAddress> {
    let mut out = Vec::new();
    let mut in_stack = false;
    let mut core = None;
    let register = |from: &str| -> &'static str {
        match from {
            "epc1" => "epc1",
            "PC" => "pc",
            "MEPC" => "mepc",
            "RA" => "ra",
            "MTVAL" => "mtval",
            _ => "excvaddr",
        }
    };
    for line in std::iter::once(&crash.headline).chain(&crash.block) {
        let text = line.trim_end();
        if let Some(c) = CORE_LINE.captures(text) {
            core = c
                .get(1)
                .or_else(|| c.get(2))
                .and_then(|m| m.as_str().parse().ok());
        }
        if text.contains(">>>stack>>>") || text.trim_start().starts_with("Stack memory:") {
            in_stack = true;
            continue;
        }
        if text.contains("<<<stack<<<") {
            in_stack = false;
            continue;
        }
        if in_stack {
            if let Some(c) = STACK_ROW.captures(text) {
                for word in c[1].split_whitespace() {
                    let digits = word.strip_prefix("0x").unwrap_or(word);
                    if digits.len() == 8
                        && let Some(addr) = hex(digits)
                    {
                        out.push(RawAddress {
                            addr,
                            from: "stack",
                            code_only: true,
                            core,
                        });
                    }
                }
            }
            continue;
        }
        if text.trim_start().starts_with("Backtrace:") {
            for c in BACKTRACE_PAIR.captures_iter(text) {
                if let Some(addr) = hex(&c[1]) {
                    out.push(RawAddress {
                        addr,
                        from: "backtrace",
                        code_only: false,
                        core,
                    });
                }
            }
            continue;
        }
        if let Some(c) = ABORT_PC.captures(text)
            && let Some(addr) = hex(&c[1])
        {
            out.push(RawAddress {
                addr,
                from: "pc",
                code_only: false,
                core,
            });
        }
        for re in [&*ESP8266_REG, &*ESP32_REG] {
            for c in re.captures_iter(text) {
                if let Some(addr) = hex(&c[2]) {
                    out.push(RawAddress {
                        addr,
                        from: register(&c[1]),
                        code_only: false,
                        core,
                    });
                }
            }
        }
    }
    out
}

/// A decoded crash: its frames, the data addresses of the fault, and what makes the frames
/// doubtful.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    pub frames: Vec<Frame>,
    pub faults: Vec<Frame>,
    pub warnings: Vec<String>,
}

/// Decode a crash. A RISC-V dump (MEPC, registers, stack memory) is unwound with the ELF's CFI,
/// as gdb does; without CFI, RA and the stack words that fall in the ELF's code are listed as
/// guesses. Xtensa `Backtrace:` PCs are decoded as printed (ESP-IDF already moved each return
/// address back onto its call instruction); ESP8266 stack words and RISC-V return addresses are
/// looked up one byte back, on the call. `excvaddr`/`mtval` are fault addresses, not frames.
pub fn decode(crash: &Crash, set: &[Symbols<'_>]) -> Decoded {
    let warnings = set
        .first()
        .map(|app| identity::check(crash, app))
        .unwrap_or_default();
    let is_code = |addr| set.iter().any(|s| s.is_code(addr));
    let raws = addresses(crash);
    let dumps = RiscvDump::parse_all(
        std::iter::once(crash.headline.as_str()).chain(crash.block.iter().map(String::as_str)),
    );
    let cfis: Vec<&Cfi<'_>> = set.iter().filter_map(|s| s.cfi.as_ref()).collect();
    let mut frames = Vec::new();
    let mut faults = Vec::new();
    for r in raws
        .iter()
        .filter(|r| matches!(r.from, "excvaddr" | "mtval"))
    {
        faults.extend(frame_in(set, r.addr, r.from).map(|f| Frame { core: r.core, ..f }));
    }
    match dumps.as_slice() {
        [_, ..] if !cfis.is_empty() => {
            let first_core = raws.iter().find(|r| r.from == "mepc").and_then(|r| r.core);
            // `abort() was called at PC …` comes before the registers: keep it first.
            for r in raws.iter().filter(|r| r.from == "pc") {
                frames.extend(frame_in(set, r.addr, r.from).map(|f| Frame {
                    core: first_core,
                    ..f
                }));
            }
            // Each core's dump on its own: its registers start its unwind, its stack memory
            // feeds it.
            for (core, dump) in &dumps {
                let core = core.or(first_core);
                let own = riscv_frames(set, &cfis, dump, "mepc");
                frames.extend(own.into_iter().map(|f| Frame { core, ..f }));
            }
        }
        _ => {
            for r in raws
                .iter()
                .filter(|r| !matches!(r.from, "excvaddr" | "mtval"))
            {
                if r.code_only && !is_code(r.addr) {
                    continue;
                }
                let f = match r.from {
                    "stack" | "ra" => {
                        return_frame_in(set, r.addr, r.from).map(|f| Frame { guess: true, ..f })
                    }
                    _ => frame_in(set, r.addr, r.from),
                };
                frames.extend(f.map(|f| Frame { core: r.core, ..f }));
            }
        }
    }
    if !warnings.is_empty() {
        for f in frames.iter_mut().chain(&mut faults) {
            f.unreliable = true;
        }
    }
    Decoded {
        frames,
        faults,
        warnings,
    }
}

/// The frames of one RISC-V register set unwound through its memory with the CFI of `set`:
/// the PC (shown as `pc_from`), then each caller's return address, looked up one byte back.
fn riscv_frames(
    set: &[Symbols<'_>],
    cfis: &[&Cfi<'_>],
    dump: &RiscvDump,
    pc_from: &str,
) -> Vec<Frame> {
    let mut own = Vec::new();
    let code = |addr| set.iter().find_map(|s| s.function_code(addr));
    let pcs = unwind::unwind(cfis, dump, &code);
    own.extend(frame_in(set, dump.mepc, pc_from));
    for (i, &(pc, found)) in pcs.iter().enumerate().skip(1) {
        // A function that tail-called the previous frame's sat between it and this caller.
        let callee = match i {
            1 => pcs[0].0,
            _ => pcs[i - 1].0.saturating_sub(1),
        };
        if let Some(start) = set.iter().find_map(|s| s.function_start(callee))
            && let Some(hidden) =
                owner(set, pc.saturating_sub(1)).and_then(|s| s.tail_call_between(start, pc))
        {
            own.extend(return_frame_in(set, hidden, "tail-call"));
        }
        let from = match found {
            unwind::Found::Prologue => "prologue",
            _ => "cfi",
        };
        own.extend(return_frame_in(set, pc, from));
    }
    // A PC outside the CFI (ROM code without its ELF, or a jump to a bad pointer): RA is all
    // there is, and no CFI vouches for it.
    if pcs.len() == 1
        && !unwind::covers(cfis, dump.mepc)
        && let Some(ra) = dump.regs[1]
        && set.iter().any(|s| s.is_code(ra))
    {
        own.extend(return_frame_in(set, ra, "ra").map(|f| Frame { guess: true, ..f }));
    }
    own
}

/// Decode the report's crash into `backtrace`, and let the reason name the crash site instead of
/// sending the user to a decoder.
pub fn annotate(report: &mut Report, set: &[Symbols<'_>]) {
    let Some(crash) = &report.crash else {
        return;
    };
    let decoded = decode(crash, set);
    report.backtrace = decoded.frames;
    report.fault_addresses = decoded.faults;
    report.decode_warnings = decoded.warnings;
    if report.backtrace.is_empty() {
        return;
    }
    let site = report
        .backtrace
        .iter()
        .find(|f| matches!(f.from.as_str(), "epc1" | "pc" | "mepc" | "backtrace"))
        .filter(|f| f.function.is_some());
    let told = match site {
        Some(f) if f.unreliable => format!(
            "; the ELF says {}, but it is not the build that crashed",
            place(f)
        ),
        Some(f) => format!("; it crashed in {}", place(f)),
        None => "; see the decoded backtrace".to_owned(),
    };
    for hint in [
        crash::HINT_DECODER,
        crash::HINT_BACKTRACE,
        crash::HINT_UNWIND,
        crash::HINT_ABORT_STACK,
    ] {
        if let Some(head) = report.reason.strip_suffix(hint) {
            report.reason = format!("{head}{told}");
            return;
        }
    }
}

/// `function at file:line`, as much of it as is known; `??` for nothing.
pub fn place(f: &Frame) -> String {
    where_(f.function.as_deref(), f.file.as_deref(), f.line)
}

/// [`place`] for an inlining caller.
pub fn caller_place(c: &Caller) -> String {
    where_(c.function.as_deref(), c.file.as_deref(), c.line)
}

fn where_(function: Option<&str>, file: Option<&str>, line: Option<u32>) -> String {
    let at = match (file, line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.to_owned()),
        _ => None,
    };
    match (function, at) {
        (Some(func), Some(at)) => format!("{func} at {at}"),
        (Some(func), None) => func.to_owned(),
        (None, Some(at)) => format!("?? at {at}"),
        (None, None) => "??".to_owned(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod dump_tests;
