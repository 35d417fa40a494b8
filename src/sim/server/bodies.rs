//! The bodies of the mock's two GitHub endpoints, with every field GitHub's OpenAPI description
//! requires (checked in tests/cli/mock_api.rs): a combined status and a page of check runs.

use std::collections::BTreeMap;

use serde::Serialize;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;

use super::api::{Api, CiState};
use super::gate::Page;
use super::http::Request;

pub struct Ctx<'a> {
    api: &'a Api,
    owner: String,
    repo: String,
    pub sha: String,
    stamp: String,
    /// Where the client reached us (`Host`), for the `Link` URLs it follows.
    here: String,
}

impl<'a> Ctx<'a> {
    pub fn new(api: &'a Api, ran: OffsetDateTime, req: &Request) -> Self {
        let (owner, repo) = api
            .scenario
            .repo
            .split_once('/')
            .unwrap_or((&api.scenario.repo, ""));
        let git_ref = &api.scenario.git_ref;
        let is_sha = git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit());
        // A stable fake commit per ref, so repeated requests agree.
        let sha = if is_sha {
            git_ref.to_ascii_lowercase()
        } else {
            hex::encode(Sha1::digest(format!("{owner}/{repo}@{git_ref}").as_bytes()))
        };
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let stamp = (ran.to_offset(time::UtcOffset::UTC) - time::Duration::minutes(5))
            .format(&fmt)
            .unwrap_or_default();
        let here = req
            .header("host")
            .map(str::trim)
            .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '<', '>']))
            .unwrap_or(&api.host)
            .to_owned();
        Ctx {
            api,
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            sha,
            stamp,
            here,
        }
    }

    fn base(&self) -> String {
        format!(
            "https://{}/repos/{}/{}",
            self.api.host, self.owner, self.repo
        )
    }

    pub fn base_here(&self) -> String {
        format!("https://{}/repos/{}/{}", self.here, self.owner, self.repo)
    }

    pub fn combined_status(&self, page: Page) -> CombinedStatus {
        let base = self.base();
        let all = if self.api.actions_only {
            Vec::new()
        } else {
            let mut list = vec![self.status(
                1,
                "continuous-integration/travis-ci/push",
                self.api.state.as_str(),
            )];
            if self.api.state != CiState::Pending {
                list.push(self.status(2, "codecov/project", "success"));
            }
            list
        };
        let total_count = all.len();
        let statuses = all[page.range(total_count)].to_vec();
        CombinedStatus {
            state: if self.api.actions_only {
                "pending"
            } else {
                self.api.state.combined()
            },
            total_count,
            statuses,
            sha: self.sha.clone(),
            repository: Repository {
                id: 32969220,
                node_id: "MDEwOlJlcG9zaXRvcnkzMjk2OTIyMA==",
                name: self.repo.clone(),
                full_name: format!("{}/{}", self.owner, self.repo),
                private: false,
                owner: self.owner(&self.owner, 11807367, "Organization"),
                html_url: format!("https://github.com/{}/{}", self.owner, self.repo),
                description: Some("The repository the mock was started for".to_owned()),
                fork: false,
                url: base.clone(),
                links: REPO_LINKS
                    .iter()
                    .map(|(name, tail)| (*name, format!("{base}/{tail}")))
                    .collect(),
            },
            commit_url: format!("{base}/commits/{}", self.sha),
            url: format!("{}/commits/{}/status", self.base_here(), self.sha),
        }
    }

    /// A `simple-user` (an organisation here) as GitHub embeds it.
    fn owner(&self, login: &str, id: u64, kind: &'static str) -> Owner {
        let url = format!("https://{}/users/{login}", self.api.host);
        Owner {
            login: login.to_owned(),
            id,
            node_id: "MDEyOk9yZ2FuaXphdGlvbjExODA3MzY3",
            avatar_url: format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            gravatar_id: Some(String::new()),
            html_url: format!("https://github.com/{login}"),
            kind,
            site_admin: false,
            links: USER_LINKS
                .iter()
                .map(|(name, tail)| (*name, format!("{url}/{tail}")))
                .collect(),
            url,
        }
    }

    fn status(&self, id: u64, context: &'static str, state: &'static str) -> Status {
        let description = match state {
            "success" => "The build passed",
            "pending" => "The build is in progress",
            "error" => "The build could not complete due to an error",
            _ => "The build failed",
        };
        Status {
            url: format!("{}/statuses/{}", self.base(), self.sha),
            id: 677326371 + id,
            state,
            description,
            target_url: format!(
                "https://ci.example.invalid/{}/{}/{id}",
                self.owner, self.repo
            ),
            context,
            node_id: "MDEzOlN0YXR1c0NvbnRleHQ2NzczMjYzNzI=",
            avatar_url: Some("https://avatars.githubusercontent.com/oa/4808?v=4"),
            created_at: self.stamp.clone(),
            updated_at: self.stamp.clone(),
        }
    }

    pub fn check_runs(&self, page: Page) -> CheckRuns {
        let total = self.api.scenario.check_runs;
        let check_runs = page
            .range(total)
            .map(|i| self.check_run(i, total))
            .collect();
        CheckRuns {
            total_count: total,
            check_runs,
        }
    }

    /// Run `i` (0-based) of `total`.
    fn check_run(&self, i: usize, total: usize) -> CheckRun {
        let state = if self.api.scenario.fail_last && i + 1 < total {
            CiState::Success
        } else if self.api.scenario.fail_last && self.api.state == CiState::Success {
            CiState::Failure
        } else {
            self.api.state
        };
        let (status, conclusion, completed_at) = match state {
            CiState::Pending => ("in_progress", None, None),
            CiState::Success => ("completed", Some("success"), Some(self.stamp.clone())),
            CiState::Failure | CiState::Error => {
                ("completed", Some("failure"), Some(self.stamp.clone()))
            }
        };
        let id = 4_000_000_001 + i as u64;
        CheckRun {
            id,
            name: if total == 1 {
                "build".to_owned()
            } else {
                format!("build ({})", i + 1)
            },
            head_sha: self.sha.clone(),
            url: format!("{}/check-runs/{id}", self.base()),
            html_url: format!("https://github.com/{}/{}/runs/{id}", self.owner, self.repo),
            details_url: Some(format!(
                "https://github.com/{}/{}/runs/{id}",
                self.owner, self.repo
            )),
            node_id: "CR_kwDOAfcZxM8AAAAA7nrKAQ",
            external_id: Some(String::new()),
            status,
            conclusion,
            started_at: self.stamp.clone(),
            completed_at,
            output: Output {
                title: None,
                summary: None,
                text: None,
                annotations_count: 0,
                annotations_url: format!("{}/check-runs/{id}/annotations", self.base()),
            },
            check_suite: Some(Suite { id: 3_000_000_001 }),
            app: App {
                id: 15368,
                slug: "github-actions",
                node_id: "MDM6QXBwMTUzNjg=",
                owner: self.owner("github", 9919, "Organization"),
                name: "GitHub Actions",
                description: "Automate your workflow from idea to production",
                external_url: "https://help.github.com/en/actions",
                html_url: "https://github.com/apps/github-actions",
                created_at: "2018-07-30T09:30:17Z",
                updated_at: "2024-04-10T20:33:16Z",
                permissions: BTreeMap::from([("checks", "write"), ("metadata", "read")]),
                events: Vec::new(),
            },
            pull_requests: Vec::new(),
        }
    }
}

