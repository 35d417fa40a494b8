//! Remote ports: `rfc2217://HOST:PORT[?OPTION&…]`, the URL form pyserial (and so esptool,
//! esp-idf-monitor and labgrid) uses for a serial port exported over RFC 2217 by ser2net, a
//! labgrid exporter or `espcheck sim device --rfc2217`.
//!
//! [`Client`] is the COM-port client on the sans-IO codec in [`super::rfc2217`]: telnet
//! negotiation (BINARY, SGA, COM-PORT-OPTION), line settings (baud, 8N1, no flow control), DTR/RTS
//! through SET-CONTROL, PURGE-DATA, and esptool's two reset sequences over those lines. A reader
//! thread decodes what the server sends; NOTIFY-MODEMSTATE/LINESTATE and other unsolicited
//! notifications are read and dropped. [`Rfc2217Link`] is a [`SerialLink`] on it (`watch`).
//!
//! espflash only drives a `serialport::TTYPort`, so flashing goes through [`bridge`]: a local pty
//! whose master is pumped to and from the socket. Baud changes go through [`Bridged::set_baud`],
//! which puts SET-BAUDRATE at its place in the byte stream (a pty's own baud is only a number in
//! its termios, with no place in the stream), and espcheck does the resets itself over the socket
//! (a pty has no modem lines). The pty keeps what the board printed until it is read, so the
//! watch after a flash reads the first boot line through the same bridge.
//!
//! URL options, as pyserial 3.5 takes them (read, not copied): `ign_set_control` (do not wait for
//! the answer to SET-CONTROL: servers such as older ser2net answer it wrongly or not at all),
//! `timeout=SECONDS` (the network timeout: connecting and each answer awaited, default 3 s),
//! `poll_modem` and `logging=LEVEL` (accepted and ignored: espcheck reads no modem lines and logs
//! through its own `-v`). Anything else is refused, as pyserial does.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::PtyMaster;

use super::rfc2217::{
    self as t, BINARY, COM_PORT_OPTION, DO, DONT, Decoder, ECHO, Event, SERVER_OFFSET, SGA, WILL,
    WONT, control, encode_com_port, encode_data, encode_negotiate,
};
use super::{LinkError, SerialLink};
use crate::error::{Error, Result};

/// The URL scheme.
pub const SCHEME: &str = "rfc2217://";

/// pyserial's default network timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// A parsed `rfc2217://` port.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteUrl {
    pub host: String,
    pub port: u16,
    /// Do not wait for the server's answer to SET-CONTROL.
    pub ign_set_control: bool,
    /// Bound on connecting and on each answer awaited.
    pub timeout: Duration,
}

impl RemoteUrl {
    /// `Some` when `port` names an `rfc2217://` URL (a malformed one is a usage error), `None` for
    /// a local path.
    pub fn of(port: &Path) -> Result<Option<RemoteUrl>> {
        match port.to_str() {
            Some(s) if is_remote_str(s) => RemoteUrl::parse(s).map(Some),
            _ => Ok(None),
        }
    }

