//! The classifier and planner on recorded real runs: verdicts, evidence,
//! clusters, plans, and the diagnosis as a snapshot.

mod common;

use ci_medic_core::diagnose::analysis::{Analysis, FailureKind, FixKind, HealAction};
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::plan;
use ci_medic_core::diagnose::taxonomy::ErrorType;
use ci_medic_core::model::{ErrorInfo, RunOutcome, TestStatus};
use ci_medic_core::report::diagnosis;
use common::bundle_of;

fn analysis_of(run: &str) -> Analysis {
    let c = Classifier::builtin().expect("rules");
    plan::analyze(&c, &bundle_of(run), "2026-01-01T00:00:00Z".into())
}

#[test]
fn a_renamed_selector_is_drift_with_the_renamed_element_as_candidate() {
    let a = analysis_of("selector_drift");
    assert_eq!(a.classification.error_type, Some(ErrorType::SelectorDrift));
    let form = a
        .classification
        .failures
        .iter()
        .find(|f| f.id.contains("creates an item"))
        .expect("form test");
    assert_eq!(form.error_type, ErrorType::SelectorDrift);
    assert_eq!(form.locator.as_deref(), Some("locator('#add-item')"));
    // The evidence quotes the renamed element found in the page snapshot.
    let renamed = form
        .evidence
        .iter()
        .find(|e| &*e.rule == "selector.renamed")
        .expect("renamed rule fired");
    assert!(
        renamed
            .quotes
            .iter()
            .any(|q| q.text.contains("getByRole('link', { name: 'New item' })")),
        "{renamed:?}"
    );
    let fix = a
        .fix_agent_instructions
        .iter()
        .find(|f| f.failure == form.id)
        .expect("instruction");
    assert_eq!(fix.kind, FixKind::UpdateLocator);
    assert_eq!(fix.old.as_deref(), Some("locator('#add-item')"));
    assert_eq!(
        fix.new.as_deref(),
        Some("getByRole('link', { name: 'New item' })")
    );
    assert!(fix.candidates[0].score >= 0.8, "{:?}", fix.candidates);
    assert!(a.triggers.fix_agent.eligible);
    assert!(!a.triggers.self_heal.eligible, "{:?}", a.triggers.self_heal);
}

#[test]
fn a_timeout_on_a_login_page_is_auth_state_and_plans_new_storage_state() {
    let a = analysis_of("auth_state");
    assert_eq!(a.classification.error_type, Some(ErrorType::AuthState));
    let timed_out = a
        .classification
        .failures
        .iter()
        .find(|f| f.id.contains("creates an item"))
        .expect("form test");
    // Looks like drift ('#add-item' never found); the page says otherwise.
    assert_eq!(timed_out.error_type, ErrorType::AuthState, "{timed_out:#?}");
    let actions: Vec<HealAction> = a.self_heal_plan.actions.iter().map(|p| p.action).collect();
    assert_eq!(
        actions,
        [HealAction::RegenerateStorageState, HealAction::RerunFailed]
    );
    assert!(a.triggers.self_heal.eligible);
}

#[test]
fn a_missing_record_joins_the_data_seed_failure_that_found_it_missing() {
    let a = analysis_of("data_seed");
    assert_eq!(a.classification.error_type, Some(ErrorType::DataSeed));
    let open = a
        .classification
        .failures
        .iter()
        .find(|f| f.id.contains("opens an item page"))
        .expect("item test");
    assert_eq!(open.error_type, ErrorType::DataSeed, "{open:#?}");
    assert!(
        open.evidence
            .iter()
            .any(|e| &*e.rule == "seed.missing-record-run-wide")
    );
    let actions: Vec<HealAction> = a.self_heal_plan.actions.iter().map(|p| p.action).collect();
    assert_eq!(actions, [HealAction::ReseedData, HealAction::RerunFailed]);
}

