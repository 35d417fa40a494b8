//! `gen-cert-header`: the generated C, C99 and Rust compile with real compilers and print exactly
//! what openssl says; both ESP-IDF bundle layouts match an independent encoder byte for byte; bad
//! input never touches an existing output; snapshots of a fixed fixture chain.
//!
//! `kit` holds what `check`'s tests share; `boards` runs CA_PEM through mbedTLS and BearSSL.

use std::path::{Path, PathBuf};
use std::process::Command;

mod boards;
mod kit;

pub use kit::*;

/// What openssl says about a certificate file: (SHA-1, SHA-256, PEM), colon upper-case hex.
fn openssl_facts(pem: &Path) -> (String, String, String) {
    let fp = |alg: &str| {
        let out = run_ok(
            Command::new("openssl")
                .args(["x509", "-noout", "-fingerprint", alg, "-in"])
                .arg(pem),
        );
        out.trim().split_once('=').unwrap().1.to_owned()
    };
    let pem_out = run_ok(Command::new("openssl").args(["x509", "-in"]).arg(pem));
    (fp("-sha1"), fp("-sha256"), pem_out)
}

const PRINT_SYMBOLS: &str = r#"
#include <inttypes.h>
#include <stdio.h>
int main(void) {
    int i;
    printf("%s\n%s\n", P_HOST, P_FINGERPRINT_SHA1);
    for (i = 0; i < 20; i++) printf("%02X%s", P_FINGERPRINT_SHA1_BYTES[i], i < 19 ? ":" : "\n");
    printf("%s\n%" PRId64 "\n%s", P_FINGERPRINT_SHA256, (int64_t)P_CA_NOT_AFTER, P_CA_PEM);
    return 0;
}
"#;

/// A main that prints every symbol of prefix `prefix`, after including `header`.
fn printer(header: &str, prefix: &str) -> String {
    let body = PRINT_SYMBOLS.replace("P_", prefix);
    format!("#include \"{header}\"\n{body}")
}

/// Check a program's output against openssl's view of the leaf and the pinned certificate.
fn assert_printed(out: &str, host: &str, leaf: &Path, pinned: &Path, not_after: i64) {
    let (sha1, sha256, _) = openssl_facts(leaf);
    let (_, _, pinned_pem) = openssl_facts(pinned);
    let mut lines = out.splitn(6, '\n');
    assert_eq!(lines.next(), Some(host));
    assert_eq!(lines.next(), Some(sha1.as_str()), "FINGERPRINT_SHA1");
    assert_eq!(lines.next(), Some(sha1.as_str()), "FINGERPRINT_SHA1_BYTES");
    assert_eq!(lines.next(), Some(sha256.as_str()), "FINGERPRINT_SHA256");
    assert_eq!(
        lines.next(),
        Some(not_after.to_string().as_str()),
        "CA_NOT_AFTER"
    );
    assert_eq!(lines.next(), Some(pinned_pem.as_str()), "CA_PEM");
}

