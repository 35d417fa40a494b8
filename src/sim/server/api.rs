//! The mock GitHub REST API (pure): combined status, check runs (paged, see [`gate`]), GitHub's
//! refusals (no User-Agent 403, bad token 401, unknown repository 404, unknown ref 422, rate
//! limits 403), ETag/304, and a POST echo. Bodies are shaped like GitHub's and keep its field order, since the reference sketch only
//! looks at whether the body *starts with* `{"state":"success"`.

use serde::Serialize;
use time::OffsetDateTime;

use super::bodies::Ctx;
use super::gate::{self, Budget, Page};
use super::http::{Request, Response};

/// A rate-limit fault the mock can be asked to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// The hourly budget is spent: 403, `X-RateLimit-Remaining: 0`.
    Primary,
    /// Too many requests too fast: 403 with `Retry-After`.
    Secondary,
}

/// The CI state the mock reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CiState {
    Success,
    Failure,
    Pending,
    /// A single status in `error`; GitHub folds that into a combined `failure`.
    Error,
}

impl CiState {
    /// The combined `state` GitHub reports: never `error`.
    pub fn combined(self) -> &'static str {
        match self {
            CiState::Success => "success",
            CiState::Failure | CiState::Error => "failure",
            CiState::Pending => "pending",
        }
    }

    /// Name as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CiState::Success => "success",
            CiState::Failure => "failure",
            CiState::Pending => "pending",
            CiState::Error => "error",
        }
    }
}

/// What the API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// The API host, used in the URLs inside the bodies.
    pub host: String,
    pub state: CiState,
    /// GitHub Actions only: no commit statuses, check runs carry the state.
    pub actions_only: bool,
    /// Pretty JSON (what GitHub gives curl) instead of compact.
    pub pretty: bool,
    pub scenario: Scenario,
}

/// What exists and who may read it: the repository, ref and check runs the mock serves, the
/// token it demands, and the rate-limit fault it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The one repository that exists (`owner/name`, case-insensitive as on GitHub).
    pub repo: String,
    /// The one ref that exists (its fake commit SHA works too).
    pub git_ref: String,
    /// When set, every request must carry this token.
    pub token: Option<String>,
    /// How many check runs the commit has.
    pub check_runs: usize,
    /// All check runs succeed except the last, which has `state`'s conclusion.
    pub fail_last: bool,
    pub rate_limit: Option<RateLimit>,
}

impl Default for Scenario {
    /// Today's defaults: `esp8266/Arduino@master`, one check run, no token, no faults.
    fn default() -> Self {
        Scenario {
            repo: "esp8266/Arduino".to_owned(),
            git_ref: "master".to_owned(),
            token: None,
            check_runs: 1,
            fail_last: false,
            rate_limit: None,
        }
    }
}

const NO_UA: &str = "Request forbidden by administrative rules. Please make sure your request has a \
User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). \
Check https://developer.github.com for other possible causes.";

/// Answer one request (pure). `ran` is when CI ran (stable, so ETags are); `budget` is the
/// caller's rate-limit count for this request.
pub fn respond(api: &Api, req: &Request, ran: OffsetDateTime, budget: Budget) -> Response {
    let budget = match api.scenario.rate_limit {
        Some(RateLimit::Primary) => Budget {
            used: budget.limit + 1,
            ..budget
        },
        _ => budget,
    };
    let mut resp = route(api, req, ran, budget);
    if resp.status == 200 && req.method != "POST" {
        let tag = gate::etag(&resp.body);
        if gate::not_modified(req, &tag) {
            resp.status = 304;
            resp.reason = "Not Modified";
            resp.body.clear();
            resp.headers.retain(|(n, _)| n != "Content-Type");
        }
        resp.headers.push(("ETag".into(), tag));
    }
    if req.method != "POST" {
        resp.headers.extend(budget.headers());
    }
    resp
}

