//! The agent-engine workflow rehearsed on this machine: its jobs in `needs`
//! order, each in its own workspace, files moving between them only through
//! the artifacts their steps upload and download, the reusable app-up
//! workflow bringing the demo app up wherever a job runs against it, and the
//! real `ci-medic` binary in every ci-medic step. The example's commands for
//! an app (`npm start`, `npm run seed`, `localhost:3000`, `npx playwright`)
//! are rewritten to the demo app's and the suite's; everything else runs as
//! written.

mod expr;
mod runner;
mod workflow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runner::{JobRun, Rig};
use workflow::{Reusable, Workflow};

use crate::suite::{Workspace, playwright_cli, repo};

const EXAMPLE: &str = ".github/workflows/agent-engine.example.yml";
const APP_UP: &str = "./.github/workflows/app-up.yml";

fn example() -> (Workflow, BTreeMap<String, Reusable>) {
    let root = repo();
    let wf = workflow::read(&root.join(EXAMPLE)).expect("the example workflow");
    let app_up = workflow::read_reusable(&root.join(".github/workflows/app-up.yml"))
        .expect("the reusable workflow");
    (wf, BTreeMap::from([(APP_UP.to_owned(), app_up)]))
}

/// The outputs action.yml declares.
fn action_outputs() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("action.yml")).expect("action.yml");
    let y: yaml_serde::Value = yaml_serde::from_str(&text).expect("yaml");
    y.get("outputs")
        .and_then(yaml_serde::Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_download_names_an_artifact_a_needed_job_uploads() {
    let (wf, reusable) = example();
    workflow::check_artifacts(&wf, &reusable).expect("the example's artifacts line up");
    // The jobs come in an order where every need runs first.
    let ids: Vec<&str> = wf.jobs.iter().map(|j| j.id.as_str()).collect();
    for j in &wf.jobs {
        for n in &j.needs {
            let (a, b) = (
                ids.iter().position(|x| x == n),
                ids.iter().position(|x| *x == j.id),
            );
            assert!(a < b, "{n} before {}", j.id);
        }
    }
    // A copy with one artifact renamed fails, naming the job and the artifact.
    let text = std::fs::read_to_string(repo().join(EXAMPLE)).expect("read");
    let renamed = text.replacen("name: fix-agent-input\n", "name: fix-agent-inputs\n", 1);
    assert_ne!(text, renamed, "the example uploads fix-agent-input");
    let tmp = tempfile::tempdir().expect("tmp");
    let copy = tmp.path().join("agent-engine.yml");
    std::fs::write(&copy, renamed).expect("write");
    let wf = workflow::read(&copy).expect("parses");
    let err = workflow::check_artifacts(&wf, &reusable).expect_err("a missing artifact");
    assert!(
        err.contains("job fix-agent-runner downloads artifact `fix-agent-input`")
            && err.contains("agent-engine.yml"),
        "{err}"
    );
}

/// A workspace for the rehearsal: the suite's checkout with the repository's
/// `.ci-medic.toml` and the demo app's configuration committed, and the
/// rewrites of the example's app commands.
struct Stage {
    ws: Workspace,
    rig: Rig,
}

fn stage(scenario_app_config: &str, event: &str, no_seed_in: &[&str]) -> Stage {
    let ws = Workspace::new(false);
    let port = crate::common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let demo = ws.paths.demo_app.display().to_string();
    let seed = format!("{demo} seed --data-dir data");
    std::fs::write(ws.dir.join("demo-app.toml"), scenario_app_config).expect("app config");
    std::fs::write(
        ws.dir.join(".ci-medic.toml"),
        format!(
            "[heal]\n\
             [heal.playwright]\ncommand = [\"node\", {cli:?}, \"test\"]\nenv = [\"E2E_BASE_URL\"]\n\
             [heal.actions.rerun_failed]\n\
             [heal.actions.reseed_data]\nrun = \"{seed}\"\ntimeout = \"1m\"\n\
             [heal.actions.regenerate_storage_state]\ntimeout = \"60s\"\n\
             [heal.actions.regenerate_storage_state.login]\n\
             url = \"{base}/login\"\nusername_selector = \"#username\"\npassword_selector = \"#password\"\n\
             submit_selector = \"button[type=submit]\"\nusername_env = \"E2E_USERNAME\"\npassword_env = \"E2E_PASSWORD\"\n\
             success_url_contains = \"/items\"\nstorage_state = \".auth/user.json\"\n\
             [fix]\n[fix.playwright]\ncommand = [\"node\", {cli:?}, \"test\"]\nenv = [\"E2E_BASE_URL\"]\n",
            cli = playwright_cli(),
        ),
    )
    .expect("config");
    crate::common::commit_all(&ws.dir);
    let root = ws.dir.join("rehearsal");
    let substitutions = vec![
        ("npm ci".to_owned(), "true".to_owned()),
        (
            "npx playwright install --with-deps chromium".to_owned(),
            "true".to_owned(),
        ),
        ("npm run seed".to_owned(), seed),
        (
            "npm start".to_owned(),
            format!(
                "exec {demo} serve --addr 127.0.0.1:{port} --data-dir data --config demo-app.toml"
            ),
        ),
        ("http://localhost:3000".to_owned(), base.clone()),
        (
            "npx playwright test".to_owned(),
            format!("node {} test", playwright_cli()),
        ),
    ];
    let overrides = no_seed_in
        .iter()
        .map(|j| ((*j).to_owned(), vec![("seed".to_owned(), String::new())]))
        .collect();
    let node_modules = repo().join("fixtures/e2e/node_modules");
    let rig = Rig {
        root,
        repo: ws.dir.clone(),
        event: event.to_owned(),
        env: vec![
            ("E2E_BASE_URL".into(), base.clone()),
            (
                "CHROMIUM".into(),
                std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            ),
            (
                "CHROMEDRIVER".into(),
                std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
            ),
        ],
        secrets: BTreeMap::from([(
            "E2E_LOGIN_ENV".to_owned(),
            "E2E_USERNAME=demo\nE2E_PASSWORD=demo-password".to_owned(),
        )]),
        substitutions,
        overrides,
        action_outputs: action_outputs(),
        health_url: format!("{base}/healthz"),
        after_checkout: format!("ln -s {} node_modules", node_modules.display()),
    };
    Stage { ws, rig }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn summary(runs: &BTreeMap<String, JobRun>) -> String {
    runner::summary(runs)
}

/// The one file in `dir` whose name starts with `prefix`.
fn one(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    assert_eq!(found.len(), 1, "{prefix}* in {}: {found:?}", dir.display());
    found[0].clone()
}

#[test]
fn a_manual_run_with_missing_data_ends_healed_on_the_self_heal_path() {
    let (wf, reusable) = example();
    // The environment lost its seed data: the suite and the heal job's app start empty.
    let s = stage("", "workflow_dispatch", &["e2e", "heal"]);
    let runs = runner::rehearse(&wf, &reusable, &s.rig).unwrap_or_else(|e| panic!("{e}"));
    let all = summary(&runs);
    for gate in ["auth-validator", "seed-orchestrator", "page-smoke", "gates"] {
        assert_eq!(runs[gate].result, "success", "{all}");
    }
    assert_eq!(runs["e2e-tests"].result, "failure", "{all}");
    assert_eq!(
        runs["self-heal-supervisor"].outputs["allowed"], "true",
        "{all}"
    );
    assert_eq!(runs["self-heal-runner"].result, "success", "{all}");
    let store = s.rig.root.join("artifacts");
    let report = read_json(&one(&store.join("self-heal-report"), "report-"));
    assert_eq!(report["verdict"], "healed", "{report:#}\n{all}");
    assert_eq!(report["actions"][0]["action"], "reseed_data", "{report:#}");
    // The analysis saw the app's log, carried from e2e-tests as backend-logs-e2e.
    let bundle = read_json(&store.join("ci-medic-analysis/bundle/bundle.json"));
    assert!(
        bundle.to_string().contains("app.log"),
        "the bundle holds the backend log"
    );
    assert!(store.join("backend-logs-heal/app.log").is_file(), "{all}");
    drop(s.ws);
}

#[test]
fn a_drifted_page_ends_with_a_validated_patch_on_the_fix_path() {
    let (wf, reusable) = example();
    let s = stage("[faults]\nmarkup_drift = true\n", "workflow_dispatch", &[]);
    let runs = runner::rehearse(&wf, &reusable, &s.rig).unwrap_or_else(|e| panic!("{e}"));
    let all = summary(&runs);
    assert_eq!(runs["e2e-tests"].result, "failure", "{all}");
    assert_eq!(runs["fix-agent-runner"].result, "success", "{all}");
    // Selector drift is not for self-heal: the supervisor refuses, the runner is skipped.
    assert_eq!(
        runs["self-heal-supervisor"].outputs["allowed"], "false",
        "{all}"
    );
    assert_eq!(runs["self-heal-runner"].result, "skipped", "{all}");
    let patch_dir = s.rig.root.join("artifacts/fix-agent-patch");
    let meta = read_json(&one(&patch_dir, "metadata-"));
    let edits: Vec<String> = meta["edits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} → {} ({}): {}",
                e["old"], e["new"], e["applied"], e["reason"]
            )
        })
        .collect();
    assert_eq!(
        meta["outcome"],
        "validated",
        "{}\n{:#}\n{}\n\n{all}",
        meta["reason"],
        meta["validation"],
        edits.join("\n")
    );
    assert!(one(&patch_dir, "patch-").is_file());
    drop(s.ws);
}

