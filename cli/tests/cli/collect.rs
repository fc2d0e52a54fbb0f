//! `ci-medic collect` end to end: the compiled binary on recorded real runs,
//! real reports from public projects, bad input and planted secrets.

use crate::common;

use common::{copy_dir, walk};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `ci-medic collect` in `dir` with a clean environment plus `env`.
fn collect(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ci-medic"));
    cmd.arg("collect").args(args).current_dir(dir).env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ci-medic")
}

fn validator(schema: &str) -> jsonschema::Validator {
    let path = repo().join("schemas").join(schema);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema"))
            .expect("schema json");
    jsonschema::validator_for(&schema).expect("valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("json")
}

#[test]
fn every_recorded_run_collects_into_a_bundle_that_validates() {
    let bundle_schema = validator("bundle.v1.json");
    let ctrf_schema = validator("ctrf.schema.json");
    for run in std::fs::read_dir(repo().join("fixtures/runs"))
        .expect("runs")
        .flatten()
    {
        let name = run.file_name().to_string_lossy().into_owned();
        let out = tempfile::tempdir().expect("tempdir");
        let bundle_dir = out.path().join("bundle");
        let ctrf = out.path().join("ctrf.json");
        let result = collect(
            &run.path(),
            &[
                "--out",
                bundle_dir.to_str().expect("utf-8"),
                "--ctrf",
                ctrf.to_str().expect("utf-8"),
            ],
            &[],
        );
        assert!(
            result.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let bundle = read_json(&bundle_dir.join("bundle.json"));
        assert_valid(&bundle_schema, &bundle, &name);
        assert_valid(&ctrf_schema, &read_json(&ctrf), &format!("{name} CTRF"));
        // The bundle's counts are the report's.
        let raw = read_json(&run.path().join("results.json"));
        assert_eq!(
            bundle["summary"]["failed"], raw["stats"]["unexpected"],
            "{name}"
        );
        assert_eq!(bundle["summary"]["flaky"], raw["stats"]["flaky"], "{name}");
        assert_eq!(
            bundle["summary"]["passed"], raw["stats"]["expected"],
            "{name}"
        );
        // Every copied artifact is in the bundle; traces are indexed, never copied.
        for a in bundle["artifacts"].as_array().expect("artifacts") {
            let path = bundle_dir.join(a["path"].as_str().expect("path"));
            assert_eq!(
                path.is_file(),
                a["copied"].as_bool().expect("copied"),
                "{name}: {}",
                path.display()
            );
            if a["kind"] == "trace" {
                assert_eq!(a["copied"], false);
                assert!(a["sha256"].is_null(), "indexed only: not hashed by default");
            }
            if a["copied"] == true {
                assert_eq!(
                    a["sha256"].as_str().map(str::len),
                    Some(64),
                    "copied: hashed"
                );
            }
        }
        // The console summary is printed locally.
        let stdout = String::from_utf8_lossy(&result.stdout);
        assert!(
            stdout.contains("## ci-medic · Playwright run"),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn failing_attempts_carry_call_logs_page_snapshots_and_app_log_excerpts() {
    let run = repo().join("fixtures/runs/data_seed");
    let out = tempfile::tempdir().expect("tempdir");
    let result = collect(
        &run,
        &["--out", out.path().join("b").to_str().expect("utf-8")],
        &[],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let bundle = read_json(&out.path().join("b/bundle.json"));
    let failed: Vec<&serde_json::Value> = bundle["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| t["status"] == "unexpected")
        .collect();
    assert_eq!(failed.len(), 2);
    for t in &failed {
        let first = &t["attempts"][0];
        assert!(
            !first["errors"][0]["call_log"]
                .as_array()
                .expect("log")
                .is_empty(),
            "{t:#}"
        );
        let snapshot = first["error_context"]["page_snapshot"]
            .as_str()
            .expect("snapshot");
        assert!(snapshot.contains("banner"), "{snapshot}");
        let screenshot = first["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .find(|a| a["kind"] == "screenshot")
            .expect("a screenshot");
        assert!(
            out.path()
                .join("b")
                .join(screenshot["artifact"].as_str().expect("artifact"))
                .is_file()
        );
    }
    let app_log = bundle["log_excerpts"]
        .as_array()
        .expect("excerpts")
        .iter()
        .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("app.log")))
        .expect("the app log is excerpted");
    assert!(
        !app_log["path"]
            .as_str()
            .expect("path")
            .ends_with("playwright.log")
    );
    assert_eq!(
        bundle["report"]["sources"]
            .as_array()
            .expect("sources")
            .len(),
        5
    );
}

#[test]
fn real_reports_from_public_projects_collect() {
    let reports = repo().join("fixtures/real-reports");
    let schema = validator("bundle.v1.json");
    for entry in std::fs::read_dir(&reports).expect("dir").flatten() {
        let path = entry.path();
        let flag = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => "--report",
            Some("xml") => "--junit",
            _ => continue,
        };
        let empty = tempfile::tempdir().expect("tempdir");
        let out = empty.path().join("bundle");
        let result = collect(
            empty.path(),
            &[
                flag,
                path.to_str().expect("utf-8"),
                "--out",
                out.to_str().expect("utf-8"),
            ],
            &[],
        );
        assert!(
            result.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&result.stderr)
        );
        assert_valid(
            &schema,
            &read_json(&out.join("bundle.json")),
            &path.display().to_string(),
        );
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2_and_no_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let good = std::fs::read_to_string(repo().join("fixtures/runs/selector_drift/results.json"))
        .expect("read");
    std::fs::write(d.join("truncated.json"), &good[..good.len() / 2]).expect("write");
    std::fs::write(d.join("not-xml.xml"), "this is not XML at all\n").expect("write");
    std::fs::write(
        d.join("other-tool.json"),
        r#"{"numTotalTests": 3, "testResults": []}"#,
    )
    .expect("write");
    std::fs::write(d.join("garbage.json"), [0u8, 159, 146, 150, 255, 0, 1, 2]).expect("write");
    std::fs::write(
        d.join("junit-other.xml"),
        "<?xml version=\"1.0\"?><coverage line-rate=\"1\"/>",
    )
    .expect("write");
    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["--report", "truncated.json"],
            "truncated.json",
            "JSON that ends early",
        ),
        (
            &["--junit", "not-xml.xml"],
            "not-xml.xml",
            "expected a JUnit XML report",
        ),
        (
            &["--report", "other-tool.json"],
            "other-tool.json",
            "a report from another tool",
        ),
        (&["--report", "garbage.json"], "garbage.json", "binary data"),
        (
            &["--junit", "junit-other.xml"],
            "junit-other.xml",
            "without <testsuites>",
        ),
        (
            &["--report", "missing.json"],
            "missing.json",
            "No such file",
        ),
    ];
    for (args, file, says) in cases {
        let out = d.join("bundle");
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--out", out.to_str().expect("utf-8")]);
        let result = collect(d, &all, &[]);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(file) && stderr.contains(says),
            "{file}: {stderr}"
        );
        assert!(!out.exists(), "{file}: a bundle was written");
        let leftovers: Vec<_> = std::fs::read_dir(d)
            .expect("dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".ci-medic"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{file}: temporary files left: {leftovers:?}"
        );
    }
    // An empty directory: nothing to collect.
    let empty = tempfile::tempdir().expect("tempdir");
    let result = collect(empty.path(), &[], &[]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no Playwright report found") && stderr.contains("results.json"),
        "{stderr}"
    );
    assert!(!empty.path().join("bundle").exists());
}

#[test]
fn artifacts_over_the_hash_limit_are_indexed_without_a_hash() {
    let run = repo().join("fixtures/runs/selector_drift");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let result = collect(
        &run,
        &[
            "--out",
            out.to_str().expect("utf-8"),
            "--hash-max-bytes",
            "20000",
        ],
        &[],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let bundle = read_json(&out.join("bundle.json"));
    for a in bundle["artifacts"].as_array().expect("artifacts") {
        let big = a["size"].as_u64().expect("size") > 20_000;
        let copied = a["copied"] == true;
        assert_eq!(a["sha256"].is_null(), big && !copied, "{a}");
    }
    assert!(
        bundle["artifacts"]
            .as_array()
            .expect("a")
            .iter()
            .any(|a| a["sha256"].is_null())
    );

    // --hash-all hashes every artifact, indexed or copied.
    let all = dir.path().join("all");
    let result = collect(
        &run,
        &["--out", all.to_str().expect("utf-8"), "--hash-all"],
        &[],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let bundle = read_json(&all.join("bundle.json"));
    let artifacts = bundle["artifacts"].as_array().expect("artifacts");
    assert!(artifacts.iter().any(|a| a["copied"] == false));
    for a in artifacts {
        assert_eq!(a["sha256"].as_str().map(str::len), Some(64), "{a}");
    }
}

#[test]
fn backend_log_globs_override_discovery() {
    let run = repo().join("fixtures/runs/server_unavailable");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let result = collect(
        &run,
        &[
            "--out",
            out.to_str().expect("utf-8"),
            "--backend-log",
            "logs/app*.log",
            "--backend-log",
            "nothing/*.log",
        ],
        &[],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let bundle = read_json(&out.join("bundle.json"));
    let excerpts = bundle["log_excerpts"].as_array().expect("excerpts");
    assert_eq!(excerpts.len(), 1, "{excerpts:#?}");
    assert!(
        excerpts[0]["windows"][0]["text"]
            .as_str()
            .expect("text")
            .contains("startup check failed")
    );
    assert!(
        bundle["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["code"] == "no_match"
                && w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("nothing/*.log"))),
        "{}",
        bundle["warnings"]
    );
}

#[test]
fn a_non_bundle_out_dir_is_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("precious");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("notes.txt"), "keep me").expect("write");
    let run = repo().join("fixtures/runs/all_green");
    let result = collect(&run, &["--out", out.to_str().expect("utf-8")], &[]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).expect("kept"),
        "keep me"
    );
}

#[test]
fn github_actions_gets_outputs_summary_and_annotations() {
    let run = repo().join("fixtures/runs/assertion_mismatch");
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request": {"number": 7, "head": {"sha": "abc", "ref": "fix"}}}"#,
    )
    .expect("write");
    let out = dir.path().join("bundle");
    let result = collect(
        &run,
        &["--out", out.to_str().expect("utf-8")],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
            ("GITHUB_OUTPUT", outputs.to_str().expect("utf-8")),
            ("GITHUB_EVENT_PATH", event.to_str().expect("utf-8")),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_SHA", "merge"),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_REPOSITORY", "acme/shop"),
        ],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 3, "{stdout}");
    assert!(
        errors
            .iter()
            .any(|l| l.contains("file=") && l.contains("items.spec.ts") && l.contains(",line=")),
        "{stdout}"
    );
    let outputs = std::fs::read_to_string(&outputs).expect("outputs");
    assert!(
        outputs.contains("failed=3\n")
            && outputs.contains("flaky=0\n")
            && outputs.contains("passed=5\n"),
        "{outputs}"
    );
    assert!(
        outputs.contains(&format!("bundle={}\n", out.display())),
        "{outputs}"
    );
    let md = std::fs::read_to_string(&summary).expect("summary");
    assert!(md.contains("**3 failed**"), "{md}");
    let bundle = read_json(&out.join("bundle.json"));
    assert_eq!(bundle["run"]["sha"], "abc");
    assert_eq!(bundle["run"]["pr_number"], 7);
    assert_eq!(bundle["run"]["run_id"], "99");
}

