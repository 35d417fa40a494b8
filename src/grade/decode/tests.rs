//! Unit tests of crash decoding: address extraction from both chips' crash blocks, and lookups in
//! a real ELF that the host's gcc builds (DWARF is target-neutral, so a host ELF decodes the way
//! an Xtensa or RISC-V one does).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSymbol};

use super::*;

fn crash(headline: &str, block: &str) -> Crash {
    Crash {
        kind: "exception".to_owned(),
        line: 1,
        headline: headline.to_owned(),
        block: block.lines().map(str::to_owned).collect(),
        elf_sha256: None,
    }
}

fn raw(list: &[RawAddress]) -> Vec<(String, &'static str, bool)> {
    list.iter()
        .map(|r| (format!("{:08x}", r.addr), r.from, r.code_only))
        .collect()
}

#[test]
fn esp8266_postmortem_addresses() {
    let c = crash(
        "Exception (28):",
        "epc1=0x40206a4e epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000010 depc=0x00000000

>>>stack>>>

ctx: cont
sp: 3ffffd40 end: 3fffffc0 offset: 0190
3ffffed0:  3fffdad0 00000000 3ffee6f8 40203a9c <
3fffffb0:  feefeffe 40100c09
<<<stack<<<",
    );
    let got = raw(&addresses(&c));
    let want: Vec<(String, &str, bool)> = [
        ("40206a4e", "epc1", false),
        ("00000010", "excvaddr", false),
        ("3fffdad0", "stack", true),
        ("00000000", "stack", true),
        ("3ffee6f8", "stack", true),
        ("40203a9c", "stack", true),
        ("feefeffe", "stack", true),
        ("40100c09", "stack", true),
    ]
    .iter()
    .map(|(a, f, c)| (a.to_string(), *f, *c))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn nonos_sdk_fatal_exception_registers() {
    let c = crash(
        "Fatal exception 28(LoadProhibitedCause):",
        "epc1=0x40201e3c, epc2=0x00000000, epc3=0x00000000, excvaddr=0x00000000, depc=0x00000000",
    );
    let got = raw(&addresses(&c));
    assert_eq!(got[0], ("40201e3c".to_owned(), "epc1", false));
    assert_eq!(got[1], ("00000000".to_owned(), "excvaddr", false));
    assert_eq!(got.len(), 2);
}

#[test]
fn esp32_guru_meditation_addresses() {
    let c = crash(
        "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.",
        "
Core  1 register dump:
PC      : 0x400d1f6c  PS      : 0x00060d30  A0      : 0x800d2a10  A1      : 0x3ffb1f40  
EXCVADDR: 0x00000000  LBEG    : 0x4000c2e0  LEND    : 0x4000c2f6  LCOUNT  : 0xffffffff  

Backtrace: 0x400d1f69:0x3ffb1f40 0x400d2a0d:0x3ffb1f70 0x4008a0e2:0x3ffb1fd0 |<-CORRUPTED",
    );
    let got = raw(&addresses(&c));
    let froms: Vec<_> = got.iter().map(|g| (g.0.as_str(), g.1)).collect();
    assert_eq!(
        froms,
        [
            ("400d1f6c", "pc"),
            ("00000000", "excvaddr"),
            ("400d1f69", "backtrace"),
            ("400d2a0d", "backtrace"),
            ("4008a0e2", "backtrace"),
        ]
    );
    assert!(got.iter().all(|g| !g.2), "registers are always decoded");
}

#[test]
fn riscv_registers_stack_memory_and_abort() {
    let c = crash(
        "abort() was called at PC 0x42006a2c on core 0",
        "
MEPC    : 0x42006a2c  RA      : 0x42006a1e  SP      : 0x3fc8f3a0  GP      : 0x3fc8b400
MCAUSE  : 0x00000005  MTVAL   : 0x00000004

Stack memory:
3fc8f3a0: 0x42006a1e 0x00000000 0x3fc8f3c0",
    );
    let got = raw(&addresses(&c));
    let froms: Vec<_> = got.iter().map(|g| (g.0.as_str(), g.1)).collect();
    assert_eq!(
        froms,
        [
            ("42006a2c", "pc"),
            ("42006a2c", "mepc"),
            ("42006a1e", "ra"),
            ("00000004", "mtval"),
            ("42006a1e", "stack"),
            ("00000000", "stack"),
            ("3fc8f3c0", "stack"),
        ]
    );
}

#[test]
fn not_an_elf_is_refused_with_a_reason() {
    assert!(Symbols::parse(b"").unwrap_err().contains("not an ELF file"));
    assert!(
        Symbols::parse(&[0xe9, 0x03, 0x02, 0x20])
            .unwrap_err()
            .contains(".bin image")
    );
    // A truncated header is an error, never a panic.
    assert!(Symbols::parse(b"\x7fELF\x01\x01\x01\0\0\0").is_err());
}

/// A C program built by the host's gcc, in memory.
fn build(dir: &Path, name: &str, extra: &[&str]) -> Vec<u8> {
    let src = dir.join("unit.c");
    // Line numbers matter: the tests below name them.
    std::fs::write(
        &src,
        "volatile int sink;\n\
         void crash_here(int *p) {\n\
         \x20   *p = 1;\n\
         }\n\
         int main(void) { crash_here((int *)&sink); return sink; }\n",
    )
    .unwrap();
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(["-O0", "-no-pie", "-fno-inline"])
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc runs");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn symbol(elf: &[u8], name: &str) -> u64 {
    let file = object::File::parse(elf).unwrap();
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name}"))
        .address()
}

