//! The ESP-IDF (v4.4) second-stage bootloader of the virtual ESP32, pure: flash bytes in, log
//! lines and what to run out.
//!
//! What it does, as `bootloader_start.c`, `bootloader_utility.c`, `flash_partitions.c` and
//! `esp_image_format.c` of ESP-IDF v4.4 do it:
//! - verifies the partition table at 0x8000 (entry magics, one MD5 entry, offsets inside the
//!   4 MB flash, a terminating erased entry) and prints it;
//! - picks the app: with an `otadata` partition whose two 32-byte entries (at its start and one
//!   sector in) are both blank, the factory app ("Defaulting to factory image") or else `ota_0`
//!   ("No factory image, trying OTA 0"); otherwise the valid entry with the highest `ota_seq`
//!   (valid: not blank, state neither INVALID nor ABORTED, CRC-32 of the sequence number right)
//!   names slot `(seq - 1) % number of OTA slots`; no valid entry falls back to the factory app;
//!   without `otadata`, the factory app;
//! - loads it, falling back as `bootloader_utility_load_boot_image` does (down from the chosen
//!   slot to the factory app, then up through the later OTA slots), and prints each segment
//!   with `map` for flash-mapped ones and `load` for RAM ones;
//! - refuses an image whose RAM segments would overwrite the bootloader itself (its stack and
//!   data, or its IRAM): that is how a second-stage bootloader or a combined ("merged") image
//!   written at the app offset fails on a real chip, since both start with the bootloader's
//!   own segments;
//! - refuses a bad checksum or SHA-256, and an erased or foreign app slot ("invalid magic byte").
//!
//! A failed boot ends in "No bootable app partitions in the partition table" and a reset
//! (`bootloader_reset`), as on the chip.

use crate::rom::image::{self, Image, ImageError};
use crate::rom::partition::{self, Partition, TYPE_APP, TYPE_DATA};
use crate::sim::image::{ImageSettings, settings_of};

/// The flash size the bootloader was built for (the virtual board's 4 MB).
const CHIP_SIZE: u32 = 4 * 1024 * 1024;

/// Where the ESP32 ROM leaves the stack the bootloader runs on, and the headroom
/// (`STACK_LOAD_HEADROOM`) `esp_image_format.c` keeps below it: app RAM segments must end below
/// `stack - headroom`, since the bootloader's `.data`/`.bss` sit above the stack.
const BOOTLOADER_SP: u32 = 0x3FFE_3F20;
const STACK_LOAD_HEADROOM: u32 = 32 * 1024;
/// The bootloader's own code (`iram_loader_seg` in the ESP32 `bootloader.ld`).
const LOADER_IRAM: (u32, u32) = (0x4007_8000, 0x4007_C000);
/// Below this, addresses are data (DRAM), above it code (IRAM) (`SOC_DRAM_HIGH`).
const SOC_DRAM_HIGH: u32 = 0x4000_0000;

/// `esp_ota_img_states_t` values the bootloader refuses.
const OTA_IMG_INVALID: u32 = 3;
const OTA_IMG_ABORTED: u32 = 4;

/// The ESP-IDF log line format, with timestamps advancing per line like a real boot.
pub(super) struct Clock(pub(super) u32);

impl Clock {
    pub(super) fn line(&mut self, level: char, tag: &str, msg: &str) -> String {
        self.0 += 5;
        format!("{level} ({}) {tag}: {msg}\r\n", self.0)
    }
}

/// What the second stage ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It handed over to this app (`None`: a valid app that is not a sim image).
    Run(Option<ImageSettings>),
    /// It gave up and reset the chip.
    Reset,
}

/// `esp_partition_table_verify`: the table's entries, or the error line it logs.
fn verify_table(table: &[u8]) -> Result<Vec<Partition>, String> {
    let mut md5_found = false;
    let mut end = None;
    for (i, e) in table.chunks_exact(32).enumerate() {
        match [e[0], e[1]] {
            partition::ENTRY_MAGIC => {
                let offset = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
                let size = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
                if offset > CHIP_SIZE || offset.saturating_add(size) > CHIP_SIZE {
                    return Err(format!(
                        "partition {i} invalid - offset 0x{offset:x} size 0x{size:x} exceeds flash chip size 0x{CHIP_SIZE:x}"
                    ));
                }
            }
            partition::MD5_MAGIC => {
                if md5_found {
                    return Err("Only one MD5 checksum is allowed".to_owned());
                }
                md5_found = true;
            }
            [0xFF, 0xFF] if e[2] == 0xFF && e[3] == 0xFF => {
                end = Some(i * 32);
                break;
            }
            m => {
                return Err(format!(
                    "partition {i} invalid magic number 0x{:x}",
                    u16::from_le_bytes(m)
                ));
            }
        }
    }
    let Some(end) = end else {
        return Err("partition table has no terminating entry, not valid".to_owned());
    };
    if end == 0 {
        return Ok(Vec::new());
    }
    partition::parse(&table[..end]).map_err(|e| match e {
        partition::PartitionError::BadMd5 => "Incorrect MD5 checksum".to_owned(),
        other => other.to_string(),
    })
}

