//! `ci-medic annotate` (the compiled binary) against the GitHub replay server: one
//! check run on the PR head, one annotation per failed test with its error type,
//! sent 50 per request as GitHub requires, every request checked against GitHub's
//! OpenAPI description.

use crate::common;

use std::path::Path;

use common::{checkout_with_run, ci_medic};
use scenario_harness::github::{GithubReplay, Repo};
use serde_json::{Value, json};

const TOKEN: &str = "ghs_replayInstallationToken0123456789ab";

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Makes the recorded run's failures `copies` times as many (distinct tests),
/// and classifies the bundle again.
fn multiply_failures(dir: &Path, copies: usize) -> usize {
    let path = dir.join("bundle/bundle.json");
    let mut bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("bundle")).expect("json");
    let tests = bundle["tests"].as_array().expect("tests").clone();
    let failing: Vec<&Value> = tests
        .iter()
        .filter(|t| t["status"] == "unexpected")
        .collect();
    let mut all = tests.clone();
    for copy in 1..copies {
        for t in &failing {
            let mut t = (*t).clone();
            t["id"] = json!(format!("{} #{copy}", t["id"].as_str().expect("id")));
            t["title_path"]
                .as_array_mut()
                .expect("title path")
                .push(json!(format!("copy {copy}")));
            all.push(t);
        }
    }
    let failed = failing.len() * copies;
    bundle["summary"]["failed"] = json!(failed);
    bundle["summary"]["tests"] = json!(all.len());
    bundle["tests"] = Value::Array(all);
    std::fs::write(&path, bundle.to_string()).expect("write");
    let o = ci_medic(dir, &["classify", "bundle"], &[]);
    ok(&o);
    failed
}

#[test]
fn a_check_run_carries_every_failure_in_batches_of_fifty() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4201");
    let failed = multiply_failures(&dir, 60);
    assert_eq!(failed, 120);
    let replay = GithubReplay::start(Repo::new("acme", "shop").with_open_pull("feature/x", "main"))
        .expect("replay");
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        json!({"number": 1, "pull_request": {"number": 1, "head": {"sha": head, "repo": {"full_name": "acme/shop"}},
               "base": {"repo": {"full_name": "acme/shop"}}}})
        .to_string(),
    )
    .expect("event");
    let output = dir.join("gh-output");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().expect("path")),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_API_URL", replay.api_base()),
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_OUTPUT", output.to_str().expect("path")),
    ];
    let stderr = ok(&ci_medic(&dir, &["annotate"], &env));
    assert!(
        stderr.contains("120 annotation(s) in 3 request(s), conclusion neutral"),
        "{stderr}"
    );
    assert_eq!(
        replay.operations(),
        ["checks/create", "checks/update", "checks/update"]
    );
    let repo = replay.repo();
    let run = &repo.check_runs[0];
    assert_eq!(run.name, "ci-medic");
    assert_eq!(run.head_sha, head, "the PR head, not a merge commit");
    assert_eq!(run.annotations.len(), 120);
    assert_eq!(run.annotation_batches, 3);
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("neutral"));
    assert_eq!(
        run.title.as_deref(),
        Some("120 failed, 0 flaky, 6 passed — selector_drift")
    );
    let first = &run.annotations[0];
    assert_eq!(first["annotation_level"], "failure");
    assert!(
        first["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(".spec.ts")),
        "{first}"
    );
    assert!(first["start_line"].as_u64().is_some_and(|l| l >= 1));
    assert!(
        first["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("· selector_drift")),
        "{first}"
    );
    assert!(
        first["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("selector_drift (confidence ")),
        "{first}"
    );
    // The first request is still in progress; the last completes the run.
    let writes = replay.writes();
    assert_eq!(writes[0].json()["status"], "in_progress");
    assert!(writes[0].json().get("conclusion").is_none());
    assert_eq!(writes[2].json()["conclusion"], "neutral");
    let out = std::fs::read_to_string(&output).expect("outputs");
    assert!(out.contains("annotations=120"), "{out}");

    // A red check when asked for, in one request when there are few failures.
    let (_tmp2, dir2) = checkout_with_run("selector_drift", "4202");
    let env2: Vec<(&str, &str)> = env.to_vec();
    ok(&ci_medic(
        &dir2,
        &[
            "annotate",
            "--conclusion-on-failure",
            "failure",
            "--name",
            "e2e diagnosis",
        ],
        &env2,
    ));
    let repo = replay.repo();
    let run = &repo.check_runs[1];
    assert_eq!(
        (
            run.name.as_str(),
            run.conclusion.as_deref(),
            run.annotation_batches
        ),
        ("e2e diagnosis", Some("failure"), 1)
    );
    assert_eq!(run.annotations.len(), 2);
}

#[test]
fn a_green_run_is_a_green_check_without_annotations_and_dry_run_writes_nothing() {
    let (_tmp, dir) = checkout_with_run("all_green", "4203");
    let replay = GithubReplay::start(Repo::new("acme", "shop")).expect("replay");
    let head = replay.repo().head("main").expect("head").to_owned();
    let env = [
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_API_URL", replay.api_base()),
        ("GITHUB_TOKEN", TOKEN),
    ];
    let o = ci_medic(&dir, &["annotate", "--dry-run"], &env);
    ok(&o);
    let printed: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(printed["conclusion"], "success");
    assert_eq!(printed["annotations"], json!([]));
    assert!(replay.requests().is_empty());

    ok(&ci_medic(&dir, &["annotate", "--sha", &head], &env));
    let repo = replay.repo();
    assert_eq!(repo.check_runs.len(), 1);
    assert_eq!(repo.check_runs[0].conclusion.as_deref(), Some("success"));
    assert!(repo.check_runs[0].annotations.is_empty());

    // Without --sha or an event, the bundle's commit (this checkout's HEAD) is
    // used; GitHub does not know it: reported, exit 0 (1 with --strict).
    let stderr = ok(&ci_medic(&dir, &["annotate"], &env));
    assert!(
        stderr.contains("the check run was not written: POST /repos/acme/shop/check-runs (create the check run) failed: GitHub answered HTTP 422"),
        "{stderr}"
    );
    let o = ci_medic(&dir, &["annotate", "--strict"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(replay.repo().check_runs.len(), 1);
}
