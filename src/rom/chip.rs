//! Per-chip facts of the two ROM loaders: magic values, register addresses, status length, offsets.

use std::fmt;
use std::str::FromStr;

/// The chips whose ROM loader espcheck speaks to and simulates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Chip {
    /// ESP8266EX (and ESP8285): 2 status bytes, no MD5, no deflate, no SPI_ATTACH.
    Esp8266,
    /// The original ESP32: 4 status bytes from the ROM, MD5 and deflate supported.
    Esp32,
}

/// The register that tells the chips apart when GET_SECURITY_INFO is rejected.
pub const CHIP_DETECT_MAGIC_REG: u32 = 0x4000_1000;

/// SPI_CMD's "start user command" bit; the ROM clears it when the command has run.
pub const SPI_CMD_USR: u32 = 1 << 18;

/// SPI flash RDID: manufacturer, memory type, capacity.
pub const SPIFLASH_RDID: u8 = 0x9F;

/// Flash sector (erase unit) size.
pub const FLASH_SECTOR_SIZE: u32 = 0x1000;

/// Block size the ROM loaders take in FLASH_DATA.
pub const ROM_FLASH_WRITE_SIZE: u32 = 0x400;

/// The SPI controller registers the tools drive to run RDID and friends ("user commands").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiRegs {
    /// SPI_CMD (offset 0).
    pub cmd: u32,
    /// SPI_USR.
    pub usr: u32,
    /// SPI_USR1 (bit lengths on the ESP8266).
    pub usr1: u32,
    /// SPI_USR2 (command value and length).
    pub usr2: u32,
    /// SPI_W0, the first data word.
    pub w0: u32,
    /// SPI_MOSI_DLEN (ESP32 and later only).
    pub mosi_dlen: Option<u32>,
    /// SPI_MISO_DLEN (ESP32 and later only).
    pub miso_dlen: Option<u32>,
}

impl Chip {
    /// Every chip, for help texts and loops in tests.
    pub const ALL: [Chip; 2] = [Chip::Esp8266, Chip::Esp32];

