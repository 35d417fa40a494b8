//! The virtual ESP8266/ESP32 board on a pseudo-terminal: it speaks the ROM loader protocol, keeps
//! its flash in a file, and boots what was flashed.

pub mod boot;
pub mod flash;
pub mod loader;
