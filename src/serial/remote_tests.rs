#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serialport::SerialPort;

use super::*;
use crate::serial::rfc2217::{ComPortServer, server_answer};

/// What the fake server saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Data(Vec<u8>),
    Command(u8, Vec<u8>),
}

/// How the fake server behaves.
#[derive(Clone, Copy, Default)]
struct Quirks {
    /// Never answer SET-CONTROL (what `ign_set_control` is for).
    mute_control: bool,
    /// Answer WILL COM-PORT-OPTION with DONT: a plain telnet server.
    refuse_com_port: bool,
    /// Say nothing at all: a raw TCP port.
    raw: bool,
}

/// A one-client RFC 2217 server on loopback built on the codec's server side, sending
/// NOTIFY-MODEMSTATE unprompted after each SET-CONTROL (as ser2net does on a line change) and
/// echoing `hello` as board output once the line is configured.
fn server(quirks: Quirks, hello: &'static [u8]) -> (RemoteUrl, mpsc::Receiver<(Instant, Seen)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut d = Decoder::default();
        let mut com = ComPortServer::new(115_200);
        let mut buf = [0u8; 4096];
        loop {
            let n = match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if quirks.raw {
                continue;
            }
            for e in d.feed(&buf[..n]) {
                let out = match e {
                    Event::Data(x) => {
                        let _ = tx.send((Instant::now(), Seen::Data(x)));
                        Vec::new()
                    }
                    Event::Negotiate { verb, option } => {
                        if quirks.refuse_com_port && option == COM_PORT_OPTION {
                            encode_negotiate(DONT, option).to_vec()
                        } else {
                            server_answer(verb, option)
                                .map(Vec::from)
                                .unwrap_or_default()
                        }
                    }
                    Event::ComPort { command, value } => {
                        let _ = tx.send((Instant::now(), Seen::Command(command, value.clone())));
                        let mut out = Vec::new();
                        if command != t::SET_CONTROL || !quirks.mute_control {
                            out = com.handle(command, &value);
                        }
                        if command == t::SET_CONTROL {
                            out.extend(encode_com_port(107, &[com.modem_state()]));
                            if value == [control::NO_FLOW] {
                                encode_data(hello, &mut out);
                            }
                        }
                        out
                    }
                    Event::OtherSub(_) => Vec::new(),
                };
                if s.write_all(&out).is_err() {
                    return;
                }
            }
        }
    });
    let url = RemoteUrl::parse(&format!("rfc2217://127.0.0.1:{port}?timeout=1")).unwrap();
    (url, rx)
}

fn drain(rx: &mpsc::Receiver<(Instant, Seen)>, settle: Duration) -> Vec<(Instant, Seen)> {
    let mut out: Vec<(Instant, Seen)> = Vec::new();
    while let Ok((at, x)) = rx.recv_timeout(settle) {
        // TCP may split data anywhere: join neighbouring pieces.
        if let (Some((_, Seen::Data(prev))), Seen::Data(more)) = (out.last_mut(), &x) {
            prev.extend_from_slice(more);
            continue;
        }
        out.push((at, x));
    }
    out
}

fn controls(seen: &[(Instant, Seen)]) -> Vec<(Instant, u8)> {
    seen.iter()
        .filter_map(|(at, s)| match s {
            Seen::Command(t::SET_CONTROL, v) if v.len() == 1 => Some((*at, v[0])),
            _ => None,
        })
        .collect()
}

#[test]
fn urls_take_pyserials_options_and_refuse_the_rest() {
    let u = RemoteUrl::parse("rfc2217://farm.lan:4001?ign_set_control&logging=debug").unwrap();
    assert_eq!((u.host.as_str(), u.port), ("farm.lan", 4001));
    assert!(u.ign_set_control);
    assert_eq!(u.timeout, Duration::from_secs(3));
    let u = RemoteUrl::parse("RFC2217://[::1]:5000/?timeout=12.5&poll_modem").unwrap();
    assert_eq!((u.host.as_str(), u.port), ("::1", 5000));
    assert_eq!(u.timeout, Duration::from_millis(12_500));
    assert_eq!(u.display(), "rfc2217://[::1]:5000");
    assert!(is_remote(Path::new("rfc2217://h:1")));
    assert!(!is_remote(Path::new("/dev/ttyUSB0")));
    assert_eq!(RemoteUrl::of(Path::new("/dev/ttyUSB0")).unwrap(), None);
    for (bad, says) in [
        ("rfc2217://host", "port number is missing"),
        ("rfc2217://:4000", "host is missing"),
        ("rfc2217://h:0", "`0` is not a TCP port number"),
        ("rfc2217://h:99999", "not a TCP port number"),
        ("rfc2217://h:1?baud=9600", "unknown option `baud`"),
        ("rfc2217://h:1?timeout=soon", "timeout=soon"),
        ("rfc2217://h:1?logging=loud", "logging=loud"),
    ] {
        let e = RemoteUrl::parse(bad).unwrap_err();
        assert_eq!(e.exit(), crate::Exit::Usage, "{bad}");
        let msg = e.to_string();
        assert!(msg.starts_with(bad) && msg.contains(says), "{bad}: {msg}");
    }
}

