//! `espcheck fingerprint`: live capture against real TLS servers, every dump format, bad input.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

fn live_json(host: &str, port: u16, ca: Option<&std::path::Path>) -> serde_json::Value {
    let mut cmd = espcheck();
    cmd.arg("fingerprint")
        .arg(format!("{host}:{port}"))
        .arg("--connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--json", "--no-system-roots", "--timeout", "10s"]);
    if let Some(ca) = ca {
        cmd.arg("--ca-file").arg(ca);
    }
    let out = cmd.output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    lines.remove(0)
}

fn assert_matches_openssl(report: &serde_json::Value, chain: &TestChain, alg: Alg) {
    let certs = report["chain"].as_array().expect("chain");
    assert!(certs.len() >= 2, "leaf and intermediate are served");
    for (i, file) in ["leaf.pem", "intermediate.pem"].iter().enumerate() {
        let path = chain.path(file);
        assert_eq!(
            certs[i]["sha1"],
            openssl_fingerprint(&path, "sha1"),
            "{file} SHA-1"
        );
        assert_eq!(
            certs[i]["sha256"],
            openssl_fingerprint(&path, "sha256"),
            "{file} SHA-256"
        );
        assert_eq!(certs[i]["key"], alg.key_label());
    }
    assert_eq!(certs[0]["role"], "leaf");
    assert_eq!(certs[1]["role"], "intermediate");
}

#[test]
fn rustls_server_every_key_type_matches_openssl_and_is_trusted_only_with_ca_file() {
    for alg in [
        Alg::Rsa2048,
        Alg::Rsa4096,
        Alg::P256,
        Alg::P384,
        Alg::Ed25519,
    ] {
        let chain = TestChain::new(alg, &["device.test", "localhost"]);
        let server = RustlsServer::start(&chain);
        let trusted = live_json("device.test", server.port, Some(&chain.path("root.pem")));
        assert_matches_openssl(&trusted, &chain, alg);
        assert_eq!(
            trusted["trusted"], true,
            "{alg:?}: {}",
            trusted["trust_error"]
        );
        assert_eq!(trusted["hostname_ok"], true);
        assert_eq!(trusted["source"], "live");
        assert_eq!(trusted["tls"]["version"], "TLSv1.3");
        // The root is not served, but --ca-file has it: it is reported as the pin to use.
        let chain_json = trusted["chain"].as_array().expect("chain");
        assert_eq!(chain_json.len(), 3);
        assert_eq!(chain_json[2]["role"], "root");
        assert_eq!(chain_json[2]["sent"], false);
        assert_eq!(trusted["recommended"]["index"], 2);

        let untrusted = live_json("device.test", server.port, None);
        assert_eq!(untrusted["trusted"], false);
        assert!(
            untrusted["trust_error"]
                .as_str()
                .expect("reason")
                .contains("unknown issuer")
        );
        // Without the root, the advice falls back to "the second certificate".
        assert_eq!(untrusted["recommended"]["index"], 1);
    }
}

#[test]
fn openssl_s_server_tls12_chain_matches_openssl() {
    for alg in [Alg::Rsa2048, Alg::P256] {
        let chain = TestChain::new(alg, &["device.test"]);
        let server = OpensslServer::start(&chain, &["-tls1_2"]);
        let report = live_json("device.test", server.port, Some(&chain.path("root.pem")));
        assert_matches_openssl(&report, &chain, alg);
        assert_eq!(report["tls"]["version"], "TLSv1.2");
        assert!(
            report["tls"]["cipher"]
                .as_str()
                .expect("cipher")
                .starts_with("TLS_ECDHE_")
        );
        assert_eq!(report["trusted"], true);
    }
}

#[test]
fn hostname_mismatch_is_flagged() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let server = RustlsServer::start(&chain);
    let report = live_json("other.example", server.port, Some(&chain.path("root.pem")));
    assert_eq!(report["hostname_ok"], false);
    assert_eq!(report["trusted"], true, "the chain itself still verifies");
    let text = espcheck()
        .args(["fingerprint", &format!("other.example:{}", server.port)])
        .arg("--connect")
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("--ca-file")
        .arg(chain.path("root.pem"))
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&text.stdout).contains("hostname MISMATCH"));
}

