//! The virtual board as an RFC 2217 COM port (`sim device --rfc2217`) against pyserial's real
//! `rfc2217://` client: esptool 5 with its default resets (DTR/RTS through the auto-reset
//! circuit) and its default stub flashes a sim image, then a pyserial reader pulses RTS like a
//! monitor, reads the boot over the same port, and `espcheck grade -` grades it PASS; then
//! esp-idf-monitor (from PyPI) resets the board and shows the sketch's verdict line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::sim::Server;
use crate::support::{espcheck, espcheck_std};

struct Rfc2217Board {
    child: Child,
    url: String,
}

impl Rfc2217Board {
    fn start(chip: &str) -> Self {
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
