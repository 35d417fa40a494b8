//! Which images a project's build wants on the flash, and where: `--firmware [ADDR=]FILE` as
//! esptool's `write-flash ADDR FILE` takes them, or, with none given, the build found in a
//! PlatformIO, ESP-IDF or arduino-cli project. Pure apart from reading the project's directory;
//! the CLI prints the plan and flashes it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::rom::Chip;

/// The first byte of every ESP8266/ESP32 image (esptool's `ESP_IMAGE_MAGIC`).
pub const IMAGE_MAGIC: u8 = 0xE9;
/// The first two bytes of an ESP-IDF partition table entry.
pub const PARTITION_MAGIC: [u8; 2] = [0xAA, 0x50];
/// Flash is erased in 4 KiB sectors: an image must start on one.
pub const SECTOR: u32 = 0x1000;
/// Where PlatformIO and the Arduino-ESP32 core put the partition table, `boot_app0.bin` and the app.
pub const PIO_PARTITIONS: u32 = 0x8000;
pub const PIO_BOOT_APP0: u32 = 0xE000;
pub const PIO_APP: u32 = 0x10000;

/// What an image is for; it decides which content check applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Bootloader,
    PartitionTable,
    /// OTA data (`boot_app0.bin`, `ota_data_initial.bin`): no magic of its own.
    OtaData,
    App,
    /// Named on the command line: an ESP image or a partition table.
    Given,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Bootloader => "bootloader",
            Role::PartitionTable => "partition table",
            Role::OtaData => "OTA data",
            Role::App => "app",
            Role::Given => "image",
        }
    }
}

/// One file to write at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// `None`: the chip's usual app offset (a single `--firmware FILE` only).
    pub addr: Option<u32>,
    pub path: PathBuf,
    pub role: Role,
}

/// What was found (or given) and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// "PlatformIO env esp12e", "ESP-IDF", "arduino-cli esp32.esp32.esp32", "--firmware".
    pub source: String,
    pub images: Vec<Planned>,
    /// The chip the build is for, when the build says so.
    pub chip: Option<Chip>,
    /// Flash settings the build records (ESP-IDF's `flash_settings`), shown to the user.
    pub settings: Option<String>,
}

impl Plan {
    /// One line per image: `0x1000  bootloader  build/bootloader/bootloader.bin`.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!("firmware from {}:", self.source)];
        for i in &self.images {
            let at = i
                .addr
                .map_or("app offset".to_owned(), |a| format!("{a:#x}"));
            lines.push(format!(
                "  {at:>10}  {:<15}  {}",
                i.role.name(),
                i.path.display()
            ));
        }
        if let Some(s) = &self.settings {
            lines.push(format!("  flash settings: {s}"));
        }
        lines
    }
}

/// A plan that cannot be carried out as given (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectError {
    BadArg(String),
    NotFound(PathBuf),
    Ambiguous {
        what: String,
        candidates: Vec<String>,
    },
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    NotAnImage {
        path: PathBuf,
        first: Option<u8>,
    },
    Unaligned {
        path: PathBuf,
        addr: u32,
    },
    Overlap {
        a: PathBuf,
        b: PathBuf,
        at: u32,
    },
    NeedsAddr(PathBuf),
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectError::BadArg(m) => f.write_str(m),
            ProjectError::NotFound(dir) => write!(
                f,
                "no build found in {}: no .pio/build/*/firmware.bin, build/flasher_args.json, \
                 build/<fqbn>/*.ino.bin or target/<esp triple>/{{debug,release}}/<bin>; build \
                 first or give --firmware [ADDR=]FILE",
                dir.display()
            ),
            ProjectError::Ambiguous { what, candidates } => {
                write!(f, "{what}: {}", candidates.join(", "))
            }
            ProjectError::Unreadable { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
            ProjectError::NotAnImage { path, first } => write!(
                f,
                "{} is not an ESP image (first byte {}, not 0xe9); --force writes it anyway",
                path.display(),
                first.map_or("none: empty file".to_owned(), |b| format!("{b:#04x}"))
            ),
            ProjectError::Unaligned { path, addr } => write!(
                f,
                "{} at {addr:#x} does not start on a 4 KiB sector (try {:#x}); --force writes it \
                 anyway",
                path.display(),
                addr & !(SECTOR - 1)
            ),
            ProjectError::Overlap { a, b, at } => {
                write!(f, "{} and {} overlap at {at:#x}", a.display(), b.display())
            }
            ProjectError::NeedsAddr(p) => write!(
                f,
                "{}: with several --firmware images each needs its address (ADDR=FILE, e.g. \
                 0x10000={})",
                p.display(),
                p.display()
            ),
        }
    }
}

impl std::error::Error for ProjectError {}

impl From<ProjectError> for crate::Error {
    fn from(e: ProjectError) -> Self {
        crate::Error::Usage(format!("flash: {e}"))
    }
}

