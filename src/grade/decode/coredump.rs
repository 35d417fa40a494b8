//! ESP-IDF core dumps as users meet them: the base64 block the panic handler prints over UART
//! (`CORE DUMP START` … `CORE DUMP END`), and a file holding that text, the raw image read from
//! the `coredump` partition, or the bare ELF core. The image is a small header (length, version
//! with the chip, a chip revision), an ELF core file, and a CRC32 or SHA-256 over both; the ELF
//! core holds one `NT_PRSTATUS` note per task (its registers, the TCB as the pid), ESP-IDF's own
//! notes (the app ELF's SHA-256, the crashed task, the panic reason) and `PT_LOAD` segments (each
//! task's TCB and stack). Pure: bytes in, a [`CoreDump`] or a [`CoreDumpError`] out.
//!
//! Only the ELF formats (core dump versions 1.x: ESP-IDF 4.1 and later) are read; the older
//! binary format is refused by name rather than guessed at.

use std::collections::BTreeMap;

use base64::Engine as _;
use object::elf::{ET_CORE, PT_LOAD, PT_NOTE};
use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
use sha2::{Digest, Sha256};

use super::Arch;

/// What the line that opens the UART block holds (`================= CORE DUMP START
/// =================`, after any log prefix). `espcoredump.py`'s decoded report opens with
/// `==== ESP32 CORE DUMP START ====` instead: text, not base64, and not matched.
pub const START: &str = "= CORE DUMP START =";
/// What the line that closes it holds.
pub const END: &str = "= CORE DUMP END =";

/// The largest image read: ESP-IDF's coredump partitions are 64 KiB by default, a few MiB at most.
const IMAGE_LIMIT: usize = 16 * 1024 * 1024;

/// ESP-IDF's note types (`esp_core_dump_elf.c`).
const NT_PRSTATUS: u32 = 1;
const NT_ESP_INFO: u32 = 8266;
const NT_ESP_EXTRA_INFO: u32 = 677;
const NT_ESP_TASK_INFO: u32 = 678;
const NT_ESP_PANIC_DETAILS: u32 = 679;
/// Xtensa's special register numbers of EXCCAUSE and EXCVADDR.
const XT_EXCCAUSE: u32 = 232;
const XT_EXCVADDR: u32 = 238;
/// The extra-info note's stand-in for a crashed task that was not dumped.
const SKIPPED_TASK: u32 = 0xdead_beef;
/// Where the registers start in a FreeRTOS `NT_PRSTATUS` note, and where the TCB (the pid) is.
const PRSTATUS_PID: usize = 24;
const PRSTATUS_REGS: usize = 72;
/// Where `pcTaskName` lies in a FreeRTOS TCB (after `pxTopOfStack`, two list items, the
/// priority and `pxStack`), and its length (`configMAX_TASK_NAME_LEN`).
const TCB_NAME: u64 = 52;
const TASK_NAME_LEN: usize = 16;

/// Why a core dump could not be read, one sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreDumpError {
    #[error("the core dump block is empty")]
    Empty,
    #[error("line {line} of the core dump block is not base64 (damaged in transit?)")]
    Base64 { line: usize },
    #[error("the core dump is cut short: its header says {need} bytes, {have} arrived")]
    Truncated { have: usize, need: usize },
    #[error("the core dump's header length {0} is impossible (a damaged first line?)")]
    BadLength(usize),
    #[error(
        "the core dump is in the binary format of ESP-IDF before 4.1 (header word {0}), which \
         espcheck does not read: decode it with `espcoredump.py`, or build with \
         CONFIG_ESP_COREDUMP_DATA_FORMAT_ELF"
    )]
    Binary(String),
    #[error("core dump format {0} is not one espcheck knows (ELF formats 1.0 to 1.4 are)")]
    Version(String),
    #[error("the core dump's {kind} is {got}, but its content hashes to {want}: it is damaged")]
    Checksum {
        kind: &'static str,
        got: String,
        want: String,
    },
    #[error("the ELF core inside the dump is unreadable: {0}")]
    Elf(String),
    #[error(
        "not a core dump: neither a `CORE DUMP START` block, base64 text, a coredump \
         partition image nor an ELF core"
    )]
    NotRecognised,
}

/// One task of a core dump: its TCB, name and registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedTask {
    pub tcb: u64,
    /// `pcTaskName`, when the TCB was dumped and holds a readable name.
    pub name: Option<String>,
    /// As the `NT_PRSTATUS` note has them: on RISC-V the PC (MEPC) then x1..x31.
    pub regs: Vec<u32>,
}

