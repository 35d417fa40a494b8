//! What the board's UART0 is wired to: always a pty, and with `--rfc2217` also a TCP port
//! speaking RFC 2217, whose SET-CONTROL DTR/RTS are the modem lines a USB-serial bridge has.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::pty::{self, Pty};
use crate::serial::rfc2217::{ComPortServer, Decoder, Event, Lines, encode_data, server_answer};

/// Output kept for a slow RFC 2217 client before it is lost, as on a UART.
const MAX_QUEUED: usize = 256 * 1024;

/// Something that came in over the wire.
pub(super) enum Input {
    /// Bytes from the host, and the rate its UART sent them at when the wire says (an RFC 2217
    /// client's SET-BAUDRATE before them in the stream); `None`: the pty's speed, read now.
    Data { bytes: Vec<u8>, baud: Option<u32> },
    /// The client changed DTR/RTS.
    Lines(Lines),
}

/// One RFC 2217 client at a time on a loopback listener.
pub(super) struct Rfc2217Port {
    listener: TcpListener,
    client: Option<Client>,
    default_baud: u32,
}

struct Client {
    stream: TcpStream,
    decoder: Decoder,
    server: ComPortServer,
    queued: Vec<u8>,
}

impl Rfc2217Port {
    pub(super) fn new(listener: TcpListener, baud: u32) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(Rfc2217Port {
            listener,
            client: None,
            default_baud: baud,
        })
    }
}

pub(super) struct Wire {
    pub(super) pty: Pty,
    pub(super) tcp: Option<Rfc2217Port>,
}

impl Wire {
    /// Whether the board has modem lines (an RFC 2217 port) rather than only a pty.
    pub(super) fn has_lines(&self) -> bool {
        self.tcp.is_some()
    }

    /// The baud the host side runs at: the RFC 2217 client's, else the pty's termios speed.
    pub(super) fn host_baud(&self) -> Option<u32> {
        match &self.tcp {
            Some(t) => Some(
                t.client
                    .as_ref()
                    .map_or(t.default_baud, |c| c.server.settings.baud),
            ),
            None => pty::host_baud(&self.pty.slave),
        }
    }

    /// Wait up to `tick_ms` for input and read at most `cap` bytes of it.
    pub(super) fn read(&mut self, cap: usize, tick_ms: u8, buf: &mut [u8]) -> Vec<Input> {
        let mut out = Vec::new();
        let cap = cap.min(buf.len());
        if let Some(t) = &mut self.tcp
            && t.client.is_none()
            && let Ok((stream, _)) = t.listener.accept()
            && stream.set_nonblocking(true).is_ok()
        {
            let _ = stream.set_nodelay(true);
            t.client = Some(Client {
                stream,
                decoder: Decoder::default(),
                server: ComPortServer::new(t.default_baud),
                queued: Vec::new(),
            });
        }
        let ready = {
            let mut fds = vec![PollFd::new(self.pty.master.as_fd(), PollFlags::POLLIN)];
            if let Some(c) = self.tcp.as_ref().and_then(|t| t.client.as_ref()) {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
            }
            let _ = poll(&mut fds, PollTimeout::from(tick_ms));
            fds.iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect::<Vec<_>>()
        };
        if ready.first() == Some(&true) {
            match (&self.pty.master).read(&mut buf[..cap]) {
                Ok(n) if n > 0 => out.push(Input::Data {
                    bytes: buf[..n].to_vec(),
                    baud: None,
                }),
                // EAGAIN, or EIO in the instant a client closes: nothing to read (and no spin).
                _ => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        if ready.get(1) == Some(&true)
            && let Some(t) = &mut self.tcp
        {
            let gone = match t.client.as_mut().map(|c| (&c.stream).read(&mut buf[..cap])) {
                Some(Ok(0)) | Some(Err(_)) => true,
                Some(Ok(n)) => {
                    if let Some(c) = t.client.as_mut() {
                        c.take(&buf[..n], &mut out);
                    }
                    false
                }
                None => false,
            };
            if gone {
                // Closing a USB-serial port drops DTR and RTS.
                t.client = None;
                out.push(Input::Lines(Lines {
                    dtr: false,
                    rts: false,
                }));
            }
        }
        out
    }

    /// Send board output; returns how much was taken (all of it when a TCP client is wired,
    /// since the pty beside it is then best effort).
    pub(super) fn write(&mut self, bytes: &[u8]) -> usize {
        let on_pty = (&self.pty.master).write(bytes).unwrap_or(0);
        match &mut self.tcp {
            None => on_pty,
            Some(t) => {
                if let Some(c) = &mut t.client {
                    if c.queued.len() < MAX_QUEUED {
                        encode_data(bytes, &mut c.queued);
                    }
                    c.flush();
                }
                bytes.len()
            }
        }
    }

    /// Periodic upkeep: clear a stale exclusive lock on the pty, push queued TCP output.
    pub(super) fn upkeep(&mut self) {
        pty::clear_exclusive(&self.pty.slave);
        if let Some(c) = self.tcp.as_mut().and_then(|t| t.client.as_mut()) {
            c.flush();
        }
    }
}

impl Client {
    fn take(&mut self, bytes: &[u8], out: &mut Vec<Input>) {
        for e in self.decoder.feed(bytes) {
            match e {
                // At the rate in force where they stand in the stream: a SET-BAUDRATE after them
                // (in the same read) does not reach back to bytes the host sent before it.
                Event::Data(d) => out.push(Input::Data {
                    bytes: d,
                    baud: Some(self.server.settings.baud),
                }),
                Event::Negotiate { verb, option } => {
                    if let Some(a) = server_answer(verb, option) {
                        self.queued.extend(a);
                    }
                }
                Event::ComPort { command, value } => {
                    let before = self.server.lines;
                    let reply = self.server.handle(command, &value);
                    self.queued.extend(reply);
                    if self.server.lines != before {
                        out.push(Input::Lines(self.server.lines));
                    }
                }
                Event::OtherSub(_) => {}
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        while !self.queued.is_empty() {
            match (&self.stream).write(&self.queued) {
                Ok(n) if n > 0 => {
                    self.queued.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use std::io::Write;

    use super::*;
    use crate::serial::rfc2217::{SET_BAUDRATE, encode_com_port};

    #[test]
    fn bytes_keep_the_rate_they_were_sent_at_when_a_baud_change_follows_in_the_same_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut wire = Wire {
            pty: pty::open().unwrap(),
            tcp: Some(Rfc2217Port::new(listener, 115_200).unwrap()),
        };
        let mut host = TcpStream::connect(addr).unwrap();
        // One write, so the board reads it in one piece: bytes at 115200, the switch, bytes after.
        let mut wire_bytes = Vec::new();
        encode_data(b"at 115200", &mut wire_bytes);
        wire_bytes.extend(encode_com_port(SET_BAUDRATE, &460_800u32.to_be_bytes()));
        encode_data(b"at 460800", &mut wire_bytes);
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        let start = std::time::Instant::now();
        while got.len() < 2 && start.elapsed() < std::time::Duration::from_secs(3) {
            if start.elapsed() > std::time::Duration::from_millis(50) && !wire_bytes.is_empty() {
                host.write_all(&std::mem::take(&mut wire_bytes)).unwrap();
            }
            for input in wire.read(buf.len(), 10, &mut buf) {
                if let Input::Data { bytes, baud } = input {
                    got.push((bytes, baud));
                }
            }
        }
        assert_eq!(
            got,
            [
                (b"at 115200".to_vec(), Some(115_200)),
                (b"at 460800".to_vec(), Some(460_800)),
            ]
        );
    }
}
