//! `espcheck watch` over a real pty: the test holds the master and writes as the board would; the
//! binary opens the slave path like any serial port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A pty pair: `master` is the board's end. The test keeps a slave fd open in raw mode so bytes
/// written before the binary opens the port wait for it unchanged. Both fds are close-on-exec:
/// a master leaked into some child process would keep the pty alive after the test drops it.
pub(crate) struct Board {
    pub(crate) master: nix::pty::PtyMaster,
    pub(crate) path: PathBuf,
    _slave: File,
}

pub(crate) fn board() -> Board {
    use std::os::unix::fs::OpenOptionsExt;

    use nix::fcntl::OFlag;
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let master =
        nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).unwrap();
    nix::pty::grantpt(&master).unwrap();
    nix::pty::unlockpt(&master).unwrap();
    let path = PathBuf::from(nix::pty::ptsname_r(&master).unwrap());
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(&path)
        .unwrap();
    let mut t = tcgetattr(&slave).unwrap();
    cfmakeraw(&mut t);
    tcsetattr(&slave, SetArg::TCSANOW, &t).unwrap();
    Board {
        master,
        path,
        _slave: slave,
    }
}

fn watch(path: &Path, args: &[&str]) -> Child {
    super::support::espcheck_std()
        .arg("watch")
        .arg(path)
        .args(args)
        .env_remove("GITHUB_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Stream the child's stdout lines into a channel (so the pipe never fills).
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let hit = line.contains(needle);
        seen.push(line);
        if hit {
            return seen;
        }
    }
    panic!("`{needle}` never came out; saw {seen:?}");
}

