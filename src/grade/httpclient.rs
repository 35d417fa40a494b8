//! The `HTTPClient` examples' lines (`BasicHttpClient`, `BasicHttpsClient`, on both cores):
//! `[HTTPS] GET... code: 200` and `[HTTP] POST... failed, error: connection refused`, and the
//! ESP-IDF `esp_http_client` example's `I (3730) HTTP_CLIENT: HTTP GET Status = 200, …`. An HTTP
//! status is a verdict: 2xx passes, anything else fails; a request that never got one is a
//! connection fault.

use std::sync::LazyLock;

use regex::Regex;

use super::model::Verdict;

/// The profile name a log is graded under once it shows these lines.
pub(crate) const PROFILE: &str = "http-client";

/// The examples' `[HTTPS] GET... code: 200`, `[HTTP] POST... failed, error: …`, and the
/// adaptations sketches make of them: `[HTTP] Failed, error: …` (no method), `[HTTP] GET Failed,
/// error: …`, `[HTTP] GET...code: 200`.
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\[(HTTPS?)\]\s*(?:(GET|POST|PUT|PATCH|DELETE|HEAD)\b\.*\s*)?(?:code:\s*(-?\d+)|failed,?\s*error:\s*(.*))",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// The status as sketches that adapt the examples print it: Random Nerd Tutorials' `HTTP
/// Response code: 200`, `httpCode: 404`, `HTTP Status Code: 301`, `Response code = 200`,
/// `[HTTPS] Status code: 200`.
static PRINTED_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\[https?\]\s*)?(?:https?\s*(?:response\s+|status\s+|return\s+)?|(?:response|status)\s+)code\s*(?:is\s*|[:=]\s*)(-\d*|\d+)\s*\.?$",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// The same sketches' failure branch: `Error code: -1`, `Error on sending POST: -1`, printed
/// instead of a status when `GET()` or `POST()` returns one of HTTPClient's error codes.
static ERROR_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:http\s+)?error\s*code|error on sending (?:get|post|put|patch|delete|request))\s*[:=]\s*(-(?:1[01]|[1-9]))\s*$")
        .unwrap_or_else(|_| unreachable!())
});

/// HTTPClient's own debug output (`DEBUG_HTTPCLIENT` on the ESP8266, core debug level on the
/// ESP32): the status line it parsed, before the sketch prints anything.
/// Older ESP8266 cores print the status line it received instead: `[HTTP-Client]
/// [handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'`.
static DEBUG_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"handleHeaderResponse(?:\]|\(\):)\s*(?:code:\s*(-?\d+)\s*$|RX:\s*'HTTP/1\.[01] (\d{3})\b)",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// esp_http_client's debug output: `D (6366) HTTP_CLIENT: http_on_headers_complete, status=200,
/// offset=243, nread=243`, the status it parsed, before the app logs its own line.
static IDF_DEBUG_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"http_on_headers_complete, status=(\d{3})\b").unwrap_or_else(|_| unreachable!())
});

/// A response's status line as firmware that reads the socket itself prints it:
/// `HTTP/1.1 400 Bad Request`; ArduinoJson's `JsonHttpClient` example prints the one it did not
/// expect as `Unexpected response: HTTP/1.1 301 Moved Permanently`.
static STATUS_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(Unexpected response: )?HTTP/1\.[01] (\d{3})\b")
        .unwrap_or_else(|_| unreachable!())
});

/// HTTPUpdate's debug line for a status it does not take (both cores): `[httpUpdate] HTTP Code is
/// (302)`, `[E][HTTPUpdate.cpp:322] handleUpdate(): HTTP Code is (500)`.
static UPDATE_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:httpupdate|handleupdate).*HTTP Code is \((\d{3})\)")
        .unwrap_or_else(|_| unreachable!())
});

/// HTTPUpdate's result line, `HTTP_UPDATE_FAILD Error (-104): Wrong HTTP Code` (the ESP32's
/// spells it `FAILED`), read from `lower`: the error code and its message.
pub(crate) fn update_error(lower: &str) -> Option<(i32, &str)> {
    let at = lower
        .find("http_update_faild error (")
        .map(|i| i + 25)
        .or_else(|| lower.find("http_update_failed error (").map(|i| i + 26))?;
    let code = lower[at..].split(')').next()?.trim().parse::<i32>().ok()?;
    let msg = lower[at..]
        .split_once("):")
        .map(|(_, m)| m.trim().trim_end_matches('.').trim())
        .filter(|m| !m.is_empty())
        .unwrap_or("no reason given");
    Some((code, msg))
}

/// Whether an HTTPUpdate error means the server answered, with a status other than 200 or
/// without the image's size: `HTTP_UE_SERVER_NOT_REPORT_SIZE` (-101), `_FILE_NOT_FOUND` (-102),
/// `_FORBIDDEN` (-103), `_WRONG_HTTP_CODE` (-104), `_UNAUTHORIZED` (-108), or sent an image that
/// HTTPUpdate refused ([`update_image_refused`]). The others are a failed connection (-1 to
/// -11, HTTPClient's) or the flash (Update's own positive codes).
pub(crate) fn update_answered(code: i32) -> bool {
    matches!(code, -104..=-101 | -108) || update_image_refused(code).is_some()
}

