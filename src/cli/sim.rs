//! `espcheck sim ...`: not built yet; its issue fills this file in.

use crate::error::{Error, Exit, Result};

/// The simulator subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A mock api.github.com over real TLS.
    Serve,
    /// Run the reference sketch's logic on the host.
    Run,
    /// A virtual ESP8266/ESP32 on a pseudo-terminal that esptool and espflash can flash.
    #[command(after_help = super::sim_device::DEVICE_EXAMPLES)]
    Device(super::sim_device::DeviceArgs),
    /// Build a firmware image for the virtual board carrying the sketch's settings.
    #[command(after_help = super::sim_device::IMAGE_EXAMPLES)]
    Image(super::sim_device::ImageArgs),
}

/// Run a simulator subcommand.
pub fn run(cmd: Command) -> Result<Exit> {
    match cmd {
        Command::Device(args) => super::sim_device::run_device(args),
        Command::Image(args) => super::sim_device::run_image(args),
        _ => Err(Error::Usage("`sim` is not implemented yet".to_owned())),
    }
}
