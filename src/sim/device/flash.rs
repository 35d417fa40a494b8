//! The virtual board's SPI flash: 4 MB of NOR flash (erase to 0xFF, program ANDs bits), kept in
//! memory and written through to a file so the contents survive the process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::uart::{PAGE_PROGRAM, SECTOR_ERASE};

use crate::error::{Error, Result};
use crate::rom::Chip;
use crate::rom::chip::FLASH_SECTOR_SIZE;
use crate::rom::partition;
use crate::sim::image::esp32_bootloader;

/// The flash size of the virtual board (the RDID answer says the same).
pub const FLASH_SIZE: usize = 4 * 1024 * 1024;

/// JEDEC RDID of a 4 MB Winbond W25Q32: manufacturer 0xEF, type 0x40, capacity 0x16 (2^22).
pub const FLASH_ID: u32 = 0x16_40EF;

/// Flash contents, optionally persisted.
#[derive(Debug)]
pub struct Flash {
    data: Vec<u8>,
    file: Option<(File, PathBuf)>,
    /// Chip time the erases and programs so far have cost and nobody has waited for yet.
    busy: Duration,
}

impl Flash {
    /// Erased flash in memory only. The ESP32 gets its bootloader and partition table, as a board
    /// that has been flashed once has.
    pub fn new(chip: Chip) -> Self {
        let mut f = Flash {
            data: vec![0xFF; FLASH_SIZE],
            file: None,
            busy: Duration::ZERO,
        };
        f.provision(chip);
        f
    }

    /// Open (or create, erased and provisioned) a flash file. An existing file must be exactly
    /// [`FLASH_SIZE`] bytes.
    pub fn open(path: &Path, chip: Chip) -> Result<Self> {
        let name = path.display().to_string();
        let exists = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::file(path, &e))?;
        if exists {
            let len = file.metadata().map_err(|e| Error::file(path, &e))?.len();
            if len != FLASH_SIZE as u64 {
                return Err(Error::input(
                    name,
                    format!("is {len} bytes, not a {FLASH_SIZE}-byte flash file"),
                ));
            }
            let mut data = Vec::with_capacity(FLASH_SIZE);
            file.read_to_end(&mut data)
                .map_err(|e| Error::file(path, &e))?;
            return Ok(Flash {
                data,
                file: Some((file, path.to_path_buf())),
                busy: Duration::ZERO,
            });
        }
        let mut f = Flash::new(chip);
        file.write_all(&f.data)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::file(path, &e))?;
        f.file = Some((file, path.to_path_buf()));
        Ok(f)
    }

    fn provision(&mut self, chip: Chip) {
        if chip == Chip::Esp32 {
            let boot = esp32_bootloader();
            self.data[0x1000..0x1000 + boot.len()].copy_from_slice(&boot);
            let table = partition::build(&partition::single_factory_app());
            self.data[0x8000..0x8000 + table.len()].copy_from_slice(&table);
        }
    }

    /// All of it.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Size in bytes.
    pub fn size(&self) -> u32 {
        FLASH_SIZE as u32
    }

    /// `len` bytes at `offset`, or `None` past the end.
    pub fn read(&self, offset: u32, len: u32) -> Option<&[u8]> {
        let start = offset as usize;
        self.data.get(start..start.checked_add(len as usize)?)
    }

    /// Erase whole sectors covering `[offset, offset + len)`.
    pub fn erase(&mut self, offset: u32, len: u32) -> std::io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let start = (offset / FLASH_SECTOR_SIZE * FLASH_SECTOR_SIZE) as usize;
        let end = (u64::from(offset) + u64::from(len))
            .div_ceil(u64::from(FLASH_SECTOR_SIZE))
            .saturating_mul(u64::from(FLASH_SECTOR_SIZE))
            .min(FLASH_SIZE as u64) as usize;
        if start >= end {
            return Ok(());
        }
        self.data[start..end].fill(0xFF);
        self.busy += SECTOR_ERASE * ((end - start) / FLASH_SECTOR_SIZE as usize) as u32;
        self.persist(start, end)
    }

    /// Program bytes: NOR flash can only clear bits, so unerased data is ANDed, as on the chip.
    pub fn program(&mut self, offset: u32, bytes: &[u8]) -> std::io::Result<()> {
        let start = offset as usize;
        let end = start.saturating_add(bytes.len()).min(FLASH_SIZE);
        if start >= end {
            return Err(std::io::Error::other("write past the end of flash"));
        }
        for (d, s) in self.data[start..end].iter_mut().zip(bytes) {
            *d &= s;
        }
        self.busy += PAGE_PROGRAM * (end - start).div_ceil(256) as u32;
        self.persist(start, end)
    }

    fn persist(&mut self, start: usize, end: usize) -> std::io::Result<()> {
        match &self.file {
            Some((file, _)) => file.write_all_at(&self.data[start..end], start as u64),
            None => Ok(()),
        }
    }

    /// The chip time erases and programs have cost since the last call (NOR flash timing).
    pub fn take_busy(&mut self) -> Duration {
        std::mem::take(&mut self.busy)
    }

    /// The backing file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(_, p)| p.as_path())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn nor_semantics_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flash.bin");
        let mut f = Flash::open(&path, Chip::Esp8266).unwrap();
        f.program(0x10, &[0x0F, 0xF0]).unwrap();
        f.program(0x10, &[0xFF, 0x3C]).unwrap();
        assert_eq!(f.read(0x10, 2).unwrap(), &[0x0F, 0x30]);
        f.erase(0x11, 1).unwrap();
        assert_eq!(f.read(0x0, 0x1000).unwrap(), &[0xFF; 0x1000][..]);
        f.program(0x2000, b"kept").unwrap();
        drop(f);
        let f = Flash::open(&path, Chip::Esp8266).unwrap();
        assert_eq!(f.read(0x2000, 4).unwrap(), b"kept");
        assert!(f.read(FLASH_SIZE as u32 - 1, 2).is_none());
        std::fs::write(&path, b"short").unwrap();
        assert!(Flash::open(&path, Chip::Esp8266).is_err());
    }
}
