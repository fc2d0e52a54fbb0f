//! The Markdown summary of a recorded run, as a snapshot.

mod common;

use ci_medic_core::report::summary;
use common::bundle_of;

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
