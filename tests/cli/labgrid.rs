//! The labgrid chain on one machine, every address on loopback: `labgrid-coordinator`,
//! `labgrid-exporter` exporting a pty-linked virtual board (it runs Debian's ser2net for it, over
//! RFC 2217), `labgrid-client` creating and acquiring the place, and pytest with labgrid's plugin
//! running docs/examples/farm/test_board.py: integrations/labgrid's strategy and driver flash a sim
//! image with `espcheck flash-and-watch rfc2217://…` and grade it PASS. Then a crashing image is a
//! FAILED test (the firmware's verdict), not an ERROR (the farm's), and the example's JUnit join
//! adds them up. A second place, the virtual board's own RFC 2217 endpoint (DTR/RTS wired to
//! EN/GPIO0), takes the strategy through `running` with the default resets and into `loader`.
//!
//! Needs labgrid and pytest in the repository's `.venv` and ser2net on PATH (`.ci/run` installs
//! all three); without them it says which part is missing and why it cannot run, and passes.
//! labgrid's exporter starts ser2net on every interface (its accepter names only a port); the
//! test connects to it on 127.0.0.1 only.

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::sim::Server;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's bin directory, when labgrid and pytest are in it.
fn labgrid_bin() -> Option<PathBuf> {
    let bin = repo().join(".venv/bin");
    let ok = bin.join("labgrid-coordinator").is_file()
        && Command::new(bin.join("python"))
            .args(["-c", "import labgrid, pytest, serial"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIP labgrid chain: labgrid and pytest are not in .venv (.ci/run installs them: \
             .venv/bin/pip install labgrid); the coordinator, exporter and client cannot run"
        );
        return None;
    }
    if crate::rfc2217::ser2net_bin().is_none() {
        eprintln!(
            "SKIP labgrid chain: ser2net is not installed (apt-get install ser2net); \
             labgrid-exporter needs it to export the board's serial port"
        );
        return None;
    }
    Some(bin)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A process in a process group of its own (the exporter's ser2net children go with it),
/// stopped with SIGTERM, then SIGKILL, when dropped.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Group {
        Group(cmd.process_group(0).spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let pgid = Pid::from_raw(self.0.id() as i32);
        let _ = killpg(pgid, Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// The environment every labgrid process gets: the venv first on PATH, a private HOME, the
/// coordinator's address.
fn lg(bin: &Path, program: &str, coordinator: &str, work: &Path) -> Command {
    let mut cmd = Command::new(bin.join(program));
    crate::support::clean_env(&mut cmd);
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(paths).unwrap())
        .env("LG_COORDINATOR", coordinator)
        // Nothing is written into the checkout (no __pycache__ beside the example and package).
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(work)
        .stdin(Stdio::null());
    cmd
}

fn ok(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

#[test]
fn labgrid_coordinator_exporter_client_and_pytest_flash_the_virtual_board_to_pass() {
    let Some(bin) = labgrid_bin() else { return };
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&[]);
    let chip = "esp32";
    let image = |name: &str, extra: &[&str]| {
        let mut args = vec!["--chip", chip, "--connect"];
        let connect = server.connect();
        args.push(&connect);
        args.extend(extra);
        crate::flash::image(work.path(), name, &args)
    };
    let ca = server.file("root.pem");
    let good = image("good.bin", &["--ca-file", ca.to_str().unwrap()]);
    let crash = image("crash.bin", &["--fault", "crash"]);
    let board = crate::flash::Board::start(chip);
    // The exporter takes a /dev path: the pty itself, not the board's link to it.
    let pty = std::fs::canonicalize(&board.link).unwrap();
    // A second board with reset lines: the virtual board's own RFC 2217 endpoint, published by
    // the exporter as a NetworkSerialPort.
    let lines = crate::rfc2217::Rfc2217Board::start(chip);
    let lines_port = lines.url.rsplit(':').next().unwrap().to_owned();

    let coordinator = format!("127.0.0.1:{}", free_port());
    let _coordinator = Group::spawn(
        lg(&bin, "labgrid-coordinator", &coordinator, work.path())
            .args(["-l", &coordinator])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let start = Instant::now();
    while TcpStream::connect(&coordinator).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "labgrid-coordinator did not listen on {coordinator}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let exporter_log = work.path().join("exporter.log");
    let _exporter = Group::spawn(
        lg(&bin, "labgrid-exporter", &coordinator, work.path())
            .env("LG_SIM_PTY", &pty)
            .env("LG_SIM_RFC2217_PORT", &lines_port)
            .args(["-c", &coordinator, "--name", "espcheck-ci", "--hostname"])
            .arg("127.0.0.1")
            .arg(repo().join("docs/examples/farm/exporter.yaml"))
            .stdout(std::fs::File::create(&exporter_log).unwrap())
            .stderr(Stdio::null()),
    );
    let client = |args: &[&str]| {
        lg(&bin, "labgrid-client", &coordinator, work.path())
            .args(args)
            .output()
            .unwrap()
    };
    let resource = "espcheck-ci/esp-sim/NetworkSerialPort";
    let lines_resource = "espcheck-ci/esp-sim-lines/NetworkSerialPort";
    let start = Instant::now();
    loop {
        let out = client(&["resources"]);
        let listed = String::from_utf8_lossy(&out.stdout);
        if listed.contains(resource) && listed.contains(lines_resource) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the exporter never published {resource}: {}",
            std::fs::read_to_string(&exporter_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let place = "esp32-sim";
    ok(&client(&["-p", place, "create"]), "create");
    ok(&client(&["-p", place, "add-match", resource]), "add-match");
    // As the CI example does: reserve the place by name, then acquire it with the token.
    let reserved = ok(
        &client(&["reserve", "--wait", "--shell", &format!("name={place}")]),
        "reserve",
    );
    let token = reserved
        .lines()
        .find_map(|l| l.strip_prefix("export LG_TOKEN="))
        .unwrap_or_else(|| panic!("no token: {reserved}"))
        .trim()
        .to_owned();
    let with_token = |args: &[&str]| {
        lg(&bin, "labgrid-client", &coordinator, work.path())
            .env("LG_TOKEN", &token)
            .args(args)
            .output()
            .unwrap()
    };
    ok(
        &with_token(&["-p", "+", "acquire"]),
        "acquire by reservation",
    );
    let shown = ok(&client(&["-p", place, "show"]), "show");
    assert!(shown.contains("'host': '127.0.0.1'"), "{shown}");

    let reports = work.path().join("reports");
    let pytest = |firmware: &Path, junit: &str| {
        lg(&bin, "python", &coordinator, work.path())
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "--lg-env"])
            .arg(repo().join("docs/examples/farm/env.yaml"))
            .arg(format!("--junitxml={junit}"))
            .arg(repo().join("docs/examples/farm/test_board.py"))
            .env("PYTHONPATH", repo().join("integrations/labgrid/src"))
            .env("ESPCHECK", env!("CARGO_BIN_EXE_espcheck"))
            .env("LG_PLACE", place)
            .env("LG_FIRMWARE", firmware)
            .env("LG_REPORT_DIR", &reports)
            // The pty has no modem lines, so ser2net cannot pass DTR/RTS on: restart through the
            // loader (a USB board in a real farm keeps the default hard reset).
            .env("LG_ESPCHECK_ARGS", "--after soft-reset")
            .output()
            .unwrap()
    };
    let out = pytest(&good, "pytest.xml");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "pytest: {said}");
    let junit = std::fs::read_to_string(work.path().join("pytest.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="1""#) && junit.contains(r#"failures="0""#),
        "{junit}"
    );
    // The driver's own reports: espcheck's JUnit (one case per stage) and its JSON verdict.
    let verdict: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("flash-and-watch-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(verdict["verdict"], "pass", "{verdict}");
    let stages = std::fs::read_to_string(reports.join("flash-and-watch-1.xml")).unwrap();
    assert!(
        stages.contains(r#"<testcase name="certificate""#) && stages.contains(r#"failures="0""#),
        "{stages}"
    );

    // A crashing firmware is the board's verdict: pytest reports a failure, not an error.
    let out = pytest(&crash, "crash.xml");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "pytest on a crash: {said}");
    let junit = std::fs::read_to_string(work.path().join("crash.xml")).unwrap();
    assert!(
        junit.contains(r#"errors="0""#) && junit.contains(r#"failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains("fault"),
        "espcheck's reason reaches pytest: {junit}"
    );

    // The board with reset lines, through labgrid's Python API: the strategy's `running` (the
    // default DTR/RTS resets over RFC 2217, then RTS into the app) and `loader` (ClassicReset from
    // the driver): afterwards a flash with --before no-reset finds the ROM loader, which the
    // running app never answers as.
    let lines_place = "esp32-lines";
    ok(&client(&["-p", lines_place, "create"]), "create");
    ok(
        &client(&["-p", lines_place, "add-match", lines_resource]),
        "add-match",
    );
    ok(&client(&["-p", lines_place, "acquire"]), "acquire");
    let script = r#"
import sys
from labgrid import Environment
import labgrid_espcheck

target = Environment(sys.argv[1]).get_target("main")
strategy = target.get_driver("EspcheckStrategy")
strategy.transition("running")
print("running:", strategy.result.summary)
assert strategy.result.passed, strategy.result.stderr
assert "restarted through the reset line" in strategy.result.stderr, strategy.result.stderr
driver = target.get_driver("EspcheckDriver")
driver.args = ["--timeout", "30s", "--connect-timeout", "2s"]
# The app runs: without a reset into the loader, SYNC goes unanswered (exit 4, the farm's error).
stuck = driver.flash_and_watch(sys.argv[2], extra_args=["--before", "no-reset"])
print("no reset:", stuck.summary)
assert stuck.outcome == "environment" and "no answer to SYNC" in stuck.summary, stuck.summary
try:
    stuck.raise_for_outcome()
    raise SystemExit("raise_for_outcome let exit 4 pass")
except labgrid_espcheck.EspcheckError:
    pass
strategy.transition("loader")
loaded = driver.flash_and_watch(sys.argv[2], extra_args=["--before", "no-reset"])
print("after loader:", loaded.summary)
assert loaded.raise_for_outcome().verdict["verdict"] == "pass"
strategy.status = labgrid_espcheck.Status.unknown
"#;
    let out = lg(&bin, "python", &coordinator, work.path())
        .args(["-c", script])
        .arg(repo().join("docs/examples/farm/env.yaml"))
        .arg(&good)
        .env("PYTHONPATH", repo().join("integrations/labgrid/src"))
        .env("ESPCHECK", env!("CARGO_BIN_EXE_espcheck"))
        .env("LG_PLACE", lines_place)
        .env("LG_FIRMWARE", &good)
        .env("LG_REPORT_DIR", work.path().join("lines"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "strategy over reset lines: {said}");
    ok(&client(&["-p", lines_place, "release"]), "release");

    // The CI example's last job: one JUnit for the whole matrix.
    let joined = work.path().join("hil.xml");
    let out = Command::new(bin.join("python"))
        .arg(repo().join("docs/examples/farm/join_junit.py"))
        .arg(&joined)
        .arg(work.path().join("pytest.xml"))
        .arg(work.path().join("crash.xml"))
        .arg(reports.join("flash-and-watch-1.xml"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failure in, exit 1 out");
    let hil = std::fs::read_to_string(&joined).unwrap();
    assert!(
        hil.contains(r#"<testsuites name="hil" tests="11" failures="1" errors="0""#),
        "{hil}"
    );

    ok(&with_token(&["-p", "+", "release"]), "release");
    ok(
        &client(&["cancel-reservation", &token]),
        "cancel-reservation",
    );
}

/// The farm examples keep their ports on loopback unless told otherwise: exporter.yaml, rendered
/// by labgrid's own config loader, publishes 127.0.0.1 (or the address in the environment), and
/// the example ser2net.yaml, run by Debian's ser2net, listens on 127.0.0.1 only.
#[test]
fn the_farm_examples_publish_and_listen_on_loopback_unless_told_otherwise() {
    let Some(bin) = labgrid_bin() else { return };
    let exporter = repo().join("docs/examples/farm/exporter.yaml");
    let render = |env: &[(&str, &str)]| -> serde_json::Value {
        let script = "import json, os, sys\n\
                      from labgrid.remote.config import ResourceConfig\n\
                      data = ResourceConfig(sys.argv[1], {'env': os.environ}).data\n\
                      print('RENDERED ' + json.dumps(data))";
        let out = Command::new(bin.join("python"))
            .args(["-c", script])
            .arg(&exporter)
            .env_remove("LG_RFC2217_ADDRESS")
            .env_remove("LG_SER2NET_ADDRESS")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = ok(&out, "rendering exporter.yaml");
        let json = stdout
            .lines()
            .find_map(|l| l.strip_prefix("RENDERED "))
            .unwrap_or_else(|| panic!("no rendering: {stdout}"));
        serde_json::from_str(json).unwrap()
    };
    let host = |data: &serde_json::Value, group: &str| {
        data[group]["NetworkSerialPort"]["host"]
            .as_str()
            .unwrap_or_else(|| panic!("{group}: {data}"))
            .to_owned()
    };
    let sim = [
        ("LG_SIM_PTY", "/dev/pts/0"),
        ("LG_SIM_RFC2217_PORT", "4000"),
    ];
    assert_eq!(host(&render(&sim), "esp-sim-lines"), "127.0.0.1");
    let elsewhere = [sim[0], sim[1], ("LG_RFC2217_ADDRESS", "192.0.2.7")];
    assert_eq!(host(&render(&elsewhere), "esp-sim-lines"), "192.0.2.7");
    assert_eq!(host(&render(&[]), "esp32-s3-own-ser2net"), "127.0.0.1");
    let lan = [("LG_SER2NET_ADDRESS", "192.0.2.8")];
    assert_eq!(host(&render(&lan), "esp32-s3-own-ser2net"), "192.0.2.8");

    // The example ser2net.yaml on a pty and a free port: bound to loopback, not to every interface.
    let Some(ser2net) = crate::rfc2217::ser2net_bin() else {
        eprintln!("SKIP: ser2net is not installed (apt-get install ser2net)");
        return;
    };
    let board = crate::watch::board();
    let port = free_port();
    let work = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(repo().join("docs/examples/farm/ser2net.yaml")).unwrap();
    assert!(example.contains("tcp,127.0.0.1,4001"), "{example}");
    let config = work.path().join("ser2net.yaml");
    std::fs::write(
        &config,
        example
            .replace("tcp,127.0.0.1,4001", &format!("tcp,127.0.0.1,{port}"))
            .replace("/dev/ttyUSB0", board.path.to_str().unwrap()),
    )
    .unwrap();
    let _ser2net = Group::spawn(
        Command::new(ser2net)
            .args(["-n", "-d", "-c"])
            .arg(&config)
            .arg("-P")
            .arg(work.path().join("ser2net.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "ser2net did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // /proc/net/tcp{,6}: every listening socket on the port, as local address in hex.
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let (addr, p) = cols.get(1)?.rsplit_once(':')?;
            (cols.get(3) == Some(&"0A") && u16::from_str_radix(p, 16).ok() == Some(port))
                .then(|| addr.to_owned())
        })
        .collect();
    assert_eq!(listening, ["0100007F"], "127.0.0.1 only");
}
