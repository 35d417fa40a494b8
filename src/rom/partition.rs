//! The ESP-IDF partition table (32-byte entries at 0x8000, `AA 50` magic, optional MD5 entry), as
//! the second-stage bootloader reads it.

use std::fmt;

use md5::{Digest, Md5};

/// Entry magic.
pub const ENTRY_MAGIC: [u8; 2] = [0xAA, 0x50];
/// MD5 checksum entry magic.
pub const MD5_MAGIC: [u8; 2] = [0xEB, 0xEB];
/// Size the table occupies in flash.
pub const TABLE_SIZE: usize = 0xC00;
/// Partition type: application.
pub const TYPE_APP: u8 = 0x00;
/// Partition type: data.
pub const TYPE_DATA: u8 = 0x01;

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub label: String,
    pub ptype: u8,
    pub subtype: u8,
    pub offset: u32,
    pub size: u32,
    pub flags: u32,
}

impl Partition {
    /// What the bootloader prints in its "Usage" column.
    pub fn usage(&self) -> &'static str {
        match (self.ptype, self.subtype) {
            (TYPE_APP, 0x00) => "factory app",
            (TYPE_APP, 0x10..=0x1F) => "OTA app",
            (TYPE_APP, 0x20) => "test app",
            (TYPE_DATA, 0x00) => "OTA data",
            (TYPE_DATA, 0x01) => "RF data",
            (TYPE_DATA, 0x02) => "WiFi data",
            _ => "Unknown data",
        }
    }

    /// An app partition the bootloader may boot (factory, OTA or test).
    pub fn is_app(&self) -> bool {
        self.ptype == TYPE_APP
    }
}

/// Why the table is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionError {
    /// Entry `index` does not start with `AA 50`; carries the first two bytes as a LE u16.
    BadMagic { index: usize, magic: u16 },
    /// The MD5 entry does not match the entries before it.
    BadMd5,
    /// No entries at all.
    Empty,
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionError::BadMagic { index, magic } => {
                write!(f, "partition {index} invalid magic number {magic:#x}")
            }
            PartitionError::BadMd5 => f.write_str("partition table MD5 mismatch"),
            PartitionError::Empty => f.write_str("partition table is empty"),
        }
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Parse a table (from `TABLE_SIZE` bytes of flash; shorter input is fine).
pub fn parse(bytes: &[u8]) -> Result<Vec<Partition>, PartitionError> {
    let mut parts = Vec::new();
    for (index, e) in bytes.chunks_exact(32).enumerate() {
        if e[..2] == MD5_MAGIC {
            let digest = Md5::digest(&bytes[..index * 32]);
            if e[16..32] != digest[..] {
                return Err(PartitionError::BadMd5);
            }
            break;
        }
        if e.iter().all(|&b| b == 0xFF) {
            break;
        }
        if e[..2] != ENTRY_MAGIC {
            return Err(PartitionError::BadMagic {
                index,
                magic: u16::from_le_bytes([e[0], e[1]]),
            });
        }
        let label_bytes = &e[12..28];
        let end = label_bytes.iter().position(|&b| b == 0).unwrap_or(16);
        parts.push(Partition {
            label: String::from_utf8_lossy(&label_bytes[..end]).into_owned(),
            ptype: e[2],
            subtype: e[3],
            offset: le32(&e[4..8]),
            size: le32(&e[8..12]),
            flags: le32(&e[28..32]),
        });
    }
    if parts.is_empty() {
        return Err(PartitionError::BadMagic {
            index: 0,
            magic: bytes
                .get(..2)
                .map_or(0xFFFF, |b| u16::from_le_bytes([b[0], b[1]])),
        });
    }
    Ok(parts)
}

/// Serialise a table with its MD5 entry, padded with 0xFF to `TABLE_SIZE`.
pub fn build(parts: &[Partition]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TABLE_SIZE);
    for p in parts.iter().take(TABLE_SIZE / 32 - 2) {
        out.extend_from_slice(&ENTRY_MAGIC);
        out.push(p.ptype);
        out.push(p.subtype);
        out.extend_from_slice(&p.offset.to_le_bytes());
        out.extend_from_slice(&p.size.to_le_bytes());
        let mut label = [0u8; 16];
        for (i, b) in p.label.bytes().take(16).enumerate() {
            label[i] = b;
        }
        out.extend_from_slice(&label);
        out.extend_from_slice(&p.flags.to_le_bytes());
    }
    let digest = Md5::digest(&out);
    out.extend_from_slice(&MD5_MAGIC);
    out.extend_from_slice(&[0xFF; 14]);
    out.extend_from_slice(&digest);
    out.resize(TABLE_SIZE, 0xFF);
    out
}

/// ESP-IDF's "single factory app, no OTA" table for a 4 MB flash.
pub fn single_factory_app() -> Vec<Partition> {
    single_factory_app_at(0x10000)
}

/// The same table with the factory app at `app_offset` (a custom `partitions.csv`).
pub fn single_factory_app_at(app_offset: u32) -> Vec<Partition> {
    let p = |label: &str, ptype, subtype, offset, size| Partition {
        label: label.to_owned(),
        ptype,
        subtype,
        offset,
        size,
        flags: 0,
    };
    vec![
        p("nvs", TYPE_DATA, 0x02, 0x9000, 0x6000),
        p("phy_init", TYPE_DATA, 0x01, 0xF000, 0x1000),
        p("factory", TYPE_APP, 0x00, app_offset, 0x10_0000),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let table = build(&single_factory_app());
        assert_eq!(table.len(), TABLE_SIZE);
        assert_eq!(parse(&table).unwrap(), single_factory_app());
        let mut bad = table.clone();
        bad[70] ^= 1;
        assert_eq!(parse(&bad), Err(PartitionError::BadMd5));
        assert_eq!(
            parse(&[0xFF; 64]),
            Err(PartitionError::BadMagic {
                index: 0,
                magic: 0xFFFF
            })
        );
        assert!(parse(&[0x12; 3]).is_err());
    }
}
