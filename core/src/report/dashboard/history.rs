//! `history.json` (`ci-medic/history/v2`): one small record per run, carried
//! from dashboard to dashboard (the previous site's file is passed back in), so
//! that trends, flaky tests and "failing since" need no database.
//!
//! A record nests the run's [`RunContext`] as the bundle has it. Histories
//! written as `ci-medic/history/v1` (the context's fields flat in the record)
//! are still read, by [`parse`], so published sites keep their trends.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnose::analysis::Analysis;
use crate::diagnose::taxonomy::ErrorType;
use crate::document::{self, DocumentError};
use crate::model::{Bundle, RunContext, RunOutcome, TestStatus};

/// The schema id this build writes and reads.
pub const HISTORY_SCHEMA: &str = "ci-medic/history/v2";

/// The previous version, still read.
pub const HISTORY_SCHEMA_V1: &str = "ci-medic/history/v1";

/// Runs kept by default: about three months of daily runs, a few hundred KB.
pub const DEFAULT_MAX_RUNS: usize = 100;

/// Failed or flaky tests recorded per run; a run with more records how many it dropped.
pub const MAX_TESTS_PER_RUN: usize = 500;

/// Every run the dashboard has seen, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Always `ci-medic/history/v2`.
    pub schema: String,
    /// When it was last written.
    pub generated_at: String,
    /// The cap it was written with (older runs are dropped first).
    pub max_runs: usize,
    /// The runs, in the order their dashboards were built (oldest first).
    pub runs: Vec<RunRecord>,
}

/// One run, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// The run, as its bundle identifies it (a re-run replaces the record of
    /// the same id and attempt).
    pub run: RunContext,
    /// When the tests started, as the report says; else when the bundle was written.
    pub started_at: String,
    /// Wall time of the run in milliseconds.
    pub duration_ms: Option<f64>,
    /// `passed`, `flaky`, `failed` or `no_tests`.
    pub verdict: RunOutcome,
    /// Tests in the run.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Passed on a retry.
    pub flaky: usize,
    /// Skipped.
    pub skipped: usize,
    /// The run's dominant error type, when it failed.
    pub error_type: Option<ErrorType>,
    /// The failed tests (at most [`MAX_TESTS_PER_RUN`] with `flaky_tests`).
    pub failed_tests: Vec<TestRecord>,
    /// The flaky tests.
    pub flaky_tests: Vec<TestRecord>,
    /// Failed and flaky tests left out to stay within the cap.
    pub dropped_tests: usize,
}

/// A failed or flaky test in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRecord {
    /// The test id (`project › file › titles…`).
    pub id: String,
    /// Its error type, when it was classified.
    pub error_type: Option<ErrorType>,
}

impl History {
    /// An empty history.
    pub fn new(generated_at: &str, max_runs: usize) -> History {
        History {
            schema: HISTORY_SCHEMA.to_owned(),
            generated_at: generated_at.to_owned(),
            max_runs,
            runs: Vec::new(),
        }
    }

    /// Adds `run` after the others (a record of the same run and attempt is
    /// replaced where it is: a rebuild is not a new run) and drops the oldest
    /// beyond `max_runs`. Runs stay in the order their dashboards were built.
    pub fn push(&mut self, run: RunRecord, generated_at: &str, max_runs: usize) {
        match self
            .runs
            .iter_mut()
            .find(|r| r.run.run_id == run.run.run_id && r.run.run_attempt == run.run.run_attempt)
        {
            Some(existing) => *existing = run,
            None => self.runs.push(run),
        }
        let max_runs = max_runs.max(1);
        if self.runs.len() > max_runs {
            let drop = self.runs.len() - max_runs;
            self.runs.drain(..drop);
        }
        self.max_runs = max_runs;
        self.generated_at = generated_at.to_owned();
    }

    /// The tests that were flaky, or failed in some runs and passed in others,
    /// most unstable first.
    pub fn flaky_tests(&self, limit: usize) -> Vec<Flakiness> {
        let mut by_id: HashMap<&str, Flakiness> = HashMap::new();
        for (i, run) in self.runs.iter().enumerate() {
            for t in &run.flaky_tests {
                let f = by_id.entry(&t.id).or_insert_with(|| Flakiness::new(&t.id));
                f.flaky_runs += 1;
                f.last_seen = i;
            }
            for t in &run.failed_tests {
                let f = by_id.entry(&t.id).or_insert_with(|| Flakiness::new(&t.id));
                f.failed_runs += 1;
                f.last_seen = i;
            }
        }
        let runs = self.runs.len();
        let mut out: Vec<Flakiness> = by_id
            .into_values()
            // A test that failed in every run is broken, not flaky.
            .filter(|f| f.flaky_runs > 0 || (f.failed_runs > 0 && f.failed_runs < runs))
            .map(|mut f| {
                f.runs = runs;
                f.rate = (f.flaky_runs + f.failed_runs) as f64 / runs.max(1) as f64;
                f
            })
            .collect();
        out.sort_by(|a, b| {
            b.flaky_runs
                .cmp(&a.flaky_runs)
                .then(b.rate.total_cmp(&a.rate))
                .then(b.last_seen.cmp(&a.last_seen))
                .then(a.id.cmp(&b.id))
        });
        out.truncate(limit);
        out
    }

