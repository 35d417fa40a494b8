//! `espcheck sim sketch`: the user's own Arduino sketch, compiled for the host with `g++` against
//! a host implementation of the core's API (`core/`, embedded in the binary and written to the
//! cache directory), linked with the board's own TLS library (BearSSL for the ESP8266, mbedTLS for
//! the ESP32), and run: `setup()`, then `loop()` until the timeout, `Serial` on stdout.
//!
//! Builds are cached by content: the core's objects per board, core version and compiler, the
//! sketch's program per everything that goes into it.

pub mod prepare;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{Error, Exit, Result};
use crate::sim::sketch::Board;

/// The host core's files, as they are written into the cache.
const CORE_FILES: &[(&str, &str)] = &[
    ("Arduino.h", include_str!("core/Arduino.h")),
    ("Client.h", include_str!("core/Client.h")),
    (
        "ESP8266HTTPClient.h",
        include_str!("core/ESP8266HTTPClient.h"),
    ),
    ("ESP8266WiFi.h", include_str!("core/ESP8266WiFi.h")),
    (
        "ESP8266WiFiMulti.h",
        include_str!("core/ESP8266WiFiMulti.h"),
    ),
    ("HTTPClient.h", include_str!("core/HTTPClient.h")),
    ("IPAddress.h", include_str!("core/IPAddress.h")),
    ("Network.h", include_str!("core/Network.h")),
    ("NetworkClient.h", include_str!("core/NetworkClient.h")),
    (
        "NetworkClientSecure.h",
        include_str!("core/NetworkClientSecure.h"),
    ),
    ("PolledTimeout.h", include_str!("core/PolledTimeout.h")),
    ("Print.h", include_str!("core/Print.h")),
    ("Printable.h", include_str!("core/Printable.h")),
    ("StackThunk.h", include_str!("core/StackThunk.h")),
    ("Stream.h", include_str!("core/Stream.h")),
    ("WString.h", include_str!("core/WString.h")),
    ("WiFi.h", include_str!("core/WiFi.h")),
    ("WiFiClient.h", include_str!("core/WiFiClient.h")),
    (
        "WiFiClientSecure.h",
        include_str!("core/WiFiClientSecure.h"),
    ),
    (
        "WiFiClientSecureBearSSL.h",
        include_str!("core/WiFiClientSecureBearSSL.h"),
    ),
    (
        "WiFiClientSecureMbedTLS.h",
        include_str!("core/WiFiClientSecureMbedTLS.h"),
    ),
    ("WiFiHost.h", include_str!("core/WiFiHost.h")),
    ("WiFiMulti.h", include_str!("core/WiFiMulti.h")),
    ("pgmspace.h", include_str!("core/pgmspace.h")),
    ("core.cpp", include_str!("core/core.cpp")),
    ("WString.cpp", include_str!("core/WString.cpp")),
    ("bearssl.cpp", include_str!("core/bearssl.cpp")),
    ("mbedtls.cpp", include_str!("core/mbedtls.cpp")),
    ("http.cpp", include_str!("core/http.cpp")),
];

/// Where docs/SIM_SKETCH.md is, for messages.
pub const DOC: &str = "docs/SIM_SKETCH.md";

/// A core version, `major.minor[.patch]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CoreVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl CoreVersion {
    /// The newest release of each core the host core follows.
    pub fn latest(board: Board) -> CoreVersion {
        match board {
            Board::Esp8266 => CoreVersion {
                major: 3,
                minor: 1,
                patch: 2,
            },
            Board::Esp32 => CoreVersion {
                major: 3,
                minor: 1,
                patch: 1,
            },
        }
    }

    /// `ESPCHECK_CORE_VERSION`: 30102 for 3.1.2.
    fn number(self) -> u32 {
        self.major * 10000 + self.minor * 100 + self.patch
    }

    /// Whether `board` had a release with this number.
    pub fn check(self, board: Board) -> std::result::Result<(), String> {
        let ok = match board {
            Board::Esp8266 => matches!((self.major, self.minor), (2, 0..=7) | (3, 0..=1)),
            Board::Esp32 => matches!((self.major, self.minor), (1, 0) | (2, 0) | (3, 0..=3)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "--core {self}: the {} core has no such release ({})",
                board.as_str(),
                match board {
                    Board::Esp8266 => "2.0–2.7, 3.0, 3.1",
                    Board::Esp32 => "1.0, 2.0, 3.0–3.3",
                }
            ))
        }
    }
}