    /// The name esptool prints.
    pub fn name(self) -> &'static str {
        match self {
            Chip::Esp8266 => "ESP8266",
            Chip::Esp32 => "ESP32",
        }
    }

    /// The value at [`CHIP_DETECT_MAGIC_REG`].
    pub fn magic(self) -> u32 {
        match self {
            Chip::Esp8266 => 0xFFF0_C101,
            Chip::Esp32 => 0x00F0_1D83,
        }
    }

    /// UART0's date register, the older way tools (esptool 2.x, miniesptool) told the chips apart.
    pub fn uart_date_reg(self) -> u32 {
        0x6000_0078
    }

    /// What [`Chip::uart_date_reg`] reads (esptool 2.x `DATE_REG_VALUE`).
    pub fn uart_date(self) -> u32 {
        match self {
            Chip::Esp8266 => 0x0006_2000,
            Chip::Esp32 => 0x1512_2500,
        }
    }

    /// The address a peripheral register is known by. On the ESP32, 0x6000_0000..0x6004_0000 is
    /// the second (AHB) window onto the peripherals at 0x3FF4_0000 (UART0 date register
    /// 0x6000_0078, SPI1 0x6000_2000, eFuse 0x6001_A000 as older tools use them); the ESP8266
    /// has one map.
    pub fn canonical_reg(self, addr: u32) -> u32 {
        match self {
            Chip::Esp32 if (0x6000_0000..0x6004_0000).contains(&addr) => {
                addr - 0x6000_0000 + 0x3FF4_0000
            }
            _ => addr,
        }
    }

    /// Which chip a magic value names.
    pub fn from_magic(magic: u32) -> Option<Chip> {
        Chip::ALL.into_iter().find(|c| c.magic() == magic)
    }

    /// Status bytes at the end of every response: the ESP8266 ROM sends (status, error); the ESP32
    /// ROM adds two reserved bytes.
    pub fn status_len(self) -> usize {
        match self {
            Chip::Esp8266 => 2,
            Chip::Esp32 => 4,
        }
    }

    /// Whether the ROM loader has SPI_FLASH_MD5, FLASH_DEFL_*, SPI_ATTACH, SPI_SET_PARAMS,
    /// CHANGE_BAUDRATE and READ_FLASH_SLOW (the ESP32 ROM does; the ESP8266 ROM does not).
    pub fn rom_has_extended_commands(self) -> bool {
        matches!(self, Chip::Esp32)
    }

    /// UART0's clock divider register.
    pub fn uart_clkdiv_reg(self) -> u32 {
        match self {
            Chip::Esp8266 => 0x6000_0014,
            Chip::Esp32 => 0x3FF4_0014,
        }
    }

    /// The tools compute the crystal as `baud × divider / 1e6 / xtal_clk_divider` (esptool
    /// `get_crystal_freq`): the ESP8266's UART runs from twice the crystal.
    pub fn xtal_clk_divider(self) -> u32 {
        match self {
            Chip::Esp8266 => 2,
            Chip::Esp32 => 1,
        }
    }

    /// The crystal the virtual board has: 26 MHz on ESP8266 modules, 40 MHz on ESP32 modules.
    pub fn crystal_hz(self) -> u32 {
        match self {
            Chip::Esp8266 => 26_000_000,
            Chip::Esp32 => 40_000_000,
        }
    }

    /// The SPI0 user-command registers esptool and espflash use for RDID.
    pub fn spi_regs(self) -> SpiRegs {
        match self {
            Chip::Esp8266 => {
                let base = 0x6000_0200;
                SpiRegs {
                    cmd: base,
                    usr: base + 0x1C,
                    usr1: base + 0x20,
                    usr2: base + 0x24,
                    w0: base + 0x40,
                    mosi_dlen: None,
                    miso_dlen: None,
                }
            }
            Chip::Esp32 => {
                let base = 0x3FF4_2000;
                SpiRegs {
                    cmd: base,
                    usr: base + 0x1C,
                    usr1: base + 0x20,
                    usr2: base + 0x24,
                    w0: base + 0x80,
                    mosi_dlen: Some(base + 0x28),
                    miso_dlen: Some(base + 0x2C),
                }
            }
        }
    }

    /// Where the ROM looks for the first image it boots: the app itself on the ESP8266, the
    /// second-stage bootloader on the ESP32.
    pub fn boot_offset(self) -> u32 {
        match self {
            Chip::Esp8266 => 0x0,
            Chip::Esp32 => 0x1000,
        }
    }

    /// Where an application image usually goes.
    pub fn app_offset(self) -> u32 {
        match self {
            Chip::Esp8266 => 0x0,
            Chip::Esp32 => 0x10000,
        }
    }

    /// The ESP32 partition table offset (ESP-IDF default).
    pub fn partition_table_offset(self) -> Option<u32> {
        match self {
            Chip::Esp8266 => None,
            Chip::Esp32 => Some(0x8000),
        }
    }

    /// The chip id written in the ESP32 extended image header; the ESP8266 has no such header.
    pub fn image_chip_id(self) -> Option<u16> {
        match self {
            Chip::Esp8266 => None,
            Chip::Esp32 => Some(0),
        }
    }

    /// The first line the ROM prints after a reset, as the real chips print it.
    pub fn rom_banner(self) -> &'static str {
        match self {
            Chip::Esp8266 => "ets Jan  8 2013",
            Chip::Esp32 => "ets Jun  8 2016 00:22:57",
        }
    }

    /// The baud rate the ROM prints its boot messages at (the ESP8266's 26 MHz crystal makes it
    /// 74880 instead of 115200).
    pub fn rom_log_baud(self) -> u32 {
        match self {
            Chip::Esp8266 => 74_880,
            Chip::Esp32 => 115_200,
        }
    }
}

impl fmt::Display for Chip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Chip::Esp8266 => "esp8266",
            Chip::Esp32 => "esp32",
        })
    }
}

impl FromStr for Chip {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "esp8266" | "esp8285" => Ok(Chip::Esp8266),
            "esp32" => Ok(Chip::Esp32),
            _ => Err(format!("unknown chip `{s}` (use esp8266 or esp32)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_round_trips_and_unknown_is_none() {
        for chip in Chip::ALL {
            assert_eq!(Chip::from_magic(chip.magic()), Some(chip));
            assert_eq!(chip.to_string().parse::<Chip>(), Ok(chip));
        }
        assert_eq!(Chip::from_magic(0xDEAD_BEEF), None);
        assert!("esp32-c3".parse::<Chip>().is_err());
    }
}
