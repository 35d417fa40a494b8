//! espcheck: a host-side companion and simulator for ESP8266/ESP32 firmware that talks HTTPS.
//!
//! It answers three questions: which certificate to pin (`cert`, `tls`), how to get the pin into
//! firmware (`codegen`), and whether the board did its job (`grade`, `serial`, `flash`, `rom`). The
//! `sim` module simulates the server and the board, so all of it runs in CI with no hardware.
//!
//! Every command is reachable as a library function; `cli` is the only place that knows about clap.
//!
//! Features: `cli` (the default) builds everything. A firmware's `build.rs` depends on the core
//! alone (`default-features = false, features = ["pins"]`): `cert`, `codegen`, `tls`, `check` and
//! the [`pins`] API, without clap, espflash, serialport, reqwest or nix. `docs/ARCHITECTURE.md`
//! draws the modules and what may import what.

pub mod cert;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codegen;
#[cfg(feature = "cli")]
pub mod config;
pub mod error;
#[cfg(feature = "cli")]
pub mod flash;
#[cfg(feature = "cli")]
pub mod github;
#[cfg(feature = "cli")]
pub mod grade;
pub mod pins;
#[cfg(feature = "cli")]
pub mod rom;
#[cfg(feature = "cli")]
pub mod serial;
#[cfg(feature = "cli")]
pub mod sim;
pub mod target;
pub mod tls;
pub mod util;

pub use error::{Error, Exit, Result};

/// The README's Rust examples, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
