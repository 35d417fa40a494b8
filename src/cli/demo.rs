//! `espcheck demo`: the whole loop offline on this machine: mock server → fingerprint → header →
//! image → virtual board → flash-and-watch → verdict. With `--rotate`, it goes on to show why leaf
//! pins break.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::grade::Outputs;
use super::watch::{EchoPlan, watch_and_report};
use crate::cert::report::ChainReport;
use crate::codegen::{self, Output, PinChoice, Stamp};
use crate::error::{Error, Exit, Result};
use crate::flash::{FlashOptions, Input, NoProgress};
use crate::grade::{self, GradeConfig};
use crate::rom::chip::Chip;
use crate::serial::TtyLink;
use crate::serial::session::WatchPlan;
use crate::serial::watch::WatchOptions;
use crate::sim::device::{self, DeviceConfig};
use crate::sim::image::{self, ImageSettings};
use crate::sim::reference::SketchFirmware;
use crate::sim::server::{MockServer, ServerConfig};
use crate::tls::{Target, TrustStore, source};

/// Examples shown under `--help`.
pub const EXAMPLES: &str = "Examples:
  espcheck demo                 # the whole loop on a virtual ESP8266, ends in PASS
  espcheck demo --chip esp32 --dir demo-out
  espcheck demo --rotate        # then: the leaf rotates, a leaf pin faults, a CA pin passes

Exit: 0 when every board ended as the demo expects.";

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The virtual board.
    #[arg(long, value_enum, default_value_t = Chip::Esp8266)]
    pub chip: Chip,
    /// Keep the chain, header and images here [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// After the PASS, rotate the server's leaf and show a leaf-pinned board fault while a
    /// CA-pinned board passes.
    #[arg(long)]
    pub rotate: bool,
    /// Do not echo what the board prints.
    #[arg(long)]
    pub quiet_board: bool,
}

const HOST: &str = "api.github.com";
const TIMEOUT: Duration = Duration::from_secs(10);

fn step(out: &mut dyn Write, n: &str, text: &str) -> Result<()> {
    let style = anstyle::Style::new().bold();
    writeln!(out, "\n{style}[{n}] {text}{style:#}")?;
    out.flush()?;
    Ok(())
}

