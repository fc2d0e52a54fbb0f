//! `ci-medic dashboard` as a user runs it: defaults that pick up every stage's
//! output, history from a file or a URL (a real HTTP server on 127.0.0.1), the
//! template command, and bad input refused with exit 2 and nothing lost.

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;

use common::{checkout_with_run, ci_medic, repo_root};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &std::process::Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn validate(doc: &serde_json::Value, schema_file: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(&read(&repo_root().join("schemas").join(schema_file)))
            .expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{schema_file}: {errors:?}");
}

#[test]
fn defaults_pick_up_the_analysis_self_heal_report_and_fix_patch() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "run-11");
    ok(&ci_medic(&dir, &["fix", "--no-validate"], &[]));
    ok(&ci_medic(&dir, &["heal", "--event", "push"], &[]));
    let github_output = dir.join("gh-output");
    let out = ok(&ci_medic(
        &dir,
        &["dashboard", "build"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", github_output.to_str().expect("path")),
        ],
    ));
    assert!(out.contains("dashboard: dashboard/index.html"), "{out}");
    assert!(out.contains("2 failure page(s)"), "{out}");

    let index = read(&dir.join("dashboard/index.html"));
    assert!(
        index.contains("Diagnosis from analysis.json, by the local analyzer"),
        "{index}"
    );
    assert!(
        index.contains(r#"<span class="badge refused">refused</span>"#),
        "the self-heal card"
    );
    assert!(
        index.contains(r#"<span class="badge needs_manual_review">needs manual review</span>"#),
        "the fix-agent card"
    );

    let fix = read(&dir.join("dashboard/fix.html"));
    assert!(
        fix.contains("getByTestId(&#39;product-row&#39;)"),
        "the rendered diff"
    );
    assert!(fix.contains(r#"<tr class="del">"#) && fix.contains(r#"<tr class="add">"#));
    assert!(fix.contains("max_changed_lines"), "guardrails");
    assert!(fix.contains("Not run."), "validation");
    let patch = std::fs::read(dir.join("fix-agent/patch-run-11.diff")).expect("patch");
    assert_eq!(
        std::fs::read(dir.join("dashboard/fix/patch-run-11.diff")).expect("copied patch"),
        patch,
        "the patch is downloadable from the site, byte for byte"
    );
    let heal = read(&dir.join("dashboard/heal.html"));
    assert!(
        heal.contains("push is not in heal.events"),
        "the refusal's reason"
    );

    let failure = read(&dir.join("dashboard/failures/0001.html"));
    assert!(
        failure.contains("Fix-agent edits"),
        "the failure links its edit"
    );

    let history: serde_json::Value =
        serde_json::from_str(&read(&dir.join("dashboard/history.json"))).expect("json");
    validate(&history, "history.v2.json");
    let outputs = read(&github_output);
    assert!(
        outputs.contains("dashboard_index=dashboard/index.html"),
        "{outputs}"
    );
    assert!(
        outputs.contains("history=dashboard/history.json"),
        "{outputs}"
    );
}

/// A one-connection-at-a-time HTTP server on 127.0.0.1 answering every request
/// with `status` and `body`; returns its base URL.
fn serve(status: u16, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn history_comes_from_a_file_or_a_url_and_a_bad_one_stops_the_build() {
    let (_t1, first) = checkout_with_run("timeout_flaky", "run-21");
    ok(&ci_medic(&first, &["dashboard", "build"], &[]));
    let published = std::fs::read(first.join("dashboard/history.json")).expect("history");

    let (_t2, dir) = checkout_with_run("selector_drift", "run-22");
    // From the published site.
    let url = serve(200, published.clone());
    let out = ok(&ci_medic(
        &dir,
        &[
            "dashboard",
            "build",
            "--history",
            &format!("{url}/history.json"),
        ],
        &[],
    ));
    assert!(out.contains("history of 2 run(s)"), "{out}");
    let history: serde_json::Value =
        serde_json::from_str(&read(&dir.join("dashboard/history.json"))).expect("json");
    let ids: Vec<&str> = history["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run"]["run_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["run-21", "run-22"]);

    // From a file.
    std::fs::write(dir.join("previous.json"), &published).expect("write");
    let out = ok(&ci_medic(
        &dir,
        &["dashboard", "build", "--history", "previous.json"],
        &[],
    ));
    assert!(out.contains("history of 2 run(s)"), "{out}");

    // Nothing published yet: this run starts the history, and says so.
    let url = serve(404, b"not found".to_vec());
    let o = ci_medic(
        &dir,
        &[
            "dashboard",
            "build",
            "--history",
            &format!("{url}/history.json"),
        ],
        &[],
    );
    assert!(ok(&o).contains("history of 1 run(s)"));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("no history there yet (HTTP 404): this run starts it")
    );
    let o = ci_medic(
        &dir,
        &["dashboard", "build", "--history", "missing.json"],
        &[],
    );
    assert!(ok(&o).contains("history of 1 run(s)"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.json: no history file yet"));

    let before = read(&dir.join("dashboard/index.html"));
    // A server error, garbage, another version, plain http elsewhere: refused, the site untouched.
    let url = serve(503, b"busy".to_vec());
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--history", &format!("{url}/h.json")],
        &[],
    ));
    assert!(
        err.contains("expected the history (HTTP 200), found HTTP 503"),
        "{err}"
    );
    let url = serve(200, b"<html>Sign in</html>".to_vec());
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--history", &format!("{url}/h.json")],
        &[],
    ));
    assert!(
        err.contains("expected a ci-medic/history/v2 document (JSON)"),
        "{err}"
    );
    assert!(
        err.contains("drop --history to start a new history"),
        "{err}"
    );
    std::fs::write(
        dir.join("v3.json"),
        br#"{"schema":"ci-medic/history/v3","runs":[]}"#,
    )
    .expect("w");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--history", "v3.json"],
        &[],
    ));
    assert!(
        err.contains("v3.json: at `schema`: expected \"ci-medic/history/v2\""),
        "{err}"
    );
    assert!(err.contains("does not read"), "{err}");
    let err = refused(&ci_medic(
        &dir,
        &[
            "dashboard",
            "build",
            "--history",
            "http://example.com/history.json",
        ],
        &[],
    ));
    assert!(err.contains("expected an https:// URL"), "{err}");
    assert_eq!(read(&dir.join("dashboard/index.html")), before);
}

