//! The ROM loader of the virtual board, sans-IO: a decoded SLIP frame in, response packets and a
//! board action out. It answers like the chip's own ROM, error codes and quirks included.

use std::collections::HashMap;

use flate2::{Decompress, FlushDecompress, Status};
use md5::{Digest, Md5};

use super::flash::{FLASH_ID, Flash};
use crate::rom::chip::{
    CHIP_DETECT_MAGIC_REG, Chip, FLASH_SECTOR_SIZE, SPI_CMD_USR, SPIFLASH_RDID,
};
use crate::rom::command::{Begin, Block, Command};
use crate::rom::packet::{Request, Response, RomError};
use crate::rom::slip;

/// What the SYNC responses carry in their value field (non-zero: "this is the ROM, not a stub").
pub const SYNC_VALUE: u32 = 0x2012_0707;

/// Something the board must do after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// FLASH_END / FLASH_DEFL_END: leave the loader and boot from flash. `run_user_code` is the
    /// "soft reset" flavour (esptool `--after soft-reset`); both boot the virtual board.
    Boot { run_user_code: bool },
    /// MEM_END with an entry point: the uploaded RAM code (a flasher stub) now runs; the loader
    /// speaks the stub protocol from here on (see [`stub`]).
    RunRam { entry: u32 },
    /// A stub's FLASH_END asking for a reboot: the chip resets into the ROM loader again
    /// (esptool's `--after no-reset` leaves the stub this way).
    ReloadRom,
    /// CHANGE_BAUDRATE: the UART switches speed after the reply.
    ChangeBaud(u32),
}

/// The answer to one frame.
#[derive(Debug, Default)]
pub struct Reply {
    pub responses: Vec<Response>,
    /// Bare SLIP frames sent after the responses (the stub's `OHAI`, READ_FLASH data, digest).
    pub frames: Vec<Vec<u8>>,
    pub action: Option<Action>,
}

impl Reply {
    fn one(r: Response) -> Self {
        Reply {
            responses: vec![r],
            ..Reply::default()
        }
    }

    fn with_action(r: Response, action: Option<Action>) -> Self {
        Reply {
            responses: vec![r],
            frames: Vec::new(),
            action,
        }
    }
}

#[derive(Debug)]
struct Transfer {
    begin: Begin,
    next_seq: u32,
    /// Deflate transfers: the inflater and how many bytes it has produced.
    inflate: Option<(Box<Decompress>, u32)>,
    /// Stub transfers erase as they write: everything below this address is erased.
    erased_to: Option<u32>,
}

/// The loader state of one board.
#[derive(Debug)]
pub struct Loader {
    chip: Chip,
    regs: HashMap<u32, u32>,
    flash_op: Option<Transfer>,
    mem_op: Option<Transfer>,
    /// The board's MAC address (OTP / eFuse).
    mac: [u8; 6],
    /// Set once a flasher stub has been uploaded and started.
    stub: Option<stub::Stub>,
}

/// Register values a fresh board reads back (OTP words, eFuses, calibration).
fn initial_regs(chip: Chip, mac: [u8; 6]) -> HashMap<u32, u32> {
    let mut r = HashMap::new();
    match chip {
        Chip::Esp8266 => {
            // esptool read_mac: OUI from MAC3 if set, else 18:FE:34 when MAC1[23:16] == 0; the
            // last three bytes are MAC1[15:8], MAC1[7:0], MAC0[31:24].
            r.insert(0x3FF0_0050, u32::from(mac[5]) << 24);
            r.insert(0x3FF0_0054, u32::from(mac[3]) << 8 | u32::from(mac[4]));
            r.insert(0x3FF0_0058, 0);
            r.insert(0x3FF0_005C, 0);
        }
        Chip::Esp32 => {
            let e = |n: u32| 0x3FF5_A000 + 4 * n;
            r.insert(e(0), 0);
            r.insert(e(1), u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]));
            r.insert(e(2), u32::from(mac[0]) << 8 | u32::from(mac[1]));
            // Package D0WD (pkg 1), revision bit 0 (word3 bit 15) ...
            r.insert(e(3), (1 << 9) | (1 << 15));
            // ... CK8M calibration for esptool's ROM crystal estimate ...
            r.insert(e(4), 100);
            // ... revision bit 1 (word5 bit 20) ...
            r.insert(e(5), 1 << 20);
            // ... and bit 2 in APB_CTL_DATE: together chip revision v3.0, an ESP32-D0WD-V3.
            r.insert(0x3FF6_607C, 1 << 31);
            // RTC calibration: 1024 × 15625 × 100 / 40 = 40 MHz.
            r.insert(0x3FF5_F06C, 1024 << 7);
        }
    }
    r
}

