//! The Common Test Report Format (CTRF), so other CI tools can read the results.
//!
//! CTRF allows no properties beyond its schema; everything here is a CTRF field.

use serde::Serialize;

use crate::model::{AttemptStatus, Bundle, TestStatus};

/// The CTRF spec version written.
pub const SPEC_VERSION: &str = "0.0.0";

/// A CTRF document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ctrf {
    report_format: &'static str,
    spec_version: &'static str,
    results: Results,
}

#[derive(Debug, Serialize)]
struct Results {
    tool: Tool,
    summary: Summary,
    tests: Vec<CtrfTest>,
}

#[derive(Debug, Serialize)]
struct Tool {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Debug, Serialize)]
struct Summary {
    tests: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    pending: usize,
    other: usize,
    flaky: usize,
    start: i64,
    stop: i64,
    duration: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CtrfTest {
    name: String,
    status: &'static str,
    duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    retries: usize,
    flaky: bool,
    suite: Vec<String>,
}

/// The CTRF view of a bundle.
pub fn from_bundle(bundle: &Bundle) -> Ctrf {
    let start = bundle
        .report
        .started_at
        .as_deref()
        .and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0);
    let duration = bundle.report.duration_ms.unwrap_or(0.0).round() as i64;
    let tests: Vec<CtrfTest> = bundle
        .tests
        .iter()
        .map(|t| {
            let status = match t.status {
                TestStatus::Expected | TestStatus::Flaky => {
                    if t.attempts
                        .last()
                        .is_some_and(|a| a.status == AttemptStatus::Skipped)
                    {
                        "skipped"
                    } else {
                        "passed"
                    }
                }
                TestStatus::Unexpected => "failed",
                TestStatus::Skipped => "skipped",
            };
            let error = t.attempts.iter().rev().find_map(|a| a.errors.first());
            let mut suite = vec![t.project.clone(), t.file.clone()];
            suite.extend(
                t.title_path[..t.title_path.len().saturating_sub(1)]
                    .iter()
                    .cloned(),
            );
            CtrfTest {
                name: t.title(),
                status,
                duration: t.duration_ms.round() as i64,
                message: error.map(|e| e.message.clone()),
                trace: error.and_then(|e| e.stack.clone()),
                file_path: Some(t.file.clone()),
                line: t.line,
                retries: t.attempts.len().saturating_sub(1),
                flaky: t.status == TestStatus::Flaky,
                suite,
            }
        })
        .collect();
    let count = |s: &str| tests.iter().filter(|t| t.status == s).count();
    Ctrf {
        report_format: "CTRF",
        spec_version: SPEC_VERSION,
        results: Results {
            tool: Tool {
                name: "playwright",
                version: bundle.report.playwright_version.clone(),
            },
            summary: Summary {
                tests: tests.len(),
                passed: count("passed"),
                failed: count("failed"),
                skipped: count("skipped"),
                pending: 0,
                other: 0,
                flaky: bundle.summary.flaky,
                start,
                stop: start + duration,
                duration,
            },
            tests,
        },
    }
}