    /// Parse `rfc2217://HOST:PORT[?OPTION&…]`; HOST may be `[v6]`.
    pub fn parse(url: &str) -> Result<RemoteUrl> {
        let bad = |why: &str| Error::Usage(format!("{url}: {why}"));
        if !is_remote_str(url) {
            return Err(bad("not an rfc2217:// URL"));
        }
        let rest = &url[SCHEME.len()..];
        let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
        let hostport = hostport.trim_end_matches('/');
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, p) = v6
                .split_once("]:")
                .ok_or_else(|| bad("expected rfc2217://[ADDRESS]:PORT"))?;
            (h, p)
        } else {
            hostport
                .rsplit_once(':')
                .ok_or_else(|| bad("expected rfc2217://HOST:PORT (the port number is missing)"))?
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad(&format!("`{port}` is not a TCP port number")))?;
        let mut out = RemoteUrl {
            host: host.to_owned(),
            port,
            ign_set_control: false,
            timeout: DEFAULT_TIMEOUT,
        };
        for opt in query.split('&').filter(|o| !o.is_empty()) {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            match key {
                "ign_set_control" => out.ign_set_control = true,
                "poll_modem" => {}
                "logging" => {
                    if !matches!(value, "debug" | "info" | "warning" | "error") {
                        return Err(bad(&format!(
                            "logging={value}: expected debug, info, warning or error"
                        )));
                    }
                }
                "timeout" => {
                    out.timeout = value
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                        .map(Duration::from_secs_f64)
                        .ok_or_else(|| {
                            bad(&format!(
                                "timeout={value}: expected seconds, e.g. timeout=10"
                            ))
                        })?;
                }
                other => {
                    return Err(bad(&format!(
                        "unknown option `{other}` (known: ign_set_control, poll_modem, \
                         timeout=SECONDS, logging=LEVEL)"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// `rfc2217://HOST:PORT`, for messages.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("{SCHEME}[{}]:{}", self.host, self.port)
        } else {
            format!("{SCHEME}{}:{}", self.host, self.port)
        }
    }
}

fn is_remote_str(s: &str) -> bool {
    s.get(..SCHEME.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(SCHEME))
}

/// Whether `port` is an `rfc2217://` URL rather than a local path.
pub fn is_remote(port: &Path) -> bool {
    port.to_str().is_some_and(is_remote_str)
}

/// Where the reader thread puts serial data.
enum Sink {
    /// Into [`State::inbound`], for [`Rfc2217Link::read`].
    Queue,
    /// Into a pty master, for the bridge.
    Pty(Arc<PtyMaster>),
}

#[derive(Default)]
struct State {
    inbound: VecDeque<u8>,
    /// Per server reply code (client code + 100): how many arrived.
    replies: HashMap<u8, u64>,
    /// Options we said WILL / DO to, and the refusals we sent (so none is repeated).
    will: HashSet<u8>,
    doing: HashSet<u8>,
    refused: HashSet<(u8, u8)>,
    /// The server's answer to our WILL COM-PORT-OPTION.
    com_port: Option<bool>,
    /// Why the connection ended.
    gone: Option<String>,
}

struct Shared {
    writer: Mutex<TcpStream>,
    state: Mutex<State>,
    changed: Condvar,
    closed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave these states inconsistent in a way that matters here.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn send(&self, bytes: &[u8]) -> std::result::Result<(), LinkError> {
        let mut w = lock(&self.writer);
        w.write_all(bytes).and_then(|()| w.flush()).map_err(|e| {
            LinkError::Gone(format!(
                "the RFC 2217 connection failed ({})",
                crate::util::io_reason(&e)
            ))
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Answer the server's option negotiation, once per option (telnet's loop rule).
    fn negotiate(&self, verb: u8, option: u8) {
        let reply = {
            let mut st = self.state();
            if option == COM_PORT_OPTION {
                match verb {
                    DO => st.com_port = Some(true),
                    DONT => st.com_port = Some(false),
                    _ => {}
                }
            }
            match verb {
                // The server offers to do something: BINARY, SGA and ECHO are welcome.
                WILL if matches!(option, BINARY | SGA | ECHO | COM_PORT_OPTION) => st
                    .doing
                    .insert(option)
                    .then(|| encode_negotiate(DO, option)),
                WILL => st
                    .refused
                    .insert((DONT, option))
                    .then(|| encode_negotiate(DONT, option)),
                // The server asks us to do something.
                DO if matches!(option, BINARY | SGA | COM_PORT_OPTION) => st
                    .will
                    .insert(option)
                    .then(|| encode_negotiate(WILL, option)),
                DO => st
                    .refused
                    .insert((WONT, option))
                    .then(|| encode_negotiate(WONT, option)),
                WONT => {
                    st.doing.remove(&option);
                    None
                }
                DONT => {
                    st.will.remove(&option);
                    None
                }
                _ => None,
            }
        };
        if let Some(r) = reply {
            let _ = self.send(&r);
        }
        self.changed.notify_all();
    }

    fn reply(&self, command: u8) {
        *self.state().replies.entry(command).or_default() += 1;
        self.changed.notify_all();
    }

    /// Wait until `done` holds or `within` passes; false on timeout or a closed connection.
    fn wait_for(&self, within: Duration, mut done: impl FnMut(&State) -> bool) -> bool {
        let end = Instant::now() + within;
        let mut st = self.state();
        loop {
            if done(&st) {
                return true;
            }
            let now = Instant::now();
            if st.gone.is_some() || now >= end {
                return false;
            }
            st = self
                .changed
                .wait_timeout(st, end - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// An open RFC 2217 connection: line settings and modem lines by method, serial data through the
/// sink it was opened with.
pub struct Client {
    url: RemoteUrl,
    name: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.url).finish()
    }
}

/// Why a TCP connect failed, in words a farm user acts on.
fn connect_reason(e: &std::io::Error, within: Duration) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            "connection refused: nothing listens there (is ser2net, the labgrid exporter or \
             `espcheck sim device --rfc2217` running?)"
                .to_owned()
        }
        ErrorKind::TimedOut | ErrorKind::WouldBlock => format!(
            "no answer within {} (raise it with ?timeout=SECONDS)",
            crate::util::human_duration(within)
        ),
        _ => crate::util::io_reason(e),
    }
}

impl Client {
    fn connect(url: &RemoteUrl, baud: u32, sink: Sink) -> Result<Client> {
        let name = url.display();
        let addrs: Vec<_> = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| Error::env(&name, format!("cannot resolve {}: {e}", url.host)))?
            .collect();
        let mut last = None;
        let mut stream = None;
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, url.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(Error::env(&name, connect_reason(&e, url.timeout))),
            (None, None) => {
                return Err(Error::env(
                    &name,
                    format!("{} resolves to no address", url.host),
                ));
            }
        };
        let _ = stream.set_nodelay(true);
        let reader = stream
            .try_clone()
            .map_err(|e| Error::env(&name, crate::util::io_reason(&e)))?;
        let shared = Arc::new(Shared {
            writer: Mutex::new(stream),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("rfc2217-reader".to_owned())
                .spawn(move || read_loop(&shared, reader, &sink))
                .map_err(|e| Error::env(&name, e))?;
        }
        let client = Client {
            url: url.clone(),
            name,
            shared,
        };
        client.negotiate()?;
        client.configure(baud)?;
        Ok(client)
    }

    fn negotiate(&self) -> Result<()> {
        let mut hello = Vec::new();
        {
            let mut st = self.shared.state();
            for option in [BINARY, SGA, COM_PORT_OPTION] {
                if st.will.insert(option) {
                    hello.extend(encode_negotiate(WILL, option));
                }
            }
            for option in [BINARY, SGA] {
                if st.doing.insert(option) {
                    hello.extend(encode_negotiate(DO, option));
                }
            }
        }
        self.shared.send(&hello).map_err(|e| self.error(e))?;
        let answered = self
            .shared
            .wait_for(self.url.timeout, |st| st.com_port.is_some());
        let (com_port, gone) = {
            let st = self.shared.state();
            (st.com_port, st.gone.is_some())
        };
        match com_port {
            Some(true) => Ok(()),
            Some(false) => Err(Error::env(
                &self.name,
                "the server refused COM-PORT-OPTION: it is telnet but not RFC 2217 (ser2net needs \
                 `telnet(rfc2217)` on the accepter)",
            )),
            None if !answered && !gone => Err(Error::env(
                &self.name,
                format!(
                    "no RFC 2217 negotiation within {}: a raw TCP port? (ser2net needs \
                     `telnet(rfc2217)` on the accepter; raise the wait with ?timeout=SECONDS)",
                    crate::util::human_duration(self.url.timeout)
                ),
            )),
            None => Err(self.gone_error()),
        }
    }

    /// Baud, 8 data bits, no parity, 1 stop bit, no flow control, each confirmed by the server.
    fn configure(&self, baud: u32) -> Result<()> {
        self.requests(&[
            (t::SET_BAUDRATE, baud.to_be_bytes().to_vec()),
            (t::SET_DATASIZE, vec![8]),
            (t::SET_PARITY, vec![1]),
            (t::SET_STOPSIZE, vec![1]),
        ])
        .and_then(|()| self.set_control(control::NO_FLOW))
        .map_err(|e| self.error(e))
    }

    fn gone_error(&self) -> Error {
        let why = self
            .shared
            .state()
            .gone
            .clone()
            .unwrap_or_else(|| "the connection closed".to_owned());
        Error::env(&self.name, why)
    }

    fn error(&self, e: LinkError) -> Error {
        Error::env(&self.name, e)
    }

    /// Send COM-PORT-OPTION commands and wait for the server to answer each.
    fn requests(&self, commands: &[(u8, Vec<u8>)]) -> std::result::Result<(), LinkError> {
        let before: Vec<u64> = {
            let st = self.shared.state();
            commands
                .iter()
                .map(|(c, _)| st.replies.get(&(c + SERVER_OFFSET)).copied().unwrap_or(0))
                .collect()
        };
        let mut wire = Vec::new();
        for (c, v) in commands {
            wire.extend(encode_com_port(*c, v));
        }
        self.shared.send(&wire)?;
        for ((c, _), n) in commands.iter().zip(before) {
            let code = c + SERVER_OFFSET;
            let ok = self.shared.wait_for(self.url.timeout, |st| {
                st.replies.get(&code).copied().unwrap_or(0) > n
            });
            if !ok {
                if let Some(g) = self.shared.state().gone.clone() {
                    return Err(LinkError::Gone(g));
                }
                return Err(LinkError::Io(format!(
                    "the server did not confirm {} within {}{}",
                    command_name(*c),
                    crate::util::human_duration(self.url.timeout),
                    if *c == t::SET_CONTROL {
                        " (add ?ign_set_control to the URL for servers that never do)"
                    } else {
                        ""
                    }
                )));
            }
        }
        Ok(())
    }

    /// The port as named to the user.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Change the baud rate on the server's UART.
    pub fn set_baud(&self, baud: u32) -> std::result::Result<(), LinkError> {
        self.requests(&[(t::SET_BAUDRATE, baud.to_be_bytes().to_vec())])
    }

    /// Ask the server for its baud (SET-BAUDRATE 0, RFC 2217's query) and wait for the answer:
    /// a round trip that ends after the server has taken in everything sent before it.
    fn query_baud(&self) -> std::result::Result<(), LinkError> {
        self.requests(&[(t::SET_BAUDRATE, vec![0; 4])])
    }

    fn set_control(&self, value: u8) -> std::result::Result<(), LinkError> {
        if self.url.ign_set_control {
            self.shared.send(&encode_com_port(t::SET_CONTROL, &[value]))
        } else {
            self.requests(&[(t::SET_CONTROL, vec![value])])
        }
    }

    /// Drive DTR (GPIO0 through the auto-reset circuit).
    pub fn set_dtr(&self, on: bool) -> std::result::Result<(), LinkError> {
        self.set_control(if on {
            control::DTR_ON
        } else {
            control::DTR_OFF
        })
    }

    /// Drive RTS (EN through the auto-reset circuit).
    pub fn set_rts(&self, on: bool) -> std::result::Result<(), LinkError> {
        self.set_control(if on {
            control::RTS_ON
        } else {
            control::RTS_OFF
        })
    }

    /// Drop what the server's buffers hold in both directions (PURGE-DATA 3).
    pub fn purge(&self) -> std::result::Result<(), LinkError> {
        self.requests(&[(t::PURGE_DATA, vec![3])])
    }

    /// esptool's ClassicReset into the ROM loader, as on a local USB bridge: EN low with GPIO0
    /// high, then GPIO0 low as EN rises, held 50 ms (550 ms with `long`), then released.
    pub fn classic_reset(&self, long: bool) -> std::result::Result<(), LinkError> {
        self.set_dtr(false)?;
        self.set_rts(true)?;
        std::thread::sleep(Duration::from_millis(100));
        self.set_dtr(true)?;
        self.set_rts(false)?;
        std::thread::sleep(Duration::from_millis(if long { 550 } else { 50 }));
        self.set_dtr(false)
    }

    /// esptool's HardReset: EN pulsed low for 100 ms with GPIO0 high, so the board boots its
    /// flash.
    pub fn hard_reset(&self) -> std::result::Result<(), LinkError> {
        self.set_dtr(false)?;
        self.set_rts(true)?;
        std::thread::sleep(Duration::from_millis(100));
        self.set_rts(false)
    }

    fn send_data(&self, bytes: &[u8]) -> std::result::Result<(), LinkError> {
        let mut wire = Vec::with_capacity(bytes.len() + 8);
        encode_data(bytes, &mut wire);
        self.shared.send(&wire)
    }

    fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let _ = lock(&self.shared.writer).shutdown(Shutdown::Both);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

fn command_name(c: u8) -> &'static str {
    match c {
        t::SET_BAUDRATE => "SET-BAUDRATE",
        t::SET_DATASIZE => "SET-DATASIZE",
        t::SET_PARITY => "SET-PARITY",
        t::SET_STOPSIZE => "SET-STOPSIZE",
        t::SET_CONTROL => "SET-CONTROL",
        t::PURGE_DATA => "PURGE-DATA",
        _ => "a COM-PORT-OPTION command",
    }
}

fn read_loop(shared: &Shared, mut stream: TcpStream, sink: &Sink) {
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 16 * 1024];
    let why = loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break "the server closed the connection".to_owned(),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => break format!("the connection failed ({})", crate::util::io_reason(&e)),
        };
        let mut sink_gone = false;
        for event in decoder.feed(&buf[..n]) {
            match event {
                Event::Data(d) => match sink {
                    Sink::Queue => {
                        shared.state().inbound.extend(d);
                        shared.changed.notify_all();
                    }
                    Sink::Pty(master) => sink_gone |= !write_master(master, &d, &shared.closed),
                },
                Event::Negotiate { verb, option } => shared.negotiate(verb, option),
                // Answers to our commands are counted; NOTIFY-MODEMSTATE/LINESTATE and anything
                // else the server volunteers is read and dropped.
                Event::ComPort { command, .. } => shared.reply(command),
                Event::OtherSub(_) => {}
            }
        }
        if sink_gone {
            break "the local end closed".to_owned();
        }
    };
    shared.state().gone = Some(why);
    shared.changed.notify_all();
}

