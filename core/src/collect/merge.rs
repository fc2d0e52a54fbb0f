//! Merging what several sources say about one run.
//!
//! The JSON report is primary. The JUnit report and the console log add what it
//! lacks (a call log printed only on the console) and are compared with it: a
//! disagreement becomes a `source_conflict` warning. The results tree adds the
//! `error-context.md` of each failed attempt.

use std::collections::HashMap;

use crate::collect::playwright::console::{ConsoleFailure, ConsoleRun};
use crate::collect::playwright::json::JsonRun;
use crate::collect::playwright::junit::JunitRun;
use crate::model::{ErrorInfo, ReportInfo, Test, TestStatus, Warning};

/// The merged run.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Run-level facts.
    pub info: ReportInfo,
    /// The tests.
    pub tests: Vec<Test>,
    /// Errors outside tests.
    pub run_errors: Vec<ErrorInfo>,
    /// Output directories named by the report.
    pub output_dirs: Vec<String>,
}

/// Merges the sources; at least one of `json`, `junit`, `console` must be given.
pub fn merge(
    json: Option<JsonRun>,
    junit: Option<JunitRun>,
    console: Option<ConsoleRun>,
    warnings: &mut Vec<Warning>,
) -> Merged {
    let mut merged = match (json, &junit) {
        (Some(j), _) => Merged {
            info: j.info,
            tests: j.tests,
            run_errors: j.run_errors,
            output_dirs: j.output_dirs,
        },
        (None, Some(ju)) => Merged {
            info: ju.info.clone(),
            tests: ju.tests.clone(),
            ..Merged::default()
        },
        (None, None) => Merged::default(),
    };
    let from_json = !merged.tests.is_empty() || !merged.run_errors.is_empty();
    if let (Some(ju), true) = (&junit, from_json) {
        compare_junit(&merged.tests, ju, warnings);
        if merged.info.started_at.is_none() {
            merged.info.started_at = ju.info.started_at.clone();
        }
    }
    if let Some(console) = console {
        if merged.tests.is_empty() && merged.run_errors.is_empty() {
            warnings.push(Warning::new(
                "console_only",
                "only the console log was found: tests that passed are counted but not listed",
            ));
            merged.tests = console.failures.iter().map(test_from_console).collect();
        } else {
            enrich_from_console(&mut merged.tests, &console, warnings);
        }
    }
    merged
}

/// Key that matches one test across sources: project and title path.
fn key(project: &str, title_path: &[String]) -> String {
    format!("{project}\u{1f}{}", title_path.join("\u{1f}"))
}

fn compare_junit(tests: &[Test], junit: &JunitRun, warnings: &mut Vec<Warning>) {
    let by_key: HashMap<String, &Test> = tests
        .iter()
        .map(|t| (key(&t.project, &t.title_path), t))
        .collect();
    let mut conflicts = 0;
    let mut first = None;
    for jt in &junit.tests {
        let Some(t) = by_key.get(&key(&jt.project, &jt.title_path)) else {
            continue;
        };
        // JUnit without retries reports a flaky test as passed.
        let agree = t.status == jt.status
            || (t.status == TestStatus::Flaky && jt.status == TestStatus::Expected)
            || (t.status == TestStatus::Expected && jt.status == TestStatus::Flaky);
        if !agree {
            conflicts += 1;
            first.get_or_insert_with(|| {
                format!(
                    "{}: JSON says {:?}, JUnit says {:?}",
                    t.id, t.status, jt.status
                )
            });
        }
    }
    if junit.tests.len() != tests.len() {
        warnings.push(Warning::new(
            "source_conflict",
            format!(
                "the JSON report has {} tests, the JUnit report {}",
                tests.len(),
                junit.tests.len()
            ),
        ));
    }
    if let Some(first) = first {
        warnings.push(Warning::new(
            "source_conflict",
            format!(
                "{conflicts} test(s) differ between the JSON and JUnit reports; first: {first}"
            ),
        ));
    }
}

fn find<'a>(tests: &'a mut [Test], f: &ConsoleFailure) -> Option<&'a mut Test> {
    tests.iter_mut().find(|t| {
        f.project.as_ref().is_none_or(|p| *p == t.project)
            && t.title_path == f.title_path
            && (f.file.ends_with(&t.file) || t.file.ends_with(&f.file))
    })
}

fn enrich_from_console(tests: &mut [Test], console: &ConsoleRun, warnings: &mut Vec<Warning>) {
    let mut unmatched = 0;
    let mut added_logs = 0;
    for f in &console.failures {
        let Some(test) = find(tests, f) else {
            unmatched += 1;
            continue;
        };
        for ca in &f.attempts {
            let Some(attempt) = test.attempts.iter_mut().find(|a| a.retry == ca.retry) else {
                continue;
            };
            if let Some(err) = attempt.errors.first_mut()
                && err.call_log.is_empty()
                && !ca.call_log.is_empty()
            {
                err.call_log = ca.call_log.clone();
                added_logs += 1;
            }
        }
    }
    if unmatched > 0 {
        warnings.push(Warning::new(
            "source_conflict",
            format!("{unmatched} failure(s) printed in the console log are not in the report"),
        ));
    }
    let failing = tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
        .count();
    if !console.failures.is_empty() && console.failures.len() != failing {
        warnings.push(Warning::new(
            "source_conflict",
            format!(
                "the console log prints {} failing test(s), the report has {failing}",
                console.failures.len()
            ),
        ));
    }
    if added_logs > 0 {
        warnings.push(Warning::new(
            "console_call_logs",
            format!("{added_logs} call log(s) were taken from the console log"),
        ));
    }
}

