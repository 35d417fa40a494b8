//! A core dump in the report: what it says without an ELF (the crashed task, the panic reason,
//! each task's PC), and with one, every task's backtrace, unwound through the dumped memory with
//! the ELF's call-frame information as gdb does for `espcoredump.py info_corefile`.

use super::coredump::{CoreDump, CoreDumpError};
use super::unwind::RiscvDump;
use super::{Arch, Cfi, Symbols, frame_in, identity, return_frame_in, riscv_frames, xtensa};
use crate::grade::model::{CoreDumpReport, DumpTask, Frame};

/// Read a UART block's lines (the base64 between the markers) into a report entry; a dump that
/// cannot be read becomes an entry that says why.
pub fn read_block<'l>(
    lines: impl IntoIterator<Item = &'l str>,
    line: Option<usize>,
) -> CoreDumpReport {
    match CoreDump::from_base64_lines(lines) {
        Ok(dump) => summarize(dump, line),
        Err(e) => unreadable(&e, line),
    }
}

/// The report entry of a dump that could not be read.
pub fn unreadable(error: &CoreDumpError, line: Option<usize>) -> CoreDumpReport {
    CoreDumpReport {
        line,
        error: Some(error.to_string()),
        ..CoreDumpReport::default()
    }
}

fn hex32(v: u64) -> String {
    format!("0x{v:08x}")
}

/// What a dump says before any ELF is given.
pub fn summarize(dump: CoreDump, line: Option<usize>) -> CoreDumpReport {
    let tasks = dump
        .tasks_crashed_first()
        .into_iter()
        .map(|t| DumpTask {
            name: t.name.clone(),
            tcb: hex32(t.tcb),
            crashed: Some(t.tcb) == dump.crashed_tcb,
            pc: hex32(u64::from(t.regs.first().copied().unwrap_or_default())),
            frames: Vec::new(),
        })
        .collect();
    CoreDumpReport {
        line,
        error: None,
        format: dump.format.clone(),
        chip: dump.chip.map(str::to_owned),
        chip_rev: dump.chip_rev,
        app_elf_sha256: dump.app_sha256.clone(),
        crashed_task: dump.crashed_tcb.map(hex32),
        in_isr: dump.in_isr,
        panic_reason: dump.panic_reason.clone(),
        exception_cause: dump.exccause,
        fault_address: dump.excvaddr.map(hex32),
        tasks,
        notes: vec!["give the app's --elf to name the frames of every task".to_owned()],
        dump: Some(Box::new(dump)),
    }
}

/// Decode every task of the report's dump with `set` (the app's ELF first, then ROM ELFs):
/// RISC-V tasks are unwound from their registers through the dumped TCBs and stacks with the
/// ELF's CFI; Xtensa tasks through the windowed ABI's base save areas. A dump from another build or architecture marks every frame unreliable; what
/// disagrees is returned, one sentence each, for the report's warnings.
pub fn decode_core_dump(report: &mut CoreDumpReport, set: &[Symbols<'_>]) -> Vec<String> {
    let (Some(dump), Some(app)) = (report.dump.as_deref(), set.first()) else {
        return Vec::new();
    };
    let warnings = identity::check_dump(dump, app);
    let unreliable = !warnings.is_empty();
    let mut notes = Vec::new();
    let cfis: Vec<&Cfi<'_>> = set.iter().filter_map(|s| s.cfi.as_ref()).collect();
    if dump.arch == Arch::RiscV && cfis.is_empty() {
        notes.push(
            "the ELF has no call-frame information (.eh_frame/.debug_frame): only each task's \
             PC is decoded"
                .to_owned(),
        );
    }
    let tasks = dump.tasks_crashed_first();
    // One copy of the dumped memory serves every task's unwind.
    let mut task_dump = RiscvDump {
        memory: if dump.arch == Arch::RiscV {
            dump.memory.clone()
        } else {
            Default::default()
        },
        ..RiscvDump::default()
    };
    for (entry, task) in report.tasks.iter_mut().zip(tasks) {
        let pc = u64::from(task.regs.first().copied().unwrap_or_default());
        let mut frames: Vec<Frame> = if dump.arch == Arch::RiscV && !cfis.is_empty() {
            task_dump.mepc = pc;
            task_dump.regs = [None; 32];
            task_dump.regs[0] = Some(0);
            for (n, &r) in task.regs.iter().enumerate().skip(1).take(31) {
                task_dump.regs[n] = Some(u64::from(r));
            }
            riscv_frames(set, &cfis, &task_dump, "pc")
        } else if dump.arch == Arch::Xtensa {
            let is_code = |addr| set.iter().any(|s| s.is_code(addr));
            let pcs = xtensa::unwind(&task.regs, &dump.memory, is_code);
            let mut frames: Vec<Frame> = pcs
                .first()
                .and_then(|&pc| frame_in(set, pc, "pc"))
                .into_iter()
                .collect();
            for &ret in pcs.iter().skip(1) {
                frames.extend(return_frame_in(set, ret, "window"));
            }
            frames
        } else {
            frame_in(set, pc, "pc").into_iter().collect()
        };
        if unreliable {
            for f in &mut frames {
                f.unreliable = true;
            }
        }
        entry.frames = frames;
    }
    let outside = report
        .tasks
        .iter()
        .flat_map(|t| &t.frames)
        .any(|f| !f.in_elf);
    if let (true, 1, Some(chip)) = (outside, set.len(), dump.chip) {
        let rev = dump
            .chip_rev
            .map(|r| format!(":v{}.{}", r / 100, r % 100))
            .unwrap_or_default();
        notes.push(format!(
            "frames outside the ELF are likely the chip's ROM code: add --rom {chip}{rev} to \
             name them (and unwind through them)"
        ));
    }
    report.notes = notes;
    warnings
}