#[test]
fn lookups_in_a_host_elf() {
    let dir = tempfile::tempdir().unwrap();
    let elf = build(dir.path(), "unit", &["-g"]);
    assert_eq!(Symbols::check(&elf), Ok(()));
    let syms = Symbols::parse(&elf).unwrap();
    assert!(syms.has_line_info());
    let at = symbol(&elf, "crash_here");
    let f = syms.frame(at, "epc1");
    assert_eq!(f.function.as_deref(), Some("crash_here"));
    assert!(f.file.as_deref().unwrap().ends_with("unit.c"), "{f:?}");
    assert_eq!(f.line, Some(2));
    assert!(f.in_elf && f.inlined_into.is_empty());
    assert_eq!(f.addr, format!("0x{at:08x}"));

    // Outside the ELF: unknown, and said to be outside.
    let rom = syms.frame(0x4000_0f49, "epc1");
    assert_eq!(
        (rom.function, rom.file, rom.line, rom.in_elf),
        (None, None, None, false)
    );
    // A data address inside the ELF is not a function either.
    let data = syms.frame(symbol(&elf, "sink"), "excvaddr");
    assert_eq!((data.function, data.line, data.in_elf), (None, None, true));
    assert!(!syms.is_code(symbol(&elf, "sink")));
    assert!(syms.is_code(at));
}

#[test]
fn without_debug_info_the_symbol_table_names_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let elf = build(dir.path(), "nodebug", &["-g0"]);
    let syms = Symbols::parse(&elf).unwrap();
    assert!(!syms.has_line_info());
    let f = syms.frame(symbol(&elf, "crash_here") + 1, "pc");
    assert_eq!(f.function.as_deref(), Some("crash_here"));
    assert_eq!((f.file, f.line), (None, None));
}

#[test]
fn a_stripped_elf_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elf = build(dir.path(), "stripped", &["-g0", "-s"]);
    let err = Symbols::parse(&elf).unwrap_err();
    assert!(err.contains("stripped"), "{err}");
    assert_eq!(Symbols::check(&elf), Err(err));
}

