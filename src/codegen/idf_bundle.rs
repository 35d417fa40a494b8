//! The ESP-IDF `x509_crt_bundle` binary (what `esp_crt_bundle_set` and arduino-esp32's
//! `setCACertBundle` take), in both layouts, and a reader for `check`.
//!
//! Checked against upstream `components/mbedtls/esp_crt_bundle/gen_crt_bundle.py` and
//! `esp_crt_bundle.c` at v5.3 and v5.4 (unchanged through v6.0):
//! - every entry stores the certificate's subject Name DER (with its SEQUENCE header, as mbedTLS'
//!   `issuer_raw`) and its SubjectPublicKeyInfo DER (the whole SPKI, algorithm included);
//! - entries are sorted by subject DER, bytewise, because the IDF binary-searches the issuer name;
//! - **legacy** (IDF < 5.4, arduino-esp32 ≤ 3.1): `u16be count`, then per entry
//!   `u16be name_len, u16be key_len, name, key`;
//! - **offset table** (IDF ≥ 5.4, arduino-esp32 ≥ 3.2): `u32le offset` per entry (from the start of
//!   the bundle; the first offset is 4 × count, which is how the IDF derives the count; there is no
//!   count field), then per entry `u16le name_len, u16le key_len, name, key`.

use crate::cert::Certificate;

/// Which bundle layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// IDF before 5.4: big-endian count and lengths.
    Legacy,
    /// IDF 5.4 and later: a table of little-endian offsets, little-endian lengths.
    OffsetTable,
}

/// The IDF's default `CONFIG_MBEDTLS_CERTIFICATE_BUNDLE_MAX_CERTS`.
pub const IDF_DEFAULT_MAX_CERTS: usize = 200;

impl Layout {
    /// The layout the current IDF (and arduino-esp32 3.2+) reads.
    pub const CURRENT: Layout = Layout::OffsetTable;

    /// The layout for an ESP-IDF version `X.Y[.Z]` (`v5.3` is accepted too).
    pub fn for_idf_version(text: &str) -> Result<Layout, String> {
        let t = text.trim().trim_start_matches(['v', 'V']);
        let mut parts = t.split('.');
        let num = |p: Option<&str>| p.and_then(|s| s.parse::<u32>().ok());
        let bad = || format!("invalid --idf-version `{text}` (expected X.Y, e.g. 5.3 or 5.4)");
        let major = num(parts.next()).ok_or_else(bad)?;
        let minor = match parts.next() {
            Some(m) => num(Some(m)).ok_or_else(bad)?,
            None => 0,
        };
        if parts.next().is_some_and(|p| p.parse::<u32>().is_err()) {
            return Err(bad());
        }
        Ok(if (major, minor) >= (5, 4) {
            Layout::OffsetTable
        } else {
            Layout::Legacy
        })
    }

    /// For comments: which IDF and Arduino versions read this layout.
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Legacy => "legacy layout (ESP-IDF < 5.4, arduino-esp32 <= 3.1)",
            Layout::OffsetTable => "offset-table layout (ESP-IDF >= 5.4, arduino-esp32 >= 3.2)",
        }
    }
}

/// One entry of a bundle: all the IDF keeps of a CA certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// The subject Name DER, SEQUENCE header included.
    pub subject_der: Vec<u8>,
    /// The SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

/// Why a bundle cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Nothing to put in it.
    #[error("no CA certificate to put in the bundle")]
    Empty,
    /// A length does not fit the format's 16-bit fields.
    #[error("certificate {0}: subject or key longer than 65535 bytes")]
    TooLong(String),
    /// More entries than the legacy u16 count (or the offsets) can hold.
    #[error("{0} certificates do not fit an IDF bundle")]
    TooMany(usize),
    /// The bytes are not a bundle in either layout.
    #[error("not an ESP-IDF certificate bundle ({0})")]
    Malformed(String),
}

