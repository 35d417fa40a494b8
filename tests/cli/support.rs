//! Test support: certificate chains made with rcgen (RSA keys from openssl, since ring cannot
//! generate RSA), an in-process rustls server on loopback, `openssl s_server`, and command helpers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    SignatureAlgorithm,
};

/// The espcheck binary under test, as `assert_cmd` runs it: see [`espcheck_std`].
pub fn espcheck() -> assert_cmd::Command {
    assert_cmd::Command::from_std(espcheck_std())
}

/// The one way every test starts espcheck: a clean environment and a HOME of its own.
///
/// Only `PATH` (the peers: openssl, esptool, gcc) and the locale pass through. HOME and the XDG
/// directories point at a directory private to this test process, so a developer's
/// `~/.config/espcheck/espcheck.toml`, an `ESPCHECK_*` or `GITHUB_TOKEN` variable, a proxy or a
/// `SOURCE_DATE_EPOCH` never changes what a test sees. `NO_COLOR` is set; a test that wants
/// colour or a variable sets it on the command.
pub fn espcheck_std() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_espcheck"));
    clean_env(&mut cmd);
    cmd
}

/// The environment of [`espcheck_std`], for a shell that runs espcheck in a pipeline.
pub fn clean_env(cmd: &mut Command) {
    cmd.env_clear();
    for keep in ["PATH", "LANG", "LC_ALL", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    let home = test_home();
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1");
}

/// The private HOME of this test process (under cargo's target tmp dir, so it is not left in /tmp).
pub fn test_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test HOME");
        dir
    })
}

/// Key algorithms the tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rsa2048,
    Rsa4096,
    P256,
    P384,
    Ed25519,
}

impl Alg {
    pub fn key_label(self) -> &'static str {
        match self {
            Alg::Rsa2048 => "RSA 2048",
            Alg::Rsa4096 => "RSA 4096",
            Alg::P256 => "EC P-256",
            Alg::P384 => "EC P-384",
            Alg::Ed25519 => "Ed25519",
        }
    }

    fn sig(self) -> &'static SignatureAlgorithm {
        match self {
            Alg::Rsa2048 | Alg::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
            Alg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Alg::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    pub fn key(self) -> KeyPair {
        let bits = match self {
            Alg::Rsa2048 => 2048,
            Alg::Rsa4096 => 4096,
            _ => return KeyPair::generate_for(self.sig()).expect("keygen"),
        };
        let out = Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt"])
            .arg(format!("rsa_keygen_bits:{bits}"))
            .output()
            .expect("openssl genpkey");
        assert!(out.status.success(), "openssl genpkey failed");
        let pem = String::from_utf8(out.stdout).expect("pem");
        KeyPair::from_pem_and_sign_algo(&pem, self.sig()).expect("rsa key")
    }
}

/// A root → intermediate → leaf chain written to a temp dir.
pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub root_pem: String,
    pub intermediate_pem: String,
    pub leaf_pem: String,
    pub leaf_key_pem: String,
    inter_params: CertificateParams,
    inter_key_pem: String,
    inter_alg: Alg,
    leaf_names: Vec<String>,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "espcheck tests");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2044, 1, 1);
    p
}

impl TestChain {
    /// Root (P-256) → intermediate (`alg`) → leaf (`alg`) for `names`.
    pub fn new(alg: Alg, names: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root_key = Alg::P256.key();
        let root_params = ca_params("espcheck Test Root");
        let root = root_params.self_signed(&root_key).expect("root");
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = alg.key();
        let inter_params = ca_params("espcheck Test Intermediate");
        let inter = inter_params
            .signed_by(&inter_key, &root_issuer)
            .expect("intermediate");
        let mut chain = TestChain {
            dir,
            root_pem: root.pem(),
            intermediate_pem: inter.pem(),
            leaf_pem: String::new(),
            leaf_key_pem: String::new(),
            inter_params,
            inter_key_pem: inter_key.serialize_pem(),
            inter_alg: alg,
            leaf_names: names.iter().map(|s| s.to_string()).collect(),
        };
        chain.reissue_leaf(alg);
        chain
    }

