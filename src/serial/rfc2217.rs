//! RFC 2217 (Telnet Com Port Control) and the bits of telnet (RFC 854/856) it rides on, sans-IO:
//! [`Decoder`] turns bytes off the socket into [`Event`]s (data with IAC IAC unescaped, option
//! negotiation, COM-PORT-OPTION subnegotiations) and the `encode_*` functions build what goes
//! back. Usable by either role: a server answers a client's `SET-*` with the same code + 100.
//!
//! Checked against what pyserial 3.5's `serial/rfc2217.py` client sends on open (read, not
//! copied): `IAC DO ECHO`, `IAC WILL SGA`, `IAC DO SGA`, `IAC WILL COM-PORT-OPTION`,
//! `IAC DO COM-PORT-OPTION`, then `SET-BAUDRATE` (4 bytes, network order), `SET-DATASIZE`,
//! `SET-PARITY`, `SET-STOPSIZE`, `SET-CONTROL` (no flow control, DTR, RTS), each of which it waits
//! for the server to echo. The crates.io `rfc2217-rs` (one 0.1 release, 2022) is not maintained,
//! so this module is our own.

/// Telnet bytes.
pub const IAC: u8 = 0xFF;
pub const DONT: u8 = 0xFE;
pub const DO: u8 = 0xFD;
pub const WONT: u8 = 0xFC;
pub const WILL: u8 = 0xFB;
pub const SB: u8 = 0xFA;
pub const SE: u8 = 0xF0;

/// Telnet options.
pub const BINARY: u8 = 0;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const COM_PORT_OPTION: u8 = 44;

/// COM-PORT-OPTION commands, client to server; the server's reply is the code + 100.
pub const SET_BAUDRATE: u8 = 1;
pub const SET_DATASIZE: u8 = 2;
pub const SET_PARITY: u8 = 3;
pub const SET_STOPSIZE: u8 = 4;
pub const SET_CONTROL: u8 = 5;
pub const NOTIFY_LINESTATE: u8 = 6;
pub const NOTIFY_MODEMSTATE: u8 = 7;
pub const SET_LINESTATE_MASK: u8 = 10;
pub const SET_MODEMSTATE_MASK: u8 = 11;
pub const PURGE_DATA: u8 = 12;
/// Added to a client command code to make the server's reply code.
pub const SERVER_OFFSET: u8 = 100;

/// SET-CONTROL values (RFC 2217 section 3).
pub mod control {
    pub const REQUEST_FLOW: u8 = 0;
    pub const NO_FLOW: u8 = 1;
    pub const REQUEST_DTR: u8 = 7;
    pub const DTR_ON: u8 = 8;
    pub const DTR_OFF: u8 = 9;
    pub const REQUEST_RTS: u8 = 10;
    pub const RTS_ON: u8 = 11;
    pub const RTS_OFF: u8 = 12;
}

/// NOTIFY-MODEMSTATE bits.
pub mod modem {
    pub const CTS: u8 = 0x10;
    pub const DSR: u8 = 0x20;
    pub const CD: u8 = 0x80;
}

/// One thing read off the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Serial data (IAC IAC already folded to one 0xFF).
    Data(Vec<u8>),
    /// `IAC <WILL|WONT|DO|DONT> <option>`.
    Negotiate { verb: u8, option: u8 },
    /// `IAC SB COM-PORT-OPTION <command> <value…> IAC SE`, value unescaped.
    ComPort { command: u8, value: Vec<u8> },
    /// A subnegotiation of another option (ignored by both roles here).
    OtherSub(Vec<u8>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

/// Incremental telnet decoder: feed it whatever the socket gave, in any split.
#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
    data: Vec<u8>,
    sub: Vec<u8>,
}

impl Decoder {
    /// Decode `bytes`, continuing any sequence an earlier call left open.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    self.data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    self.data.push(IAC);
                    State::Data
                }
                (State::Iac, WILL | WONT | DO | DONT) => State::Verb(b),
                (State::Iac, SB) => {
                    self.flush_data(&mut out);
                    self.sub.clear();
                    State::Sub
                }
                // NOP, GA, BRK and the like carry nothing a serial line needs.
                (State::Iac, _) => State::Data,
                (State::Verb(verb), option) => {
                    self.flush_data(&mut out);
                    out.push(Event::Negotiate { verb, option });
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    self.sub.push(b);
                    State::Sub
                }
                (State::SubIac, IAC) => {
                    self.sub.push(IAC);
                    State::Sub
                }
                (State::SubIac, SE) => {
                    out.push(self.finish_sub());
                    State::Data
                }
                // A malformed end: take what there is and go on with the byte as a command.
                (State::SubIac, _) => {
                    out.push(self.finish_sub());
                    State::Data
                }
            };
        }
        self.flush_data(&mut out);
        out
    }

    fn flush_data(&mut self, out: &mut Vec<Event>) {
        if !self.data.is_empty() {
            out.push(Event::Data(std::mem::take(&mut self.data)));
        }
    }

    fn finish_sub(&mut self) -> Event {
        let sub = std::mem::take(&mut self.sub);
        match sub.split_first() {
            Some((&COM_PORT_OPTION, rest)) if !rest.is_empty() => Event::ComPort {
                command: rest[0],
                value: rest[1..].to_vec(),
            },
            _ => Event::OtherSub(sub),
        }
    }
}