/// Write all of `bytes` to the non-blocking pty master, waiting while its buffer is full (the
/// reader of the slave is behind). False once the slave side is gone or the bridge stopped.
fn write_master(master: &PtyMaster, mut bytes: &[u8], closed: &AtomicBool) -> bool {
    while !bytes.is_empty() {
        match (&*master).write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if closed.load(Ordering::SeqCst) {
                    return false;
                }
                let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::from(100u8));
            }
            Err(_) => return false,
        }
    }
    true
}

/// A [`SerialLink`] over an RFC 2217 connection.
#[derive(Debug)]
pub struct Rfc2217Link {
    client: Client,
}

impl Rfc2217Link {
    /// Connect to `url` and set it to `baud`, 8N1, without touching DTR/RTS (as a local open).
    pub fn open(url: &RemoteUrl, baud: u32) -> Result<Self> {
        Ok(Rfc2217Link {
            client: Client::connect(url, baud, Sink::Queue)?,
        })
    }

    /// The connection, for resets.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl SerialLink for Rfc2217Link {
    fn name(&self) -> &str {
        self.client.name()
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> std::result::Result<usize, LinkError> {
        let shared = &self.client.shared;
        shared.wait_for(timeout, |st| !st.inbound.is_empty());
        let mut st = shared.state();
        if st.inbound.is_empty() {
            return match &st.gone {
                Some(g) => Err(LinkError::Gone(g.clone())),
                None => Ok(0),
            };
        }
        let n = buf.len().min(st.inbound.len());
        for (slot, b) in buf.iter_mut().zip(st.inbound.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::result::Result<(), LinkError> {
        self.client.send_data(bytes)
    }

    fn set_baud(&mut self, baud: u32) -> std::result::Result<(), LinkError> {
        self.client.set_baud(baud)
    }

    fn set_dtr(&mut self, level: bool) -> std::result::Result<(), LinkError> {
        self.client.set_dtr(level)
    }

    fn set_rts(&mut self, level: bool) -> std::result::Result<(), LinkError> {
        self.client.set_rts(level)
    }
}

/// A local pty standing in for a remote port: what espflash opens.
#[derive(Debug)]
pub struct Bridge {
    /// The connection, for resets (the pty has no modem lines).
    pub client: Arc<Client>,
    /// The pty's slave, to open as a serial port.
    pub path: PathBuf,
    /// Held until the caller has opened `path`; then dropped, so the bridge ends when the caller
    /// closes its port.
    slave: Option<std::fs::File>,
    master: Arc<PtyMaster>,
    baud: u32,
}

/// Connect to `url` at `baud` and put a pty in front of it. Call [`Bridge::start`] once the pty
/// is open.
pub fn bridge(url: &RemoteUrl, baud: u32) -> Result<Bridge> {
    let pty = super::pty::open().map_err(|e| Error::env("pseudo-terminal", e))?;
    let master = Arc::new(pty.master);
    let client = Client::connect(url, baud, Sink::Pty(Arc::clone(&master)))?;
    Ok(Bridge {
        client: Arc::new(client),
        path: pty.slave_path,
        slave: Some(pty.slave),
        master,
        baud,
    })
}

impl Bridge {
    /// Start pumping the pty's output to the socket; runs until the pty's last user closes it or
    /// the connection ends.
    pub fn start(mut self) -> Result<Bridged> {
        drop(self.slave.take());
        let bridged = Bridged {
            client: Arc::clone(&self.client),
            forward: Arc::new(Forward {
                master: Arc::clone(&self.master),
                remote: Mutex::new(RemoteLine {
                    baud: self.baud,
                    unfenced: false,
                }),
            }),
        };
        let pumped = bridged.clone();
        std::thread::Builder::new()
            .name("rfc2217-bridge".to_owned())
            .spawn(move || pump(&pumped))
            .map_err(|e| Error::env(self.client.name(), e))?;
        Ok(bridged)
    }
}

/// A running bridge: the connection (resets go through it) and the one way to change the remote
/// baud, [`Bridged::set_baud`].
///
/// A pty carries no baud: espflash's `set_baud_rate` only stores a number in its termios, and
/// the bytes written before it and after it sit in the same buffer. Mirroring that number when it
/// is noticed sends bytes across the change at the wrong rate (the pump cannot tell where in the
/// buffer the change fell), and lets a reset sent straight on the socket overtake it. So the
/// pty's own baud is ignored, and whoever changes the rate says so here, between writes.
#[derive(Debug, Clone)]
pub struct Bridged {
    client: Arc<Client>,
    forward: Arc<Forward>,
}

/// The pty side of the bridge. `remote` is also the lock held while bytes are forwarded, so a
/// baud change falls between two batches, never inside one.
#[derive(Debug)]
struct Forward {
    master: Arc<PtyMaster>,
    remote: Mutex<RemoteLine>,
}

/// The remote UART as the bridge left it.
#[derive(Debug)]
struct RemoteLine {
    baud: u32,
    /// Data went out since the server last answered a command.
    unfenced: bool,
}

/// What forwarding found.
enum Flow {
    /// The pty is empty for now.
    Drained,
    /// The slave's last user closed it.
    Closed,
}

impl Forward {
    /// Send everything the pty holds. A non-blocking read of a pty master first waits for bytes
    /// the slave has written but the kernel has not moved yet, so when this returns, every byte
    /// written before the call has gone.
    fn forward(
        &self,
        line: &mut RemoteLine,
        client: &Client,
        buf: &mut [u8],
    ) -> std::result::Result<Flow, LinkError> {
        loop {
            match (&*self.master).read(buf) {
                Ok(n) if n > 0 => {
                    client.send_data(&buf[..n])?;
                    line.unfenced = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Flow::Drained),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // EIO (or end of file): the slave's last user closed it.
                _ => return Ok(Flow::Closed),
            }
        }
    }
}

impl Bridged {
    /// The connection, for resets and purges.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Move the remote UART to `baud` at this point in the byte stream: what was written to the
    /// pty before the call leaves at the old rate, then SET-BAUDRATE goes and is confirmed, so
    /// whatever follows (bytes written after, a reset on the modem lines) happens at the new one.
    /// The caller then sets the pty's own rate for its port's sake; the bridge does not read it.
    pub fn set_baud(&self, baud: u32) -> std::result::Result<(), LinkError> {
        let mut line = lock(&self.forward.remote);
        let mut buf = vec![0u8; 16 * 1024];
        if let Flow::Closed = self.forward.forward(&mut line, &self.client, &mut buf)? {
            return Err(LinkError::Gone("the local end closed".to_owned()));
        }
        if line.baud != baud {
            if line.unfenced {
                // ser2net (gensio) applies every command in what it reads at once before it
                // writes that read's data to the UART, so data and a SET-BAUDRATE right behind it
                // would swap. A query answered first puts the change in a later read.
                self.client.query_baud()?;
            }
            self.client.set_baud(baud)?;
            line.baud = baud;
            line.unfenced = false;
        }
        Ok(())
    }
}

fn pump(bridged: &Bridged) {
    let client = &bridged.client;
    let mut buf = [0u8; 16 * 1024];
    loop {
        if client.shared.state().gone.is_some() {
            break;
        }
        {
            let mut fds = [PollFd::new(
                bridged.forward.master.as_fd(),
                PollFlags::POLLIN,
            )];
            let _ = poll(&mut fds, PollTimeout::from(20u8));
        }
        let mut line = lock(&bridged.forward.remote);
        match bridged.forward.forward(&mut line, client, &mut buf) {
            Ok(Flow::Drained) => {}
            Ok(Flow::Closed) | Err(_) => break,
        }
    }
    client.close();
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
