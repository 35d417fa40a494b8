//! The virtual board's line keeps time (`--pacing real`, the default): esptool through the ROM
//! loaders over a real pty takes as long as the bytes take on a UART. These two are the only tests
//! that measure time; every other test runs the board with pacing off.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use espcheck::rom::Chip;
use espcheck::sim::device::{self, DeviceConfig, Pacing};

use super::rom::esptool;
use super::stub::noise;

fn paced_board(chip: Chip, dir: &Path) -> device::Device {
    let mut cfg = DeviceConfig::new(chip);
    cfg.link = Some(dir.join("board"));
    assert_eq!(cfg.pacing, Pacing::Real, "real pacing is the default");
    device::start(cfg).unwrap()
}

/// 128 KiB of incompressible data.
fn data(dir: &Path) -> std::path::PathBuf {
    let bytes = noise(128 * 1024, 0x9E37_79B9_7F4A_7C15);
    let path = dir.join("data.bin");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// esptool's ROM-only (`--no-stub`), uncompressed write of `file`; returns the wall time.
fn rom_write(
    esptool: &Path,
    chip: Chip,
    port: &Path,
    baud: u32,
    file: &Path,
    at: &str,
) -> Duration {
    let start = Instant::now();
    let out = Command::new(esptool)
        .args([
            "--chip",
            &chip.to_string(),
            "--baud",
            &baud.to_string(),
            "--port",
        ])
        .arg(port)
        .args(["--before", "no-reset", "--after", "no-reset", "--no-stub"])
        .args(["write-flash", "--no-compress", at])
        .arg(file)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

#[test]
fn esp8266_rom_at_115200_takes_the_line_time_for_128_kib() {
    let Some(esptool) = esptool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dev = paced_board(Chip::Esp8266, dir.path());
    let file = data(dir.path());
    let took = rom_write(
        &esptool,
        Chip::Esp8266,
        dev.path(),
        115_200,
        &file,
        "0x20000",
    );
    // 131072 bytes × 10 bits / 115200 baud = 11.38 s before any framing, erase or replies.
    assert!(took >= Duration::from_millis(11_380), "took {took:?}");
    assert!(took < Duration::from_secs(40), "took {took:?}");
    dev.shutdown();
}

#[test]
fn esp32_rom_at_921600_is_more_than_three_times_faster_than_at_115200() {
    let Some(esptool) = esptool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dev = paced_board(Chip::Esp32, dir.path());
    let file = data(dir.path());
    let slow = rom_write(&esptool, Chip::Esp32, dev.path(), 115_200, &file, "0x20000");
    let fast = rom_write(&esptool, Chip::Esp32, dev.path(), 921_600, &file, "0x40000");
    assert!(slow >= Duration::from_millis(11_380), "115200: {slow:?}");
    assert!(fast * 3 < slow, "921600: {fast:?} vs 115200: {slow:?}");
    dev.shutdown();
}
