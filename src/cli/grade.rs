//! `espcheck grade LOG`: grade a captured serial log offline. Also home of the grading flags that
//! `watch` (and later `flash-and-watch`) share: profile and rules, `--json`, `--junit`, `--truth`,
//! `--elf`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Exit, Result, is_stdin, show_path};
use crate::grade::plan::Elf;
use crate::grade::truth::TruthQuery;
use crate::grade::{
    End, Event, GradeConfig, Plan, Profile, Report, Rules, Verdict, decode, render,
};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck grade run.log
  espcheck grade run.log --json | jq .verdict
  pio device monitor | tee run.log; espcheck grade - < run.log --profile unity
  espcheck grade run.log --fail 'HTTP code: [45]' --pass 'upload done'
  espcheck grade run.log --truth --repo esp8266/Arduino --ref master --junit report.xml
  espcheck grade crash.log --elf .pio/build/d1_mini/firmware.elf   # decode the crash
  espcheck grade crash.log --elf build/app.elf --rom esp32c6   # and its core dump, task by task

Exit: 0 pass, 1 fail (or --truth disagrees), 3 no verdict in the log, 5 device fault.";

/// `--truth` and where to ask.
#[derive(Debug, Clone, clap::Args)]
pub struct TruthArgs {
    /// Ask the GitHub API for the ref's combined status and check runs, and say whether the
    /// board's verdict agrees (PASS then requires agreement). Token from GITHUB_TOKEN only.
    #[arg(long)]
    pub truth: bool,
    /// Repository the sketch checks.
    #[arg(long, value_name = "OWNER/NAME", default_value = "esp8266/Arduino")]
    pub repo: String,
    /// Branch, tag or SHA the sketch checks.
    #[arg(long = "ref", value_name = "REF", default_value = "master")]
    pub git_ref: String,
    /// GitHub API base URL (a stand-in for tests or GitHub Enterprise).
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    pub api_base: String,
    /// Extra trust anchors (PEM) for the API server. Repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,
}

/// Grading flags shared by `grade`, `watch` and `flash-and-watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// What the firmware prints [default: auto, picked from the log; --pass/--fail/--rules alone: none].
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// A line matching REGEX means PASS. Repeatable.
    #[arg(long = "pass", value_name = "REGEX")]
    pub pass: Vec<String>,
    /// A line matching REGEX means FAIL. Repeatable.
    #[arg(long = "fail", value_name = "REGEX")]
    pub fail: Vec<String>,
    /// A TOML rules file: `pass = [..]`, `fail = [..]`, `fault = [..]`, `[[stage]] name/regex`.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print the report as JSON on stdout (and nothing else there).
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report (one testcase per stage) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The firmware's ELF (with debug info): decode the crash's addresses (epc1 and the stack on
    /// ESP8266, PC and the Backtrace on ESP32, the unwound stack on RISC-V ESP32s) to function
    /// and source line. Repeatable: the first is the app (checked against the log's
    /// `ELF file SHA256:`), the others are searched for addresses outside it (a bootloader).
    #[arg(long, value_name = "FILE")]
    pub elf: Vec<PathBuf>,
    /// The chip's ROM ELF (Espressif's `esp32c3_rev3_rom.elf` and the like): names the ROM
    /// frames of a crash. Repeatable; needs `--elf`.
    #[arg(long, value_name = "FILE")]
    pub rom_elf: Vec<PathBuf>,
    /// Name ROM frames with the ROM ELF that espflash ships for CHIP (`esp32c6`; with the
    /// revision the boot log prints where ROMs differ: `esp32:v3.0`, `esp32c3:v0.4`). Needs
    /// `--elf`.
    #[arg(long, value_name = "CHIP[:REV]")]
    pub rom: Option<String>,
    /// An ESP-IDF core dump to report and, with `--elf`, decode task by task: the base64 the
    /// panic handler printed (with or without its `CORE DUMP START`/`END` lines), the image
    /// read from the coredump partition, or the ELF core. Replaces any dump the log printed.
    #[arg(long, value_name = "FILE")]
    pub core_dump: Option<PathBuf>,
    #[command(flatten)]
    pub truth: TruthArgs,
}

/// The largest ELF `--elf` reads; an ESP32 app with full debug info is a few tens of MiB.
const ELF_LIMIT: u64 = 256 * 1024 * 1024;

/// Read the `--elf` file: its bytes, or a one-line error naming it (exit 2).
fn read_elf(path: &Path) -> Result<Vec<u8>> {
    if is_stdin(path) {
        return Err(Error::Usage(
            "--elf -: give the ELF's path (stdin may carry the log)".to_owned(),
        ));
    }
    // Checked before reading so the message speaks of an ELF, not of read_input's certificates.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.len() > ELF_LIMIT
    {
        return Err(Error::input(
            show_path(path),
            "larger than 256 MiB; not a firmware ELF",
        ));
    }
    // The magic first: a log or an image passed as --elf is refused before 256 MiB are read.
    let mut magic = [0u8; 4];
    let head = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .map_err(|e| Error::file(path, &e))?;
    if head < 4 || &magic != b"\x7fELF" {
        return Err(Error::input(
            show_path(path),
            "not an ELF file (no \\x7fELF magic); give the firmware's .elf, not the .bin or a log",
        ));
    }
    crate::util::read_input_as(path, ELF_LIMIT, "a firmware ELF")
}

