//! A small lexer for C, C++ and Rust source: just enough to find string literals (plain, escaped,
//! C++ raw `R"EOF(…)EOF"`, Rust raw `r#"…"#`), the identifiers and punctuation around them, and
//! numbers in byte arrays. Comments and `#if 0` regions are skipped, so a commented-out old
//! fingerprint is not a pin; the skipped text that holds a PEM block is kept to be reported.

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A string literal's decoded value. Adjacent literals (`"a" "b"`) are already joined.
    Str(String),
    /// An identifier or keyword.
    Ident(String),
    /// A number as written (`0xAD`, `443`, `20`).
    Num(String),
    /// Any other character (`=`, `(`, `[`, `{`, `;`, `#`, ...).
    Punct(char),
}

impl Tok {
    /// The byte a number token writes (`0x5F`, `0x5Fu`, `0x5Fu8`, `95`), if it fits in one.
    pub fn byte(&self) -> Option<u8> {
        let Tok::Num(n) = self else { return None };
        let n = n.trim_end_matches("u8").trim_end_matches(['u', 'U']);
        match n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
            Some(h) => u8::from_str_radix(h, 16).ok(),
            None => n.parse().ok(),
        }
    }
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Line where it starts.
    pub line: usize,
}

/// Source the compiler never sees: a comment or an `#if 0` region that mentions a PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line where it starts.
    pub line: usize,
    /// Its text, comment markers included.
    pub text: String,
    /// `#if 0` rather than a comment.
    pub if_zero: bool,
}

/// The tokens of a file and the dead text that held PEM.
#[derive(Debug, Clone, Default)]
pub struct Lexed {
    /// Live tokens, in order.
    pub tokens: Vec<Token>,
    /// Comments and `#if 0` regions holding `BEGIN` or a string literal, in order.
    pub skipped: Vec<Skipped>,
}

/// Tokenize `text`. Never fails: an unterminated literal runs to the end of the input.
pub fn lex(text: &str) -> Vec<Token> {
    lex_all(text).tokens
}

/// Tokenize `text` and keep the comments and `#if 0` regions that mention a PEM `BEGIN` or hold
/// a string literal.
pub fn lex_all(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut lx = Lexer {
        c: &chars,
        i: 0,
        line: 1,
        out: Vec::new(),
        skipped: Vec::new(),
    };
    lx.run();
    Lexed {
        tokens: lx.out,
        skipped: lx.skipped,
    }
}

