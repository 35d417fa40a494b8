//! The ESP32-family plan, through espflash's `Flasher`: its RAM stub (unless `--no-stub`), chip
//! detection, SPI attach and flash-size detection, the flashing baud ([`super::baud::raise`]),
//! the stub's compressed 16 KiB blocks (plain ones when deflate does not shrink a segment; the
//! ROM's 0x400-byte blocks with `--no-stub`), MD5 verification, and the restart: the reset line,
//! or on a port without one RUN_USER_CODE through the stub (FLASH_END through the ROM).

use espflash::connection::Connection;
use espflash::flasher::{FlashData, FlashSettings, Flasher};
use espflash::image_format::idf::IdfBootloaderFormat;
use espflash::image_format::{ImageFormat, Segment};
use espflash::target::XtalFrequency;

use super::progress::Adapter;
use espflash::command::{Command, CommandType};

use crate::rom::chip::ROM_FLASH_WRITE_SIZE;

use super::{Ctx, FlashError, Flashed, Input, Progress, Restart, baud, step, stub};

pub(super) fn flash(
    mut conn: Connection,
    firmware: Input<'_>,
    ctx: &Ctx<'_>,
    progress: &mut dyn Progress,
) -> Result<Flashed, FlashError> {
    if ctx.stub_running {
        // espflash always uploads its stub: send the one an earlier flash left running back to
        // the ROM loader first (esptool's soft reset that stays in the loader).
        progress.step("returning the running stub to the ROM loader");
        conn.with_timeout(CommandType::FlashBegin.timeout(), |c| {
            c.command(Command::FlashBegin {
                size: 0,
                blocks: 0,
                block_size: ROM_FLASH_WRITE_SIZE,
                offset: 0,
                supports_encryption: true,
            })
        })
        .map_err(step("leaving the running stub (FLASH_BEGIN 0,0)"))?;
        conn.with_timeout(CommandType::FlashEnd.timeout(), |c| {
            c.command(Command::FlashEnd { reboot: true })
        })
        .map_err(step("leaving the running stub (FLASH_END)"))?;
        let _ = ctx.line.set_baud(&mut conn, baud::ROM_BAUD);
        let name = ctx.opts.port.display().to_string();
        super::sync(
            &mut conn,
            super::Before::NoReset,
            ctx.line,
            ctx.opts.timeout,
            &name,
            baud::ROM_BAUD,
        )?;
    }
    progress.step("detecting the chip and its flash");
    let use_stub = ctx.opts.stub;
    let mut flasher = Flasher::connect(conn, use_stub, true, false, None, None)
        .map_err(step("connecting to the loader"))?;
    let at = baud::raise(
        flasher.connection(),
        ctx.line,
        use_stub,
        ctx.opts.baud,
        progress,
    )
    .map_err(|reason| FlashError::Step {
        step: "changing the baud rate",
        reason,
    })?;
    let chip = flasher.chip();
    let mut adapter = Adapter(progress);
    // What crosses the line: espflash's stub sends a segment deflated when that shrinks it.
    let on_line = |data: &[u8]| {
        if use_stub {
            stub::deflate(data).len().min(data.len())
        } else {
            data.len()
        }
    };
    let sent;
    let bytes = match firmware {
        Input::Bin { data, addr } => {
            let addr = addr.unwrap_or(0x10000);
            flasher
                .write_bin_to_flash(addr, data, &mut adapter)
                .map_err(step("writing"))?;
            sent = on_line(data);
            data.len()
        }
        Input::Bins(images) => {
            let segments: Vec<Segment<'_>> = images
                .iter()
                .map(|&(addr, data)| {
                    let mut data = data.to_vec();
                    // The loader writes whole words.
                    data.resize(data.len().next_multiple_of(4), 0xFF);
                    Segment {
                        addr,
                        data: data.into(),
                    }
                })
                .collect();
            flasher
                .write_bins_to_flash(&segments, &mut adapter)
                .map_err(step("writing"))?;
            sent = segments.iter().map(|s| on_line(&s.data)).sum();
            segments.iter().map(|s| s.data.len()).sum()
        }
        Input::Elf(elf) => {
            let xtal = chip
                .xtal_frequency(flasher.connection())
                .unwrap_or(XtalFrequency::_40Mhz);
            let fd = FlashData::new(FlashSettings::default(), 0, None, chip, xtal);
            let image = IdfBootloaderFormat::new(elf, &fd, None, None, None, None)
                .map_err(step("building the image from the ELF"))?;
            let image = ImageFormat::EspIdf(image);
            let segments = image.clone().flash_segments();
            let total = segments.iter().map(|s| s.data().len()).sum();
            sent = segments.iter().map(|s| on_line(s.data())).sum();
            flasher
                .load_image_to_flash(&mut adapter, image)
                .map_err(step("writing"))?;
            total
        }
    };
    let mut conn = flasher.into_connection();
    if ctx.restart == Restart::RomReboot && use_stub {
        // espflash left the stub running (no reset lines): move it to the monitor rate, so the
        // port already listens there, and start the app through it. No reply is awaited: what
        // follows is the board's boot output, for the watch.
        progress.step("starting the app through the stub (RUN_USER_CODE)");
        baud::lower(&mut conn, ctx.line, at, ctx.opts.monitor_baud).map_err(|reason| {
            FlashError::Step {
                step: "returning to the monitor baud",
                reason,
            }
        })?;
        conn.write_command(Command::RunUserCode)
            .map_err(step("starting the app (RUN_USER_CODE)"))?;
    }
    if ctx.restart == Restart::ResetLine && use_stub {
        // espflash left its stub running (NoResetNoStub) rather than reset at the flashing
        // rate: the port goes to the monitor rate first, so the ROM's first line after RTS
        // restarts the chip is read (the chip's UART is back at its boot rate after a reset).
        progress.step("hard resetting via RTS");
        ctx.line
            .set_baud(&mut conn, ctx.opts.monitor_baud)
            .map_err(step("returning to the monitor baud"))?;
        conn.reset().map_err(step("hard reset (RTS)"))?;
    }
    if ctx.restart != Restart::None {
        let _ = ctx.line.set_baud(&mut conn, ctx.opts.monitor_baud);
    }
    Ok(Flashed {
        port: conn.into_serial(),
        chip: chip.to_string(),
        bytes,
        verified: true,
        loader: if use_stub {
            "espflash's stub".to_owned()
        } else {
            "the ROM".to_owned()
        },
        on_stub: use_stub,
        baud: at,
        sent,
        restart: ctx.restart,
        no_reset_lines: ctx.no_reset_lines,
    })
}