fn test_from_console(f: &ConsoleFailure) -> Test {
    use crate::model::Attempt;
    let project = f.project.clone().unwrap_or_default();
    let attempts = f
        .attempts
        .iter()
        .map(|a| Attempt {
            retry: a.retry,
            status: crate::collect::playwright::failed_attempt_status(&a.message),
            duration_ms: 0.0,
            started_at: None,
            worker_index: None,
            errors: vec![ErrorInfo {
                message: a.message.clone(),
                call_log: a.call_log.clone(),
                ..ErrorInfo::default()
            }],
            stdout: String::new(),
            stderr: String::new(),
            attachments: Vec::new(),
            error_context: None,
        })
        .collect();
    Test {
        id: crate::collect::playwright::test_id(&project, &f.file, &f.title_path),
        title_path: f.title_path.clone(),
        file: f.file.clone(),
        line: f.line,
        column: f.column,
        project,
        status: TestStatus::Unexpected,
        expected_status: None,
        tags: Vec::new(),
        annotations: Vec::new(),
        duration_ms: 0.0,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, AttemptStatus};

    fn test(project: &str, title: &str, status: TestStatus, call_log: &[&str]) -> Test {
        Test {
            id: crate::collect::playwright::test_id(project, "a.spec.ts", &[title.to_owned()]),
            title_path: vec![title.to_owned()],
            file: "a.spec.ts".into(),
            line: Some(3),
            column: Some(1),
            project: project.into(),
            status,
            expected_status: None,
            tags: vec![],
            annotations: vec![],
            duration_ms: 1.0,
            attempts: vec![Attempt {
                retry: 0,
                status: AttemptStatus::Failed,
                duration_ms: 1.0,
                started_at: None,
                worker_index: None,
                errors: vec![ErrorInfo {
                    message: "Error: boom".into(),
                    call_log: call_log.iter().map(|s| (*s).to_owned()).collect(),
                    ..ErrorInfo::default()
                }],
                stdout: String::new(),
                stderr: String::new(),
                attachments: vec![],
                error_context: None,
            }],
        }
    }

    #[test]
    fn json_wins_and_junit_disagreement_is_a_warning() {
        let json = JsonRun {
            tests: vec![
                test("chromium", "t1", TestStatus::Unexpected, &[]),
                test("chromium", "t2", TestStatus::Flaky, &[]),
            ],
            ..JsonRun::default()
        };
        let junit = JunitRun {
            tests: vec![
                test("chromium", "t1", TestStatus::Expected, &[]),
                test("chromium", "t2", TestStatus::Expected, &[]),
            ],
            ..JunitRun::default()
        };
        let mut warnings = Vec::new();
        let merged = merge(Some(json), Some(junit), None, &mut warnings);
        assert_eq!(
            merged.tests[0].status,
            TestStatus::Unexpected,
            "the JSON report is primary"
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].code, "source_conflict");
        assert!(
            warnings[0].message.contains("1 test(s) differ") && warnings[0].message.contains("t1")
        );
    }

    #[test]
    fn console_adds_missing_call_logs_only() {
        let json = JsonRun {
            tests: vec![
                test("chromium", "t1", TestStatus::Unexpected, &[]),
                test("chromium", "t2", TestStatus::Unexpected, &["kept"]),
            ],
            ..JsonRun::default()
        };
        let console = crate::collect::playwright::console::parse_text(
            "  1) [chromium] › tests/a.spec.ts:3:1 › t1 ───\n\n    Error: boom\n    Call log:\n      - waiting for x\n\n  2) [chromium] › tests/a.spec.ts:9:1 › t2 ───\n\n    Error: boom\n    Call log:\n      - other\n\n  2 failed\n",
        );
        let mut warnings = Vec::new();
        let merged = merge(Some(json), None, Some(console), &mut warnings);
        assert_eq!(
            merged.tests[0].attempts[0].errors[0].call_log,
            ["waiting for x"]
        );
        assert_eq!(merged.tests[1].attempts[0].errors[0].call_log, ["kept"]);
        assert!(
            warnings.iter().any(|w| w.code == "console_call_logs"),
            "{warnings:?}"
        );
        assert!(
            !warnings.iter().any(|w| w.code == "source_conflict"),
            "{warnings:?}"
        );
    }

    #[test]
    fn console_only_lists_the_failures() {
        let console = crate::collect::playwright::console::parse_text(
            "Running 3 tests using 1 worker\n  1) [chromium] › tests/a.spec.ts:3:1 › t1 ───\n\n    Test timeout of 5000ms exceeded.\n\n  1 failed\n  2 passed (3s)\n",
        );
        let mut warnings = Vec::new();
        let merged = merge(None, None, Some(console), &mut warnings);
        assert_eq!(merged.tests.len(), 1);
        assert_eq!(merged.tests[0].attempts[0].status, AttemptStatus::TimedOut);
        assert!(warnings.iter().any(|w| w.code == "console_only"));
    }
}
