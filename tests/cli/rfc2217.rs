//! The virtual board as an RFC 2217 COM port (`sim device --rfc2217`) against pyserial's real
//! `rfc2217://` client: esptool 5 with its default resets (DTR/RTS through the auto-reset
//! circuit) and its default stub flashes a sim image, then a pyserial reader pulses RTS like a
//! monitor, reads the boot over the same port, and `espcheck grade -` grades it PASS; then
//! esp-idf-monitor (from PyPI) resets the board and shows the sketch's verdict line.
//!
//! Then espcheck's own RFC 2217 client: `flash-and-watch rfc2217://…` against the board's endpoint
//! (resets through DTR/RTS) and through Debian's ser2net exporting a pty-linked board.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::sim::Server;
use crate::support::{espcheck, espcheck_std};

pub(crate) struct Rfc2217Board {
    child: Child,
    pub(crate) url: String,
}

impl Rfc2217Board {
    pub(crate) fn start(chip: &str) -> Self {
        let mut child = espcheck_std()
            .args(["sim", "device", "--pacing", "off", "--chip", chip])
            .args(["--rfc2217", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let url = BufReader::new(stdout)
            .lines()
            .map_while(|l| l.ok())
            .find_map(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with("rfc2217://"))
                    .map(str::to_owned)
            })
            .expect("sim device prints its rfc2217:// address");
        Rfc2217Board { child, url }
    }
}

impl Drop for Rfc2217Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_python() -> Option<PathBuf> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = py.is_file()
        && Command::new(&py)
            .args(["-c", "import serial.rfc2217, esptool"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: .venv with esptool 5 and pyserial missing (see .ci/run)");
        return None;
    }
    Some(py)
}

fn esptool(py: &Path, chip: &str, url: &str, args: &[&str]) -> String {
    let out = Command::new(py)
        .args(["-m", "esptool", "--chip", chip, "--port", url])
        .args(args)
        .output()
        .unwrap();
    crate::rom::esptool_text(&out, args)
}

/// Open the port with pyserial, reset the board as a monitor does (RTS pulse, DTR off), and
/// copy what it prints for `secs` seconds to stdout.
const MONITOR: &str = r#"
import sys, time, serial
p = serial.serial_for_url(sys.argv[1], baudrate=115200, timeout=0.1)
p.dtr = False
p.rts = True
time.sleep(0.1)
p.rts = False
end = time.time() + float(sys.argv[2])
while time.time() < end:
    sys.stdout.buffer.write(p.read(4096))
    sys.stdout.flush()
"#;

