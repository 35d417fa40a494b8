//! What the board prints when it resets: the ROM banner, the ROM's (and on the ESP32 the
//! second-stage bootloader's) look at the flash, and the fault dumps. Pure: flash bytes in, text out.

use std::fmt::Write as _;

use super::bootloader::{self, Clock};
use crate::rom::Chip;
use crate::rom::image::{self, Image, ImageError};
use crate::serial::watch::SIMULATOR_TAG;
use crate::sim::image::{Fault, ImageSettings, settings_of};

/// The app's UART speed (Arduino `Serial.begin(115200)`).
pub const APP_BAUD: u32 = 115_200;

/// Why the board restarted; it picks the `rst cause:` / `rst:0x…` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCause {
    /// Power applied (the virtual board's first start).
    PowerOn,
    /// A reset from software or the reset pin: the ROM's FLASH_END, an ESP8266 restart after an
    /// exception or a soft WDT. ESP32: `SW_RESET` (bootloader and ROM resets).
    Software,
    /// ESP32 `SW_CPU_RESET`: a panic, a brownout, `ESP.restart()`.
    CpuSoftware,
    /// A hardware watchdog.
    Watchdog,
    /// The ESP32 RTC watchdog that restarts a ROM that could not boot.
    RtcWatchdog,
}

/// Text the board sends, with the baud rate it is sent at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub baud: u32,
    pub text: String,
}

impl Text {
    fn rom(chip: Chip, text: String) -> Self {
        Text {
            baud: chip.rom_log_baud(),
            text,
        }
    }

    fn app(text: String) -> Self {
        Text {
            baud: APP_BAUD,
            text,
        }
    }
}

/// What happens after the boot text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The ROM gives up and stops (ESP8266 with nothing bootable).
    Halt,
    /// The ROM prints this line again and again (ESP32 with no valid bootloader).
    Repeat(String),
    /// Reset again with this cause after a pause.
    Reboot(ResetCause),
    /// The app runs. `None`: a valid image that is not a sim image; the virtual board cannot
    /// execute real firmware, so it goes quiet.
    Run(Option<ImageSettings>),
}

/// A boot: what is printed, and what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    pub out: Vec<Text>,
    pub next: Next,
}

fn esp8266_cause(cause: ResetCause) -> u8 {
    match cause {
        ResetCause::PowerOn => 1,
        ResetCause::Watchdog => 4,
        _ => 2,
    }
}

fn esp32_cause(cause: ResetCause) -> &'static str {
    match cause {
        ResetCause::PowerOn => "0x1 (POWERON_RESET)",
        ResetCause::Software => "0x3 (SW_RESET)",
        ResetCause::CpuSoftware => "0xc (SW_CPU_RESET)",
        ResetCause::Watchdog => "0x8 (TG1WDT_SYS_RESET)",
        ResetCause::RtcWatchdog => "0x10 (RTCWDT_RTC_RESET)",
    }
}

/// The banner of a reset into the serial download mode (boot pin held low).
pub fn download_banner(chip: Chip, cause: ResetCause) -> Text {
    let text = match chip {
        Chip::Esp8266 => format!(
            "\r\n {},rst cause:{}, boot mode:(1,7)\r\n\r\n",
            chip.rom_banner(),
            esp8266_cause(cause)
        ),
        Chip::Esp32 => format!(
            "{}\r\n\r\nrst:{},boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n",
            chip.rom_banner(),
            esp32_cause(cause)
        ),
    };
    Text::rom(chip, text)
}

/// Boot from flash after a reset with `cause`.
pub fn boot(chip: Chip, flash: &[u8], cause: ResetCause) -> Boot {
    let mut b = match chip {
        Chip::Esp8266 => boot_esp8266(flash, cause),
        Chip::Esp32 => boot_esp32(flash, cause),
    };
    if b.next == Next::Run(None) {
        // A real chip would now run the image; the virtual board says plainly that it cannot.
        b.out
            .push(Text::app(format!("{SIMULATOR_TAG}{FOREIGN_IMAGE}\r\n")));
    }
    b
}

/// What the virtual board says, on its one line of its own ([`SIMULATOR_TAG`]), after booting an
/// image that is not an `espcheck sim image` as far as the real chip would print.
pub const FOREIGN_IMAGE: &str = "this image is not an `espcheck sim image`: the virtual board \
     cannot execute real firmware and runs only sim images";