/// The URL templates of a `minimal-repository`, after its API URL.
const REPO_LINKS: &[(&str, &str)] = &[
    ("archive_url", "{archive_format}{/ref}"),
    ("assignees_url", "assignees{/user}"),
    ("blobs_url", "git/blobs{/sha}"),
    ("branches_url", "branches{/branch}"),
    ("collaborators_url", "collaborators{/collaborator}"),
    ("comments_url", "comments{/number}"),
    ("commits_url", "commits{/sha}"),
    ("compare_url", "compare/{base}...{head}"),
    ("contents_url", "contents/{+path}"),
    ("contributors_url", "contributors"),
    ("deployments_url", "deployments"),
    ("downloads_url", "downloads"),
    ("events_url", "events"),
    ("forks_url", "forks"),
    ("git_commits_url", "git/commits{/sha}"),
    ("git_refs_url", "git/refs{/sha}"),
    ("git_tags_url", "git/tags{/sha}"),
    ("hooks_url", "hooks"),
    ("issue_comment_url", "issues/comments{/number}"),
    ("issue_events_url", "issues/events{/number}"),
    ("issues_url", "issues{/number}"),
    ("keys_url", "keys{/key_id}"),
    ("labels_url", "labels{/name}"),
    ("languages_url", "languages"),
    ("merges_url", "merges"),
    ("milestones_url", "milestones{/number}"),
    (
        "notifications_url",
        "notifications{?since,all,participating}",
    ),
    ("pulls_url", "pulls{/number}"),
    ("releases_url", "releases{/id}"),
    ("stargazers_url", "stargazers"),
    ("statuses_url", "statuses/{sha}"),
    ("subscribers_url", "subscribers"),
    ("subscription_url", "subscription"),
    ("tags_url", "tags"),
    ("teams_url", "teams"),
    ("trees_url", "git/trees{/sha}"),
];