#[test]
fn opening_sets_8n1_at_the_baud_and_data_passes_both_ways_with_iac_escaped() {
    let (url, rx) = server(Quirks::default(), b"boot \xFF ok\r\n");
    let mut link = Rfc2217Link::open(&url, 74_880).unwrap();
    // Board output arrives (0xFF unescaped), NOTIFY-MODEMSTATE is not mistaken for data.
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let start = Instant::now();
    while got.len() < 11 && start.elapsed() < Duration::from_secs(3) {
        let n = link.read(&mut buf, Duration::from_millis(200)).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"boot \xFF ok\r\n");
    link.write_all(&[0xC0, 0xFF, 0x00, 0xC0]).unwrap();
    link.set_baud(460_800).unwrap();
    link.client().purge().unwrap();
    let seen: Vec<Seen> = drain(&rx, Duration::from_millis(300))
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        seen,
        [
            Seen::Command(t::SET_BAUDRATE, 74_880u32.to_be_bytes().to_vec()),
            Seen::Command(t::SET_DATASIZE, vec![8]),
            Seen::Command(t::SET_PARITY, vec![1]),
            Seen::Command(t::SET_STOPSIZE, vec![1]),
            Seen::Command(t::SET_CONTROL, vec![control::NO_FLOW]),
            Seen::Data(vec![0xC0, 0xFF, 0x00, 0xC0]),
            Seen::Command(t::SET_BAUDRATE, 460_800u32.to_be_bytes().to_vec()),
            Seen::Command(t::PURGE_DATA, vec![3]),
        ]
    );
    // Nothing to read is Ok(0), not an error.
    assert_eq!(link.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
}

#[test]
fn resets_are_esptools_sequences_with_their_delays() {
    let (url, rx) = server(Quirks::default(), b"");
    let link = Rfc2217Link::open(&url, 115_200).unwrap();
    drain(&rx, Duration::from_millis(100));
    link.client().classic_reset(false).unwrap();
    link.client().hard_reset().unwrap();
    let seen = controls(&drain(&rx, Duration::from_millis(300)));
    let values: Vec<u8> = seen.iter().map(|(_, v)| *v).collect();
    use control::*;
    assert_eq!(
        values,
        [
            DTR_OFF, RTS_ON, DTR_ON, RTS_OFF, DTR_OFF, DTR_OFF, RTS_ON, RTS_OFF
        ]
    );
    // EN is held low 100 ms before GPIO0 goes low; GPIO0 is held 50 ms after EN rises; the hard
    // reset holds EN low 100 ms.
    let gap = |a: usize, b: usize| seen[b].0 - seen[a].0;
    assert!(gap(1, 2) >= Duration::from_millis(100), "{:?}", gap(1, 2));
    assert!(gap(3, 4) >= Duration::from_millis(50), "{:?}", gap(3, 4));
    assert!(gap(6, 7) >= Duration::from_millis(100), "{:?}", gap(6, 7));
}

#[test]
fn a_server_that_never_answers_set_control_needs_ign_set_control() {
    let quirks = Quirks {
        mute_control: true,
        ..Quirks::default()
    };
    let (url, _rx) = server(quirks, b"");
    let e = Rfc2217Link::open(&url, 115_200).unwrap_err();
    assert_eq!(e.exit(), crate::Exit::Environment);
    assert!(
        e.to_string()
            .contains("did not confirm SET-CONTROL within 1s (add ?ign_set_control"),
        "{e}"
    );
    let (mut url, rx) = server(quirks, b"");
    url.ign_set_control = true;
    let link = Rfc2217Link::open(&url, 115_200).unwrap();
    link.client().hard_reset().unwrap();
    let values: Vec<u8> = controls(&drain(&rx, Duration::from_millis(300)))
        .iter()
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(
        values,
        [
            control::NO_FLOW,
            control::DTR_OFF,
            control::RTS_ON,
            control::RTS_OFF
        ]
    );
}

