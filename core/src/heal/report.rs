//! The self-heal report (`self-heal/report-<run>.json`): what ran, what the
//! rerun found and which guardrails held, and the state record that counts
//! attempts across reruns. Data only; `ci-medic-exec` runs the heal.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnose::analysis::HealAction;
use crate::heal::context::{HealContext, HealState, StateAttempt};
use crate::model::TestStatus;

/// The schema id of the report.
pub const REPORT_SCHEMA: &str = "ci-medic/heal-report/v1";

/// The outcome of a heal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealVerdict {
    /// Every rerun test passed.
    Healed,
    /// Some rerun tests passed.
    PartiallyHealed,
    /// None passed, an action broke a guardrail, or the rerun did not run.
    NotHealed,
    /// The decision did not allow healing; nothing ran.
    Refused,
}

impl HealVerdict {
    /// The name used in reports and the state record.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealVerdict::Healed => "healed",
            HealVerdict::PartiallyHealed => "partially_healed",
            HealVerdict::NotHealed => "not_healed",
            HealVerdict::Refused => "refused",
        }
    }
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealReport {
    /// Always `ci-medic/heal-report/v1`.
    pub schema: String,
    /// The workflow run.
    pub run_id: String,
    /// The verdict.
    pub verdict: HealVerdict,
    /// Why, in one line.
    pub reason: String,
    /// Wall time of the whole execution, in milliseconds.
    pub duration_ms: u64,
    /// Each action, in the order it ran.
    pub actions: Vec<ActionReport>,
    /// The rerun.
    pub rerun: Option<RerunReport>,
    /// Each rerun test, before and after.
    pub tests: Vec<TestReport>,
    /// Each guardrail check and its result.
    pub guardrails: Vec<GuardrailCheck>,
}

/// One action's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionReport {
    /// The action.
    pub action: HealAction,
    /// What ran: the program's name (`sh`), or `builtin` (never the command line,
    /// which can hold secrets).
    pub command: String,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Exit code (none when it timed out, was skipped or is a builtin).
    pub exit_code: Option<i32>,
    /// It ran past its time limit; its process group was killed.
    pub timed_out: bool,
    /// It did what it is for.
    pub ok: bool,
    /// What happened, in one line.
    pub detail: String,
    /// The end of its output, redacted.
    pub log_tail: String,
}

/// The rerun.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunReport {
    /// Tests asked for.
    pub tests: usize,
    /// `1` when `reduce_workers` applied.
    pub workers: Option<u32>,
    /// Playwright's exit code.
    pub exit_code: Option<i32>,
    /// It ran past the overall time limit.
    pub timed_out: bool,
    /// Milliseconds.
    pub duration_ms: u64,
    /// The rerun's JSON report, relative to the output directory.
    pub results: String,
    /// The end of its output, redacted.
    pub log_tail: String,
}

/// One test before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestReport {
    /// The test id.
    pub id: String,
    /// Its status in the failing run.
    pub before: TestStatus,
    /// Its status in the rerun (none when the rerun did not report it).
    pub after: Option<TestStatus>,
}

/// One guardrail check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailCheck {
    /// `decision`, `declared_actions`, `tracked_tree`, `timeout`.
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

/// The state record after this attempt.
pub fn record_attempt(
    state: Option<HealState>,
    ctx: &HealContext,
    report: &HealReport,
    at: String,
) -> HealState {
    let mut s = state
        .filter(|s| s.run_id == ctx.run.run_id)
        .unwrap_or_else(|| HealState {
            run_id: ctx.run.run_id.clone(),
            attempts: Vec::new(),
        });
    if report.verdict != HealVerdict::Refused {
        s.attempts.push(StateAttempt {
            run_attempt: ctx.run.run_attempt,
            at,
            verdict: report.verdict.as_str().to_owned(),
        });
    }
    s
}

/// The JSON Schema of the report (committed as `schemas/heal-report.v1.json`).
pub fn report_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(HealReport),
        "https://ci-medic.dev/schemas/heal-report.v1.json",
        REPORT_SCHEMA,
    )
}
