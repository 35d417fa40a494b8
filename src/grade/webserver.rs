//! A web server on the board that logs the requests it answers: `Request page : /Sindex.html
//! [Not Found]`, `GET /config.json -> 404`, `handleNotFound: /data.txt not found`. A request
//! the board answers Not Found is its job done with the answer no (the page or file it should
//! serve is not there: a file system image not uploaded, a handler on another path), a fail,
//! when it is the last request the log shows. Browsers' and captive-portal probes
//! (`/favicon.ico`, `/generate_204`) that no sketch serves are not counted, nor is an HTTP
//! client's own status line (`HTTP/1.1 404 Not Found`, `[HTTP] GET... code: 404`), which
//! [`super::httpclient`] reads.

use super::Verdict;

/// One run's served requests.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The last request the board answered Not Found, if no request was served after it.
    not_found: Option<(usize, String, String)>,
}

impl State {
    /// Read one line.
    pub(crate) fn line(&mut self, number: usize, text: &str, lower: &str) {
        match answer(text, lower) {
            Some((path, false)) => {
                let quote: String = text.trim().chars().take(120).collect();
                let quote = quote.replace('\t', " ");
                self.not_found = Some((number, path, quote));
            }
            Some((_, true)) => self.not_found = None,
            None => {}
        }
    }

    /// The verdict when nothing else decided.
    pub(crate) fn verdict(&self) -> Option<(Verdict, String)> {
        let (at, path, quote) = self.not_found.as_ref()?;
        Some((
            Verdict::Fail,
            format!(
                "line {at}: the board's web server answered a request for `{path}` with Not \
                 Found (`{quote}`): the request reached the board and its answer was no; the \
                 page or file is not there (upload the file system image that holds it, or \
                 check the URL against the server's handlers)"
            ),
        ))
    }
}

/// A request the board's own server received, its request line printed alone: `GET /gpio/1
/// HTTP/1.1` (the WiFiServer examples echo it). A client that reached the board: its network
/// works, whatever failed before.
pub(crate) fn received_request(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(method), Some(path), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"].contains(&method)
        && path.starts_with('/')
        && (version == "HTTP/1.1" || version == "HTTP/1.0")
}

/// A request line's path and whether it was served (`true`) or not found (`false`).
fn answer(text: &str, lower: &str) -> Option<(String, bool)> {
    let t = lower.trim();
    // An HTTP client's view of a server's answer, not the board's own server.
    if [
        "http/1.",
        "[http",
        "code:",
        "httpclient",
        "status code",
        "response",
    ]
    .iter()
    .any(|w| t.contains(w))
    {
        return None;
    }
    let request = [
        "request", "page", "uri", "url", "get ", "post ", "serving", "handle",
    ]
    .iter()
    .any(|w| t.contains(w));
    if !request {
        return None;
    }
    let path = text
        .trim()
        .split(|c: char| c.is_whitespace() || c == ':' || c == '"' || c == '\'' || c == ',')
        .find(|w| w.starts_with('/') && !w.starts_with("//") && w.len() < 200)?
        .trim_end_matches(['.', ']', ')']);
    let not_found = t.contains("not found")
        || t.contains("notfound")
        || t.contains("[404]")
        || t.contains("(404)")
        || t.contains("-> 404")
        || t.contains(": 404")
        || t.contains(" 404 ");
    let served = t.contains("[ok]")
        || t.contains("(ok)")
        || t.contains("-> 200")
        || t.contains("[200]")
        || t.contains(": 200")
        || t.contains(" 200 ");
    if not_found {
        if probe(&path.to_ascii_lowercase()) {
            return None;
        }
        return Some((path.to_owned(), false));
    }
    served.then(|| (path.to_owned(), true))
}

/// Paths that browsers and phones ask every server for, which most sketches do not serve.
fn probe(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    [
        "/favicon.ico",
        "/robots.txt",
        "/generate_204",
        "/gen_204",
        "/hotspot-detect.html",
        "/connecttest.txt",
        "/ncsi.txt",
        "/fwlink",
        "/success.txt",
        "/canonical.html",
        "/library/test/success.html",
    ]
    .contains(&path)
        || path.starts_with("/apple-touch-icon")
        || path.starts_with("/.well-known/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_the_server_received() {
        assert!(received_request("GET /gpio/1 HTTP/1.1"));
        assert!(received_request("  POST /api HTTP/1.0 "));
        for l in [
            "GET /gpio/1",
            "[HTTP] GET... code: 200",
            "GET / HTTP/1.1 200 OK",
            "get / http/1.1",
        ] {
            assert!(!received_request(l), "{l}");
        }
    }

    fn run(log: &str) -> Option<(Verdict, String)> {
        let mut s = State::default();
        for (i, l) in log.lines().enumerate() {
            s.line(i + 1, l, &l.to_ascii_lowercase());
        }
        s.verdict()
    }

    #[test]
    fn a_request_answered_not_found_is_a_fail() {
        let (v, why) = run("Request page : /Sindex.html\t[Not Found]\n")
            .unwrap_or((Verdict::Timeout, String::new()));
        assert_eq!(v, Verdict::Fail);
        assert!(
            why.contains("`/Sindex.html`") && why.contains("Not Found"),
            "{why}"
        );
        assert!(run("GET /config.json -> 404\n").is_some());
        // ESP-IDF's esp_http_server has no handler for the URI.
        let (_, why) = run("W (5243) httpd_uri: httpd_uri: URI '/data' not found\n")
            .unwrap_or((Verdict::Timeout, String::new()));
        assert!(why.contains("`/data`"), "{why}");
        assert!(run("W (5243) httpd_uri: httpd_uri: URI '/favicon.ico' not found\n").is_none());
        // A later request served: the last answer decides.
        let log = "Request page : /x.html [Not Found]\nRequest page : /index.html [OK]\n";
        assert!(run(log).is_none());
    }

    #[test]
    fn probes_and_clients_are_not_the_boards_answer() {
        assert!(run("Request page : /favicon.ico [Not Found]\n").is_none());
        assert!(run("GET /generate_204 -> 404\n").is_none());
        assert!(run("[HTTP] GET... code: 404\n").is_none());
        assert!(run("HTTP/1.1 404 Not Found\n").is_none());
        // The sketch's own file read, not a request.
        assert!(run("/config.json not found, using defaults\n").is_none());
    }
}
