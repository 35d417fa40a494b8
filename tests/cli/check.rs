//! `check`: pins read back out of generated headers, Rust modules, hand-written sketches and IDF
//! bundles, judged against a real `openssl s_server` that is restarted with a re-issued leaf.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::codegen::{Pki, SServer, espcheck, free_port, have};

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `symbol → status` for every pin of a report line.
fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["symbol"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn generate(args: &[&str], server: &SServer, out: &Path) {
    espcheck()
        .arg("gen-cert-header")
        .args(args)
        .args(["--connect", &server.connect(), "--no-system-roots", "-o"])
        .arg(out)
        .assert()
        .success();
}

fn check(files: &[&Path], server_port: u16) -> assert_cmd::assert::Assert {
    espcheck()
        .arg("check")
        .args(files)
        .args(["--json", "--connect", &format!("127.0.0.1:{server_port}")])
        .assert()
}

/// A sketch as people write them (the second seed's style): the intermediate pasted into an
/// indented raw literal with a mangled BEGIN line, a host variable, no espcheck symbols.
fn sketch_with_ca(pki: &Pki) -> String {
    let inter = std::fs::read_to_string(pki.path("intermediate.pem")).unwrap();
    let pasted: String = inter
        .replace("-----BEGIN", "------BEGIN")
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    format!(
        "#include <WiFiClientSecure.h>\nconst char* host = \"{}\";\n\
         const char C8SSLCA[] PROGMEM =  R\"EOF(\n{pasted}    )EOF\";\n\
         void setup() {{ client->setCACert(C8SSLCA); }}\n",
        pki.host
    )
}

#[test]
fn leaf_pins_break_at_reissue_while_intermediate_pins_hold() {
    if !have("openssl", "check against openssl s_server") {
        return;
    }
    let mut pki = Pki::new("pins.test");
    let port = free_port();
    let server = SServer::start(&pki, port);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let leaf_h = w.join("leaf.h");
    let inter_h = w.join("inter.h");
    let rust = w.join("pins.rs");
    let sketch = w.join("sketch.ino");
    generate(&["pins.test", "--pin", "leaf"], &server, &leaf_h);
    generate(&["pins.test", "--pin", "intermediate"], &server, &inter_h);
    generate(
        &["pins.test", "--lang", "rust", "--pin", "intermediate"],
        &server,
        &rust,
    );
    std::fs::write(&sketch, sketch_with_ca(&pki)).unwrap();

    // Unchanged server: every pin holds.
    let assert = check(&[&leaf_h, &inter_h, &rust, &sketch], port).success();
    let reports = json_lines(&assert.get_output().stdout);
    assert_eq!(reports.len(), 4, "one line per file/host");
    for r in &reports {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["host"], "pins.test");
    }
    assert_eq!(
        statuses(&reports[0]),
        [
            ("PINS_TEST_FINGERPRINT_SHA1".into(), "match".into()),
            ("PINS_TEST_FINGERPRINT_SHA256".into(), "match".into()),
            ("PINS_TEST_PUBKEY_PEM".into(), "match".into()),
            ("PINS_TEST_CA_PEM".into(), "match".into()),
        ]
    );
    assert_eq!(statuses(&reports[3]), [("C8SSLCA".into(), "match".into())]);

    // Re-issue the leaf from the same intermediate and restart the server on the same port.
    drop(server);
    pki.reissue_leaf(crate::codegen::default_leaf_expiry());
    let server = SServer::start(&pki, port);
    let assert = check(&[&leaf_h, &inter_h, &rust], port).code(1);
    let reports = json_lines(&assert.get_output().stdout);
    // The leaf header: fingerprints and the direct-trust leaf pin all fail.
    assert!(
        statuses(&reports[0]).iter().all(|(_, s)| s == "mismatch"),
        "{}",
        reports[0]
    );
    // The intermediate headers: fingerprints and the key pin (the reissued leaf has a new key)
    // fail, the CA pin still anchors the chain.
    for r in &reports[1..] {
        let s = statuses(r);
        assert_eq!(s.len(), 4, "{r}");
        for (symbol, status) in s {
            let want = if symbol.ends_with("CA_PEM") {
                "match"
            } else {
                "mismatch"
            };
            assert_eq!(status, want, "{symbol} in {r}");
        }
    }
    let detail = reports[0]["pins"][0]["detail"].as_str().unwrap();
    let new_sha1 = reports[0]["leaf"]["sha1"].as_str().unwrap();
    assert!(detail.contains(new_sha1), "names the served leaf: {detail}");
    // A sketch that pins only the intermediate keeps working.
    check(&[&sketch], port).success();
    // Human output says which pin failed.
    let assert = espcheck()
        .args([
            "check",
            leaf_h.to_str().unwrap(),
            "--connect",
            &server.connect(),
        ])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    // The header's chosen pin is its CA_PEM (the leaf, with --pin leaf); the fingerprints beside
    // it are reported as informational.
    assert!(text.contains("FAIL     ca PINS_TEST_CA_PEM"), "{text}");
    assert!(
        text.contains("info     sha1 PINS_TEST_FINGERPRINT_SHA1"),
        "{text}"
    );
    assert!(text.contains("1 of 4 pin(s) fail"), "{text}");
}