#[test]
fn annotate_names_the_crash_site_in_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let elf = build(dir.path(), "unit", &["-g"]);
    let syms = Symbols::parse(&elf).unwrap();
    let at = symbol(&elf, "crash_here");
    let log = format!(
        "Exception (29):\r\nepc1=0x{at:08x} epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 \
         depc=0x00000000\r\n\r\n>>>stack>>>\r\n3ffffed0:  3fffdad0 {:08x} 3ffee6f8 40000f49\r\n\
         <<<stack<<<\r\n",
        symbol(&elf, "main") + 4
    );
    let mut report = crate::grade::grade_bytes(
        crate::grade::GradeConfig::new(crate::grade::Profile::Custom),
        log.as_bytes(),
    );
    assert!(
        report.reason.ends_with(crash::HINT_DECODER),
        "{}",
        report.reason
    );
    annotate(&mut report, std::slice::from_ref(&syms));
    let froms: Vec<_> = report
        .backtrace
        .iter()
        .map(|f| (f.from.as_str(), f.function.as_deref()))
        .collect();
    // The stack's data words and its ROM address are not code of this ELF: left out; the
    // stack word that is code is only a guess (no CFI unwound it).
    assert_eq!(
        froms,
        [("epc1", Some("crash_here")), ("stack", Some("main"))]
    );
    assert_eq!(
        report.backtrace.iter().map(|f| f.guess).collect::<Vec<_>>(),
        [false, true]
    );
    // excvaddr is the address the store hit: a fault address, not a frame.
    let faults: Vec<_> = report
        .fault_addresses
        .iter()
        .map(|f| (f.from.as_str(), f.addr.as_str()))
        .collect();
    assert_eq!(faults, [("excvaddr", "0x00000000")]);
    assert!(
        report.reason.contains("StoreProhibited")
            && report.reason.contains("; it crashed in crash_here at "),
        "{}",
        report.reason
    );
    assert!(report.reason.ends_with("unit.c:2"), "{}", report.reason);
}

/// The RISC-V fixture: a real rv32imc ELF from gcc and its crash state recorded under
/// qemu-riscv32 in ESP-IDF's panic format (fixtures/crashes/rv32/README.md).
fn rv32() -> (Vec<u8>, String, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crashes/rv32");
    (
        std::fs::read(dir.join("crash-rv32.elf")).unwrap(),
        std::fs::read_to_string(dir.join("guru.txt")).unwrap(),
        std::fs::read_to_string(dir.join("gdb-bt.txt")).unwrap(),
    )
}

fn rv32_report(dump: &str) -> Report {
    crate::grade::grade_bytes(
        crate::grade::GradeConfig::new(crate::grade::Profile::Custom),
        dump.as_bytes(),
    )
}

/// `addr2line FLAGS -e ELF ADDRS…`'s output; `None` (and a SKIP line) where the host's addr2line
/// cannot read the ELF's architecture.
fn addr2line(elf: &Path, flags: &[&str], addrs: &[&str]) -> Option<String> {
    match Command::new("addr2line")
        .args(flags)
        .arg("-e")
        .arg(elf)
        .args(addrs)
        .output()
    {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        _ => {
            eprintln!(
                "SKIP: addr2line cannot read {} here (apt-get install binutils-multiarch)",
                elf.display()
            );
            None
        }
    }
}

/// The rv32 fixture's dump after `prefix`, graded and decoded with its ELF.
fn rv32_decoded(prefix: &str) -> Report {
    let (elf, dump, _) = rv32();
    let syms = Symbols::parse(&elf).unwrap();
    let mut report = rv32_report(&format!("{prefix}{dump}"));
    annotate(&mut report, std::slice::from_ref(&syms));
    report
}

/// gdb's `bt` as (address or None for an inlined frame, function, line).
fn gdb_frames(bt: &str) -> Vec<(Option<u64>, String, u32)> {
    bt.lines()
        .map(|l| {
            let rest = l.split_once("  ").unwrap().1;
            let (addr, rest) = match rest.strip_prefix("0x") {
                Some(r) => {
                    let (a, r) = r.split_once(" in ").unwrap();
                    (Some(u64::from_str_radix(a, 16).unwrap()), r)
                }
                None => (None, rest),
            };
            let func = rest.split_whitespace().next().unwrap().to_owned();
            let line = rest.rsplit(':').next().unwrap().trim().parse().unwrap();
            (addr, func, line)
        })
        .collect()
}

