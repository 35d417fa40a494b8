//! A raw TLS 1.2 ClientHello builder and a parser for the server's first flight (ServerHello,
//! Certificate, ServerHelloDone, or an alert). Sans-IO. In TLS 1.2 the certificate chain travels in
//! the clear, so a probe can read it and abort without finishing the handshake.

/// What to put in a ClientHello.
#[derive(Debug, Clone)]
pub struct ClientHello<'a> {
    /// Cipher suites, in preference order.
    pub suites: &'a [u16],
    /// SNI host name; `None` sends no SNI (as BearSSL's `probeMaxFragmentLength` does).
    pub sni: Option<&'a str>,
    /// supported_groups.
    pub groups: &'a [u16],
    /// signature_algorithms.
    pub sig_algs: &'a [u16],
    /// max_fragment_length code: 1 = 512, 2 = 1024, 3 = 2048, 4 = 4096.
    pub mfln: Option<u8>,
    /// client_random.
    pub random: [u8; 32],
}

/// TLS extension numbers used here.
mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const MAX_FRAGMENT_LENGTH: u16 = 0x0001;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// The MFLN code for a fragment length, if it is one of the four RFC 6066 sizes.
pub fn mfln_code(len: u16) -> Option<u8> {
    match len {
        512 => Some(1),
        1024 => Some(2),
        2048 => Some(3),
        4096 => Some(4),
        _ => None,
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_be_bytes()[1..]);
}

fn put_ext(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    put_u16(out, kind);
    put_u16(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut b = Vec::with_capacity(2 + items.len() * 2);
    put_u16(&mut b, (items.len() * 2) as u16);
    for i in items {
        put_u16(&mut b, *i);
    }
    b
}

impl ClientHello<'_> {
    /// The whole TLS record carrying this ClientHello.
    pub fn to_record(&self) -> Vec<u8> {
        let mut exts = Vec::new();
        if let Some(name) = self.sni {
            let mut b = Vec::new();
            put_u16(&mut b, (name.len() + 3) as u16);
            b.push(0);
            put_u16(&mut b, name.len() as u16);
            b.extend_from_slice(name.as_bytes());
            put_ext(&mut exts, ext::SERVER_NAME, &b);
        }
        if let Some(code) = self.mfln {
            put_ext(&mut exts, ext::MAX_FRAGMENT_LENGTH, &[code]);
        }
        put_ext(&mut exts, ext::SUPPORTED_GROUPS, &u16_list(self.groups));
        put_ext(&mut exts, ext::EC_POINT_FORMATS, &[1, 0]);
        put_ext(
            &mut exts,
            ext::SIGNATURE_ALGORITHMS,
            &u16_list(self.sig_algs),
        );
        put_ext(&mut exts, ext::RENEGOTIATION_INFO, &[0]);

        let mut body = vec![3, 3];
        body.extend_from_slice(&self.random);
        body.push(0); // no session id
        body.extend_from_slice(&u16_list(self.suites));
        body.extend_from_slice(&[1, 0]); // compression: null only
        put_u16(&mut body, exts.len() as u16);
        body.extend_from_slice(&exts);

        let mut hs = vec![1];
        put_u24(&mut hs, body.len());
        hs.extend_from_slice(&body);

        let mut record = vec![22, 3, 1];
        put_u16(&mut record, hs.len() as u16);
        record.extend_from_slice(&hs);
        record
    }
}

/// The fields of a ServerHello a probe cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// Negotiated protocol version (0x0303 = TLS 1.2).
    pub version: u16,
    /// Chosen cipher suite.
    pub suite: u16,
    /// Extensions as (type, body).
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl ServerHello {
    /// The negotiated version as users read it: `TLS 1.0` … `TLS 1.3`, else the code point.
    pub fn version_name(&self) -> String {
        match self.version {
            0x0300 => "SSL 3.0".to_owned(),
            0x0301 => "TLS 1.0".to_owned(),
            0x0302 => "TLS 1.1".to_owned(),
            0x0303 => "TLS 1.2".to_owned(),
            0x0304 => "TLS 1.3".to_owned(),
            other => format!("version {other:#06x}"),
        }
    }

    /// The echoed max_fragment_length code, when the extension is present with length 1.
    pub fn mfln(&self) -> Option<u8> {
        self.extensions
            .iter()
            .find(|(k, v)| *k == ext::MAX_FRAGMENT_LENGTH && v.len() == 1)
            .map(|(_, v)| v[0])
    }
}