fn boot_esp8266(flash: &[u8], cause: ResetCause) -> Boot {
    let chip = Chip::Esp8266;
    let mut t = format!(
        "\r\n {},rst cause:{}, boot mode:(3,6)\r\n\r\n",
        chip.rom_banner(),
        esp8266_cause(cause)
    );
    if cause == ResetCause::Watchdog {
        t.push_str("wdt reset\r\n");
    }
    let img = match image::parse(flash, chip) {
        Ok(img) => img,
        Err(_) => {
            // Blank or foreign flash: the ROM names its source file and stops.
            t.push_str("ets_main.c \r\n");
            return Boot {
                out: vec![Text::rom(chip, t)],
                next: Next::Halt,
            };
        }
    };
    // The ROM reads flash in 16-byte chunks and reports, per segment, the room left in the chunk
    // after the segment header, the tail in the last chunk, and the running checksum.
    let mut sum = crate::rom::packet::CHECKSUM_SEED;
    for seg in &img.segments {
        let data_at = seg.file_offset + 8;
        let room = 16 - (data_at % 16);
        let tail = (data_at + seg.data.len()) % 16;
        sum = crate::rom::packet::checksum_from(sum, &seg.data);
        let _ = write!(
            t,
            "load 0x{:08x}, len {}, room {} \r\ntail {}\r\nchksum 0x{:02x}\r\n",
            seg.addr,
            seg.data.len(),
            room,
            tail,
            sum
        );
    }
    let _ = write!(t, "csum 0x{:02x}\r\n", img.checksum_stored);
    if !img.checksum_ok() {
        t.push_str("csum err\r\nets_main.c \r\n");
        return Boot {
            out: vec![Text::rom(chip, t)],
            next: Next::Halt,
        };
    }
    Boot {
        out: vec![Text::rom(chip, t)],
        next: Next::Run(settings_of(&img).ok()),
    }
}

fn spi_mode(mode: u8) -> &'static str {
    match mode {
        0 => "QIO",
        1 => "QOUT",
        2 => "DIO",
        3 => "DOUT",
        _ => "DIO",
    }
}

fn boot_esp32(flash: &[u8], cause: ResetCause) -> Boot {
    let chip = Chip::Esp32;
    let mut t = format!(
        "{}\r\n\r\nrst:{},boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n",
        chip.rom_banner(),
        esp32_cause(cause)
    );
    let at = chip.boot_offset() as usize;
    let boot_img = match image::parse(flash.get(at..).unwrap_or(&[]), chip) {
        Ok(img) => img,
        Err(e) => {
            let word = match e {
                ImageError::BadMagic(w) => w,
                _ => flash.get(at..at + 4).map_or(0xFFFF_FFFF, |b| {
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
                }),
            };
            return Boot {
                out: vec![Text::rom(chip, t)],
                next: Next::Repeat(format!("invalid header: 0x{word:08x}\r\n")),
            };
        }
    };
    let div = match boot_img.header.flash_size_freq & 0x0F {
        0xF => 1,
        0x1 => 3,
        0x2 => 4,
        _ => 2,
    };
    let _ = write!(
        t,
        "configsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\nmode:{}, clock div:{div}\r\n",
        spi_mode(boot_img.header.flash_mode)
    );
    for seg in &boot_img.segments {
        let _ = write!(t, "load:0x{:08x},len:{}\r\n", seg.addr, seg.data.len());
    }
    if !boot_img.checksum_ok() {
        let _ = write!(
            t,
            "checksum failure: 0x{:02x} != 0x{:02x}\r\nets_main.c 371 \r\n",
            boot_img.checksum_calc, boot_img.checksum_stored
        );
        return Boot {
            out: vec![Text::rom(chip, t)],
            next: Next::Reboot(ResetCause::RtcWatchdog),
        };
    }
    let _ = write!(t, "entry 0x{:08x}\r\n", boot_img.header.entry);
    let (b, next) = second_stage(flash, &boot_img);
    t.push_str(&b);
    Boot {
        out: vec![Text::rom(chip, t)],
        next,
    }
}

/// The ESP-IDF second-stage bootloader: its banner, then partition table, app selection, app
/// checks and hand-over (see [`super::bootloader`]).
fn second_stage(flash: &[u8], boot_img: &Image) -> (String, Next) {
    let mut c = Clock(24);
    let mut t = String::new();
    t += &c.line('I', "boot", "ESP-IDF v4.4.7 2nd stage bootloader");
    t += &c.line('I', "boot", "compile time 12:00:00");
    t += &c.line('I', "boot", "chip revision: 3");
    t += &c.line('I', "boot.esp32", "SPI Speed      : 40MHz");
    let mode = format!("SPI Mode       : {}", spi_mode(boot_img.header.flash_mode));
    t += &c.line('I', "boot.esp32", &mode);
    t += &c.line('I', "boot.esp32", "SPI Flash Size : 4MB");
    t += &c.line('I', "boot", "Enabling RNG early entropy source...");
    let next = match bootloader::run(flash, &mut c, &mut t) {
        bootloader::Outcome::Run(app) => Next::Run(app),
        bootloader::Outcome::Reset => Next::Reboot(ResetCause::Software),
    };
    (t, next)
}

