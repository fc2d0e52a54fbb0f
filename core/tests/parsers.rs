//! Every real report and every recorded scenario run is parsed, and the counts
//! equal those computed here independently from the raw files.

use std::path::{Path, PathBuf};

use ci_medic_core::collect;
use ci_medic_core::collect::playwright::{console, json, junit, results_dir};
use ci_medic_core::model::{RunContext, Summary, TestStatus};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Counts computed from the raw JSON with no knowledge of the parser.
#[derive(Debug, Default, PartialEq)]
struct Raw {
    tests: usize,
    expected: usize,
    unexpected: usize,
    flaky: usize,
    skipped: usize,
    attempts: usize,
    attachments: usize,
    errors: usize,
}

fn raw_counts(v: &serde_json::Value) -> Raw {
    fn walk(s: &serde_json::Value, raw: &mut Raw) {
        for spec in s["specs"].as_array().into_iter().flatten() {
            for t in spec["tests"].as_array().into_iter().flatten() {
                raw.tests += 1;
                match t["status"].as_str() {
                    Some("expected") => raw.expected += 1,
                    Some("unexpected") => raw.unexpected += 1,
                    Some("flaky") => raw.flaky += 1,
                    Some("skipped") => raw.skipped += 1,
                    other => panic!("status {other:?}"),
                }
                for r in t["results"].as_array().into_iter().flatten() {
                    raw.attempts += 1;
                    raw.attachments += r["attachments"].as_array().map_or(0, Vec::len);
                }
            }
        }
        for child in s["suites"].as_array().into_iter().flatten() {
            walk(child, raw);
        }
    }
    let mut raw = Raw {
        errors: v["errors"].as_array().map_or(0, Vec::len),
        ..Raw::default()
    };
    for s in v["suites"].as_array().into_iter().flatten() {
        walk(s, &mut raw);
    }
    raw
}

fn as_raw(s: Summary) -> Raw {
    Raw {
        tests: s.tests,
        expected: s.passed,
        unexpected: s.failed,
        flaky: s.flaky,
        skipped: s.skipped,
        attempts: s.attempts,
        attachments: s.attachments,
        errors: s.run_errors,
    }
}

fn json_reports() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures/real-reports"))
        .expect("real reports")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    for run in std::fs::read_dir(repo().join("fixtures/runs"))
        .expect("runs")
        .flatten()
    {
        files.push(run.path().join("results.json"));
    }
    files.sort();
    files
}

#[test]
fn json_reports_parse_with_the_raw_counts() {
    let files = json_reports();
    assert!(files.len() >= 21, "{files:?}");
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let raw: serde_json::Value = serde_json::from_slice(&bytes).expect("raw json");
        let parsed = json::parse(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let summary = Summary::of(&parsed.tests, parsed.run_errors.len());
        assert_eq!(as_raw(summary), raw_counts(&raw), "{}", path.display());
        assert_eq!(
            parsed.info.playwright_version.as_deref(),
            raw["config"]["version"].as_str()
        );
        // Every failed attempt carries its error; ANSI codes are gone everywhere.
        for t in &parsed.tests {
            for a in &t.attempts {
                for e in &a.errors {
                    assert!(
                        !e.message.contains('\u{1b}'),
                        "{}: ANSI left in {:?}",
                        path.display(),
                        e.message
                    );
                }
            }
        }
    }
}

#[test]
fn version_specifics_are_read() {
    let read = |name: &str| {
        let path = repo().join("fixtures/real-reports").join(name);
        json::parse(&path, &std::fs::read(&path).expect("read")).expect("parse")
    };
    // 1.37: no stats, run time in config.metadata.totalTime, shard 1/2.
    let valid = read("daun__report-valid.json");
    assert_eq!(valid.info.duration_ms, Some(1118.34));
    assert_eq!(valid.info.shard.map(|s| (s.current, s.total)), Some((1, 2)));
    assert_eq!(valid.info.workers, Some(5));
    assert_eq!(valid.info.projects, ["chromium", "firefox", "webkit"]);
    // Merged report: projects is empty.
    let sharded = read("daun__report-sharded.json");
    assert!(sharded.info.projects.is_empty());
    assert_eq!(sharded.info.duration_ms, Some(5003.32));
    // 1.28: a thrown non-Error is `error.value`.
    let old = read("rwx-research__playwright.json");
    let thrown = old
        .tests
        .iter()
        .flat_map(|t| &t.attempts)
        .flat_map(|a| &a.errors)
        .find(|e| e.value.is_some())
        .expect("a thrown value");
    assert_eq!(thrown.value.as_deref(), Some("'uh oh'"));
    assert!(old.tests.iter().any(|t| {
        t.attempts
            .iter()
            .any(|a| a.stdout.contains('\n') || !a.stdout.is_empty())
    }));
    // Top-level errors: global setup failed, every test skipped with no results.
    let global = read("rwx-research__playwright_global_other_error.json");
    assert_eq!(global.run_errors.len(), 1);
    assert!(
        global
            .tests
            .iter()
            .all(|t| t.status == TestStatus::Skipped && t.attempts.is_empty())
    );
    let load = read("rwx-research__playwright_with_other_errors.json");
    assert!(
        load.run_errors[0].message.contains("it broke"),
        "{:?}",
        load.run_errors
    );
    assert_eq!(
        load.run_errors[0].location.as_ref().map(|l| l.line),
        Some(22)
    );
    // Nested describes build the title path.
    let nested = read("daun__report-nested.json");
    assert!(
        nested.tests.iter().any(|t| t.title_path.len() >= 3),
        "{:?}",
        nested.tests[0].title_path
    );
}

