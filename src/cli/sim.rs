//! `espcheck sim serve` (the mock GitHub API over real TLS) and `espcheck sim run` (the reference
//! sketch on the host).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{NetArgs, parse_duration};
use crate::error::{Error, Exit, Result};
use crate::sim::chain::{self, ChainPaths};
use crate::sim::server::{
    CiState, MockServer, RateLimit, Scenario, ServerConfig, announce_rotation,
};
use crate::sim::sketch::{
    self, Board, CoreVersion, RunConfig, ShownPin, SketchConfig, Trust, Variant, run::HostSerial,
};

/// Examples for `sim serve --help`.
pub const SERVE_EXAMPLES: &str = "Examples:
  espcheck sim serve --addr 127.0.0.1:8443 --chain-dir ./mock-chain
  espcheck sim serve --addr 127.0.0.1:0 --state failure --chunked
  espcheck sim serve --actions-only --state success      # pending, 0 statuses; check runs green
  espcheck sim serve --rotate-leaf 1                     # a new leaf every connection
  espcheck sim serve --check-runs 150 --fail-last        # two pages; run #150 failed
  espcheck sim serve --token T --rate-limit secondary    # 401 without T; 403 + Retry-After

The first stdout line is `listening on https://ADDR:PORT (HOST)`. SIGHUP re-issues the leaf;
Ctrl-C or SIGTERM stops the server (exit 0).";

/// Examples for `sim run --help`.
pub const RUN_EXAMPLES: &str = "Examples:
  espcheck sim run --connect 127.0.0.1:8443 --fingerprint 'AA:BB:…'
  espcheck sim run --connect 127.0.0.1:8443 --ca-file mock-chain/intermediate.pem --core 3.1
  espcheck sim run --variant post-json --connect 127.0.0.1:8443 --ca-file mock-chain/intermediate.pem \\
      --data '{\"grant_type\":\"client_credentials\"}'

Exit codes: 0 the sketch reached its verdict (either CI verdict), 5 the board's connection, TLS
or pin failed, 2 bad arguments or an unreadable --ca-file.";

/// Examples for `sim sketch --help`.
pub const SKETCH_EXAMPLES: &str = "Examples:
  espcheck sim sketch ./MySketch --connect 127.0.0.1:8443 --timeout 5s | espcheck grade -
  espcheck sim sketch MySketch/MySketch.ino --board esp32 --connect api.example.com=127.0.0.1:8443
  espcheck sim sketch ./MySketch --core 2.7.4 --lib ~/Arduino/libraries/ArduinoJson
  espcheck sim sketch ./MySketch --wifi fail --timeout 3s

PATH is the sketch directory or its .ino. Serial goes to stdout, diagnostics to stderr. Without
--connect, host names resolve through real DNS. docs/SIM_SKETCH.md lists the API implemented.
Exit codes: 0 the sketch ran until the timeout, 5 every secure connection it tried failed (TCP, TLS or the pin) or it
crashed, 2 it does not compile (the call the host core lacks is named), 4 g++ or the board's TLS
library is missing.";

/// The simulator subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A mock api.github.com over real TLS, with a generated root → intermediate → leaf chain.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Run the reference sketch's logic on the host and print what the board would print.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Compile your own Arduino sketch for the host and run it with the board's TLS library.
    #[command(after_help = SKETCH_EXAMPLES)]
    Sketch(SketchArgs),
    /// A virtual ESP8266/ESP32 on a pseudo-terminal that esptool and espflash can flash.
    #[command(after_help = super::sim_device::DEVICE_EXAMPLES)]
    Device(super::sim_device::DeviceArgs),
    /// Build a firmware image for the virtual board carrying the sketch's settings.
    #[command(after_help = super::sim_device::IMAGE_EXAMPLES)]
    Image(super::sim_device::ImageArgs),
}

/// The CI state on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    Success,
    Failure,
    Pending,
    Error,
}

impl From<StateArg> for CiState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Success => CiState::Success,
            StateArg::Failure => CiState::Failure,
            StateArg::Pending => CiState::Pending,
            StateArg::Error => CiState::Error,
        }
    }
}