impl GradeArgs {
    /// Turn the flags into a grading plan: rules compiled, the rules file and the ELF read and
    /// checked, the truth query made. Every bad input is found here, before a port is opened.
    pub fn plan(&self) -> Result<Plan> {
        let mut rules = Rules::new();
        for re in &self.pass {
            rules.add_pass(re).map_err(Error::Usage)?;
        }
        for re in &self.fail {
            rules.add_fail(re).map_err(Error::Usage)?;
        }
        if let Some(path) = &self.rules {
            let bytes = crate::util::read_input_as(path, 1024 * 1024, "a rules file")?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::input(show_path(path), "not UTF-8 text"))?;
            rules
                .add_toml(&text)
                .map_err(|e| Error::input(show_path(path), e))?;
        }
        let custom = !self.pass.is_empty() || !self.fail.is_empty() || self.rules.is_some();
        let profile = match self.profile {
            Some(p) => p,
            None if custom => Profile::Custom,
            None => Profile::Auto,
        };
        let truth = if self.truth.truth {
            crate::grade::truth::check_repo(&self.truth.repo)?;
            let base = self.truth.api_base.as_str();
            let loopback = ["http://127.", "http://localhost", "http://[::1]"]
                .iter()
                .any(|p| base.starts_with(p));
            if !(base.starts_with("https://") || loopback) {
                return Err(Error::Usage(format!(
                    "--api-base `{}`: use an https:// URL (a token must not travel in clear)",
                    crate::github::redact(base, None)
                )));
            }
            let mut q = TruthQuery::new(&self.truth.repo, &self.truth.git_ref);
            q.api_base = self.truth.api_base.clone();
            q.ca_files = self.truth.ca_file.clone();
            q.token = crate::github::token_from_env()?;
            Some(q)
        } else {
            None
        };
        if self.elf.is_empty() && (!self.rom_elf.is_empty() || self.rom.is_some()) {
            return Err(Error::Usage(
                "--rom-elf names ROM frames of an app's crash: give the app's --elf too".to_owned(),
            ));
        }
        let mut elves = Vec::new();
        for path in self.elf.iter().chain(&self.rom_elf) {
            let bytes = read_elf(path)?;
            decode::Symbols::check(&bytes).map_err(|e| Error::input(show_path(path), e))?;
            elves.push(Elf {
                name: show_path(path),
                bytes,
            });
        }
        if let Some(spec) = &self.rom {
            let bytes = crate::flash::rom_elf::shipped(spec)
                .map_err(|e| Error::Usage(format!("--rom {spec}: {e}")))?;
            elves.push(Elf {
                name: format!("espflash's {spec} ROM ELF"),
                bytes,
            });
        }
        let core_dump = match &self.core_dump {
            Some(path) => {
                let bytes = crate::util::read_input_as(path, 16 * 1024 * 1024, "a core dump")?;
                Some(
                    decode::CoreDump::from_file(&bytes)
                        .map_err(|e| Error::input(show_path(path), e))?,
                )
            }
            None => None,
        };
        let mut elves = elves.into_iter();
        let elf = elves.next();
        let more_elves = elves.collect();
        Ok(Plan {
            config: GradeConfig {
                profile,
                rules,
                timed: false,
            },
            elf,
            more_elves,
            truth,
            core_dump,
        })
    }

    /// Where the report goes.
    pub fn outputs(&self) -> Outputs {
        Outputs {
            json: self.json,
            junit: self.junit.clone(),
        }
    }
}

/// Where a finished report goes: stdout as text or JSON, and a JUnit file.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// JSON on stdout instead of text.
    pub json: bool,
    /// Also write a JUnit XML report here.
    pub junit: Option<PathBuf>,
}

/// Decode with the flashed ELF when no `--elf` was given and the flashed file is one.
pub fn default_elf(plan: &mut Plan, flashed: &Path) {
    if plan.elf.is_none()
        && let Ok(bytes) = read_elf(flashed)
        && decode::Symbols::check(&bytes).is_ok()
    {
        plan.elf = Some(Elf {
            name: show_path(flashed),
            bytes,
        });
    }
}

/// Finish a report at the edge: decode the crash, ask the CI when the plan says so, write the
/// JUnit file, print the report. The exit code is the report's, unless the CI could not be asked
/// about a PASS. An unreachable API never loses the report: it is still printed and written.
pub fn finish(plan: &Plan, outputs: &Outputs, report: &mut Report) -> Result<Exit> {
    for note in plan.decode(report) {
        super::warn(note);
    }
    let mut exit = report.exit();
    if let Some(q) = &plan.truth {
        match crate::github::fetch_blocking(q) {
            Ok(facts) => {
                plan.judge_truth(report, &facts);
                exit = report.exit();
            }
            Err(e) => {
                super::report_error(&e);
                exit = plan.truth_unavailable(report, &e.to_string(), e.exit());
            }
        }
    }
    if let Some(path) = &outputs.junit {
        let xml = render::junit(report, "espcheck")
            .map_err(|e| Error::env(show_path(path), format!("cannot render JUnit: {e}")))?;
        crate::util::write_atomic(path, xml.as_bytes())?;
    }
    let mut out = std::io::stdout().lock();
    if outputs.json {
        render::json(report, &mut out)?;
    } else {
        render::human(report, &mut out)?;
    }
    out.flush()?;
    Ok(exit)
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The captured serial log (`-` for stdin).
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Echo the log's lines before the report (stderr with --json).
    #[arg(long)]
    pub echo: bool,
    #[command(flatten)]
    pub grade: GradeArgs,
}