/// Parse a flash address: `0x10000`, `65536`.
pub fn parse_addr(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("invalid address `{text}` (try 0x10000)"))
}

/// One `--firmware` value: `FILE` or `ADDR=FILE`. A prefix that is not an address is part of the
/// file name.
pub fn parse_firmware(text: &str) -> Result<(Option<u32>, PathBuf), String> {
    if text.is_empty() {
        return Err("empty --firmware (give FILE or ADDR=FILE)".to_owned());
    }
    if let Some((a, file)) = text.split_once('=') {
        let looks_numeric = a.starts_with("0x") || a.starts_with("0X") || a.parse::<u64>().is_ok();
        if looks_numeric {
            let addr = parse_addr(a)?;
            if file.is_empty() {
                return Err(format!("`{text}` names no file after `=`"));
            }
            return Ok((Some(addr), PathBuf::from(file)));
        }
    }
    Ok((None, PathBuf::from(text)))
}

/// The plan for images named on the command line.
pub fn from_args(given: &[(Option<u32>, PathBuf)]) -> Result<Plan, ProjectError> {
    if given.len() > 1
        && let Some((_, p)) = given.iter().find(|(a, _)| a.is_none())
    {
        return Err(ProjectError::NeedsAddr(p.clone()));
    }
    Ok(Plan {
        source: "--firmware".to_owned(),
        images: given
            .iter()
            .map(|(addr, path)| Planned {
                addr: *addr,
                path: path.clone(),
                role: Role::Given,
            })
            .collect(),
        chip: None,
        settings: None,
    })
}

/// Check the loaded images: ESP magic where an image is expected, 4 KiB alignment (both waived by
/// `force`), and no two images on the same bytes (never waived). `images` pairs each planned
/// image with its content; addresses must be resolved.
pub fn check(images: &[(u32, &Path, Role, &[u8])], force: bool) -> Result<(), ProjectError> {
    for &(addr, path, role, data) in images {
        if !force {
            let ok = match role {
                Role::Bootloader | Role::App => data.first() == Some(&IMAGE_MAGIC),
                Role::Given => {
                    data.first() == Some(&IMAGE_MAGIC) || data.starts_with(&PARTITION_MAGIC)
                }
                Role::PartitionTable | Role::OtaData => !data.is_empty(),
            };
            if !ok {
                return Err(ProjectError::NotAnImage {
                    path: path.to_owned(),
                    first: data.first().copied(),
                });
            }
            if !addr.is_multiple_of(SECTOR) {
                return Err(ProjectError::Unaligned {
                    path: path.to_owned(),
                    addr,
                });
            }
        }
    }
    let mut spans: Vec<(u64, u64, &Path)> = images
        .iter()
        .map(|&(a, p, _, d)| (u64::from(a), u64::from(a) + d.len() as u64, p))
        .collect();
    spans.sort_by_key(|s| s.0);
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(ProjectError::Overlap {
                a: w[0].2.to_owned(),
                b: w[1].2.to_owned(),
                at: w[1].0 as u32,
            });
        }
    }
    Ok(())
}

/// Where a framework's `boot_app0.bin` may live (found by the caller from the environment).
#[derive(Debug, Clone, Default)]
pub struct Frameworks {
    /// Candidate `boot_app0.bin` files, first existing one wins.
    pub boot_app0: Vec<PathBuf>,
}

