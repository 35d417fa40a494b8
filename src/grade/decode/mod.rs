//! Crash decoding: the code addresses of a crash block (the ESP8266 core's postmortem, the ESP32
//! panic handler) turned into `function at file:line` with the firmware's ELF, as PlatformIO's
//! and esp-idf-monitor's exception decoders do, but through the `addr2line` crate instead of a
//! toolchain binary. Pure: ELF bytes and the crash in, frames out.
//!
//! Nothing is guessed: an address outside the ELF's loaded sections, or inside them with no
//! function and no line info, comes back with `function`, `file` and `line` all `None`.

use std::borrow::Cow;
use std::sync::LazyLock;

use gimli::{EndianSlice, RunTimeEndian};
use object::{Object, ObjectKind, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind};
use regex::Regex;

use super::crash;
use super::model::{Caller, Crash, Frame, Report};

mod coredump;
mod identity;
mod prologue;
mod tailcall;
mod tasks;
mod unwind;
mod xtensa;

pub use coredump::{CoreDump, CoreDumpError, DumpedTask};
pub use identity::{Arch, logged_elf_sha256};
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

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    end: u64,
}

impl Span {
    fn contains(self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

#[derive(Debug)]
struct Function<'a> {
    span: Span,
    /// As in the symbol table (mangled): demangled only when an address lands in it, since an
    /// ELF holds tens of thousands of symbols and a crash names a handful.
    name: &'a str,
}

/// A firmware ELF ready to look addresses up in: its DWARF (when it has any), its loaded and
/// executable sections, and the function symbols of its symbol table.
pub struct Symbols<'a> {
    dwarf: Option<addr2line::Context<Reader<'a>>>,
    loaded: Vec<Span>,
    code: Vec<Span>,
    /// Sorted by start address.
    functions: Vec<Function<'a>>,
    /// Symbols without a size in code sections (assembly entry points such as
    /// `_WindowOverflow12`), sorted by address: a name for code no sized function covers.
    labels: Vec<(u64, &'a str)>,
    /// `.eh_frame`/`.debug_frame`, for unwinding a RISC-V dump.
    cfi: Option<Cfi<'a>>,
    /// The bytes of the executable sections, by address: for reading a prologue where no CFI
    /// covers the code.
    code_bytes: Vec<(u64, &'a [u8])>,
    /// The DWARF sections, and their call sites once an unwind asked (for tail calls).
    sections: Option<gimli::Dwarf<Reader<'a>>>,
    call_sites: std::cell::OnceCell<tailcall::CallSites>,
    /// The file's SHA-256 in hex, once a dump asked to compare it.
    sha256: std::cell::OnceCell<String>,
    arch: Arch,
    /// The file's bytes, for its SHA-256 (computed only when a log printed one to compare).
    bytes: &'a [u8],
}

impl std::fmt::Debug for Symbols<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbols")
            .field("dwarf", &self.dwarf.is_some())
            .field("loaded", &self.loaded)
            .field("code", &self.code)
            .field("functions", &self.functions.len())
            .finish()
    }
}

impl<'a> Symbols<'a> {
    /// Read an ELF from its bytes. The error says what is wrong with the file, for a one-line
    /// message that names it.
    pub fn parse(elf: &'a [u8]) -> Result<Self, String> {
        Self::read(elf, true)
    }

    /// What [`Symbols::parse`] checks, but without indexing the DWARF units (the costly part on
    /// a big ELF): for refusing a bad `--elf` before a long watch.
    pub fn check(elf: &[u8]) -> Result<(), String> {
        Symbols::read(elf, false).map(drop)
    }