fn route(api: &Api, req: &Request, ran: OffsetDateTime, budget: Budget) -> Response {
    if req
        .header("user-agent")
        .is_none_or(|ua| ua.trim().is_empty())
    {
        return json(api, 403, "Forbidden", &Message::new(NO_UA));
    }
    if req.method == "POST" {
        return json(api, 200, "OK", &Echo::of(req));
    }
    if req.method != "GET" && req.method != "HEAD" {
        return json(api, 404, "Not Found", &Message::not_found());
    }
    if let Some(want) = &api.scenario.token {
        match gate::token_of(req) {
            Some(t) if t == want => {}
            Some(_) => {
                return json(
                    api,
                    401,
                    "Unauthorized",
                    &Message::status("Bad credentials", DOCS, "401"),
                );
            }
            None => {
                return json(
                    api,
                    401,
                    "Unauthorized",
                    &Message::status("Requires authentication", DOCS, "401"),
                );
            }
        }
    }
    if budget.exhausted() {
        return json(
            api,
            403,
            "Forbidden",
            &Message::status(PRIMARY, gate::PRIMARY_DOCS, "403"),
        );
    }
    if api.scenario.rate_limit == Some(RateLimit::Secondary) {
        let mut resp = json(
            api,
            403,
            "Forbidden",
            &Message::status(gate::SECONDARY_LIMIT, gate::SECONDARY_DOCS, "403"),
        );
        resp.headers
            .push(("Retry-After".into(), gate::RETRY_AFTER.to_string()));
        return resp;
    }
    let segments: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["repos", owner, repo, "commits", rest @ .., last] if !rest.is_empty() => {
            if !format!("{owner}/{repo}").eq_ignore_ascii_case(&api.scenario.repo) {
                return json(api, 404, "Not Found", &Message::not_found());
            }
            let git_ref = rest.join("/");
            let ctx = Ctx::new(api, ran, req);
            if git_ref != api.scenario.git_ref && !git_ref.eq_ignore_ascii_case(&ctx.sha) {
                let text = format!("No commit found for SHA: {git_ref}");
                return json(api, 422, "Unprocessable Entity", &Unknown::of(text));
            }
            let page = Page::of(&req.target);
            let (mut resp, url, total) = match *last {
                "status" => {
                    let body = ctx.combined_status(page);
                    let total = body.total_count;
                    (json(api, 200, "OK", &body), body.url.clone(), total)
                }
                "check-runs" => {
                    let body = ctx.check_runs(page);
                    let total = body.total_count;
                    let url = format!("{}/commits/{git_ref}/check-runs", ctx.base_here());
                    (json(api, 200, "OK", &body), url, total)
                }
                _ => return json(api, 404, "Not Found", &Message::not_found()),
            };
            if let Some(link) = page.link(&url, total) {
                resp.headers.push(("Link".into(), link));
            }
            resp
        }
        _ => json(api, 404, "Not Found", &Message::not_found()),
    }
}

const DOCS: &str = "https://docs.github.com/rest";
const PRIMARY: &str = "API rate limit exceeded. (But here's the good news: Authenticated \
requests get a higher rate limit. Check out the documentation for more details.)";