/// Why HTTPUpdate refused the image it downloaded: the server answered and the download
/// worked, but the file cannot be installed (`HTTP_UE_TOO_LESS_SPACE`, `_SERVER_FAULTY_MD5`,
/// `_BIN_VERIFY_HEADER_FAILED`, `_BIN_FOR_WRONG_FLASH`).
fn update_image_refused(code: i32) -> Option<&'static str> {
    Some(match code {
        -100 => "the image is larger than the space for it (a build bigger than the OTA partition)",
        -105 => {
            "the image's MD5 is not the one the server announced (the download was corrupted, \
             or the server's x-MD5 header is stale)"
        }
        -106 => {
            "the file is not a firmware image for this board (its header is wrong: the server \
             sent another file, such as an HTML page, or a build for another chip)"
        }
        -107 => "the image was built for another flash size than this board's",
        _ => return None,
    })
}

/// The verdict of an OTA update whose server answered with the wrong status or an image that
/// was refused, and why.
fn update_refused(text: &str) -> Option<(Verdict, String)> {
    if let Some(c) = UPDATE_STATUS.captures(text) {
        let (_, why) = status("OTA update", c.get(1)?.as_str())?;
        return Some((Verdict::Fail, format!("{why} (HTTPUpdate takes only 200)")));
    }
    let lower = text.to_ascii_lowercase();
    let (code, msg) = update_error(&lower).filter(|(c, _)| update_answered(*c))?;
    if let Some(why) = update_image_refused(code) {
        return Some((
            Verdict::Fail,
            format!(
                "the OTA update downloaded an image that was refused: HTTPUpdate error {code}, \
                 `{msg}`: {why}"
            ),
        ));
    }
    Some((
        Verdict::Fail,
        format!(
            "the OTA update server answered with a status other than 200: HTTPUpdate error \
             {code}, `{msg}` (the server is up; the URL, its redirects or the credentials are \
             wrong)"
        ),
    ))
}

/// An image that an OTA download wrote failed ESP-IDF's verification (`esp_image: invalid
/// segment length 0x71ebb4ba`, `esp_image: Image hash failed - image is corrupt`,
/// `esp_ota_ops: OTA image has invalid magic byte`, `esp_https_ota: Mismatch chip id`,
/// `ESP_ERR_OTA_VALIDATE_FAILED`): the server answered and the download worked, the file is not
/// an image this board runs. Why, in words. The bootloader checks the installed app with the
/// same `esp_image` lines: the caller tells them apart.
pub(crate) fn ota_image_refused(text: &str) -> Option<String> {
    const SAID: [&str; 9] = [
        "esp_image: invalid segment length",
        "esp_image: image hash failed",
        "esp_image: checksum failed",
        "esp_image: image at 0x",
        "ota image has invalid magic byte",
        "image failed verification",
        "image validation failed",
        "mismatch chip id",
        "esp_err_ota_validate_failed",
    ];
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let said = SAID.iter().any(|w| lower.contains(w))
        && (!lower.contains("esp_image: image at 0x") || lower.contains("invalid magic"));
    said.then(|| {
        format!(
            "the OTA update downloaded an image that failed verification (`{}`): the download \
             completed and the board refused the image (a corrupted or cut file, not a firmware \
             image, or a build for another chip)",
            shorten(t)
        )
    })
}

/// The Firebase libraries' `Token error: code: -4, message: connection lost`, read from
/// `lower`: the code (a negative one is the client's own error, 100 or more the token server's
/// HTTP status) and the message.
pub(crate) fn token_error(lower: &str) -> Option<(Option<i32>, &str)> {
    let i = lower.find("token error: code: ")?;
    let rest = &lower[i + 19..];
    let code = rest
        .split(',')
        .next()
        .and_then(|n| n.trim().parse::<i32>().ok());
    let msg = rest
        .split_once("message:")
        .map(|(_, m)| m.trim())
        .filter(|m| !m.is_empty())
        .unwrap_or("no message");
    Some((code, msg))
}

/// A Firebase library's code that it sets itself when no answer came in time (its
/// `HTTP_CODE_REQUEST_TIMEOUT`), though it looks like an HTTP status.
pub(crate) fn own_timeout(code: i32) -> bool {
    code == 408
}

/// Google's token server answered the Firebase library with an HTTP error status.
fn token_refused(text: &str) -> Option<(Verdict, String)> {
    let lower = text.to_ascii_lowercase();
    let (code, msg) = token_error(&lower)?;
    // 408 is the libraries' own read timeout (Firebase-ESP-Client's `request timed out`), not
    // a status the token server sent: the connection's fault, read by `clientdiag`.
    let code = code.filter(|c| (100..=599).contains(c) && !own_timeout(*c))?;
    Some((
        Verdict::Fail,
        format!(
            "Google's token server answered the Firebase library's request for an auth token \
             with HTTP {code} ({msg}): the server was reached; the API key, the user's \
             credentials or the project's sign-in settings are wrong"
        ),
    ))
}

/// ESP-IDF's socket examples' `I (863514) example: Reading HTTP response...`.
pub(crate) fn reading_response(text: &str) -> bool {
    super::idf::log_body(text).is_some_and(|b| b.trim_end().ends_with(": Reading HTTP response..."))
}

