//! `ci-medic comment` (the compiled binary) against the GitHub replay server: real
//! HTTP on loopback, answers recorded from GitHub or documented by its OpenAPI
//! description, and every request checked against that description. The sticky
//! behaviour: the second run edits the first run's comment, no run ever adds a
//! second one, and nobody else's comment is touched.

use crate::common;

use std::path::{Path, PathBuf};

use common::{checkout_with_run, ci_medic};
use scenario_harness::github::{Canned, GithubReplay, Repo};
use serde_json::json;

const TOKEN: &str = "ghs_replayInstallationToken0123456789ab";
const MARKER: &str = "<!-- ci-medic:sticky-comment key=default -->";

/// A `pull_request` event for PR `number` of acme/shop (from `head_repo`).
fn pull_request_event(dir: &Path, number: u64, head_sha: &str, head_repo: &str) -> PathBuf {
    let path = dir.join("event.json");
    let payload = json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "feature/x", "sha": head_sha, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "repo": {"full_name": "acme/shop"}},
        },
        "repository": {"full_name": "acme/shop"},
    });
    std::fs::write(&path, payload.to_string()).expect("event");
    path
}

/// The Actions environment of a run of acme/shop against `replay`.
fn actions_env<'a>(
    replay: &'a GithubReplay,
    event_name: &'a str,
    event: &'a Path,
    output: &'a Path,
    run_id: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", event_name),
        ("GITHUB_EVENT_PATH", event.to_str().expect("path")),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_RUN_ID", run_id),
        ("GITHUB_API_URL", replay.api_base()),
        ("GITHUB_TOKEN", TOKEN),
        ("GITHUB_OUTPUT", output.to_str().expect("path")),
    ]
}

fn ok(o: &std::process::Output) -> (String, String) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn outputs(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_second_run_updates_the_first_runs_comment_and_leaves_everyone_elses_alone() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4101");
    let replay = GithubReplay::start(
        Repo::new("acme", "shop")
            .with_open_pull("feature/x", "main")
            .with_comment(1, "bob", "LGTM once CI is green")
            // Someone pasted our marker: it is not ours to edit.
            .with_comment(1, "alice", &format!("{MARKER}\nforged sticky comment")),
    )
    .expect("replay");
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = pull_request_event(&dir, 1, &head, "acme/shop");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "pull_request", &event, &output, "4101");

    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("created the comment on acme/shop#1"),
        "{stderr}"
    );
    let repo = replay.repo();
    let comments = repo.comments_on(1);
    assert_eq!(comments.len(), 3, "one comment added");
    let ours = comments[2];
    assert_eq!(ours.author, "github-actions[bot]");
    assert!(ours.body.starts_with(MARKER), "{}", ours.body);
    assert!(ours.body.contains("Playwright run failed"), "{}", ours.body);
    assert!(
        ours.body.contains("| `selector_drift` | 2 |"),
        "{}",
        ours.body
    );
    assert!(
        ours.body
            .contains("[run 4101 (attempt 1)](https://github.com/acme/shop/actions/runs/4101)"),
        "the run link: {}",
        ours.body
    );
    assert!(
        ours.body.contains(
            "[Download the dashboard](https://github.com/acme/shop/actions/runs/4101#artifacts)"
        ),
        "without Pages, the artifact: {}",
        ours.body
    );
    assert!(
        outputs(&output).contains("comment_action=created")
            && outputs(&output).contains(&format!("comment_id={}", ours.id)),
        "{}",
        outputs(&output)
    );
    let first_id = ours.id;
    let first_body = ours.body.clone();
    assert_eq!(
        replay.operations(),
        [
            "users/get-authenticated",
            "issues/list-comments",
            "issues/create-comment"
        ]
    );

    // The second run: self-heal ran in between, and the comment says so.
    ok(&ci_medic(&dir, &["heal", "--event", "push"], &[]));
    std::fs::remove_file(&output).ok();
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains(&format!(
            "updated the comment on acme/shop#1 (comment {first_id})"
        )),
        "{stderr}"
    );
    let repo = replay.repo();
    let comments = repo.comments_on(1);
    assert_eq!(comments.len(), 3, "never a second comment");
    assert_eq!(comments[2].id, first_id);
    assert_eq!(comments[2].edits, 1);
    assert_ne!(comments[2].body, first_body);
    assert!(
        comments[2].body.contains("**Self-heal:** ⏸️ refused"),
        "{}",
        comments[2].body
    );
    assert_eq!(comments[1].body, format!("{MARKER}\nforged sticky comment"));
    assert_eq!(comments[1].edits, 0, "alice's comment is untouched");
    assert_eq!(comments[0].edits, 0);
    assert!(outputs(&output).contains("comment_action=updated"));

    let writes = replay.writes();
    assert_eq!(writes.len(), 2, "one create, one update");
    assert_eq!(
        writes[1].operation.as_deref(),
        Some("issues/update-comment")
    );
    assert_eq!(
        writes[1].params.get("comment_id").map(String::as_str),
        Some(first_id.to_string().as_str())
    );
    for w in &writes {
        assert_eq!(
            w.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
}

#[test]
fn a_users_token_is_known_by_get_user_and_an_app_token_by_author() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4102");
    // An earlier comment of Actions' token: a user's token does not edit it.
    let replay = GithubReplay::start(
        Repo::new("acme", "shop")
            .with_open_pull("feature/x", "main")
            .with_comment(1, "github-actions[bot]", &format!("{MARKER}\nfrom the bot"))
            .acting_as_user("octocat"),
    )
    .expect("replay");
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = pull_request_event(&dir, 1, &head, "acme/shop");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "pull_request", &event, &output, "4102");
    ok(&ci_medic(&dir, &["comment"], &env));
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(stderr.contains("updated the comment"), "{stderr}");
    let repo = replay.repo();
    let comments = repo.comments_on(1);
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0].edits, 0, "the bot's comment is left alone");
    assert_eq!(
        (comments[1].author.as_str(), comments[1].edits),
        ("octocat", 1)
    );

    // A GitHub App's installation token: GET /user says 403, so the token is taken
    // for Actions' own; the comment then comes back as the app's, and the user is
    // told to pass --author. With it, the next run updates that comment.
    let replay = GithubReplay::start(
        Repo::new("acme", "shop")
            .with_open_pull("feature/x", "main")
            .acting_as_app("medic"),
    )
    .expect("replay");
    let env = actions_env(&replay, "pull_request", &event, &output, "4102");
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("the comment was written as medic[bot], not github-actions[bot]")
            && stderr.contains("pass --author medic[bot]"),
        "{stderr}"
    );
    let mut with_author = env.clone();
    with_author.push(("CI_MEDIC_COMMENT_AUTHOR", "medic[bot]"));
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &with_author));
    assert!(stderr.contains("updated the comment"), "{stderr}");
    let repo = replay.repo();
    assert_eq!(repo.comments_on(1).len(), 1);
    assert_eq!(repo.comments_on(1)[0].edits, 1);
    assert!(
        !replay
            .operations()
            .iter()
            .skip(3)
            .any(|op| op == "users/get-authenticated"),
        "with --author, nobody asks GitHub who the token is"
    );
}