#[test]
fn a_server_that_never_started_is_one_cause_not_many_bugs() {
    let a = analysis_of("server_unavailable");
    assert_eq!(
        a.classification.error_type,
        Some(ErrorType::ServerUnavailable)
    );
    assert!(a.classification.confidence.is_some_and(|c| c >= 0.9));
    assert!(
        a.classification
            .failures
            .iter()
            .all(|f| f.error_type == ErrorType::ServerUnavailable)
    );
    assert!(
        a.classification.failures[0]
            .evidence
            .iter()
            .any(|e| &*e.rule == "server.down-run-wide")
    );
    let actions: Vec<HealAction> = a.self_heal_plan.actions.iter().map(|p| p.action).collect();
    assert_eq!(
        actions,
        [
            HealAction::RestartApp,
            HealAction::WaitForHealth,
            HealAction::RerunFailed
        ]
    );
}

#[test]
fn a_flaky_timeout_is_rerun_and_a_crash_reduces_workers() {
    let a = analysis_of("timeout_flaky");
    assert_eq!(a.classification.error_type, Some(ErrorType::TimeoutFlaky));
    assert!(
        a.classification
            .failures
            .iter()
            .all(|f| f.status == Some(TestStatus::Flaky))
    );
    assert_eq!(a.self_heal_plan.actions[0].action, HealAction::RerunFailed);
    assert!(
        a.fix_agent_instructions
            .iter()
            .any(|f| f.kind == FixKind::AdjustTimeout && f.old.as_deref() == Some("10000ms"))
    );
    let a = analysis_of("browser_crash");
    assert_eq!(a.classification.error_type, Some(ErrorType::BrowserCrash));
    assert_eq!(
        a.self_heal_plan.actions[0].action,
        HealAction::ReduceWorkers
    );
}

#[test]
fn app_errors_notify_a_person_and_plan_no_action() {
    let a = analysis_of("app_error");
    assert_eq!(a.classification.error_type, Some(ErrorType::AppError));
    assert!(a.self_heal_plan.actions.is_empty());
    assert!(!a.triggers.self_heal.eligible);
    assert!(a.triggers.notify.eligible);
    assert!(a.triggers.notify.reasons[0].contains("need a person"));
}

#[test]
fn a_passing_run_has_no_failures_and_nothing_to_do() {
    let a = analysis_of("all_green");
    assert_eq!(a.classification.outcome, RunOutcome::Passed);
    assert_eq!(
        a.classification.error_type, None,
        "a passing run has no error type"
    );
    assert_eq!(a.classification.confidence, None);
    assert_eq!(a.classification.verdict(), "passed");
    assert!(
        a.classification.reason.starts_with("all ") && a.classification.reason.contains("passed"),
        "{}",
        a.classification.reason
    );
    assert_eq!(a.summary.unknown, 0);
    assert!(a.classification.failures.is_empty());
    assert!(
        !a.triggers.self_heal.eligible
            && !a.triggers.fix_agent.eligible
            && !a.triggers.notify.eligible
    );
}

#[test]
fn two_hundred_identical_failures_are_one_cluster() {
    let mut bundle = bundle_of("server_unavailable");
    let template = bundle
        .tests
        .iter()
        .find(|t| t.id.contains("api.spec.ts"))
        .expect("api test")
        .clone();
    bundle.tests.clear();
    for i in 0..200 {
        let mut t = template.clone();
        t.id = format!("{} #{i}", t.id);
        for a in &mut t.attempts {
            for e in &mut a.errors {
                // Each failure reports a different port, as parallel runs would.
                e.message = e.message.replace("33715", &(40000 + i).to_string());
            }
        }
        bundle.tests.push(t);
    }
    let c = Classifier::builtin().expect("rules");
    let (_, classification) = c.classify_bundle(&bundle);
    assert_eq!(classification.failures.len(), 200);
    assert_eq!(
        classification.clusters.len(),
        1,
        "{:#?}",
        classification.clusters
    );
    let cluster = &classification.clusters[0];
    assert_eq!(cluster.count, 200);
    assert_eq!(cluster.error_type, ErrorType::ServerUnavailable);
    assert_eq!(
        cluster.signature,
        "Error: apiRequestContext.get: connect ECONNREFUSED <ip>:<n>"
    );
}