#[test]
fn the_newest_report_has_errors_locations_call_logs_and_attachments() {
    let path = repo().join("fixtures/runs/selector_drift/results.json");
    let run = json::parse(&path, &std::fs::read(&path).expect("read")).expect("parse");
    let failed: Vec<_> = run
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Unexpected)
        .collect();
    assert_eq!(failed.len(), 2);
    let list = failed
        .iter()
        .find(|t| t.title_path == ["item list", "lists the seeded items"])
        .expect("list test");
    assert_eq!(list.file, "items.spec.ts");
    assert_eq!(list.project, "chromium");
    assert_eq!(list.attempts.len(), 2);
    let err = &list.attempts[0].errors[0];
    assert!(
        err.message
            .starts_with("Error: expect(locator).toContainText(expected) failed"),
        "{}",
        err.message
    );
    assert!(
        err.call_log
            .iter()
            .any(|l| l.contains("waiting for getByTestId('item-row')")),
        "{:?}",
        err.call_log
    );
    assert!(
        err.location
            .as_ref()
            .is_some_and(|l| l.file.ends_with("items.spec.ts"))
    );
    assert!(err.snippet.as_ref().is_some_and(|s| s.contains('>')));
    assert!(
        list.attempts[1]
            .attachments
            .iter()
            .any(|a| a.name == "trace")
    );
}

#[test]
fn junit_reports_parse_with_the_raw_counts() {
    let mut files = vec![repo().join("fixtures/real-reports/dorny__playwright-report.xml")];
    for run in std::fs::read_dir(repo().join("fixtures/runs"))
        .expect("runs")
        .flatten()
    {
        files.push(run.path().join("junit.xml"));
    }
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let attr = |name: &str| -> usize {
            let head = &text[text.find("<testsuites").expect("root")..];
            let head = &head[..head.find('>').expect("end")];
            let key = format!(" {name}=\"");
            let at = head.find(&key).expect("attribute") + key.len();
            head[at..at + head[at..].find('"').expect("quote")]
                .parse()
                .expect("number")
        };
        let parsed = junit::parse(&path, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let summary = Summary::of(&parsed.tests, 0);
        assert_eq!(summary.tests, attr("tests"), "{}", path.display());
        assert_eq!(
            summary.failed,
            attr("failures") + attr("errors"),
            "{}",
            path.display()
        );
        assert_eq!(summary.skipped, attr("skipped"), "{}", path.display());
        let attachment_lines = text.matches("[[ATTACHMENT|").count();
        assert_eq!(summary.attachments, attachment_lines, "{}", path.display());
    }
    // The old form: the failure text carries the list reporter's block with a logs banner.
    let path = repo().join("fixtures/real-reports/dorny__playwright-report.xml");
    let parsed = junit::parse(&path, &std::fs::read(&path).expect("read")).expect("parse");
    let failed: Vec<_> = parsed
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Unexpected)
        .collect();
    assert_eq!(failed.len(), 4);
    assert!(failed.iter().all(|t| t.project == "chrome"));
    let with_log = failed
        .iter()
        .flat_map(|t| &t.attempts)
        .flat_map(|a| &a.errors)
        .find(|e| !e.call_log.is_empty())
        .expect("a call log");
    assert!(
        with_log.call_log[0].starts_with("waiting for locator("),
        "{:?}",
        with_log.call_log
    );
}

