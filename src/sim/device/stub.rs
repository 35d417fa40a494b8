//! The flasher stub, as the virtual board runs it once a tool has uploaded one.
//!
//! esptool (default mode, no `--no-stub`) and espflash upload a small RAM program with
//! MEM_BEGIN/MEM_DATA and start it with MEM_END carrying an entry point. The board cannot execute
//! Xtensa code, so it behaves as the uploaded stub does, from the wire's point of view:
//!
//! - After the MEM_END response it sends one SLIP frame holding the four bytes `OHAI`; the tool
//!   waits for nothing else (esptool has no timeout short of its read timeout here).
//! - Responses carry **two** status bytes on every chip (the ESP32 ROM sends four). A failure puts
//!   the stub's code in the first status byte and 0 in the second: 0xC0 bad data length, 0xC1 bad
//!   checksum, 0xC2 bad block size, 0xC3 invalid command, 0xC4 failed SPI operation, 0xC6 not in
//!   flash mode, 0xC7 inflate error, 0xC8 not enough data, 0xC9 too much data, 0xFF not
//!   implemented (esptool reads the pair big-endian: "0xC000 Bad data length", ...).
//! - SYNC is answered with value 0 (eight times, as the ROM does); esptool takes value 0 as "the
//!   stub is already running" and skips the upload.
//! - FLASH_BEGIN / FLASH_DEFL_BEGIN take a fifth word (encrypted write) and the real size: the
//!   stub erases as it writes, sector by sector, instead of up front. Blocks are up to 16 KiB
//!   (esptool's stub FLASH_WRITE_SIZE 0x4000). Compressed writes work on the ESP8266 too.
//! - FLASH_END / FLASH_DEFL_END with 1 ("run user code" in ROM terms) only end the transfer and
//!   the stub keeps running (esptool sends it after the last block); 0 soft-resets the chip back
//!   into the ROM loader (esptool's `--after no-reset` leaving the stub). RUN_USER_CODE (0xD3)
//!   boots the flashed app.
//! - CHANGE_BAUDRATE (0x0F) takes (new, old) on both chips; the reply goes out at the old speed.
//! - SPI_FLASH_MD5 answers the 16 raw digest bytes (the ROM answers 32 hex characters).
//! - ERASE_FLASH (0xD0) erases the chip; ERASE_REGION (0xD1, addr, size) needs both
//!   sector-aligned.
//! - READ_FLASH (0xD2, addr, size, block size, max in flight): an empty success response, then
//!   the data as bare SLIP frames of `block size` bytes (the last one shorter). The host answers
//!   each frame with a frame holding the little-endian total it has received; the stub keeps at
//!   most `max in flight` blocks unacknowledged. When the host has acknowledged everything, the
//!   stub sends the 16-byte MD5 of the data as a last frame.
//! - READ_FLASH_SLOW and GET_SECURITY_INFO are not stub commands on these chips (0xC3).
//!
//! Sources read (not copied): esptool 5.6.0 `esptool/loader.py` (`run_stub`, `check_command`,
//! `sync`, `flash_begin`, `flash_defl_begin`, `flash_md5sum`, `change_baud`, `erase_region`,
//! `read_flash`), `esptool/util.py` (the stub error table), esptool's
//! `docs/en/advanced-topics/serial-protocol.rst`, the README of the esp-flasher-stub v1.4.1
//! binaries esptool ships (`esptool/targets/stub_flasher/2`), and the command list of the
//! original esptool flasher stub (`flasher_stub/include/stub_commands.h`). espflash drives its
//! own stub with the same commands and framing.

use md5::{Digest, Md5};

use super::{Action, Block, Command, Flash, Loader, Reply, Request, Response, RomError};
use super::{Begin, Decompress, Transfer};
#[cfg(test)]
use crate::rom::Chip;
use crate::rom::chip::FLASH_SECTOR_SIZE;
use crate::rom::packet::StubError;

/// What a stub sends once it runs.
pub const GREETING: &[u8; 4] = b"OHAI";

/// The largest data block the stubs accept.
const MAX_BLOCK: u32 = 0x4000;

