//! `analysis.json` (`ci-medic/analysis/v1`): the classifier's diagnosis and the
//! planner's proposals, as the CLI writes it and the service returns it.
//!
//! Like the bundle, field names are the contract and the committed schema
//! (`schemas/analysis.v1.json`) is generated from these types.

use std::borrow::Cow;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnose::taxonomy::ErrorType;
use crate::model::{RunContext, RunOutcome, TestStatus};

/// The analysis schema identifier this build writes and reads.
pub const ANALYSIS_SCHEMA: &str = "ci-medic/analysis/v1";

/// The diagnosis of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Always `ci-medic/analysis/v1`.
    pub schema: String,
    /// What produced it.
    pub analyzer: Analyzer,
    /// Who ran the analyzer: `local` (the CLI), `service`, or `local-fallback`
    /// (the CLI, because the service could not be reached).
    pub source: AnalysisSource,
    /// The run, copied from the bundle.
    pub run: RunContext,
    /// Counts.
    pub summary: AnalysisSummary,
    /// What went wrong.
    pub classification: Classification,
    /// Safe, non-code actions that could heal the run, in order.
    pub self_heal_plan: SelfHealPlan,
    /// Proposed edits for the fix-agent.
    pub fix_agent_instructions: Vec<FixInstruction>,
    /// Which downstream stages are eligible, and why.
    pub triggers: Triggers,
}

/// Who ran the analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AnalysisSource {
    /// The CLI, in-process.
    #[serde(rename = "local")]
    Local,
    /// The cloud-agent service.
    #[serde(rename = "service")]
    Service,
    /// The CLI, because the service was unreachable or failed.
    #[serde(rename = "local-fallback")]
    LocalFallback,
}

/// The analyzer and its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Analyzer {
    /// `ci-medic`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// When the analysis was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Enabled built-in rules.
    pub builtin_rules: usize,
    /// Enabled rules from the repository's rules file.
    pub user_rules: usize,
    /// The repository's rules file, when one was read.
    pub rules_file: Option<String>,
    /// Built-in rules the repository replaced.
    pub overridden_rules: Vec<String>,
    /// Rules the repository switched off.
    pub disabled_rules: Vec<String>,
    /// Failures below this confidence are `unknown`.
    pub min_confidence: f64,
}

/// Counts over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSummary {
    /// Tests in the run.
    pub tests: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that failed and then passed on retry.
    pub flaky: usize,
    /// Errors outside tests.
    pub run_errors: usize,
    /// Failures classified (failed + flaky tests + run errors).
    pub failures: usize,
    /// Of those, `unknown`.
    pub unknown: usize,
    /// Clusters of failures sharing a signature.
    pub clusters: usize,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// How the run ended, from its counts: `passed`, `flaky`, `failed` or `no_tests`.
    pub outcome: RunOutcome,
    /// The run's dominant error type; `null` when there is no failure to
    /// diagnose (the run passed or had no tests), `unknown` when there are
    /// failures but nothing is confident.
    pub error_type: Option<ErrorType>,
    /// Confidence of the run-level error type, in [0, 1]; `null` with it.
    pub confidence: Option<f64>,
    /// One sentence on how the verdict was reached (or that the run passed).
    pub reason: String,
    /// The run's cause in one plain sentence, for the comment and the
    /// dashboard: what the evidence of the whole run shows and what it means
    /// ("The page showed \"No items yet\" in 4 of 5 failures …: the test data
    /// was not seeded."), or that the run passed.
    pub cause: String,
    /// Failures per error type, most first.
    pub by_type: Vec<TypeCount>,
    /// One entry per failure.
    pub failures: Vec<FailureClassification>,
    /// Failures grouped by signature, largest first.
    pub clusters: Vec<Cluster>,
}

impl Classification {
    /// The run's verdict in one word: its error type when it has failures to
    /// diagnose, else its outcome (`passed`, `no_tests`).
    pub fn verdict(&self) -> &'static str {
        self.error_type
            .map_or(self.outcome.as_str(), |t| t.as_str())
    }
}

