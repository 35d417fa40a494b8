//! `gen-cert-header`: the generated C, C99 and Rust compile with real compilers and print exactly
//! what openssl says; both ESP-IDF bundle layouts match an independent encoder byte for byte; bad
//! input never touches an existing output; snapshots of a fixed fixture chain.
//!
//! Also holds the small kit (`Pki`, `SServer`, tool checks) that `check`'s tests share.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

/// The binary under test, with no ambient `SOURCE_DATE_EPOCH`.
pub fn espcheck() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("espcheck").unwrap();
    cmd.env_remove("SOURCE_DATE_EPOCH");
    cmd
}

/// Is `tool` on PATH? When not, say so loudly: a skipped check must never look like a pass.
pub fn have(tool: &str, why: &str) -> bool {
    // openssl has no --version; every other tool here has.
    let probe = if tool == "openssl" {
        "version"
    } else {
        "--version"
    };
    let ok = Command::new(tool)
        .arg(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: `{tool}` is not installed, so {why} is not checked");
    }
    ok
}

/// Run a command, panic with its output unless it succeeds, and return stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "espcheck codegen tests");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2044, 1, 1);
    p
}

/// A root → intermediate → leaf chain (EC P-256) in a temp dir: `root.pem`, `intermediate.pem`,
/// `leaf.pem`, `leaf.key`, and `chain.pem` (leaf + intermediate, as a server sends it).
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub host: String,
    inter: Issuer<'static, KeyPair>,
    pub leaf_pem: String,
}

/// The leaf's expiry unless a test asks otherwise.
pub fn default_leaf_expiry() -> time::OffsetDateTime {
    rcgen::date_time_ymd(2040, 1, 1)
}

impl Pki {
    pub fn new(host: &str) -> Self {
        Self::with_leaf_expiry(host, default_leaf_expiry())
    }