#[test]
fn ipv6_literal_target() {
    let chain = TestChain::new(Alg::P256, &["device.test", "::1"]);
    let config_server = RustlsServer::start(&chain);
    // Dial v4 loopback but name the target by its IPv6 literal: no SNI, the IP SAN is checked.
    let out = espcheck()
        .args([
            "fingerprint",
            &format!("[::1]:{}", config_server.port),
            "--json",
        ])
        .arg("--connect")
        .arg(format!("127.0.0.1:{}", config_server.port))
        .arg("--ca-file")
        .arg(chain.path("root.pem"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = &json_lines(&out.stdout)[0];
    assert_eq!(report["host"], "::1");
    assert_eq!(report["hostname_ok"], true);
}

#[test]
fn several_targets_one_failure_does_not_stop_the_rest_and_exit_is_the_worst() {
    let chain = TestChain::new(Alg::P256, &["localhost"]);
    let a = RustlsServer::start(&chain);
    let b = RustlsServer::start(&chain);
    let dead = free_port();
    let out = espcheck()
        .arg("fingerprint")
        .arg(format!("localhost:{}", a.port))
        .arg(format!("localhost:{dead}"))
        .arg(format!("localhost:{}", b.port))
        .args(["--json", "--jobs", "2"])
        .arg("--ca-file")
        .arg(chain.path("root.pem"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(4),
        "a refused connection is an environment error"
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["port"], a.port);
    assert!(
        lines[1]["error"]
            .as_str()
            .expect("error")
            .contains("refused")
    );
    assert_eq!(lines[2]["port"], b.port);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line for the one failure: {stderr}"
    );
    assert!(stderr.starts_with(&format!("error: localhost:{dead}: ")));
}

#[test]
fn silent_server_times_out_with_exit_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let start = Instant::now();
    let out = espcheck()
        .args([
            "fingerprint",
            &format!("localhost:{port}"),
            "--timeout",
            "700ms",
        ])
        .output()
        .expect("run");
    let took = start.elapsed();
    drop(listener);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        took < Duration::from_secs(5),
        "bounded by --timeout, took {took:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out after 700ms"));
}

