//! Flashing plans: the ESP32 family through espflash's `Flasher`; the ESP8266 through espflash's
//! connection/command layer (espflash's `Flasher` dropped it), speaking the ROM loader directly.
//!
//! [`flash`] opens the port, resets the board into its loader (or, on a pty with no modem lines,
//! relies on it already being there), syncs within a deadline, writes, verifies where the ROM has
//! MD5, restarts the board, and hands the *same open port* back, so the caller reads the first
//! boot line the board prints.
//!
//! An `rfc2217://` port is flashed through [`remote::bridge`]: espflash drives a local pty that
//! is pumped to the socket, every baud change goes through [`Line::set_baud`] (so SET-BAUDRATE
//! falls between the bytes it belongs between), and the resets before and after are esptool's
//! sequences sent as SET-CONTROL by espcheck.

pub mod baud;
mod esp32;
mod esp8266;
pub mod esp8266_image;
mod progress;
pub mod project;
pub mod rom_elf;
pub mod stub;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use espflash::command::{Command, CommandType};
use espflash::connection::{Connection, ResetAfterOperation, ResetBeforeOperation};
use serialport::{SerialPort, TTYPort, UsbPortInfo};

pub use progress::{NoProgress, Progress};

use crate::rom::Chip;
use crate::rom::chip::CHIP_DETECT_MAGIC_REG;
use crate::serial::RemoteUrl;
use crate::serial::remote;

/// Espressif's USB vendor id; PID 0x1001 is the USB-Serial-JTAG of the C3/S3/C6/H2 family.
pub const ESPRESSIF_VID: u16 = 0x303A;
/// USB-Serial-JTAG product id.
pub const USB_JTAG_PID: u16 = 0x1001;

/// What to do before talking to the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Before {
    /// Pulse DTR/RTS into the download mode (the USB-JTAG sequence on Espressif native USB).
    DefaultReset,
    /// The board is already in its loader.
    NoReset,
}

/// What to do after writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum After {
    /// Restart the board into the new firmware.
    HardReset,
    /// Restart it through the loader (FLASH_END "run user code"), not the reset line: for boards
    /// whose DTR/RTS do not reach EN/GPIO0 (TX/RX-only wiring, a pty behind ser2net). The ESP32
    /// family is then written through the ROM, as on a pty.
    SoftReset,
    /// Leave the board in its loader.
    NoReset,
}

/// How the board was restarted after writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// RTS pulsed on the EN line (USB bridges).
    ResetLine,
    /// FLASH_END asking the ROM to reboot: what a pty (or a board without reset wiring) gets.
    RomReboot,
    /// Left in the loader.
    None,
}

/// The firmware to write.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A raw image written at `addr`, or at the chip's usual app offset when `None`.
    Bin { data: &'a [u8], addr: Option<u32> },
    /// An ELF: turned into bootloader + partition table + app by espflash on the ESP32 family,
    /// into esptool's `elf2image` images on the ESP8266 ([`esp8266_image`]).
    Elf(&'a [u8]),
    /// Several raw images, each at its address (bootloader, partition table, app, ...), written in
    /// one session with one restart at the end.
    Bins(&'a [(u32, &'a [u8])]),
}