/// Find the build in `dir`: PlatformIO, ESP-IDF or arduino-cli. `env` picks a PlatformIO env;
/// `chip` (from `--chip` or espcheck.toml) sets the bootloader offset where the build does not.
pub fn discover(
    dir: &Path,
    env: Option<&str>,
    chip: Option<Chip>,
    fw: &Frameworks,
) -> Result<Plan, ProjectError> {
    let mut found = Vec::new();
    if (dir.join("platformio.ini").is_file() || dir.join(".pio/build").is_dir())
        && let Some(p) = platformio(dir, env, chip, fw)?
    {
        found.push(p);
    }
    if let Some(p) = esp_idf(dir)? {
        found.push(p);
    }
    if let Some(p) = arduino_cli(dir, chip)? {
        found.push(p);
    }
    if dir.join("Cargo.toml").is_file()
        && let Some(p) = cargo(dir, chip)?
    {
        found.push(p);
    }
    match found.len() {
        0 => Err(ProjectError::NotFound(dir.to_owned())),
        1 => Ok(found.remove(0)),
        _ => Err(ProjectError::Ambiguous {
            what: format!(
                "several builds in {}; pick one with --firmware",
                dir.display()
            ),
            candidates: found.into_iter().map(|p| p.source).collect(),
        }),
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn platformio(
    dir: &Path,
    env: Option<&str>,
    chip: Option<Chip>,
    fw: &Frameworks,
) -> Result<Option<Plan>, ProjectError> {
    let built: Vec<PathBuf> = sorted_dirs(&dir.join(".pio/build"))
        .into_iter()
        .filter(|d| d.join("firmware.bin").is_file())
        .collect();
    let names: Vec<String> = built.iter().map(|d| file_name(d)).collect();
    let build = match env {
        Some(e) => match built.iter().find(|d| file_name(d) == e) {
            Some(d) => d.clone(),
            None => {
                return Err(ProjectError::Ambiguous {
                    what: format!("PlatformIO env `{e}` has no firmware.bin; built envs"),
                    candidates: if names.is_empty() {
                        vec!["none (run `pio run`)".to_owned()]
                    } else {
                        names
                    },
                });
            }
        },
        None => match built.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            _ => {
                return Err(ProjectError::Ambiguous {
                    what: "several PlatformIO envs are built; pick one with --env".to_owned(),
                    candidates: names,
                });
            }
        },
    };
    let env_name = file_name(&build);
    let app = build.join("firmware.bin");
    let boot = build.join("bootloader.bin");
    let parts = build.join("partitions.bin");
    let mut images = Vec::new();
    // An ESP32 build leaves its bootloader and partition table beside firmware.bin.
    let esp32 = parts.is_file() || chip == Some(Chip::Esp32);
    if esp32 {
        let chip = chip.unwrap_or(Chip::Esp32);
        if boot.is_file() {
            images.push(planned(chip.boot_offset(), boot, Role::Bootloader));
        }
        if parts.is_file() {
            images.push(planned(PIO_PARTITIONS, parts, Role::PartitionTable));
        }
        if let Some(b) = fw.boot_app0.iter().find(|p| p.is_file()) {
            images.push(planned(PIO_BOOT_APP0, b.clone(), Role::OtaData));
        }
        images.push(planned(PIO_APP, app, Role::App));
    } else {
        images.push(planned(0, app, Role::App));
    }
    Ok(Some(Plan {
        source: format!("PlatformIO env {env_name}"),
        images,
        chip: Some(if esp32 { Chip::Esp32 } else { Chip::Esp8266 }),
        settings: None,
    }))
}

fn planned(addr: u32, path: PathBuf, role: Role) -> Planned {
    Planned {
        addr: Some(addr),
        path,
        role,
    }
}

/// The part of ESP-IDF's `build/flasher_args.json` espcheck reads.
#[derive(serde::Deserialize)]
struct FlasherArgs {
    flash_files: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    flash_settings: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    extra_esptool_args: ExtraArgs,
}

#[derive(serde::Deserialize, Default)]
struct ExtraArgs {
    #[serde(default)]
    chip: Option<String>,
}

fn esp_idf(dir: &Path) -> Result<Option<Plan>, ProjectError> {
    let path = dir.join("build/flasher_args.json");
    if !path.is_file() {
        return Ok(None);
    }
    let unreadable = |reason: String| ProjectError::Unreadable {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
    let args: FlasherArgs = serde_json::from_str(&text)
        .map_err(|e| unreadable(format!("not ESP-IDF's flasher_args.json: {e}")))?;
    let build = dir.join("build");
    let mut images = Vec::new();
    for (addr, file) in &args.flash_files {
        let a = parse_addr(addr).map_err(|e| unreadable(format!("flash_files: {e}")))?;
        let role = if file.contains("bootloader") {
            Role::Bootloader
        } else if file.contains("partition") {
            Role::PartitionTable
        } else if file.contains("ota_data") {
            Role::OtaData
        } else {
            Role::App
        };
        images.push(planned(a, build.join(file), role));
    }
    images.sort_by_key(|i| i.addr);
    let settings = ["flash_mode", "flash_freq", "flash_size"]
        .iter()
        .filter_map(|k| args.flash_settings.get(*k).map(|v| format!("{k} {v}")))
        .collect::<Vec<_>>();
    let chip = match args.extra_esptool_args.chip.as_deref() {
        Some("esp8266") => Some(Chip::Esp8266),
        Some("esp32") => Some(Chip::Esp32),
        _ => None,
    };
    Ok(Some(Plan {
        source: "ESP-IDF (build/flasher_args.json)".to_owned(),
        images,
        chip,
        settings: (!settings.is_empty()).then(|| settings.join(", ")),
    }))
}

fn arduino_cli(dir: &Path, chip: Option<Chip>) -> Result<Option<Plan>, ProjectError> {
    let mut apps = Vec::new();
    for fqbn in sorted_dirs(&dir.join("build")) {
        let Ok(rd) = std::fs::read_dir(&fqbn) else {
            continue;
        };
        let mut here: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = file_name(p);
                n.ends_with(".ino.bin") && !n.ends_with(".merged.bin")
            })
            .collect();
        here.sort();
        apps.extend(here.into_iter().map(|p| (file_name(&fqbn), p)));
    }
    let (fqbn, app) = match apps.len() {
        0 => return Ok(None),
        1 => apps.remove(0),
        _ => {
            return Err(ProjectError::Ambiguous {
                what: "several arduino-cli builds; pick one with --firmware".to_owned(),
                candidates: apps
                    .iter()
                    .map(|(_, p)| p.strip_prefix(dir).unwrap_or(p).display().to_string())
                    .collect(),
            });
        }
    };
    let stem = file_name(&app);
    let stem = stem.trim_end_matches(".bin");
    let boot = app.with_file_name(format!("{stem}.bootloader.bin"));
    let parts = app.with_file_name(format!("{stem}.partitions.bin"));
    let esp8266 = fqbn.starts_with("esp8266.") || chip == Some(Chip::Esp8266);
    let mut images = Vec::new();
    let chip = if esp8266 {
        images.push(planned(0, app, Role::App));
        Chip::Esp8266
    } else {
        let c = chip.unwrap_or(Chip::Esp32);
        if boot.is_file() {
            images.push(planned(c.boot_offset(), boot, Role::Bootloader));
        }
        if parts.is_file() {
            images.push(planned(PIO_PARTITIONS, parts, Role::PartitionTable));
        }
        images.push(planned(PIO_APP, app, Role::App));
        c
    };
    Ok(Some(Plan {
        source: format!("arduino-cli {fqbn}"),
        images,
        chip: Some(chip),
        settings: None,
    }))
}

