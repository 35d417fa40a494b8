//! `espcheck grade` over the binary: exit codes, `--json`, stdin, the human report, bad input,
//! JUnit, and `--truth` against a local HTTPS stand-in for the GitHub API.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(name)
}

use super::support::espcheck;

fn grade_json(args: &[&str]) -> (i32, Value) {
    let out = espcheck()
        .arg("grade")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {:?}", out.stdout));
    (out.status.code().unwrap(), v)
}

#[test]
fn exit_codes_follow_the_verdict() {
    for (log, code) in [
        ("core24_pass.log", 0),
        ("core3x_pass.log", 0),
        ("ci_failed.log", 1),
        ("ci_pending.log", 1),
        ("no_wifi.log", 3),
        ("cut_after_request.log", 3),
        ("esp8266_exception.log", 5),
        ("esp32_guru_meditation.log", 5),
        ("esp32_mbedtls_9984.log", 5),
    ] {
        espcheck()
            .arg("grade")
            .arg(fixture(log))
            .assert()
            .code(code);
    }
}

#[test]
fn json_has_the_spec_shape() {
    let (code, v) = grade_json(&[fixture("fingerprint_mismatch_bssl.log").to_str().unwrap()]);
    assert_eq!(code, 5);
    assert_eq!(v["verdict"], "fault");
    assert_eq!(v["stage"], "certificate");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("fingerprint mismatch")
    );
    assert_eq!(v["ci_state"], Value::Null);
    assert_eq!(
        v["suggested_fingerprint"],
        "59:74:61:88:13:CA:12:34:69:8B:05:5D:1A:4C:8E:67:2E:5C:6A:4B"
    );
    assert_eq!(v["truth"], Value::Null);
    for key in [
        "verdict",
        "stage",
        "reason",
        "ci_state",
        "suggested_fingerprint",
        "truth",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }

    let (code, v) = grade_json(&[fixture("ci_pending.log").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        (v["verdict"].as_str(), v["ci_state"].as_str()),
        (Some("fail"), Some("pending"))
    );

    // The same JSON deserializes into the library's report type.
    let out = espcheck()
        .args(["grade", "--json"])
        .arg(fixture("core3x_pass.log"))
        .output()
        .unwrap();
    let r: espcheck::grade::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.verdict, espcheck::grade::Verdict::Pass);
    assert_eq!(r.ci_state.as_deref(), Some("success"));
}