    pub fn with_leaf_expiry(host: &str, not_after: time::OffsetDateTime) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("Codegen Test Root");
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = KeyPair::generate().unwrap();
        let inter_params = ca_params("Codegen Test Intermediate");
        let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap();
        std::fs::write(dir.path().join("root.pem"), root.pem()).unwrap();
        std::fs::write(dir.path().join("intermediate.pem"), inter.pem()).unwrap();
        let mut pki = Pki {
            dir,
            host: host.to_owned(),
            inter: Issuer::new(inter_params, inter_key),
            leaf_pem: String::new(),
        };
        pki.reissue_leaf(not_after);
        pki
    }

    /// A new leaf (new key, new serial) from the same intermediate; rewrites the files.
    pub fn reissue_leaf(&mut self, not_after: time::OffsetDateTime) {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(vec![self.host.clone(), "localhost".to_owned()]).unwrap();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, self.host.clone());
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = not_after;
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = p.signed_by(&key, &self.inter).unwrap();
        self.leaf_pem = leaf.pem();
        std::fs::write(self.path("leaf.pem"), &self.leaf_pem).unwrap();
        std::fs::write(self.path("leaf.key"), key.serialize_pem()).unwrap();
        let inter = std::fs::read_to_string(self.path("intermediate.pem")).unwrap();
        std::fs::write(self.path("chain.pem"), format!("{}{inter}", self.leaf_pem)).unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A port that was free a moment ago (s_server needs a fixed one, so it can restart on it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server` serving the Pki's leaf + intermediate on 127.0.0.1. Killed on drop.
pub struct SServer {
    child: Child,
    pub port: u16,
}

impl SServer {
    pub fn start(pki: &Pki, port: u16) -> Self {
        let child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(pki.path("leaf.pem"))
            .arg("-key")
            .arg(pki.path("leaf.key"))
            .arg("-cert_chain")
            .arg(pki.path("intermediate.pem"))
            .args(["-www", "-quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = SServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "openssl s_server exited on port {port}"
            );
            assert!(Instant::now() < deadline, "openssl s_server did not listen");
            std::thread::sleep(Duration::from_millis(30));
        }
        server
    }

    pub fn connect(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
entries = []
for der in certs:
    e = subject_and_spki(der)
    if e not in entries:
        entries.append(e)
entries.sort(key=lambda e: e[0])
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
    let python = have("python3", "the bundle against the reference encoder");
    std::fs::write(w.join("ref.py"), REFERENCE_ENCODER).unwrap();
    for (n, roots) in sources.iter().enumerate() {
        let legacy = w.join(format!("legacy{n}.bin"));
        let table = w.join(format!("table{n}.bin"));
        let default = w.join(format!("default{n}.bin"));
        bundle(roots, &["--idf-version", "5.3"], &legacy);
        bundle(roots, &["--idf-version", "5.4"], &table);
        bundle(roots, &[], &default);
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
        bundle(roots, &["--idf-version", "5.3"], &w.join("again.bin"));
        assert_eq!(std::fs::read(w.join("again.bin")).unwrap(), legacy);
        if python {
            for (layout, ours) in [("legacy", &legacy), ("table", &table)] {
                let out = Command::new("python3")
                    .arg(w.join("ref.py"))
                    .arg(roots)
                    .arg(layout)
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
                    "{layout} bundle of {} differs from the reference encoder",
                    roots.display()
                );
            }
        }
    }
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

#[test]
fn mbedtls_accepts_the_generated_ca_pem_and_verifies_the_served_chain() {
    if !Path::new("/usr/include/mbedtls/x509_crt.h").exists() {
        eprintln!(
            "SKIPPED: libmbedtls-dev is not installed, so mbedTLS acceptance of CA_PEM is not \
             checked (apt-get install libmbedtls-dev)"
        );
        return;
    }
    if !have("gcc", "mbedTLS acceptance of CA_PEM") {
        return;
    }
    let pki = Pki::new("pins.test");
    let stranger = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // The intermediate (as the ESP32's setCACert would get it), the root, and for contrast an
    // unrelated CA that must NOT verify.
    let cases = [
        (&pki, "intermediate", true),
        (&pki, "root", true),
        (&stranger, "root", false),
    ];
    for (n, (source, pin, expect_ok)) in cases.into_iter().enumerate() {
        let header = w.join(format!("ca{n}.h"));
        let mut from = std::fs::read_to_string(source.path("chain.pem")).unwrap();
        from.push_str(&std::fs::read_to_string(source.path("root.pem")).unwrap());
        std::fs::write(w.join(format!("in{n}.pem")), from).unwrap();
        espcheck()
            .args([
                "gen-cert-header",
                "--style",
                "c",
                "--name",
                "pins",
                "--pin",
                pin,
            ])
            .arg("--from")
            .arg(w.join(format!("in{n}.pem")))
            .arg("-o")
            .arg(&header)
            .assert()
            .success();
        let prog = format!(
            r#"#include "ca{n}.h"
#include <stdio.h>
#include <mbedtls/x509_crt.h>
int main(int argc, char **argv) {{
    mbedtls_x509_crt ca, chain;
    uint32_t flags = 0;
    int ret;
    (void)argc;
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&chain);
    ret = mbedtls_x509_crt_parse(&ca, (const unsigned char *)PINS_CA_PEM, sizeof(PINS_CA_PEM));
    if (ret != 0) {{ printf("parse CA_PEM: -0x%04X\n", (unsigned)-ret); return 2; }}
    ret = mbedtls_x509_crt_parse_file(&chain, argv[1]);
    if (ret != 0) {{ printf("parse chain: -0x%04X\n", (unsigned)-ret); return 2; }}
    ret = mbedtls_x509_crt_verify(&chain, &ca, NULL, "pins.test", &flags, NULL, NULL);
    printf("verify: %d flags: 0x%08X\n", ret, (unsigned)flags);
    return ret == 0 ? 0 : 1;
}}
"#
        );
        std::fs::write(w.join(format!("m{n}.c")), prog).unwrap();
        run_ok(
            Command::new("gcc")
                .args(["-std=c99", "-Wall", "-Werror", "-o"])
                .arg(w.join(format!("m{n}")))
                .arg(w.join(format!("m{n}.c")))
                .args(["-lmbedx509", "-lmbedcrypto"]),
        );
        let out = Command::new(w.join(format!("m{n}")))
            .arg(pki.path("chain.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if expect_ok { 0 } else { 1 }),
            "{pin}: {text}"
        );
    }
}

/// Verify a served chain (argv[1], PEM) the way the ESP8266 core does with
/// `setTrustAnchors(new X509List(CA_PEM))`: every certificate of the PEM becomes a BearSSL trust
/// anchor (its DN and public key, flagged CA when it is one), then `br_x509_minimal` walks the chain.
const BEARSSL_VERIFY: &str = r#"
#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { unsigned char *buf; size_t len, cap; } vec;

static void vpush(void *ctx, const void *data, size_t len) {
    vec *v = ctx;
    if (v->len + len > v->cap) {
        v->cap = (v->len + len) * 2;
        v->buf = realloc(v->buf, v->cap);
    }
    memcpy(v->buf + v->len, data, len);
    v->len += len;
}

static int pem_certs(const char *pem, size_t len, vec *ders, int max) {
    br_pem_decoder_context pc;
    int n = 0, in = 0;
    br_pem_decoder_init(&pc);
    while (len > 0) {
        size_t used = br_pem_decoder_push(&pc, pem, len);
        pem += used;
        len -= used;
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            in = strcmp(br_pem_decoder_name(&pc), "CERTIFICATE") == 0 && n < max;
            if (in) {
                memset(&ders[n], 0, sizeof ders[n]);
                br_pem_decoder_setdest(&pc, vpush, &ders[n]);
            } else {
                br_pem_decoder_setdest(&pc, NULL, NULL);
            }
            break;
        case BR_PEM_END_OBJ:
            if (in) n++;
            in = 0;
            break;
        case BR_PEM_ERROR:
            return -1;
        }
    }
    return n;
}

static unsigned char *dup(const unsigned char *p, size_t n) {
    unsigned char *q = malloc(n);
    memcpy(q, p, n);
    return q;
}

static int make_anchor(const vec *der, br_x509_trust_anchor *ta) {
    br_x509_decoder_context dc;
    vec dn = {0};
    const br_x509_pkey *pk;
    br_x509_decoder_init(&dc, vpush, &dn);
    br_x509_decoder_push(&dc, der->buf, der->len);
    pk = br_x509_decoder_get_pkey(&dc);
    if (pk == NULL) return -1;
    ta->dn.data = dn.buf;
    ta->dn.len = dn.len;
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    ta->pkey = *pk;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = dup(pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.e = dup(pk->key.rsa.e, pk->key.rsa.elen);
    } else {
        ta->pkey.key.ec.q = dup(pk->key.ec.q, pk->key.ec.qlen);
    }
    return 0;
}

int main(int argc, char **argv) {
    vec anchors[16], chain[16];
    br_x509_trust_anchor tas[16];
    br_x509_minimal_context xc;
    static char served[65536];
    size_t served_len;
    FILE *f;
    int na, nc, i;
    unsigned err;
    time_t now = time(NULL);
    (void)argc;
    na = pem_certs(PINS_CA_PEM, strlen(PINS_CA_PEM), anchors, 16);
    if (na <= 0) { printf("no anchors in CA_PEM\n"); return 2; }
    for (i = 0; i < na; i++) {
        if (make_anchor(&anchors[i], &tas[i]) != 0) { printf("bad anchor %d\n", i); return 2; }
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) return 2;
    served_len = fread(served, 1, sizeof served, f);
    fclose(f);
    nc = pem_certs(served, served_len, chain, 16);
    if (nc <= 0) { printf("no served chain\n"); return 2; }
    br_x509_minimal_init_full(&xc, tas, (size_t)na);
    br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
    xc.vtable->start_chain(&xc.vtable, "pins.test");
    for (i = 0; i < nc; i++) {
        xc.vtable->start_cert(&xc.vtable, (uint32_t)chain[i].len);
        xc.vtable->append(&xc.vtable, chain[i].buf, chain[i].len);
        xc.vtable->end_cert(&xc.vtable);
    }
    err = xc.vtable->end_chain(&xc.vtable);
    printf("bearssl: %u\n", err);
    return err == 0 ? 0 : 1;
}
"#;

#[test]
fn bearssl_takes_the_generated_ca_pem_as_the_esp8266_does() {
    if !Path::new("/usr/include/bearssl.h").exists() {
        eprintln!(
            "SKIPPED: libbearssl-dev is not installed, so BearSSL (ESP8266) acceptance of \
             CA_PEM is not checked (apt-get install libbearssl-dev)"
        );
        return;
    }
    if !have("gcc", "BearSSL acceptance of CA_PEM") {
        return;
    }
    let pki = Pki::new("pins.test");
    let stranger = Pki::new("pins.test");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    // An intermediate works as an anchor on the ESP8266, a leaf means direct trust; a CA the
    // chain does not lead to must fail.
    let cases = [
        (&pki, "intermediate", true),
        (&pki, "root", true),
        (&pki, "leaf", true),
        (&stranger, "root", false),
    ];
    for (n, (source, pin, expect_ok)) in cases.into_iter().enumerate() {
        let mut from = std::fs::read_to_string(source.path("chain.pem")).unwrap();
        from.push_str(&std::fs::read_to_string(source.path("root.pem")).unwrap());
        std::fs::write(w.join(format!("in{n}.pem")), from).unwrap();
        espcheck()
            .args([
                "gen-cert-header",
                "--style",
                "c",
                "--name",
                "pins",
                "--pin",
                pin,
            ])
            .arg("--from")
            .arg(w.join(format!("in{n}.pem")))
            .arg("-o")
            .arg(w.join(format!("ca{n}.h")))
            .assert()
            .success();
        let prog = format!("#include \"ca{n}.h\"\n{BEARSSL_VERIFY}");
        std::fs::write(w.join(format!("b{n}.c")), prog).unwrap();
        run_ok(
            Command::new("gcc")
                .args(["-std=c99", "-Wall", "-Werror", "-o"])
                .arg(w.join(format!("b{n}")))
                .arg(w.join(format!("b{n}.c")))
                .arg("-lbearssl"),
        );
        let out = Command::new(w.join(format!("b{n}")))
            .arg(pki.path("chain.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if expect_ok { 0 } else { 1 }),
            "{pin}: {text}"
        );
    }
}
