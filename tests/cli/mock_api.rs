//! Issue 15 (10): `sim serve` answers as GitHub's REST API does, checked by the `--truth` client
//! (`grade --truth`) over real TLS and against GitHub's own OpenAPI description.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::sim::Server;
use super::support::espcheck;

fn log(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(name)
}

/// `grade LOG --truth --json` against the mock; the exit code and the JSON report.
fn grade_truth(server: &Server, token: Option<&str>) -> (i32, Value) {
    let mut cmd = espcheck();
    cmd.arg("grade")
        .arg(log("core3x_pass.log"))
        .args(["--truth", "--json", "--api-base"])
        .arg(format!("https://127.0.0.1:{}", server.port))
        .arg("--ca-file")
        .arg(server.file("root.pem"))
        .env_remove("GITHUB_TOKEN");
    if let Some(t) = token {
        cmd.env("GITHUB_TOKEN", t);
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

#[test]
fn truth_pages_through_150_check_runs_and_run_150_failed_gives_no_pass() {
    let server = Server::start(&["--check-runs", "150", "--fail-last"]);
    let (code, v) = grade_truth(&server, None);
    assert_eq!(v["truth"]["check_runs"]["total"], 150, "{v}");
    assert_eq!(v["truth"]["check_runs"]["failure"], 1, "{v}");
    assert_eq!(v["truth"]["ci"], "red", "{v}");
    assert_ne!(code, 0, "no PASS: {v}");
}

#[test]
fn a_wrong_token_unknown_repo_or_ref_and_a_rate_limit_keep_the_boards_report() {
    let locked = Server::start(&["--token", "right-token"]);
    let (code, v) = grade_truth(&locked, Some("wrong-token"));
    assert_eq!(v["verdict"], "pass", "{v}");
    let why = v["truth_unavailable"].as_str().unwrap_or_default();
    assert!(
        why.contains("401") && why.contains("GITHUB_TOKEN was refused"),
        "{v}"
    );
    assert!(
        !why.contains("wrong-token"),
        "the token is not shown: {why}"
    );
    assert_eq!(code, 4, "{v}");
    let (code, v) = grade_truth(&locked, Some("right-token"));
    assert_eq!((code, v["truth"]["ci"].as_str()), (0, Some("green")), "{v}");

    let elsewhere = Server::start(&["--repo", "espressif/arduino-esp32"]);
    let (_, v) = grade_truth(&elsewhere, None);
    let why = v["truth_unavailable"].as_str().unwrap_or_default();
    assert!(why.contains("404"), "{v}");

    let other_ref = Server::start(&["--ref", "release/3.0"]);
    let (_, v) = grade_truth(&other_ref, None);
    let why = v["truth_unavailable"].as_str().unwrap_or_default();
    assert!(
        why.contains("422") && why.contains("No commit found"),
        "{v}"
    );

    let limited = Server::start(&["--rate-limit", "secondary"]);
    let (code, v) = grade_truth(&limited, None);
    let why = v["truth_unavailable"].as_str().unwrap_or_default();
    assert!(
        why.contains("rate limit") && why.contains("retry after 60 s"),
        "{v}"
    );
    assert_eq!((code, v["verdict"].as_str()), (4, Some("pass")), "{v}");
}

#[test]
fn curl_sees_rate_limit_headers_an_etag_and_304_on_if_none_match() {
    let server = Server::start(&[]);
    let path = "/repos/esp8266/Arduino/commits/master/status";
    let Some((head, _)) = server.curl(&[], path) else {
        return;
    };
    let lower = head.to_ascii_lowercase();
    let value = |name: &str| {
        lower
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|v| v.trim().to_owned())
    };
    assert_eq!(value("x-ratelimit-limit").as_deref(), Some("60"), "{head}");
    assert_eq!(value("x-ratelimit-used").as_deref(), Some("1"), "{head}");
    assert_eq!(
        value("x-ratelimit-remaining").as_deref(),
        Some("59"),
        "{head}"
    );
    assert!(value("x-ratelimit-reset").is_some(), "{head}");
    let tag = value("etag").unwrap();
    let (again, body) = server
        .curl(&["-H", &format!("If-None-Match: {tag}")], path)
        .unwrap();
    assert!(again.starts_with("HTTP/1.1 304"), "{again}");
    assert!(body.is_empty());
    assert!(
        again.to_ascii_lowercase().contains("x-ratelimit-used: 2"),
        "each answer is counted: {again}"
    );
}

/// GitHub's published OpenAPI description, installed by `.ci/run` from npm.
fn openapi() -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".ci/openapi/node_modules/@octokit/openapi/generated/api.github.com.json");
    match std::fs::read(&path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).unwrap()),
        Err(_) => {
            eprintln!(
                "SKIPPING the OpenAPI check: {} is missing; install it with \
                 `npm install --prefix .ci/openapi @octokit/openapi` (.ci/run does)",
                path.display()
            );
            None
        }
    }
}

