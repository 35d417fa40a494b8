//! `gen-cert-header --format certs-ar | bearssl-ta | public-key`: the ESP8266 core's `certs.ar` as
//! GNU ar and the core's own index walk read it, BearSSL trust anchors compiled against BearSSL
//! and used by `br_x509_minimal` (in `bearssl`), and the leaf's key as openssl prints it.

use std::path::{Path, PathBuf};
use std::process::Command;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::codegen::{have, run_ok};
use crate::support::{Alg, RustlsServer, TestChain, espcheck};

mod bearssl;

/// A self-signed CA named `cn`, as PEM. The name is padded until the DER has odd length when
/// `odd` says so, so `certs.ar` needs its `\n` padding. The ECDSA signature's DER length varies
/// from key to key, so each try has even odds: 64 tries leave no room for a flaky run.
fn root(cn: &str, odd: bool) -> String {
    for try_ in 0..64 {
        let pad = try_ % 8;
        let key = Alg::P256.key();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "espcheck formats tests");
        p.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("{cn} {}", "v".repeat(pad)),
        );
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.not_before = rcgen::date_time_ymd(2024, 1, 1);
        p.not_after = rcgen::date_time_ymd(2044, 1, 1);
        let cert = p.self_signed(&key).unwrap();
        if cert.der().len() % 2 == usize::from(odd) {
            return cert.pem();
        }
    }
    panic!("no {cn} of the wanted parity in 64 tries");
}

fn der_of(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec()
}

/// `CertStore::initCertStore` of the ESP8266 core, re-implemented: after `!<arch>\n`, read a
/// 60-byte header, `sscanf("%d")` the size at bytes 48..57, stop at a size of 0 or a short read,
/// skip members named `//…`, and skip one byte when the file offset is odd.
fn core_walk(ar: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&ar[..8], b"!<arch>\n", "magic");
    let mut offset = 8;
    let mut found = Vec::new();
    while ar.len() >= offset + 60 {
        let mut header = ar[offset..offset + 60].to_vec();
        offset += 60;
        header[58] = 0;
        let field = String::from_utf8_lossy(&header[48..58]).into_owned();
        let digits: String = field
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let length: usize = match digits.parse() {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if ar.len() < offset + length {
            break;
        }
        if !(header[0] == b'/' && header[1] == b'/') {
            found.push(ar[offset..offset + length].to_vec());
        }
        offset += length;
        if offset & 1 == 1 {
            offset += 1;
        }
    }
    found
}

