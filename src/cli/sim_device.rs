//! `espcheck sim device` (a virtual board on a pty) and `espcheck sim image` (a firmware image for
//! it). Arguments and rendering only; the work is in `sim::device` and `sim::image`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Exit, Result, show_path};
use crate::rom::Chip;
use crate::rom::image;
use crate::sim::device::{self, DeviceConfig};
use crate::sim::image::{Fault, ImageSettings};
use crate::sim::reference::SketchFirmware;

/// Examples shown under `sim device --help`.
pub const DEVICE_EXAMPLES: &str = "Examples:
  espcheck sim device --chip esp8266 --link /tmp/esp --flash-file /tmp/esp.flash
  esptool --chip esp8266 --port /tmp/esp --before no-reset --after no-reset write-flash 0x0 app.bin
  espcheck sim device --chip esp32 --rfc2217 127.0.0.1:4000
  esptool --port 'rfc2217://127.0.0.1:4000' write-flash 0x10000 app.bin

On a pty alone the board has no modem lines: it powers on waiting in the ROM loader, and a SYNC
while the app runs stands in for the auto-reset. With --rfc2217 it has DTR/RTS wired to EN/GPIO0
as on a USB-serial board: it powers on and boots from flash, esptool's default resets work, and
the running app does not answer SYNC.";

/// Examples shown under `sim image --help`.
pub const IMAGE_EXAMPLES: &str = "Examples:
  espcheck sim image --chip esp8266 --connect 127.0.0.1:8443 --fingerprint 'CF:05:98:…' -o app.bin
  espcheck sim image --chip esp32 --ca-file intermediate.pem --fault crash -o crash.bin";

/// A byte count: digits with an optional K or M (binary: 1K = 1024).
fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let (digits, unit) = match s.strip_suffix(['K', 'k']) {
        Some(d) => (d, 1024),
        None => match s.strip_suffix(['M', 'm']) {
            Some(d) => (d, 1024 * 1024),
            None => (s, 1),
        },
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("{s:?} is not a byte count (e.g. 262144, 256K, 1M)"))
}

fn parse_fault(s: &str) -> std::result::Result<Fault, String> {
    s.parse()
}

/// `sim device` arguments.
#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    /// The chip to simulate: esp8266 or esp32.
    #[arg(long, value_name = "CHIP", value_enum, default_value_t = Chip::Esp8266)]
    pub chip: Chip,
    /// Create this symlink to the pty (a stale symlink is replaced).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// Keep the 4 MB flash contents in this file (created erased if missing).
    #[arg(long = "flash-file", value_name = "FILE")]
    pub flash_file: Option<PathBuf>,
    /// Stop after this long (default: run until Ctrl-C / SIGTERM).
    #[arg(long = "for", value_name = "DURATION", value_parser = super::parse_duration)]
    pub run_for: Option<std::time::Duration>,
    /// real: each byte takes 10 bit-times at the line's baud (the host's termios speed, which
    /// CHANGE_BAUDRATE has the host switch) and flash erase/program take NOR flash time
    /// (45 ms a sector); off: as fast as the pty goes (quick tests).
    #[arg(long, value_name = "real|off", default_value = "real", value_parser = parse_pacing)]
    pub pacing: device::Pacing,
    /// Also serve the board as an RFC 2217 COM port on ADDR:PORT (loopback unless --public),
    /// with DTR/RTS driving EN/GPIO0; the board then powers on and boots from flash.
    #[arg(long, value_name = "ADDR:PORT")]
    pub rfc2217: Option<std::net::SocketAddr>,
    /// Allow --rfc2217 on a non-loopback address.
    #[arg(long, requires = "rfc2217")]
    pub public: bool,
}

fn parse_pacing(s: &str) -> std::result::Result<device::Pacing, String> {
    s.parse()
}

/// Run `sim device`.
pub fn run_device(args: DeviceArgs) -> Result<Exit> {
    if let Some(addr) = args.rfc2217 {
        super::sim::check_bind_for(
            addr,
            args.public,
            "--rfc2217",
            "the virtual board",
            "they can reflash and reset it",
        )?;
    }
    let dev = device::start(DeviceConfig {
        chip: args.chip,
        link: args.link.clone(),
        flash_file: args.flash_file.clone(),
        firmware: Arc::new(SketchFirmware::default()),
        pacing: args.pacing,
        rfc2217: args.rfc2217,
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "virtual {} on {}{}",
        args.chip.name(),
        dev.slave_path().display(),
        args.link
            .as_ref()
            .map(|l| format!(" (link {})", l.display()))
            .unwrap_or_default()
    )?;
    match &args.flash_file {
        Some(f) => writeln!(out, "flash: {}", f.display())?,
        None => writeln!(out, "flash: in memory (use --flash-file to keep it)")?,
    }
    match dev.rfc2217_addr() {
        Some(a) => writeln!(
            out,
            "rfc2217://{a} (DTR/RTS reset the board); booting from flash; Ctrl-C stops"
        )?,
        None => writeln!(
            out,
            "waiting for a flasher (--before no-reset); Ctrl-C stops"
        )?,
    }
    out.flush()?;
    drop(out);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env("tokio runtime", e))?;
    rt.block_on(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let sleep = async {
            match args.run_for {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
            _ = sleep => {},
        }
    });
    dev.shutdown();
    Ok(Exit::Ok)
}