/// Encode `certs` in `layout`, sorted by subject DER, stably, as upstream's `sorted()` does.
/// Like `gen_crt_bundle.py`, every certificate is kept, duplicates too; `dedup` keeps the first of
/// each (subject, key) instead.
pub fn encode(certs: &[&Certificate], layout: Layout, dedup: bool) -> Result<Vec<u8>, BundleError> {
    let mut entries: Vec<BundleEntry> = Vec::with_capacity(certs.len());
    for c in certs {
        if c.subject_der.len() > usize::from(u16::MAX) || c.spki_der.len() > usize::from(u16::MAX) {
            return Err(BundleError::TooLong(c.subject.clone()));
        }
        let e = BundleEntry {
            subject_der: c.subject_der.clone(),
            spki_der: c.spki_der.clone(),
        };
        if !dedup || !entries.contains(&e) {
            entries.push(e);
        }
    }
    encode_entries(entries, layout)
}

/// Encode raw entries (already validated lengths are re-checked).
pub fn encode_entries(
    mut entries: Vec<BundleEntry>,
    layout: Layout,
) -> Result<Vec<u8>, BundleError> {
    if entries.is_empty() {
        return Err(BundleError::Empty);
    }
    entries.sort_by(|a, b| a.subject_der.cmp(&b.subject_der));
    let lens = |e: &BundleEntry| -> Result<(u16, u16), BundleError> {
        let n = u16::try_from(e.subject_der.len());
        let k = u16::try_from(e.spki_der.len());
        match (n, k) {
            (Ok(n), Ok(k)) => Ok((n, k)),
            _ => Err(BundleError::TooLong(hex::encode(&e.subject_der))),
        }
    };
    let mut out = Vec::new();
    match layout {
        Layout::Legacy => {
            let count =
                u16::try_from(entries.len()).map_err(|_| BundleError::TooMany(entries.len()))?;
            out.extend_from_slice(&count.to_be_bytes());
            for e in &entries {
                let (n, k) = lens(e)?;
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&k.to_be_bytes());
                out.extend_from_slice(&e.subject_der);
                out.extend_from_slice(&e.spki_der);
            }
        }
        Layout::OffsetTable => {
            let table = entries.len() * 4;
            let mut body = Vec::new();
            for e in &entries {
                let (n, k) = lens(e)?;
                let offset = u32::try_from(table + body.len())
                    .map_err(|_| BundleError::TooMany(entries.len()))?;
                out.extend_from_slice(&offset.to_le_bytes());
                body.extend_from_slice(&n.to_le_bytes());
                body.extend_from_slice(&k.to_le_bytes());
                body.extend_from_slice(&e.subject_der);
                body.extend_from_slice(&e.spki_der);
            }
            out.extend_from_slice(&body);
        }
    }
    Ok(out)
}

/// Read a bundle in whichever layout it is. Every length must land exactly on the end.
pub fn decode(bytes: &[u8]) -> Result<(Layout, Vec<BundleEntry>), BundleError> {
    let table = decode_offset_table(bytes);
    if let Ok(entries) = table {
        return Ok((Layout::OffsetTable, entries));
    }
    match decode_legacy(bytes) {
        Ok(entries) => Ok((Layout::Legacy, entries)),
        Err(legacy) => Err(BundleError::Malformed(match table {
            Err(t) => format!("as offset table: {t}; as legacy: {legacy}"),
            Ok(_) => legacy,
        })),
    }
}

fn entry_at(
    bytes: &[u8],
    at: usize,
    read16: fn([u8; 2]) -> u16,
) -> Result<(BundleEntry, usize), String> {
    let head = bytes
        .get(at..at + 4)
        .ok_or_else(|| format!("entry header at byte {at} runs past the end"))?;
    let n = usize::from(read16([head[0], head[1]]));
    let k = usize::from(read16([head[2], head[3]]));
    let name = bytes
        .get(at + 4..at + 4 + n)
        .ok_or_else(|| format!("subject at byte {} runs past the end", at + 4))?;
    let key = bytes
        .get(at + 4 + n..at + 4 + n + k)
        .ok_or_else(|| format!("key at byte {} runs past the end", at + 4 + n))?;
    if name.first() != Some(&0x30) || key.first() != Some(&0x30) {
        return Err(format!("entry at byte {at} does not hold DER"));
    }
    Ok((
        BundleEntry {
            subject_der: name.to_vec(),
            spki_der: key.to_vec(),
        },
        at + 4 + n + k,
    ))
}

