//! Crashes of Rust firmware as its own handlers print them, not ESP-IDF's panic handler:
//! esp-backtrace's exception handler (`Exception 'Store/AMO access fault' mepc=0x420036f6,
//! mtval=0x00000000` on RISC-V, `Exception occured 'LoadProhibited'` on Xtensa), its stack
//! guard (`Stack overflow detected at 0x… called by 0x…`, `Detected a write to the stack guard
//! value`), and Rust panics (esp-backtrace's `!! A panic occured in 'src/main.rs', at line 54,
//! column 5`, its newer `====== PANIC ======` then `panicked at src/main.rs:54:5:`, and std's
//! `thread 'main' panicked at …` under esp-idf-svc, which then calls abort()). esp-backtrace
//! halts the chip after its report: no reboot follows, so the report is the log's last word.

/// Which Rust crash `text` opens, if any: `rust-exception`, `rust-stack-overflow` or
/// `rust-panic`. Wherever the line has it: defmt's `ERROR` or a timestamp may come first.
pub(super) fn kind(text: &str) -> Option<&'static str> {
    if exception(text).is_some() {
        return Some("rust-exception");
    }
    if text.contains("Stack overflow detected at 0x")
        || text.contains("Detected a write to the stack guard value")
    {
        return Some("rust-stack-overflow");
    }
    let t = text.trim();
    if t.contains("=== PANIC ===")
        || t.contains("!! A panic occured")
        || t.contains("!! A panic occurred")
    {
        return Some("rust-panic");
    }
    panic_site(t).map(|_| "rust-panic")
}

/// The exception esp-backtrace names: `Exception 'Instruction access fault' mepc=…` (RISC-V,
/// always with its `mepc=`), `Exception occured 'StoreProhibited'` (Xtensa, spelled either way).
fn exception(text: &str) -> Option<&str> {
    if let Some(i) = text.find("Exception '") {
        let (name, after) = text[i + "Exception '".len()..].split_once('\'')?;
        return (after.trim_start().starts_with("mepc=") && !name.is_empty()).then_some(name);
    }
    for lead in ["Exception occured '", "Exception occurred '"] {
        if let Some(i) = text.find(lead) {
            let (name, _) = text[i + lead.len()..].split_once('\'')?;
            let word = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric());
            return word.then_some(name);
        }
    }
    None
}

/// Where a Rust panic happened, from `panicked at src/main.rs:54:5:` (core and std since Rust
/// 1.73, behind `thread 'main' ` for std) or `panicked at 'msg', src/main.rs:54:5` (older std):
/// the `file:line:column`. A source path with a line number, so prose about panics is not one.
fn panic_site(t: &str) -> Option<&str> {
    let i = t.find("panicked at ")?;
    let before = t[..i].trim_end();
    // Only the words Rust prints before it: std's thread name, or a logger's level.
    let lead_ok = before.is_empty()
        || before.ends_with('\'') && before.contains("thread '")
        || before.ends_with("ERROR")
        || before.ends_with(']');
    if !lead_ok {
        return None;
    }
    let rest = &t[i + "panicked at ".len()..];
    // Older std quoted the message first: the site follows its closing `', `.
    let site = match rest.strip_prefix('\'') {
        Some(quoted) => quoted.rsplit_once("', ").map(|(_, s)| s)?,
        None => rest,
    };
    let site = site.trim().trim_end_matches(':');
    let (path, numbers) = site.split_once(".rs:")?;
    let line_ok = numbers
        .split(':')
        .next()
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (line_ok && !path.contains(' ')).then_some(site)
}

/// What an exception means, in words a user can act on.
fn exception_words(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.contains("instruction access") || lower.contains("instrfetch") {
        "the CPU jumped to an address it cannot execute (a bad function pointer, a corrupted \
         return address, or code called from RAM that is not executable)"
    } else if lower.starts_with("load access") || lower.contains("loadprohibited") {
        "a read from an address the chip does not map (a null or dangling pointer)"
    } else if lower.starts_with("store") && lower.contains("access")
        || lower.contains("storeprohibited")
    {
        "a write to an address the chip does not map or protects (a null or dangling pointer, \
         or memory the code does not own)"
    } else if lower.contains("misaligned") || lower.contains("alignment") {
        "an access to an address not aligned to its size (a pointer cast to the wrong type)"
    } else if lower.contains("illegal instruction") || lower.contains("illegalinstruction") {
        "the CPU met bytes that are no instruction (a corrupted code pointer, or a deliberate \
         trap)"
    } else if lower.contains("breakpoint") {
        "a breakpoint instruction ran with no debugger attached"
    } else {
        "a CPU exception"
    }
}

/// espflash's decoded frame under an address, `0x420036f6 - esp_wifi::preempt::allocate_main_task`
/// (the next line is `at ??:??` or the source line): the function's name. Not the linker's own
/// symbols (`__global_pointer$`, `.Lanon.…`), which name no code.
fn espflash_frame(line: &str) -> Option<&str> {
    let (addr, name) = line.trim().split_once(" - ")?;
    let hex = addr.strip_prefix("0x")?;
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let name = name.trim();
    let linker = name.starts_with('.') || name.starts_with("__") || name.contains(' ');
    (!name.is_empty() && !linker).then_some(name)
}

