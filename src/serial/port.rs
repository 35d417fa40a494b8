//! Real serial ports and ptys as a [`SerialLink`], through `serialport`'s `TTYPort` (no libudev).
//!
//! A pty (`/dev/pts/N`, what `sim device` and socat make) opens the same way; it has no modem
//! lines, so DTR/RTS come back as [`LinkError::Unsupported`] instead of failing the command.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serialport::SerialPort;

use super::{LinkError, SerialLink};
use crate::error::{Error, Result};

/// An open serial port or pty.
#[derive(Debug)]
pub struct TtyLink {
    port: serialport::TTYPort,
    name: String,
    timeout: Duration,
}

/// The descriptions ENOTTY gets (libc's and nix's): what a pty answers to modem-line ioctls.
const ENOTTY: [&str; 2] = ["Inappropriate ioctl for device", "Not a typewriter"];

impl TtyLink {
    /// Open `path` at `baud`, exclusively (TIOCEXCL), without touching DTR/RTS.
    pub fn open(path: &Path, baud: u32) -> Result<Self> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(Error::env(&name, "no such serial port"));
        }
        let builder = serialport::new(name.as_str(), baud).timeout(Duration::from_millis(100));
        let port = serialport::TTYPort::open(&builder).map_err(|e| open_error(&name, &e))?;
        Ok(TtyLink {
            port,
            name,
            timeout: Duration::from_millis(100),
        })
    }

    /// Wrap a port that is already open (the one a flasher just used), so that the first boot bytes
    /// waiting in it are not lost.
    pub fn from_port(port: serialport::TTYPort, name: &str) -> Self {
        TtyLink {
            port,
            name: name.to_owned(),
            timeout: Duration::from_millis(100),
        }
    }

    /// Whether this looks like a pseudo-terminal.
    pub fn is_pty(&self) -> bool {
        self.name.starts_with("/dev/pts/") || self.name.starts_with("/dev/ttyp")
    }
}

fn open_error(name: &str, e: &serialport::Error) -> Error {
    let msg = e.to_string();
    let reason = match e.kind() {
        serialport::ErrorKind::NoDevice => {
            "in use by another program (a serial monitor?), or gone".to_owned()
        }
        serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
            "permission denied (on Linux, join the `dialout` or `uucp` group)".to_owned()
        }
        serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => "no such serial port".to_owned(),
        _ => format!("cannot open: {msg}"),
    };
    Error::env(name, reason)
}

fn map_setting(what: &'static str, e: serialport::Error) -> LinkError {
    let msg = e.to_string();
    if ENOTTY.iter().any(|t| msg.contains(t)) || msg.contains("Invalid argument") {
        LinkError::Unsupported(what)
    } else {
        LinkError::Io(format!("{what}: {msg}"))
    }
}

impl SerialLink for TtyLink {
    fn name(&self) -> &str {
        &self.name
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        if timeout != self.timeout {
            self.port
                .set_timeout(timeout)
                .map_err(|e| LinkError::Io(e.to_string()))?;
            self.timeout = timeout;
        }
        match self.port.read(buf) {
            Ok(0) => Err(LinkError::Gone("end of file".to_owned())),
            Ok(n) => Ok(n),
            Err(e) => match e.kind() {
                std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::Interrupted
                | std::io::ErrorKind::WouldBlock => Ok(0),
                std::io::ErrorKind::BrokenPipe => Err(LinkError::Gone("hung up".to_owned())),
                // On a serial port, any other read error means the device is no longer there
                // (EIO after unplugging, ENXIO/ENODEV after re-enumeration).
                _ => Err(LinkError::Gone(crate::util::io_reason(&e))),
            },
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        std::io::Write::write_all(&mut self.port, bytes)
            .and_then(|()| std::io::Write::flush(&mut self.port))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => LinkError::Gone("hung up".to_owned()),
                _ => LinkError::Io(crate::util::io_reason(&e)),
            })
    }

    fn set_baud(&mut self, baud: u32) -> Result<(), LinkError> {
        self.port
            .set_baud_rate(baud)
            .map_err(|e| map_setting("setting the baud rate", e))
    }

    fn set_dtr(&mut self, level: bool) -> Result<(), LinkError> {
        self.port
            .write_data_terminal_ready(level)
            .map_err(|e| map_setting("DTR", e))
    }

    fn set_rts(&mut self, level: bool) -> Result<(), LinkError> {
        self.port
            .write_request_to_send(level)
            .map_err(|e| map_setting("RTS", e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use std::os::fd::AsRawFd;

    use super::*;

    #[test]
    fn a_pty_opens_reads_and_has_no_modem_lines() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let path = nix::unistd::ttyname(&pty.slave).unwrap();
        let mut link = TtyLink::open(&path, 115_200).unwrap();
        assert!(link.is_pty());
        nix::unistd::write(&pty.master, b"hello\r\n").unwrap();
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 7 {
            let n = link.read(&mut buf, Duration::from_millis(500)).unwrap();
            assert!(n > 0, "timed out");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"hello\r\n", "raw mode: no CR/LF translation");
        let dtr = link.set_dtr(false);
        assert!(matches!(dtr, Err(LinkError::Unsupported(_))), "{dtr:?}");
        assert!(matches!(link.set_rts(true), Err(LinkError::Unsupported(_))));
        // Nothing to read: a timeout is Ok(0), not an error.
        assert_eq!(link.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
        let _ = pty.master.as_raw_fd();
        drop(pty.master);
        assert!(matches!(
            link.read(&mut buf, Duration::from_millis(200)),
            Err(LinkError::Gone(_))
        ));
    }

    #[test]
    fn a_missing_port_is_an_environment_error_naming_it() {
        let e = TtyLink::open(Path::new("/dev/ttyNOPE9"), 115_200).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Environment);
        assert_eq!(e.to_string(), "/dev/ttyNOPE9: no such serial port");
    }
}