/// Run `demo`.
pub fn run(args: Args) -> Result<Exit> {
    let chip = args.chip;
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::file(d, &e))?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| Error::env("temporary directory", e))?;
            temp.path().to_path_buf()
        }
    };
    let rt = super::runtime()?;
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "espcheck demo: the whole loop, offline, on this machine (files in {})",
        dir.display()
    )?;

    step(&mut out, "1/6", "a mock api.github.com over real TLS")?;
    let mut config = ServerConfig::new(dir.join("chain"));
    config.addr = "127.0.0.1:0"
        .parse()
        .map_err(|_| Error::Usage("bad address".to_owned()))?;
    let server = rt.block_on(MockServer::start(config))?;
    let addr = server.addr().to_string();
    let root = server.paths().root.clone();
    writeln!(
        out,
        "listening on {addr} as {HOST}, root → intermediate → leaf in {}",
        dir.join("chain").display()
    )?;

    step(
        &mut out,
        "2/6",
        &format!("espcheck fingerprint {HOST} --connect {addr} --ca-file root.pem"),
    )?;
    let mut target = Target::parse(HOST, 443)?;
    target.connect = Some(addr.clone());
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(std::slice::from_ref(&root), false)?),
        timeout: TIMEOUT,
        jobs: 1,
        now: crate::util::now(),
        profile: None,
    };
    let now = plan.now;
    let acquired = rt.block_on(source::live(&target, &plan))?;
    let report = acquired.report(now);
    report.render_text(&mut out)?;
    let (ca_pem, ca_subject) = recommended_pem(&report)?;
    let leaf_pin = report
        .chain
        .first()
        .map(|c| c.sha1.clone())
        .unwrap_or_default();

    step(
        &mut out,
        "3/6",
        "espcheck gen-cert-header (Arduino C++ header, pinned as advised)",
    )?;
    let source = crate::pins::source_of(acquired, None, None);
    let stamp = Stamp {
        generated_at: crate::util::source_date_epoch()?,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let header = codegen::generate(
        vec![source],
        PinChoice::Auto,
        Output::C(codegen::c::Style::Arduino),
        &stamp,
        now,
    )?;
    let header_path = dir.join("api_github_com.h");
    crate::util::write_atomic(&header_path, &header.bytes)?;
    writeln!(out, "wrote {}:", header_path.display())?;
    for line in String::from_utf8_lossy(&header.bytes)
        .lines()
        .filter(|l| l.contains("API_GITHUB_COM_") && !l.starts_with('#'))
    {
        writeln!(out, "  {}", line.trim())?;
    }

    step(
        &mut out,
        "4/6",
        &format!(
            "espcheck sim image --chip {} --ca-file <{ca_subject}>",
            args.chip
        ),
    )?;
    let settings = ImageSettings {
        connect: Some(addr.clone()),
        ca_pem: Some(ca_pem),
        ..ImageSettings::reference(chip)
    };
    let ca_image = write_image(&dir.join("firmware-ca.bin"), &settings)?;
    writeln!(
        out,
        "wrote {} ({} bytes), pinned to {ca_subject}",
        ca_image.display(),
        std::fs::metadata(&ca_image).map(|m| m.len()).unwrap_or(0)
    )?;

    step(
        &mut out,
        "5/6",
        &format!("espcheck sim device --chip {}", args.chip),
    )?;
    let board = device::start(DeviceConfig {
        chip,
        link: Some(dir.join("board")),
        flash_file: None,
        firmware: Arc::new(SketchFirmware::default()),
        // The demo shows the loop, not line speed.
        pacing: device::Pacing::Off,
        rfc2217: None,
    })?;
    writeln!(
        out,
        "virtual {} on {} (waiting in its ROM loader)",
        args.chip,
        board.path().display()
    )?;

    step(
        &mut out,
        "6/6",
        &format!(
            "espcheck flash-and-watch {} --firmware firmware-ca.bin",
            board.path().display()
        ),
    )?;
    drop(out);
    let first = flash_and_watch(board.path(), &ca_image, args.quiet_board)?;
    let mut ok = first == Exit::Ok;
    let mut out = anstream::stdout().lock();
    step(
        &mut out,
        "sketch",
        "espcheck sim sketch HTTPSRequest/ --connect ADDR (a sketch's own code, built with g++)",
    )?;
    drop(out);
    ok &= own_sketch(&dir, &addr, &leaf_pin, args.quiet_board)?;
    let mut out = anstream::stdout().lock();
    if args.rotate {
        step(
            &mut out,
            "rotate",
            "the server re-issues its leaf from the same intermediate",
        )?;
        server.rotate_leaf()?;
        let new_pin = server.chain().leaf_sha1_colon();
        writeln!(out, "leaf SHA-1 was {leaf_pin}\n         now {new_pin}")?;
        let leaf_settings = ImageSettings {
            fingerprint: Some(leaf_pin.clone()),
            ca_pem: None,
            ..settings.clone()
        };
        let leaf_image = write_image(&dir.join("firmware-leaf.bin"), &leaf_settings)?;
        step(
            &mut out,
            "rotate",
            "a board pinned to the old leaf (setFingerprint)",
        )?;
        drop(out);
        let leaf = flash_and_watch(board.path(), &leaf_image, args.quiet_board)?;
        let mut out2 = anstream::stdout().lock();
        step(
            &mut out2,
            "rotate",
            "a board pinned to the CA (setTrustAnchors), unchanged image",
        )?;
        drop(out2);
        let ca = flash_and_watch(board.path(), &ca_image, args.quiet_board)?;
        out = anstream::stdout().lock();
        writeln!(out, "\nleaf pin after rotation: {}", describe(leaf))?;
        writeln!(out, "CA pin after rotation:   {}", describe(ca))?;
        ok &= leaf == Exit::Device && ca == Exit::Ok;
    }
    writeln!(
        out,
        "\n{}",
        if ok {
            "demo: every board ended as expected"
        } else {
            "demo: a board did not end as expected"
        }
    )?;
    drop(out);
    board.shutdown();
    rt.block_on(server.shutdown());
    Ok(if ok { Exit::Ok } else { Exit::No })
}

