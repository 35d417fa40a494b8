//! NodeMCU's Lua interpreter reporting a script's own error: `init.lua:12: attempt to call field
//! 'createServer' (a nil value)` (with `lua: ` in front at boot), `cannot open httpserver.lc`
//! from a `dofile` of a file the board does not have, `module 'x' not found:` from `require`,
//! and the `stack traceback:` that follows them (pasted alone, it still names the function that
//! failed). The interpreter survives these and returns to its `>` prompt: the script failed, the
//! board did not crash (an error no `pcall` caught inside a callback is a `PANIC`, which is
//! `crash.rs`'s).

/// The phrases Lua 5.1's runtime, parser and loader put after `chunk:line: `.
const LUA_MESSAGES: [&str; 14] = [
    "attempt to ",
    "bad argument #",
    "unexpected symbol near",
    "' expected near",
    "' expected (to close",
    "unfinished string near",
    "unfinished long string",
    "malformed number near",
    "'=' expected",
    "stack overflow",
    "ambiguous syntax",
    "no visible label",
    "cannot use '...'",
    "loop or previous error loading module",
];

/// What a Lua syntax error typed at the prompt (`stdin:1: unexpected symbol near 'x'`) is:
/// the user's typing, not the firmware's script.
const TYPING: [&str; 6] = [
    "unexpected symbol near",
    "' expected near",
    "' expected (to close",
    "unfinished string near",
    "malformed number near",
    "'=' expected",
];

/// A script error the interpreter printed, the line without its prompt and `lua: ` prefix.
pub(crate) fn script_error(text: &str) -> Option<&str> {
    let t = text.trim();
    let t = t.strip_prefix("> ").unwrap_or(t).trim_start();
    let t = t.strip_prefix("lua: ").unwrap_or(t).trim_start();
    if let Some(file) = t.strip_prefix("cannot open ") {
        let file = file.trim();
        // A board without an `init.lua` says so on every boot: nothing was asked to run.
        let named = !file.is_empty() && !file.contains(' ') && file.contains('.');
        return (named && file != "init.lua").then_some(t);
    }
    if t.starts_with("module '") && t.contains("' not found") {
        return Some(t);
    }
    let (chunk, rest) = t.split_once(':')?;
    let (number, message) = rest.split_once(':')?;
    let message = message.trim_start();
    let script = chunk.ends_with(".lua") || chunk.ends_with(".lc");
    let typed = chunk == "stdin";
    let ok = (script || typed)
        && !chunk.contains(' ')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && LUA_MESSAGES.iter().any(|m| message.contains(m))
        && !(typed && TYPING.iter().any(|m| message.contains(m)));
    ok.then_some(t)
}

/// A frame of Lua's `stack traceback:`: `[C]: in function 'createServer'`, `http_server.lua:118:
/// in main chunk`, `stdin:1: in main chunk` (tab-indented, or not when pasted).
fn frame(text: &str) -> Option<&str> {
    let t = text.trim();
    let (at, what) = t.split_once(": in ")?;
    let place = at == "[C]" || at.ends_with(']') || at.split(':').nth(1).is_some_and(digits);
    (place && !at.contains(' ') && !what.is_empty()).then_some(t)
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// A `stack traceback:` being read: its line, the error before it (if the paste has one) and
/// the frames that say where it was raised.
#[derive(Debug, Default)]
pub(crate) struct Lua {
    last_error: Option<(usize, String)>,
    trace: Option<Trace>,
}

#[derive(Debug)]
struct Trace {
    line: usize,
    error: Option<String>,
    function: Option<String>,
    place: Option<String>,
}

impl Lua {
    /// Read a line: why the script failed, when this line says it (again, with more detail).
    pub(crate) fn line(&mut self, number: usize, text: &str) -> Option<String> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if t == "stack traceback:" {
            let error = self
                .last_error
                .take()
                .filter(|(at, _)| number.saturating_sub(*at) <= 2)
                .map(|(_, e)| e);
            self.trace = Some(Trace {
                line: number,
                error,
                function: None,
                place: None,
            });
            return None;
        }
        if let Some(trace) = self.trace.as_mut() {
            if let Some(f) = frame(t) {
                let (at, what) = f.split_once(": in ").unwrap_or((f, ""));
                if trace.function.is_none() && at == "[C]" && what.starts_with("function '") {
                    trace.function = Some(what.trim_start_matches("function ").to_owned());
                } else if trace.place.is_none() && at != "[C]" {
                    trace.place = Some(at.to_owned());
                }
                return Some(trace.reason());
            }
            self.trace = None;
        }
        let error = script_error(t)?;
        self.last_error = Some((number, error.to_owned()));
        Some(error_reason(number, error))
    }
}

