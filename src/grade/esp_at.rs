//! Espressif's AT firmware (ESP-AT on the ESP32 family and the ESP8266, and the older ESP8266
//! NonOS AT builds) as a log of its UART shows it: a command line (`AT+CIPSTART="TCP",
//! "example.com",80`, `AT+HTTPCLIENT=2,0,"http://httpbin.org/get",,,1`), the response lines it
//! prints for that command (`CONNECT`, `CLOSED`, `+HTTPCLIENT:…`, `DNS Fail`), and one final
//! result code: `OK`, or `ERROR` (`SEND FAIL`, `FAIL` for some commands). A command that opens
//! or uses a network connection and ends in `ERROR` is a request that failed before any answer
//! from the server: ESP-AT prints no HTTP status for it, and its bare `ERROR` is the same for a
//! refused or timed-out connection, a failed DNS lookup and a parameter it did not accept
//! (`AT+SYSLOG=1` makes it print an `ERR CODE:` line first), so the reason says only that.

/// The profile name a log of an AT session is reported under.
pub(crate) const PROFILE: &str = "esp-at";

/// What one line told about the AT session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// A network command ended in `ERROR`: why, in the firmware's words.
    Failed(String),
    /// A connection opened, or a request got its answer: earlier failed tries are over.
    Worked,
    /// The server's data (`+IPD`) is its refusal with an error status: why, quoted.
    Refused(String),
}

/// The commands that reach the network, and what each was asked to do.
const NETWORK: &[(&str, &str)] = &[
    ("CIPSTART", "open a connection"),
    ("CIPSTARTEX", "open a connection"),
    ("CIPDOMAIN", "resolve a host name"),
    ("CIPSEND", "send on a connection"),
    ("CIPSENDEX", "send on a connection"),
    ("HTTPCLIENT", "make an HTTP request"),
    ("HTTPGETSIZE", "make an HTTP request"),
    ("HTTPCGET", "make an HTTP request"),
    ("HTTPCPOST", "make an HTTP request"),
    ("HTTPCPUT", "make an HTTP request"),
    ("MQTTCONN", "connect to the MQTT broker"),
    ("MQTTPUB", "publish to the MQTT broker"),
    ("MQTTPUBRAW", "publish to the MQTT broker"),
    ("MQTTSUB", "subscribe at the MQTT broker"),
    // The MQTT client's set-up before its connect: an AT build without MQTT commands (ESP8266
    // AT 1.x, a build with MQTT left out) answers ERROR to each, and no connect can follow.
    ("MQTTUSERCFG", "set up its MQTT client"),
    ("MQTTLONGCLIENTID", "set up its MQTT client"),
    ("MQTTLONGUSERNAME", "set up its MQTT client"),
    ("MQTTLONGPASSWORD", "set up its MQTT client"),
    ("MQTTCONNCFG", "set up its MQTT client"),
];

/// The command waiting for its result code, and what its response lines said so far.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pending: Option<Pending>,
    /// Network commands that failed since the last one that worked.
    failures: u32,
}

#[derive(Debug)]
struct Pending {
    name: &'static str,
    what: &'static str,
    command: String,
    /// A response line that says more than `ERROR` (`CLOSED`, `DNS Fail`, `ERR CODE:…`).
    detail: Option<String>,
    worked: bool,
}

