//! Typed errors and the exit-code contract of SPEC.md ("Exit codes (every command)").

use std::fmt;
use std::path::Path;

/// The process exit codes. SPEC.md makes these a contract; nothing else picks a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// Success; when grading, PASS.
    Ok = 0,
    /// The check ran and the answer is no (CI not green, a pin no longer matches, ...).
    No = 1,
    /// Usage error, or unreadable/malformed input.
    Usage = 2,
    /// No verdict or answer before the deadline.
    Timeout = 3,
    /// Network, DNS, serial port or flashing failed on the host side.
    Environment = 4,
    /// The board (or the simulated board) crashed, reset-looped or failed TLS.
    Device = 5,
}

impl Exit {
    /// The numeric code handed to the OS.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The worst of two outcomes, for commands that report on several targets.
    ///
    /// "Worst" follows severity for a user, not numeric order: a device fault or an environment
    /// failure outranks a plain "no".
    pub fn worst(self, other: Exit) -> Exit {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    fn rank(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::No => 1,
            Exit::Timeout => 2,
            Exit::Device => 3,
            Exit::Environment => 4,
            Exit::Usage => 5,
        }
    }
}

/// Every failure a command can end with. Each variant knows its exit code; the message is one line
/// that names the input and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or flag values that clap could not catch.
    #[error("{0}")]
    Usage(String),

    /// Input that could not be read or understood. `input` names the file, `-` or the host.
    #[error("{input}: {message}")]
    Input { input: String, message: String },

    /// A deadline passed.
    #[error("{what}: timed out after {after}")]
    Timeout { what: String, after: String },

    /// Network, DNS, serial or flashing failure on the host side.
    #[error("{what}: {message}")]
    Environment { what: String, message: String },

    /// The board misbehaved (or failed TLS).
    #[error("{what}: {message}")]
    Device { what: String, message: String },

    /// The check ran and the answer is no; the report already says why.
    #[error("{0}")]
    No(String),

    /// Writing the report to stdout failed. A closed pipe (`| head`) is not an error for the user;
    /// `cli::run` turns it into a quiet exit.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Input { .. } => Exit::Usage,
            Error::Timeout { .. } => Exit::Timeout,
            Error::Environment { .. } => Exit::Environment,
            Error::Device { .. } => Exit::Device,
            Error::No(_) => Exit::No,
            Error::Output(_) => Exit::Environment,
        }
    }

    /// A hint shown under the error line, where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Timeout { .. } => Some("raise --timeout, or check that the peer is reachable"),
            _ => None,
        }
    }

    /// Malformed or unreadable input.
    pub fn input(input: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Input {
            input: input.to_string(),
            message: message.to_string(),
        }
    }

    /// A host-side environment failure.
    pub fn env(what: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Environment {
            what: what.to_string(),
            message: message.to_string(),
        }
    }

    /// A deadline that passed.
    pub fn timeout(what: impl fmt::Display, after: std::time::Duration) -> Self {
        Error::Timeout {
            what: what.to_string(),
            after: crate::util::human_duration(after),
        }
    }

    /// A device-side fault.
    pub fn device(what: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Device {
            what: what.to_string(),
            message: message.to_string(),
        }
    }

    /// An I/O error on a named file, as one line.
    pub fn file(path: &Path, err: &std::io::Error) -> Self {
        Error::input(path.display(), crate::util::io_reason(err))
    }
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A path as shown to the user: `-` for stdin.
pub fn show_path(path: &Path) -> String {
    let s = path.display().to_string();
    if s.is_empty() { "-".to_owned() } else { s }
}

/// A path that may be `-` for stdin.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}
