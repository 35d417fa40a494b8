//! `espcheck check`: not built yet; its issue fills this file in.

use crate::error::{Error, Exit, Result};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "";

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run the command.
pub fn run(_args: Args) -> Result<Exit> {
    Err(Error::Usage("`check` is not implemented yet".to_owned()))
}