impl Loader {
    /// A loader that has just come out of reset.
    pub fn new(chip: Chip, mac: [u8; 6]) -> Self {
        Loader {
            chip,
            regs: initial_regs(chip, mac),
            flash_op: None,
            mem_op: None,
            mac,
            stub: None,
        }
    }

    /// The chip this loader is.
    pub fn chip(&self) -> Chip {
        self.chip
    }

    /// The board's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Whether a flasher stub is running (it answers instead of the ROM).
    pub fn stub_running(&self) -> bool {
        self.stub.is_some()
    }

    /// Encode responses and frames as the wire bytes the board sends. The stubs send two status
    /// bytes on every chip; the ESP32 ROM sends four.
    pub fn wire(&self, outcome: &Reply) -> Vec<u8> {
        let status_len = if self.stub.is_some() {
            2
        } else {
            self.chip.status_len()
        };
        let responses = outcome
            .responses
            .iter()
            .flat_map(|r| slip::encode(&r.encode(status_len)));
        let frames = outcome.frames.iter().flat_map(|f| slip::encode(f));
        responses.chain(frames).collect()
    }

    fn read_reg(&self, addr: u32, host_baud: u32) -> u32 {
        let spi = self.chip.spi_regs();
        let addr = self.chip.canonical_reg(addr);
        if addr == CHIP_DETECT_MAGIC_REG {
            return self.chip.magic();
        }
        if addr == self.chip.canonical_reg(self.chip.uart_date_reg()) {
            return self.chip.uart_date();
        }
        if addr == self.chip.uart_clkdiv_reg() {
            // The tools estimate the crystal as baud × divider; answer so they find ours.
            let hz = u64::from(self.chip.crystal_hz()) * u64::from(self.chip.xtal_clk_divider());
            return (hz / u64::from(host_baud.max(1))) as u32 & 0xF_FFFF;
        }
        let v = self.regs.get(&addr).copied().unwrap_or(0);
        if addr == spi.cmd { v & !SPI_CMD_USR } else { v }
    }

    fn write_reg(&mut self, addr: u32, value: u32, mask: u32) {
        let addr = self.chip.canonical_reg(addr);
        let old = self.regs.get(&addr).copied().unwrap_or(0);
        let new = (old & !mask) | (value & mask);
        self.regs.insert(addr, new);
        let spi = self.chip.spi_regs();
        if addr == spi.cmd && new & SPI_CMD_USR != 0 {
            // A SPI "user command": the command byte sits in USR2's low bits.
            let command = self.regs.get(&spi.usr2).copied().unwrap_or(0) & 0xFF;
            let answer = if command == u32::from(SPIFLASH_RDID) {
                FLASH_ID
            } else {
                // Status registers read as 0 (not busy, not protected); other commands are
                // accepted and do nothing.
                0
            };
            self.regs.insert(spi.w0, answer);
            self.regs.insert(addr, new & !SPI_CMD_USR);
        }
    }

    /// READ_REG and WRITE_REG, which the ROM and the stubs answer alike: the response value.
    fn register_access(&mut self, cmd: &Command, host_baud: u32) -> u32 {
        match *cmd {
            Command::ReadReg { addr } => self.read_reg(addr, host_baud),
            Command::WriteReg {
                addr, value, mask, ..
            } => {
                self.write_reg(addr, value, mask);
                0
            }
            _ => 0,
        }
    }

