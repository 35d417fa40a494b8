//! Core dumps that real ESP-IDF apps printed, decoded against the apps' own ELFs and held
//! against gdb's backtraces of the same dumps (`espcoredump.py info_corefile`, committed beside
//! them in Espressif's esp-coredump repository; see fixtures/crashes/coredump/README.md).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

use super::*;
use crate::grade::model::{CoreDumpReport, DumpTask};

fn fixture(chip: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/crashes/coredump")
        .join(chip)
        .join(file)
}

fn read(chip: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture(chip, file)).unwrap()
}

/// One frame of gdb's backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GdbFrame {
    addr: Option<u64>,
    function: Option<String>,
    file: Option<String>,
    line: Option<u32>,
}

/// gdb's backtrace of every task, by TCB, in the order printed. gdb's last `0x00000000 in ??`
/// (RISC-V) or `0x40000000 in ??` (Xtensa: a zero `a0` given the PC's region bits) is where it
/// found a zero return address (the end of a task's stack), not a frame.
fn gdb_threads(expected: &str) -> Vec<(u64, String, Vec<GdbFrame>)> {
    let thread = Regex::new(r"^=+ THREAD \d+ \(TCB: 0x([0-9a-f]+), name: '([^']*)'\) =+$").unwrap();
    let frame =
        Regex::new(r"^#\d+\s+(?:0x([0-9a-f]+) in )?(\S+) \(.*\)(?: at (\S+):(\d+))?$").unwrap();
    let mut out: Vec<(u64, String, Vec<GdbFrame>)> = Vec::new();
    for line in expected.lines() {
        if let Some(c) = thread.captures(line) {
            out.push((
                u64::from_str_radix(&c[1], 16).unwrap(),
                c[2].to_owned(),
                Vec::new(),
            ));
        } else if let Some(c) = frame.captures(line)
            && let Some((_, _, frames)) = out.last_mut()
        {
            let addr = c
                .get(1)
                .map(|m| u64::from_str_radix(m.as_str(), 16).unwrap());
            if addr == Some(0) || (addr == Some(0x4000_0000) && &c[2] == "??") {
                continue;
            }
            frames.push(GdbFrame {
                addr,
                function: Some(c[2].to_owned()).filter(|f| f != "??"),
                file: c.get(3).map(|m| basename(m.as_str())),
                line: c.get(4).map(|m| m.as_str().parse().unwrap()),
            });
        } else if line.starts_with("======================= ALL MEMORY") {
            break;
        }
    }
    out
}

fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Our frames as gdb lists them: an inlined function is a frame of its own, and the function it
/// was inlined into follows without an address.
fn ours(frames: &[Frame]) -> Vec<GdbFrame> {
    let mut out = Vec::new();
    for f in frames {
        out.push(GdbFrame {
            addr: u64::from_str_radix(f.addr.trim_start_matches("0x"), 16).ok(),
            function: f.function.clone(),
            file: f.file.as_deref().map(basename),
            line: f.line,
        });
        for c in &f.inlined_into {
            out.push(GdbFrame {
                addr: None,
                function: c.function.clone(),
                file: c.file.as_deref().map(basename),
                line: c.line,
            });
        }
    }
    out
}

/// binutils' `addr2line` (the Debian `binutils-multiarch` build reads RISC-V ELFs) on the call
/// before a return address: function, file basename, line.
fn addr2line(elf: &Path, ret: u64) -> Option<(String, String, u32)> {
    let out = Command::new("addr2line")
        .arg("-f")
        .arg("-e")
        .arg(elf)
        .arg(format!("0x{:x}", ret - 1))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let function = lines.next()?.to_owned();
    let (file, line) = lines.next()?.rsplit_once(':')?;
    Some((function, basename(file), line.parse().ok()?))
}

fn decoded(chip: &str, elf: &[u8], rom: Option<&[u8]>) -> CoreDumpReport {
    let dump = CoreDump::from_file(&read(chip, "coredump.b64")).unwrap();
    let mut report = summarize(dump, None);
    let mut set = vec![Symbols::parse(elf).unwrap()];
    if let Some(rom) = rom {
        set.push(Symbols::parse(rom).unwrap());
    }
    let warnings = decode_core_dump(&mut report, &set);
    assert!(warnings.is_empty(), "{warnings:?}");
    report
}