/// Their `I (983584) example: connection closed` (the read returned 0: the server closed).
pub(crate) fn connection_closed(text: &str) -> bool {
    super::idf::log_body(text).is_some_and(|b| b.trim_end().ends_with(": connection closed"))
}

/// The verdict a printed status line gives, and why.
pub(crate) fn status_line(text: &str) -> Option<(Verdict, String)> {
    let t = text.trim();
    // Espressif's AT firmware passes the response on behind `+IPD,<length>:`.
    let t = super::esp_at::ipd_payload(t).unwrap_or(t);
    let c = STATUS_LINE.captures(t)?;
    let (verdict, why) = status("HTTP", c.get(2)?.as_str())?;
    // The example compares the whole line with `HTTP/1.0 200 OK`: a server that answers 200
    // with HTTP/1.1 or without the reason phrase is "unexpected" to it, and still a success.
    let note = if c.get(1).is_some() && verdict == Verdict::Pass {
        " (the sketch called it unexpected because it compares the whole status line with \
         `HTTP/1.0 200 OK`; the server said yes)"
    } else {
        ""
    };
    Some((
        verdict,
        format!("the firmware printed the server's `{t}`: {why}{note}"),
    ))
}

/// A firmware update the board downloaded itself that completed: the download, its TLS and
/// the write all worked. ESP-IDF's OTA examples (`OTA Succeed, Rebooting...`, `ESP_HTTPS_OTA
/// upgrade successful`) and HTTPUpdate callers (`HTTP_UPDATE_OK`). An update pushed to the board
/// (a web updater's `Update Success: 228624`, ArduinoOTA, ESPHome) is read by `pushota`, which
/// passes it once the reboot it asks for follows. What the board does after its reboot may
/// still say otherwise.
pub(crate) fn ota_succeeded(text: &str) -> Option<String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let said = [
        "ota succeed",
        "https_ota upgrade successful",
        "http_update_ok",
        // Tasmota's `UPGRADE = Successful. Restarting` is read earlier, by `pushota`, with the
        // restart it announces.
    ]
    .iter()
    .any(|w| lower.contains(w));
    (said && !lower.contains("not ") && !lower.contains("fail"))
        .then(|| format!("the firmware update completed: `{}`", shorten(t)))
}

fn shorten(t: &str) -> &str {
    match t.char_indices().nth(100) {
        Some((i, _)) => &t[..i],
        None => t,
    }
}

/// NodeMCU's `http` module called from Lua (`http.get(url, headers, function(code, data) …
/// end)`, at the REPL or in a script that echoes it).
pub(crate) fn lua_request(text: &str) -> bool {
    [
        "http.get(",
        "http.post(",
        "http.put(",
        "http.delete(",
        "http.request(",
    ]
    .iter()
    .any(|call| text.contains(call))
}

/// The `(code, data)` its callback gets, as the module's documented example prints them:
/// `print(code, data)` gives `200\t<body>`; a negative code (the connection or the request
/// failed) prints `HTTP request failed` there. Only after [`lua_request`].
static LUA_RESULT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(-?\d{1,3})\t").unwrap_or_else(|_| unreachable!()));

/// What a line after a NodeMCU `http` call says about it.
pub(crate) fn lua_result(text: &str) -> Option<Said> {
    let t = text.trim_start_matches("> ");
    if t.trim() == "HTTP request failed" {
        let (v, why) = failed_before_status(
            "HTTP",
            "the NodeMCU http callback got a negative code",
            " (the connection or the request failed)",
        );
        return Some(Said::Step(v, why));
    }
    let code = LUA_RESULT.captures(t)?.get(1)?.as_str();
    let (v, why) = match code.parse::<i32>().ok()? {
        c if c < 0 => failed_before_status(
            "HTTP",
            &format!("the NodeMCU http callback got code {c}"),
            " (the module's own error: the connection or the request failed)",
        ),
        _ => status("HTTP", code)?,
    };
    Some(Said::Step(v, format!("{why} (NodeMCU http callback)")))
}

/// What a line says about the request, and how sure that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Said {
    /// The sketch printed the outcome: a verdict.
    Outcome(Verdict, String),
    /// One request's outcome in an app that makes several in a row (ESP-IDF's `esp_http_client`
    /// example runs a dozen): the worst of them decides, so a later failure still counts.
    Step(Verdict, String),
    /// HTTPClient's debug output saw the server's status: the sketch's own line, which follows,
    /// says it better (a redirect is only an outcome if HTTPClient does not follow it).
    Status(Verdict, String),
}

