//! Small edge helpers shared by commands: durations, bounded input reading, atomic output files.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result, is_stdin, show_path};

/// Largest input file espcheck reads. A certificate bundle of every public root is ~250 KB; a serial
/// log may be bigger, so `grade` has its own limit.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Parse `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration `{text}` (try 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in `{text}` (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || !(0.0..=7.0 * 24.0 * 3600.0).contains(&secs) {
        return Err(format!("duration `{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `10s`, `1.5s`, `250ms`: how a duration is shown back to the user.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// An I/O error as a short reason, without Rust's `(os error N)` noise.
pub fn io_reason(err: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match err.kind() {
        NotFound => "no such file".to_owned(),
        PermissionDenied => "permission denied".to_owned(),
        IsADirectory => "is a directory, not a file".to_owned(),
        _ => {
            let s = err.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_owned(),
                None => s,
            }
        }
    }
}

/// Secret values this process holds (the `GITHUB_TOKEN` value) that no output may carry.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Name `secret` as one that [`redacted`] blanks wherever it appears, from now on, in every
/// output of this process. Values under 4 characters are too short to blank safely.
pub fn keep_secret(secret: &str) {
    if secret.len() < 4 {
        return;
    }
    if let Ok(mut s) = SECRETS.write()
        && !s.iter().any(|k| k == secret)
    {
        s.push(secret.to_owned());
    }
}

/// The one redaction layer: what must never reach a terminal, a report file or a CI log is
/// blanked as `***`: every value given to [`keep_secret`], the credential of an `Authorization`
/// header (`Authorization: Bearer ***`, or `"authorization":"token ***"` as an API echoes it), and
/// the `user:password@` of a URL (the scheme and host stay). Every printed or written output
/// goes through it: [`shown`] for the terminal, the JSON and JUnit writers, the log of
/// `--verbose`.
pub fn redacted(text: &str) -> std::borrow::Cow<'_, str> {
    let mut out = std::borrow::Cow::Borrowed(text);
    if let Ok(secrets) = SECRETS.read() {
        for k in secrets.iter() {
            if out.contains(k.as_str()) {
                out = std::borrow::Cow::Owned(out.replace(k.as_str(), "***"));
            }
        }
    }
    if out.to_ascii_lowercase().contains("authorization") {
        out = std::borrow::Cow::Owned(blank_authorization(&out));
    }
    if out.contains("://") && out.contains('@') {
        out = std::borrow::Cow::Owned(blank_userinfo(&out));
    }
    out
}

/// The credential of every `Authorization` header or field, blanked.
fn blank_authorization(text: &str) -> String {
    const KEY: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(i) = lower[at..].find(KEY) {
        let key_end = at + i + KEY.len();
        out.push_str(&text[at..key_end]);
        // The separator: `: `, `=`, or `":"` of a JSON echo.
        let sep = text[key_end..]
            .find(|c: char| !matches!(c, '"' | '\'' | ':' | '=' | ' ' | '\t'))
            .map_or(text.len(), |n| key_end + n);
        let seps = &text[key_end..sep];
        out.push_str(seps);
        if !seps.contains(':') && !seps.contains('=') {
            // "authorization" as a word, not a header.
            at = sep;
            continue;
        }
        // The value: a scheme (`Bearer`, `token`, `Basic`) and the credential after it, or a
        // bare credential. The scheme stays; the credential goes.
        let word_end = |from: usize| {
            text[from..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}'))
                .map_or(text.len(), |n| from + n)
        };
        let first = word_end(sep);
        let is_scheme = first > sep
            && text[sep..first].chars().all(|c| c.is_ascii_alphabetic())
            && text[first..].starts_with(' ');
        let cred = if is_scheme {
            let from = first + 1;
            out.push_str(&text[sep..from]);
            from
        } else {
            sep
        };
        let end = word_end(cred);
        if end > cred {
            out.push_str("***");
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// `scheme://userinfo@host` → `scheme://***@host`.
fn blank_userinfo(text: &str) -> String {
    let mut clean = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        clean.push_str(head);
        let end = tail
            .find(|c: char| {
                c == '/' || c.is_whitespace() || matches!(c, '`' | '\'' | '"' | '<' | '>')
            })
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                clean.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    clean.push_str(rest);
    clean
}

/// A writer that passes everything through [`redacted`] (whole writes at a time: the tracing
/// log writes one event per call).
#[derive(Debug)]
pub struct Redacting<W: Write>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(redacted(text).as_bytes())?,
            Err(_) => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Text from outside the process (a certificate's subject, a host argument, an error that quotes
/// either, a serial line quoted in a report) as it may reach a terminal: first [`redacted`], then
/// control characters, and the bidirectional and invisible format characters that reorder or
/// hide text, are shown as escapes (`\n`, `\u{202e}`), so no input can start a line of its own
/// or forge "trusted; hostname ok". JSON needs no escaping (serde escapes its strings), only
/// [`redacted`].
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    match redacted(text) {
        std::borrow::Cow::Borrowed(t) => escaped(t),
        std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(escaped(&t).into_owned()),
    }
}

fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    fn hidden(c: char) -> bool {
        c.is_control()
            || matches!(c,
                '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    }
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Read a whole certificate input (or stdin for `-`), refusing directories and anything over
/// `limit` bytes.
pub fn read_input(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_input_as(path, limit, "a certificate file")
}

/// [`read_input`] for any kind of input: `what` names what the file should be ("a rules file"),
/// for the message when it is far too large to be one.
pub fn read_input_as(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let name = show_path(path);
    let mut buf = Vec::new();
    if is_stdin(path) {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::input("-", io_reason(&e)))?;
    } else {
        let meta = std::fs::metadata(path).map_err(|e| Error::file(path, &e))?;
        if meta.is_dir() {
            return Err(Error::input(name, "is a directory, not a file"));
        }
        let file = std::fs::File::open(path).map_err(|e| Error::file(path, &e))?;
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::file(path, &e))?;
    }
    if buf.len() as u64 > limit {
        return Err(Error::input(
            name,
            format!(
                "larger than {} MiB; this is not {what}",
                limit / (1024 * 1024)
            ),
        ));
    }
    Ok(buf)
}

/// Write `bytes` to `path` atomically: a temporary file beside the target, fsync, then rename. On any
/// failure the target is left as it was. `-` writes to stdout.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if is_stdin(path) {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Error::file(path, &e));
    }
    if let Some(device) = special_file(path) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&device)
            .map_err(|e| Error::file(path, &e))?;
        return f.write_all(bytes).map_err(|e| Error::file(path, &e));
    }
    // Through a symlink, replace the file it points to, not the link.
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let path = resolved.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // tempfile creates 0600 files; the output should get the mode an ordinary write would: 0666
    // less the umask for a new file (the kernel applies the umask at open), the old mode for a
    // file being replaced.
    let keep = std::fs::metadata(path)
        .ok()
        .map(|m| std::fs::Permissions::from_mode(m.permissions().mode() & 0o777));
    let mut tmp = tempfile::Builder::new()
        .prefix(".espcheck-")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .map_err(|e| {
            Error::file_while(
                path,
                format!(
                    "cannot create a file in {}: {}",
                    dir.display(),
                    io_reason(&e)
                ),
                &e,
            )
        })?;
    if let Some(perms) = keep {
        tmp.as_file()
            .set_permissions(perms)
            .map_err(|e| Error::file(path, &e))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::file(path, &e))?;
    tmp.persist(path).map_err(|e| Error::file(path, &e.error))?;
    Ok(())
}

