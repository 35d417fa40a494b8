//! Request and response packets of the ROM protocol (inside SLIP frames), the data checksum and the
//! ROM's error codes. All fields are little-endian.

use std::fmt;

/// Seed of the data checksum: 0xEF XORed with every data byte.
pub const CHECKSUM_SEED: u8 = 0xEF;

/// The checksum that `*_DATA` requests carry (and the image format ends with).
pub fn checksum(data: &[u8]) -> u8 {
    checksum_from(CHECKSUM_SEED, data)
}

/// Continue a checksum over more data.
pub fn checksum_from(seed: u8, data: &[u8]) -> u8 {
    data.iter().fold(seed, |acc, b| acc ^ b)
}

/// Command opcodes (esptool `serial-protocol.rst`, espflash `command.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    FlashBegin = 0x02,
    FlashData = 0x03,
    FlashEnd = 0x04,
    MemBegin = 0x05,
    MemEnd = 0x06,
    MemData = 0x07,
    Sync = 0x08,
    WriteReg = 0x09,
    ReadReg = 0x0A,
    SpiSetParams = 0x0B,
    SpiAttach = 0x0D,
    ReadFlashSlow = 0x0E,
    ChangeBaudrate = 0x0F,
    FlashDeflBegin = 0x10,
    FlashDeflData = 0x11,
    FlashDeflEnd = 0x12,
    SpiFlashMd5 = 0x13,
    GetSecurityInfo = 0x14,
    /// Stub only (0xD0..=0xD3); the ROM loaders reject them.
    EraseFlash = 0xD0,
    EraseRegion = 0xD1,
    ReadFlash = 0xD2,
    RunUserCode = 0xD3,
}

impl Op {
    /// The opcode for a byte, if it is one espcheck knows.
    pub fn from_u8(b: u8) -> Option<Op> {
        use Op::*;
        Some(match b {
            0x02 => FlashBegin,
            0x03 => FlashData,
            0x04 => FlashEnd,
            0x05 => MemBegin,
            0x06 => MemEnd,
            0x07 => MemData,
            0x08 => Sync,
            0x09 => WriteReg,
            0x0A => ReadReg,
            0x0B => SpiSetParams,
            0x0D => SpiAttach,
            0x0E => ReadFlashSlow,
            0x0F => ChangeBaudrate,
            0x10 => FlashDeflBegin,
            0x11 => FlashDeflData,
            0x12 => FlashDeflEnd,
            0x13 => SpiFlashMd5,
            0x14 => GetSecurityInfo,
            0xD0 => EraseFlash,
            0xD1 => EraseRegion,
            0xD2 => ReadFlash,
            0xD3 => RunUserCode,
            _ => return None,
        })
    }
}

/// The error byte the ROM puts after a failing status byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RomError {
    /// 0x05: received message is invalid (also: unknown command).
    InvalidMessage = 0x05,
    /// 0x06: failed to act on the received message.
    Failed = 0x06,
    /// 0x07: invalid CRC (checksum) in the message.
    InvalidCrc = 0x07,
    /// 0x08: flash write error.
    FlashWrite = 0x08,
    /// 0x09: flash read error.
    FlashRead = 0x09,
    /// 0x0B: deflate (zlib) error.
    Deflate = 0x0B,
}

impl RomError {
    /// The error for a byte, if it is a known ROM error code.
    pub fn from_u8(b: u8) -> Option<RomError> {
        use RomError::*;
        Some(match b {
            0x05 => InvalidMessage,
            0x06 => Failed,
            0x07 => InvalidCrc,
            0x08 => FlashWrite,
            0x09 => FlashRead,
            0x0B => Deflate,
            _ => return None,
        })
    }
}

impl fmt::Display for RomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RomError::InvalidMessage => "invalid message (0x05)",
            RomError::Failed => "failed to act on message (0x06)",
            RomError::InvalidCrc => "invalid checksum (0x07)",
            RomError::FlashWrite => "flash write error (0x08)",
            RomError::FlashRead => "flash read error (0x09)",
            RomError::Deflate => "deflate error (0x0b)",
        })
    }
}

/// The flasher stub's failure codes. A stub sends the code as the *first* status byte and 0 as
/// the second (esptool reads the pair big-endian: 0xC000 "Bad data length", ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StubError {
    BadDataLen = 0xC0,
    BadDataChecksum = 0xC1,
    BadBlocksize = 0xC2,
    InvalidCommand = 0xC3,
    FailedSpiOp = 0xC4,
    NotInFlashMode = 0xC6,
    Inflate = 0xC7,
    NotEnoughData = 0xC8,
    TooMuchData = 0xC9,
    NotImplemented = 0xFF,
}

/// Why a frame is not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// Shorter than the 8-byte header.
    TooShort(usize),
    /// The direction byte is not 0 (request) or 1 (response).
    WrongDirection(u8),
    /// The length field disagrees with the bytes that follow.
    LengthMismatch { declared: u16, actual: usize },
    /// A response without room for its status bytes.
    NoStatus,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::TooShort(n) => write!(f, "packet of {n} bytes is shorter than its header"),
            PacketError::WrongDirection(d) => write!(f, "direction byte {d:#04x}"),
            PacketError::LengthMismatch { declared, actual } => {
                write!(f, "length field says {declared} bytes, {actual} follow")
            }
            PacketError::NoStatus => f.write_str("response has no status bytes"),
        }
    }
}

/// A request from the host: `00 op len16 chk32 data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub op: u8,
    /// Only `*_DATA` requests fill this in; the ROM ignores it elsewhere.
    pub checksum: u32,
    pub data: Vec<u8>,
}

impl Request {
    /// A request with a zero checksum field.
    pub fn new(op: Op, data: Vec<u8>) -> Self {
        Request {
            op: op as u8,
            checksum: 0,
            data,
        }
    }

