//! The sketch's edge: real TCP and rustls (blocking, with every wait bounded) answering the state
//! machine's actions, and Serial bytes written to a writer as they are produced.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use time::OffsetDateTime;

use super::board::{BoardVerifier, client_config};
use super::{
    Action, Board, CoreVersion, Input, PinCheck, RunSummary, Sketch, SketchConfig, Trust, Variant,
};
use crate::error::{Error, Result};

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A sketch run: the sketch's settings plus where it really dials and how it trusts.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub sketch: SketchConfig,
    /// The port the sketch connects to (`httpsPort`).
    pub port: u16,
    /// Dial this `ADDR:PORT` instead, keeping the host for SNI and `Host`.
    pub connect: Option<String>,
    pub trust: Trust,
    pub board: Board,
    /// Bound on each network wait.
    pub timeout: Duration,
}

/// Run the sketch against the network, writing the board's Serial bytes (CRLF line ends, as on
/// the wire) to `serial`. `now` is the time the 3.x sketch learns from NTP. Errors are only for
/// `serial` itself or an unusable trust configuration; everything on the board's side ends up in
/// the [`RunSummary`].
pub fn run_sketch(
    cfg: &RunConfig,
    serial: &mut dyn Write,
    now: OffsetDateTime,
) -> Result<RunSummary> {
    let deferred = cfg.sketch.core == CoreVersion::V2_4 && cfg.sketch.variant == Variant::GetStatus;
    let check = PinCheck::new(cfg.trust.clone(), cfg.board, deferred)
        .map_err(|e| Error::input("--ca-file", e))?;
    let verifier = Arc::new(BoardVerifier::new(check, deferred));
    let tls_config = Arc::new(
        client_config(cfg.board, verifier.clone()).map_err(|e| Error::env("TLS client", e))?,
    );
    let (mut sketch, mut action) = Sketch::start(cfg.sketch.clone(), now);
    let mut conn: Option<BufReader<Tls>> = None;
    loop {
        serial.write_all(&sketch.take_serial())?;
        serial.flush()?;
        let input = match action {
            Action::Done => break,
            Action::Connect => match connect(cfg, tls_config.clone()) {
                Ok(c) => {
                    conn = Some(BufReader::new(c));
                    Input::Connected(true)
                }
                Err(why) => {
                    let why = match verifier.seen().map(|s| s.decision) {
                        Some(Err(refusal)) => refusal,
                        _ => why,
                    };
                    sketch.note(why);
                    Input::Connected(false)
                }
            },
            Action::Verify => {
                let decision = verifier
                    .seen()
                    .map(|s| s.decision)
                    .unwrap_or_else(|| Err("no certificate was seen".to_owned()));
                if let Err(why) = &decision {
                    sketch.note(why.clone());
                }
                Input::Verified(decision.is_ok())
            }
            Action::Send(bytes) => {
                if let Some(c) = conn.as_mut() {
                    let sent = c
                        .get_mut()
                        .write_all(&bytes)
                        .and_then(|()| c.get_mut().flush());
                    if let Err(e) = sent {
                        sketch.note(format!("sending the request: {e}"));
                    }
                }
                Input::Sent
            }
            Action::ReadLine => Input::Line(conn.as_mut().and_then(read_line)),
            Action::WaitForData(max) => {
                Input::Waited(conn.as_mut().map_or(max, |c| wait_for_data(c, max)))
            }
            Action::ReadAll(within) => Input::Read(
                conn.as_mut()
                    .map(|c| read_all(c, within))
                    .unwrap_or_default(),
            ),
        };
        action = sketch.resume(input);
    }
    if let Some(mut c) = conn {
        // client.stop(): close_notify, then the socket goes.
        c.get_mut().conn.send_close_notify();
        let _ = c.get_mut().flush();
    }
    serial.flush()?;
    Ok(sketch.outcome().clone())
}

