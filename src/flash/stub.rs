//! The ESP8266 flasher stub: a small RAM program uploaded through the ROM loader that can change
//! baud, inflate compressed data and compute MD5 (the ESP8266 ROM can do none of these).
//!
//! espcheck does not ship a stub. It uses the ESP8266 build of esp-flasher-stub (Apache-2.0 OR
//! MIT) that esptool 5 installs as `esptool/targets/stub_flasher/2/esp8266.json`, found at run
//! time in this order ([`find`]):
//!
//! 1. `--stub FILE`;
//! 2. `ESPCHECK_STUB`;
//! 3. the esptool on PATH: its interpreter (the script's `#!` line) is asked where the `esptool`
//!    package lives (`importlib.util.find_spec`, which does not import it);
//! 4. PlatformIO's `tool-esptoolpy` package (`$PLATFORMIO_CORE_DIR` or `~/.platformio`);
//! 5. the esptool bundled with the Arduino ESP8266 core (`~/.arduino15/packages/esp8266`).
//!
//! The file is esptool's stub JSON: `text`/`data` in base64 with their load addresses and the
//! `entry` point. esptool's older stub (`stub_flasher/1/esp8266.json`, `stub_flasher_8266.json`
//! in esptool 3/4) speaks the same protocol and is taken when no esp-flasher-stub is installed.
//!
//! Upload ([`run`]): MEM_BEGIN / MEM_DATA (0x1800-byte blocks) for each segment, MEM_END with
//! the entry point, then the stub's one SLIP frame `OHAI`.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use espflash::command::{Command, CommandType};
use espflash::connection::Connection;

use super::{FlashError, step};

/// The ROM's RAM download block size (esptool's `ESP_RAM_BLOCK`).
const RAM_BLOCK: usize = 0x1800;
/// What a running stub sends first.
const GREETING: &[u8] = b"OHAI";
/// How long the greeting may take after MEM_END.
const GREETING_WAIT: Duration = Duration::from_secs(1);
/// esptool's `MEM_END_ROM_TIMEOUT`: how long the ROM's answer to MEM_END is waited for.
const MEM_END_ROM_TIMEOUT: Duration = Duration::from_millis(200);
/// The largest stub file taken (they are ~20 KB).
const MAX_FILE: u64 = 1 << 20;

/// Where to look for the ESP8266 stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StubSearch {
    /// This file (`--stub`, `ESPCHECK_STUB`): it must be a valid stub.
    Given(PathBuf),
    /// The installed esptool, PlatformIO's and the Arduino core's.
    Installed,
    /// Stay on the ROM (`--no-stub`).
    Never,
}

/// A stub program, as esptool's JSON describes it.
#[derive(Debug, Clone)]
pub struct Stub {
    pub text: Vec<u8>,
    pub text_start: u32,
    pub data: Vec<u8>,
    pub data_start: u32,
    pub entry: u32,
    /// The file it came from.
    pub path: PathBuf,
}

#[derive(serde::Deserialize)]
struct StubJson {
    text: String,
    text_start: u32,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_start: Option<u32>,
    entry: u32,
}

