//! esptool 5 as users run it, with its default flasher stub (no `--no-stub`), against the virtual
//! board over a real pty: the board must answer the stub upload with `OHAI` and then speak the
//! stub protocol. Every run is bounded so that a hang fails the test instead of the CI job.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use espcheck::rom::Chip;

use super::rom::{board, esptool};

/// Run esptool in its default (stub) mode with the given arguments; kill it and fail if it runs
/// longer than `within`. Returns its output and how long it took.
fn stub_esptool(
    esptool: &Path,
    chip: Chip,
    port: &Path,
    args: &[&str],
    within: Duration,
) -> (String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out.txt");
    let file = std::fs::File::create(&log).unwrap();
    let start = Instant::now();
    let mut child = Command::new(esptool)
        .arg("--chip")
        .arg(chip.to_string())
        .arg("--port")
        .arg(port)
        .args(["--before", "no-reset", "--after", "no-reset"])
        .args(args)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .expect("run esptool");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("{chip}: esptool {args:?} still running after {within:?}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{chip}: esptool {args:?} failed:\n{text}");
    (text, took)
}

/// `len` incompressible bytes (xorshift), the same for the same `seed`.
pub(super) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A 300 KB file that deflate shrinks to about two thirds: random bytes, then a repeating ramp.
fn payload() -> Vec<u8> {
    let mut data = noise(200_000, 0x2545_F491_4F6C_DD1D);
    data.extend((0..100_000).map(|i| (i % 251) as u8));
    data
}