impl std::fmt::Display for CoreVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for CoreVersion {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("core version `{s}` is not MAJOR.MINOR or MAJOR.MINOR.PATCH");
        let parts: Vec<&str> = s.trim().split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let mut nums = [0u32; 3];
        for (i, p) in parts.iter().enumerate() {
            nums[i] = p.parse().map_err(|_| bad())?;
            if nums[i] > 99 {
                return Err(bad());
            }
        }
        Ok(CoreVersion {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
        })
    }
}

/// How the simulated Wi-Fi behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wifi {
    /// Joins at once.
    Ok,
    /// Never joins (no such SSID).
    Fail,
    /// Joins after 5 seconds.
    Slow,
}

impl Wifi {
    fn as_str(self) -> &'static str {
        match self {
            Wifi::Ok => "ok",
            Wifi::Fail => "fail",
            Wifi::Slow => "slow",
        }
    }
}

/// Everything `espcheck sim sketch` needs.
#[derive(Debug, Clone)]
pub struct SketchOptions {
    pub path: PathBuf,
    pub board: Option<Board>,
    pub core: Option<CoreVersion>,
    /// `ADDR:PORT` (every host) or `HOST=ADDR:PORT`.
    pub connect: Vec<String>,
    /// The certificate bundle `setCACertBundle` finds on the ESP32.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub wifi: Wifi,
    pub libs: Vec<PathBuf>,
    pub cache: PathBuf,
}

/// The default cache: $XDG_CACHE_HOME/espcheck/sketch, else ~/.cache/espcheck/sketch.
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("espcheck").join("sketch")
}

/// A built sketch, ready to run.
#[derive(Debug, Clone)]
pub struct Built {
    pub program: PathBuf,
    pub board: Board,
    pub core: CoreVersion,
    /// Whether this build came from the cache.
    pub cached: bool,
}

fn hex16(h: Sha256) -> String {
    hex::encode(&h.finalize()[..8])
}

fn io_err(what: &Path, e: &std::io::Error) -> Error {
    Error::env(crate::error::show_path(what), crate::util::io_reason(e))
}

/// Check `--connect` values: `ADDR:PORT` or `HOST=ADDR:PORT`, ADDR an IP address.
pub fn connect_spec(values: &[String]) -> Result<String> {
    let mut items = Vec::new();
    for v in values {
        let (host, addr) = match v.split_once('=') {
            Some((h, a)) if !h.is_empty() => (h, a),
            Some(_) => {
                return Err(Error::Usage(format!(
                    "--connect {v}: the host before `=` is empty"
                )));
            }
            None => ("*", v.as_str()),
        };
        if addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::Usage(format!(
                "--connect {v}: `{addr}` is not ADDR:PORT (an IP address and a port, like 127.0.0.1:8443)"
            )));
        }
        if host.contains(';') {
            return Err(Error::Usage(format!(
                "--connect {v}: a host name has no `;`"
            )));
        }
        items.push(format!("{host}={addr}"));
    }
    Ok(items.join(";"))
}

