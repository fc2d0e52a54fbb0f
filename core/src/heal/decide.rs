//! `self-heal/decision.json`: whether self-heal may run, and exactly what it
//! will do — every reason for and against, written down. A pure function of
//! the context and the repository's configuration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::HealConfig;
use crate::diagnose::analysis::HealAction;
use crate::diagnose::taxonomy::ErrorType;
use crate::heal::context::HealContext;

/// The schema id of `decision.json`.
pub const DECISION_SCHEMA: &str = "ci-medic/heal-decision/v1";

/// The decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Always `ci-medic/heal-decision/v1`.
    pub schema: String,
    /// The workflow run.
    pub run_id: String,
    /// Whether `heal execute` may act.
    pub allowed: bool,
    /// Each policy check and its outcome.
    pub checks: Vec<Check>,
    /// Each failing test: acted on or not, and why.
    pub failures: Vec<Eligibility>,
    /// The declared actions that will run, in order, before the rerun.
    pub actions: Vec<DecidedAction>,
    /// Plan entries that will not run, with the reason.
    pub refused_actions: Vec<RefusedAction>,
    /// The rerun that follows the actions.
    pub rerun: Option<Rerun>,
    /// Heal attempts used before this one, and the maximum.
    pub attempts_used: u32,
    /// `heal.max_attempts`.
    pub max_attempts: u32,
}

/// One policy check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// `event`, `attempts`, `rerun_declared`, `eligible_failures`, `analysis`.
    pub check: String,
    /// Whether it allows healing.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// A failing test's eligibility.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// The test id.
    pub id: String,
    /// Its error type (`unclassified` without an analysis).
    pub error_type: String,
    /// Its confidence.
    pub confidence: Option<f64>,
    /// Whether it is rerun (its type is eligible).
    pub eligible: bool,
    /// Whether it can call for actions (eligible and confident enough); a test
    /// under the confidence bar is only rerun.
    pub drives_actions: bool,
    /// Why.
    pub reason: String,
}

/// An action that will run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecidedAction {
    /// The action.
    pub action: HealAction,
    /// The eligible failures that call for it.
    pub targets: Vec<String>,
    /// Why.
    pub reason: String,
}

/// A plan entry that will not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefusedAction {
    /// The name as the analysis wrote it (shortened).
    pub action: String,
    /// Why it will not run.
    pub reason: String,
}

/// The rerun of the eligible failing tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rerun {
    /// Test ids to rerun.
    pub tests: Vec<String>,
    /// `1` when `reduce_workers` applies.
    pub workers: Option<u32>,
}

/// Actions that prepare the environment, in the order they run.
const SETUP_ORDER: [HealAction; 5] = [
    HealAction::ReinstallBrowsers,
    HealAction::RestartApp,
    HealAction::WaitForHealth,
    HealAction::ReseedData,
    HealAction::RegenerateStorageState,
];