/// `sim image` arguments.
#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// The chip the image is for: esp8266 or esp32.
    #[arg(long, value_name = "CHIP", value_enum, default_value_t = Chip::Esp8266)]
    pub chip: Chip,
    /// Server name (SNI and Host header), optionally HOST:PORT.
    #[arg(long, value_name = "HOST[:PORT]", default_value = "api.github.com")]
    pub host: String,
    /// Dial ADDR:PORT instead of resolving the host.
    #[arg(long, value_name = "ADDR:PORT")]
    pub connect: Option<String>,
    /// Request path.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/repos/esp8266/Arduino/commits/master/status"
    )]
    pub url: String,
    /// Pin the leaf's SHA-1 fingerprint (as setFingerprint takes it).
    #[arg(long, value_name = "HEX", conflicts_with = "ca_file")]
    pub fingerprint: Option<String>,
    /// Pin a CA certificate (PEM), embedded in the image.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Act out a fault: crash, reset-loop, brownout, hang or tls.
    #[arg(long, value_name = "FAULT", value_parser = parse_fault)]
    pub fault: Option<Fault>,
    /// Pad the image to about this many bytes (K/M suffixes: 1M) with a data segment that
    /// compresses to about half, as firmware does, so flashing can be measured at real sizes.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub size: Option<usize>,
    /// Where to write the image (`-` for stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Describe the image as JSON on stdout (not with `-o -`).
    #[arg(long)]
    pub json: bool,
}

/// What `sim image` reports.
#[derive(Debug, serde::Serialize)]
struct ImageReport {
    output: String,
    chip: Chip,
    bytes: usize,
    segments: usize,
    checksum: String,
    sha256_appended: bool,
    settings: ImageSettings,
}

fn settings_from(args: &ImageArgs) -> Result<ImageSettings> {
    let mut s = ImageSettings::reference(args.chip);
    let (host, port) = match args.host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| Error::Usage(format!("--host {}: bad port `{p}`", args.host)))?;
            (h.to_owned(), port)
        }
        _ => (args.host.clone(), 443),
    };
    if host.is_empty() {
        return Err(Error::Usage("--host is empty".to_owned()));
    }
    s.host = host;
    s.port = port;
    if let Some(c) = &args.connect {
        if c.parse::<std::net::SocketAddr>().is_err() && c.rsplit_once(':').is_none() {
            return Err(Error::Usage(format!("--connect {c}: expected ADDR:PORT")));
        }
        s.connect = Some(c.clone());
    }
    if !args.url.starts_with('/') {
        return Err(Error::Usage(format!(
            "--url {}: must start with /",
            args.url
        )));
    }
    s.url = args.url.clone();
    if let Some(fp) = &args.fingerprint {
        let hex: String = fp
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Usage(format!(
                "--fingerprint {fp}: expected 20 hex bytes (a SHA-1 fingerprint)"
            )));
        }
        s.fingerprint = Some(fp.clone());
    }
    if let Some(path) = &args.ca_file {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let bytes = crate::util::read_input_as(path, 1024 * 1024, "a PEM file")?;
        let count = CertificateDer::pem_slice_iter(&bytes)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::input(show_path(path), format!("bad PEM: {e}")))?
            .len();
        if count == 0 {
            return Err(Error::input(show_path(path), "no CERTIFICATE block in it"));
        }
        let pem = String::from_utf8(bytes)
            .map_err(|_| Error::input(show_path(path), "PEM is not UTF-8"))?;
        s.ca_pem = Some(pem);
    }
    s.fault = args.fault;
    Ok(s)
}

/// Run `sim image`.
pub fn run_image(args: ImageArgs) -> Result<Exit> {
    let settings = settings_from(&args)?;
    let bytes = match args.size {
        Some(size) => crate::sim::image::build_sized(&settings, size),
        None => crate::sim::image::build(&settings),
    };
    if bytes.len() > crate::sim::device::flash::FLASH_SIZE - args.chip.app_offset() as usize {
        return Err(Error::Usage(
            "the image (settings, --size) would be larger than the flash".to_owned(),
        ));
    }
    let parsed = image::parse(&bytes, args.chip)
        .map_err(|e| Error::env("sim image", format!("built an unreadable image: {e}")))?;
    crate::util::write_atomic(&args.output, &bytes)?;
    let report = ImageReport {
        output: show_path(&args.output),
        chip: args.chip,
        bytes: bytes.len(),
        segments: parsed.segments.len(),
        checksum: format!("0x{:02x}", parsed.checksum_stored),
        sha256_appended: parsed.digest.is_some(),
        settings,
    };
    if crate::error::is_stdin(&args.output) {
        return Ok(Exit::Ok);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        super::json_line(&mut out, &report)?;
    } else {
        writeln!(
            out,
            "wrote {}: {} image, {} bytes, {} segments, checksum {}{}",
            report.output,
            args.chip.name(),
            report.bytes,
            report.segments,
            report.checksum,
            if report.sha256_appended {
                ", SHA-256 appended"
            } else {
                ""
            }
        )?;
        let s = &report.settings;
        writeln!(
            out,
            "sketch: https://{}:{}{}{}",
            s.host,
            s.port,
            s.url,
            s.connect
                .as_ref()
                .map(|c| format!(" via {c}"))
                .unwrap_or_default()
        )?;
        let pin = match (&s.fingerprint, &s.ca_pem) {
            (Some(fp), _) => format!("fingerprint {fp}"),
            (None, Some(_)) => "CA certificate".to_owned(),
            (None, None) => "none (insecure)".to_owned(),
        };
        writeln!(out, "pin: {pin}")?;
        if let Some(f) = s.fault {
            writeln!(out, "fault: {f}")?;
        }
        writeln!(out, "flash it at {:#x}", args.chip.app_offset())?;
    }
    Ok(Exit::Ok)
}