/// Follow a `#/components/...` reference.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = r
                .strip_prefix('#')
                .and_then(|p| root.pointer(p))
                .unwrap_or_else(|| panic!("unresolved {r}"));
            resolve(root, target)
        }
        None => schema,
    }
}

/// Where `value` breaks `schema`: missing required fields and wrong types (OpenAPI 3.0
/// `nullable` and 3.1 type lists both read), enums, and `anyOf`/`oneOf`/`allOf`.
fn violations(root: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(root, schema);
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fits = options.iter().any(|o| {
                let mut errs = Vec::new();
                violations(root, o, value, at, &mut errs);
                errs.is_empty()
            });
            if !fits {
                out.push(format!("{at}: matches none of {key}"));
            }
            return;
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            violations(root, s, value, at, out);
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable = schema.get("nullable") == Some(&Value::Bool(true)) || types.contains(&"null");
    if value.is_null() && nullable {
        return;
    }
    if types.is_empty() {
        return;
    }
    let fits = types.iter().any(|t| match *t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    });
    if !fits {
        out.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let (Some(allowed), Some(_)) = (schema.get("enum").and_then(Value::as_array), value.as_str())
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(obj) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(name) {
                out.push(format!("{at}.{name}: required, missing"));
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                if let Some(v) = obj.get(name) {
                    violations(root, sub, v, &format!("{at}.{name}"), out);
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            violations(root, items, v, &format!("{at}[{i}]"), out);
        }
    }
}

#[test]
fn answers_match_githubs_openapi_description_for_both_endpoints() {
    let Some(spec) = openapi() else {
        return;
    };
    let cases: [(&[&str], &str, &str); 4] = [
        (&[], "status", "/repos/{owner}/{repo}/commits/{ref}/status"),
        (
            &[],
            "check-runs",
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        ),
        (
            &["--state", "pending"],
            "check-runs",
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        ),
        (
            &["--actions-only"],
            "status",
            "/repos/{owner}/{repo}/commits/{ref}/status",
        ),
    ];
    for (flags, last, template) in cases {
        let server = Server::start(flags);
        let path = format!("/repos/esp8266/Arduino/commits/master/{last}");
        let Some((_, body)) = server.curl(&[], &path) else {
            return;
        };
        let value: Value = serde_json::from_str(&body).unwrap();
        let schema = spec
            .pointer(&format!(
                "/paths/{}/get/responses/200/content/application~1json/schema",
                template.replace('~', "~0").replace('/', "~1")
            ))
            .unwrap_or_else(|| panic!("no schema for {template}"));
        let mut errs = Vec::new();
        violations(&spec, schema, &value, "$", &mut errs);
        assert!(errs.is_empty(), "{flags:?} {path}:\n{}", errs.join("\n"));
    }
}

#[test]
fn the_checker_catches_a_missing_field_and_a_wrong_type() {
    let Some(spec) = openapi() else {
        return;
    };
    let schema = serde_json::json!({"$ref": "#/components/schemas/combined-commit-status"});
    let bad = serde_json::json!({"state": 1, "sha": "x", "statuses": []});
    let mut errs = Vec::new();
    violations(&spec, &schema, &bad, "$", &mut errs);
    assert!(errs.iter().any(|e| e.contains("$.state")), "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("$.total_count: required")),
        "{errs:?}"
    );
}

#[test]
fn a_repo_that_is_not_owner_slash_name_is_a_usage_error() {
    let out = espcheck()
        .args([
            "sim",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--repo",
            "just-a-name",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("OWNER/NAME"), "{err}");
}
