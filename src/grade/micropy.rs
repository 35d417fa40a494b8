//! MicroPython's console outside its tracebacks: what the user typed wrong at the REPL, and the
//! connect script of MicroPython's own docs (`do_connect()` printing `network config:` with the
//! station's addresses) that finished and handed over to the REPL.

/// A traceback the REPL raised for a line the user typed that does not parse: its only frame
/// is `File "<stdin>", line 1` and it ends in `SyntaxError`, `IndentationError` or `TabError`.
/// That is typing, not the firmware's job failing; an `OSError` from `<stdin>` is a call the
/// user made that failed, and a `SyntaxError` from `main.py` is the firmware's own.
pub(crate) fn typing_error(frame: Option<&str>, exception: &str) -> bool {
    let from_stdin = frame.is_some_and(|f| f.trim().starts_with("File \"<stdin>\""));
    let e = exception.trim();
    let name = e.split(':').next().unwrap_or(e).trim();
    from_stdin && matches!(name, "SyntaxError" | "IndentationError" | "TabError")
}

/// An exception that is the program's own failure rather than the network's: a module the
/// board does not have (`ImportError: no module named 'urllib'`, CircuitPython's too), a name
/// or attribute the code or its library expects and this firmware lacks (`AttributeError:
/// 'module' object has no attribute 'IPPROTO_SEC'`), a wrong type, value or key, the program's
/// own syntax. What it means, for the reason; `None` for an `OSError` and the rest (an
/// `IndexError` from `getaddrinfo` or a socket read is the network's).
pub(crate) fn program_error(exception: &str) -> Option<&'static str> {
    let e = exception.trim();
    let name = e.split(':').next().unwrap_or(e).trim();
    Some(match name {
        "ImportError" | "ModuleNotFoundError" => {
            "the program or its library imports a module this firmware does not have (install \
             it with mip/upip or copy it to /lib, or use the port's own module)"
        }
        "AttributeError" => {
            "the program or its library uses a name this firmware's module or object does not \
             have (a library written for another MicroPython version or port, or a value that \
             is None)"
        }
        "NameError" => "the program uses a name it never defined (a typo or a missing import)",
        "TypeError" | "ValueError" | "KeyError" | "ZeroDivisionError" => {
            "the program's own code failed on a value it got (a bug in the program or its \
             library, not the network)"
        }
        "SyntaxError" | "IndentationError" | "TabError" => {
            "the program's own source does not parse"
        }
        "OSError" if file_errno(e) => {
            "a file-system call failed (a file or directory missing or in the way, or the \
             flash full or read-only): the program's own files, not the network"
        }
        _ => return None,
    })
}

/// A socket's `OSError` alone on its line, the traceback above it not pasted: `OSError: [Errno
/// 103] ECONNABORTED`, `OSError: -202` (lwIP's getaddrinfo). The program stopped on it.
pub(crate) fn lone_socket_error(text: &str) -> bool {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("OSError: ") else {
        return false;
    };
    let numbered = rest.strip_prefix("[Errno ").map_or_else(
        || {
            rest.strip_prefix('-')
                .is_some_and(|n| n.parse::<u16>().is_ok())
        },
        |r| {
            r.split(']')
                .next()
                .is_some_and(|n| n.parse::<u16>().is_ok())
        },
    );
    numbered && !file_errno(t)
}

/// An `OSError` whose errno is the file system's, not a socket's: `OSError: 20`, `OSError:
/// [Errno 2] ENOENT`, `OSError: 28` (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOSPC, EROFS, ENOTEMPTY).
fn file_errno(exception: &str) -> bool {
    let Some(rest) = exception.split_once(':').map(|(_, r)| r.trim()) else {
        return false;
    };
    let rest = rest.strip_prefix("[Errno ").unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    matches!(digits.parse::<u8>(), Ok(2 | 17 | 20 | 21 | 28 | 30 | 39))
}

/// `network config: ('192.168.178.86', '255.255.255.0', '192.168.178.1', '8.8.8.8')` (and
/// `ipconfig('addr4')`'s `('192.168.1.5', '255.255.255.0')`): the station's address, when it
/// has one (`0.0.0.0` is none).
pub(crate) fn network_config(text: &str) -> Option<&str> {
    let t = text.trim();
    let rest = t.strip_prefix("network config:")?.trim_start();
    tuple_address(rest)
}

/// The REPL's echo of `wlan.ifconfig()` typed at it, `('192.168.1.5', '255.255.255.0',
/// '192.168.1.1', '8.8.8.8')`: the board's address, when it has one.
pub(crate) fn repl_ifconfig(text: &str) -> Option<&str> {
    let t = text.trim();
    let quads = t.matches("', '").count() == 3 && t.starts_with("('") && t.ends_with("')");
    quads.then(|| tuple_address(t)).flatten()
}

