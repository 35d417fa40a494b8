//! Symbol names from `--name`: `api.github.com` → C prefix `API_GITHUB_COM_`, Rust module
//! `api_github_com` (a contract: firmware refers to these names, so they never change).

/// Rust keywords that cannot name a module without `r#`.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Lower-case words of `name` joined by `_`: every run of characters that cannot be in an
/// identifier becomes one `_`. A leading digit (an IP address) gets `host_` in front, since
/// neither language allows it and a leading `_` + capital is reserved in C.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed = out.trim_matches('_');
    if trimmed.is_empty() {
        return "pins".to_owned();
    }
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("host_{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// The C symbol prefix, with its trailing `_`.
pub fn c_prefix(name: &str) -> String {
    let mut p = snake(name).to_ascii_uppercase();
    p.push('_');
    p
}

/// The Rust module name.
pub fn rust_module(name: &str) -> String {
    let s = snake(name);
    if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_pins")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        assert_eq!(c_prefix("api.github.com"), "API_GITHUB_COM_");
        assert_eq!(rust_module("api.github.com"), "api_github_com");
    }

    #[test]
    fn awkward_names_still_make_identifiers() {
        assert_eq!(c_prefix("127.0.0.1"), "HOST_127_0_0_1_");
        assert_eq!(rust_module("::1"), "host_1");
        assert_eq!(rust_module("*.example.org"), "example_org");
        assert_eq!(rust_module("self"), "self_pins");
        assert_eq!(c_prefix("--"), "PINS_");
        assert_eq!(rust_module("My-Server.local"), "my_server_local");
    }
}
