//! The normalized model of a Playwright run: what every parser produces and
//! what `bundle.json` (`ci-medic/bundle/v1`) carries.
//!
//! Field names are the contract: they are serialized as written here and the
//! committed JSON Schema (`schemas/bundle.v1.json`) is generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The bundle schema identifier this build writes and reads.
pub const BUNDLE_SCHEMA: &str = "ci-medic/bundle/v1";

/// Everything ci-medic knows about one run, redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always `ci-medic/bundle/v1`.
    pub schema: String,
    /// The tool that wrote the bundle.
    pub collector: Collector,
    /// Where and why the run happened (CI context or local equivalents).
    pub run: RunContext,
    /// What the Playwright reports say about the run as a whole.
    pub report: ReportInfo,
    /// Counts over `tests`.
    pub summary: Summary,
    /// Every test, in report order.
    pub tests: Vec<Test>,
    /// Errors outside any test (global setup, a spec that threw at load, webServer).
    pub run_errors: Vec<ErrorInfo>,
    /// Windows around error lines of backend and app logs.
    pub log_excerpts: Vec<LogExcerpt>,
    /// Every artifact found: copied into the bundle when small, indexed otherwise.
    pub artifacts: Vec<Artifact>,
    /// How many secrets were masked, by kind (never the values).
    pub redaction: RedactionReport,
    /// What the collector noticed: missing files, conflicts between sources, truncation.
    pub warnings: Vec<Warning>,
}

/// The tool that wrote a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    /// `ci-medic`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// When the bundle was written (RFC 3339, UTC).
    pub generated_at: String,
}

/// Where and why the run happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunContext {
    /// `github` in GitHub Actions, `local` elsewhere.
    pub provider: String,
    /// `owner/name`.
    pub repo: Option<String>,
    /// The workflow run id (`GITHUB_RUN_ID`), or a local id.
    pub run_id: String,
    /// The attempt of that run (`GITHUB_RUN_ATTEMPT`), 1 locally.
    pub run_attempt: u32,
    /// The commit under test: on pull requests the PR head, not the merge commit.
    pub sha: Option<String>,
    /// The branch or tag (`GITHUB_REF_NAME`), or the local branch.
    pub ref_name: Option<String>,
    /// The triggering event (`pull_request`, `push`, `workflow_dispatch`, …).
    pub event: Option<String>,
    /// The pull request number, when there is one.
    pub pr_number: Option<u64>,
    /// The workflow's name.
    pub workflow: Option<String>,
    /// The job id.
    pub job: Option<String>,
    /// `Linux`, `macOS`, `Windows`.
    pub runner_os: Option<String>,
    /// Link to the run, when known.
    pub run_url: Option<String>,
}

/// What the reports say about the run as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInfo {
    /// Playwright's version, when a report states it.
    pub playwright_version: Option<String>,
    /// When the run started (as the report writes it).
    pub started_at: Option<String>,
    /// Wall time of the run in milliseconds.
    pub duration_ms: Option<f64>,
    /// Workers actually used.
    pub workers: Option<u32>,
    /// The shard, for sharded runs.
    pub shard: Option<Shard>,
    /// Project names, in configuration order.
    pub projects: Vec<String>,
    /// The files the model was built from.
    pub sources: Vec<Source>,
}

/// One shard of a sharded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// 1-based shard index.
    pub current: u32,
    /// Number of shards.
    pub total: u32,
}

/// A file the model was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// What kind of file it is.
    pub kind: SourceKind,
    /// Its path as given or discovered.
    pub path: String,
}

/// The kinds of input the collector reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Playwright's JSON reporter output.
    JsonReport,
    /// Playwright's JUnit reporter output.
    Junit,
    /// Console output of the list or line reporter.
    ConsoleLog,
    /// The `test-results/` output directory.
    ResultsDir,
    /// A backend or app log.
    BackendLog,
}

/// Counts over the tests of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Tests (one per spec and project).
    pub tests: usize,
    /// Passed as expected (status `expected`).
    pub passed: usize,
    /// Failed (status `unexpected`).
    pub failed: usize,
    /// Failed, then passed on retry.
    pub flaky: usize,
    /// Skipped or did not run.
    pub skipped: usize,
    /// Attempts over all tests.
    pub attempts: usize,
    /// Attachments over all attempts.
    pub attachments: usize,
    /// Errors outside tests.
    pub run_errors: usize,
}

