//! The `certs.ar` trust store of the ESP8266 core's `BearSSL::CertStore`: a plain Unix `ar`
//! archive of DER certificates, as the core's `certs-from-mozilla.py` makes it with `ar q`.
//!
//! Checked against `libraries/ESP8266WiFi/src/CertStoreBearSSL.cpp` (`initCertStore`) and
//! `examples/BearSSL_CertStore/certs-from-mozilla.py` of esp8266/Arduino:
//! - the file starts with `!<arch>\n`;
//! - each member has a 60-byte header: name (16), mtime (12), uid (6), gid (6), octal mode (8),
//!   size (10), all decimal ASCII left-justified and space-padded, then `` `\n``; the core reads
//!   only the size, with `sscanf("%d")` at bytes 48..57, and skips members whose name starts `//`
//!   (GNU ar's long-name table), so names must stay short: `ca_000.der/` is GNU ar's spelling;
//! - a member of odd size is followed by one `\n`, which the core skips;
//! - a size of 0 ends the core's walk, so no member may be empty.
//!
//! The header values are those of a deterministic GNU ar (`ar qD`): uid/gid 0, mode 644, mtime 0
//! unless `SOURCE_DATE_EPOCH` gives one, so the same certificates give the same bytes.

/// The archive's magic.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";
/// Size of one member header.
pub const HEADER_LEN: usize = 60;

/// The name of member `i` as `certs-from-mozilla.py` names its files.
pub fn member_name(i: usize) -> String {
    format!("ca_{i:03}.der")
}

/// The archive holding `ders` in order. `mtime` goes into every header (negative counts as 0).
pub fn encode(ders: &[&[u8]], mtime: i64) -> Vec<u8> {
    let size: usize = ders
        .iter()
        .map(|d| HEADER_LEN + d.len() + d.len() % 2)
        .sum();
    let mut out = Vec::with_capacity(MAGIC.len() + size);
    out.extend_from_slice(MAGIC);
    for (i, der) in ders.iter().enumerate() {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            format!("{}/", member_name(i)),
            mtime.max(0),
            0,
            0,
            644,
            der.len()
        );
        debug_assert_eq!(header.len(), HEADER_LEN);
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(der);
        if der.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// One member read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The name without GNU ar's trailing `/`.
    pub name: String,
    /// The member's bytes.
    pub data: Vec<u8>,
}

/// Why bytes are not an archive the core can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArError {
    /// No `!<arch>\n`.
    #[error("not an ar archive (no `!<arch>` magic)")]
    Magic,
    /// A header is cut or malformed.
    #[error("member {0}: bad header ({1})")]
    Header(usize, String),
    /// A member runs past the end of the file.
    #[error("member {0}: {1} bytes announced, the file ends first")]
    Truncated(usize, usize),
}

/// Read an archive the way `CertStore::initCertStore` does, but strictly: every header must end
/// in `` `\n`` and every member must be whole.
pub fn decode(bytes: &[u8]) -> Result<Vec<Member>, ArError> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(ArError::Magic)?;
    let mut members = Vec::new();
    while !rest.is_empty() {
        let n = members.len();
        if rest.len() < HEADER_LEN {
            return Err(ArError::Header(n, "cut short".to_owned()));
        }
        let (header, body) = rest.split_at(HEADER_LEN);
        if &header[58..60] != b"`\n" {
            return Err(ArError::Header(n, "no `\\n terminator".to_owned()));
        }
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&header[r]).into_owned();
        let size: usize = field(48..58)
            .trim()
            .parse()
            .map_err(|_| ArError::Header(n, format!("size field {:?}", field(48..58))))?;
        if body.len() < size {
            return Err(ArError::Truncated(n, size));
        }
        let name = field(0..16);
        let name = name.trim_end();
        members.push(Member {
            name: name.strip_suffix('/').unwrap_or(name).to_owned(),
            data: body[..size].to_vec(),
        });
        let padded = (size + size % 2).min(body.len());
        rest = &body[padded..];
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn headers_are_gnu_ar_deterministic_ones() {
        // What `ar qD certs.ar ca_000.der ca_001.der` writes for a 3- and a 4-byte file.
        let got = encode(&[b"abc", b"abcd"], 0);
        let want = b"!<arch>\n\
ca_000.der/     0           0     0     644     3         `\nabc\n\
ca_001.der/     0           0     0     644     4         `\nabcd";
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        let stamped = encode(&[b"ab"], 1_700_000_000);
        assert_eq!(&stamped[8 + 16..8 + 28], b"1700000000  ");
    }

    #[test]
    fn round_trip_and_strict_reading() {
        let ders: Vec<Vec<u8>> = (1..=5).map(|n| vec![0x30; n]).collect();
        let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        let bytes = encode(&refs, 0);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 5);
        for (i, m) in back.iter().enumerate() {
            assert_eq!(m.name, member_name(i));
            assert_eq!(m.data, ders[i]);
        }
        assert_eq!(decode(b"!<arc"), Err(ArError::Magic));
        assert!(matches!(
            decode(&bytes[..bytes.len() - 2]),
            Err(ArError::Truncated(4, 5))
        ));
        assert!(matches!(decode(&bytes[..30]), Err(ArError::Header(0, _))));
        assert_eq!(member_name(1234), "ca_1234.der");
    }
}
