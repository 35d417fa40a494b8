//! Crash decoding with `--elf`, over the binary: crash logs of both chips whose addresses point
//! into an ELF that the test builds with the host's g++, decoded to function names and source
//! lines; addresses outside the ELF reported as unknown; bad `--elf` files refused.
//!
//! DWARF is target-neutral: the line table and the inlining tree of a host x86-64 ELF are read
//! exactly as those of an Xtensa or RISC-V ELF, so a host-built ELF with known addresses is a fair
//! stand-in for firmware. Only the address values look unlike an ESP's.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use object::{Object, ObjectSymbol};
use serde_json::{Value, json};

/// The "firmware". `asm` labels mark exact addresses inside statements (a label and the statement
/// after it share a line, so the label's address belongs to that line); `poke` is always inlined.
const SOURCE: &str = r#"// A stand-in for a sketch, built for the host.
int sink;
namespace app {
static inline __attribute__((always_inline)) void poke(int *p) {
    __asm__ volatile(".globl at_poke\nat_poke:"); *p = 42;
}
void crash_here(int *p) {
    __asm__ volatile(".globl at_crash\nat_crash:"); *p = 1;
}
void loop_step() {
    crash_here(&sink);
    __asm__ volatile(".globl after_call\nafter_call:"); sink = 2;
}
void setup_task() {
    poke(&sink);
}
}
int main() { app::loop_step(); app::setup_task(); return 0; }
"#;

/// The 1-based line of SOURCE that contains `needle`.
fn line_of(needle: &str) -> u64 {
    SOURCE
        .lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in SOURCE"))
}

struct Firmware {
    dir: tempfile::TempDir,
    elf: PathBuf,
}

impl Firmware {
    /// Build SOURCE with debug info; the DWARF's directory is mapped to `/src` so reports do not
    /// carry the temp path.
    fn build() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::write(real.join("crash.cpp"), SOURCE).unwrap();
        let elf = real.join("firmware.elf");
        let out = Command::new("g++")
            .current_dir(&real)
            .args(["-g", "-O0", "-no-pie", "-fno-inline"])
            .arg(format!("-fdebug-prefix-map={}=/src", real.display()))
            .args(["-o", "firmware.elf", "crash.cpp"])
            .output()
            .expect("g++ runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Firmware { dir, elf }
    }

    /// A symbol's address, as the 8 hex digits a crash dump prints.
    fn addr(&self, name: &str) -> String {
        self.addr_plus(name, 0)
    }

    /// A symbol's address plus `n`: a return address `n` bytes past a label.
    fn addr_plus(&self, name: &str, n: u64) -> String {
        let bytes = std::fs::read(&self.elf).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("no symbol {name}"));
        format!("{:08x}", sym.address() + n)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// An ESP8266 core postmortem: epc1 in crash_here, a null excvaddr, and a stack holding the
    /// return address of loop_step's call (the label after it), a return address one byte past
    /// the inlined poke's label, data words and a ROM address (neither of which is code of
    /// this ELF).
    fn esp8266_log(&self) -> String {
        format!(
            "\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n\r\n\
             Connecting to sensor-net\r\nWiFi connected\r\n\
             \r\n--------------- CUT HERE FOR EXCEPTION DECODER ---------------\r\n\
             \r\nException (29):\r\n\
             epc1=0x{crash} epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000\r\n\
             \r\n>>>stack>>>\r\n\r\nctx: cont\r\nsp: 3ffffd40 end: 3fffffc0 offset: 0190\r\n\
             3ffffed0:  3fffdad0 00000000 3ffee6f8 {after} <\r\n\
             3ffffee0:  3ffee6f8 {poke} 3ffee6f8 40000f49\r\n\
             3fffffb0:  feefeffe feefeffe 3ffe84f0 40100c09\r\n\
             <<<stack<<<\r\n\r\n--------------- CUT HERE FOR EXCEPTION DECODER ---------------\r\n",
            crash = self.addr("at_crash"),
            after = self.addr("after_call"),
            poke = self.addr_plus("at_poke", 1),
        )
    }

    /// An ESP32 panic: PC in crash_here, and a Backtrace through loop_step into ROM.
    fn esp32_log(&self) -> String {
        format!(
            "Connecting to api.github.com\r\n\
             Guru Meditation Error: Core  1 panic'ed (StoreProhibited). Exception was unhandled.\r\n\
             \r\nCore  1 register dump:\r\n\
             PC      : 0x{crash}  PS      : 0x00060d30  A0      : 0x800d2a10  A1      : 0x3ffb1f40  \r\n\
             A2      : 0x00000000  A3      : 0x3ffc1b2c  A4      : 0x00000001  A5      : 0x3ffb1f70  \r\n\
             EXCVADDR: 0x00000000  LBEG    : 0x4000c2e0  LEND    : 0x4000c2f6  LCOUNT  : 0xffffffff  \r\n\
             \r\n\r\nBacktrace: 0x{crash}:0x3ffb1f40 0x{after}:0x3ffb1f70 0x40088b7d:0x3ffb1fb0\r\n\
             \r\n\r\nELF file SHA256: 0000000000000000\r\n\r\nRebooting...\r\n",
            crash = self.addr("at_crash"),
            after = self.addr("after_call"),
        )
    }
}