#[test]
fn diagnosis_of_a_selector_drift_run() {
    let a = analysis_of("selector_drift");
    insta::assert_snapshot!(diagnosis::markdown(&a, 1 << 20));
}

#[test]
fn diagnosis_of_a_server_that_never_started() {
    let a = analysis_of("server_unavailable");
    insta::assert_snapshot!(diagnosis::markdown(&a, 1 << 20));
}

#[test]
fn a_run_level_error_is_classified_and_outweighs_the_tests_it_stopped() {
    let mut bundle = bundle_of("all_green");
    bundle.run_errors.push(ErrorInfo {
        message: "Error: Timed out waiting 60000ms from config.webServer.".into(),
        ..ErrorInfo::default()
    });
    let a = plan::analyze(
        &Classifier::builtin().expect("rules"),
        &bundle,
        String::new(),
    );
    let f = &a.classification.failures[0];
    assert_eq!(
        (f.id.as_str(), f.kind),
        ("run-error-1", FailureKind::RunError)
    );
    assert_eq!(f.error_type, ErrorType::ServerUnavailable);
    assert_eq!(f.rule.as_deref(), Some("server.webserver-failed"));
    assert_eq!(
        a.classification.error_type,
        Some(ErrorType::ServerUnavailable)
    );
    assert_eq!(a.summary.run_errors, 1);
}

/// A count that went 3, then 1 while the assertion retried is a page that had not
/// settled, not a wrong value (corpus entry kittycad-6930-a).
#[test]
fn a_value_that_kept_changing_is_timing_not_a_wrong_value() {
    let c = Classifier::builtin().expect("rules");
    let text = "Locator: getByText('Exported successfully')\nExpected: 2\nReceived: 1\nCall log:\n  - expect.toHaveCount with timeout 5000ms\n  - waiting for getByText('Exported successfully')\n    8 × locator resolved to 3 elements\n      - unexpected value \"3\"\n    - locator resolved to 1 element\n    - unexpected value \"1\"\n";
    let (doc, v) = c.classify_text(text);
    assert_eq!(v.error_type, ErrorType::TimeoutFlaky, "{v:?}");
    let evidence = c.evidence(&doc, &v);
    let quote = evidence
        .iter()
        .flat_map(|e| &e.quotes)
        .find(|q| q.field == "fact:value_changed_while_retrying")
        .expect("the fact is quoted");
    assert!(quote.text.contains("\"3\", \"1\""), "{}", quote.text);
    // A value that stayed wrong is still an assertion mismatch.
    let steady = text.replace("unexpected value \"3\"", "unexpected value \"1\"");
    let (_, v) = c.classify_text(&steady);
    assert_eq!(v.error_type, ErrorType::AssertionMismatch, "{v:?}");
}

/// The run-level hypotheses each need their evidence: take it away from a
/// recorded run and the run falls back to the per-failure votes.
mod run_level {
    use super::*;

    fn classify(
        bundle: &ci_medic_core::Bundle,
    ) -> ci_medic_core::diagnose::analysis::Classification {
        let c = Classifier::builtin().expect("rules");
        c.classify_bundle(bundle).1
    }

    fn rules_of(c: &ci_medic_core::diagnose::analysis::Classification) -> Vec<String> {
        c.failures.iter().filter_map(|f| f.rule.clone()).collect()
    }

    #[test]
    fn an_error_in_the_app_log_during_the_test_is_the_apps() {
        let bundle = bundle_of("app_error_api_assertion");
        let c = classify(&bundle);
        assert_eq!(c.error_type, Some(ErrorType::AppError));
        assert!(rules_of(&c).contains(&"run.app-log-during-test".to_owned()));
        assert!(
            c.cause.starts_with("The app logged an error while 1 of 1"),
            "{}",
            c.cause
        );
        assert!(c.cause.contains("connection pool exhausted"), "{}", c.cause);
    }