/// The partitions the bootloader boots from, as `bootloader_state_t` holds them.
struct State<'a> {
    factory: Option<&'a Partition>,
    /// OTA slots by number (`ota_0` first), as many as the table has consecutively.
    ota: Vec<&'a Partition>,
    test: Option<&'a Partition>,
    otadata: Option<&'a Partition>,
}

impl<'a> State<'a> {
    fn of(parts: &'a [Partition]) -> Self {
        let find = |t: u8, s: u8| parts.iter().find(|p| p.ptype == t && p.subtype == s);
        let ota = (0x10..=0x1F)
            .map_while(|s| find(TYPE_APP, s))
            .collect::<Vec<_>>();
        State {
            factory: find(TYPE_APP, 0x00),
            ota,
            test: find(TYPE_APP, 0x20),
            otadata: find(TYPE_DATA, 0x00),
        }
    }
}

/// One `esp_ota_select_entry_t`: `ota_seq`, a 20-byte label, `ota_state`, `crc`.
struct OtaEntry {
    seq: u32,
    state: u32,
    crc: u32,
}

impl OtaEntry {
    fn read(flash: &[u8], at: usize) -> Self {
        let word = |o: usize| {
            flash
                .get(at + o..at + o + 4)
                .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        OtaEntry {
            seq: word(0),
            state: word(24),
            crc: word(28),
        }
    }

    /// `bootloader_common_ota_select_invalid`.
    fn invalid(&self) -> bool {
        self.seq == u32::MAX || self.state == OTA_IMG_INVALID || self.state == OTA_IMG_ABORTED
    }

    /// `bootloader_common_ota_select_valid`: the CRC is `crc32_le(UINT32_MAX, &ota_seq, 4)`.
    fn valid(&self) -> bool {
        let mut h = crc32fast::Hasher::new_with_initial(u32::MAX);
        h.update(&self.seq.to_le_bytes());
        !self.invalid() && self.crc == h.finalize()
    }
}

/// Which app to try first: `Some(n)` for OTA slot n, `None` for the factory app
/// (`bootloader_utility_get_selected_boot_partition`).
fn selected(flash: &[u8], s: &State, c: &mut Clock, t: &mut String) -> Option<usize> {
    let otadata = s.otadata?;
    let at = otadata.offset as usize;
    let entries = [
        OtaEntry::read(flash, at),
        OtaEntry::read(flash, at + 0x1000),
    ];
    if s.ota.is_empty() || entries.iter().all(OtaEntry::invalid) {
        if s.factory.is_some() {
            *t += &c.line('I', "boot", "Defaulting to factory image");
            return None;
        }
        *t += &c.line('I', "boot", "No factory image, trying OTA 0");
        return Some(0);
    }
    let active = entries
        .iter()
        .filter(|e| e.valid())
        .max_by_key(|e| e.seq)
        .map(|e| e.seq);
    match active {
        Some(seq) => Some(seq.wrapping_sub(1) as usize % s.ota.len()),
        None if s.factory.is_some() => {
            *t += &c.line(
                'E',
                "boot",
                "ota data partition invalid, falling back to factory",
            );
            None
        }
        None => {
            *t += &c.line(
                'E',
                "boot",
                "ota data partition invalid and no factory, will try all partitions",
            );
            None
        }
    }
}

/// Flash-mapped (instruction or data cache) addresses (`should_map`).
fn mapped(addr: u32) -> bool {
    (0x400D_0000..0x4040_0000).contains(&addr) || (0x3F40_0000..0x3F80_0000).contains(&addr)
}

/// Loaded into RAM (`should_load`): neither mapped nor a padding address.
fn loaded(addr: u32) -> bool {
    !mapped(addr) && addr >= 0x1000_0000
}

/// `esp_image_load` of the app at `at`: its segment lines, then the image or the error line.
fn load_app(
    flash: &[u8],
    at: usize,
    c: &mut Clock,
    t: &mut String,
) -> Result<Option<ImageSettings>, String> {
    let img: Image = match image::parse(flash.get(at..).unwrap_or(&[]), crate::rom::Chip::Esp32) {
        Ok(img) => img,
        Err(ImageError::BadMagic(_)) | Err(ImageError::Empty) => {
            return Err(format!(
                "image at 0x{at:x} has invalid magic byte (nothing flashed here?)"
            ));
        }
        Err(e) => return Err(format!("image at 0x{at:x} is corrupt: {e}")),
    };
    // `bootloader_common_check_chip_validity`: an image for another chip (ESP32 is 0).
    if let Some(x) = &img.extended
        && x.chip_id != 0
    {
        return Err(format!("mismatch chip ID, expected 0, found {}", x.chip_id));
    }
    for (i, seg) in img.segments.iter().enumerate() {
        let len = seg.data.len() as u32;
        let how = if loaded(seg.addr) {
            "load"
        } else if mapped(seg.addr) {
            "map"
        } else {
            ""
        };
        let row = format!(
            "segment {i}: paddr={:08x} vaddr={:08x} size={len:05x}h ({len:6}) {how}",
            at + seg.file_offset + 8,
            seg.addr,
        );
        *t += &c.line('I', "esp_image", row.trim_end());
        if !loaded(seg.addr) {
            continue;
        }
        let end = seg.addr.saturating_add(len);
        if end < SOC_DRAM_HIGH {
            let limit = BOOTLOADER_SP - STACK_LOAD_HEADROOM;
            if end > limit {
                return Err(format!(
                    "Segment {i} end address 0x{end:08x} too high (bootloader stack 0x{BOOTLOADER_SP:08x} limit 0x{limit:08x})"
                ));
            }
        } else if seg.addr < LOADER_IRAM.1 && end > LOADER_IRAM.0 {
            return Err(format!(
                "Segment {i} (0x{:08x}-0x{end:08x}) overlaps bootloader IRAM (0x{:08x}-0x{:08x})",
                seg.addr, LOADER_IRAM.0, LOADER_IRAM.1
            ));
        }
    }
    if !img.checksum_ok() {
        return Err(format!(
            "Checksum failed. Calculated 0x{:x} read 0x{:x}",
            img.checksum_calc, img.checksum_stored
        ));
    }
    if !img.digest_ok() {
        return Err("Image hash failed - image is corrupt".to_owned());
    }
    Ok(settings_of(&img).ok())
}

/// Partition table, app selection and hand-over, after the bootloader's banner lines.
pub(super) fn run(flash: &[u8], c: &mut Clock, t: &mut String) -> Outcome {
    let pt_at = crate::rom::Chip::Esp32
        .partition_table_offset()
        .unwrap_or(0x8000) as usize;
    let table = flash
        .get(pt_at..pt_at + partition::TABLE_SIZE)
        .unwrap_or(&[]);
    let parts = match verify_table(table) {
        Ok(p) => p,
        Err(why) => {
            *t += &c.line('E', "flash_parts", &why);
            *t += &c.line('E', "boot", "Failed to verify partition table");
            *t += &c.line('E', "boot", "load partition table error!");
            return Outcome::Reset;
        }
    };
    *t += &c.line('I', "boot", "Partition Table:");
    *t += &c.line(
        'I',
        "boot",
        "## Label            Usage          Type ST Offset   Length",
    );
    for (i, p) in parts.iter().enumerate() {
        let row = format!(
            "{i:2} {:<16} {:<16} {:02x} {:02x} {:08x} {:08x}",
            p.label,
            p.usage(),
            p.ptype,
            p.subtype,
            p.offset,
            p.size
        );
        *t += &c.line('I', "boot", &row);
    }
    *t += &c.line('I', "boot", "End of partition table");
    let s = State::of(&parts);
    let start = selected(flash, &s, c, t);
    // Down from the chosen slot to the factory app, then up through the later OTA slots.
    let mut order: Vec<Option<usize>> = match start {
        Some(n) => (0..=n).rev().map(Some).collect(),
        None => Vec::new(),
    };
    order.push(None);
    order.extend((start.map_or(0, |n| n + 1)..s.ota.len()).map(Some));
    for slot in order {
        let part = match slot {
            Some(n) => s.ota.get(n).copied(),
            None => s.factory,
        };
        let Some(part) = part else { continue };
        match load_app(flash, part.offset as usize, c, t) {
            Ok(app) => {
                *t += &c.line(
                    'I',
                    "boot",
                    &format!("Loaded app from partition at offset 0x{:x}", part.offset),
                );
                *t += &c.line('I', "boot", "Disabling RNG early entropy source...");
                return Outcome::Run(app);
            }
            Err(why) => {
                *t += &c.line('E', "esp_image", &why);
                let what = match slot {
                    Some(n) => format!("OTA app partition slot {n} is not bootable"),
                    None => "Factory app partition is not bootable".to_owned(),
                };
                *t += &c.line('E', "boot", &what);
            }
        }
    }
    if let Some(test) = s.test
        && let Ok(app) = load_app(flash, test.offset as usize, c, t)
    {
        *t += &c.line('W', "boot", "Falling back to test app as last resort");
        return Outcome::Run(app);
    }
    *t += &c.line(
        'E',
        "boot",
        "No bootable app partitions in the partition table",
    );
    Outcome::Reset
}