/// State of a running stub.
#[derive(Debug, Default)]
pub struct Stub {
    read: Option<Read>,
}

/// A READ_FLASH in progress.
#[derive(Debug)]
struct Read {
    addr: u32,
    size: u32,
    block: u32,
    in_flight: u32,
    sent: u32,
    md5: Md5,
}

fn stub_error(e: RomError) -> StubError {
    match e {
        RomError::InvalidMessage => StubError::BadDataLen,
        RomError::InvalidCrc => StubError::BadDataChecksum,
        RomError::Failed => StubError::NotInFlashMode,
        RomError::FlashWrite | RomError::FlashRead => StubError::FailedSpiOp,
        RomError::Deflate => StubError::Inflate,
    }
}

impl Read {
    /// Data frames to send now: as many blocks as the window allows.
    fn more(&mut self, acked: u32, flash: &Flash) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let window = u64::from(self.in_flight) * u64::from(self.block);
        while self.sent < self.size && u64::from(self.sent - acked.min(self.sent)) < window {
            let n = self.block.min(self.size - self.sent);
            let Some(data) = flash.read(self.addr + self.sent, n) else {
                break;
            };
            self.md5.update(data);
            frames.push(data.to_vec());
            self.sent += n;
        }
        frames
    }
}

impl Loader {
    /// Answer one frame while a stub runs.
    pub(super) fn handle_stub(&mut self, frame: &[u8], flash: &mut Flash, host_baud: u32) -> Reply {
        if let Some(stub) = &mut self.stub
            && let Some(read) = &mut stub.read
        {
            // During READ_FLASH the host sends only acknowledgements.
            if let [a, b, c, d] = frame {
                let acked = u32::from_le_bytes([*a, *b, *c, *d]);
                if acked >= read.size {
                    let digest = std::mem::take(&mut read.md5).finalize().to_vec();
                    stub.read = None;
                    return Reply {
                        frames: vec![digest],
                        ..Reply::default()
                    };
                }
                return Reply {
                    frames: read.more(acked, flash),
                    ..Reply::default()
                };
            }
            stub.read = None;
        }
        let Ok(req) = Request::parse(frame) else {
            return Reply::default();
        };
        let op = req.op;
        let ok = |value: u32| Reply::one(Response::ok(op, value, Vec::new()));
        let fail = |e: StubError| Reply::one(Response::stub_fail(op, e));
        let done = |r: Result<(), StubError>| match r {
            Ok(()) => ok(0),
            Err(e) => fail(e),
        };
        let cmd = match Command::parse(&req) {
            Ok(c) => c,
            Err(e) => return fail(stub_error(e)),
        };
        match cmd {
            Command::Sync => Reply {
                responses: vec![Response::ok(op, 0, Vec::new()); 8],
                ..Reply::default()
            },
            Command::ReadReg { .. } | Command::WriteReg { .. } => {
                ok(self.register_access(&cmd, host_baud))
            }
            Command::FlashBegin(b) => done(self.stub_begin(b, flash, false)),
            Command::FlashDeflBegin(b) => done(self.stub_begin(b, flash, true)),
            Command::FlashData(block) => done(self.stub_block(block, flash, false)),
            Command::FlashDeflData(block) => done(self.stub_block(block, flash, true)),
            Command::FlashEnd { reboot } | Command::FlashDeflEnd { reboot } => {
                if self.flash_op.take().is_none() {
                    return fail(StubError::NotInFlashMode);
                }
                let reset = reboot.then_some(Action::ReloadRom);
                Reply::with_action(Response::ok(op, 0, Vec::new()), reset)
            }
            Command::MemBegin(b) => done(self.mem_begin(b).map_err(stub_error)),
            Command::MemData(block) => done(self.mem_block(&block).map_err(stub_error)),
            Command::MemEnd { .. } => {
                self.mem_op = None;
                ok(0)
            }
            Command::SpiSetParams { .. } | Command::SpiAttach { .. } => ok(0),
            Command::ChangeBaudrate { new, .. } => Reply::with_action(
                Response::ok(op, 0, Vec::new()),
                Some(Action::ChangeBaud(new)),
            ),
            Command::SpiFlashMd5 { addr, size } => match flash.read(addr, size) {
                Some(region) => Reply::one(Response::ok(op, 0, Md5::digest(region).to_vec())),
                None => fail(StubError::FailedSpiOp),
            },
            Command::EraseFlash => done(
                flash
                    .erase(0, flash.size())
                    .map_err(|_| StubError::FailedSpiOp),
            ),
            Command::EraseRegion { addr, size } => {
                if addr % FLASH_SECTOR_SIZE != 0 || size % FLASH_SECTOR_SIZE != 0 {
                    return fail(StubError::BadDataLen);
                }
                if u64::from(addr) + u64::from(size) > u64::from(flash.size()) {
                    return fail(StubError::FailedSpiOp);
                }
                done(flash.erase(addr, size).map_err(|_| StubError::FailedSpiOp))
            }
            Command::ReadFlash {
                addr,
                size,
                block_size,
                in_flight,
            } => self.start_read(op, addr, size, block_size, in_flight, flash),
            Command::RunUserCode => Reply::with_action(
                Response::ok(op, 0, Vec::new()),
                Some(Action::Boot {
                    run_user_code: true,
                }),
            ),
            Command::ReadFlashSlow { .. } | Command::GetSecurityInfo | Command::Unknown(_) => {
                fail(StubError::InvalidCommand)
            }
        }
    }

