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

fn run(dir: &Path, args: &[&str]) -> Output {
    espcheck()
        .args(["sim", "sketch"])
        .arg(dir)
        .args(["--timeout", "3s"])
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
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
    let out = run(&dir, &["--connect", &server.connect()]);
    let (serial, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{serial}\n{err}");
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
            "  client.setFingerprint(fingerprint);\n  client.setCiphers(nullptr, 0);\n",
        )],
    );
    let out = run(&dir, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("esp8266-fingerprint.ino:")
            && last.contains("`BearSSL::WiFiClientSecure::setCiphers`")
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
