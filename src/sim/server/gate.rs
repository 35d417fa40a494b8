//! What GitHub's REST API does around every answer (pure): who may ask (token), how much they
//! may ask (the `X-RateLimit-*` budget and the secondary limit), lists cut into pages with a
//! `Link` header, and conditional requests (`ETag`, `If-None-Match` → 304).

use sha1::{Digest, Sha1};

use super::http::Request;

/// Requests an hour without a token, as on GitHub.
pub const LIMIT_ANONYMOUS: u64 = 60;
/// Requests an hour with a token.
pub const LIMIT_TOKEN: u64 = 5000;
/// What the secondary limit tells a client to wait, in seconds.
pub const RETRY_AFTER: u64 = 60;

/// GitHub's body for a secondary rate limit.
pub const SECONDARY_LIMIT: &str = "You have exceeded a secondary rate limit. Please wait a few \
minutes before you try again. If you reach out to GitHub Support for help, please include the \
request ID.";
/// GitHub's documentation link for it.
pub const SECONDARY_DOCS: &str = "https://docs.github.com/free-pro-team@latest/rest/overview/\
rate-limits-for-the-rest-api#about-secondary-rate-limits";
/// The primary limit's documentation link.
pub const PRIMARY_DOCS: &str = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

/// The token the request carries: `Authorization: Bearer T` or `token T`.
pub fn token_of(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| token.trim())
}

/// The rate-limit budget as of this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u64,
    /// Requests made in this window, this one included.
    pub used: u64,
    /// When the window ends (Unix seconds).
    pub reset: i64,
}

impl Budget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Over budget: this request is refused.
    pub fn exhausted(&self) -> bool {
        self.used > self.limit
    }

    /// The headers GitHub puts on every answer.
    pub fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("X-RateLimit-Limit".into(), self.limit.to_string()),
            ("X-RateLimit-Remaining".into(), self.remaining().to_string()),
            ("X-RateLimit-Reset".into(), self.reset.to_string()),
            (
                "X-RateLimit-Used".into(),
                self.used.min(self.limit).to_string(),
            ),
            ("X-RateLimit-Resource".into(), "core".into()),
        ]
    }
}

/// `per_page` and `page` from a query string, as GitHub reads them: `per_page` defaults to 30 and
/// is capped at 100, `page` starts at 1; values that are not numbers are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub per_page: usize,
    pub page: usize,
}

impl Page {
    pub fn of(target: &str) -> Page {
        let mut page = Page {
            per_page: 30,
            page: 1,
        };
        let query = target.split_once('?').map_or("", |(_, q)| q);
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Ok(n) = value.parse::<usize>() else {
                continue;
            };
            match key {
                "per_page" if n > 0 => page.per_page = n.min(100),
                "page" if n > 0 => page.page = n,
                _ => {}
            }
        }
        page
    }

    /// The items of this page out of `total`.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        start..start.saturating_add(self.per_page).min(total)
    }

    fn last(&self, total: usize) -> usize {
        total.div_ceil(self.per_page).max(1)
    }

    /// GitHub's `Link` header for a list of `total` items at `url` (no query), or none when it
    /// fits on one page. Order as GitHub sends it: prev, next, last, first.
    pub fn link(&self, url: &str, total: usize) -> Option<String> {
        let last = self.last(total);
        if last == 1 {
            return None;
        }
        let at = |n: usize, rel: &str| {
            format!("<{url}?per_page={}&page={n}>; rel=\"{rel}\"", self.per_page)
        };
        let mut parts = Vec::new();
        if self.page > 1 {
            parts.push(at((self.page - 1).min(last), "prev"));
        }
        if self.page < last {
            parts.push(at(self.page + 1, "next"));
            parts.push(at(last, "last"));
        }
        if self.page > 1 {
            parts.push(at(1, "first"));
        }
        Some(parts.join(", "))
    }
}

/// A strong ETag of a body, quoted.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha1::digest(body)))
}

/// Whether `If-None-Match` names this ETag (a list, weak forms and `*` included).
pub fn not_modified(req: &Request, tag: &str) -> bool {
    let Some(value) = req.header("if-none-match") else {
        return false;
    };
    let bare = tag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_read_and_cut_as_github_does() {
        let p = Page::of("/x?per_page=100&page=2");
        assert_eq!(
            p,
            Page {
                per_page: 100,
                page: 2
            }
        );
        assert_eq!(p.range(150), 100..150);
        assert_eq!(Page::of("/x").per_page, 30);
        assert_eq!(Page::of("/x?per_page=1000").per_page, 100);
        assert_eq!(
            Page::of("/x?per_page=zz&page=0"),
            Page {
                per_page: 30,
                page: 1
            }
        );
        assert_eq!(Page::of("/x?page=9&per_page=100").range(150), 150..150);
    }

    #[test]
    fn link_names_next_and_last_then_prev_and_first() {
        let u = "https://h:1/r";
        let first = Page::of("?per_page=100").link(u, 150).unwrap_or_default();
        assert_eq!(
            first,
            "<https://h:1/r?per_page=100&page=2>; rel=\"next\", <https://h:1/r?per_page=100&page=2>; rel=\"last\""
        );
        let last = Page::of("?per_page=100&page=2")
            .link(u, 150)
            .unwrap_or_default();
        assert!(
            !last.contains("next") && last.contains("rel=\"first\""),
            "{last}"
        );
        assert_eq!(Page::of("?per_page=100").link(u, 100), None);
    }

    #[test]
    fn budget_headers_count_down_and_refuse_past_the_limit() {
        let b = Budget {
            limit: 60,
            used: 60,
            reset: 7,
        };
        assert!(!b.exhausted());
        assert!(
            b.headers()
                .contains(&("X-RateLimit-Remaining".into(), "0".into()))
        );
        assert!(Budget { used: 61, ..b }.exhausted());
    }
}