/// Every task's frames equal gdb's: function, file and line for each, the address from frame 1
/// on (frame 0 is the PC gdb shows only when it is mid-line), and no frame gdb did not find.
/// `gdb_misnames`: addresses gdb named from the wrong symbol, checked against binutils'
/// addr2line instead.
fn assert_like_gdb(chip: &str, report: &CoreDumpReport, gdb_misnames: &[u64]) {
    let expected = String::from_utf8(read(chip, "expected_output")).unwrap();
    let threads = gdb_threads(&expected);
    assert_eq!(report.tasks.len(), threads.len(), "{chip}: task count");
    for (task, (tcb, name, gdb)) in report.tasks.iter().zip(&threads) {
        assert_eq!(task.tcb, format!("0x{tcb:08x}"), "{chip}: task order");
        assert_eq!(task.name.as_deref(), Some(name.as_str()));
        assert!(task.frames.iter().all(|f| !f.guess && !f.unreliable));
        let got = ours(&task.frames);
        assert_eq!(
            got.len(),
            gdb.len(),
            "{chip} {name}: {got:#?}\nvs gdb {gdb:#?}"
        );
        for (i, (g, want)) in got.iter().zip(gdb).enumerate() {
            if i > 0 {
                assert_eq!(g.addr, want.addr, "{chip} {name} #{i}");
            }
            if let Some(addr) = g.addr
                && gdb_misnames.contains(&addr)
            {
                // gdb named these from a symbol of an empty section at the same address
                // (`__GNU_EH_FRAME_HDR`); binutils' addr2line reads the DWARF line table.
                let (function, file, line) =
                    addr2line(&fixture(chip, "app.elf"), addr).expect("addr2line");
                assert_eq!(
                    (g.function.as_deref(), g.file.as_deref(), g.line),
                    (Some(function.as_str()), Some(file.as_str()), Some(line)),
                    "{chip} {name} #{i}"
                );
                continue;
            }
            assert_eq!(
                (&g.function, &g.file, g.line),
                (&want.function, &want.file, want.line),
                "{chip} {name} #{i}"
            );
        }
    }
}

fn crashed(report: &CoreDumpReport) -> &DumpTask {
    let first = &report.tasks[0];
    assert!(first.crashed);
    assert_eq!(report.crashed_task.as_deref(), Some(first.tcb.as_str()));
    first
}

#[test]
fn esp32c6_tasks_equal_gdb() {
    let report = decoded("esp32c6", &read("esp32c6", "app.elf"), None);
    assert_eq!(report.chip.as_deref(), Some("esp32c6"));
    assert_eq!(report.format, "ELF, SHA-256 (1.4)");
    assert_eq!(
        report.panic_reason.as_deref(),
        Some("abort() was called at PC 0x4200c3d5 on core 0")
    );
    assert_eq!(crashed(&report).name.as_deref(), Some("main"));
    // gdb had no ROM ELF: it stopped at the ROM's 0x40018ebe, and so do we.
    assert_like_gdb("esp32c6", &report, &[]);
    // With the C6 ROM ELF (it has .eh_frame) the unwind goes on through the ROM, to the same
    // call chain gdb printed for this app on the P4 and the ESP32, where it had the ROM ELF.
    let rom = crate::flash::rom_elf::shipped("esp32c6:v0.1").unwrap();
    let with_rom = decoded("esp32c6", &read("esp32c6", "app.elf"), Some(&rom));
    let main = ours(&crashed(&with_rom).frames);
    let names: Vec<&str> = main.iter().filter_map(|f| f.function.as_deref()).collect();
    assert_eq!(
        names,
        [
            "panic_abort",
            "esp_system_abort",
            "abort",
            "fail_once",
            "ets_write_char",
            "ets_vprintf",
            "ets_printf",
            "app_main",
            "main_task",
            "vPortTaskWrapper"
        ]
    );
    assert_eq!(main[4].addr, Some(0x4001_8ebe));
    assert_eq!(
        (main[7].file.as_deref(), main[7].line),
        (Some("test_core_dump.c"), Some(20))
    );
}

