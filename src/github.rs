//! The I/O edge of `--truth`: GET a ref's combined status and check runs from the GitHub API
//! (or a stand-in at `--api-base`) over rustls on the ring provider. What is asked
//! ([`TruthQuery`]) and what the answers mean (`grade::truth`) are pure and live in `grade`.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::{Error, Result, show_path};
use crate::grade::truth::{Facts, TruthQuery, check_repo, facts_from_pages};

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

/// The token for the API: `GITHUB_TOKEN`, never argv. Blank means none; a token that is not
/// UTF-8 or holds a newline or other control character (a copy-paste slip) is an error naming
/// the variable, never silently dropped or sent.
pub fn token_from_env() -> Result<Option<String>> {
    let Some(raw) = std::env::var_os("GITHUB_TOKEN") else {
        return Ok(None);
    };
    let token = raw
        .into_string()
        .map_err(|_| Error::Usage("GITHUB_TOKEN is not valid UTF-8".to_owned()))?;
    if token.trim().is_empty() {
        return Ok(None);
    }
    if token.chars().any(char::is_control) || token.contains(' ') {
        return Err(Error::Usage(
            "GITHUB_TOKEN holds a space, newline or control character; set it to the token alone"
                .to_owned(),
        ));
    }
    // From here on no output of this process carries it.
    crate::util::keep_secret(&token);
    Ok(Some(token))
}

/// Blank out what must never reach a terminal or a CI log: the token's value, `Authorization`
/// header values and any `user:password@` in a URL ([`crate::util::redacted`], plus `token`).
pub fn redact(text: &str, token: Option<&str>) -> String {
    let mut out = text.to_owned();
    if let Some(t) = token.filter(|t| t.len() >= 4) {
        out = out.replace(t, "***");
    }
    crate::util::redacted(&out).into_owned()
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
    let (status, first) = tokio::join!(get(&client, &status_url, q), get(&client, &checks_url, q));
    let (status, _) = status?;
    let (body, mut next) = first?;
    let mut pages = vec![body];
    // Follow `Link: rel="next"`: a failed run on page 2 must not read as green.
    while let Some(url) = next.take() {
        if pages.len() >= MAX_PAGES {
            return Err(Error::env(
                &checks_url,
                format!("more than {MAX_PAGES} pages of check runs; not all could be read"),
            ));
        }
        let (body, after) = get(&client, &url, q).await?;
        pages.push(body);
        next = after;
    }
    let pages: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();
    facts_from_pages(&status, &pages).map_err(|e| Error::env(&status_url, e))
}

/// [`fetch`] on a runtime of its own, for blocking callers. Whatever the API or a proxy echoes
/// back, the error holds neither the token nor a URL password.
pub fn fetch_blocking(q: &TruthQuery) -> Result<Facts> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::env("tokio runtime", e))?;
    rt.block_on(fetch(q))
        .map_err(|e| e.redacted(&|text| redact(text, q.token.as_deref())))
}

/// Pages of check runs read at most (100 runs each).
const MAX_PAGES: usize = 50;

/// The `rel="next"` URL of a `Link` header, as GitHub pages its lists.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_owned())
    })
}

/// GET one API document: its body and the next page's URL, if the answer is paged.
async fn get(
    client: &reqwest::Client,
    url: &str,
    q: &TruthQuery,
) -> Result<(Vec<u8>, Option<String>)> {
    let mut req = client
        .get(url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28");
    if let Some(token) = &q.token {
        req = req.bearer_auth(token);
    }
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            Error::timeout(url, q.timeout)
        } else {
            Error::env(url, chain(&e))
        }
    };
    let resp = req.send().await.map_err(failed)?;
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let remaining = header("x-ratelimit-remaining");
    let reset = header("x-ratelimit-reset");
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
    let next = header("link").as_deref().and_then(next_link);
    let body = resp.bytes().await.map_err(failed)?;
    if status.is_success() {
        return Ok((body.to_vec(), next));
    }
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let code = status.as_u16();
    let limited = remaining.as_deref() == Some("0")
        || code == 429
        || retry_after.is_some()
        || message.to_ascii_lowercase().contains("rate limit");
    let text = if limited && (code == 403 || code == 429) {
        // A secondary limit says when to come back in Retry-After; the primary one in
        // X-RateLimit-Reset.
        let when = match retry_after {
            Some(secs) => format!("; retry after {secs} s"),
            None => reset
                .and_then(|r| r.parse::<i64>().ok())
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
                .map(|t| format!("; it resets at {:02}:{:02} UTC", t.hour(), t.minute()))
                .unwrap_or_default(),
        };
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

#[cfg(test)]
mod tests {
    use super::{next_link, redact};

    #[test]
    fn tokens_and_url_passwords_never_survive_redaction() {
        let t = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let echoed =
            format!("proxy said: Authorization: Bearer {t} for https://user:s3cret@api.example/x");
        let clean = redact(&echoed, Some(t));
        assert!(
            !clean.contains(t) && !clean.contains("s3cret") && !clean.contains("user:"),
            "{clean}"
        );
        assert!(clean.contains("https://***@api.example/x"), "{clean}");
        assert_eq!(
            redact("https://api.github.com/repos", None),
            "https://api.github.com/repos"
        );
    }

    #[test]
    fn the_next_page_is_read_from_githubs_link_header() {
        let h = "<https://api.github.com/repositories/1/commits/main/check-runs?per_page=100&page=2>; \
                 rel=\"next\", <https://api.github.com/repositories/1/commits/main/check-runs?per_page=100&page=2>; rel=\"last\"";
        assert_eq!(
            next_link(h).as_deref(),
            Some(
                "https://api.github.com/repositories/1/commits/main/check-runs?per_page=100&page=2"
            )
        );
        let last = "<https://x/?page=1>; rel=\"prev\", <https://x/?page=1>; rel=\"first\"";
        assert_eq!(next_link(last), None);
        assert_eq!(next_link("garbage"), None);
    }
}
