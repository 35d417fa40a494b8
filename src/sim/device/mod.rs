//! The virtual ESP8266/ESP32 board on a pseudo-terminal: it speaks the ROM loader protocol, keeps
//! its flash in a file, and boots what was flashed.
//!
//! Start one with [`start`]; it runs on its own thread until [`Device::shutdown`] (or drop). Tools
//! open [`Device::path`] like any serial port: esptool and espflash flash it with
//! `--before no-reset`, through the ROM loader or the flasher stub they upload (see
//! [`loader::stub`]), and it boots on the ROM's FLASH_END (reboot or "run user code") or the
//! stub's RUN_USER_CODE. A pty has no
//! DTR/RTS lines, so a SYNC that arrives while the board runs firmware stands in for the
//! auto-reset circuit: the board drops back into download mode and answers it.
//!
//! With [`DeviceConfig::rfc2217`] the board is also an RFC 2217 COM port (see
//! [`crate::serial::rfc2217`]) whose DTR/RTS drive EN and GPIO0 through the two-transistor
//! auto-reset circuit: it powers on and boots from flash, resets only through those lines, and
//! the running app does not answer SYNC.

pub mod boot;
mod bootloader;
pub mod firmware;
pub mod flash;
pub mod loader;
pub use crate::serial::pty;
mod runtime;
pub mod uart;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

pub use boot::ResetCause;
pub use firmware::{BoardInfo, DefaultFirmware, Firmware};
pub use uart::Pacing;

use crate::error::{Error, Result};
use crate::rom::Chip;

/// How to build a virtual board.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub chip: Chip,
    /// A symlink to create pointing at the pty (replaced if it is a stale symlink).
    pub link: Option<PathBuf>,
    /// Where the flash contents persist; `None` keeps them in memory.
    pub flash_file: Option<PathBuf>,
    /// What runs a sim image's sketch.
    pub firmware: Arc<dyn Firmware>,
    /// Whether the UART and the flash keep time.
    pub pacing: Pacing,
    /// Also serve UART0 as an RFC 2217 COM port here, with DTR/RTS wired to EN/GPIO0 through
    /// the auto-reset circuit; the board then powers on and boots from flash.
    pub rfc2217: Option<std::net::SocketAddr>,
}

impl DeviceConfig {
    /// An in-memory board of `chip` with the default firmware and no link.
    pub fn new(chip: Chip) -> Self {
        DeviceConfig {
            chip,
            link: None,
            flash_file: None,
            firmware: Arc::new(DefaultFirmware),
            pacing: Pacing::Real,
            rfc2217: None,
        }
    }
}

/// A running virtual board. Dropping it stops the board and removes its link.
#[derive(Debug)]
pub struct Device {
    chip: Chip,
    slave: PathBuf,
    link: Option<PathBuf>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    rfc2217: Option<std::net::SocketAddr>,
}

/// The MAC address of the virtual board (Espressif OUIs; the ESP8266 one is the one esptool
/// falls back to when OTP word 3 is blank).
pub fn mac(chip: Chip) -> [u8; 6] {
    match chip {
        Chip::Esp8266 => [0x18, 0xFE, 0x34, 0x5E, 0xCA, 0xF1],
        Chip::Esp32 => [0x24, 0x0A, 0xC4, 0x5E, 0xCA, 0xF1],
    }
}

/// Start a virtual board: open the pty, load (or create) the flash, print the download-mode
/// banner, and serve on a background thread.
pub fn start(config: DeviceConfig) -> Result<Device> {
    let flash = match &config.flash_file {
        Some(p) => flash::Flash::open(p, config.chip)?,
        None => flash::Flash::new(config.chip),
    };
    let pty = pty::open().map_err(|e| Error::env("pseudo-terminal", e))?;
    let slave = pty.slave_path.clone();
    if let Some(link) = &config.link {
        make_link(link, &slave)?;
    }
    let (tcp, rfc2217) = match config.rfc2217 {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|e| Error::env(format!("RFC 2217 port {addr}"), e))?;
            let bound = listener
                .local_addr()
                .map_err(|e| Error::env(format!("RFC 2217 port {addr}"), e))?;
            let port = wire::Rfc2217Port::new(listener, boot::APP_BAUD)
                .map_err(|e| Error::env(format!("RFC 2217 port {addr}"), e))?;
            (Some(port), Some(bound))
        }
        None => (None, None),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let rt = runtime::Runtime::new(
        config.chip,
        wire::Wire { pty, tcp },
        flash,
        config.firmware.clone(),
        stop.clone(),
        config.pacing,
    );
    let thread = std::thread::Builder::new()
        .name(format!("sim-device-{}", config.chip))
        .spawn(move || rt.run())
        .map_err(|e| Error::env("virtual board thread", e))?;
    Ok(Device {
        chip: config.chip,
        slave,
        link: config.link,
        stop,
        thread: Some(thread),
        rfc2217,
    })
}

fn make_link(link: &Path, target: &Path) -> Result<()> {
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::remove_file(link).map_err(|e| Error::file(link, &e))?;
        }
        Ok(_) => {
            return Err(Error::input(
                link.display(),
                "exists and is not a symlink; refusing to replace it",
            ));
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, link).map_err(|e| Error::file(link, &e))
}

impl Device {
    /// The path clients open: the link if one was asked for, else the pty itself.
    pub fn path(&self) -> &Path {
        self.link.as_deref().unwrap_or(&self.slave)
    }

    /// The pty (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave
    }

    /// Where the RFC 2217 port listens (the bound address, so port 0 resolves), if it has one.
    pub fn rfc2217_addr(&self) -> Option<std::net::SocketAddr> {
        self.rfc2217
    }

    /// The chip this board is.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    /// Whether the board is still serving (it stops only on shutdown or an internal failure).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stop serving, close the pty and remove the link.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(link) = &self.link
            && std::fs::read_link(link).is_ok_and(|t| t == self.slave)
        {
            let _ = std::fs::remove_file(link);
        }
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.stop_now();
    }
}