    /// Issue a fresh leaf (new key) from the same intermediate, and rewrite the files.
    pub fn reissue_leaf(&mut self, alg: Alg) {
        let inter_key = KeyPair::from_pem_and_sign_algo(&self.inter_key_pem, self.inter_alg.sig())
            .expect("key");
        let issuer = Issuer::new(self.inter_params.clone(), inter_key);
        let leaf_key = alg.key();
        let mut p = CertificateParams::new(self.leaf_names.clone()).expect("leaf params");
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, self.leaf_names[0].clone());
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2040, 1, 1);
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = p.signed_by(&leaf_key, &issuer).expect("leaf");
        self.leaf_pem = leaf.pem();
        self.leaf_key_pem = leaf_key.serialize_pem();
        self.write_files();
    }

    fn write_files(&self) {
        let d = self.dir.path();
        std::fs::write(d.join("root.pem"), &self.root_pem).expect("write");
        std::fs::write(d.join("intermediate.pem"), &self.intermediate_pem).expect("write");
        std::fs::write(d.join("leaf.pem"), &self.leaf_pem).expect("write");
        std::fs::write(d.join("leaf.key"), &self.leaf_key_pem).expect("write");
        std::fs::write(
            d.join("chain.pem"),
            format!("{}{}", self.leaf_pem, self.intermediate_pem),
        )
        .expect("write");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_config(&self) -> rustls::ServerConfig {
        use rustls_pki_types::pem::PemObject;
        let certs = vec![
            rustls_pki_types::CertificateDer::from_pem_slice(self.leaf_pem.as_bytes())
                .expect("leaf"),
            rustls_pki_types::CertificateDer::from_pem_slice(self.intermediate_pem.as_bytes())
                .expect("inter"),
        ];
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(self.leaf_key_pem.as_bytes())
            .expect("key");
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config")
    }
}

/// An in-process rustls server on 127.0.0.1 that handshakes every connection, answers one small
/// HTTP response and closes. Stops when dropped.
pub struct RustlsServer {
    pub port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl RustlsServer {
    pub fn start(chain: &TestChain) -> Self {
        let config = Arc::new(chain.server_config());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let config = config.clone();
                        std::thread::spawn(move || serve_one(config, tcp));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        RustlsServer { port, stop }
    }
}

impl Drop for RustlsServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn serve_one(config: Arc<rustls::ServerConfig>, tcp: TcpStream) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 1024];
    // Reading drives the handshake; clients that only fingerprint close right after it.
    if let Ok(n) = tls.read(&mut buf)
        && n > 0
    {
        let _ =
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `openssl s_server -www` on 127.0.0.1:`port` serving `leaf.pem` + `intermediate.pem` with
/// `leaf.key`, where `file` names those files.
pub fn spawn_s_server(file: &dyn Fn(&str) -> PathBuf, port: u16, extra: &[&str]) -> Child {
    Command::new("openssl")
        .arg("s_server")
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(file("leaf.pem"))
        .arg("-key")
        .arg(file("leaf.key"))
        .arg("-cert_chain")
        .arg(file("intermediate.pem"))
        .args(["-www", "-quiet"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server")
}

/// `openssl s_server` serving `chain`; killed on drop.
pub struct OpensslServer {
    pub port: u16,
    child: Child,
}

impl OpensslServer {
    pub fn start(chain: &TestChain, extra: &[&str]) -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut child = spawn_s_server(&|name| chain.path(name), port, extra);
            if wait_port(port, Duration::from_secs(5)) {
                return OpensslServer { port, child };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until something listens on 127.0.0.1:port.
pub fn wait_port(port: u16, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `openssl x509 -fingerprint -<digest>` of a PEM file, as colon upper-case hex.
pub fn openssl_fingerprint(pem: &Path, digest: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint"])
        .arg(format!("-{digest}"))
        .arg("-in")
        .arg(pem)
        .output()
        .expect("openssl x509");
    let text = String::from_utf8(out.stdout).expect("utf8");
    text.trim()
        .rsplit_once('=')
        .expect("fingerprint line")
        .1
        .to_owned()
}

/// Parse JSON Lines output.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect()
}

/// Regenerates `fixtures/chains/example-*.pem`. Keys are random, so the files change each run:
/// run it only to replace the fixture, then update the snapshots.
/// `cargo test --test cli -- --ignored regenerate_example_chain`
#[test]
#[ignore = "writes committed fixtures"]
fn regenerate_example_chain() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains");
    std::fs::create_dir_all(&dir).expect("dir");
    let root_key = Alg::P256.key();
    let mut root_params = ca_params("Example Root CA");
    root_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    root_params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let root = root_params.self_signed(&root_key).expect("root");
    let root_issuer = Issuer::new(root_params, root_key);
    let inter_key = Alg::P256.key();
    let mut inter_params = ca_params("Example Issuing CA 1");
    inter_params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    inter_params.not_after = rcgen::date_time_ymd(2034, 1, 1);
    let inter = inter_params
        .signed_by(&inter_key, &root_issuer)
        .expect("inter");
    let inter_issuer = Issuer::new(inter_params, inter_key);
    let leaf_key = Alg::P256.key();
    let mut p = CertificateParams::new(vec!["device.example".to_owned()]).expect("leaf");
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, "device.example");
    p.not_before = rcgen::date_time_ymd(2026, 1, 1);
    p.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let leaf = p.signed_by(&leaf_key, &inter_issuer).expect("leaf");
    std::fs::write(
        dir.join("example-chain.pem"),
        format!("{}{}", leaf.pem(), inter.pem()),
    )
    .expect("write");
    std::fs::write(dir.join("example-root.pem"), root.pem()).expect("write");
}
