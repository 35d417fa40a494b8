//! Which host each pin goes with. A file that names one host (or its own `HOST` symbol) binds
//! every pin to it. A sketch that names several binds each pin to the host of the call it is used
//! in (`client.setCACert(ca); client.connect(host, 443)`), else to the host written nearest to it.

use super::context::{HOST_CALLS, URL_CALLS, context};
use super::found::{Pin, PinSet};
use super::lex::{Tok, Token};

/// A pin where it was found.
#[derive(Debug, Clone)]
pub(super) struct Placed {
    pub group: String,
    /// Index of its literal in the token stream.
    pub index: usize,
    pub pin: Pin,
}

/// A host named in the file.
#[derive(Debug, Clone)]
pub(super) struct HostSeen {
    pub group: String,
    /// The variable it is assigned to (`host`, `mqtt_server`), if any.
    pub name: Option<String>,
    pub index: usize,
    pub line: usize,
    pub host: String,
    pub port: Option<u16>,
    /// The file's own `HOST` / `*_HOST` symbol: it wins over every other host in the group.
    pub strong: bool,
}

/// How far after a pin's use to look for the call that dials a host, in tokens.
const USE_WINDOW: usize = 200;

/// Group the pins into sets, one per group and host.
pub(super) fn bind(
    toks: &[Token],
    placed: Vec<Placed>,
    hosts: &[HostSeen],
    ports: &[(String, u16)],
) -> Vec<PinSet> {
    let mut groups: Vec<(usize, &str)> = placed
        .iter()
        .map(|p| (p.index, p.group.as_str()))
        .chain(hosts.iter().map(|h| (h.index, h.group.as_str())))
        .collect();
    groups.sort_by_key(|(i, _)| *i);
    let mut order: Vec<String> = Vec::new();
    for (_, g) in groups {
        if !order.iter().any(|o| o == g) {
            order.push(g.to_owned());
        }
    }
    let mut sets = Vec::new();
    for group in order {
        let in_group: Vec<&HostSeen> = hosts.iter().filter(|h| h.group == group).collect();
        let port = ports.iter().find(|(g, _)| *g == group).map(|(_, p)| *p);
        let pins: Vec<&Placed> = placed.iter().filter(|p| p.group == group).collect();
        let mut distinct: Vec<&str> = Vec::new();
        for h in &in_group {
            if !distinct.contains(&h.host.as_str()) {
                distinct.push(&h.host);
            }
        }
        let strong = in_group.iter().rev().find(|h| h.strong);
        if strong.is_some() || distinct.len() <= 1 {
            let host = strong.or(in_group.first());
            sets.push(PinSet {
                group: group.clone(),
                host: host.map(|h| h.host.clone()),
                port: host.and_then(|h| h.port).or(port),
                pins: dedup(pins.iter().map(|p| p.pin.clone())),
            });
            continue;
        }
        let mut by_host: Vec<(&HostSeen, Vec<Pin>)> = Vec::new();
        for p in pins {
            let Some(h) = used_with(toks, p, &in_group).or_else(|| nearest(p, &in_group)) else {
                continue;
            };
            match by_host.iter_mut().find(|(bh, _)| bh.host == h.host) {
                Some((_, v)) => v.push(p.pin.clone()),
                None => by_host.push((h, vec![p.pin.clone()])),
            }
        }
        for (h, pins) in by_host {
            sets.push(PinSet {
                group: group.clone(),
                host: Some(h.host.clone()),
                port: h.port.or(port),
                pins: dedup(pins.into_iter()),
            });
        }
    }
    sets
}

/// The pins, each value once (a `FINGERPRINT_SHA1` string and its `_BYTES` array are one pin).
fn dedup(pins: impl Iterator<Item = Pin>) -> Vec<Pin> {
    let mut out: Vec<Pin> = Vec::new();
    for p in pins {
        if !out.iter().any(|o| o.kind == p.kind) {
            out.push(p);
        }
    }
    out
}

/// The host of the call that follows the pin's first use: `setFingerprint(fp)` then
/// `connect(host, 443)`, or `setCACert(ca)` then `https.begin(*client, "https://…")`.
fn used_with<'a>(toks: &[Token], p: &Placed, hosts: &[&'a HostSeen]) -> Option<&'a HostSeen> {
    let symbol = p.pin.symbol.as_str();
    let start = if symbol.ends_with("()") {
        p.index
    } else {
        (p.index + 1..toks.len()).find(|&j| {
            toks[j].tok == Tok::Ident(symbol.to_owned()) && context(toks, j).call.is_some()
        })?
    };
    let end = (start + USE_WINDOW).min(toks.len());
    for k in start..end {
        if let Some(h) = hosts.iter().find(|h| h.index == k && h.name.is_none()) {
            return Some(h);
        }
        if let Tok::Ident(n) = &toks[k].tok
            && let Some((call, _)) = context(toks, k).call
            && (HOST_CALLS.contains(&call.as_str()) || URL_CALLS.contains(&call.as_str()))
            && let Some(h) = hosts
                .iter()
                .rev()
                .find(|h| h.name.as_deref() == Some(n.as_str()) && h.index < k)
        {
            return Some(h);
        }
    }
    None
}

/// The host written nearest to the pin (earlier wins a tie).
fn nearest<'a>(p: &Placed, hosts: &[&'a HostSeen]) -> Option<&'a HostSeen> {
    let line = p.pin.line.unwrap_or(0);
    hosts.iter().copied().min_by_key(|h| h.line.abs_diff(line))
}