/// What a line says, if it is one of these.
pub(crate) fn read(text: &str) -> Option<Said> {
    if let Some(c) = IDF_STATUS.captures(text.trim()) {
        let (v, why) = status(c.get(1)?.as_str(), c.get(2)?.as_str())?;
        return Some(Said::Step(v, why));
    }
    if let Some(c) = super::idf::log_body(text).and_then(|b| IDF_STATUS_CODE.captures(b.trim())) {
        let (v, why) = status("HTTP", c.get(1)?.as_str())?;
        return Some(Said::Step(v, format!("{why} (the app's own line)")));
    }
    if let Some((v, why)) = classify(text) {
        return Some(Said::Outcome(v, why));
    }
    let (c, whose) = match DEBUG_STATUS.captures(text.trim()) {
        Some(c) => (c, "HTTPClient's own debug line"),
        None => (
            IDF_DEBUG_STATUS.captures(text)?,
            "esp_http_client's debug line",
        ),
    };
    let code = c.get(1).or_else(|| c.get(2))?.as_str();
    if code.starts_with('3') {
        if whose != "HTTPClient's own debug line" {
            // esp_http_client follows redirects unless the app turned that off.
            return None;
        }
        // HTTPClient follows a redirect only when the sketch asks it to, and its debug output
        // then says `following redirect` (see [`follows_redirect`]): until then, the answer.
        let (v, why) = status("HTTP", code)?;
        return Some(Said::Status(
            v,
            format!("{why} ({whose}; no `following redirect` came after it)"),
        ));
    }
    let (v, why) = status("HTTP", code)?;
    Some(Said::Status(v, format!("{why} ({whose})")))
}

/// HTTPClient's debug line when it follows a redirect itself (`[HTTP-Client][sendRequest]
/// following redirect (the same method): '…' redirCount: 1`, both cores): the 3xx before it
/// was not the request's answer.
pub(crate) fn follows_redirect(lower: &str) -> bool {
    lower.contains("following redirect")
}

/// Whether a line is HTTPClient's debug output of a 3xx status (a redirect it may follow).
pub(crate) fn redirect_seen(text: &str) -> bool {
    DEBUG_STATUS
        .captures(text.trim())
        .and_then(|c| c.get(1).or_else(|| c.get(2)))
        .is_some_and(|m| m.as_str().starts_with('3'))
}

/// A sketch that prints the URL it requests and then what `GET()` returned, alone on its line
/// (`Serial.println(url); … Serial.println(httpCode);`): `200`, `-11`. A bare number says
/// this only right after a line that is just a URL, and only as an HTTP status or one of
/// HTTPClient's error codes; the sketch's next request may still say otherwise.
pub(crate) fn code_after_url(prev: &str, text: &str) -> Option<Said> {
    let url = prev.trim();
    let is_url = (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains(char::is_whitespace);
    let code: i32 = text.trim().parse().ok().filter(|_| is_url)?;
    if httpclient_error(code).is_none() && !(100..=599).contains(&code) {
        return None;
    }
    let (v, why) = status("HTTP", &code.to_string())?;
    Some(Said::Status(
        v,
        format!("{why} (the code the sketch printed after requesting {url})"),
    ))
}

/// ESP-IDF's example: `HTTP GET Status = 200`, `HTTP POST status = 201`,
/// `HTTP Absolute path redirect Status = 200` (the method word is first). The `I (t) ` before
/// the tag may be missing: an ESP8266_RTOS_SDK build with the log's level and time turned off,
/// or a line pasted from the middle.
static IDF_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[IWE] \([\d:.]+\) )?[\w-]+: HTTP (GET|POST|PUT|PATCH|DELETE|HEAD)\b[^=]*[Ss]tatus = (-?\d+)")
        .unwrap_or_else(|_| unreachable!())
});

/// An ESP-IDF app's own line for the status its `esp_http_client` request got, in its words:
/// ESP-AT's `at_http_to_fs: recv http status code: 403`, `app: HTTP status code: 404`,
/// `ota: Status code = 500`. Only after an app's `tag: ` and only at the line's end.
static IDF_STATUS_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\w-]+: (?:[^:=]*\s)?(?:https?\s+status(?:\s+code)?|status\s+code)\s*(?:is\s*|[:=]\s*)(\d{3})\s*\.?$")
        .unwrap_or_else(|_| unreachable!())
});

/// The verdict a line decides, and why.
pub(crate) fn classify(text: &str) -> Option<(Verdict, String)> {
    if let Some(refused) = update_refused(text).or_else(|| token_refused(text)) {
        return Some(refused);
    }
    if let Some(c) = IDF_STATUS.captures(text.trim()) {
        return status(c.get(1)?.as_str(), c.get(2)?.as_str());
    }
    if let Some(answered) = super::libstatus::answered(text) {
        return Some(answered);
    }
    if let Some(c) = PRINTED_STATUS
        .captures(text.trim())
        .or_else(|| ERROR_CODE.captures(text.trim()))
    {
        return status("HTTP", c.get(1)?.as_str());
    }
    if let Some(c) = ESPHOME.captures(text) {
        return match (c.get(1), c.get(2)) {
            (Some(error), _) => Some(failed_with("HTTP", error.as_str().trim())),
            (_, Some(code)) => status("HTTP", code.as_str()),
            _ => None,
        };
    }
    let c = REQUEST.captures(text.trim())?;
    let method = c.get(2).map_or(c.get(1)?.as_str().to_owned(), |m| {
        m.as_str().to_ascii_uppercase()
    });
    let method = method.as_str();
    if let Some(code) = c.get(3) {
        return status(method, code.as_str());
    }
    Some(failed_with(method, c.get(4)?.as_str().trim()))
}

/// ESPHome's `http_request` component: `[W][http_request:081]: HTTP Request failed; URL: …;
/// Error: connection lost` (HTTPClient's error string, before any status), and `HTTP Request
/// completed; URL: …; Code: 200` / `HTTP Request failed; URL: …; Code: 404` (later versions).
static ESPHOME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"HTTP Request (?:failed|completed); URL: [^;]*; (?:Error: (.+)|Code: (-?\d+))")
        .unwrap_or_else(|_| unreachable!())
});