/// A read core dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreDump {
    /// `ELF, CRC32 (1.2)` and the like; `ELF core` for a bare ELF core.
    pub format: String,
    /// The chip as espflash and ESP-IDF name it (`esp32c3`), when the header says.
    pub chip: Option<&'static str>,
    /// The chip revision the header records (ESP-IDF's `major * 100 + minor`).
    pub chip_rev: Option<u32>,
    pub arch: Arch,
    /// The start of the app ELF's SHA-256 the firmware recorded, lower-case hex.
    pub app_sha256: Option<String>,
    /// The crashed task's TCB, as the extra-info note names it.
    pub crashed_tcb: Option<u64>,
    /// Whether the crash happened in an interrupt handler (RISC-V extra info).
    pub in_isr: Option<bool>,
    /// `abort() was called at PC 0x42009351 on core 0` and the like.
    pub panic_reason: Option<String>,
    /// Xtensa's EXCCAUSE and EXCVADDR as the extra-info note recorded them (the CPU's last
    /// exception: stale when the panic was an abort).
    pub exccause: Option<u32>,
    pub excvaddr: Option<u64>,
    pub tasks: Vec<DumpedTask>,
    /// Every dumped word (TCBs and stacks) by address.
    pub memory: BTreeMap<u64, u32>,
}

