//! Helpers shared by core's integration tests.

use std::path::Path;

use ci_medic_core::collect::{self, Limits};
use ci_medic_core::model::RunContext;
use ci_medic_core::redact::Redactor;

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
