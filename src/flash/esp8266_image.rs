//! An ESP8266 ELF as the ROM boots it: esptool's `elf2image --chip esp8266` (image version 1),
//! so a build's `firmware.elf` can be flashed without esptool.
//!
//! The ELF's loadable sections (PROGBITS and the init/fini arrays, with an address and a size),
//! each padded with zeros to a multiple of 4 bytes, in ELF order; neighbours in the same memory
//! (DRAM, IRAM, IROM) that touch are merged. The one section in the flash-mapped IROM window
//! (0x40200000..0x40300000) is written raw at its flash offset (`addr - 0x40200000`); the rest
//! make the image at 0x0: the header (0xE9, segment count, flash mode, flash size/frequency,
//! entry point), each segment as address, length, data, zeros up to the last byte of a 16-byte
//! block, and the checksum there (0xEF XOR every segment byte). Flash parameters are esptool's
//! defaults: QIO, 1 MB, 40 MHz.
//!
//! Source read (not copied): esptool 5 `esptool/bin_image.py` (`ESP8266ROMFirmwareImage.save`,
//! `ELFFile._read_sections`, `merge_adjacent_segments`, `align_file_position`) and
//! `esptool/targets/esp8266.py` (`MEMORY_MAP`, flash size and frequency codes).

use object::elf::{SHT_FINI_ARRAY, SHT_INIT_ARRAY, SHT_PREINIT_ARRAY, SHT_PROGBITS};
use object::read::elf::{ElfFile32, FileHeader, SectionHeader};
use object::{Endianness, FileKind};

/// Where the ESP8266 maps flash for code.
const IROM_MAP: std::ops::Range<u32> = 0x4020_0000..0x4030_0000;
/// esptool's ESP8266 memory map: a segment's kind is the window its start lies in.
const MEMORY: [(u32, u32, &str); 4] = [
    (0x3FF0_0000, 0x3FF0_0010, "DPORT"),
    (0x3FFE_8000, 0x4000_0000, "DRAM"),
    (0x4010_0000, 0x4010_8000, "IRAM"),
    (0x4020_1010, 0x402E_1010, "IROM"),
];
/// Xtensa.
const EM_XTENSA: object::elf::Machine = object::elf::EM_XTENSA;
/// esptool's elf2image defaults: QIO, and 1 MB at 40 MHz.
const FLASH_MODE_QIO: u8 = 0;
const FLASH_SIZE_FREQ_1MB_40M: u8 = 0x20;

struct Segment {
    addr: u32,
    data: Vec<u8>,
}

fn kind(addr: u32) -> Option<&'static str> {
    MEMORY
        .iter()
        .find(|(lo, hi, _)| (*lo..*hi).contains(&addr))
        .map(|m| m.2)
}

/// The ELF's loadable sections, padded to 4 bytes, adjacent ones of one memory merged.
fn segments(elf: &[u8]) -> Result<(u32, Vec<Segment>), String> {
    if FileKind::parse(elf).ok() != Some(FileKind::Elf32) {
        return Err("not a 32-bit ELF".to_owned());
    }
    let file = ElfFile32::<Endianness>::parse(elf).map_err(|e| format!("unreadable ELF ({e})"))?;
    let endian = file.endian();
    let header = file.elf_header();
    if header.e_machine(endian) != EM_XTENSA {
        return Err("not an Xtensa ELF (the ESP8266 is Xtensa)".to_owned());
    }
    let entry = header.e_entry(endian);
    let mut out: Vec<Segment> = Vec::new();
    for section in file.elf_section_table().iter() {
        let ty = section.sh_type(endian);
        let addr = section.sh_addr(endian);
        let size = section.sh_size(endian);
        if addr == 0 || size == 0 {
            continue;
        }
        if ![
            SHT_PROGBITS,
            SHT_INIT_ARRAY,
            SHT_FINI_ARRAY,
            SHT_PREINIT_ARRAY,
        ]
        .contains(&ty)
        {
            continue;
        }
        let mut data = section
            .data(endian, elf)
            .map_err(|e| format!("section at {addr:#x} is unreadable ({e})"))?
            .to_vec();
        data.resize(data.len().next_multiple_of(4), 0);
        // Merge into the previous one when it ends exactly here, in the same memory.
        if let Some(prev) = out.last_mut()
            && u64::from(prev.addr) + prev.data.len() as u64 == u64::from(addr)
            && kind(prev.addr) == kind(addr)
        {
            prev.data.extend_from_slice(&data);
            continue;
        }
        out.push(Segment { addr, data });
    }
    Ok((entry, out))
}

/// esptool's checksum: 0xEF XOR every byte.
fn checksum(segments: &[&Segment]) -> u8 {
    segments
        .iter()
        .flat_map(|s| s.data.iter())
        .fold(0xEF, |c, b| c ^ b)
}

/// The images an ESP8266 ELF flashes as, each with its flash offset: the boot image at 0x0, and
/// the IROM code at its offset when the ELF has any. The error is one sentence.
pub fn from_elf(elf: &[u8]) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let (entry, segs) = segments(elf)?;
    let (irom, ram): (Vec<&Segment>, Vec<&Segment>) =
        segs.iter().partition(|s| IROM_MAP.contains(&s.addr));
    if irom.len() > 1 {
        return Err(format!(
            "{} sections could be irom0 (one is expected)",
            irom.len()
        ));
    }
    if ram.is_empty() {
        return Err("no section to load into RAM: nothing for the ROM to boot".to_owned());
    }
    let mut boot = vec![
        0xE9,
        ram.len() as u8,
        FLASH_MODE_QIO,
        FLASH_SIZE_FREQ_1MB_40M,
    ];
    boot.extend_from_slice(&entry.to_le_bytes());
    for s in &ram {
        if s.data.len() >= 1 << 24 {
            return Err(format!("the segment at {:#x} exceeds 16 MB", s.addr));
        }
        boot.extend_from_slice(&s.addr.to_le_bytes());
        boot.extend_from_slice(&(s.data.len() as u32).to_le_bytes());
        boot.extend_from_slice(&s.data);
    }
    // The checksum is the last byte of a 16-byte block.
    boot.resize(boot.len() + 15 - boot.len() % 16, 0);
    boot.push(checksum(&ram));
    let mut images = vec![(0, boot)];
    if let Some(code) = irom.first() {
        let offset = code.addr - IROM_MAP.start;
        if (offset as usize) < images[0].1.len() {
            return Err(format!(
                "its irom0 code is linked for flash offset {offset:#x}, inside the {}-byte boot \
                 image at 0x0: the ELF is laid out for a second-stage bootloader (the Arduino \
                 core's eboot); flash the .bin the build made",
                images[0].1.len()
            ));
        }
        images.push((offset, code.data.clone()));
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn not_an_xtensa_elf_is_refused_in_a_sentence() {
        assert_eq!(from_elf(b"\x7fELF").unwrap_err(), "not a 32-bit ELF");
        let host = std::fs::read("/proc/self/exe").unwrap();
        assert!(from_elf(&host).is_err());
    }
}
