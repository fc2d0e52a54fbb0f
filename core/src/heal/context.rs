//! `self-heal/context.json`: what the decision is made from. The analysis is
//! untrusted input: it is read loosely (names stay strings) so that an unknown
//! or hostile action name is refused by name later, never run and never a
//! reason to drop the whole plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Bundle, RunContext, TestStatus};

/// The schema id of `context.json`.
pub const CONTEXT_SCHEMA: &str = "ci-medic/heal-context/v1";

/// Everything `heal decide` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealContext {
    /// Always `ci-medic/heal-context/v1`.
    pub schema: String,
    /// The run, from the bundle.
    pub run: RunContext,
    /// The triggering event (`GITHUB_EVENT_NAME`), or `local`.
    pub event: String,
    /// Heal attempts already made for this run (the carried state record and
    /// `GITHUB_RUN_ATTEMPT`, whichever says more).
    pub attempts_used: u32,
    /// Where `attempts_used` comes from.
    pub attempts_source: String,
    /// Failed and flaky tests, with their classification when there is one.
    pub failures: Vec<FailureInput>,
    /// The analysis' plan, as written (names unchecked).
    pub plan: Vec<PlanInput>,
    /// Whether an analysis was read, or why not.
    pub analysis: AnalysisInput,
}

/// One failing test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureInput {
    /// The test id (as in the bundle).
    pub id: String,
    /// Title path.
    pub title: String,
    /// Spec file (relative to the Playwright config's test dir).
    pub file: String,
    /// Line of the test.
    pub line: Option<u32>,
    /// Project.
    pub project: String,
    /// `unexpected` or `flaky`.
    pub status: TestStatus,
    /// The analysis' error type for it, as written.
    pub error_type: Option<String>,
    /// Its confidence.
    pub confidence: Option<f64>,
}

/// One planned action, as the analysis wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// The action name, unchecked.
    pub action: String,
    /// The failures it targets.
    pub targets: Vec<String>,
    /// The analysis' reason.
    pub reason: String,
}

/// Whether the analysis could be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalysisInput {
    /// The analysis was read.
    pub present: bool,
    /// Where from, or why there is none.
    pub detail: String,
}

/// The carried state record (`self-heal/state.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealState {
    /// The workflow run it belongs to.
    pub run_id: String,
    /// Every heal attempt made so far.
    pub attempts: Vec<StateAttempt>,
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateAttempt {
    /// `GITHUB_RUN_ATTEMPT` when it ran.
    pub run_attempt: u32,
    /// When (RFC 3339).
    pub at: String,
    /// `healed`, `partially_healed`, `not_healed` or `refused`.
    pub verdict: String,
}

/// Builds the context from the bundle, the analysis (raw JSON, or why there is
/// none), the event, the run attempt and the carried state record.
pub fn build(
    bundle: &Bundle,
    analysis: Result<serde_json::Value, String>,
    event: Option<&str>,
    run_attempt: Option<u32>,
    state: Option<&HealState>,
) -> HealContext {
    let (analysis_value, analysis_input) = match analysis {
        Ok(v) => (
            Some(v),
            AnalysisInput {
                present: true,
                detail: "analysis.json".into(),
            },
        ),
        Err(why) => (
            None,
            AnalysisInput {
                present: false,
                detail: why,
            },
        ),
    };
    let classified = |id: &str| -> (Option<String>, Option<f64>) {
        let Some(a) = &analysis_value else {
            return (None, None);
        };
        a["classification"]["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["id"].as_str() == Some(id))
            .map(|f| {
                (
                    f["error_type"].as_str().map(str::to_owned),
                    f["confidence"].as_f64(),
                )
            })
            .unwrap_or((None, None))
    };
    let failures = bundle
        .tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
        .map(|t| {
            let (error_type, confidence) = classified(&t.id);
            FailureInput {
                id: t.id.clone(),
                title: t.title(),
                file: t.file.clone(),
                line: t.line,
                project: t.project.clone(),
                status: t.status,
                error_type,
                confidence,
            }
        })
        .collect();
    let plan = analysis_value
        .as_ref()
        .and_then(|a| a["self_heal_plan"]["actions"].as_array())
        .into_iter()
        .flatten()
        .map(|p| PlanInput {
            action: match &p["action"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            targets: p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            reason: p["reason"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    let from_state = state
        .filter(|s| s.run_id == bundle.run.run_id)
        .map_or(0, |s| s.attempts.len() as u32);
    // A rerun of the workflow is attempt N: at most N-1 heals came before it.
    let from_attempt = run_attempt.map_or(0, |a| a.saturating_sub(1));
    let (attempts_used, attempts_source) = if from_state >= from_attempt {
        (
            from_state,
            format!(
                "state record: {from_state} attempt(s) for run {}",
                bundle.run.run_id
            ),
        )
    } else {
        (
            from_attempt,
            format!("GITHUB_RUN_ATTEMPT {}", run_attempt.unwrap_or(1)),
        )
    };
    HealContext {
        schema: CONTEXT_SCHEMA.to_owned(),
        run: bundle.run.clone(),
        event: event.unwrap_or("local").to_owned(),
        attempts_used,
        attempts_source,
        failures,
        plan,
        analysis: analysis_input,
    }
}

/// The JSON Schema of `context.json` (committed as `schemas/heal-context.v1.json`).
pub fn context_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(HealContext),
        "https://ci-medic.dev/schemas/heal-context.v1.json",
        CONTEXT_SCHEMA,
    )
}
