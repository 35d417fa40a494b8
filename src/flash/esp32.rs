//! The ESP32-family plan, through espflash's `Flasher`: chip detection, SPI attach and flash-size
//! detection, 0x400-byte blocks (or the stub's compressed ones), MD5 verification, FLASH_END.

use espflash::connection::Connection;
use espflash::flasher::{FlashData, FlashSettings, Flasher};
use espflash::image_format::idf::IdfBootloaderFormat;
use espflash::image_format::{ImageFormat, Segment};
use espflash::target::XtalFrequency;

use super::progress::Adapter;
use super::{Ctx, FlashError, Flashed, Input, Progress, step};

pub(super) fn flash(
    conn: Connection,
    firmware: Input<'_>,
    ctx: &Ctx<'_>,
    progress: &mut dyn Progress,
) -> Result<Flashed, FlashError> {
    progress.step("detecting the chip and its flash");
    // The virtual board (and any board behind a pty) cannot run the RAM stub: stay on the ROM.
    let use_stub = ctx.opts.stub && !ctx.no_reset_lines;
    let baud = (ctx.opts.baud > 115_200).then_some(ctx.opts.baud);
    let mut flasher = Flasher::connect(conn, use_stub, true, false, None, baud)
        .map_err(step("connecting to the loader"))?;
    let chip = flasher.chip();
    let mut adapter = Adapter(progress);
    let bytes = match firmware {
        Input::Bin { data, addr } => {
            let addr = addr.unwrap_or(0x10000);
            flasher
                .write_bin_to_flash(addr, data, &mut adapter)
                .map_err(step("writing"))?;
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
            let total = image
                .clone()
                .flash_segments()
                .iter()
                .map(|s| s.data().len())
                .sum();
            flasher
                .load_image_to_flash(&mut adapter, image)
                .map_err(step("writing"))?;
            total
        }
    };
    Ok(Flashed {
        port: flasher.into_connection().into_serial(),
        chip: chip.to_string(),
        bytes,
        verified: true,
        restart: ctx.restart,
        no_reset_lines: ctx.no_reset_lines,
    })
}
