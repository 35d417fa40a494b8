//! `espcheck flash-and-watch`: flash the firmware, restart the board, and grade what it prints, on
//! the same open port so that no boot line is lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::grade::{GradeArgs, default_elf};
use super::parse_duration;
use super::watch::{WatchArgs, watch_and_report};
use crate::error::{Error, Exit, Result};
use crate::flash::project::{self, Frameworks, Role, parse_addr, parse_firmware};
use crate::flash::stub::StubSearch;
use crate::flash::{After, Before, FlashOptions, Input, Progress, Restart};
use crate::rom::Chip;
use crate::serial::{TtyLink, resolve_port};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck flash-and-watch /dev/ttyUSB0          # the build of the project here (PlatformIO, ESP-IDF, arduino-cli)
  espcheck flash-and-watch --env esp12e --project ~/src/clock
  espcheck flash-and-watch --firmware .pio/build/esp12e/firmware.bin
  espcheck flash-and-watch /dev/ttyUSB0 --firmware 0x1000=bootloader.bin --firmware 0x8000=partitions.bin --firmware 0x10000=app.bin --junit hil.xml
  espcheck flash-and-watch /tmp/esp --firmware sim.bin --timeout 60s   # a virtual board (sim device)
  espcheck flash-and-watch rfc2217://exporter:4001 --firmware app.bin --junit hil.xml   # a farm board over ser2net

Exit: 0 PASS, 1 the board says no (or disagrees with --truth), 3 no verdict in time,
4 port or flashing failed (the message names the step), 5 the board faulted.";

/// `--before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BeforeArg {
    /// Pulse DTR/RTS into the loader (USB-JTAG sequence on Espressif native USB); on a port without
    /// modem lines (a pty) the board is expected to be in its loader already.
    DefaultReset,
    /// The board is already in its loader.
    NoReset,
}

/// `--after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AfterArg {
    /// Restart into the new firmware: RTS on bridges (and over RFC 2217), a ROM reboot on a pty.
    HardReset,
    /// Restart through the loader, not RTS: for reset lines that do not reach the chip (TX/RX-only
    /// wiring, a pty exported by ser2net). The ESP32 family is written through the ROM then.
    SoftReset,
    /// Leave the board in its loader (nothing to watch then).
    NoReset,
}

/// Arguments of `flash-and-watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serial port, pty, or `rfc2217://HOST:PORT[?ign_set_control]` (ser2net, a labgrid
    /// exporter) [default: $ESPCHECK_PORT, or the one attached ESP board].
    #[arg(value_name = "PORT")]
    pub port: Option<PathBuf>,
    /// An image to write, as esptool's `write-flash ADDR FILE` (hex or decimal ADDR); repeat for
    /// bootloader, partition table and app. One FILE alone may be an ELF (ESP32 family).
    /// [default: the build found in --project]
    #[arg(long, value_name = "[ADDR=]FILE", value_parser = parse_firmware)]
    pub firmware: Vec<(Option<u32>, PathBuf)>,
    /// Flash offset for a single --firmware FILE [default: 0x0 on ESP8266, 0x10000 on the ESP32 family].
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub addr: Option<u32>,
    /// Where to look for the build when no --firmware is given.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// The PlatformIO env to flash when several are built.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Write images without the 0xE9 magic, or at addresses not on a 4 KiB sector.
    #[arg(long)]
    pub force: bool,
    /// The chip the firmware is for [default: espcheck.toml's `chip`, else what the build says];
    /// a board that is another chip is refused before anything is written.
    #[arg(long, value_enum)]
    pub chip: Option<Chip>,
    /// Baud rate for flashing (esptool's default). The loader is reached at 115200 and moved
    /// here; a rate the line cannot carry steps down (921600 → 460800 → 115200), with a note.
    #[arg(long, default_value_t = crate::flash::baud::DEFAULT_FLASH_BAUD)]
    pub baud: u32,
    /// Baud rate for watching.
    #[arg(long, default_value_t = 115_200)]
    pub monitor_baud: u32,
    /// How to get the board into its loader.
    #[arg(long, value_enum, default_value = "default-reset")]
    pub before: BeforeArg,
    /// What to do after writing.
    #[arg(long, value_enum, default_value = "hard-reset")]
    pub after: AfterArg,
    /// Bound on reaching the loader (reset and SYNC).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Stay on the ROM loader: no RAM stub on either chip (slower, but always there); wins over
    /// --stub and ESPCHECK_STUB.
    #[arg(long)]
    pub no_stub: bool,
    /// The ESP8266 flasher stub to upload: esptool's `targets/stub_flasher/2/esp8266.json`
    /// (esp-flasher-stub) [default: $ESPCHECK_STUB, else the installed esptool's, PlatformIO's
    /// or the Arduino core's].
    #[arg(long, value_name = "FILE", env = "ESPCHECK_STUB")]
    pub stub: Option<PathBuf>,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub grade: GradeArgs,
}

