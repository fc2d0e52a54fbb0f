//! The Markdown summary of a recorded run, as a snapshot.

use std::path::Path;

use ci_medic_core::collect::{self, Limits};
use ci_medic_core::model::RunContext;
use ci_medic_core::redact::Redactor;
use ci_medic_core::summary;

fn bundle_of(run: &str) -> ci_medic_core::Bundle {
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

#[test]
fn summary_of_a_failing_run() {
    let bundle = bundle_of("assertion_mismatch");
    insta::assert_snapshot!(summary::markdown(&bundle, "bundle/bundle.json", 1 << 20));
}

#[test]
fn summary_of_a_run_that_never_started() {
    let bundle = bundle_of("server_unavailable");
    insta::assert_snapshot!(summary::markdown(&bundle, "bundle/bundle.json", 1 << 20));
}

#[test]
fn summary_is_cut_at_the_limit_with_a_marker() {
    let bundle = bundle_of("assertion_mismatch");
    let text = summary::markdown(&bundle, "bundle/bundle.json", 400);
    assert!(text.len() <= 400, "{}", text.len());
    assert!(text.ends_with("the bundle has everything.\n"), "{text}");
}