/// A run's outcome in one word, read from its counts: what a reader asks first,
/// before any diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every test passed (or was skipped).
    Passed,
    /// Nothing failed, but some test passed only on a retry.
    Flaky,
    /// A test failed, or an error outside the tests stopped the run.
    Failed,
    /// The run had no tests.
    NoTests,
}

impl RunOutcome {
    /// The outcome of a run with these counts.
    pub fn of(s: &Summary) -> RunOutcome {
        if s.failed > 0 || s.run_errors > 0 {
            RunOutcome::Failed
        } else if s.tests == 0 {
            RunOutcome::NoTests
        } else if s.flaky > 0 {
            RunOutcome::Flaky
        } else {
            RunOutcome::Passed
        }
    }

    /// The word used in documents, pages and CSS classes.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Passed => "passed",
            RunOutcome::Flaky => "flaky",
            RunOutcome::Failed => "failed",
            RunOutcome::NoTests => "no_tests",
        }
    }
}

/// Playwright's verdict on a test over all its attempts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Ended as expected (passed, or an expected skip/failure).
    Expected,
    /// Did not end as expected: a failure.
    Unexpected,
    /// Failed at first, passed on a retry.
    Flaky,
    /// Skipped, or never ran.
    Skipped,
}

/// How one attempt ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Passed.
    Passed,
    /// An error or assertion failed.
    Failed,
    /// Ran past its timeout.
    TimedOut,
    /// Skipped.
    Skipped,
    /// Stopped by the runner (max failures, Ctrl-C).
    Interrupted,
}

/// One test: a spec in one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Test {
    /// Stable id: `project › file › titles…`.
    pub id: String,
    /// Describe titles and the test title.
    pub title_path: Vec<String>,
    /// The spec file, relative to the test directory.
    pub file: String,
    /// Line of the test in `file`.
    pub line: Option<u32>,
    /// Column of the test in `file`.
    pub column: Option<u32>,
    /// The project (browser configuration) it ran in.
    pub project: String,
    /// Playwright's verdict.
    pub status: TestStatus,
    /// `passed`, `failed`, `timedOut` or `skipped`: what the test was expected to do.
    pub expected_status: Option<String>,
    /// Tags (`@smoke`).
    pub tags: Vec<String>,
    /// Annotations (`skip`, `fixme`, `slow`, `issue`, …).
    pub annotations: Vec<Annotation>,
    /// Total duration over attempts, in milliseconds.
    pub duration_ms: f64,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl Test {
    /// The title path joined as Playwright prints it.
    pub fn title(&self) -> String {
        self.title_path.join(" › ")
    }
}

/// A test annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its description.
    pub description: Option<String>,
}

/// One attempt of a test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// 0 for the first run, 1 for the first retry, …
    pub retry: u32,
    /// How it ended.
    pub status: AttemptStatus,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// When it started.
    pub started_at: Option<String>,
    /// The worker that ran it.
    pub worker_index: Option<i64>,
    /// Its errors, first one first.
    pub errors: Vec<ErrorInfo>,
    /// What the test printed to stdout.
    pub stdout: String,
    /// What the test printed to stderr.
    pub stderr: String,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
    /// The `error-context.md` Playwright wrote for a failure.
    pub error_context: Option<ErrorContext>,
}

/// An error, ANSI codes removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    /// The message (without the call log).
    pub message: String,
    /// The stack, when there is one.
    pub stack: Option<String>,
    /// The source excerpt with `>` on the failing line.
    pub snippet: Option<String>,
    /// The `Call log:` lines: what the action or assertion waited for.
    pub call_log: Vec<String>,
    /// Where it happened.
    pub location: Option<Location>,
    /// A thrown non-Error value, as Playwright printed it.
    pub value: Option<String>,
}

/// A position in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// A file or inline body attached to an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// Its name (`screenshot`, `trace`, `video`, `error-context`, user names).
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// The path the report gives.
    pub path: Option<String>,
    /// An inline text body (decoded, redacted, bounded).
    pub body: Option<String>,
    /// What kind of artifact it is.
    pub kind: ArtifactKind,
    /// The path of the file inside the bundle, when it was found and copied or indexed.
    pub artifact: Option<String>,
}