/// `sim serve` arguments.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. Loopback only, unless --public.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub addr: SocketAddr,
    /// Allow an address other than loopback. The mock serves a private key and answers anyone, so
    /// only do this on a network you control.
    #[arg(long)]
    pub public: bool,
    /// The host name on the leaf certificate (plus localhost, 127.0.0.1 and ::1).
    #[arg(long, default_value = "api.github.com")]
    pub host: String,
    /// Where the chain is kept (root.pem intermediate.pem leaf.pem leaf.key chain.pem); reused
    /// when present. Default: ~/.cache/espcheck/sim-chain.
    #[arg(long, value_name = "DIR")]
    pub chain_dir: Option<PathBuf>,
    /// The CI state the API reports.
    #[arg(long, value_enum, default_value = "success")]
    pub state: StateArg,
    /// GitHub Actions only: combined status pending with no statuses; check runs carry the state.
    #[arg(long)]
    pub actions_only: bool,
    /// Pretty-printed JSON (GitHub's answer to curl) instead of compact.
    #[arg(long)]
    pub pretty: bool,
    /// Chunked transfer encoding (HTTP/1.1 requests).
    #[arg(long)]
    pub chunked: bool,
    /// Delay before each response (500ms, 3s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub slow: Option<Duration>,
    /// Re-issue the leaf (new key, same intermediate) every N connections.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rotate_leaf: Option<u64>,
    /// Serve a leaf whose validity ended yesterday.
    #[arg(long)]
    pub expired_leaf: bool,
    /// Send half of the server's first handshake flight, then hang up.
    #[arg(long)]
    pub close_mid_handshake: bool,
    /// Log each request on stderr.
    #[arg(long)]
    pub access_log: bool,
    /// The one repository that exists (`owner/name`); any other is 404.
    #[arg(long, default_value = "esp8266/Arduino", value_name = "OWNER/NAME")]
    pub repo: String,
    /// The one ref that exists (its commit SHA works too); any other is 422.
    #[arg(long = "ref", default_value = "master", value_name = "REF")]
    pub git_ref: String,
    /// Require this token (`Authorization: Bearer T`); any other, or none, is 401.
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Serve N check runs, paged by `per_page`/`page` with GitHub's `Link` header.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub check_runs: usize,
    /// All check runs succeed but the last, which has --state's conclusion (failure for success).
    #[arg(long)]
    pub fail_last: bool,
    /// Answer 403 rate limited: `secondary` with Retry-After, `primary` with no budget left.
    #[arg(long, value_enum, value_name = "KIND")]
    pub rate_limit: Option<RateLimitArg>,
}

/// Which rate limit `sim serve --rate-limit` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimitArg {
    Primary,
    Secondary,
}

impl From<RateLimitArg> for RateLimit {
    fn from(r: RateLimitArg) -> Self {
        match r {
            RateLimitArg::Primary => RateLimit::Primary,
            RateLimitArg::Secondary => RateLimit::Secondary,
        }
    }
}

/// Which sketch `sim run` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VariantArg {
    /// The reference sketch: GET the combined status, print the CI verdict.
    GetStatus,
    /// The second seed: raw `POST … HTTP/1.0` with a JSON body.
    PostJson,
}

/// The board on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BoardArg {
    Esp8266,
    Esp32,
}

/// `sim run` arguments.
#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("trust")
        .required(true)
        .multiple(false)
        .args(["fingerprint", "ca_file", "insecure"])
))]
pub struct RunArgs {
    /// The host the sketch connects to (SNI and `Host`).
    #[arg(long, default_value = "api.github.com")]
    pub host: String,
    /// The sketch's httpsPort.
    #[arg(long, default_value_t = 443)]
    pub port: u16,
    /// The URL the sketch requests (default: the status URL, or /oauth/token for post-json).
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
    /// setFingerprint: the leaf's SHA-1, accepted exactly as the esp8266 core accepts it.
    #[arg(long, value_name = "FP")]
    pub fingerprint: Option<String>,
    /// setInsecure: no verification at all.
    #[arg(long)]
    pub insecure: bool,
    /// Board whose TLS handshake to make (default: esp8266 for get-status, esp32 for post-json).
    #[arg(long, value_enum)]
    pub board: Option<BoardArg>,
    /// esp8266 core version whose lines to print: 2.4 (default), 2.7, 3.0, 3.0.1, 3.1.
    #[arg(long, default_value = "2.4", value_parser = parse_core)]
    pub core: CoreVersion,
    /// Which sketch to run.
    #[arg(long, value_enum, default_value = "get-status")]
    pub variant: VariantArg,
    /// The JSON body of the post-json variant.
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
    /// The SSID printed in `connecting to <ssid>`.
    #[arg(long, default_value = "sensor-net")]
    pub ssid: String,
}

/// `sim sketch --wifi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WifiArg {
    /// Joins at once.
    Ok,
    /// Never joins (WL_NO_SSID_AVAIL).
    Fail,
    /// Joins after 5 seconds.
    Slow,
}