/// A mangled Rust symbol's path (`_ZN8esp_wifi7preempt10TASK_STACK17hd537f55039342cdcE` is
/// `esp_wifi::preempt::TASK_STACK`), or the name as it is.
fn demangle(name: &str) -> String {
    let Some(mut rest) = name.strip_prefix("_ZN").and_then(|r| r.strip_suffix('E')) else {
        return name.to_owned();
    };
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(len) = rest[..digits].parse::<usize>() else {
            return name.to_owned();
        };
        let Some(part) = rest.get(digits..digits + len) else {
            return name.to_owned();
        };
        parts.push(part);
        rest = &rest[digits + len..];
    }
    // The last part is the hash (`h` and 16 hex digits).
    if parts
        .last()
        .is_some_and(|p| p.len() == 17 && p.starts_with('h'))
    {
        parts.pop();
    }
    parts.join("::")
}

/// A register's value from esp-backtrace's RISC-V headline, `mtval=0x00000000`.
fn value_of<'a>(headline: &'a str, key: &str) -> Option<&'a str> {
    let i = headline.find(key)?;
    let v = &headline[i + key.len()..];
    let end = v
        .find(|c: char| !(c.is_ascii_hexdigit() || c == 'x'))
        .unwrap_or(v.len());
    (end > 0).then_some(&v[..end])
}

/// The panic's message: the line after `panicked at …:` (or after esp-backtrace's old headline),
/// or `PanicInfo`'s `message: Some(…)`, or older std's quoted message.
fn panic_message(headline: &str, block: &[String]) -> Option<String> {
    let head = headline.trim();
    if let Some(i) = head.find("panicked at '")
        && let Some((msg, _)) = head[i + "panicked at '".len()..].rsplit_once("', ")
    {
        return Some(msg.to_owned());
    }
    for l in block {
        if let Some(i) = l.find("message: Some(") {
            let m = &l[i + "message: Some(".len()..];
            let m = m.split("), location").next().unwrap_or(m);
            return Some(m.trim_end_matches(')').to_owned());
        }
    }
    let site_line = std::iter::once(head)
        .chain(block.iter().map(|l| l.trim()))
        .position(|l| panic_site(l).is_some() || l.contains("A panic occured"));
    let from = site_line.map_or(0, |p| p);
    block
        .iter()
        .skip(from)
        .map(|l| l.trim())
        .map(|l| l.strip_prefix("ERROR ").unwrap_or(l).trim())
        .find(|l| {
            !l.is_empty()
                && panic_site(l).is_none()
                && !l.contains("A panic occured")
                && !l.starts_with("Backtrace")
                && !l.starts_with("0x")
                && !l.starts_with("└─")
                && !l.starts_with("PanicInfo")
                && !l.starts_with("note: run with")
        })
        .map(str::to_owned)
}