/// Every dump variant yields the same fingerprints.
#[test]
fn every_dump_format_parses_to_the_same_fingerprints() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let server = OpensslServer::start(&chain, &[]);
    let sclient = |showcerts: bool| {
        let mut cmd = Command::new("openssl");
        cmd.arg("s_client")
            .arg("-connect")
            .arg(format!("127.0.0.1:{}", server.port));
        cmd.args(["-servername", "device.test"]);
        if showcerts {
            cmd.arg("-showcerts");
        }
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .expect("s_client");
        // s_client writes depth=/verify noise on stderr; real users paste both streams.
        let mut all = out.stderr;
        all.extend_from_slice(&out.stdout);
        all
    };
    let leaf_sha1 = openssl_fingerprint(&chain.path("leaf.pem"), "sha1");
    let inter_sha1 = openssl_fingerprint(&chain.path("intermediate.pem"), "sha1");

    let showcerts = sclient(true);
    let crlf: Vec<u8> = String::from_utf8_lossy(&showcerts)
        .replace('\n', "\r\n")
        .into_bytes();
    let der = {
        let out = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(chain.path("leaf.pem"))
            .output()
            .expect("der");
        out.stdout
    };
    let indent = |pem: &str, dashes: bool| {
        pem.lines()
            .map(|l| {
                let l = if dashes && l.starts_with("-----BEGIN") {
                    format!("-{l}")
                } else {
                    l.to_owned()
                };
                format!("    {l}\n")
            })
            .collect::<String>()
    };
    let raw_literal = format!(
        "#include <Arduino.h>\nconst char C8SSLCA[] PROGMEM =  R\"EOF(\n{}{})EOF\";\n",
        indent(&chain.leaf_pem, true),
        indent(&chain.intermediate_pem, false)
    );
    let per_line = |pem: &str| {
        pem.lines()
            .map(|l| format!("  \"{l}\\n\"\n"))
            .collect::<String>()
    };
    let c_strings = format!(
        "static const char *ca =\n{}{};\n",
        per_line(&chain.leaf_pem),
        per_line(&chain.intermediate_pem)
    );
    let rust = format!(
        "pub const CA: &str = r#\"{}{}\"#;\n",
        chain.leaf_pem, chain.intermediate_pem
    );
    let bundle = format!("{}{}", chain.leaf_pem, chain.intermediate_pem);

    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("s_client -showcerts", showcerts, 2),
        ("s_client -showcerts CRLF", crlf, 2),
        ("s_client", sclient(false), 1),
        ("PEM bundle", bundle.into_bytes(), 2),
        ("DER", der, 1),
        (
            "C raw literal, indented, six dashes",
            raw_literal.into_bytes(),
            2,
        ),
        ("C string per line", c_strings.into_bytes(), 2),
        ("Rust raw string", rust.into_bytes(), 2),
    ];
    for (name, input, count) in cases {
        let out = espcheck()
            .args(["fingerprint", "--from", "-", "--json", "--no-system-roots"])
            .write_stdin(input)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = &json_lines(&out.stdout)[0];
        let certs = report["chain"].as_array().expect("chain");
        assert_eq!(certs.len(), count, "{name}");
        assert_eq!(certs[0]["sha1"], leaf_sha1, "{name}");
        if count == 2 {
            assert_eq!(certs[1]["sha1"], inter_sha1, "{name}");
        }
        assert_eq!(report["source"], "file");
        if name.contains("six dashes") {
            let warnings = report["warnings"].to_string();
            assert!(
                warnings.contains("6 leading"),
                "{name}: the mangled line is reported: {warnings}"
            );
        }
    }
}

#[test]
fn duplicate_certificate_in_an_s_client_dump_is_dropped() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let dump = format!(
        "CONNECTED(00000003)\n---\nCertificate chain\n{}{}---\nServer certificate\n{}",
        chain.leaf_pem, chain.intermediate_pem, chain.leaf_pem
    );
    let out = espcheck()
        .args(["fingerprint", "--from", "-", "--json"])
        .write_stdin(dump)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json_lines(&out.stdout)[0]["chain"]
            .as_array()
            .expect("chain")
            .len(),
        2
    );
}

