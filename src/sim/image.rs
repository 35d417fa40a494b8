//! Firmware images for the virtual board: a valid ESP image whose data segment carries the sketch's
//! settings (host, dial address, URL, pin, fault) so the board can read them back after a boot.

use std::fmt;
use std::str::FromStr;

use crate::rom::Chip;
use crate::rom::image::{self, Image, ImageSpec};

/// Marks the settings segment: 16 bytes, then a u32 length, then JSON.
pub const SETTINGS_MAGIC: &[u8; 16] = b"ESPCHECK-SIM\0v1\0";

/// Largest settings blob accepted back from flash (a CA bundle of a few certificates fits).
pub const MAX_SETTINGS: usize = 60 * 1024;

/// A fault the image makes the board act out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// An exception / Guru Meditation crash dump, then a reboot, over and over.
    Crash,
    /// A watchdog reset loop.
    ResetLoop,
    /// The brownout detector fires (ESP32) / power-on resets (ESP8266), over and over.
    Brownout,
    /// The sketch stops printing.
    Hang,
    /// The TLS handshake or certificate check fails.
    Tls,
}

impl Fault {
    /// Every fault, for help texts.
    pub const ALL: [Fault; 5] = [
        Fault::Crash,
        Fault::ResetLoop,
        Fault::Brownout,
        Fault::Hang,
        Fault::Tls,
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Crash => "crash",
            Fault::ResetLoop => "reset-loop",
            Fault::Brownout => "brownout",
            Fault::Hang => "hang",
            Fault::Tls => "tls",
        })
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .into_iter()
            .find(|f| f.to_string() == s)
            .ok_or_else(|| {
                format!("unknown fault `{s}` (use crash, reset-loop, brownout, hang or tls)")
            })
    }
}

/// What the sketch in an image does: the reference sketch's settings. Fields are added, never
/// renamed (images on disk carry them as JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageSettings {
    /// The board the image is built for.
    pub chip: Chip,
    /// Server name: SNI and Host header.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Dial this ADDR:PORT instead of resolving `host` (like `curl --resolve`).
    #[serde(default)]
    pub connect: Option<String>,
    /// Request path.
    pub url: String,
    /// SHA-1 fingerprint pin, as the sketch passes it to `setFingerprint`.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// PEM trust anchor(s), as passed to `setCACert` / `setTrustAnchors`.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// A fault to act out instead of (or during) the sketch.
    #[serde(default)]
    pub fault: Option<Fault>,
}

impl ImageSettings {
    /// The reference sketch's defaults for `chip`.
    pub fn reference(chip: Chip) -> Self {
        ImageSettings {
            chip,
            host: "api.github.com".to_owned(),
            port: 443,
            connect: None,
            url: "/repos/esp8266/Arduino/commits/master/status".to_owned(),
            fingerprint: None,
            ca_pem: None,
            fault: None,
        }
    }
}

/// Where the two segments are loaded: a tiny code segment in IRAM and the settings in DRAM.
fn layout(chip: Chip) -> (u32, u32) {
    match chip {
        Chip::Esp8266 => (0x4010_0000, 0x3FFE_8000),
        Chip::Esp32 => (0x4008_0400, 0x3FFB_0000),
    }
}

/// Xtensa `j .` (jump to itself): the image's code spins, as a real board's would if it had no
/// more to do. The virtual board never executes it; it is there so the image is a sane one.
const SPIN: [u8; 4] = [0x06, 0xFF, 0xFF, 0x00];

/// Build a valid image for `settings.chip` carrying `settings`.
pub fn build(settings: &ImageSettings) -> Vec<u8> {
    ImageSpec::new(
        settings.chip,
        layout(settings.chip).0,
        base_segments(settings),
    )
    .build()
}

/// The code and settings segments every sim image has.
fn base_segments(settings: &ImageSettings) -> Vec<(u32, Vec<u8>)> {
    let (iram, dram) = layout(settings.chip);
    // Serialising a struct of strings and enums cannot fail.
    let json = serde_json::to_vec(settings).unwrap_or_default();
    let mut blob = SETTINGS_MAGIC.to_vec();
    blob.extend_from_slice(&(json.len() as u32).to_le_bytes());
    blob.extend_from_slice(&json);
    vec![(iram, SPIN.to_vec()), (dram, blob)]
}

/// Where a padding segment goes: flash-mapped read-only data, where a big firmware keeps its
/// tables and strings (the ESP8266's IROM window, the ESP32's DROM).
fn pad_addr(chip: Chip) -> u32 {
    match chip {
        Chip::Esp8266 => 0x4020_1010,
        Chip::Esp32 => 0x3F40_0020,
    }
}

/// `len` bytes that deflate shrinks to about half, like compiled firmware: 32-byte runs that
/// alternate between pseudo-random bytes and a repeated string table.
pub fn filler(len: usize) -> Vec<u8> {
    const TABLE: &[u8; 32] = b"wifi_connect\0tls_handshake\0https";
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|i| {
            if (i / 32) % 2 == 0 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 29) as u8
            } else {
                TABLE[i % 32]
            }
        })
        .collect()
}