/// Decides from `ctx` under `config`.
pub fn decide(ctx: &HealContext, config: &HealConfig) -> Decision {
    let mut checks = Vec::new();
    let event_ok = config.events.iter().any(|e| e == &ctx.event);
    checks.push(Check {
        check: "event".into(),
        passed: event_ok,
        detail: if event_ok {
            format!("{} is in heal.events", ctx.event)
        } else {
            format!(
                "{} is not in heal.events ({}): self-heal runs only on manual intent",
                ctx.event,
                config.events.join(", ")
            )
        },
    });
    let attempts_ok = ctx.attempts_used < config.max_attempts;
    checks.push(Check {
        check: "attempts".into(),
        passed: attempts_ok,
        detail: format!(
            "{} of {} attempt(s) used ({})",
            ctx.attempts_used, config.max_attempts, ctx.attempts_source
        ),
    });
    let rerun_declared = config.actions.contains_key(&HealAction::RerunFailed);
    checks.push(Check {
        check: "rerun_declared".into(),
        passed: rerun_declared,
        detail: if rerun_declared {
            "heal.actions.rerun_failed is declared".into()
        } else {
            "heal.actions.rerun_failed is not declared: without a rerun nothing can show a heal worked".into()
        },
    });
    checks.push(Check {
        check: "analysis".into(),
        passed: true,
        detail: if ctx.analysis.present {
            format!("classified by {}", ctx.analysis.detail)
        } else {
            format!(
                "no analysis ({}): failures are unclassified, only a rerun is possible",
                ctx.analysis.detail
            )
        },
    });

    let failures: Vec<Eligibility> = ctx
        .failures
        .iter()
        .map(|f| {
            eligibility(
                ctx.analysis.present,
                f.error_type.as_deref(),
                f.confidence,
                config,
                &f.id,
            )
        })
        .collect();
    let eligible: Vec<&str> = failures
        .iter()
        .filter(|f| f.eligible)
        .map(|f| f.id.as_str())
        .collect();
    let confident: Vec<&str> = failures
        .iter()
        .filter(|f| f.drives_actions)
        .map(|f| f.id.as_str())
        .collect();
    checks.push(Check {
        check: "eligible_failures".into(),
        passed: !confident.is_empty(),
        detail: format!(
            "{} of {} failing test(s) eligible, {} confident enough to act on",
            eligible.len(),
            failures.len(),
            confident.len()
        ),
    });

    let mut actions: Vec<DecidedAction> = Vec::new();
    let mut refused = Vec::new();
    let mut workers = None;
    for p in &ctx.plan {
        let shown = crate::text::one_line(&p.action, 60);
        let Some(action) = known_action(&p.action) else {
            refused.push(RefusedAction {
                action: shown,
                reason: "not an action ci-medic knows: refused, nothing from an analysis is run as a command".into(),
            });
            continue;
        };
        if !config.actions.contains_key(&action) {
            refused.push(RefusedAction {
                action: shown,
                reason: format!(
                    "not declared in .ci-medic.toml (heal.actions.{}): only the repository's own actions run",
                    action.as_str()
                ),
            });
            continue;
        }
        let targets: Vec<String> = p
            .targets
            .iter()
            .filter(|t| confident.contains(&t.as_str()))
            .cloned()
            .collect();
        if targets.is_empty() {
            refused.push(RefusedAction {
                action: shown,
                reason: "targets no eligible failure classified with enough confidence".into(),
            });
            continue;
        }
        match action {
            HealAction::RerunFailed => {}
            HealAction::ReduceWorkers => workers = Some(1),
            _ => match actions.iter_mut().find(|a| a.action == action) {
                Some(a) => a.targets.extend(targets),
                None => actions.push(DecidedAction {
                    action,
                    targets,
                    reason: if p.reason.is_empty() {
                        "planned by the analysis".into()
                    } else {
                        crate::text::one_line(&p.reason, 300)
                    },
                }),
            },
        }
    }
    actions.sort_by_key(|a| SETUP_ORDER.iter().position(|o| *o == a.action));
    let allowed = checks.iter().all(|c| c.passed);
    let rerun = allowed.then(|| Rerun {
        tests: eligible.iter().map(|s| (*s).to_owned()).collect(),
        workers,
    });
    Decision {
        schema: DECISION_SCHEMA.to_owned(),
        run_id: ctx.run.run_id.clone(),
        allowed,
        checks,
        failures,
        actions: if allowed { actions } else { Vec::new() },
        refused_actions: refused,
        rerun,
        attempts_used: ctx.attempts_used,
        max_attempts: config.max_attempts,
    }
}

/// The action a plan names, if it is one of the vocabulary, spelled exactly.
fn known_action(name: &str) -> Option<HealAction> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn eligibility(
    classified: bool,
    error_type: Option<&str>,
    confidence: Option<f64>,
    config: &HealConfig,
    id: &str,
) -> Eligibility {
    let mk = |t: &str, eligible: bool, drives_actions: bool, reason: String| Eligibility {
        id: id.to_owned(),
        error_type: t.to_owned(),
        confidence,
        eligible,
        drives_actions,
        reason,
    };
    if !classified {
        return mk("unclassified", true, true, "no analysis: rerun only".into());
    }
    let Some(name) = error_type else {
        return mk(
            "unclassified",
            false,
            false,
            "the analysis does not classify it".into(),
        );
    };
    let Ok(t) = name.parse::<ErrorType>() else {
        return mk(
            &crate::text::one_line(name, 40),
            false,
            false,
            "not an error type ci-medic knows".into(),
        );
    };
    if !config.eligible.contains(&t) {
        return mk(
            name,
            false,
            false,
            format!("{name} is not in heal.eligible: it needs a code change or a person"),
        );
    }
    let c = confidence.unwrap_or(0.0);
    if c < config.min_confidence {
        return mk(
            name,
            true,
            false,
            format!(
                "{name} with confidence {c:.2}, under heal.min_confidence {:.2}: rerun, but it calls for no action",
                config.min_confidence
            ),
        );
    }
    mk(name, true, true, format!("{name} with confidence {c:.2}"))
}

/// The JSON Schema of `decision.json` (committed as `schemas/heal-decision.v1.json`).
pub fn decision_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(Decision),
        "https://ci-medic.dev/schemas/heal-decision.v1.json",
        DECISION_SCHEMA,
    )
}