/// Read the sketch, guess the board when not given, and build (or find the cached build).
pub fn build(opts: &SketchOptions) -> Result<Built> {
    let shown = crate::error::show_path(&opts.path);
    let files = prepare::find_files(&opts.path).map_err(|e| Error::input(&shown, e))?;
    let mut inos = Vec::new();
    for p in &files.inos {
        let bytes = crate::util::read_input(p, crate::util::MAX_INPUT_BYTES)?;
        inos.push(prepare::InoFile {
            shown: p.display().to_string(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    let board = opts.board.unwrap_or_else(|| guess_board(&inos));
    let core = match opts.core {
        Some(core) => core,
        None => {
            let (core, why) = guess_core(board, &inos);
            if let Some(why) = why {
                eprintln!("espcheck sim: {why}: core {core} (--core chooses another)");
            }
            core
        }
    };
    core.check(board).map_err(Error::Usage)?;
    for lib in &opts.libs {
        if !lib.is_dir() {
            return Err(Error::input(
                crate::error::show_path(lib),
                "--lib needs a library directory (with its sources in src/ or at the top)",
            ));
        }
    }

    let cxx = std::env::var("CXX")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "g++".into());
    let cc = std::env::var("CC")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "gcc".into());
    let compiler = compiler_id(&cxx)?;

    std::fs::create_dir_all(&opts.cache).map_err(|e| io_err(&opts.cache, &e))?;
    let core_dir = write_core(&opts.cache)?;
    let defines = defines(board, core);

    // The sketch: everything that goes into the program decides its cache entry.
    let unit = prepare::prepare(&inos);
    let mut h = Sha256::new();
    h.update(b"sketch\0");
    h.update(compiler.as_bytes());
    h.update(core_dir.to_string_lossy().as_bytes());
    h.update(defines.join(" ").as_bytes());
    h.update(unit.as_bytes());
    let mut sources = files.sources.clone();
    let mut headers = files.headers.clone();
    let mut includes = vec![files.dir.clone()];
    for lib in &opts.libs {
        let root = if lib.join("src").is_dir() {
            lib.join("src")
        } else {
            lib.clone()
        };
        prepare::collect_tree(&root, &mut sources, &mut headers);
        includes.push(root);
    }
    for p in sources.iter().chain(headers.iter()) {
        let bytes = crate::util::read_input(p, crate::util::MAX_INPUT_BYTES)?;
        h.update(p.to_string_lossy().as_bytes());
        h.update(b"\0");
        h.update(&bytes);
    }
    // --ca-file: the bundle the firmware embeds, under the names ESP-IDF's build and the ESP32
    // examples give it.
    let bundle = match &opts.ca_file {
        Some(pem) if board == Board::Esp32 => {
            let bytes = crate::util::read_input(pem, crate::util::MAX_INPUT_BYTES)?;
            let offsets = core
                >= CoreVersion {
                    major: 3,
                    minor: 1,
                    patch: 0,
                };
            let b = idf_bundle(&bytes, offsets)
                .map_err(|e| Error::input(crate::error::show_path(pem), e))?;
            h.update(b"bundle\0");
            h.update(&b);
            Some(b)
        }
        Some(_) => {
            return Err(Error::Usage(
                "--ca-file is the ESP32's certificate bundle (setCACertBundle); the ESP8266 has none"
                    .to_owned(),
            ));
        }
        None => None,
    };
    let dir = opts.cache.join(format!("sketch-{}", hex16(h)));
    let program = dir.join("sketch");
    if program.is_file() {
        return Ok(Built {
            program,
            board,
            core,
            cached: true,
        });
    }

    let work = tempfile::Builder::new()
        .prefix(".build-")
        .tempdir_in(&opts.cache)
        .map_err(|e| io_err(&opts.cache, &e))?;
    let main_cpp = work.path().join("sketch.ino.cpp");
    std::fs::write(&main_cpp, &unit).map_err(|e| io_err(&main_cpp, &e))?;
    let mut jobs = vec![(main_cpp, work.path().join("sketch.ino.o"))];
    if let Some(b) = &bundle {
        let bin = work.path().join("x509_crt_bundle.bin");
        std::fs::write(&bin, b).map_err(|e| io_err(&bin, &e))?;
        let src = work.path().join("x509_crt_bundle.cpp");
        std::fs::write(&src, bundle_source(&bin)).map_err(|e| io_err(&src, &e))?;
        jobs.push((src, work.path().join("x509_crt_bundle.o")));
    }
    for (i, src) in sources.iter().enumerate() {
        let stem = src
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        jobs.push((src.clone(), work.path().join(format!("{i}-{stem}.o"))));
    }
    let mut flags: Vec<String> = defines.clone();
    flags.push(format!("-I{}", core_dir.display()));
    for inc in &includes {
        flags.push(format!("-I{}", inc.display()));
    }
    compile_all(&jobs, &flags, &cxx, &cc).map_err(|e| tls_missing(board, e))?;
    // The core after the sketch: a sketch that does not compile costs no core build.
    let objs = build_core(opts, &core_dir, board, &defines, &cxx, &compiler)?;
    let mut link = Command::new(&cxx);
    link.arg("-o").arg(work.path().join("sketch"));
    for (_, o) in &jobs {
        link.arg(o);
    }
    for o in &objs {
        link.arg(o);
    }
    link.args(tls_libs(board));
    run_compiler(link, &cxx).map_err(|e| tls_missing(board, e))?;
    let staged = work.keep();
    match std::fs::rename(&staged, &dir) {
        Ok(()) => {}
        // Another run built the same sketch meanwhile: theirs is as good.
        Err(_) if program.is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(io_err(&dir, &e));
        }
    }
    Ok(Built {
        program,
        board,
        core,
        cached: false,
    })
}

/// The ESP8266 unless the sketch only names the ESP32's headers.
fn guess_board(inos: &[prepare::InoFile]) -> Board {
    let all: String = inos.iter().map(|i| i.text.as_str()).collect();
    let esp8266 = [
        "ESP8266WiFi.h",
        "ESP8266HTTPClient.h",
        "BearSSL",
        "ESP8266WiFiMulti.h",
    ];
    let esp32 = [
        "<WiFi.h>",
        "<HTTPClient.h>",
        "NetworkClientSecure",
        "setCACert(",
        "<WiFiMulti.h>",
    ];
    if esp8266.iter().any(|m| all.contains(m)) {
        Board::Esp8266
    } else if esp32.iter().any(|m| all.contains(m)) {
        Board::Esp32
    } else {
        Board::Esp8266
    }
}

/// The newest core, unless the sketch calls what only older ESP8266 cores have: axTLS's
/// `verify(fp, host)` (before 2.5) or the DER `setCACert` (before 3.0). A sketch that compiles
/// only there was built there.
fn guess_core(board: Board, inos: &[prepare::InoFile]) -> (CoreVersion, Option<&'static str>) {
    let latest = CoreVersion::latest(board);
    if board != Board::Esp8266 {
        return (latest, None);
    }
    let all: String = inos.iter().map(|i| i.text.as_str()).collect();
    let bearssl_only = [
        "setFingerprint",
        "setTrustAnchors",
        "setInsecure",
        "setKnownKey",
        "X509List",
    ];
    if all.contains(".verify(") && !bearssl_only.iter().any(|m| all.contains(m)) {
        let v = CoreVersion {
            major: 2,
            minor: 4,
            patch: 2,
        };
        return (
            v,
            Some(
                "the sketch calls verify(fingerprint, host), which only the axTLS client of cores before 2.5 has",
            ),
        );
    }
    if (all.contains(".setCACert(") || all.contains("->setCACert(") || all.contains("setCACert_P("))
        && !all.contains("X509List")
    {
        let v = CoreVersion {
            major: 2,
            minor: 7,
            patch: 4,
        };
        return (
            v,
            Some("the sketch calls setCACert(), which the ESP8266 client has only before core 3.0"),
        );
    }
    (latest, None)
}

fn defines(board: Board, core: CoreVersion) -> Vec<String> {
    let mut d = vec![
        "-DARDUINO=10819".to_owned(),
        format!("-DESPCHECK_CORE_VERSION={}", core.number()),
        format!("-DESPCHECK_CORE_VERSION_STRING=\"{core}\""),
    ];
    match board {
        Board::Esp8266 => d.extend([
            "-DESP8266".to_owned(),
            "-DARDUINO_ARCH_ESP8266".to_owned(),
            "-DARDUINO_ESP8266_GENERIC".to_owned(),
            "-DF_CPU=80000000L".to_owned(),
            format!("-DARDUINO_ESP8266_MAJOR={}", core.major),
            format!("-DARDUINO_ESP8266_MINOR={}", core.minor),
            format!("-DARDUINO_ESP8266_REVISION={}", core.patch),
            format!(
                "-DARDUINO_ESP8266_RELEASE_{}_{}_{}",
                core.major, core.minor, core.patch
            ),
        ]),
        Board::Esp32 => d.extend([
            "-DESP32".to_owned(),
            "-DARDUINO_ARCH_ESP32".to_owned(),
            "-DARDUINO_ESP32_DEV".to_owned(),
            "-DF_CPU=240000000L".to_owned(),
            format!("-DESP_ARDUINO_VERSION_MAJOR={}", core.major),
            format!("-DESP_ARDUINO_VERSION_MINOR={}", core.minor),
            format!("-DESP_ARDUINO_VERSION_PATCH={}", core.patch),
        ]),
    }
    d
}

fn tls_libs(board: Board) -> &'static [&'static str] {
    match board {
        Board::Esp8266 => &["-lbearssl"],
        Board::Esp32 => &["-lmbedtls", "-lmbedx509", "-lmbedcrypto"],
    }
}

