//! Raw serial bytes → lines. Sans-IO: `feed` takes whatever the port gave and pushes finished lines.
//!
//! Serial output is messy: the ESP8266 ROM prints its boot banner at 74880 baud, which reads as
//! garbage at 115200; USB bridges emit NULs on reset; ESP-IDF colours its log lines with ANSI
//! escapes; Arduino's `println` ends lines with CRLF, some code with a bare CR. A line that never
//! ends (a stuck `Serial.print(".")` loop) must not grow without bound, so lines are capped.

use serde::{Deserialize, Serialize};

/// Longest line kept, in bytes: every line up to this is matched in full. GitHub's status JSON
/// (the body line the sketch echoes) is a few KB, tens of KB with many statuses; past this a
/// line is cut, the rest counted in [`Line::dropped`] and the cut reported (`lines cut: N`).
pub const MAX_LINE: usize = 64 * 1024;

/// One finished line of serial output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// 1-based line number in the stream.
    pub number: usize,
    /// The readable text: NULs, ANSI escapes and control characters removed, broken UTF-8 replaced,
    /// trailing whitespace trimmed.
    pub text: String,
    /// Mostly unreadable bytes: ROM output at another baud rate, or line noise.
    pub garbled: bool,
    /// Bytes dropped because the line was longer than [`MAX_LINE`].
    pub dropped: usize,
    /// The serial monitor's timestamp in front of the line (`11:27:39.308` from Arduino IDE's
    /// `11:27:39.308 -> `), removed from `text` so that rules see what the board printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
}

/// Splits a byte stream into [`Line`]s. Keeps at most [`MAX_LINE`] bytes of a pending line.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    dropped: usize,
    last_was_cr: bool,
    number: usize,
}

impl LineSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed raw bytes; every line they complete is pushed to `out`.
    ///
    /// CR, LF and CRLF each end a line (a CRLF split across two reads still counts once).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.last_was_cr {
                self.last_was_cr = false;
                if rest[0] == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    self.append(&rest[..i]);
                    self.last_was_cr = rest[i] == b'\r';
                    out.push(self.take_line());
                    rest = &rest[i + 1..];
                }
                None => {
                    self.append(rest);
                    rest = &[];
                }
            }
        }
    }

    /// End of stream: a pending partial line (say, WiFi dots with no newline) becomes a line.
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.buf.is_empty() || self.dropped > 0 {
            out.push(self.take_line());
        }
        self.last_was_cr = false;
    }

    /// The bytes of the line not yet ended.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Lines finished so far.
    pub fn count(&self) -> usize {
        self.number
    }

    fn append(&mut self, chunk: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.buf.len());
        let (keep, drop) = chunk.split_at(chunk.len().min(room));
        self.buf.extend_from_slice(keep);
        self.dropped += drop.len();
    }

    fn take_line(&mut self) -> Line {
        self.number += 1;
        let (text, garbled) = clean(&self.buf);
        let text = unpaste(strip_line_end_glyphs(text));
        let (stamp, text) = match split_stamp(&text) {
            Some((stamp, rest)) => (
                Some(stamp.to_owned()),
                unsourced(&unpaste(rest.to_owned())).to_owned(),
            ),
            None => match unsourced(&text) {
                t if t.len() == text.len() => (None, text),
                t => (None, t.to_owned()),
            },
        };
        let line = Line {
            number: self.number,
            text,
            garbled,
            dropped: self.dropped,
            stamp,
        };
        self.buf.clear();
        self.dropped = 0;
        line
    }
}

/// The line without the Markdown quote markers a paste into an issue or forum put in front of
/// it (`> [D][WiFiClient.cpp:509] …`, `>[E][ssl_client.cpp:36] …`, nested `> > …`): they are
/// the paste's, not the board's. Not `>>>` (MicroPython's prompt), `>>>stack>>>` (the ESP8266
/// stack dump) or a tool's `>>AT+…` marks, which start with two; not a lone `>` (ESP-AT's and
/// NodeMCU's prompt), which would leave nothing.
pub fn unquote(text: &str) -> &str {
    let mut t = text;
    while let Some(rest) = t.strip_prefix('>') {
        if rest.starts_with('>') || rest.trim().is_empty() {
            break;
        }
        t = rest.strip_prefix(' ').unwrap_or(rest);
    }
    t
}