/// Candidate `boot_app0.bin` files of the Arduino-ESP32 framework PlatformIO installed.
fn frameworks() -> Frameworks {
    let tail = "packages/framework-arduinoespressif32/tools/partitions/boot_app0.bin";
    let mut homes: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("PLATFORMIO_CORE_DIR") {
        homes.push(PathBuf::from(d));
    }
    if let Some(h) = std::env::var_os("HOME") {
        homes.push(PathBuf::from(h).join(".platformio"));
    }
    Frameworks {
        boot_app0: homes.into_iter().map(|h| h.join(tail)).collect(),
    }
}

/// The images to write: the --firmware list, or the build found in the project.
fn plan_images(args: &Args) -> Result<project::Plan> {
    if args.firmware.is_empty() {
        let plan = project::discover(&args.project, args.env.as_deref(), args.chip, &frameworks())?;
        for line in plan.describe() {
            super::note(line);
        }
        return Ok(plan);
    }
    let mut given = args.firmware.clone();
    if let [(addr @ None, _)] = given.as_mut_slice() {
        *addr = args.addr;
    }
    Ok(project::from_args(&given)?)
}

/// An indicatif bar on stderr; indicatif hides it when stderr is not a terminal.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        Bar { bar }
    }
}

impl Progress for Bar {
    fn step(&mut self, what: &str) {
        self.bar.set_message(what.to_owned());
        self.bar.tick();
    }
    fn begin(&mut self, addr: u32, blocks: usize) {
        self.bar.set_length(blocks as u64);
        self.bar.set_position(0);
        let style = ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} blocks")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        self.bar.set_style(style);
        self.bar.set_message(format!("writing at {addr:#x}"));
    }
    fn advance(&mut self, done: usize) {
        self.bar.set_position(done as u64);
    }
    fn verifying(&mut self) {
        self.bar.set_message("verifying (MD5)");
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
    fn note(&mut self, line: &str) {
        self.bar.suspend(|| super::note(line));
    }
}

