//! Typed ROM commands: what a request's payload means, parsed without trusting its lengths.

use super::packet::{Op, Request, RomError, checksum};

/// The 36-byte SYNC payload: `07 07 12 20` and 32 × `55`.
pub fn sync_payload() -> Vec<u8> {
    let mut p = vec![0x07, 0x07, 0x12, 0x20];
    p.extend(std::iter::repeat_n(0x55, 32));
    p
}

/// FLASH_BEGIN / MEM_BEGIN / FLASH_DEFL_BEGIN parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// Bytes to erase (FLASH), total size (MEM), uncompressed size (DEFL).
    pub size: u32,
    /// Number of data packets to follow.
    pub blocks: u32,
    /// Bytes per data packet.
    pub block_size: u32,
    /// Flash offset or RAM address.
    pub offset: u32,
    /// The fifth word newer ROMs and the stubs take; absent from ESP8266/ESP32 ROM requests.
    pub encrypted: Option<u32>,
}

/// A `*_DATA` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub seq: u32,
    pub data: Vec<u8>,
}

/// Every command the ROM loaders know, plus `Unknown` for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Sync,
    ReadReg {
        addr: u32,
    },
    WriteReg {
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    },
    FlashBegin(Begin),
    FlashData(Block),
    /// `reboot` is the wire value 0; 1 means "run user code".
    FlashEnd {
        reboot: bool,
    },
    MemBegin(Begin),
    MemData(Block),
    MemEnd {
        no_entry: bool,
        entry: u32,
    },
    SpiSetParams {
        total_size: u32,
    },
    SpiAttach {
        config: u32,
    },
    ChangeBaudrate {
        new: u32,
        old: u32,
    },
    FlashDeflBegin(Begin),
    FlashDeflData(Block),
    FlashDeflEnd {
        reboot: bool,
    },
    SpiFlashMd5 {
        addr: u32,
        size: u32,
    },
    GetSecurityInfo,
    ReadFlashSlow {
        addr: u32,
        size: u32,
    },
    RunUserCode,
    /// Stub: erase the whole chip.
    EraseFlash,
    /// Stub: erase `size` bytes at `addr` (both sector-aligned).
    EraseRegion {
        addr: u32,
        size: u32,
    },
    /// Stub: stream `size` bytes from `addr` in `block_size` frames, at most `in_flight`
    /// unacknowledged.
    ReadFlash {
        addr: u32,
        size: u32,
        block_size: u32,
        in_flight: u32,
    },
    Unknown(u8),
}