/// What to install for the board's TLS library.
fn tls_package(board: Board) -> &'static str {
    match board {
        Board::Esp8266 => "BearSSL (Debian/Ubuntu: apt-get install libbearssl-dev)",
        Board::Esp32 => "mbedTLS (Debian/Ubuntu: apt-get install libmbedtls-dev)",
    }
}

/// A compile error that is the missing TLS library, as the environment failure it is (exit 4).
fn tls_missing(board: Board, e: Error) -> Error {
    match e {
        Error::Input { message, .. } if message.starts_with("missing TLS library") => Error::env(
            board.as_str(),
            format!(
                "the board's TLS library is missing: install {}",
                tls_package(board)
            ),
        ),
        other => other,
    }
}

/// `g++ --version`'s first line; a missing compiler is an environment failure, exit 4.
fn compiler_id(cxx: &str) -> Result<String> {
    let out = Command::new(cxx)
        .arg("--version")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()),
        Ok(_) => Err(Error::env(cxx, "`--version` failed; is it a C++ compiler?")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::env(
            cxx,
            "not found: sim sketch compiles the sketch with the host's C++ compiler; install g++ \
             (Debian/Ubuntu: apt-get install g++)",
        )),
        Err(e) => Err(Error::env(cxx, crate::util::io_reason(&e))),
    }
}