/// A header made with `--pin intermediate` records its chosen pin; after a routine leaf reissue
/// by the same intermediate `check` stays green (the stale leaf fingerprints are informational),
/// while a sketch that uses the header's fingerprint goes red.
#[test]
fn the_chosen_pin_is_judged_and_the_rest_is_informational() {
    if !have("openssl", "check against openssl s_server") {
        return;
    }
    let mut pki = Pki::new("pins.test");
    let port = free_port();
    let server = SServer::start(&pki, port);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let header = w.join("pins.h");
    let rust = w.join("pins.rs");
    generate(&["pins.test", "--pin", "intermediate"], &server, &header);
    generate(
        &["pins.test", "--lang", "rust", "--pin", "intermediate"],
        &server,
        &rust,
    );
    let text = std::fs::read_to_string(&header).unwrap();
    assert!(
        text.contains(
            "// espcheck: chosen pin PINS_TEST_CA_PEM (--pin intermediate: intermediate)"
        ),
        "{text}"
    );
    let uses_fp = w.join("fp.ino");
    std::fs::write(
        &uses_fp,
        "#include \"pins.h\"\nvoid setup() { client.setFingerprint(PINS_TEST_FINGERPRINT_SHA1); }\n",
    )
    .unwrap();
    let uses_ca = w.join("ca.ino");
    std::fs::write(
        &uses_ca,
        "#include \"pins.h\"\nvoid setup() { client.setCACert(PINS_TEST_CA_PEM); }\n",
    )
    .unwrap();
    check(&[&header, &rust], port).success();

    drop(server);
    pki.reissue_leaf(crate::codegen::default_leaf_expiry());
    let server = SServer::start(&pki, port);
    // The headers alone: their chosen pin (the intermediate) holds, so the check is green.
    let assert = check(&[&header, &rust], port).success();
    for r in json_lines(&assert.get_output().stdout) {
        assert_eq!(r["ok"], true, "{r}");
        for p in r["pins"].as_array().unwrap() {
            let chosen = p["symbol"].as_str().unwrap().ends_with("CA_PEM");
            assert_eq!(
                p["status"],
                if chosen { "match" } else { "mismatch" },
                "{p}"
            );
            assert_eq!(
                p["informational"].as_bool().unwrap_or(false),
                !chosen,
                "{p}"
            );
        }
    }
    let assert = espcheck()
        .args([
            "check",
            header.to_str().unwrap(),
            "--connect",
            &server.connect(),
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        text.contains("your chosen pin (PINS_TEST_CA_PEM) holds"),
        "{text}"
    );
    // With the sketch that uses the fingerprint: exactly that symbol is judged, and fails.
    let assert = check(&[&header, &uses_fp], port).code(1);
    let reports = json_lines(&assert.get_output().stdout);
    assert_eq!(reports.len(), 1, "the sketch has no pins of its own");
    let judged: Vec<(String, String)> = reports[0]["pins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["informational"].as_bool().unwrap_or(false))
        .map(|p| {
            (
                p["symbol"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        judged,
        [(
            "PINS_TEST_FINGERPRINT_SHA1".to_owned(),
            "mismatch".to_owned()
        )]
    );
    // With the sketch that uses the CA: green.
    check(&[&header, &uses_ca], port).success();
    // The project directory: both sketches, so both symbols are judged, and the fingerprint fails.
    let assert = check(&[w], port).code(1);
    let reports = json_lines(&assert.get_output().stdout);
    assert_eq!(reports.len(), 2, "the header and the Rust module");
    assert_eq!(reports[0]["ok"], false, "{}", reports[0]);
    assert_eq!(reports[1]["ok"], true, "{}", reports[1]);
}

#[test]
fn hand_written_fingerprints_are_read_back() {
    if !have("openssl", "check against openssl s_server") {
        return;
    }
    let pki = Pki::new("pins.test");
    let server = SServer::start(&pki, free_port());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // Learn the leaf's fingerprints the way a user would: from `fingerprint --json`.
    let out = espcheck()
        .args(["fingerprint", "--json", "--from"])
        .arg(pki.path("leaf.pem"))
        .output()
        .unwrap();
    let fp = &json_lines(&out.stdout)[0]["chain"][0];
    let sha1 = fp["sha1"].as_str().unwrap();
    let sha256 = fp["sha256"].as_str().unwrap();
    let sketch = format!(
        "const char* host = \"pins.test\";\nconst int httpsPort = 443;\n\
         // old: const char fingerprint[] = \"00 11 22 33 44 55 66 77 88 99 00 11 22 33 44 55 66 77 88 99\";\n\
         const char fingerprint[] PROGMEM = \"{}\";\n\
         void loop() {{ client.setFingerprint(\"{}\"); client.verify(\"{sha256}\", host); }}\n",
        sha1.replace(':', " "),
        sha1.to_lowercase()
    );
    std::fs::write(w.join("HTTPSRequest.ino"), sketch).unwrap();
    let assert = check(&[&w.join("HTTPSRequest.ino")], server.port).success();
    let reports = json_lines(&assert.get_output().stdout);
    assert_eq!(
        statuses(&reports[0]),
        [
            ("fingerprint".into(), "match".into()),
            ("verify()".into(), "match".into()),
        ]
    );
    // Trust is reported beside the pins: unknown root without --ca-file, trusted with it.
    assert_eq!(reports[0]["trusted"], false, "{}", reports[0]);
    let assert = espcheck()
        .arg("check")
        .arg(w.join("HTTPSRequest.ino"))
        .args([
            "--json",
            "--no-system-roots",
            "--connect",
            &server.connect(),
            "--ca-file",
        ])
        .arg(pki.path("root.pem"))
        .assert()
        .success();
    assert_eq!(json_lines(&assert.get_output().stdout)[0]["trusted"], true);
}

#[test]
fn idf_bundles_are_checked_in_both_layouts() {
    if !have("openssl", "check against openssl s_server") {
        return;
    }
    let pki = Pki::new("pins.test");
    let server = SServer::start(&pki, free_port());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for (n, version) in ["5.3", "5.4"].into_iter().enumerate() {
        let bin = w.join(format!("bundle{n}.bin"));
        // The root plus real public roots, so the lookup has to find the right entry.
        let mut roots = std::fs::read_to_string("fixtures/bundles/roots.pem").unwrap();
        roots.push_str(&std::fs::read_to_string(pki.path("root.pem")).unwrap());
        std::fs::write(w.join("roots.pem"), roots).unwrap();
        espcheck()
            .args([
                "gen-cert-header",
                "--format",
                "idf-bundle",
                "--idf-version",
                version,
            ])
            .arg("--from")
            .arg(w.join("roots.pem"))
            .arg("-o")
            .arg(&bin)
            .assert()
            .success();
        let assert = espcheck()
            .arg("check")
            .arg(&bin)
            .args([
                "--host",
                "pins.test",
                "--json",
                "--connect",
                &server.connect(),
            ])
            .assert()
            .success();
        let r = &json_lines(&assert.get_output().stdout)[0];
        assert_eq!(r["pins"][0]["kind"], "bundle");
        assert_eq!(r["pins"][0]["anchors"], true, "{r}");
    }
    // A bundle of unrelated roots does not anchor the chain.
    let other = w.join("other.bin");
    espcheck()
        .args(["gen-cert-header", "--format", "idf-bundle", "--from"])
        .arg("fixtures/bundles/roots.pem")
        .arg("-o")
        .arg(&other)
        .assert()
        .success();
    let assert = espcheck()
        .arg("check")
        .arg(&other)
        .args([
            "--host",
            "pins.test",
            "--json",
            "--connect",
            &server.connect(),
        ])
        .assert()
        .code(1);
    let r = &json_lines(&assert.get_output().stdout)[0];
    let detail = r["pins"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("lacks CN=Codegen Test Root"), "{detail}");
}

#[test]
fn a_pin_expiring_inside_warn_days_fails() {
    if !have("openssl", "check against openssl s_server") {
        return;
    }
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let pki = Pki::with_leaf_expiry("pins.test", soon);
    let server = SServer::start(&pki, free_port());
    let work = tempfile::tempdir().unwrap();
    let h = work.path().join("pins.h");
    generate(&["pins.test", "--pin", "leaf"], &server, &h);
    let assert = check(&[&h], server.port).code(1);
    let r = &json_lines(&assert.get_output().stdout)[0];
    assert_eq!(
        statuses(r),
        [
            ("PINS_TEST_FINGERPRINT_SHA1".into(), "expiring".into()),
            ("PINS_TEST_FINGERPRINT_SHA256".into(), "expiring".into()),
            ("PINS_TEST_PUBKEY_PEM".into(), "expiring".into()),
            ("PINS_TEST_CA_PEM".into(), "expiring".into()),
        ]
    );
    // Pinned to the intermediate, the leaf's expiry is the server's business: the chosen pin
    // holds for years, the expiring leaf fingerprints are informational.
    let inter = work.path().join("inter.h");
    generate(&["pins.test", "--pin", "intermediate"], &server, &inter);
    check(&[&inter], server.port).success();
    espcheck()
        .arg("check")
        .arg(&h)
        .args(["--warn-days", "5", "--connect", &server.connect()])
        .assert()
        .success();
}

#[test]
fn unreadable_files_exit_2_network_4_timeout_3() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let missing = espcheck()
        .arg("check")
        .arg(w.join("nope.h"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&missing.get_output().stderr).into_owned();
    assert!(stderr.contains("nope.h: no such file"), "{stderr}");

    std::fs::write(
        w.join("empty.ino"),
        "void setup() { Serial.begin(115200); }\n",
    )
    .unwrap();
    let none = espcheck()
        .arg("check")
        .arg(w.join("empty.ino"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&none.get_output().stderr).into_owned();
    assert!(stderr.contains("empty.ino: no pins found"), "{stderr}");

    // Pins with no host anywhere: reported offline with their expiry, and how to fetch.
    let pki = Pki::new("pins.test");
    let nohost = espcheck()
        .arg("check")
        .arg(pki.path("root.pem"))
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&nohost.get_output().stdout).into_owned();
    assert!(stdout.contains("--host HOST` would fetch"), "{stdout}");
    assert!(stdout.contains("expires 2044-01-01"), "{stdout}");

    // Nothing listens: a network error.
    let closed = free_port();
    espcheck()
        .arg("check")
        .arg(pki.path("root.pem"))
        .args([
            "--host",
            "pins.test",
            "--connect",
            &format!("127.0.0.1:{closed}"),
        ])
        .assert()
        .code(4);

    // Accepts but never speaks TLS: a timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let conn = silent.accept();
        std::thread::sleep(Duration::from_secs(2));
        drop(conn);
    });
    espcheck()
        .arg("check")
        .arg(pki.path("root.pem"))
        .args(["--host", "pins.test", "--timeout", "300ms"])
        .args(["--connect", &format!("127.0.0.1:{port}")])
        .assert()
        .code(3);
    hold.join().unwrap();
}