/// Our frames flattened the same way: each frame, then the functions it was inlined into.
fn our_frames(frames: &[Frame]) -> Vec<(Option<u64>, String, u32)> {
    let mut out = Vec::new();
    for f in frames {
        let addr = u64::from_str_radix(f.addr.trim_start_matches("0x"), 16).unwrap();
        out.push((
            Some(addr),
            f.function.clone().unwrap_or_default(),
            f.line.unwrap_or(0),
        ));
        for c in &f.inlined_into {
            out.push((
                None,
                c.function.clone().unwrap_or_default(),
                c.line.unwrap_or(0),
            ));
        }
    }
    out
}

#[test]
fn riscv_dump_unwinds_with_cfi_to_gdbs_backtrace() {
    let (elf, dump, bt) = rv32();
    let syms = Symbols::parse(&elf).unwrap();
    assert!(syms.has_cfi());
    assert_eq!(syms.arch(), Arch::RiscV);
    let mut report = rv32_report(&dump);
    assert_eq!(report.crash.as_ref().unwrap().kind, "guru-meditation");
    annotate(&mut report, std::slice::from_ref(&syms));
    // Every frame gdb shows, in order, with its address, function and line; nothing more.
    assert_eq!(our_frames(&report.backtrace), gdb_frames(&bt));
    let froms: Vec<_> = report.backtrace.iter().map(|f| f.from.as_str()).collect();
    assert_eq!(froms, ["mepc", "cfi", "cfi", "cfi"]);
    assert!(report.backtrace.iter().all(|f| !f.guess && !f.unreliable));
    assert_eq!(report.backtrace[0].core, Some(0));
    // MTVAL is what the store hit (a null pointer), not a frame.
    assert_eq!(report.fault_addresses.len(), 1);
    assert_eq!(
        (
            report.fault_addresses[0].from.as_str(),
            report.fault_addresses[0].addr.as_str()
        ),
        ("mtval", "0x00000000")
    );
    assert!(
        report
            .reason
            .contains("it crashed in store_byte at ./crash.c:6"),
        "{}",
        report.reason
    );
}

