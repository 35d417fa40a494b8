//! Simulators: the mock GitHub API over real TLS (`server`, with its certificate chain in
//! `chain`) and the reference sketch run on the host (`sketch`). They meet the rest of espcheck only
//! over real sockets.

pub mod chain;
pub mod server;
pub mod sketch;
