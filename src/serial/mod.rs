//! Serial ports: the [`SerialLink`] trait the watch loop (and flashing) works over, real ports and
//! ptys through `serialport`, remote ports over RFC 2217 (`rfc2217://HOST:PORT`), port discovery
//! from sysfs, and the watch loop itself.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub mod discover;
pub mod log;
pub mod port;
pub mod pty;
pub mod remote;
pub mod rfc2217;
pub mod session;
pub mod watch;

pub use discover::{PortInfo, list_ports};
pub use port::TtyLink;
pub use remote::{RemoteUrl, Rfc2217Link};
pub use watch::{WatchEnd, WatchOptions, WatchOutcome, watch};

use crate::error::{Error, Result};

/// Why a link operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The port cannot do this at all: a pseudo-terminal has no modem lines (ENOTTY).
    #[error("{0} is not supported on this port (a pseudo-terminal has no modem lines)")]
    Unsupported(&'static str),
    /// The port went away: unplugged, re-enumerated on reset, or the pty's other end closed.
    #[error("the port went away ({0})")]
    Gone(String),
    /// Any other I/O failure.
    #[error("{0}")]
    Io(String),
}

/// A byte pipe to a board: a real serial port, a pty, or a fake in tests. Flashing and watching
/// share one open link so no boot output is lost between them.
pub trait SerialLink: Send {
    /// A name for messages (the port path).
    fn name(&self) -> &str;
    /// Read what is there, waiting at most `timeout`. `Ok(0)` means nothing arrived in time.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError>;
    /// Write all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError>;
    /// Change the baud rate.
    fn set_baud(&mut self, baud: u32) -> Result<(), LinkError>;
    /// Drive DTR (on ESP boards: GPIO0 through the auto-reset circuit).
    fn set_dtr(&mut self, level: bool) -> Result<(), LinkError>;
    /// Drive RTS (on ESP boards: EN, the reset line).
    fn set_rts(&mut self, level: bool) -> Result<(), LinkError>;
}

/// A [`SerialLink`] over any reader (a file, a pipe, a socket, a test buffer). Reads block; the
/// end of the reader is the port going away. Modem lines are unsupported.
#[derive(Debug)]
pub struct ReaderLink<R> {
    name: String,
    reader: R,
}

impl<R: std::io::Read + Send> ReaderLink<R> {
    /// Wrap `reader`, naming it `name`.
    pub fn new(name: impl Into<String>, reader: R) -> Self {
        ReaderLink {
            name: name.into(),
            reader,
        }
    }
}

impl<R: std::io::Read + Send> SerialLink for ReaderLink<R> {
    fn name(&self) -> &str {
        &self.name
    }
    fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, LinkError> {
        match self.reader.read(buf) {
            Ok(0) => Err(LinkError::Gone("end of input".to_owned())),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(LinkError::Io(crate::util::io_reason(&e))),
        }
    }
    fn write_all(&mut self, _bytes: &[u8]) -> Result<(), LinkError> {
        Err(LinkError::Unsupported("writing"))
    }
    fn set_baud(&mut self, _baud: u32) -> Result<(), LinkError> {
        Err(LinkError::Unsupported("setting the baud rate"))
    }
    fn set_dtr(&mut self, _level: bool) -> Result<(), LinkError> {
        Err(LinkError::Unsupported("DTR"))
    }
    fn set_rts(&mut self, _level: bool) -> Result<(), LinkError> {
        Err(LinkError::Unsupported("RTS"))
    }
}

/// Open `port` at `baud`: a local serial port or pty, or an `rfc2217://HOST:PORT` URL. Neither
/// touches DTR/RTS.
pub fn open_link(port: &std::path::Path, baud: u32) -> Result<Box<dyn SerialLink>> {
    match RemoteUrl::of(port)? {
        Some(url) => Ok(Box::new(Rfc2217Link::open(&url, baud)?)),
        None => Ok(Box::new(TtyLink::open(port, baud)?)),
    }
}

/// The port to use: `explicit` if given, else `ESPCHECK_PORT`, else the one attached board that
/// looks like an ESP. None attached is an environment error (exit 4); several are a usage error
/// (exit 2) that lists them.
pub fn resolve_port(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    let env = std::env::var_os("ESPCHECK_PORT");
    if env.as_ref().is_some_and(|v| !v.is_empty()) {
        return resolve_port_from(None, env, &[]);
    }
    let ports = list_ports()?;
    resolve_port_from(None, None, &ports)
}

/// [`resolve_port`] with its inputs given: the rule, without the environment.
pub fn resolve_port_from(
    explicit: Option<PathBuf>,
    env: Option<OsString>,
    ports: &[PortInfo],
) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(v));
    }
    let likely: Vec<&PortInfo> = ports.iter().filter(|p| p.likely_esp).collect();
    match likely.as_slice() {
        [one] => Ok(one.path.clone()),
        [] => Err(Error::env(
            "serial port",
            "no ESP board found (no port with a known USB bridge); pass PORT or set ESPCHECK_PORT \
             (`espcheck ports` lists what is attached)",
        )),
        many => Err(Error::Usage(format!(
            "several likely ESP boards are attached ({}); pass PORT or set ESPCHECK_PORT",
            many.iter()
                .map(|p| p.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;

    fn port(path: &str, likely: bool) -> PortInfo {
        PortInfo {
            path: PathBuf::from(path),
            likely_esp: likely,
            ..PortInfo::default()
        }
    }

    #[test]
    fn explicit_then_env_then_the_one_board() {
        let ports = [port("/dev/ttyS0", false), port("/dev/ttyUSB0", true)];
        assert_eq!(
            resolve_port_from(Some("/dev/x".into()), Some("/dev/y".into()), &ports).unwrap(),
            PathBuf::from("/dev/x")
        );
        assert_eq!(
            resolve_port_from(None, Some("/dev/y".into()), &ports).unwrap(),
            PathBuf::from("/dev/y")
        );
        assert_eq!(
            resolve_port_from(None, None, &ports).unwrap(),
            PathBuf::from("/dev/ttyUSB0")
        );
    }

    #[test]
    fn none_or_several_boards_say_so() {
        let e = resolve_port_from(None, None, &[port("/dev/ttyS0", false)]).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Environment);
        let two = [port("/dev/ttyUSB0", true), port("/dev/ttyACM0", true)];
        let e = resolve_port_from(None, None, &two).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Usage);
        assert!(e.to_string().contains("/dev/ttyUSB0, /dev/ttyACM0"), "{e}");
    }
}