#[test]
fn malformed_inputs_exit_2_with_one_line_and_no_key_material() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let dir = tempfile::tempdir().expect("tmp");
    let pem_lines: Vec<&str> = chain.leaf_pem.lines().collect();
    let truncated_b64 = {
        let mut body: Vec<String> = pem_lines.iter().map(|s| s.to_string()).collect();
        let n = body.len();
        let keep = body[n - 2].len() - 3;
        body[n - 2].truncate(keep);
        body.join("\n")
    };
    let cut_der = {
        let mut body: Vec<&str> = pem_lines.clone();
        let n = body.len();
        body.drain(3..n - 1);
        body.join("\n")
    };
    let bad_char = {
        let mut lines: Vec<String> = pem_lines.iter().map(|s| s.to_string()).collect();
        lines[2].replace_range(10..11, "*");
        lines.join("\n")
    };
    let no_end: String = pem_lines[..pem_lines.len() - 1].join("\n");
    let key_only = chain.leaf_key_pem.clone();
    let mut random = vec![0u8; 4096];
    for (i, b) in random.iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 50 * 1024 * 1024]).expect("big");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let cases = vec![
        (write("empty.pem", b""), "is empty"),
        (write("random.bin", &random), "no certificate found"),
        (
            write("truncated.pem", truncated_b64.as_bytes()),
            "certificate 1: line 1: base64 ends mid-block",
        ),
        (write("cut.pem", cut_der.as_bytes()), "certificate 1:"),
        (
            write("badchar.pem", bad_char.as_bytes()),
            "unexpected character '*'",
        ),
        (write("noend.pem", no_end.as_bytes()), "has no END line"),
        (
            write("key.pem", key_only.as_bytes()),
            "private key and no certificate",
        ),
        (big, "larger than"),
        (dir.path().to_path_buf(), "is a directory"),
        (dir.path().join("missing.pem"), "no such file"),
    ];
    let key_body: Vec<&str> = chain
        .leaf_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (path, expect) in cases {
        let out = espcheck()
            .arg("fingerprint")
            .arg("--from")
            .arg(&path)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}: ", path.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains(expect),
            "{}: expected {expect:?} in {stderr}",
            path.display()
        );
        assert!(!stderr.contains("panicked"));
        for line in &key_body {
            assert!(!stderr.contains(line), "key material echoed");
        }
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn pem_out_writes_the_recommended_certificate() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let out_path = chain.path("pin.pem");
    espcheck()
        .args(["fingerprint", "--from"])
        .arg(chain.path("chain.pem"))
        .arg("--pem-out")
        .arg(&out_path)
        .assert()
        .success();
    // No root in the file and none in a store: the intermediate is the pin.
    assert_eq!(
        std::fs::read_to_string(&out_path).expect("written"),
        chain.intermediate_pem
    );
}

#[test]
fn human_report_snapshot() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/chains/example-chain.pem"
    );
    let out = espcheck()
        .args([
            "fingerprint",
            "--no-system-roots",
            "--host",
            "device.example",
            "--from",
            fixture,
        ])
        .arg("--ca-file")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/chains/example-root.pem"
        ))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf8");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\(-?\d+ days", "([N] days");
    settings.add_filter(r"-?\d+ days left", "[N] days left");
    settings.add_filter(r"/[^ ]*/fixtures/", "[FIXTURES]/");
    settings.bind(|| insta::assert_snapshot!("fingerprint_human_report", text));
}

#[test]
fn showcerts_prints_the_chain_like_s_client() {
    let chain = TestChain::new(Alg::P256, &["device.test"]);
    let out = espcheck()
        .args(["fingerprint", "--showcerts", "--from"])
        .arg(chain.path("chain.pem"))
        .output()
        .expect("run");
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.starts_with(
        "---\nCertificate chain\n 0 s:CN=device.test\n   i:CN=espcheck Test Intermediate"
    ));
    assert!(text.contains(&chain.leaf_pem));
    assert!(text.contains(&chain.intermediate_pem));
}

/// A chain that carries a cross-signed copy of a root (the ISRG Root X1 / DST Root CA X3 shape).
#[test]
fn cross_signed_chain_is_warned_and_the_self_signed_root_is_pinned() {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2040, 1, 1);
        p
    };
    let old_key = KeyPair::generate().expect("key");
    let old_root = ca("Old Root").self_signed(&old_key).expect("old");
    let old_issuer = Issuer::new(ca("Old Root"), old_key);
    let new_key = KeyPair::generate().expect("key");
    let new_root = ca("New Root").self_signed(&new_key).expect("new");
    // The same subject and key as New Root, issued by Old Root: the cross-sign.
    let cross = ca("New Root")
        .signed_by(&new_key, &old_issuer)
        .expect("cross");
    let new_issuer = Issuer::new(ca("New Root"), new_key);
    let leaf_key = KeyPair::generate().expect("key");
    let mut lp = CertificateParams::new(vec!["device.test".to_owned()]).expect("leaf");
    lp.not_before = rcgen::date_time_ymd(2025, 1, 1);
    lp.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let leaf = lp.signed_by(&leaf_key, &new_issuer).expect("leaf");

    let dir = tempfile::tempdir().expect("tmp");
    let chain = dir.path().join("chain.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), cross.pem())).expect("write");
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, format!("{}{}", new_root.pem(), old_root.pem())).expect("write");
    let out = espcheck()
        .args([
            "fingerprint",
            "--json",
            "--no-system-roots",
            "--host",
            "device.test",
            "--from",
        ])
        .arg(&chain)
        .arg("--ca-file")
        .arg(&roots)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = &json_lines(&out.stdout)[0];
    assert_eq!(report["trusted"], true);
    assert!(
        report["warnings"].to_string().contains("cross-signed"),
        "{}",
        report["warnings"]
    );
    let rec = report["recommended"]["index"]
        .as_u64()
        .expect("a recommendation") as usize;
    let pinned = &report["chain"][rec];
    assert_eq!(pinned["subject"], "CN=New Root");
    assert_eq!(
        pinned["self_signed"], true,
        "the self-signed root, not the cross-signed copy"
    );
}