/// A TLS alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// The alert description code.
    pub description: u8,
}

impl Alert {
    /// The alert's RFC name.
    pub fn name(&self) -> &'static str {
        match self.description {
            0 => "close_notify",
            10 => "unexpected_message",
            20 => "bad_record_mac",
            22 => "record_overflow",
            40 => "handshake_failure",
            42 => "bad_certificate",
            47 => "illegal_parameter",
            50 => "decode_error",
            70 => "protocol_version",
            71 => "insufficient_security",
            80 => "internal_error",
            86 => "inappropriate_fallback",
            109 => "missing_extension",
            110 => "unsupported_extension",
            112 => "unrecognized_name",
            _ => "unknown alert",
        }
    }
}

/// What the server answered so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFlight {
    /// The ServerHello, once seen.
    pub hello: Option<ServerHello>,
    /// The certificate chain (DER, in order sent), once seen.
    pub certificates: Option<Vec<Vec<u8>>>,
    /// The size of the Certificate message body, in bytes.
    pub certificate_bytes: usize,
    /// An alert, if the server sent one.
    pub alert: Option<Alert>,
    /// ServerHelloDone was seen.
    pub done: bool,
}

impl ServerFlight {
    /// Nothing more worth reading: an alert, ServerHelloDone, or the certificates.
    pub fn is_complete(&self) -> bool {
        self.alert.is_some() || self.done || self.certificates.is_some()
    }
}

/// Why the server's bytes are not TLS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlightError {
    /// Not a TLS record at all.
    #[error("the server did not answer with TLS (record type {0:#04x})")]
    NotTls(u8),
    /// A message is malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// Larger than any sane first flight.
    #[error("the server's first flight is larger than {0} bytes")]
    TooLarge(usize),
}

/// Largest first flight accepted (a 10-certificate chain of 4096-bit RSA is ~20 KB).
pub const MAX_FLIGHT: usize = 256 * 1024;

/// Parse as much of the server's first flight as `bytes` holds. Call again with more bytes until
/// `is_complete()`; a partial record is simply not parsed yet.
pub fn parse_flight(bytes: &[u8]) -> Result<ServerFlight, FlightError> {
    if bytes.len() > MAX_FLIGHT {
        return Err(FlightError::TooLarge(MAX_FLIGHT));
    }
    let mut flight = ServerFlight::default();
    let mut handshake = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let kind = rest[0];
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        if !(matches!(kind, 20..=23) && rest[1] == 3) {
            return Err(FlightError::NotTls(kind));
        }
        if rest.len() < 5 + len {
            break;
        }
        let body = &rest[5..5 + len];
        rest = &rest[5 + len..];
        match kind {
            21 if body.len() >= 2 => {
                flight.alert = Some(Alert {
                    level: body[0],
                    description: body[1],
                });
                return Ok(flight);
            }
            21 => return Err(FlightError::Malformed("alert")),
            22 => handshake.extend_from_slice(body),
            _ => {}
        }
    }
    parse_handshake(&handshake, &mut flight)?;
    Ok(flight)
}

fn parse_handshake(mut hs: &[u8], flight: &mut ServerFlight) -> Result<(), FlightError> {
    while hs.len() >= 4 {
        let kind = hs[0];
        let len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
        if hs.len() < 4 + len {
            return Ok(());
        }
        let body = &hs[4..4 + len];
        hs = &hs[4 + len..];
        match kind {
            2 => flight.hello = Some(parse_server_hello(body)?),
            11 => {
                flight.certificate_bytes = body.len();
                flight.certificates = Some(parse_certificates(body)?);
            }
            14 => flight.done = true,
            _ => {}
        }
    }
    Ok(())
}

/// A cursor over a byte slice that reports truncation as `Malformed(what)`.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FlightError> {
        if self.bytes.len() < n {
            return Err(FlightError::Malformed(self.what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, FlightError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, FlightError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<usize, FlightError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize)
    }
}

