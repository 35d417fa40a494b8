//! Fault injection on the virtual board (`espcheck sim device` on a real pty): a reset loop
//! watched by `watch`, malformed SLIP and out-of-order FLASH_DATA, a flash cut by SIGINT.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use espcheck::rom::Chip;
use espcheck::rom::command::{payload, sync_payload};
use espcheck::rom::packet::{Op, Request, Response, RomError};
use espcheck::rom::slip::{self, FrameDecoder};

use super::{bin, stderr, timed};

/// `espcheck sim device` in a subprocess, served on a link in its own temp dir. SIGTERM on drop.
struct SimDevice {
    child: std::process::Child,
    link: PathBuf,
    dir: tempfile::TempDir,
}

impl SimDevice {
    fn start(chip: Chip) -> Self {
        Self::start_with(chip, "off")
    }

    /// A board whose UART keeps real time (`--pacing real`): a transfer takes its line time, so
    /// a signal sent mid-transfer lands mid-transfer however loaded the machine is.
    fn start_paced(chip: Chip) -> Self {
        Self::start_with(chip, "real")
    }

    fn start_with(chip: Chip, pacing: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("board");
        let child = bin()
            .args([
                "sim",
                "device",
                "--pacing",
                pacing,
                "--chip",
                &chip.to_string(),
                "--link",
            ])
            .arg(&link)
            .arg("--flash-file")
            .arg(dir.path().join("flash.bin"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !link.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(link.exists(), "sim device serves on its link");
        SimDevice { child, link, dir }
    }

    /// Build a sim image with the CLI (`sim image`).
    fn image(&self, chip: Chip, fault: Option<&str>) -> Vec<u8> {
        let out = self.dir.path().join("app.bin");
        let mut args = vec!["sim", "image", "--chip"];
        let chip = chip.to_string();
        args.push(&chip);
        args.extend(["--connect", "127.0.0.1:9", "-o"]);
        let out_s = out.display().to_string();
        args.push(&out_s);
        if let Some(f) = fault {
            args.extend(["--fault", f]);
        }
        let (o, _) = timed(&args);
        assert!(o.status.success(), "sim image: {}", stderr(&o));
        std::fs::read(&out).unwrap()
    }
}

impl Drop for SimDevice {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Flash `image` with espcheck's flashing library and close the port.
fn library_flash(port: &Path, chip: Chip, image: &[u8]) {
    use espcheck::flash::{self, FlashOptions, Input, NoProgress};
    let opts = FlashOptions::new(port);
    let fw = Input::Bin {
        data: image,
        addr: Some(chip.app_offset()),
    };
    let done = flash::flash(&opts, fw, &mut NoProgress).expect("flash the virtual board");
    drop(done);
}

#[test]
fn a_reset_looping_board_is_exit_5_and_the_reason_names_the_loop() {
    // Each chip on its own board, flashed with the library, watched by the binary. The ESP8266's
    // reset lines come from its ROM at 74880 baud, so that is the speed that shows its loop.
    let runs: Vec<_> = [(Chip::Esp32, "115200"), (Chip::Esp8266, "74880")]
        .into_iter()
        .map(|(chip, baud)| {
            std::thread::spawn(move || {
                let board = SimDevice::start(chip);
                let image = board.image(chip, Some("reset-loop"));
                library_flash(&board.link, chip, &image);
                let link = board.link.display().to_string();
                let args = ["watch", &link, "--json", "--timeout", "20s", "--baud", baud];
                let (looped, took) = timed(&args);
                // At the app's 115200 baud the ESP8266 shows only the soft-WDT dump: still a
                // fault, named after the watchdog.
                let (app_baud, _) = timed(&["watch", &link, "--json", "--timeout", "20s"]);
                drop(board);
                (chip, looped, took, app_baud)
            })
        })
        .collect();
    // Join every board before asserting, so none outlives a failure.
    let results: Vec<_> = runs.into_iter().map(|r| r.join().unwrap()).collect();
    for (chip, out, took, app_baud) in results {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(5), "{chip}: {err}");
        assert!(took < Duration::from_secs(15), "{chip}: took {took:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["verdict"], "fault", "{chip}: {report}");
        let reason = report["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("reset loop: the board rebooted"),
            "{chip}: {reason}"
        );
        assert_eq!(report["crash"]["kind"], "reset-loop", "{chip}: {report}");

        assert_eq!(
            app_baud.status.code(),
            Some(5),
            "{chip}: {}",
            stderr(&app_baud)
        );
        let report: serde_json::Value = serde_json::from_slice(&app_baud.stdout).unwrap();
        let reason = report["reason"].as_str().unwrap();
        match chip {
            Chip::Esp8266 => assert!(reason.contains("software watchdog"), "{reason}"),
            Chip::Esp32 => assert!(reason.starts_with("reset loop"), "{reason}"),
        }
    }
}

/// The host's end of a virtual board's port, speaking raw ROM protocol.
struct RomPort {
    file: std::fs::File,
    chip: Chip,
    decoder: FrameDecoder,
}

impl RomPort {
    fn open(path: &Path, chip: Chip) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;

        use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
            .open(path)?;
        let mut t = tcgetattr(&file)?;
        cfmakeraw(&mut t);
        nix::sys::termios::cfsetspeed(&mut t, nix::sys::termios::BaudRate::B115200)?;
        tcsetattr(&file, SetArg::TCSANOW, &t)?;
        Ok(RomPort {
            file,
            chip,
            decoder: FrameDecoder::default(),
        })
    }

    fn send(&mut self, wire: &[u8]) {
        let mut rest = wire;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the board stopped reading");
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("write to the board: {e}"),
            }
        }
    }

