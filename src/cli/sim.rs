//! `espcheck sim ...`: not built yet; its issue fills this file in.

use crate::error::{Error, Exit, Result};

/// The simulator subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A mock api.github.com over real TLS.
    Serve,
    /// Run the reference sketch's logic on the host.
    Run,
}

/// Run a simulator subcommand.
pub fn run(_cmd: Command) -> Result<Exit> {
    Err(Error::Usage("`sim` is not implemented yet".to_owned()))
}
