//! `flash-and-watch` against the virtual board (`sim device`) running the reference sketch against
//! the mock API (`sim serve`): flash over the ROM protocol, boot, TLS, grade. Plus `sim run` piped
//! into `grade`, the host-only form of the same loop.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::sim::Server;
use crate::support::espcheck;

/// A `sim device` subprocess on its own link; killed when dropped.
pub(crate) struct Board {
    child: Child,
    pub(crate) link: PathBuf,
    _dir: tempfile::TempDir,
}

impl Board {
    pub(crate) fn start(chip: &str) -> Board {
        Board::start_with(chip, &[])
    }

    /// A board with more `sim device` arguments.
    pub(crate) fn start_with(chip: &str, extra: &[&str]) -> Board {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join(chip);
        let child = super::support::espcheck_std()
            .args(["sim", "device", "--pacing", "off", "--chip", chip, "--link"])
            .arg(&link)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !link.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sim device did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Board {
            child,
            link,
            _dir: dir,
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn image(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    espcheck()
        .args(["sim", "image"])
        .args(args)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    out
}

fn flash_and_watch(board: &Board, firmware: &Path) -> (Option<i32>, serde_json::Value, String) {
    let out = espcheck()
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(firmware)
        .args(["--timeout", "40s", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON verdict: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_virtual_chip_is_flashed_boots_the_sketch_and_passes_against_the_mock() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for chip in ["esp8266", "esp32"] {
        let board = Board::start(chip);
        let ca = server.file("root.pem");
        let fw = image(
            dir.path(),
            &format!("{chip}-ca.bin"),
            &[
                "--chip",
                chip,
                "--connect",
                &server.connect(),
                "--ca-file",
                ca.to_str().unwrap(),
            ],
        );
        let (code, verdict, stderr) = flash_and_watch(&board, &fw);
        assert_eq!(code, Some(0), "{chip}: {verdict}\n{stderr}");
        assert_eq!(verdict["verdict"], "pass");
        assert_eq!(verdict["ci_state"], "success");
        assert!(stderr.contains("restarted through the"), "{stderr}");

        // Reflash the same board with a leaf-fingerprint image: still PASS.
        let fw = image(
            dir.path(),
            &format!("{chip}-fp.bin"),
            &[
                "--chip",
                chip,
                "--connect",
                &server.connect(),
                "--fingerprint",
                &server.leaf_pin(),
            ],
        );
        let (code, verdict, _) = flash_and_watch(&board, &fw);
        assert_eq!(code, Some(0), "{chip} fingerprint: {verdict}");
    }
}

#[test]
fn crash_image_ends_in_a_device_fault_and_wrong_pin_in_a_tls_fault() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let board = Board::start("esp8266");
    let crash = image(
        dir.path(),
        "crash.bin",
        &["--connect", &server.connect(), "--fault", "crash"],
    );
    let (code, verdict, _) = flash_and_watch(&board, &crash);
    assert_eq!(code, Some(5), "{verdict}");
    assert_eq!(verdict["verdict"], "fault");
    assert!(
        verdict["reason"].as_str().unwrap().contains("Exception"),
        "{verdict}"
    );

    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    let fw = image(
        dir.path(),
        "wrong.bin",
        &["--connect", &server.connect(), "--fingerprint", wrong],
    );
    let (code, verdict, _) = flash_and_watch(&board, &fw);
    assert_eq!(
        code,
        Some(5),
        "a crash-looping board is reflashed, then fails its pin: {verdict}"
    );
    assert_eq!(verdict["verdict"], "fault");
}

#[test]
fn a_board_that_never_answers_sync_exits_4_within_the_timeout() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let path = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fw = image(dir.path(), "fw.bin", &[]);
    let start = Instant::now();
    let out = espcheck()
        .arg("flash-and-watch")
        .arg(&path)
        .arg("--firmware")
        .arg(&fw)
        .args(["--connect-timeout", "2s"])
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        took < Duration::from_secs(6),
        "bounded by --connect-timeout: {took:?}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("sync"),
        "names the step: {stderr}"
    );
    drop(pty);
}

/// `sim run` piped into `grade`: the verdict and exit code a user gets from the host-only loop.
fn run_then_grade(server: &Server, trust: &[&str]) -> (Option<i32>, serde_json::Value) {
    let run = espcheck()
        .args([
            "sim",
            "run",
            "--connect",
            &server.connect(),
            "--timeout",
            "5s",
        ])
        .args(trust)
        .output()
        .unwrap();
    let graded = espcheck()
        .args(["grade", "-", "--json"])
        .write_stdin(run.stdout)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&graded.stdout)
        .unwrap_or_else(|_| panic!("grade said: {}", String::from_utf8_lossy(&graded.stderr)));
    (graded.status.code(), json)
}

#[test]
fn sim_run_into_grade_gives_the_documented_exit_codes() {
    let green = Server::start(&["--state", "success"]);
    let (code, v) = run_then_grade(&green, &["--fingerprint", &green.leaf_pin()]);
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("pass")),
        "{v}"
    );
    let inter = green.file("intermediate.pem");
    let (code, _) = run_then_grade(&green, &["--ca-file", inter.to_str().unwrap()]);
    assert_eq!(code, Some(0), "an intermediate is an anchor");
    let (code, v) = run_then_grade(
        &green,
        &[
            "--fingerprint",
            "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33",
        ],
    );
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(5), Some("fault")),
        "{v}"
    );

    let red = Server::start(&["--state", "failure"]);
    let (code, v) = run_then_grade(&red, &["--fingerprint", &red.leaf_pin()]);
    assert_eq!(
        (code, v["ci_state"].as_str()),
        (Some(1), Some("failure")),
        "{v}"
    );
}