/// Issue 18 (7): a live server whose key rustls cannot verify (RSA 8448) still yields its chain,
/// with a warning that boards cannot use such a key either; the same certificate works from a
/// file.
#[test]
fn a_live_server_with_an_rsa_key_over_8192_bits_still_yields_its_chain() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains/rsa-8448");
    let port = free_port();
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-www",
            "-quiet",
        ])
        .arg("-cert")
        .arg(dir.join("leaf.pem"))
        .arg("-key")
        .arg(dir.join("leaf.key"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    assert!(
        wait_port(port, Duration::from_secs(5)),
        "s_server did not start"
    );
    let out = espcheck()
        .args([
            "fingerprint",
            &format!("big.test:{port}"),
            "--json",
            "--connect",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("run");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    let sha1 = openssl_fingerprint(&dir.join("leaf.pem"), "sha1");
    assert_eq!(v["chain"][0]["sha1"], sha1, "{v}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("RSA 8448") && warnings.contains("board"),
        "{warnings}"
    );
}

/// Issue 18 (5): a subject with CR, LF and a bidi override cannot print a forged line: the
/// human report shows them as escapes, and JSON keeps the real text. A newline in a host
/// argument is shown, not echoed raw.
#[test]
fn a_crafted_subject_cannot_forge_a_line_of_the_report() {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["evil.test".to_owned()]).unwrap();
    params.distinguished_name.push(
        DnType::CommonName,
        "evil.test\n  trusted; hostname ok\r\u{202e}kcatta",
    );
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("evil.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let out = espcheck()
        .args(["fingerprint", "--from"])
        .arg(&pem)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("trusted; hostname ok")),
        "a forged line: {text}"
    );
    assert!(
        !text.contains('\r') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    assert!(
        text.contains("\\n  trusted; hostname ok"),
        "shown as an escape: {text}"
    );

    let out = espcheck()
        .args(["fingerprint", "--json", "--from"])
        .arg(&pem)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["chain"][0]["subject"]
            .as_str()
            .unwrap_or_default()
            .contains('\n'),
        "{v}"
    );

    let out = espcheck()
        .args(["fingerprint", "bad\nhost.example"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad\\nhost.example") && err.lines().count() == 1,
        "{err}"
    );
}

/// Issue 18 (8): a certificate that simply expired (in 1949, a date webpki cannot encode) is
/// said to have expired, naming it; trust errors carry no Rust debug names.
#[test]
fn an_old_expired_certificate_is_expired_not_bad_encoding() {
    use rcgen::{CertificateParams, DnType, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["old.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "old.test");
    params.not_before = rcgen::date_time_ymd(1940, 1, 1);
    params.not_after = rcgen::date_time_ymd(1949, 6, 30);
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("old.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let out = espcheck()
        .args(["fingerprint", "--json", "--host", "old.test", "--from"])
        .arg(&pem)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let why = v["trust_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("expired on 1949-06-30") && why.contains("old.test"),
        "{v}"
    );
    for debug_name in ["BadEncoding", "Other(", "OtherError", "CaUsedAsEndEntity"] {
        assert!(!why.contains(debug_name), "{why}");
    }
}