/// Like [`build`], padded with a [`filler`] data segment so the image is about `size` bytes
/// (exactly, rounded up to the image format's 16-byte alignment) when `size` exceeds the bare
/// image. Flashing can then be measured at realistic sizes.
pub fn build_sized(settings: &ImageSettings, size: usize) -> Vec<u8> {
    let bare = build(settings);
    // The segment header is 8 bytes; segment lengths are whole words.
    let Some(room) = size.checked_sub(bare.len() + 8).filter(|r| *r >= 4) else {
        return bare;
    };
    let entry = layout(settings.chip).0;
    let with_pad = |pad: usize| {
        let mut segments = base_segments(settings);
        segments.push((pad_addr(settings.chip), filler(pad)));
        ImageSpec::new(settings.chip, entry, segments).build()
    };
    let guess = room / 4 * 4;
    let first = with_pad(guess);
    // Alignment padding and the checksum move the end a little: correct once.
    let pad = if first.len() > size {
        guess.saturating_sub(first.len() - size).div_ceil(4) * 4
    } else {
        guess + (size - first.len()) / 4 * 4
    };
    with_pad(pad)
}

/// A stand-in ESP32 second-stage bootloader image: three segments where ESP-IDF's bootloader puts
/// its own, and no settings. The virtual ESP32 ships with one at 0x1000, as a board that has been
/// flashed once does.
pub fn esp32_bootloader() -> Vec<u8> {
    ImageSpec::new(
        Chip::Esp32,
        0x4008_064C,
        vec![
            (0x3FFF_0030, vec![0; 0x4A0]),
            (0x4007_8000, vec![0; 0x334C]),
            (0x4008_0400, [SPIN.to_vec(), vec![0; 0xBD8]].concat()),
        ],
    )
    .build()
}

/// Why an image's settings could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    /// No segment starts with [`SETTINGS_MAGIC`]: not a sim image.
    Missing,
    /// The settings segment is there but its JSON is not.
    Malformed(String),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Missing => {
                f.write_str("not an espcheck sim image (no settings segment)")
            }
            SettingsError::Malformed(m) => write!(f, "settings segment is malformed: {m}"),
        }
    }
}

/// Read the settings back out of a parsed image.
pub fn settings_of(image: &Image) -> Result<ImageSettings, SettingsError> {
    let seg = image
        .segments
        .iter()
        .find(|s| s.data.starts_with(SETTINGS_MAGIC))
        .ok_or(SettingsError::Missing)?;
    let rest = &seg.data[SETTINGS_MAGIC.len()..];
    let len = rest
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| SettingsError::Malformed("no length".to_owned()))?;
    if len > MAX_SETTINGS {
        return Err(SettingsError::Malformed(format!("{len} bytes is too long")));
    }
    let json = rest
        .get(4..4 + len)
        .ok_or_else(|| SettingsError::Malformed("shorter than its length".to_owned()))?;
    serde_json::from_slice(json).map_err(|e| SettingsError::Malformed(e.to_string()))
}

/// Parse image bytes and read their settings (the `sim image` round trip).
pub fn read(bytes: &[u8], chip: Chip) -> Result<(Image, ImageSettings), String> {
    let img = image::parse(bytes, chip).map_err(|e| e.to_string())?;
    if !img.checksum_ok() {
        return Err("image checksum does not match".to_owned());
    }
    if !img.digest_ok() {
        return Err("image SHA-256 does not match".to_owned());
    }
    let settings = settings_of(&img).map_err(|e| e.to_string())?;
    Ok((img, settings))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn settings_round_trip_through_a_valid_image() {
        for chip in Chip::ALL {
            let mut s = ImageSettings::reference(chip);
            s.connect = Some("127.0.0.1:8443".to_owned());
            s.fingerprint = Some("CF:05".to_owned());
            s.fault = Some(Fault::Crash);
            let bytes = build(&s);
            let (img, back) = read(&bytes, chip).unwrap();
            assert_eq!(back, s);
            assert_eq!(img.header.entry, img.segments[0].addr);
        }
    }

    #[test]
    fn bootloader_is_valid_and_carries_no_settings() {
        let img = image::parse(&esp32_bootloader(), Chip::Esp32).unwrap();
        assert!(img.checksum_ok() && img.digest_ok());
        assert_eq!(settings_of(&img), Err(SettingsError::Missing));
    }

    #[test]
    fn a_sized_image_is_that_big_compresses_to_about_half_and_still_reads_back() {
        use std::io::Write;
        for chip in Chip::ALL {
            let s = ImageSettings::reference(chip);
            for size in [64 * 1024, 1024 * 1024 + 3] {
                let bytes = build_sized(&s, size);
                assert!(
                    bytes.len().abs_diff(size) <= 48,
                    "{chip} {size}: {}",
                    bytes.len()
                );
                let (img, back) = read(&bytes, chip).unwrap();
                assert_eq!(back, s);
                assert_eq!(img.segments.len(), 3);
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(9));
                z.write_all(&bytes).unwrap();
                let ratio = z.finish().unwrap().len() as f64 / bytes.len() as f64;
                assert!((0.4..0.65).contains(&ratio), "{chip} {size}: ratio {ratio}");
            }
            // Smaller than the bare image: the bare image.
            assert_eq!(build_sized(&s, 10), build(&s));
        }
    }
}
