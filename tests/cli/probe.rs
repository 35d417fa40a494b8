//! `espcheck probe` and `fingerprint --profile` against real `openssl s_server` configurations.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use crate::support::*;

fn probe_json(port: u16) -> (Option<i32>, serde_json::Value) {
    let out = espcheck()
        .args([
            "probe",
            &format!("device.test:{port}"),
            "--json",
            "--timeout",
            "5s",
        ])
        .arg("--connect")
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run");
    let lines = json_lines(&out.stdout);
    assert_eq!(
        lines.len(),
        1,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), lines[0].clone())
}

fn profile<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .find(|p| p["name"] == name)
        .expect("profile present")
}

/// OpenSSL's name for each IANA suite name, from `openssl ciphers -stdname`.
fn openssl_names() -> HashMap<String, String> {
    let out = Command::new("openssl")
        .args(["ciphers", "-stdname", "ALL:@SECLEVEL=0"])
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(" - ");
            Some((
                parts.next()?.trim().to_owned(),
                parts.next()?.split_whitespace().next()?.to_owned(),
            ))
        })
        .collect()
}

/// The leaf SHA-1 that `openssl s_client` receives when it offers `suites` (IANA names).
fn s_client_leaf_sha1(port: u16, suites: &[String]) -> String {
    let names = openssl_names();
    let list: Vec<&str> = suites
        .iter()
        .filter_map(|s| names.get(s).map(String::as_str))
        .collect();
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-tls1_2",
            "-servername",
            "device.test",
            "-cipher",
        ])
        .arg(list.join(":"))
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .output()
        .expect("s_client");
    let pem = String::from_utf8_lossy(&out.stdout).to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("leaf.pem");
    std::fs::write(&path, pem).expect("write");
    openssl_fingerprint(&path, "sha1")
}

fn profile_suites() -> HashMap<String, Vec<String>> {
    let out = espcheck()
        .args(["probe", "--list-profiles", "--json"])
        .output()
        .expect("run");
    json_lines(&out.stdout)
        .into_iter()
        .map(|p| {
            let suites = p["suites"]
                .as_array()
                .expect("suites")
                .iter()
                .map(|s| s.as_str().expect("name").to_owned())
                .collect();
            (p["name"].as_str().expect("name").to_owned(), suites)
        })
        .collect()
}

#[test]
fn dual_certificate_server_each_profile_sees_what_s_client_sees() {
    let rsa = TestChain::new(Alg::Rsa2048, &["device.test"]);
    let ec = TestChain::new(Alg::P256, &["device.test"]);
    let server = OpensslServer::start(
        &rsa,
        &[
            "-dcert",
            ec.path("leaf.pem").to_str().expect("path"),
            "-dkey",
            ec.path("leaf.key").to_str().expect("path"),
            "-dcert_chain",
            ec.path("intermediate.pem").to_str().expect("path"),
        ],
    );
    let (code, report) = probe_json(server.port);
    assert_eq!(code, Some(0), "{report}");
    let suites = profile_suites();
    let rsa_sha1 = openssl_fingerprint(&rsa.path("leaf.pem"), "sha1");
    let ec_sha1 = openssl_fingerprint(&ec.path("leaf.pem"), "sha1");
    for name in ["esp8266", "esp8266-less-secure", "esp32"] {
        let p = profile(&report, name);
        assert_eq!(p["ok"], true, "{name}: {p}");
        let expected = s_client_leaf_sha1(server.port, &suites[name]);
        assert_eq!(
            p["leaf_sha1"], expected,
            "{name} receives the leaf s_client gets with its suites"
        );
    }
    assert_eq!(
        profile(&report, "esp8266-less-secure")["leaf_sha1"],
        rsa_sha1
    );
    assert_eq!(profile(&report, "esp8266")["leaf_sha1"], ec_sha1);

    // fingerprint --profile reports the chain that board gets.
    for (name, sha1) in [("esp8266-less-secure", &rsa_sha1), ("esp8266", &ec_sha1)] {
        let out = espcheck()
            .args([
                "fingerprint",
                &format!("device.test:{}", server.port),
                "--json",
                "--profile",
                name,
            ])
            .arg("--connect")
            .arg(format!("127.0.0.1:{}", server.port))
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = &json_lines(&out.stdout)[0];
        assert_eq!(&r["chain"][0]["sha1"], sha1, "{name}");
        assert_eq!(r["tls"]["version"], "TLSv1.2");
    }
}

#[test]
fn tls13_only_server_fails_every_board_and_says_why() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let server = OpensslServer::start(&chain, &["-tls1_3"]);
    let (code, report) = probe_json(server.port);
    assert_eq!(code, Some(1));
    assert_eq!(report["tls13"], true);
    assert_eq!(report["tls12"], false);
    for p in report["profiles"].as_array().expect("profiles") {
        assert_eq!(p["ok"], false);
        assert!(p["why"].as_str().expect("why").contains("TLS 1.3"), "{p}");
    }
}

#[test]
fn ecdsa_only_server_fails_the_static_rsa_profile() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let server = OpensslServer::start(&chain, &[]);
    let (code, report) = probe_json(server.port);
    assert_eq!(code, Some(1));
    assert_eq!(profile(&report, "esp8266")["ok"], true);
    assert_eq!(profile(&report, "esp32")["ok"], true);
    let less = profile(&report, "esp8266-less-secure");
    assert_eq!(less["ok"], false);
    assert!(
        less["why"]
            .as_str()
            .expect("why")
            .contains("RSA certificate"),
        "{less}"
    );
}

#[test]
fn mfln_openssl_acknowledges_and_rustls_does_not() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let openssl = OpensslServer::start(&chain, &[]);
    let (_, report) = probe_json(openssl.port);
    assert_eq!(report["mfln"]["512"], true);
    assert_eq!(report["mfln_without_sni"]["512"], true);
    let esp = profile(&report, "esp8266");
    assert_eq!(esp["buffer_sizes"], serde_json::json!([512, 512]));
    assert!(esp["chain_bytes"].as_u64().expect("bytes") > 500);

    let rustls = RustlsServer::start(&chain);
    let (_, report) = probe_json(rustls.port);
    assert_eq!(report["mfln"]["512"], false);
    assert_eq!(
        profile(&report, "esp8266")["buffer_sizes"],
        serde_json::json!([16384, 512])
    );
}

/// Issue 18 (6): a server that negotiates TLS 1.0 is reported as TLS 1.0, by `probe` and by
/// `fingerprint --profile esp8266`, never as TLS 1.2.
#[test]
fn a_tls_1_0_server_is_reported_as_tls_1_0() {
    let chain = TestChain::new(Alg::Rsa2048, &["device.test"]);
    let server = OpensslServer::start(&chain, &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let (_, report) = probe_json(server.port);
    let esp8266 = profile(&report, "esp8266");
    assert_eq!(esp8266["version"], "TLS 1.0", "{esp8266}");
    let why = esp8266["why"].as_str().unwrap_or_default();
    assert!(!why.contains("TLS 1.2 with"), "{why}");
    let out = espcheck()
        .args([
            "fingerprint",
            &format!("device.test:{}", server.port),
            "--json",
        ])
        .args(["--profile", "esp8266", "--connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .output()
        .expect("run");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines[0]["tls"]["version"], "TLSv1.0", "{}", lines[0]);
}