#[test]
fn esp32p4_tasks_equal_gdb_through_the_rom() {
    let dump = CoreDump::from_file(&read("esp32p4", "coredump.b64")).unwrap();
    assert_eq!(dump.chip, Some("esp32p4"));
    let rom = crate::flash::rom_elf::shipped("esp32p4:v0.0").unwrap();
    let report = decoded("esp32p4", &read("esp32p4", "app.elf"), Some(&rom));
    assert_eq!(crashed(&report).name.as_deref(), Some("main"));
    // The ROM ELF's .eh_frame carries the unwind through ets_write_char, ets_vprintf and
    // ets_printf back into the app, as gdb went.
    // ipc0 and ipc1: vPortExitCriticalMultiCore tail-called vPortClearInterruptMaskFromISR;
    // its frame (0x4ff04c2c) is nowhere on the stack, and comes from the DWARF call sites.
    assert_like_gdb("esp32p4", &report, &[0x4000_898a, 0x4000_89b0]);
    let ipc0 = &report.tasks[3];
    assert_eq!(ipc0.name.as_deref(), Some("ipc0"));
    assert_eq!(
        (ipc0.frames[1].from.as_str(), ipc0.frames[1].addr.as_str()),
        ("tail-call", "0x4ff04c2c")
    );
}

#[test]
fn esp32c3_tasks_equal_gdb_through_the_rom_by_its_prologues() {
    let dump = CoreDump::from_file(&read("esp32c3", "coredump.b64")).unwrap();
    assert_eq!((dump.chip, dump.chip_rev), (Some("esp32c3"), Some(3)));
    assert_eq!(dump.format, "ELF, CRC32 (1.2)");
    // The revision as the dump's header (and the chip's boot log) says it: v0.3.
    let rom = crate::flash::rom_elf::shipped("esp32c3:v0.3").unwrap();
    let report = decoded("esp32c3", &read("esp32c3", "app.elf"), Some(&rom));
    // The C3 ROM ELF has no call-frame information: out of ets_vprintf and ets_printf the
    // unwind goes by their prologues, read from the ROM ELF's code, as gdb's did.
    let main = crashed(&report);
    let from: Vec<&str> = main.frames.iter().map(|f| f.from.as_str()).collect();
    assert_eq!(
        from,
        [
            "pc", "cfi", "cfi", "cfi", "cfi", "prologue", "prologue", "cfi", "cfi"
        ]
    );
    assert_like_gdb("esp32c3", &report, &[]);
    // Without the ROM ELF: the ROM frame is shown unnamed and the unwind stops there.
    let bare = decoded("esp32c3", &read("esp32c3", "app.elf"), None);
    let main = ours(&crashed(&bare).frames);
    assert_eq!(main.len(), 5, "{main:#?}");
    assert_eq!(
        (main[4].addr, &main[4].function),
        (Some(0x4004_85e4), &None)
    );
}

#[test]
fn esp32_xtensa_tasks_equal_gdb_through_the_rom() {
    let dump = CoreDump::from_file(&read("esp32", "coredump.b64")).unwrap();
    assert_eq!((dump.arch, dump.chip_rev), (Arch::Xtensa, Some(300)));
    // espcoredump: `exccause 0x1d (StoreProhibitedCause)`, `excvaddr 0x0`.
    assert_eq!((dump.exccause, dump.excvaddr), (Some(0x1d), Some(0)));
    let rom = crate::flash::rom_elf::shipped("esp32:v3.0").unwrap();
    let report = decoded("esp32", &read("esp32", "app.elf"), Some(&rom));
    assert_eq!(crashed(&report).name.as_deref(), Some("main"));
    // The base save areas lead through ets_write_char and ets_printf in ROM back into the app;
    // inlined vPortClearInterruptMaskFromISR is listed as gdb lists it.
    assert_like_gdb("esp32", &report, &[]);
    // Without the ROM ELF: the ROM frame is shown unnamed and the unwind stops there.
    let bare = decoded("esp32", &read("esp32", "app.elf"), None);
    let main = ours(&crashed(&bare).frames);
    assert_eq!(main.len(), 5, "{main:#?}");
    assert_eq!(
        (main[4].addr, &main[4].function),
        (Some(0x4000_7c78), &None)
    );
}

#[test]
fn another_builds_elf_is_flagged_and_no_frame_is_confident() {
    let dump = CoreDump::from_file(&read("esp32c3", "coredump.b64")).unwrap();
    let mut report = summarize(dump, None);
    let other = read("esp32c6", "app.elf");
    let warnings = decode_core_dump(&mut report, &[Symbols::parse(&other).unwrap()]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("7d946a8e8"), "{}", warnings[0]);
    assert!(warnings[0].contains("another build"), "{}", warnings[0]);
    let frames: Vec<&Frame> = report.tasks.iter().flat_map(|t| &t.frames).collect();
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f.unreliable));
}

