//! A small HTTP/1.x server side: request heads parsed with httparse, bodies framed by
//! `Content-Length` or chunked encoding, responses framed the way the request's version allows.
//!
//! Hand-rolled on purpose (over hyper): the POST echo must report header names in the case and
//! order the board sent them, and the exact bytes, which a general server normalises away.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest request head accepted (GitHub answers 431 well before this).
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// Most headers accepted in one request.
const MAX_HEADERS: usize = 100;

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent, query included.
    pub target: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Header names and values, in the order and case they were sent.
    pub headers: Vec<(String, String)>,
    /// The body after transfer decoding.
    pub body: Vec<u8>,
    /// Every byte of the request as received, head and body.
    pub raw: Vec<u8>,
}

impl Request {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn version(&self) -> String {
        format!("HTTP/1.{}", self.minor)
    }

    /// Whether the connection ends after this exchange: HTTP/1.0 closes unless it asked for
    /// keep-alive (which this server never grants), HTTP/1.1 closes on `Connection: close`.
    pub fn wants_close(&self) -> bool {
        let tokens = |want: &str| {
            self.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(want))
        };
        self.minor == 0 || tokens("close")
    }
}

/// Why a request could not be read; each maps to the status a server answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRequest {
    /// 400, with a reason.
    Malformed(String),
    /// 431.
    HeadTooLarge,
    /// 413.
    BodyTooLarge,
    /// 505.
    Version,
}

impl BadRequest {
    /// Status code and reason phrase.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            BadRequest::Malformed(_) => (400, "Bad Request"),
            BadRequest::HeadTooLarge => (431, "Request Header Fields Too Large"),
            BadRequest::BodyTooLarge => (413, "Payload Too Large"),
            BadRequest::Version => (505, "HTTP Version Not Supported"),
        }
    }
}

/// The result of trying to parse one request from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request, and how many bytes of the buffer it used.
    Complete(Request, usize),
    /// More bytes are needed.
    Partial,
}

/// Parse one request from the front of `buf` (pure).
pub fn parse_request(buf: &[u8]) -> Result<Parsed, BadRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEAD {
                Err(BadRequest::HeadTooLarge)
            } else {
                Ok(Parsed::Partial)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(BadRequest::HeadTooLarge),
        Err(httparse::Error::Version) => return Err(BadRequest::Version),
        Err(e) => return Err(BadRequest::Malformed(e.to_string())),
    };
    if head_len > MAX_HEAD {
        return Err(BadRequest::HeadTooLarge);
    }
    let method = req.method.unwrap_or_default().to_owned();
    let target = origin_form(req.path.unwrap_or_default()).to_owned();
    let minor = req.version.unwrap_or(1);
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let rest = &buf[head_len..];
    let chunked =
        find("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().ends_with("chunked"));
    let (body, body_len) = if chunked {
        match decode_chunked(rest)? {
            Some(done) => done,
            None if rest.len() > MAX_BODY => return Err(BadRequest::BodyTooLarge),
            None => return Ok(Parsed::Partial),
        }
    } else if let Some(cl) = find("content-length") {
        let n: usize = cl
            .parse()
            .map_err(|_| BadRequest::Malformed(format!("bad Content-Length `{cl}`")))?;
        if n > MAX_BODY {
            return Err(BadRequest::BodyTooLarge);
        }
        if rest.len() < n {
            return Ok(Parsed::Partial);
        }
        (rest[..n].to_vec(), n)
    } else {
        (Vec::new(), 0)
    };
    let used = head_len + body_len;
    Ok(Parsed::Complete(
        Request {
            method,
            target,
            minor,
            headers,
            body,
            raw: buf[..used].to_vec(),
        },
        used,
    ))
}

/// A request target in absolute form (`GET https://host/path HTTP/1.0`, as the ESP32
/// `WiFiClientSecure` example sends) as its path: servers must accept it (RFC 9112 §3.2.2).
fn origin_form(target: &str) -> &str {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let Some(rest) = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &target[scheme.len()..]))
    else {
        return target;
    };
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
        _ => "/",
    }
}