#[test]
fn after_leaf_rotation_a_leaf_pin_faults_and_a_ca_pin_passes() {
    let server = Server::start(&["--rotate-leaf", "1"]);
    let old_pin = server.leaf_pin();
    // The first connection is served the leaf on disk; every later one a fresh leaf.
    let (code, _) = run_then_grade(&server, &["--fingerprint", &old_pin]);
    assert_eq!(code, Some(0));
    let (code, v) = run_then_grade(&server, &["--fingerprint", &old_pin]);
    assert_eq!(code, Some(5), "stale leaf pin: {v}");
    let root = server.file("root.pem");
    let (code, v) = run_then_grade(&server, &["--ca-file", root.to_str().unwrap()]);
    assert_eq!(code, Some(0), "CA pin survives rotation: {v}");
}

/// The first seed's sketch on a GitHub-Actions-only repository: the board prints "has failed"
/// because the combined status stays pending, and `--truth` against the same mock says CI is green.
#[test]
fn truth_from_the_mock_explains_an_actions_only_false_failure() {
    let server = Server::start(&["--actions-only", "--state", "success"]);
    let run = espcheck()
        .args([
            "sim",
            "run",
            "--connect",
            &server.connect(),
            "--fingerprint",
            &server.leaf_pin(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("esp8266/Arduino CI has failed"));
    let root = server.file("root.pem");
    let api = format!("https://127.0.0.1:{}", server.port);
    let graded = espcheck()
        .args([
            "grade",
            "-",
            "--json",
            "--truth",
            "--api-base",
            &api,
            "--ca-file",
        ])
        .arg(&root)
        .env_remove("GITHUB_TOKEN")
        .write_stdin(run.stdout.clone())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&graded.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&graded.stderr)));
    assert_eq!(graded.status.code(), Some(1), "{v}");
    assert_eq!(v["ci_state"], "pending");
    let reason = v["reason"].to_string() + &v["truth"].to_string();
    assert!(
        reason.contains("check runs"),
        "the disagreement is explained: {reason}"
    );

    // Without --truth the board's word stands: a plain FAIL.
    let plain = espcheck()
        .args(["grade", "-"])
        .write_stdin(run.stdout)
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
}

/// Ctrl-C in the middle of a flash: a clear one-line error, exit 4, and the port is free at once:
/// the next flash of the same board goes through.
#[test]
fn a_flash_interrupted_by_sigint_releases_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let board = Board::start("esp8266");
    let big = image(dir.path(), "big.bin", &[]);
    let mut bytes = std::fs::read(&big).unwrap();
    // Big enough that the flash is still running when Ctrl-C comes, on an idle machine too.
    bytes.resize(3 * 1024 * 1024 + 512 * 1024, 0xA5);
    std::fs::write(&big, &bytes).unwrap();
    let child = super::support::espcheck_std()
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("flashing interrupted"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{stderr}"
    );

    let small = image(
        dir.path(),
        "small.bin",
        &["--connect", "127.0.0.1:9", "--fault", "crash"],
    );
    let (code, verdict, stderr) = flash_and_watch(&board, &small);
    assert!(
        stderr.contains("flashed"),
        "the port was released: {stderr}"
    );
    assert_eq!(code, Some(5), "{verdict}");
}

