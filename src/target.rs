//! `HOST[:PORT]` targets as users type them (pure: no resolving, no dialing): names, IPv4, IPv6
//! literals (bare or bracketed), and pasted `https://host/path` URLs.

use std::net::IpAddr;

use crate::error::{Error, Result};

/// Where to connect, and under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The name used for SNI, the hostname check and the `Host` header.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Dial this `ADDR:PORT` instead of resolving `host` (like `curl --resolve`).
    pub connect: Option<String>,
}

impl Target {
    /// Parse `HOST[:PORT]`; `default_port` applies when none is given.
    pub fn parse(text: &str, default_port: u16) -> Result<Self> {
        let (host, port) = Self::parse_parts(text)?;
        Ok(Target {
            host,
            port: port.unwrap_or(default_port),
            connect: None,
        })
    }

    /// Parse `HOST[:PORT]` into the host and the port, if one was written.
    pub fn parse_parts(text: &str) -> Result<(String, Option<u16>)> {
        let bad = |why: &str| Error::Usage(format!("invalid target `{text}`: {why}"));
        let mut t = text.trim();
        for scheme in ["https://", "http://", "wss://"] {
            if let Some(rest) = t.strip_prefix(scheme) {
                t = rest;
            }
        }
        if let Some(slash) = t.find('/') {
            t = &t[..slash];
        }
        if t.is_empty() {
            return Err(bad("empty host"));
        }
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("unexpected text after `]`")),
            };
            (h, port)
        } else if t.matches(':').count() > 1 {
            // A bare IPv6 literal has no room for a port.
            (t, None)
        } else {
            match t.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (t, None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("bad port"))?,
            ),
            None => None,
        };
        if host.parse::<IpAddr>().is_err()
            && rustls_pki_types::DnsName::try_from(host.to_owned()).is_err()
        {
            return Err(bad("not a host name or IP address"));
        }
        Ok((host.trim_end_matches('.').to_owned(), port))
    }

    /// What to dial: `--connect` when given, else host and port.
    pub fn dial_addr(&self) -> String {
        match &self.connect {
            Some(c) => c.clone(),
            None if self.host.contains(':') => format!("[{}]:{}", self.host, self.port),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// `host:port` for messages, with brackets around IPv6.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;

    #[test]
    fn forms_users_type() {
        let t = Target::parse("api.github.com", 443).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("api.github.com", 443));
        let t = Target::parse("example.org:8443", 443).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("example.org", 8443));
        let t = Target::parse("[::1]:8443", 443).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.display()),
            ("::1", 8443, "[::1]:8443".to_owned())
        );
        let t = Target::parse("::1", 443).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        let t = Target::parse("https://api.github.com/repos/x", 443).unwrap();
        assert_eq!(t.host, "api.github.com");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "host:0", "host:99999", "host:x", "[::1", "bad host"] {
            assert!(Target::parse(bad, 443).is_err(), "{bad}");
        }
    }
}
