//! The ESP8266 plan, through espflash's command layer (espflash's `Flasher` dropped the ESP8266).
//!
//! With a stub (see [`super::stub`]): upload it through the ROM, wait for `OHAI`, move to the
//! flashing baud ([`super::baud::raise`]), RDID for the flash size, FLASH_DEFL_BEGIN / 16 KiB
//! FLASH_DEFL_DATA blocks of zlib data (plain FLASH_DATA when deflate does not shrink the
//! image), SPI_FLASH_MD5 against the image's MD5, and RUN_USER_CODE (or the reset line).
//!
//! Without one, the ROM as it is: FLASH_BEGIN(0,0) to attach the flash, RDID, FLASH_BEGIN /
//! 0x400-byte FLASH_DATA blocks at 115200, FLASH_END. The ESP8266 ROM can neither change baud
//! nor inflate, and has no MD5, so nothing is compressed or verified then.

use espflash::command::{Command, CommandType};
use espflash::connection::Connection;

use md5::{Digest, Md5};

use super::baud::{self, ROM_BAUD};
use super::esp8266_image;
use super::stub::{self, StubSearch, deflate};
use super::{Ctx, FlashError, Flashed, Input, Progress, Restart, step};
use crate::rom::Chip;
use crate::rom::chip::{FLASH_SECTOR_SIZE, ROM_FLASH_WRITE_SIZE, SPI_CMD_USR, SPIFLASH_RDID};

/// The stubs' data block size (esptool's stub `FLASH_WRITE_SIZE`).
const STUB_BLOCK: usize = 0x4000;

/// esptool's workaround for the ESP8266 ROM's erase bug (`ESP8266ROM.get_erase_size`): the ROM
/// erases roughly twice what it is asked for at the start of a 64 KB block, so ask for less.
pub fn rom_erase_size(offset: u32, size: u32) -> u32 {
    let sectors_per_block = 16;
    let num_sectors = size.div_ceil(FLASH_SECTOR_SIZE);
    let start_sector = offset / FLASH_SECTOR_SIZE;
    let head = (sectors_per_block - start_sector % sectors_per_block).min(num_sectors);
    if num_sectors < 2 * head {
        num_sectors.div_ceil(2) * FLASH_SECTOR_SIZE
    } else {
        (num_sectors - head) * FLASH_SECTOR_SIZE
    }
}

/// RDID through the SPI user-command registers, as esptool's `run_spiflash_command` does.
fn flash_id(conn: &mut Connection) -> Result<u32, espflash::Error> {
    let spi = Chip::Esp8266.spi_regs();
    let old_usr = conn.read_reg(spi.usr)?;
    let old_usr2 = conn.read_reg(spi.usr2)?;
    // 24 bits back on MISO: the length lives in USR1 bits 8.. on the ESP8266.
    conn.write_reg(spi.usr1, 23 << 8, None)?;
    conn.write_reg(spi.usr, 1 << 31 | 1 << 28, None)?;
    conn.write_reg(spi.usr2, 7 << 28 | u32::from(SPIFLASH_RDID), None)?;
    conn.write_reg(spi.w0, 0, None)?;
    conn.write_reg(spi.cmd, SPI_CMD_USR, None)?;
    let mut done = false;
    for _ in 0..10 {
        if conn.read_reg(spi.cmd)? & SPI_CMD_USR == 0 {
            done = true;
            break;
        }
    }
    let id = conn.read_reg(spi.w0)?;
    conn.write_reg(spi.usr, old_usr, None)?;
    conn.write_reg(spi.usr2, old_usr2, None)?;
    if !done {
        return Err(espflash::Error::InvalidResponse(
            "SPI flash command did not complete".to_owned(),
        ));
    }
    Ok(id & 0xFF_FFFF)
}