/// The URL templates of a `simple-user`, after its API URL.
const USER_LINKS: &[(&str, &str)] = &[
    ("events_url", "events{/privacy}"),
    ("followers_url", "followers"),
    ("following_url", "following{/other_user}"),
    ("gists_url", "gists{/gist_id}"),
    ("organizations_url", "orgs"),
    ("received_events_url", "received_events"),
    ("repos_url", "repos"),
    ("starred_url", "starred{/owner}{/repo}"),
    ("subscriptions_url", "subscriptions"),
];

#[derive(Serialize)]
pub struct CombinedStatus {
    state: &'static str,
    statuses: Vec<Status>,
    sha: String,
    pub total_count: usize,
    repository: Repository,
    commit_url: String,
    pub url: String,
}

#[derive(Serialize, Clone)]
struct Status {
    url: String,
    id: u64,
    state: &'static str,
    description: &'static str,
    target_url: String,
    context: &'static str,
    node_id: &'static str,
    avatar_url: Option<&'static str>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
struct Repository {
    id: u64,
    node_id: &'static str,
    name: String,
    full_name: String,
    private: bool,
    owner: Owner,
    html_url: String,
    description: Option<String>,
    fork: bool,
    url: String,
    #[serde(flatten)]
    links: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Owner {
    login: String,
    id: u64,
    node_id: &'static str,
    avatar_url: String,
    gravatar_id: Option<String>,
    html_url: String,
    #[serde(rename = "type")]
    kind: &'static str,
    site_admin: bool,
    url: String,
    #[serde(flatten)]
    links: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
pub struct CheckRuns {
    pub total_count: usize,
    check_runs: Vec<CheckRun>,
}

#[derive(Serialize)]
struct CheckRun {
    id: u64,
    name: String,
    head_sha: String,
    url: String,
    html_url: String,
    details_url: Option<String>,
    node_id: &'static str,
    external_id: Option<String>,
    status: &'static str,
    conclusion: Option<&'static str>,
    started_at: String,
    completed_at: Option<String>,
    output: Output,
    check_suite: Option<Suite>,
    app: App,
    pull_requests: Vec<()>,
}

#[derive(Serialize)]
struct Output {
    title: Option<String>,
    summary: Option<String>,
    text: Option<String>,
    annotations_count: u64,
    annotations_url: String,
}

#[derive(Serialize)]
struct Suite {
    id: u64,
}

/// The GitHub App behind a check run (`integration`).
#[derive(Serialize)]
struct App {
    id: u64,
    slug: &'static str,
    node_id: &'static str,
    owner: Owner,
    name: &'static str,
    description: &'static str,
    external_url: &'static str,
    html_url: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
    permissions: BTreeMap<&'static str, &'static str>,
    events: Vec<&'static str>,
}
