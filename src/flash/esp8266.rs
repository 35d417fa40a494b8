//! The ESP8266 plan, straight on the ROM loader through espflash's command layer: FLASH_BEGIN(0,0)
//! to attach the flash, RDID for its size, FLASH_BEGIN / 0x400-byte FLASH_DATA blocks, and
//! FLASH_END. The ESP8266 ROM has no MD5 and no deflate, so nothing is compressed or verified.

use espflash::command::{Command, CommandType};
use espflash::connection::Connection;

use super::{Ctx, FlashError, Flashed, Input, Progress, Restart, step};
use crate::rom::Chip;
use crate::rom::chip::{FLASH_SECTOR_SIZE, ROM_FLASH_WRITE_SIZE, SPI_CMD_USR, SPIFLASH_RDID};

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
    let images: &[(u32, &[u8])] = match firmware {
        Input::Bin { data, addr } => {
            one = [(addr.unwrap_or(0), data)];
            &one
        }
        Input::Bins(images) => images,
        Input::Elf(_) => {
            return Err(FlashError::Input(
                "the ESP8266 takes a .bin image (the Arduino IDE's \"Export compiled binary\"); \
                 ELF conversion is only done for the ESP32 family"
                    .to_owned(),
            ));
        }
    };
    if images.is_empty() || images.iter().any(|(_, d)| d.is_empty()) {
        return Err(FlashError::Input("the image is empty".to_owned()));
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
    let mut written = 0;
    for &(addr, data) in images {
        written += write_image(&mut conn, addr, data, progress)?;
    }
    progress.finish();
    match ctx.restart {
        Restart::RomReboot => {
            progress.step("rebooting through the ROM (FLASH_END)");
            conn.with_timeout(CommandType::FlashEnd.timeout(), |c| {
                c.command(Command::FlashEnd { reboot: true })
            })
            .map_err(step("rebooting (FLASH_END)"))?;
        }
        Restart::ResetLine => {
            progress.step("hard resetting via RTS");
            conn.reset().map_err(step("hard reset (RTS)"))?;
        }
        Restart::None => {}
    }
    Ok(Flashed {
        port: conn.into_serial(),
        chip: "ESP8266".to_owned(),
        bytes: written,
        verified: false,
        restart: ctx.restart,
        no_reset_lines: ctx.no_reset_lines,
    })
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
