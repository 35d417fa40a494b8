//! The hook that runs the sketch a sim image describes, once the virtual board has booted it.
//!
//! The board itself acts out board-level faults (crash, watchdog loop, brownout, hang); a
//! [`Firmware`] prints what the sketch prints. The default one announces the settings it found
//! and stops before the network part; `sim run`'s sketch model plugs in here to make the request
//! for real.

use std::fmt;
use std::io::{self, Write};

use crate::rom::Chip;
use crate::sim::image::{Fault, ImageSettings};

/// What a sketch knows about the board it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardInfo {
    pub chip: Chip,
    pub mac: [u8; 6],
}

/// Runs the sketch of a sim image.
pub trait Firmware: Send + Sync + fmt::Debug {
    /// Print what the sketch prints, at 115200 baud, to `out`. `settings.fault` is `None` or
    /// `Some(Fault::Tls)` (the board acts out the other faults itself). Writes fail with
    /// `BrokenPipe` once the board has been reset or shut down: return then. Returning means the
    /// sketch's `loop()` has nothing more to say; the board stays up, silent.
    fn run(
        &self,
        board: &BoardInfo,
        settings: &ImageSettings,
        out: &mut dyn Write,
    ) -> io::Result<()>;
}

/// The stand-in sketch: Wi-Fi lines, then the settings, and the TLS failure when asked for one.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultFirmware;

/// A byte string as BearSSL prints it: lowercase hex, a space after each byte.
fn bssl_hex(fp: &str) -> String {
    let digits: String = fp.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    digits
        .as_bytes()
        .chunks(2)
        .map(|p| format!("{} ", String::from_utf8_lossy(p).to_ascii_lowercase()))
        .collect()
}

impl Firmware for DefaultFirmware {
    fn run(&self, board: &BoardInfo, s: &ImageSettings, out: &mut dyn Write) -> io::Result<()> {
        let mut w = |line: &str| -> io::Result<()> {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\r\n")
        };
        w("")?;
        w("connecting to espcheck-sim")?;
        w(".....")?;
        w("WiFi connected")?;
        w("IP address: ")?;
        w("10.0.2.15")?;
        w(&format!("connecting to {}", s.host))?;
        if let Some(fp) = &s.fingerprint {
            w(&format!("Using fingerprint '{fp}'"))?;
        }
        if s.fault == Some(Fault::Tls) {
            match board.chip {
                Chip::Esp8266 => {
                    if let Some(fp) = &s.fingerprint {
                        w("BSSL:insecure_end_chain: Received cert FP doesn't match")?;
                        w(&format!(
                            "BSSL:insecure_end_chain: expected {}",
                            bssl_hex(fp)
                        ))?;
                    } else {
                        w(
                            "BSSL:Couldn't connect. Error = 'Chain could not be linked to a trust anchor.'",
                        )?;
                    }
                    w("connection failed")?;
                }
                Chip::Esp32 => {
                    w(
                        "[  2301][E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():276]: (-9984) X509 - Certificate verification failed, e.g. CRL, CA or signature check failed",
                    )?;
                    w("[  2302][E][WiFiClientSecure.cpp:135] connect(): start_ssl_client: -9984")?;
                    w("connection failed")?;
                }
            }
            return Ok(());
        }
        // Without a sketch model there is no request to make: say what the image asks for.
        let dial = s.connect.as_deref().unwrap_or("(DNS)");
        w(&format!(
            "sim: no sketch model on this board; image asks for https://{}:{}{} via {dial}",
            s.host, s.port, s.url
        ))?;
        let pin = match (&s.fingerprint, &s.ca_pem) {
            (Some(fp), _) => format!("fingerprint {fp}"),
            (None, Some(_)) => "CA certificate".to_owned(),
            (None, None) => "nothing (insecure)".to_owned(),
        };
        w(&format!("sim: pinned: {pin}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn tls_fault_prints_bearssl_lines_with_the_pin() {
        let mut s = ImageSettings::reference(Chip::Esp8266);
        s.fingerprint = Some("CF:05:98:89".to_owned());
        s.fault = Some(Fault::Tls);
        let board = BoardInfo {
            chip: Chip::Esp8266,
            mac: [0; 6],
        };
        let mut out = Vec::new();
        DefaultFirmware.run(&board, &s, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("BSSL:insecure_end_chain: expected cf 05 98 89 \r\n"));
        assert!(text.ends_with("connection failed\r\n"));
    }
}