impl<'a> Input<'a> {
    /// Pick by content: ELF magic means ELF; anything else is a .bin for `addr` (or the chip's
    /// usual app offset once the chip is known).
    pub fn detect(data: &'a [u8], addr: Option<u32>) -> Input<'a> {
        if data.starts_with(b"\x7fELF") {
            Input::Elf(data)
        } else {
            Input::Bin { data, addr }
        }
    }
}

/// Flashing options.
#[derive(Debug, Clone)]
pub struct FlashOptions {
    pub port: PathBuf,
    /// Baud rate for flashing (the loader is reached at 115200 first, then moved here; a rate
    /// the line cannot carry steps down, see [`baud::raise`]).
    pub baud: u32,
    /// The rate the port is set to before the board restarts, so its first line is legible.
    pub monitor_baud: u32,
    pub before: Before,
    pub after: After,
    /// Bound on reaching the loader (reset + SYNC); each later step has the ROM's own timeouts.
    pub timeout: Duration,
    /// Use a RAM stub: espflash's on the ESP32 family, esp-flasher-stub's on the ESP8266.
    pub stub: bool,
    /// Where the ESP8266 stub comes from (espcheck ships none; see [`stub`]).
    pub esp8266_stub: stub::StubSearch,
    /// The chip the firmware is for: a board that is another chip is refused before writing.
    pub chip: Option<Chip>,
}

impl FlashOptions {
    /// Defaults for `port`: flash at 460800 (esptool's default) through a stub, watch at 115200,
    /// default reset before, hard reset after, 10 s to connect.
    pub fn new(port: impl Into<PathBuf>) -> Self {
        FlashOptions {
            port: port.into(),
            baud: baud::DEFAULT_FLASH_BAUD,
            monitor_baud: baud::ROM_BAUD,
            esp8266_stub: stub::StubSearch::Installed,
            before: Before::DefaultReset,
            after: After::HardReset,
            timeout: Duration::from_secs(10),
            stub: true,
            chip: None,
        }
    }
}

/// The result of a flash: the port, still open, and what was done.
#[derive(Debug)]
pub struct Flashed {
    /// The same handle that flashed; the board's first boot bytes are waiting in it.
    pub port: TTYPort,
    /// "ESP8266", "esp32", "esp32c3", ...
    pub chip: String,
    /// Bytes written (after padding).
    pub bytes: usize,
    /// Whether the written data was checked with the loader's MD5.
    pub verified: bool,
    /// The loader that wrote, for people: "the ROM", or the stub (with its file for the ESP8266's).
    pub loader: String,
    /// Whether a RAM stub wrote (and, on a port without reset lines, started the app).
    pub on_stub: bool,
    /// The baud rate the data crossed at.
    pub baud: u32,
    /// Bytes that crossed the line for the data (after compression).
    pub sent: usize,
    pub restart: Restart,
    /// The port has no modem lines (a pty): resets were done through the ROM.
    pub no_reset_lines: bool,
}

/// A failed flash, naming the step. Every variant is a host-side failure (exit 4).
#[derive(Debug)]
pub enum FlashError {
    /// The port could not be opened.
    Open { port: String, reason: String },
    /// No SYNC answer before the deadline.
    NoSync { port: String, after: Duration },
    /// The input cannot be flashed as given.
    Input(String),
    /// A step of the protocol failed (NAK, timeout, MD5 mismatch, ...).
    Step { step: &'static str, reason: String },
    /// The board is not the chip the firmware is for.
    WrongChip { want: Chip, found: String },
}

impl fmt::Display for FlashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashError::Open { port, reason } => write!(f, "cannot open {port}: {reason}"),
            FlashError::NoSync { port, after } => write!(
                f,
                "no answer to SYNC from {port} within {}: is the board in download mode?",
                crate::util::human_duration(*after)
            ),
            FlashError::Input(m) => f.write_str(m),
            FlashError::Step { step, reason } => write!(f, "{step} failed: {reason}"),
            FlashError::WrongChip { want, found } => write!(
                f,
                "the board is {found} but the firmware is for {} (--chip, espcheck.toml or the \
                 build): nothing was written",
                want.name()
            ),
        }
    }
}

impl std::error::Error for FlashError {}

impl From<FlashError> for crate::Error {
    fn from(e: FlashError) -> Self {
        match &e {
            FlashError::Input(_) => crate::Error::Usage(format!("flash: {e}")),
            _ => crate::Error::env("flash", e),
        }
    }
}

fn step(step: &'static str) -> impl Fn(espflash::Error) -> FlashError {
    move |e| FlashError::Step {
        step,
        reason: one_line(&e.to_string()),
    }
}