#[test]
fn planted_secrets_never_reach_the_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    copy_dir(&repo().join("fixtures/runs/app_error"), &run);
    let mut secrets: Vec<String> = Vec::new();
    let mut env: Vec<(String, String)> = Vec::new();
    for i in 0..12 {
        let value = format!("env-secret-value-{i:02}-Zq8x");
        env.push((format!("SERVICE_{i}_API_TOKEN"), value.clone()));
        secrets.push(value);
    }
    let shaped = |i: usize| -> Vec<(String, String)> {
        // (text to plant, the secret part that must disappear)
        let gh = format!("ghp_{}{:04}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6", i);
        let aws = format!("AKIA{:016}", 1_000_000 + i);
        let jwt =
            format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLXt{i:04}In0.c2lnbmF0dXJlLXZhbHVl{i:04}");
        let bearer = format!("bearerTok{i:04}xyzXYZ");
        let cookie = format!("sess-{i:04}-cookie-value");
        let pw = format!("hunter{i:04}pw");
        vec![
            (format!("token {gh} used"), gh),
            (format!("key {aws}"), aws),
            (format!("jwt {jwt}"), jwt),
            (format!("Authorization: Bearer {bearer}"), bearer),
            (format!("Cookie: demo_session={cookie}"), cookie),
            (format!("GET https://admin:{pw}@db.internal/x"), pw),
        ]
    };
    let mut plants = Vec::new();
    for i in 0..8 {
        for (text, secret) in shaped(i) {
            plants.push(text);
            secrets.push(secret);
        }
    }
    for (i, (_, value)) in env.iter().enumerate() {
        plants.push(format!("configured with {value} (#{i})"));
    }
    assert!(secrets.len() >= 50, "{}", secrets.len());
    let blob = plants.join("\n");

    // Into the JSON report: stdout of every attempt, the first error message, an inline attachment.
    let mut report = read_json(&run.join("results.json"));
    fn each_result(v: &mut serde_json::Value, f: &mut dyn FnMut(&mut serde_json::Value)) {
        if let Some(specs) = v.get_mut("specs").and_then(|s| s.as_array_mut()) {
            for spec in specs {
                for t in spec["tests"].as_array_mut().into_iter().flatten() {
                    for r in t["results"].as_array_mut().into_iter().flatten() {
                        f(r);
                    }
                }
            }
        }
        if let Some(suites) = v.get_mut("suites").and_then(|s| s.as_array_mut()) {
            for s in suites {
                each_result(s, f);
            }
        }
    }
    let b64 = {
        use std::io::Write as _;
        let mut child = Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("base64");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(blob.as_bytes())
            .expect("write");
        String::from_utf8(child.wait_with_output().expect("wait").stdout).expect("utf-8")
    };
    each_result(&mut report, &mut |r| {
        r["stdout"] = serde_json::json!([{ "text": blob }]);
        r["stderr"] = serde_json::json!([{ "buffer": b64 }]);
        if let Some(e) = r
            .get_mut("errors")
            .and_then(|e| e.as_array_mut())
            .and_then(|e| e.first_mut())
        {
            e["message"] = serde_json::Value::String(format!("Error: failed\n{blob}"));
        }
        r["attachments"]
            .as_array_mut()
            .expect("attachments")
            .push(serde_json::json!({"name": "notes", "contentType": "text/plain", "body": b64}));
    });
    report["errors"] = serde_json::json!([{ "message": format!("global setup: {blob}") }]);
    std::fs::write(
        run.join("results.json"),
        serde_json::to_string(&report).expect("json"),
    )
    .expect("write");
    // Into the JUnit report, the console log, the app log and every error context.
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit");
    let junit = junit.replacen(
        "<testcase ",
        &format!("<!-- {} --><testcase ", blob.replace("--", "")),
        1,
    );
    std::fs::write(run.join("junit.xml"), junit).expect("write");
    for log in ["logs/playwright.log", "logs/app.log"] {
        let mut text = std::fs::read_to_string(run.join(log)).expect("log");
        text.push_str(&format!("ERROR request failed\n{blob}\n"));
        std::fs::write(run.join(log), text).expect("write");
    }
    for entry in walk(&run.join("test-results")) {
        if entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("error-context"))
        {
            let mut text = std::fs::read_to_string(&entry).expect("context");
            text.push_str(&format!(
                "\n# Page snapshot\n\n```yaml\n- text: {}\n```\n",
                blob.replace('\n', " ")
            ));
            std::fs::write(&entry, text).expect("write");
        }
    }

    let out = dir.path().join("bundle");
    let ctrf = dir.path().join("ctrf.json");
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    let mut all_env: Vec<(&str, &str)> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all_env.extend([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ("GITHUB_OUTPUT", outputs.to_str().expect("utf-8")),
    ]);
    let result = collect(
        &run,
        &[
            "--out",
            out.to_str().expect("utf-8"),
            "--ctrf",
            ctrf.to_str().expect("utf-8"),
        ],
        &all_env,
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );

    let mut written: Vec<(String, Vec<u8>)> = walk(&out)
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect();
    for extra in [&ctrf, &summary, &outputs] {
        written.push((
            extra.display().to_string(),
            std::fs::read(extra).expect("read"),
        ));
    }
    written.push(("stdout".into(), result.stdout.clone()));
    written.push(("stderr".into(), result.stderr.clone()));
    for (name, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into {name}"
            );
        }
    }
    let bundle = read_json(&out.join("bundle.json"));
    let masked = bundle["redaction"]["masked"].as_u64().expect("count");
    assert!(masked >= secrets.len() as u64, "masked {masked}");
    for kind in [
        "env",
        "github-pat",
        "aws-access-key-id",
        "jwt",
        "authorization-header",
        "cookie-header",
        "url-credentials",
    ] {
        assert!(
            bundle["redaction"]["by_kind"][kind].as_u64().unwrap_or(0) > 0,
            "{kind}: {}",
            bundle["redaction"]
        );
    }
}
