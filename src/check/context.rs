//! Where a literal sits in C/C++/Rust source: the symbol it is assigned to, the call it is an
//! argument of, and the Rust module around it. This is how `check` tells `fingerprint = "…"` from
//! `setFingerprint("…")` and groups `API_GITHUB_COM_*` or `mod api_github_com` pins together.

use super::lex::{Tok, Token};

/// Type names, qualifiers and attributes that sit between a symbol and its `=`.
const NOT_A_NAME: &[&str] = &[
    "const",
    "static",
    "char",
    "uint8_t",
    "int8_t",
    "unsigned",
    "signed",
    "int",
    "long",
    "short",
    "auto",
    "constexpr",
    "extern",
    "volatile",
    "PROGMEM",
    "ICACHE_RODATA_ATTR",
    "ESPCHECK_UNUSED",
    "str",
    "u8",
    "pub",
    "let",
    "mut",
    "String",
    "string",
    "std",
    "size_t",
    "uint16_t",
    "uint32_t",
    "int64_t",
    "i64",
    "usize",
    "u16",
    "u32",
    "crate",
    "char8_t",
    "wchar_t",
];

/// Calls that only wrap a literal (`F("…")`); the context is whatever surrounds them.
const WRAPPERS: &[&str] = &[
    "F",
    "PSTR",
    "FPSTR",
    "String",
    "string",
    "include_str",
    "concat",
];

/// Calls whose first argument is the host dialed: `client.connect("HOST", 443)`,
/// `mqtt.setServer(HOST, 8883)`.
pub const HOST_CALLS: &[&str] = &[
    "connect",
    "setServer",
    "beginGet",
    "beginPost",
    // arduinoWebSockets: `beginSSL("host", 443, "/")`, `beginSslWithCA("host", 443, "/", CA)`.
    "beginSSL",
    "beginSslWithCA",
    "beginSslWithBundle",
];

/// Calls that take a URL: `http.begin(client, "https://…")`, `fetch("https://…")`.
pub const URL_CALLS: &[&str] = &["begin", "GET", "fetch", "POST"];

/// What a literal is assigned to or passed to.
#[derive(Debug, Default)]
pub struct Ctx {
    pub name: Option<String>,
    pub call: Option<(String, usize)>,
}

impl Ctx {
    pub fn symbol(&self) -> String {
        match (&self.name, &self.call) {
            (Some(n), _) => n.clone(),
            (None, Some((c, _))) => format!("{c}()"),
            _ => "literal".to_owned(),
        }
    }

    pub fn lower_name(&self) -> String {
        self.name.as_deref().unwrap_or("").to_ascii_lowercase()
    }

    pub fn says_fingerprint(&self) -> bool {
        let n = self.lower_name();
        ["fingerprint", "fp", "sha1", "sha256", "thumb"]
            .iter()
            .any(|k| n.contains(k))
            || matches!(&self.call, Some((c, 0)) if c == "setFingerprint" || c == "verify")
    }

    /// A symbol named as a private key (`private_key_str`, `PRIV_KEY`): its hex is key material
    /// (`openssl ec -text` prints a 32-byte P-256 key as coloned hex), never a fingerprint.
    pub fn says_private_key(&self) -> bool {
        let n = self.lower_name();
        (n.contains("priv") || n.contains("secret")) && !self.says_fingerprint()
    }

    /// 2 = the file's own HOST symbol, 1 = a host-like name or call, 0 = not a host.
    pub fn says_host(&self) -> u8 {
        let n = self.lower_name();
        if self.name.as_deref() == Some("HOST") || n.ends_with("_host") && n.len() > 5 {
            return 2;
        }
        let named = matches!(
            n.as_str(),
            "host"
                | "hostname"
                | "host_name"
                | "server"
                | "servername"
                | "server_name"
                | "broker"
                | "endpoint"
        ) || n.ends_with("host")
            || n.starts_with("host_")
            || n.ends_with("_server")
            || n.ends_with("_broker")
            || n.ends_with("_endpoint");
        let called = matches!(&self.call, Some((c, 0)) if HOST_CALLS.contains(&c.as_str()))
            || matches!(&self.call, Some((c, 1)) if c == "verify");
        u8::from(named || called)
    }

    /// A name or call that takes a URL (`*_URL`, `http.begin(…)`, `fetch(…)`, `GET`).
    pub fn says_url(&self) -> bool {
        let n = self.lower_name();
        n.contains("url")
            || n.ends_with("uri")
            || matches!(&self.call, Some((c, _)) if URL_CALLS.contains(&c.as_str()))
    }
}

