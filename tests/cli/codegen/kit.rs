//! The kit `gen-cert-header` and `check` tests share: a root → intermediate → leaf chain made with
//! rcgen, `openssl s_server` on a fixed loopback port, and tool checks that say when they skip.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};

pub use crate::support::espcheck;

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
        let child = crate::support::spawn_s_server(&|name| pki.path(name), port, &[]);
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
