//! `flash-and-watch` at esptool's speed: the ESP8266 stub (esp-flasher-stub, from the esptool 5
//! that CI installs in `.venv`, never from this repository) found at run time, the default
//! 460800 baud, compressed writes with MD5 verification, espflash's stub on the ESP32, and the
//! ROM fallback that says once what it costs. Against `sim device --pacing off`, to PASS against
//! the mock API.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::flash::{Board, image};
use crate::rom::esptool;
use crate::sim::Server;
use crate::support::espcheck;

/// A reference-sketch image of 256 KiB for `chip` that talks to `server`.
fn sketch(dir: &Path, server: &Server, chip: &str) -> PathBuf {
    let ca = server.file("root.pem");
    image(
        dir,
        &format!("{chip}.bin"),
        &[
            "--chip",
            chip,
            "--size",
            "256K",
            "--connect",
            &server.connect(),
            "--ca-file",
            ca.to_str().unwrap(),
        ],
    )
}

/// PATH with esptool's directory first (`Some`), or with no esptool at all (`None`).
fn path_with(esptool: Option<&Path>) -> OsString {
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
    if let Some(e) = esptool {
        dirs.insert(0, e.parent().unwrap().to_owned());
    }
    std::env::join_paths(dirs).unwrap()
}

/// Run flash-and-watch on `board` with `fw`, extra args and PATH; exit code and stderr.
fn run(board: &Board, fw: &Path, args: &[&str], path: &OsString) -> (Option<i32>, String) {
    let out = espcheck()
        .env("PATH", path)
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(fw)
        .args(["--timeout", "40s"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (out.status.code(), format!("{stderr}\n{stdout}"))
}

/// The esp-flasher-stub file of the esptool at `esptool`, asked of its own Python.
fn stub_file(esptool: &Path) -> PathBuf {
    let python = esptool.parent().unwrap().join("python3");
    let out = Command::new(python)
        .args([
            "-c",
            "import esptool, os; print(os.path.dirname(esptool.__file__))",
        ])
        .output()
        .unwrap();
    let pkg = String::from_utf8(out.stdout).unwrap();
    let file = Path::new(pkg.trim()).join("targets/stub_flasher/2/esp8266.json");
    assert!(file.is_file(), "esptool 5 installs {}", file.display());
    file
}

#[test]
fn esp8266_flashes_through_esptools_stub_at_460800_compressed_and_verified() {
    let Some(esptool) = esptool() else { return };
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fw = sketch(dir.path(), &server, "esp8266");
    let board = Board::start("esp8266");
    // Found through the esptool on PATH: its interpreter says where the package lives.
    let (code, out) = run(&board, &fw, &[], &path_with(Some(&esptool)));
    assert_eq!(code, Some(0), "{out}");
    let stub = stub_file(&esptool);
    let line = out
        .lines()
        .find(|l| l.starts_with("flashed 262144 bytes to ESP8266"))
        .unwrap_or_else(|| panic!("no flashed line:\n{out}"));
    let used = line
        .split("through the stub ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap_or_else(|| panic!("not through the stub: {line}"));
    assert_eq!(
        std::fs::canonicalize(used).unwrap(),
        std::fs::canonicalize(&stub).unwrap(),
        "{line}"
    );
    assert!(line.contains("at 460800 baud"), "{line}");
    assert!(line.contains("verified (MD5)"), "{line}");
    // The sim image is half code-like noise, half padding: deflate must have shrunk it.
    let packed: usize = line
        .split("compressed to ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not compressed: {line}"));
    assert!(packed < 262_144, "{line}");
    assert!(out.contains("PASS"), "{out}");
    assert!(!out.contains("no ESP8266 flasher stub found"), "{out}");

    // Reflash the same board naming the stub in ESPCHECK_STUB, with no esptool on PATH.
    let out = espcheck()
        .env("PATH", path_with(None))
        .env("ESPCHECK_STUB", &stub)
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(&fw)
        .args(["--timeout", "40s", "--baud", "921600"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("through the stub"), "{err}");
    assert!(err.contains("at 921600 baud"), "{err}");
}

#[test]
fn esp8266_without_a_stub_uses_the_rom_and_says_once_what_a_stub_would_save() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fw = sketch(dir.path(), &server, "esp8266");
    let board = Board::start("esp8266");
    let (code, out) = run(&board, &fw, &[], &path_with(None));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out.matches("no ESP8266 flasher stub found").count(),
        1,
        "{out}"
    );
    let advice = out
        .lines()
        .find(|l| l.starts_with("no ESP8266 flasher stub found"))
        .unwrap();
    assert!(advice.contains("× faster"), "{advice}");
    assert!(advice.contains("pip install esptool"), "{advice}");
    assert!(
        out.contains("through the ROM at 115200 baud, not verified"),
        "{out}"
    );
    assert!(out.contains("PASS"), "{out}");

    // --no-stub is a choice, not a missing install: no advice then.
    let (code, out) = run(&board, &fw, &["--no-stub"], &path_with(None));
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("no ESP8266 flasher stub found"), "{out}");
}