/// The dump a board-level fault prints, and the reset that follows it. `cycle` counts the
/// boots of the current loop (an ESP8266 watchdog loop alternates soft and hardware WDT resets).
/// `None` for faults that are not board-level (hang, TLS).
pub fn fault(chip: Chip, fault: Fault, cycle: u32) -> Option<(Text, ResetCause)> {
    let (text, cause) = match (chip, fault) {
        (Chip::Esp8266, Fault::Crash) => (
            "\r\n--------------- CUT HERE FOR EXCEPTION DECODER ---------------\r\n\r\n\
             Exception (28):\r\n\
             epc1=0x40201d2c epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000\r\n\r\n\
             >>>stack>>>\r\n\r\nctx: cont\r\nsp: 3ffffe00 end: 3fffffc0 offset: 0190\r\n\
             3fffff90:  3fffdad0 00000000 3ffee6a4 40201d29  \r\n\
             3fffffa0:  3fffdad0 00000000 3ffee6f8 40202ad4  \r\n\
             3fffffb0:  feefeffe feefeffe 3ffe84e0 40100cc9  \r\n\
             <<<stack<<<\r\n\r\n\
             --------------- CUT HERE FOR EXCEPTION DECODER ---------------\r\n"
                .to_owned(),
            ResetCause::Software,
        ),
        (Chip::Esp8266, Fault::ResetLoop) if cycle % 2 == 1 => {
            // The hardware watchdog: no dump, the ROM just says why it restarted.
            (String::new(), ResetCause::Watchdog)
        }
        (Chip::Esp8266, Fault::ResetLoop) => (
            "\r\nSoft WDT reset\r\n\r\n>>>stack>>>\r\n\r\nctx: cont\r\n\
             sp: 3ffffd90 end: 3fffffc0 offset: 01b0\r\n\
             3fffff40:  3fffdad0 00000000 3ffee6a4 402010f4  \r\n\
             <<<stack<<<\r\n"
                .to_owned(),
            ResetCause::Software,
        ),
        // The ESP8266 has no brownout detector message: the sketch gets as far as the radio's
        // first transmit bursts (Wi-Fi associated) and the sagging supply power-cycles it, over
        // and over, each start visible only as the sketch's first lines again.
        (Chip::Esp8266, Fault::Brownout) => (
            "\r\nconnecting to espcheck-sim\r\n.....\r\nWiFi connected\r\nIP address: \r\n10.0.2.15\r\n"
                .to_owned(),
            ResetCause::PowerOn,
        ),
        (Chip::Esp32, Fault::Crash) => (
            "Guru Meditation Error: Core  1 panic'ed (LoadProhibited). Exception was unhandled.\r\n\r\n\
             Core  1 register dump:\r\n\
             PC      : 0x400d1a2c  PS      : 0x00060a30  A0      : 0x800d2b3c  A1      : 0x3ffb1f70  \r\n\
             A2      : 0x00000000  A3      : 0x3ffc00d4  A4      : 0x00000001  A5      : 0x3ffb1f90  \r\n\
             EXCVADDR: 0x00000000  LBEG    : 0x4000c2e0  LEND    : 0x4000c2f6  LCOUNT  : 0x00000000  \r\n\r\n\r\n\
             Backtrace: 0x400d1a29:0x3ffb1f70 0x400d2b39:0x3ffb1f90 0x40088b7d:0x3ffb1fb0\r\n\r\n\r\n\r\n\r\n\
             ELF file SHA256: 0000000000000000\r\n\r\nRebooting...\r\n"
                .to_owned(),
            ResetCause::CpuSoftware,
        ),
        // The task watchdog of the Arduino loop task resets the board without a dump.
        (Chip::Esp32, Fault::ResetLoop) => (String::new(), ResetCause::Watchdog),
        (Chip::Esp32, Fault::Brownout) => (
            "\r\nBrownout detector was triggered\r\n\r\n".to_owned(),
            ResetCause::CpuSoftware,
        ),
        (_, Fault::Hang) | (_, Fault::Tls) => return None,
    };
    Some((Text::app(text), cause))
}

#[cfg(test)]
#[path = "boot_tests.rs"]
mod tests;