pub(super) fn flash(
    mut conn: Connection,
    firmware: Input<'_>,
    ctx: &Ctx<'_>,
    progress: &mut dyn Progress,
) -> Result<Flashed, FlashError> {
    let one;
    let converted: Vec<(u32, Vec<u8>)>;
    let refs: Vec<(u32, &[u8])>;
    let images: &[(u32, &[u8])] = match firmware {
        Input::Bin { data, addr } => {
            one = [(addr.unwrap_or(0), data)];
            &one
        }
        Input::Bins(images) => images,
        Input::Elf(elf) => {
            // As esptool's `elf2image --chip esp8266` makes it.
            converted = esp8266_image::from_elf(elf)
                .map_err(|reason| FlashError::Input(format!("ESP8266 ELF: {reason}")))?;
            refs = converted.iter().map(|(a, d)| (*a, d.as_slice())).collect();
            let parts: Vec<String> = refs
                .iter()
                .map(|(a, d)| format!("{} bytes at {a:#x}", d.len()))
                .collect();
            progress.note(&format!(
                "ESP8266 ELF converted as esptool's elf2image does: {}",
                parts.join(", ")
            ));
            &refs
        }
    };
    if images.is_empty() || images.iter().any(|(_, d)| d.is_empty()) {
        return Err(FlashError::Input("the image is empty".to_owned()));
    }
    let search = if ctx.opts.stub {
        &ctx.opts.esp8266_stub
    } else {
        &StubSearch::Never
    };
    // A stub an earlier flash left running (its SYNC said so) is used as it is.
    let stub = if ctx.stub_running {
        None
    } else {
        stub::find(search)?
    };
    let on_stub = ctx.stub_running || stub.is_some();
    let mut at = ROM_BAUD;
    if on_stub {
        if let Some(stub) = &stub {
            progress.step("ESP8266: uploading the flasher stub");
            stub::run(&mut conn, stub)?;
        }
        at = baud::raise(&mut conn, ctx.line, true, ctx.opts.baud, progress).map_err(|reason| {
            FlashError::Step {
                step: "changing the baud rate",
                reason,
            }
        })?;
    } else {
        if *search == StubSearch::Installed {
            progress.note(&rom_only_advice(images, ctx.opts.baud));
        }
        progress.step("ESP8266: attaching SPI flash");
        // The ESP8266 ROM has no SPI_ATTACH: FLASH_BEGIN(0, 0) attaches the flash.
        conn.with_timeout(CommandType::FlashBegin.timeout(), |c| {
            c.command(Command::FlashBegin {
                size: 0,
                blocks: 0,
                block_size: ROM_FLASH_WRITE_SIZE,
                offset: 0,
                supports_encryption: false,
            })
        })
        .map_err(step("attaching the SPI flash (FLASH_BEGIN 0,0)"))?;
    }
    let id = flash_id(&mut conn).map_err(step("reading the flash ID"))?;
    let size_id = (id >> 16) & 0xFF;
    let flash_size: u64 = if (0x12..=0x19).contains(&size_id) {
        1 << size_id
    } else {
        4 << 20
    };
    for &(addr, data) in images {
        if u64::from(addr) + data.len() as u64 > flash_size {
            return Err(FlashError::Input(format!(
                "{} bytes at {addr:#x} do not fit in the board's {} KB flash",
                data.len(),
                flash_size / 1024
            )));
        }
    }
    let (mut written, mut sent) = (0, 0);
    for &(addr, data) in images {
        let (w, s) = if on_stub {
            write_image_stub(&mut conn, addr, data, progress)?
        } else {
            let w = write_image(&mut conn, addr, data, progress)?;
            (w, w)
        };
        written += w;
        sent += s;
    }
    progress.finish();
    // The board's first line comes at its own rate: the port is there by the time it restarts.
    let monitor = ctx.opts.monitor_baud;
    match (ctx.restart, on_stub) {
        (Restart::RomReboot, false) => {
            progress.step("rebooting through the ROM (FLASH_END)");
            conn.with_timeout(CommandType::FlashEnd.timeout(), |c| {
                c.command(Command::FlashEnd { reboot: true })
            })
            .map_err(step("rebooting (FLASH_END)"))?;
            let _ = ctx.line.set_baud(&mut conn, monitor);
        }
        (Restart::RomReboot, true) => {
            progress.step("starting the app through the stub (RUN_USER_CODE)");
            // The stub goes to the monitor rate first, so the port already listens there when
            // the app starts. No reply is awaited: whatever follows is the boot output.
            baud::lower(&mut conn, ctx.line, at, monitor).map_err(|reason| FlashError::Step {
                step: "returning to the monitor baud",
                reason,
            })?;
            conn.write_command(Command::RunUserCode)
                .map_err(step("starting the app (RUN_USER_CODE)"))?;
        }
        (Restart::ResetLine, _) => {
            progress.step("hard resetting via RTS");
            let _ = ctx.line.set_baud(&mut conn, monitor);
            conn.reset().map_err(step("hard reset (RTS)"))?;
        }
        (Restart::None, _) => {}
    }
    Ok(Flashed {
        port: conn.into_serial(),
        chip: "ESP8266".to_owned(),
        bytes: written,
        verified: on_stub,
        loader: match &stub {
            Some(s) => format!("the stub {}", s.path.display()),
            None if on_stub => "the stub already running".to_owned(),
            None => "the ROM".to_owned(),
        },
        on_stub,
        baud: at,
        sent,
        restart: ctx.restart,
        no_reset_lines: ctx.no_reset_lines,
    })
}

