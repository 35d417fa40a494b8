//! `probe`: talk to a server the way each board does and say whether it will work.
//!
//! Each board profile sends its own TLS 1.2 ClientHello and reads the server's first flight in the
//! clear; TLS 1.2/1.3 support comes from real rustls handshakes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::hello::{ServerFlight, mfln_code, parse_flight};
use super::profile::{BoardProfile, PROFILES, suite_name};
use crate::cert::{Certificate, KeyKind};
use crate::error::{Error, Result};
use crate::target::Target;

/// MFLN sizes a board can ask for.
pub const MFLN_SIZES: [u16; 4] = [512, 1024, 2048, 4096];

/// How one board profile fared.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileResult {
    pub name: &'static str,
    pub ok: bool,
    pub cipher: Option<String>,
    /// The protocol version the server chose for this profile's ClientHello (`TLS 1.2`).
    pub version: Option<String>,
    pub leaf_sha1: Option<String>,
    /// Leaf key, e.g. `RSA 2048`.
    pub leaf_key: Option<String>,
    /// Size of the Certificate message the board must digest.
    pub chain_bytes: Option<usize>,
    pub why: String,
    /// Estimated heap for one connection, in bytes.
    pub heap_estimate: Option<u32>,
    /// Recommended `setBufferSizes(rx, tx)` (ESP8266 profiles).
    pub buffer_sizes: Option<[u32; 2]>,
}

/// The whole probe report (`probe --json`: fields are added, never renamed).
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub host: String,
    pub port: u16,
    pub tls12: bool,
    pub tls13: bool,
    pub mfln: BTreeMap<String, bool>,
    pub mfln_without_sni: BTreeMap<String, bool>,
    pub profiles: Vec<ProfileResult>,
}

fn random32() -> [u8; 32] {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x2545_f491_4f6c_dd1d)
        | 1;
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    out
}

/// Send `profile`'s ClientHello and read the first flight. `sni` false imitates
/// `probeMaxFragmentLength`; `mfln` asks for a fragment length code.
pub async fn exchange(
    target: &Target,
    profile: &BoardProfile,
    sni: bool,
    mfln: Option<u8>,
    timeout: Duration,
) -> Result<ServerFlight> {
    let what = target.display();
    let run = async {
        let mut tcp = super::capture::connect(target).await?;
        let name = sni
            .then_some(target.host.as_str())
            .filter(|h| h.parse::<std::net::IpAddr>().is_err());
        let hello = profile.hello(name, mfln, random32()).to_record();
        tcp.write_all(&hello)
            .await
            .map_err(|e| Error::env(&what, crate::util::io_reason(&e)))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16384];
        loop {
            let flight = parse_flight(&buf).map_err(|e| Error::env(&what, e))?;
            if flight.is_complete() {
                return Ok(flight);
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return Ok(flight),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| Error::timeout(&what, timeout))?
}

/// Probe `target` with every board profile, MFLN sizes with and without SNI, and TLS 1.2/1.3.
pub async fn probe(target: &Target, timeout: Duration) -> Result<ProbeReport> {
    // Fail fast, with the right exit code, when the server is not there at all.
    let first = exchange(target, &PROFILES[0], true, Some(1), timeout).await?;
    let tls12 = super::capture::capture_versions(target, timeout, &[&rustls::version::TLS12])
        .await
        .is_ok();
    let tls13 = super::capture::capture_versions(target, timeout, &[&rustls::version::TLS13])
        .await
        .is_ok();
    if first.hello.is_none() && first.alert.is_none() && !tls12 && !tls13 {
        // No ClientHello at all got an answer: the server is broken or not TLS, which is an
        // environment failure, not a "no" for each board.
        return Err(Error::env(
            target.display(),
            "the server closed the connection mid-handshake, whichever ClientHello it was sent",
        ));
    }
    let mut mfln = BTreeMap::new();
    let mut mfln_without_sni = BTreeMap::new();
    for size in MFLN_SIZES {
        let code = mfln_code(size);
        for (sni, map) in [(true, &mut mfln), (false, &mut mfln_without_sni)] {
            let accepted = exchange(target, &PROFILES[0], sni, code, timeout)
                .await
                .ok()
                .and_then(|f| f.hello)
                .and_then(|h| h.mfln())
                == code;
            map.insert(size.to_string(), accepted);
        }
    }
    let mut profiles = Vec::new();
    for profile in PROFILES {
        let flight = if profile.name == PROFILES[0].name {
            first.clone()
        } else {
            let mfln = profile.requests_mfln.then_some(1);
            exchange(target, profile, true, mfln, timeout).await?
        };
        let server = Server {
            tls12,
            tls13,
            mfln512: mfln.get("512").copied().unwrap_or(false),
        };
        profiles.push(judge(profile, &flight, server));
    }
    Ok(ProbeReport {
        host: target.host.clone(),
        port: target.port,
        tls12,
        tls13,
        mfln,
        mfln_without_sni,
        profiles,
    })
}

/// What the server was seen to support, apart from the flight being judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// It completes a TLS 1.2 handshake.
    pub tls12: bool,
    /// It completes a TLS 1.3 handshake.
    pub tls13: bool,
    /// It acknowledges a 512-byte maximum fragment length.
    pub mfln512: bool,
}

