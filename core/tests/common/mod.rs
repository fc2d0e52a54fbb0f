//! Helpers shared by core's integration tests: recorded scenario runs collected
//! into bundles, and synthetic runs of any size.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

use ci_medic_core::collect::redact::Redactor;
use ci_medic_core::collect::{self, Limits};
use ci_medic_core::diagnose::analysis::Analysis;
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::plan;
use ci_medic_core::model::{
    Attempt, AttemptStatus, Bundle, ErrorInfo, RunContext, Summary, Test, TestStatus,
};

/// The bundle of a recorded scenario run (`fixtures/runs/<run>`), with a fixed run context.
pub(crate) fn bundle_of(run: &str) -> ci_medic_core::Bundle {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/runs")
        .join(run);
    let inputs = collect::discover(&root, |_| None);
    let out = tempfile::tempdir().expect("tempdir");
    let context = RunContext {
        provider: "local".into(),
        run_id: "r1".into(),
        run_attempt: 1,
        ..RunContext::default()
    };
    collect::collect(
        &inputs,
        &Limits::default(),
        context,
        &Redactor::new([]),
        &out.path().join("b"),
        Vec::new(),
    )
    .expect("collect")
    .bundle
}

pub(crate) const AT: &str = "2026-11-21T12:00:00Z";

/// A recorded scenario run collected into a bundle directory that lives as long as the value.
pub(crate) struct Run {
    pub(crate) bundle: Bundle,
    pub(crate) dir: PathBuf,
    pub(crate) analysis: Analysis,
    _tmp: tempfile::TempDir,
}

pub(crate) fn run(name: &str, run_id: &str) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/runs")
        .join(name);
    let inputs = collect::discover(&root, |_| None);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("bundle");
    let context = RunContext {
        provider: "github".into(),
        repo: Some("acme/shop".into()),
        run_id: run_id.into(),
        run_attempt: 1,
        sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        ref_name: Some("main".into()),
        event: Some("pull_request".into()),
        pr_number: Some(42),
        run_url: Some(format!(
            "https://github.com/acme/shop/actions/runs/{run_id}"
        )),
        ..RunContext::default()
    };
    let bundle = collect::collect(
        &inputs,
        &Limits::default(),
        context,
        &Redactor::new([]),
        &dir,
        Vec::new(),
    )
    .expect("collect")
    .bundle;
    let analysis = plan::analyze(
        &Classifier::builtin().expect("rules"),
        &bundle,
        AT.to_owned(),
    );
    Run {
        bundle,
        dir,
        analysis,
        _tmp: tmp,
    }
}

/// `tests` tests of which `failures` failed, spread over files and messages.
pub(crate) fn synthetic(tests: usize, failures: usize) -> (Bundle, Analysis) {
    let mut list = Vec::with_capacity(tests);
    for i in 0..tests {
        let failed = i % (tests / failures.max(1)).max(1) == 0
            && i / (tests / failures.max(1)).max(1) < failures;
        let file = format!("area{:02}/feature{:03}.spec.ts", i % 17, i % 100);
        let title = vec![format!("suite {}", i % 50), format!("does thing {i}")];
        let message = if i % 3 == 0 {
            format!(
                "Error: locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for getByTestId('row-{i}')"
            )
        } else {
            format!(
                "Error: expect(received).toBe(expected)\n\nExpected: {i}\nReceived: {}",
                i + 1
            )
        };
        list.push(Test {
            id: format!("chromium › {file} › {}", title.join(" › ")),
            title_path: title,
            file,
            line: Some((i % 400) as u32 + 1),
            column: Some(5),
            project: "chromium".into(),
            status: if failed {
                TestStatus::Unexpected
            } else {
                TestStatus::Expected
            },
            expected_status: Some("passed".into()),
            tags: Vec::new(),
            annotations: Vec::new(),
            duration_ms: (i % 997) as f64 * 3.0,
            attempts: vec![Attempt {
                retry: 0,
                status: if failed {
                    AttemptStatus::Failed
                } else {
                    AttemptStatus::Passed
                },
                duration_ms: (i % 997) as f64 * 3.0,
                started_at: None,
                worker_index: Some(0),
                errors: if failed {
                    vec![ErrorInfo {
                        message,
                        ..ErrorInfo::default()
                    }]
                } else {
                    Vec::new()
                },
                stdout: String::new(),
                stderr: String::new(),
                attachments: Vec::new(),
                error_context: None,
            }],
        });
    }
    let r = run("all_green", "5001");
    let mut bundle = r.bundle;
    bundle.summary = Summary::of(&list, 0);
    bundle.tests = list;
    let analysis = plan::analyze(&Classifier::builtin().expect("rules"), &bundle, AT.into());
    (bundle, analysis)
}