/// The core's files in `cache/core-HASH/`, written once (to a temporary directory, then renamed,
/// so a half-written core is never used).
fn write_core(cache: &Path) -> Result<PathBuf> {
    let mut h = Sha256::new();
    for (name, text) in CORE_FILES {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update(text.as_bytes());
        h.update(b"\0");
    }
    let dir = cache.join(format!("core-{}", hex16(h)));
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".core-")
        .tempdir_in(cache)
        .map_err(|e| io_err(cache, &e))?;
    for (name, text) in CORE_FILES {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).map_err(|e| io_err(&p, &e))?;
    }
    publish(tmp, &dir, "the host core")?;
    Ok(dir)
}

/// Move a fully written cache entry into place, marked complete. Another espcheck that got there
/// first wins; its entry is as good as this one.
fn publish(tmp: tempfile::TempDir, dir: &Path, what: &str) -> Result<()> {
    let done = tmp.path().join(".complete");
    std::fs::write(&done, b"").map_err(|e| io_err(&done, &e))?;
    let staged = tmp.keep();
    if std::fs::rename(&staged, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.join(".complete").is_file() {
            return Err(Error::env(
                crate::error::show_path(dir),
                format!("could not write {what} there"),
            ));
        }
    }
    Ok(())
}

/// The core's objects for this board, core version and compiler, built once.
fn build_core(
    opts: &SketchOptions,
    core_dir: &Path,
    board: Board,
    defines: &[String],
    cxx: &str,
    compiler: &str,
) -> Result<Vec<PathBuf>> {
    let sources: &[&str] = match board {
        Board::Esp8266 => &["core.cpp", "WString.cpp", "bearssl.cpp", "http.cpp"],
        Board::Esp32 => &["core.cpp", "WString.cpp", "mbedtls.cpp", "http.cpp"],
    };
    let mut h = Sha256::new();
    h.update(b"objects\0");
    h.update(core_dir.to_string_lossy().as_bytes());
    h.update(compiler.as_bytes());
    h.update(defines.join(" ").as_bytes());
    let dir = opts.cache.join(format!("objects-{}", hex16(h)));
    let objs: Vec<PathBuf> = sources.iter().map(|s| dir.join(format!("{s}.o"))).collect();
    if dir.join(".complete").is_file() {
        return Ok(objs);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".objects-")
        .tempdir_in(&opts.cache)
        .map_err(|e| io_err(&opts.cache, &e))?;
    let jobs: Vec<(PathBuf, PathBuf)> = sources
        .iter()
        .map(|s| (core_dir.join(s), tmp.path().join(format!("{s}.o"))))
        .collect();
    let mut flags = defines.to_vec();
    flags.push(format!("-I{}", core_dir.display()));
    compile_all(&jobs, &flags, cxx, "gcc").map_err(|e| match e {
        Error::Input { message, .. }
            if message.contains("bearssl") || message.contains("mbedtls") =>
        {
            Error::env(
                board.as_str(),
                format!(
                    "the board's TLS library is missing: install {}",
                    tls_package(board)
                ),
            )
        }
        other => other,
    })?;
    publish(tmp, &dir, "the core's objects")?;
    Ok(objs)
}