impl Server {
    /// A server that speaks TLS 1.2 and nothing more is known of it.
    pub const TLS12_ONLY: Server = Server {
        tls12: true,
        tls13: false,
        mfln512: false,
    };
}

/// Decide whether `profile` works given its first flight. Pure.
pub fn judge(profile: &BoardProfile, flight: &ServerFlight, server: Server) -> ProfileResult {
    let Server {
        tls12,
        tls13,
        mfln512,
    } = server;
    let mut result = ProfileResult {
        name: profile.name,
        ok: false,
        cipher: None,
        version: None,
        leaf_sha1: None,
        leaf_key: None,
        chain_bytes: None,
        why: String::new(),
        heap_estimate: None,
        buffer_sizes: None,
    };
    if let Some(alert) = flight.alert {
        result.why = if !tls12 && tls13 {
            format!(
                "the server speaks only TLS 1.3 (alert {}); the board's TLS stops at TLS 1.2",
                alert.name()
            )
        } else if alert.description == 40 {
            format!(
                "alert handshake_failure: no cipher suite in common with the {} list{}",
                profile.name,
                if profile
                    .suites
                    .iter()
                    .all(|s| suite_name(*s).starts_with("TLS_RSA_"))
                {
                    " (only static-RSA suites: the server needs an RSA certificate)"
                } else {
                    ""
                }
            )
        } else {
            format!("the server refused the handshake: alert {}", alert.name())
        };
        return result;
    }
    let Some(hello) = &flight.hello else {
        result.why = if !tls12 && tls13 {
            "the server speaks only TLS 1.3; the board's TLS stops at TLS 1.2".to_owned()
        } else {
            "the server closed the connection without a ServerHello".to_owned()
        };
        return result;
    };
    result.cipher = Some(suite_name(hello.suite));
    result.version = Some(hello.version_name());
    if hello.version != 0x0303 && profile.strict_chain {
        result.why = format!(
            "the server chose {:#06x}; ESP32 Arduino builds speak only TLS 1.2",
            hello.version
        );
        return result;
    }
    if !profile.suites.contains(&hello.suite) {
        result.why = format!(
            "the server chose {} which the board did not offer",
            suite_name(hello.suite)
        );
        return result;
    }
    if profile.requests_mfln
        && let Some(code) = hello.mfln()
        && code != 1
    {
        result.why = "the server echoed a different max_fragment_length: BearSSL fails with \
                      BR_ERR_BAD_FRAGLEN"
            .to_owned();
        return result;
    }
    let certs: Vec<Certificate> = flight
        .certificates
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let Some(leaf) = certs.first() else {
        result.why = "the server sent no certificate".to_owned();
        return result;
    };
    result.leaf_sha1 = Some(leaf.sha1.colon());
    result.leaf_key = Some(leaf.key.clone());
    result.chain_bytes = Some(flight.certificate_bytes);
    if let Some(problem) = limits(profile, &certs) {
        result.why = problem;
        return result;
    }
    let (heap, buffers) = heap_estimate(profile, mfln512);
    result.heap_estimate = Some(heap);
    result.buffer_sizes = buffers;
    result.ok = true;
    result.why = format!(
        "{} with {}; leaf {}; {} bytes of certificates",
        hello.version_name(),
        suite_name(hello.suite),
        leaf.key,
        flight.certificate_bytes
    );
    result
}