#[test]
fn the_partition_image_and_the_elf_core_read_alike() {
    let text = read("esp32c3", "coredump.b64");
    let from_text = CoreDump::from_file(&text).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let image: Vec<u8> = String::from_utf8(text)
        .unwrap()
        .lines()
        .flat_map(|l| base64::Engine::decode(&engine, l.trim()).unwrap())
        .collect();
    let from_image = CoreDump::from_file(&image).unwrap();
    assert_eq!(from_image, from_text);
    // The ELF core alone: 24 header bytes before it, the CRC32 after.
    let core = CoreDump::from_file(&image[24..image.len() - 4]).unwrap();
    assert_eq!(core.format, "ELF core");
    assert_eq!(core.chip, None);
    assert_eq!(core.tasks, from_text.tasks);
    assert_eq!(core.panic_reason, from_text.panic_reason);
}

#[test]
fn damaged_and_cut_dumps_say_why() {
    let text = String::from_utf8(read("esp32c3", "coredump.b64")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Cut: the UART dropped the end of the block.
    let cut = CoreDump::from_base64_lines(lines[..40].iter().copied()).unwrap_err();
    assert!(
        matches!(cut, CoreDumpError::Truncated { need: 3224, .. }),
        "{cut}"
    );
    // One character changed: still base64, but the CRC32 disagrees.
    let mut damaged: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    damaged[30] = damaged[30].replacen('A', "B", 1);
    let err = CoreDump::from_base64_lines(damaged.iter().map(String::as_str)).unwrap_err();
    assert!(
        matches!(err, CoreDumpError::Checksum { kind: "CRC32", .. }),
        "{err}"
    );
    // A line garbled into something that is not base64 at all.
    damaged[30] = "AAAA~~".to_owned();
    let err = CoreDump::from_base64_lines(damaged.iter().map(String::as_str)).unwrap_err();
    assert_eq!(err, CoreDumpError::Base64 { line: 31 });
    let report = read_block(damaged.iter().map(String::as_str), Some(7));
    assert!(report.error.unwrap().contains("line 31"));
    assert!(report.tasks.is_empty());
}

#[test]
fn damaged_elf_cores_never_panic() {
    // The ELF core alone has no checksum to stop damage: every byte flipped in turn (a stride
    // through the file, two patterns) is read, and what reads is decoded, without a panic.
    let engine = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(read("esp32c3", "coredump.b64")).unwrap();
    let image: Vec<u8> = text
        .lines()
        .flat_map(|l| base64::Engine::decode(&engine, l.trim()).unwrap())
        .collect();
    let core = &image[24..image.len() - 4];
    let elf = read("esp32c3", "app.elf");
    let set = [Symbols::parse(&elf).unwrap()];
    let mut read_ok = 0;
    // The ELF header, program headers and notes densely, the memory segments sparsely.
    let positions = (0..0x400)
        .step_by(5)
        .chain((0x400..core.len()).step_by(211));
    for at in positions {
        for pattern in [0xff, 0x80] {
            let mut bad = core.to_vec();
            bad[at] ^= pattern;
            if let Ok(dump) = CoreDump::from_file(&bad) {
                read_ok += 1;
                let mut report = summarize(dump, None);
                decode_core_dump(&mut report, &set);
            }
        }
    }
    assert!(read_ok > 0);
}

/// The crashed task of a real dump, printed as ESP-IDF's RISC-V panic handler prints a crash on
/// the serial port: the Guru Meditation line, `Core  0 register dump:` with four registers a
/// row, the CSRs, and `Stack memory:` (1 KiB from SP, eight words a row, as
/// `panic_print_registers` prints it). Only the layout is ours; every value is the dump's.
fn panic_text(chip: &str) -> String {
    let dump = CoreDump::from_file(&read(chip, "coredump.b64")).unwrap();
    let task = dump.tasks_crashed_first()[0];
    const NAMES: [&str; 32] = [
        "MEPC", "RA", "SP", "GP", "TP", "T0", "T1", "T2", "S0/FP", "S1", "A0", "A1", "A2", "A3",
        "A4", "A5", "A6", "A7", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "T3",
        "T4", "T5", "T6",
    ];
    let mut text = String::from(
        "Guru Meditation Error: Core  0 panic'ed (Load access fault). Exception was unhandled.\r\n\
         \r\nCore  0 register dump:\r\n",
    );
    for row in NAMES.iter().zip(&task.regs).collect::<Vec<_>>().chunks(4) {
        let cells: Vec<String> = row
            .iter()
            .map(|(name, value)| format!("{name:<8}: 0x{value:08x}"))
            .collect();
        text += &format!("{}\r\n", cells.join("  "));
    }
    text += "MSTATUS : 0x00001881  MTVEC   : 0x40800001  MCAUSE  : 0x00000005  MTVAL   : \
             0x00000000\r\nMHARTID : 0x00000000\r\n\r\nStack memory:\r\n";
    let sp = u64::from(task.regs[2]);
    for row in (sp..sp + 1024).step_by(32) {
        let words: Vec<String> = (0..8)
            .filter_map(|i| dump.memory.get(&(row + i * 4)))
            .map(|w| format!("0x{w:08x}"))
            .collect();
        if words.len() == 8 {
            text += &format!("{row:08x}: {}\r\n", words.join(" "));
        }
    }
    text += "\r\n\r\n\r\nELF file SHA256: 0000000000000000\r\n\r\nRebooting...\r\n";
    text
}

/// A crash as the serial port shows it (not as a core dump) decodes, with the real app ELF, to
/// the frames gdb found for the same task: the text path parses the register dump and the
/// printed stack memory and unwinds with the ELF's CFI, inventing nothing.
#[test]
fn riscv_panic_text_of_real_apps_unwinds_like_gdb() {
    // P4: the two addresses gdb named from `__GNU_EH_FRAME_HDR` are held against addr2line, as
    // in the core dump test.
    let p4_misnames: &[u64] = &[0x4000_898a, 0x4000_89b0];
    for (chip, rom, misnames) in [
        ("esp32c6", None, &[][..]),
        ("esp32p4", Some("esp32p4:v0.0"), p4_misnames),
        // The C3 ROM ELF has no CFI: through the ROM by its prologues.
        ("esp32c3", Some("esp32c3:v0.3"), &[][..]),
    ] {
        let text = panic_text(chip);
        let mut report = crate::grade::grade_bytes(
            crate::grade::GradeConfig::new(crate::grade::Profile::Auto),
            text.as_bytes(),
        );
        assert_eq!(report.verdict, crate::grade::Verdict::Fault, "{chip}");
        let elf = read(chip, "app.elf");
        let rom = rom.map(|r| crate::flash::rom_elf::shipped(r).unwrap());
        let mut set = vec![Symbols::parse(&elf).unwrap()];
        if let Some(rom) = &rom {
            set.push(Symbols::parse(rom).unwrap());
        }
        annotate(&mut report, &set);
        assert!(
            report.backtrace.iter().all(|f| !f.guess),
            "{chip}: {:#?}",
            report.backtrace
        );
        let expected = String::from_utf8(read(chip, "expected_output")).unwrap();
        let dump = CoreDump::from_file(&read(chip, "coredump.b64")).unwrap();
        let tcb = dump.tasks_crashed_first()[0].tcb;
        let (_, _, gdb) = gdb_threads(&expected)
            .into_iter()
            .find(|(t, _, _)| *t == tcb)
            .unwrap();
        let got = ours(&report.backtrace);
        assert_eq!(got.len(), gdb.len(), "{chip}: {got:#?}\nvs gdb {gdb:#?}");
        for (i, (g, want)) in got.iter().zip(&gdb).enumerate() {
            if i > 0 {
                assert_eq!(g.addr, want.addr, "{chip} #{i}");
            }
            let want = match g.addr.filter(|a| misnames.contains(a)) {
                Some(addr) => {
                    let (function, file, line) =
                        addr2line(&fixture(chip, "app.elf"), addr).expect("addr2line");
                    (Some(function), Some(file), Some(line))
                }
                None => (want.function.clone(), want.file.clone(), want.line),
            };
            assert_eq!(
                (g.function.clone(), g.file.clone(), g.line),
                want,
                "{chip} #{i}"
            );
        }
    }
}
