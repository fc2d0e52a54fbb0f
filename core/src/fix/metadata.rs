//! The fix-agent's files: `fix-agent/input.json` (what `prepare` gathered) and
//! `fix-agent/metadata-<run_id>.json` (what `apply` did, decided and validated).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::guard::GuardDecision;
use crate::diagnose::analysis::{FixInstruction, FixKind};
use crate::diagnose::taxonomy::ErrorType;
use crate::locator::matching::Healing;
use crate::model::RunContext;

/// Schema id of `input.json`.
pub const INPUT_SCHEMA: &str = "ci-medic/fix-input/v1";
/// Schema id of `metadata-<run_id>.json`.
pub const METADATA_SCHEMA: &str = "ci-medic/fix-metadata/v1";

/// `fix-agent/input.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixInput {
    /// Always [`INPUT_SCHEMA`].
    pub schema: String,
    /// When it was written (RFC 3339).
    pub generated_at: String,
    /// The run.
    pub run: RunContext,
    /// `analysis` (instructions from analysis.json) or `artifacts` (no analysis was
    /// given: the bundle was classified here).
    pub mode: String,
    /// The fix instructions, as the analysis gave them.
    pub instructions: Vec<FixInstruction>,
    /// The failures the instructions are about.
    pub failures: Vec<FailureInput>,
    /// The failing specs' sources around each failure.
    pub sources: Vec<SourceExcerpt>,
    /// What could not be gathered and why.
    pub warnings: Vec<String>,
}

/// One failure as the fix-agent needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureInput {
    /// Test id (as in the bundle).
    pub id: String,
    /// Title path.
    pub title: Vec<String>,
    /// Playwright project.
    pub project: String,
    /// The file as the report names it (relative to the test directory).
    pub report_file: String,
    /// The spec's path in the repository, when found.
    pub spec: Option<String>,
    /// Line of the test declaration.
    pub test_line: Option<u32>,
    /// Line where it failed (from the error's location), else the test's line.
    pub line: Option<u32>,
    /// Error type assigned.
    pub error_type: ErrorType,
    /// Error message (bounded).
    pub message: String,
    /// Call log lines.
    pub call_log: Vec<String>,
    /// The error-context ARIA page snapshot.
    pub page_snapshot: Option<String>,
    /// The last failed attempt's trace.zip (DOM snapshots), as an absolute or
    /// bundle-relative path.
    pub trace: Option<String>,
    /// Screenshot paths.
    pub screenshots: Vec<String>,
    /// A failed screenshot comparison's images (the last failed attempt's):
    /// the baseline as the repository has it, the actual and the diff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparison: Vec<SnapshotImage>,
}

/// Lines of a spec around a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceExcerpt {
    /// Path in the repository.
    pub path: String,
    /// The failure it is for.
    pub failure: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// The lines.
    pub text: String,
}

/// What became of the patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A patch whose affected tests pass with it applied.
    Validated,
    /// A patch that was not validated, or whose validation failed: a person decides.
    NeedsManualReview,
    /// A patch with which some of the failures it targets pass in validation
    /// and others do not (see `validation.failures`): a person decides.
    Partial,
    /// No patch (the reason says why).
    NoPatch,
}

/// `fix-agent/metadata-<run_id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixMetadata {
    /// Always [`METADATA_SCHEMA`].
    pub schema: String,
    /// The run the failures come from.
    pub run_id: String,
    /// When it was written.
    pub generated_at: String,
    /// The commit the patch applies to.
    pub base_sha: Option<String>,
    /// What became of the patch.
    pub outcome: Outcome,
    /// Whether a person must review before it lands (every patch that is not validated).
    pub needs_manual_review: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// The patch file (empty when there is no patch).
    pub patch: PatchInfo,
    /// Every edit considered, made or not.
    pub edits: Vec<Edit>,
    /// Suggestions that are never automatic edits (assertion values, test code).
    pub proposals: Vec<Proposal>,
    /// Guardrail decisions.
    pub guardrails: Vec<GuardDecision>,
    /// The validation rerun.
    pub validation: Validation,
    /// The reference run (`[fix.reference]`), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceRun>,
    /// `test-only` or `app-code`.
    pub risk: String,
    /// Lowest confidence among the edits in the patch.
    pub confidence: Option<f64>,
    /// Suggested branch.
    pub branch: String,
    /// Suggested commit message.
    pub commit_message: String,
    /// Suggested PR title.
    pub pr_title: String,
    /// Suggested PR body (Markdown).
    pub pr_body: String,
}