/// An error's message without the name it carries (the flash error names the port itself).
fn reason_of(e: &crate::Error) -> String {
    match e {
        crate::Error::Environment { message, .. } => one_line(message),
        other => one_line(&other.to_string()),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// USB identity of a port, if the system lists it (a pty has none).
fn usb_info(path: &Path) -> Option<UsbPortInfo> {
    let real = std::fs::canonicalize(path).ok()?;
    serialport::available_ports()
        .ok()?
        .into_iter()
        .find_map(|p| {
            let same = std::fs::canonicalize(&p.port_name).ok()? == real;
            match p.port_type {
                serialport::SerialPortType::UsbPort(info) if same => Some(info),
                _ => None,
            }
        })
}

/// Flash `firmware` through the port in `opts`.
pub fn flash(
    opts: &FlashOptions,
    firmware: Input<'_>,
    progress: &mut dyn Progress,
) -> Result<Flashed, FlashError> {
    let name = opts.port.display().to_string();
    progress.step(&format!("opening {name}"));
    let remote = RemoteUrl::of(&opts.port).map_err(|e| FlashError::Input(e.to_string()))?;
    let bridge = match &remote {
        Some(url) => Some(remote::bridge(url, 115_200).map_err(|e| FlashError::Open {
            port: name.clone(),
            reason: reason_of(&e),
        })?),
        None => None,
    };
    let local = bridge
        .as_ref()
        .map_or_else(|| name.clone(), |b| b.path.display().to_string());
    let mut port = serialport::new(local, 115_200)
        .timeout(Duration::from_millis(100))
        .open_native()
        .map_err(|e| FlashError::Open {
            port: name.clone(),
            reason: one_line(&e.description),
        })?;
    // Over RFC 2217, espcheck drives DTR/RTS itself through the connection; espflash sees a pty.
    let bridged = match bridge {
        Some(b) => Some(b.start().map_err(|e| FlashError::Open {
            port: name.clone(),
            reason: reason_of(&e),
        })?),
        None => None,
    };
    // A pty has no modem lines: TIOCMGET fails (ENOTTY). Reset through the ROM there.
    let line = match &bridged {
        Some(b) => Line::Remote(b),
        None => Line::Local,
    };
    let remote = bridged.is_some();
    let no_reset_lines = !remote && port.read_clear_to_send().is_err();
    let before = if no_reset_lines {
        Before::NoReset
    } else {
        opts.before
    };
    let usb = usb_info(&opts.port)
        .filter(|_| !remote)
        .unwrap_or(UsbPortInfo {
            vid: 0,
            pid: 0,
            serial_number: None,
            manufacturer: None,
            product: None,
        });
    // Without reset lines to restart it, the board is restarted as on a pty: through its loader
    // (FLASH_END on a ROM, RUN_USER_CODE on a stub).
    let rom_restart = no_reset_lines || opts.after == After::SoftReset;
    let after_op = match (opts.after, no_reset_lines) {
        // espflash's ROM path reboots with FLASH_END before it returns; the hard reset after it
        // is espflash's own.
        (After::HardReset, false) if !remote && !opts.stub => ResetAfterOperation::HardReset,
        // Over RFC 2217, and after espflash's stub, espcheck resets through RTS once the port is
        // at the monitor rate; a soft reset into the ROM first would print a second boot banner.
        (After::HardReset, false) => ResetAfterOperation::NoResetNoStub,
        // The ESP32 plan starts the app through the stub itself (RUN_USER_CODE).
        (After::HardReset, true) | (After::SoftReset, _) if opts.stub => {
            ResetAfterOperation::NoResetNoStub
        }
        _ => ResetAfterOperation::NoReset,
    };
    let restart = match (opts.after, no_reset_lines) {
        (After::NoReset, _) => Restart::None,
        (After::SoftReset, _) | (After::HardReset, true) => Restart::RomReboot,
        // Over RFC 2217 the plans leave the board in its loader and the reset is done below.
        (After::HardReset, false) if remote => Restart::None,
        (After::HardReset, false) => Restart::ResetLine,
    };
    let usb_jtag = usb.vid == ESPRESSIF_VID && usb.pid == USB_JTAG_PID;
    // Start from a clean line: whatever the board printed before is not a reply.
    let _ = port.clear(serialport::ClearBuffer::All);
    if let Some(b) = &bridged {
        b.client().purge().map_err(|e| FlashError::Step {
            step: "purging the remote port (PURGE-DATA)",
            reason: e.to_string(),
        })?;
    }
    let mut conn = Connection::new(
        port,
        usb,
        after_op,
        // espcheck resets and syncs itself, within its deadline; espflash must not reset again.
        ResetBeforeOperation::NoReset,
        115_200,
    );
    progress.step(if before == Before::DefaultReset {
        if usb_jtag {
            "resetting into download mode (USB-JTAG sequence)"
        } else {
            "resetting into download mode (DTR/RTS)"
        }
    } else {
        "connecting (no reset)"
    });
    let stub_running = sync(&mut conn, before, line, opts.timeout, &name, opts.baud)?;
    let magic = conn
        .read_reg(CHIP_DETECT_MAGIC_REG)
        .map_err(step("reading the chip magic"))?;
    let ctx = Ctx {
        line,
        stub_running,
        no_reset_lines: rom_restart,
        restart,
        opts,
    };
    let is_esp8266 = Chip::from_magic(magic) == Some(Chip::Esp8266);
    if let Some(want) = opts.chip
        && (want == Chip::Esp8266) != is_esp8266
    {
        return Err(FlashError::WrongChip {
            want,
            found: if is_esp8266 {
                Chip::Esp8266.name().to_owned()
            } else {
                Chip::from_magic(magic).map_or_else(
                    || "a chip of the ESP32 family".to_owned(),
                    |c| c.name().to_owned(),
                )
            },
        });
    }
    let mut flashed = if is_esp8266 {
        esp8266::flash(conn, firmware, &ctx, progress)
    } else {
        esp32::flash(conn, firmware, &ctx, progress)
    }?;
    flashed.no_reset_lines = no_reset_lines;
    if let Some(b) = &bridged
        && opts.after == After::HardReset
    {
        // espflash's ROM path (an ESP32 without the stub) ends in FLASH_END with reboot, which
        // already started the app; a second reset would show as a reset loop. Everything else
        // is still in a loader: reset it through RTS, as on a local bridge.
        let rom_rebooted = !is_esp8266 && !opts.stub;
        // The app's first line comes at the monitor rate (the plans left the loader's): the
        // remote UART is there, confirmed, before RTS restarts the chip.
        line.set_port_baud(&mut flashed.port, opts.monitor_baud)
            .map_err(step("returning to the monitor baud"))?;
        flashed.restart = if rom_rebooted {
            Restart::RomReboot
        } else {
            progress.step("hard resetting via RTS (RFC 2217)");
            b.client().hard_reset().map_err(|e| FlashError::Step {
                step: "hard reset (RTS over RFC 2217)",
                reason: e.to_string(),
            })?;
            Restart::ResetLine
        };
    }
    Ok(flashed)
}

/// The port the plans drive.
#[derive(Clone, Copy)]
enum Line<'a> {
    /// A local port (or pty): espflash's resets on its DTR/RTS, its baud set on it.
    Local,
    /// The pty of an RFC 2217 bridge: esptool's resets as SET-CONTROL, and every baud change
    /// through the bridge, where it falls in the byte stream.
    Remote(&'a remote::Bridged),
}

impl Line<'_> {
    /// Move the host side to `baud` between two writes: what was written before leaves at the
    /// old rate, what is written after at the new one (over RFC 2217 the server has confirmed
    /// the change by then).
    fn set_baud(self, conn: &mut Connection, baud: u32) -> Result<(), espflash::Error> {
        self.remote_baud(baud)?;
        conn.set_baud(baud)
    }

    /// [`Line::set_baud`] for the port a plan handed back.
    fn set_port_baud(self, port: &mut TTYPort, baud: u32) -> Result<(), espflash::Error> {
        self.remote_baud(baud)?;
        Ok(port.set_baud_rate(baud)?)
    }

    fn remote_baud(self, baud: u32) -> Result<(), espflash::Error> {
        match self {
            Line::Local => Ok(()),
            Line::Remote(b) => b.set_baud(baud).map_err(|e| {
                serialport::Error::new(
                    serialport::ErrorKind::Io(std::io::ErrorKind::Other),
                    e.to_string(),
                )
                .into()
            }),
        }
    }
}

/// What the chip-specific plans need to know.
struct Ctx<'a> {
    line: Line<'a>,
    /// SYNC was answered by a flasher stub an earlier flash left running, not by the ROM.
    stub_running: bool,
    no_reset_lines: bool,
    restart: Restart,
    opts: &'a FlashOptions,
}