use super::support::{espcheck, espcheck_std};

pub(crate) fn grade_json(log: &Path, extra: &[&str]) -> (i32, Value) {
    let out = espcheck()
        .arg("grade")
        .arg(log)
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// `{addr, from, function, file, line}` of each frame, the fields a user reads.
fn frames(v: &Value) -> Vec<Value> {
    v["backtrace"]
        .as_array()
        .expect("backtrace is an array")
        .iter()
        .map(|f| {
            json!({ "addr": f["addr"], "from": f["from"], "function": f["function"],
                    "file": f["file"], "line": f["line"] })
        })
        .collect()
}

fn known(addr: &str, from: &str, function: &str, line: u64) -> Value {
    json!({ "addr": format!("0x{addr}"), "from": from, "function": function,
            "file": "/src/crash.cpp", "line": line })
}

fn unknown(addr: &str, from: &str) -> Value {
    json!({ "addr": format!("0x{addr}"), "from": from, "function": null, "file": null,
            "line": null })
}

#[test]
fn esp8266_exception_decodes_epc1_and_the_stack() {
    let fw = Firmware::build();
    let log = fw.write("esp8266.log", &fw.esp8266_log());
    let junit = fw.dir.path().join("junit.xml");
    let elf = fw.elf.to_str().unwrap();
    let (code, v) = grade_json(&log, &["--elf", elf, "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 5);
    assert_eq!(v["verdict"], "fault");
    assert_eq!(
        frames(&v),
        [
            known(
                &fw.addr("at_crash"),
                "epc1",
                "app::crash_here(int*)",
                line_of("at_crash:")
            ),
            // A stack word is a return address: looked up one byte back, it names the call.
            known(
                &fw.addr("after_call"),
                "stack",
                "app::loop_step()",
                line_of("crash_here(&sink);")
            ),
            // GCC gives an inlined static function no linkage name: DWARF knows it as `poke`.
            known(
                &fw.addr_plus("at_poke", 1),
                "stack",
                "poke",
                line_of("at_poke:")
            ),
        ],
        "only the stack words in the ELF's code are decoded; the ROM's 40000f49 is not guessed"
    );
    // Found by scanning the stack, not by unwinding: marked as guesses.
    let guesses: Vec<_> = v["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["guess"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(guesses, [false, true, true]);
    // excvaddr is the address the store hit, listed apart from the frames.
    assert_eq!(v["fault_addresses"][0]["from"], "excvaddr");
    assert_eq!(v["fault_addresses"][0]["addr"], "0x00000000");
    assert_eq!(v["fault_addresses"][0]["in_elf"], false);
    // The inlined poke names the function it was inlined into, at the call.
    assert_eq!(
        v["backtrace"][2]["inlined_into"],
        json!([{ "function": "app::setup_task()", "file": "/src/crash.cpp",
                 "line": line_of("poke(&sink);") }])
    );
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("Exception (29) StoreProhibited")
            && reason.ends_with(&format!(
                "it crashed in app::crash_here(int*) at /src/crash.cpp:{}",
                line_of("at_crash:")
            )),
        "{reason}"
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("decoded with the ELF"), "{xml}");
}

#[test]
fn esp32_guru_meditation_decodes_pc_and_the_backtrace() {
    let fw = Firmware::build();
    let log = fw.write("esp32.log", &fw.esp32_log());
    let (code, v) = grade_json(&log, &["--elf", fw.elf.to_str().unwrap()]);
    assert_eq!(code, 5);
    let crash = fw.addr("at_crash");
    let crash_here = known(&crash, "pc", "app::crash_here(int*)", line_of("at_crash:"));
    let mut in_backtrace = crash_here.clone();
    in_backtrace["from"] = json!("backtrace");
    assert_eq!(
        frames(&v),
        [
            crash_here,
            in_backtrace,
            known(
                &fw.addr("after_call"),
                "backtrace",
                "app::loop_step()",
                line_of("after_call:")
            ),
            unknown("40088b7d", "backtrace"),
        ]
    );
}

#[test]
fn without_elf_nothing_is_decoded() {
    let fw = Firmware::build();
    let log = fw.write("esp32.log", &fw.esp32_log());
    let (code, v) = grade_json(&log, &[]);
    assert_eq!(code, 5);
    assert_eq!(v["backtrace"], json!([]));
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("decode the Backtrace")
    );
}

#[test]
fn human_report_puts_decoded_frames_beside_the_raw_ones() {
    let fw = Firmware::build();
    let log = fw.write("esp8266.log", &fw.esp8266_log());
    let out = espcheck()
        .arg("grade")
        .arg(&log)
        .arg("--elf")
        .arg(&fw.elf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut settings = insta::Settings::clone_current();
    // Addresses depend on the host's compiler and linker: name them.
    for sym in ["at_crash", "after_call"] {
        settings.add_filter(&fw.addr(sym), format!("[{sym}]"));
    }
    settings.add_filter(&fw.addr_plus("at_poke", 1), "[at_poke+1]");
    settings.add_filter(
        &regex::escape(&fw.dir.path().canonicalize().unwrap().display().to_string()),
        "[TMP]",
    );
    settings.bind(|| insta::assert_snapshot!("grade_human_decoded_esp8266", text));
}

#[test]
fn a_bad_elf_is_a_usage_error_naming_the_file() {
    let fw = Firmware::build();
    let log = fw.write("esp8266.log", &fw.esp8266_log());
    let text = fw.write("notes.txt", "not an ELF\n");
    let bin = fw.dir.path().join("firmware.bin");
    std::fs::write(&bin, [0xe9, 0x03, 0x02, 0x20, 0, 0, 0, 0]).unwrap();
    let missing = fw.dir.path().join("missing.elf");
    let stripped = fw.dir.path().join("stripped.elf");
    let status = Command::new("strip")
        .arg("-s")
        .arg("-o")
        .arg(&stripped)
        .arg(&fw.elf)
        .status()
        .unwrap();
    assert!(status.success());
    for (elf, why) in [
        (&missing, "no such file"),
        (&text, "not an ELF file"),
        (&bin, "not an ELF file"),
        (&stripped, "stripped"),
    ] {
        let out = espcheck()
            .arg("grade")
            .arg(&log)
            .arg("--elf")
            .arg(elf)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", elf.display());
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&elf.display().to_string()) && err.contains(why),
            "{err}"
        );
    }
}

use crate::watch::{board, wait_exit};

#[test]
fn watch_decodes_a_live_crash() {
    let fw = Firmware::build();
    let mut b = board();
    let mut child = espcheck_std()
        .arg("watch")
        .arg(&b.path)
        .arg("--elf")
        .arg(&fw.elf)
        .args(["--json", "--quiet", "--timeout", "20s", "--profile", "none"])
        .env_remove("GITHUB_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    b.master.write_all(fw.esp32_log().as_bytes()).unwrap();
    let code = wait_exit(&mut child, Duration::from_secs(20));
    let out = child.wait_with_output().unwrap();
    assert_eq!(code, 5, "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["crash"]["kind"], "guru-meditation");
    assert_eq!(v["backtrace"][0]["function"], "app::crash_here(int*)");
    assert_eq!(v["backtrace"][0]["line"], line_of("at_crash:"));
    assert_eq!(v["backtrace"][4]["function"], Value::Null);
}

/// The RISC-V fixture (fixtures/crashes/rv32): a real rv32imc ELF and its crash state.
fn rv32_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/crashes/rv32")
}

#[test]
fn riscv_crash_is_unwound_and_another_build_is_called_out() {
    let dir = rv32_fixture();
    let elf = dir.join("crash-rv32.elf");
    let dump = std::fs::read_to_string(dir.join("guru.txt")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("c3.log");
    std::fs::write(&log, &dump).unwrap();
    let (code, v) = grade_json(&log, &["--elf", elf.to_str().unwrap()]);
    assert_eq!(code, 5);
    let names: Vec<_> = v["backtrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["from"].as_str().unwrap(), f["function"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("mepc", "store_byte"),
            ("cfi", "parse_header"),
            ("cfi", "handle_request"),
            ("cfi", "app_main"),
        ]
    );
    assert_eq!(v["backtrace"][3]["inlined_into"][0]["function"], "_start");
    assert_eq!(v["fault_addresses"][0]["from"], "mtval");
    assert!(v.get("decode_warnings").is_none(), "{v}");

    // The same crash after a boot log that names another build: warned on stderr, flagged in JSON.
    std::fs::write(
        &log,
        format!("I (45) app_init: ELF file SHA256:  0123456789abcdef...\n{dump}"),
    )
    .unwrap();
    let out = espcheck()
        .arg("grade")
        .arg(&log)
        .arg("--elf")
        .arg(&elf)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ELF file SHA256 0123456789abcdef is not this ELF's"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["backtrace"][0]["unreliable"], true);
    assert!(
        v["decode_warnings"][0]
            .as_str()
            .unwrap()
            .contains("another build")
    );
}

#[test]
fn rom_elf_without_the_app_elf_is_a_usage_error() {
    let dir = rv32_fixture();
    let out = espcheck()
        .arg("grade")
        .arg(dir.join("guru.txt"))
        .arg("--rom-elf")
        .arg(dir.join("crash-rv32.elf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--rom-elf") && stderr.contains("--elf"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