/// What staying on the ROM costs for these images, and how to get the stub: said once.
fn rom_only_advice(images: &[(u32, &[u8])], asked: u32) -> String {
    let raw: usize = images.iter().map(|(_, d)| d.len()).sum();
    let packed: usize = images
        .iter()
        .map(|(_, d)| deflate(d).len().min(d.len()))
        .sum();
    let rate = asked.max(ROM_BAUD);
    let factor = (raw as f64 / f64::from(ROM_BAUD)) / (packed.max(1) as f64 / f64::from(rate));
    format!(
        "no ESP8266 flasher stub found: flashing through the ROM at {ROM_BAUD} baud without \
         compression; with esp-flasher-stub at {rate} baud this would be about {factor:.0}× faster. \
         Install esptool 5 (`pip install esptool`), or give --stub FILE or ESPCHECK_STUB \
         (esptool's targets/stub_flasher/2/esp8266.json)"
    )
}

/// Write one image through the stub: compressed when deflate shrinks it (FLASH_DEFL_*), else
/// plain 16 KiB blocks; then the stub's MD5 of the region against ours. Returns the image's bytes
/// and the bytes that crossed the line.
fn write_image_stub(
    conn: &mut Connection,
    addr: u32,
    data: &[u8],
    progress: &mut dyn Progress,
) -> Result<(usize, usize), FlashError> {
    let packed = deflate(data);
    let compress = packed.len() < data.len();
    let payload: &[u8] = if compress { &packed } else { data };
    let blocks = payload.len().div_ceil(STUB_BLOCK);
    let size = data.len() as u32;
    let begin = if compress {
        Command::FlashDeflBegin {
            size,
            blocks: blocks as u32,
            block_size: STUB_BLOCK as u32,
            offset: addr,
            supports_encryption: true,
        }
    } else {
        Command::FlashBegin {
            size,
            blocks: blocks as u32,
            block_size: STUB_BLOCK as u32,
            offset: addr,
            supports_encryption: true,
        }
    };
    progress.step(if compress {
        "writing (compressed)"
    } else {
        "writing (deflate would not shrink it)"
    });
    // The stub erases as it writes: the begin is quick.
    conn.with_timeout(CommandType::FlashDeflBegin.timeout(), |c| c.command(begin))
        .map_err(step("starting the write (FLASH_DEFL_BEGIN)"))?;
    progress.begin(addr, blocks);
    for (seq, block) in payload.chunks(STUB_BLOCK).enumerate() {
        // Each block may expand to this much flash work (erase and program).
        let span = (block.len() as u64 * data.len() as u64 / payload.len() as u64) as u32;
        let timeout = CommandType::FlashDeflData.timeout_for_size(span.max(STUB_BLOCK as u32));
        let mut last = Ok(());
        for _ in 0..3 {
            let cmd = if compress {
                Command::FlashDeflData {
                    data: block,
                    pad_to: 0,
                    pad_byte: 0xFF,
                    sequence: seq as u32,
                }
            } else {
                Command::FlashData {
                    data: block,
                    pad_to: block.len().next_multiple_of(4),
                    pad_byte: 0xFF,
                    sequence: seq as u32,
                }
            };
            last = conn.with_timeout(timeout, |c| c.command(cmd)).map(|_| ());
            if last.is_ok() {
                break;
            }
        }
        last.map_err(step(if compress {
            "writing (FLASH_DEFL_DATA)"
        } else {
            "writing (FLASH_DATA)"
        }))?;
        progress.advance(seq + 1);
    }
    progress.verifying();
    // The stub acknowledges a block before it is in flash; the MD5 waits for the last write.
    let theirs: u128 = conn
        .with_timeout(CommandType::FlashMd5.timeout_for_size(size), |c| {
            c.command(Command::FlashMd5 { offset: addr, size })
        })
        .and_then(TryInto::try_into)
        .map_err(step("verifying (SPI_FLASH_MD5)"))?;
    let ours: [u8; 16] = Md5::digest(data).into();
    if theirs.to_be_bytes() != ours {
        return Err(FlashError::Step {
            step: "verifying (SPI_FLASH_MD5)",
            reason: format!(
                "the flash at {addr:#x} has MD5 {theirs:032x}, the image {}",
                hex::encode(ours)
            ),
        });
    }
    Ok((data.len(), payload.len()))
}