/// Reset (if asked) and SYNC until the loader answers or `deadline` passes. Returns whether a
/// flasher stub answered (its SYNC value is 0, as esptool checks; the ROMs' is not).
///
/// Without a reset, every other SYNC goes at `also` (the flashing baud): a stub an interrupted
/// flash left running listens there, and on a port without reset lines nothing else brings it
/// back. The connection stays at the rate that answered.
fn sync(
    conn: &mut Connection,
    before: Before,
    line: Line<'_>,
    within: Duration,
    name: &str,
    also: u32,
) -> Result<bool, FlashError> {
    let start = Instant::now();
    let mut attempt = 0u32;
    loop {
        if before == Before::NoReset && also != baud::ROM_BAUD {
            let rate = if attempt.is_multiple_of(2) {
                baud::ROM_BAUD
            } else {
                also
            };
            let _ = line.set_baud(conn, rate);
        }
        if before == Before::DefaultReset && attempt.is_multiple_of(5) {
            // Alternate the normal and the long boot-pin delay, as esptool does.
            let long = attempt % 10 == 5;
            match line {
                Line::Local => conn
                    .reset_to_flash(long)
                    .map_err(step("resetting into download mode"))?,
                Line::Remote(b) => {
                    b.client()
                        .classic_reset(long)
                        .map_err(|e| FlashError::Step {
                            step: "resetting into download mode (DTR/RTS over RFC 2217)",
                            reason: e.to_string(),
                        })?
                }
            }
        }
        attempt += 1;
        let reply = conn.with_timeout(CommandType::Sync.timeout(), |c| c.command(Command::Sync));
        if let Ok(value) = reply {
            let stub = matches!(value, espflash::command::CommandResponseValue::ValueU32(0));
            // The ROM answers eight times; let the rest arrive, then drop them.
            std::thread::sleep(Duration::from_millis(20));
            let _ = conn.with_timeout(Duration::from_millis(50), |c| {
                c.command(Command::ReadReg {
                    address: CHIP_DETECT_MAGIC_REG,
                })
            });
            return Ok(stub);
        }
        if start.elapsed() >= within {
            return Err(FlashError::NoSync {
                port: name.to_owned(),
                after: within,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
