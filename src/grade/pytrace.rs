//! MicroPython, pycopy and CircuitPython tracebacks as users paste them (the line layer takes
//! off markdown's back-ticks), or from a frame line on when the paste cut the `Traceback` header off; and what
//! the `OSError` they end on means on those ports (lwIP's `getaddrinfo` codes, axTLS's alerts
//! on the ESP8266, mbedTLS's codes on the ESP32, socket errnos).

/// A traceback's frame line that can start one whose header the paste left out: `File
/// "urequests.py", line 108, in get`.
pub(crate) fn headless_start(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("File \"") && t.contains("\", line ") && t.contains(", in ")
}

/// What an exception line's `OSError` says, when the ports' codes name it.
pub(crate) fn oserror(exception: &str) -> Option<String> {
    let rest = exception.trim().strip_prefix("OSError:")?.trim();
    if let Some(errno) = rest.strip_prefix("[Errno ") {
        let name = errno.split(']').nth(1)?.trim();
        return errno_meaning(name).map(|m| format!("; {name}: {m}"));
    }
    let code: i32 = rest.parse().ok()?;
    Some(match code {
        -204..=-200 => {
            let name = super::libdiag::eai_name(-code)?;
            format!(
                "; {code} is lwIP's getaddrinfo failing ({name}): the host name did not resolve \
                 (DNS), so no connection was tried; check the URL's host and the network's DNS"
            )
        }
        c if (-0x7fff..=-0x1000).contains(&c) => format!(
            "; {code} is mbedTLS error -0x{:04X} (the ESP32 port's TLS library): the TLS \
             connection failed",
            -c
        ),
        c if c < 0 => {
            let alert = super::axtls::alert_status(c)?;
            let why = if code == -40 {
                ": the server refused the handshake, it shares no TLS version or cipher suite \
                 with axTLS (TLS 1.2 with RSA AES-CBC suites only)"
            } else {
                ""
            };
            format!(
                "; {code} on the ESP8266 port is axTLS's code for a TLS failure: {alert}{why} (no \
                 HTTP status came)"
            )
        }
        _ => return None,
    })
}

/// The socket errnos MicroPython raises (newlib's names, lwIP's numbers).
fn errno_meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "ECONNABORTED" => {
            "the board's own network stack (lwIP) aborted the connection: a connect the \
             server never answered, or a connection that broke (Wi-Fi dropped)"
        }
        "ECONNRESET" => "the server reset the connection",
        "ECONNREFUSED" => "the server refused the connection (nothing listens on that port)",
        "ETIMEDOUT" => "the server did not answer in time",
        "EHOSTUNREACH" => "the board has no route to the server",
        "ENOTCONN" => "the socket was not connected (an earlier step failed)",
        "ENOMEM" => "the board ran out of memory (a TLS connection needs tens of kilobytes)",
        "EINPROGRESS" => "a non-blocking connect had not finished",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_tracebacks_and_what_their_oserrors_mean() {
        assert!(headless_start(" File \"urequests.py\", line 108, in get"));
        assert!(!headless_start("File system mounted"));
        let m = oserror("OSError: -202").unwrap_or_default();
        assert!(m.contains("getaddrinfo") && m.contains("EAI_FAIL"), "{m}");
        let m = oserror("OSError: -40").unwrap_or_default();
        assert!(
            m.contains("axTLS") && m.contains("handshake_failure"),
            "{m}"
        );
        let m = oserror("OSError: -29312").unwrap_or_default();
        assert!(m.contains("-0x7280"), "{m}");
        let m = oserror("OSError: [Errno 113] ECONNABORTED").unwrap_or_default();
        assert!(m.contains("ECONNABORTED: the board's own"), "{m}");
        assert!(m.contains("never answered"), "{m}");
        assert_eq!(oserror("OSError: 23"), None);
        assert_eq!(oserror("ValueError: -202"), None);
    }
}
