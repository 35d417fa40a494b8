//! `sim sketch`: the example sketches in fixtures/sketches compiled with g++ against the host
//! core, linked with Debian's BearSSL / mbedTLS, and run against `sim serve` and `openssl
//! s_server`; their Serial output is graded by `espcheck grade -`.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::sim::Server;
use super::support::{espcheck, espcheck_std};

const PLACEHOLDER_PIN: &str = "00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 11 22 33";

/// Whether this machine can build sketches for `board`; a test that cannot says so and passes
/// (CI installs g++, libbearssl-dev and libmbedtls-dev, so there it always runs).
fn can_build(board: &str) -> bool {
    let header = match board {
        "esp8266" => "/usr/include/bearssl.h",
        _ => "/usr/include/mbedtls/ssl.h",
    };
    let gxx = std::process::Command::new("g++")
        .arg("--version")
        .output()
        .is_ok();
    if !gxx || !Path::new(header).exists() {
        eprintln!("skipping: g++ or {header} is missing");
        return false;
    }
    true
}

/// A copy of fixtures/sketches/NAME in a directory of its own, with `edits` applied to the .ino.
fn sketch(name: &str, edits: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sketches")
        .join(name)
        .join(format!("{name}.ino"));
    let mut text = std::fs::read_to_string(&src).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: no {from:?} to replace");
        text = text.replace(from, to);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.ino")), text).unwrap();
    (tmp, dir)
}

/// The placeholder certificate block of a sketch, replaced by the PEM at `pem`.
fn with_ca(pem: &Path) -> (String, String) {
    let placeholder =
        "-----BEGIN CERTIFICATE-----\nPLACEHOLDER\n-----END CERTIFICATE-----\n".to_owned();
    (placeholder, std::fs::read_to_string(pem).unwrap())
}

/// `sim sketch DIR ARGS`, for 3 seconds unless ARGS say otherwise.
fn run(dir: &Path, args: &[&str]) -> Output {
    let timeout: &[&str] = if args.contains(&"--timeout") {
        &[]
    } else {
        &["--timeout", "3s"]
    };
    espcheck()
        .args(["sim", "sketch"])
        .arg(dir)
        .args(timeout)
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// [`run`], asserting the exit code: the sketch's Serial output and the diagnostics.
fn run_expect(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = run(dir, args);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "{serial}\n{err}");
    (serial, err)
}