/// A count of failures of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeCount {
    /// The type.
    pub error_type: ErrorType,
    /// How many failures have it.
    pub count: usize,
}

/// What a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A failed or flaky test.
    Test,
    /// An error outside any test.
    RunError,
}

/// The diagnosis of one failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureClassification {
    /// Stable id: the test id, or `run-error-N`.
    pub id: String,
    /// Test or run error.
    pub kind: FailureKind,
    /// Title path (or the first line of a run error).
    pub title: String,
    /// Spec file.
    pub file: Option<String>,
    /// Line of the failure.
    pub line: Option<u32>,
    /// Column of the failure.
    pub column: Option<u32>,
    /// Project.
    pub project: Option<String>,
    /// Playwright's verdict (`unexpected` or `flaky`).
    pub status: Option<TestStatus>,
    /// Attempts run.
    pub attempts: usize,
    /// The chosen type.
    pub error_type: ErrorType,
    /// Calibrated confidence in [0, 1].
    pub confidence: f64,
    /// The strongest rule for the chosen type.
    pub rule: Option<String>,
    /// The first line of the first error.
    pub message: String,
    /// The normalized signature (numbers, ids, quoted values, paths masked).
    pub signature: String,
    /// The cluster it belongs to.
    pub cluster: String,
    /// The locator the test waited for and never found, when there is one.
    pub locator: Option<String>,
    /// Every rule that fired, strongest first, with the lines that made it fire.
    pub evidence: Vec<Evidence>,
    /// The other types that had evidence, with their confidence.
    pub alternatives: Vec<Alternative>,
}

/// One signal that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The rule's id.
    pub rule: Arc<str>,
    /// The type it votes for.
    pub error_type: ErrorType,
    /// Its weight.
    pub weight: f64,
    /// Why the signal means what it means.
    pub why: Arc<str>,
    /// The facts it required.
    pub facts: Vec<Cow<'static, str>>,
    /// The quoted lines, per field.
    pub quotes: Vec<Quote>,
}

/// A quoted line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// The field it came from (`message`, `call_log`, `page`, …).
    pub field: Cow<'static, str>,
    /// The line.
    pub text: String,
}

/// A type that was considered and not chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// The type.
    pub error_type: ErrorType,
    /// Its confidence.
    pub confidence: f64,
}

/// Failures sharing a signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Short stable id (a hash of the signature and type).
    pub id: String,
    /// The normalized signature.
    pub signature: String,
    /// The error type of its failures (the most common one).
    pub error_type: ErrorType,
    /// Number of failures.
    pub count: usize,
    /// Their ids.
    pub failures: Vec<String>,
    /// One original message.
    pub example: String,
}

/// The self-heal plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfHealPlan {
    /// Actions in the order they should run.
    pub actions: Vec<PlannedAction>,
}

/// A self-heal action by name (the fixed vocabulary).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    /// Reinstall the browsers (`npx playwright install`).
    ReinstallBrowsers,
    /// Restart the app and wait until it is healthy.
    RestartApp,
    /// Poll the app's health URL until it answers.
    WaitForHealth,
    /// Run the repository's seed command.
    ReseedData,
    /// Log in again and write a fresh storage state.
    RegenerateStorageState,
    /// Rerun the failing tests with one worker.
    ReduceWorkers,
    /// Rerun only the failing tests.
    RerunFailed,
}

impl HealAction {
    /// The action's name in plans and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealAction::ReinstallBrowsers => "reinstall_browsers",
            HealAction::RestartApp => "restart_app",
            HealAction::WaitForHealth => "wait_for_health",
            HealAction::ReseedData => "reseed_data",
            HealAction::RegenerateStorageState => "regenerate_storage_state",
            HealAction::ReduceWorkers => "reduce_workers",
            HealAction::RerunFailed => "rerun_failed",
        }
    }
}

/// One planned action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedAction {
    /// The action.
    pub action: HealAction,
    /// Why it is in the plan.
    pub reason: String,
    /// The error types that call for it.
    pub error_types: Vec<ErrorType>,
    /// The failures it targets (failure ids).
    pub targets: Vec<String>,
}