    #[test]
    fn an_error_logged_outside_the_tests_time_is_not_evidence() {
        let mut bundle = bundle_of("app_error_api_assertion");
        // The same log, an hour earlier than the run.
        for ex in &mut bundle.log_excerpts {
            for w in &mut ex.windows {
                w.text = w.text.replace("T11:", "T10:");
            }
        }
        let c = classify(&bundle);
        assert!(!rules_of(&c).contains(&"run.app-log-during-test".to_owned()));
        assert!(!c.cause.contains("The app logged an error"), "{}", c.cause);
    }

    #[test]
    fn dropped_connections_while_tests_pass_are_the_network() {
        let bundle = bundle_of("network_flake_empty_response");
        let c = classify(&bundle);
        assert_eq!(c.error_type, Some(ErrorType::NetworkFlake));
        assert!(c.cause.contains("net::ERR_EMPTY_RESPONSE"), "{}", c.cause);
        assert!(c.cause.ends_with("the server was up."), "{}", c.cause);
    }

    #[test]
    fn dropped_connections_with_no_test_served_say_nothing_of_the_server() {
        let mut bundle = bundle_of("network_flake_empty_response");
        bundle.summary.passed = 0;
        bundle.summary.flaky = 0;
        let c = classify(&bundle);
        assert!(!c.cause.contains("the server was up"), "{}", c.cause);
    }

    #[test]
    fn a_refused_connection_means_the_server_not_the_network() {
        let mut bundle = bundle_of("network_flake_empty_response");
        for t in &mut bundle.tests {
            for a in &mut t.attempts {
                for e in &mut a.errors {
                    e.message
                        .push_str("\nnet::ERR_CONNECTION_REFUSED at http://127.0.0.1:3000/");
                }
            }
        }
        let c = classify(&bundle);
        assert!(!c.cause.contains("the server was up"), "{}", c.cause);
    }

    #[test]
    fn missing_records_across_failures_are_missing_data() {
        let bundle = bundle_of("data_seed_visual");
        let c = classify(&bundle);
        assert_eq!(c.error_type, Some(ErrorType::DataSeed));
        assert!(c.cause.contains("show missing data"), "{}", c.cause);
        assert!(
            c.cause.ends_with("the test data was not seeded."),
            "{}",
            c.cause
        );
        // The screenshot diff keeps its own, specific type.
        assert!(
            c.failures
                .iter()
                .any(|f| f.error_type == ErrorType::VisualRegression)
        );
    }

    #[test]
    fn a_passing_run_says_it_passed() {
        let c = classify(&bundle_of("all_green"));
        assert_eq!(c.error_type, None);
        assert!(
            c.cause.starts_with("All ") && c.cause.ends_with(" passed."),
            "{}",
            c.cause
        );
    }
}