#[test]
fn bad_input_is_refused_naming_what_and_where_and_nothing_is_replaced() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "run-31");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--analysis", "nope.json"],
        &[],
    ));
    assert!(
        err.contains("nope.json: expected a readable ci-medic/analysis/v1 file"),
        "{err}"
    );

    let mut analysis: serde_json::Value =
        serde_json::from_str(&read(&dir.join("analysis.json"))).expect("json");
    analysis["classification"]["confidence"] = serde_json::json!("high");
    std::fs::write(dir.join("bad.json"), analysis.to_string()).expect("w");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--analysis", "bad.json"],
        &[],
    ));
    assert!(
        err.contains("bad.json: at `classification.confidence`"),
        "{err}"
    );

    analysis["classification"]["confidence"] = serde_json::json!(0.5);
    analysis["run"]["run_id"] = serde_json::json!("someone-else");
    std::fs::write(dir.join("other.json"), analysis.to_string()).expect("w");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--analysis", "other.json"],
        &[],
    ));
    assert!(
        err.contains("the analysis is of run someone-else, the bundle of run run-31"),
        "{err}"
    );

    // Never over a directory that is not a dashboard.
    std::fs::create_dir_all(dir.join("docs")).expect("mkdir");
    std::fs::write(dir.join("docs/guide.md"), "keep me").expect("w");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--out", "docs"],
        &[],
    ));
    assert!(
        err.contains("docs: expected an empty directory or a previous dashboard"),
        "{err}"
    );
    assert_eq!(read(&dir.join("docs/guide.md")), "keep me");

    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--template-dir", "no-such-dir"],
        &[],
    ));
    assert!(
        err.contains("no-such-dir: expected a directory of templates"),
        "{err}"
    );
    assert!(!dir.join("dashboard").exists(), "nothing was built");
}

#[test]
fn the_template_command_writes_a_copy_the_build_can_use() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "run-41");
    let out = ok(&ci_medic(
        &dir,
        &["dashboard", "template", "--out", "tpl"],
        &[],
    ));
    assert!(out.contains("build with --template-dir tpl"), "{out}");
    for f in [
        "index.html",
        "base.html",
        "static/style.css",
        "static/tests.js",
        "README.md",
    ] {
        assert!(dir.join("tpl").join(f).is_file(), "{f}");
    }
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "template", "--out", "tpl"],
        &[],
    ));
    assert!(
        err.contains("expected an empty or missing directory"),
        "{err}"
    );

    let css = read(&dir.join("tpl/static/style.css"));
    std::fs::write(
        dir.join("tpl/static/style.css"),
        css + "\n/* house style */\n",
    )
    .expect("w");
    ok(&ci_medic(
        &dir,
        &["dashboard", "build", "--template-dir", "tpl"],
        &[],
    ));
    assert!(read(&dir.join("dashboard/static/style.css")).contains("/* house style */"));

    std::fs::remove_file(dir.join("tpl/history.html")).expect("rm");
    let err = refused(&ci_medic(
        &dir,
        &["dashboard", "build", "--template-dir", "tpl"],
        &[],
    ));
    assert!(err.contains("found none for history.html"), "{err}");
}

#[test]
fn triage_builds_the_dashboard_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = repo_root().join("fixtures/runs/selector_drift");
    let o = ci_medic(
        tmp.path(),
        &["triage", run.to_str().expect("path"), "--out", "t"],
        &[("CI_MEDIC_RUN_ID", "run-51")],
    );
    let out = ok(&o);
    assert!(out.contains("t/dashboard/index.html"), "{out}");
    let index = read(&tmp.path().join("t/dashboard/index.html"));
    assert!(index.contains("Failed: 2 of 8 tests failed"));
}