impl CoreDump {
    /// The dump of a UART block: the base64 lines between `CORE DUMP START` and `CORE DUMP END`
    /// (each line is encoded on its own, as ESP-IDF prints it).
    pub fn from_base64_lines<'l>(
        lines: impl IntoIterator<Item = &'l str>,
    ) -> Result<Self, CoreDumpError> {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut image = Vec::new();
        for (i, line) in lines.into_iter().enumerate() {
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let bytes = engine
                .decode(text)
                .map_err(|_| CoreDumpError::Base64 { line: i + 1 })?;
            image.extend_from_slice(&bytes);
            if image.len() > IMAGE_LIMIT {
                return Err(CoreDumpError::BadLength(image.len()));
            }
        }
        if image.is_empty() {
            return Err(CoreDumpError::Empty);
        }
        Self::from_image(&image)
    }

    /// The dump in a file: an ELF core, a partition image (header, ELF core, checksum), a log
    /// with a `CORE DUMP START` block, or the block's base64 lines alone.
    pub fn from_file(bytes: &[u8]) -> Result<Self, CoreDumpError> {
        if bytes.starts_with(b"\x7fELF") {
            return Self::from_elf(bytes, "ELF core".to_owned(), None);
        }
        if let Some(v) = bytes.get(4..8)
            && known_version(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
        {
            return Self::from_image(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| CoreDumpError::NotRecognised)?;
        let lines: Vec<&str> = text.lines().collect();
        match lines.iter().position(|l| l.contains(START)) {
            Some(start) => {
                let rest = &lines[start + 1..];
                let end = rest.iter().position(|l| l.contains(END));
                let block = rest[..end.unwrap_or(rest.len())].iter();
                Self::from_base64_lines(block.map(|l| base64_part(l)))
            }
            // The block's lines alone: each one base64 word, or this is not a dump.
            None => {
                let bare = lines.iter().all(|l| {
                    l.trim()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                });
                match Self::from_base64_lines(lines.iter().copied()) {
                    Err(CoreDumpError::Base64 { .. } | CoreDumpError::Empty) => {
                        Err(CoreDumpError::NotRecognised)
                    }
                    read if bare => read,
                    _ => Err(CoreDumpError::NotRecognised),
                }
            }
        }
    }

    /// The dump of a partition image: header, ELF core, checksum.
    pub fn from_image(image: &[u8]) -> Result<Self, CoreDumpError> {
        let word = |at: usize| {
            image
                .get(at..at + 4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        };
        let (Some(total), Some(version)) = (word(0), word(4)) else {
            return Err(CoreDumpError::Truncated {
                have: image.len(),
                need: 8,
            });
        };
        let total = total as usize;
        let chip = (version >> 16) as u16;
        let (major, minor) = ((version >> 8) & 0xff, version & 0xff);
        let shown = format!("{major}.{minor}");
        // (header length, SHA-256 rather than CRC32, whether the header records the revision)
        let (header, sha, rev_at) = match (major, minor) {
            (0, _) => return Err(CoreDumpError::Binary(format!("0x{version:08x}"))),
            (1, 0) => (20, false, None),
            (1, 1) => (20, true, None),
            (1, 2) => (24, false, Some(20)),
            (1, 3) => (24, true, Some(20)),
            (1, 4) => (12, true, Some(8)),
            _ => return Err(CoreDumpError::Version(shown)),
        };
        let sum_len = if sha { 32 } else { 4 };
        if total < header + sum_len || total > IMAGE_LIMIT {
            return Err(CoreDumpError::BadLength(total));
        }
        if image.len() < total {
            return Err(CoreDumpError::Truncated {
                have: image.len(),
                need: total,
            });
        }
        let (covered, sum) = image[..total].split_at(total - sum_len);
        let kind = if sha { "SHA-256" } else { "CRC32" };
        let want = if sha {
            hex::encode(Sha256::digest(covered))
        } else {
            format!("{:08x}", crc32fast::hash(covered))
        };
        let got = if sha {
            hex::encode(sum)
        } else {
            format!(
                "{:08x}",
                u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]])
            )
        };
        if want != got {
            return Err(CoreDumpError::Checksum { kind, got, want });
        }
        let mut dump = Self::from_elf(
            &covered[header..],
            format!("ELF, {kind} ({shown})"),
            Some(chip),
        )?;
        dump.chip_rev = rev_at.and_then(word);
        Ok(dump)
    }

    /// The dump of a bare ELF core; `format` and the header's chip id as the caller knows them.
    fn from_elf(data: &[u8], format: String, chip: Option<u16>) -> Result<Self, CoreDumpError> {
        let elf = |e: object::Error| CoreDumpError::Elf(e.to_string());
        let file = ElfFile32::<object::Endianness>::parse(data).map_err(elf)?;
        let endian = file.endian();
        let header = file.elf_header();
        if header.e_type(endian) != ET_CORE {
            return Err(CoreDumpError::Elf(
                "an ELF file but not a core (give the dump, not the app's ELF)".to_owned(),
            ));
        }
        let arch = match header.e_machine(endian) {
            object::elf::EM_XTENSA => Arch::Xtensa,
            object::elf::EM_RISCV => Arch::RiscV,
            _ => Arch::Other,
        };
        let mut dump = CoreDump {
            format,
            chip: chip.and_then(chip_name),
            chip_rev: None,
            arch,
            app_sha256: None,
            crashed_tcb: None,
            in_isr: None,
            panic_reason: None,
            exccause: None,
            excvaddr: None,
            tasks: Vec::new(),
            memory: BTreeMap::new(),
        };
        let mut names = BTreeMap::new();
        for ph in file.elf_program_headers() {
            match ph.p_type(endian) {
                PT_LOAD => {
                    let bytes = ph.data(endian, data).map_err(|()| {
                        CoreDumpError::Elf("a memory segment lies outside the file".to_owned())
                    })?;
                    let start = u64::from(ph.p_vaddr(endian));
                    for (i, w) in bytes.chunks_exact(4).enumerate() {
                        let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                        dump.memory.insert(start + 4 * i as u64, w);
                    }
                }
                PT_NOTE => {
                    let Some(mut notes) = ph.notes(endian, data).map_err(elf)? else {
                        continue;
                    };
                    while let Some(note) = notes.next().map_err(elf)? {
                        dump.note(note.n_type(endian).0, note.desc(), &mut names);
                    }
                }
                _ => {}
            }
        }
        for task in &mut dump.tasks {
            task.name = names
                .get(&task.tcb)
                .cloned()
                .or_else(|| task_name(&dump.memory, task.tcb));
        }
        Ok(dump)
    }

    fn note(&mut self, kind: u32, desc: &[u8], names: &mut BTreeMap<u64, String>) {
        let words: Vec<u32> = desc
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        match kind {
            NT_PRSTATUS if desc.len() > PRSTATUS_REGS => {
                let tcb = words.get(PRSTATUS_PID / 4).copied().unwrap_or_default();
                let count = if self.arch == Arch::RiscV {
                    32
                } else {
                    words.len()
                };
                let regs = words
                    .iter()
                    .skip(PRSTATUS_REGS / 4)
                    .take(count)
                    .copied()
                    .collect();
                self.tasks.push(DumpedTask {
                    tcb: u64::from(tcb),
                    name: None,
                    regs,
                });
            }
            NT_ESP_INFO => {
                // The dump version, then the app ELF's SHA-256 as hex text, NUL-padded (only
                // its start is kept: CONFIG_APP_RETRIEVE_LEN_ELF_SHA).
                let sha: String = desc
                    .get(4..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .map(|&b| char::from(b).to_ascii_lowercase())
                    .collect();
                self.app_sha256 = (!sha.is_empty()).then_some(sha);
            }
            NT_ESP_EXTRA_INFO => {
                self.crashed_tcb = words
                    .first()
                    .filter(|&&t| t != SKIPPED_TASK)
                    .map(|&t| u64::from(t));
                match self.arch {
                    Arch::RiscV => self.in_isr = words.get(1).map(|&w| w != 0),
                    // (special register number, value) pairs after the TCB.
                    Arch::Xtensa => {
                        for pair in words.get(1..).unwrap_or_default().chunks_exact(2) {
                            match pair[0] {
                                XT_EXCCAUSE => self.exccause = Some(pair[1]),
                                XT_EXCVADDR => self.excvaddr = Some(u64::from(pair[1])),
                                _ => {}
                            }
                        }
                    }
                    Arch::Other => {}
                }
            }
            NT_ESP_PANIC_DETAILS => {
                let text = String::from_utf8_lossy(desc);
                let text = text.trim_end_matches('\0').trim();
                self.panic_reason = (!text.is_empty()).then(|| text.to_owned());
            }
            // index, flags, TCB, stack start, stack length, name[16]
            NT_ESP_TASK_INFO if desc.len() >= 36 => {
                if let (Some(&tcb), Some(name)) = (words.get(2), printable(&desc[20..36])) {
                    names.insert(u64::from(tcb), name);
                }
            }
            _ => {}
        }
    }

    /// The crashed task first, then the others in the dump's order.
    pub fn tasks_crashed_first(&self) -> Vec<&DumpedTask> {
        let mut tasks: Vec<&DumpedTask> = self.tasks.iter().collect();
        tasks.sort_by_key(|t| Some(t.tcb) != self.crashed_tcb);
        tasks
    }
}