/// Serial data for the wire: every 0xFF doubled.
pub fn encode_data(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
}

/// `IAC <verb> <option>`.
pub fn encode_negotiate(verb: u8, option: u8) -> [u8; 3] {
    [IAC, verb, option]
}

/// `IAC SB COM-PORT-OPTION <command> <value, IAC doubled> IAC SE`.
pub fn encode_com_port(command: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![IAC, SB, COM_PORT_OPTION, command];
    encode_data(value, &mut out);
    out.extend([IAC, SE]);
    out
}

/// What a COM-port server supports: which options it takes, and how it answers a negotiation.
/// `None` when nothing needs saying (the peer only confirmed something already agreed; telnet
/// forbids acknowledging acknowledgements, so this server answers each request once).
pub fn server_answer(verb: u8, option: u8) -> Option<[u8; 3]> {
    let supported = matches!(option, BINARY | SGA | COM_PORT_OPTION);
    let reply = match verb {
        WILL if supported => DO,
        WILL => DONT,
        DO if supported => WILL,
        DO => WONT,
        // The peer turned something off: agree.
        WONT => DONT,
        DONT => WONT,
        _ => return None,
    };
    Some(encode_negotiate(reply, option))
}

/// The modem and control lines a COM-port client drives, as the server tracks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lines {
    pub dtr: bool,
    pub rts: bool,
}

/// The line settings a client set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSettings {
    pub baud: u32,
    pub datasize: u8,
    pub parity: u8,
    pub stopsize: u8,
}

/// The server side of a COM-PORT-OPTION session: applies `SET-*` to its state and says what to
/// answer. Values of 0 are queries and are answered with the current setting.
#[derive(Debug, Clone)]
pub struct ComPortServer {
    pub settings: LineSettings,
    pub lines: Lines,
}

impl ComPortServer {
    /// A port at `baud`, 8N1, DTR and RTS off.
    pub fn new(baud: u32) -> Self {
        ComPortServer {
            settings: LineSettings {
                baud,
                datasize: 8,
                parity: 1,
                stopsize: 1,
            },
            lines: Lines {
                dtr: false,
                rts: false,
            },
        }
    }

    /// Apply one client command; returns the reply to send (empty when none is due).
    pub fn handle(&mut self, command: u8, value: &[u8]) -> Vec<u8> {
        let reply = command.wrapping_add(SERVER_OFFSET);
        let byte = value.first().copied().unwrap_or(0);
        match command {
            SET_BAUDRATE => {
                if let Ok(b) = <[u8; 4]>::try_from(value) {
                    let baud = u32::from_be_bytes(b);
                    if baud != 0 {
                        self.settings.baud = baud;
                    }
                }
                encode_com_port(reply, &self.settings.baud.to_be_bytes())
            }
            SET_DATASIZE | SET_PARITY | SET_STOPSIZE => {
                let slot = match command {
                    SET_DATASIZE => &mut self.settings.datasize,
                    SET_PARITY => &mut self.settings.parity,
                    _ => &mut self.settings.stopsize,
                };
                if byte != 0 {
                    *slot = byte;
                }
                encode_com_port(reply, &[*slot])
            }
            SET_CONTROL => {
                let answer = match byte {
                    control::DTR_ON | control::DTR_OFF => {
                        self.lines.dtr = byte == control::DTR_ON;
                        byte
                    }
                    control::RTS_ON | control::RTS_OFF => {
                        self.lines.rts = byte == control::RTS_ON;
                        byte
                    }
                    control::REQUEST_DTR => {
                        if self.lines.dtr {
                            control::DTR_ON
                        } else {
                            control::DTR_OFF
                        }
                    }
                    control::REQUEST_RTS => {
                        if self.lines.rts {
                            control::RTS_ON
                        } else {
                            control::RTS_OFF
                        }
                    }
                    control::REQUEST_FLOW => control::NO_FLOW,
                    // Flow control, BREAK and the rest: acknowledged as asked.
                    other => other,
                };
                encode_com_port(reply, &[answer])
            }
            NOTIFY_MODEMSTATE => encode_com_port(reply, &[self.modem_state()]),
            NOTIFY_LINESTATE => encode_com_port(reply, &[0]),
            PURGE_DATA | SET_LINESTATE_MASK | SET_MODEMSTATE_MASK => {
                encode_com_port(reply, &[byte])
            }
            _ => Vec::new(),
        }
    }