impl Trace {
    fn reason(&self) -> String {
        let mut s = format!(
            "line {}: the Lua script stopped on an error (NodeMCU's `stack traceback:`",
            self.line
        );
        if let Some(e) = &self.error {
            s.push_str(&format!(" after `{e}`"));
        }
        s.push(')');
        if let Some(f) = &self.function {
            s.push_str(&format!(": the call to {f} failed"));
        }
        if let Some(p) = &self.place {
            s.push_str(&format!(" at {p}"));
        }
        if self.error.is_none()
            && self
                .function
                .as_deref()
                .is_some_and(|f| f.contains("create"))
        {
            s.push_str(
                " (a module this firmware build may not have, or a server it cannot start: \
                 NodeMCU allows one `net.createServer` listening per port)",
            );
        }
        s.push_str("; the script's own failure, the board kept running its prompt");
        s
    }
}

fn error_reason(number: usize, error: &str) -> String {
    let why = if error.starts_with("cannot open ") {
        "the file the script loads is not on the board's file system (upload it, or compile \
         the `.lua` to the `.lc` it asks for with `node.compile`)"
    } else if error.starts_with("module '") {
        "`require` found no such module on the file system or in the firmware build"
    } else if error.contains("(a nil value)") {
        "the script uses a name that is nil: a module this firmware build does not include, \
         or a typo"
    } else {
        "the script's own code failed"
    };
    format!(
        "line {number}: the Lua script stopped on an error: `{error}`: {why}; the app failed, \
         the board kept running (no crash)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_errors_as_the_interpreter_prints_them() {
        for line in [
            "lua: init.lua:12: attempt to call field 'createServer' (a nil value)",
            "init.lua:30: attempt to index global 'bit' (a nil value)",
            "> cannot open httpserver.lc",
            "cannot open webserver.lua",
            "module 'ds18b20' not found:",
            "stdin:1: attempt to call field 'createServer' (a nil value)",
            "httpserver.lua:44: bad argument #1 to 'listen' (number expected, got nil)",
            "app.lua:7: 'end' expected (to close 'function' at line 3) near '<eof>'",
            "\tmqtt.lc:5: attempt to concatenate global 'host' (a nil value)",
        ] {
            assert!(script_error(line).is_some(), "{line}");
        }
        for line in [
            "lua: cannot open init.lua",
            "cannot open",
            "GDB cannot open serial ports accessed as COMx",
            "stdin:1: unexpected symbol near 'x'",
            "stdin:1: '=' expected near 'print'",
            "init.lua:12: connected to broker",
            "PANIC: unprotected error in call to Lua API (init.lua:30: attempt to index global)",
            "E (123) wifi: 12: attempt to connect",
        ] {
            assert_eq!(script_error(line), None, "{line}");
        }
    }

    #[test]
    fn a_traceback_alone_names_the_function_and_the_place() {
        let mut lua = Lua::default();
        assert_eq!(lua.line(1, "stack traceback:"), None);
        let r = lua.line(2, "\t[C]: in function 'createServer'");
        assert!(r.is_some_and(|r| r.contains("'createServer' failed")));
        let r = lua
            .line(3, "\thttp_server.lua:118: in main chunk")
            .unwrap_or_default();
        assert!(
            r.contains("'createServer'") && r.contains("http_server.lua:118"),
            "{r}"
        );
        assert_eq!(lua.line(4, "> "), None);
        // Lines like frames outside a traceback are nothing.
        assert_eq!(lua.line(5, "[C]: in function 'dofile'"), None);
        let mut lua = Lua::default();
        assert!(
            lua.line(1, "x.lua:3: attempt to call global 'f' (a nil value)")
                .is_some()
        );
        lua.line(2, "stack traceback:");
        let r = lua.line(3, "\t[C]: in function 'f'").unwrap_or_default();
        assert!(r.contains("after `x.lua:3: attempt"), "{r}");
        // Not frames: a log line with `: in `.
        assert_eq!(frame("I (12) wifi: in progress"), None);
    }
}
