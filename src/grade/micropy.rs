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

/// `network config: ('192.168.178.86', '255.255.255.0', '192.168.178.1', '8.8.8.8')` (and
/// `ipconfig('addr4')`'s `('192.168.1.5', '255.255.255.0')`): the station's address, when it
/// has one (`0.0.0.0` is none).
pub(crate) fn network_config(text: &str) -> Option<&str> {
    let t = text.trim();
    let rest = t.strip_prefix("network config:")?.trim_start();
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
        "line {at}: the MicroPython connect script joined the Wi-Fi network (`network config:` \
         with address {ip}) and the REPL came up after it with no error: the script ran to its end"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