#[test]
fn refused_raw_and_plain_telnet_ports_are_one_line_environment_errors() {
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let url = RemoteUrl::parse(&format!("rfc2217://127.0.0.1:{port}")).unwrap();
    let e = Rfc2217Link::open(&url, 115_200).unwrap_err();
    assert_eq!(e.exit(), crate::Exit::Environment);
    assert_eq!(
        e.to_string(),
        format!(
            "rfc2217://127.0.0.1:{port}: connection refused: nothing listens there (is ser2net, \
             the labgrid exporter or `espcheck sim device --rfc2217` running?)"
        )
    );

    let (mut url, _rx) = server(
        Quirks {
            raw: true,
            ..Quirks::default()
        },
        b"",
    );
    url.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let e = Rfc2217Link::open(&url, 115_200).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(
        e.to_string()
            .contains("no RFC 2217 negotiation within 300ms: a raw TCP port?"),
        "{e}"
    );

    let (url, _rx) = server(
        Quirks {
            refuse_com_port: true,
            ..Quirks::default()
        },
        b"",
    );
    let e = Rfc2217Link::open(&url, 115_200).unwrap_err();
    assert!(e.to_string().contains("refused COM-PORT-OPTION"), "{e}");
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn a_closed_connection_is_the_port_going_away() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _): (TcpStream, _) = listener.accept().unwrap();
        let mut d = Decoder::default();
        let mut com = ComPortServer::new(115_200);
        let mut buf = [0u8; 1024];
        let mut configured = 0;
        while configured < 5 {
            let n = s.read(&mut buf).unwrap();
            for e in d.feed(&buf[..n]) {
                let out = match e {
                    Event::Negotiate { verb, option } => server_answer(verb, option)
                        .map(Vec::from)
                        .unwrap_or_default(),
                    Event::ComPort { command, value } => {
                        configured += 1;
                        com.handle(command, &value)
                    }
                    _ => Vec::new(),
                };
                s.write_all(&out).unwrap();
            }
        }
        s.write_all(b"last words").unwrap();
    });
    let url = RemoteUrl::parse(&format!("rfc2217://127.0.0.1:{port}")).unwrap();
    let mut link = Rfc2217Link::open(&url, 115_200).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let end = loop {
        match link.read(&mut buf, Duration::from_millis(500)) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    // What arrived before the close is read first; then the port is gone.
    assert_eq!(got, b"last words");
    assert!(matches!(end, LinkError::Gone(_)), "{end:?}");
}

#[test]
fn the_bridge_changes_baud_where_it_falls_in_the_byte_stream_without_any_pause() {
    // The flake of the ser2net test: bytes written at one rate and a baud change right after them
    // (RUN_USER_CODE, then the monitor rate) reached the server as SET-BAUDRATE first and all the
    // bytes after it, and a reset sent on the socket overtook a baud change the pump had not
    // noticed yet. No sleeps here: the order must hold however the threads are scheduled.
    let (url, rx) = server(Quirks::default(), b"ROM says hi");
    let bridge = bridge(&url, 115_200).unwrap();
    let mut port = serialport::new(bridge.path.display().to_string(), 115_200)
        .timeout(Duration::from_millis(100))
        .open_native()
        .unwrap();
    let bridged = bridge.start().unwrap();
    // What the board printed while the pty was being opened is waiting in it.
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let start = Instant::now();
    while got.len() < 11 && start.elapsed() < Duration::from_secs(3) {
        if let Ok(n) = port.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, b"ROM says hi");
    for _ in 0..20 {
        port.write_all(b"at 115200").unwrap();
        bridged.set_baud(921_600).unwrap();
        port.set_baud_rate(921_600).unwrap();
        port.write_all(b"\xFFat 921600").unwrap();
        bridged.set_baud(115_200).unwrap();
        port.set_baud_rate(115_200).unwrap();
    }
    // The reset right after a baud change: the board restarts at the rate it was given.
    bridged.set_baud(460_800).unwrap();
    bridged.client().hard_reset().unwrap();
    let seen: Vec<Seen> = drain(&rx, Duration::from_millis(300))
        .into_iter()
        .map(|(_, s)| s)
        .skip(5)
        .collect();
    // Each change behind data is fenced by a query (SET-BAUDRATE 0) the server answers first.
    let query = Seen::Command(t::SET_BAUDRATE, vec![0; 4]);
    let baud = |b: u32| Seen::Command(t::SET_BAUDRATE, b.to_be_bytes().to_vec());
    let mut want = Vec::new();
    for _ in 0..20 {
        want.push(Seen::Data(b"at 115200".to_vec()));
        want.extend([query.clone(), baud(921_600)]);
        want.push(Seen::Data(b"\xFFat 921600".to_vec()));
        want.extend([query.clone(), baud(115_200)]);
    }
    want.extend([
        Seen::Command(t::SET_BAUDRATE, 460_800u32.to_be_bytes().to_vec()),
        Seen::Command(t::SET_CONTROL, vec![control::DTR_OFF]),
        Seen::Command(t::SET_CONTROL, vec![control::RTS_ON]),
        Seen::Command(t::SET_CONTROL, vec![control::RTS_OFF]),
    ]);
    assert_eq!(seen, want);
    // A change to the rate the remote already runs at sends nothing.
    bridged.set_baud(460_800).unwrap();
    assert!(drain(&rx, Duration::from_millis(100)).is_empty());
    // Closing the port ends the bridge and with it the connection.
    drop(port);
    let start = Instant::now();
    while bridged.client().shared.state().gone.is_none() {
        assert!(start.elapsed() < Duration::from_secs(2), "bridge still up");
        std::thread::sleep(Duration::from_millis(10));
    }
}
