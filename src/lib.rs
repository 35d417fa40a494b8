//! espcheck: a host-side companion and simulator for ESP8266/ESP32 firmware that talks HTTPS.
//!
//! It answers three questions: which certificate to pin (`cert`, `tls`), how to get the pin into
//! firmware (`codegen`), and whether the board did its job (`grade`, `serial`, `flash`, `rom`). The
//! `sim` module simulates the server and the board, so all of it runs in CI with no hardware.
//!
//! Every command is reachable as a library function; `cli` is the only place that knows about clap.

pub mod cert;
pub mod check;
pub mod cli;
pub mod codegen;
pub mod config;
pub mod error;
pub mod flash;
pub mod grade;
pub mod pins;
pub mod rom;
pub mod serial;
pub mod sim;
pub mod target;
pub mod tls;
pub mod util;

pub use error::{Error, Exit, Result};

/// The README's Rust examples, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