/// Certificate limits of the board's TLS library.
fn limits(profile: &BoardProfile, certs: &[Certificate]) -> Option<String> {
    for (i, c) in certs.iter().enumerate() {
        match c.key_kind {
            KeyKind::Rsa(bits) if bits > profile.max_rsa_bits => {
                return Some(format!(
                    "certificate {i} has RSA {bits}; the board handles at most {}",
                    profile.max_rsa_bits
                ));
            }
            KeyKind::Ed25519 | KeyKind::Ed448 | KeyKind::Other => {
                return Some(format!(
                    "certificate {i} has a {} key the board cannot verify",
                    c.key
                ));
            }
            _ => {}
        }
        let is_anchor = c.self_signed;
        if profile.strict_chain && !is_anchor {
            if c.signature.to_ascii_lowercase().contains("sha1") {
                return Some(format!(
                    "certificate {i} is SHA-1-signed: mbedTLS rejects it"
                ));
            }
            if matches!(c.key_kind, KeyKind::Rsa(b) if b < 2048) {
                return Some(format!(
                    "certificate {i} has RSA under 2048 bits: mbedTLS rejects it"
                ));
            }
        }
    }
    None
}

/// Heap for one connection (BearSSL and mbedTLS as the cores configure them). BearSSL needs its record buffers plus ~4.5 KB of
/// engine state: 16709 in + 597 out by default; with MFLN 512 honoured, 512/512 buffers suffice.
fn heap_estimate(profile: &BoardProfile, mfln512: bool) -> (u32, Option<[u32; 2]>) {
    const BEARSSL_STATE: u32 = 4_500;
    if profile.requests_mfln {
        if mfln512 {
            (512 + 325 + 512 + 85 + BEARSSL_STATE, Some([512, 512]))
        } else {
            (16_384 + 325 + 512 + 85 + BEARSSL_STATE, Some([16_384, 512]))
        }
    } else {
        // mbedTLS with IDF defaults (16 KB in, 4 KB out, plus handshake state).
        (42_000, None)
    }
}

impl ProbeReport {
    /// Human text.
    pub fn render_text(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let yes = |b: bool| if b { "yes" } else { "no" };
        writeln!(out, "{}:{}", self.host, self.port)?;
        writeln!(
            out,
            "  TLS 1.2 {}  TLS 1.3 {}",
            yes(self.tls12),
            yes(self.tls13)
        )?;
        let sizes = |m: &BTreeMap<String, bool>| {
            MFLN_SIZES
                .iter()
                .map(|s| {
                    format!(
                        "{s}:{}",
                        yes(m.get(&s.to_string()).copied().unwrap_or(false))
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(
            out,
            "  max_fragment_length with SNI     {}",
            sizes(&self.mfln)
        )?;
        writeln!(
            out,
            "  max_fragment_length without SNI  {}  (what probeMaxFragmentLength sees)",
            sizes(&self.mfln_without_sni)
        )?;
        for p in &self.profiles {
            writeln!(out)?;
            writeln!(
                out,
                "  {:<20} {}",
                p.name,
                if p.ok { "OK" } else { "FAILS" }
            )?;
            writeln!(out, "    {}", p.why)?;
            if let Some(fp) = &p.leaf_sha1 {
                writeln!(out, "    leaf SHA-1 {fp}")?;
            }
            if let Some(heap) = p.heap_estimate {
                writeln!(out, "    heap ~{} KB per connection", heap.div_ceil(1024))?;
            }
            if let Some([rx, tx]) = p.buffer_sizes {
                writeln!(out, "    client.setBufferSizes({rx}, {tx});")?;
            }
        }
        Ok(())
    }
}