#[test]
fn console_logs_agree_with_the_json_reports() {
    for run in std::fs::read_dir(repo().join("fixtures/runs"))
        .expect("runs")
        .flatten()
    {
        let log_path = run.path().join("logs/playwright.log");
        let log =
            console::parse(&log_path, &std::fs::read(&log_path).expect("read")).expect("parse");
        let json_path = run.path().join("results.json");
        let report =
            json::parse(&json_path, &std::fs::read(&json_path).expect("read")).expect("parse");
        let s = Summary::of(&report.tests, report.run_errors.len());
        let name = run.file_name();
        assert_eq!(log.summary.failed, s.failed, "{name:?}");
        assert_eq!(log.summary.flaky, s.flaky, "{name:?}");
        assert_eq!(log.summary.passed, s.passed, "{name:?}");
        assert_eq!(
            log.summary.did_not_run + log.summary.skipped,
            s.skipped,
            "{name:?}"
        );
        // One failure block per failed or flaky test, one attempt per failed attempt.
        assert_eq!(log.failures.len(), s.failed + s.flaky, "{name:?}");
        let failed_attempts = report
            .tests
            .iter()
            .flat_map(|t| &t.attempts)
            .filter(|a| a.status != ci_medic_core::model::AttemptStatus::Passed)
            .count();
        let printed: usize = log.failures.iter().map(|f| f.attempts.len()).sum();
        assert_eq!(printed, failed_attempts, "{name:?}");
    }
}

#[test]
fn results_trees_are_scanned_with_their_error_contexts() {
    let root = repo().join("fixtures/runs/selector_drift/test-results");
    let tree = results_dir::scan(&root).expect("scan");
    let contexts: Vec<_> = tree
        .files
        .iter()
        .filter(|f| f.rel.ends_with("error-context.md"))
        .collect();
    assert_eq!(contexts.len(), 4);
    let parsed: Vec<_> = contexts
        .iter()
        .map(|f| {
            results_dir::parse_error_context(
                &f.rel,
                &std::fs::read_to_string(&f.path).expect("read"),
            )
        })
        .collect();
    for ctx in &parsed {
        let snapshot = ctx.page_snapshot.as_deref().expect("page snapshot");
        assert!(snapshot.contains("banner"), "{snapshot}");
        assert!(ctx.error_details.as_ref().is_some_and(|d| !d.is_empty()));
        assert!(ctx.test_source.as_ref().is_some_and(|d| d.contains('>')));
    }
    assert!(parsed.iter().any(|c| {
        c.error_details
            .as_ref()
            .is_some_and(|d| d.contains("toContainText"))
    }));
}

/// The redactor leaves real runs alone: collecting every recorded scenario run
/// and every real public report with all rules gives the same bundle as with
/// every rule switched off (commit SHAs, test ids, artifact hashes, URLs and
/// error texts unchanged), and nothing is counted as masked.
#[test]
fn redaction_changes_nothing_in_real_runs_without_secrets() {
    use ci_medic_core::collect::redact::{Redactor, RuleSet};

    let all = Redactor::new([]);
    let ids: Vec<String> = all.rule_ids().map(str::to_owned).collect();
    let off = RuleSet::parse(
        &format!(
            "disabled_rules = {}",
            serde_json::to_string(&ids).expect("ids")
        ),
        "test",
    )
    .expect("rules");
    let none = Redactor::with_rules(Vec::<String>::new(), Some(off)).expect("redactor");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut inputs: Vec<(String, collect::Sources)> = Vec::new();
    for entry in std::fs::read_dir(root.join("fixtures/runs"))
        .expect("runs")
        .flatten()
    {
        inputs.push((
            entry.file_name().to_string_lossy().into_owned(),
            collect::discover(&entry.path(), |_| None),
        ));
    }
    for entry in std::fs::read_dir(root.join("fixtures/real-reports"))
        .expect("reports")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
    {
        inputs.push((
            entry.file_name().to_string_lossy().into_owned(),
            collect::Sources {
                json: Some(entry.path()),
                ..collect::Sources::default()
            },
        ));
    }
    assert!(inputs.len() >= 20, "{}", inputs.len());
    let tmp = tempfile::tempdir().expect("tmp");
    let mut tests = 0;
    for (name, input) in &inputs {
        let mut bundles = Vec::new();
        for (which, redactor) in [("all", &all), ("none", &none)] {
            let context = RunContext {
                run_id: "r1".into(),
                sha: Some("9fceb02d0ae598e95dc970b74767f19372d61af8".into()),
                ..RunContext::default()
            };
            let collected = collect::collect(
                input,
                &collect::Limits::default(),
                context,
                redactor,
                &tmp.path().join(format!("{name}-{which}")),
                Vec::new(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut value = serde_json::to_value(&collected.bundle).expect("json");
            value["collector"] = serde_json::Value::Null;
            bundles.push(value);
        }
        assert_eq!(
            bundles[0], bundles[1],
            "{name}: redaction changed the bundle"
        );
        tests += bundles[0]["tests"].as_array().map_or(0, Vec::len);
    }
    assert!(tests > 100, "{tests} tests compared");
    assert_eq!(all.report().masked, 0, "{:?}", all.report());
}
