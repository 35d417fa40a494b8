//! Fault injection against the real binary: servers that stall, hang up mid-handshake or answer
//! with something that is not TLS; `gen-cert-header` killed while it writes. The virtual board's
//! faults (reset loop, malformed SLIP, a flash cut by SIGINT) are in `faults/board.rs`.
//!
//! The serial peer that vanishes mid-line is covered in `watch.rs`
//! (`closing_the_pty_mid_line_exits_4_with_the_log_intact`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::support::{Alg, TestChain, free_port};

mod board;

use super::support::espcheck_std as bin;

/// Run espcheck with `args`; the output and how long the process took from spawn to exit.
fn timed(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = super::support::espcheck_std()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out, start.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one `error:` line of a failed run; anything else on stderr may only be a `hint:`.
fn error_line(err: &str) -> &str {
    let mut lines = err.lines();
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    assert!(
        lines.all(|l| l.starts_with("hint: ")),
        "one error line: {err}"
    );
    assert!(!err.contains("panick"), "{err}");
    first
}

// ---------------------------------------------------------------------------------------------
// TLS peers that misbehave
// ---------------------------------------------------------------------------------------------

/// What a [`BadServer`] does with each connection.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Accept, read the ClientHello, never answer (the connection stays open).
    Silent,
    /// Read the ClientHello and answer like a plain-HTTP server on a TLS port.
    Http400,
    /// Read the ClientHello, send the first bytes of a ServerHello record, hang up.
    CutMidHandshake,
    /// Accept and close at once, before reading anything.
    HangUp,
}

/// A loopback server that misbehaves in one way. Stops when dropped; connections it holds open
/// (the silent kind) are closed then.
struct BadServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl BadServer {
    fn start(how: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        if let Some(t) = misbehave(how, tcp) {
                            held.push(t);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        BadServer { port, stop }
    }
}

impl Drop for BadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Read what the client sent first (its ClientHello), without waiting for more than it sent.
fn read_hello(tcp: &mut TcpStream) {
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 4096];
    let _ = tcp.read(&mut buf);
}

fn misbehave(how: Misbehaviour, mut tcp: TcpStream) -> Option<TcpStream> {
    match how {
        Misbehaviour::Silent => {
            read_hello(&mut tcp);
            return Some(tcp);
        }
        Misbehaviour::Http400 => {
            read_hello(&mut tcp);
            let _ = tcp.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\
                  Connection: close\r\n\r\nBad Request",
            );
        }
        Misbehaviour::CutMidHandshake => {
            read_hello(&mut tcp);
            // A handshake record announcing 0x0400 bytes (ServerHello, TLS 1.2), cut after 10.
            let _ = tcp.write_all(&[
                0x16, 0x03, 0x03, 0x04, 0x00, 0x02, 0x00, 0x00, 0x46, 0x03, 0x03, 0x5a, 0x5a, 0x5a,
                0x5a,
            ]);
        }
        Misbehaviour::HangUp => {}
    }
    let _ = tcp.shutdown(std::net::Shutdown::Both);
    None
}

/// `check` needs a pin file naming the host; a root PEM with `--host` is the simplest.
fn pin_file(chain: &TestChain) -> PathBuf {
    chain.path("root.pem")
}

/// The three commands that talk TLS, pointed at `port` (SNI `pins.test`).
fn tls_commands(chain: &TestChain, port: u16, timeout: &str) -> Vec<(&'static str, Vec<String>)> {
    let connect = format!("127.0.0.1:{port}");
    vec![
        (
            "fingerprint",
            vec![
                "fingerprint".into(),
                "pins.test".into(),
                "--connect".into(),
                connect.clone(),
                "--timeout".into(),
                timeout.into(),
            ],
        ),
        (
            "probe",
            vec![
                "probe".into(),
                "pins.test".into(),
                "--connect".into(),
                connect.clone(),
                "--timeout".into(),
                timeout.into(),
            ],
        ),
        (
            "check",
            vec![
                "check".into(),
                pin_file(chain).display().to_string(),
                "--host".into(),
                "pins.test".into(),
                "--connect".into(),
                connect,
                "--timeout".into(),
                timeout.into(),
            ],
        ),
    ]
}