/// A rig for one-job workflows: no demo app, the health URL a closed port.
fn bare_rig(root: &Path, repo: &Path) -> Rig {
    let port = crate::common::free_port();
    Rig {
        root: root.to_owned(),
        repo: repo.to_owned(),
        event: "workflow_dispatch".into(),
        env: Vec::new(),
        secrets: BTreeMap::new(),
        substitutions: Vec::new(),
        overrides: BTreeMap::new(),
        action_outputs: action_outputs(),
        health_url: format!("http://127.0.0.1:{port}/healthz"),
        after_checkout: "true".into(),
    }
}

#[test]
fn a_rerun_without_the_app_and_a_flag_that_does_not_exist_are_caught() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo_dir = tmp.path().join("repo");
    std::fs::create_dir_all(&repo_dir).expect("repo");
    std::fs::write(repo_dir.join("README"), "x").expect("file");
    crate::common::commit_all(&repo_dir);
    let rig = bare_rig(&tmp.path().join("rig"), &repo_dir);
    let run = |name: &str, command: &str| {
        let file = tmp.path().join(format!("{name}.yml"));
        std::fs::write(
            &file,
            format!(
                "name: t\non: workflow_dispatch\njobs:\n  {name}:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ci-medic/ci-medic@v0\n        with:\n          command: {command}\n"
            ),
        )
        .expect("workflow");
        let wf = workflow::read(&file).expect("parses");
        runner::rehearse(&wf, &BTreeMap::new(), &rig).expect_err(command)
    };
    // The old example's fix-agent-runner: npm ci and Playwright, but no app.
    let err = run("fix-agent-runner", "fix apply");
    assert!(
        err.contains("job fix-agent-runner")
            && err.contains("`ci-medic fix apply` reruns tests, but the app is not up"),
        "{err}"
    );
    let err = run("self-heal-runner", "heal execute --reseed-everything");
    assert!(err.contains("the app is not up"), "{err}");
    let err = run(
        "send-ci-logs",
        "collect --dir . --out bundle --no-such-flag",
    );
    assert!(
        err.contains("job send-ci-logs") && err.contains("does not parse"),
        "{err}"
    );
}