#[test]
fn a_stub_file_that_is_not_one_is_refused_in_one_line_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("stub.json");
    std::fs::write(&bogus, "{\"text\": 1}").unwrap();
    let fw = image(dir.path(), "fw.bin", &["--chip", "esp8266"]);
    let board = Board::start("esp8266");
    let out = espcheck()
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--firmware")
        .arg(&fw)
        .arg("--stub")
        .arg(&bogus)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not an esptool stub JSON"), "{err}");
    assert!(!err.contains("flashed"), "{err}");
}

#[test]
fn esp32_flashes_through_espflashs_stub_at_460800_and_boots_through_it() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fw = sketch(dir.path(), &server, "esp32");
    let board = Board::start("esp32");
    let (code, out) = run(&board, &fw, &[], &path_with(None));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("through espflash's stub at 460800 baud"),
        "{out}"
    );
    assert!(out.contains("compressed to"), "{out}");
    assert!(out.contains("restarted through the stub"), "{out}");
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn a_stub_esptool_left_running_is_used_on_the_esp8266_and_sent_back_to_the_rom_on_the_esp32() {
    let Some(esptool) = esptool() else { return };
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    for chip in ["esp8266", "esp32"] {
        let fw = sketch(dir.path(), &server, chip);
        let board = Board::start(chip);
        // esptool's default stub flow, leaving its stub running (a pty has no reset lines).
        let out = Command::new(&esptool)
            .args(["--chip", chip, "--port"])
            .arg(&board.link)
            .args([
                "--before",
                "no-reset",
                "--after",
                "no-reset-stub",
                "chip-id",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let (code, out) = run(&board, &fw, &[], &path_with(Some(&esptool)));
        assert_eq!(code, Some(0), "{chip}: {out}");
        assert!(out.contains("PASS"), "{chip}: {out}");
        if chip == "esp8266" {
            assert!(out.contains("through the stub already running"), "{out}");
        } else {
            assert!(out.contains("through espflash's stub"), "{out}");
        }
    }
}

/// A minimal Xtensa ELF (ELF32 LE, EM_XTENSA) with these sections: (name, type, addr, data).
fn xtensa_elf(entry: u32, sections: &[(&str, u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut body = Vec::new();
    let mut headers = vec![[0u32; 10]];
    for (name, ty, addr, data) in sections {
        let name_off = names.len() as u32;
        names.extend_from_slice(name.as_bytes());
        names.push(0);
        let offset = 52 + body.len() as u32;
        if *ty != 8 {
            body.extend_from_slice(data);
        }
        headers.push([
            name_off,
            *ty,
            6,
            *addr,
            offset,
            data.len() as u32,
            0,
            0,
            4,
            0,
        ]);
    }
    let shstr_name = names.len() as u32;
    names.extend_from_slice(b".shstrtab\0");
    headers.push([
        shstr_name,
        3,
        0,
        0,
        52 + body.len() as u32,
        names.len() as u32,
        0,
        0,
        1,
        0,
    ]);
    body.extend_from_slice(&names);
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let shoff = 52 + body.len() as u32;
    let mut elf = vec![0x7F, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&94u16.to_le_bytes()); // EM_XTENSA
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&entry.to_le_bytes());
    elf.extend_from_slice(&0u32.to_le_bytes()); // no program headers
    elf.extend_from_slice(&shoff.to_le_bytes());
    elf.extend_from_slice(&0u32.to_le_bytes());
    for v in [
        52u16,
        32,
        0,
        40,
        headers.len() as u16,
        headers.len() as u16 - 1,
    ] {
        elf.extend_from_slice(&v.to_le_bytes());
    }
    elf.extend_from_slice(&body);
    for h in headers {
        for w in h {
            elf.extend_from_slice(&w.to_le_bytes());
        }
    }
    elf
}

#[test]
fn an_esp8266_elf_is_flashed_as_esptools_elf2image_makes_it() {
    let Some(esptool) = esptool() else { return };
    let dir = tempfile::tempdir().unwrap();
    // DRAM data and rodata that touch (merged), IRAM code, a .bss, an unplaced .comment, and
    // irom0 code in the flash window at offset 0x10000 (the NONOS SDK layout).
    let elf = xtensa_elf(
        0x4010_0004,
        &[
            (".data", 1, 0x3FFE_8000, (1..=6).collect()),
            (".rodata", 1, 0x3FFE_8008, super::stub::noise(300, 7)),
            (".bss", 8, 0x3FFE_9000, vec![0; 64]),
            (".text", 1, 0x4010_0000, super::stub::noise(1234, 9)),
            (".comment", 1, 0, b"GCC".to_vec()),
            (
                ".irom0.text",
                1,
                0x4021_0000,
                super::stub::noise(20_000, 11),
            ),
        ],
    );
    let path = dir.path().join("firmware.elf");
    std::fs::write(&path, &elf).unwrap();
    let prefix = dir.path().join("ref-");
    let out = Command::new(&esptool)
        .args(["--chip", "esp8266", "elf2image", "--output"])
        .arg(&prefix)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let boot = std::fs::read(dir.path().join("ref-0x00000.bin")).unwrap();
    let irom = std::fs::read(dir.path().join("ref-0x10000.bin")).unwrap();

    let flash = dir.path().join("flash.bin");
    let board = Board::start_with("esp8266", &["--flash-file", flash.to_str().unwrap()]);
    let (code, out) = run(&board, &path, &["--after", "no-reset"], &path_with(None));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "converted as esptool's elf2image does: {} bytes at 0x0, {} bytes at 0x10000",
            boot.len(),
            irom.len()
        )),
        "{out}"
    );
    drop(board);
    let written = std::fs::read(&flash).unwrap();
    assert_eq!(&written[..boot.len()], &boot[..], "the boot image at 0x0");
    assert_eq!(
        &written[0x10000..0x10000 + irom.len()],
        &irom[..],
        "irom0 at 0x10000"
    );

    // The same ELF as cargo leaves it (esp-hal style): found with no --firmware.
    let project = dir.path().join("clock");
    let release = project.join("target/xtensa-esp8266-none-elf/release");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"clock\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(release.join("clock"), &elf).unwrap();
    let flash = dir.path().join("flash2.bin");
    let board = Board::start_with("esp8266", &["--flash-file", flash.to_str().unwrap()]);
    let out = espcheck()
        .env("PATH", path_with(None))
        .arg("flash-and-watch")
        .arg(&board.link)
        .arg("--project")
        .arg(&project)
        .args(["--after", "no-reset"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("firmware from cargo xtensa-esp8266-none-elf"),
        "{err}"
    );
    drop(board);
    let written = std::fs::read(&flash).unwrap();
    assert_eq!(&written[..boot.len()], &boot[..], "cargo's ELF, converted");

    // An Arduino-core ELF links irom0 right behind its eboot (0x40201010): refused, nothing written.
    let arduino = xtensa_elf(
        0x4010_0004,
        &[
            (".text", 1, 0x4010_0000, super::stub::noise(8000, 3)),
            (".irom0.text", 1, 0x4020_1010, super::stub::noise(4000, 5)),
        ],
    );
    std::fs::write(&path, &arduino).unwrap();
    let board = Board::start("esp8266");
    let (code, out) = run(&board, &path, &[], &path_with(None));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("eboot"), "{out}");
    assert!(!out.contains("flashed"), "{out}");
}
