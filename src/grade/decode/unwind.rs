//! RISC-V unwinding of an ESP-IDF panic dump, as gdb does it: start from the dump's registers
//! (MEPC, RA, SP and the rest), find the call-frame information (CFI) of each PC in the ELF's
//! `.eh_frame` or `.debug_frame`, compute the frame's CFA and read the saved return address and
//! registers from the printed `Stack memory:`. Pure: the dump's text and the CFI bytes in, return
//! addresses out. It stops where the CFI or the printed memory ends; it never guesses.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EndianSlice, Register, RegisterRule,
    RunTimeEndian, UnwindContext, UnwindSection, UnwindTableRow,
};
use regex::Regex;

type Reader<'a> = EndianSlice<'a, RunTimeEndian>;

/// The most frames one unwind yields: deeper than any ESP32 task stack holds, and a bound on a
/// loop in corrupt CFI.
const MAX_FRAMES: usize = 64;

/// A RISC-V register dump entry: `RA      : 0x4200005e`, `S0/FP   : 0x00000005`.
static REGISTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([A-Z][A-Z0-9]*(?:/FP)?)\s*:\s*0x([0-9a-fA-F]{1,8})\b").expect("static regex")
});

/// A RISC-V `Stack memory:` row: `40800840: 0x00000000 0x4200009e …`.
static MEMORY_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([0-9a-fA-F]{8}):((?:\s+0x[0-9a-fA-F]{8})+)\s*$").expect("static regex")
});

/// `Core  1 register dump:`: where one core's dump starts.
static CORE_DUMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*Core\s+(\d+)\s+register dump:").expect("static regex"));

/// The DWARF number of a RISC-V integer register by the panic handler's name (x0..x31).
fn dwarf_number(name: &str) -> Option<u16> {
    const NAMES: [&str; 32] = [
        "ZERO", "RA", "SP", "GP", "TP", "T0", "T1", "T2", "S0/FP", "S1", "A0", "A1", "A2", "A3",
        "A4", "A5", "A6", "A7", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "T3",
        "T4", "T5", "T6",
    ];
    let name = if name == "S0" || name == "FP" {
        "S0/FP"
    } else {
        name
    };
    NAMES.iter().position(|n| *n == name).map(|i| i as u16)
}

/// One core's RISC-V register dump and the stack memory printed with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiscvDump {
    pub mepc: u64,
    /// x0..x31, as printed (`None`: not in the dump).
    pub regs: [Option<u64>; 32],
    /// Stack words by address.
    pub memory: BTreeMap<u64, u32>,
}

impl RiscvDump {
    /// The dump in a crash block's lines, when it has a `MEPC`.
    pub fn parse<'l>(lines: impl IntoIterator<Item = &'l str>) -> Option<Self> {
        let mut dump = RiscvDump::default();
        let mut mepc = None;
        let mut in_stack = false;
        for line in lines {
            let text = line.trim_end();
            if text.trim_start().starts_with("Stack memory:") {
                in_stack = true;
                continue;
            }
            if in_stack {
                if let Some(c) = MEMORY_ROW.captures(text)
                    && let Ok(mut at) = u64::from_str_radix(&c[1], 16)
                {
                    for word in c[2].split_whitespace() {
                        if let Ok(w) = u32::from_str_radix(word.trim_start_matches("0x"), 16) {
                            dump.memory.insert(at, w);
                        }
                        at += 4;
                    }
                    continue;
                }
                // A blank line may sit inside the dump; any other line ends it.
                if text.trim().is_empty() {
                    continue;
                }
                in_stack = false;
            }
            for c in REGISTER.captures_iter(text) {
                let Ok(value) = u64::from_str_radix(&c[2], 16) else {
                    continue;
                };
                if &c[1] == "MEPC" {
                    mepc = Some(value);
                } else if let Some(n) = dwarf_number(&c[1]) {
                    dump.regs[n as usize] = Some(value);
                }
            }
        }
        dump.mepc = mepc?;
        Some(dump)
    }

    /// Every core's dump in a crash block, with the core it belongs to: a task watchdog on a
    /// dual-core RISC-V chip (ESP32-P4) prints `Core  0 register dump:` and its stack memory for
    /// the current core, then the same for the other. One dump with no `Core N` line is core
    /// `None`.
    pub fn parse_all<'l>(lines: impl IntoIterator<Item = &'l str>) -> Vec<(Option<u32>, Self)> {
        let mut parts: Vec<(Option<u32>, Vec<&str>)> = vec![(None, Vec::new())];
        for line in lines {
            if let Some(c) = CORE_DUMP.captures(line) {
                parts.push((c[1].parse().ok(), Vec::new()));
            }
            if let Some((_, part)) = parts.last_mut() {
                part.push(line);
            }
        }
        parts
            .into_iter()
            .filter_map(|(core, part)| Some((core, RiscvDump::parse(part)?)))
            .collect()
    }

    fn read(&self, addr: u64) -> Option<u64> {
        self.memory.get(&addr).map(|&w| u64::from(w))
    }
}

