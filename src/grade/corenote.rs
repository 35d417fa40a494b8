//! Arduino-ESP32 core error lines that are about a setting, not the outcome: WiFiClient's (3.x:
//! NetworkClient's) failure to set a socket option (`[E][WiFiClient.cpp:236] setSocketOption():
//! 1006 : 9`, `setSocketOption(): fail on 48, errno: 22, "Invalid argument"`, 1.x's `setOption():
//! fail on fd -1, errno: 9, "Bad file number"`). A sketch that calls `setTimeout` before the
//! socket is open gets errno 9 (EBADF) every time, and the connection works anyway, so a log
//! that ends on one has no outcome: it timed out, and the reason names the line.

/// The note a timeout's reason carries when the log ends on `text`, or `None`.
pub(crate) fn socket_option(number: usize, text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() > 300 || !t.contains("[E]") {
        return None;
    }
    let call = ["setSocketOption()", "setOption()", "getOption()"]
        .into_iter()
        .find(|c| t.contains(c))?;
    let after = &t[t.find(call)? + call.len()..];
    let errno = errno(after);
    let meaning = match errno.as_deref() {
        Some("9") => {
            " (errno 9, EBADF: no socket was open yet, as when the sketch sets a timeout before \
             it connects)"
        }
        Some("22") => " (errno 22, EINVAL: the socket refused that option or value)",
        Some("88") => " (errno 88, ENOTSOCK: the descriptor is not a socket)",
        _ => "",
    };
    Some(format!(
        "; the last error, line {number} `{t}`, is the Arduino core's WiFiClient failing to set \
         a socket option in `{call}`{meaning}: a warning about a setting, which says nothing \
         about whether the connection or request worked"
    ))
}

/// The errno of `… errno: 22, "…"` or of `1006 : 9` (option, then errno).
fn errno(after: &str) -> Option<String> {
    let rest = match after.find("errno:") {
        Some(i) => &after[i + 6..],
        None => &after[after.rfind(':')? + 1..],
    };
    let n: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!n.is_empty()).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_option_errors_of_each_core_are_read() {
        for (line, word) in [
            (
                "[E][WiFiClient.cpp:236] setSocketOption(): 1006 : 9",
                "EBADF",
            ),
            (
                "> [ 23273][E][NetworkClient.cpp:326] setSocketOption(): fail on 48, errno: 22, \
                 \"Invalid argument\"",
                "EINVAL",
            ),
            (
                "[E][WiFiClient.cpp:365] setOption(): fail on fd -1, errno: 9, \"Bad file number\"",
                "setOption()",
            ),
            (
                "[E][WiFiClient.cpp:236] setSocketOption(): 1006 : 88",
                "ENOTSOCK",
            ),
        ] {
            let why = socket_option(3, line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains(word), "{line}: {why}");
            assert!(why.contains("line 3"), "{why}");
        }
    }

    #[test]
    fn other_core_errors_are_not_socket_option_notes() {
        for line in [
            "[E][WiFiClient.cpp:396] write(): fail on fd 48, errno: 104, \"Connection reset\"",
            "[E][ssl_client.cpp:37] _handle_error(): [start_ssl_client():199]: (-29312) SSL",
            "[D][WiFiClient.cpp:236] setSocketOption(): 1006 : 0",
            "setSocketOption returned 0",
        ] {
            assert_eq!(socket_option(1, line), None, "{line}");
        }
    }
}
