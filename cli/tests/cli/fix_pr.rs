//! `ci-medic fix`'s pull-request client against the GitHub replay server: real HTTP
//! on loopback, responses recorded from GitHub (`@octokit/fixtures`) or documented
//! by its OpenAPI description, and every request checked against that description.

use ci_medic::fix::pr::{self, ChangedFile, PrOutcome, PrPlan};
use scenario_harness::github::{Canned, GithubReplay, Repo};

const TOKEN: &str = "ghp_replayTestToken0123456789abcdefABCD";

fn plan() -> PrPlan {
    PrPlan {
        repo: "acme/shop".into(),
        base: None,
        branch: "ci-medic/fix-1234".into(),
        branch_prefix: "ci-medic/fix-".into(),
        title: "ci-medic: heal the checkout button locator".into(),
        body: "## What failed\n\n`checkout.spec.ts` could not find the button.\n".into(),
        commit_message: "Heal the checkout button locator\n\nFound by ci-medic in run 1234.".into(),
        files: vec![
            ChangedFile {
                path: "tests/checkout.spec.ts".into(),
                content: Some(
                    b"await page.getByRole('button', { name: 'Pay' }).click();\n".to_vec(),
                ),
                executable: false,
            },
            ChangedFile {
                path: "scripts/reseed.sh".into(),
                content: Some(b"#!/bin/sh\nexit 0\n".to_vec()),
                executable: true,
            },
            ChangedFile {
                path: "tests/obsolete.spec.ts".into(),
                content: None,
                executable: false,
            },
        ],
        max_open: 3,
        draft: true,
    }
}

fn start(repo: Repo) -> GithubReplay {
    GithubReplay::start(repo).expect("GitHub replay server")
}

/// Opens the plan's PR against `replay` and checks the repository model afterwards.
fn assert_opens(replay: &GithubReplay) {
    let plan = plan();
    let outcome = pr::open(replay.api_base(), TOKEN, &plan).expect("open the PR");
    let PrOutcome::Opened {
        number,
        url,
        branch,
    } = outcome
    else {
        panic!("expected an opened PR, got {outcome:?}");
    };
    assert_eq!(branch, "ci-medic/fix-1234");
    assert_eq!(url, format!("https://github.com/acme/shop/pull/{number}"));

    assert_eq!(
        replay.operations(),
        [
            "repos/get",
            "repos/get-branch",
            "pulls/list",
            "git/get-ref",
            "git/get-commit",
            "git/create-blob",
            "git/create-blob",
            "git/create-tree",
            "git/create-commit",
            "git/create-ref",
            "pulls/create",
        ]
    );
    replay.assert_valid();
    for request in replay.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            request.line()
        );
        let expected_404 = request.operation.as_deref() == Some("repos/get-branch");
        assert!(
            (request.status == 404) == expected_404 && request.status < 500,
            "{} answered {}",
            request.line(),
            request.status
        );
    }
    let requests = replay.requests();
    assert_eq!(requests[1].params["branch"], "ci-medic/fix-1234");
    assert_eq!(
        requests[2].query,
        [
            ("state".to_string(), "open".to_string()),
            ("per_page".to_string(), "100".to_string())
        ]
    );
    assert_eq!(requests[3].params["ref"], "heads/main");

    let repo = replay.repo();
    let pull = repo.pull(number).expect("the PR is in the model");
    assert!(pull.draft, "{pull:?}");
    assert_eq!(pull.base, "main");
    assert_eq!(pull.head, "ci-medic/fix-1234");
    assert_eq!(pull.title, plan.title);
    assert_eq!(pull.body.as_deref(), Some(plan.body.as_str()));

    let base_sha = repo.head("main").expect("main");
    let head_sha = repo
        .head("ci-medic/fix-1234")
        .expect("the branch was created");
    let commit = &repo.commits[head_sha];
    assert_eq!(commit.parents, [base_sha]);
    assert_eq!(commit.message, plan.commit_message);
    let tree = &repo.trees[&commit.tree];
    assert_eq!(
        tree.base_tree.as_deref(),
        Some(repo.commits[base_sha].tree.as_str())
    );
    let entries: Vec<(&str, &str, Option<&[u8]>)> = tree
        .entries
        .iter()
        .map(|e| {
            (
                e.path.as_str(),
                e.mode.as_str(),
                e.sha.as_ref().map(|sha| repo.blobs[sha].as_slice()),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                "tests/checkout.spec.ts",
                "100644",
                plan.files[0].content.as_deref()
            ),
            (
                "scripts/reseed.sh",
                "100755",
                plan.files[1].content.as_deref()
            ),
            ("tests/obsolete.spec.ts", "100644", None),
        ]
    );
    let tree_request = &requests[7];
    assert_eq!(
        tree_request.json()["tree"][2]["sha"],
        serde_json::Value::Null
    );
    assert_eq!(requests[5].json()["encoding"], "base64");
}