    /// For each test failing in the latest run: the run its current streak of
    /// failures began in, and how many runs in a row it has failed.
    pub fn failing_since(&self) -> BTreeMap<String, FailingSince> {
        let mut out = BTreeMap::new();
        let Some(latest) = self.runs.last() else {
            return out;
        };
        for t in &latest.failed_tests {
            let mut first = self.runs.len() - 1;
            while first > 0
                && self.runs[first - 1]
                    .failed_tests
                    .iter()
                    .any(|p| p.id == t.id)
            {
                first -= 1;
            }
            let run = &self.runs[first];
            out.insert(
                t.id.clone(),
                FailingSince {
                    run_id: run.run.run_id.clone(),
                    run_attempt: run.run.run_attempt,
                    run_url: run.run.run_url.clone(),
                    started_at: run.started_at.clone(),
                    sha: run.run.sha.clone(),
                    runs: self.runs.len() - first,
                },
            );
        }
        out
    }
}

/// How unstable a test has been across the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flakiness {
    /// The test id.
    pub id: String,
    /// Runs in which it passed only on a retry.
    pub flaky_runs: usize,
    /// Runs in which it failed.
    pub failed_runs: usize,
    /// Runs in the history.
    pub runs: usize,
    /// (flaky + failed) / runs.
    pub rate: f64,
    /// Index of the last run it was unstable in.
    #[serde(skip)]
    last_seen: usize,
}

impl Flakiness {
    fn new(id: &str) -> Flakiness {
        Flakiness {
            id: id.to_owned(),
            flaky_runs: 0,
            failed_runs: 0,
            runs: 0,
            rate: 0.0,
            last_seen: 0,
        }
    }
}

/// Where a failing test's current streak of failures began.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingSince {
    /// The run it first failed in.
    pub run_id: String,
    /// That run's attempt.
    pub run_attempt: u32,
    /// Link to that run.
    pub run_url: Option<String>,
    /// When that run started.
    pub started_at: String,
    /// The commit of that run.
    pub sha: Option<String>,
    /// Runs in a row it has failed, this one included.
    pub runs: usize,
}

/// The record of the run in `bundle`, with error types from `analysis`.
pub fn record(bundle: &Bundle, analysis: Option<&Analysis>) -> RunRecord {
    let types: HashMap<&str, ErrorType> = analysis
        .map(|a| {
            a.classification
                .failures
                .iter()
                .map(|f| (f.id.as_str(), f.error_type))
                .collect()
        })
        .unwrap_or_default();
    let mut failed_tests = Vec::new();
    let mut flaky_tests = Vec::new();
    let mut dropped = 0;
    for t in &bundle.tests {
        if matches!(t.status, TestStatus::Expected | TestStatus::Skipped) {
            continue;
        }
        if failed_tests.len() + flaky_tests.len() >= MAX_TESTS_PER_RUN {
            dropped += 1;
            continue;
        }
        let list = if t.status == TestStatus::Flaky {
            &mut flaky_tests
        } else {
            &mut failed_tests
        };
        list.push(TestRecord {
            id: t.id.clone(),
            error_type: types.get(t.id.as_str()).copied(),
        });
    }
    let s = &bundle.summary;
    let verdict = RunOutcome::of(&bundle.summary);
    RunRecord {
        run: bundle.run.clone(),
        started_at: bundle
            .report
            .started_at
            .clone()
            .unwrap_or_else(|| bundle.collector.generated_at.clone()),
        duration_ms: bundle.report.duration_ms,
        verdict,
        tests: s.tests,
        passed: s.passed,
        failed: s.failed,
        flaky: s.flaky,
        skipped: s.skipped,
        error_type: match (verdict, analysis) {
            (RunOutcome::Failed, Some(a)) => a.classification.error_type,
            _ => None,
        },
        failed_tests,
        flaky_tests,
        dropped_tests: dropped,
    }
}

/// The JSON Schema of [`History`], as committed in `schemas/history.v2.json`.
pub fn history_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(History),
        "https://ci-medic.dev/schemas/history.v2.json",
        HISTORY_SCHEMA,
    )
}

/// Parses a history document of this version or of v1 (read into this
/// version's shape); `origin` names it in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<History, DocumentError> {
    #[derive(Deserialize)]
    struct Version {
        schema: Option<serde_json::Value>,
    }
    let v1 = serde_json::from_slice::<Version>(bytes)
        .ok()
        .and_then(|v| v.schema)
        .is_some_and(|s| s == HISTORY_SCHEMA_V1);
    if v1 {
        document::parse::<v1::History>(bytes, HISTORY_SCHEMA_V1, origin).map(History::from)
    } else {
        document::parse::<History>(bytes, HISTORY_SCHEMA, origin)
    }
}

/// Reads the history document at `path` ([`parse`]).
pub fn read(path: &std::path::Path) -> Result<History, DocumentError> {
    let bytes = document::read_bytes(path, HISTORY_SCHEMA)?;
    parse(&bytes, &path.display().to_string())
}