/// Run the command.
pub fn run(args: Args) -> Result<Exit> {
    let plan = args.grade.plan()?;
    let outputs = args.grade.outputs();
    let (mut report, end) = grade_reader(&args.log, &plan, args.echo.then_some(outputs.json))?;
    finish_stopped(&plan, &outputs, &mut report, end == End::Interrupted)
}

/// [`finish`], for a run a signal may have stopped: stopped before any verdict, the report and
/// the exit code say "interrupted" (130), not timeout.
pub fn finish_stopped(
    plan: &Plan,
    outputs: &Outputs,
    report: &mut Report,
    interrupted: bool,
) -> Result<Exit> {
    let interrupted = interrupted && report.verdict == Verdict::Timeout;
    if interrupted {
        report.exit_code = Exit::Interrupted.code();
    }
    let exit = finish(plan, outputs, report)?;
    Ok(if interrupted && exit == Exit::Timeout {
        Exit::Interrupted
    } else {
        exit
    })
}

/// Grade a log file or stdin, streaming it through the grader. `echo`: `Some(to_stderr)`.
/// A reader thread feeds the grader, so a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) stops a
/// pipe that is still open with the report of what arrived.
fn grade_reader(path: &Path, plan: &Plan, echo: Option<bool>) -> Result<(Report, End)> {
    let name = show_path(path);
    let mut input: Box<dyn Read + Send> = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else {
        let meta = std::fs::metadata(path).map_err(|e| Error::file(path, &e))?;
        if meta.is_dir() {
            return Err(Error::input(name, "is a directory, not a log file"));
        }
        Box::new(std::fs::File::open(path).map_err(|e| Error::file(path, &e))?)
    };
    let stop = crate::serial::watch::stop_on_signals()?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(4);
    std::thread::Builder::new()
        .name("espcheck-grade-input".to_owned())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let chunk = match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => Ok(buf[..n].to_vec()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = chunk.is_err();
                if tx.send(chunk).is_err() || failed {
                    return;
                }
            }
        })
        .map_err(|e| Error::env("input reader", e))?;
    let mut grader = plan.grader();
    let mut events = Vec::new();
    let mut sink = echo.map(Echo::new);
    let end = loop {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break End::Interrupted;
        }
        let chunk = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(e)) => return Err(Error::input(&name, crate::util::io_reason(&e))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break End::Eof,
        };
        grader.feed(&chunk, Duration::ZERO, &mut events);
        if let Some(s) = sink.as_mut() {
            for e in events.drain(..) {
                s.event(&e, None)?;
            }
        }
        events.clear();
    };
    let report = grader.finish(end, &mut events);
    if let Some(s) = sink.as_mut() {
        for e in events.drain(..) {
            s.event(&e, None)?;
        }
        s.flush()?;
    }
    Ok((report, end))
}

/// Live echo of serial lines: stdout for humans, stderr when stdout carries JSON.
pub(crate) struct Echo {
    out: Box<dyn Write>,
}

impl std::fmt::Debug for Echo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Echo")
    }
}

impl Echo {
    pub(crate) fn new(to_stderr: bool) -> Self {
        let out: Box<dyn Write> = if to_stderr {
            Box::new(std::io::BufWriter::new(std::io::stderr()))
        } else {
            Box::new(std::io::BufWriter::new(std::io::stdout()))
        };
        Echo { out }
    }

    pub(crate) fn event(&mut self, e: &Event, at: Option<Duration>) -> Result<()> {
        if let Event::Line(line) = e {
            let stamp = at
                .map(|at| format!("[{:>8.3}] ", at.as_secs_f64()))
                .unwrap_or_default();
            if line.garbled {
                writeln!(
                    self.out,
                    "{stamp}<{} unreadable characters: ROM boot output at 74880 baud?>",
                    line.text.chars().count()
                )?;
            } else if line.dropped > 0 {
                writeln!(
                    self.out,
                    "{stamp}{} <… {} more bytes>",
                    crate::util::redacted(&line.text),
                    line.dropped
                )?;
            } else {
                let text = crate::util::redacted(&line.text);
                writeln!(self.out, "{}", format!("{stamp}{text}").trim_end())?;
            }
        }
        Ok(())
    }

    /// A note between the echoed lines (after them, so the order holds); quiet under `-q`, as
    /// every note is.
    pub(crate) fn note(&mut self, text: &str) -> Result<()> {
        self.out.flush()?;
        super::note(format!("espcheck: {text}"));
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