#[test]
fn c_headers_from_a_live_server_compile_and_print_what_openssl_prints() {
    if !have("openssl", "gen-cert-header against s_server")
        || !have("g++", "the Arduino-style header")
        || !have("gcc", "the C99 header")
    {
        return;
    }
    let pki = Pki::new("pins.test");
    let server = SServer::start(&pki, free_port());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let not_after = rcgen::date_time_ymd(2044, 1, 1).unix_timestamp();

    // Arduino style: the intermediate as CA_PEM; two hosts in one header.
    espcheck()
        .args([
            "gen-cert-header",
            "pins.test",
            "other.test",
            "--pin",
            "intermediate",
        ])
        .args(["--connect", &server.connect(), "--no-system-roots", "-o"])
        .arg(w.join("pins.h"))
        .assert()
        .success();
    let header = std::fs::read_to_string(w.join("pins.h")).unwrap();
    assert!(
        header.contains("R\"EOF(-----BEGIN CERTIFICATE-----"),
        "{header}"
    );
    assert!(header.contains("PROGMEM"), "{header}");
    assert!(
        header.contains("OTHER_TEST_CA_PEM"),
        "both hosts in one header"
    );
    std::fs::write(w.join("a.cpp"), printer("pins.h", "PINS_TEST_")).unwrap();
    run_ok(
        Command::new("g++")
            .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
            .arg(w.join("a"))
            .arg(w.join("a.cpp")),
    );
    let out = run_ok(&mut Command::new(w.join("a")));
    assert_printed(
        &out,
        "pins.test",
        &pki.path("leaf.pem"),
        &pki.path("intermediate.pem"),
        not_after,
    );

    // Inside an Arduino core, <Arduino.h> defines PROGMEM as a section attribute.
    std::fs::create_dir(w.join("core")).unwrap();
    std::fs::write(
        w.join("core/Arduino.h"),
        "#define PROGMEM __attribute__((section(\".irom.text\")))\n",
    )
    .unwrap();
    run_ok(
        Command::new("g++")
            .args(["-DARDUINO=10819", "-Wall", "-Wextra", "-Werror", "-c", "-o"])
            .arg(w.join("a.o"))
            .arg("-I")
            .arg(w.join("core"))
            .arg(w.join("a.cpp")),
    );

    // Plain C99: the root as CA_PEM (it comes from --ca-file, since the server does not send it).
    espcheck()
        .args([
            "gen-cert-header",
            "pins.test",
            "--pin",
            "root",
            "--style",
            "c",
        ])
        .args([
            "--connect",
            &server.connect(),
            "--no-system-roots",
            "--ca-file",
        ])
        .arg(pki.path("root.pem"))
        .arg("-o")
        .arg(w.join("pins99.h"))
        .assert()
        .success();
    let header = std::fs::read_to_string(w.join("pins99.h")).unwrap();
    assert!(!header.contains("R\"EOF("), "C99 has no raw literals");
    assert!(header.contains("not sent by the server"), "{header}");
    std::fs::write(w.join("c.c"), printer("pins99.h", "PINS_TEST_")).unwrap();
    run_ok(
        Command::new("gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o"])
            .arg(w.join("c"))
            .arg(w.join("c.c")),
    );
    let out = run_ok(&mut Command::new(w.join("c")));
    assert_printed(
        &out,
        "pins.test",
        &pki.path("leaf.pem"),
        &pki.path("root.pem"),
        not_after,
    );
}

#[test]
fn rust_module_compiles_as_a_library_and_in_a_binary() {
    if !have("openssl", "the Rust module's values") || !have("rustc", "the Rust module") {
        return;
    }
    let pki = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    espcheck()
        .args([
            "gen-cert-header",
            "--lang",
            "rust",
            "--pin",
            "leaf",
            "--no-system-roots",
        ])
        .arg("--from")
        .arg(pki.path("chain.pem"))
        .args(["--name", "api.github.com", "-o"])
        .arg(w.join("pins.rs"))
        .assert()
        .success();
    run_ok(
        Command::new("rustc")
            .args([
                "--edition",
                "2021",
                "--crate-type",
                "lib",
                "-D",
                "warnings",
                "--out-dir",
            ])
            .arg(w)
            .arg(w.join("pins.rs")),
    );
    std::fs::write(
        w.join("main.rs"),
        r#"include!("pins.rs");
use api_github_com as p;
fn main() {
    let bytes: Vec<String> = p::FINGERPRINT_SHA1_BYTES.iter().map(|b| format!("{b:02X}")).collect();
    print!("{}\n{}\n{}\n{}\n{}\n{}", p::HOST, p::FINGERPRINT_SHA1, bytes.join(":"),
        p::FINGERPRINT_SHA256, p::CA_NOT_AFTER, p::CA_PEM);
}
"#,
    )
    .unwrap();
    run_ok(
        Command::new("rustc")
            .args(["--edition", "2021", "-D", "warnings", "-o"])
            .arg(w.join("main"))
            .arg(w.join("main.rs")),
    );
    let out = run_ok(&mut Command::new(w.join("main")));
    let leaf = pki.path("leaf.pem");
    let not_after = default_leaf_expiry().unix_timestamp();
    assert_printed(&out, "pins.test", &leaf, &leaf, not_after);
}

/// An encoder for the bundle written from the ESP-IDF layout description alone (Python standard
/// library only: its own DER walk, no espcheck code): dedupe identical (subject, key) entries,
/// sort by subject DER, then the legacy or the offset-table layout.
const REFERENCE_ENCODER: &str = r#"
import base64, re, struct, sys

