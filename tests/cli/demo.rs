//! `espcheck demo`: the README's first command, end to end on this machine.

use std::time::{Duration, Instant};

use crate::support::espcheck;

#[test]
fn demo_ends_in_pass_and_rotate_shows_why_leaf_pins_break() {
    for chip in ["esp8266", "esp32"] {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let out = espcheck()
            .args(["demo", "--rotate", "--chip", chip, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let took = start.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{chip}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(took < Duration::from_secs(45), "{chip}: demo took {took:?}");
        assert!(stdout.contains("PASS  (exit 0"), "{chip}: {stdout}");
        assert!(
            stdout.contains("leaf pin after rotation: FAULT"),
            "{stdout}"
        );
        assert!(stdout.contains("CA pin after rotation:   PASS"), "{stdout}");
        // The sketch step: built with g++ and BearSSL where they are installed (CI installs
        // them), skipped with the reason where they are not.
        assert!(
            stdout.contains("the sketch's own BearSSL handshake accepted the pin")
                || stdout.contains("skipped: "),
            "{stdout}"
        );
        for file in [
            "api_github_com.h",
            "firmware-ca.bin",
            "firmware-leaf.bin",
            "chain/root.pem",
        ] {
            assert!(
                dir.path().join(file).is_file(),
                "{chip}: {file} kept in --dir"
            );
        }
        let header = std::fs::read_to_string(dir.path().join("api_github_com.h")).unwrap();
        assert!(header.contains("API_GITHUB_COM_CA_PEM"));
    }
}

/// On a machine with only Rust, the sketch step is skipped, says why, and the demo still passes.
#[test]
fn demo_without_a_compiler_skips_the_sketch_step_and_passes() {
    let empty = tempfile::tempdir().unwrap();
    let out = espcheck()
        .args(["demo", "--quiet-board"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("skipped: g++: not found") && stdout.contains("install g++"),
        "{stdout}"
    );
    assert!(
        stdout.contains("demo: every board ended as expected"),
        "{stdout}"
    );
}