/// The binaries a cargo project builds: `[package] name` and every `[[bin]] name`.
fn cargo_bins(dir: &Path) -> Result<Vec<String>, ProjectError> {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| ProjectError::Unreadable {
        path: path.clone(),
        reason: crate::util::io_reason(&e),
    })?;
    let doc: toml::Table = toml::from_str(&text).map_err(|e| ProjectError::Unreadable {
        path: path.clone(),
        reason: format!("not TOML ({})", e.message()),
    })?;
    let mut names = Vec::new();
    if let Some(bins) = doc.get("bin").and_then(|b| b.as_array()) {
        names.extend(
            bins.iter()
                .filter_map(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_owned)),
        );
    }
    if let Some(n) = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
    {
        names.push(n.to_owned());
    }
    Ok(names)
}

/// The chip a target triple builds for: Espressif's Xtensa and RISC-V triples (esp-hal's
/// `xtensa-esp32-none-elf`, `riscv32imc-unknown-none-elf`, esp-idf-svc's `*-espidf`).
fn triple_chip(triple: &str) -> Option<Chip> {
    if triple.starts_with("xtensa-esp8266") {
        Some(Chip::Esp8266)
    } else if triple.starts_with("xtensa-esp32")
        || (triple.starts_with("riscv32")
            && (triple.contains("esp") || triple.ends_with("-none-elf")))
    {
        Some(Chip::Esp32)
    } else {
        None
    }
}

/// cargo (esp-hal, esp-idf-svc): the ELF of the package's binary under
/// `target/<triple>/{debug,release}/`. espflash (ESP32 family) or [`super::esp8266_image`]
/// (ESP8266) turns it into images.
fn cargo(dir: &Path, chip: Option<Chip>) -> Result<Option<Plan>, ProjectError> {
    let bins = cargo_bins(dir)?;
    let mut found = Vec::new();
    for triple_dir in sorted_dirs(&dir.join("target")) {
        let triple = file_name(&triple_dir);
        let Some(build_chip) = triple_chip(&triple) else {
            continue;
        };
        for profile in ["debug", "release"] {
            for bin in &bins {
                let elf = triple_dir.join(profile).join(bin);
                let is_elf = std::fs::File::open(&elf).ok().and_then(|mut f| {
                    use std::io::Read;
                    let mut magic = [0u8; 4];
                    f.read_exact(&mut magic).ok().map(|()| magic == *b"\x7fELF")
                });
                if is_elf == Some(true) {
                    found.push((triple.clone(), build_chip, elf));
                }
            }
        }
    }
    let (triple, build_chip, elf) = match found.len() {
        0 => return Ok(None),
        1 => found.remove(0),
        _ => {
            return Err(ProjectError::Ambiguous {
                what: "several cargo builds; pick one with --firmware".to_owned(),
                candidates: found
                    .iter()
                    .map(|(_, _, p)| p.strip_prefix(dir).unwrap_or(p).display().to_string())
                    .collect(),
            });
        }
    };
    Ok(Some(Plan {
        source: format!("cargo {triple}"),
        images: vec![Planned {
            addr: None,
            path: elf,
            role: Role::App,
        }],
        chip: Some(chip.unwrap_or(build_chip)),
        settings: None,
    }))
}

#[cfg(test)]
#[path = "project_tests.rs"]
mod tests;