/// The line without what a paste wrapped around it: Markdown quote marks ([`unquote`]) and
/// inline-code marks ([`uncode`]), nested either way (`` `> … ``, `` > `…` ``), in one pass
/// that stops at the first step that changes nothing.
fn unpaste(mut text: String) -> String {
    loop {
        let unquoted = unquote(&text);
        if unquoted.len() != text.len() {
            text = unquoted.to_owned();
        }
        match uncode(&text) {
            Some(t) => text = t,
            None => return text,
        }
    }
}

/// The line without the inline-code marks a paste wrapped it or its parts in: `` `[E][WiFiClient.cpp:74]`
/// connect(): lwip_connect_r: `113` `` (marks in pairs), or a code span that runs over several
/// lines, whose first line starts with a mark and whose last ends with one (`` `Traceback (most
/// recent call last): ``, `` OSError: -40` ``). A fence (```` ``` ````) stays as it is. `None`
/// when there is no mark to take away.
fn uncode(text: &str) -> Option<String> {
    let t = text.trim();
    if t.starts_with("```") || !(t.starts_with('`') || t.ends_with('`')) {
        return None;
    }
    let marks = text.bytes().filter(|&b| b == b'`').count();
    if t.starts_with('`') && marks % 2 == 0 {
        return Some(text.replace('`', ""));
    }
    let t = t.strip_prefix('`').unwrap_or(t);
    Some(t.strip_suffix('`').unwrap_or(t).to_owned())
}

/// The line without the address a remote-log receiver (UDP syslog, BLE2MQTT's remote log, a
/// telnet bridge) put in front of it to say which board sent it: `(10.42.1.248): E (1224112)
/// esp-tls: …`, `(192.168.1.20:514) …`. Only an IPv4 address in parentheses, then `:` or a space.
pub fn unsourced(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('(') else {
        return text;
    };
    let Some((addr, after)) = rest.split_once(')') else {
        return text;
    };
    let host = addr.split_once(':').map_or(addr, |(h, port)| {
        if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            ""
        }
    });
    let parts: Vec<&str> = host.split('.').collect();
    let ipv4 = parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let after = after.strip_prefix(':').unwrap_or(after);
    if !ipv4 || !after.starts_with(' ') {
        return text;
    }
    after.trim_start()
}

/// A serial monitor's timestamp at the start of a line, and the line after it.
///
/// Arduino IDE `11:27:39.308 -> ` (pasted through an editor that makes the arrow `→`), PlatformIO's `time` filter `12:00:01.123 > `, arduino-cli
/// `--timestamp` and esp-idf-monitor `--timestamps` (`2024-05-01 12:00:01.123 `), minicom and
/// CoolTerm (`[2024-05-01 12:00:01.123] `, `[12:00:01.123] `), SSCOM (`[20:01:23.451]收←◆`),
/// terminals that put the time in parentheses (`(12:00:01.123) `) and Docklight's direction
/// after it (`12:00:01.123 [RX] - `).
/// ESP-IDF's own `I (12:00:01.123) tag:` is part of the line, not a prefix, and stays.
pub fn split_stamp(text: &str) -> Option<(&str, &str)> {
    static STAMP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(?:> )?([\[(])?(\d{2}:\d{2}:\d{3}\b|(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}:\d{2}(?:[.,:]\d{1,6})?)[\])]?(?: ?->| ?→| ?>|:)? ?(收←◆|收<-|RX: ?|\[RX\](?: -)? ?)?",
        )
        .unwrap_or_else(|_| unreachable!())
    });
    let c = STAMP.captures(text)?;
    let whole = c.get(0)?;
    let stamp = c.get(2)?;
    let close = c.get(1).map(|m| if m.as_str() == "(" { ')' } else { ']' });
    let rest = &text[whole.end()..];
    // `12:00:01` alone followed by text glued to it (`12:00:01abc`) is not a prefix; a bracket
    // must close what it opened, and only that.
    let sep = &text[stamp.end()..whole.end()];
    let closed = sep.chars().next().filter(|c| matches!(c, ']' | ')'));
    if closed != close || (sep.is_empty() && !rest.is_empty()) {
        return None;
    }
    Some((stamp.as_str(), rest))
}