    /// A `*_DATA` request: 16-byte header (len, seq, 0, 0), the block, and its checksum.
    pub fn data_block(op: Op, seq: u32, block: &[u8]) -> Self {
        let mut data = Vec::with_capacity(16 + block.len());
        for word in [block.len() as u32, seq, 0, 0] {
            data.extend_from_slice(&word.to_le_bytes());
        }
        data.extend_from_slice(block);
        Request {
            op: op as u8,
            checksum: u32::from(checksum(block)),
            data,
        }
    }

    /// Parse a decoded SLIP frame.
    pub fn parse(frame: &[u8]) -> Result<Request, PacketError> {
        if frame.len() < 8 {
            return Err(PacketError::TooShort(frame.len()));
        }
        if frame[0] != 0 {
            return Err(PacketError::WrongDirection(frame[0]));
        }
        let declared = u16::from_le_bytes([frame[2], frame[3]]);
        let data = &frame[8..];
        if usize::from(declared) != data.len() {
            return Err(PacketError::LengthMismatch {
                declared,
                actual: data.len(),
            });
        }
        Ok(Request {
            op: frame[1],
            checksum: u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]),
            data: data.to_vec(),
        })
    }

    /// The packet bytes (not yet SLIP-framed).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.data.len());
        out.push(0);
        out.push(self.op);
        out.extend_from_slice(&(self.data.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

/// A response from the board: `01 op len16 val32 data… status error [0 0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub op: u8,
    pub value: u32,
    /// Payload before the status bytes (MD5 text, READ_FLASH_SLOW data, ...).
    pub data: Vec<u8>,
    /// 0 = success, 1 = failure.
    pub status: u8,
    /// The ROM error code when `status` is 1.
    pub error: u8,
}

impl Response {
    /// A success response.
    pub fn ok(op: u8, value: u32, data: Vec<u8>) -> Self {
        Response {
            op,
            value,
            data,
            status: 0,
            error: 0,
        }
    }

    /// A failure response carrying a ROM error code.
    pub fn fail(op: u8, error: RomError) -> Self {
        Response {
            op,
            value: 0,
            data: Vec::new(),
            status: 1,
            error: error as u8,
        }
    }

    /// A failure response from a flasher stub: the code in the status byte, the error byte 0.
    pub fn stub_fail(op: u8, error: StubError) -> Self {
        Response {
            op,
            value: 0,
            data: Vec::new(),
            status: error as u8,
            error: 0,
        }
    }

    /// The packet bytes with `status_len` status bytes (2 on ESP8266, 4 on the ESP32 ROM).
    pub fn encode(&self, status_len: usize) -> Vec<u8> {
        let body = self.data.len() + status_len;
        let mut out = Vec::with_capacity(8 + body);
        out.push(1);
        out.push(self.op);
        out.extend_from_slice(&(body as u16).to_le_bytes());
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.data);
        out.push(self.status);
        out.push(self.error);
        out.extend(std::iter::repeat_n(0, status_len.saturating_sub(2)));
        out
    }

    /// Parse a response, given how many status bytes the sender uses.
    pub fn parse(frame: &[u8], status_len: usize) -> Result<Response, PacketError> {
        if frame.len() < 8 {
            return Err(PacketError::TooShort(frame.len()));
        }
        if frame[0] != 1 {
            return Err(PacketError::WrongDirection(frame[0]));
        }
        let declared = u16::from_le_bytes([frame[2], frame[3]]);
        let body = &frame[8..];
        if usize::from(declared) != body.len() {
            return Err(PacketError::LengthMismatch {
                declared,
                actual: body.len(),
            });
        }
        if body.len() < status_len.max(2) {
            return Err(PacketError::NoStatus);
        }
        let split = body.len() - status_len.max(2);
        Ok(Response {
            op: frame[1],
            value: u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]),
            data: body[..split].to_vec(),
            status: body[split],
            error: body[split + 1],
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn checksum_is_ef_xor() {
        assert_eq!(checksum(&[]), 0xEF);
        assert_eq!(checksum(&[0xEF]), 0x00);
        assert_eq!(checksum(&[0x01, 0x02]), 0xEF ^ 0x03);
    }

    #[test]
    fn request_round_trip_and_rejects() {
        let r = Request::data_block(Op::FlashData, 3, &[1, 2, 3, 4]);
        let bytes = r.encode();
        assert_eq!(&bytes[..4], &[0x00, 0x03, 20, 0]);
        assert_eq!(Request::parse(&bytes).unwrap(), r);
        assert_eq!(Request::parse(&bytes[..5]), Err(PacketError::TooShort(5)));
        let mut bad = bytes.clone();
        bad[2] = 99;
        assert!(matches!(
            Request::parse(&bad),
            Err(PacketError::LengthMismatch { .. })
        ));
        bad[0] = 1;
        assert_eq!(Request::parse(&bad), Err(PacketError::WrongDirection(1)));
    }

    #[test]
    fn response_status_length_per_chip() {
        let r = Response::fail(0x14, RomError::InvalidMessage);
        let short = r.encode(2);
        let long = r.encode(4);
        assert_eq!(short, vec![1, 0x14, 2, 0, 0, 0, 0, 0, 1, 5]);
        assert_eq!(long.len(), 12);
        assert_eq!(Response::parse(&short, 2).unwrap(), r);
        assert_eq!(Response::parse(&long, 4).unwrap(), r);
        let md5 = Response::ok(0x13, 0, b"0123456789abcdef0123456789abcdef".to_vec());
        assert_eq!(md5.encode(4).len(), 44);
        assert_eq!(Response::parse(&md5.encode(4), 4).unwrap(), md5);
    }
}