#[test]
fn dry_run_prints_the_comment_and_says_what_it_would_do_without_writing() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4103");
    // Locally, with no GitHub at all: the comment is printed.
    let o = ci_medic(&dir, &["comment", "--dry-run", "--pr", "1"], &[]);
    let (stdout, stderr) = ok(&o);
    assert!(stdout.starts_with(MARKER), "{stdout}");
    assert!(
        stdout.contains("<details><summary>Failures (2 of 2)</summary>"),
        "{stdout}"
    );
    assert!(stderr.contains("dry run: printed only"), "{stderr}");

    let replay = GithubReplay::start(
        Repo::new("acme", "shop")
            .with_open_pull("feature/x", "main")
            .with_comment(1, "github-actions[bot]", &format!("{MARKER}\nold")),
    )
    .expect("replay");
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = pull_request_event(&dir, 1, &head, "acme/shop");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "pull_request", &event, &output, "4103");
    let (stdout, stderr) = ok(&ci_medic(&dir, &["comment", "--dry-run"], &env));
    assert!(stdout.starts_with(MARKER));
    let id = replay.repo().comments_on(1)[0].id;
    assert!(
        stderr.contains(&format!(
            "would update the comment on acme/shop#1 (comment {id})"
        )),
        "{stderr}"
    );
    assert!(replay.writes().is_empty(), "a dry run writes nothing");
    assert!(outputs(&output).contains("comment_action=would_update"));
}