/// The reference sketch as a user would write it, pinned to the leaf, compiled for the host and
/// run against the mock. On a machine without g++ or BearSSL the step is skipped, saying why.
fn own_sketch(dir: &Path, addr: &str, pin: &str, quiet: bool) -> Result<bool> {
    use crate::sim::host::{self, SketchOptions, Wifi};
    let sketch_dir = dir.join("HTTPSRequest");
    std::fs::create_dir_all(&sketch_dir).map_err(|e| Error::file(&sketch_dir, &e))?;
    let text = include_str!("../../fixtures/sketches/esp8266-fingerprint/esp8266-fingerprint.ino")
        .replace(
            "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33",
            pin,
        );
    crate::util::write_atomic(&sketch_dir.join("HTTPSRequest.ino"), text.as_bytes())?;
    let opts = SketchOptions {
        path: sketch_dir,
        board: Some(crate::sim::sketch::Board::Esp8266),
        core: None,
        connect: vec![addr.to_owned()],
        ca_file: None,
        timeout: Duration::from_secs(2),
        wifi: Wifi::Ok,
        libs: Vec::new(),
        cache: host::default_cache(),
    };
    let built = match host::build(&opts) {
        Ok(built) => built,
        Err(e @ Error::Environment { .. }) => {
            writeln!(anstream::stdout(), "skipped: {e}")?;
            return Ok(true);
        }
        Err(e) => return Err(e),
    };
    let log = dir.join("sketch-serial.txt");
    let file = std::fs::File::create(&log).map_err(|e| Error::file(&log, &e))?;
    host::run_to(&opts, &built, file.into())?;
    let serial = std::fs::read(&log).map_err(|e| Error::file(&log, &e))?;
    let mut out = anstream::stdout().lock();
    if !quiet {
        out.write_all(&serial)?;
    }
    let passed = String::from_utf8_lossy(&serial).contains("CI successfull!");
    writeln!(
        out,
        "{}",
        if passed {
            "the sketch's own BearSSL handshake accepted the pin and read the CI state"
        } else {
            "the sketch did not reach its verdict"
        }
    )?;
    Ok(passed)
}

fn describe(exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => "PASS",
        Exit::Device => "FAULT (exit 5): the board rejected the server",
        Exit::No => "FAIL (exit 1)",
        Exit::Timeout => "TIMEOUT (exit 3)",
        _ => "ERROR",
    }
}

/// The PEM and subject of the certificate the advice recommends for `setTrustAnchors`.
fn recommended_pem(report: &ChainReport) -> Result<(String, String)> {
    let rec = report
        .recommended
        .as_ref()
        .and_then(|r| report.chain.get(r.index))
        .ok_or_else(|| Error::env("demo", "the advice recommended no CA certificate"))?;
    Ok((
        rec.pem.clone(),
        crate::cert::advice::short(&rec.subject).to_owned(),
    ))
}

fn write_image(path: &Path, settings: &ImageSettings) -> Result<PathBuf> {
    crate::util::write_atomic(path, &image::build(settings))?;
    Ok(path.to_path_buf())
}

fn flash_and_watch(port: &Path, firmware: &Path, quiet: bool) -> Result<Exit> {
    let data = crate::util::read_input_as(firmware, 16 * 1024 * 1024, "a firmware image")?;
    let mut opts = FlashOptions::new(port);
    opts.timeout = TIMEOUT;
    let flashed = crate::flash::flash(&opts, Input::detect(&data, None), &mut NoProgress)?;
    super::note(format!(
        "flashed {} bytes to {}; restarting it through the ROM",
        flashed.bytes, flashed.chip
    ));
    let session = WatchPlan {
        port: port.to_path_buf(),
        limits: WatchOptions {
            timeout: Some(Duration::from_secs(40)),
            idle_timeout: Some(Duration::from_secs(20)),
            ..WatchOptions::default()
        },
        log: None,
        reopen_baud: Some(115_200),
    };
    let echo = EchoPlan {
        lines: !quiet,
        timestamps: false,
    };
    let grade = grade::Plan::new(GradeConfig::new(grade::Profile::HttpsRequest));
    let name = port.display().to_string();
    let link = TtyLink::from_port(flashed.port, &name);
    watch_and_report(Box::new(link), &session, grade, &Outputs::default(), &echo)
}