/// `sim sketch` arguments.
#[derive(Debug, clap::Args)]
pub struct SketchArgs {
    /// The sketch directory, or its .ino file.
    pub path: PathBuf,
    /// The board whose core and TLS library to build with (default: from the sketch's includes).
    #[arg(long, value_enum)]
    pub board: Option<BoardArg>,
    /// The core release whose API to offer (default: esp8266 3.1.2, esp32 3.1.1).
    #[arg(long, value_name = "VERSION", value_parser = parse_host_core)]
    pub core: Option<crate::sim::host::CoreVersion>,
    /// Every host name resolves to ADDR:PORT, or only HOST with HOST=ADDR:PORT. Repeatable.
    #[arg(long, value_name = "[HOST=]ADDR:PORT")]
    pub connect: Vec<String>,
    /// The certificate bundle (PEM) the board carries for setCACertBundle.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// How long setup() and loop() run (10s, 500ms, 2m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How the Wi-Fi join goes.
    #[arg(long, value_enum, default_value = "ok")]
    pub wifi: WifiArg,
    /// An Arduino library to compile with the sketch (its src/ or top directory). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub lib: Vec<PathBuf>,
}

fn parse_host_core(text: &str) -> std::result::Result<crate::sim::host::CoreVersion, String> {
    text.parse()
}

fn sketch(args: SketchArgs) -> Result<Exit> {
    use crate::sim::host::{self, SketchOptions, Wifi};
    // Checked before anything is built, so a typo costs no compile.
    host::connect_spec(&args.connect)?;
    let opts = SketchOptions {
        path: args.path,
        board: args.board.map(|b| match b {
            BoardArg::Esp8266 => Board::Esp8266,
            BoardArg::Esp32 => Board::Esp32,
        }),
        core: args.core,
        connect: args.connect,
        ca_file: args.ca_file,
        timeout: args.timeout,
        wifi: match args.wifi {
            WifiArg::Ok => Wifi::Ok,
            WifiArg::Fail => Wifi::Fail,
            WifiArg::Slow => Wifi::Slow,
        },
        libs: args.lib,
        cache: host::default_cache(),
    };
    host::build_and_run(&opts)
}

fn parse_core(text: &str) -> std::result::Result<CoreVersion, String> {
    text.parse()
}

/// Run a simulator subcommand.
pub fn run(cmd: Command) -> Result<Exit> {
    match cmd {
        Command::Serve(args) => serve(args),
        Command::Run(args) => run_sketch(args),
        Command::Sketch(args) => sketch(args),
        Command::Device(args) => super::sim_device::run_device(args),
        Command::Image(args) => super::sim_device::run_image(args),
    }
}

fn default_chain_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("espcheck").join("sim-chain")
}

/// The mock listens on loopback unless the user says otherwise: its leaf's private key sits
/// beside it, and it answers whoever connects.
pub fn check_bind(addr: SocketAddr, public: bool) -> Result<()> {
    check_bind_for(
        addr,
        public,
        "--addr",
        "the mock",
        "it serves a test chain whose private key is on this disk",
    )
}

/// [`check_bind`] for any listener: `flag` names the option, `what` the service, `risk` what a
/// stranger could do with it.
pub fn check_bind_for(
    addr: SocketAddr,
    public: bool,
    flag: &str,
    what: &str,
    risk: &str,
) -> Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if !public {
        return Err(Error::Usage(format!(
            "{flag} {addr} is not a loopback address: {what} would be reachable from the \
             network; use 127.0.0.1 or [::1], or pass --public"
        )));
    }
    let who = if addr.ip().is_unspecified() {
        "anyone who can reach this machine on any interface".to_owned()
    } else {
        format!("anyone who can reach {}", addr.ip())
    };
    super::warn(format!(
        "--public: {who} can connect to {what} on port {}; {risk}",
        addr.port()
    ));
    Ok(())
}

fn serve(args: ServeArgs) -> Result<Exit> {
    check_bind(args.addr, args.public)?;
    crate::grade::truth::check_repo(&args.repo)?;
    let config = ServerConfig {
        addr: args.addr,
        host: args.host,
        chain_dir: args.chain_dir.unwrap_or_else(default_chain_dir),
        state: args.state.into(),
        actions_only: args.actions_only,
        pretty: args.pretty,
        chunked: args.chunked,
        slow: args.slow,
        rotate_every: args.rotate_leaf,
        expired_leaf: args.expired_leaf,
        close_mid_handshake: args.close_mid_handshake,
        access_log: args.access_log,
        scenario: Scenario {
            repo: args.repo,
            git_ref: args.git_ref,
            token: args.token,
            check_runs: args.check_runs,
            fail_last: args.fail_last,
            rate_limit: args.rate_limit.map(Into::into),
        },
    };
    let rt = super::runtime()?;
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |kind| signal(kind).map_err(|e| Error::env("signal handler", e));
        let (mut term, mut int, mut hup) = (
            sig(SignalKind::terminate())?,
            sig(SignalKind::interrupt())?,
            sig(SignalKind::hangup())?,
        );
        let host = config.host.clone();
        let server = MockServer::start(config).await?;
        banner(&server, &host)?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => match server.rotate_leaf() {
                    Ok(chain) => announce_rotation(&chain),
                    Err(e) => super::warn(format!("leaf rotation failed: {e}")),
                },
            }
        }
        server.shutdown().await;
        Ok(Exit::Ok)
    })
}

