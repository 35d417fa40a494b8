//! The sketch as the Arduino builder prepares it: the `.ino` files concatenated (the one named
//! after the directory first, the others in name order), `#include <Arduino.h>` on top, and a
//! prototype for every function defined in them, placed before the first function definition, with
//! `#line` directives so that compiler messages name the sketch's own files and lines.

use std::path::{Path, PathBuf};

/// One `.ino` file: its path as messages show it, and its text.
#[derive(Debug, Clone)]
pub struct InoFile {
    pub shown: String,
    pub text: String,
}

/// The C++ translation unit made from the `.ino` files.
pub fn prepare(inos: &[InoFile]) -> String {
    let mut protos: Vec<String> = Vec::new();
    // (file index, byte offset of the line where the first function definition starts)
    let mut first: Option<(usize, usize)> = None;
    for (i, ino) in inos.iter().enumerate() {
        for def in function_definitions(&ino.text) {
            if first.is_none() {
                first = Some((i, def.line_start));
            }
            if !protos.contains(&def.prototype) {
                protos.push(def.prototype);
            }
        }
    }
    let mut out = String::from("#include <Arduino.h>\n");
    for (i, ino) in inos.iter().enumerate() {
        let name = ino.shown.replace('\\', "\\\\").replace('"', "\\\"");
        match first {
            Some((fi, at)) if fi == i => {
                let (head, tail) = ino.text.split_at(at);
                out.push_str(&format!("#line 1 \"{name}\"\n"));
                out.push_str(head);
                if !head.is_empty() && !head.ends_with('\n') {
                    out.push('\n');
                }
                for p in &protos {
                    out.push_str(p);
                    out.push_str(";\n");
                }
                let line = head.matches('\n').count() + 1;
                out.push_str(&format!("#line {line} \"{name}\"\n"));
                out.push_str(tail);
            }
            _ => {
                out.push_str(&format!("#line 1 \"{name}\"\n"));
                out.push_str(&ino.text);
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// A function defined at file scope.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Definition {
    prototype: String,
    line_start: usize,
}

/// The text with comments, string and character literals blanked (newlines kept), and
/// preprocessor lines marked, so that a scan for braces and parentheses sees only code.
fn mask(text: &str) -> (Vec<u8>, Vec<bool>) {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut pre = vec![false; b.len()];
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if line_start && c == b'#' {
            // A preprocessor line, with its continuations.
            while i < b.len() && b[i] != b'\n' {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                    pre[i] = true;
                    i += 1;
                }
                pre[i] = true;
                out[i] = b' ';
                i += 1;
            }
            continue;
        }
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if !c.is_ascii_whitespace() {
            line_start = false;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            blank(&mut out, i, end);
            i = end;
            continue;
        }
        if c == b'R' && b.get(i + 1) == Some(&b'"') && (i == 0 || !is_ident(b[i - 1])) {
            // R"delim( ... )delim"
            if let Some(open) = text[i + 2..].find('(') {
                let delim = &text[i + 2..i + 2 + open];
                let close = format!("){delim}\"");
                let body = i + 2 + open + 1;
                let end = text[body..]
                    .find(&close)
                    .map_or(b.len(), |e| body + e + close.len());
                blank(&mut out, i + 1, end);
                i = end;
                continue;
            }
        }
        if c == b'"' || c == b'\'' {
            let mut j = i + 1;
            while j < b.len() && b[j] != c && b[j] != b'\n' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            blank(&mut out, i + 1, end.saturating_sub(1).max(i + 1));
            i = end;
            continue;
        }
        i += 1;
    }
    (out, pre)
}

fn blank(out: &mut [u8], from: usize, to: usize) {
    let to = to.min(out.len());
    for c in out.iter_mut().take(to).skip(from) {
        if *c != b'\n' {
            *c = b' ';
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Function definitions at file scope, in order, with their prototypes.
fn function_definitions(text: &str) -> Vec<Definition> {
    let (m, pre) = mask(text);
    let mut defs = Vec::new();
    let mut depth = 0usize;
    // Where the current file-scope statement began.
    let mut stmt = 0usize;
    let mut paren = 0usize;
    let mut i = 0;
    while i < m.len() {
        if pre[i] {
            if depth == 0 && paren == 0 {
                stmt = i + 1;
            }
            i += 1;
            continue;
        }
        match m[i] {
            b'(' => paren += 1,
            b')' => paren = paren.saturating_sub(1),
            b';' if depth == 0 && paren == 0 => stmt = i + 1,
            b'{' => {
                if depth == 0
                    && paren == 0
                    && let Some(proto) = signature(text, &m, stmt, i)
                {
                    // The prototypes go on a line of their own, before the line where the
                    // signature's code starts.
                    let first_code = m[stmt..i]
                        .iter()
                        .position(|c| !c.is_ascii_whitespace())
                        .map_or(stmt, |p| stmt + p);
                    let at = text
                        .get(..first_code)
                        .and_then(|t| t.rfind('\n'))
                        .map_or(0, |n| n + 1);
                    defs.push(Definition {
                        prototype: proto,
                        line_start: at,
                    });
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && paren == 0 {
                    stmt = i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    defs
}

/// The prototype of a definition whose head is `text[from..brace]`, when it is a plain function.
fn signature(text: &str, m: &[u8], from: usize, brace: usize) -> Option<String> {
    let head = std::str::from_utf8(&m[from..brace]).ok()?.trim();
    if !head.ends_with(')') {
        // `struct X {`, `enum {`, `namespace n {`, `T x[] = {`, or a trailing `const`.
        return None;
    }
    let words: Vec<&str> = head
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    const NOT_FUNCTIONS: &[&str] = &[
        "class",
        "struct",
        "union",
        "enum",
        "namespace",
        "template",
        "typedef",
        "if",
        "while",
        "for",
        "switch",
        "return",
        "operator",
        "extern",
    ];
    if words.iter().any(|w| NOT_FUNCTIONS.contains(w)) || head.contains('=') || head.contains("::")
    {
        return None;
    }
    let open = head.find('(')?;
    let before: Vec<&str> = head[..open].split_whitespace().collect();
    // A return type and a name: `void f(`, `static int g (`, `String *h(`.
    let name = before.last()?.trim_start_matches(['*', '&']);
    if before.len() < 2 && !before.first().is_some_and(|w| w.contains(['*', '&'])) {
        return None;
    }
    if name.is_empty() || !name.bytes().all(is_ident) || name.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    // The prototype in the sketch's own words (comments dropped, literals are impossible here).
    let original = text.get(from..brace)?;
    let collapsed: String = collapse(original, &m[from..brace]);
    Some(collapsed)
}

/// The original text where the mask has code, whitespace runs collapsed to one space.
fn collapse(original: &str, masked: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut space = false;
    for (&ch, &mc) in original.as_bytes().iter().zip(masked.iter()) {
        if mc.is_ascii_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(b' ');
        }
        space = false;
        out.push(ch);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The sketch's files: the `.ino`s (the one named after the directory first), and the `.cpp`,
/// `.c` and headers beside them (and under `src/`, as the Arduino build compiles them).
#[derive(Debug, Clone, Default)]
pub struct SketchFiles {
    pub dir: PathBuf,
    pub inos: Vec<PathBuf>,
    pub sources: Vec<PathBuf>,
    pub headers: Vec<PathBuf>,
}

/// Find the files of the sketch at `path` (a directory or one of its `.ino` files).
pub fn find_files(path: &Path) -> Result<SketchFiles, String> {
    if !path.exists() {
        return Err("no such file or directory".to_owned());
    }
    let (dir, main) = if path.is_dir() {
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        (path.to_path_buf(), path.join(format!("{name}.ino")))
    } else {
        if path.extension().is_none_or(|e| e != "ino") {
            return Err("not a sketch: give its directory or its .ino file".to_owned());
        }
        if !path.is_file() {
            return Err("no such file".to_owned());
        }
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        (dir, path.to_path_buf())
    };
    let mut files = SketchFiles {
        dir: dir.clone(),
        ..SketchFiles::default()
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| crate::util::io_reason(&e))?;
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for p in names {
        match p.extension().and_then(|e| e.to_str()) {
            Some("ino") | Some("pde") => files.inos.push(p),
            Some("cpp") | Some("c") | Some("cc") | Some("S") => files.sources.push(p),
            Some("h") | Some("hpp") | Some("hh") => files.headers.push(p),
            _ => {}
        }
    }
    if let Some(pos) = files.inos.iter().position(|p| same_file(p, &main)) {
        let m = files.inos.remove(pos);
        files.inos.insert(0, m);
    } else if path.is_dir() && files.inos.len() != 1 {
        return Err(if files.inos.is_empty() {
            "no .ino file in this directory".to_owned()
        } else {
            format!(
                "no {} in this directory: the main .ino is named after its directory",
                main.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )
        });
    }
    let src = dir.join("src");
    if src.is_dir() {
        collect_tree(&src, &mut files.sources, &mut files.headers);
    }
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Sources and headers under `dir`, recursively, in name order, skipping the directories the
/// Arduino library format keeps for other things.
pub fn collect_tree(dir: &Path, sources: &mut Vec<PathBuf>, headers: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            let skip = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                matches!(n, "examples" | "extras" | "test" | "tests" | "docs") || n.starts_with('.')
            });
            if !skip {
                collect_tree(&p, sources, headers);
            }
            continue;
        }
        match p.extension().and_then(|e| e.to_str()) {
            Some("cpp") | Some("c") | Some("cc") => sources.push(p),
            Some("h") | Some("hpp") | Some("hh") => headers.push(p),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protos(text: &str) -> Vec<String> {
        function_definitions(text)
            .into_iter()
            .map(|d| d.prototype)
            .collect()
    }

    #[test]
    fn finds_file_scope_functions_only() {
        let text = r#"#include <ESP8266WiFi.h>
const char *pem = R"EOF(
void notAFunction() {
)EOF";
struct S { int f() { return 1; } };
// void commented() {}
int add(int a,
        int b) { return a + b; }
static String *name(const char *s) { if (s) { return nullptr; } return nullptr; }
void setup() { report(1); }
void report(int code) {}
"#;
        assert_eq!(
            protos(text),
            vec![
                "int add(int a, int b)",
                "static String *name(const char *s)",
                "void setup()",
                "void report(int code)"
            ]
        );
    }

    #[test]
    fn prototypes_go_before_the_first_definition_and_lines_stay_true() {
        let inos = [InoFile {
            shown: "a.ino".into(),
            text: "#include <x.h>\nint v = 1;\nvoid setup() { later(); }\nvoid later() {}\n".into(),
        }];
        let out = prepare(&inos);
        assert_eq!(
            out,
            "#include <Arduino.h>\n#line 1 \"a.ino\"\n#include <x.h>\nint v = 1;\nvoid setup();\nvoid later();\n#line 3 \"a.ino\"\nvoid setup() { later(); }\nvoid later() {}\n"
        );
    }

    #[test]
    fn default_arguments_get_no_second_declaration() {
        assert!(protos("void f(int a = 3) {}\n").is_empty());
    }
}