/// The kind of edit the fix-agent is asked to consider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// Replace a locator that no longer matches.
    UpdateLocator,
    /// Regenerate a screenshot baseline.
    RefreshSnapshot,
    /// Raise a timeout or replace a fixed wait with a web-first assertion.
    AdjustTimeout,
    /// Review an assertion whose expected value differs (never automatic).
    ReviewAssertion,
    /// Fix a bug in the spec (a missing `await`, a wrong index).
    FixTestCode,
}

impl FixKind {
    /// The kind's name in `analysis.json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FixKind::UpdateLocator => "update_locator",
            FixKind::RefreshSnapshot => "refresh_snapshot",
            FixKind::AdjustTimeout => "adjust_timeout",
            FixKind::ReviewAssertion => "review_assertion",
            FixKind::FixTestCode => "fix_test_code",
        }
    }
}

/// A structured edit proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixInstruction {
    /// What kind of edit.
    pub kind: FixKind,
    /// The failure it comes from.
    pub failure: String,
    /// The failure's type.
    pub error_type: ErrorType,
    /// The spec file.
    pub file: Option<String>,
    /// The line to edit.
    pub line: Option<u32>,
    /// The failing locator or value.
    pub old: Option<String>,
    /// The proposed replacement, when one is confident enough.
    pub new: Option<String>,
    /// Expected value (assertions).
    pub expected: Option<String>,
    /// Received value (assertions).
    pub received: Option<String>,
    /// Replacement candidates from the page snapshot, best first.
    pub candidates: Vec<LocatorCandidate>,
    /// The evidence lines behind the proposal.
    pub evidence: Vec<String>,
    /// Confidence of the classification it rests on.
    pub confidence: f64,
    /// Whether a person must review it before it lands (always true except locator
    /// updates with a clear winner).
    pub needs_review: bool,
}

/// An element of the page snapshot that could replace a failing locator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocatorCandidate {
    /// A locator for it.
    pub locator: String,
    /// Its role.
    pub role: String,
    /// Its accessible name or text.
    pub name: Option<String>,
    /// Similarity to the failing locator, in [0, 1].
    pub score: f64,
    /// Its line in the page snapshot.
    pub snapshot_line: usize,
}

/// Which downstream stages are eligible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// `ci-medic heal`.
    pub self_heal: Trigger,
    /// `ci-medic fix`.
    pub fix_agent: Trigger,
    /// Tell a person (PR comment, notification).
    pub notify: Trigger,
}

/// Whether one stage is eligible, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Eligible or not.
    pub eligible: bool,
    /// Every reason, for and against.
    pub reasons: Vec<String>,
    /// The failures that make it eligible.
    pub failures: Vec<String>,
}

/// The JSON Schema of [`Analysis`], as committed in `schemas/analysis.v1.json`.
pub fn analysis_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(Analysis),
        "https://ci-medic.dev/schemas/analysis.v1.json",
        ANALYSIS_SCHEMA,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Analyses are read by the one versioned reader, `document::parse`.
    #[test]
    fn another_major_version_or_a_missing_field_is_rejected_by_name() {
        let read = |b: &[u8]| crate::document::parse::<Analysis>(b, ANALYSIS_SCHEMA, "upstream");
        let e = read(br#"{"schema": "ci-medic/analysis/v2"}"#).expect_err("v2");
        assert!(
            e.to_string()
                .contains("\"ci-medic/analysis/v2\", a version this build"),
            "{e}"
        );
        let e = read(br#"{"stats": 1}"#).expect_err("no schema");
        assert!(e.to_string().contains("no `schema` field"), "{e}");
        let e = read(br#"{"schema": "ci-medic/analysis/v1"}"#).expect_err("fields");
        assert!(e.to_string().contains("missing field"), "{e}");
        let e = read(b"not json").expect_err("json");
        assert!(
            e.to_string()
                .starts_with("upstream: expected a ci-medic/analysis/v1 document (JSON)"),
            "{e}"
        );
    }
}