/// Parse esptool's stub JSON; the error is one sentence.
pub fn parse(json: &[u8], path: &Path) -> Result<Stub, String> {
    let j: StubJson =
        serde_json::from_slice(json).map_err(|e| format!("not an esptool stub JSON ({e})"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = b64
        .decode(j.text.as_bytes())
        .map_err(|e| format!("its `text` is not base64 ({e})"))?;
    let data = match &j.data {
        Some(d) => b64
            .decode(d.as_bytes())
            .map_err(|e| format!("its `data` is not base64 ({e})"))?,
        None => Vec::new(),
    };
    if text.is_empty() {
        return Err("its `text` is empty".to_owned());
    }
    if !data.is_empty() && j.data_start.is_none() {
        return Err("it has `data` but no `data_start`".to_owned());
    }
    Ok(Stub {
        text,
        text_start: j.text_start,
        data,
        data_start: j.data_start.unwrap_or(0),
        entry: j.entry,
        path: path.to_owned(),
    })
}

/// Read and parse a stub file.
pub fn load(path: &Path) -> Result<Stub, String> {
    let meta = std::fs::metadata(path).map_err(|e| crate::util::io_reason(&e))?;
    if meta.len() > MAX_FILE {
        return Err(format!("{} bytes is too large for a stub", meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| crate::util::io_reason(&e))?;
    parse(&bytes, path)
}

/// The stub files under an `esptool` package directory, best first.
fn in_package(pkg: &Path) -> [PathBuf; 3] {
    let dir = pkg.join("targets");
    [
        dir.join("stub_flasher/2/esp8266.json"),
        dir.join("stub_flasher/1/esp8266.json"),
        dir.join("stub_flasher/stub_flasher_8266.json"),
    ]
}

/// The interpreter named on a script's `#!` line, if the file is a script.
fn shebang(script: &Path) -> Option<Vec<String>> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let words: Vec<String> = std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (!words.is_empty()).then_some(words)
}

/// Run `cmd` with a deadline and return its stdout when it succeeds.
fn run_bounded(mut cmd: Process, within: Duration) -> Option<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if start.elapsed() > within => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let mut out = String::new();
    use std::io::Read;
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Where the `esptool` package of the esptool on PATH lives, asked of its own interpreter.
fn esptool_package() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let script = std::env::split_paths(&path)
        .flat_map(|d| [d.join("esptool"), d.join("esptool.py")])
        .find(|p| p.is_file())?;
    let words = shebang(&script)?;
    let (interp, args) = match words.as_slice() {
        // `#!/usr/bin/env python3`
        [env, rest @ ..] if env.ends_with("/env") && !rest.is_empty() => {
            (rest[0].clone(), rest[1..].to_vec())
        }
        [interp, rest @ ..] => (interp.clone(), rest.to_vec()),
        [] => return None,
    };
    let mut cmd = Process::new(interp);
    // find_spec locates the package without importing it (importing esptool takes ~0.7 s).
    cmd.args(args).args([
        "-c",
        "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('esptool').origin))",
    ]);
    let out = run_bounded(cmd, Duration::from_secs(10))?;
    let dir = PathBuf::from(out.trim());
    dir.is_dir().then_some(dir)
}

/// The installed stub files, best first, in the documented order.
fn installed() -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(pkg) = esptool_package() {
        found.extend(in_package(&pkg));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut pio = Vec::new();
    if let Some(d) = std::env::var_os("PLATFORMIO_CORE_DIR") {
        pio.push(PathBuf::from(d));
    }
    if let Some(h) = &home {
        pio.push(h.join(".platformio"));
    }
    for core in pio {
        found.extend(in_package(&core.join("packages/tool-esptoolpy/esptool")));
    }
    if let Some(h) = &home {
        // ~/.arduino15/packages/esp8266/hardware/esp8266/<version>/tools/esptool/esptool
        let cores = h.join(".arduino15/packages/esp8266/hardware/esp8266");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&cores)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        versions.sort();
        for v in versions.iter().rev() {
            found.extend(in_package(&v.join("tools/esptool/esptool")));
        }
    }
    found
}

/// Find the ESP8266 stub. `Ok(None)`: none is installed (or `--no-stub`); an explicitly given
/// file that is not a stub is an input error.
pub fn find(search: &StubSearch) -> Result<Option<Stub>, FlashError> {
    match search {
        StubSearch::Never => Ok(None),
        StubSearch::Given(path) => load(path)
            .map(Some)
            .map_err(|reason| FlashError::Input(format!("stub {}: {reason}", path.display()))),
        StubSearch::Installed => Ok(installed()
            .into_iter()
            .filter(|p| p.is_file())
            .find_map(|p| load(&p).ok())),
    }
}

/// zlib-compressed `data`, as the stubs inflate it (esptool and espflash compress at level 9).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

/// Upload `stub` through the ROM loader and wait for its greeting.
pub(super) fn run(conn: &mut Connection, stub: &Stub) -> Result<(), FlashError> {
    for (addr, seg) in [(stub.text_start, &stub.text), (stub.data_start, &stub.data)] {
        if seg.is_empty() {
            continue;
        }
        let blocks = seg.len().div_ceil(RAM_BLOCK) as u32;
        conn.with_timeout(CommandType::MemBegin.timeout(), |c| {
            c.command(Command::MemBegin {
                size: seg.len() as u32,
                blocks,
                block_size: RAM_BLOCK as u32,
                offset: addr,
                supports_encryption: false,
            })
        })
        .map_err(step("uploading the stub (MEM_BEGIN)"))?;
        for (seq, block) in seg.chunks(RAM_BLOCK).enumerate() {
            conn.with_timeout(CommandType::MemData.timeout(), |c| {
                c.command(Command::MemData {
                    data: block,
                    pad_to: 0,
                    pad_byte: 0,
                    sequence: seq as u32,
                })
            })
            .map_err(step("uploading the stub (MEM_DATA)"))?;
        }
    }
    // The ROM answers MEM_END before it jumps, and the stub then greets: the greeting is what
    // says the stub runs. As esptool does, MEM_END's answer is awaited only briefly and not
    // required (espflash's 50 ms is less than a round trip through a loaded farm exporter); one
    // that comes late is passed over on the way to the greeting.
    let _ = conn.with_timeout(MEM_END_ROM_TIMEOUT, |c| {
        c.command(Command::MemEnd {
            no_entry: false,
            entry: stub.entry,
        })
    });
    let deadline = Instant::now() + GREETING_WAIT;
    let greeting = loop {
        let frame = conn
            .with_timeout(deadline.saturating_duration_since(Instant::now()), |c| {
                c.read_flash_response()
            })
            .map_err(step("waiting for the stub's OHAI"))?;
        match frame.map(|r| r.value) {
            Some(espflash::command::CommandResponseValue::Vector(v))
                if v.starts_with(&[1, CommandType::MemEnd as u8]) && Instant::now() < deadline => {}
            other => break other,
        }
    };
    match greeting {
        Some(espflash::command::CommandResponseValue::Vector(v)) if v == GREETING => Ok(()),
        other => Err(FlashError::Step {
            step: "waiting for the stub's OHAI",
            reason: format!(
                "the board answered {other:02x?} instead (is {} an ESP8266 stub?)",
                stub.path.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn parses_esptools_json_and_refuses_what_is_not_one() {
        let json = br#"{"entry": 1074843652, "text": "AQID", "text_start": 1074843648,
            "data": "BAU=", "data_start": 1073720488, "bss_start": 1073643776}"#;
        let s = parse(json, Path::new("x.json")).unwrap();
        assert_eq!(s.text, [1, 2, 3]);
        assert_eq!(s.data, [4, 5]);
        assert_eq!(s.entry, 0x4010_D004);
        assert_eq!(s.data_start, 0x3FFF_ACA8);
        let e = parse(
            b"{\"text\": \"!!\", \"text_start\": 0, \"entry\": 0}",
            Path::new("x"),
        )
        .unwrap_err();
        assert!(e.contains("base64"), "{e}");
        let e = parse(b"[]", Path::new("x")).unwrap_err();
        assert!(e.contains("not an esptool stub JSON"), "{e}");
    }

    #[test]
    fn the_interpreter_comes_from_the_shebang() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("esptool");
        std::fs::write(&s, "#!/opt/venv/bin/python3 -E\nimport esptool\n").unwrap();
        assert_eq!(shebang(&s).unwrap(), ["/opt/venv/bin/python3", "-E"]);
        std::fs::write(&s, b"\x7fELF").unwrap();
        assert_eq!(shebang(&s), None);
    }
}
