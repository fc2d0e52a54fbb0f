//! The dashboard built from recorded scenario runs: what each page says, what
//! the site holds, how history carries over, and that nothing in it reaches
//! for the network.

mod common;

use std::path::Path;

use ci_medic_core::model::TestStatus;
use ci_medic_core::report::dashboard::{self, History, Links, Options, SiteInputs, Templates};
use common::{AT, Run, run, synthetic};

fn inputs<'a>(r: &'a Run, previous: Option<History>) -> SiteInputs<'a> {
    SiteInputs {
        bundle: &r.bundle,
        bundle_dir: Some(&r.dir),
        analysis: &r.analysis,
        analysis_origin: "Diagnosis from analysis.json, by the local analyzer".into(),
        heal: None,
        fix: None,
        previous,
        links: Links {
            repo_url: Some("https://github.com/acme/shop".into()),
            dashboard_url: None,
            artifact_url: None,
        },
        generated_at: AT.into(),
        warnings: Vec::new(),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn build(i: &SiteInputs<'_>, out: &Path) -> dashboard::Built {
    dashboard::build(i, &Templates::embedded(), out, &Options::default()).expect("build")
}

/// Every `src`/`href` of every page points into the site, at an `https` page
/// (links a person follows), or at a fragment: nothing is fetched from elsewhere.
fn assert_self_contained(site: &Path) {
    let re = regex::Regex::new(r#"(src|href)="([^"]*)""#).expect("regex");
    for entry in walkdir::WalkDir::new(site) {
        let entry = entry.expect("walk");
        if entry.path().extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = read(entry.path());
        for cap in re.captures_iter(&html) {
            let (attr, url) = (&cap[1], &cap[2]);
            if url.starts_with("https://") {
                assert_eq!(attr, "href", "{}: fetches {url}", entry.path().display());
                continue;
            }
            assert!(!url.contains("://"), "{}: {url}", entry.path().display());
            let target = url.split('#').next().unwrap_or("");
            if target.is_empty() {
                continue;
            }
            let file = entry.path().parent().expect("dir").join(target);
            assert!(
                file.exists(),
                "{}: {attr}={url} points at nothing",
                entry.path().display()
            );
        }
    }
}

#[test]
fn a_failing_run_becomes_a_complete_self_contained_site() {
    let r = run("selector_drift", "1001");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("dashboard");
    let built = build(&inputs(&r, None), &out);
    assert_eq!(built.failures, 2);
    assert!(built.screenshots >= 2, "{built:?}");
    assert_eq!(built.history_runs, 1);

    let index = read(&out.join("index.html"));
    assert!(index.contains("Failed: 2 of 8 tests failed"), "{index}");
    assert!(index.contains("creates an item through the form"));
    assert!(index.contains("item list › lists the seeded items"));
    assert!(index.contains(
        r#"href="https://github.com/acme/shop/commit/0123456789abcdef0123456789abcdef01234567""#
    ));
    assert!(index.contains(r#"href="https://github.com/acme/shop/pull/42""#));

    let failure = read(&out.join("failures/0001.html"));
    assert!(failure.contains("selector.renamed"), "the rule that fired");
    assert!(
        failure.contains("waiting for locator(&#39;#add-item&#39;)"),
        "call log"
    );
    assert!(failure.contains("item-form.spec.ts:6"), "file:line");
    assert!(
        failure.contains("npx playwright show-trace test-results/item-form-creates-an-item-through-the-form-chromium-retry1/trace.zip"),
        "trace hint"
    );
    let img = regex::Regex::new(r#"<img src="\.\./([^"]+)""#).expect("re");
    let shots: Vec<String> = img
        .captures_iter(&failure)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(!shots.is_empty(), "a screenshot on the failure page");
    for s in &shots {
        let bytes = std::fs::read(out.join(s)).expect("copied screenshot");
        assert_eq!(&bytes[..4], b"\x89PNG", "{s}");
    }

    let data = read(&out.join("data/tests.js"));
    let json = data
        .strip_prefix("window.CI_MEDIC_TESTS = ")
        .and_then(|d| d.trim_end().strip_suffix(';'))
        .expect("a script assigning the data");
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(8));
    let failed: Vec<&serde_json::Value> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r[4] == "failed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|r| r[5] == "selector_drift" && r[7].is_string())
    );

    for f in [
        "tests.html",
        "history.html",
        "heal.html",
        "fix.html",
        "static/style.css",
        "static/tests.js",
        ".ci-medic-dashboard",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_self_contained(&out);

    let history: serde_json::Value =
        serde_json::from_str(&read(&out.join("history.json"))).expect("history json");
    let schema: serde_json::Value = serde_json::from_str(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/history.v2.json"),
    ))
    .expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&history)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        history["runs"][0]["failed_tests"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn overview_and_failure_pages_as_snapshots() {
    let r = run("assertion_mismatch", "2002");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    build(&inputs(&r, None), &out);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("overview", read(&out.join("index.html")));
        insta::assert_snapshot!("failure", read(&out.join("failures/0001.html")));
    });
}

/// Snapshot filters for pages that name the checkout, a scenario's temporary
/// directory or the version.
fn snapshot_settings() -> insta::Settings {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .canonicalize()
        .expect("canonical");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&root.display().to_string()), "[repo]");
    settings.add_filter(r"/tmp/ci-medic-scenario-[A-Za-z0-9]+", "[scenario]");
    settings.add_filter(r"ci-medic \d+\.\d+\.\d+", "ci-medic [version]");
    settings
}

