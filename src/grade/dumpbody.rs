//! A core dump's base64 body pasted without its `CORE DUMP START` header (the paste starts
//! inside the block): the board crashed and its panic handler was printing the dump. Other
//! base64 (a certificate's PEM body, a printed token) is told apart by what a dump holds: the
//! task control blocks and stacks of RAM are full of zero words and of pointers into the chip's
//! data RAM (`0x3ffb…`, `0x3fc8…`), which random bytes almost never are.

use base64::Engine as _;

/// Fewest base64 lines in a row that can be a dump's body.
const LINES: usize = 8;

/// A run of base64 lines.
#[derive(Debug, Default)]
pub(crate) struct Body {
    from: usize,
    lines: Vec<String>,
    /// The first run that read as a dump: (first line, lines).
    found: Option<(usize, usize)>,
}

/// One line of ESP-IDF's UART dump: base64 alone, in whole 4-character groups.
fn base64_line(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    t.len() >= 8
        && t.len().is_multiple_of(4)
        && t.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Whether a word points into an ESP32-family chip's data RAM.
fn ram_pointer(w: u32) -> bool {
    (0x3ff0_0000..0x4000_0000).contains(&w)
        || (0x3fc8_0000..0x3fd0_0000).contains(&w)
        || (0x4080_0000..0x4088_0000).contains(&w)
}

/// Whether the base64 `lines` decode to what a core dump holds.
fn reads_as_dump(lines: &[String]) -> bool {
    if lines.len() < LINES {
        return false;
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = Vec::new();
    for l in lines {
        match engine.decode(l) {
            Ok(b) => bytes.extend(b),
            Err(_) => return false,
        }
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let zeros = words.iter().filter(|w| **w == 0).count();
    let pointers = words.iter().filter(|w| ram_pointer(**w)).count();
    words.len() >= 64 && zeros * 5 >= words.len() && pointers >= 8 && pointers * 50 >= words.len()
}

impl Body {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str) {
        let t = text.trim();
        if base64_line(t) {
            if self.lines.is_empty() {
                self.from = number;
            }
            // A dump of a few tasks is some hundred lines; more says no more.
            if self.lines.len() < 2000 {
                self.lines.push(t.to_owned());
            }
        } else if !t.is_empty() {
            self.run_over();
        }
    }

    fn run_over(&mut self) {
        if self.found.is_none() && reads_as_dump(&self.lines) {
            self.found = Some((self.from, self.lines.len()));
        }
        self.lines.clear();
    }

    /// Why the log is a crash, when it shows a dump's body.
    pub(crate) fn verdict(&mut self) -> Option<String> {
        self.run_over();
        let (from, n) = self.found?;
        Some(format!(
            "line {from}: the log shows {n} lines of a core dump's base64 body (task control \
             blocks and stacks, full of pointers into RAM) without its `CORE DUMP START` header: \
             the board crashed and its panic handler was printing the dump to UART; capture from \
             before the crash, or read the whole block with espcoredump.py, to see which panic"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[String]) -> Body {
        let mut b = Body::default();
        for (i, l) in lines.iter().enumerate() {
            b.line(i + 1, l);
        }
        b
    }

    /// Base64 lines of 48 bytes each, as the panic handler prints them, from `words`.
    fn encode(words: &[u32]) -> Vec<String> {
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.chunks(48).map(|c| engine.encode(c)).collect()
    }

    #[test]
    fn a_headerless_dump_body_is_a_crash() {
        // A TCB-like pattern: list pointers, zero fields, a task name, stack words.
        let mut words = Vec::new();
        for i in 0..40u32 {
            words.extend([
                0x3ffb_8e00 + i * 16,
                0,
                0,
                0x4008_1234 + i,
                0x3ffc_1000 + i * 4,
                0,
            ]);
        }
        let mut lines = vec!["I (12) app: some line".to_owned()];
        lines.extend(encode(&words));
        let why = feed(&lines).verdict().unwrap_or_default();
        assert!(why.starts_with("line 2:"), "{why}");
        assert!(why.contains("CORE DUMP START"), "{why}");
    }

    #[test]
    fn other_base64_is_not() {
        // A certificate's body: bytes with no RAM pointers and few zeros.
        let words: Vec<u32> = (0..240u32)
            .map(|i| i.wrapping_mul(2_654_435_761).rotate_left(7) | 0x0101_0101)
            .collect();
        assert!(feed(&encode(&words)).verdict().is_none());
        // All zeros (an erased region) holds no pointers.
        assert!(feed(&encode(&[0; 240])).verdict().is_none());
        // Too few lines, or not base64 at all.
        let few = encode(&[0x3ffb_0000; 24]);
        assert!(feed(&few[..2]).verdict().is_none());
        let prose = vec!["ThisIsNotBase64ButLooksLikeIt!!!".to_owned(); 20];
        assert!(feed(&prose).verdict().is_none());
    }
}
