//! The raw serial log (`--log FILE`): every byte as read, written to a temporary file beside the
//! target and renamed into place when the watch ends for any reason (verdict, error, port loss,
//! Ctrl-C), so an existing log is never left half-overwritten.
//!
//! Bytes reach the `.partial` file at least every [`FLUSH_EVERY`] and at every line end, so a
//! watch killed outright (SIGKILL, a CI runner's timeout) still leaves what explains the failure
//! beside the log; the next watch with the same `--log` points it out.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempPath;

use crate::error::{Error, Result, show_path};
use crate::util::io_reason;

/// The longest bytes wait in memory before they reach the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// An open raw log.
#[derive(Debug)]
pub struct RawLog {
    target: PathBuf,
    file: Option<BufWriter<File>>,
    temp: Option<TempPath>,
    bytes: u64,
    /// Bytes are buffered that the file does not have yet.
    dirty: bool,
    last_flush: Instant,
    /// `.partial` files of earlier watches of the same log that never finished (killed).
    earlier: Vec<PathBuf>,
}

impl RawLog {
    /// Start a log that will become `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let name = show_path(path);
        if crate::error::is_stdin(path) {
            return Err(Error::Usage(
                "--log -: the raw log must go to a file (stdout carries the report)".to_owned(),
            ));
        }
        if path.is_dir() {
            return Err(Error::input(name, "is a directory, not a file"));
        }
        if let Some(device) = crate::util::special_file(path) {
            // `--log /dev/null` or a FIFO: write straight in; there is nothing to rename over.
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&device)
                .map_err(|e| Error::file(path, &e))?;
            return Ok(RawLog {
                target: path.to_path_buf(),
                file: Some(BufWriter::with_capacity(64 * 1024, file)),
                temp: None,
                bytes: 0,
                dirty: false,
                last_flush: Instant::now(),
                earlier: Vec::new(),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "log".to_owned());
        let prefix = format!(".{stem}.");
        let earlier = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".partial"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{stem}."))
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| {
                Error::input(
                    &name,
                    format!(
                        "cannot create a file in {}: {}",
                        dir.display(),
                        io_reason(&e)
                    ),
                )
            })?;
        let (file, temp) = tmp.into_parts();
        Ok(RawLog {
            target: path.to_path_buf(),
            file: Some(BufWriter::with_capacity(64 * 1024, file)),
            temp: Some(temp),
            bytes: 0,
            dirty: false,
            last_flush: Instant::now(),
            earlier,
        })
    }

    /// Partial logs that earlier watches of the same log left behind when they were killed.
    pub fn earlier_partials(&self) -> &[PathBuf] {
        &self.earlier
    }

    /// Append raw bytes; they reach the file at once when they end a line, else within
    /// [`FLUSH_EVERY`].
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.write_all(bytes).map_err(|e| self.error(&e))?;
            self.bytes += bytes.len() as u64;
            self.dirty = true;
        }
        if bytes.contains(&b'\n') {
            self.flush()?;
        } else {
            self.tick()?;
        }
        Ok(())
    }

    /// Flush when bytes have waited [`FLUSH_EVERY`]; call it while the port is quiet too.
    pub fn tick(&mut self) -> Result<()> {
        if self.dirty && self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Push buffered bytes to the file.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(|e| self.error(&e))?;
        }
        self.dirty = false;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The path the log ends up at.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flush, sync and rename into place.
    pub fn finish(mut self) -> Result<()> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<()> {
        let Some(f) = self.file.take() else {
            return Ok(());
        };
        // A full disk keeps what fits: whatever reached the file is still renamed into place,
        // and the failure is reported after.
        let (file, flushed) = match f.into_inner() {
            Ok(file) => (file, Ok(())),
            Err(e) => {
                let err = self.error(e.error());
                (e.into_inner().into_parts().0, Err(err))
            }
        };
        let _ = file.sync_all();
        if let Some(temp) = self.temp.take() {
            temp.persist(&self.target)
                .map_err(|e| Error::file(&self.target, &e.error))?;
        }
        flushed
    }

    fn error(&self, e: &std::io::Error) -> Error {
        Error::env(
            show_path(&self.target),
            format!("cannot write the log: {}", io_reason(e)),
        )
    }
}

impl Drop for RawLog {
    /// Keep the bytes even on an early return: the log matters most when things went wrong. A log
    /// that got no byte at all is dropped rather than replacing an existing file with nothing.
    fn drop(&mut self) {
        if self.bytes > 0 {
            let _ = self.finish_inner();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;

    #[test]
    fn the_log_appears_only_when_finished_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.log");
        std::fs::write(&target, b"old").unwrap();
        let mut log = RawLog::create(&target).unwrap();
        log.write(b"abc\0\xff").unwrap();
        log.flush().unwrap();
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"old",
            "not clobbered mid-run"
        );
        drop(log);
        assert_eq!(std::fs::read(&target).unwrap(), b"abc\0\xff");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }
}
