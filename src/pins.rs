//! Pins for `build.rs`: fetch a host's chain (or read one) and render the Rust module
//! `gen-cert-header --lang rust` writes, from library code, without the CLI.
//!
//! ```
//! // A build.rs that embeds pins from a certificate file committed with the firmware:
//! let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/chains/example-chain.pem"))?;
//! let module = espcheck::pins::rust_module_from_pem(&pem, "device.example", espcheck::pins::Pin::Auto)?;
//! assert!(module.contains("pub mod device_example"));
//! assert!(module.contains("pub const FINGERPRINT_SHA1: &str"));
//! // In build.rs: write it to OUT_DIR and `include!` it from the firmware crate.
//! let out = std::env::temp_dir().join("pins.rs");
//! std::fs::write(&out, module)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A live host works the same way: `espcheck::pins::rust_module_for_host("api.github.com",
//! &espcheck::pins::FetchOptions::default())` connects, captures the chain and renders it.

use rustls_pki_types::UnixTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::codegen::{self, Output, PinChoice, Source, Stamp};
use crate::error::{Error, Result};
use crate::tls::{Acquired, Input, Target, TrustStore, source};

/// Which certificate `CA_PEM` holds.
pub use crate::codegen::PinChoice as Pin;

/// How to reach a live host.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Dial this `ADDR:PORT` but keep the host for SNI (split DNS, tests).
    pub connect: Option<String>,
    /// Extra trust anchors, so the root can be found and pinned.
    pub ca_files: Vec<PathBuf>,
    /// Bound on the connection and handshake.
    pub timeout: Duration,
    /// Which certificate to pin.
    pub pin: Pin,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect: None,
            ca_files: Vec::new(),
            timeout: Duration::from_secs(10),
            pin: Pin::Auto,
        }
    }
}

fn render(source: Source, pin: PinChoice, now: UnixTime) -> Result<String> {
    let stamp = Stamp {
        generated_at: crate::util::source_date_epoch()?,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let generated = codegen::generate(vec![source], pin, Output::Rust, &stamp, now)?;
    String::from_utf8(generated.bytes).map_err(|_| Error::env("codegen", "non-UTF-8 Rust output"))
}

/// Render the Rust pins module for certificates in `pem` (PEM, DER, s_client output or a source file
/// with PEM literals) served by `host`. The local system store is consulted for the root.
pub fn rust_module_from_pem(pem: &[u8], host: &str, pin: Pin) -> Result<String> {
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&[], true)?),
        timeout: Duration::ZERO,
        jobs: 1,
        now: crate::util::now(),
        profile: None,
    };
    let acquired = source::from_bytes(pem, host, Some(host.to_owned()), &plan)?;
    render(source_of(acquired, None, None), pin, plan.now)
}

/// Connect to `host` (`HOST[:PORT]`), capture its chain, and render the Rust pins module. Blocking:
/// it runs its own small runtime, so call it from `build.rs` or a plain thread.
pub fn rust_module_for_host(host: &str, opts: &FetchOptions) -> Result<String> {
    let mut target = Target::parse(host, 443)?;
    target.connect.clone_from(&opts.connect);
    let plan = source::Plan {
        store: Arc::new(TrustStore::load(&opts.ca_files, true)?),
        timeout: opts.timeout,
        jobs: 1,
        now: crate::util::now(),
        profile: None,
    };
    let acquired = source::acquire(vec![Input::Live(target)], &plan)?
        .pop()
        .ok_or_else(|| Error::env(host, "nothing was captured"))??;
    render(source_of(acquired, None, None), opts.pin, plan.now)
}

/// An acquired chain as a code-generation source. A live chain is named after its host; a file's
/// after `--name`, then `--host`, then the file's stem, then the leaf's own name.
pub fn source_of(acquired: Acquired, name: Option<String>, stem: Option<String>) -> Source {
    if acquired.is_live() {
        return Source {
            name: name
                .or_else(|| acquired.host.clone())
                .unwrap_or_else(|| acquired.input.clone()),
            host: acquired.host,
            origin: acquired.input,
            chain: acquired.chain,
        };
    }
    let host = acquired.host.clone().or_else(|| acquired.leaf_name());
    let name = name
        .or_else(|| acquired.host.clone())
        .or(stem)
        .or_else(|| host.clone())
        .unwrap_or_else(|| "stdin".to_owned());
    Source {
        name,
        host,
        origin: acquired.input,
        chain: acquired.chain,
    }
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report
    use super::*;
    use crate::sim::server::{MockServer, ServerConfig};

    #[test]
    fn live_host_module_pins_what_the_server_serves() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path());
        config.addr = "127.0.0.1:0".parse().unwrap();
        let server = rt.block_on(MockServer::start(config)).unwrap();
        let opts = FetchOptions {
            connect: Some(server.addr().to_string()),
            ca_files: vec![server.paths().root.clone()],
            ..FetchOptions::default()
        };
        let module = rust_module_for_host("api.github.com", &opts).unwrap();
        assert!(module.contains("pub mod api_github_com"));
        assert!(module.contains(&server.chain().leaf_sha1_colon()));
        assert!(
            module.contains("espcheck Mock Root CA"),
            "the root is pinned"
        );
        rt.block_on(server.shutdown());
    }
}