/// What follows the log's prefix on a block line: the last whitespace-separated word (a monitor's
/// timestamp or a `[core]` tag before the base64 goes).
fn base64_part(line: &str) -> &str {
    line.split_whitespace().last().unwrap_or("")
}

fn known_version(version: u32) -> bool {
    let dump_ver = version & 0xffff;
    chip_name((version >> 16) as u16).is_some()
        && matches!(dump_ver, 0x0001..=0x0003 | 0x0100..=0x0104)
}

/// ESP-IDF's chip ids (`esp_chip_model_t`).
fn chip_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "esp32",
        2 => "esp32s2",
        5 => "esp32c3",
        9 => "esp32s3",
        12 => "esp32c2",
        13 => "esp32c6",
        16 => "esp32h2",
        18 => "esp32p4",
        20 => "esp32c61",
        23 => "esp32c5",
        25 => "esp32h21",
        28 => "esp32h4",
        32 => "esp32s31",
        _ => return None,
    })
}

/// `pcTaskName` of the TCB at `tcb`, when its words were dumped and hold a readable name.
fn task_name(memory: &BTreeMap<u64, u32>, tcb: u64) -> Option<String> {
    let mut bytes = Vec::with_capacity(TASK_NAME_LEN);
    for i in 0..(TASK_NAME_LEN as u64 / 4) {
        bytes.extend_from_slice(&memory.get(&(tcb + TCB_NAME + 4 * i))?.to_le_bytes());
    }
    printable(&bytes)
}

/// A NUL-terminated name of printable ASCII, not empty.
fn printable(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let name = &bytes[..end];
    (!name.is_empty() && name.iter().all(|b| b.is_ascii_graphic() || *b == b' '))
        .then(|| String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn refuses_the_binary_format_and_unknown_versions() {
        let mut image = vec![0u8; 64];
        image[0] = 64;
        image[4..8].copy_from_slice(&0x0005_0002u32.to_le_bytes());
        assert!(matches!(
            CoreDump::from_image(&image),
            Err(CoreDumpError::Binary(v)) if v == "0x00050002"
        ));
        image[4..8].copy_from_slice(&0x0005_0109u32.to_le_bytes());
        assert!(matches!(
            CoreDump::from_image(&image),
            Err(CoreDumpError::Version(v)) if v == "1.9"
        ));
    }

    #[test]
    fn empty_and_non_base64_blocks() {
        assert_eq!(
            CoreDump::from_base64_lines(["", "  "]),
            Err(CoreDumpError::Empty)
        );
        assert_eq!(
            CoreDump::from_base64_lines(["mAwAAAIBBQAA", "not base64!"]),
            Err(CoreDumpError::Base64 { line: 2 })
        );
        assert_eq!(
            CoreDump::from_file(b"just a log line\n"),
            Err(CoreDumpError::NotRecognised)
        );
    }
}