#[test]
fn opens_a_draft_pr_with_the_expected_calls_all_valid_against_openapi() {
    let replay = start(Repo::new("acme", "shop").with_open_pull("ci-medic/fix-1000", "main"));
    assert_opens(&replay);
}

#[test]
fn opens_against_an_api_base_with_a_path_prefix() {
    let replay = GithubReplay::start_at(Repo::new("acme", "shop"), "/api/v3").expect("replay");
    assert!(replay.api_base().ends_with("/api/v3"));
    assert_opens(&replay);
    for request in replay.requests() {
        assert!(
            request.path.starts_with("/api/v3/repos/acme/shop"),
            "{}",
            request.path
        );
    }
}

#[test]
fn targets_the_given_base_branch() {
    let replay = start(Repo::new("acme", "shop").with_branch("release/2.x"));
    let mut plan = plan();
    plan.base = Some("release/2.x".into());
    let outcome = pr::open(replay.api_base(), TOKEN, &plan).expect("open");
    let PrOutcome::Opened { number, .. } = outcome else {
        panic!("expected an opened PR, got {outcome:?}");
    };
    assert_eq!(
        replay.repo().pull(number).expect("pull").base,
        "release/2.x"
    );
    assert_eq!(replay.requests()[3].params["ref"], "heads/release/2.x");
}

#[test]
fn refuses_when_the_open_fix_pr_limit_is_reached_counting_every_page() {
    // 3 open fix PRs (numbers 1–3) and a closed one, then 120 unrelated open PRs:
    // GitHub lists the newest first, 100 a page, so the fix PRs are on page 2.
    let mut repo = Repo::new("acme", "shop");
    for i in 0..4 {
        repo = repo.with_open_pull(&format!("ci-medic/fix-{i}"), "main");
    }
    repo.pulls[3].state = "closed".into();
    for i in 0..120 {
        repo = repo.with_open_pull(&format!("feature/{i}"), "main");
    }
    let replay = start(repo);

    let outcome = pr::open(replay.api_base(), TOKEN, &plan()).expect("no error");
    let PrOutcome::Refused { reason } = outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert!(reason.contains("3 open fix PRs"), "{reason}");
    assert!(reason.contains("the limit is 3"), "{reason}");
    assert_eq!(
        replay.operations(),
        ["repos/get", "repos/get-branch", "pulls/list", "pulls/list"]
    );
    assert_eq!(
        replay.requests()[3].query.last(),
        Some(&("page".to_string(), "2".to_string()))
    );
    assert!(replay.writes().is_empty(), "{:?}", replay.writes());
    replay.assert_valid();

    let mut plan = plan();
    plan.max_open = 4;
    let replay = start(replay.repo());
    assert!(matches!(
        pr::open(replay.api_base(), TOKEN, &plan).expect("open"),
        PrOutcome::Opened { .. }
    ));
}

#[test]
fn refuses_to_push_to_the_default_branch() {
    let replay = start(Repo::new("acme", "shop").with_default_branch("ci-medic/fix-1234"));
    let outcome = pr::open(replay.api_base(), TOKEN, &plan()).expect("no error");
    let PrOutcome::Refused { reason } = outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert!(reason.contains("default branch"), "{reason}");
    assert_eq!(replay.operations(), ["repos/get"]);
    assert!(replay.writes().is_empty());
}

