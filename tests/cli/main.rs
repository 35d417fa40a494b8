//! The one integration test binary: every test drives the real `espcheck` binary against real peers.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod fingerprint;
mod rom;
mod support;
