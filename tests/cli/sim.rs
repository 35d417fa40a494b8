//! `sim serve` and `sim run` over real sockets: the mock server runs as a subprocess on port 0, and
//! curl, `openssl s_client` and `espcheck sim run` talk to it over real TLS.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha1::{Digest, Sha1};

use super::support::{espcheck, espcheck_std};

/// A `sim serve` subprocess, killed (and reaped) when dropped so no test leaves it behind.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server::start_in(dir, extra)
    }

    pub(crate) fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        let mut child = espcheck_std()
            .args(["sim", "serve", "--addr", "127.0.0.1:0", "--chain-dir"])
            .arg(dir.path().join("chain"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        // listening on https://127.0.0.1:PORT (api.github.com)
        let port = first
            .strip_prefix("listening on https://127.0.0.1:")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line {first:?}")
            });
        Server {
            child,
            port,
            dir,
            _stdout: stdout,
        }
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("chain").join(name)
    }

    pub(crate) fn connect(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("https://api.github.com:{}{path}", self.port)
    }

    /// The SHA-1 of the leaf on disk, as `AA:BB:…`.
    pub(crate) fn leaf_pin(&self) -> String {
        sha1_colon(&self.file("leaf.pem"))
    }

    /// `sim run` against this server.
    pub(crate) fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        espcheck()
            .args([
                "sim",
                "run",
                "--connect",
                &self.connect(),
                "--timeout",
                "5s",
            ])
            .args(args)
            .assert()
    }

    /// curl with the mock root as the only CA, reaching api.github.com at this server.
    pub(crate) fn curl(&self, args: &[&str], path: &str) -> Option<(String, String)> {
        if Command::new("curl").arg("--version").output().is_err() {
            eprintln!("skipping: curl is not installed");
            return None;
        }
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "-D", "-", "--cacert"])
            .arg(self.file("root.pem"))
            .arg("--resolve")
            .arg(format!("api.github.com:{}:127.0.0.1", self.port))
            .args(args)
            .arg(self.url(path))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        Some((head.to_owned(), body.to_owned()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn sha1_colon(pem: &Path) -> String {
    let der = CertificateDer::from_pem_file(pem).unwrap();
    Sha1::digest(der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

const STATUS: &str = "/repos/esp8266/Arduino/commits/master/status";
const RUNS: &str = "/repos/esp8266/Arduino/commits/master/check-runs";

#[test]
fn curl_pinned_to_the_root_gets_json_from_both_endpoints_and_403_without_user_agent() {
    let server = Server::start(&["--actions-only"]);
    let Some((head, body)) = server.curl(&[], STATUS) else {
        return;
    };
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["state"], "pending", "actions-only: pending");
    assert_eq!(status["total_count"], 0);
    assert_eq!(status["statuses"], serde_json::json!([]));
    for key in ["sha", "repository", "commit_url", "url"] {
        assert!(status.get(key).is_some(), "{key} missing");
    }
    let (_, body) = server.curl(&[], RUNS).unwrap();
    let runs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(runs["total_count"], 1);
    assert_eq!(runs["check_runs"][0]["conclusion"], "success");
    assert!(!body.contains('\n'), "compact JSON by default");

    let (head, body) = server.curl(&["-H", "User-Agent:"], STATUS).unwrap();
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let msg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(msg["message"].as_str().unwrap().contains("User-Agent"));
}

#[test]
fn openssl_s_client_sees_leaf_and_intermediate_but_not_the_root() {
    let server = Server::start(&[]);
    let out = Command::new("openssl")
        .args(["s_client", "-showcerts", "-connect"])
        .arg(server.connect())
        .args(["-servername", "api.github.com"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{text}"
    );
    assert!(text.contains("CN=api.github.com") || text.contains("CN = api.github.com"));
    assert!(text.contains("espcheck Mock Intermediate CA"));
}

#[test]
fn http10_is_answered_as_http10_and_chunked_and_pretty_bodies_decode() {
    let server = Server::start(&[]);
    let Some((head, body)) = server.curl(&["--http1.0"], STATUS) else {
        return;
    };
    assert!(head.starts_with("HTTP/1.0 200 OK"), "{head}");
    assert!(head.contains("Content-Length:"));
    assert!(body.starts_with(r#"{"state":"success""#));

    let server = Server::start(&["--chunked", "--pretty", "--state", "failure"]);
    let (head, body) = server.curl(&[], STATUS).unwrap();
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["state"], "failure");
    assert!(
        body.starts_with("{\n  \"state\": \"failure\""),
        "pretty: {body}"
    );
}

#[test]
fn right_fingerprint_gives_the_ci_verdict_as_the_first_seed_prints_it() {
    let green = Server::start(&[]);
    let out = green.run(&["--fingerprint", &green.leaf_pin()]).success();
    let text = stdout(&out);
    let settings = {
        let mut s = insta::Settings::clone_current();
        s.add_filter(r#"(?m)^\{"state".*$"#, "[combined status JSON]");
        s
    };
    settings.bind(|| insta::assert_snapshot!("sim_run_core24_success", text));

    // Space-separated, lower case: the other form setFingerprint takes.
    let spaced = green.leaf_pin().replace(':', " ").to_lowercase();
    let out = green
        .run(&["--fingerprint", &spaced, "--core", "3.0.1"])
        .success();
    let text = stdout(&out);
    assert!(text.contains("esp8266/Arduino CI successful!\n"), "{text}");
    assert!(text.contains(&format!("Using fingerprint '{spaced}'\n")));

    let red = Server::start(&["--state", "failure"]);
    let out = red.run(&["--fingerprint", &red.leaf_pin()]).success();
    let text = stdout(&out);
    assert!(text.contains("certificate matches\n"));
    assert!(
        text.contains(
            "esp8266/Arduino CI has failed\nreply was:\n==========\n{\"state\":\"failure\""
        )
    );
}

#[test]
fn wrong_or_malformed_fingerprint_is_a_board_failure_with_exit_5() {
    let server = Server::start(&[]);
    let wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33";
    // Core 2.4: verify() after connect says no, the sketch carries on, the run still fails.
    let out = server.run(&["--fingerprint", wrong]).code(5);
    let text = stdout(&out);
    assert!(
        text.contains("connecting to api.github.com\ncertificate doesn't match\n"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(&server.leaf_pin()),
        "stderr names the served SHA-1: {err}"
    );

    // Core 2.7: setFingerprint, the connect itself fails.
    let out = server
        .run(&["--fingerprint", wrong, "--core", "2.7"])
        .code(5);
    let text = stdout(&out);
    assert!(
        text.ends_with(&format!("Using fingerprint '{wrong}'\nconnection failed\n")),
        "{text}"
    );
    assert!(!text.contains("requesting URL"));

    // A string setFingerprint rejects (dashes) fails the connect, even though the bytes are right.
    let dashed = server.leaf_pin().replace(':', "-");
    let out = server
        .run(&["--fingerprint", &dashed, "--core", "3.1"])
        .code(5);
    assert!(stdout(&out).ends_with("Connection failed\n"));
}

#[test]
fn an_intermediate_is_a_trust_anchor_and_survives_leaf_rotation() {
    let server = Server::start(&["--rotate-leaf", "1"]);
    let pin = server.leaf_pin();
    let ca = server.file("intermediate.pem");
    let ca = ca.to_str().unwrap();
    // Connection 1 is served the leaf the pin was made from.
    let out = server
        .run(&["--fingerprint", &pin, "--core", "2.7"])
        .success();
    assert!(stdout(&out).contains("esp8266/Arduino CI successfull!"));
    // Connection 2 gets a re-issued leaf: the leaf pin breaks.
    let out = server
        .run(&["--fingerprint", &pin, "--core", "2.7"])
        .code(5);
    assert!(stdout(&out).ends_with("connection failed\n"));
    assert_ne!(
        server.leaf_pin(),
        pin,
        "the new leaf is written to leaf.pem"
    );
    // Connection 3, yet another leaf from the same intermediate: the CA pin holds, on both boards.
    for board in ["esp8266", "esp32"] {
        let out = server
            .run(&["--ca-file", ca, "--core", "3.0.1", "--board", board])
            .success();
        let text = stdout(&out);
        assert!(
            text.contains("Using certificate: \n-----BEGIN CERTIFICATE-----\n"),
            "{text}"
        );
        assert!(text.contains("esp8266/Arduino CI successful!"), "{text}");
    }
}

#[test]
fn expired_leaf_fails_a_ca_pin_but_not_a_fingerprint() {
    let server = Server::start(&["--expired-leaf"]);
    let root = server.file("root.pem");
    let out = server
        .run(&["--ca-file", root.to_str().unwrap(), "--core", "3.1"])
        .code(5);
    assert!(stdout(&out).ends_with("Connection failed\n"));
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.to_lowercase().contains("expired"), "{err}");
    // setFingerprint checks no dates.
    server
        .run(&["--fingerprint", &server.leaf_pin(), "--core", "2.7"])
        .success();
}

#[test]
fn a_handshake_cut_in_half_is_a_connection_failure() {
    let server = Server::start(&["--close-mid-handshake"]);
    let out = server.run(&["--insecure", "--core", "2.7"]).code(5);
    assert!(stdout(&out).ends_with("connection failed\n"));
}

#[test]
fn post_variant_sends_the_second_seeds_bytes() {
    let server = Server::start(&[]);
    let data = r#"{"client_id":"esp32","grant_type":"client_credentials"}"#;
    let ca = server.file("intermediate.pem");
    let out = server
        .run(&[
            "--variant",
            "post-json",
            "--ca-file",
            ca.to_str().unwrap(),
            "--data",
            data,
        ])
        .success();
    let text = stdout(&out);
    let json_start = text.find("{\"method\"").unwrap();
    let json_end = text.find("Finished reading").unwrap();
    let echo: serde_json::Value = serde_json::from_str(&text[json_start..json_end]).unwrap();
    let expected = format!(
        "POST /oauth/token HTTP/1.0\r\nHost: api.github.com\r\nUser-Agent: ESP8266\r\n\
         Content-Length: {}\r\nContent-Type: application/json\r\nAccept-encoding: *\r\n\r\n{data}",
        data.len()
    );
    assert_eq!(echo["raw"], expected.as_str());
    assert_eq!(echo["version"], "HTTP/1.0");
    assert_eq!(
        echo["headers"][4],
        serde_json::json!(["Accept-encoding", "*"])
    );
    assert_eq!(echo["json"]["grant_type"], "client_credentials");

    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(?m)^Date: .*$", "Date: [date]");
    settings.add_filter(
        r#"\{"method".*\}Finished reading"#,
        "[echo JSON]Finished reading",
    );
    settings.add_filter(r"(?m)^Content-Length: \d+$", "Content-Length: [n]");
    settings.bind(|| insta::assert_snapshot!("sim_run_post_json", text));
}

#[test]
fn bad_arguments_are_usage_errors_not_board_failures() {
    // No trust option at all.
    espcheck()
        .args(["sim", "run", "--connect", "127.0.0.1:9"])
        .assert()
        .code(2);
    // An unreadable --ca-file.
    let out = espcheck()
        .args([
            "sim",
            "run",
            "--connect",
            "127.0.0.1:9",
            "--ca-file",
            "/nonexistent/ca.pem",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    // A file with no certificate in it.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    espcheck()
        .args(["sim", "run", "--connect", "127.0.0.1:9", "--ca-file"])
        .arg(&junk)
        .assert()
        .code(2);
    // Nothing listening: the board prints its failure, exit 5.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = espcheck()
        .args(["sim", "run", "--insecure", "--connect"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(5);
    assert!(stdout(&out).ends_with("connecting to api.github.com\nconnection failed\n"));
}

#[test]
fn a_second_start_reuses_the_chain_directory() {
    let server = Server::start(&[]);
    let pin = server.leaf_pin();
    let root = std::fs::read(server.file("root.pem")).unwrap();
    let ServerDir { dir } = server_into_dir(server);
    let again = Server::start_in(dir, &[]);
    assert_eq!(again.leaf_pin(), pin);
    assert_eq!(std::fs::read(again.file("root.pem")).unwrap(), root);
    again
        .run(&["--fingerprint", &pin, "--core", "2.7"])
        .success();
}

/// Stop a server but keep its directory.
fn server_into_dir(mut server: Server) -> ServerDir {
    let _ = server.child.kill();
    let _ = server.child.wait();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    ServerDir { dir }
}

struct ServerDir {
    dir: tempfile::TempDir,
}

#[test]
fn sighup_reissues_the_leaf_and_sigterm_exits_cleanly() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let mut server = Server::start(&[]);
    let pin = server.leaf_pin();
    let pid = Pid::from_raw(server.child.id() as i32);
    kill(pid, Signal::SIGHUP).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.leaf_pin() == pin {
        assert!(
            std::time::Instant::now() < deadline,
            "leaf.pem never changed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The re-issued leaf is the one served, and a pin made from the new leaf.pem holds.
    server
        .run(&["--fingerprint", &server.leaf_pin(), "--core", "2.7"])
        .success();
    server
        .run(&["--fingerprint", &pin, "--core", "2.7"])
        .code(5);
    kill(pid, Signal::SIGTERM).unwrap();
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn slow_and_chunked_replies_reach_the_sketch_as_on_the_board() {
    let server = Server::start(&["--chunked", "--slow", "300ms"]);
    let started = std::time::Instant::now();
    let out = server.run(&["--fingerprint", &server.leaf_pin()]).success();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // With chunked encoding the sketch's "first body line" is the chunk size, so even a green CI
    // reads as failed: what a real board prints.
    let text = stdout(&out);
    let reply = text
        .split("==========\n")
        .nth(1)
        .unwrap()
        .trim_end()
        .to_owned();
    assert!(text.contains("esp8266/Arduino CI has failed"), "{text}");
    assert!(
        !reply.is_empty() && reply.bytes().all(|b| b.is_ascii_hexdigit()),
        "reply line is a chunk size: {reply:?}"
    );
}

/// Issue 18 (1): the mock, with its private key, binds loopback only; another address needs
/// `--public`, which warns who may connect.
#[test]
fn sim_serve_refuses_a_non_loopback_address_without_public() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let out = espcheck()
            .args(["sim", "serve", "--addr", addr])
            .timeout(std::time::Duration::from_secs(10))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {err}");
        assert!(
            err.contains("--public") && err.lines().count() == 1,
            "{addr}: {err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = espcheck_std()
        .args([
            "sim",
            "serve",
            "--addr",
            "0.0.0.0:0",
            "--public",
            "--chain-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        first.starts_with("listening on https://0.0.0.0:"),
        "{first}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("anyone who can reach this machine"), "{err}");
}