fn json<T: Serialize>(api: &Api, status: u16, reason: &'static str, body: &T) -> Response {
    let mut bytes = if api.pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .unwrap_or_default();
    if api.pretty {
        bytes.push(b'\n');
    }
    Response {
        status,
        reason,
        headers: vec![
            ("Server".into(), "GitHub.com".into()),
            (
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            ),
            (
                "X-GitHub-Media-Type".into(),
                "github.v3; format=json".into(),
            ),
        ],
        body: bytes,
    }
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    documentation_url: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

impl Message {
    fn new(message: &'static str) -> Self {
        Message {
            message,
            documentation_url: None,
            status: None,
        }
    }
    fn not_found() -> Self {
        Message::status("Not Found", DOCS, "404")
    }
    fn status(message: &'static str, docs: &'static str, status: &'static str) -> Self {
        Message {
            message,
            documentation_url: Some(docs),
            status: Some(status),
        }
    }
}

/// GitHub's 422 for a ref with no commit.
#[derive(Serialize)]
struct Unknown {
    message: String,
    documentation_url: &'static str,
    status: &'static str,
}

impl Unknown {
    fn of(message: String) -> Self {
        Unknown {
            message,
            documentation_url: "https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference",
            status: "422",
        }
    }
}

/// What the echo reports about a POST.
#[derive(Serialize)]
struct Echo {
    method: String,
    path: String,
    version: String,
    /// `[name, value]` pairs in the order and case they were sent.
    headers: Vec<[String; 2]>,
    body: String,
    /// The body parsed as JSON, when it is JSON.
    json: Option<serde_json::Value>,
    /// The whole request exactly as received.
    raw: String,
}

impl Echo {
    fn of(req: &Request) -> Self {
        Echo {
            method: req.method.clone(),
            path: req.target.clone(),
            version: req.version(),
            headers: req
                .headers
                .iter()
                .map(|(n, v)| [n.clone(), v.clone()])
                .collect(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
            json: serde_json::from_slice(&req.body).ok(),
            raw: String::from_utf8_lossy(&req.raw).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    // Test code: a panic is the failure report.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::sim::server::http::{Parsed, parse_request};

    fn get(raw: &str, api: &Api) -> (u16, serde_json::Value, Vec<u8>) {
        let resp = answer(raw, api);
        (
            resp.status,
            serde_json::from_slice(&resp.body).unwrap(),
            resp.body,
        )
    }

    fn api(state: CiState, actions_only: bool) -> Api {
        Api {
            host: "api.github.com".into(),
            state,
            actions_only,
            pretty: false,
            scenario: Scenario::default(),
        }
    }

    const STATUS: &str = "GET /repos/esp8266/Arduino/commits/master/status HTTP/1.1\r\nHost: api.github.com\r\nUser-Agent: t\r\n\r\n";

    #[test]
    fn combined_status_starts_with_state_as_the_sketch_expects() {
        let (code, v, body) = get(STATUS, &api(CiState::Success, false));
        assert_eq!(code, 200);
        assert!(body.starts_with(br#"{"state":"success""#));
        assert_eq!(v["total_count"], 2);
        let (_, v, _) = get(STATUS, &api(CiState::Error, false));
        assert_eq!(v["state"], "failure", "combined state is never error");
        assert_eq!(v["statuses"][0]["state"], "error");
    }

    #[test]
    fn actions_only_is_pending_with_no_statuses_and_check_runs_carry_the_state() {
        let (_, v, _) = get(STATUS, &api(CiState::Success, true));
        assert_eq!(v["state"], "pending");
        assert_eq!(v["total_count"], 0);
        let runs = STATUS.replace("/status", "/check-runs");
        let (_, v, _) = get(&runs, &api(CiState::Success, true));
        assert_eq!(v["check_runs"][0]["conclusion"], "success");
    }

    #[test]
    fn no_user_agent_is_403_and_unknown_paths_404() {
        let (code, v, _) = get(
            "GET /repos/a/b/commits/main/status HTTP/1.1\r\nHost: x\r\n\r\n",
            &api(CiState::Success, false),
        );
        assert_eq!(code, 403);
        assert!(v["message"].as_str().unwrap().contains("User-Agent"));
        let (code, _, _) = get(
            "GET /nope HTTP/1.1\r\nUser-Agent: t\r\n\r\n",
            &api(CiState::Success, false),
        );
        assert_eq!(code, 404);
    }

    fn answer(raw: &str, api: &Api) -> Response {
        let Parsed::Complete(req, _) = parse_request(raw.as_bytes()).unwrap() else {
            panic!("partial")
        };
        let budget = Budget {
            limit: 60,
            used: 1,
            reset: 3600,
        };
        respond(api, &req, OffsetDateTime::UNIX_EPOCH, budget)
    }

    fn header<'r>(resp: &'r Response, name: &str) -> Option<&'r str> {
        resp.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn unknown_repository_is_404_unknown_ref_422_and_a_wrong_token_401() {
        let a = api(CiState::Success, false);
        let other = STATUS.replace("esp8266/Arduino", "esp8266/Nope");
        assert_eq!(answer(&other, &a).status, 404);
        let upper = STATUS.replace("esp8266/Arduino", "ESP8266/arduino");
        assert_eq!(answer(&upper, &a).status, 200, "names are case-insensitive");
        let (code, v, _) = get(&STATUS.replace("master", "no-such-branch"), &a);
        assert_eq!(code, 422);
        assert_eq!(v["message"], "No commit found for SHA: no-such-branch");
        let (_, v, _) = get(STATUS, &a);
        let by_sha = STATUS.replace("master", v["sha"].as_str().unwrap());
        assert_eq!(
            answer(&by_sha, &a).status,
            200,
            "the ref's commit SHA works"
        );

        let mut locked = a;
        locked.scenario.token = Some("s3cret".into());
        let (code, v, _) = get(STATUS, &locked);
        assert_eq!(
            (code, v["message"].as_str()),
            (401, Some("Requires authentication"))
        );
        let wrong = STATUS.replace(
            "User-Agent: t",
            "User-Agent: t\r\nAuthorization: Bearer nope",
        );
        let (code, v, _) = get(&wrong, &locked);
        assert_eq!(
            (code, v["message"].as_str()),
            (401, Some("Bad credentials"))
        );
        let right = STATUS.replace(
            "User-Agent: t",
            "User-Agent: t\r\nAuthorization: token s3cret",
        );
        assert_eq!(answer(&right, &locked).status, 200);
    }

    #[test]
    fn check_runs_page_with_a_link_to_the_host_asked_and_only_the_last_fails() {
        let mut a = api(CiState::Success, false);
        a.scenario.check_runs = 150;
        a.scenario.fail_last = true;
        let runs = STATUS
            .replace("/status", "/check-runs?per_page=100")
            .replace("Host: api.github.com", "Host: 127.0.0.1:4443");
        let first = answer(&runs, &a);
        let v: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(v["total_count"], 150);
        assert_eq!(v["check_runs"].as_array().unwrap().len(), 100);
        assert_eq!(v["check_runs"][99]["conclusion"], "success");
        let link = header(&first, "link").unwrap();
        assert!(
            link.starts_with("<https://127.0.0.1:4443/repos/esp8266/Arduino/commits/master/check-runs?per_page=100&page=2>; rel=\"next\""),
            "{link}"
        );
        let second = answer(&runs.replace("per_page=100", "per_page=100&page=2"), &a);
        let v: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
        let page = v["check_runs"].as_array().unwrap();
        assert_eq!(page.len(), 50);
        assert_eq!(page[49]["name"], "build (150)");
        assert_eq!(page[49]["conclusion"], "failure");
        assert_eq!(page[48]["conclusion"], "success");
        assert!(!header(&second, "link").unwrap().contains("next"));

        let statuses = STATUS.replace("/status", "/status?per_page=1");
        let r = answer(&statuses, &a);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (
                v["total_count"].as_u64(),
                v["statuses"].as_array().unwrap().len()
            ),
            (Some(2), 1)
        );
        assert!(
            header(&r, "link")
                .unwrap()
                .contains("page=2>; rel=\"next\"")
        );
    }

    #[test]
    fn every_answer_has_rate_limit_headers_and_an_etag_gets_304() {
        let a = api(CiState::Success, false);
        let r = answer(STATUS, &a);
        assert_eq!(header(&r, "x-ratelimit-limit"), Some("60"));
        assert_eq!(header(&r, "x-ratelimit-remaining"), Some("59"));
        assert_eq!(header(&r, "x-ratelimit-used"), Some("1"));
        assert_eq!(header(&r, "x-ratelimit-reset"), Some("3600"));
        let tag = header(&r, "etag").unwrap().to_owned();
        let again = STATUS.replace(
            "User-Agent: t",
            &format!("User-Agent: t\r\nIf-None-Match: W/{tag}"),
        );
        let r = answer(&again, &a);
        assert_eq!(r.status, 304);
        assert!(r.body.is_empty());
        assert_eq!(header(&r, "etag"), Some(tag.as_str()));
        let stale = STATUS.replace("User-Agent: t", "User-Agent: t\r\nIf-None-Match: \"0\"");
        assert_eq!(answer(&stale, &a).status, 200);

        let mut limited = a.clone();
        limited.scenario.rate_limit = Some(RateLimit::Secondary);
        let r = answer(STATUS, &limited);
        assert_eq!((r.status, header(&r, "retry-after")), (403, Some("60")));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("secondary rate limit")
        );
        let mut spent = a;
        spent.scenario.rate_limit = Some(RateLimit::Primary);
        let r = answer(STATUS, &spent);
        assert_eq!(
            (r.status, header(&r, "x-ratelimit-remaining")),
            (403, Some("0"))
        );
    }
}
