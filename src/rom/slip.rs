//! SLIP framing (RFC 1055, as the ESP ROM uses it) over the `slip-codec` crate, made incremental and
//! bounded: feed bytes as they arrive, get whole frames out.

use std::io::Write;

use slip_codec::{SlipDecoder, SlipEncoder, SlipError};

/// SLIP frame delimiter.
pub const END: u8 = 0xC0;

/// Largest frame the decoder accepts: a 0x4000-byte stub block plus headers, with room to spare.
/// Anything bigger is line noise or an attack, not a ROM packet.
pub const MAX_FRAME: usize = 0x4000 + 64;

/// Why a frame was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// An escape byte (0xDB) followed by something other than 0xDC/0xDD.
    BadEscape,
    /// More than [`MAX_FRAME`] bytes without an end byte.
    Oversized,
}

impl std::fmt::Display for FrameFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameFault::BadEscape => "bad SLIP escape sequence",
            FrameFault::Oversized => "SLIP frame too long",
        })
    }
}

/// An incremental SLIP decoder. Bytes between frames (boot text, noise) come out as frames of their
/// own, exactly as a real SLIP reader sees them; the packet parser rejects those.
#[derive(Debug)]
pub struct FrameDecoder {
    decoder: SlipDecoder,
    partial: Vec<u8>,
    max: usize,
    /// After an oversized frame: drop bytes until the next END.
    skipping: bool,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(MAX_FRAME)
    }
}

/// A sink that refuses to grow past `max`, so `slip-codec` reports an oversized packet instead of
/// buffering without bound.
struct Bounded<'a> {
    buf: &'a mut Vec<u8>,
    max: usize,
}

impl Write for Bounded<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            return Ok(0);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl FrameDecoder {
    /// A decoder that drops frames longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            decoder: SlipDecoder::new(),
            partial: Vec::new(),
            max,
            skipping: false,
        }
    }

    /// Feed received bytes; returns every frame completed by them, in order.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<Result<Vec<u8>, FrameFault>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            if self.skipping {
                match bytes.iter().position(|&b| b == END) {
                    Some(i) => {
                        self.skipping = false;
                        bytes = &bytes[i + 1..];
                        continue;
                    }
                    None => break,
                }
            }
            let mut sink = Bounded {
                buf: &mut self.partial,
                max: self.max,
            };
            match self.decoder.decode(&mut bytes, &mut sink) {
                Ok(_) => out.push(Ok(std::mem::take(&mut self.partial))),
                Err(SlipError::EndOfStream) => break,
                Err(SlipError::FramingError) => {
                    // slip-codec now skips to the next END by itself.
                    self.partial.clear();
                    out.push(Err(FrameFault::BadEscape));
                }
                Err(SlipError::OversizedPacket) | Err(SlipError::ReadError(_)) => {
                    self.partial.clear();
                    self.decoder = SlipDecoder::new();
                    self.skipping = true;
                    out.push(Err(FrameFault::Oversized));
                }
            }
        }
        out
    }
}

/// Frame `packet` as the ROM and the tools do: END, escaped bytes, END.
pub fn encode(packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet.len() + 8);
    // Writing to a Vec cannot fail.
    let _ = SlipEncoder::new(true).encode(packet, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn round_trip_with_escapes_split_anywhere() {
        let packet = vec![0x01, 0xC0, 0xDB, 0x02, 0xC0, 0xC0, 0xDB];
        let wire = encode(&packet);
        assert_eq!(wire.iter().filter(|&&b| b == END).count(), 2);
        for split in 0..wire.len() {
            let mut d = FrameDecoder::default();
            let mut frames = d.feed(&wire[..split]);
            frames.extend(d.feed(&wire[split..]));
            assert_eq!(frames, vec![Ok(packet.clone())], "split at {split}");
        }
    }

    #[test]
    fn bad_escape_is_reported_and_the_next_frame_survives() {
        let mut wire = vec![END, 0x00, 0xDB, 0x41, 0x42, END];
        wire.extend(encode(&[0x00, 0x08]));
        let frames = FrameDecoder::default().feed(&wire);
        assert_eq!(
            frames,
            vec![Err(FrameFault::BadEscape), Ok(vec![0x00, 0x08])]
        );
    }

    #[test]
    fn oversized_frame_is_dropped_without_unbounded_buffering() {
        let mut d = FrameDecoder::new(16);
        let mut wire = vec![END];
        wire.extend(std::iter::repeat_n(0x11, 100));
        wire.push(END);
        wire.extend(encode(&[1, 2, 3]));
        let frames = d.feed(&wire);
        assert_eq!(frames, vec![Err(FrameFault::Oversized), Ok(vec![1, 2, 3])]);
    }

    #[test]
    fn text_between_frames_comes_out_as_its_own_frame() {
        let mut wire = b"waiting for download\r\n".to_vec();
        wire.extend(encode(&[0, 8]));
        let frames = FrameDecoder::default().feed(&wire);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1], Ok(vec![0, 8]));
    }
}