fn parse_server_hello(body: &[u8]) -> Result<ServerHello, FlightError> {
    let mut r = Reader {
        bytes: body,
        what: "ServerHello",
    };
    let version = r.u16()?;
    r.take(32)?;
    let sid = r.u8()? as usize;
    r.take(sid)?;
    let suite = r.u16()?;
    r.u8()?;
    let mut extensions = Vec::new();
    if !r.bytes.is_empty() {
        let total = r.u16()? as usize;
        let mut e = Reader {
            bytes: r.take(total)?,
            what: "ServerHello extensions",
        };
        while !e.bytes.is_empty() {
            let kind = e.u16()?;
            let len = e.u16()? as usize;
            extensions.push((kind, e.take(len)?.to_vec()));
        }
    }
    Ok(ServerHello {
        version,
        suite,
        extensions,
    })
}

fn parse_certificates(body: &[u8]) -> Result<Vec<Vec<u8>>, FlightError> {
    let mut r = Reader {
        bytes: body,
        what: "Certificate message",
    };
    let total = r.u24()?;
    let mut list = Reader {
        bytes: r.take(total)?,
        what: "certificate list",
    };
    let mut certs = Vec::new();
    while !list.bytes.is_empty() {
        let len = list.u24()?;
        certs.push(list.take(len)?.to_vec());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn server_flight(mfln: Option<u8>, certs: &[&[u8]]) -> Vec<u8> {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[7; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2b, 0]);
        let mut exts = Vec::new();
        if let Some(code) = mfln {
            exts.extend_from_slice(&[0, 1, 0, 1, code]);
        }
        sh.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        sh.extend_from_slice(&exts);
        let mut hs = vec![2];
        put_u24(&mut hs, sh.len());
        hs.extend_from_slice(&sh);
        let mut list = Vec::new();
        for c in certs {
            put_u24(&mut list, c.len());
            list.extend_from_slice(c);
        }
        let mut cert_body = Vec::new();
        put_u24(&mut cert_body, list.len());
        cert_body.extend_from_slice(&list);
        hs.push(11);
        put_u24(&mut hs, cert_body.len());
        hs.extend_from_slice(&cert_body);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        record(22, &hs)
    }

    #[test]
    fn client_hello_is_well_formed() {
        let hello = ClientHello {
            suites: &[0xc02b, 0x002f],
            sni: Some("api.github.com"),
            groups: &[29, 23],
            sig_algs: &[0x0403],
            mfln: Some(1),
            random: [0; 32],
        };
        let rec = hello.to_record();
        assert_eq!(&rec[..3], &[22, 3, 1]);
        assert_eq!(u16::from_be_bytes([rec[3], rec[4]]) as usize, rec.len() - 5);
        assert_eq!(rec[5], 1, "ClientHello");
        assert!(rec.windows(14).any(|w| w == b"api.github.com"));
        assert!(
            rec.windows(5).any(|w| w == [0, 1, 0, 1, 1]),
            "MFLN 512 requested"
        );
        let no_sni = ClientHello { sni: None, ..hello }.to_record();
        assert!(!no_sni.windows(14).any(|w| w == b"api.github.com"));
    }

    #[test]
    fn parses_hello_certificates_and_mfln() {
        let bytes = server_flight(Some(1), &[b"leaf", b"inter"]);
        let flight = parse_flight(&bytes).unwrap();
        let hello = flight.hello.as_ref().unwrap();
        assert_eq!(
            (hello.version, hello.suite, hello.mfln()),
            (0x0303, 0xc02b, Some(1))
        );
        assert_eq!(
            flight.certificates.unwrap(),
            vec![b"leaf".to_vec(), b"inter".to_vec()]
        );
        assert!(flight.done);
    }

    #[test]
    fn partial_input_is_incomplete_not_an_error() {
        let bytes = server_flight(None, &[b"leaf"]);
        for cut in 0..bytes.len() {
            let flight = parse_flight(&bytes[..cut]).unwrap();
            assert!(!flight.done);
        }
    }

    #[test]
    fn alerts_and_garbage() {
        let flight = parse_flight(&record(21, &[2, 70])).unwrap();
        assert_eq!(flight.alert.map(|a| a.name()), Some("protocol_version"));
        assert_eq!(
            parse_flight(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(FlightError::NotTls(b'H'))
        );
    }

    #[test]
    fn fuzzed_flights_never_panic() {
        let good = server_flight(Some(2), &[b"abc", b"defgh"]);
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..20_000 {
            let mut b = good.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let i = seed as usize % b.len();
                b[i] = (seed >> 8) as u8;
            }
            let _ = parse_flight(&b);
        }
    }
}