/// Compile every (source, object) pair, two at a time.
fn compile_all(jobs: &[(PathBuf, PathBuf)], flags: &[String], cxx: &str, cc: &str) -> Result<()> {
    for chunk in jobs.chunks(2) {
        let mut running = Vec::new();
        for (src, obj) in chunk {
            let is_c = src.extension().is_some_and(|e| e == "c");
            let tool = if is_c { cc } else { cxx };
            let mut cmd = Command::new(tool);
            if !is_c {
                cmd.arg("-std=gnu++17");
            }
            cmd.args(["-c", "-O0", "-w", "-fno-diagnostics-color"])
                .args(flags)
                .arg(src)
                .arg("-o")
                .arg(obj)
                .env("LC_ALL", "C")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let child = cmd.spawn().map_err(|e| spawn_error(tool, &e))?;
            running.push((tool, child));
        }
        let mut first_err = None;
        for (tool, child) in running {
            let out = child
                .wait_with_output()
                .map_err(|e| Error::env(tool, crate::util::io_reason(&e)))?;
            if !out.status.success() && first_err.is_none() {
                first_err = Some(String::from_utf8_lossy(&out.stderr).into_owned());
            }
        }
        if let Some(text) = first_err {
            return Err(compile_error(&text));
        }
    }
    Ok(())
}

fn run_compiler(mut cmd: Command, tool: &str) -> Result<()> {
    let out = cmd
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| spawn_error(tool, &e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(compile_error(&String::from_utf8_lossy(&out.stderr)))
}

fn spawn_error(tool: &str, e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::env(
            tool,
            "not found: install the host's C/C++ compiler (Debian/Ubuntu: apt-get install g++)",
        )
    } else {
        Error::env(tool, crate::util::io_reason(e))
    }
}

/// The compiler's messages on stderr, then one line saying what went wrong.
fn compile_error(text: &str) -> Error {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = String::new();
    for l in lines.iter().take(40) {
        let _ = writeln!(shown, "{l}");
    }
    if lines.len() > 40 {
        let _ = writeln!(shown, "... ({} more lines)", lines.len() - 40);
    }
    eprint!("{shown}");
    let (at, what) = explain(text);
    Error::input(at, what)
}

/// Where the first error is and what it means for the user.
pub fn explain(text: &str) -> (String, String) {
    let re = |p: &str| regex::Regex::new(p).ok();
    let first = text
        .lines()
        .find(|l| {
            l.contains(" error: ")
                || l.contains("fatal error:")
                || l.contains("undefined reference")
        })
        .unwrap_or("");
    let at = re(r"^(.*?:\d+)(?::\d+)?: (?:fatal )?error:")
        .and_then(|r| r.captures(first).map(|c| c[1].to_owned()))
        .unwrap_or_else(|| "sketch".to_owned());
    let missing = |call: &str| {
        format!(
            "the sketch calls `{call}`, which the host core does not implement; {DOC} lists what \
             it does (a library outside the core can be added with --lib DIR)"
        )
    };
    if let Some(c) =
        re(r"fatal error: ([^:]+): No such file or directory").and_then(|r| r.captures(text))
    {
        let header = &c[1];
        if header.contains("bearssl") || header.contains("mbedtls") {
            return (at, format!("missing TLS library headers ({header})"));
        }
        return (
            at,
            format!(
                "the sketch includes <{header}>, which the host core does not provide: add its \
                 library with --lib DIR, or see {DOC} for what is implemented"
            ),
        );
    }
    if let Some(c) = re(r"'(?:class|struct) ([^']+)' has no member named '([^']+)'")
        .and_then(|r| r.captures(first))
    {
        return (at, missing(&format!("{}::{}", &c[1], &c[2])));
    }
    if let Some(c) = re(r"'([^']+)' was not declared in this scope").and_then(|r| r.captures(first))
    {
        return (
            at,
            format!(
                "`{}` is declared neither in the sketch nor in the host core; {DOC} lists what the \
                 core implements (a library outside the core can be added with --lib DIR)",
                &c[1]
            ),
        );
    }
    if let Some(c) =
        re(r"no matching function for call to '([^']+)'").and_then(|r| r.captures(first))
    {
        return (
            at,
            format!(
                "no form of `{}` takes these arguments in the host core; {DOC} lists the forms it \
                 implements",
                &c[1]
            ),
        );
    }
    if let Some(c) = re(r"cannot find -l(\S+)").and_then(|r| r.captures(text)) {
        return (at, format!("missing TLS library (lib{})", &c[1]));
    }
    if let Some(c) = re(r"undefined reference to `([^']+)'").and_then(|r| r.captures(text)) {
        return ("sketch".to_owned(), missing(&c[1]));
    }
    let msg = first
        .split_once("error: ")
        .map_or("the sketch does not compile", |(_, m)| m)
        .trim()
        .to_owned();
    (at, format!("does not compile: {msg}"))
}