/// Erase and write one image at `addr` in 0x400-byte blocks; returns the bytes sent (padded).
fn write_image(
    conn: &mut Connection,
    addr: u32,
    data: &[u8],
    progress: &mut dyn Progress,
) -> Result<usize, FlashError> {
    let size = data.len() as u32;
    let blocks = size.div_ceil(ROM_FLASH_WRITE_SIZE);
    progress.step("erasing");
    conn.with_timeout(CommandType::FlashBegin.timeout_for_size(size), |c| {
        c.command(Command::FlashBegin {
            size: rom_erase_size(addr, size),
            blocks,
            block_size: ROM_FLASH_WRITE_SIZE,
            offset: addr,
            supports_encryption: false,
        })
    })
    .map_err(step("erasing (FLASH_BEGIN)"))?;
    progress.begin(addr, blocks as usize);
    for (seq, block) in data.chunks(ROM_FLASH_WRITE_SIZE as usize).enumerate() {
        let mut last = None;
        // Like esptool, retry a block a couple of times: the ROM accepts a re-sent block.
        for _ in 0..3 {
            let r = conn.with_timeout(
                CommandType::FlashData.timeout_for_size(ROM_FLASH_WRITE_SIZE),
                |c| {
                    c.command(Command::FlashData {
                        data: block,
                        pad_to: ROM_FLASH_WRITE_SIZE as usize,
                        pad_byte: 0xFF,
                        sequence: seq as u32,
                    })
                },
            );
            last = Some(r);
            if matches!(last, Some(Ok(_))) {
                break;
            }
        }
        if let Some(Err(e)) = last {
            return Err(step("writing (FLASH_DATA)")(e));
        }
        progress.advance(seq + 1);
    }
    Ok((blocks * ROM_FLASH_WRITE_SIZE) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erase_size_matches_esptool() {
        // Values from esptool's ESP8266ROM.get_erase_size.
        assert_eq!(rom_erase_size(0, 0x1000), 0x1000);
        assert_eq!(rom_erase_size(0, 0x10000), 0x8000);
        assert_eq!(rom_erase_size(0, 0x100000), 0xF0000);
        assert_eq!(rom_erase_size(0x3000, 0x2000), 0x1000);
    }
}