/// `espcheck grade -` over a run's stdout: its exit code and report.
fn grade(serial: &[u8]) -> (Option<i32>, String) {
    let out = espcheck()
        .args(["grade", "-"])
        .write_stdin(serial.to_vec())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn esp8266_fingerprint_sketch_passes_with_the_leaf_pin_and_fails_with_a_stale_one() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let pin = server.leaf_pin();
    let (_tmp, dir) = sketch("esp8266-fingerprint", &[(PLACEHOLDER_PIN, &pin)]);
    let out = run(&dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(
        serial.contains(&format!("Using fingerprint '{pin}'\nrequesting URL: ")),
        "{serial}"
    );
    assert!(
        serial.contains("\r\nesp8266/Arduino CI successfull!\r\n"),
        "{serial}"
    );
    assert!(
        err.contains("BearSSL handshake with api.github.com done"),
        "{err}"
    );
    let (code, report) = grade(&out.stdout);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.starts_with("PASS"), "{report}");

    // The same sketch with the pin of another certificate (the intermediate's): the board's
    // connect() fails, and so does this one, at the same line.
    let stale = super::sim::sha1_colon(&server.file("intermediate.pem"));
    let (_tmp2, stale_dir) = sketch("esp8266-fingerprint", &[(PLACEHOLDER_PIN, &stale)]);
    let out = run(&stale_dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{serial}\n{err}");
    assert!(
        serial.ends_with(&format!(
            "Using fingerprint '{stale}'\nconnection failed\r\n"
        )),
        "{serial}"
    );
    assert!(!serial.contains("requesting URL"), "{serial}");
    assert!(
        err.contains("Chain could not be linked to a trust anchor"),
        "{err}"
    );
    let (code, report) = grade(&out.stdout);
    assert_ne!(code, Some(0), "{report}");

    // Nothing listening: connect() fails before any TLS, as on the board; still exit 5.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (serial, err) = run_expect(&dir, &["--connect", &addr], 5);
    assert!(serial.ends_with("connection failed\r\n"), "{serial}");
    assert!(err.contains("Connection refused"), "{err}");
}

#[test]
fn esp8266_trust_anchors_sketch_needs_the_clock_as_the_board_does() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let ca = with_ca(&server.file("intermediate.pem"));
    let (_tmp, dir) = sketch("esp8266-trust-anchors", &[(&ca.0, &ca.1)]);
    let out = run(&dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(serial.contains("Current time: "), "{serial}");
    assert!(
        serial.contains("\r\nesp8266/Arduino CI successful!\r\n"),
        "{serial}"
    );
    let (code, report) = grade(&out.stdout);
    assert_eq!(code, Some(0), "{report}");

    // Without configTime the board's clock reads 1970: the chain is "not yet valid".
    let (_tmp2, dir) = sketch(
        "esp8266-trust-anchors",
        &[(&ca.0, &ca.1), ("  setClock();\n", "")],
    );
    let (serial, err) = run_expect(&dir, &["--connect", &server.connect()], 5);
    assert!(serial.ends_with("Connection failed\r\n"), "{serial}");
    assert!(
        err.contains("Certificate is expired or not yet valid"),
        "{err}"
    );
}

#[test]
fn a_call_the_host_core_lacks_is_named_with_the_table() {
    if !can_build("esp8266") {
        return;
    }
    let (_tmp, dir) = sketch(
        "esp8266-fingerprint",
        &[(
            "  client.setFingerprint(fingerprint);\n",
            "  client.setFingerprint(fingerprint);\n  client.setClientRSACert(nullptr, nullptr);\n",
        )],
    );
    let out = run(&dir, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("esp8266-fingerprint.ino:")
            && last.contains("`BearSSL::WiFiClientSecure::setClientRSACert`")
            && last.contains("docs/SIM_SKETCH.md"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn without_a_compiler_one_line_says_what_to_install() {
    let (_tmp, dir) = sketch("esp8266-fingerprint", &[]);
    let empty = tempfile::tempdir().unwrap();
    let out = espcheck_std()
        .args(["sim", "sketch"])
        .arg(&dir)
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("g++") && err.contains("install"), "{err}");
}

/// `esp32-wificlientsecure` keeps its CA as one C string per PEM line.
fn c_string_lines(pem: &str) -> String {
    pem.lines()
        .map(|l| format!("\"{l}\\n\""))
        .collect::<Vec<_>>()
        .join("\n                           ")
}

const C_PLACEHOLDER: &str = "\"-----BEGIN CERTIFICATE-----\\n\"\n                           \"PLACEHOLDER\\n\"\n                           \"-----END CERTIFICATE-----\\n\"";

#[test]
fn esp32_raw_post_with_the_second_certificate_and_a_wrong_ca() {
    if !can_build("esp32") {
        return;
    }
    let server = Server::start(&[]);
    let ca = with_ca(&server.file("intermediate.pem"));
    let (_tmp, dir) = sketch("esp32-raw-post", &[(&ca.0, &ca.1)]);
    let out = run(&dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(
        serial.contains("Connected!\n-------\nReading response ...\r\n"),
        "{serial}"
    );
    assert!(serial.contains("HTTP/1.0 200 OK\r\n"), "{serial}");
    // The mock echoes the request as it arrived: the hand-written Content-Length is right.
    assert!(
        serial.contains(r#"["Content-Length","55"]"#)
            && serial.contains(r#""json":{"client_id":"esp32","grant_type":"client_credentials"}"#),
        "{serial}"
    );
    assert!(
        serial.ends_with("Finished reading\r\n\nDone!\n-------\n\n"),
        "{serial}"
    );
    let graded = espcheck()
        .args(["grade", "-", "--pass", "^HTTP/1.0 200 OK"])
        .write_stdin(out.stdout.clone())
        .output()
        .unwrap();
    assert_eq!(graded.status.code(), Some(0), "{}", text(&graded.stdout));

    // A CA that did not issue this chain: mbedTLS refuses, the sketch retries and gives up.
    let other = super::support::TestChain::new(super::support::Alg::P256, &["api.github.com"]);
    let (_tmp2, dir) = sketch("esp32-raw-post", &[(&ca.0, &other.intermediate_pem)]);
    let (serial, err) = run_expect(&dir, &["--connect", &server.connect()], 5);
    assert!(serial.contains("*** Can't connect. ***"), "{serial}");
    assert!(!serial.contains("Connected!"), "{serial}");
    assert!(
        err.contains("mbedTLS certificate verification failed"),
        "{err}"
    );
}

#[test]
fn esp32_https_examples_through_httpclient_and_by_hand() {
    if !can_build("esp32") {
        return;
    }
    let server = Server::start(&["--state", "failure"]);
    let ca = with_ca(&server.file("root.pem"));
    let (_tmp, dir) = sketch("esp32-basic-https-client", &[(&ca.0, &ca.1)]);
    let (serial, _) = run_expect(&dir, &["--connect", &server.connect()], 0);
    assert!(serial.contains("[HTTPS] GET... code: 200\n"), "{serial}");
    assert!(serial.contains(r#"{"state":"failure""#), "{serial}");

    let root = std::fs::read_to_string(server.file("root.pem")).unwrap();
    let (_tmp2, dir) = sketch(
        "esp32-wificlientsecure",
        &[(C_PLACEHOLDER, &c_string_lines(&root))],
    );
    let (serial, _) = run_expect(
        &dir,
        &["--connect", &format!("api.github.com={}", server.connect())],
        0,
    );
    assert!(
        serial.contains("Connected to server!\r\nheaders received\r\n{\"state\":\"failure\""),
        "{serial}"
    );
}

#[test]
fn esp8266_basic_https_client_with_a_byte_array_fingerprint() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let pin = server.leaf_pin();
    let array = |pin: &str| {
        let bytes: Vec<String> = pin
            .split(':')
            .map(|b| format!("0x{}", b.to_lowercase()))
            .collect();
        format!("{{{}}}", bytes.join(", "))
    };
    let placeholder = "{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,\n                                 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33}";
    let (_tmp, dir) = sketch("esp8266-basic-https-client", &[(placeholder, &array(&pin))]);
    let (serial, _) = run_expect(&dir, &["--connect", &server.connect()], 0);
    assert!(
        serial.contains("[HTTPS] GET... code: 200\n{\"state\":\"success\""),
        "{serial}"
    );
    // Core 2.x's deprecated begin(url, fingerprint): the same request, the pin as text.
    let (_tmp3, dir) = sketch(
        "esp8266-basic-https-client",
        &[(
            "https.begin(*client, \"https://api.github.com/repos/esp8266/Arduino/commits/master/status\")",
            &format!(
                "https.begin(\"https://api.github.com/repos/esp8266/Arduino/commits/master/status\", \"{pin}\")"
            ),
        )],
    );
    let (serial, _) = run_expect(
        &dir,
        &["--connect", &server.connect(), "--core", "2.7.4"],
        0,
    );
    assert!(serial.contains("[HTTPS] GET... code: 200\n"), "{serial}");
    // A wrong pin: HTTPClient reports the refused connection in the core's words.
    let stale = super::sim::sha1_colon(&server.file("root.pem"));
    let (_tmp2, dir) = sketch(
        "esp8266-basic-https-client",
        &[(placeholder, &array(&stale))],
    );
    let (serial, _) = run_expect(&dir, &["--connect", &server.connect()], 5);
    assert!(
        serial.contains("[HTTPS] GET... failed, error: connection failed\n"),
        "{serial}"
    );
}

/// `openssl s_server -WWW` serving the combined status as a file, from a directory of its own.
struct FileServer {
    child: std::process::Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl FileServer {
    fn start(chain: &super::support::TestChain, extra: &[&str]) -> FileServer {
        let root = tempfile::tempdir().unwrap();
        let status = root.path().join("repos/esp8266/Arduino/commits/master");
        std::fs::create_dir_all(&status).unwrap();
        std::fs::write(
            status.join("status"),
            "{\"state\":\"success\",\"statuses\":[]}\n",
        )
        .unwrap();
        for _ in 0..5 {
            let port = super::support::free_port();
            let mut child = std::process::Command::new("openssl")
                .arg("s_server")
                .arg("-accept")
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(chain.path("leaf.pem"))
                .arg("-key")
                .arg(chain.path("leaf.key"))
                .arg("-cert_chain")
                .arg(chain.path("intermediate.pem"))
                .args(["-WWW", "-quiet"])
                .args(extra)
                .current_dir(root.path())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            if super::support::wait_port(port, std::time::Duration::from_secs(5)) {
                return FileServer {
                    child,
                    port,
                    _root: root,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn small_buffers_need_a_server_with_max_fragment_length_as_on_the_board() {
    if !can_build("esp8266") {
        return;
    }
    let small = (
        "  client.setFingerprint(fingerprint);\n",
        "  client.setFingerprint(fingerprint);\n  bool mfln = client.probeMaxFragmentLength(host, httpsPort, 512);\n  Serial.printf(\"MFLN %s\\n\", mfln ? \"yes\" : \"no\");\n  client.setBufferSizes(512, 512);\n",
    );
    // openssl s_server honours the extension: the 512-byte board gets its records.
    let chain = super::support::TestChain::new(super::support::Alg::P256, &["api.github.com"]);
    let openssl = FileServer::start(&chain, &[]);
    let pin = super::sim::sha1_colon(&chain.path("leaf.pem"));
    let (_tmp, dir) = sketch("esp8266-fingerprint", &[(PLACEHOLDER_PIN, &pin), small]);
    let connect = format!("127.0.0.1:{}", openssl.port);
    let out = run(&dir, &["--connect", &connect]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(serial.contains("MFLN yes\n"), "{serial}");
    assert!(
        serial.contains("esp8266/Arduino CI successfull!\r\n"),
        "{serial}"
    );
    assert!(err.contains("MFLN negotiated"), "{err}");
    let (code, report) = grade(&out.stdout);
    assert_eq!(code, Some(0), "{report}");

    // The mock (rustls) ignores it: the handshake fits, but the response comes in a record larger
    // than the 512-byte buffer, and the session dies where the board's does, after the request.
    let server = Server::start(&[]);
    let (_tmp2, dir) = sketch(
        "esp8266-fingerprint",
        &[(PLACEHOLDER_PIN, &server.leaf_pin()), small],
    );
    let out = run(&dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{serial}\n{err}");
    assert!(serial.contains("MFLN no\n"), "{serial}");
    assert!(
        serial.contains("request sent\r\nesp8266/Arduino CI has failed\r\n"),
        "{serial}"
    );
    assert!(err.contains("Incoming record is too large"), "{err}");
    let (code, report) = grade(&out.stdout);
    assert_ne!(code, Some(0), "{report}");
}

#[test]
fn esp32_cert_bundle_from_ca_file_in_both_idf_layouts() {
    if !can_build("esp32") {
        return;
    }
    let server = Server::start(&[]);
    let (_tmp, dir3) = sketch("esp32-cert-bundle", &[]);
    // Core 2.0 has the one-argument setCACertBundle and no NetworkClientSecure.
    let (_tmp2, dir2) = sketch(
        "esp32-cert-bundle",
        &[
            (
                "#include <NetworkClientSecure.h>",
                "#include <WiFiClientSecure.h>",
            ),
            ("NetworkClientSecure client;", "WiFiClientSecure client;"),
            (
                "client.setCACertBundle(rootca_crt_bundle_start, rootca_crt_bundle_end - rootca_crt_bundle_start);",
                "client.setCACertBundle(rootca_crt_bundle_start);",
            ),
        ],
    );
    let root = server.file("root.pem");
    for (core, dir) in [("3.1.1", &dir3), ("2.0.17", &dir2)] {
        let out = espcheck()
            .args(["sim", "sketch"])
            .arg(dir)
            .args([
                "--timeout",
                "3s",
                "--connect",
                &server.connect(),
                "--core",
                core,
                "--ca-file",
            ])
            .arg(&root)
            .output()
            .unwrap();
        let (serial, err) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{core}: {serial}\n{err}");
        assert!(
            serial.contains("Connected to server!\r\n{\"state\":\"success\""),
            "{core}: {serial}"
        );
    }
    // The two-argument form came with core 3.1: on 2.0 the call does not compile.
    let out = espcheck()
        .args(["sim", "sketch"])
        .arg(&dir3)
        .args(["--core", "2.0.17", "--ca-file"])
        .arg(&root)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or("")
            .contains("`WiFiClientSecure::setCACertBundle("),
        "{err}"
    );

    // A bundle without the mock's root: the board cannot link the chain.
    let other = super::support::TestChain::new(super::support::Alg::P256, &["x"]);
    let out = espcheck()
        .args(["sim", "sketch"])
        .arg(&dir3)
        .args([
            "--timeout",
            "3s",
            "--connect",
            &server.connect(),
            "--ca-file",
        ])
        .arg(other.path("root.pem"))
        .output()
        .unwrap();
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{serial}\n{err}");
    assert!(serial.ends_with("Connection failed!\r\n"), "{serial}");
}

/// A sketch in two tabs, a `.cpp` beside them and a library from `--lib`, built as the Arduino
/// builder builds it: tabs concatenated, prototypes added for functions used before their
/// definition.
fn multi_file_sketch(root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("Station");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Station.ino"),
        "#include <ESP8266WiFi.h>\n#include <Greeter.h>\n#include \"helpers.h\"\n\nvoid setup() {\n  Serial.begin(115200);\n  Serial.println(greeting(\"station\"));\n  joinWifi();\n  Serial.printf(\"twice 21 = %d\\n\", twice(21));\n}\n\nvoid loop() { delay(1000); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("wifi.ino"),
        "void joinWifi() {\n  WiFi.begin(\"sensor-net\", \"pw\");\n  while (WiFi.status() != WL_CONNECTED) {\n    delay(500);\n    Serial.print(\".\");\n  }\n  Serial.println();\n  Serial.print(\"joined, IP \");\n  Serial.println(WiFi.localIP());\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("helpers.h"), "int twice(int v);\n").unwrap();
    std::fs::write(
        dir.join("helpers.cpp"),
        "#include \"helpers.h\"\nint twice(int v) { return 2 * v; }\n",
    )
    .unwrap();
    let lib = root.join("libraries/Greeter");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::create_dir_all(lib.join("examples/Hello")).unwrap();
    std::fs::write(
        lib.join("src/Greeter.h"),
        "#pragma once\n#include <Arduino.h>\nString greeting(const char *who);\n",
    )
    .unwrap();
    std::fs::write(lib.join("src/Greeter.cpp"), "#include \"Greeter.h\"\nString greeting(const char *who) { return String(\"hello, \") + who; }\n").unwrap();
    // Examples are not compiled into the sketch.
    std::fs::write(
        lib.join("examples/Hello/Hello.ino"),
        "void setup() {} void loop() {}\n",
    )
    .unwrap();
    (dir, lib)
}

#[test]
fn tabs_a_cpp_file_and_a_library_build_with_the_sketch_and_wifi_follows_the_flag() {
    if !can_build("esp8266") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (dir, lib) = multi_file_sketch(tmp.path());
    let lib = lib.to_str().unwrap();
    let (serial, _) = run_expect(&dir, &["--lib", lib, "--timeout", "2s"], 0);
    assert_eq!(
        serial,
        "hello, station\r\n\r\njoined, IP 192.168.1.104\r\ntwice 21 = 42\n"
    );
    // Without the library the include names what to do.
    let out = run(&dir, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines().last().unwrap_or("").contains("<Greeter.h>") && err.contains("--lib DIR"),
        "{err}"
    );

    // --wifi fail: the join never happens; the sketch waits as the board does, until the timeout.
    let (serial, _) = run_expect(
        &dir,
        &["--lib", lib, "--wifi", "fail", "--timeout", "2s"],
        0,
    );
    assert!(
        serial.starts_with("hello, station\r\n...") && !serial.contains("joined"),
        "{serial}"
    );
    // --wifi slow: joined after five seconds of dots.
    let out = run(&dir, &["--lib", lib, "--wifi", "slow", "--timeout", "7s"]);
    let serial = text(&out.stdout);
    assert!(
        serial.contains(".........\r\njoined, IP 192.168.1.104\r\n"),
        "{serial}"
    );
}

#[test]
fn core_versions_offer_their_own_api() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let pin = server.leaf_pin();
    // Core 2.4: axTLS connect() accepts the server, verify() checks the pin afterwards.
    let verify = (
        "  Serial.printf(\"Using fingerprint '%s'\\n\", fingerprint);\n  client.setFingerprint(fingerprint);\n\n  if (!client.connect(host, httpsPort)) {\n    Serial.println(\"connection failed\");\n    return;\n  }\n",
        "  if (!client.connect(host, httpsPort)) {\n    Serial.println(\"connection failed\");\n    return;\n  }\n  if (client.verify(fingerprint, host)) {\n    Serial.println(\"certificate matches\");\n  } else {\n    Serial.println(\"certificate doesn't match\");\n  }\n",
    );
    let (_t1, dir) = sketch("esp8266-fingerprint", &[(PLACEHOLDER_PIN, &pin), verify]);
    let out = run(&dir, &["--connect", &server.connect(), "--core", "2.4.2"]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(
        serial.contains("connecting to api.github.com\r\ncertificate matches\r\nrequesting URL"),
        "{serial}"
    );
    let (code, report) = grade(&out.stdout);
    assert_eq!(code, Some(0), "{report}");
    // A stale pin: connected, but verify() says no, and the sketch goes on as written.
    let stale = super::sim::sha1_colon(&server.file("root.pem"));
    let (_t2, dir2) = sketch("esp8266-fingerprint", &[(PLACEHOLDER_PIN, &stale), verify]);
    // (Without --core: a sketch that calls verify() was built with a core that has it.)
    let (serial, err) = run_expect(&dir2, &["--connect", &server.connect()], 5);
    assert!(serial.contains("certificate doesn't match\r\n"), "{serial}");
    assert!(err.contains("core 2.4.2 (--core chooses another)"), "{err}");
    // From 2.5 BearSSL's client has no verify(): the call is named.
    let out = run(&dir, &["--core", "3.1.2"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or("")
            .contains("`BearSSL::WiFiClientSecure::verify`"),
        "{err}"
    );
    // A core that never existed is a usage error.
    let out = run(&dir, &["--core", "2.9"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn set_known_key_pins_the_server_key() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let key = std::process::Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(server.file("leaf.pem"))
        .output()
        .unwrap();
    let key = text(&key.stdout);
    let edit = (
        "  client.setFingerprint(fingerprint);\n",
        &*format!(
            "  static const char pubkey[] PROGMEM = R\"KEY({key})KEY\";\n  static BearSSL::PublicKey pk(pubkey);\n  client.setKnownKey(&pk);\n"
        ),
    );
    let (_t, dir) = sketch("esp8266-fingerprint", &[edit]);
    let (serial, _) = run_expect(&dir, &["--connect", &server.connect()], 0);
    assert!(
        serial.contains("esp8266/Arduino CI successfull!"),
        "{serial}"
    );
    // Another key: the handshake's signature check fails.
    let other = super::support::TestChain::new(super::support::Alg::P256, &["x"]);
    let key2 = std::process::Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(other.path("leaf.pem"))
        .output()
        .unwrap();
    let edit2 = (edit.0, &*edit.1.replace(&key, &text(&key2.stdout)));
    let (_t2, dir) = sketch("esp8266-fingerprint", &[edit2]);
    let (serial, _) = run_expect(&dir, &["--connect", &server.connect()], 5);
    assert!(serial.ends_with("connection failed\r\n"), "{serial}");
}

#[test]
fn a_missing_tls_library_is_one_line_naming_the_package() {
    // A compiler that lacks BearSSL's headers, as on a machine without libbearssl-dev.
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("g++");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'g++ (fake) 1.0'; exit 0; fi\nfor a; do case $a in *bearssl.cpp) echo \"$a:9:10: fatal error: bearssl.h: No such file or directory\" >&2; exit 1;; esac; done\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_t, dir) = sketch("esp8266-fingerprint", &[]);
    let out = espcheck()
        .args(["sim", "sketch"])
        .arg(&dir)
        .env("CXX", &fake)
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains("libbearssl-dev"), "{err}");
}

#[test]
fn bad_input_is_one_line_and_a_crash_is_a_device_fault() {
    let (_t, dir) = sketch("esp8266-fingerprint", &[]);
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nope");
    let lib = empty.path().join("nolib");
    let ca = empty.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (vec![missing.as_os_str()], "no such file or directory"),
        (vec![empty.path().as_os_str()], "no .ino file"),
        (
            vec![
                dir.as_os_str(),
                "--connect".as_ref(),
                "localhost:1".as_ref(),
            ],
            "is not ADDR:PORT",
        ),
        (
            vec![dir.as_os_str(), "--ca-file".as_ref(), ca.as_os_str()],
            "the ESP8266 has none",
        ),
        (
            vec![dir.as_os_str(), "--lib".as_ref(), lib.as_os_str()],
            "--lib needs a library directory",
        ),
        (
            vec![dir.as_os_str(), "--core".as_ref(), "2.9".as_ref()],
            "no such release",
        ),
        (
            vec![dir.as_os_str(), "--wifi".as_ref(), "maybe".as_ref()],
            "invalid value",
        ),
    ];
    for (args, want) in cases {
        let out = espcheck()
            .args(["sim", "sketch"])
            .args(&args)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        if want != "invalid value" {
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
        assert!(out.stdout.is_empty());
    }
    if !can_build("esp8266") {
        return;
    }
    // A sketch that dereferences a null pointer crashes, as the board would (an exception and a
    // reset): exit 5, and what it printed before is all there.
    let (_t2, crash) = sketch(
        "esp8266-fingerprint",
        &[(
            "  WiFiClientSecure client;\n",
            "  Serial.println(\"about to crash\");\n  volatile int *p = nullptr;\n  *p = 1;\n  WiFiClientSecure client;\n",
        )],
    );
    let (serial, err) = run_expect(&crash, &[], 5);
    assert!(
        serial.ends_with("192.168.1.104\r\nabout to crash\r\n"),
        "{serial}"
    );
    assert!(err.contains("crashed (SIGSEGV)"), "{err}");
}

#[test]
fn examples_against_openssl_s_server() {
    if !can_build("esp8266") || !can_build("esp32") {
        return;
    }
    let chain = super::support::TestChain::new(super::support::Alg::Rsa2048, &["api.github.com"]);
    let openssl = FileServer::start(&chain, &[]);
    let connect = format!("127.0.0.1:{}", openssl.port);
    // ESP8266, BearSSL with the root as trust anchor and the clock set.
    let ca = with_ca(&chain.path("root.pem"));
    let (_t1, dir) = sketch("esp8266-trust-anchors", &[(&ca.0, &ca.1)]);
    let out = run(&dir, &["--connect", &connect]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert!(
        serial.contains("esp8266/Arduino CI successful!\r\n"),
        "{serial}"
    );
    let (code, report) = grade(&out.stdout);
    assert_eq!(code, Some(0), "{report}");
    // ESP32, mbedTLS with the intermediate (the second certificate the server sends).
    let pem = std::fs::read_to_string(chain.path("intermediate.pem")).unwrap();
    let (_t2, dir) = sketch(
        "esp32-wificlientsecure",
        &[(C_PLACEHOLDER, &c_string_lines(&pem))],
    );
    let (serial, _) = run_expect(&dir, &["--connect", &connect], 0);
    assert!(
        serial.contains("Connected to server!\r\nheaders received\r\n{\"state\":\"success\""),
        "{serial}"
    );
    // A leaf for another name: mbedTLS checks the host name, as the ESP32 core does.
    let other = super::support::TestChain::new(super::support::Alg::P256, &["other.example"]);
    let wrong_name = FileServer::start(&other, &[]);
    let pem = std::fs::read_to_string(other.path("intermediate.pem")).unwrap();
    let (_t3, dir) = sketch(
        "esp32-wificlientsecure",
        &[(C_PLACEHOLDER, &c_string_lines(&pem))],
    );
    let (serial, err) = run_expect(
        &dir,
        &["--connect", &format!("127.0.0.1:{}", wrong_name.port)],
        5,
    );
    assert!(serial.ends_with("Connection failed!\r\n"), "{serial}");
    assert!(err.contains("Common Name (CN) does not match"), "{err}");
}

#[test]
fn core_calls_published_esp8266_sketches_use_build_and_set_ciphers_reaches_the_handshake() {
    if !can_build("esp8266") {
        return;
    }
    let server = Server::start(&[]);
    let (_t, dir) = sketch("esp8266-board-apis", &[]);
    let (serial, err) = run_expect(&dir, &["--connect", &server.connect()], 0);
    // The NodeMCU names are the board's GPIO numbers; the LED pin reads back what was written.
    assert!(
        serial.starts_with("LED on GPIO2, D4 is GPIO2, D3 is GPIO0, A0 is 17, LED reads 0\n"),
        "{serial}"
    );
    // polledTimeout counts the sketch's own clock.
    assert!(
        serial.contains("one-shot expired at once: 0\none-shot expired after 350 ms: 1\n"),
        "{serial}"
    );
    // setCiphers is what BearSSL offers: a server without those suites refuses the handshake.
    assert!(
        serial.contains("CBC suites only: refused\nGCM suites: connected\n"),
        "{serial}"
    );
    assert!(
        err.contains("We received a fatal alert from the server"),
        "{err}"
    );
    // No interrupt fires without hardware; the stack figures are the board's shape.
    assert!(
        serial.contains("free stack 3840, BearSSL stack used 0, presses 0\n"),
        "{serial}"
    );
}

/// A plain-HTTP server on loopback for redirect tests: `/start` answers 302 to an absolute
/// `/final`, `/keep` answers 307 to a relative `/final`, and `/final` echoes the method and body.
fn redirecting_server() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let mut parts = first.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let reply = match path {
                "/start" => "HTTP/1.1 302 Found\r\nLocation: http://files.example.com/final\r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved".to_owned(),
                "/keep" => "HTTP/1.1 307 Temporary Redirect\r\nLocation: /final\r\nContent-Length: 4\r\nConnection: close\r\n\r\nkept".to_owned(),
                _ => {
                    let text = format!("{method} final {}", String::from_utf8_lossy(&body));
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}", text.len())
                }
            };
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    addr
}

#[test]
fn http_client_follows_redirects_as_the_core_documents() {
    if !can_build("esp8266") {
        return;
    }
    let addr = redirecting_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Redirects");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("Redirects.ino"),
        r#"#include <ESP8266WiFi.h>
#include <ESP8266HTTPClient.h>

void fetch(const char *label, const char *path, followRedirects_t mode, bool post) {
  WiFiClient client;
  HTTPClient http;
  http.begin(client, String("http://files.example.com") + path);
  http.setFollowRedirects(mode);
  int code = post ? http.POST("v=1") : http.GET();
  Serial.printf("%s: %d %s\n", label, code, http.getString().c_str());
  http.end();
}

void setup() {
  Serial.begin(115200);
  WiFi.begin("net", "pw");
  while (WiFi.status() != WL_CONNECTED) delay(100);
  fetch("off", "/start", HTTPC_DISABLE_FOLLOW_REDIRECTS, false);
  fetch("strict GET", "/start", HTTPC_STRICT_FOLLOW_REDIRECTS, false);
  fetch("strict POST", "/start", HTTPC_STRICT_FOLLOW_REDIRECTS, true);
  fetch("force POST 302", "/start", HTTPC_FORCE_FOLLOW_REDIRECTS, true);
  fetch("force POST 307", "/keep", HTTPC_FORCE_FOLLOW_REDIRECTS, true);
}

void loop() { delay(1000); }
"#,
    )
    .unwrap();
    let (serial, err) = run_expect(&dir, &["--connect", &addr], 0);
    assert_eq!(
        serial,
        "off: 302 moved\nstrict GET: 200 GET final \nstrict POST: 302 moved\n\
         force POST 302: 200 GET final \nforce POST 307: 200 POST final v=1\n",
        "{err}"
    );
}

#[test]
fn allow_self_signed_certs_accepts_a_self_signed_server_and_no_other() {
    if !can_build("esp8266") {
        return;
    }
    // A self-signed server: openssl's own certificate and key, served by openssl s_server.
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("self.pem"), tmp.path().join("self.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes",
            "-subj",
            "/CN=printer.local",
            "-days",
            "2",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let port = super::support::free_port();
    let mut s_server = std::process::Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .args(["-WWW", "-quiet"])
        .current_dir(tmp.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(super::support::wait_port(
        port,
        std::time::Duration::from_secs(5)
    ));
    let dir = tmp.path().join("SelfSigned");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("SelfSigned.ino"),
        "#include <ESP8266WiFi.h>\n\nvoid setup() {\n  Serial.begin(115200);\n  WiFi.begin(\"net\", \"pw\");\n  while (WiFi.status() != WL_CONNECTED) delay(100);\n  BearSSL::WiFiClientSecure client;\n  client.allowSelfSignedCerts();\n  Serial.println(client.connect(\"printer.local\", 443) ? \"connected\" : \"refused\");\n}\n\nvoid loop() { delay(1000); }\n",
    )
    .unwrap();
    let out = run(&dir, &["--connect", &format!("127.0.0.1:{port}")]);
    let _ = s_server.kill();
    let _ = s_server.wait();
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{serial}\n{err}");
    assert_eq!(serial, "connected\r\n", "{err}");
    // A certificate a CA issued is not self-signed: refused, as BearSSL's chain check says.
    let server = Server::start(&[]);
    let (serial, err) = run_expect(&dir, &["--connect", &server.connect()], 5);
    assert_eq!(serial, "refused\r\n", "{err}");
    assert!(
        err.contains("(allowSelfSignedCerts): error 62, Chain could not be linked"),
        "{err}"
    );
}