#[test]
fn refuses_a_head_branch_equal_to_the_base_or_outside_the_prefix() {
    let replay = start(Repo::new("acme", "shop"));
    let mut plan = plan();
    plan.base = Some(plan.branch.clone());
    let PrOutcome::Refused { reason } =
        pr::open(replay.api_base(), TOKEN, &plan).expect("no error")
    else {
        panic!("expected a refusal");
    };
    assert!(reason.contains("base branch"), "{reason}");

    let mut plan = self::plan();
    plan.branch = "hotfix/1234".into();
    let PrOutcome::Refused { reason } =
        pr::open(replay.api_base(), TOKEN, &plan).expect("no error")
    else {
        panic!("expected a refusal");
    };
    assert!(reason.contains("prefix"), "{reason}");
    assert_eq!(replay.operations(), ["repos/get", "repos/get"]);
    assert!(replay.writes().is_empty());
}

#[test]
fn refuses_when_the_head_branch_already_exists() {
    let replay = start(Repo::new("acme", "shop").with_branch("ci-medic/fix-1234"));
    let outcome = pr::open(replay.api_base(), TOKEN, &plan()).expect("no error");
    let PrOutcome::Refused { reason } = outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert!(reason.contains("already exists"), "{reason}");
    assert_eq!(replay.operations(), ["repos/get", "repos/get-branch"]);
    assert!(replay.writes().is_empty());
}

#[test]
fn a_401_names_the_call_and_github_message_without_the_token() {
    let replay = start(Repo::new("acme", "shop"));
    replay.respond_once(
        "repos/get",
        Canned::Error {
            status: 401,
            message: "Bad credentials".into(),
        },
    );
    let err = pr::open(replay.api_base(), TOKEN, &plan()).expect_err("401");
    let text = format!("{err:#}");
    assert!(text.contains("GET /repos/acme/shop"), "{text}");
    assert!(text.contains("401"), "{text}");
    assert!(text.contains("Bad credentials"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!format!("{err:?}").contains(TOKEN));
    assert!(replay.writes().is_empty());
}

#[test]
fn a_422_on_the_pull_request_names_the_call_and_removes_the_new_branch() {
    let replay = start(Repo::new("acme", "shop"));
    // GitHub's recorded 422 "Validation Failed" (scenario `errors`).
    replay.respond_once(
        "pulls/create",
        Canned::Recorded {
            scenario: "errors".into(),
            index: 0,
        },
    );
    let err = pr::open(replay.api_base(), TOKEN, &plan()).expect_err("422");
    let text = format!("{err:#}");
    assert!(text.contains("POST /repos/acme/shop/pulls"), "{text}");
    assert!(text.contains("422"), "{text}");
    assert!(text.contains("Validation Failed"), "{text}");
    assert!(text.contains("deleted again"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!format!("{err:?}").contains(TOKEN));
    let operations = replay.operations();
    assert_eq!(
        operations[operations.len() - 2..],
        ["pulls/create", "git/delete-ref"]
    );
    assert!(replay.repo().head("ci-medic/fix-1234").is_none());
    replay.assert_valid();
}

#[test]
fn a_malformed_repository_or_plan_is_an_error_before_any_call() {
    let replay = start(Repo::new("acme", "shop"));
    let mut plan = plan();
    plan.repo = "acme".into();
    let err = pr::open(replay.api_base(), TOKEN, &plan).expect_err("bad repo");
    assert!(format!("{err:#}").contains("owner/name"), "{err:#}");

    let mut plan = self::plan();
    plan.files[0].path = "../outside".into();
    assert!(pr::open(replay.api_base(), TOKEN, &plan).is_err());
    assert!(pr::open(replay.api_base(), "", &self::plan()).is_err());
    assert!(replay.requests().is_empty());
}

#[test]
fn requests_for_another_repository_fail_with_github_s_404() {
    let replay = start(Repo::new("acme", "shop"));
    let mut plan = plan();
    plan.repo = "acme/other".into();
    let err = pr::open(replay.api_base(), TOKEN, &plan).expect_err("404");
    let text = format!("{err:#}");
    assert!(
        text.contains("GET /repos/acme/other")
            && text.contains("404")
            && text.contains("Not Found"),
        "{text}"
    );
}
