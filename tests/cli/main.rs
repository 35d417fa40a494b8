//! The one integration test binary: every test drives the real `espcheck` binary against real peers.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod check;
mod codegen;
mod coredump;
mod corpus;
mod crash;
mod demo;
mod ecosystem;
mod fast_flash;
mod faults;
mod fingerprint;
mod flash;
mod formats;
mod grade;
mod labgrid;
mod mock_api;
mod pacing;
mod probe;
mod project;
mod readme;
mod rfc2217;
mod rom;
mod sim;
mod sketch;
mod stub;
mod support;
mod watch;