/// The first address of an `ifconfig()` tuple, unless it is 0.0.0.0.
fn tuple_address(rest: &str) -> Option<&str> {
    let rest = rest.strip_prefix('(')?;
    let ip = rest
        .trim_start_matches(['\'', '"'])
        .split(['\'', '"'])
        .next()?;
    let octets: Vec<&str> = ip.split('.').collect();
    let dotted = octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.chars().all(|c| c.is_ascii_digit()));
    (dotted && ip != "0.0.0.0").then_some(ip)
}

/// The REPL coming up: the banner's `Type "help()" for more information.` or a bare `>>>`.
pub(crate) fn repl_ready(text: &str) -> bool {
    let t = text.trim();
    t == ">>>" || t.starts_with("Type \"help()\" for more information")
}

/// Why a run passes whose connect script got an address (line `at`, address `ip`) and then
/// left the board at the REPL with nothing failing after it.
pub(crate) fn joined_reason(at: usize, ip: &str) -> String {
    format!(
        "line {at}: MicroPython joined the Wi-Fi network (its `ifconfig()` gives address {ip}) \
         and the board is at the REPL with no error after it: the script ran to its end"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_socket_error_is_the_programs_end() {
        for l in [
            "OSError: [Errno 103] ECONNABORTED",
            "OSError: -202",
            " OSError: [Errno 113] EHOSTUNREACH",
        ] {
            assert!(lone_socket_error(l), "{l}");
        }
        for l in [
            "OSError: [Errno 2] ENOENT",
            "OSError: 28",
            "OSError: timeout reached",
            "print(OSError: -2)",
        ] {
            assert!(!lone_socket_error(l), "{l}");
        }
    }

    #[test]
    fn repl_typing_errors_are_not_the_firmwares() {
        let stdin = Some("File \"<stdin>\", line 1");
        assert!(typing_error(stdin, "SyntaxError: invalid syntax"));
        assert!(typing_error(stdin, "IndentationError: unexpected indent"));
        assert!(typing_error(Some("  File \"<stdin>\", line 3"), "TabError"));
        // A call the user typed that failed, the firmware's own syntax error, no frame.
        assert!(!typing_error(stdin, "OSError: [Errno 113] ECONNABORTED"));
        assert!(!typing_error(stdin, "NameError: name 'x' isn't defined"));
        assert!(!typing_error(
            Some("File \"main.py\", line 12"),
            "SyntaxError: invalid syntax"
        ));
        assert!(!typing_error(None, "SyntaxError: invalid syntax"));
    }

    #[test]
    fn the_programs_own_exceptions_are_not_the_networks() {
        for line in [
            "ImportError: no module named 'urllib'",
            "ImportError: can't import name urlopen",
            "OSError: 20",
            "OSError: [Errno 2] ENOENT",
            "AttributeError: 'module' object has no attribute 'IPPROTO_SEC'",
            "AttributeError: 'NoneType' object has no attribute 'decode'",
            "NameError: name 'wlan' isn't defined",
            "TypeError: unsupported types for __add__: 'str', 'int'",
            "ValueError: Unsupported protocol: ftp",
            "KeyError: temp",
            "SyntaxError: invalid syntax",
            "  ImportError: no module named 'adafruit_requests'",
        ] {
            assert!(program_error(line).is_some(), "{line}");
        }
        for line in [
            "OSError: -202",
            "OSError: [Errno 104] ECONNRESET",
            "OSError: 113",
            "OSError: 23",
            "IndexError: list index out of range",
            "RuntimeError: Wifi Unknown Error 0x0102",
            "MemoryError: memory allocation failed, allocating 4096 bytes",
            "ConnectionError: [Errno 11] EAGAIN",
            "ImportErrors were logged",
        ] {
            assert_eq!(program_error(line), None, "{line}");
        }
    }

    #[test]
    fn the_connect_scripts_network_config() {
        assert_eq!(
            network_config(
                "network config: ('192.168.178.86', '255.255.255.0', '192.168.178.1', '192.168.178.1')"
            ),
            Some("192.168.178.86")
        );
        assert_eq!(
            network_config("network config: (\"10.0.0.7\", \"255.255.255.0\")"),
            Some("10.0.0.7")
        );
        for line in [
            "network config: ('0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0')",
            "network config:",
            "network config: ('', '')",
            "print('network config:', sta_if.ifconfig())",
            ">>> network config: ('1.2.3.4')",
            "network config: ('1.2.3', '255.255.255.0')",
            "network config: ('1.2.3.4444', 'é')",
        ] {
            assert_eq!(network_config(line), None, "{line}");
        }
        assert!(repl_ready(">>> "));
        assert!(repl_ready("Type \"help()\" for more information."));
        assert!(!repl_ready(">>> import network"));
    }
}