/// A green run says it passed, in its headline and its diagnosis, and names no
/// error type and no confidence: there was nothing to diagnose.
#[test]
fn a_passing_run_says_it_passed_and_names_no_error_type() {
    let r = run("all_green", "2003");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    build(&inputs(&r, None), &out);
    let page = read(&out.join("index.html"));
    let tests = r.bundle.summary.tests;
    assert!(
        page.contains(&format!("Passed: all {tests} tests passed")),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "Verdict: <strong>passed</strong> — All {tests} test(s) passed."
        )),
        "{page}"
    );
    for word in ["unknown", "Run-level type", "confidence"] {
        assert!(
            !page.contains(word),
            "{word:?} on a green run's overview: {page}"
        );
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("overview_all_green", page));
}

#[test]
fn colour_codes_are_removed_and_markup_in_messages_is_text() {
    let mut r = run("selector_drift", "1002");
    let nasty = "\u{1b}[31m<script>alert('x')</script>\u{1b}[39m failed";
    r.analysis.classification.failures[0].message = nasty.to_owned();
    r.bundle.tests.iter_mut().for_each(|t| {
        if t.status == TestStatus::Unexpected {
            t.title_path.push("<img src=x onerror=alert(1)>".into());
        }
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    build(&inputs(&r, None), &out);
    let page = read(&out.join("failures/0001.html"));
    assert!(!page.contains('\u{1b}'), "no escape codes");
    assert!(!page.contains("<script>alert"), "markup escaped");
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; failed"),
        "shown as text"
    );
    assert!(!page.contains("<img src=x"), "titles escaped");
    // The explorer's data is JSON in a script file, shown with textContent.
    let data = read(&out.join("data/tests.js"));
    assert!(data.contains(r#"<img src=x onerror=alert(1)>"#));
    let js = read(&out.join("static/tests.js"));
    assert!(
        !js.contains("innerHTML"),
        "rows are built as text, never as HTML"
    );
}

#[test]
fn history_carries_three_runs_and_finds_the_flaky_test() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut previous = None;
    let runs = [
        ("timeout_flaky", "3001"),
        ("selector_drift", "3002"),
        ("all_green", "3003"),
    ];
    let mut flaky_id = String::new();
    for (i, (scenario, id)) in runs.iter().enumerate() {
        let r = run(scenario, id);
        if *scenario == "timeout_flaky" {
            flaky_id = r
                .bundle
                .tests
                .iter()
                .find(|t| t.status == TestStatus::Flaky)
                .map(|t| t.id.clone())
                .expect("the timeout_flaky run has a flaky test");
        }
        let out = tmp.path().join(format!("site{i}"));
        let built = build(&inputs(&r, previous.take()), &out);
        assert_eq!(built.history_runs, i + 1);
        let h: History =
            dashboard::history::read(&out.join("history.json")).expect("history reads back");
        previous = Some(h);
    }
    let h = previous.expect("history");
    let ids: Vec<&str> = h.runs.iter().map(|r| r.run.run_id.as_str()).collect();
    assert_eq!(
        ids,
        ["3001", "3002", "3003"],
        "in the order they were built"
    );
    let flaky = h.flaky_tests(10);
    assert_eq!(
        flaky.first().map(|f| f.id.as_str()),
        Some(flaky_id.as_str()),
        "{flaky:?}"
    );
    let page = read(&tmp.path().join("site2/history.html"));
    assert!(page.matches("<rect class=\"seg ").count() >= 3);
    assert_eq!(page.matches("<g>").count(), 3, "one bar per run");
    assert!(page.contains("3 runs recorded"), "{page}");
    assert!(
        page.contains(&flaky_id.replace('\'', "&#39;")),
        "the flaky test is listed"
    );
}

#[test]
fn a_rebuild_of_the_same_run_replaces_its_record_and_the_cap_drops_the_oldest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = run("selector_drift", "4001");
    let out = tmp.path().join("d");
    build(&inputs(&a, None), &out);
    let h: History = dashboard::history::read(&out.join("history.json")).expect("h");
    let built = build(&inputs(&a, Some(h)), &out);
    assert_eq!(
        built.history_runs, 1,
        "the same run and attempt is one record"
    );

    let mut previous = None;
    for id in ["4002", "4003", "4004"] {
        let r = run("selector_drift", id);
        let opts = Options {
            max_runs: 2,
            ..Options::default()
        };
        dashboard::build(
            &inputs(&r, previous.take()),
            &Templates::embedded(),
            &out,
            &opts,
        )
        .expect("build");
        previous = Some(dashboard::history::read(&out.join("history.json")).expect("h"));
    }
    let h = previous.expect("h");
    let ids: Vec<&str> = h.runs.iter().map(|r| r.run.run_id.as_str()).collect();
    assert_eq!(ids, ["4003", "4004"]);
    assert_eq!(h.max_runs, 2);
    // Both runs failed the same two tests: they have failed two runs in a row.
    let since = h.failing_since();
    assert_eq!(since.len(), 2);
    assert!(
        since.values().all(|s| s.run_id == "4003" && s.runs == 2),
        "{since:?}"
    );
    let page = read(&out.join("failures/0001.html"));
    assert!(
        page.contains("2 runs in a row"),
        "failing-since on the failure page"
    );
}

/// A run of `tests` tests of which `failures` failed, in `files` spec files.
#[test]
fn ten_thousand_tests_are_paged_in_the_browser_not_rendered_whole() {
    let (bundle, analysis) = synthetic(10_000, 1_000);
    assert_eq!(bundle.summary.failed, 1_000);
    let i = SiteInputs {
        bundle: &bundle,
        bundle_dir: None,
        analysis: &analysis,
        analysis_origin: "test".into(),
        heal: None,
        fix: None,
        previous: None,
        links: Links::default(),
        generated_at: AT.into(),
        warnings: Vec::new(),
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    let built = build(&i, &out);
    assert_eq!(built.failures, 1_000);
    assert_eq!(
        std::fs::read_dir(out.join("failures")).expect("ls").count(),
        1_000
    );
    let index = read(&out.join("index.html"));
    assert_eq!(
        index
            .matches(r#"<td class="title"><a href="failures/"#)
            .count(),
        50,
        "the overview lists the first 50"
    );
    assert!(index.contains("(first 50 of 1000)"));
    let tests = read(&out.join("tests.html"));
    assert!(
        !tests.contains("does thing"),
        "no test row is rendered into the page"
    );
    assert!(tests.len() < 20_000, "{} bytes", tests.len());
    let data = read(&out.join("data/tests.js"));
    assert_eq!(data.matches("does thing").count(), 10_000);
    let h: History = dashboard::history::read(&out.join("history.json")).expect("h");
    let run = &h.runs[0];
    assert_eq!(
        (run.failed, run.failed_tests.len(), run.dropped_tests),
        (1_000, 500, 500),
        "the history keeps counts whole and test lists capped"
    );
}

#[test]
fn a_customised_template_is_used_and_its_errors_name_the_line() {
    let r = run("selector_drift", "6001");
    let tmp = tempfile::tempdir().expect("tmp");
    let tpl = tmp.path().join("tpl");
    Templates::embedded()
        .write_to(&tpl)
        .expect("write template");
    let index = read(&tpl.join("index.html"));
    std::fs::write(
        tpl.join("index.html"),
        index.replace(
            "<h1 id=\"verdict\">",
            "<p>Team Rocket QA</p><h1 id=\"verdict\">",
        ),
    )
    .expect("edit");
    let templates = Templates::from_dir(&tpl).expect("template");
    let out = tmp.path().join("d");
    dashboard::build(&inputs(&r, None), &templates, &out, &Options::default()).expect("build");
    assert!(read(&out.join("index.html")).contains("Team Rocket QA"));

    std::fs::write(
        tpl.join("heal.html"),
        "{% extends \"base.html\" %}{% block content %}\n{{ no_such_thing.field }}\n{% endblock %}",
    )
    .expect("edit");
    let templates = Templates::from_dir(&tpl).expect("template");
    let err = dashboard::build(&inputs(&r, None), &templates, &out, &Options::default())
        .expect_err("undefined variable");
    let text = err.to_string();
    assert!(text.contains("heal.html") && text.contains(":2"), "{text}");
    // The failed build left the previous site as it was.
    assert!(read(&out.join("index.html")).contains("Team Rocket QA"));
}

#[test]
fn inputs_of_another_run_are_refused_before_anything_is_written() {
    let r = run("selector_drift", "7001");
    let other = run("selector_drift", "7002");
    let mut i = inputs(&r, None);
    i.analysis = &other.analysis;
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    let err = dashboard::build(&i, &Templates::embedded(), &out, &Options::default())
        .expect_err("mismatch");
    assert!(
        err.to_string()
            .contains("the analysis is of run 7002, the bundle of run 7001"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("ls").count(),
        0,
        "no staging left behind"
    );
}

/// A history a published site wrote before records nested the run context
/// (`ci-medic/history/v1`, recorded from three real builds) is read, carried
/// into the next build and written back as v2 with every run, verdict, flaky
/// and failing test kept.
#[test]
fn a_v1_history_from_a_published_site_is_read_and_carried_on() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/history/history.v1.json");
    let raw: serde_json::Value =
        serde_json::from_str(&read(&path)).expect("the v1 fixture is JSON");
    assert_eq!(raw["schema"], dashboard::HISTORY_SCHEMA_V1);
    let old = dashboard::history::read(&path).expect("v1 is read");
    assert_eq!(old.schema, dashboard::HISTORY_SCHEMA);
    assert_eq!(old.runs.len(), 3);
    for (rec, raw) in old.runs.iter().zip(raw["runs"].as_array().expect("runs")) {
        assert_eq!(rec.run.run_id, raw["run_id"].as_str().expect("id"));
        assert_eq!(rec.run.sha.as_deref(), raw["sha"].as_str());
        assert_eq!(
            rec.verdict.as_str(),
            raw["verdict"].as_str().expect("verdict")
        );
        assert_eq!(
            rec.failed_tests.len() + rec.flaky_tests.len(),
            raw["failed_tests"].as_array().expect("f").len()
                + raw["flaky_tests"].as_array().expect("f").len()
        );
    }
    let flaky_before = old.flaky_tests(10);
    assert!(!flaky_before.is_empty(), "the v1 history has a flaky test");

    let r = run("all_green", "9009");
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    build(&inputs(&r, Some(old)), &out);
    let new = dashboard::history::read(&out.join("history.json")).expect("v2");
    let written: serde_json::Value =
        serde_json::from_str(&read(&out.join("history.json"))).expect("json");
    assert_eq!(written["schema"], dashboard::HISTORY_SCHEMA);
    assert_eq!(new.runs.len(), 4);
    assert_eq!(new.runs[3].run.run_id, "9009");
    assert_eq!(
        new.flaky_tests(10).first().map(|f| f.id.clone()),
        flaky_before.first().map(|f| f.id.clone())
    );
    let page = read(&out.join("history.html"));
    assert!(
        page.contains("run-timeout_flaky"),
        "v1 runs are on the history page"
    );
}

/// A baseline refresh shows the reviewer the comparison: the fix page has the
/// old baseline, the new one and the diff as images copied into the site.
#[test]
fn a_baseline_refresh_shows_its_old_new_and_diff_images_on_the_fix_page() {
    use ci_medic_core::fix::metadata::{FixMetadata, SnapshotImage};
    let r = run("visual_regression", "8101");
    let failing = r
        .bundle
        .tests
        .iter()
        .find(|t| t.status == TestStatus::Unexpected)
        .expect("a failing test");
    // As `fix prepare` has them: the baseline by its path in the repository.
    let last = failing.attempts.last().expect("an attempt");
    let images = SnapshotImage::of(last.attachments.iter().map(|a| {
        let path = a.artifact.clone().unwrap_or_else(|| {
            "tests/visual.spec.ts-snapshots/banner-chromium-linux.png".to_owned()
        });
        (a.name.as_str(), path)
    }));
    assert_eq!(images.len(), 3, "{images:?}");
    let metadata: FixMetadata = serde_json::from_value(serde_json::json!({
        "schema": ci_medic_core::fix::metadata::METADATA_SCHEMA,
        "run_id": "8101",
        "generated_at": AT,
        "base_sha": null,
        "outcome": "needs_manual_review",
        "needs_manual_review": true,
        "reason": "needs manual review: the patch only refreshes screenshot baselines",
        "patch": { "path": "", "files": [], "changed_lines": 0, "sha256": "" },
        "edits": [{
            "kind": "refresh_snapshot",
            "failure": failing.id,
            "file": failing.file,
            "line": failing.line,
            "old": null,
            "new": null,
            "applied": true,
            "reason": "the baseline is regenerated with --update-snapshots during validation",
            "confidence": 0.9,
            "round": 1,
            "healing": null,
            "images": images,
        }],
        "proposals": [],
        "guardrails": [],
        "validation": { "ran": true, "passed": true, "detail": "the affected tests pass", "tests": [], "rounds": [] },
        "risk": "test-only",
        "confidence": 0.9,
        "branch": "ci-medic/fix-8101",
        "commit_message": "",
        "pr_title": "",
        "pr_body": "",
    }))
    .expect("metadata");
    let mut i = inputs(&r, None);
    i.fix = Some(dashboard::FixDoc {
        metadata: &metadata,
        patch: None,
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("d");
    build(&i, &out);
    let fix = read(&out.join("fix.html"));
    // The baseline is the repository's, not the bundle's: named by its path.
    assert!(
        fix.contains("<code>tests/visual.spec.ts-snapshots/banner-chromium-linux.png</code><figcaption>old baseline (expected)</figcaption>"),
        "{fix}"
    );
    for (role, caption) in [("actual", "new baseline (actual)"), ("diff", "diff")] {
        let re = regex::Regex::new(&format!(
            r#"<img src="([^"]+-{role}\.png)" alt="{role} image"#
        ))
        .expect("re");
        let src = re
            .captures(&fix)
            .map(|c| c[1].to_owned())
            .unwrap_or_else(|| panic!("no {role} image on the fix page:\n{fix}"));
        let bytes = std::fs::read(out.join(&src)).expect("copied image");
        assert_eq!(&bytes[..4], b"\x89PNG", "{src}");
        assert!(
            fix.contains(&format!("<figcaption>{caption}</figcaption>")),
            "{caption}"
        );
    }
    assert_self_contained(&out);
}