/// `ci-medic/history/v1`: the run's identity flat in each record.
mod v1 {
    use serde::Deserialize;

    use super::{RunOutcome, TestRecord};
    use crate::diagnose::taxonomy::ErrorType;
    use crate::model::RunContext;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct History {
        #[allow(dead_code)]
        schema: String,
        generated_at: String,
        max_runs: usize,
        runs: Vec<RunRecord>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RunRecord {
        run_id: String,
        run_attempt: u32,
        sha: Option<String>,
        ref_name: Option<String>,
        event: Option<String>,
        pr_number: Option<u64>,
        run_url: Option<String>,
        started_at: String,
        duration_ms: Option<f64>,
        verdict: RunOutcome,
        tests: usize,
        passed: usize,
        failed: usize,
        flaky: usize,
        skipped: usize,
        error_type: Option<ErrorType>,
        failed_tests: Vec<TestRecord>,
        flaky_tests: Vec<TestRecord>,
        dropped_tests: usize,
    }

    impl From<History> for super::History {
        fn from(h: History) -> super::History {
            super::History {
                schema: super::HISTORY_SCHEMA.to_owned(),
                generated_at: h.generated_at,
                max_runs: h.max_runs,
                runs: h
                    .runs
                    .into_iter()
                    .map(|r| super::RunRecord {
                        run: RunContext {
                            // v1 did not keep where the run came from.
                            provider: String::new(),
                            repo: None,
                            run_id: r.run_id,
                            run_attempt: r.run_attempt,
                            sha: r.sha,
                            ref_name: r.ref_name,
                            event: r.event,
                            pr_number: r.pr_number,
                            workflow: None,
                            job: None,
                            runner_os: None,
                            run_url: r.run_url,
                        },
                        started_at: r.started_at,
                        duration_ms: r.duration_ms,
                        verdict: r.verdict,
                        tests: r.tests,
                        passed: r.passed,
                        failed: r.failed,
                        flaky: r.flaky,
                        skipped: r.skipped,
                        error_type: r.error_type,
                        failed_tests: r.failed_tests,
                        flaky_tests: r.flaky_tests,
                        dropped_tests: r.dropped_tests,
                    })
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, failed: &[&str], flaky: &[&str]) -> RunRecord {
        let rec = |ids: &[&str]| {
            ids.iter()
                .map(|i| TestRecord {
                    id: (*i).to_owned(),
                    error_type: None,
                })
                .collect::<Vec<_>>()
        };
        RunRecord {
            run: RunContext {
                run_id: id.to_owned(),
                run_attempt: 1,
                ..RunContext::default()
            },
            started_at: format!("2026-01-0{id}T00:00:00Z"),
            duration_ms: None,
            verdict: if failed.is_empty() {
                RunOutcome::Passed
            } else {
                RunOutcome::Failed
            },
            tests: 10,
            passed: 10 - failed.len() - flaky.len(),
            failed: failed.len(),
            flaky: flaky.len(),
            skipped: 0,
            error_type: None,
            failed_tests: rec(failed),
            flaky_tests: rec(flaky),
            dropped_tests: 0,
        }
    }

    fn history(runs: Vec<RunRecord>) -> History {
        let mut h = History::new("t", 10);
        for r in runs {
            h.push(r, "t", 10);
        }
        h
    }

    #[test]
    fn flaky_means_retried_or_intermittent_never_always_broken() {
        let h = history(vec![
            run("1", &["broken", "sometimes"], &["retry"]),
            run("2", &["broken"], &["retry"]),
            run("3", &["broken"], &[]),
        ]);
        let ids: Vec<(String, usize, usize)> = h
            .flaky_tests(10)
            .into_iter()
            .map(|f| (f.id, f.flaky_runs, f.failed_runs))
            .collect();
        assert_eq!(
            ids,
            [("retry".to_owned(), 2, 0), ("sometimes".to_owned(), 0, 1)],
            "a test failing in every run is broken, not flaky"
        );
    }

    #[test]
    fn failing_since_counts_the_current_streak_only() {
        let h = history(vec![
            run("1", &["a"], &[]),
            run("2", &[], &[]),
            run("3", &["a", "b"], &[]),
            run("4", &["a", "b"], &[]),
            run("5", &["a"], &[]),
        ]);
        let since = h.failing_since();
        assert_eq!(since.len(), 1, "only tests failing in the latest run");
        let a = &since["a"];
        assert_eq!((a.run_id.as_str(), a.runs), ("3", 3));
    }

    #[test]
    fn a_rebuild_replaces_in_place_and_the_cap_keeps_the_newest() {
        let mut h = history(vec![run("1", &[], &[]), run("2", &["x"], &[])]);
        h.push(run("1", &["y"], &[]), "t", 10);
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.runs[0].failed_tests[0].id, "y", "replaced where it was");
        h.push(run("3", &[], &[]), "t2", 2);
        let ids: Vec<&str> = h.runs.iter().map(|r| r.run.run_id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
        assert_eq!((h.max_runs, h.generated_at.as_str()), (2, "t2"));
    }
}