    /// Answer one decoded SLIP frame. `host_baud` is the speed the host's UART runs at (the
    /// virtual board reads it from the pty); it only matters for UART_CLKDIV.
    pub fn handle(&mut self, frame: &[u8], flash: &mut Flash, host_baud: u32) -> Reply {
        if self.stub.is_some() {
            return self.handle_stub(frame, flash, host_baud);
        }
        let req = match Request::parse(frame) {
            Ok(r) => r,
            Err(_) => {
                // Something with a request header but a broken length: the ROM can still tell
                // which command it was and says the message is invalid. Anything else is noise.
                return match frame {
                    [0, op, ..] if frame.len() >= 8 => {
                        Reply::one(Response::fail(*op, RomError::InvalidMessage))
                    }
                    _ => Reply::default(),
                };
            }
        };
        let op = req.op;
        let cmd = match Command::parse(&req) {
            Ok(c) => c,
            Err(e) => return Reply::one(Response::fail(op, e)),
        };
        let extended = self.chip.rom_has_extended_commands();
        let ok = |value: u32| Reply::one(Response::ok(op, value, Vec::new()));
        let fail = |e: RomError| Reply::one(Response::fail(op, e));
        match cmd {
            Command::Sync => Reply {
                // The ROM answers a SYNC eight times; the tools read them all.
                responses: vec![Response::ok(op, SYNC_VALUE, Vec::new()); 8],
                ..Reply::default()
            },
            Command::ReadReg { .. } | Command::WriteReg { .. } => {
                ok(self.register_access(&cmd, host_baud))
            }
            Command::FlashBegin(b) => match self.begin_flash(b, flash, false) {
                Ok(()) => ok(0),
                Err(e) => fail(e),
            },
            Command::FlashDeflBegin(b) if extended => match self.begin_flash(b, flash, true) {
                Ok(()) => ok(0),
                Err(e) => fail(e),
            },
            Command::FlashData(block) => match self.flash_block(block, flash, false) {
                Ok(()) => ok(0),
                Err(e) => fail(e),
            },
            Command::FlashDeflData(block) if extended => {
                match self.flash_block(block, flash, true) {
                    Ok(()) => ok(0),
                    Err(e) => fail(e),
                }
            }
            Command::FlashEnd { reboot } => {
                self.flash_op = None;
                let boot = Action::Boot {
                    run_user_code: !reboot,
                };
                Reply::with_action(Response::ok(op, 0, Vec::new()), Some(boot))
            }
            Command::FlashDeflEnd { reboot } if extended => {
                self.flash_op = None;
                let boot = Action::Boot {
                    run_user_code: !reboot,
                };
                Reply::with_action(Response::ok(op, 0, Vec::new()), Some(boot))
            }
            Command::MemBegin(b) => match self.mem_begin(b) {
                Ok(()) => ok(0),
                Err(e) => fail(e),
            },
            Command::MemData(block) => match self.mem_block(&block) {
                Ok(()) => ok(0),
                Err(e) => fail(e),
            },
            Command::MemEnd { no_entry, entry } => {
                self.mem_op = None;
                if no_entry || entry == 0 {
                    return ok(0);
                }
                // The code just uploaded starts; a flasher stub greets the host with `OHAI`.
                // The reply still comes from the ROM (its status length), the greeting from the stub.
                let reply = Response::ok(op, 0, Vec::new()).encode(self.chip.status_len());
                self.stub = Some(stub::Stub::default());
                Reply {
                    responses: Vec::new(),
                    frames: vec![reply, stub::GREETING.to_vec()],
                    action: Some(Action::RunRam { entry }),
                }
            }
            Command::SpiSetParams { .. } | Command::SpiAttach { .. } if extended => ok(0),
            Command::ChangeBaudrate { new, .. } if extended => Reply::with_action(
                Response::ok(op, 0, Vec::new()),
                Some(Action::ChangeBaud(new)),
            ),
            Command::SpiFlashMd5 { addr, size } if extended => match flash.read(addr, size) {
                Some(region) => {
                    let hex = hex::encode(Md5::digest(region));
                    Reply::one(Response::ok(op, 0, hex.into_bytes()))
                }
                None => fail(RomError::InvalidMessage),
            },
            Command::ReadFlashSlow { addr, size } if extended => {
                // The ROM always answers a 64-byte buffer.
                if size > 64 {
                    return fail(RomError::InvalidMessage);
                }
                match flash.read(addr, size) {
                    Some(region) => {
                        let mut data = region.to_vec();
                        data.resize(64, 0);
                        Reply::one(Response::ok(op, 0, data))
                    }
                    None => fail(RomError::FlashRead),
                }
            }
            // GET_SECURITY_INFO is rejected by both ROMs; RUN_USER_CODE is stub-only; the ESP8266
            // ROM has none of the extended commands.
            _ => fail(RomError::InvalidMessage),
        }
    }

    fn mem_begin(&mut self, b: Begin) -> Result<(), RomError> {
        if b.blocks > 0 && (b.block_size == 0 || b.block_size > 0x4000) {
            return Err(RomError::InvalidMessage);
        }
        self.mem_op = Some(Transfer {
            begin: b,
            next_seq: 0,
            inflate: None,
            erased_to: None,
        });
        Ok(())
    }