#[test]
fn riscv_frames_agree_with_addr2line_on_the_call_instruction() {
    let report = rv32_decoded("");
    // The return addresses are looked up one byte back, as `addr2line` must be asked.
    let lookups: Vec<String> = report
        .backtrace
        .iter()
        .map(|f| {
            let a = u64::from_str_radix(f.addr.trim_start_matches("0x"), 16).unwrap();
            let a = if f.from == "mepc" { a } else { a - 1 };
            format!("0x{a:x}")
        })
        .collect();
    let elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/crashes/rv32/crash-rv32.elf");
    let lookups: Vec<&str> = lookups.iter().map(String::as_str).collect();
    let Some(out) = addr2line(&elf, &["-f", "-i"], &lookups) else {
        return;
    };
    let theirs: Vec<(String, u32)> = out
        .lines()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|p| {
            (
                p[0].to_owned(),
                p[1].rsplit(':').next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let ours: Vec<(String, u32)> = our_frames(&report.backtrace)
        .into_iter()
        .map(|(_, f, l)| (f, l))
        .collect();
    assert_eq!(ours, theirs);
}

#[test]
fn without_cfi_ra_and_stack_words_are_marked_guesses() {
    let (elf, dump, _) = rv32();
    let mut syms = Symbols::parse(&elf).unwrap();
    syms.cfi = None;
    let mut report = rv32_report(&dump);
    annotate(&mut report, std::slice::from_ref(&syms));
    let got: Vec<_> = report
        .backtrace
        .iter()
        .map(|f| (f.from.as_str(), f.function.as_deref(), f.guess))
        .collect();
    assert_eq!(
        got,
        [
            ("mepc", Some("store_byte"), false),
            ("ra", Some("parse_header"), true),
            ("stack", Some("handle_request"), true),
            ("stack", Some("app_main"), true),
        ]
    );
}

#[test]
fn another_build_marks_the_frames_unreliable() {
    let (elf, _, _) = rv32();
    let real: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&elf)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    // The build that crashed: no warning.
    let same = rv32_decoded(&format!("I (45) app_init: ELF file SHA256:  {real}...\n"));
    assert!(
        same.decode_warnings.is_empty(),
        "{:?}",
        same.decode_warnings
    );
    assert!(!same.backtrace.is_empty());
    // Another build of the same app.
    let other = rv32_decoded("I (45) app_init: ELF file SHA256:  0123456789abcdef...\n");
    assert_eq!(
        other.decode_warnings.len(),
        1,
        "{:?}",
        other.decode_warnings
    );
    assert!(other.decode_warnings[0].contains("another build"));
    assert!(other.backtrace.iter().all(|f| f.unreliable));
    assert!(
        other
            .reason
            .contains("but it is not the build that crashed"),
        "{}",
        other.reason
    );
}

#[test]
fn an_xtensa_crash_with_a_riscv_elf_is_flagged() {
    let (elf, _, _) = rv32();
    let syms = Symbols::parse(&elf).unwrap();
    let c = crash(
        "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.",
        "Core  1 register dump:\nPC      : 0x42000028  PS      : 0x00060d30\n\nBacktrace: 0x42000028:0x3ffb1f40",
    );
    let d = decode(&c, std::slice::from_ref(&syms));
    assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    assert!(d.warnings[0].contains("Xtensa chip but the ELF is RISC-V"));
    assert!(d.frames.iter().all(|f| f.unreliable && f.core == Some(1)));
}

#[test]
fn task_watchdog_backtraces_of_both_cpus_are_decoded() {
    let c = crash(
        "E (10305) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:",
        "E (10305) task_wdt:  - IDLE (CPU 0)
E (10305) task_wdt: Tasks currently running:
E (10305) task_wdt: CPU 0: main
E (10305) task_wdt: CPU 1: IDLE1
E (10305) task_wdt: Print CPU 0 (current core) backtrace


Backtrace:0x400D1F69:0x3FFB1F40 0x400D2A0D:0x3FFB1F70
E (10305) task_wdt: Print CPU 1 backtrace


Backtrace:0x4008A0E2:0x3FFB1FD0 0x400D2A0D:0x3FFB2000",
    );
    let got: Vec<_> = addresses(&c)
        .iter()
        .map(|r| (format!("{:08x}", r.addr), r.core))
        .collect();
    assert_eq!(
        got,
        [
            ("400d1f69".to_owned(), Some(0)),
            ("400d2a0d".to_owned(), Some(0)),
            ("4008a0e2".to_owned(), Some(1)),
            ("400d2a0d".to_owned(), Some(1)),
        ]
    );
}

fn real(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/crashes/real")
        .join(name);
    crate::grade::grade_bytes(
        crate::grade::GradeConfig::new(crate::grade::Profile::Custom),
        &std::fs::read(path).unwrap(),
    )
}

fn cores(report: &Report) -> Vec<(String, Option<u32>)> {
    addresses(report.crash.as_ref().unwrap())
        .iter()
        .map(|r| (format!("{:08x}", r.addr), r.core))
        .collect()
}

#[test]
fn real_task_watchdog_keeps_both_cpus_backtraces() {
    let r = real("esp-idf-12248-task-wdt-both-cpus.log");
    assert_eq!(r.crash.as_ref().unwrap().kind, "task-wdt");
    let want: Vec<(String, Option<u32>)> = [
        ("4011cb06", 0),
        ("40082d6e", 0),
        ("0004001e", 0),
        ("4008e3cd", 1),
        ("40082d6e", 1),
        ("0004001e", 1),
    ]
    .iter()
    .map(|(a, c)| (a.to_string(), Some(*c)))
    .collect();
    assert_eq!(cores(&r), want);
}

#[test]
fn real_task_watchdog_of_one_cpu_ends_at_the_next_report() {
    let r = real("esp-box-67-task-wdt-cpu1.log");
    let want: Vec<(String, Option<u32>)> = ["4037e0a6", "4037b4fd", "400559dd"]
        .iter()
        .map(|a| (a.to_string(), Some(1)))
        .collect();
    assert_eq!(cores(&r), want);
}

#[test]
fn real_riscv_dump_with_another_elf_invents_no_frames() {
    let r = real("toit-2768-esp32c6-store-access-fault.log");
    let c = r.crash.as_ref().unwrap();
    assert_eq!(c.kind, "guru-meditation");
    let dump = RiscvDump::parse(c.block.iter().map(String::as_str)).unwrap();
    assert_eq!((dump.mepc, dump.regs[1]), (0x4080_a6f6, Some(0x4080_a6c8)));
    // The rv32 fixture ELF covers none of this C6 firmware's addresses: MEPC is unknown, RA is
    // not code of it, and nothing else is made up.
    let (elf, _, _) = rv32();
    let syms = Symbols::parse(&elf).unwrap();
    let d = decode(c, std::slice::from_ref(&syms));
    let got: Vec<_> = d
        .frames
        .iter()
        .map(|f| {
            (
                f.from.as_str(),
                f.addr.as_str(),
                f.function.is_none(),
                f.in_elf,
            )
        })
        .collect();
    assert_eq!(got, [("mepc", "0x4080a6f6", true, false)]);
    assert_eq!(d.faults.len(), 1);
    assert_eq!(d.faults[0].from, "mtval");
}

#[test]
fn an_assembly_routine_is_named_from_the_symbol_table() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("vectors.c");
    // A routine written in assembly, as ESP-IDF's `_WindowOverflow12`: a global label with
    // neither a type nor a size, and no DWARF function.
    std::fs::write(
        &src,
        "__asm__(\".text\\n.globl _WindowOverflow12\\n_WindowOverflow12:\\n nop\\n nop\\n nop\\n ret\\n\");\n\
         int main(void) { return 0; }\n",
    )
    .unwrap();
    let out = dir.path().join("vectors");
    let status = Command::new("gcc")
        .args(["-g", "-O0", "-no-pie", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc runs");
    assert!(status.success());
    let elf = std::fs::read(out).unwrap();
    let syms = Symbols::parse(&elf).unwrap();
    let at = symbol(&elf, "_WindowOverflow12");
    assert_eq!(
        syms.frame(at + 2, "backtrace").function.as_deref(),
        Some("_WindowOverflow12")
    );
    // Inside a sized function, the function wins over any label.
    assert_eq!(
        syms.frame(symbol(&elf, "main"), "pc").function.as_deref(),
        Some("main")
    );
}

#[test]
fn a_second_elf_names_what_the_app_does_not_hold() {
    // The app is a host ELF; the "ROM" is the rv32 fixture, whose code sits at 0x42000020.
    let dir = tempfile::tempdir().unwrap();
    let app = build(dir.path(), "unit", &["-g"]);
    let (rom, _, _) = rv32();
    let set = [Symbols::parse(&app).unwrap(), Symbols::parse(&rom).unwrap()];
    let at = symbol(&app, "crash_here");
    let c = crash(
        "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.",
        &format!("PC      : 0x{at:08x}\n\nBacktrace: 0x{at:08x}:0x3ffb1f40 0x42000028:0x3ffb1f70"),
    );
    let d = decode(&c, &set);
    let names: Vec<_> = d.frames.iter().map(|f| f.function.as_deref()).collect();
    assert_eq!(
        names,
        [Some("crash_here"), Some("crash_here"), Some("store_byte")]
    );
    // Without the second ELF the ROM-side address stays unknown.
    let d = decode(&c, &set[..1]);
    assert_eq!(d.frames[2].function, None);
}

#[test]
fn real_guru_meditation_right_after_the_boot_banner_is_the_verdict() {
    // `--profile none`: the reboot the banner shows is not the last word; the crash is.
    let r = real("esp-idf-13472-esp32c3-guru-after-boot.log");
    assert_eq!(r.verdict, crate::grade::Verdict::Fault);
    assert_eq!(r.crash.as_ref().unwrap().kind, "guru-meditation");
    assert!(r.reason.contains("Load access fault"), "{}", r.reason);
}

#[test]
fn a_real_esp32_rom_elf_names_rom_frames_as_addr2line_does() {
    // Espressif's ESP32 (rev 3) ROM ELF, as espflash ships it; 0x4000bfed is the ROM address
    // in the task-watchdog backtrace of espressif/esp-idf#6743.
    let rom = crate::flash::rom_elf::shipped("esp32:v3.0").unwrap();
    let syms = Symbols::parse(&rom).unwrap();
    assert_eq!(syms.arch(), Arch::Xtensa);
    let ours = syms.frame(0x4000_bfed, "backtrace").function;
    assert!(ours.is_some(), "the ROM ELF names its code");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esp32_rev300_rom.elf");
    std::fs::write(&path, &rom).unwrap();
    let Some(out) = addr2line(&path, &["-f"], &["0x4000bfed"]) else {
        return;
    };
    assert_eq!(ours.as_deref(), out.lines().next());
}

#[test]
fn a_dual_core_riscv_task_watchdog_unwinds_each_cores_dump() {
    // ESP32-P4 (two RISC-V cores): the task watchdog prints each CPU's register dump and stack
    // memory, not a Backtrace line. Here both CPUs carry the rv32 fixture's recorded state, so
    // each CPU's frames must be gdb's backtrace of that state, tagged with its CPU.
    let (elf, dump, bt) = rv32();
    let syms = Symbols::parse(&elf).unwrap();
    let regs_and_stack = |cpu: u32| {
        let from = dump.find("Core  0 register dump:").unwrap();
        dump[from..].replace(
            "Core  0 register dump:",
            &format!("Core  {cpu} register dump:"),
        )
    };
    let log = format!(
        "E (10305) task_wdt: Task watchdog got triggered. The following tasks/users did not reset the watchdog in time:\n\
         E (10305) task_wdt:  - IDLE0 (CPU 0)\n\
         E (10305) task_wdt: Tasks currently running:\n\
         E (10305) task_wdt: CPU 0: main\n\
         E (10305) task_wdt: CPU 1: IDLE1\n\
         E (10305) task_wdt: Print CPU 0 (current core) registers\n{}\n\
         E (10305) task_wdt: Print CPU 1 backtrace\n{}\n\
         I (10315) app: still running\n",
        regs_and_stack(0),
        regs_and_stack(1)
    );
    let mut report = rv32_report(&log);
    assert_eq!(report.crash.as_ref().unwrap().kind, "task-wdt");
    annotate(&mut report, std::slice::from_ref(&syms));
    let of = |cpu| -> Vec<Frame> {
        report
            .backtrace
            .iter()
            .filter(|f| f.core == Some(cpu))
            .cloned()
            .collect()
    };
    assert_eq!(our_frames(&of(0)), gdb_frames(&bt));
    assert_eq!(our_frames(&of(1)), gdb_frames(&bt));
    assert_eq!(report.backtrace.len(), of(0).len() + of(1).len());
    assert!(report.backtrace.iter().all(|f| !f.guess));
    // The app's next line ended the watchdog's block: it is not part of the crash.
    assert!(
        !report
            .crash
            .as_ref()
            .unwrap()
            .block
            .iter()
            .any(|l| l.contains("still running"))
    );
}
