//! One way in for certificate chains. `fingerprint`, `gen-cert-header`, `check`, `demo` and the
//! `pins` API all acquire chains here: live endpoints are captured concurrently (at most `jobs` at
//! a time), files are read and extracted, and every chain is judged against the same trust store.

use rustls_pki_types::UnixTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cert::report::{ChainReport, TlsInfo, Trust};
use crate::cert::{Certificate, Chain, advice};
use crate::error::{Error, Result, is_stdin, show_path};

use super::profile::BoardProfile;
use super::{Capture, Target, TrustStore, capture, probe};

/// Where a chain comes from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A live endpoint: capture what it serves.
    Live(Target),
    /// A file (`-` for stdin): PEM, DER, s_client output or source code with PEM literals.
    File {
        /// The file.
        path: PathBuf,
        /// The host the certificates are for (`--host`); checked against the leaf when given.
        host: Option<String>,
    },
}

impl Input {
    /// The input as the user named it: `host:port`, or the path (`-` for stdin).
    pub fn display(&self) -> String {
        match self {
            Input::Live(t) => t.display(),
            Input::File { path, .. } => show_path(path),
        }
    }
}

/// How to acquire: shared by every input of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The anchors chains are judged against.
    pub store: Arc<TrustStore>,
    /// Bound on each connection and handshake.
    pub timeout: Duration,
    /// At most this many live captures at once.
    pub jobs: usize,
    /// The time chains are judged at (Unix seconds).
    pub now: UnixTime,
    /// Capture through a board's own ClientHello, so the chain is the one that board receives.
    pub profile: Option<&'static BoardProfile>,
}

/// One acquired chain, judged.
#[derive(Debug, Clone)]
pub struct Acquired {
    /// The input as the user named it.
    pub input: String,
    /// The host: the live target's, or the file's `--host`.
    pub host: Option<String>,
    /// The live target's port.
    pub port: Option<u16>,
    /// The chain as served (or listed), with a local root appended (`sent: false`) when the server
    /// does not send the root but a local store holds it.
    pub chain: Chain,
    /// Whether it verifies to a local anchor, and whether the leaf is valid for `host`.
    pub trust: Trust,
    /// Negotiated version and suite (live only).
    pub tls: Option<TlsInfo>,
    /// Oddities found while reading a file (six-dash lines, skipped blocks).
    pub warnings: Vec<String>,
}

impl Acquired {
    /// Is this a live capture (not a file)?
    pub fn is_live(&self) -> bool {
        self.tls.is_some()
    }

    /// The chain exactly as sent: without a root a local store supplied.
    pub fn served(&self) -> Chain {
        let mut chain = self.chain.clone();
        chain.entries.retain(|e| e.sent);
        chain
    }

    /// The leaf's first DNS name that is not a wildcard: the host a file's certificates serve.
    pub fn leaf_name(&self) -> Option<String> {
        self.chain
            .leaf()
            .and_then(|l| l.cert.sans.iter().find(|s| !s.contains('*')).cloned())
    }

    /// The full report `fingerprint` prints: every certificate, pin advice, trust, TLS.
    pub fn report(&self, now: UnixTime) -> ChainReport {
        let advice = advice::advise(&self.chain, now);
        let mut report = ChainReport::new(&self.chain, advice, self.trust.clone(), now);
        let mut warnings = self.warnings.clone();
        warnings.append(&mut report.warnings);
        report.warnings = warnings;
        report.tls.clone_from(&self.tls);
        report.port = self.port;
        if self.is_live() {
            report.source = "live";
            report.host.clone_from(&self.host);
        } else {
            report.file = Some(self.input.clone());
            report.host = self
                .host
                .clone()
                .or_else(|| self.chain.leaf().and_then(|l| l.cert.sans.first().cloned()));
        }
        report
    }
}

/// Acquire every input, live ones concurrently, in input order. Each input has its own result, so
/// one unreachable host does not hide the others. Blocking: runs its own runtime; from async code
/// call [`acquire_async`].
pub fn acquire(inputs: Vec<Input>, plan: &Plan) -> Result<Vec<Result<Acquired>>> {
    // Captures wait on the network, not the CPU: one thread drives them all.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env("tokio runtime", e))?;
    Ok(rt.block_on(acquire_async(inputs, plan)))
}