    fn mem_block(&mut self, block: &Block) -> Result<(), RomError> {
        let t = self.mem_op.as_mut().ok_or(RomError::Failed)?;
        if block.seq != t.next_seq || block.seq >= t.begin.blocks {
            return Err(RomError::Failed);
        }
        if block.data.len() as u32 > t.begin.block_size {
            return Err(RomError::InvalidMessage);
        }
        t.next_seq += 1;
        Ok(())
    }

    fn begin_flash(&mut self, b: Begin, flash: &mut Flash, deflate: bool) -> Result<(), RomError> {
        if b.blocks > 0 && (b.block_size == 0 || b.block_size > 0x4000) {
            return Err(RomError::InvalidMessage);
        }
        let span = if deflate {
            u64::from(b.size)
        } else {
            // esptool's ESP8266 ROM workaround sends a smaller erase size than it writes; erase
            // what will be written so the result is the same as on the chip.
            u64::from(b.size).max(u64::from(b.blocks) * u64::from(b.block_size))
        };
        if u64::from(b.offset) + span > u64::from(flash.size()) {
            return Err(RomError::Failed);
        }
        flash
            .erase(b.offset, span as u32)
            .map_err(|_| RomError::FlashWrite)?;
        self.flash_op = Some(Transfer {
            begin: b,
            next_seq: 0,
            inflate: deflate.then(|| (Box::new(Decompress::new(true)), 0)),
            erased_to: None,
        });
        Ok(())
    }

    fn flash_block(
        &mut self,
        block: Block,
        flash: &mut Flash,
        deflate: bool,
    ) -> Result<(), RomError> {
        let t = self.flash_op.as_mut().ok_or(RomError::Failed)?;
        if t.inflate.is_some() != deflate {
            return Err(RomError::Failed);
        }
        // A block re-sent after a lost reply (the tools retry) is written again, harmlessly.
        let resend = t.next_seq.checked_sub(1) == Some(block.seq) && !deflate;
        if (block.seq != t.next_seq && !resend) || block.seq >= t.begin.blocks {
            return Err(RomError::Failed);
        }
        if block.data.len() as u32 > t.begin.block_size {
            return Err(RomError::InvalidMessage);
        }
        match &mut t.inflate {
            None => {
                let at = u64::from(t.begin.offset)
                    + u64::from(block.seq) * u64::from(t.begin.block_size);
                let at = u32::try_from(at).map_err(|_| RomError::FlashWrite)?;
                write(&mut t.erased_to, flash, at, &block.data)?;
            }
            Some((z, produced)) => {
                let mut input = &block.data[..];
                let mut buf = vec![0u8; 0x4000];
                loop {
                    let before_in = z.total_in();
                    let before_out = z.total_out();
                    let status = z
                        .decompress(input, &mut buf, FlushDecompress::None)
                        .map_err(|_| RomError::Deflate)?;
                    let used = (z.total_in() - before_in) as usize;
                    let made = (z.total_out() - before_out) as usize;
                    input = &input[used..];
                    if made > 0 {
                        if u64::from(*produced) + made as u64 > u64::from(t.begin.size) {
                            return Err(RomError::Deflate);
                        }
                        let at = t.begin.offset + *produced;
                        write(&mut t.erased_to, flash, at, &buf[..made])?;
                        *produced += made as u32;
                    }
                    if status == Status::StreamEnd || (input.is_empty() && made < buf.len()) {
                        break;
                    }
                    if used == 0 && made == 0 {
                        break;
                    }
                }
            }
        }
        if !resend {
            t.next_seq += 1;
        }
        Ok(())
    }
}

/// Program `bytes` at `at`; a stub transfer (`erased_to` set) first erases the sectors it reaches.
fn write(
    erased_to: &mut Option<u32>,
    flash: &mut Flash,
    at: u32,
    bytes: &[u8],
) -> Result<(), RomError> {
    let end = u64::from(at) + bytes.len() as u64;
    if let Some(done) = erased_to
        && end > u64::from(*done)
    {
        let from = (*done).max(at);
        let len = u32::try_from(end - u64::from(from)).map_err(|_| RomError::FlashWrite)?;
        flash.erase(from, len).map_err(|_| RomError::FlashWrite)?;
        let sector = u64::from(FLASH_SECTOR_SIZE);
        *done = u32::try_from(end.div_ceil(sector) * sector).unwrap_or(u32::MAX);
    }
    flash.program(at, bytes).map_err(|_| RomError::FlashWrite)
}

#[path = "stub.rs"]
pub mod stub;

#[cfg(test)]
#[path = "loader_tests.rs"]
mod tests;