impl Session {
    /// Read one line (a monitor's timestamp already taken off).
    pub(crate) fn line(&mut self, text: &str) -> Option<Said> {
        let t = host_direction(text.trim());
        if let Some(name) = command_name(t) {
            self.pending = NETWORK
                .iter()
                .find(|(n, _)| *n == name)
                .map(|&(name, what)| Pending {
                    name,
                    what,
                    command: t.to_owned(),
                    detail: None,
                    worked: false,
                });
            return None;
        }
        if let Some(why) = ipd_payload(t).and_then(json_error_status) {
            self.pending = None;
            self.failures = 0;
            return Some(Said::Refused(why));
        }
        let p = self.pending.as_mut()?;
        // Multi-connection mode puts the link id first: `0,CONNECT`, `1,CLOSED`.
        let word = t.split_once(',').map_or(t, |(id, rest)| {
            if id.chars().all(|c| c.is_ascii_digit()) {
                rest
            } else {
                t
            }
        });
        match word {
            "CONNECT" | "ALREADY CONNECTED" | "SEND OK" => p.worked = true,
            "CLOSED" => {
                p.worked = false;
                p.detail = Some("`CLOSED`: the server refused or closed the connection".to_owned());
            }
            "DNS Fail" => p.detail = Some("`DNS Fail`: the host name did not resolve".to_owned()),
            "no ip" => {
                p.detail =
                    Some("`no ip`: the board had no IP address (Wi-Fi not joined)".to_owned())
            }
            "link is not valid" => {
                p.detail = Some("`link is not valid`: no connection was open".to_owned())
            }
            _ if t.starts_with("ERR CODE:") => p.detail = Some(format!("`{t}`")),
            // The ESP8266 AT firmware still busy with the last command (`busy p...`) or its
            // network stack still sending (`busy inet...`): it refuses the new one.
            _ if t.starts_with("busy ") && t.len() < 20 => {
                p.detail = Some(format!(
                    "`{t}`: the AT firmware was still busy with the previous send or command and \
                     refused this one (wait for `SEND OK` before the next AT+CIPSEND)"
                ));
            }
            _ if t.starts_with("+MQTTDISCONNECTED") => {
                p.worked = false;
                p.detail = Some(format!(
                    "`{t}`: the broker connection closed before it was up (refused, \
                     unreachable, or the broker dropped the client)"
                ));
            }
            _ if p.name.starts_with("HTTP") && t.starts_with('+') && t.contains(':') => {
                // `+HTTPCLIENT:<size>,<data>`: the server answered.
                p.worked = true;
            }
            "OK" => {
                let worked = p.worked || p.name.starts_with("HTTP") || p.name == "MQTTCONN";
                self.pending = None;
                if worked {
                    self.failures = 0;
                }
                return worked.then_some(Said::Worked);
            }
            "ERROR" | "FAIL" | "SEND FAIL" => {
                self.failures += 1;
                let why = failed(p, t, self.failures);
                self.pending = None;
                return Some(Said::Failed(why));
            }
            _ => {}
        }
        None
    }
}

/// The data of `+IPD,61:{"status": 400, …}` (`+IPD,0,61:` with several connections), what the
/// server sent. After `AT+CIPSEND` the firmware's `>` prompt comes first on the same line.
pub(crate) fn ipd_payload(t: &str) -> Option<&str> {
    let t = t.trim_start_matches('>').trim_start();
    let (head, data) = t.strip_prefix("+IPD,")?.split_once(':')?;
    head.split(',')
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then_some(data)
}

/// A server's JSON answer that is its refusal: the whole payload one object whose `status` is
/// an HTTP error code (400 to 599) with a `message` or `error` saying why (Espressif's IoT
/// cloud, many REST-over-socket servers). A `status` of 200, or one beside other data, may be
/// a device's or a reading's and says nothing about the request, so it is not taken.
fn json_error_status(payload: &str) -> Option<String> {
    let payload = payload.trim();
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let object = value.as_object()?;
    let status = object
        .get("status")?
        .as_u64()
        .filter(|s| (400..=599).contains(s))?;
    let why = ["message", "error"]
        .iter()
        .find_map(|k| object.get(*k).and_then(|v| v.as_str()))?;
    let quoted: String = payload.chars().take(120).collect();
    Some(format!(
        "the server answered with status {status} (`{quoted}`): it got the request and refused \
         it: `{why}`"
    ))
}

/// A host terminal's mark of what it sent and got (`» AT+…`, `« OK`, `>> `, `<< `, `--> `):
/// the line behind it.
fn host_direction(t: &str) -> &str {
    for mark in ["»", "«", ">>", "<<", "-->", "<--"] {
        if let Some(rest) = t.strip_prefix(mark)
            && (rest.is_empty() || rest.starts_with(' '))
        {
            return rest.trim_start();
        }
    }
    t
}