#[test]
fn stdin_dash_is_graded() {
    let log = std::fs::read(fixture("ci_failed.log")).unwrap();
    let out = espcheck()
        .args(["grade", "-", "--json"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ci_state"], "failure");
}

#[test]
fn human_report_snapshot() {
    for name in [
        "ci_pending.log",
        "fingerprint_mismatch_bssl.log",
        "esp8266_exception.log",
    ] {
        let out = espcheck().arg("grade").arg(fixture(name)).output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        insta::assert_snapshot!(
            format!("grade_human_{}", name.trim_end_matches(".log")),
            text
        );
    }
}

#[test]
fn unity_and_custom_profiles_from_the_command_line() {
    let (code, v) = grade_json(&[
        "--profile",
        "unity",
        fixture("unity_fail.log").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["tests"].as_array().unwrap().len(), 3);
    // --pass alone implies the custom profile.
    let (code, v) = grade_json(&[
        "--pass",
        "^WiFi connected$",
        fixture("no_wifi.log").to_str().unwrap(),
    ]);
    assert_eq!((code, v["profile"].as_str()), (3, Some("custom")));
    let (code, _) = grade_json(&[
        "--pass",
        "^WiFi connected$",
        fixture("core24_pass.log").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "fail = [\"has failed\"]\n[[stage]]\nname = \"online\"\nregex = \"WiFi connected\"\n",
    )
    .unwrap();
    let (code, v) = grade_json(&[
        "--rules",
        rules.to_str().unwrap(),
        fixture("ci_failed.log").to_str().unwrap(),
    ]);
    assert_eq!((code, v["stage"].as_str()), (1, Some("online")));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["missing.log".into()],
            "error: missing.log: no such file\n",
        ),
        (vec![dir.path().to_str().unwrap().into()], "is a directory"),
        (
            vec![
                "--fail".into(),
                "(oops".into(),
                fixture("core24_pass.log").to_str().unwrap().into(),
            ],
            "error: --fail `(oops`:",
        ),
        (
            vec![
                "--rules".into(),
                "nope.toml".into(),
                fixture("core24_pass.log").to_str().unwrap().into(),
            ],
            "error: nope.toml: no such file",
        ),
    ];
    for (args, expect) in cases {
        let out = espcheck().arg("grade").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn junit_has_one_testcase_per_stage() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("report.xml");
    espcheck()
        .arg("grade")
        .arg(fixture("esp8266_exception.log"))
        .arg("--junit")
        .arg(&xml)
        .assert()
        .code(5);
    let text = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(text.matches("<testcase ").count(), 9, "{text}");
    assert!(text.contains("name=\"tls-connect\""));
    assert!(text.contains("Exception (28)"));
    assert_eq!(text.matches("<error").count(), 1, "{text}");
}

// ---- --truth against a local HTTPS stub ------------------------------------------------------

/// A tiny HTTPS server on 127.0.0.1 with an rcgen root → leaf chain: answers the combined-status
/// and check-runs endpoints with canned bodies and records each request head.
struct Stub {
    port: u16,
    root_pem: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

fn stub(
    status: (u16, &'static str),
    checks: (u16, &'static str),
    extra_headers: &'static str,
) -> Stub {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "espcheck test root");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root_pem = dir.path().join("root.pem");
    std::fs::write(&root_pem, ca_cert.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        // Bounded: a test makes at most a handful of connections.
        for conn in listener.incoming().take(8) {
            let Ok(tcp) = conn else { continue };
            let config = Arc::clone(&config);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .ok();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let head = request_head(&mut tls);
                if !head.ends_with("\r\n\r\n") {
                    return;
                }
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(head);
                let (code, body) = if path.contains("/check-runs") {
                    checks
                } else {
                    status
                };
                let resp = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    Stub {
        port,
        root_pem,
        requests,
        _dir: dir,
    }
}

const ACTIONS_ONLY: &str = r#"{"state":"pending","statuses":[],"sha":"9a8b7c","total_count":0}"#;
const CHECKS_GREEN: &str = r#"{"total_count":3,"check_runs":[{"name":"build","status":"completed","conclusion":"success"},{"name":"host tests","status":"completed","conclusion":"success"},{"name":"docs","status":"completed","conclusion":"success"}]}"#;
const STATUS_RED: &str = r#"{"state":"failure","statuses":[{"state":"failure"}],"total_count":1}"#;
const CHECKS_NONE: &str = r#"{"total_count":0,"check_runs":[]}"#;

fn truth_args(s: &Stub) -> Vec<String> {
    vec![
        "--truth".into(),
        "--api-base".into(),
        format!("https://127.0.0.1:{}", s.port),
        "--ca-file".into(),
        s.root_pem.to_str().unwrap().into(),
    ]
}

#[test]
fn truth_disagreement_explains_the_actions_only_trap() {
    let s = stub((200, ACTIONS_ONLY), (200, CHECKS_GREEN), "");
    let out = espcheck()
        .arg("grade")
        .arg(fixture("ci_pending.log"))
        .args(truth_args(&s))
        .arg("--json")
        .env("GITHUB_TOKEN", "t0ken-from-env")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "fail");
    let t = &v["truth"];
    assert_eq!(t["agrees"], false);
    assert_eq!(t["ci"], "green");
    assert_eq!(t["combined_state"], "pending");
    assert_eq!(t["check_runs"]["success"], 3);
    assert_eq!(
        t["explanation"],
        "the board says failed because the combined status is pending with 0 statuses while all 3 \
         check runs succeeded: the sketch's test is wrong, CI is green"
    );
    let reqs = s.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET /repos/esp8266/Arduino/commits/master/status "))
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET /repos/esp8266/Arduino/commits/master/check-runs"))
    );
    for r in &reqs {
        let lower = r.to_ascii_lowercase();
        assert!(lower.contains("user-agent: espcheck/"), "{r}");
        assert!(
            lower.contains("authorization: bearer t0ken-from-env"),
            "{r}"
        );
    }
}

#[test]
fn truth_agreement_keeps_the_verdict() {
    let s = stub((200, STATUS_RED), (200, CHECKS_NONE), "");
    let out = espcheck()
        .arg("grade")
        .arg(fixture("ci_failed.log"))
        .args(truth_args(&s))
        .args(["--repo", "esp8266/Arduino", "--ref", "master"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("truth (esp8266/Arduino@master): CI is red; agrees"),
        "{text}"
    );

    // A board that says PASS needs GitHub to agree.
    let s = stub((200, STATUS_RED), (200, CHECKS_NONE), "");
    let (code, v) = {
        let out = espcheck()
            .arg("grade")
            .arg(fixture("core24_pass.log"))
            .args(truth_args(&s))
            .arg("--json")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    assert_eq!((code, v["truth"]["agrees"].as_bool()), (1, Some(false)));

    let s = stub((200, ACTIONS_ONLY), (200, CHECKS_GREEN), "");
    let out = espcheck()
        .arg("grade")
        .arg(fixture("core3x_pass.log"))
        .args(truth_args(&s))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["truth"]["agrees"], true);
}

#[test]
fn truth_rate_limit_is_an_environment_error() {
    let limited = r#"{"message":"API rate limit exceeded for 127.0.0.1."}"#;
    let s = stub(
        (403, limited),
        (403, limited),
        "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1700000000\r\n",
    );
    let out = espcheck()
        .arg("grade")
        .arg(fixture("ci_pending.log"))
        .args(truth_args(&s))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("rate limit exceeded (403); it resets at 22:13 UTC; set GITHUB_TOKEN"),
        "{err}"
    );
}

#[test]
fn truth_with_an_untrusted_server_is_an_environment_error() {
    let s = stub((200, ACTIONS_ONLY), (200, CHECKS_GREEN), "");
    let out = espcheck()
        .arg("grade")
        .arg(fixture("ci_pending.log"))
        .args([
            "--truth",
            "--api-base",
            &format!("https://127.0.0.1:{}", s.port),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
}

/// The request line and headers of one plain-HTTP request, as text.
fn request_head(tcp: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A plain-HTTP GitHub stand-in on loopback that pages `total` check runs 100 at a time with
/// `Link: rel="next"`, the last run failed; or refuses every check-runs request with 403.
fn paging_api(total: usize, refuse_checks: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(16) {
            let Ok(mut tcp) = conn else { continue };
            let head = request_head(&mut tcp);
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (code, body, link) = if !path.contains("/check-runs") {
                (
                    200,
                    r#"{"state":"pending","statuses":[],"total_count":0}"#.to_owned(),
                    String::new(),
                )
            } else if refuse_checks {
                (
                    403,
                    r#"{"message":"Resource not accessible by integration"}"#.to_owned(),
                    String::new(),
                )
            } else {
                let page: usize = path
                    .split("&page=")
                    .nth(1)
                    .and_then(|p| p.split('&').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let from = (page - 1) * 100;
                let to = (from + 100).min(total);
                let runs: Vec<String> = (from..to)
                    .map(|i| {
                        let conclusion = if i + 1 == total { "failure" } else { "success" };
                        format!(r#"{{"name":"job {}","status":"completed","conclusion":"{conclusion}"}}"#, i + 1)
                    })
                    .collect();
                let link = if to < total {
                    format!(
                        "Link: <http://127.0.0.1:{port}/repos/esp8266/Arduino/commits/master/check-runs?per_page=100&page={}>; rel=\"next\"\r\n",
                        page + 1
                    )
                } else {
                    String::new()
                };
                (
                    200,
                    format!(
                        r#"{{"total_count":{total},"check_runs":[{}]}}"#,
                        runs.join(",")
                    ),
                    link,
                )
            };
            let resp = format!(
                "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{link}Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(resp.as_bytes());
        }
    });
    port
}

/// Issue 15: a failed check run on page 2 (#150 of 150) must make the CI red, so a board that
/// reports success disagrees with it and cannot PASS.
#[test]
fn truth_reads_every_page_of_check_runs() {
    let port = paging_api(150, false);
    let (code, v) = grade_json(&[
        fixture("core3x_pass.log").to_str().unwrap(),
        "--truth",
        "--api-base",
        &format!("http://127.0.0.1:{port}"),
    ]);
    assert_eq!(v["truth"]["check_runs"]["total"], 150, "{v}");
    assert_eq!(v["truth"]["check_runs"]["failure"], 1, "{v}");
    assert_eq!(v["truth"]["ci"], "red", "{v}");
    assert_ne!(code, 0, "a failed run #150 gives no PASS: {v}");
}

/// Issue 15: when the API refuses the check runs, the board's verdict, the JSON report and the
/// JUnit file survive, with the truth marked unavailable and why.
#[test]
fn truth_refused_keeps_the_report_and_the_junit_file() {
    let port = paging_api(3, true);
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let out = espcheck()
        .arg("grade")
        .arg(fixture("core3x_pass.log"))
        .args([
            "--truth",
            "--json",
            "--api-base",
            &format!("http://127.0.0.1:{port}"),
        ])
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("the JSON report survives");
    assert_eq!(v["verdict"], "pass", "the board's verdict stands: {v}");
    let why = v["truth_unavailable"].as_str().unwrap_or_default();
    assert!(why.contains("403"), "says why: {v}");
    assert_eq!(
        out.status.code(),
        Some(4),
        "a PASS unconfirmed by the CI is not exit 0"
    );
    assert_eq!(v["exit_code"], 4);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file is written");
    assert!(xml.contains("<testsuite"), "{xml}");
}

/// Issue 18 (2, 9): a proxy that echoes the request puts no token on stderr or in the JSON, a URL
/// password is never echoed, and a `GITHUB_TOKEN` with a newline is refused naming the variable.
#[test]
fn truth_errors_never_show_the_token_or_a_url_password() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut tcp) = conn else { continue };
            let echo = request_head(&mut tcp).replace(['\r', '\n', '"'], " ");
            let body = format!(r#"{{"message":"bad gateway for: {echo}"}}"#);
            let resp = format!(
                "HTTP/1.1 502 X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(resp.as_bytes());
        }
    });
    let token = "ghp_SECRETSECRETSECRETSECRETSECRET0001";
    let out = espcheck()
        .arg("grade")
        .arg(fixture("core3x_pass.log"))
        .args(["--truth", "--json", "--api-base"])
        .arg(format!("http://127.0.0.1:{port}"))
        .env("GITHUB_TOKEN", token)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("502"), "the API error is reported: {all}");
    assert!(!all.contains("SECRETSECRET"), "the token leaked: {all}");

    let out = espcheck()
        .arg("grade")
        .arg(fixture("core3x_pass.log"))
        .args(["--truth", "--api-base", "https://user:hunter2@127.0.0.1:1"])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2"), "the URL password leaked: {all}");

    let out = espcheck()
        .arg("grade")
        .arg(fixture("core3x_pass.log"))
        .args(["--truth", "--api-base", &format!("http://127.0.0.1:{port}")])
        .env("GITHUB_TOKEN", "ghp_abc\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("GITHUB_TOKEN"), "{err}");
}

/// Real logs from public issues (fixtures/logs/real, provenance in its README) through the
/// binary: a crash behind Arduino IDE timestamps, the HTTP-client profile picked from the log,
/// an ESP-IDF connection failure graded as a fault.
#[test]
fn real_logs_through_the_binary() {
    let real = |name: &str| {
        fixture(&format!("real/{name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (code, v) = grade_json(&[&real("esp32_arduino_ide_timestamps_guru.log")]);
    assert_eq!((code, v["verdict"].as_str()), (5, Some("fault")), "{v}");
    assert_eq!(v["crash"]["kind"], "guru-meditation", "{v}");

    // No HTTP status: the board could not connect, a device fault as the exit codes say.
    let (code, v) = grade_json(&[&real("esp8266_httpclient_refused_debug.log")]);
    assert_eq!((code, v["stage"].as_str()), (5, Some("tls-connect")), "{v}");
    assert_eq!(v["profile"], "http-client", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("connection refused"),
        "{v}"
    );

    let (code, v) = grade_json(&[&real("esp32_idf_select_timeout.log")]);
    assert_eq!(code, 5, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("timed out"), "{v}");
    assert_eq!(v["lines_cut"], 0);
}

/// A line past the bound is reported in the human report and the JSON, and cannot pass.
#[test]
fn a_cut_line_is_reported_and_cannot_pass() {
    let mut log = b"connecting to sensor-net\r\n".to_vec();
    log.extend(std::iter::repeat_n(b'x', 70_000));
    log.extend_from_slice(b" All checks passed\r\n");
    let out = espcheck()
        .args(["grade", "-", "--pass", "x All checks passed$"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("lines cut: 1"), "{text}");
    let out = espcheck()
        .args(["grade", "-", "--json", "--pass", "xxxx"])
        .write_stdin(log)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lines_cut"], 1, "{v}");
    assert_eq!(v["verdict"], "fail", "{v}");
}

/// Issue 18: one redaction layer for every output. Serial lines that carry the `GITHUB_TOKEN`
/// value, an `Authorization` header or a URL password reach neither the human report, the JSON,
/// the JUnit file nor the `-vv` log; and the serial text a report quotes is escaped, so a bidi
/// override in it cannot reorder the line.
#[test]
fn no_output_carries_the_token_an_authorization_header_or_a_url_password() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("leak.log");
    std::fs::write(
        &log,
        "boot\r\nGET https://bob:hunter2@api.example/x\r\n\
         > Authorization: Bearer tok_LEAKLEAKLEAK0001\r\n\
         FAILED with ghp_TOKENTOKENTOKEN0001 \u{202e}deliaf\r\n",
    )
    .unwrap();
    let junit = dir.path().join("report.xml");
    let run = |fail: &str, extra: &[&str]| {
        let out = espcheck()
            .arg("grade")
            .arg(&log)
            .args(["--fail", fail])
            .args(extra)
            .arg("--junit")
            .arg(&junit)
            .env("GITHUB_TOKEN", "ghp_TOKENTOKENTOKEN0001")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let xml = std::fs::read_to_string(&junit).unwrap();
        format!(
            "{}\n{}\n{xml}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // Each rule stops the run at a different line, so each secret is the one quoted.
    for fail in ["api.example", "Authorization", "FAILED"] {
        for extra in [&["-vv"][..], &["--json"][..], &[][..]] {
            let all = run(fail, extra);
            for leak in ["TOKENTOKEN", "tok_LEAK", "hunter2", "bob:"] {
                assert!(!all.contains(leak), "{extra:?} leaked {leak}: {all}");
            }
            assert!(all.contains("***"), "{fail} {extra:?}: {all}");
        }
    }
    assert!(run("api", &[]).contains("https://***@api.example/x"));
    // The terminal report, not the JUnit file (XML keeps the text as it was).
    let all = run("FAILED", &[]);
    let human = all.split("<?xml").next().unwrap_or_default();
    assert!(
        human.contains("\\u{202e}") && !human.contains('\u{202e}'),
        "{human}"
    );
}

/// Issue 18 (3), found again by the adversarial re-run: a `--fail` match past the cut of a 1 MiB
/// line, then a pass line, must not PASS: the unread bytes could hold the failure.
#[test]
fn a_failure_past_the_cut_of_an_earlier_line_keeps_the_run_from_passing() {
    let mut log = vec![b'y'; 1 << 20];
    log.extend_from_slice(b" FATAL\r\nPASS_OK\r\n");
    let out = espcheck()
        .args([
            "grade", "-", "--json", "--fail", "FATAL", "--pass", "PASS_OK",
        ])
        .write_stdin(log)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "fail", "{v}");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["lines_cut"], 1, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("line 1 is longer than 65536 bytes"),
        "{v}"
    );
}

/// `pio device monitor | espcheck grade -`: a signal while the pipe is still open ends the grade
/// with the report of what arrived, "interrupted", exit 130 (not killed with no report).
#[test]
fn a_signal_stops_grading_an_open_pipe_with_the_report_and_exit_130() {
    use nix::sys::signal::Signal;
    let log = std::fs::read(fixture("no_wifi.log")).unwrap();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let mut child = super::support::espcheck_std()
            .args(["grade", "-", "--json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&log[..200]).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let code = super::watch::wait_exit(&mut child, std::time::Duration::from_secs(10));
        drop(stdin);
        assert_eq!(code, 130, "{signal}");
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (
                v["verdict"].as_str(),
                v["stage"].as_str(),
                v["exit_code"].as_i64()
            ),
            (Some("timeout"), Some("wifi"), Some(130)),
            "{signal}: {v}"
        );
        assert!(
            v["reason"].as_str().unwrap().starts_with("interrupted"),
            "{v}"
        );
    }
}
