//! Is `--elf` the build that crashed? ESP-IDF's app description holds the SHA-256 of the ELF
//! file (esptool writes it into the image when it converts the ELF), and the boot log and the
//! panic handler print its start: `I (45) app_init: ELF file SHA256:  6f83a6c8f…`. The monitor
//! (esp-idf-monitor) compares that prefix with the SHA-256 of the ELF it was given; so do we, and
//! we also compare the ELF's architecture with the crash's (RISC-V dumps print MEPC, Xtensa ones
//! PC/EXCVADDR, epc1 or `Backtrace:` pairs).

use super::Symbols;
use crate::grade::model::Crash;

/// The architectures a crash dump can come from, as far as decoding cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Xtensa,
    RiscV,
    /// Anything else (a host ELF): not checked against the dump.
    Other,
}

impl Arch {
    pub(super) fn of(a: object::Architecture) -> Self {
        match a {
            object::Architecture::Xtensa => Arch::Xtensa,
            object::Architecture::Riscv32 | object::Architecture::Riscv64 => Arch::RiscV,
            _ => Arch::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Arch::Xtensa => "Xtensa",
            Arch::RiscV => "RISC-V",
            Arch::Other => "another architecture",
        }
    }

    /// What the dump's registers say.
    fn of_crash(crash: &Crash) -> Option<Self> {
        let lines = || std::iter::once(&crash.headline).chain(&crash.block);
        if lines().any(|l| l.contains("MEPC") && l.contains(':')) {
            return Some(Arch::RiscV);
        }
        let xtensa = lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("Backtrace:") && t.contains(":0x")
                || t.starts_with("PC      :")
                || t.starts_with("epc1=")
        });
        xtensa.then_some(Arch::Xtensa)
    }
}

/// The hex digits after `ELF file SHA256:` on a log line (at least 8, lower case).
pub fn logged_elf_sha256(text: &str) -> Option<String> {
    let i = text.find("ELF file SHA256:")?;
    let digits: String = text[i + "ELF file SHA256:".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    (digits.len() >= 8).then(|| digits.to_ascii_lowercase())
}

/// What disagrees between the crash and the ELF, one sentence each; empty when nothing does
/// (or nothing can be compared).
pub(super) fn check(crash: &Crash, symbols: &Symbols<'_>) -> Vec<String> {
    let logged = crash
        .elf_sha256
        .clone()
        .or_else(|| crash.block.iter().find_map(|l| logged_elf_sha256(l)));
    let sha = logged.and_then(|l| sha_mismatch("the log's ELF file SHA256", &l, symbols));
    let arch = Arch::of_crash(crash).and_then(|a| arch_mismatch("crash", a, symbols));
    sha.into_iter().chain(arch).collect()
}

/// [`check`] for a core dump: the app SHA-256 it recorded, and its ELF core's machine.
pub(super) fn check_dump(dump: &super::CoreDump, symbols: &Symbols<'_>) -> Vec<String> {
    let sha = dump
        .app_sha256
        .as_deref()
        .and_then(|l| sha_mismatch("the core dump's app ELF SHA256", l, symbols));
    let arch = arch_mismatch("core dump", dump.arch, symbols);
    sha.into_iter().chain(arch).collect()
}

fn sha_mismatch(what: &str, logged: &str, symbols: &Symbols<'_>) -> Option<String> {
    let ours = symbols.sha256();
    let shown = ours.get(..logged.len()).unwrap_or(ours);
    (!ours.starts_with(logged)).then(|| {
        format!(
            "{what} {logged} is not this ELF's ({shown}): it is another build, so the decoded \
             frames are likely wrong"
        )
    })
}

fn arch_mismatch(what: &str, dump: Arch, symbols: &Symbols<'_>) -> Option<String> {
    let elf = symbols.arch();
    (elf != Arch::Other && dump != Arch::Other && elf != dump).then(|| {
        format!(
            "the {what} is from a {} chip but the ELF is {}: the decoded frames are wrong",
            dump.name(),
            elf.name()
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn sha_prefix_from_boot_log_and_panic_lines() {
        assert_eq!(
            logged_elf_sha256("I (45) app_init: ELF file SHA256:  6f83a6c8f7e3b4a1..."),
            Some("6f83a6c8f7e3b4a1".to_owned())
        );
        assert_eq!(
            logged_elf_sha256("ELF file SHA256: 0123456789ABCDEF"),
            Some("0123456789abcdef".to_owned())
        );
        assert_eq!(logged_elf_sha256("ELF file SHA256: 12"), None);
        assert_eq!(logged_elf_sha256("no sha here"), None);
    }
}
