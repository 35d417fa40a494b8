//! A response the firmware reads itself, cut off in its body. Firmware that prints the server's
//! status line and headers (`HTTP/1.1 200 OK`, `Content-Length: 61440`) and then each chunk it
//! receives (an AsyncTCP sketch's `OnData: 1436 Bytes`, `Received 512 bytes`) shows how far
//! the body got: a log that ends on a chunk while fewer bytes than announced arrived was cut
//! mid-download, so the 200 is no outcome yet (the rest of the body, or a crash reading it, is
//! not in the log).

/// Lines after the last chunk within which the log must end.
const AFTER_CHUNK: usize = 3;

#[derive(Debug, Default)]
pub(crate) struct Body {
    /// The status line's number, while its response is read.
    open: Option<usize>,
    length: Option<u64>,
    got: u64,
    chunks: u32,
    last_chunk: usize,
}

impl Body {
    /// A response's status line (the firmware's own print of it) was read.
    pub(crate) fn start(&mut self, number: usize) {
        *self = Self {
            open: Some(number),
            ..Self::default()
        };
    }

    pub(crate) fn line(&mut self, number: usize, text: &str) {
        if self.open.is_none() {
            return;
        }
        let lower = text
            .trim()
            .trim_start_matches('>')
            .trim()
            .to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            self.length = v.trim().parse().ok();
        } else if let Some(n) = chunk(&lower) {
            self.got = self.got.saturating_add(n);
            self.chunks += 1;
            self.last_chunk = number;
        }
    }

    /// Why the response is unfinished when the log (of `lines` lines) ends, or `None`.
    pub(crate) fn cut_short(&self, lines: usize) -> Option<String> {
        let at = self.open?;
        let length = self.length?;
        (self.chunks > 0
            && self.got < length
            && lines.saturating_sub(self.last_chunk) <= AFTER_CHUNK)
            .then(|| {
                format!(
                    "the log ended during the body: the server answered (line {at}) with a \
                     Content-Length of {length} bytes, and the firmware had reported {} bytes \
                     in {} chunks when the log stops on line {}, still receiving: no outcome \
                     (the rest of the body, or what the firmware did with it, is not in the log)",
                    self.got, self.chunks, self.last_chunk
                )
            })
    }
}

/// The size of a received chunk: `ondata: 1436 bytes`, `received 512 bytes`, `read 1024 bytes`.
/// Not what the sketch did with it (`printing 1063 bytes to the screen`).
fn chunk(lower: &str) -> Option<u64> {
    let rest = ["ondata:", "on data:", "received ", "read ", "recv ", "got "]
        .iter()
        .find_map(|p| lower.strip_prefix(p))?;
    let rest = rest.trim().trim_end_matches(['.', '!']);
    let n = rest
        .strip_suffix("bytes")
        .or_else(|| rest.strip_suffix("byte"))?
        .trim();
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(log: &str) -> (Body, usize) {
        let mut b = Body::default();
        let mut n = 0;
        for (i, l) in log.lines().enumerate() {
            if l.starts_with("HTTP/1.1 ") {
                b.start(i + 1);
            }
            b.line(i + 1, l);
            n = i + 1;
        }
        (b, n)
    }

    #[test]
    fn a_body_cut_before_its_length_is_unfinished() {
        let head = "OnConnect\nHTTP/1.1 200 OK\nContent-Length: 61440\nConnection: close\n";
        let (b, n) = body(&format!(
            "{head}Printing 1063 Bytes to the screen\nOnData: 1436 Bytes\n\
             Printing 1436 Bytes to the screen\nOnData: 1436 Bytes\n15:42"
        ));
        let why = b.cut_short(n).unwrap_or_default();
        assert!(why.contains("61440") && why.contains("2872 bytes"), "{why}");
        let (b, n) = body(&format!("{head}Received 512 bytes\n"));
        assert!(b.cut_short(n).is_some());
    }

    #[test]
    fn a_whole_body_or_one_without_chunks_is_not_cut() {
        for log in [
            "HTTP/1.1 200 OK\nContent-Length: 1000\nOnData: 600 Bytes\nOnData: 400 Bytes\n",
            "HTTP/1.1 200 OK\nContent-Length: 1000\nPrinting 600 Bytes to the screen\n",
            "HTTP/1.1 200 OK\nOnData: 600 Bytes\n",
            "HTTP/1.1 200 OK\nContent-Length: 1000\nOnData: 600 Bytes\nDone\nSleeping\n\
             Going to deep sleep\nzzz\n",
            "Content-Length: 1000\nOnData: 600 Bytes\n",
        ] {
            let (b, n) = body(log);
            assert_eq!(b.cut_short(n), None, "{log}");
        }
    }
}
