//! The ESP firmware image format: `E9` header, segments, checksum; on the ESP32 also the 16-byte
//! extended header and the appended SHA-256. Parsing never panics and never trusts a length.

use std::fmt;

use sha2::{Digest, Sha256};

use super::chip::Chip;
use super::packet::{CHECKSUM_SEED, checksum_from};

/// First byte of every image.
pub const IMAGE_MAGIC: u8 = 0xE9;

/// The ROM refuses more segments than this.
pub const MAX_SEGMENTS: usize = 16;

/// ESP32 extended header `wp_pin` value meaning "no write-protect pin remap".
pub const WP_PIN_DISABLED: u8 = 0xEE;

/// Flash mode byte values.
pub const FLASH_MODE_DIO: u8 = 2;

/// The 8-byte common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub segment_count: u8,
    /// 0 QIO, 1 QOUT, 2 DIO, 3 DOUT.
    pub flash_mode: u8,
    /// High nibble: flash size; low nibble: flash frequency.
    pub flash_size_freq: u8,
    pub entry: u32,
}

/// The ESP32 extended header (16 bytes after the common header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtendedHeader {
    pub wp_pin: u8,
    pub drive: [u8; 3],
    pub chip_id: u16,
    pub min_rev: u8,
    pub min_rev_full: u16,
    pub max_rev_full: u16,
    pub hash_appended: bool,
}

/// One loadable segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub addr: u32,
    pub data: Vec<u8>,
    /// Offset of the segment header within the image.
    pub file_offset: usize,
}

/// A parsed image, with its integrity checks worked out (not enforced: the caller decides what
/// a bad checksum means, as the ROM and the bootloader do differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub header: Header,
    pub extended: Option<ExtendedHeader>,
    pub segments: Vec<Segment>,
    /// The checksum byte stored in the image.
    pub checksum_stored: u8,
    /// The checksum of the segment data.
    pub checksum_calc: u8,
    /// Stored and calculated SHA-256 when the extended header says one is appended.
    pub digest: Option<([u8; 32], [u8; 32])>,
    /// Bytes the image occupies, including checksum and digest.
    pub len: usize,
}

impl Image {
    /// The segment checksum matches.
    pub fn checksum_ok(&self) -> bool {
        self.checksum_stored == self.checksum_calc
    }

    /// The appended SHA-256 matches (true when none is appended).
    pub fn digest_ok(&self) -> bool {
        self.digest.is_none_or(|(stored, calc)| stored == calc)
    }
}

/// Why bytes are not an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// No bytes at all.
    Empty,
    /// The first byte is not 0xE9; carries the first little-endian word (what the ESP32 ROM prints
    /// as `invalid header: 0x…`).
    BadMagic(u32),
    /// More segments than the ROM loads.
    TooManySegments(u8),
    /// The image ends inside `what`.
    Truncated { what: &'static str, offset: usize },
    /// The extended header's hash flag is neither 0 nor 1.
    BadHashFlag(u8),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Empty => f.write_str("image is empty"),
            ImageError::BadMagic(w) => write!(f, "invalid magic byte (header word {w:#010x})"),
            ImageError::TooManySegments(n) => write!(f, "{n} segments (the ROM loads at most 16)"),
            ImageError::Truncated { what, offset } => {
                write!(f, "image ends inside the {what} at offset {offset:#x}")
            }
            ImageError::BadHashFlag(b) => write!(f, "hash-appended flag is {b:#04x}, not 0 or 1"),
        }
    }
}

fn take<'a>(
    bytes: &'a [u8],
    at: usize,
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], ImageError> {
    at.checked_add(n)
        .and_then(|end| bytes.get(at..end))
        .ok_or(ImageError::Truncated { what, offset: at })
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Parse the image at the start of `bytes` (which may continue past the image, as flash does).
pub fn parse(bytes: &[u8], chip: Chip) -> Result<Image, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes[0] != IMAGE_MAGIC {
        let mut w = [0xFFu8; 4];
        for (i, b) in bytes.iter().take(4).enumerate() {
            w[i] = *b;
        }
        return Err(ImageError::BadMagic(u32::from_le_bytes(w)));
    }
    let h = take(bytes, 0, 8, "header")?;
    let header = Header {
        segment_count: h[1],
        flash_mode: h[2],
        flash_size_freq: h[3],
        entry: le32(&h[4..8]),
    };
    if usize::from(header.segment_count) > MAX_SEGMENTS {
        return Err(ImageError::TooManySegments(header.segment_count));
    }
    let mut pos = 8;
    let extended = match chip.image_chip_id() {
        None => None,
        Some(_) => {
            let e = take(bytes, pos, 16, "extended header")?;
            pos += 16;
            let flag = e[15];
            if flag > 1 {
                return Err(ImageError::BadHashFlag(flag));
            }
            Some(ExtendedHeader {
                wp_pin: e[0],
                drive: [e[1], e[2], e[3]],
                chip_id: u16::from_le_bytes([e[4], e[5]]),
                min_rev: e[6],
                min_rev_full: u16::from_le_bytes([e[7], e[8]]),
                max_rev_full: u16::from_le_bytes([e[9], e[10]]),
                hash_appended: flag == 1,
            })
        }
    };
    let mut segments = Vec::with_capacity(usize::from(header.segment_count));
    let mut sum = CHECKSUM_SEED;
    for _ in 0..header.segment_count {
        let sh = take(bytes, pos, 8, "segment header")?;
        let addr = le32(&sh[0..4]);
        let len = le32(&sh[4..8]) as usize;
        let data = take(bytes, pos + 8, len, "segment data")?;
        sum = checksum_from(sum, data);
        segments.push(Segment {
            addr,
            data: data.to_vec(),
            file_offset: pos,
        });
        pos += 8 + len;
    }
    // The checksum is the last byte of the 16-byte block the segments end in.
    let checksum_at = (pos | 15).min(usize::MAX - 1);
    let checksum_stored = take(bytes, checksum_at, 1, "checksum")?[0];
    let mut len = checksum_at + 1;
    let digest = match extended {
        Some(e) if e.hash_appended => {
            let stored = take(bytes, len, 32, "SHA-256 digest")?;
            let calc: [u8; 32] = Sha256::digest(&bytes[..len]).into();
            let mut s = [0u8; 32];
            s.copy_from_slice(stored);
            len += 32;
            Some((s, calc))
        }
        _ => None,
    };
    Ok(Image {
        header,
        extended,
        segments,
        checksum_stored,
        checksum_calc: sum,
        digest,
        len,
    })
}