/// The call-frame information of an ELF: its `.eh_frame` (with the section's address) and its
/// `.debug_frame`, either of which may be absent.
pub struct Cfi<'a> {
    eh_frame: Option<(EhFrame<Reader<'a>>, BaseAddresses, FdeIndex)>,
    debug_frame: Option<(DebugFrame<Reader<'a>>, BaseAddresses, FdeIndex)>,
}

impl std::fmt::Debug for Cfi<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cfi")
            .field("eh_frame", &self.eh_frame.is_some())
            .field("debug_frame", &self.debug_frame.is_some())
            .finish()
    }
}

/// What the unwinder did for one frame: the register rules of its row, applied.
struct Step {
    pc: u64,
    regs: [Option<u64>; 32],
}

/// Whether any FDE of `cfis` covers `addr`.
pub fn covers(cfis: &[&Cfi<'_>], addr: u64) -> bool {
    let mut ctx = UnwindContext::new();
    cfis.iter().any(|c| {
        c.unwind_one(&mut ctx, addr, &[None; 32], &RiscvDump::default())
            .is_some()
    })
}

/// A function's code, for prologue analysis where no CFI covers a PC: the address of its first
/// instruction and its bytes from there.
pub type CodeOf<'c> = &'c dyn Fn(u64) -> Option<(u64, &'c [u8])>;

/// How a caller's return address was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The dump's own PC (MEPC): not a return address.
    Pc,
    /// The ELF's call-frame information.
    Cfi,
    /// The callee's prologue, read from its code (no CFI covers it).
    Prologue,
}

/// Unwind `dump` with the CFI of every ELF given (the app's, the ROM's), and where none covers
/// a PC, with its function's prologue (`code`): the return address of each caller, outermost
/// last. The first element is MEPC itself (not a return address). Stops at the first frame
/// whose CFI or code, saved words or return address is missing, at a zero or repeated return
/// address, or at [`MAX_FRAMES`].
pub fn unwind(cfis: &[&Cfi<'_>], dump: &RiscvDump, code: CodeOf<'_>) -> Vec<(u64, Found)> {
    let mut ctx = UnwindContext::new();
    let mut out = vec![(dump.mepc, Found::Pc)];
    let mut regs = dump.regs;
    let mut pc = dump.mepc;
    // The PC to look up: MEPC is the faulting instruction; a return address is one past the
    // call, so its CFI row is the call's (the row before a possible epilogue).
    let mut lookup = pc;
    while out.len() < MAX_FRAMES {
        let step = cfis
            .iter()
            .find_map(|c| c.unwind_one(&mut ctx, lookup, &regs, dump))
            .map(|s| (s, Found::Cfi))
            .or_else(|| Some((by_prologue(code, lookup, &regs, dump)?, Found::Prologue)));
        let Some((step, found)) = step else {
            break;
        };
        if step.pc == 0 || (step.pc == pc && step.regs[2] == regs[2]) {
            break;
        }
        out.push((step.pc, found));
        pc = step.pc;
        lookup = pc.saturating_sub(1);
        regs = step.regs;
    }
    out
}

/// One step by the prologue of the function holding `lookup`: the CFA is the stack pointer
/// before the prologue moved it; the return address and callee-saved registers are read where
/// it stored them (a leaf that stored no `ra` returns to `ra` itself).
fn by_prologue(
    code: CodeOf<'_>,
    lookup: u64,
    regs: &[Option<u64>; 32],
    dump: &RiscvDump,
) -> Option<Step> {
    let (start, bytes) = code(lookup)?;
    let p = super::prologue::scan(bytes, start, lookup + 1);
    let cfa = regs[2]?.checked_add_signed(-p.sp_moved)?;
    let mut caller = *regs;
    for &(reg, slot) in &p.saved {
        if let Some(r) = caller.get_mut(reg) {
            *r = dump.read(cfa.checked_add_signed(slot)?);
        }
    }
    caller[2] = Some(cfa);
    Some(Step {
        pc: caller[1]?,
        regs: caller,
    })
}

impl<'a> Cfi<'a> {
    /// The CFI sections, given as (data, section address); `None` when there is neither.
    pub fn new(
        eh_frame: Option<(&'a [u8], u64)>,
        debug_frame: Option<&'a [u8]>,
        endian: RunTimeEndian,
        address_size: u8,
    ) -> Option<Self> {
        let eh_frame = eh_frame.filter(|(d, _)| !d.is_empty()).map(|(data, addr)| {
            let mut s = EhFrame::new(data, endian);
            s.set_address_size(address_size);
            let bases = BaseAddresses::default().set_eh_frame(addr);
            let index = index(&s, &bases);
            (s, bases, index)
        });
        let debug_frame = debug_frame.filter(|d| !d.is_empty()).map(|data| {
            let mut s = DebugFrame::new(data, endian);
            s.set_address_size(address_size);
            let bases = BaseAddresses::default();
            let index = index(&s, &bases);
            (s, bases, index)
        });
        if eh_frame.is_none() && debug_frame.is_none() {
            return None;
        }
        Some(Cfi {
            eh_frame,
            debug_frame,
        })
    }

    /// One step: the caller's PC and registers, from the row of `lookup`.
    fn unwind_one(
        &self,
        ctx: &mut UnwindContext<usize>,
        lookup: u64,
        regs: &[Option<u64>; 32],
        dump: &RiscvDump,
    ) -> Option<Step> {
        let (row, ra) = self
            .eh_frame
            .as_ref()
            .and_then(|(s, bases, index)| row_of(s, bases, index, ctx, lookup))
            .or_else(|| {
                self.debug_frame
                    .as_ref()
                    .and_then(|(s, bases, index)| row_of(s, bases, index, ctx, lookup))
            })?;
        let cfa = match row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => {
                let base = *regs.get(register.0 as usize)?;
                base?.checked_add_signed(*offset)?
            }
            // No ESP-IDF toolchain emits CFA expressions for RISC-V code; not guessed.
            CfaRule::Expression(_) => return None,
        };
        let mut caller = *regs;
        for (n, value) in caller.iter_mut().enumerate() {
            let rule = row.register(Register(n as u16));
            *value = match rule {
                // Unlisted: callee-saved registers keep their value (the ABI's default, as gdb).
                None | Some(RegisterRule::SameValue) => regs[n],
                Some(RegisterRule::Undefined) => None,
                Some(RegisterRule::Offset(o)) => dump.read(cfa.checked_add_signed(o)?),
                Some(RegisterRule::ValOffset(o)) => cfa.checked_add_signed(o),
                Some(RegisterRule::Register(r)) => regs.get(r.0 as usize).copied().flatten(),
                Some(RegisterRule::Constant(c)) => Some(c),
                Some(_) => None,
            };
        }
        let pc = caller.get(ra.0 as usize).copied().flatten()?;
        caller[2] = Some(cfa);
        Some(Step { pc, regs: caller })
    }
}

/// The unwind row of `lookup` in one CFI section, and the register holding the return address.
fn row_of<'a, S: UnwindSection<Reader<'a>>>(
    section: &S,
    bases: &BaseAddresses,
    index: &FdeIndex,
    ctx: &mut UnwindContext<usize>,
    lookup: u64,
) -> Option<(UnwindTableRow<usize>, Register)> {
    // The last FDE starting at or before `lookup`, if it reaches it.
    let i = index.partition_point(|&(start, _, _)| start <= lookup);
    let &(_, end, offset) = index.get(i.checked_sub(1)?)?;
    if lookup >= end {
        return None;
    }
    let fde = section
        .fde_from_offset(bases, S::Offset::from(offset), S::cie_from_offset)
        .ok()?;
    let ra = fde.cie().return_address_register();
    let row = fde
        .unwind_info_for_address(section, bases, ctx, lookup)
        .ok()?
        .clone();
    Some((row, ra))
}

/// Every FDE of a CFI section as (first address, end, offset), sorted: gimli's own lookup reads
/// the whole section for each address.
type FdeIndex = Vec<(u64, u64, usize)>;

fn index<'a, S: UnwindSection<Reader<'a>>>(section: &S, bases: &BaseAddresses) -> FdeIndex {
    let mut out = Vec::new();
    let mut entries = section.entries(bases);
    // A malformed entry ends the index; what was read before it stands.
    while let Ok(Some(entry)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = entry
            && let Ok(fde) = partial.parse(S::cie_from_offset)
            && fde.len() > 0
        {
            out.push((fde.initial_address(), fde.end_address(), fde.offset()));
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn parses_registers_and_stack_rows() {
        let text =
            "MEPC    : 0x42000028  RA      : 0x4200005e  SP      : 0x40800840  GP      : 0x00000000
S0/FP   : 0x00000005  S1      : 0x00000000  A0      : 0x00000004  A1      : 0x00000000
MCAUSE  : 0x00000007  MTVAL   : 0x00000000

Stack memory:
40800840: 0x00000000 0x00000000 0x00000000 0x4200009e
";
        let d = RiscvDump::parse(text.lines()).unwrap();
        assert_eq!(d.mepc, 0x4200_0028);
        assert_eq!(d.regs[1], Some(0x4200_005e));
        assert_eq!(d.regs[2], Some(0x4080_0840));
        assert_eq!(d.regs[8], Some(5));
        assert_eq!(d.regs[10], Some(4));
        assert_eq!(d.read(0x4080_084c), Some(0x4200_009e));
        assert_eq!(d.read(0x4080_0850), None);
    }

    #[test]
    fn no_mepc_no_dump() {
        assert_eq!(RiscvDump::parse(["PC      : 0x400d1f6c"]), None);
    }
}