    fn start_read(
        &mut self,
        op: u8,
        addr: u32,
        size: u32,
        block: u32,
        in_flight: u32,
        flash: &Flash,
    ) -> Reply {
        if block == 0 || block > MAX_BLOCK || in_flight == 0 {
            return Reply::one(Response::stub_fail(op, StubError::BadBlocksize));
        }
        if u64::from(addr) + u64::from(size) > u64::from(flash.size()) {
            return Reply::one(Response::stub_fail(op, StubError::FailedSpiOp));
        }
        let mut read = Read {
            addr,
            size,
            block,
            in_flight,
            sent: 0,
            md5: Md5::new(),
        };
        let frames = if size == 0 {
            vec![read.md5.clone().finalize().to_vec()]
        } else {
            read.more(0, flash)
        };
        if size > 0
            && let Some(stub) = &mut self.stub
        {
            stub.read = Some(read);
        }
        Reply {
            responses: vec![Response::ok(op, 0, Vec::new())],
            frames,
            action: None,
        }
    }

    fn stub_begin(&mut self, b: Begin, flash: &Flash, deflate: bool) -> Result<(), StubError> {
        if b.blocks > 0 && (b.block_size == 0 || b.block_size > MAX_BLOCK) {
            return Err(StubError::BadBlocksize);
        }
        if u64::from(b.offset) + u64::from(b.size) > u64::from(flash.size()) {
            return Err(StubError::TooMuchData);
        }
        self.flash_op = Some(Transfer {
            begin: b,
            next_seq: 0,
            inflate: deflate.then(|| (Box::new(Decompress::new(true)), 0)),
            erased_to: Some(b.offset / FLASH_SECTOR_SIZE * FLASH_SECTOR_SIZE),
        });
        Ok(())
    }