fn word(data: &[u8], i: usize) -> Option<u32> {
    let b = data.get(i * 4..i * 4 + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn words<const N: usize>(data: &[u8]) -> Result<[u32; N], RomError> {
    let mut out = [0u32; N];
    for (i, w) in out.iter_mut().enumerate() {
        *w = word(data, i).ok_or(RomError::InvalidMessage)?;
    }
    Ok(out)
}

fn begin(data: &[u8]) -> Result<Begin, RomError> {
    if data.len() != 16 && data.len() != 20 {
        return Err(RomError::InvalidMessage);
    }
    let [size, blocks, block_size, offset] = words::<4>(data)?;
    Ok(Begin {
        size,
        blocks,
        block_size,
        offset,
        encrypted: word(data, 4),
    })
}

/// A data packet: the declared length must match, and the checksum field must match the data.
fn block(req: &Request) -> Result<Block, RomError> {
    let [len, seq, _, _] = words::<4>(&req.data)?;
    let data = &req.data[16..];
    if data.len() != len as usize {
        return Err(RomError::InvalidMessage);
    }
    if req.checksum & 0xFF != u32::from(checksum(data)) {
        return Err(RomError::InvalidCrc);
    }
    Ok(Block {
        seq,
        data: data.to_vec(),
    })
}

impl Command {
    /// Interpret a request. A payload of the wrong size is `InvalidMessage`; a data block whose
    /// checksum does not match is `InvalidCrc`, as on the ROM.
    pub fn parse(req: &Request) -> Result<Command, RomError> {
        let Some(op) = Op::from_u8(req.op) else {
            return Ok(Command::Unknown(req.op));
        };
        let d = &req.data;
        Ok(match op {
            Op::Sync => {
                if *d != sync_payload() {
                    return Err(RomError::InvalidMessage);
                }
                Command::Sync
            }
            Op::ReadReg => Command::ReadReg {
                addr: words::<1>(d)?[0],
            },
            Op::WriteReg => {
                let [addr, value, mask, delay_us] = words::<4>(d)?;
                Command::WriteReg {
                    addr,
                    value,
                    mask,
                    delay_us,
                }
            }
            Op::FlashBegin => Command::FlashBegin(begin(d)?),
            Op::FlashData => Command::FlashData(block(req)?),
            Op::FlashEnd => Command::FlashEnd {
                reboot: words::<1>(d)?[0] == 0,
            },
            Op::MemBegin => Command::MemBegin(begin(d)?),
            Op::MemData => Command::MemData(block(req)?),
            Op::MemEnd => {
                let [no_entry, entry] = words::<2>(d)?;
                Command::MemEnd {
                    no_entry: no_entry != 0,
                    entry,
                }
            }
            Op::SpiSetParams => {
                let [_id, total_size, _, _, _, _] = words::<6>(d)?;
                Command::SpiSetParams { total_size }
            }
            Op::SpiAttach => Command::SpiAttach {
                config: words::<1>(d)?[0],
            },
            Op::ChangeBaudrate => {
                let [new, old] = words::<2>(d)?;
                Command::ChangeBaudrate { new, old }
            }
            Op::FlashDeflBegin => Command::FlashDeflBegin(begin(d)?),
            Op::FlashDeflData => Command::FlashDeflData(block(req)?),
            Op::FlashDeflEnd => Command::FlashDeflEnd {
                reboot: words::<1>(d)?[0] == 0,
            },
            Op::SpiFlashMd5 => {
                let [addr, size] = words::<2>(d)?;
                Command::SpiFlashMd5 { addr, size }
            }
            Op::GetSecurityInfo => Command::GetSecurityInfo,
            Op::ReadFlashSlow => {
                let [addr, size] = words::<2>(d)?;
                Command::ReadFlashSlow { addr, size }
            }
            Op::RunUserCode => Command::RunUserCode,
            Op::EraseFlash => Command::EraseFlash,
            Op::EraseRegion => {
                let [addr, size] = words::<2>(d)?;
                Command::EraseRegion { addr, size }
            }
            Op::ReadFlash => {
                let [addr, size, block_size, in_flight] = words::<4>(d)?;
                Command::ReadFlash {
                    addr,
                    size,
                    block_size,
                    in_flight,
                }
            }
        })
    }
}

/// Little-endian words as a payload, for building requests.
pub fn payload(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn parses_the_common_commands() {
        let r = Request::new(Op::Sync, sync_payload());
        assert_eq!(Command::parse(&r), Ok(Command::Sync));
        let r = Request::new(Op::FlashBegin, payload(&[0x1000, 4, 0x400, 0x10000]));
        assert_eq!(
            Command::parse(&r),
            Ok(Command::FlashBegin(Begin {
                size: 0x1000,
                blocks: 4,
                block_size: 0x400,
                offset: 0x10000,
                encrypted: None
            }))
        );
        let r = Request::new(Op::FlashEnd, payload(&[0]));
        assert_eq!(Command::parse(&r), Ok(Command::FlashEnd { reboot: true }));
        let r = Request::data_block(Op::FlashData, 7, &[9; 32]);
        assert_eq!(
            Command::parse(&r),
            Ok(Command::FlashData(Block {
                seq: 7,
                data: vec![9; 32]
            }))
        );
    }

    #[test]
    fn malformed_payloads_get_rom_error_codes() {
        let r = Request::new(Op::ReadReg, vec![1, 2]);
        assert_eq!(Command::parse(&r), Err(RomError::InvalidMessage));
        let mut r = Request::data_block(Op::FlashData, 0, &[1, 2, 3]);
        r.checksum ^= 1;
        assert_eq!(Command::parse(&r), Err(RomError::InvalidCrc));
        let mut r = Request::data_block(Op::FlashData, 0, &[1, 2, 3]);
        r.data.pop();
        assert_eq!(Command::parse(&r), Err(RomError::InvalidMessage));
        let r = Request::new(Op::Sync, vec![7; 36]);
        assert_eq!(Command::parse(&r), Err(RomError::InvalidMessage));
        assert_eq!(
            Command::parse(&Request {
                op: 0x77,
                checksum: 0,
                data: vec![]
            }),
            Ok(Command::Unknown(0x77))
        );
    }
}