/// TCP connect (each address in turn), then the TLS handshake with the board's config.
fn connect(cfg: &RunConfig, tls: Arc<rustls::ClientConfig>) -> std::result::Result<Tls, String> {
    let host = &cfg.sketch.host;
    let target = cfg
        .connect
        .clone()
        .unwrap_or_else(|| format!("{host}:{}", cfg.port));
    let addrs: Vec<_> = target
        .to_socket_addrs()
        .map_err(|e| format!("{target}: {}", crate::util::io_reason(&e)))?
        .collect();
    let mut last = format!("{target}: no address");
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, cfg.timeout) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("{addr}: {}", crate::util::io_reason(&e)),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let io = |e: std::io::Error| format!("{target}: {}", crate::util::io_reason(&e));
    tcp.set_read_timeout(Some(cfg.timeout)).map_err(io)?;
    tcp.set_write_timeout(Some(cfg.timeout)).map_err(io)?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
    let conn = rustls::ClientConnection::new(tls, name).map_err(|e| e.to_string())?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| format!("TLS handshake with {target}: {e}"))?;
    }
    Ok(stream)
}

/// `readStringUntil('\n')`: the line without `\n`; `None` once the peer has closed and nothing is
/// left. A timeout or a close mid-line gives what was read, as the Arduino `Stream` does.
fn read_line(conn: &mut BufReader<Tls>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match conn.read_until(b'\n', &mut line) {
        Ok(0) => None,
        Ok(_) => {
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            Some(line)
        }
        Err(_) if line.is_empty() => None,
        Err(_) => Some(line),
    }
}

/// Wait until data is available (or `max` passes); how long that took.
fn wait_for_data(conn: &mut BufReader<Tls>, max: Duration) -> Duration {
    let start = Instant::now();
    let old = conn.get_ref().sock.read_timeout().ok().flatten();
    let _ = conn
        .get_ref()
        .sock
        .set_read_timeout(Some(max.max(Duration::from_millis(1))));
    let got = conn.fill_buf().map(|b| !b.is_empty()).unwrap_or(false);
    let _ = conn.get_ref().sock.set_read_timeout(old);
    if got { start.elapsed() } else { max }
}

/// Read until the peer closes or `within` has passed.
fn read_all(conn: &mut BufReader<Tls>, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut chunk = [0u8; 511];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = conn.get_ref().sock.set_read_timeout(Some(left));
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    out
}

/// Serial as shown on a host terminal: the board's CRLF (and the sketch's CR-CR-LF after a
/// header line) become plain newlines; a lone CR is kept.
#[derive(Debug)]
pub struct HostSerial<W: Write> {
    inner: W,
    pending_cr: usize,
    at_line_start: bool,
}

impl<W: Write> HostSerial<W> {
    pub fn new(inner: W) -> Self {
        HostSerial {
            inner,
            pending_cr: 0,
            at_line_start: true,
        }
    }

    /// Flush held CRs and end an unfinished last line, so a shell prompt starts on its own line.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.pending_cr > 0 || !self.at_line_start {
            self.inner.write_all(b"\n")?;
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for HostSerial<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len());
        for &b in buf {
            match b {
                b'\r' => self.pending_cr += 1,
                b'\n' => {
                    self.pending_cr = 0;
                    out.push(b'\n');
                }
                _ => {
                    out.extend(std::iter::repeat_n(b'\r', self.pending_cr));
                    self.pending_cr = 0;
                    out.push(b);
                }
            }
        }
        if let Some(&last) = out.last() {
            self.at_line_start = last == b'\n';
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn host_serial_turns_crlf_and_crcrlf_into_newlines() {
        let mut w = HostSerial::new(Vec::new());
        w.write_all(b"a\r\nb\r").unwrap();
        w.write_all(b"\r\nc\rd").unwrap();
        assert_eq!(w.finish().unwrap(), b"a\nb\nc\rd\n");
    }
}
