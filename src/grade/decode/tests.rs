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
    annotate(&mut report, &syms);
    let froms: Vec<_> = report
        .backtrace
        .iter()
        .map(|f| (f.from.as_str(), f.function.as_deref()))
        .collect();
    // The stack's data words and its ROM address are not code of this ELF: left out.
    assert_eq!(
        froms,
        [
            ("epc1", Some("crash_here")),
            ("excvaddr", None),
            ("stack", Some("main"))
        ]
    );
    assert!(
        report.reason.contains("StoreProhibited")
            && report.reason.contains("; it crashed in crash_here at "),
        "{}",
        report.reason
    );
    assert!(report.reason.ends_with("unit.c:2"), "{}", report.reason);
}
