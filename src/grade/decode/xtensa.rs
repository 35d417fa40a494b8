//! Xtensa windowed-ABI unwinding of a core dump task, as gdb does it for ESP-IDF's dumps: the
//! dump gives each task's PC and its current register window (`windowstart` holds only that
//! window, so every caller's registers are in memory), and each caller's `a0` (return address)
//! and `a1` (stack pointer) are in the base save area, the 16 bytes below the callee's stack
//! pointer. A return address keeps the call's window size in its top two bits; the caller's PC
//! takes those bits from the callee's PC (the same 1 GiB region). Pure; it stops where memory or
//! a plausible frame ends, and never scans for code-looking words.

use std::collections::BTreeMap;

/// Where the registers lie in an Xtensa `NT_PRSTATUS` register set (gdb's
/// `xtensa_elf_gregset_t`): PC first, the 64 physical address registers from 64 on.
const PC: usize = 0;
const WINDOWBASE: usize = 7;
const AR: usize = 64;

/// The most frames one unwind yields.
const MAX_FRAMES: usize = 64;

/// The PC and return addresses of a task, innermost first: the PC, then each caller's return
/// address with its top bits set as the PC's (what gdb prints as the frame's address).
pub fn unwind(
    regs: &[u32],
    memory: &BTreeMap<u64, u32>,
    is_code: impl Fn(u64) -> bool,
) -> Vec<u64> {
    let Some(&pc) = regs.get(PC) else {
        return Vec::new();
    };
    let base = regs.get(WINDOWBASE).map_or(0, |&w| w as usize * 4);
    let ar = |n: usize| regs.get(AR + (base + n) % 64).copied();
    let mut out = vec![u64::from(pc)];
    let (Some(mut a0), Some(mut sp)) = (ar(0), ar(1)) else {
        return out;
    };
    let mut pc = pc;
    let read = |addr: u32| memory.get(&u64::from(addr)).copied();
    while out.len() < MAX_FRAMES && a0 != 0 {
        let caller = (a0 & 0x3fff_ffff) | (pc & 0xc000_0000);
        out.push(u64::from(caller));
        // Outside every ELF given (ROM code without its ELF): shown, but not walked past, as
        // on RISC-V where no CFI covers it.
        if !is_code(u64::from(caller)) {
            break;
        }
        // The caller's a0 and a1, spilled below this frame's stack pointer.
        let (Some(next_a0), Some(next_sp)) = (
            sp.checked_sub(16).and_then(read),
            sp.checked_sub(12).and_then(read),
        ) else {
            break;
        };
        // Stacks grow down: a caller's frame lies above its callee's.
        if next_sp <= sp {
            break;
        }
        pc = caller;
        a0 = next_a0;
        sp = next_sp;
    }
    out
}