/// `path` when it names an existing device, FIFO or socket (`/dev/null`, `/dev/stdout`, a named
/// pipe): output goes straight into it, since renaming a temporary file over it would replace the
/// node itself (as root, `--out /dev/null` would leave a regular file there).
pub fn special_file(path: &Path) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    (!meta.is_file() && !meta.is_dir()).then(|| path.to_path_buf())
}

/// The generation time for reproducible output: `SOURCE_DATE_EPOCH` when set.
pub fn source_date_epoch() -> Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            v.trim().parse::<i64>().map(Some).map_err(|_| {
                Error::Usage(format!("SOURCE_DATE_EPOCH `{v}` is not a Unix timestamp"))
            })
        }
        Err(_) => Ok(None),
    }
}

/// The wall clock: what commands pass as `now` to the pure cores.
pub fn now() -> rustls_pki_types::UnixTime {
    rustls_pki_types::UnixTime::now()
}

/// `now` as signed Unix seconds, to compare with certificate dates (which may be before 1970).
pub fn unix_secs(now: rustls_pki_types::UnixTime) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{keep_secret, redacted, shown};

    #[test]
    fn one_redaction_layer_blanks_secrets_headers_and_url_passwords() {
        keep_secret("tok_UNITUNITUNIT0042");
        let all = "GET https://bob:hunter2@api.example/x?t=1\r\n\
                   Authorization: Bearer abc.def\r\n\
                   {\"authorization\":\"token ghp_x\",\"ok\":1} \
                   and tok_UNITUNITUNIT0042 in a serial line";
        let clean = redacted(all);
        for leak in ["hunter2", "bob:", "abc.def", "ghp_x", "tok_UNIT"] {
            assert!(!clean.contains(leak), "{leak}: {clean}");
        }
        assert!(clean.contains("https://***@api.example/x?t=1"), "{clean}");
        assert!(clean.contains("Authorization: Bearer ***\r\n"), "{clean}");
        assert!(
            clean.contains("\"authorization\":\"token ***\",\"ok\":1"),
            "{clean}"
        );
        // Words, plain URLs and short values stay.
        for same in [
            "no authorization needed",
            "https://api.github.com/repos/o/r",
            "user@example.com wrote",
        ] {
            assert_eq!(redacted(same), same);
        }
        keep_secret("ab");
        assert_eq!(redacted("ab cd"), "ab cd");
        // The terminal path redacts before it escapes.
        assert_eq!(shown("tok_UNITUNITUNIT0042\u{202e}"), "***\\u{202e}");
    }

    #[test]
    fn outside_text_cannot_start_a_line_or_reorder_one() {
        assert_eq!(shown("CN=api.github.com"), "CN=api.github.com");
        assert_eq!(
            shown("CN=x\n  trusted; hostname ok"),
            "CN=x\\n  trusted; hostname ok"
        );
        assert_eq!(shown("a\u{202e}b\rc\u{7}"), "a\\u{202e}b\\rc\\u{7}");
        assert_eq!(shown("Zürich CA"), "Zürich CA");
    }
}