#[test]
fn esptool_default_resets_flash_over_rfc2217_and_the_board_boots_to_pass() {
    let Some(py) = venv_python() else { return };
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let chip = "esp32";
    let fw = dir.path().join("app.bin");
    espcheck()
        .args([
            "sim",
            "image",
            "--chip",
            chip,
            "--connect",
            &server.connect(),
        ])
        .arg("--ca-file")
        .arg(server.file("root.pem"))
        .arg("-o")
        .arg(&fw)
        .assert()
        .success();
    let board = Rfc2217Board::start(chip);

    // Default --before default-reset: only DTR/RTS can bring the booted board into the loader.
    let id = esptool(&py, chip, &board.url, &["chip-id"]);
    assert!(id.contains("Chip type:") || id.contains("Chip is"), "{id}");
    let w = esptool(
        &py,
        chip,
        &board.url,
        &["write-flash", "0x10000", fw.to_str().unwrap()],
    );
    assert!(w.contains("Hash of data verified"), "{w}");
    assert!(w.contains("Hard resetting via RTS pin"), "{w}");

    let seen = Command::new(&py)
        .args(["-c", MONITOR, &board.url, "6"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&seen.stdout).into_owned();
    let graded = espcheck()
        .args(["grade", "-"])
        .write_stdin(seen.stdout)
        .output()
        .unwrap();
    let verdict = String::from_utf8_lossy(&graded.stdout);
    assert_eq!(
        graded.status.code(),
        Some(0),
        "{verdict}\nboard said:\n{log}"
    );
    assert!(verdict.contains("PASS"), "{verdict}");

    // esp-idf-monitor resets the board on start (an RTS pulse) and shows the sketch's verdict.
    let has_monitor = Command::new(&py)
        .args(["-c", "import esp_idf_monitor"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_monitor {
        eprintln!("SKIP: esp-idf-monitor not in .venv (.venv/bin/pip install esp-idf-monitor)");
        return;
    }
    let mut monitor = Command::new(&py)
        .args(["-m", "esp_idf_monitor", "--target", chip, "-p", &board.url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = monitor.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("esp8266/Arduino CI successful!") {
                break;
            }
        }
        seen
    });
    let start = std::time::Instant::now();
    while !reader.is_finished() && start.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = monitor.kill();
    let _ = monitor.wait();
    let shown = reader.join().unwrap();
    assert!(
        shown.contains("rst:0x1 (POWERON_RESET)") && shown.contains("CI successful!"),
        "esp-idf-monitor showed:\n{shown}"
    );
}

#[test]
fn an_erased_board_on_rfc2217_powers_on_into_flash_boot_not_the_loader() {
    let Some(py) = venv_python() else { return };
    let board = Rfc2217Board::start("esp8266");
    // A monitor's RTS pulse with DTR released: the chip boots from (erased) flash.
    let script = r#"
import sys, time, serial
p = serial.serial_for_url(sys.argv[1], baudrate=int(sys.argv[2]), timeout=0.1, do_not_open=True)
p.dtr = False
p.rts = True
p.open()
time.sleep(0.1)
p.rts = False
end = time.time() + 1.5
while time.time() < end:
    sys.stdout.buffer.write(p.read(4096))
"#;
    let run = |baud: &str| {
        Command::new(&py)
            .args(["-c", script, &board.url, baud])
            .output()
            .unwrap()
    };
    // SET-BAUDRATE takes effect: at 115200 the ROM's 74880-baud text is noise.
    let wrong = run("115200");
    assert!(
        !String::from_utf8_lossy(&wrong.stdout).contains("ets_main.c"),
        "115200 cannot read 74880: {}",
        String::from_utf8_lossy(&wrong.stdout)
    );
    let out = run("74880");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("waiting for download"),
        "GPIO0 high boots from flash: {text}"
    );
    // Boot mode (3,6) is SPI flash; an erased ESP8266 stops in ets_main.c, as silicon does.
    assert!(
        text.contains("boot mode:(3,6)") && text.contains("ets_main.c"),
        "an erased ESP8266 boots from flash and stops: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rfc2217_off_loopback_is_refused_without_public() {
    let out = espcheck()
        .args(["sim", "device", "--rfc2217", "0.0.0.0:0", "--for", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--rfc2217 0.0.0.0:0 is not a loopback address") && err.contains("--public"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// `flash-and-watch PORT --firmware FW --json` plus `extra`: exit code, JSON verdict, stderr.
fn flash_and_watch(
    port: &str,
    fw: &Path,
    extra: &[&str],
) -> (Option<i32>, serde_json::Value, String) {
    let out = espcheck()
        .args(["flash-and-watch", port, "--firmware"])
        .arg(fw)
        .args(["--timeout", "30s", "--json"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON verdict from {port}: {stdout}\n{stderr}"));
    (out.status.code(), json, stderr)
}

fn sim_image(server: &Server, dir: &Path, chip: &str) -> PathBuf {
    crate::flash::image(
        dir,
        &format!("{chip}.bin"),
        &[
            "--chip",
            chip,
            "--connect",
            &server.connect(),
            "--ca-file",
            server.file("root.pem").to_str().unwrap(),
        ],
    )
}

#[test]
fn flash_and_watch_over_rfc2217_resets_flashes_and_passes_on_the_boards_own_endpoint() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for chip in ["esp8266", "esp32"] {
        let fw = sim_image(&server, dir.path(), chip);
        // The board boots from (erased) flash on power-on: only DTR/RTS over RFC 2217 bring it
        // into the loader, and only RTS restarts it into the new app.
        let board = Rfc2217Board::start(chip);
        let (code, verdict, stderr) = flash_and_watch(&board.url, &fw, &[]);
        assert_eq!(code, Some(0), "{chip}: {verdict}\n{stderr}");
        assert_eq!(verdict["verdict"], "pass", "{chip}");
        assert!(
            stderr.contains(&format!("on {}", board.url))
                && stderr.contains("restarted through the reset line"),
            "{chip}: {stderr}"
        );
        // A reset loop would show a second boot: one power-on reset after the flash.
        assert!(verdict["crash"].is_null(), "{chip}: {verdict}");
    }
    // The ESP32 stub at 921600: the bridge mirrors espflash's baud change to SET-BAUDRATE (the
    // board's UART follows it, so a missed change is noise and no answer), then 115200 to watch.
    let fw = sim_image(&server, dir.path(), "esp32");
    let board = Rfc2217Board::start("esp32");
    let (code, verdict, stderr) = flash_and_watch(&board.url, &fw, &["--baud", "921600"]);
    assert_eq!(code, Some(0), "921600: {verdict}\n{stderr}");
}

#[test]
fn after_a_flash_at_460800_the_first_boot_line_is_read_at_the_monitor_baud() {
    // The reset that boots the app comes after the port (and the remote UART, confirmed) is at
    // the monitor rate: the ROM's first line is read, not lost as flashing-rate noise.
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fw = sim_image(&server, dir.path(), "esp32");
    let board = Rfc2217Board::start("esp32");
    let log = dir.path().join("serial.log");
    let (code, verdict, stderr) = flash_and_watch(
        &board.url,
        &fw,
        &["--baud", "460800", "--log", log.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{verdict}\n{stderr}");
    assert!(stderr.contains("at 460800 baud"), "{stderr}");
    let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let first = raw.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert_eq!(
        first, "ets Jun  8 2016 00:22:57",
        "the log starts:\n{raw:.300}"
    );
    assert!(raw.contains("rst:0x1 (POWERON_RESET)"), "{raw:.300}");
    assert_eq!(verdict["garbled_lines"], 0, "{verdict}");
}

#[test]
fn a_remote_port_that_refuses_or_is_malformed_is_one_line_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let fw = dir.path().join("fw.bin");
    std::fs::write(&fw, [0xE9u8; 64]).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("rfc2217://{}", closed.local_addr().unwrap());
    drop(closed);
    for args in [
        vec![
            "flash-and-watch",
            url.as_str(),
            "--firmware",
            fw.to_str().unwrap(),
            "--force",
        ],
        vec!["watch", url.as_str()],
    ] {
        let out = espcheck().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(
            err.contains(&url) && err.contains("connection refused"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let out = espcheck()
        .args(["watch", "rfc2217://127.0.0.1:4000?baudrate=9600"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown option `baudrate`"), "{err}");
}

/// Debian's ser2net exporting a pty over RFC 2217, as a labgrid exporter does; killed when
/// dropped. `None` (and a loud SKIP) when ser2net is not installed.
pub(crate) struct Ser2net {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

/// ser2net on PATH, else where Debian puts it (/usr/sbin is not on every user's PATH).
pub(crate) fn ser2net_bin() -> Option<PathBuf> {
    ["ser2net", "/usr/sbin/ser2net"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| Command::new(p).arg("-v").output().is_ok())
}

impl Ser2net {
    pub(crate) fn start(device: &Path) -> Option<Ser2net> {
        let Some(bin) = ser2net_bin() else {
            eprintln!("SKIP: ser2net is not installed (apt-get install ser2net; .ci/run does)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let config = dir.path().join("ser2net.yaml");
        std::fs::write(
            &config,
            format!(
                "connection: &board\n  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n  \
                 connector: serialdev,{},115200n81,local\n  options:\n    kickolduser: true\n",
                device.display()
            ),
        )
        .unwrap();
        // -n: stay in the foreground; -d: log to stderr, not syslog; -P: a pid file of its own.
        let child = Command::new(bin)
            .arg("-n")
            .arg("-d")
            .arg("-c")
            .arg(&config)
            .arg("-P")
            .arg(dir.path().join("ser2net.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "ser2net did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(Ser2net {
            child,
            port,
            _dir: dir,
        })
    }
}

impl Drop for Ser2net {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn flash_and_watch_through_ser2net_to_a_pty_linked_board_reaches_pass() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for chip in ["esp8266", "esp32"] {
        let fw = sim_image(&server, dir.path(), chip);
        let board = crate::flash::Board::start(chip);
        let Some(ser2net) = Ser2net::start(&board.link) else {
            return;
        };
        // A pty has no modem lines, so ser2net cannot apply (or confirm) SET-CONTROL: the
        // board is reached without a reset and restarted through its loader.
        let url = format!("rfc2217://127.0.0.1:{}", ser2net.port);
        for _ in 0..2 {
            let (code, verdict, stderr) = flash_and_watch(
                &url,
                &fw,
                &["--before", "no-reset", "--after", "soft-reset"],
            );
            assert_eq!(code, Some(0), "{chip} via ser2net: {verdict}\n{stderr}");
            assert!(
                stderr.contains("restarted through the loader (--after soft-reset)"),
                "{stderr}"
            );
        }
        // ?ign_set_control: the default reset's SET-CONTROL is sent without waiting for answers.
        let (code, verdict, stderr) = flash_and_watch(
            &format!("{url}?ign_set_control"),
            &fw,
            &["--after", "soft-reset"],
        );
        assert_eq!(code, Some(0), "{chip} ign_set_control: {verdict}\n{stderr}");
        // Without it the missing answer is named, with the fix (after ?timeout=, not 3 s).
        let out = espcheck()
            .args([
                "flash-and-watch",
                &format!("{url}?timeout=0.5"),
                "--firmware",
            ])
            .arg(&fw)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{err}");
        assert!(
            err.contains("did not confirm SET-CONTROL within 500ms")
                && err.contains("?ign_set_control"),
            "{err}"
        );
    }
}

/// A one-client RFC 2217 server on loopback built on espcheck's own codec that, once the client
/// has set its line, plays `log` as board output (0xFF doubled) and closes.
fn replaying_server(log: Vec<u8>) -> u16 {
    use espcheck::serial::rfc2217::{ComPortServer, Decoder, Event, encode_data, server_answer};
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut d = Decoder::default();
        let mut com = ComPortServer::new(115_200);
        let mut buf = [0u8; 1024];
        let mut configured = false;
        while !configured {
            let Ok(n) = s.read(&mut buf) else { return };
            if n == 0 {
                return;
            }
            for e in d.feed(&buf[..n]) {
                let out = match e {
                    Event::Negotiate { verb, option } => server_answer(verb, option)
                        .map(Vec::from)
                        .unwrap_or_default(),
                    Event::ComPort { command, value } => {
                        // SET-CONTROL (no flow control) is the last of the client's settings.
                        configured |= command == 5;
                        com.handle(command, &value)
                    }
                    _ => Vec::new(),
                };
                let _ = s.write_all(&out);
            }
        }
        let mut wire = Vec::new();
        encode_data(&log, &mut wire);
        for chunk in wire.chunks(512) {
            let _ = s.write_all(chunk);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    port
}

#[test]
fn watch_grades_what_a_remote_port_delivers_and_names_it_when_it_goes_away() {
    let log = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/core3x_pass.log"),
    )
    .unwrap();
    let port = replaying_server(log.clone());
    let url = format!("rfc2217://127.0.0.1:{port}");
    let out = espcheck()
        .args(["watch", &url, "--timeout", "20s", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(r#""verdict":"pass""#), "{stdout}");

    // The same log cut before the verdict, then the server hangs up: no reconnect within the
    // grace (the one connection was used), so exit 4 naming the port and what was read.
    let cut = log.len() / 2;
    let port = replaying_server(log[..cut].to_vec());
    let url = format!("rfc2217://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("serial.log");
    let out = espcheck()
        .args([
            "watch",
            &url,
            "--timeout",
            "20s",
            "--reopen-grace",
            "1s",
            "--log",
        ])
        .arg(&raw)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&url) && err.contains("went away") && err.contains(&format!("{cut} bytes")),
        "{err}"
    );
    // Every byte that arrived is in the log.
    assert_eq!(std::fs::read(&raw).unwrap(), log[..cut]);
}

#[test]
fn over_rfc2217_the_running_chip_ignores_sync_until_the_reset_lines_enter_the_loader() {
    let Some(py) = venv_python() else { return };
    // Modem lines: the board powers on and boots from flash (erased: the ROM stops there).
    let board = Rfc2217Board::start("esp8266");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Without a reset nothing answers SYNC: a running chip's UART belongs to its program.
    let out = Command::new(&py)
        .args(["-m", "esptool", "--chip", "esp8266", "--port", &board.url])
        .args(["--before", "no-reset", "--after", "no-reset"])
        .args(["--connect-attempts", "1", "chip-id"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a running chip answered SYNC: {text}"
    );
    assert!(text.contains("Failed to connect"), "{text}");
    // esptool's default reset through DTR/RTS puts it in the loader, and then it answers.
    let text = esptool(
        &py,
        "esp8266",
        &board.url,
        &["--after", "no-reset", "chip-id"],
    );
    assert!(text.contains("Connected to ESP8266"), "{text}");
}