/// `AT+CIPSTART="TCP",…` → `CIPSTART`; `AT+CIPSTA?` → `CIPSTA`. A query (`AT+MQTTCONN?`) or a
/// test command (`AT+MQTTCONN=?`) is reported as `?`: it asks and reaches no network.
fn command_name(t: &str) -> Option<&str> {
    let rest = t.strip_prefix("AT+").or_else(|| t.strip_prefix("at+"))?;
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(rest.len());
    let name = &rest[..end];
    let after = &rest[end..];
    if after.starts_with('?') || after.starts_with("=?") {
        return Some("?");
    }
    (!name.is_empty()).then_some(name)
}

fn failed(p: &Pending, result: &str, failures: u32) -> String {
    let command = if p.command.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| p.command.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &p.command[..cut])
    } else {
        p.command.clone()
    };
    let answer = if p.name.starts_with("HTTP") {
        ", with no HTTP status"
    } else {
        ""
    };
    let why = match &p.detail {
        Some(d) => format!("it said {d}"),
        None if p.what == "set up its MQTT client" => "the firmware does not know the command \
                 (an AT build without MQTT, such as ESP8266 AT 1.x) or did not accept a \
                 parameter, and no connect to the broker can follow"
            .to_owned(),
        None => "a bare ERROR is the same for a refused or timed-out connection, a failed DNS \
                 lookup and a parameter the firmware did not accept (AT+SYSLOG=1 makes it print \
                 the error code)"
            .to_owned(),
    };
    let tries = if failures > 1 {
        format!(" (the last of {failures} network commands in a row that failed)")
    } else {
        String::new()
    };
    format!(
        "the AT firmware could not {} (AT+{}): it answered `{command}` with \
         `{result}`{answer}{tries}; {why}",
        p.what, p.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(lines: &str) -> Vec<Said> {
        let mut s = Session::default();
        lines.lines().filter_map(|l| s.line(l)).collect()
    }

    #[test]
    fn a_busy_at_firmware_says_so() {
        let said = session("AT+CIPSEND=1,3\nbusy inet\u{2026}\nERROR\n");
        let [Said::Failed(why)] = said.as_slice() else {
            panic!("{said:?}");
        };
        assert!(
            why.contains("`busy inet\u{2026}`: the AT firmware was still busy"),
            "{why}"
        );
    }

    #[test]
    fn a_network_command_answered_error_failed() {
        let said = session("AT+HTTPCLIENT=2,0,\"http://httpbin.org/get\",,,1\n\nERROR\n");
        let [Said::Failed(why)] = said.as_slice() else {
            panic!("{said:?}");
        };
        assert!(why.contains("HTTP request") && why.contains("`ERROR`, with no HTTP status"));
        let said = session("AT+CIPSTART=\"TCP\",\"example.com\",80\nDNS Fail\n\nERROR\n");
        let [Said::Failed(why)] = said.as_slice() else {
            panic!("{said:?}");
        };
        assert!(
            why.contains("open a connection") && why.contains("did not resolve"),
            "{why}"
        );
        let said = session("AT+CIPSTART=\"TCP\",\"192.168.1.9\",8080\nCLOSED\n\nERROR\n");
        assert!(matches!(&said[..], [Said::Failed(w)] if w.contains("refused or closed")));
    }

    #[test]
    fn answers_that_worked_and_commands_off_the_network_are_not_failures() {
        assert_eq!(
            session("AT+CIPSTART=\"TCP\",\"example.com\",80\nCONNECT\n\nOK\n"),
            [Said::Worked]
        );
        assert_eq!(
            session("AT+CIPSTART=0,\"TCP\",\"example.com\",80\n0,CONNECT\nOK\n"),
            [Said::Worked]
        );
        assert_eq!(
            session("AT+HTTPCLIENT=2,0,\"http://x/get\",,,1\n+HTTPCLIENT:12,{\"a\":1}\n\nOK\n"),
            [Said::Worked]
        );
        // A query, a setting, or an unknown command answered ERROR says nothing about a server.
        assert!(
            session("AT+CIPSTA?\n+CIPSTA:ip:\"192.168.1.179\"\nOK\nAT+CWMODE=9\nERROR\n")
                .is_empty()
        );
        // ERROR with no command before it (the host's log started mid-session).
        assert!(session("ERROR\n").is_empty());
        // Tries that fail one after another are counted; one that works resets the count.
        let said =
            session("AT+CIPSTART=\"TCP\",\"a\",80\nERROR\nAT+CIPSTART=\"TCP\",\"a\",80\nERROR\n");
        assert!(
            matches!(&said[..], [_, Said::Failed(w)] if w.contains("last of 2")),
            "{said:?}"
        );
    }

    #[test]
    fn the_servers_json_error_status_is_its_refusal() {
        let said = session(
            "AT+CIPSEND=42\n>+IPD,61:{\"status\": 400, \"message\": \"io error, may be idle too long\"}   \nCLOSED\n",
        );
        assert!(
            matches!(&said[..], [Said::Refused(w)] if w.contains("status 400") && w.contains("idle too long")),
            "{said:?}"
        );
        assert!(matches!(
            &session("+IPD,0,40:{\"status\":503,\"error\":\"busy\"}\n")[..],
            [Said::Refused(_)]
        ));
        // A status of 200, a status without a reason, or one inside other data decides nothing.
        for data in [
            "+IPD,30:{\"status\": 200, \"message\": \"ok\"}",
            "+IPD,20:{\"status\": 404}",
            "+IPD,40:{\"sensor\": {\"status\": 500, \"message\": \"x\"}}",
            "+IPD,20:status 400 message",
        ] {
            assert!(session(data).is_empty(), "{data}");
        }
        // A real status line behind the prompt is the HTTP client's to read.
        assert_eq!(
            ipd_payload(">+IPD,327:HTTP/1.1 400 Bad Request"),
            Some("HTTP/1.1 400 Bad Request")
        );
    }

    #[test]
    fn mqtt_commands_answered_error_failed_and_queries_do_not_count() {
        // A host terminal's direction marks, the broker's drop before the result code, and the
        // state query after it that must not count as a connect that worked.
        let said = session(
            "» AT+MQTTCONN=0,\"x.iotcloud.tencentdevices.com\",1883,1\n\
             « AT+MQTTCONN=0,\"x.iotcloud.tencentdevices.com\",1883,1\n\
             +MQTTDISCONNECTED:0\n\nERROR\n» AT+MQTTCONN?\n« AT+MQTTCONN?\n\
             +MQTTCONN:0,2,1,\"\",\"\",\"\",0\n\nOK\n",
        );
        assert!(
            matches!(&said[..], [Said::Failed(w)] if w.contains("MQTT broker") && w.contains("+MQTTDISCONNECTED")),
            "{said:?}"
        );
        let said = session("AT+MQTTUSERCFG=0,5,\"ESP32\",\"espressif\",\"pw\",0,0,\"\"\n\nERROR\n");
        assert!(
            matches!(&said[..], [Said::Failed(w)] if w.contains("without MQTT")),
            "{said:?}"
        );
        assert!(matches!(
            &session("AT+MQTTPUB=0,\"t\",\"1\",1,0\nERROR\n")[..],
            [Said::Failed(_)]
        ));
        // Near misses: a query or test command answered ERROR, a marker glued to a word, a
        // set-up that worked.
        for log in [
            "AT+MQTTCONN?\nERROR\n",
            "AT+MQTTUSERCFG=?\nERROR\n",
            ">>AT+MQTTCONN=0,\"b\",1883,1\nOK\n",
            "AT+MQTTUSERCFG=0,1,\"id\",\"\",\"\",0,0,\"\"\nOK\n",
        ] {
            assert!(session(log).is_empty(), "{log}");
        }
    }
}