/// The one-line reason for a Rust crash of `kind`.
pub(super) fn describe(kind: &str, headline: &str, block: &[String]) -> String {
    let frame = block.iter().find_map(|l| espflash_frame(l)).map(demangle);
    let frame = frame
        .map(|f| format!(" in {f} (espflash's decoding of the address)"))
        .unwrap_or_default();
    match kind {
        "rust-exception" => {
            let name = exception(headline).unwrap_or("?");
            let mut s = format!(
                "the board crashed: the Rust firmware's exception handler (esp-backtrace) reports \
                 `Exception '{name}'`: {}",
                exception_words(name)
            );
            if let Some(pc) = value_of(headline, "mepc=") {
                s.push_str(&format!(", at mepc {pc}"));
            }
            if let Some(addr) = value_of(headline, "mtval=") {
                let null = u32::from_str_radix(addr.trim_start_matches("0x"), 16)
                    .is_ok_and(|a| a < 0x1000);
                let lower = name.to_ascii_lowercase();
                if lower.contains("access fault") {
                    s.push_str(&format!(" (the address was {addr}"));
                    if null && !lower.starts_with("instruction") {
                        s.push_str(", a null pointer");
                    }
                    s.push(')');
                }
            }
            s.push_str(&frame);
            s.push_str(
                "; esp-backtrace halts the chip, so nothing runs after it; decode the addresses \
                 with the ELF (espflash monitor does it)",
            );
            s
        }
        "rust-stack-overflow" => format!(
            "the board crashed: the Rust firmware overflowed its stack (`{}`, esp-hal's stack \
             guard){frame}; give the task or the main stack more room, or use less of it",
            headline.trim()
        ),
        _ => {
            let site = std::iter::once(headline)
                .chain(block.iter().map(String::as_str))
                .find_map(|l| panic_site(l.trim()).map(str::to_owned))
                .or_else(|| {
                    let i = headline.find("!! A panic occur")?;
                    Some(headline[i + 3..].trim().trim_end_matches(':').to_owned())
                });
            let mut s = "the firmware panicked: a Rust panic".to_owned();
            if let Some(site) = site {
                s.push_str(&format!(" (`panicked at {site}`)"));
            }
            if let Some(msg) = panic_message(headline, block) {
                s.push_str(&format!(": {msg}"));
            }
            if block.iter().any(|l| l.contains("abort() was called")) {
                s.push_str("; std's panic then called abort() and ESP-IDF's panic handler ran");
            }
            s.push_str(&frame);
            s.push_str(
                "; the message and the source line it names say what failed (an unwrap() or \
                 expect() on an Err is the usual one)",
            );
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn esp_backtrace_exceptions_on_both_architectures() {
        for (line, name) in [
            (
                "Exception 'Store/AMO access fault' mepc=0x420036f6, mtval=0x00000000",
                "Store/AMO access fault",
            ),
            (
                "Exception 'Instruction access fault' mepc=0x3fc99218, mtval=0x3fc99218",
                "Instruction access fault",
            ),
            (
                "[ERROR] Exception 'Load access fault' mepc=0x42001234, mtval=0x00000004",
                "Load access fault",
            ),
            ("Exception occured 'LoadProhibited'", "LoadProhibited"),
            (
                "\u{1b}[31mException occurred 'StoreProhibited'",
                "StoreProhibited",
            ),
        ] {
            assert_eq!(kind(line), Some("rust-exception"), "{line}");
            assert_eq!(exception(line), Some(name), "{line}");
        }
        for near in [
            "Exception 'foo' was thrown by the parser",
            "Exception occured 'while reading the sensor: timeout'",
            "E (123) app: Exception in callback",
            "An exception occurred 'x'",
        ] {
            assert_eq!(kind(near), None, "{near}");
        }
    }

    #[test]
    fn rust_panics_in_their_wordings() {
        for line in [
            "!! A panic occured in 'src/main.rs', at line 54, column 5",
            "!! A panic occured in 'src/main.rs', at line 54, column 5:",
            "====================== PANIC ======================",
            "ERROR ====================== PANIC ======================",
            "panicked at src/bin/main.rs:30:5:",
            "ERROR panicked at examples/basic.rs:223:56:",
            "thread 'main' panicked at src/main.rs:10:5:",
            "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/main.rs:18:37",
            "Stack overflow detected at 0x42001234 called by 0x42005678",
        ] {
            assert!(kind(line).is_some(), "{line}");
        }
        for near in [
            "the task panicked at startup",
            "I (123) app: nothing panicked at all",
            "=== PANIC BUTTON pressed ===",
            "panic_handler installed",
        ] {
            assert_eq!(kind(near), None, "{near}");
        }
    }

    #[test]
    fn the_reason_names_the_exception_and_the_decoded_function() {
        let head = "Exception 'Store/AMO access fault' mepc=0x420036f6, mtval=0x00000000";
        let why = describe(
            "rust-exception",
            head,
            &lines(&[
                "0x420036f6 - esp_wifi::preempt::allocate_main_task",
                "    at ??:??",
            ]),
        );
        for w in [
            "Store/AMO access fault",
            "mepc 0x420036f6",
            "null pointer",
            "esp_wifi::preempt::allocate_main_task",
        ] {
            assert!(why.contains(w), "{w}: {why}");
        }
        let why = describe(
            "rust-exception",
            "Exception 'Instruction access fault' mepc=0x3fc99218, mtval=0x3fc99218",
            &lines(&["0x3fc99218 - _ZN8esp_wifi7preempt10TASK_STACK17hd537f55039342cdcE"]),
        );
        assert!(why.contains("Instruction access fault"), "{why}");
        assert!(why.contains("esp_wifi::preempt::TASK_STACK"), "{why}");
        assert!(!why.contains("null pointer"), "{why}");
    }

    #[test]
    fn a_panic_reason_carries_its_site_and_message() {
        let why = describe(
            "rust-panic",
            "====================== PANIC ======================",
            &lines(&[
                "panicked at src/bin/main.rs:89:5:",
                "index out of bounds",
                "Backtrace:",
                "0x4209d358",
            ]),
        );
        assert!(why.contains("src/bin/main.rs:89:5"), "{why}");
        assert!(why.contains("index out of bounds"), "{why}");
        let why = describe(
            "rust-panic",
            "thread 'main' panicked at src/main.rs:10:5:",
            &lines(&[
                "called `Result::unwrap()` on an `Err` value: EspError(ESP_ERR_TIMEOUT)",
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
                "abort() was called at PC 0x4200a1b2 on core 0",
            ]),
        );
        assert!(why.contains("ESP_ERR_TIMEOUT"), "{why}");
        assert!(why.contains("abort()"), "{why}");
        let why = describe(
            "rust-panic",
            "!! A panic occured in 'src/main.rs', at line 54, column 5",
            &lines(&[
                "PanicInfo { payload: Any { .. }, message: Some(boom), location: Location { file: \"src/main.rs\", line: 54, col: 5 } }",
            ]),
        );
        assert!(why.contains("src/main.rs', at line 54"), "{why}");
        assert!(why.contains(": boom"), "{why}");
    }
}