/// Ctrl-C while flashing: espflash's calls cannot be cancelled half-way, so say what happened and
/// exit; the OS closes the port (and its exclusive lock) with the process. Returns the flag to clear
/// once flashing is over, after which Ctrl-C belongs to the watch.
fn interrupt_guard(port: &std::path::Path) -> Result<Arc<AtomicBool>> {
    let stop = crate::serial::watch::stop_on_signals()?;
    let flashing = Arc::new(AtomicBool::new(true));
    let still = Arc::clone(&flashing);
    let name = port.display().to_string();
    std::thread::spawn(move || {
        while still.load(Ordering::SeqCst) {
            if stop.load(Ordering::SeqCst) && still.load(Ordering::SeqCst) {
                super::report_error(&Error::env(
                    name,
                    "flashing interrupted; the board is left in its loader with a partial image: \
                     flash again",
                ));
                std::process::exit(i32::from(Exit::Environment.code()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    Ok(flashing)
}

/// Run `flash-and-watch`.
pub fn run(args: Args) -> Result<Exit> {
    let mut plan = args.grade.plan()?;
    if args.baud == 0 || args.monitor_baud == 0 {
        return Err(Error::Usage(
            "baud rates must be positive, e.g. 115200".to_owned(),
        ));
    }
    let images = plan_images(&args)?;
    let mut loaded = Vec::new();
    for i in &images.images {
        let data = crate::util::read_input_as(&i.path, 64 * 1024 * 1024, "a firmware image")?;
        loaded.push(data);
    }
    let single_elf = matches!(loaded.as_slice(), [d] if d.starts_with(b"\x7fELF"));
    let chip = args.chip.or(images.chip);
    if !single_elf {
        let app_offset = chip.unwrap_or(Chip::Esp8266).app_offset();
        let checked: Vec<(u32, &std::path::Path, Role, &[u8])> = images
            .images
            .iter()
            .zip(&loaded)
            .map(|(i, d)| {
                (
                    i.addr.unwrap_or(app_offset),
                    i.path.as_path(),
                    i.role,
                    d.as_slice(),
                )
            })
            .collect();
        project::check(&checked, args.force)?;
    }
    let path = resolve_port(args.port.clone())?;
    let mut opts = FlashOptions::new(&path);
    opts.baud = args.baud;
    opts.monitor_baud = args.monitor_baud;
    opts.timeout = args.connect_timeout;
    opts.stub = !args.no_stub;
    opts.esp8266_stub = match &args.stub {
        Some(file) => StubSearch::Given(file.clone()),
        None => StubSearch::Installed,
    };
    opts.chip = chip;
    opts.before = match args.before {
        BeforeArg::DefaultReset => Before::DefaultReset,
        BeforeArg::NoReset => Before::NoReset,
    };
    opts.after = match args.after {
        AfterArg::HardReset => After::HardReset,
        AfterArg::NoReset => After::NoReset,
        AfterArg::SoftReset => After::SoftReset,
    };
    let mut bar = Bar::new();
    let flashing = interrupt_guard(&path)?;
    let bins: Vec<(u32, &[u8])>;
    let input = match (images.images.as_slice(), loaded.as_slice()) {
        // One image: an ELF, or a .bin at its address or the chip's usual app offset.
        ([one], [data]) => Input::detect(data, one.addr),
        _ => {
            bins = images
                .images
                .iter()
                .zip(&loaded)
                .map(|(i, d)| (i.addr.unwrap_or(0), d.as_slice()))
                .collect();
            Input::Bins(&bins)
        }
    };
    let flashed = crate::flash::flash(&opts, input, &mut bar);
    flashing.store(false, Ordering::SeqCst);
    let flashed = flashed?;
    bar.finish();
    let verified = if flashed.verified {
        "verified (MD5)"
    } else {
        "not verified (no MD5 in this ROM)"
    };
    let compressed = if flashed.sent < flashed.bytes {
        format!(" compressed to {} bytes,", flashed.sent)
    } else {
        String::new()
    };
    let restart = match flashed.restart {
        Restart::ResetLine => "restarted through the reset line",
        Restart::RomReboot if flashed.no_reset_lines && flashed.on_stub => {
            "restarted through the stub (the port has no reset lines)"
        }
        Restart::RomReboot if flashed.no_reset_lines => {
            "restarted through the ROM (the port has no reset lines)"
        }
        Restart::RomReboot if args.after == AfterArg::SoftReset => {
            "restarted through the loader (--after soft-reset)"
        }
        Restart::RomReboot => "restarted through the ROM",
        Restart::None => "left in the loader (--after no-reset)",
    };
    super::note(format!(
        "flashed {} bytes to {} on {} through {} at {} baud,{compressed} {verified}; {restart}",
        flashed.bytes,
        flashed.chip,
        path.display(),
        flashed.loader,
        flashed.baud
    ));
    if flashed.restart == Restart::None {
        return Ok(Exit::Ok);
    }
    let name = path.display().to_string();
    // The flasher left the port at --monitor-baud before restarting the board.
    let link = TtyLink::from_port(flashed.port, &name);
    // Crashes decode against the ELF just flashed unless --elf names another.
    if let Some(app) = images
        .images
        .iter()
        .rev()
        .find(|i| matches!(i.role, Role::App | Role::Given))
    {
        default_elf(&mut plan, &app.path);
        default_elf(&mut plan, &app.path.with_extension("elf"));
    }
    watch_and_report(
        Box::new(link),
        &args.watch.plan(&path, args.monitor_baud),
        plan,
        &args.grade.outputs(),
        &args.watch.echo(),
    )
}
