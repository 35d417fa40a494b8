//! RISC-V prologue analysis, for code no CFI covers (the ESP32-C3's ROM ELF has none): read the
//! function's first instructions, as gdb's `riscv_scan_prologue` does, for how far it moved the
//! stack pointer and where it stored the return address and callee-saved registers. Only the
//! stack adjustments and stores of RV32IC are read; scanning stops at the first jump, branch or
//! the PC itself, so what a function does after its prologue is never taken for part of it.

/// What a prologue did before `pc`: the stack pointer's total move (negative: it grew), and each
/// register stored, with its slot's offset from the stack pointer at entry (the CFA).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prologue {
    pub sp_moved: i64,
    pub saved: Vec<(usize, i64)>,
}

fn bits(insn: u32, hi: u32, lo: u32) -> u32 {
    (insn >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn sign(value: u32, width: u32) -> i64 {
    let shift = 64 - width;
    (i64::from(value) << shift) >> shift
}

/// Scan `code`, the bytes of a function from its first instruction at `start`, up to `pc`.
pub fn scan(code: &[u8], start: u64, pc: u64) -> Prologue {
    const SP: u32 = 2;
    let mut p = Prologue::default();
    let mut at = 0usize;
    while start + (at as u64) < pc {
        let Some(half) = code.get(at..at + 2) else {
            break;
        };
        let low = u32::from(u16::from_le_bytes([half[0], half[1]]));
        if low & 3 != 3 {
            let (op, funct3) = (low & 3, bits(low, 15, 13));
            let rd = bits(low, 11, 7);
            match (op, funct3) {
                // c.addi sp, imm
                (1, 0) if rd == SP => {
                    p.sp_moved += sign(bits(low, 12, 12) << 5 | bits(low, 6, 2), 6);
                }
                // c.addi16sp imm
                (1, 3) if rd == SP => {
                    let imm = bits(low, 12, 12) << 9
                        | bits(low, 4, 3) << 7
                        | bits(low, 5, 5) << 6
                        | bits(low, 2, 2) << 5
                        | bits(low, 6, 6) << 4;
                    p.sp_moved += sign(imm, 10);
                }
                // c.swsp rs2, uimm(sp)
                (2, 6) => {
                    let off = bits(low, 12, 9) << 2 | bits(low, 8, 7) << 6;
                    p.saved
                        .push((bits(low, 6, 2) as usize, p.sp_moved + i64::from(off)));
                }
                // c.jal, c.j, c.beqz, c.bnez
                (1, 1 | 5 | 6 | 7) => break,
                // c.jr, c.jalr (c.ebreak too): rs2 is zero
                (2, 4) if bits(low, 6, 2) == 0 && rd != 0 => break,
                _ => {}
            }
            at += 2;
            continue;
        }
        let Some(word) = code.get(at..at + 4) else {
            break;
        };
        let insn = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let (opcode, funct3) = (insn & 0x7f, bits(insn, 14, 12));
        let (rd, rs1) = (bits(insn, 11, 7), bits(insn, 19, 15));
        match opcode {
            // addi sp, sp, imm
            0x13 if funct3 == 0 && rd == SP && rs1 == SP => {
                p.sp_moved += sign(bits(insn, 31, 20), 12);
            }
            // sw rs2, imm(sp)
            0x23 if funct3 == 2 && rs1 == SP => {
                let off = sign(bits(insn, 31, 25) << 5 | bits(insn, 11, 7), 12);
                p.saved
                    .push((bits(insn, 24, 20) as usize, p.sp_moved + off));
            }
            // jal, jalr, branches
            0x6f | 0x67 | 0x63 => break,
            _ => {}
        }
        at += 4;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_and_full_prologues() {
        // c.addi16sp sp,-64; c.swsp ra,60(sp); c.swsp s0,56(sp); then c.jal (the body).
        let code = [0x39, 0x71, 0x06, 0xde, 0x22, 0xdc, 0x01, 0x20];
        let p = scan(&code, 0x4000_0000, 0x4000_0100);
        assert_eq!(p.sp_moved, -64);
        assert_eq!(p.saved, vec![(1, -4), (8, -8)]);
        // addi sp,sp,-32; sw ra,28(sp), scanned only up to the PC between them.
        let code = [0x13, 0x01, 0x01, 0xfe, 0x23, 0x2e, 0x11, 0x00];
        assert_eq!(scan(&code, 0x100, 0x104).saved, Vec::new());
        let p = scan(&code, 0x100, 0x108);
        assert_eq!((p.sp_moved, p.saved), (-32, vec![(1, -4)]));
    }
}
