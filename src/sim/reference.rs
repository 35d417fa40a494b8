//! The firmware a sim image runs on the virtual board: the reference sketch model, for real, over
//! TCP/TLS, with the image's host, port, URL and pin.

use std::io::{self, Write};
use std::time::Duration;

use super::device::{BoardInfo, DefaultFirmware, Firmware};
use super::image::{Fault, ImageSettings};
use super::sketch::{self, Board, CoreVersion, RunConfig, ShownPin, SketchConfig, Trust, Variant};
use crate::rom::chip::Chip;

/// Runs the reference sketch with an image's settings.
#[derive(Debug, Clone)]
pub struct SketchFirmware {
    /// Line style of the core the image was "built" with; `None` picks by pin kind: 2.7 lines for a
    /// fingerprint pin (`setFingerprint`), 3.0.1 lines for a CA pin (`setTrustAnchors`).
    pub core: Option<CoreVersion>,
    /// Bound on each network wait of the sketch.
    pub timeout: Duration,
}

impl Default for SketchFirmware {
    fn default() -> Self {
        SketchFirmware {
            core: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl SketchFirmware {
    /// The sketch run a board of `chip` makes for `settings`.
    pub fn run_config(&self, chip: Chip, settings: &ImageSettings) -> Result<RunConfig, String> {
        let trust = match (&settings.fingerprint, &settings.ca_pem) {
            (Some(fp), _) => Trust::Fingerprint(fp.clone()),
            (None, Some(pem)) => {
                Trust::anchors(pem).map_err(|e| format!("the image's CA certificate: {e}"))?
            }
            (None, None) => Trust::Insecure,
        };
        let shown_pin = match &trust {
            Trust::Fingerprint(fp) => ShownPin::Fingerprint(fp.clone()),
            Trust::Anchors { pem, .. } => ShownPin::Certificate(pem.clone()),
            Trust::Insecure => ShownPin::None,
        };
        let core = self.core.unwrap_or(match trust {
            Trust::Fingerprint(_) => CoreVersion::V2_7,
            _ => CoreVersion::V3_0_1,
        });
        Ok(RunConfig {
            sketch: SketchConfig {
                host: settings.host.clone(),
                url: settings.url.clone(),
                ssid: "espcheck-sim".to_owned(),
                core,
                variant: Variant::GetStatus,
                data: String::new(),
                shown_pin,
            },
            port: settings.port,
            connect: settings.connect.clone(),
            trust,
            board: match chip {
                Chip::Esp8266 => Board::Esp8266,
                Chip::Esp32 => Board::Esp32,
            },
            timeout: self.timeout,
        })
    }
}

impl Firmware for SketchFirmware {
    fn run(
        &self,
        board: &BoardInfo,
        settings: &ImageSettings,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if settings.fault == Some(Fault::Tls) {
            return DefaultFirmware.run(board, settings, out);
        }
        let cfg = match self.run_config(board.chip, settings) {
            Ok(cfg) => cfg,
            Err(why) => {
                // A real sketch with an unparsable CA would fail to connect; say why on the console.
                write!(
                    out,
                    "\r\nconnecting to {}\r\n{why}\r\nconnection failed\r\n",
                    settings.host
                )?;
                return Ok(());
            }
        };
        match sketch::run_sketch(&cfg, out, time::OffsetDateTime::now_utc()) {
            Ok(_) => Ok(()),
            Err(crate::Error::Output(e)) => Err(e),
            Err(e) => write!(out, "connection failed\r\n{e}\r\n"),
        }
    }
}
