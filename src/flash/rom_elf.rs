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
        revision,
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
    }
}