/// HTTPClient's error string for a request that got no status, explained where it helps.
fn failed_with(method: &str, error: &str) -> (Verdict, String) {
    let why = match error.to_ascii_lowercase().as_str() {
        "connection refused" => {
            // HTTPClient says `connection refused` for every failed connect(), DNS and TLS too.
            "; HTTPClient says this for any failed connect (refused, unreachable, DNS, or the TLS \
             handshake), so it is unknown whether TCP or TLS failed"
        }
        "read timeout" => "; the server did not answer in time",
        "connection lost" => "; the connection dropped before the response came",
        _ => "",
    };
    failed_before_status(method, error, why)
}

/// A request that never got an HTTP status: the connection failed, a device fault (exit 5).
fn failed_before_status(method: &str, error: &str, why: &str) -> (Verdict, String) {
    (
        Verdict::Fault,
        format!("the {method} request failed before any HTTP status: {error}{why}"),
    )
}

/// HTTPClient's own error codes (`HTTPC_ERROR_*`, the same on both cores), which sketches print
/// where a status would be (`[HTTP] GET... code: -1`, `Error code: -11`).
fn httpclient_error(code: i32) -> Option<&'static str> {
    Some(match code {
        -1 => "connection refused",
        -2 => "send header failed",
        -3 => "send payload failed",
        -4 => "not connected",
        -5 => "connection lost",
        -6 => "no stream",
        -7 => "no HTTP server",
        -8 => "too less RAM",
        -9 => "Transfer-Encoding not supported",
        -10 => "stream write error",
        -11 => "read timeout",
        _ => return None,
    })
}

