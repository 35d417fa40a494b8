//! The ESP serial bootloader ("ROM") protocol, shared by the flasher side and the virtual board.
//!
//! Everything here is sans-IO: SLIP framing ([`slip`]), request/response packets ([`packet`]), typed
//! command payloads ([`command`]), per-chip facts ([`chip`]), the firmware image format ([`image`])
//! and the ESP-IDF partition table ([`partition`]). Parsers take bytes and return values or typed
//! errors; none of them panics on malformed input.

pub mod chip;
pub mod command;
pub mod image;
pub mod packet;
pub mod partition;
pub mod slip;

pub use chip::Chip;
pub use command::Command;
pub use packet::{Op, Request, Response, RomError, StubError};