pub(crate) fn wait_exit(child: &mut Child, within: Duration) -> i32 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("watch did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut s).unwrap();
    s
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/logs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_verdict_comes_out_while_the_board_is_still_connected() {
    let mut b = board();
    let mut child = watch(&b.path, &["--json", "--timeout", "20s"]);
    b.master.write_all(&fixture("core3x_pass.log")).unwrap();
    let code = wait_exit(&mut child, Duration::from_secs(20));
    let err = stderr_of(&mut child);
    assert_eq!(code, 0, "{err}");
    // With --json the echo goes to stderr and stdout holds only the report.
    assert!(err.contains("Connecting to api.github.com"), "{err}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["ci_state"], "success");
    assert!(
        v["stages"][1]["at_ms"].is_u64(),
        "live runs time their stages"
    );
    // The board's end is still open: the verdict did not wait for a hang-up.
    b.master.write_all(b"still here\r\n").unwrap();
}

#[test]
fn closing_the_pty_mid_line_exits_4_with_the_log_intact() {
    let mut b = board();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let mut child = watch(
        &b.path,
        &[
            "--log",
            log.to_str().unwrap(),
            "--reopen-grace",
            "300ms",
            "--timestamps",
        ],
    );
    let rx = lines_of(&mut child);
    let written: &[u8] =
        b"\xe0\x8c\x1c\x80\x8e\x02\x8c\xfe\r\n\r\nConnecting to sensor-net\r\n....\r\nWiFi connected\r\nConnecting to api.github.com\r\nRequesting URL: /repos/esp8266/Ardu";
    b.master.write_all(written).unwrap();
    let seen = wait_for(&rx, "Connecting to api.github.com", Duration::from_secs(10));
    assert!(
        seen.iter()
            .any(|l| l.starts_with('[') && l.contains("] WiFi connected")),
        "{seen:?}"
    );
    // Give the reader a moment to take the unfinished line too, then unplug the board.
    std::thread::sleep(Duration::from_millis(200));
    drop(b);
    let code = wait_exit(&mut child, Duration::from_secs(10));
    let err = stderr_of(&mut child);
    assert_eq!(code, 4, "{err}");
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("error: /dev/pts/"), "{err}");
    assert!(
        last.contains("went away") && last.contains("within 300ms"),
        "{err}"
    );
    assert!(
        last.contains(&format!("has the {} bytes read", written.len())),
        "{err}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), written);
}

#[test]
fn q_keeps_the_port_lost_note_quiet_and_the_error_loud() {
    // A symlink to the pty (as `sim device --link` makes) is reopened when the pty goes away,
    // and the watch says so, unless -q asks for errors only.
    for quiet in [false, true] {
        let mut b = board();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("board");
        std::os::unix::fs::symlink(&b.path, &link).unwrap();
        let mut args = vec!["--reopen-grace", "300ms"];
        if quiet {
            args.push("-q");
        }
        let mut child = watch(&link, &args);
        b.master.write_all(b"WiFi connected\r\n").unwrap();
        // Let the watch open the pty and read the line before the board goes.
        std::thread::sleep(Duration::from_millis(500));
        drop(b);
        let code = wait_exit(&mut child, Duration::from_secs(10));
        let err = stderr_of(&mut child);
        assert_eq!(code, 4, "{err}");
        let lines: Vec<&str> = err.lines().collect();
        assert!(
            lines
                .last()
                .is_some_and(|l| l.starts_with("error: ") && l.contains("went away")),
            "{err}"
        );
        let noted = err.contains("port lost:") && err.contains("trying to reopen it");
        assert_eq!(noted, !quiet, "quiet: {quiet}: {err}");
        if quiet {
            assert_eq!(lines.len(), 1, "errors only: {err}");
        }
    }
}

/// Start a watch with `--log`, feed it the first lines, and wait for their echo (on stderr with
/// `--json`) so the signal handlers are in place.
fn watching_with_log(log: &Path) -> (Board, Child, &'static [u8]) {
    let mut b = board();
    let mut child = watch(&b.path, &["--log", log.to_str().unwrap(), "--json"]);
    let written: &[u8] = b"Connecting to sensor-net\r\n.....\r\nWiFi connected\r\n";
    b.master.write_all(written).unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&got).contains("WiFi connected") {
        assert!(Instant::now() < deadline, "no echo: {got:?}");
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut err, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    (b, child, written)
}

/// Issue 18 (4): Ctrl-C, SIGTERM, SIGHUP (the terminal closed) and SIGQUIT all stop the watch
/// the same way: the log complete and in place, the report saying "interrupted", exit 130.
#[test]
fn every_stop_signal_keeps_the_log_and_exits_130() {
    use nix::sys::signal::Signal;
    for signal in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.log");
        let (_board, mut child, written) = watching_with_log(&log);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let code = wait_exit(&mut child, Duration::from_secs(10));
        assert_eq!(code, 130, "{signal}");
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (v["verdict"].as_str(), v["stage"].as_str()),
            (Some("timeout"), Some("wifi")),
            "{signal}"
        );
        assert!(
            v["reason"].as_str().unwrap().starts_with("interrupted"),
            "{signal}: {v}"
        );
        assert_eq!(v["exit_code"], 130, "{signal}");
        assert_eq!(std::fs::read(&log).unwrap(), written, "{signal}");
    }
}

/// Issue 18 (4): after a SIGKILL the bytes that arrived well before it are in the `.partial`
/// file beside the log, and the next watch with the same `--log` says so.
#[test]
fn after_sigkill_the_partial_log_holds_the_bytes_and_the_next_watch_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let (_board, mut child, written) = watching_with_log(&log);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let _ = child.wait();
    let partials: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect();
    assert_eq!(partials.len(), 1, "{partials:?}");
    assert_eq!(std::fs::read(&partials[0]).unwrap(), written);

    let mut b = board();
    let mut child = watch(
        &b.path,
        &[
            "--log",
            log.to_str().unwrap(),
            "--json",
            "--profile",
            "unity",
        ],
    );
    b.master.write_all(&fixture("unity_pass.log")).unwrap();
    let code = wait_exit(&mut child, Duration::from_secs(20));
    let err = stderr_of(&mut child);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("partial log from an earlier watch"), "{err}");
}