    /// What the board side of the cable shows: carrier, DSR and CTS up (a USB-serial bridge
    /// with nothing wired to them reads them as asserted).
    pub fn modem_state(&self) -> u8 {
        modem::CD | modem::DSR | modem::CTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_pyserial_sends_on_open() {
        // pyserial 3.5 open(): DO ECHO, WILL SGA, DO SGA, WILL COM-PORT, DO COM-PORT, then the
        // baud (115200 = 00 01 C2 00), 8 data bits, parity NONE (1), 1 stop bit, no flow control.
        let mut wire = vec![
            IAC, DO, ECHO, IAC, WILL, SGA, IAC, DO, SGA, IAC, WILL, 44, IAC, DO, 44,
        ];
        wire.extend([IAC, SB, 44, 1, 0x00, 0x01, 0xC2, 0x00, IAC, SE]);
        wire.extend([IAC, SB, 44, 2, 8, IAC, SE, IAC, SB, 44, 3, 1, IAC, SE]);
        wire.extend([IAC, SB, 44, 4, 1, IAC, SE, IAC, SB, 44, 5, 1, IAC, SE]);
        let mut d = Decoder::default();
        // Split at every point: the decoder must not care where reads end.
        let mut events = Vec::new();
        for chunk in wire.chunks(3) {
            events.extend(d.feed(chunk));
        }
        assert_eq!(
            events[..5],
            [
                Event::Negotiate {
                    verb: DO,
                    option: ECHO
                },
                Event::Negotiate {
                    verb: WILL,
                    option: SGA
                },
                Event::Negotiate {
                    verb: DO,
                    option: SGA
                },
                Event::Negotiate {
                    verb: WILL,
                    option: 44
                },
                Event::Negotiate {
                    verb: DO,
                    option: 44
                },
            ]
        );
        assert_eq!(
            events[5],
            Event::ComPort {
                command: SET_BAUDRATE,
                value: vec![0, 1, 0xC2, 0]
            }
        );
        assert_eq!(events.len(), 10);

        let mut s = ComPortServer::new(115_200);
        for e in &events {
            if let Event::Negotiate { verb, option } = *e {
                let a = server_answer(verb, option);
                let want = match option {
                    ECHO => [IAC, WONT, ECHO],
                    _ if verb == DO => [IAC, WILL, option],
                    _ => [IAC, DO, option],
                };
                assert_eq!(a, Some(want));
            }
        }
        // Every SET-* is echoed with code + 100, which is what pyserial waits for.
        assert_eq!(
            s.handle(SET_BAUDRATE, &[0x00, 0x07, 0x08, 0x00]),
            [IAC, SB, 44, 101, 0x00, 0x07, 0x08, 0x00, IAC, SE]
        );
        assert_eq!(s.settings.baud, 460_800);
        assert_eq!(s.handle(SET_DATASIZE, &[8]), [IAC, SB, 44, 102, 8, IAC, SE]);
        assert_eq!(s.handle(SET_CONTROL, &[1]), [IAC, SB, 44, 105, 1, IAC, SE]);
        assert_eq!(s.handle(PURGE_DATA, &[1]), [IAC, SB, 44, 112, 1, IAC, SE]);
    }

    #[test]
    fn set_control_drives_dtr_and_rts() {
        let mut s = ComPortServer::new(115_200);
        // esptool's classic reset: DTR off, RTS on (EN low); then DTR on, RTS off (GPIO0 low).
        assert_eq!(
            s.handle(SET_CONTROL, &[control::DTR_OFF]),
            [IAC, SB, 44, 105, 9, IAC, SE]
        );
        s.handle(SET_CONTROL, &[control::RTS_ON]);
        assert_eq!(
            s.lines,
            Lines {
                dtr: false,
                rts: true
            }
        );
        s.handle(SET_CONTROL, &[control::DTR_ON]);
        s.handle(SET_CONTROL, &[control::RTS_OFF]);
        assert_eq!(
            s.lines,
            Lines {
                dtr: true,
                rts: false
            }
        );
        assert_eq!(
            s.handle(SET_CONTROL, &[control::REQUEST_DTR]),
            [IAC, SB, 44, 105, control::DTR_ON, IAC, SE]
        );
        assert_eq!(
            s.handle(NOTIFY_MODEMSTATE, &[]),
            [IAC, SB, 44, 107, 0xB0, IAC, SE]
        );
    }

    #[test]
    fn iac_in_data_is_doubled_and_folded() {
        let mut wire = Vec::new();
        encode_data(&[0xC0, 0xFF, 0x01, 0xFF], &mut wire);
        assert_eq!(wire, [0xC0, 0xFF, 0xFF, 0x01, 0xFF, 0xFF]);
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &wire {
            for e in d.feed(&[*b]) {
                if let Event::Data(x) = e {
                    got.extend(x);
                }
            }
        }
        assert_eq!(got, [0xC0, 0xFF, 0x01, 0xFF]);
        // An IAC inside a subnegotiation value (a baud with an 0xFF byte) is doubled too.
        assert_eq!(
            encode_com_port(101, &[0, 0, 0xFF, 0]),
            [IAC, SB, 44, 101, 0, 0, 0xFF, 0xFF, 0, IAC, SE]
        );
        let e = Decoder::default().feed(&[IAC, SB, 44, 1, 0, 0, 0xFF, 0xFF, 0, IAC, SE]);
        assert_eq!(
            e,
            [Event::ComPort {
                command: 1,
                value: vec![0, 0, 0xFF, 0]
            }]
        );
    }
}