struct Lexer<'a> {
    c: &'a [char],
    i: usize,
    line: usize,
    out: Vec<Token>,
    skipped: Vec<Skipped>,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.c.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.c.get(self.i).copied()?;
        self.i += 1;
        if ch == '\n' {
            self.line += 1;
        }
        Some(ch)
    }

    fn push(&mut self, tok: Tok, line: usize) {
        // C and C++ join adjacent literals; this is how C99-style PEM (one literal per line) reads.
        if let Tok::Str(s) = &tok
            && let Some(Token {
                tok: Tok::Str(prev),
                ..
            }) = self.out.last_mut()
        {
            prev.push_str(s);
            return;
        }
        self.out.push(Token { tok, line });
    }

    fn run(&mut self) {
        while let Some(ch) = self.peek(0) {
            let line = self.line;
            match ch {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '/' if self.peek(1) == Some('/') => self.skip_line(),
                '/' if self.peek(1) == Some('*') => self.skip_block(),
                // A line splice outside a literal: `"MIIB…\n" \` continues the literal or macro.
                '\\' if self.peek(1) == Some('\n')
                    || (self.peek(1) == Some('\r') && self.peek(2) == Some('\n')) =>
                {
                    self.bump();
                }
                '#' if self.at_line_start() && self.if_zero_here() => self.skip_if_zero(),
                '"' => {
                    self.bump();
                    let s = self.escaped('"');
                    self.push(Tok::Str(s), line);
                }
                '\'' => self.char_or_lifetime(),
                c if c.is_alphabetic() || c == '_' => self.word(line),
                c if c.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = self.peek(0).filter(|d| d.is_ascii_alphanumeric()) {
                        n.push(d);
                        self.bump();
                    }
                    self.out.push(Token {
                        tok: Tok::Num(n),
                        line,
                    });
                }
                c => {
                    self.bump();
                    self.out.push(Token {
                        tok: Tok::Punct(c),
                        line,
                    });
                }
            }
        }
    }

    /// A `//` comment, and the `//` lines right after it: a commented-out PEM literal spans many.
    fn skip_line(&mut self) {
        let (start, line) = (self.i, self.line);
        loop {
            while let Some(c) = self.peek(0) {
                if c == '\n' {
                    break;
                }
                self.bump();
            }
            let mut j = self.i + 1;
            while self
                .c
                .get(j)
                .is_some_and(|c| *c == ' ' || *c == '\t' || *c == '\r')
            {
                j += 1;
            }
            if self.peek(0) == Some('\n')
                && self.c.get(j) == Some(&'/')
                && self.c.get(j + 1) == Some(&'/')
            {
                while self.i < j {
                    self.bump();
                }
                continue;
            }
            break;
        }
        self.keep_if_pem(start, line, false);
    }

    fn skip_block(&mut self) {
        let (start, line) = (self.i, self.line);
        self.bump();
        self.bump();
        while let Some(c) = self.bump() {
            if c == '*' && self.peek(0) == Some('/') {
                self.bump();
                break;
            }
        }
        self.keep_if_pem(start, line, false);
    }

    /// Remember `c[start..i]` when it holds a PEM `BEGIN` line, or a string literal (a
    /// commented-out fingerprint, `//#define FP "FD C0 …"`).
    fn keep_if_pem(&mut self, start: usize, line: usize, if_zero: bool) {
        let text: String = self.c[start..self.i].iter().collect();
        if text.contains("BEGIN ") && text.contains("-----") || text.contains('"') {
            self.skipped.push(Skipped {
                line,
                text,
                if_zero,
            });
        }
    }

    /// Only blanks between the previous newline and `i`.
    fn at_line_start(&self) -> bool {
        self.c[..self.i]
            .iter()
            .rev()
            .take_while(|c| **c != '\n')
            .all(|c| *c == ' ' || *c == '\t')
    }

    /// The directive word at `i` (`#` already seen) and the rest of its line.
    fn directive_at(&self, at: usize) -> (String, String) {
        let mut j = at + 1;
        while self.c.get(j).is_some_and(|c| *c == ' ' || *c == '\t') {
            j += 1;
        }
        let mut word = String::new();
        while let Some(c) = self.c.get(j).filter(|c| c.is_ascii_alphabetic()) {
            word.push(*c);
            j += 1;
        }
        let rest: String = self.c[j..].iter().take_while(|c| **c != '\n').collect();
        (word, rest)
    }

    /// `#if 0` (a comment after the 0 allowed).
    fn if_zero_here(&self) -> bool {
        let (word, rest) = self.directive_at(self.i);
        word == "if" && condition_is_zero(&rest)
    }

    /// Skip from `#if 0` to its `#else`, `#elif` or `#endif`, minding nested `#if`s. After
    /// `#else`/`#elif` the live branch is lexed as usual; an `#elif 0` branch is skipped too, as
    /// a region of its own.
    fn skip_if_zero(&mut self) {
        let (mut start, mut line) = (self.i, self.line);
        self.skip_line_raw();
        let mut depth = 0usize;
        while self.peek(0).is_some() {
            if self.peek(0) == Some('#') && self.at_line_start() {
                let (word, rest) = self.directive_at(self.i);
                match word.as_str() {
                    "if" | "ifdef" | "ifndef" => depth += 1,
                    "endif" if depth > 0 => depth -= 1,
                    "elif" if depth == 0 && condition_is_zero(&rest) => {
                        self.keep_if_pem(start, line, true);
                        (start, line) = (self.i, self.line);
                        self.skip_line_raw();
                        continue;
                    }
                    "else" | "elif" | "endif" if depth == 0 => {
                        self.keep_if_pem(start, line, true);
                        self.skip_line_raw();
                        return;
                    }
                    _ => {}
                }
            }
            self.bump();
        }
        self.keep_if_pem(start, line, true);
    }

    fn skip_line_raw(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                return;
            }
        }
    }

    /// `'x'`, `'\n'`, `'"'` are character literals; `'static` is a Rust lifetime.
    fn char_or_lifetime(&mut self) {
        self.bump();
        if self.peek(0) == Some('\\') {
            while let Some(c) = self.bump() {
                if c == '\'' || c == '\n' {
                    return;
                }
            }
        } else if self.peek(1) == Some('\'') {
            self.bump();
            self.bump();
        }
    }

    /// An identifier, or the prefix of a raw/byte string literal.
    fn word(&mut self, line: usize) {
        let mut w = String::new();
        while let Some(c) = self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
            w.push(c);
            self.bump();
        }
        let next = self.peek(0);
        match (w.as_str(), next) {
            ("R" | "u8R" | "LR" | "uR" | "UR", Some('"')) => {
                self.bump();
                let s = self.cpp_raw();
                self.push(Tok::Str(s), line);
            }
            ("r" | "br", Some('"' | '#')) => {
                let s = self.rust_raw();
                self.push(Tok::Str(s), line);
            }
            ("b" | "u8" | "L" | "u" | "U" | "c", Some('"')) => {
                self.bump();
                let s = self.escaped('"');
                self.push(Tok::Str(s), line);
            }
            _ => self.out.push(Token {
                tok: Tok::Ident(w),
                line,
            }),
        }
    }

    /// The body of `R"delim(...)delim"`, after the opening quote.
    fn cpp_raw(&mut self) -> String {
        let mut delim = String::new();
        while let Some(c) = self.bump() {
            if c == '(' {
                break;
            }
            delim.push(c);
        }
        let end: Vec<char> = format!("){delim}\"").chars().collect();
        let mut s = String::new();
        while self.peek(0).is_some() {
            if self.c[self.i..].starts_with(&end) {
                for _ in 0..end.len() {
                    self.bump();
                }
                return s;
            }
            if let Some(c) = self.bump() {
                s.push(c);
            }
        }
        s
    }

    /// `r#"..."#` (the `r`/`br` already consumed).
    fn rust_raw(&mut self) -> String {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.bump();
        }
        if self.peek(0) != Some('"') {
            return String::new();
        }
        self.bump();
        let mut s = String::new();
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|k| self.peek(k) == Some('#')) {
                for _ in 0..hashes {
                    self.bump();
                }
                return s;
            }
            s.push(c);
        }
        s
    }

    /// A literal with backslash escapes, up to `close`. `\` + newline is a C line splice and a
    /// Rust continuation (which also eats the next line's indentation).
    fn escaped(&mut self, close: char) -> String {
        let mut s = String::new();
        while let Some(c) = self.bump() {
            match c {
                c if c == close => return s,
                '\\' => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('r') => s.push('\r'),
                    Some('t') => s.push('\t'),
                    Some('0') => s.push('\0'),
                    Some('\n') => {
                        while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
                            self.bump();
                        }
                    }
                    Some('x') => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while let Some(d) = self.peek(0).and_then(|d| d.to_digit(16)) {
                            if n == 2 {
                                break;
                            }
                            v = v * 16 + d;
                            n += 1;
                            self.bump();
                        }
                        s.push(char::from_u32(v).unwrap_or('?'));
                    }
                    Some(other) => s.push(other),
                    None => return s,
                },
                c => s.push(c),
            }
        }
        s
    }
}