/// Decode a chunked body from the front of `buf`: the body and the bytes it used, or `None` when
/// incomplete.
fn decode_chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, BadRequest> {
    let mut pos = 0;
    let mut body = Vec::new();
    loop {
        let Some(eol) = find_crlf(&buf[pos..]) else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&buf[pos..pos + eol]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| BadRequest::Malformed(format!("bad chunk size `{size_text}`")))?;
        pos += eol + 2;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                let Some(eol) = find_crlf(&buf[pos..]) else {
                    return Ok(None);
                };
                pos += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, pos)));
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(BadRequest::BodyTooLarge);
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size;
        if &buf[pos..pos + 2] != b"\r\n" {
            return Err(BadRequest::Malformed(
                "chunk not followed by CRLF".to_owned(),
            ));
        }
        pos += 2;
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Read the next request from `stream`, keeping unused bytes in `buf` for the next call.
/// `Ok(None)` means the peer closed cleanly between requests.
pub async fn read_request<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Result<Request, BadRequest>>> {
    let mut chunk = [0u8; 8192];
    loop {
        if !buf.is_empty() {
            match parse_request(buf) {
                Ok(Parsed::Complete(req, used)) => {
                    buf.drain(..used);
                    return Ok(Some(Ok(req)));
                }
                Ok(Parsed::Partial) => {}
                Err(bad) => return Ok(Some(Err(bad))),
            }
        }
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // A TLS peer that vanishes without close_notify is a close, not a server error.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Ok(Some(Err(BadRequest::Malformed(
                    "connection closed mid-request".to_owned(),
                ))))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A response before framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How the body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// Minor version of the request: the response speaks the same.
    pub minor: u8,
    /// Chunked transfer encoding (HTTP/1.1 only; HTTP/1.0 falls back to closing the connection).
    pub chunked: bool,
    /// Close the connection after this response.
    pub close: bool,
    /// HEAD: headers only.
    pub head_only: bool,
}

/// Encode a response (pure). Returns the bytes and whether the connection must close after them
/// (a close-delimited body forces it).
pub fn encode_response(resp: &Response, framing: Framing) -> (Vec<u8>, bool) {
    let mut close = framing.close || framing.minor == 0;
    let mut out = format!(
        "HTTP/1.{} {} {}\r\n",
        framing.minor, resp.status, resp.reason
    )
    .into_bytes();
    for (n, v) in &resp.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    let chunked = framing.chunked && framing.minor == 1;
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if framing.chunked {
        // HTTP/1.0 has no chunked encoding: the end of the body is the end of the connection.
        close = true;
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n", resp.body.len()).as_bytes());
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if framing.head_only {
        return (out, close);
    }
    if chunked {
        // Two chunks when there is enough body, so a client really has to reassemble it.
        let mid = resp.body.len() / 2;
        for part in [&resp.body[..mid], &resp.body[mid..]] {
            if !part.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(&resp.body);
    }
    (out, close)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(now: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    now.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_absolute_form_target_is_read_as_its_path() {
        for (line, want) in [
            ("GET https://www.howsmyssl.com/a/check HTTP/1.0", "/a/check"),
            (
                "GET HTTPS://api.github.com/repos/a/b?x=1 HTTP/1.1",
                "/repos/a/b?x=1",
            ),
            ("GET http://host HTTP/1.1", "/"),
            ("GET /plain HTTP/1.1", "/plain"),
        ] {
            let raw = format!("{line}\r\nHost: h\r\n\r\n");
            let Parsed::Complete(req, _) = parse_request(raw.as_bytes()).unwrap() else {
                panic!("partial")
            };
            assert_eq!(req.target, want, "{line}");
        }
    }

    #[test]
    fn keeps_header_case_order_and_raw_bytes() {
        let raw = b"POST /x HTTP/1.0\r\nHost: h\r\nAccept-encoding: *\r\nContent-Length: 2\r\n\r\n{}extra";
        let Parsed::Complete(req, used) = parse_request(raw).unwrap() else {
            panic!("partial")
        };
        assert_eq!(used, raw.len() - 5);
        assert_eq!(req.headers[1], ("Accept-encoding".into(), "*".into()));
        assert_eq!(req.body, b"{}");
        assert_eq!(req.raw, raw[..used]);
        assert!(req.wants_close(), "HTTP/1.0 closes");
    }

    #[test]
    fn partial_until_the_body_is_in_and_chunked_bodies_decode() {
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").unwrap(),
            Parsed::Partial
        );
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let Parsed::Complete(req, used) = parse_request(raw).unwrap() else {
            panic!("partial")
        };
        assert_eq!(req.body, b"abcde");
        assert_eq!(used, raw.len());
        assert!(!req.wants_close());
    }

    #[test]
    fn http10_gets_a_10_status_line_and_no_chunking() {
        let resp = Response {
            status: 200,
            reason: "OK",
            headers: vec![],
            body: b"hello".to_vec(),
        };
        let framing = Framing {
            minor: 0,
            chunked: true,
            close: false,
            head_only: false,
        };
        let (bytes, close) = encode_response(&resp, framing);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(!text.contains("chunked"));
        assert!(text.ends_with("\r\n\r\nhello"));
        assert!(close);
        let (bytes, close) = encode_response(
            &resp,
            Framing {
                minor: 1,
                ..framing
            },
        );
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.ends_with("\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"),
            "{text}"
        );
        assert!(!close);
    }
}
