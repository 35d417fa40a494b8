//! A connection that was up and then went down, as a TCP client finds out when it next looks:
//! arduino-esp32 WiFiClient's `connected(): Disconnected: RES: -1, ERR: 104` (a debug line its
//! `connected()` prints for every client on the socket, PubSubClient's, HTTPClient's, a
//! sketch's own). `RES: -1` with a reset, abort or broken pipe is the peer (or the path to it)
//! killing the connection: the app's next write fails, so a log that ends on it is a fault. `RES:
//! 0` is the peer closing the connection in order (a server that answered and hung up, a
//! client of the board's own web server leaving): no failure, and it takes back a reset before
//! it, since the client reconnected in between.

/// What a client said about its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// The connection broke: why.
    Broke(String),
    /// The peer closed the connection in order (or the socket was already closed).
    Closed,
}

/// How every reason this module gives starts, so that a later orderly close can take back
/// only its own.
pub(crate) const WHO: &str = "the TCP connection (arduino-esp32 WiFiClient) broke";

/// WiFiClient's `connected(): Disconnected: RES: <recv()'s result>, ERR: <errno>`, at any debug
/// tag layout (`[D][WiFiClient.cpp:509]`, `[  6012][D][WiFiClient.cpp:546]`).
pub(crate) fn wificlient(text: &str) -> Option<Said> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("connected(): disconnected: res: ")?;
    let rest = &lower[at + "connected(): disconnected: res: ".len()..];
    let (res, rest) = rest.split_once(',')?;
    let res: i32 = res.trim().parse().ok()?;
    let err: i32 = rest
        .trim_start()
        .strip_prefix("err:")?
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    if res == 0 {
        return Some(Said::Closed);
    }
    let what = match err {
        104 => "the peer reset it (ERR: 104, ECONNRESET, connection reset by peer)",
        113 => {
            "it was aborted (ERR: 113, ECONNABORTED: lwIP gave up on it, the link dropped or the \
             peer stopped answering)"
        }
        32 => "the peer had gone (ERR: 32, EPIPE, broken pipe)",
        111 => "the peer refused it (ERR: 111, ECONNREFUSED)",
        // ENOTCONN: the socket was closed already, which the line before said.
        _ => return Some(Said::Closed),
    };
    Some(Said::Broke(format!(
        "{WHO}: {what} (`{}`); the app's next write on it fails, and the log shows no \
         connection after it",
        text.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_connection_is_a_break_and_an_orderly_close_is_not() {
        for (line, word) in [
            (
                "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 104",
                "connection reset by peer",
            ),
            (
                "[  6012][D][WiFiClient.cpp:546] connected(): Disconnected: RES: -1, ERR: 113",
                "ECONNABORTED",
            ),
            (
                "[D][WiFiClient.cpp:482] connected(): Disconnected: RES: -1, ERR: 32",
                "broken pipe",
            ),
        ] {
            match wificlient(line) {
                Some(Said::Broke(why)) => {
                    assert!(
                        why.contains(word) && why.contains("RES: -1"),
                        "{line}: {why}"
                    )
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        for line in [
            "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: 0, ERR: 128",
            "[D][WiFiClient.cpp:463] connected(): Disconnected: RES: 0, ERR: 104",
            "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 128",
        ] {
            assert_eq!(wificlient(line), Some(Said::Closed), "{line}");
        }
        for line in [
            "[I][WiFiClient.cpp:520] connected(): Unexpected: RES: -1, ERR: 11",
            "[D][WiFiGeneric.cpp:337] _eventCallback(): Event: 5 - STA_DISCONNECTED",
            "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: x, ERR: 104",
            "Disconnected: RES: -1",
        ] {
            assert_eq!(wificlient(line), None, "{line}");
        }
    }

    fn grade(log: &str) -> crate::grade::Report {
        let config = crate::grade::GradeConfig::new(crate::grade::Profile::Auto);
        crate::grade::grade_bytes(config, log.as_bytes())
    }

    #[test]
    fn the_last_word_about_the_connection_decides() {
        // Quoted from an issue, as pasted.
        let r = grade("> [D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 104\n");
        assert_eq!(r.verdict, crate::grade::Verdict::Fault, "{}", r.reason);
        assert!(r.reason.contains("ERR: 104"), "{}", r.reason);
        // A web server's clients come and go: the reset one was followed by an orderly close.
        let r = grade(
            "[D][WiFiClient.cpp:509] connected(): Disconnected: RES: -1, ERR: 104\n\
             Device Type:beacon\n\
             [D][WiFiClient.cpp:509] connected(): Disconnected: RES: 0, ERR: 128\n",
        );
        assert_eq!(r.verdict, crate::grade::Verdict::Timeout, "{}", r.reason);
    }
}
