//! The raw serial log (`--log FILE`): every byte as read, written to a temporary file beside the
//! target and renamed into place when the watch ends for any reason (verdict, error, port loss,
//! Ctrl-C), so an existing log is never left half-overwritten.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::{Error, Result, show_path};
use crate::util::io_reason;

/// An open raw log.
#[derive(Debug)]
pub struct RawLog {
    target: PathBuf,
    file: Option<BufWriter<File>>,
    temp: Option<TempPath>,
    bytes: u64,
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
        })
    }

    /// Append raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.write_all(bytes).map_err(|e| self.error(&e))?;
            self.bytes += bytes.len() as u64;
        }
        Ok(())
    }

    /// Push buffered bytes to the file.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(f) = self.file.as_mut() {
            f.flush().map_err(|e| Error::file(&self.target, &e))?;
        }
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
        let Some(mut f) = self.file.take() else {
            return Ok(());
        };
        f.flush().map_err(|e| Error::file(&self.target, &e))?;
        let file = f
            .into_inner()
            .map_err(|e| Error::file(&self.target, e.error()))?;
        if let Some(temp) = self.temp.take() {
            file.sync_all().map_err(|e| Error::file(&self.target, &e))?;
            temp.persist(&self.target)
                .map_err(|e| Error::file(&self.target, &e.error))?;
        }
        Ok(())
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
