//! The grader's vocabulary: verdicts, stages, diagnostics, crashes, and the report that both the
//! human text and `--json` render (`grade --json`: fields are added, never renamed, since CI scripts read them).

use serde::{Deserialize, Serialize};

use crate::error::Exit;

/// The answer for one run of the firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The firmware did its job (for the reference sketch: CI is green and the board read it).
    Pass,
    /// The firmware ran and the answer is no (CI not green, a test failed, `--truth` disagrees).
    Fail,
    /// The board crashed, reset-looped, browned out, or failed TLS / the connection.
    Fault,
    /// No verdict before the deadline, or the log ended before one.
    Timeout,
}

impl Verdict {
    /// The exit code of this verdict (the README's exit-code table).
    pub fn exit(self) -> Exit {
        match self {
            Verdict::Pass => Exit::Ok,
            Verdict::Fail => Exit::No,
            Verdict::Fault => Exit::Device,
            Verdict::Timeout => Exit::Timeout,
        }
    }

    /// Upper-case word for the human report.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Fault => "FAULT",
            Verdict::Timeout => "TIMEOUT",
        }
    }

    /// Which of two competing verdicts wins while a run is still being read: evidence of a
    /// fault outranks the sketch's own conclusion, which outranks nothing.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Verdict::Timeout => 0,
            Verdict::Pass => 1,
            Verdict::Fail => 2,
            Verdict::Fault => 3,
        }
    }
}

/// How far a stage got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// Finished.
    Passed,
    /// Where the run failed, crashed or stalled.
    Failed,
    /// Passed over: this firmware (or core version) does not print it.
    Skipped,
    /// Never got there.
    NotReached,
    /// Entered and not yet finished (only while a run is still being read).
    Running,
}

/// One stage of a run, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageResult {
    /// Stage name (`wifi`, `tls-connect`, ... for the reference sketch).
    pub name: String,
    pub status: StageStatus,
    /// Line where the stage was entered.
    pub line: Option<usize>,
    /// What the board said about it (SSID, host, URL, the first body line...).
    pub detail: Option<String>,
    /// Milliseconds since the watch started, when the stage was entered (live runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

/// A line the grader recognised as a TLS or certificate problem, with what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub line: usize,
    /// `bearssl`, `mbedtls`, `esp-x509-crt-bundle` or `clock`.
    pub source: String,
    /// The line as printed.
    pub text: String,
    /// What it means and what to do about it.
    pub explanation: String,
    /// mbedTLS error code, negative, when the line carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
}

/// A crash, watchdog, brownout or reset loop seen on the port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crash {
    /// `exception`, `soft-wdt`, `hw-wdt`, `guru-meditation`, `abort`, `brownout`, `task-wdt`,
    /// `reset-loop`, `reboot`, or `core-dump` (a core dump block with no crash printed before it).
    pub kind: String,
    /// Line where it started.
    pub line: usize,
    /// The signature line as printed.
    pub headline: String,
    /// The register/stack block that followed, for an exception decoder.
    pub block: Vec<String>,
    /// The `ELF file SHA256:` prefix the log printed before the crash (ESP-IDF's app
    /// description: the start of the SHA-256 of the ELF file), lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf_sha256: Option<String>,
}

/// One address from a crash block, decoded with the firmware's ELF (`--elf`). `function`, `file`
/// and `line` are null when the ELF does not cover the address: they are never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The address as `0x` and eight hex digits.
    pub addr: String,
    /// Where the crash output had it: `epc1`, `excvaddr`, `stack` (ESP8266); `pc`, `excvaddr`,
    /// `backtrace` (ESP32); `mepc`, `ra`, `mtval` (RISC-V ESP32s). How an unwound caller was
    /// found: `cfi` (the ELF's call-frame information), `prologue` (its callee's prologue, where
    /// no CFI covers it), `tail-call` (a function that tail-called the frame before, from the
    /// DWARF call sites), `window` (an Xtensa core dump's register-window save area); a core
    /// dump task's own PC is `pc`.
    pub from: String,
    /// The function, demangled; for inlined code the innermost one.
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Whether the address lies inside one of the ELF's loaded sections.
    pub in_elf: bool,
    /// For inlined code: the functions it was inlined into, innermost first, each with the line
    /// of the inlined call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inlined_into: Vec<Caller>,
    /// A stack word that merely looks like a code address (found by scanning the stack because
    /// the ELF has no call-frame information), or a RISC-V `RA` that no CFI vouches for: it may
    /// not be a frame at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guess: bool,
    /// The ELF does not match the crash (another build, or another architecture): the names are
    /// likely wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreliable: bool,
    /// The CPU whose backtrace this frame is in, when the dump says (task watchdog: both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<u32>,
}