#[test]
fn an_idle_board_times_out_with_exit_3() {
    let mut b = board();
    let mut child = watch(&b.path, &["--json", "--idle-timeout", "400ms"]);
    b.master.write_all(b"Connecting to sensor-net\r\n").unwrap();
    let code = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(code, 3);
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("printed nothing for 400ms"),
        "{v}"
    );
}

#[test]
fn a_missing_port_is_exit_4_in_one_line() {
    let out = super::support::espcheck_std()
        .args(["watch", "/dev/ttyNOPE7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: /dev/ttyNOPE7: no such serial port\n"
    );
}

#[test]
fn espcheck_port_is_honoured() {
    let mut b = board();
    let mut child = super::support::espcheck_std()
        .args(["watch", "--json", "--quiet", "--profile", "unity"])
        .env("ESPCHECK_PORT", &b.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    b.master.write_all(&fixture("unity_pass.log")).unwrap();
    let code = wait_exit(&mut child, Duration::from_secs(20));
    assert_eq!(code, 0, "{}", stderr_of(&mut child));
}

/// 10 MB as fast as the pty takes it: graded with nothing lost. This is about losing nothing,
/// not speed: an unoptimised test build grades these 130 000 lines in about a minute on an idle
/// machine (a release build in 3 s), so the limits leave room for a loaded CI runner.
#[test]
fn ten_megabytes_through_a_pty_lose_nothing() {
    let mut payload = Vec::with_capacity(10 * 1024 * 1024 + 4096);
    payload.extend_from_slice(b"\r\nConnecting to sensor-net\r\n....\r\nWiFi connected\r\nIP address: \r\n192.168.1.9\r\n");
    let mut n = 0u64;
    while payload.len() < 10 * 1024 * 1024 {
        n += 1;
        write!(
            payload,
            "[{n:>9}][D][sensor.cpp:42] reading {n:08}: t=21.5C h=40% heap=41234 rssi=-61\r\n"
        )
        .unwrap();
    }
    payload.extend_from_slice(
        b"Connecting to api.github.com\r\nRequesting URL: /repos/esp8266/Arduino/commits/master/status\r\nRequest sent\r\nHeaders received\r\nesp8266/Arduino CI successful!\r\nReply was:\r\n==========\r\n{\"state\":\"success\",\"statuses\":[]}\r\n",
    );
    let lines = payload.iter().filter(|&&c| c == b'\n').count();

    let mut b = board();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let mut child = watch(
        &b.path,
        &[
            "--json",
            "--quiet",
            "--log",
            log.to_str().unwrap(),
            "--timeout",
            "300s",
        ],
    );
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        b.master.write_all(&payload).unwrap();
        (b, payload.len())
    });
    let code = wait_exit(&mut child, Duration::from_secs(300));
    let elapsed = start.elapsed();
    let (_board, written) = writer.join().unwrap();
    let err = stderr_of(&mut child);
    assert_eq!(code, 0, "{err}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["bytes"].as_u64(), Some(written as u64));
    assert_eq!(v["lines"].as_u64(), Some(lines as u64));
    assert_eq!(std::fs::metadata(&log).unwrap().len(), written as u64);
    eprintln!(
        "watch over a pty: {written} bytes, {lines} lines in {:.2}s = {:.1} MB/s",
        elapsed.as_secs_f64(),
        written as f64 / 1e6 / elapsed.as_secs_f64()
    );
}

#[test]
fn ports_json_is_one_object_per_line() {
    let out = super::support::espcheck_std()
        .args(["ports", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["path"].as_str().unwrap().starts_with("/dev/"), "{v}");
        assert!(v["likely_esp"].is_boolean());
    }
    let out = super::support::espcheck_std()
        .arg("ports")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !out.stdout.is_empty(),
        "a table, or `no serial ports found`"
    );
}