    fn read(elf: &'a [u8], index: bool) -> Result<Self, String> {
        if !elf.starts_with(b"\x7fELF") {
            return Err(
                "not an ELF file (a .bin image has no symbols: give the .elf the build \
                        wrote beside it)"
                    .to_owned(),
            );
        }
        let file = object::File::parse(elf).map_err(|e| format!("unreadable ELF: {e}"))?;
        if file.kind() == ObjectKind::Relocatable {
            return Err("a relocatable object (.o), not a linked firmware ELF".to_owned());
        }
        let mut loaded = Vec::new();
        let mut code = Vec::new();
        let mut code_bytes = Vec::new();
        for section in file.sections() {
            let SectionFlags::Elf { sh_flags, .. } = section.flags() else {
                continue;
            };
            let span = Span {
                start: section.address(),
                end: section.address().saturating_add(section.size()),
            };
            if !sh_flags.contains(object::elf::SHF_ALLOC) || span.start == span.end {
                continue;
            }
            loaded.push(span);
            if sh_flags.contains(object::elf::SHF_EXECINSTR) {
                code.push(span);
                if let Ok(data) = section.data() {
                    code_bytes.push((span.start, data));
                }
            }
        }
        let mut functions: Vec<Function> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0 && s.is_definition())
            .filter_map(|s| {
                let name = s.name().ok()?;
                Some(Function {
                    span: Span {
                        start: s.address(),
                        end: s.address().saturating_add(s.size()),
                    },
                    name,
                })
            })
            .collect();
        functions.sort_by_key(|f| f.span.start);
        let mut labels: Vec<(u64, &str)> = file
            .symbols()
            .filter(|s| {
                s.size() == 0 && s.is_definition() && code.iter().any(|c| c.contains(s.address()))
            })
            .filter(|s| matches!(s.kind(), SymbolKind::Text | SymbolKind::Unknown))
            .filter_map(|s| Some((s.address(), s.name().ok()?)))
            // `$x`/`$d` mapping symbols and local `.L` labels name nothing.
            .filter(|(_, n)| !n.is_empty() && !n.starts_with('$') && !n.starts_with(".L"))
            .collect();
        labels.sort_unstable();
        let endian = if file.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let section_data = |name: &str| {
            file.section_by_name(name)
                .and_then(|s| Some((s.data().ok()?, s.address())))
        };
        let cfi = Cfi::new(
            section_data(".eh_frame"),
            section_data(".debug_frame").map(|(d, _)| d),
            endian,
            if file.is_64() { 8 } else { 4 },
        );
        let arch = Arch::of(file.architecture());
        let has_dwarf = file.section_by_name(".debug_info").is_some();
        let load = |id: gimli::SectionId| -> Result<Reader<'a>, String> {
            let Some(section) = file.section_by_name(id.name()) else {
                return Ok(EndianSlice::new(&[], endian));
            };
            let compressed = section
                .compressed_file_range()
                .map(|r| r.format != object::CompressionFormat::None)
                .unwrap_or(true);
            if compressed {
                return Err(format!(
                    "its {} section is compressed; link without --compress-debug-sections",
                    id.name()
                ));
            }
            let data = section
                .data()
                .map_err(|e| format!("unreadable {} section: {e}", id.name()))?;
            Ok(EndianSlice::new(data, endian))
        };
        // Two views of the same sections: addr2line's index, and ours for the call sites.
        let (dwarf, sections) = if has_dwarf {
            let dwarf = gimli::Dwarf::load(load)?;
            if index {
                let ctx = addr2line::Context::from_dwarf(dwarf)
                    .map_err(|e| format!("unreadable DWARF debug info: {e}"))?;
                (Some(ctx), Some(gimli::Dwarf::load(load)?))
            } else {
                (None, None)
            }
        } else {
            (None, None)
        };
        if !has_dwarf && functions.is_empty() {
            return Err(
                "has neither debug info nor function symbols (stripped?); give the \
                        unstripped .elf"
                    .to_owned(),
            );
        }
        Ok(Symbols {
            dwarf,
            loaded,
            code,
            functions,
            labels,
            cfi,
            code_bytes,
            sections,
            call_sites: std::cell::OnceCell::new(),
            sha256: std::cell::OnceCell::new(),
            arch,
            bytes: elf,
        })
    }

    /// Whether the ELF has DWARF debug info (without it, only function names are known).
    pub fn has_line_info(&self) -> bool {
        self.dwarf.is_some()
    }

    /// Whether `addr` lies in one of the ELF's executable sections.
    pub fn is_code(&self, addr: u64) -> bool {
        self.code.iter().any(|s| s.contains(addr))
    }

    /// Whether `addr` lies in one of the ELF's loaded sections (code or data).
    pub fn is_loaded(&self, addr: u64) -> bool {
        self.loaded.iter().any(|s| s.contains(addr))
    }

    /// The symbol table's function that contains `addr`, demangled; else the nearest sizeless
    /// code label before it (an assembly routine), when no sized function lies between them.
    fn function_at(&self, addr: u64) -> Option<String> {
        let after = self.functions.partition_point(|f| f.span.start <= addr);
        let before = &self.functions[..after];
        if let Some(f) = before.iter().rev().find(|f| f.span.contains(addr)) {
            return Some(addr2line::demangle_auto(Cow::Borrowed(f.name), None).into_owned());
        }
        let label = self.labels[..self.labels.partition_point(|l| l.0 <= addr)].last()?;
        let nearer_function = before.last().is_some_and(|f| f.span.end > label.0);
        let same_section = self
            .code
            .iter()
            .any(|c| c.contains(label.0) && c.contains(addr));
        (!nearer_function && same_section).then(|| label.1.to_owned())
    }

    /// The symbol table's sized function that holds `addr`.
    fn sized_function(&self, addr: u64) -> Option<&Function<'a>> {
        let after = self.functions.partition_point(|f| f.span.start <= addr);
        self.functions[..after]
            .iter()
            .rev()
            .find(|f| f.span.contains(addr))
    }

    /// The return address of a frame a tail call hid between a callee (its function starts at
    /// `callee`) and the caller returning to `ret` (see [`tailcall`]).
    fn tail_call_between(&self, callee: u64, ret: u64) -> Option<u64> {
        let dwarf = self.sections.as_ref()?;
        self.call_sites
            .get_or_init(|| tailcall::CallSites::index(dwarf, self))
            .between(callee, ret)
    }

    /// The ELF file's SHA-256, lower-case hex (what ESP-IDF records of the app).
    fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(self.bytes))
        })
    }

    /// Where the symbol table's function `name` (as the symbol table spells it) starts, when
    /// exactly one has that name.
    fn function_named(&self, name: &str) -> Option<u64> {
        let mut named = self.functions.iter().filter(|f| f.name == name);
        match (named.next(), named.next()) {
            (Some(f), None) => Some(f.span.start),
            _ => None,
        }
    }

    /// Where the function that holds `addr` starts.
    fn function_start(&self, addr: u64) -> Option<u64> {
        self.sized_function(addr).map(|f| f.span.start)
    }

    /// The sized function that holds `addr`: its first address and its bytes from there (cut at
    /// its end), when its section's bytes are in the file.
    fn function_code(&self, addr: u64) -> Option<(u64, &'a [u8])> {
        let f = self.sized_function(addr)?;
        let (base, data) = self
            .code_bytes
            .iter()
            .find(|(base, data)| *base <= f.span.start && addr < base + data.len() as u64)?;
        let from = usize::try_from(f.span.start - base).ok()?;
        let to = usize::try_from(f.span.end - base).ok()?.min(data.len());
        Some((f.span.start, data.get(from..to)?))
    }

    /// The ELF's architecture, as far as crash decoding cares.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// Whether the ELF has call-frame information (`.eh_frame` or `.debug_frame`).
    pub fn has_cfi(&self) -> bool {
        self.cfi.is_some()
    }

    /// The frames at `addr`, innermost (inlined) first; empty when nothing is known there.
    fn frames(&self, addr: u64) -> Vec<Caller> {
        let mut chain = Vec::new();
        if !self.is_loaded(addr) {
            return chain;
        }
        if let Some(ctx) = &self.dwarf
            && let Ok(mut frames) = ctx.find_frames(addr).skip_all_loads()
        {
            // A malformed DWARF entry ends the chain; what was read before it stands.
            while let Ok(Some(f)) = frames.next() {
                let function = f
                    .function
                    .as_ref()
                    .and_then(|n| n.demangle().ok())
                    .map(Cow::into_owned);
                let (file, line) = match f.location {
                    Some(l) => (l.file.map(str::to_owned), l.line.filter(|&n| n > 0)),
                    None => (None, None),
                };
                chain.push(Caller {
                    function,
                    file,
                    line,
                });
            }
        }
        let symbol = self.function_at(addr);
        match chain.last_mut() {
            // Line info without a function entry (assembly, or a unit built without -g).
            Some(outer) if outer.function.is_none() => outer.function = symbol,
            Some(_) => {}
            None if symbol.is_some() => chain.push(Caller {
                function: symbol,
                file: None,
                line: None,
            }),
            None => {}
        }
        chain
    }

    /// Decode one address.
    pub fn frame(&self, addr: u64, from: &str) -> Frame {
        self.frame_at(addr, addr, from)
    }

    /// Decode a return address: the call is the instruction before it, so look `addr - 1` up
    /// (as gdb and addr2line users do), and show the address as printed.
    pub fn return_frame(&self, addr: u64, from: &str) -> Frame {
        self.frame_at(addr, addr.saturating_sub(1), from)
    }

    fn frame_at(&self, addr: u64, lookup: u64, from: &str) -> Frame {
        let mut chain = self.frames(lookup).into_iter();
        let inner = chain.next();
        let (function, file, line) = match inner {
            Some(c) => (c.function, c.file, c.line),
            None => (None, None, None),
        };
        Frame {
            addr: format!("0x{addr:08x}"),
            from: from.to_owned(),
            function,
            file,
            line,
            in_elf: self.is_loaded(addr),
            inlined_into: chain.collect(),
            guess: false,
            unreliable: false,
            core: None,
        }
    }
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
