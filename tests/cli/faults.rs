//! Fault injection against the real binary: servers that stall, hang up mid-handshake or answer
//! with something that is not TLS; a virtual board that reset-loops, gets malformed SLIP or is
//! abandoned mid-flash; `gen-cert-header` killed while it writes.
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

use espcheck::rom::command::{payload, sync_payload};
use espcheck::rom::packet::{Op, Request, Response, RomError};
use espcheck::rom::slip::{self, FrameDecoder};
use espcheck::rom::Chip;

use super::support::{Alg, TestChain, free_port};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_espcheck"))
}

/// Run espcheck with `args`; the output and how long the process took from spawn to exit.
fn timed(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
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
    assert!(lines.all(|l| l.starts_with("hint: ")), "one error line: {err}");
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
        assert!(line.contains("pins.test"), "{name}: names the target: {err}");
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