/// The failing tests rerun at the commit their locators last worked at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRun {
    /// The commit.
    pub commit: String,
    /// Tests rerun there.
    pub tests: usize,
    /// How many passed.
    pub passed: usize,
    /// Locator calls whose element the traces recorded.
    pub calls: usize,
    /// Wall time, app start included.
    pub duration_ms: u64,
    /// What happened, in one line (or why it did not run).
    pub detail: String,
}

/// The patch file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchInfo {
    /// Its path.
    pub path: String,
    /// Files it changes.
    pub files: Vec<String>,
    /// Lines added plus removed.
    pub changed_lines: usize,
    /// Hex SHA-256 of the patch file.
    pub sha256: String,
}

/// One edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Kind (`update_locator`, `refresh_snapshot`, `adjust_timeout`, `fix_test_code`).
    pub kind: FixKind,
    /// The failure.
    pub failure: String,
    /// File edited (or that would have been).
    pub file: Option<String>,
    /// Line edited.
    pub line: Option<u32>,
    /// Text before.
    pub old: Option<String>,
    /// Text after.
    pub new: Option<String>,
    /// Whether it is in the patch.
    pub applied: bool,
    /// Why it was made or not.
    pub reason: String,
    /// Confidence in this edit (classification confidence times heal score).
    pub confidence: f64,
    /// Validation round it was made in (1: from the original failure).
    pub round: u32,
    /// For locator heals: every candidate with its scores.
    pub healing: Option<Healing>,
    /// For a baseline refresh: the failure's expected (the old baseline),
    /// actual (what the new one records) and diff images, as the bundle has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<SnapshotImage>,
}

/// One image of a screenshot comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotImage {
    /// `expected`, `actual` or `diff`.
    pub role: String,
    /// Its path (bundle-relative, or where the report had it).
    pub path: String,
}

impl SnapshotImage {
    /// The comparison images among an attempt's attachments, by the names
    /// Playwright gives them (`<name>-expected.png`, `-actual.png`,
    /// `-diff.png`), with their paths.
    pub fn of<'a>(attachments: impl IntoIterator<Item = (&'a str, String)>) -> Vec<SnapshotImage> {
        let all: Vec<(&str, String)> = attachments.into_iter().collect();
        let mut out = Vec::new();
        for role in ["expected", "actual", "diff"] {
            if let Some((_, path)) = all
                .iter()
                .find(|(name, _)| name.ends_with(&format!("-{role}.png")))
            {
                out.push(SnapshotImage {
                    role: role.to_owned(),
                    path: path.clone(),
                });
            }
        }
        out
    }
}

/// A suggestion for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Kind.
    pub kind: FixKind,
    /// The failure.
    pub failure: String,
    /// File.
    pub file: Option<String>,
    /// Line.
    pub line: Option<u32>,
    /// What to consider.
    pub summary: String,
    /// Expected value (assertions).
    pub expected: Option<String>,
    /// Received value (assertions).
    pub received: Option<String>,
}

/// The validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// Whether it ran.
    pub ran: bool,
    /// Whether the affected tests passed with the patch (null: not run).
    pub passed: Option<bool>,
    /// Why it did not run, or how it ended.
    pub detail: String,
    /// The tests rerun (`file:line`, project).
    pub tests: Vec<String>,
    /// Each round.
    pub rounds: Vec<Round>,
    /// Each failure the patch targets, and whether its test passed in the last round.
    #[serde(default)]
    pub failures: Vec<FailureValidation>,
}

/// One targeted failure in validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureValidation {
    /// The failure (test id).
    pub failure: String,
    /// Its test's title.
    pub test: String,
    /// Whether it passed with the patch (null: the rerun gave no result for it).
    pub passed: Option<bool>,
}

/// One validation run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// 1-based.
    pub round: u32,
    /// The command (program and arguments).
    pub command: Vec<String>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Whether it hit the time limit.
    pub timed_out: bool,
    /// Passed tests.
    pub passed: usize,
    /// Failed tests (title and first error line).
    pub failed: Vec<String>,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Its log (relative to the output directory).
    pub log: String,
}

/// The JSON Schema of `input.json` (committed as `schemas/fix-input.v1.json`).
pub fn input_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(FixInput),
        "https://ci-medic.dev/schemas/fix-input.v1.json",
        INPUT_SCHEMA,
    )
}

/// The JSON Schema of the metadata (committed as `schemas/fix-metadata.v1.json`).
pub fn metadata_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(FixMetadata),
        "https://ci-medic.dev/schemas/fix-metadata.v1.json",
        METADATA_SCHEMA,
    )
}
