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

/// Text from outside the process (a certificate's subject, a host argument, an error that quotes
/// either) as it may reach a terminal: control characters, and the bidirectional and invisible
/// format characters that reorder or hide text, are shown as escapes (`\n`, `\u{202e}`), so no
/// input can start a line of its own or forge "trusted; hostname ok". JSON needs none of this:
/// serde escapes its strings.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
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
    use super::shown;

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