/// An ESP-IDF core dump the log printed (`CORE DUMP START` … `CORE DUMP END`) or `--core-dump`
/// gave: what it says about the crash, and every task's backtrace (decoded with `--elf`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CoreDumpReport {
    /// Line of the log where the block started; `None` for `--core-dump`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Why the dump could not be read (cut short, damaged, an unsupported format); the rest of
    /// the fields are then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `ELF, CRC32 (1.2)`, `ELF, SHA-256 (1.4)` or `ELF core`.
    #[serde(default)]
    pub format: String,
    /// `esp32c3` and the like, when the dump's header says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip_rev: Option<u32>,
    /// The start of the SHA-256 of the app ELF that crashed, as the firmware recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_elf_sha256: Option<String>,
    /// The TCB of the task that crashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashed_task: Option<String>,
    /// Whether it crashed in an interrupt handler (RISC-V dumps say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_isr: Option<bool>,
    /// `abort() was called at PC 0x42009351 on core 0` and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_reason: Option<String>,
    /// Xtensa's EXCCAUSE as the dump recorded it (the CPU's last exception: stale after an
    /// abort), and EXCVADDR, the address the faulting access used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_cause: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_address: Option<String>,
    /// The crashed task first.
    #[serde(default)]
    pub tasks: Vec<DumpTask>,
    /// What the user should know about the decoding (no `--elf`, another build, Xtensa).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The dump itself, for decoding with the ELF after grading.
    #[serde(skip)]
    pub dump: Option<Box<crate::grade::decode::CoreDump>>,
}

/// One task of a core dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpTask {
    /// `pcTaskName`, when the dump holds it.
    pub name: Option<String>,
    pub tcb: String,
    pub crashed: bool,
    /// The task's program counter when the dump was taken.
    pub pc: String,
    /// Innermost first: the PC, then each caller's return address (unwound with the ELF's
    /// call-frame information); empty without `--elf`.
    #[serde(default)]
    pub frames: Vec<Frame>,
}

/// A function that inlined the code of a [`Frame`], and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// The result of one Unity test (PlatformIO `pio test` output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnityTest {
    pub file: String,
    pub line: u32,
    pub name: String,
    /// `pass`, `fail` or `ignore`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The report of a graded run. `verdict`, `stage`, `reason`, `ci_state`, `suggested_fingerprint`
/// and `truth` are the contract scripts rely on; the rest are additions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    /// The stage the run ended in (the last one entered).
    pub stage: String,
    pub reason: String,
    /// The CI state the board read from the first body line: success, pending, failure, error.
    pub ci_state: Option<String>,
    /// On a fingerprint mismatch, the SHA-1 the server really presented, as `AA:BB:…`.
    pub suggested_fingerprint: Option<String>,
    /// What GitHub says, when `--truth` asked.
    pub truth: Option<crate::grade::truth::Truth>,
    /// Why `--truth` has no answer (the API refused, timed out, rate-limited); the board's own
    /// verdict still stands.
    #[serde(default)]
    pub truth_unavailable: Option<String>,
    /// The exit code this report maps to.
    pub exit_code: u8,
    /// `https-request`, `unity` or `custom`.
    pub profile: String,
    pub stages: Vec<StageResult>,
    pub diagnostics: Vec<Diagnostic>,
    pub crash: Option<Crash>,
    /// The crash's addresses decoded with `--elf`, in the order the board printed them; empty
    /// without `--elf` or a crash.
    #[serde(default)]
    pub backtrace: Vec<Frame>,
    /// The data addresses of the fault (`excvaddr`, `mtval`): what was accessed, not a frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault_addresses: Vec<Frame>,
    /// What makes the decoded frames doubtful (the ELF is not the build that crashed, or not
    /// its architecture), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decode_warnings: Vec<String>,
    /// The ESP-IDF core dump the log printed (or `--core-dump` gave), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_dump: Option<CoreDumpReport>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<UnityTest>,
    /// Lines read, and how many of them were unreadable.
    pub lines: usize,
    pub garbled_lines: usize,
    /// Lines longer than [`crate::grade::MAX_LINE`] bytes, matched only up to that bound.
    #[serde(default)]
    pub lines_cut: usize,
    pub bytes: u64,
}

impl Report {
    /// The process exit code for this report.
    pub fn exit(&self) -> Exit {
        self.verdict.exit()
    }
}

/// The stages the built-in profiles know, by name. Custom rules may add stages of their own
/// (strings from the rules file); these are the ones the grader itself enters and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Boot,
    Wifi,
    Time,
    TlsConnect,
    Certificate,
    Request,
    Headers,
    Body,
    Verdict,
    /// Unity: the tests are running.
    Tests,
    /// Unity: the summary line.
    Summary,
    /// Custom rules: the firmware is running.
    Run,
}

impl Stage {
    /// Every built-in stage.
    pub const ALL: [Stage; 12] = [
        Stage::Boot,
        Stage::Wifi,
        Stage::Time,
        Stage::TlsConnect,
        Stage::Certificate,
        Stage::Request,
        Stage::Headers,
        Stage::Body,
        Stage::Verdict,
        Stage::Tests,
        Stage::Summary,
        Stage::Run,
    ];

    /// The name in reports (`stage` in JSON).
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Boot => "boot",
            Stage::Wifi => "wifi",
            Stage::Time => "time",
            Stage::TlsConnect => "tls-connect",
            Stage::Certificate => "certificate",
            Stage::Request => "request",
            Stage::Headers => "headers",
            Stage::Body => "body",
            Stage::Verdict => "verdict",
            Stage::Tests => "tests",
            Stage::Summary => "summary",
            Stage::Run => "run",
        }
    }

    /// The built-in stage called `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl AsRef<str> for Stage {
    fn as_ref(&self) -> &str {
        self.name()
    }
}
