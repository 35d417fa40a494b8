//! The real-world corpus (`fixtures/sources/real/`): every file copied from a public repository
//! must yield exactly the pins and hosts recorded in `expect.toml` (certificate SHA-1s and expiry
//! from openssl's parse of the extracted PEM, fingerprints and hosts read off the source by hand).
//! `check --offline` is the peer-free view of what `check` judges; `fingerprint --from` must agree.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::espcheck;

#[derive(Debug, serde::Deserialize)]
struct Expect {
    file: Vec<FileExpect>,
}

#[derive(Debug, serde::Deserialize)]
struct FileExpect {
    path: String,
    error: Option<String>,
    warnings: Option<usize>,
    #[serde(default)]
    set: Vec<SetExpect>,
}

#[derive(Debug, serde::Deserialize)]
struct SetExpect {
    host: Option<String>,
    port: Option<u16>,
    certs: Vec<CertExpect>,
    fingerprints: Vec<String>,
    #[serde(default)]
    pubkeys: usize,
}

#[derive(Debug, serde::Deserialize)]
struct CertExpect {
    sha1: String,
    not_after: String,
}

fn corpus() -> (PathBuf, Expect) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sources/real");
    let text = std::fs::read_to_string(dir.join("expect.toml")).unwrap();
    (dir, toml::from_str(&text).unwrap())
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn days_until(date: &str) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &format).unwrap();
    (d - today()).whole_days()
}

#[test]
fn corpus_is_big_enough_and_every_file_has_an_entry() {
    let (dir, expect) = corpus();
    assert!(expect.file.len() >= 30, "{} files", expect.file.len());
    let mut on_disk: Vec<String> = Vec::new();
    for entry in walk(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel != "README.md" && rel != "expect.toml" {
            on_disk.push(rel);
        }
    }
    for f in &on_disk {
        assert!(
            expect.file.iter().any(|e| &e.path == f),
            "{f} has no entry in expect.toml"
        );
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for e in &expect.file {
        assert!(
            readme.contains(&format!("| `{}` |", e.path)),
            "{} has no provenance row",
            e.path
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `check --offline --json` on every file: the exact certificates, fingerprints and hosts.
#[test]
fn check_offline_yields_the_recorded_pins_and_hosts() {
    let (dir, expect) = corpus();
    for e in &expect.file {
        let out = espcheck()
            .args(["check", "--offline", "--json"])
            .arg(dir.join(&e.path))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(err) = &e.error {
            assert_eq!(out.status.code(), Some(2), "{}: {stdout}{stderr}", e.path);
            assert_eq!(stderr.lines().count(), 1, "{}: one line: {stderr}", e.path);
            assert!(
                stderr.contains(err.as_str()),
                "{}: {err:?} not in {stderr}",
                e.path
            );
            assert!(!stderr.contains("panicked"));
            continue;
        }
        let reports: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(reports.len(), e.set.len(), "{}: {stdout}{stderr}", e.path);
        let mut soonest = i64::MAX;
        for (r, s) in reports.iter().zip(&e.set) {
            assert_eq!(r["offline"], true);
            assert_eq!(r["host"].as_str(), s.host.as_deref(), "{}: host", e.path);
            if let Some(p) = s.port {
                assert_eq!(r["port"].as_u64(), Some(u64::from(p)), "{}: port", e.path);
            }
            let pins = r["pins"].as_array().unwrap();
            let certs: Vec<(&str, &str)> = pins
                .iter()
                .filter(|p| p["kind"] == "ca")
                .map(|p| {
                    (
                        p["sha1"].as_str().unwrap(),
                        p["not_after"].as_str().unwrap(),
                    )
                })
                .collect();
            let want: Vec<(&str, &str)> = s
                .certs
                .iter()
                .map(|c| (c.sha1.as_str(), c.not_after.as_str()))
                .collect();
            assert_eq!(certs, want, "{}: certificates", e.path);
            let fps: Vec<&str> = pins
                .iter()
                .filter(|p| p["kind"] == "sha1" || p["kind"] == "sha256")
                .map(|p| p["pinned"].as_str().unwrap())
                .collect();
            assert_eq!(fps, s.fingerprints, "{}: fingerprints", e.path);
            let pubkeys = pins.iter().filter(|p| p["kind"] == "pubkey").count();
            assert_eq!(pubkeys, s.pubkeys, "{}: public keys", e.path);
            for c in &s.certs {
                soonest = soonest.min(days_until(&c.not_after));
            }
        }
        let warnings: usize = reports
            .iter()
            .map(|r| r["warnings"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(
            warnings,
            e.warnings.unwrap_or(0),
            "{}: warnings {stdout}",
            e.path
        );
        // Exit 1 exactly when a certificate expires within the default 30 days (or has expired);
        // a day either side of the boundary is left alone, the clock being the real one.
        match soonest {
            d if d < 29 => assert_eq!(out.status.code(), Some(1), "{}: {stdout}", e.path),
            d if d > 31 => assert_eq!(out.status.code(), Some(0), "{}: {stdout}", e.path),
            _ => {}
        }
    }
}

/// `fingerprint --from` reads the same certificates out of every file that has some.
#[test]
fn fingerprint_from_reads_the_same_certificates() {
    let (dir, expect) = corpus();
    for e in expect.file.iter().filter(|e| e.error.is_none()) {
        let want: Vec<&str> = e
            .set
            .iter()
            .flat_map(|s| s.certs.iter().map(|c| c.sha1.as_str()))
            .collect();
        if want.is_empty() || e.path.ends_with(".rs") && e.path.contains('/') {
            // No certificates, or only through include_str! (which `check` follows).
            continue;
        }
        let out = espcheck()
            .args(["fingerprint", "--from"])
            .arg(dir.join(&e.path))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for sha1 in &want {
            assert!(
                stdout.contains(sha1),
                "{}: {sha1} missing\n{stdout}{stderr}",
                e.path
            );
        }
    }
}