/// `ar t`, one name per line.
fn ar_t(archive: &Path) -> Vec<String> {
    run_ok(Command::new("ar").arg("t").arg(archive))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `ar p ARCHIVE MEMBER` as bytes.
fn ar_p(archive: &Path, member: &str) -> Vec<u8> {
    let out = Command::new("ar")
        .arg("p")
        .arg(archive)
        .arg(member)
        .output()
        .unwrap();
    assert!(out.status.success(), "ar p {member}");
    out.stdout
}

/// openssl's SHA-256 fingerprint of a certificate file (`der`: DER input).
fn openssl_sha256(path: &Path, der: bool) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(path);
    if der {
        cmd.args(["-inform", "DER"]);
    }
    run_ok(&mut cmd)
        .trim()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn certs_ar_is_what_gnu_ar_openssl_and_the_core_read() {
    if !have("ar", "certs.ar against GNU ar") || !have("openssl", "certs.ar members") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // A small "Mozilla set": odd and even DER lengths, so the padding is exercised.
    let pems = [
        root("Alpha Root", true),
        root("Beta Root", false),
        root("Gamma Root", true),
    ];
    let bundle = write(w, "bundle.pem", &pems.concat());
    let archive = w.join("certs.ar");
    espcheck()
        .args(["gen-cert-header", "--format", "certs-ar", "--from"])
        .arg(&bundle)
        .arg("--out")
        .arg(&archive)
        .assert()
        .success();
    let bytes = std::fs::read(&archive).unwrap();

    assert_eq!(ar_t(&archive), ["ca_000.der", "ca_001.der", "ca_002.der"]);
    for (i, pem) in pems.iter().enumerate() {
        let member = w.join(format!("m{i}.der"));
        std::fs::write(&member, ar_p(&archive, &format!("ca_{i:03}.der"))).unwrap();
        let input = write(w, &format!("in{i}.pem"), pem);
        assert_eq!(
            openssl_sha256(&member, true),
            openssl_sha256(&input, false),
            "member {i} is input certificate {i}"
        );
    }
    let walked = core_walk(&bytes);
    let want: Vec<Vec<u8>> = pems.iter().map(|p| der_of(p)).collect();
    assert_eq!(
        walked, want,
        "the core's walk finds every certificate, in order"
    );

    // Same input, same bytes; SOURCE_DATE_EPOCH becomes the members' mtime.
    let again = espcheck()
        .args([
            "gen-cert-header",
            "--format",
            "certs-ar",
            "--out",
            "-",
            "--from",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(again.stdout, bytes, "reproducible");
    let stamped = espcheck()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["gen-cert-header", "--format", "certs-ar", "--from"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(&stamped.stdout[8 + 16..8 + 28], b"1700000000  ");
    assert_eq!(core_walk(&stamped.stdout), want);
}

#[test]
fn certs_ar_from_the_system_mozilla_bundle() {
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !system.exists() {
        eprintln!(
            "SKIPPED: no /etc/ssl/certs/ca-certificates.crt, so the full Mozilla set is not built"
        );
        return;
    }
    if !have("ar", "certs.ar against GNU ar") || !have("openssl", "certs.ar members") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("certs.ar");
    espcheck()
        .args(["gen-cert-header", "--format", "certs-ar", "--from"])
        .arg(system)
        .arg("-o")
        .arg(&archive)
        .assert()
        .success();
    let text = std::fs::read_to_string(system).unwrap();
    let count = text.matches("-----BEGIN CERTIFICATE-----").count();
    let names = ar_t(&archive);
    assert_eq!(names.len(), count, "one member per certificate");
    let walked = core_walk(&std::fs::read(&archive).unwrap());
    assert_eq!(walked.len(), count);
    // The first and last members are the bundle's first and last certificates.
    let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(text.as_bytes())
        .map(|c| c.unwrap().as_ref().to_vec())
        .collect();
    for i in [0, count - 1] {
        assert_eq!(walked[i], ders[i]);
        assert_eq!(ar_p(&archive, &names[i]), ders[i]);
    }
}

#[test]
fn filter_and_for_hosts_pick_the_roots() {
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    // Same subject as the served chain's root, another key: only the signature tells them apart.
    let impostor = TestChain::new(Alg::P256, &["pins.test"]);
    let server = RustlsServer::start(&chain);
    let connect = format!("127.0.0.1:{}", server.port);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let alpha = root("Alpha Root", false);
    let beta = root("Beta Root", false);
    let bundle = write(
        w,
        "bundle.pem",
        &[
            alpha.as_str(),
            impostor.root_pem.as_str(),
            chain.root_pem.as_str(),
            beta.as_str(),
        ]
        .concat(),
    );
    let run = |extra: &[&str]| {
        espcheck()
            .args(["gen-cert-header", "--format", "certs-ar", "--out", "-"])
            .arg("--from")
            .arg(&bundle)
            .args(extra)
            .args(["--connect", &connect, "--no-system-roots"])
            .output()
            .unwrap()
    };

    let only = run(&["--for-hosts", "pins.test"]);
    assert!(
        only.status.success(),
        "{}",
        String::from_utf8_lossy(&only.stderr)
    );
    assert_eq!(core_walk(&only.stdout), [der_of(&chain.root_pem)]);

    let filtered = run(&["--filter", "alpha", "--filter", "BETA ROOT"]);
    assert!(filtered.status.success());
    assert_eq!(core_walk(&filtered.stdout), [der_of(&alpha), der_of(&beta)]);

    // Both at once: the filter leaves nothing that anchors pins.test.
    let none = run(&["--filter", "alpha", "--for-hosts", "pins.test"]);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("pins.test:443") && err.contains("--from"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let nothing = run(&["--filter", "no such CA"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("\"no such CA\""));
}

#[test]
fn public_key_is_the_leafs_spki_as_openssl_prints_it() {
    if !have("openssl", "the public key") {
        return;
    }
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    let server = RustlsServer::start(&chain);
    let want = run_ok(
        Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(chain.path("leaf.pem")),
    );
    let live = espcheck()
        .args(["gen-cert-header", "pins.test", "--format", "public-key"])
        .args(["--connect", &format!("127.0.0.1:{}", server.port)])
        .arg("--no-system-roots")
        .output()
        .unwrap();
    assert!(live.status.success());
    let text = String::from_utf8(live.stdout).unwrap();
    let begin = text.find("-----BEGIN PUBLIC KEY-----").unwrap();
    assert_eq!(&text[begin..], want, "the PEM is openssl's, byte for byte");
    assert!(
        text[..begin].lines().all(|l| l.starts_with('#')),
        "only # comments before the key:\n{text}"
    );
    assert!(text.contains("certbot"), "the comment warns: {text}");
    let err = String::from_utf8_lossy(&live.stderr);
    assert!(err.contains("warning:") && err.contains("new key"), "{err}");
    // openssl reads the file as it is, comments and all.
    let work = tempfile::tempdir().unwrap();
    let file = write(work.path(), "pub.pem", &text);
    run_ok(
        Command::new("openssl")
            .args(["pkey", "-pubin", "-noout", "-in"])
            .arg(&file),
    );

    // From a file, the same key; a file without a leaf has no key to pin.
    let from_file = espcheck()
        .args(["gen-cert-header", "--format", "public-key", "--from"])
        .arg(chain.path("chain.pem"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8(from_file.stdout)
            .unwrap()
            .ends_with(&want)
    );
    let no_leaf = espcheck()
        .args(["gen-cert-header", "--format", "public-key", "--from"])
        .arg(chain.path("root.pem"))
        .output()
        .unwrap();
    assert_eq!(no_leaf.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_leaf.stderr).contains("no leaf"));
}

const PRINT_PUBKEY: &str = r#"
#include <stdio.h>
int main(void) {
    fputs(PINS_TEST_PUBKEY_PEM, stdout);
    return 0;
}
"#;

#[test]
fn headers_carry_pubkey_pem_and_still_compile() {
    if !have("openssl", "PUBKEY_PEM")
        || !have("gcc", "the C99 header")
        || !have("g++", "the Arduino header")
    {
        return;
    }
    let chain = TestChain::new(Alg::Rsa2048, &["pins.test"]);
    let want = run_ok(
        Command::new("openssl")
            .args(["x509", "-pubkey", "-noout", "-in"])
            .arg(chain.path("leaf.pem")),
    );
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    for (style, compiler, std) in [("c", "gcc", "-std=c99"), ("arduino", "g++", "-std=gnu++17")] {
        let header = w.join(format!("{style}.h"));
        espcheck()
            .args([
                "gen-cert-header",
                "--name",
                "pins.test",
                "--pin",
                "intermediate",
                "--style",
                style,
                "--from",
            ])
            .arg(chain.path("chain.pem"))
            .arg("-o")
            .arg(&header)
            .assert()
            .success();
        let source = w.join(format!("{style}.c"));
        std::fs::write(&source, format!("#include \"{style}.h\"\n{PRINT_PUBKEY}")).unwrap();
        let bin = w.join(style);
        let lang = if compiler == "g++" { "c++" } else { "c" };
        run_ok(
            Command::new(compiler)
                .args([std, "-Wall", "-Wextra", "-Werror", "-x", lang, "-o"])
                .arg(&bin)
                .arg(&source),
        );
        assert_eq!(run_ok(&mut Command::new(&bin)), want, "{style} header");
        let text = std::fs::read_to_string(&header).unwrap();
        assert!(text.contains("certbot"), "the header warns about key pins");
    }
    if !have("rustc", "PUBKEY_PEM in the Rust module") {
        return;
    }
    espcheck()
        .args([
            "gen-cert-header",
            "--lang",
            "rust",
            "--name",
            "pins.test",
            "--pin",
            "intermediate",
            "--from",
        ])
        .arg(chain.path("chain.pem"))
        .arg("-o")
        .arg(w.join("pins.rs"))
        .assert()
        .success();
    std::fs::write(
        w.join("main.rs"),
        "mod pins;\nfn main() { print!(\"{}\", pins::pins_test::PUBKEY_PEM); }\n",
    )
    .unwrap();
    run_ok(
        Command::new("rustc")
            .args(["--edition", "2024", "-D", "warnings", "-o"])
            .arg(w.join("main"))
            .arg(w.join("main.rs")),
    );
    assert_eq!(
        run_ok(&mut Command::new(w.join("main"))),
        want,
        "Rust module"
    );
}

#[test]
fn formats_refuse_what_cannot_work() {
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    let from = chain.path("chain.pem");
    let cases: [(&[&str], &str); 5] = [
        (&["--format", "certs-ar", "--pin", "leaf"], "not a CA"),
        (&["--format", "public-key", "--pin", "root"], "--pin"),
        (&["--filter", "x"], "--filter"),
        (&["--format", "bearssl-ta", "--lang", "rust"], "--lang rust"),
        (&["--format", "certs-ar", "--style", "c"], "--style"),
    ];
    for (args, says) in cases {
        let out = espcheck()
            .arg("gen-cert-header")
            .args(args)
            .arg("--from")
            .arg(&from)
            .args(["-o", "-"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn binary_output_refuses_a_terminal_unless_asked() {
    use std::os::fd::OwnedFd;
    let chain = TestChain::new(Alg::P256, &["pins.test"]);
    let pty = nix::pty::openpty(None, None).unwrap();
    let run = |extra: &[&str]| {
        let slave: OwnedFd = pty.slave.try_clone().unwrap();
        Command::new(assert_cmd::cargo::cargo_bin!("espcheck"))
            .env_remove("SOURCE_DATE_EPOCH")
            .args([
                "gen-cert-header",
                "--format",
                "certs-ar",
                "--pin",
                "root",
                "--from",
            ])
            .arg(chain.path("root.pem"))
            .args(extra)
            .stdout(std::process::Stdio::from(slave))
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--out"));
    // `--out -` means it: the archive goes to the terminal (small enough for the pty's buffer).
    let forced = run(&["--out", "-"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
}