/// PEM certificates as an ESP-IDF certificate bundle, sorted by subject name. Each entry is the
/// subject's length and the public key's length (2 bytes each, big-endian), then the two. Before
/// ESP-IDF 5.3 (arduino-esp32 before 3.1) the bundle starts with a 2-byte big-endian count; from
/// then on with one 4-byte little-endian offset per entry.
pub fn idf_bundle(pem: &[u8], offsets: bool) -> std::result::Result<Vec<u8>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".to_owned());
    }
    let mut entries = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let (_, x) = x509_parser::parse_x509_certificate(c.as_ref())
            .map_err(|_| format!("certificate {} is not valid X.509", i + 1))?;
        let name = x.tbs_certificate.subject.as_raw().to_vec();
        let key = x.tbs_certificate.subject_pki.raw.to_vec();
        entries.push((name, key));
    }
    // The bundle is searched by subject name, so it is sorted by it.
    entries.sort();
    let count = u16::try_from(entries.len()).map_err(|_| "too many certificates".to_owned())?;
    let mut body = Vec::new();
    let mut starts = Vec::new();
    for (name, key) in entries {
        let nl = u16::try_from(name.len()).map_err(|_| "a subject name too long".to_owned())?;
        let kl = u16::try_from(key.len()).map_err(|_| "a public key too long".to_owned())?;
        starts.push(body.len());
        body.extend_from_slice(&nl.to_be_bytes());
        body.extend_from_slice(&kl.to_be_bytes());
        body.extend_from_slice(&name);
        body.extend_from_slice(&key);
    }
    let mut out = Vec::new();
    if offsets {
        let head = starts.len() * 4;
        for start in starts {
            let at =
                u32::try_from(head + start).map_err(|_| "the bundle is too large".to_owned())?;
            out.extend_from_slice(&at.to_le_bytes());
        }
    } else {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// A C++ file that embeds the bundle at `bin` under the symbols a sketch declares for it.
fn bundle_source(bin: &Path) -> String {
    let path = bin
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let mut src = String::from("// The --ca-file bundle, as the ESP32 build embeds it.\n");
    for name in [
        "x509_crt_bundle",
        "data_cert_x509_crt_bundle_bin",
        "x509_crt_bundle_bin",
    ] {
        let _ = writeln!(
            src,
            "__asm__(\".section .rodata\\n.global _binary_{name}_start\\n.global _binary_{name}_end\\n\
             .balign 4\\n_binary_{name}_start:\\n.incbin \\\"{path}\\\"\\n_binary_{name}_end:\\n.byte 0\\n\
             .previous\\n\");"
        );
    }
    src
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Ran until the timeout (or the sketch ended it: `ESP.restart()`, `deepSleep`).
    Ran,
    /// Every secure connection the sketch tried failed (TCP, TLS or the pin).
    TlsFailed,
}

/// Run a built sketch; Serial goes straight to our stdout, diagnostics to stderr.
pub fn run(opts: &SketchOptions, built: &Built) -> Result<Ending> {
    run_to(opts, built, Stdio::inherit())
}

/// [`run`] with Serial going to `serial` (a file, or nowhere).
pub fn run_to(opts: &SketchOptions, built: &Built, serial: Stdio) -> Result<Ending> {
    let connect = connect_spec(&opts.connect)?;
    let mut cmd = Command::new(&built.program);
    cmd.env("ESPCHECK_SIM_CONNECT", &connect)
        .env("ESPCHECK_SIM_WIFI", opts.wifi.as_str())
        .env(
            "ESPCHECK_SIM_TIMEOUT_MS",
            opts.timeout.as_millis().to_string(),
        )
        .stdin(Stdio::null())
        .stdout(serial)
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| {
        Error::env(
            crate::error::show_path(&built.program),
            crate::util::io_reason(&e),
        )
    })?;
    // The program ends itself at the timeout; a sketch stuck in a loop that never calls delay()
    // or yield() is stopped a little later.
    let hard = Instant::now() + opts.timeout + Duration::from_secs(3);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= hard => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::env("sketch", crate::util::io_reason(&e))),
        }
    };
    let Some(status) = status else {
        crate::cli::warn(
            "the sketch never returned from loop() or called delay()/yield() before the timeout \
             (on the board the watchdog would reset it); stopped",
        );
        return Ok(Ending::Ran);
    };
    use std::os::unix::process::ExitStatusExt as _;
    if let Some(sig) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(sig)
            .map_or_else(|_| format!("signal {sig}"), |s| s.as_str().to_owned());
        return Err(Error::device(
            format!("sketch ({})", built.board.as_str()),
            format!("crashed ({name}); on the board this is an exception and a reset"),
        ));
    }
    match status.code() {
        Some(0) => Ok(Ending::Ran),
        Some(5) => Ok(Ending::TlsFailed),
        Some(n) => Err(Error::device(
            format!("sketch ({})", built.board.as_str()),
            format!("the program ended with status {n}"),
        )),
        None => Ok(Ending::Ran),
    }
}