    fn request(&mut self, req: &Request) {
        self.send(&slip::encode(&req.encode()));
    }

    /// The next `n` responses (boot text and noise between frames are skipped), or fewer if
    /// `within` passes first.
    fn responses(&mut self, n: usize, within: Duration) -> Vec<Response> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < n && Instant::now() < deadline {
            match self.file.read(&mut buf) {
                Ok(k) if k > 0 => {
                    for frame in self.decoder.feed(&buf[..k]).into_iter().flatten() {
                        if let Ok(r) = Response::parse(&frame, self.chip.status_len()) {
                            got.push(r);
                        }
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        got
    }

    /// SYNC and its eight answers. Answers still queued for an earlier client (a flasher that
    /// was killed) are read past, as every flasher's flush-input-then-sync does.
    fn sync(&mut self) -> bool {
        self.request(&Request::new(Op::Sync, sync_payload()));
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut synced = 0;
        while synced < 8 && Instant::now() < deadline {
            for r in self.responses(1, deadline.saturating_duration_since(Instant::now())) {
                if r.op == Op::Sync as u8 {
                    assert_eq!(r.status, 0, "SYNC answered with an error: {r:?}");
                    synced += 1;
                }
            }
        }
        synced == 8
    }

    /// One request, one response: its (status, error).
    fn ask(&mut self, req: &Request) -> (u8, u8) {
        self.request(req);
        let r = self.responses(1, Duration::from_secs(3));
        assert_eq!(r.len(), 1, "no answer to op {:#04x}", req.op);
        assert_eq!(r[0].op, req.op, "answer is for the op asked");
        (r[0].status, r[0].error)
    }
}

#[test]
fn malformed_slip_and_out_of_order_flash_data_get_rom_error_codes_and_the_board_keeps_serving() {
    let boards: Vec<_> = Chip::ALL
        .into_iter()
        .map(|chip| {
            std::thread::spawn(move || {
                let board = SimDevice::start(chip);
                rom_abuse(chip, &board.link);
            })
        })
        .collect();
    for b in boards {
        b.join().unwrap();
    }
}

fn rom_abuse(chip: Chip, link: &Path) {
    let mut port = RomPort::open(link, chip).unwrap();
    assert!(port.sync(), "{chip}: a fresh board syncs");
    let failed = (1, RomError::Failed as u8);
    let invalid = (1, RomError::InvalidMessage as u8);
    let ok = (0, 0);
    let at = chip.app_offset();
    let block = |seq: u32, fill: u8| Request::data_block(Op::FlashData, seq, &[fill; 0x400]);

    // FLASH_DATA with no FLASH_BEGIN: the ROM has nowhere to write it.
    assert_eq!(
        port.ask(&block(0, 0x11)),
        failed,
        "{chip}: data before begin"
    );
    assert_eq!(
        port.ask(&Request::new(
            Op::FlashBegin,
            payload(&[0x800, 2, 0x400, at])
        )),
        ok,
        "{chip}: begin"
    );
    // Out of order: block 1 before block 0.
    assert_eq!(port.ask(&block(1, 0x22)), failed, "{chip}: seq 1 first");
    // A block whose checksum field does not match its data.
    let mut bad_sum = block(0, 0x33);
    bad_sum.checksum ^= 0xFF;
    assert_eq!(
        port.ask(&bad_sum),
        (1, RomError::InvalidCrc as u8),
        "{chip}: bad checksum"
    );
    // A block longer than the block size FLASH_BEGIN announced.
    let long = Request::data_block(Op::FlashData, 0, &[0x44; 0x800]);
    assert_eq!(port.ask(&long), invalid, "{chip}: oversized block");
    // A header whose length field lies: the ROM still names the op and says "invalid".
    let mut lying = Request::new(Op::ReadReg, payload(&[0x6000_0078])).encode();
    lying[2] = 0x40;
    port.send(&slip::encode(&lying));
    let r = port.responses(1, Duration::from_secs(3));
    assert_eq!(r.len(), 1, "{chip}: an answer to a lying length");
    assert_eq!(
        (r[0].op, r[0].status, r[0].error),
        (Op::ReadReg as u8, 1, 5)
    );
    // An op the ROM does not know.
    assert_eq!(
        port.ask(&Request {
            op: 0x7E,
            checksum: 0,
            data: vec![]
        }),
        invalid,
        "{chip}: unknown op"
    );
    // SLIP noise: a bad escape inside a frame, a frame with no END for 20 KB, bare ENDs, text.
    // None of it is answered; the next real request is.
    let mut noise = vec![0xC0, 0x00, 0x08, 0xDB, 0x41, 0x42, 0xC0, 0xC0, 0xC0];
    noise.extend(b"AT+RST\r\n");
    noise.push(0xC0);
    noise.extend(std::iter::repeat_n(0x5A, 20 * 1024));
    noise.push(0xC0);
    port.send(&noise);
    // The transfer survived all of that: blocks 0 and 1 in order are written.
    assert_eq!(
        port.ask(&block(0, 0x00)),
        ok,
        "{chip}: block 0 after the noise"
    );
    assert_eq!(port.ask(&block(1, 0x0F)), ok, "{chip}: block 1");
    assert_eq!(
        port.ask(&block(2, 0x0F)),
        failed,
        "{chip}: past the announced blocks"
    );
    // And SYNC, the first thing every flasher sends, still works.
    assert!(port.sync(), "{chip}: SYNC after the abuse");
    if chip == Chip::Esp32 {
        // The data that did land is exactly what was sent in order (ESP32 ROM has SPI_FLASH_MD5).
        use md5::{Digest, Md5};
        port.request(&Request::new(Op::SpiFlashMd5, payload(&[at, 0x800, 0, 0])));
        let r = port.responses(1, Duration::from_secs(3));
        let mut want = vec![0x00; 0x400];
        want.extend([0x0F; 0x400]);
        assert_eq!(r[0].status, 0, "{chip}: md5");
        assert_eq!(
            String::from_utf8_lossy(&r[0].data),
            hex::encode(Md5::digest(&want)),
            "{chip}: flash holds blocks 0 and 1 as sent in order"
        );
    }
}

/// esptool (v5) on PATH or in the repository's `.venv`; `None` prints why the test is skipped.
fn esptool() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/esptool");
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("esptool"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = on_path.into_iter().chain([venv]).find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "SKIP: esptool not found on PATH or in .venv (python3 -m venv .venv && \
             .venv/bin/pip install 'esptool>=5,<6')"
        );
    }
    found
}

/// Incompressible bytes (xorshift), so a deflate transfer is as long as a raw one.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn a_flash_interrupted_by_sigint_releases_the_port_and_the_board_still_serves() {
    // espcheck's own flash-and-watch is not on this branch yet: esptool is the interrupted flasher.
    let Some(esptool) = esptool() else { return };
    let chip = Chip::Esp32;
    let board = SimDevice::start_paced(chip);
    let big = board.dir.path().join("big.bin");
    std::fs::write(&big, noise(1024 * 1024)).unwrap();
    let mut child = Command::new(&esptool)
        .args(["--chip", "esp32", "--port"])
        .arg(&board.link)
        .args(["--before", "no-reset", "--after", "no-reset", "--no-stub"])
        .args(["write-flash", "0x10000"])
        .arg(&big)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until data blocks are going out, then interrupt mid-transfer.
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        let mut told = false;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if !told && String::from_utf8_lossy(&seen).contains("Writing at 0x") {
                told = true;
                let _ = tx.send(());
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("esptool starts writing");
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let interrupted = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(5),
            "esptool ignores SIGINT"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stopped = interrupted.elapsed();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    eprintln!(
        "esptool after SIGINT: {status:?} in {stopped:?}; stderr tail: {:?}",
        err.lines().last()
    );
    assert!(
        !status.success(),
        "an interrupted flash does not report success"
    );
    assert!(
        status.code().is_some(),
        "esptool exits on SIGINT, it is not killed by it"
    );
    assert!(
        stopped < Duration::from_secs(2),
        "esptool stops promptly: {stopped:?}"
    );

    // Right away: the port opens and the board answers SYNC, though its transfer was cut.
    let reopened = Instant::now();
    let mut port = loop {
        match RomPort::open(&board.link, chip) {
            Ok(p) => break p,
            Err(e) => {
                assert!(
                    reopened.elapsed() < Duration::from_secs(2),
                    "the port stays busy after the flasher died: {e}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    assert!(port.sync(), "the board syncs after the interrupted flash");
    eprintln!(
        "reopened and synced {:?} after esptool exited",
        reopened.elapsed()
    );
    drop(port);
    // And a whole new flash goes through and is verified (the ESP32 ROM checks MD5).
    let image = board.image(chip, None);
    library_flash(&board.link, chip, &image);
}
