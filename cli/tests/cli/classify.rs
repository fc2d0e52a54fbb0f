//! `ci-medic classify`, `triage` and `eval-corpus` end to end: the compiled
//! binary on recorded real runs and real corpus text, bad input and bad rules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ci_medic(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run ci-medic")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("json")
}

fn analysis_validator() -> jsonschema::Validator {
    let schema = read_json(&repo().join("schemas/analysis.v1.json"));
    jsonschema::validator_for(&schema).expect("valid schema")
}

#[test]
fn triage_diagnoses_every_recorded_run_as_its_scenario() {
    let validator = analysis_validator();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("fixtures/runs")).expect("runs") {
        let run = entry.expect("entry").path();
        let meta = read_json(&run.join("scenario-run.json"));
        // A scenario in which every test passes has no error type: its verdict is `passed`.
        let expected = meta["error_type"].as_str().unwrap_or("passed");
        let name = meta["scenario"].as_str().expect("scenario");
        let out = tmp.path().join(name);
        let o = ci_medic(
            tmp.path(),
            &[
                "triage",
                run.to_str().expect("utf8"),
                "--out",
                out.to_str().expect("utf8"),
            ],
        );
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let analysis = read_json(&out.join("analysis.json"));
        let errors: Vec<String> = validator
            .iter_errors(&analysis)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert_eq!(
            analysis["classification"]["error_type"], meta["error_type"],
            "{name}: {:#}",
            analysis["classification"]
        );
        let cause = analysis["classification"]["cause"].as_str().expect("cause");
        assert!(
            cause.ends_with('.') && !cause.contains('\n'),
            "{name}: one sentence: {cause}"
        );
        if expected == "passed" {
            assert_eq!(analysis["classification"]["outcome"], "passed", "{name}");
            assert_eq!(
                analysis["classification"]["confidence"],
                json!(null),
                "{name}"
            );
        }
        assert!(out.join("bundle/bundle.json").is_file());
        let text = stdout(&o);
        assert!(
            text.contains(&format!("Verdict: `{expected}`")) || expected == "unknown",
            "{name}: {text}"
        );
        for f in analysis["classification"]["failures"]
            .as_array()
            .expect("failures")
        {
            // Every classified failure says why, quoting what it saw.
            let ev = f["evidence"].as_array().expect("evidence");
            assert!(!ev.is_empty(), "{name}: {f:#}");
            assert!(
                ev.iter()
                    .any(|e| !e["quotes"].as_array().expect("q").is_empty())
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 20);
}

#[test]
fn classify_writes_the_analysis_of_a_collected_bundle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let run = repo().join("fixtures/runs/network_flake");
    let o = ci_medic(
        tmp.path(),
        &[
            "collect",
            "--dir",
            run.to_str().expect("utf8"),
            "--out",
            "bundle",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ci_medic(
        tmp.path(),
        &["classify", "bundle", "-o", "out/analysis.json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read_json(&tmp.path().join("out/analysis.json"));
    assert_eq!(a["schema"], "ci-medic/analysis/v1");
    assert_eq!(a["source"], "local");
    assert_eq!(a["classification"]["error_type"], "network_flake");
    assert_eq!(a["self_heal_plan"]["actions"][0]["action"], "rerun_failed");
    assert_eq!(a["triggers"]["self_heal"]["eligible"], true);
    // Only a flaky test: nobody needs to be told the run is broken.
    assert_eq!(a["triggers"]["notify"]["eligible"], false);
    assert!(stdout(&o).contains("Verdict: `network_flake`"));
}

#[test]
fn classify_rejects_what_is_not_a_bundle_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(tmp.path().join("b1")).expect("mkdir");
    std::fs::write(tmp.path().join("b1/bundle.json"), "{\"stats\": {}}").expect("w");
    std::fs::create_dir_all(tmp.path().join("b2")).expect("mkdir");
    std::fs::write(
        tmp.path().join("b2/bundle.json"),
        "{\"schema\": \"ci-medic/bundle/v9\"}",
    )
    .expect("w");
    std::fs::create_dir_all(tmp.path().join("b3")).expect("mkdir");
    std::fs::write(tmp.path().join("b3/bundle.json"), [0u8, 159, 146, 150]).expect("w");
    for (dir, needle) in [
        (
            "b1",
            "`schema`: expected \"ci-medic/bundle/v1\", found no schema field",
        ),
        ("b2", "found \"ci-medic/bundle/v9\""),
        ("b3", "found binary data"),
        (
            "missing",
            "missing: expected a bundle directory or its bundle.json, found nothing",
        ),
    ] {
        let o = ci_medic(tmp.path(), &["classify", dir]);
        assert_eq!(o.status.code(), Some(2), "{dir}");
        assert!(stderr(&o).contains(needle), "{dir}: {}", stderr(&o));
        assert!(!tmp.path().join("analysis.json").exists());
    }
}

#[test]
fn one_pasted_failure_is_classified_with_its_evidence() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A real failure from the corpus (microsoft/playwright issue, a missing await).
    let entry = std::fs::read_to_string(repo().join("fixtures/corpus/runtime.jsonl"))
        .expect("corpus")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .find(|v| v["id"] == "pw-23944-a")
        .expect("entry");
    std::fs::write(
        tmp.path().join("fail.txt"),
        entry["text"].as_str().expect("text"),
    )
    .expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--text", "fail.txt"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("test_code_error (confidence 0.85)"),
        "{text}"
    );
    assert!(text.contains("code.unawaited-expect"), "{text}");
    assert!(
        text.contains("message: Error: expect.toBeInViewport: Browser has been closed."),
        "{text}"
    );

    let o = ci_medic(tmp.path(), &["classify", "--text", "fail.txt", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["error_type"], "test_code_error");
    assert_eq!(v["rule"], "code.unawaited-expect");
    assert_eq!(v["evidence"][0]["quotes"][0]["field"], "message");

    std::fs::write(tmp.path().join("empty.txt"), "  \n").expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--text", "empty.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a failure text, found an empty input"));
}

#[test]
fn jsonl_batches_are_classified_line_by_line_from_stdin_or_a_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = "{\"id\": 1, \"text\": \"Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/\"}\n\
                 {\"id\": \"b\", \"text\": \"Error: browserType.launch: Executable doesn't exist at /ms-playwright/chromium-1091/chrome-linux/chrome\"}\n\
                 {\"id\": \"c\", \"text\": \"nothing to see\"}\n";
    std::fs::write(tmp.path().join("in.jsonl"), input).expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--jsonl", "in.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[0]["error_type"], "server_unavailable");
    assert_eq!(lines[0]["rule"], "server.connection-refused");
    assert_eq!(lines[1]["error_type"], "environment_setup");
    assert_eq!(lines[2]["error_type"], "unknown");
    assert_eq!(lines[2]["rule"], serde_json::Value::Null);

    let mut child = Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(["classify", "--jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(stdout(&o).lines().count(), 3);

    std::fs::write(
        tmp.path().join("bad.jsonl"),
        "{\"id\": 1, \"text\": \"x\"}\n{\"id\": 2}\n",
    )
    .expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--jsonl", "bad.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.jsonl:2: expected {\"id\": …, \"text\": \"…\"}"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("missing field `text`"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "nothing is written for bad input");
}

#[test]
fn repository_rules_extend_and_override_the_builtin_ones() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(tmp.path().join(".ci-medic")).expect("mkdir");
    std::fs::write(
        tmp.path().join(".ci-medic/rules.toml"),
        r#"
[[rule]]
id = "ours.feature-flag-service"
error_type = "environment_setup"
weight = 0.9
why = "the feature-flag service is not reachable from CI"
match.any = ["flagd: connection failed"]

[[rule]]
id = "server.connection-refused"
enabled = false
"#,
    )
    .expect("w");
    std::fs::write(
        tmp.path().join("a.txt"),
        "Error: flagd: connection failed (retrying)",
    )
    .expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--text", "a.txt", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["error_type"], "environment_setup");
    assert_eq!(v["rule"], "ours.feature-flag-service");
    // The disabled built-in no longer fires.
    std::fs::write(
        tmp.path().join("b.txt"),
        "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/",
    )
    .expect("w");
    let o = ci_medic(tmp.path(), &["classify", "--text", "b.txt", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_ne!(v["rule"], "server.connection-refused");

    // The analysis records which rules the repository changed.
    let run = repo().join("fixtures/runs/server_unavailable");
    let o = ci_medic(
        tmp.path(),
        &["triage", run.to_str().expect("utf8"), "--out", "t"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let a = read_json(&tmp.path().join("t/analysis.json"));
    assert_eq!(a["analyzer"]["user_rules"], 1);
    assert_eq!(a["analyzer"]["rules_file"], ".ci-medic/rules.toml");
    assert_eq!(
        a["analyzer"]["disabled_rules"][0],
        "server.connection-refused"
    );
}

#[test]
fn a_bad_rules_file_names_the_file_rule_and_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("a.txt"), "x").expect("w");
    for (body, needles) in [
        (
            "[[rule]]\nid = \"mine\"\nerror_type = \"selector_drift\"\nweight = 0.8\nwhy = \"w\"\nmatch.message = [\"(unclosed\"]\n",
            vec![
                "bad.toml: rule 'mine' (#1), field `match.message[0]`: expected a regular expression, found \"(unclosed\"",
            ],
        ),
        (
            "[[rule]]\nid = \"mine\"\nerror_type = \"flaky\"\nweight = 0.8\nwhy = \"w\"\nmatch.any = \"x\"\n",
            vec![
                "bad.toml: rule 'mine' (#1), field `error_type`: expected one of selector_drift",
                "found \"flaky\"",
            ],
        ),
        (
            "[[rule]]\nid = \"ok\"\nerror_type = \"app_error\"\nweight = 0.7\nwhy = \"w\"\nmatch.any = \"x\"\n\n[[rule]]\nid = \"two\"\nerror_type = \"app_error\"\nweight = 0\nwhy = \"w\"\nmatch.any = \"y\"\n",
            vec![
                "bad.toml: rule 'two' (#2), field `weight`: expected a number strictly between 0 and 1, found 0",
            ],
        ),
        (
            "[[rule]\nid = 1\n",
            vec![
                "bad.toml: expected a rules file (TOML with [[rule]] tables), found an error",
                "line 1",
            ],
        ),
    ] {
        std::fs::write(tmp.path().join("bad.toml"), body).expect("w");
        let o = ci_medic(
            tmp.path(),
            &["classify", "--rules", "bad.toml", "--text", "a.txt"],
        );
        assert_eq!(o.status.code(), Some(2), "{body}");
        for n in needles {
            assert!(stderr(&o).contains(n), "{n}\n{}", stderr(&o));
        }
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn eval_corpus_scores_each_part_by_what_the_text_alone_shows() {
    let readings = "fixtures/corpus/evidence/readings.jsonl";
    let o = ci_medic(&repo(), &["eval-corpus", "--json", "--readings", readings]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rows = v["by_evidence"].as_array().expect("by_evidence");
    for part in ["tuning", "validation"] {
        let of_part: Vec<&serde_json::Value> = rows.iter().filter(|r| r["part"] == part).collect();
        let n = |r: &serde_json::Value, k: &str| r[k].as_u64().expect(k);
        let (classes, all): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) =
            of_part.into_iter().partition(|r| !r["evidence"].is_null());
        assert_eq!(classes.len(), 4, "{part}: one row per evidence class");
        let [all] = all.as_slice() else {
            panic!("{part}: one row for the whole part")
        };
        // The classes add up to the part, and the part's row is the split's.
        for k in [
            "entries",
            "correct",
            "unknown",
            "confident",
            "confident_correct",
        ] {
            assert_eq!(
                classes.iter().map(|r| n(r, k)).sum::<u64>(),
                n(all, k),
                "{part} {k}"
            );
        }
        assert_eq!(n(all, "entries"), v[part]["total"].as_u64().expect("total"));
        assert_eq!(
            n(all, "correct"),
            v[part]["correct"].as_u64().expect("correct")
        );
        assert_eq!(
            n(all, "confident"),
            v[part]["confident"].as_u64().expect("confident")
        );
        // A reading that says the text carries the evidence names the label.
        for r in &classes {
            if r["evidence"] == "explicit" || r["evidence"] == "inferable" {
                assert_eq!(n(r, "reader_correct"), n(r, "entries"), "{r}");
            }
            if r["evidence"] == "contrary" {
                assert_eq!(n(r, "reader_correct"), 0, "{r}");
            }
        }
    }
    let text = stdout(&ci_medic(&repo(), &["eval-corpus", "--readings", readings]));
    assert!(text.contains("by what the text alone shows"), "{text}");
    // A readings file that misses entries is refused, naming where.
    let tmp = tempfile::tempdir().expect("tmp");
    let short = tmp.path().join("readings.jsonl");
    let first = std::fs::read_to_string(repo().join(readings))
        .expect("readings")
        .lines()
        .next()
        .expect("a line")
        .to_owned();
    std::fs::write(&short, format!("{first}\n")).expect("write");
    let o = ci_medic(
        &repo(),
        &["eval-corpus", "--readings", short.to_str().expect("utf8")],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("readings.jsonl:2: expected a reading") && err.contains("no reading of entry"),
        "{err}"
    );
}

#[test]
fn eval_corpus_reports_each_rules_answers_on_the_tuning_part() {
    let o = ci_medic(&repo(), &["eval-corpus", "--json", "--rules-report"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rows = v["tuning_rules"].as_array().expect("tuning_rules");
    let sum = |k: &str| rows.iter().map(|r| r[k].as_u64().expect(k)).sum::<u64>();
    let n = |k: &str| v["tuning"][k].as_u64().expect(k);
    // Every answer other than unknown was given by a rule, and only answers
    // are counted: the rows add up to the tuning part's figures.
    assert_eq!(sum("decided"), n("total") - n("unknown"));
    assert_eq!(sum("right"), n("correct"));
    let share = |r: &serde_json::Value| {
        r["right"].as_f64().expect("right") / r["decided"].as_f64().expect("decided")
    };
    assert!(
        rows.windows(2).all(|w| share(&w[0]) <= share(&w[1])),
        "weakest first"
    );
    assert!(
        rows.iter().all(|r| r["weight"].as_f64().is_some()),
        "{rows:?}"
    );
}

#[test]
fn eval_corpus_reports_metrics_confusion_and_calibration() {
    let o = ci_medic(&repo(), &["eval-corpus", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v["tuning_rules"].is_null(), "rule by rule only on request");
    let c = &v["corpus"];
    let total = c["total"].as_u64().expect("total");
    assert!(total >= 150, "the dev corpus has {total} entries");
    let bins: u64 = c["calibration"]
        .as_array()
        .expect("bins")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(bins, total);
    let rows: u64 = c["confusion"]
        .as_object()
        .expect("confusion")
        .values()
        .flat_map(|r| r.as_object().expect("row").values())
        .map(|n| n.as_u64().expect("n"))
        .sum();
    assert_eq!(rows, total);
    // Both parts of the split are scored, and add up to the whole.
    let part = |name: &str| v[name]["total"].as_u64().expect("part total");
    assert_eq!(part("tuning") + part("validation"), total);
    assert!(part("validation") * 4 >= total, "about 30 % held out");
    // Calibration: on the part the rules may be tuned on, confident
    // predictions mean what they say (the held-out part's figure is reported).
    let t = &v["tuning"];
    assert!(t["confident"].as_u64().expect("n") >= 50);
    assert!(
        t["confident_precision"].as_f64().expect("p") >= 0.95,
        "{:#}",
        t["per_type"]
    );
    assert!(v["validation"]["confident_precision"].is_f64());
    // Playwright's own error messages are mapped to their type by a rule.
    let m = &v["playwright_messages"];
    assert!(m["share"].as_f64().expect("share") >= 0.95, "{m:#}");
    assert!(m["errors"].as_u64().expect("errors") > 800);
    // The language bindings' own messages are reported beside them.
    let b = &v["binding_messages"];
    assert!(b["errors"].as_u64().expect("errors") > 200, "{b:#}");
    assert!(b["share"].as_f64().expect("share") > 0.5, "{b:#}");
    let text = stdout(&ci_medic(&repo(), &["eval-corpus"]));
    assert!(text.contains("confusion (rows: label, columns: predicted)"));
    assert!(text.contains("calibration"));
    assert!(text.contains("The language bindings' own messages (core/knowledge/clients.tsv)"));
    assert!(text.contains("validation part") && text.contains("tuning part"));
}
