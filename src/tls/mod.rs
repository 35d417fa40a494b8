//! TLS at the edge: live chain capture with rustls, and judging a chain against trust anchors.

pub mod capture;
pub mod hello;
pub mod probe;
pub mod profile;
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
    live_report_as(target, store, timeout, now, None).await
}

/// `live_report`, but seen through a board profile's ClientHello when `profile` is given: the chain
/// reported is the one that board receives.
pub async fn live_report_as(
    target: &Target,
    store: &TrustStore,
    timeout: Duration,
    now: i64,
    profile: Option<&profile::Profile>,
) -> Result<ChainReport> {
    let cap = match profile {
        None => capture(target, timeout).await?,
        Some(p) => capture_as(target, p, timeout).await?,
    };
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

/// Capture the chain a board profile receives: its own TLS 1.2 ClientHello, read in the clear.
async fn capture_as(target: &Target, p: &profile::Profile, timeout: Duration) -> Result<Capture> {
    let mfln = p.requests_mfln.then_some(1);
    let flight = probe::exchange(target, p, true, mfln, timeout).await?;
    let judged = probe::judge(p, &flight, true, false, false);
    let certs = flight.certificates.unwrap_or_default();
    if certs.is_empty() {
        return Err(Error::env(
            target.display(),
            format!("the {} profile gets no certificate: {}", p.name, judged.why),
        ));
    }
    let cipher = judged.cipher.unwrap_or_else(|| "unknown".to_owned());
    Ok(Capture {
        certs: certs
            .into_iter()
            .map(rustls_pki_types::CertificateDer::from)
            .collect(),
        tls: crate::cert::report::TlsInfo {
            version: "TLSv1.2".to_owned(),
            cipher,
        },
    })
}