#[test]
fn esptool_default_stub_mode_flashes_reads_and_erases_both_chips() {
    let Some(esptool) = esptool() else { return };
    let quick = Duration::from_secs(20);
    for chip in Chip::ALL {
        let dir = tempfile::tempdir().unwrap();
        let dev = board(chip, dir.path());
        let port = dev.path().to_path_buf();
        let run = |args: &[&str]| stub_esptool(&esptool, chip, &port, args, quick);

        let (text, _) = run(&["chip-id"]);
        assert!(text.contains("Stub flasher running."), "{chip}: {text}");
        assert!(
            text.contains(&format!("Connected to {}", chip.name())),
            "{text}"
        );

        let (text, _) = run(&["read-mac"]);
        let mac = espcheck::sim::device::mac(chip)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert!(
            text.contains(&format!("MAC:                {mac}")),
            "{chip}: {text}"
        );

        let (text, _) = run(&["flash-id"]);
        assert!(text.contains("Manufacturer: ef"), "{chip}: {text}");
        assert!(text.contains("Detected flash size: 4MB"), "{chip}: {text}");

        // A compressed write (esptool's default) through the stub, in 16 KiB blocks.
        let data = payload();
        let file = dir.path().join("data.bin");
        std::fs::write(&file, &data).unwrap();
        let file = file.to_str().unwrap();
        let (text, _) = run(&["write-flash", "0x20000", file]);
        assert!(text.contains("Compressed 300000 bytes"), "{chip}: {text}");
        assert!(text.contains("Hash of data verified."), "{chip}: {text}");
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        assert_eq!(&flash[0x20000..0x20000 + data.len()], &data[..], "{chip}");
        // The stub erases only the sectors it writes: the rest of the last one stays erased.
        let end = 0x20000 + data.len();
        assert!(
            flash[end..end.next_multiple_of(0x1000)]
                .iter()
                .all(|&b| b == 0xFF)
        );

        let (text, _) = run(&["verify-flash", "0x20000", file]);
        assert!(
            text.contains("Verification successful (digest matched)."),
            "{chip}: {text}"
        );

        // The stub's READ_FLASH: streamed frames, acknowledgements, a closing digest.
        let back = dir.path().join("back.bin");
        let len = data.len().to_string();
        run(&["read-flash", "0x20000", &len, back.to_str().unwrap()]);
        assert_eq!(std::fs::read(&back).unwrap(), data, "{chip}: read-flash");

        run(&["erase-region", "0x20000", "0x2000"]);
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        assert!(flash[0x20000..0x22000].iter().all(|&b| b == 0xFF), "{chip}");
        assert_eq!(
            &flash[0x22000..end],
            &data[0x2000..],
            "{chip}: only the region"
        );

        // A misaligned region is the stub's "bad data length", not a hang.
        let out = Command::new(&esptool)
            .args(["--chip", &chip.to_string(), "--port"])
            .arg(&port)
            .args(["--before", "no-reset", "--after", "no-reset"])
            .args(["erase-region", "0x20001", "0x1000"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{chip}: {text}");

        // CHANGE_BAUDRATE through the stub, on the ESP8266 too (its ROM has no such command).
        let (text, _) = run(&["--baud", "460800", "write-flash", "0x80000", file]);
        assert!(
            text.contains("Changing baud rate to 460800"),
            "{chip}: {text}"
        );
        assert!(text.contains("Hash of data verified."), "{chip}: {text}");
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        assert_eq!(&flash[0x80000..0x80000 + data.len()], &data[..], "{chip}");
        dev.shutdown();
    }
}

#[test]
fn a_stub_left_running_is_found_again_by_its_sync_answer() {
    let Some(esptool) = esptool() else { return };
    for chip in Chip::ALL {
        let dir = tempfile::tempdir().unwrap();
        let dev = board(chip, dir.path());
        let port = dev.path().to_path_buf();
        let run =
            |args: &[&str]| stub_esptool(&esptool, chip, &port, args, Duration::from_secs(20)).0;
        let text = run(&["--after", "no-reset-stub", "flash-id"]);
        assert!(text.contains("Staying in flasher stub."), "{chip}: {text}");
        // The next run finds the stub by its SYNC value 0 and does not upload it again.
        let text = run(&["--after", "no-reset-stub", "erase-flash"]);
        assert!(
            text.contains("Stub flasher is already running. No upload is necessary."),
            "{chip}: {text}"
        );
        let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
        assert!(
            flash.iter().all(|&b| b == 0xFF),
            "{chip}: erase-flash erases all"
        );
        // The UART date register older tools detect the chip by.
        let text = run(&["--after", "no-reset-stub", "read-mem", "0x60000078"]);
        let date = match chip {
            Chip::Esp8266 => "0x00062000",
            Chip::Esp32 => "0x15122500",
        };
        assert!(
            text.contains(&format!("0x60000078 = {date}")),
            "{chip}: {text}"
        );
        if chip == Chip::Esp32 {
            // eFuse MAC word 1 through the 0x6001A000 alias: the last four MAC bytes.
            let text = run(&["--after", "no-reset-stub", "read-mem", "0x6001a004"]);
            assert!(text.contains("0x6001a004 = 0xc45ecaf1"), "{text}");
        }
        dev.shutdown();
    }
}

/// Sync with the board at `baud` through esptool's library and say whether a flasher stub
/// answered (its SYNC reply value is 0), or that nothing did.
const SYNC_AT: &str = r#"
import sys
from esptool.cmds import detect_chip
try:
    esp = detect_chip(sys.argv[1], int(sys.argv[2]), "no-reset", connect_attempts=1)
    print("stub" if esp.sync_stub_detected else "rom")
    if sys.argv[3:] == ["reset"]:
        # What esptool 5's `--after no-reset` does to a running stub: FLASH_END with reboot.
        esp.STUB_CLASS(esp).soft_reset(True)
except Exception as e:
    print("no answer:", str(e).splitlines()[0])
"#;

#[test]
fn the_baud_a_stub_sets_stays_until_reset_and_other_speeds_are_garbage() {
    let Some(esptool) = esptool() else { return };
    let py = esptool.with_file_name("python");
    for chip in Chip::ALL {
        let dir = tempfile::tempdir().unwrap();
        let dev = board(chip, dir.path());
        let port = dev.path().to_path_buf();
        let within = Duration::from_secs(20);
        let (text, _) = stub_esptool(
            &esptool,
            chip,
            &port,
            &["--baud", "460800", "--after", "no-reset-stub", "flash-id"],
            within,
        );
        assert!(text.contains("Changing baud rate to 460800"), "{text}");
        assert!(text.contains("Staying in flasher stub."), "{text}");
        // esptool comes back at 115200 (it always syncs there first) to a stub left running:
        // the stub's UART still runs at 460800, so neither side reads the other.
        let out = Command::new(&esptool)
            .args(["--chip", &chip.to_string(), "--port"])
            .arg(&port)
            .args(["--before", "no-reset", "--after", "no-reset"])
            .args(["--connect-attempts", "1", "flash-id"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{chip}: 115200 must not connect: {text}"
        );
        assert!(text.contains("Failed to connect"), "{chip}: {text}");
        // At 460800 the same stub answers at once: the speed stayed, the stub kept running.
        let sync_then = |baud: &str, then: &str| {
            let out = Command::new(&py)
                .args(["-c", SYNC_AT])
                .arg(&port)
                .args([baud, then])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.trim().lines().last().unwrap_or_default().to_owned()
        };
        let sync = |baud: &str| sync_then(baud, "");
        assert_eq!(sync("460800"), "stub", "{chip}");
        let slow = sync("115200");
        assert!(slow.starts_with("no answer"), "{chip}: {slow}");
        // `--after no-reset` in esptool 5 reboots the stub into the ROM loader (FLASH_END with
        // reboot): a reset, so the ROM's autobaud syncs at 115200 again, as on the chip.
        assert_eq!(sync_then("460800", "reset"), "stub", "{chip}");
        assert_eq!(sync("115200"), "rom", "{chip}");
        dev.shutdown();
    }
}

/// espflash (the crate, as cargo-espflash uses it) with its own flasher stub against the virtual
/// ESP32 over the pty: connect uploads the stub and waits for `OHAI`, then a compressed write in
/// the stub's blocks, the stub's MD5, and a streamed read-back, all byte-exact. (espflash 4 has
/// no ESP8266 support.)
#[test]
fn espflash_with_its_stub_writes_verifies_and_reads_back_byte_exact() {
    use espflash::connection::{Connection, ResetAfterOperation, ResetBeforeOperation};
    use espflash::flasher::Flasher;
    use espflash::target::DefaultProgressCallback;
    use md5::Digest as _;

    let dir = tempfile::tempdir().unwrap();
    let dev = board(Chip::Esp32, dir.path());
    let port = serialport::new(dev.path().to_string_lossy(), 115_200)
        .timeout(Duration::from_secs(3))
        .open_native()
        .unwrap();
    let usb = serialport::UsbPortInfo {
        vid: 0,
        pid: 0,
        serial_number: None,
        manufacturer: None,
        product: None,
    };
    let conn = Connection::new(
        port,
        usb,
        // Stay in the stub after the write (`NoReset` would reboot it into the ROM loader, as
        // esptool's `--after no-reset` does).
        ResetAfterOperation::NoResetNoStub,
        ResetBeforeOperation::NoReset,
        115_200,
    );
    let start = Instant::now();
    let mut flasher = Flasher::connect(conn, true, true, false, None, None).unwrap();
    assert_eq!(flasher.chip(), espflash::target::Chip::Esp32);
    let data = payload();
    flasher
        .write_bin_to_flash(0x30000, &data, &mut DefaultProgressCallback)
        .unwrap();
    let flash = std::fs::read(dir.path().join("flash.bin")).unwrap();
    assert_eq!(&flash[0x30000..0x30000 + data.len()], &data[..]);
    let md5 = flasher.checksum_md5(0x30000, data.len() as u32).unwrap();
    assert_eq!(
        md5.to_be_bytes(),
        <[u8; 16]>::from(md5::Md5::digest(&data)),
        "the stub's SPI_FLASH_MD5"
    );
    let back = dir.path().join("back.bin");
    // One block in flight (`espflash read-flash --max-in-flight 1`): espflash clears its input
    // before each acknowledgement, so blocks the stub sent ahead would be thrown away.
    flasher
        .read_flash(0x30000, data.len() as u32, 0x1000, 1, back.clone())
        .unwrap();
    assert_eq!(
        std::fs::read(&back).unwrap(),
        data,
        "read back through the stub"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    drop(flasher);
    dev.shutdown();
}