    fn stub_block(
        &mut self,
        block: Block,
        flash: &mut Flash,
        deflate: bool,
    ) -> Result<(), StubError> {
        // esptool pads the last uncompressed block to the full block size; the stub writes it.
        self.flash_block(block, flash, deflate).map_err(stub_error)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::rom::command::payload;
    use crate::rom::packet::Op;
    use crate::rom::slip::FrameDecoder;

    fn frames(l: &Loader, o: &Reply) -> Vec<Vec<u8>> {
        FrameDecoder::default()
            .feed(&l.wire(o))
            .into_iter()
            .map(|f| f.unwrap())
            .collect()
    }

    /// A loader that has just started a stub, and what it sent when it did.
    fn started(chip: Chip) -> (Loader, Flash, Vec<Vec<u8>>) {
        let mut l = Loader::new(chip, [0; 6]);
        let mut f = Flash::new(chip);
        let begin = Request::new(Op::MemBegin, payload(&[4, 1, 0x1800, 0x4010_0000]));
        l.handle(&begin.encode(), &mut f, 115_200);
        let data = Request::data_block(Op::MemData, 0, &[1, 2, 3, 4]);
        l.handle(&data.encode(), &mut f, 115_200);
        let end = Request::new(Op::MemEnd, payload(&[0, 0x4010_0004]));
        let o = l.handle(&end.encode(), &mut f, 115_200);
        let sent = frames(&l, &o);
        (l, f, sent)
    }

    #[test]
    fn mem_end_with_an_entry_greets_and_stub_replies_have_two_status_bytes() {
        for chip in Chip::ALL {
            let (mut l, mut f, sent) = started(chip);
            // The ROM's MEM_END reply (ROM status length), then OHAI.
            assert_eq!(sent.len(), 2);
            assert_eq!(sent[0].len(), 8 + chip.status_len());
            assert_eq!(sent[1], b"OHAI");
            let sync = Request::new(Op::Sync, crate::rom::command::sync_payload());
            let o = l.handle(&sync.encode(), &mut f, 115_200);
            assert!(
                o.responses.iter().all(|r| r.value == 0),
                "stub SYNC value is 0"
            );
            let o = l.handle(
                &Request::new(Op::ReadFlashSlow, payload(&[0, 16])).encode(),
                &mut f,
                115_200,
            );
            let reply = &frames(&l, &o)[0];
            assert_eq!(reply.len(), 10, "{chip}: two status bytes");
            assert_eq!(&reply[8..], &[0xC3, 0x00], "invalid command, stub style");
        }
    }

    #[test]
    fn read_flash_keeps_the_window_and_ends_with_the_digest() {
        let (mut l, mut f, _) = started(Chip::Esp32);
        f.program(0x10000, &[0x5A; 0x3000]).unwrap();
        let ask = Request::new(Op::ReadFlash, payload(&[0x10000, 0x2800, 0x1000, 2]));
        let o = l.handle(&ask.encode(), &mut f, 115_200);
        let sent = frames(&l, &o);
        // The response, then two blocks (the window), not the third.
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[1], vec![0x5A; 0x1000]);
        let o = l.handle(&0x1000u32.to_le_bytes(), &mut f, 115_200);
        assert_eq!(o.frames, vec![vec![0x5A; 0x800]], "the short last block");
        l.handle(&0x2000u32.to_le_bytes(), &mut f, 115_200);
        let o = l.handle(&0x2800u32.to_le_bytes(), &mut f, 115_200);
        assert_eq!(o.frames, vec![Md5::digest([0x5A; 0x2800]).to_vec()]);
    }

    #[test]
    fn stub_writes_erase_only_the_sectors_they_reach() {
        let (mut l, mut f, _) = started(Chip::Esp8266);
        f.program(0x3000, &[0; 16]).unwrap();
        f.program(0x1000, &[0; 16]).unwrap();
        let begin = Request::new(Op::FlashBegin, payload(&[0x1800, 1, 0x4000, 0x2000, 0]));
        l.handle(&begin.encode(), &mut f, 115_200);
        let o = l.handle(
            &Request::data_block(Op::FlashData, 0, &[0xA5; 0x1800]).encode(),
            &mut f,
            115_200,
        );
        assert_eq!(o.responses[0].status, 0);
        assert_eq!(f.read(0x2000, 0x1800).unwrap(), &[0xA5; 0x1800][..]);
        assert_eq!(f.read(0x3800, 0x800).unwrap(), &[0xFF; 0x800][..]);
        assert_eq!(
            f.read(0x1000, 16).unwrap(),
            &[0; 16],
            "below the write: untouched"
        );
        // FLASH_END 1 keeps the stub; 0 resets into the ROM loader.
        let o = l.handle(
            &Request::new(Op::FlashEnd, payload(&[1])).encode(),
            &mut f,
            115_200,
        );
        assert_eq!(o.action, None);
        l.handle(&begin.encode(), &mut f, 115_200);
        let o = l.handle(
            &Request::new(Op::FlashEnd, payload(&[0])).encode(),
            &mut f,
            115_200,
        );
        assert_eq!(o.action, Some(Action::ReloadRom));
    }
}
