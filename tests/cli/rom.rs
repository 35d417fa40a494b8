//! The virtual board against real flashers: esptool from PyPI (when installed) and espcheck's own
//! flasher library, over real ptys; `sim image` output checked by esptool's `image-info`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use espcheck::flash::{self, After, Before, FlashError, FlashOptions, Input, NoProgress};
use espcheck::rom::Chip;
use espcheck::sim::device::{self, DeviceConfig};
use espcheck::sim::image::{Fault, ImageSettings, build};

use super::support::espcheck;

/// esptool (v5) on PATH or in the repository's `.venv`; `None` prints why the test is skipped.
pub(super) fn esptool() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/esptool");
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("esptool"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain([venv])
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "SKIP: esptool not found on PATH or in .venv (python3 -m venv .venv && \
             .venv/bin/pip install 'esptool>=5,<6')"
        );
    }
    found
}

fn run_esptool(esptool: &Path, chip: Chip, port: &Path, args: &[&str]) -> String {
    let out = Command::new(esptool)
        .arg("--chip")
        .arg(chip.to_string())
        .arg("--port")
        .arg(port)
        .args(["--before", "no-reset", "--after", "no-reset", "--no-stub"])
        .args(args)
        .output()
        .expect("run esptool");
    esptool_text(&out, args)
}

/// esptool's stdout and stderr together, after checking it succeeded.
pub(super) fn esptool_text(out: &std::process::Output, args: &[&str]) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "esptool {args:?} failed:\n{text}");
    text
}

pub(super) fn board(chip: Chip, dir: &Path) -> device::Device {
    let mut cfg = DeviceConfig::new(chip);
    cfg.flash_file = Some(dir.join("flash.bin"));
    cfg.link = Some(dir.join("board"));
    cfg.pacing = device::Pacing::Off;
    device::start(cfg).expect("virtual board")
}

fn settings(chip: Chip, fault: Option<Fault>) -> ImageSettings {
    let mut s = ImageSettings::reference(chip);
    s.connect = Some("127.0.0.1:8443".to_owned());
    s.fingerprint = Some("CF:05:98:89:CA:FF:8E:D8:5E:5C:E0:C2:E4:F7:E6:C3:C7:50:DD:5C".to_owned());
    s.fault = fault;
    s
}