/// What an artifact is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A PNG/JPEG screenshot (including expected/actual/diff images).
    Screenshot,
    /// A `trace.zip`.
    Trace,
    /// A video recording.
    Video,
    /// An `error-context.md`.
    ErrorContext,
    /// A log or other text file.
    Text,
    /// Anything else.
    Other,
}

/// What Playwright's `error-context.md` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorContext {
    /// The file, relative to the results directory.
    pub path: String,
    /// The ARIA snapshot of the page at failure (`- button "Sign in"` lines).
    pub page_snapshot: Option<String>,
    /// The error details section.
    pub error_details: Option<String>,
    /// The test source around the failure.
    pub test_source: Option<String>,
}

/// Windows around error lines of one log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogExcerpt {
    /// The log file.
    pub path: String,
    /// Its number of lines.
    pub total_lines: usize,
    /// Lines that matched an error pattern.
    pub matched_lines: usize,
    /// The windows, in file order.
    pub windows: Vec<LogWindow>,
    /// Whether windows were dropped to stay within the size cap.
    pub truncated: bool,
}

/// A run of lines around one or more error lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogWindow {
    /// First line (1-based).
    pub start_line: usize,
    /// Last line (1-based, inclusive).
    pub end_line: usize,
    /// The lines that triggered the window (1-based).
    pub error_lines: Vec<usize>,
    /// The text, redacted.
    pub text: String,
}

/// One file found for the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Path inside the bundle (`artifacts/…`), also for indexed-only files.
    pub path: String,
    /// Where it was found.
    pub source_path: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content; `null` when the file is larger than the
    /// collector's hashing limit (`--hash-max-bytes`).
    pub sha256: Option<String>,
    /// What it is.
    pub kind: ArtifactKind,
    /// Whether the file was copied into the bundle (false: indexed only, too large).
    pub copied: bool,
}

/// How many secrets were masked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionReport {
    /// Total masked occurrences.
    pub masked: usize,
    /// Masked occurrences by kind (`env`, `github_token`, `jwt`, …).
    pub by_kind: BTreeMap<String, usize>,
}

/// Something the collector noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// Machine-readable code (`source_conflict`, `missing_attachment`, `truncated`, …).
    pub code: String,
    /// What happened, for people.
    pub message: String,
}

impl Warning {
    /// A warning with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Warning {
        Warning {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl Summary {
    /// Counts `tests` and `run_errors`.
    pub fn of(tests: &[Test], run_errors: usize) -> Summary {
        let mut s = Summary {
            tests: tests.len(),
            run_errors,
            ..Summary::default()
        };
        for t in tests {
            match t.status {
                TestStatus::Expected => s.passed += 1,
                TestStatus::Unexpected => s.failed += 1,
                TestStatus::Flaky => s.flaky += 1,
                TestStatus::Skipped => s.skipped += 1,
            }
            s.attempts += t.attempts.len();
            s.attachments += t
                .attempts
                .iter()
                .map(|a| a.attachments.len())
                .sum::<usize>();
        }
        s
    }
}

/// The JSON Schema of [`Bundle`], as committed in `schemas/bundle.v1.json`.
pub fn bundle_schema() -> serde_json::Value {
    contract_schema(
        schemars::schema_for!(Bundle),
        "https://ci-medic.dev/schemas/bundle.v1.json",
        BUNDLE_SCHEMA,
    )
}

/// A generated schema with its `$id`, its title, and `schema` pinned to `version`:
/// the shape every committed contract schema has.
pub fn contract_schema(schema: schemars::Schema, id: &str, version: &str) -> serde_json::Value {
    let mut schema = serde_json::to_value(schema).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".to_owned(), serde_json::Value::String(id.to_owned()));
        obj.insert(
            "title".to_owned(),
            serde_json::Value::String(version.to_owned()),
        );
    }
    if let Some(field) = schema.pointer_mut("/properties/schema") {
        field["const"] = serde_json::Value::String(version.to_owned());
    }
    schema
}