/// A report that printed no call log (only `Test timeout of …ms exceeded.`):
/// the failed step's log is read from the trace, and says why it never clicked.
#[test]
fn a_bare_test_timeout_gets_the_call_log_of_its_trace() {
    use ci_medic_core::collect::redact::Redactor;
    use ci_medic_core::collect::{self, Limits};
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/runs/selector_drift_hidden");
    let tmp = tempfile::tempdir().expect("tmp");
    let run = tmp.path().join("run");
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.expect("walk");
        let to = run.join(entry.path().strip_prefix(&src).expect("prefix"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    // The report without any call log, and no console log to take one from.
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Some(at) = s.find("Call log:") {
                    s.truncate(at);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            serde_json::Value::Object(o) => o.values_mut().for_each(strip),
            _ => {}
        }
    }
    let path = run.join("results.json");
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    strip(&mut report);
    std::fs::write(&path, serde_json::to_vec(&report).expect("json")).expect("write");
    std::fs::remove_file(run.join("logs/playwright.log")).expect("rm");
    let inputs = collect::discover(&run, |_| None);
    let bundle = collect::collect(
        &inputs,
        &Limits::default(),
        ci_medic_core::model::RunContext::default(),
        &Redactor::new([]),
        &tmp.path().join("b"),
        Vec::new(),
    )
    .expect("collect")
    .bundle;
    assert!(
        bundle.warnings.iter().any(|w| w.code == "trace_call_logs"),
        "{:#?}",
        bundle.warnings
    );
    let logs: Vec<&String> = bundle
        .tests
        .iter()
        .flat_map(|t| &t.attempts)
        .flat_map(|a| &a.errors)
        .flat_map(|e| &e.call_log)
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("element is not visible")),
        "{logs:#?}"
    );
    let (_, c) = Classifier::builtin()
        .expect("rules")
        .classify_bundle(&bundle);
    assert_eq!(c.error_type, Some(ErrorType::SelectorDrift), "{}", c.reason);
}

/// The run's backend log is scanned once and shared: every failure of the
/// bundle carries, as evidence, exactly the rules a whole scan of its own doc
/// (backend log included) fires.
#[test]
fn the_shared_backend_scan_fires_what_a_whole_scan_fires() {
    use ci_medic_core::diagnose::classify::Field;
    let c = Classifier::builtin().expect("rules");
    let mut with_backend_rules = 0;
    for run in [
        "app_error",
        "app_error_api_assertion",
        "server_died",
        "network_flake",
    ] {
        let bundle = bundle_of(run);
        let (docs, classification) = c.classify_bundle(&bundle);
        assert!(!docs.is_empty(), "{run}");
        for doc in &docs {
            assert!(
                !doc.text(Field::Backend).is_empty(),
                "{run}: the backend log reaches the doc"
            );
            let id = doc.test_id.as_deref().expect("a test failure");
            let failure = classification
                .failures
                .iter()
                .find(|f| f.id == id)
                .expect("its classification");
            // Run-level hypotheses add `run.*` evidence of their own.
            let mut decided: Vec<&str> = failure
                .evidence
                .iter()
                .map(|e| &*e.rule)
                .filter(|r| !r.starts_with("run."))
                .collect();
            let whole = c.rules().scan(&doc.texts());
            let fired = c.rules().fired(&whole, doc.facts);
            let mut expected: Vec<&str> = fired
                .iter()
                .map(|i| c.rules().rule(*i).id.as_str())
                .collect();
            decided.sort_unstable();
            expected.sort_unstable();
            assert_eq!(decided, expected, "{run}: {id}");
            with_backend_rules += fired
                .iter()
                .filter(|i| {
                    c.rules()
                        .rule(**i)
                        .matches
                        .iter()
                        .any(|(f, _)| *f == Field::Backend)
                })
                .count();
        }
    }
    assert!(with_backend_rules > 0, "a rule on the backend log fired");
}

/// Rules written from the programs' own wordings, and the near misses they
/// must leave alone.
#[test]
fn framework_database_and_permission_wordings_get_their_types() {
    let c = Classifier::builtin().expect("rules");
    let rule = |text: &str| {
        let (_, v) = c.classify_text(text);
        (v.error_type, v.rule)
    };
    let vue = "[Vue warn]: Error in v-on handler: \"TypeError: Cannot read properties of undefined (reading 'id')\"";
    assert_eq!(
        rule(vue).1.as_deref(),
        Some("app.framework-component-error")
    );
    let angular = "ERROR TypeError: this.items is undefined";
    assert_eq!(
        rule(angular).1.as_deref(),
        Some("app.framework-component-error")
    );
    let logger = "error Error: something the test logged";
    assert_ne!(
        rule(logger).1.as_deref(),
        Some("app.framework-component-error")
    );
    for missing in [
        "PostgresError: database \"shop_test\" does not exist",
        "Error: P1003: Database dev.db does not exist at ./prisma/dev.db",
        "ERROR 1049 (42000): Unknown database 'shop_test'",
    ] {
        assert_eq!(
            rule(missing),
            (
                ErrorType::EnvironmentSetup,
                Some("env.database-missing".into())
            ),
            "{missing}"
        );
    }
    let denied = "Error: listen EACCES: permission denied 0.0.0.0:80";
    assert_eq!(rule(denied).1.as_deref(), Some("env.permission-denied"));
    let incidental = "warning: EACCES retrying cache write";
    assert_ne!(rule(incidental).1.as_deref(), Some("env.permission-denied"));
}