fn decode_legacy(bytes: &[u8]) -> Result<Vec<BundleEntry>, String> {
    let head = bytes.get(..2).ok_or("too short")?;
    let count = usize::from(u16::from_be_bytes([head[0], head[1]]));
    if count == 0 {
        return Err("count is 0".to_owned());
    }
    let mut at = 2;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (e, next) = entry_at(bytes, at, u16::from_be_bytes)?;
        entries.push(e);
        at = next;
    }
    if at != bytes.len() {
        return Err(format!("{} bytes after the last entry", bytes.len() - at));
    }
    Ok(entries)
}

fn decode_offset_table(bytes: &[u8]) -> Result<Vec<BundleEntry>, String> {
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let first = u32_at(0).ok_or("too short")?;
    if first == 0 || !first.is_multiple_of(4) || first >= bytes.len() {
        return Err(format!("first offset {first} is not a table size"));
    }
    let count = first / 4;
    let mut entries = Vec::with_capacity(count);
    let mut expect = first;
    for i in 0..count {
        let off = u32_at(i * 4).ok_or("offset table runs past the end")?;
        if off != expect {
            return Err(format!(
                "offset {i} is {off}, expected {expect} (end of the previous entry)"
            ));
        }
        let (e, next) = entry_at(bytes, off, u16::from_le_bytes)?;
        entries.push(e);
        expect = next;
    }
    if expect != bytes.len() {
        return Err(format!(
            "{} bytes after the last entry",
            bytes.len() - expect
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn entry(name: &[u8], key: &[u8]) -> BundleEntry {
        BundleEntry {
            subject_der: name.to_vec(),
            spki_der: key.to_vec(),
        }
    }

    #[test]
    fn version_picks_layout() {
        for (v, l) in [
            ("5.3", Layout::Legacy),
            ("v5.3.2", Layout::Legacy),
            ("4.4", Layout::Legacy),
            ("5.4", Layout::OffsetTable),
            ("5.5.1", Layout::OffsetTable),
            ("6", Layout::OffsetTable),
        ] {
            assert_eq!(Layout::for_idf_version(v), Ok(l), "{v}");
        }
        for bad in ["", "five", "5.x", "5.4.x"] {
            assert!(Layout::for_idf_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn both_layouts_round_trip_sorted() {
        let a = entry(&[0x30, 0x01, 0xAA], &[0x30, 0x00]);
        let b = entry(&[0x30, 0x01, 0x01], &[0x30, 0x01, 0x05]);
        for layout in [Layout::Legacy, Layout::OffsetTable] {
            let bytes = encode_entries(vec![a.clone(), b.clone()], layout).unwrap();
            let (got_layout, got) = decode(&bytes).unwrap();
            assert_eq!(got_layout, layout);
            assert_eq!(got, vec![b.clone(), a.clone()]);
        }
        let legacy = encode_entries(vec![a.clone()], Layout::Legacy).unwrap();
        assert_eq!(legacy, [0, 1, 0, 3, 0, 2, 0x30, 1, 0xAA, 0x30, 0]);
        let table = encode_entries(vec![a], Layout::OffsetTable).unwrap();
        assert_eq!(table, [4, 0, 0, 0, 3, 0, 2, 0, 0x30, 1, 0xAA, 0x30, 0]);
    }

    #[test]
    fn garbage_is_not_a_bundle() {
        assert!(decode(b"").is_err());
        assert!(decode(b"hello world").is_err());
        assert!(decode(&[0, 1, 0, 3, 0, 2, 0x30]).is_err());
    }
}