/// A terminal that shows control characters writes the line end out as text: `<CR><LF>`
/// (Docklight, Hercules), `␍␊` (Unicode control pictures). Those are the line's end, not its text.
fn strip_line_end_glyphs(text: String) -> String {
    const GLYPHS: [&str; 6] = [
        "<CR><LF>",
        "<LF>",
        "<CR>",
        "\u{240d}\u{240a}",
        "\u{240a}",
        "\u{240d}",
    ];
    let mut t = text.as_str();
    loop {
        let before = t.len();
        for g in GLYPHS {
            t = t.trim_end().strip_suffix(g).unwrap_or(t);
        }
        if t.len() == before {
            break;
        }
    }
    if t.len() == text.len() {
        text
    } else {
        t.trim_end().to_owned()
    }
}

/// The time of day a stamp from [`split_stamp`] names, in milliseconds (its date ignored).
pub fn stamp_ms(stamp: &str) -> Option<u64> {
    let time = stamp.rsplit([' ', 'T']).next()?;
    let mut parts = time.split([':', '.', ',']);
    let mut field = || parts.next().and_then(|p| p.parse::<u64>().ok());
    let (h, m, s) = (field()?, field()?, field()?);
    // `.3`, `.308`, `.308123`: the fraction, scaled to milliseconds.
    let frac = match time.split([':', '.', ',']).nth(3) {
        Some(digits) if !digits.is_empty() && digits.len() <= 6 => {
            let v: u64 = digits.parse().ok()?;
            v * 1000 / 10u64.pow(digits.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    (h < 24 && m < 60 && s < 61).then_some(((h * 60 + m) * 60 + s) * 1000 + frac)
}

/// Turn raw line bytes into readable text, and say whether they were mostly unreadable.
fn clean(raw: &[u8]) -> (String, bool) {
    // Fast path: plain printable ASCII is by far the common case.
    if raw.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t') {
        let text = std::str::from_utf8(raw).unwrap_or_default();
        return (without_titles(text).trim_end().to_owned(), false);
    }
    let lossy = String::from_utf8_lossy(raw);
    let mut text = String::with_capacity(lossy.len());
    let mut unreadable = 0usize;
    let mut total = 0usize;
    let mut chars = lossy.chars().peekable();
    while let Some(c) = chars.next() {
        // A paste from a web page or an editor that shows the ESC byte as its glyph, `␛[0;31m`.
        // A colour whose ESC a paste turned into U+FFFD: `�[0;31m`, `�[0m`.
        let lost = c == '\u{fffd}' && {
            let mut ahead = chars.clone();
            ahead.next() == Some('[')
                && ahead
                    .find(|p| !p.is_ascii_digit() && *p != ';')
                    .is_some_and(|p| p == 'm')
        };
        let glyph = (c == '\u{241b}' && chars.peek() == Some(&'[')) || lost;
        if c == '\x1b' || glyph {
            // A terminal title (CircuitPython's status bar): ESC ] text, ended by BEL or ESC \.
            if chars.peek() == Some(&']') {
                while let Some(p) = chars.next() {
                    if p == '\x07' || (p == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
                continue;
            }
            // ANSI CSI sequence (ESP-IDF log colours): ESC [ params final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for p in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&p) {
                        break;
                    }
                }
            }
            continue;
        }
        if c == '\0' {
            continue;
        }
        total += 1;
        // A monitor's glyph for a byte it could not show: U+FFFD, PuTTY's and Windows
        // consoles' `▒`, the Arduino IDE's `⸮`.
        let stands_in = matches!(c, '\u{fffd}' | '\u{2592}' | '\u{2e2e}');
        if stands_in || (c.is_control() && c != '\t') {
            unreadable += 1;
            if stands_in {
                text.push(c);
            }
            continue;
        }
        text.push(c);
    }
    let garbled = total >= 4 && unreadable * 3 >= total && !has_readable_run(&text, 12);
    (without_titles(&text).trim_end().to_owned(), garbled)
}

/// `text` without the terminal titles a paste kept once its ESC was lost: CircuitPython's
/// status bar `]0;🐍Wi-Fi: off | code.py | 8.0.0\` in front of what the program printed.
fn without_titles(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("]0;") && !text.contains("]2;") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("]0;").or_else(|| rest.find("]2;")) {
        let Some(end) = rest[i..].find('\\') else {
            break;
        };
        out.push_str(&rest[..i]);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Whether `text` holds `n` printable ASCII characters in a row: garbage followed by a real line
/// (`\xe0\x8c…Connecting to home`) is still a real line.
fn has_readable_run(text: &str, n: usize) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Line> {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn crlf_lf_and_bare_cr_each_end_one_line() {
        let lines = split(&[b"a\r\nb\nc\rd\r", b"\ne"]);
        assert_eq!(texts(&lines), ["a", "b", "c", "d", "e"]);
        assert_eq!(lines[4].number, 5);
    }

    #[test]
    fn crlf_split_across_reads_is_one_line_end() {
        let lines = split(&[b"one\r", b"\ntwo\r\n"]);
        assert_eq!(texts(&lines), ["one", "two"]);
    }

    #[test]
    fn inline_code_marks_of_a_paste_are_removed() {
        let lines = split(&[
            b"`[E][WiFiClient.cpp:74]` connect(): lwip_connect_r: `113`\r\n",
            b"`Traceback (most recent call last):\r\n",
            b"OSError: -40`\r\n",
            b"`OSError: -202`\r\n",
            b"`> HTTP client: Disconnected with error: -114\r\n",
            b"> `HTTP request failed`\r\n",
            b"11:27:39.308 -> `E (9510) esp-tls: Failed to open new connection`\r\n",
            b"mqtt `topic` sent\r\n",
            b"```\r\n",
            b"```cpp\r\n",
        ]);
        assert_eq!(
            texts(&lines),
            [
                "[E][WiFiClient.cpp:74] connect(): lwip_connect_r: 113",
                "Traceback (most recent call last):",
                "OSError: -40",
                "OSError: -202",
                "HTTP client: Disconnected with error: -114",
                "HTTP request failed",
                "E (9510) esp-tls: Failed to open new connection",
                "mqtt `topic` sent",
                "```",
                "```cpp",
            ]
        );
    }

    #[test]
    fn terminal_titles_are_removed_with_or_without_their_escape() {
        let lines = split(&[
            "\x1b]0;\u{1f40d}Wi-Fi: off | code.py\x1b\\Connecting...\x07\r\n".as_bytes(),
            "]0;\u{1f40d}Wi-Fi: No IP | code.py | 8.0.0\\Disconnecting... \r\n".as_bytes(),
            b"see ]0; in prose\r\n",
        ]);
        assert_eq!(
            texts(&lines),
            ["Connecting...", "Disconnecting...", "see ]0; in prose"]
        );
    }

    #[test]
    fn colours_whose_esc_a_paste_shows_as_its_glyph_are_removed() {
        let lines = split(&["\u{241b}[0;31mE (40) boot: Failed\u{241b}[0m ␛ stays\r\n".as_bytes()]);
        assert_eq!(lines[0].text, "E (40) boot: Failed ␛ stays");
        let lines =
            split(&["\u{fffd}[0;31mE (4) task_wdt: - IDLE0\u{fffd}[0m \u{fffd}[x\r\n".as_bytes()]);
        assert_eq!(lines[0].text, "E (4) task_wdt: - IDLE0 \u{fffd}[x");
    }

    #[test]
    fn nuls_and_ansi_colours_are_removed() {
        let lines = split(&[b"\0\0\x1b[0;31mE (123) esp-tls: boom\x1b[0m\r\n"]);
        assert_eq!(texts(&lines), ["E (123) esp-tls: boom"]);
        assert!(!lines[0].garbled);
    }

    #[test]
    fn rom_output_at_the_wrong_baud_rate_is_garbled() {
        let junk: &[u8] = b"\xe0\x8c\x1c\x80\x8e\x02\x8c\xfe\xe0\x0c\x1c\x82\x8e\x9c\r\n";
        let lines = split(&[junk, b"Connecting to home\r\n"]);
        assert!(lines[0].garbled);
        assert!(!lines[1].garbled);
        assert_eq!(lines[1].text, "Connecting to home");
        // Pasted from a monitor that showed the bad bytes as its own glyphs.
        let lines = split(&[
            "H\u{2592}\u{2592}\u{485}\u{2592}\u{2592}D\u{2592}J\u{2592}\u{2592}Booting\r\n"
                .as_bytes(),
            "\u{2e2e}\u{2e2e}\u{2e2e}\u{2e2e}\u{2e2e}\u{2e2e}\r\n".as_bytes(),
            "Signal \u{2592}\u{2584}\u{2586}\u{2588} strength -53 dB\r\n".as_bytes(),
        ]);
        assert!(lines[0].garbled && lines[1].garbled, "{lines:?}");
        assert!(!lines[2].garbled);
    }

    #[test]
    fn garbage_then_a_real_line_on_the_same_line_is_readable() {
        let lines = split(&[b"\xe0\x8c\x1c\x80\x8e\x02\x8cConnecting to home-network\r\n"]);
        assert!(!lines[0].garbled);
        assert!(lines[0].text.ends_with("Connecting to home-network"));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let lines = split(&[b"caf\xc3 ok and more readable text\n"]);
        assert_eq!(lines[0].text, "caf\u{fffd} ok and more readable text");
    }

    #[test]
    fn monitor_timestamps_are_split_off() {
        let cases = [
            (
                "11:27:39.308 -> Exception (28):",
                "11:27:39.308",
                "Exception (28):",
            ),
            (
                "12:00:01.123 > connecting to home",
                "12:00:01.123",
                "connecting to home",
            ),
            (
                "2024-05-01 12:00:01.123 E (9510) esp-tls: boom",
                "2024-05-01 12:00:01.123",
                "E (9510) esp-tls: boom",
            ),
            (
                "[2024-05-01 12:00:01.123] Guru Meditation Error",
                "2024-05-01 12:00:01.123",
                "Guru Meditation Error",
            ),
            (
                "[20:01:23.451]收←◆W (1) esp-tls: x",
                "20:01:23.451",
                "W (1) esp-tls: x",
            ),
            ("10:10:01.923 -> ", "10:10:01.923", ""),
            // The Arduino IDE's arrow, made a glyph by the editor it was pasted through.
            (
                "22:14:14.557 → Exception (0):",
                "22:14:14.557",
                "Exception (0):",
            ),
            ("22:14:14.557 →", "22:14:14.557", ""),
            // A sketch's own uptime, minutes:seconds:milliseconds.
            (
                "00:01:376 connecting to api.example.com",
                "00:01:376",
                "connecting to api.example.com",
            ),
            (
                "[19:46:42:120] E (9) task_wdt: x",
                "19:46:42:120",
                "E (9) task_wdt: x",
            ),
            (
                "(12:00:02.456) [HTTP] GET... code: 200",
                "12:00:02.456",
                "[HTTP] GET... code: 200",
            ),
            (
                "12:00:02.456 [RX] - [HTTP] GET... code: 500",
                "12:00:02.456",
                "[HTTP] GET... code: 500",
            ),
        ];
        for (line, stamp, rest) in cases {
            let lines = split(&[line.as_bytes(), b"\n"]);
            assert_eq!(lines[0].stamp.as_deref(), Some(stamp), "{line}");
            assert_eq!(lines[0].text, rest, "{line}");
        }
        let glyphs =
            split(&[b"flash read err, 1000<CR><LF>\n<CR><LF>\nets \xe2\x90\x8d\xe2\x90\x8a\n"]);
        let texts: Vec<&str> = glyphs.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["flash read err, 1000", "", "ets"]);
        for plain in [
            "I (12:00:01.123) wifi: connected",
            "Current time: Thu Jan  1 00:00:05 1970",
            "12:00:01abc",
            "[12:00:01 missing bracket",
            "up 22:14:14 → Exception (0):",
        ] {
            let lines = split(&[plain.as_bytes(), b"\n"]);
            assert_eq!(lines[0].stamp, None, "{plain}");
            assert_eq!(lines[0].text, plain);
        }
    }

    #[test]
    fn markdown_quote_markers_are_the_pastes_not_the_boards() {
        let lines = split(&[
            b">[D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 104\n\
            > E (35372) MQTT_CLIENT: Error transport connect\n\
            > > nested quote\n\
            > 11:27:39.308 -> > quoted after a stamp\n",
        ]);
        assert_eq!(
            texts(&lines),
            [
                "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 104",
                "E (35372) MQTT_CLIENT: Error transport connect",
                "nested quote",
                "quoted after a stamp",
            ]
        );
        assert_eq!(lines[3].stamp.as_deref(), Some("11:27:39.308"));
        // Prompts and markers the board or a tool printed stay.
        for line in [
            ">>> import network",
            ">>>stack>>>",
            ">>AT+MQTTCONN=0",
            ">",
            "-> not a quote",
            "a > b",
        ] {
            assert_eq!(unquote(line), line);
        }
        assert_eq!(unquote("> >>> s.connect(addr)"), ">>> s.connect(addr)");
    }

    #[test]
    fn a_remote_logs_source_address_is_the_receivers() {
        let lines = split(&[
            b"2024-09-03 12:39:08.243717 (10.42.1.248): E (1224112) esp-tls: x\n\
            (192.168.1.20:514) I (5) wifi: y\n",
        ]);
        assert_eq!(texts(&lines), ["E (1224112) esp-tls: x", "I (5) wifi: y"]);
        assert_eq!(
            lines[0].stamp.as_deref(),
            Some("2024-09-03 12:39:08.243717")
        );
        for line in [
            "(10.0.0.1)garbage",
            "(1.2.3): E (1) x",
            "(a.b.c.d): E (1) x",
            "(10.0.0.1:x): E (1) x",
            "(10.0.0.1)",
            "I (5) wifi: got ip (10.0.0.2): ok",
        ] {
            assert_eq!(unsourced(line), line);
        }
    }

    #[test]
    fn stamps_read_as_milliseconds_of_the_day() {
        assert_eq!(stamp_ms("11:27:39.308"), Some(41_259_308));
        assert_eq!(stamp_ms("2024-05-01 00:00:01.5"), Some(1_500));
        assert_eq!(stamp_ms("19:46:42:120"), Some(71_202_120));
        assert_eq!(stamp_ms("12:00:01"), Some(43_201_000));
        assert_eq!(stamp_ms("1:02:03.5"), Some(3_723_500));
        assert_eq!(stamp_ms("99:00:01"), None);
    }

    #[test]
    fn a_line_of_twenty_kilobytes_is_kept_whole() {
        let mut long = vec![b'x'; 20_000];
        long.extend_from_slice(b"\"state\":\"success\"\n");
        let lines = split(&[&long]);
        assert_eq!(lines[0].dropped, 0);
        assert!(lines[0].text.ends_with("\"state\":\"success\""));
    }

    #[test]
    fn long_lines_are_capped_and_the_rest_counted() {
        let long = vec![b'x'; MAX_LINE + 100];
        let lines = split(&[&long, b"\nnext\n"]);
        assert_eq!(lines[0].text.len(), MAX_LINE);
        assert_eq!(lines[0].dropped, 100);
        assert_eq!(lines[1].text, "next");
    }

    #[test]
    fn an_unended_line_stays_bounded_while_pending() {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for _ in 0..10_000 {
            s.feed(b"..........", &mut out);
        }
        assert!(out.is_empty());
        assert_eq!(s.pending().len(), MAX_LINE);
        s.finish(&mut out);
        assert_eq!(out[0].dropped, 100_000 - MAX_LINE);
    }
}