fn status(method: &str, code: &str) -> Option<(Verdict, String)> {
    {
        if code == "-" {
            // ArduinoHttpClient's `Status code: -3` with the digits cut off: a negative status is
            // the library's own error (connection failed, timed out, invalid response).
            return Some(failed_before_status(
                method,
                "a negative status code (its digits are cut off)",
                ", which is the HTTP library's own error, not the server's answer",
            ));
        }
        let code: i32 = code.parse().ok()?;
        if let Some(error) = httpclient_error(code) {
            let error = format!("HTTPClient error {code}, {error}");
            return Some(failed_before_status(method, &error, ""));
        }
        let (verdict, what) = match code {
            200..=299 => (Verdict::Pass, "success"),
            300..=399 => (
                Verdict::Fail,
                "a redirect (HTTPClient does not follow it by default)",
            ),
            400..=499 => (Verdict::Fail, "the server refused the request"),
            500..=599 => (Verdict::Fail, "the server failed"),
            _ => (Verdict::Fail, "not an HTTP status"),
        };
        Some((
            verdict,
            format!("the {method} request got HTTP {code}: {what}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_at_firmwares_ipd_data_is_the_servers_status_line() {
        let (v, why) = status_line("+IPD,327:HTTP/1.1 400 Bad Request")
            .unwrap_or_else(|| panic!("status behind +IPD not read"));
        assert_eq!(v, Verdict::Fail);
        assert!(why.contains("400"), "{why}");
        assert!(status_line("+IPD,0,180:HTTP/1.1 200 OK").is_some_and(|(v, _)| v == Verdict::Pass));
        assert_eq!(status_line("+IPD,x:HTTP/1.1 200 OK"), None);
    }

    #[test]
    fn status_codes_and_failures() {
        let v = |l: &str| classify(l).map(|(v, _)| v);
        assert_eq!(v("[HTTPS] GET... code: 200"), Some(Verdict::Pass));
        assert_eq!(v("[HTTP] POST... code: 204"), Some(Verdict::Pass));
        assert_eq!(v("[HTTPS] GET... code: 301"), Some(Verdict::Fail));
        assert_eq!(v("[HTTP] GET... code: 404"), Some(Verdict::Fail));
        assert_eq!(v("[HTTP] GET... code: 503"), Some(Verdict::Fail));
        let (verdict, reason) = classify("[HTTP] GET... failed, error: connection refused")
            .unwrap_or_else(|| {
                panic!("not recognised");
            });
        assert_eq!(verdict, Verdict::Fault);
        assert!(reason.contains("TCP or TLS"), "{reason}");
        let (verdict, reason) = classify("[HTTPS] GET... code: -11")
            .unwrap_or_else(|| panic!("HTTPClient's error code not recognised"));
        assert_eq!(verdict, Verdict::Fault);
        assert!(reason.contains("read timeout"), "{reason}");
        assert_eq!(v("[HTTP] GET... code: -42"), Some(Verdict::Fail));
        assert_eq!(
            v("I (3730) HTTP_CLIENT: HTTP GET Status = 200, content_length = -1"),
            Some(Verdict::Pass)
        );
        assert_eq!(
            v("I (21721) HTTP_CLIENT: HTTP HEAD Status = 502, content_length = 122"),
            Some(Verdict::Fail)
        );
        assert_eq!(
            status_line("HTTP/1.1 400 Bad Request").map(|s| s.0),
            Some(Verdict::Fail)
        );
        assert_eq!(
            status_line("HTTP/1.0 200 OK").map(|s| s.0),
            Some(Verdict::Pass)
        );
        assert_eq!(status_line("HTTP/1.1 is a protocol"), None);
        // ArduinoJson's JsonHttpClient example: its "unexpected" status is still the answer.
        let (verdict, why) =
            status_line("Unexpected response: HTTP/1.1 200").unwrap_or_else(|| panic!("not read"));
        assert_eq!(verdict, Verdict::Pass);
        assert!(
            why.contains("HTTP 200") && why.contains("compares"),
            "{why}"
        );
        assert_eq!(
            status_line("Unexpected response: HTTP/1.1 301 Moved Permanently").map(|s| s.0),
            Some(Verdict::Fail)
        );
        assert!(ota_succeeded("I (19172) simple_ota_example: OTA Succeed, Rebooting...").is_some());
        assert!(ota_succeeded("Update Success: 228624").is_none());
        assert!(ota_succeeded("HTTP_UPDATE_OK").is_some());
        assert!(ota_succeeded("Update not successful").is_none());
        assert!(ota_succeeded("E (5472) simple_ota_example: OTA update failed").is_none());
        // ESP8266_RTOS_SDK with the log's level and time off (or a line pasted from the middle).
        assert_eq!(
            v("HTTP_CLIENT: HTTP GET Status = 200, content_length = -1"),
            Some(Verdict::Pass)
        );
        assert_eq!(
            v("HTTP_CLIENT: HTTP POST Status = 500, content_length = 0"),
            Some(Verdict::Fail)
        );
        assert_eq!(v("note: HTTP GET is what it sends"), None);
        // Sketches adapted from tutorials print the status their own way.
        assert_eq!(v("HTTP Response code: 200"), Some(Verdict::Pass));
        assert_eq!(v("httpCode: 404"), Some(Verdict::Fail));
        assert_eq!(v("HTTP Status Code: 301"), Some(Verdict::Fail));
        assert_eq!(v("Response code = 201"), Some(Verdict::Pass));
        assert_eq!(v("Error code: -1"), Some(Verdict::Fault));
        assert_eq!(v("Error code: -1002"), None);
        assert_eq!(v("Error on sending POST: -1"), Some(Verdict::Fault));
        assert_eq!(v("Error on sending GET: -11"), Some(Verdict::Fault));
        assert_eq!(v("code: 200"), None);
        assert_eq!(v("Exit code: 0"), None);
        assert_eq!(v("[HTTP] begin..."), None);
        assert_eq!(v("[HTTP] GET..."), None);
    }
    #[test]
    fn the_socket_examples_read_and_close_lines() {
        assert!(reading_response(
            "I (863514) example: Reading HTTP response..."
        ));
        assert!(connection_closed("I (983584) example: connection closed"));
        assert!(connection_closed(
            "I (12:00:01.500) https_mbedtls: connection closed"
        ));
        assert!(!connection_closed("connection closed"));
        assert!(!connection_closed(
            "I (9) example: connection closed by the user, retrying"
        ));
    }

    #[test]
    fn an_idf_apps_own_status_code_line() {
        let step = |l: &str| match read(l) {
            Some(Said::Step(v, why)) => Some((v, why)),
            _ => None,
        };
        let (verdict, why) = step("E (24875) at_http_to_fs: recv http status code: 403")
            .unwrap_or_else(|| panic!("ESP-AT's status line not read"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(why.contains("HTTP 403"), "{why}");
        assert_eq!(
            step("I (5120) app: HTTP status code: 200").map(|s| s.0),
            Some(Verdict::Pass)
        );
        assert_eq!(
            step("W (77) ota: Status code = 500").map(|s| s.0),
            Some(Verdict::Fail)
        );
        // Not an app's log line, a status that is not the line's end, or no `status code`.
        assert_eq!(step("recv http status code: 403"), None);
        assert_eq!(
            step("I (1) app: status code: 200 expected, got nothing"),
            None
        );
        assert_eq!(step("I (1) app: retry count: 200"), None);
    }

    #[test]
    fn adapted_examples_and_httpclients_own_debug_line() {
        let v = |l: &str| classify(l).map(|(v, _)| v);
        assert_eq!(
            v("[HTTP] Failed, error: connection refused"),
            Some(Verdict::Fault)
        );
        assert_eq!(
            v("[HTTP] GET Failed, error: connection refused"),
            Some(Verdict::Fault)
        );
        assert_eq!(v("[HTTPS] GET...code: 200"), Some(Verdict::Pass));
        let status = |l: &str| match read(l) {
            Some(Said::Status(v, why)) => Some((v, why)),
            _ => None,
        };
        let (verdict, why) = status("[HTTP-Client][handleHeaderResponse] code: 200")
            .unwrap_or_else(|| panic!("ESP8266 debug line not read"));
        assert_eq!(verdict, Verdict::Pass);
        assert!(why.contains("HTTP 200"), "{why}");
        assert_eq!(
            status("[D][HTTPClient.cpp:1252] handleHeaderResponse(): code: 404").map(|s| s.0),
            Some(Verdict::Fail)
        );
        // HTTPClient follows a redirect only when asked, and then says so: until then a 3xx is
        // the answer (ESP8266 core 3.1, api.weather.gov, with the IDE's stamps removed).
        let (verdict, why) =
            status("[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 301 Moved Permanently")
                .unwrap_or_else(|| panic!("status line in RX not read"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(why.contains("HTTP 301"), "{why}");
        assert!(redirect_seen(
            "[HTTP-Client][handleHeaderResponse] code: 301"
        ));
        assert!(follows_redirect(
            "[http-client][sendrequest] following redirect (the same method): 'https://a/b' redircount: 1"
        ));
        assert_eq!(read("[HTTP-Client][handleHeaderResponse] size: 34"), None);
        // esp_http_client's debug line, as ESP-IDF 3 to 5 print it.
        let (verdict, why) = status(
            "D (6366) HTTP_CLIENT: http_on_headers_complete, status=200, offset=243, nread=243",
        )
        .unwrap_or_else(|| panic!("esp_http_client debug line not read"));
        assert_eq!(verdict, Verdict::Pass);
        assert!(why.contains("esp_http_client"), "{why}");
        assert_eq!(
            status("D (1) HTTP_CLIENT: http_on_headers_complete, status=503, offset=1")
                .map(|s| s.0),
            Some(Verdict::Fail)
        );
        assert_eq!(
            status("D (1) HTTP_CLIENT: http_on_headers_complete, status=302, offset=1"),
            None
        );
    }

    #[test]
    fn negative_statuses_esphome_and_the_older_debug_status_line() {
        let v = |l: &str| classify(l).map(|(v, _)| v);
        // ArduinoHttpClient's `Status code: -3`, and the same cut after its minus sign.
        assert_eq!(v("Status code: 200"), Some(Verdict::Pass));
        assert_eq!(v("Status code: -1"), Some(Verdict::Fault));
        let (verdict, why) =
            classify("Status code: -").unwrap_or_else(|| panic!("cut negative status not read"));
        assert_eq!(verdict, Verdict::Fault);
        assert!(why.contains("not the server's answer"), "{why}");
        assert_eq!(v("Status code: "), None);
        // ESPHome's http_request, before any status and with one.
        let (verdict, why) = classify(
            "[W][http_request:081]: HTTP Request failed; URL: https://reqbin.com/echo/get/json; \
             Error: connection lost",
        )
        .unwrap_or_else(|| panic!("ESPHome's failure not read"));
        assert_eq!(verdict, Verdict::Fault);
        assert!(why.contains("connection lost"), "{why}");
        assert_eq!(
            v("[D][http_request:094]: HTTP Request completed; URL: http://x/y; Code: 200"),
            Some(Verdict::Pass)
        );
        assert_eq!(
            v("[W][http_request.arduino:121]: HTTP Request failed; URL: http://x/y; Code: 404"),
            Some(Verdict::Fail)
        );
        // Older ESP8266 cores' HTTPClient debug output prints the status line it received.
        let status = |l: &str| match read(l) {
            Some(Said::Status(v, why)) => Some((v, why)),
            _ => None,
        };
        let (verdict, why) =
            status("[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 400 Bad Request'")
                .unwrap_or_else(|| panic!("RX status line not read"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(why.contains("400"), "{why}");
        assert_eq!(
            status("[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.0 200 OK'").map(|s| s.0),
            Some(Verdict::Pass)
        );
        // A redirect is the answer until HTTPClient says it follows it.
        assert_eq!(
            status("[HTTP-Client][handleHeaderResponse] RX: 'HTTP/1.1 302 Found'").map(|s| s.0),
            Some(Verdict::Fail)
        );
        assert_eq!(
            status("[HTTP-Client][handleHeaderResponse] RX: 'Server: nginx'"),
            None
        );
    }

    #[test]
    fn the_idf_examples_statuses_are_steps_of_a_sequence() {
        assert!(matches!(
            read("I (19671) HTTP_CLIENT: HTTP PATCH Status = 200, content_length = 335"),
            Some(Said::Step(Verdict::Pass, _))
        ));
        assert!(matches!(
            read("I (21721) HTTP_CLIENT: HTTP HEAD Status = 502, content_length = 122"),
            Some(Said::Step(Verdict::Fail, _))
        ));
        assert!(matches!(
            read("[HTTPS] GET... code: 200"),
            Some(Said::Outcome(Verdict::Pass, _))
        ));
    }

    #[test]
    fn nodemcu_http_callback_results() {
        assert!(lua_request(
            "> http.get(\"http://m.xkcd.com/\",function(c, d) print(c,#d) end)"
        ));
        assert!(lua_request(
            "http.post('http://httpbin.org/post', 'Content-Type: application/json\\r\\n', '{}', cb)"
        ));
        assert!(!lua_request("> wifi.sta.config({ssid=\"x\",pwd=\"y\"})"));
        let v = |l: &str| match lua_result(l) {
            Some(Said::Step(v, why)) => Some((v, why)),
            _ => None,
        };
        let (verdict, why) = v("200\t2459").unwrap_or_else(|| panic!("callback line not read"));
        assert_eq!(verdict, Verdict::Pass);
        assert!(why.contains("200") && why.contains("NodeMCU"), "{why}");
        assert_eq!(
            v("404\t<html>Not Found</html>").map(|s| s.0),
            Some(Verdict::Fail)
        );
        assert_eq!(v("-1\t").map(|s| s.0), Some(Verdict::Fault));
        assert_eq!(v("HTTP request failed").map(|s| s.0), Some(Verdict::Fault));
        assert_eq!(v("2459"), None);
        assert_eq!(
            v("NodeMCU ESP32 build unspecified powered by Lua 5.1.4"),
            None
        );
    }

    #[test]
    fn an_update_server_that_answers_with_another_status_is_a_no_not_a_fault() {
        for (line, word) in [
            ("[httpUpdate] HTTP Code is (302)", "HTTP 302"),
            (
                "[  9123][E][HTTPUpdate.cpp:322] handleUpdate(): HTTP Code is (500)",
                "HTTP 500",
            ),
            ("HTTP_UPDATE_FAILD Error (-104): Wrong HTTP Code", "-104"),
            (
                "HTTP_UPDATE_FAILED Error (-102): File Not Found (404)",
                "404",
            ),
            ("HTTP_UPDATE_FAILD Error (-103): Forbidden (403)", "403"),
        ] {
            let (verdict, why) = classify(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(verdict, Verdict::Fail, "{line}");
            assert!(why.contains(word), "{line}: {why}");
        }
        // The download worked and the image was refused: a no, not a fault.
        let (verdict, why) = classify(
            "HTTP_UPDATE_FAILD Error (-106): Verify bin header failedGoing to update firmwar.",
        )
        .unwrap_or_else(|| panic!("-106 not read"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(
            why.contains("-106") && why.contains("not a firmware image"),
            "{why}"
        );
        assert_eq!(
            classify("HTTP_UPDATE_FAILED Error (-105): MD5 Check Failed").map(|c| c.0),
            Some(Verdict::Fail)
        );
        // A connection that failed is not an answer: the connection diagnostics say so.
        for line in [
            "HTTP_UPDATE_FAILD Error (-1): HTTP error: connection refused",
            "HTTP_UPDATE_FAILED Error (6): Update error: Stream Read Timeout",
            "[httpUpdate]  - code: 302",
        ] {
            assert_eq!(classify(line), None, "{line}");
        }
    }

    #[test]
    fn an_ota_image_that_fails_verification_is_refused_by_the_board() {
        for line in [
            "esp_image: invalid segment length 0x71ebb4ba",
            "E (63753) esp_image: Image hash failed - image is corrupt",
            "E (63753) esp_ota_ops: New image failed verification",
            "E (4120) esp_ota_ops: OTA image has invalid magic byte (expected 0xE9, saw 0x3c)",
            "E (5120) esp_https_ota: Mismatch chip id, expected 0, found 5",
            "E (5120) advanced_https_ota_example: ESP_HTTPS_OTA upgrade failed \
             ESP_ERR_OTA_VALIDATE_FAILED",
            "E (58) esp_image: image at 0x110000 has invalid magic byte (nothing flashed here)",
        ] {
            let why = ota_image_refused(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert!(why.contains("failed verification"), "{why}");
        }
        for line in [
            "I (63543) esp_image: segment 0: paddr=00410020 vaddr=3c1c0020 size=a6fa4h map",
            "I (58) esp_image: image at 0x110000 verified",
            "E (10769) esp_https_ota: Complete headers were not received",
        ] {
            assert_eq!(ota_image_refused(line), None, "{line}");
        }
    }

    #[test]
    fn a_firebase_token_error_with_an_http_status_is_the_servers_no() {
        let (verdict, why) = classify("Token error: code: 400, message: bad request")
            .unwrap_or_else(|| panic!("not read"));
        assert_eq!(verdict, Verdict::Fail);
        assert!(
            why.contains("HTTP 400") && why.contains("bad request"),
            "{why}"
        );
        // The client's own negative codes are a connection that failed: not this; nor the
        // library's own read timeout, coded 408.
        assert_eq!(
            classify("Token error: code: -4, message: connection lost"),
            None
        );
        assert_eq!(
            classify("Token error: code: 408, message: request timed out"),
            None
        );
        assert!(classify("Token error: code: 403, message: forbidden").is_some());
        assert_eq!(
            token_error("token error: code: -4, message: connection lost"),
            Some((Some(-4), "connection lost"))
        );
    }

    #[test]
    fn a_bare_code_after_the_url_the_sketch_requested() {
        let url = "http://updates.soi-tech.com/WalkingLight.txt";
        let said = |text: &str| match code_after_url(url, text) {
            Some(Said::Status(v, why)) => Some((v, why)),
            _ => None,
        };
        let (verdict, why) = said("200").unwrap_or_else(|| panic!("200 not read"));
        assert_eq!(verdict, Verdict::Pass);
        assert!(why.contains("HTTP 200") && why.contains(url), "{why}");
        let (verdict, why) = said("-11").unwrap_or_else(|| panic!("-11 not read"));
        assert_eq!(verdict, Verdict::Fault);
        assert!(why.contains("-11, read timeout"), "{why}");
        assert_eq!(said("404").map(|s| s.0), Some(Verdict::Fail));
        // Other numbers, and numbers after anything but a bare URL, say nothing.
        assert_eq!(said("42"), None);
        assert_eq!(said("-12"), None);
        assert_eq!(code_after_url("Connecting to http://x/ now", "200"), None);
        assert_eq!(code_after_url("count:", "200"), None);
    }
}