/// For each token, the innermost Rust `mod NAME { … }` it sits in.
pub fn module_of_each(toks: &[Token]) -> Vec<Option<String>> {
    let mut out = Vec::with_capacity(toks.len());
    let mut depth = 0usize;
    let mut stack: Vec<(String, usize)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Punct('{') => {
                depth += 1;
                if i >= 2
                    && toks[i - 2].tok == Tok::Ident("mod".to_owned())
                    && let Tok::Ident(name) = &toks[i - 1].tok
                {
                    stack.push((name.clone(), depth));
                }
            }
            Tok::Punct('}') => {
                if stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        out.push(stack.last().map(|(n, _)| n.clone()));
    }
    out
}

/// The symbol a value at `i` is assigned to (`NAME = …`, `#define NAME …`), or the call it is an
/// argument of (`setFingerprint(…)`), looking through `F(…)`-style wrappers.
pub fn context(toks: &[Token], i: usize) -> Ctx {
    let punct = |k: usize, c: char| toks.get(k).is_some_and(|t| t.tok == Tok::Punct(c));
    let ident = |k: usize| match toks.get(k).map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    if i == 0 {
        return Ctx::default();
    }
    if punct(i - 1, '=') {
        return Ctx {
            name: name_before(toks, i - 1),
            call: None,
        };
    }
    if i >= 2 && ident(i - 2) == Some("define") {
        return Ctx {
            name: ident(i - 1).map(str::to_owned),
            call: None,
        };
    }
    // Walk back to the unmatched `(` of the call this value is an argument of.
    let mut depth = 0usize;
    let mut arg = 0usize;
    let mut k = i;
    while k > 0 {
        k -= 1;
        match &toks[k].tok {
            Tok::Punct(')' | ']') => depth += 1,
            Tok::Punct('(') if depth == 0 => {
                // `include_str!(…)`: a Rust macro call has a `!` between name and `(`.
                let at = if k >= 2 && punct(k - 1, '!') {
                    k - 1
                } else {
                    k
                };
                let Some(call) = at.checked_sub(1).and_then(ident) else {
                    return Ctx::default();
                };
                if WRAPPERS.contains(&call) && arg == 0 {
                    return context(toks, at - 1);
                }
                return Ctx {
                    name: None,
                    call: Some((call.to_owned(), arg)),
                };
            }
            Tok::Punct('(' | '[') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => arg += 1,
            Tok::Punct(';' | '{' | '}' | '=') if depth == 0 => return Ctx::default(),
            _ => {}
        }
    }
    Ctx::default()
}

/// The declared name left of `=` at `eq`: skip type words, attributes `(…)` and sizes `[…]`.
pub fn name_before(toks: &[Token], eq: usize) -> Option<String> {
    // Rust `NAME: Type = …`: the name is left of the single `:`.
    let mut j = eq;
    while j > 1 {
        j -= 1;
        match &toks[j].tok {
            Tok::Punct(';' | '{' | '}') => break,
            Tok::Punct(':')
                if toks[j - 1].tok != Tok::Punct(':')
                    && toks.get(j + 1).is_some_and(|t| t.tok != Tok::Punct(':')) =>
            {
                if let Tok::Ident(w) = &toks[j - 1].tok
                    && !matches!(w.as_str(), "public" | "private" | "protected" | "default")
                {
                    return Some(w.clone());
                }
                break;
            }
            _ => {}
        }
    }
    let mut k = eq;
    while k > 0 {
        k -= 1;
        match &toks[k].tok {
            Tok::Punct(close @ (')' | ']')) => {
                let open = if *close == ')' { '(' } else { '[' };
                let mut depth = 1usize;
                while depth > 0 && k > 0 {
                    k -= 1;
                    match toks[k].tok {
                        Tok::Punct(c) if c == *close => depth += 1,
                        Tok::Punct(c) if c == open => depth -= 1,
                        _ => {}
                    }
                }
                // `__attribute__((…))`: drop the attribute word too.
                if k > 0 && toks[k - 1].tok == Tok::Ident("__attribute__".to_owned()) {
                    k -= 1;
                }
            }
            Tok::Punct(';' | '{' | '}') => return None,
            Tok::Ident(w) if !NOT_A_NAME.contains(&w.as_str()) => return Some(w.clone()),
            _ => {}
        }
    }
    None
}
