//! The chips' ROM ELFs that espflash ships (its `resources/roms`, Espressif's ROM ELFs, inside a
//! crate licensed MIT OR Apache-2.0), for naming the ROM frames of a crash (`grade --rom`).

use std::str::FromStr;

use espflash::flasher::{DeviceInfo, FlashSize};
use espflash::target::{Chip, XtalFrequency};

/// The ROM ELF for `spec`: a chip as espflash names it (`esp32c3`), optionally with the revision
/// the boot log prints (`esp32c3:v0.4`). The error is one sentence for the user.
pub fn shipped(spec: &str) -> Result<Vec<u8>, String> {
    let (name, revision) = match spec.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (spec, None),
    };
    let chip = Chip::from_str(&name.to_ascii_lowercase()).map_err(|_| {
        format!("`{name}` is not a chip espflash knows (esp32, esp32c3, esp32s3, …)")
    })?;
    let revision = match revision {
        Some(r) => {
            let (major, minor) = r
                .trim_start_matches(['v', 'V'])
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
                .ok_or_else(|| {
                    format!("`{r}`: give the revision as the boot log prints it (v0.4)")
                })?;
            Some((major, minor))
        }
        None => None,
    };
    let info = DeviceInfo {
        chip,
        revision: revision.map(|r| shipped_revision(chip, r)),
        crystal_frequency: XtalFrequency::default(),
        flash_size: FlashSize::default(),
        features: Vec::new(),
        mac_address: None,
    };
    info.rom().ok_or_else(|| match revision {
        None => format!(
            "{chip}'s ROM differs between revisions: add the one the boot log prints \
             (`chip revision: v3.0` -> {name}:v3.0)"
        ),
        Some(_) => format!("espflash ships no ROM ELF for {chip}"),
    })
}

/// The revision espflash's file names mean. It ships Espressif's ESP32-C3 ECO3 ROM (chip
/// revision v0.3, which `esp-rom-elfs` calls `rev3`) as `esp32c3_rev300_rom.elf` and picks it for
/// v3.0 and later, so the v0.3 and v0.4 that boot logs print would get the v0.0 ROM and wrong
/// names. Checked against gdb's backtrace of a real C3 v0.3 core dump (esp-coredump's), whose
/// ROM frames only the `rev300` file names alike.
fn shipped_revision(chip: Chip, (major, minor): (u32, u32)) -> (u32, u32) {
    match (chip, major, minor) {
        (Chip::Esp32c3, 0, 3..) => (3, 0),
        _ => (major, minor),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn roms_by_chip_and_revision() {
        assert!(shipped("esp32c6").unwrap().starts_with(b"\x7fELF"));
        assert!(shipped("esp32:v3.0").unwrap().starts_with(b"\x7fELF"));
        assert!(shipped("esp32").unwrap_err().contains("esp32:v3.0"));
        assert!(shipped("esp9000").unwrap_err().contains("not a chip"));
        assert!(shipped("esp32c3:three").unwrap_err().contains("v0.4"));
        // The C3 ECO3 ROM, for the revision its boot log prints.
        assert_eq!(shipped("esp32c3:v0.3"), shipped("esp32c3:v3.0"));
        assert_eq!(shipped("esp32c3:v0.4"), shipped("esp32c3:v3.0"));
        assert_ne!(shipped("esp32c3:v0.2"), shipped("esp32c3:v0.3"));
        assert_ne!(shipped("esp32c3:v1.1"), shipped("esp32c3:v0.3"));
    }
}