/// A preprocessor condition that is the literal `0` (a trailing comment allowed).
fn condition_is_zero(rest: &str) -> bool {
    let rest = rest.split("//").next().unwrap_or("");
    let rest = rest.split("/*").next().unwrap_or("");
    rest.trim() == "0"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(text: &str) -> Vec<String> {
        lex(text)
            .into_iter()
            .filter_map(|t| match t.tok {
                Tok::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn literals_of_every_kind() {
        assert_eq!(strs(r#"const char *a = "x\"y\n";"#), ["x\"y\n"]);
        assert_eq!(strs("R\"EOF(a\nb)\")EOF\""), ["a\nb)\""]);
        assert_eq!(strs(r###"let a = r#"q"x"#;"###), [r#"q"x"#]);
        assert_eq!(strs("\"a\\n\"\n  \"b\\n\";"), ["a\nb\n"]);
        assert_eq!(strs("\"\\\n-----BEGIN\""), ["-----BEGIN"]);
        assert_eq!(strs("'\"' \"k\" // \"no\"\n/* \"no\" */"), ["k"]);
        assert_eq!(strs("fn f(s: &'static str) { g(\"v\") }"), ["v"]);
    }

    /// `#if 0 … #elif 0 … #endif`, as in a Beken SDK's tls_certificate.c (in the corpus): every
    /// branch is dead, each is its own skipped region, and the live code after `#endif` is lexed.
    #[test]
    fn elif_zero_branches_are_skipped_too() {
        let text = "#if 0\nA = \"-----BEGIN 1\";\n#elif 0 // old\nB = \"-----BEGIN 2\";\n\
                    #elif 1\nC = \"c\";\n#endif\nD = \"d\";\n";
        let got = lex_all(text);
        let strs: Vec<&str> = got
            .tokens
            .iter()
            .filter_map(|t| match &t.tok {
                Tok::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(strs, ["c", "d"]);
        let lines: Vec<(usize, bool)> = got.skipped.iter().map(|s| (s.line, s.if_zero)).collect();
        assert_eq!(lines, [(1, true), (3, true)]);
    }

    #[test]
    fn lines_are_counted() {
        let toks = lex("a\n\"x\ny\"\nb");
        assert_eq!(toks.last().map(|t| t.line), Some(4));
    }
}