def tlv(buf, i):
    """(start, end of this TLV, start of its contents)"""
    n = buf[i + 1]
    if n < 0x80:
        return i, i + 2 + n, i + 2
    k = n & 0x7F
    ln = int.from_bytes(buf[i + 2:i + 2 + k], "big")
    return i, i + 2 + k + ln, i + 2 + k

def subject_and_spki(der):
    _, _, tbs_body = tlv(der, 0)            # Certificate
    _, _, i = tlv(der, tbs_body)            # TBSCertificate contents
    fields = []
    while len(fields) < 7:
        s, e, _ = tlv(der, i)
        fields.append(der[s:e])
        i = e
    if fields[0][0] == 0xA0:                # [0] version present
        fields = fields[1:]
    # serial, signature, issuer, validity, subject, spki
    return fields[4], fields[5]

text = open(sys.argv[1]).read()
certs = [base64.b64decode("".join(b.split())) for b in
         re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)]
# Like gen_crt_bundle.py every certificate is kept, duplicates too; "dedup" keeps the first of
# each (subject, key). sorted() is stable, as the script's is.
dedup = len(sys.argv) > 3 and sys.argv[3] == "dedup"
entries = []
for der in certs:
    e = subject_and_spki(der)
    if not dedup or e not in entries:
        entries.append(e)
entries = sorted(entries, key=lambda e: e[0])
if sys.argv[2] == "legacy":
    out = struct.pack(">H", len(entries))
    for name, key in entries:
        out += struct.pack(">HH", len(name), len(key)) + name + key
else:
    body, offsets = b"", []
    for name, key in entries:
        offsets.append(4 * len(entries) + len(body))
        body += struct.pack("<HH", len(name), len(key)) + name + key
    out = struct.pack("<%dL" % len(offsets), *offsets) + body
sys.stdout.buffer.write(out)
"#;

fn bundle(roots: &Path, layout_args: &[&str], out: &Path) {
    espcheck()
        .args(["gen-cert-header", "--format", "idf-bundle"])
        .args(layout_args)
        .arg("--from")
        .arg(roots)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn idf_bundles_match_an_independent_encoder_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let mut sources = vec![PathBuf::from("fixtures/bundles/roots.pem")];
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if system.exists() {
        sources.push(system.to_path_buf());
    } else {
        eprintln!("NOTE: no system CA bundle; the bundle test uses the committed roots only");
    }
    // Repeated certificates, as a hand-merged bundle has: gen_crt_bundle.py keeps every one.
    let roots = std::fs::read_to_string("fixtures/bundles/roots.pem").unwrap();
    std::fs::write(w.join("twice.pem"), format!("{roots}{roots}")).unwrap();
    sources.push(w.join("twice.pem"));
    let python = have("python3", "the bundle against the reference encoder");
    std::fs::write(w.join("ref.py"), REFERENCE_ENCODER).unwrap();
    for (n, roots) in sources.iter().enumerate() {
        for dedup in [false, true] {
            let flag: &[&str] = if dedup { &["--dedup"] } else { &[] };
            let legacy = w.join(format!("legacy{n}{dedup}.bin"));
            let table = w.join(format!("table{n}{dedup}.bin"));
            let default = w.join(format!("default{n}{dedup}.bin"));
            bundle(roots, &[&["--idf-version", "5.3"], flag].concat(), &legacy);
            bundle(roots, &[&["--idf-version", "5.4"], flag].concat(), &table);
            bundle(roots, flag, &default);
            let (legacy, table) = (
                std::fs::read(&legacy).unwrap(),
                std::fs::read(&table).unwrap(),
            );
            assert_eq!(
                std::fs::read(&default).unwrap(),
                table,
                "default is the 5.4+ layout"
            );
            // Same input, same bytes.
            let again = w.join("again.bin");
            bundle(roots, &[&["--idf-version", "5.3"], flag].concat(), &again);
            assert_eq!(std::fs::read(&again).unwrap(), legacy);
            if !python {
                continue;
            }
            for (layout, ours) in [("legacy", &legacy), ("table", &table)] {
                let out = Command::new("python3")
                    .arg(w.join("ref.py"))
                    .arg(roots)
                    .arg(layout)
                    .arg(if dedup { "dedup" } else { "keep" })
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.stdout.len() > 100);
                assert!(
                    out.stdout == *ours,
                    "{layout} bundle of {} (dedup {dedup}) differs from the reference encoder",
                    roots.display()
                );
            }
        }
    }
    // The doubled roots: twice the entries without --dedup, the same as once with it.
    let count = |p: &Path| {
        let out = espcheck()
            .arg("check")
            .arg("--offline")
            .arg("--json")
            .arg(p)
            .output()
            .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        v["pins"][0]["pinned"].as_str().unwrap().to_owned()
    };
    let (kept, once) = (
        count(&w.join(format!("legacy{}false.bin", sources.len() - 1))),
        count(&w.join(format!("legacy{}true.bin", sources.len() - 1))),
    );
    let n: usize = once.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(kept, format!("{} CA(s)", 2 * n), "{once}");
}

