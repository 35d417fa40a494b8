//! The I/O edge of `--truth`: GET a ref's combined status and check runs from the GitHub API
//! (or a stand-in at `--api-base`) over rustls on the ring provider. What is asked
//! ([`TruthQuery`]) and what the answers mean (`grade::truth`) are pure and live in `grade`.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result, show_path};
use crate::grade::truth::{Facts, TruthQuery, check_repo, facts_from_json};

/// A rustls client config on the ring provider: the public roots plus `ca_files`.
pub fn client_config(ca_files: &[PathBuf]) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for path in ca_files {
        let name = show_path(path);
        let bytes = std::fs::read(path).map_err(|e| Error::file(path, &e))?;
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let cert = cert.map_err(|e| Error::input(&name, format!("bad PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::input(&name, format!("not a usable CA certificate: {e}")))?;
            n += 1;
        }
        if n == 0 {
            return Err(Error::input(name, "no PEM certificate in it"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::env("TLS setup", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The token for the API: `GITHUB_TOKEN`, never argv. Blank means none.
pub fn token_from_env() -> Option<String> {
    std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// Fetch both answers and parse them. Network, TLS, rate-limit and 403 failures are
/// environment errors (exit 4) with one clear line.
pub async fn fetch(q: &TruthQuery) -> Result<Facts> {
    check_repo(&q.repo)?;
    let tls = client_config(&q.ca_files)?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("espcheck/", env!("CARGO_PKG_VERSION")))
        .timeout(q.timeout)
        .connect_timeout(q.timeout);
    if is_loopback(&q.api_base) {
        builder = builder.no_proxy();
    }
    let client = builder
        .build()
        .map_err(|e| Error::env("HTTP client", chain(&e)))?;
    let status_url = q.url("status");
    let checks_url = format!("{}?per_page=100", q.url("check-runs"));
    let (status, checks) = tokio::join!(get(&client, &status_url, q), get(&client, &checks_url, q));
    let (status, checks) = (status?, checks?);
    facts_from_json(&status, &checks).map_err(|e| Error::env(&status_url, e))
}

/// [`fetch`] on a runtime of its own, for blocking callers.
pub fn fetch_blocking(q: &TruthQuery) -> Result<Facts> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env("tokio runtime", e))?;
    rt.block_on(fetch(q))
}

async fn get(client: &reqwest::Client, url: &str, q: &TruthQuery) -> Result<Vec<u8>> {
    let mut req = client
        .get(url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = &q.token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.map_err(|e| Error::env(url, chain(&e)))?;
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let remaining = header("x-ratelimit-remaining");
    let reset = header("x-ratelimit-reset");
    let body = resp.bytes().await.map_err(|e| Error::env(url, chain(&e)))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let code = status.as_u16();
    let limited = remaining.as_deref() == Some("0")
        || code == 429
        || message.to_ascii_lowercase().contains("rate limit");
    let text = if limited && (code == 403 || code == 429) {
        let when = reset
            .and_then(|r| r.parse::<i64>().ok())
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .map(|t| format!("; it resets at {:02}:{:02} UTC", t.hour(), t.minute()))
            .unwrap_or_default();
        let hint = if q.token.is_some() {
            ""
        } else {
            "; set GITHUB_TOKEN for 5000 requests an hour instead of 60"
        };
        format!("GitHub API rate limit exceeded ({code}){when}{hint}")
    } else {
        let what = match code {
            401 => "GITHUB_TOKEN was refused".to_owned(),
            403 => "forbidden".to_owned(),
            404 => "no such repository or ref (a private repository needs GITHUB_TOKEN)".to_owned(),
            _ => status.canonical_reason().unwrap_or("error").to_owned(),
        };
        if message.is_empty() {
            format!("HTTP {code}: {what}")
        } else {
            format!("HTTP {code}: {what} ({message})")
        }
    };
    Err(Error::env(url, text))
}

fn is_loopback(base: &str) -> bool {
    let rest = base.split("://").nth(1).unwrap_or(base);
    rest.starts_with("127.") || rest.starts_with("localhost") || rest.starts_with("[::1]")
}

/// An error and its sources on one line (reqwest's own text is often just "error sending request").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}