/// A real MicroPython build from `fixtures/firmware/` (gzipped there), written to `dir`, with the
/// flash offset it is meant for: the ESP8266 one is a combined image for 0x0, the ESP32 one
/// holds its bootloader, partition table and app for 0x1000.
pub(crate) fn micropython(dir: &Path, chip: espcheck::rom::Chip) -> (u32, PathBuf) {
    use espcheck::rom::Chip;
    use std::io::Read;
    let (at, name) = match chip {
        Chip::Esp8266 => (0x0, "micropython-v1.8.6-esp8266-combined.bin"),
        Chip::Esp32 => (0x1000, "micropython-v1.15-etboard-esp32-at-0x1000.bin"),
    };
    let gz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/firmware")
        .join(format!("{name}.gz"));
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    (at, path)
}

#[test]
fn real_micropython_ends_at_once_in_exit_4_naming_the_simulators_limit() {
    use espcheck::rom::Chip;
    let dir = tempfile::tempdir().unwrap();
    for chip in Chip::ALL {
        let board = Board::start(&chip.to_string());
        let (at, fw) = micropython(dir.path(), chip);
        let start = Instant::now();
        let out = espcheck()
            .arg("flash-and-watch")
            .arg(&board.link)
            .arg("--firmware")
            .arg(format!("{at:#x}={}", fw.display()))
            .args(["--timeout", "40s"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{chip}: {stderr}");
        assert!(
            stderr.contains("cannot execute real firmware and runs only sim images"),
            "{chip}: {stderr}"
        );
        if chip == Chip::Esp32 {
            // It got as far as a real chip would print: MicroPython's own partition table and
            // its app's segment map.
            assert!(
                stdout
                    .contains("boot:  3 vfs              Unknown data     01 81 00200000 00200000"),
                "{stdout}"
            );
            assert!(
                stdout.contains(
                    "esp_image: segment 4: paddr=00060018 vaddr=400d0018 size=fcd08h (1035528) map"
                ),
                "{stdout}"
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{chip}: not at once"
        );
    }
}

#[test]
fn a_merged_esp32_image_at_the_app_offset_is_refused_by_the_bootloader() {
    let dir = tempfile::tempdir().unwrap();
    let board = Board::start("esp32");
    let (_, fw) = micropython(dir.path(), espcheck::rom::Chip::Esp32);
    let out = espcheck()
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(format!("0x10000={}", fw.display()))
        .args(["--timeout", "20s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The app slot starts with the bootloader's own segments: the real bootloader refuses to
    // load them over itself and resets, again and again.
    assert!(
        stdout.contains("esp_image: Segment 0 end address 0x3fff001c too high"),
        "{stdout}"
    );
    assert!(stdout.contains("boot: No bootable app partitions in the partition table"));
    assert!(!stdout.contains("Loaded app from partition"), "{stdout}");
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains("reset loop"), "{stdout}");
}

/// Issue 18, item 11: the ESP8266 has no brownout message; its brownout image power-cycles
/// after Wi-Fi comes up, and the sketch starting over again and again is a FAULT (reset loop),
/// not a TIMEOUT blaming the baud rate.
#[test]
fn esp8266_brownout_image_is_graded_fault_not_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let board = Board::start("esp8266");
    let fw = image(
        dir.path(),
        "brownout.bin",
        &[
            "--chip",
            "esp8266",
            "--connect",
            "127.0.0.1:9",
            "--fault",
            "brownout",
        ],
    );
    let start = Instant::now();
    let (code, verdict, stderr) = flash_and_watch(&board, &fw);
    assert_eq!(code, Some(5), "{verdict} {stderr}");
    assert_eq!(verdict["verdict"], "fault", "{verdict}");
    assert_eq!(verdict["crash"]["kind"], "reset-loop", "{verdict}");
    assert!(start.elapsed() < Duration::from_secs(20), "{verdict}");
}