#[test]
fn idf_bundle_as_a_c_array_holds_the_same_bytes() {
    if !have("gcc", "the bundle C array") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let roots = Path::new("fixtures/bundles/roots.pem");
    bundle(roots, &["--idf-version", "5.3"], &w.join("b.bin"));
    espcheck()
        .args([
            "gen-cert-header",
            "--format",
            "idf-bundle-c",
            "--idf-version",
            "5.3",
        ])
        .args(["--name", "roots", "--from"])
        .arg(roots)
        .arg("-o")
        .arg(w.join("bundle.h"))
        .assert()
        .success();
    std::fs::write(
        w.join("b.c"),
        "#include \"bundle.h\"\n#include <stdio.h>\nint main(void) {\n\
         fwrite(ROOTS_CRT_BUNDLE, 1, ROOTS_CRT_BUNDLE_len, stdout);\nreturn 0;\n}\n",
    )
    .unwrap();
    run_ok(
        Command::new("gcc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(w.join("b"))
            .arg(w.join("b.c")),
    );
    let out = Command::new(w.join("b")).output().unwrap();
    assert_eq!(out.stdout, std::fs::read(w.join("b.bin")).unwrap());
}

#[test]
fn bad_input_exits_2_and_leaves_the_output_untouched() {
    let pki = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let out = w.join("certs.h");
    std::fs::write(&out, "// the previous, working header\n").unwrap();
    let before = std::fs::read(&out).unwrap();

    let pem = std::fs::read_to_string(pki.path("chain.pem")).unwrap();
    let cut = &pem[..pem.len() / 3];
    std::fs::write(w.join("cut.pem"), cut).unwrap();
    let missing = w.join("missing.pem");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--from".into(), w.join("cut.pem").display().to_string()],
            "cut.pem",
        ),
        (
            vec!["--from".into(), missing.display().to_string()],
            "missing.pem: no such file",
        ),
        (
            vec![
                "--from".into(),
                pki.path("chain.pem").display().to_string(),
                "--format".into(),
                "idf-bundle".into(),
                "--idf-version".into(),
                "five".into(),
            ],
            "--idf-version",
        ),
        (
            vec![
                "--from".into(),
                pki.path("leaf.pem").display().to_string(),
                "--pin".into(),
                "root".into(),
                "--no-system-roots".into(),
            ],
            "no root certificate",
        ),
    ];
    for (args, says) in cases {
        let assert = espcheck()
            .arg("gen-cert-header")
            .args(&args)
            .arg("-o")
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            before,
            "{args:?} touched the output"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(w)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".espcheck"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

fn fixture_output(args: &[&str], epoch: Option<&str>) -> String {
    let mut cmd = espcheck();
    cmd.args([
        "gen-cert-header",
        "--from",
        "fixtures/chains/pins/chain.pem",
    ])
    .args(["--name", "api.github.com", "--no-system-roots"])
    .args(args);
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn snapshot_arduino_header() {
    let out = fixture_output(&["--pin", "intermediate"], Some("1700000000"));
    assert!(out.contains("Generated 2023-11-14T22:13:20Z (SOURCE_DATE_EPOCH)"));
    insta::assert_snapshot!(out);
}

#[test]
fn snapshot_rust_module() {
    insta::assert_snapshot!(fixture_output(&["--lang", "rust"], Some("1700000000")));
}

#[test]
fn output_is_reproducible_and_has_no_clock_without_source_date_epoch() {
    let a = fixture_output(&["--style", "c"], None);
    let b = fixture_output(&["--style", "c"], None);
    assert_eq!(a, b);
    assert!(!a.contains("Generated"), "no wall-clock stamp: {a}");
    assert!(a.contains("Regenerate before 2051-10-18"), "{a}");
}
