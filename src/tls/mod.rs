//! TLS at the edge: live chain capture with rustls, and judging a chain against trust anchors.

pub mod capture;
pub mod target;
pub mod trust;

pub use capture::{Capture, capture};
pub use target::Target;
pub use trust::TrustStore;

use std::time::Duration;

use crate::cert::report::ChainReport;
use crate::cert::{Certificate, Chain, advice};
use crate::error::{Error, Result};

/// Capture `target`'s chain live and build the full report at `now`.
pub async fn live_report(
    target: &Target,
    store: &TrustStore,
    timeout: Duration,
    now: i64,
) -> Result<ChainReport> {
    let cap = capture(target, timeout).await?;
    let mut certs = Vec::with_capacity(cap.certs.len());
    for (i, der) in cap.certs.iter().enumerate() {
        let cert = Certificate::from_der(der.as_ref()).map_err(|e| {
            Error::env(
                target.display(),
                format!("certificate {} from the server: {e}", i + 1),
            )
        })?;
        certs.push(cert);
    }
    let mut chain = Chain::from_served(certs);
    let trust = store.judge(&mut chain, Some(&target.host), now);
    let advice = advice::advise(&chain, now);
    let mut report = ChainReport::new(&chain, advice, trust, now);
    report.host = Some(target.host.clone());
    report.port = Some(target.port);
    report.source = "live";
    report.tls = Some(cap.tls);
    Ok(report)
}

/// Build the report for certificates read from a file called `name`. `host`, when given, is checked
/// against the leaf.
pub fn file_report(
    bytes: &[u8],
    name: &str,
    host: Option<&str>,
    store: &TrustStore,
    now: i64,
) -> Result<ChainReport> {
    let found = crate::cert::extract(bytes).map_err(|e| Error::input(name, e))?;
    let mut chain = Chain::from_file(found.certs);
    let trust = store.judge(&mut chain, host, now);
    let advice = advice::advise(&chain, now);
    let mut report = ChainReport::new(&chain, advice, trust, now);
    let mut warnings = found.warnings;
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    report.file = Some(name.to_owned());
    report.host = host
        .map(str::to_owned)
        .or_else(|| chain.leaf().and_then(|l| l.cert.sans.first().cloned()));
    Ok(report)
}