/// Run every command concurrently (each waits on the network, not the CPU) and collect results.
fn run_all(cmds: Vec<(&'static str, Vec<String>)>) -> Vec<(&'static str, Output, Duration)> {
    let handles: Vec<_> = cmds
        .into_iter()
        .map(|(name, args)| {
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (out, took) = timed(&args);
                (name, out, took)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out_at_the_stated_time() {
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    // What starting the binary and failing at once costs on this machine right now: a refused
    // connection is answered by the kernel immediately.
    let closed = free_port();
    let baseline = run_all(tls_commands(&chain, closed, "2s"))
        .into_iter()
        .map(|(name, out, took)| {
            assert_eq!(out.status.code(), Some(4), "{name}: {}", stderr(&out));
            took
        })
        .max()
        .unwrap();

    let server = BadServer::start(Misbehaviour::Silent);
    let timeout = Duration::from_secs(2);
    for (name, out, took) in run_all(tls_commands(&chain, server.port, "2s")) {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{name}: {err}");
        let limit = timeout.mul_f64(1.1) + baseline + Duration::from_millis(300);
        assert!(
            took >= timeout && took <= limit,
            "{name}: took {took:?}; want {timeout:?}..={limit:?} (start-up {baseline:?})"
        );
        let line = error_line(&err);
        eprintln!("{name}: {took:?}: {line}");
        assert!(
            line.contains("pins.test"),
            "{name}: names the target: {err}"
        );
        assert!(line.contains("timed out after 2s"), "{name}: {err}");
    }
}

#[test]
fn a_server_that_hangs_up_mid_handshake_or_speaks_http_is_exit_4_naming_the_target() {
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    for how in [
        Misbehaviour::Http400,
        Misbehaviour::CutMidHandshake,
        Misbehaviour::HangUp,
    ] {
        let server = BadServer::start(how);
        for (name, out, took) in run_all(tls_commands(&chain, server.port, "10s")) {
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(4), "{how:?} {name}: {err}");
            assert!(
                took < Duration::from_secs(5),
                "{how:?} {name}: a hang-up is not a timeout ({took:?})"
            );
            let line = error_line(&err);
            eprintln!("{how:?} {name}: {line}");
            assert!(
                line.contains("pins.test"),
                "{how:?} {name}: names the target: {err}"
            );
            let why = match how {
                Misbehaviour::Http400 => "did not answer with TLS",
                _ => "closed",
            };
            assert!(line.contains(why), "{how:?} {name}: says `{why}`: {err}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output files
// ---------------------------------------------------------------------------------------------

/// The process umask, read without changing it (`umask(2)` would race other tests' file
/// creation).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file in `dir` but `keep`.
fn strays(dir: &Path, keep: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != keep)
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A big input, so the write takes a while: the system CA bundle (~140 roots) when there is one.
fn big_bundle() -> PathBuf {
    let system = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
    if system.is_file() {
        system
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bundles/roots.pem")
    }
}

fn gen_bundle_c(from: &Path, out: &Path) -> Command {
    let mut cmd = bin();
    cmd.args([
        "gen-cert-header",
        "--format",
        "idf-bundle-c",
        "--quiet",
        "--from",
    ])
    .arg(from)
    .arg("--out")
    .arg(out)
    .env("SOURCE_DATE_EPOCH", "1767225600")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

#[test]
fn gen_cert_header_killed_mid_write_leaves_the_old_output_or_the_whole_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x509_crt_bundle.h");
    let scratch = tempfile::tempdir().unwrap();
    let roots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/bundles/roots.pem");

    // The old output: a real earlier run, from a smaller bundle, with a mode the user chose.
    assert!(gen_bundle_c(&roots, &target).status().unwrap().success());
    let old = std::fs::read(&target).unwrap();
    std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    // The complete new output, and how long a whole run takes.
    let full = scratch.path().join("full.h");
    let start = Instant::now();
    assert!(
        gen_bundle_c(&big_bundle(), &full)
            .status()
            .unwrap()
            .success()
    );
    let run = start.elapsed();
    let new = std::fs::read(&full).unwrap();
    assert_ne!(old, new);
    assert_eq!(
        mode(&full),
        0o666 & !umask(),
        "a new output gets the mode an ordinary write gives, not tempfile's 0600"
    );

    // Even runs: kill at moments spread from the start to past the end of a typical run. Odd
    // runs: kill inside the write itself, just after the temporary file appears.
    let (mut saw_old, mut saw_new, mut killed) = (0, 0, 0);
    for i in 0..20u32 {
        std::fs::write(&target, &old).unwrap();
        let mut child = gen_bundle_c(&big_bundle(), &target).spawn().unwrap();
        if i % 2 == 0 {
            std::thread::sleep(run.mul_f64(f64::from(i) / 13.0));
        } else {
            let before = strays(dir.path(), &target).len();
            let deadline = Instant::now() + Duration::from_secs(10);
            while strays(dir.path(), &target).len() == before
                && child.try_wait().unwrap().is_none()
                && Instant::now() < deadline
            {
                std::hint::spin_loop();
            }
            std::thread::sleep(Duration::from_micros(u64::from(i) * 100));
        }
        let _ = child.kill(); // SIGKILL; a no-op if the run already finished
        let status = child.wait().unwrap();
        let got = std::fs::read(&target).unwrap();
        if got == old {
            saw_old += 1;
        } else if got == new {
            saw_new += 1;
        } else {
            panic!(
                "run {i}: the output is neither the old nor the new bytes ({} bytes)",
                got.len()
            );
        }
        assert_eq!(mode(&target), 0o640, "run {i}: the user's mode survives");
        let left = strays(dir.path(), &target);
        if status.success() {
            // A run that finished leaves nothing but its output (earlier kills' leftovers aside).
            assert!(
                left.len() <= killed,
                "run {i}: a finished run left {left:?}"
            );
        } else {
            killed += 1;
        }
        // SIGKILL cannot be caught: a run killed mid-write may leave its temporary file. It is
        // hidden, named `.espcheck-*`, and beside the target, never anything else.
        assert!(
            left.iter().all(|n| n.starts_with(".espcheck-")),
            "run {i}: stray files {left:?}"
        );
        assert!(
            left.len() <= killed,
            "run {i}: {left:?} after {killed} kills"
        );
    }
    eprintln!(
        "gen-cert-header SIGKILL: {saw_old} old, {saw_new} new of 20 runs ({killed} killed, run \
         {run:?}, {} temp files left by kills inside the write)",
        strays(dir.path(), &target).len()
    );
    assert!(saw_old > 0, "early kills leave the old output");
}

/// Issue 13: a full disk under `--out` or `--junit` is the host's environment (exit 4), not bad
/// input (exit 2). `/dev/full` answers every write with ENOSPC.
#[test]
fn a_full_disk_on_out_or_junit_is_exit_4_not_bad_input() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIP: /dev/full is missing on this machine");
        return;
    }
    let chain = env!("CARGO_MANIFEST_DIR").to_owned() + "/fixtures/chains/example-chain.pem";
    let log = env!("CARGO_MANIFEST_DIR").to_owned() + "/fixtures/logs/core3x_pass.log";
    for args in [
        vec!["gen-cert-header", "--from", &chain, "--out", "/dev/full"],
        vec!["grade", &log, "--junit", "/dev/full"],
    ] {
        let (out, _) = timed(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains("/dev/full"),
            "{args:?}: the error names the file: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
    // A missing directory is still the user's input: exit 2.
    let (out, _) = timed(&[
        "gen-cert-header",
        "--from",
        &chain,
        "--out",
        "/nonexistent/dir/pins.h",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Issue 18 (10): size errors name what the file should be, and `--elf` checks the ELF magic
/// before reading the file (a 200 MB log passed as `--elf` is refused at once).
#[test]
fn rules_and_elf_size_errors_say_what_the_file_should_be() {
    let dir = tempfile::tempdir().unwrap();
    let log = env!("CARGO_MANIFEST_DIR").to_owned() + "/fixtures/logs/core3x_pass.log";
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, vec![b'#'; 2 * 1024 * 1024]).unwrap();
    let (out, _) = timed(&["grade", &log, "--rules", rules.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rules file") && !err.contains("certificate"),
        "{err}"
    );

    let big = dir.path().join("big.log");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(200 * 1024 * 1024).unwrap(); // sparse: no disk used, under the 256 MiB bound
    let (out, took) = timed(&["grade", &log, "--elf", big.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not an ELF") && !err.contains("certificate"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(5),
        "refused without reading it: {took:?}"
    );
}

/// Issue 18, re-run with new adversarial inputs: each must give one clear line and the contract's
/// exit code. Items 1 (addresses that are not loopback, in every spelling), 5 (control and bidi
/// characters in a host argument are escaped in the echo, never printed raw or dropped),
/// 9 (a `GITHUB_TOKEN` with a tab or that is not UTF-8 names the variable; a full disk on stdout
/// is exit 4) and 10 (`/dev/zero` as `--rules` or `--elf`).
#[test]
fn issue_18_adversarial_rerun_gives_one_line_and_the_contract_exit_code() {
    let mut tried = 0;
    for addr in [
        "[::]:0",
        "0.0.0.0:0",
        "192.168.1.10:0",
        "[::ffff:10.0.0.1]:0",
        "[::ffff:0.0.0.0]:0",
    ] {
        for args in [
            vec!["sim", "serve", "--addr", addr],
            vec!["sim", "device", "--rfc2217", addr, "--for", "1s"],
        ] {
            let (out, took) = timed(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(error_line(&err).contains("not a loopback address"), "{err}");
            assert!(took < Duration::from_secs(5), "{args:?} refused at once");
            tried += 1;
        }
    }
    for (host, shown) in [
        (
            "evil.example\ntrusted; hostname ok",
            "evil.example\\ntrusted; hostname ok",
        ),
        ("a\u{202e}b.example:443", "a\\u{202e}b.example:443"),
        ("x\u{1b}[2Jy:443", "x\\u{1b}[2Jy:443"),
    ] {
        let (out, _) = timed(&["probe", host, "--timeout", "2s"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(error_line(&err).contains(shown), "{err}");
        assert!(
            !err.contains('\u{202e}') && !err.contains('\u{1b}'),
            "{err}"
        );
        tried += 1;
    }
    let log = env!("CARGO_MANIFEST_DIR").to_owned() + "/fixtures/logs/core3x_pass.log";
    for token in [
        std::ffi::OsString::from("ghp_ab\tcd"),
        std::os::unix::ffi::OsStringExt::from_vec(vec![0x67, 0xFF, 0xFE]),
    ] {
        let out = super::support::espcheck_std()
            .args(["grade", &log, "--truth", "--api-base", "http://127.0.0.1:9"])
            .env("GITHUB_TOKEN", token)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(error_line(&err).contains("GITHUB_TOKEN"), "{err}");
        tried += 1;
    }
    for json in [true, false] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut cmd = super::support::espcheck_std();
        cmd.args(["grade", &log]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        tried += 1;
    }
    for flag in ["--rules", "--elf"] {
        let (out, took) = timed(&["grade", &log, flag, "/dev/zero"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!error_line(&err).contains("certificate"), "{err}");
        assert!(took < Duration::from_secs(5), "{flag}: {took:?}");
        tried += 1;
    }
    assert_eq!(tried, 19);
}
