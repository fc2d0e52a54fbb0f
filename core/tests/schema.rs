//! The committed JSON Schema is the one the model generates.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p ci-medic-core --test schema`.

use std::path::Path;

#[test]
fn committed_bundle_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/bundle.v1.json");
    let generated =
        serde_json::to_string_pretty(&ci_medic_core::model::bundle_schema()).expect("json") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/bundle.v1.json is out of date: run UPDATE_SCHEMAS=1 cargo test -p ci-medic-core --test schema"
    );
}

#[test]
fn committed_analysis_schema_matches_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/analysis.v1.json");
    let generated =
        serde_json::to_string_pretty(&ci_medic_core::diagnose::analysis::analysis_schema())
            .expect("json")
            + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/analysis.v1.json is out of date: run UPDATE_SCHEMAS=1 cargo test -p ci-medic-core --test schema"
    );
}

/// Writes (with UPDATE_SCHEMAS) or checks one committed schema.
fn check(file: &str, generated: serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(file);
    let generated = serde_json::to_string_pretty(&generated).expect("json") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/{file} is out of date: run UPDATE_SCHEMAS=1 cargo test -p ci-medic-core --test schema"
    );
}

#[test]
fn committed_heal_schemas_match_the_model() {
    check(
        "heal-context.v1.json",
        ci_medic_core::heal::context::context_schema(),
    );
    check(
        "heal-decision.v1.json",
        ci_medic_core::heal::decide::decision_schema(),
    );
    check(
        "heal-report.v1.json",
        ci_medic_core::heal::report::report_schema(),
    );
    check("smoke.v1.json", ci_medic_core::heal::smoke::smoke_schema());
}

#[test]
fn committed_fix_schemas_match_the_model() {
    check(
        "fix-input.v1.json",
        ci_medic_core::fix::metadata::input_schema(),
    );
    check(
        "fix-metadata.v1.json",
        ci_medic_core::fix::metadata::metadata_schema(),
    );
}

#[test]
fn committed_history_schema_matches_the_model() {
    check(
        "history.v2.json",
        ci_medic_core::report::dashboard::history::history_schema(),
    );
}
