//! A firmware ELF read for decoding: its DWARF (through addr2line), its loaded and executable
//! sections and their bytes, its function symbols and sizeless code labels, its call-frame
//! information, and, on demand, its call sites and its SHA-256.

use std::borrow::Cow;

use gimli::{EndianSlice, RunTimeEndian};
use object::{Object, ObjectKind, ObjectSection, ObjectSymbol, SectionFlags, SymbolKind};

use super::{Arch, Cfi, Reader, tailcall};
use crate::grade::model::{Caller, Frame};

#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub(super) start: u64,
    pub(super) end: u64,
}

impl Span {
    fn contains(self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

#[derive(Debug)]
pub(super) struct Function<'a> {
    pub(super) span: Span,
    /// As in the symbol table (mangled): demangled only when an address lands in it, since an
    /// ELF holds tens of thousands of symbols and a crash names a handful.
    pub(super) name: &'a str,
}

/// A firmware ELF ready to look addresses up in: its DWARF (when it has any), its loaded and
/// executable sections, and the function symbols of its symbol table.
pub struct Symbols<'a> {
    pub(super) dwarf: Option<addr2line::Context<Reader<'a>>>,
    pub(super) loaded: Vec<Span>,
    pub(super) code: Vec<Span>,
    /// Sorted by start address.
    pub(super) functions: Vec<Function<'a>>,
    /// Symbols without a size in code sections (assembly entry points such as
    /// `_WindowOverflow12`), sorted by address: a name for code no sized function covers.
    pub(super) labels: Vec<(u64, &'a str)>,
    /// `.eh_frame`/`.debug_frame`, for unwinding a RISC-V dump.
    pub(super) cfi: Option<Cfi<'a>>,
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
    pub(super) bytes: &'a [u8],
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
    pub(super) fn function_at(&self, addr: u64) -> Option<String> {
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
    pub(super) fn sized_function(&self, addr: u64) -> Option<&Function<'a>> {
        let after = self.functions.partition_point(|f| f.span.start <= addr);
        self.functions[..after]
            .iter()
            .rev()
            .find(|f| f.span.contains(addr))
    }

    /// The return address of a frame a tail call hid between a callee (its function starts at
    /// `callee`) and the caller returning to `ret` (see [`tailcall`]).
    pub(super) fn tail_call_between(&self, callee: u64, ret: u64) -> Option<u64> {
        let dwarf = self.sections.as_ref()?;
        self.call_sites
            .get_or_init(|| tailcall::CallSites::index(dwarf, self))
            .between(callee, ret)
    }

    /// The ELF file's SHA-256, lower-case hex (what ESP-IDF records of the app).
    pub(super) fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(self.bytes))
        })
    }

    /// Where the symbol table's function `name` (as the symbol table spells it) starts, when
    /// exactly one has that name.
    pub(super) fn function_named(&self, name: &str) -> Option<u64> {
        let mut named = self.functions.iter().filter(|f| f.name == name);
        match (named.next(), named.next()) {
            (Some(f), None) => Some(f.span.start),
            _ => None,
        }
    }

    /// Where the function that holds `addr` starts.
    pub(super) fn function_start(&self, addr: u64) -> Option<u64> {
        self.sized_function(addr).map(|f| f.span.start)
    }

    /// The sized function that holds `addr`: its first address and its bytes from there (cut at
    /// its end), when its section's bytes are in the file.
    pub(super) fn function_code(&self, addr: u64) -> Option<(u64, &'a [u8])> {
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
    pub(super) fn frames(&self, addr: u64) -> Vec<Caller> {
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

    pub(super) fn frame_at(&self, addr: u64, lookup: u64, from: &str) -> Frame {
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