/// The start-up report: the address first (tests and scripts parse it), then the chain and the
/// pins ready to paste.
fn banner(server: &MockServer, host: &str) -> Result<()> {
    let addr = server.addr();
    let chain = server.chain();
    let p: &ChainPaths = server.paths();
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on https://{addr} ({host})")?;
    writeln!(
        out,
        "chain:        {} (leaf + intermediate, as served)",
        p.chain.display()
    )?;
    for (label, path, der) in [
        ("leaf:        ", &p.leaf, &chain.leaf),
        ("intermediate:", &p.intermediate, &chain.intermediate),
        ("root:        ", &p.root, &chain.root),
    ] {
        writeln!(
            out,
            "{label} {}  {}  (expires {})",
            path.display(),
            chain::subject(der),
            chain::not_after(der)
        )?;
    }
    writeln!(
        out,
        "pin the leaf (setFingerprint):   {}",
        chain.leaf_sha1_colon()
    )?;
    writeln!(
        out,
        "pin a CA (setTrustAnchors / setCACert): {} or {}",
        p.intermediate.display(),
        p.root.display()
    )?;
    writeln!(
        out,
        "try: curl --cacert {} --resolve {host}:{port}:{ip} https://{host}:{port}/repos/esp8266/Arduino/commits/master/status",
        p.root.display(),
        port = addr.port(),
        ip = addr.ip(),
    )?;
    out.flush()?;
    Ok(())
}

fn run_sketch(args: RunArgs) -> Result<Exit> {
    let variant = match args.variant {
        VariantArg::GetStatus => Variant::GetStatus,
        VariantArg::PostJson => Variant::PostJson,
    };
    let board = match (args.board, variant) {
        (Some(BoardArg::Esp8266), _) | (None, Variant::GetStatus) => Board::Esp8266,
        (Some(BoardArg::Esp32), _) | (None, Variant::PostJson) => Board::Esp32,
    };
    let trust = if let Some(fp) = args.fingerprint {
        Trust::Fingerprint(fp)
    } else if args.insecure {
        Trust::Insecure
    } else {
        load_anchors(&args.net.ca_file)?
    };
    let shown_pin = match &trust {
        Trust::Fingerprint(fp) => ShownPin::Fingerprint(fp.clone()),
        Trust::Anchors { pem, .. } => ShownPin::Certificate(pem.clone()),
        Trust::Insecure => ShownPin::None,
    };
    let url = args.url.unwrap_or_else(|| {
        match variant {
            Variant::GetStatus => sketch::DEFAULT_URL,
            Variant::PostJson => sketch::DEFAULT_POST_URL,
        }
        .to_owned()
    });
    let cfg = RunConfig {
        sketch: SketchConfig {
            host: args.host.clone(),
            url,
            ssid: args.ssid,
            core: args.core,
            variant,
            data: args.data.unwrap_or_else(|| {
                r#"{"grant_type":"client_credentials","client_id":"esp32"}"#.to_owned()
            }),
            shown_pin,
        },
        port: args.port,
        connect: args.net.connect,
        trust,
        board,
        timeout: args.net.timeout,
    };
    let mut serial = HostSerial::new(std::io::stdout().lock());
    let outcome = sketch::run_sketch(&cfg, &mut serial, time::OffsetDateTime::now_utc())?;
    drop(serial.finish()?);
    if outcome.board_failed() {
        let what = match outcome.verified {
            Some(false) => "certificate doesn't match",
            _ => "connection failed",
        };
        let detail = outcome.detail.unwrap_or_else(|| "no detail".to_owned());
        return Err(Error::device(
            format!("{} ({})", args.host, board.as_str()),
            format!("{what}: {detail}"),
        ));
    }
    Ok(Exit::Ok)
}

/// Every certificate of every `--ca-file` is an anchor, as with `X509List` and `setCACert`.
fn load_anchors(files: &[PathBuf]) -> Result<Trust> {
    let mut pem = String::new();
    for path in files {
        let bytes = crate::util::read_input(path, crate::util::MAX_INPUT_BYTES)?;
        let text = String::from_utf8_lossy(&bytes);
        // Checked file by file, so that an error names the file.
        Trust::anchors(&text).map_err(|e| Error::input(crate::error::show_path(path), e))?;
        pem.push_str(text.trim());
        pem.push('\n');
    }
    Trust::anchors(&pem).map_err(|e| Error::input("--ca-file", e))
}