/// Build and run; the exit code for the command line.
pub fn build_and_run(opts: &SketchOptions) -> Result<Exit> {
    let built = build(opts)?;
    eprintln!(
        "espcheck sim: {} core {}{}, running for {}",
        built.board.as_str(),
        built.core,
        if built.cached { " (cached build)" } else { "" },
        crate::util::human_duration(opts.timeout)
    );
    match run(opts, &built)? {
        Ending::Ran => Ok(Exit::Ok),
        Ending::TlsFailed => Err(Error::device(
            format!("sketch ({})", built.board.as_str()),
            "every secure connection the sketch tried failed: TCP, TLS or the pin (the reasons are above)",
        )),
    }
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn compiler_messages_become_one_line_about_the_sketch() {
        let (at, what) = explain(
            "a.ino: In function 'void setup()':\n\
             a.ino:40:10: error: 'class BearSSL::WiFiClientSecure' has no member named 'setClientRSACert'\n",
        );
        assert_eq!(at, "a.ino:40");
        assert!(
            what.contains("`BearSSL::WiFiClientSecure::setClientRSACert`") && what.contains(DOC)
        );
        let (_, what) =
            explain("a.ino:2:10: fatal error: ESP8266mDNS.h: No such file or directory\n");
        assert!(
            what.contains("<ESP8266mDNS.h>") && what.contains("--lib DIR"),
            "{what}"
        );
        let (_, what) =
            explain("core.cpp:9:10: fatal error: bearssl.h: No such file or directory\n");
        assert!(what.starts_with("missing TLS library"), "{what}");
        let (_, what) = explain("/usr/bin/ld: cannot find -lmbedtls: No such file or directory\n");
        assert!(what.starts_with("missing TLS library"), "{what}");
        let e = tls_missing(Board::Esp32, Error::input("x", what));
        assert_eq!(e.exit(), Exit::Environment);
        assert!(e.to_string().contains("libmbedtls-dev"), "{e}");
    }

    #[test]
    fn core_versions_are_the_cores_releases() {
        let v: CoreVersion = "2.7.4".parse().unwrap();
        assert_eq!(v.number(), 20704);
        assert!(v.check(Board::Esp8266).is_ok());
        assert!(v.check(Board::Esp32).is_err());
        assert!(
            "3.1"
                .parse::<CoreVersion>()
                .unwrap()
                .check(Board::Esp32)
                .is_ok()
        );
        assert!("3".parse::<CoreVersion>().is_err());
        assert!("3.x".parse::<CoreVersion>().is_err());
    }

    #[test]
    fn bundles_in_both_layouts() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let pem = cert.pem();
        let old = idf_bundle(pem.as_bytes(), false).unwrap();
        let new = idf_bundle(pem.as_bytes(), true).unwrap();
        // The same entry after a 2-byte count or a 4-byte offset.
        assert_eq!(&old[..2], &[0, 1]);
        assert_eq!(&new[..4], &[4, 0, 0, 0]);
        assert_eq!(old[2..], new[4..]);
        let nl = usize::from(u16::from_be_bytes([old[2], old[3]]));
        let kl = usize::from(u16::from_be_bytes([old[4], old[5]]));
        assert_eq!(old.len(), 2 + 4 + nl + kl);
        assert!(idf_bundle(b"no pem here", false).is_err());
    }

    #[test]
    fn connect_values_are_checked() {
        assert_eq!(
            connect_spec(&["127.0.0.1:8443".into(), "a.example=[::1]:443".into()]).unwrap(),
            "*=127.0.0.1:8443;a.example=[::1]:443"
        );
        assert!(connect_spec(&["localhost:8443".into()]).is_err());
        assert!(connect_spec(&["=127.0.0.1:1".into()]).is_err());
    }
}
