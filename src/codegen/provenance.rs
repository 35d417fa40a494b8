//! The comment block every generated file opens with: where the pins came from, every
//! certificate's subject and expiry, and the date before which to regenerate. Dates only, never
//! "days left": the bytes must not depend on when they were generated.

use super::{HostPins, REGENERATE_MARGIN_DAYS, Stamp, role_word};
use crate::cert::Role;
use crate::cert::advice::{date, rfc3339};

/// Lines (without comment markers) that open the file.
pub fn preamble(stamp: &Stamp, what: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "{what}, written by `espcheck gen-cert-header` {}. Do not edit: regenerate.",
        stamp.tool_version
    )];
    if let Some(t) = stamp.generated_at {
        lines.push(format!("Generated {} (SOURCE_DATE_EPOCH).", rfc3339(t)));
    }
    lines
}

/// Lines describing one host's chain and pins.
pub fn host(h: &HostPins, symbols: &str) -> Vec<String> {
    let src = &h.source;
    let mut lines = Vec::new();
    let title = match &src.host {
        Some(host) if *host != src.origin => format!("{host}, from {}", src.origin),
        Some(host) => host.clone(),
        None => src.origin.clone(),
    };
    lines.push(sanitize(&format!("{title} ({symbols}):")));
    for e in &src.chain.entries {
        let note = if e.sent {
            ""
        } else {
            " (not sent by the server; from a local trust store)"
        };
        lines.push(format!(
            "  certificate {}  {:<12}  expires {}  {}{note}",
            e.index,
            role_word(e.role),
            date(e.cert.not_after),
            sanitize(&e.cert.subject)
        ));
    }
    if let Some(leaf) = &h.leaf {
        lines.push(format!(
            "FINGERPRINT_*: the leaf's SHA-1/SHA-256 (expires {}); a fingerprint pin breaks at \
             every reissue.",
            date(leaf.not_after)
        ));
    }
    for p in &h.pinned {
        lines.push(format!(
            "CA_PEM: certificate {} ({}, --pin {}); {}.",
            p.index,
            role_word(p.role),
            h.choice.as_str(),
            breaks_when(p.role)
        ));
    }
    if let Some(before) = h.regenerate_before() {
        lines.push(format!(
            "Regenerate before {}: the earliest expiry of what is pinned, minus {} days.",
            date(before),
            REGENERATE_MARGIN_DAYS
        ));
    }
    lines
}

fn breaks_when(role: Role) -> &'static str {
    match role {
        Role::Leaf => "direct trust in the leaf, which breaks at every reissue",
        Role::Intermediate => "breaks when the CA rotates its intermediates or the site changes CA",
        Role::Root => "breaks when the site changes CA",
    }
}

/// Text safe inside a `//` comment in C, C++ and Rust: no control characters, no trailing
/// backslash (a line splice would swallow the next line), no `??` (a C99 trigraph).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push('/'),
            c if c.is_control() => out.push(' '),
            _ => out.push(c),
        }
    }
    while out.contains("??") {
        out = out.replace("??", "?.?");
    }
    out
}

/// Prefix every line with `// ` (or `//` for an empty line).
pub fn comment(lines: &[String]) -> String {
    let mut out = String::new();
    for l in lines {
        if l.is_empty() {
            out.push_str("//\n");
        } else {
            out.push_str("// ");
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn comments_cannot_be_escaped() {
        assert_eq!(sanitize("CN=a\\"), "CN=a/");
        assert_eq!(sanitize("O=x\ny"), "O=x y");
        assert_eq!(sanitize("O=what??/"), "O=what?.?/");
    }
}