/// [`acquire`] from inside a runtime.
pub async fn acquire_async(inputs: Vec<Input>, plan: &Plan) -> Vec<Result<Acquired>> {
    let jobs = Arc::new(tokio::sync::Semaphore::new(plan.jobs.max(1)));
    let mut pending = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            Input::Live(target) => {
                let plan = plan.clone();
                let jobs = jobs.clone();
                pending.push(Pending::Task(tokio::spawn(async move {
                    let _permit = jobs.acquire_owned().await;
                    live(&target, &plan).await
                })));
            }
            Input::File { path, host } => pending.push(Pending::Done(file(&path, host, plan))),
        }
    }
    let mut results = Vec::with_capacity(pending.len());
    for p in pending {
        results.push(match p {
            Pending::Done(r) => r,
            Pending::Task(h) => h
                .await
                .unwrap_or_else(|e| Err(Error::env("capture task", e))),
        });
    }
    results
}

enum Pending {
    Done(Result<Acquired>),
    Task(tokio::task::JoinHandle<Result<Acquired>>),
}

/// Capture one live target and judge its chain.
pub async fn live(target: &Target, plan: &Plan) -> Result<Acquired> {
    let cap = match plan.profile {
        None => capture(target, plan.timeout).await?,
        Some(p) => capture_as(target, p, plan.timeout).await?,
    };
    let mut certs = Vec::with_capacity(cap.certs.len());
    for (i, der) in cap.certs.iter().enumerate() {
        certs.push(Certificate::from_der(der.as_ref()).map_err(|e| {
            Error::env(
                target.display(),
                format!("certificate {} from the server: {e}", i + 1),
            )
        })?);
    }
    let mut chain = Chain::from_served(certs);
    let trust = plan.store.judge(&mut chain, Some(&target.host), plan.now);
    let mut warnings = Vec::new();
    if let Some(why) = &cap.handshake_error {
        let key = chain.leaf().map(|l| l.cert.key.clone()).unwrap_or_default();
        warnings.push(format!(
            "the handshake failed after the server sent its chain ({why}); the chain is \
             reported as served, but no connection completed: the leaf's key ({key}) cannot be \
             verified here, and neither BearSSL nor mbedTLS on a board can use it either"
        ));
    }
    Ok(Acquired {
        input: target.display(),
        host: Some(target.host.clone()),
        port: Some(target.port),
        chain,
        trust,
        tls: Some(cap.tls),
        warnings,
    })
}

/// Read one file and judge its certificates. `host`, when given, is checked against the leaf.
pub fn file(path: &std::path::Path, host: Option<String>, plan: &Plan) -> Result<Acquired> {
    let name = show_path(path);
    let bytes = crate::util::read_input(path, crate::util::MAX_INPUT_BYTES)?;
    from_bytes(&bytes, &name, host, plan)
}

/// Judge the certificates in `bytes`, read from the input called `name`.
pub fn from_bytes(bytes: &[u8], name: &str, host: Option<String>, plan: &Plan) -> Result<Acquired> {
    let found = crate::cert::extract(bytes).map_err(|e| Error::input(name, e))?;
    let mut chain = Chain::from_file(found.certs);
    let trust = plan.store.judge(&mut chain, host.as_deref(), plan.now);
    Ok(Acquired {
        input: name.to_owned(),
        host,
        port: None,
        chain,
        trust,
        tls: None,
        warnings: found.warnings,
    })
}

/// The stem of a file input, for naming what is generated from it (`None` for stdin).
pub fn file_stem(path: &std::path::Path) -> Option<String> {
    (!is_stdin(path))
        .then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .flatten()
}

/// Capture the chain a board profile receives: its own TLS 1.2 ClientHello, read in the clear.
async fn capture_as(target: &Target, p: &BoardProfile, timeout: Duration) -> Result<Capture> {
    let mfln = p.requests_mfln.then_some(1);
    let flight = probe::exchange(target, p, true, mfln, timeout).await?;
    let judged = probe::judge(p, &flight, probe::Server::TLS12_ONLY);
    let certs = flight.certificates.unwrap_or_default();
    if certs.is_empty() {
        return Err(Error::env(
            target.display(),
            format!("the {} profile gets no certificate: {}", p.name, judged.why),
        ));
    }
    let cipher = judged.cipher.unwrap_or_else(|| "unknown".to_owned());
    // As rustls names versions (`TLSv1_2` → `TLSv1.2`), from what the server really chose.
    let version = flight
        .hello
        .as_ref()
        .map(|h| h.version_name().replace("TLS ", "TLSv"))
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Capture {
        certs: certs
            .into_iter()
            .map(rustls_pki_types::CertificateDer::from)
            .collect(),
        tls: TlsInfo { version, cipher },
        handshake_error: None,
    })
}