/// Read from the flasher's own port until `needle` shows up (or `within` passes).
fn read_until(port: &mut impl Read, needle: &str, within: Duration) -> String {
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < within {
        match port.read(&mut buf) {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => {}
        }
        if String::from_utf8_lossy(&seen).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn esptool_flashes_both_virtual_chips_byte_for_byte() {
    let Some(esptool) = esptool() else { return };
    for chip in Chip::ALL {
        let dir = tempfile::tempdir().unwrap();
        let dev = board(chip, dir.path());
        let text = run_esptool(&esptool, chip, dev.path(), &["chip-id"]);
        assert!(
            text.contains(&format!("Connected to {}", chip.name())),
            "{text}"
        );
        match chip {
            Chip::Esp8266 => {
                assert!(text.contains("Chip type:          ESP8266EX"), "{text}");
                assert!(text.contains("Crystal frequency:  26MHz"), "{text}");
                assert!(text.contains("Chip ID: 0x005ecaf1"), "{text}");
            }
            Chip::Esp32 => {
                assert!(text.contains("ESP32-D0WD-V3 (revision v3.0)"), "{text}");
                assert!(text.contains("Crystal frequency:  40MHz"), "{text}");
            }
        }
        let image = build(&settings(chip, None));
        let app = dir.path().join("app.bin");
        std::fs::write(&app, &image).unwrap();
        let at = format!("{:#x}", chip.app_offset());
        let text = run_esptool(
            &esptool,
            chip,
            dev.path(),
            &["write-flash", &at, app.to_str().unwrap()],
        );
        if chip == Chip::Esp32 {
            assert!(text.contains("Hash of data verified."), "{text}");
        }
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        let at = chip.app_offset() as usize;
        assert_eq!(
            &flash[at..at + image.len()],
            &image[..],
            "{chip}: flash holds the image"
        );
        assert!(
            flash[at + image.len()..at + 0x1000]
                .iter()
                .all(|&b| b == 0xFF)
        );
        dev.shutdown();
    }
}

#[test]
fn espcheck_flashes_each_chip_and_the_board_boots_the_sketch() {
    for chip in Chip::ALL {
        let dir = tempfile::tempdir().unwrap();
        let dev = board(chip, dir.path());
        let image = build(&settings(chip, None));
        // The ROM loaders themselves (the stubs have their own tests in fast_flash).
        let mut opts = FlashOptions::new(dev.path());
        opts.stub = false;
        let fw = Input::Bin {
            data: &image,
            addr: Some(chip.app_offset()),
        };
        let mut done = flash::flash(&opts, fw, &mut NoProgress).expect("flash");
        assert!(done.no_reset_lines, "a pty has no modem lines");
        assert_eq!(done.restart, flash::Restart::RomReboot);
        assert_eq!(
            done.verified,
            chip == Chip::Esp32,
            "MD5 only where the ROM has it"
        );
        let seen = read_until(&mut done.port, "sim: pinned", Duration::from_secs(5));
        assert!(
            seen.contains("connecting to api.github.com\r\n"),
            "{chip}: {seen:?}"
        );
        assert!(
            seen.contains("sim: pinned: fingerprint CF:05"),
            "{chip}: {seen:?}"
        );
        match chip {
            // The ROM's 74880-baud lines are noise at 115200; the sketch's are clean.
            Chip::Esp8266 => assert!(!seen.contains("ets Jan"), "{seen:?}"),
            Chip::Esp32 => {
                assert!(seen.contains("rst:0x3 (SW_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"));
                assert!(seen.contains("I (104) boot: Loaded app from partition at offset 0x10000"));
            }
        }
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        let at = chip.app_offset() as usize;
        assert_eq!(&flash[at..at + image.len()], &image[..]);
        drop(done);
        dev.shutdown();
    }
}

#[test]
fn a_crash_image_dumps_and_reboots_and_can_be_reflashed() {
    let dir = tempfile::tempdir().unwrap();
    let dev = board(Chip::Esp8266, dir.path());
    let crash = build(&settings(Chip::Esp8266, Some(Fault::Crash)));
    let opts = FlashOptions::new(dev.path());
    let fw = Input::Bin {
        data: &crash,
        addr: Some(0),
    };
    let mut done = flash::flash(&opts, fw, &mut NoProgress).expect("flash");
    let seen = read_until(&mut done.port, "CUT HERE", Duration::from_secs(5));
    let seen = seen + &read_until(&mut done.port, ">>>stack>>>", Duration::from_secs(5));
    assert!(
        seen.contains("Exception (28):\r\nepc1=0x40201d2c"),
        "{seen:?}"
    );
    drop(done);
    // The board is in a crash loop; a flasher still gets through (SYNC resets it into the loader).
    let good = build(&settings(Chip::Esp8266, None));
    let fw = Input::Bin {
        data: &good,
        addr: Some(0),
    };
    let mut done = flash::flash(&opts, fw, &mut NoProgress).expect("reflash");
    let seen = read_until(&mut done.port, "sim: pinned", Duration::from_secs(5));
    assert!(seen.contains("WiFi connected"), "{seen:?}");
}

#[test]
fn a_board_that_never_answers_sync_fails_within_the_timeout() {
    // A pty nobody serves: the master end is held open and never read.
    let pty = device::pty::open().unwrap();
    let mut opts = FlashOptions::new(&pty.slave_path);
    opts.timeout = Duration::from_millis(1500);
    opts.before = Before::NoReset;
    opts.after = After::NoReset;
    let image = build(&settings(Chip::Esp8266, None));
    let start = Instant::now();
    let err = flash::flash(
        &opts,
        Input::Bin {
            data: &image,
            addr: Some(0),
        },
        &mut NoProgress,
    )
    .expect_err("nobody answers");
    let took = start.elapsed();
    assert!(matches!(err, FlashError::NoSync { .. }), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let e: espcheck::Error = err.into();
    assert_eq!(e.exit(), espcheck::Exit::Environment);
    assert!(e.to_string().contains("no answer to SYNC"), "{e}");
}

#[test]
fn sim_image_is_read_back_by_our_parser_and_esptool_image_info() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let chain = super::support::TestChain::new(super::support::Alg::P256, &["localhost"]);
    std::fs::write(&ca, &chain.intermediate_pem).unwrap();
    for chip in Chip::ALL {
        let out = dir.path().join(format!("{chip}.bin"));
        let assert = espcheck()
            .args([
                "sim",
                "image",
                "--chip",
                &chip.to_string(),
                "--host",
                "localhost:8443",
            ])
            .args([
                "--connect",
                "127.0.0.1:8443",
                "--fault",
                "tls",
                "--json",
                "--ca-file",
            ])
            .arg(&ca)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let report: serde_json::Value =
            serde_json::from_slice(&assert.get_output().stdout).unwrap();
        assert_eq!(report["settings"]["port"], 8443);
        assert_eq!(report["sha256_appended"], chip == Chip::Esp32);
        let bytes = std::fs::read(&out).unwrap();
        let (_, s) = espcheck::sim::image::read(&bytes, chip).unwrap();
        assert_eq!(s.ca_pem.as_deref(), Some(chain.intermediate_pem.as_str()));
        assert_eq!(s.fault, Some(Fault::Tls));
        if let Some(esptool) = esptool() {
            let o = Command::new(esptool)
                .args(["--chip", &chip.to_string(), "image-info"])
                .arg(&out)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success(), "{text}");
            assert!(
                text.contains("(valid)") && !text.contains("invalid"),
                "{text}"
            );
            if chip == Chip::Esp32 {
                assert!(text.contains("Validation hash:"), "{text}");
            }
        }
    }
    // Bad input: one line, exit 2, no file left behind.
    let out = dir.path().join("bad.bin");
    espcheck()
        .args(["sim", "image", "--fingerprint", "not-hex", "-o"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--fingerprint not-hex"));
    assert!(!out.exists());
}

#[test]
fn sim_device_command_serves_on_its_link_and_cleans_up_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("esp");
    let flash_file = dir.path().join("esp.flash");
    let mut child = super::support::espcheck_std()
        .args([
            "sim", "device", "--pacing", "off", "--chip", "esp32", "--link",
        ])
        .arg(&link)
        .arg("--flash-file")
        .arg(&flash_file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !link.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(link.exists(), "link appears");
    assert_eq!(
        std::fs::metadata(&flash_file).unwrap().len(),
        4 * 1024 * 1024
    );
    let image = build(&settings(Chip::Esp32, Some(Fault::Brownout)));
    let opts = FlashOptions::new(&link);
    let fw = Input::Bin {
        data: &image,
        addr: Some(0x10000),
    };
    let mut done = flash::flash(&opts, fw, &mut NoProgress).expect("flash through the link");
    let seen = read_until(&mut done.port, "SW_CPU_RESET", Duration::from_secs(5));
    assert!(seen.contains("Brownout detector was triggered"), "{seen:?}");
    assert!(seen.contains("rst:0xc (SW_CPU_RESET)"), "{seen:?}");
    drop(done);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(stdout.starts_with("virtual ESP32 on /dev/pts/"), "{stdout}");
    assert!(!link.exists(), "link removed on exit");
    // The flash persisted in the file, bootloader and partition table included.
    let flash = std::fs::read(&flash_file).unwrap();
    assert_eq!(&flash[0x10000..0x10000 + image.len()], &image[..]);
    assert_eq!(flash[0x1000], 0xE9);
    assert_eq!(&flash[0x8000..0x8002], &[0xAA, 0x50]);
}

/// The espcheck side of `bench/flash.sh`: flash ESPCHECK_BENCH_IMAGE at ESPCHECK_BENCH_ADDR through
/// ESPCHECK_BENCH_PORT and leave the board in its loader.
#[test]
#[ignore = "driven by bench/flash.sh"]
fn bench_flash_entry() {
    let port = std::env::var("ESPCHECK_BENCH_PORT").expect("ESPCHECK_BENCH_PORT");
    let image = std::fs::read(std::env::var("ESPCHECK_BENCH_IMAGE").expect("image")).unwrap();
    let addr = std::env::var("ESPCHECK_BENCH_ADDR").expect("addr");
    let addr = u32::from_str_radix(addr.trim_start_matches("0x"), 16).unwrap();
    let mut opts = FlashOptions::new(port);
    opts.after = After::NoReset;
    let done = flash::flash(
        &opts,
        Input::Bin {
            data: &image,
            addr: Some(addr),
        },
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(done.bytes, image.len().div_ceil(0x400) * 0x400);
}

#[test]
fn an_elf_for_the_esp8266_is_refused_with_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let dev = board(Chip::Esp8266, dir.path());
    let elf = b"\x7fELF\x01\x01\x01\0rest of an elf";
    let err = flash::flash(
        &FlashOptions::new(dev.path()),
        Input::detect(elf, None),
        &mut NoProgress,
    )
    .expect_err("no ELF conversion for the ESP8266");
    assert!(matches!(err, FlashError::Input(_)), "{err}");
    let e: espcheck::Error = err.into();
    assert_eq!(e.exit(), espcheck::Exit::Usage);
}