/// What to put in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    pub chip: Chip,
    pub entry: u32,
    pub flash_mode: u8,
    pub flash_size_freq: u8,
    /// (load address, data); lengths are padded to 4 bytes as the tools do.
    pub segments: Vec<(u32, Vec<u8>)>,
}

impl ImageSpec {
    /// DIO, 4 MB, 40 MHz: what Arduino builds for both boards default to.
    pub fn new(chip: Chip, entry: u32, segments: Vec<(u32, Vec<u8>)>) -> Self {
        let size_freq = match chip {
            Chip::Esp8266 => 0x40, // 4MB, 40m
            Chip::Esp32 => 0x20,   // 4MB, 40m
        };
        ImageSpec {
            chip,
            entry,
            flash_mode: FLASH_MODE_DIO,
            flash_size_freq: size_freq,
            segments,
        }
    }

    /// Serialise: header, (extended header), segments, checksum, (SHA-256).
    pub fn build(&self) -> Vec<u8> {
        let mut out = vec![
            IMAGE_MAGIC,
            self.segments.len().min(MAX_SEGMENTS) as u8,
            self.flash_mode,
            self.flash_size_freq,
        ];
        out.extend_from_slice(&self.entry.to_le_bytes());
        let hashed = self.chip.image_chip_id().is_some();
        if let Some(chip_id) = self.chip.image_chip_id() {
            out.extend_from_slice(&[WP_PIN_DISABLED, 0, 0, 0]);
            out.extend_from_slice(&chip_id.to_le_bytes());
            out.push(0); // min_rev
            out.extend_from_slice(&0u16.to_le_bytes()); // min_rev_full
            out.extend_from_slice(&399u16.to_le_bytes()); // max_rev_full: v3.99, as ESP-IDF
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.push(1); // hash appended
        }
        let mut sum = CHECKSUM_SEED;
        for (addr, data) in self.segments.iter().take(MAX_SEGMENTS) {
            let mut data = data.clone();
            data.resize(data.len().div_ceil(4) * 4, 0);
            out.extend_from_slice(&addr.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            sum = checksum_from(sum, &data);
            out.extend_from_slice(&data);
        }
        out.resize(out.len() | 15, 0);
        out.push(sum);
        if hashed {
            let digest = Sha256::digest(&out);
            out.extend_from_slice(&digest);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn spec(chip: Chip) -> ImageSpec {
        ImageSpec::new(
            chip,
            0x4010_0000,
            vec![
                (0x4010_0000, vec![6, 0xFF, 0xFF]),
                (0x3FFE_8000, vec![1; 37]),
            ],
        )
    }

    #[test]
    fn build_then_parse_both_chips() {
        for chip in Chip::ALL {
            let bytes = spec(chip).build();
            let img = parse(&bytes, chip).unwrap();
            assert_eq!(img.segments.len(), 2);
            assert_eq!(img.segments[1].data.len(), 40);
            assert!(img.checksum_ok() && img.digest_ok());
            assert_eq!(img.len, bytes.len());
            assert_eq!((img.len - img.digest.map_or(0, |_| 32)) % 16, 0);
            assert_eq!(img.extended.is_some(), chip == Chip::Esp32);
        }
    }

    #[test]
    fn corruption_is_detected_not_panicked_on() {
        let bytes = spec(Chip::Esp32).build();
        let mut bad = bytes.clone();
        bad[50] ^= 0xFF;
        let img = parse(&bad, Chip::Esp32).unwrap();
        assert!(!img.checksum_ok());
        assert!(!img.digest_ok());
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut], Chip::Esp32).is_err(), "cut at {cut}");
        }
        assert_eq!(
            parse(&[0xFF; 64], Chip::Esp32),
            Err(ImageError::BadMagic(0xFFFF_FFFF))
        );
        let mut many = bytes;
        many[1] = 200;
        assert_eq!(
            parse(&many, Chip::Esp32),
            Err(ImageError::TooManySegments(200))
        );
        let mut huge = spec(Chip::Esp8266).build();
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse(&huge, Chip::Esp8266),
            Err(ImageError::Truncated { .. })
        ));
    }
}
