//! Typed errors and the exit-code contract (README, "Exit codes (every command)").

use std::fmt;
use std::path::Path;

/// The process exit codes. These are a contract (README); nothing else picks a number.
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
    /// A watch was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) before a verdict; its
    /// log and report are complete up to that moment. 130 is the shell's code for Ctrl-C.
    Interrupted = 130,
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
            Exit::Interrupted => 2,
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

    /// A file could not be read or written. The cause picks the exit code: a full, read-only or
    /// failing disk is the host's environment (4); a missing, unreadable or wrong file is bad
    /// input (2).
    #[error("{path}: {message}")]
    File {
        path: String,
        message: String,
        #[source]
        source: std::io::Error,
    },

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
            Error::File { source, .. } if is_host_fault(source) => Exit::Environment,
            Error::File { .. } => Exit::Usage,
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

    /// The same error with its text passed through `clean` (to blank out tokens and passwords
    /// before anything is printed); the variant, and so the exit code, stays.
    pub fn redacted(self, clean: &dyn Fn(&str) -> String) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(clean(&m)),
            Error::Input { input, message } => Error::Input {
                input: clean(&input),
                message: clean(&message),
            },
            Error::File {
                path,
                message,
                source,
            } => Error::File {
                path: clean(&path),
                message: clean(&message),
                source,
            },
            Error::Timeout { what, after } => Error::Timeout {
                what: clean(&what),
                after,
            },
            Error::Environment { what, message } => Error::Environment {
                what: clean(&what),
                message: clean(&message),
            },
            Error::Device { what, message } => Error::Device {
                what: clean(&what),
                message: clean(&message),
            },
            Error::No(m) => Error::No(clean(&m)),
            other @ Error::Output(_) => other,
        }
    }

    /// An I/O error on a named file, as one line; its exit code follows the cause.
    pub fn file(path: &Path, err: &std::io::Error) -> Self {
        Error::file_while(path, crate::util::io_reason(err), err)
    }

    /// An I/O error on a named file, with the message to show (what was being done and why).
    pub fn file_while(path: &Path, message: impl fmt::Display, err: &std::io::Error) -> Self {
        let source = match err.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(err.kind(), err.to_string()),
        };
        Error::File {
            path: show_path(path),
            message: message.to_string(),
            source,
        }
    }
}

/// Is this I/O failure the host's fault rather than the input's: a full, read-only or failing
/// disk, a quota, a busy device?
fn is_host_fault(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        StorageFull | ReadOnlyFilesystem | QuotaExceeded | ResourceBusy | Deadlock | OutOfMemory
    ) || err.raw_os_error() == Some(EIO)
}

/// `EIO` on Linux and the BSDs: the device failed under the file.
const EIO: i32 = 5;

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