#[test]
fn a_forks_pull_request_is_commented_from_the_workflow_run_follow_up() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4104");
    let replay = GithubReplay::start(
        Repo::new("acme", "shop")
            .with_open_pull("feature/x", "main")
            .with_fork_pull("eve", "patch-1", "main"),
    )
    .expect("replay");
    let fork_head = replay
        .repo()
        .pull(2)
        .and_then(|p| p.head_sha.clone())
        .expect("fork head");
    let output = dir.join("gh-output");

    // In the fork's own pull_request run the token is read-only: skipped, said why.
    let event = pull_request_event(&dir, 2, &fork_head, "eve/shop");
    let env = actions_env(&replay, "pull_request", &event, &output, "4104");
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("no comment: this pull_request run is from a fork"),
        "{stderr}"
    );
    assert!(replay.requests().is_empty());

    // The workflow_run follow-up: GitHub leaves pull_requests empty for forks; the
    // PR is found by the run's head branch and commit.
    let workflow_run = |run_id: &str| {
        json!({
            "action": "completed",
            "workflow_run": {
                "id": run_id.parse::<u64>().expect("numeric"),
                "run_attempt": 1,
                "event": "pull_request",
                "head_sha": fork_head,
                "head_branch": "patch-1",
                "html_url": format!("https://github.com/acme/shop/actions/runs/{run_id}"),
                "head_repository": {"full_name": "eve/shop", "owner": {"login": "eve"}},
                "pull_requests": [],
            },
        })
    };
    let event = dir.join("workflow-run.json");
    std::fs::write(&event, workflow_run("4104").to_string()).expect("event");
    // The follow-up runs as run 9999; the reported run is 4104.
    let env = actions_env(&replay, "workflow_run", &event, &output, "9999");
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("created the comment on acme/shop#2"),
        "{stderr}"
    );
    let repo = replay.repo();
    let body = &repo.comments_on(2)[0].body;
    assert!(
        body.contains("https://github.com/acme/shop/actions/runs/4104"),
        "links the reported run: {body}"
    );
    assert!(repo.comments_on(1).is_empty());
    let list = replay
        .requests()
        .into_iter()
        .find(|r| r.operation.as_deref() == Some("pulls/list"))
        .expect("pulls/list");
    assert!(
        list.query
            .contains(&("head".to_owned(), "eve:patch-1".to_owned())),
        "{:?}",
        list.query
    );

    // An artifact of another run is refused: it would report the wrong results.
    std::fs::write(&event, workflow_run("5000").to_string()).expect("event");
    let o = ci_medic(&dir, &["comment"], &env);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("the bundle is of run 4104, but this workflow_run event reports run 5000"),
        "{stderr}"
    );
}

#[test]
fn github_enterprise_serves_the_api_below_api_v3() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4105");
    let replay = GithubReplay::start_at(
        Repo::new("acme", "shop").with_open_pull("feature/x", "main"),
        "/api/v3",
    )
    .expect("replay");
    assert!(replay.api_base().ends_with("/api/v3"));
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = pull_request_event(&dir, 1, &head, "acme/shop");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "pull_request", &event, &output, "4105");
    ok(&ci_medic(&dir, &["comment"], &env));
    assert_eq!(replay.repo().comments_on(1).len(), 1);
    assert!(
        replay
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/api/v3/")),
        "every call goes below the Enterprise API base"
    );
}

#[test]
fn a_github_error_is_reported_and_exits_0_unless_strict() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4106");
    let replay = GithubReplay::start(Repo::new("acme", "shop").with_open_pull("feature/x", "main"))
        .expect("replay");
    let head = replay.repo().head("feature/x").expect("head").to_owned();
    let event = pull_request_event(&dir, 1, &head, "acme/shop");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "pull_request", &event, &output, "4106");
    let denied = Canned::Error {
        status: 403,
        message: "Resource not accessible by integration".into(),
    };
    replay.respond_once("issues/create-comment", denied.clone());
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("the comment was not posted: POST /repos/acme/shop/issues/1/comments (create the comment) failed: GitHub answered HTTP 403 Forbidden: Resource not accessible by integration"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "the token never shows");
    assert!(outputs(&output).contains("comment_action=failed"));

    replay.respond_once("issues/create-comment", denied);
    let o = ci_medic(&dir, &["comment", "--strict"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(replay.repo().comments_on(1).is_empty());

    // Bad input is a usage error: exit 2, nothing sent.
    let before = replay.requests().len();
    let o = ci_medic(&dir, &["comment", "--key", "no spaces"], &env);
    assert_eq!(o.status.code(), Some(2));
    let mut no_token = env.clone();
    no_token.retain(|(k, _)| *k != "GITHUB_TOKEN");
    let o = ci_medic(&dir, &["comment"], &no_token);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no GITHUB_TOKEN"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(replay.requests().len(), before);
}

#[test]
fn a_push_is_not_a_pull_request_so_there_is_no_comment() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "4107");
    let replay = GithubReplay::start(Repo::new("acme", "shop").with_open_pull("feature/x", "main"))
        .expect("replay");
    let event = dir.join("push.json");
    std::fs::write(&event, json!({"ref": "refs/heads/main"}).to_string()).expect("event");
    let output = dir.join("gh-output");
    let env = actions_env(&replay, "push", &event, &output, "4107");
    let (_, stderr) = ok(&ci_medic(&dir, &["comment"], &env));
    assert!(
        stderr.contains("no comment: the push event is not about a pull request"),
        "{stderr}"
    );
    assert!(replay.requests().is_empty());
    assert!(outputs(&output).contains("comment_action=skipped"));
}