#[test]
fn package_manager_driver_and_url_wordings_get_their_types() {
    let c = Classifier::builtin().expect("rules");
    let rule = |text: &str| {
        let (_, v) = c.classify_text(text);
        (v.error_type, v.rule)
    };
    // The package managers' engine checks: npm, yarn 1, pnpm.
    for engine in [
        "npm ERR! notsup Not compatible with your version of node/npm: @playwright/test@1.45.0",
        "error @playwright/test@1.45.1: The engine \"node\" is incompatible with this module. Expected version \">=18\". Got \"16.20.2\"",
        " ERR_PNPM_UNSUPPORTED_ENGINE  Unsupported environment (bad pnpm and/or Node.js version)",
    ] {
        assert_eq!(
            rule(engine),
            (ErrorType::EnvironmentSetup, Some("env.node-version".into())),
            "{engine}"
        );
    }
    // Node's ERR_PACKAGE_PATH_NOT_EXPORTED is the loader's, not a ReferenceError.
    let exports = "Error: Package subpath './lib/mount' is not defined by \"exports\" in /app/node_modules/@playwright/test/package.json";
    assert_eq!(
        rule(exports),
        (
            ErrorType::EnvironmentSetup,
            Some("env.module-resolution".into())
        )
    );
    let reference = "ReferenceError: baseUrl is not defined";
    assert_eq!(rule(reference).0, ErrorType::TestCodeError);
    // pytest-playwright's fixtures missing is the plugin; a fixture of the suite's own is not.
    let plugin = "E       fixture 'page' not found\n>       available fixtures: cache, capsys";
    assert_eq!(rule(plugin).1.as_deref(), Some("env.module-resolution"));
    let own = "E       fixture 'admin_user' not found";
    assert_ne!(rule(own).1.as_deref(), Some("env.module-resolution"));
    // Playwright for .NET without its driver.
    for driver in [
        "Microsoft.Playwright assembly was found, but is missing required assets. Please ensure to build your project before running Playwright tool.",
        "Microsoft.Playwright.PlaywrightException: Driver not found: /src/bin/Debug/net8.0/.playwright/node/linux-x64/node",
    ] {
        assert_eq!(
            rule(driver),
            (
                ErrorType::EnvironmentSetup,
                Some("env.playwright-driver-missing".into())
            ),
            "{driver}"
        );
    }
    let other_driver = "SessionNotCreatedException: driver not found in PATH";
    assert_ne!(
        rule(other_driver).1.as_deref(),
        Some("env.playwright-driver-missing")
    );
    // A URL that is not one: the test's, below the high-confidence bar.
    let (_, v) = c.classify_text(
        "Error: page.goto: Protocol error (Page.navigate): Cannot navigate to invalid URL\nCall log:\n  - navigating to \"\", waiting until \"load\"",
    );
    assert_eq!(v.error_type, ErrorType::TestCodeError);
    assert_eq!(v.rule.as_deref(), Some("code.invalid-url"));
    assert!(v.confidence < 0.8, "{}", v.confidence);
    // The older expect proxy's message for a method called on expect()'s result.
    let (_, v) = c.classify_text("Error: expect: Property 'first' not found.");
    assert_eq!(v.error_type, ErrorType::TestCodeError);
}
