//! `ci-medic fix` on the recorded selector-drift run: the compiled binary, a real
//! git checkout of the suite's specs, the run's real traces; no browser (the
//! validation rerun is off, or has nothing to run). Guardrails, refusals and bad
//! input, each with its reason in the metadata.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo")
}

fn ci_medic(dir: &Path, args: &[&str]) -> Output {
    ci_medic_env(dir, args, &[])
}

fn ci_medic_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    common::ci_medic(dir, args, env)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("json")
}

/// A checkout of the suite's specs, the recorded run collected and classified.
struct Checkout {
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Checkout {
    fn new() -> Checkout {
        Checkout::of("selector_drift")
    }

    fn of(scenario: &str) -> Checkout {
        let (tmp, dir) = common::checkout_with_run(scenario, "local-fix");
        Checkout { dir, _tmp: tmp }
    }

    fn config(&self, fix: &str) {
        std::fs::write(self.dir.join(".ci-medic.toml"), format!("[fix]\n{fix}\n")).expect("config");
    }

    fn fix(&self, args: &[&str]) -> (serde_json::Value, String) {
        let o = ci_medic(&self.dir, args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        (self.metadata(), err)
    }

    fn run_id(&self) -> String {
        read_json(&self.dir.join("fix-agent/input.json"))["run"]["run_id"]
            .as_str()
            .expect("run id")
            .to_owned()
    }

    fn metadata(&self) -> serde_json::Value {
        read_json(
            &self
                .dir
                .join(format!("fix-agent/metadata-{}.json", self.run_id())),
        )
    }

    fn patch(&self) -> String {
        std::fs::read_to_string(
            self.dir
                .join(format!("fix-agent/patch-{}.diff", self.run_id())),
        )
        .expect("patch")
    }

    fn edit_for(&self, meta: &serde_json::Value, spec: &str) -> serde_json::Value {
        meta["edits"]
            .as_array()
            .expect("edits")
            .iter()
            .find(|e| e["file"] == spec)
            .unwrap_or_else(|| panic!("no edit for {spec}: {meta:#}"))
            .clone()
    }
}

fn validate(schema: &str, doc: &serde_json::Value) {
    let schema = read_json(&repo().join("schemas").join(schema));
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_recorded_drift_heals_to_a_patch_git_applies_flagged_for_review_without_validation() {
    let c = Checkout::new();
    c.config("");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    assert_eq!(meta["outcome"], "needs_manual_review", "{meta:#}");
    assert_eq!(meta["needs_manual_review"], true);
    assert_eq!(meta["validation"]["ran"], false);
    let rows = c.edit_for(&meta, "tests/items.spec.ts");
    assert_eq!(rows["new"], "getByTestId('product-row')", "{rows:#}");
    let link = c.edit_for(&meta, "tests/item-form.spec.ts");
    assert_eq!(
        link["new"], "getByRole('link', { name: 'New item' })",
        "{link:#}"
    );
    // Every candidate is recorded with its features; the winner leads by the margin.
    let cands = link["healing"]["candidates"]
        .as_array()
        .expect("candidates");
    assert!(cands.len() >= 2);
    assert!(
        cands[0]["score"].as_f64().expect("score") - cands[1]["score"].as_f64().expect("score")
            >= 0.1
    );
    assert!(cands[0]["features"]["identity"].as_f64().is_some());
    assert!(
        meta["pr_body"]
            .as_str()
            .expect("body")
            .contains("### What changed")
    );
    assert!(
        meta["branch"]
            .as_str()
            .expect("branch")
            .starts_with("ci-medic/fix-")
    );
    let patch = c.patch();
    assert!(
        patch.starts_with("diff --git a/tests/item-form.spec.ts b/tests/item-form.spec.ts\n"),
        "{patch}"
    );
    assert!(patch.contains("-  await page.locator('#add-item').click();\n+  await page.getByRole('link', { name: 'New item' }).click();\n"), "{patch}");
    let o = Command::new("git")
        .args([
            "apply",
            "--check",
            &format!("fix-agent/patch-{}.diff", c.run_id()),
        ])
        .current_dir(&c.dir)
        .output()
        .expect("git");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The contracts hold on real output.
    validate("fix-metadata.v1.json", &meta);
    validate(
        "fix-input.v1.json",
        &read_json(&c.dir.join("fix-agent/input.json")),
    );
    // The checkout itself is untouched.
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&c.dir)
        .output()
        .expect("git");
    assert_eq!(
        String::from_utf8_lossy(&status.stdout),
        "?? .ci-medic.toml\n"
    );
}

#[test]
fn a_path_outside_the_allowlist_gets_no_edit_and_says_so() {
    let c = Checkout::new();
    c.config("allow = [\"e2e/**\"]");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    assert_eq!(meta["outcome"], "no_patch", "{meta:#}");
    let e = c.edit_for(&meta, "tests/items.spec.ts");
    assert_eq!(e["applied"], false);
    assert!(
        e["reason"]
            .as_str()
            .expect("reason")
            .starts_with("guardrail allowlist"),
        "{e:#}"
    );
    let g = meta["guardrails"].as_array().expect("guardrails");
    assert!(
        g.iter().any(|d| d["check"] == "allowlist"
            && d["ok"] == false
            && d["path"] == "tests/items.spec.ts"),
        "{g:#?}"
    );
    assert_eq!(c.patch(), "");
}

#[test]
fn a_patch_over_the_line_cap_is_dropped_whole() {
    let c = Checkout::new();
    c.config("max_changed_lines = 3");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    assert_eq!(meta["outcome"], "no_patch", "{meta:#}");
    assert!(
        meta["reason"]
            .as_str()
            .expect("reason")
            .contains("max_changed_lines"),
        "{meta:#}"
    );
    assert!(
        meta["edits"]
            .as_array()
            .expect("edits")
            .iter()
            .all(|e| e["applied"] == false)
    );
    assert!(
        meta["edits"][0]["reason"]
            .as_str()
            .expect("r")
            .starts_with("dropped: the patch is over a cap")
    );
    assert_eq!(c.patch(), "");
    let c = Checkout::new();
    c.config("max_files = 1");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    assert_eq!(meta["outcome"], "no_patch");
    assert!(
        meta["reason"]
            .as_str()
            .expect("reason")
            .contains("max_files"),
        "{meta:#}"
    );
}

#[test]
fn symlink_and_parent_directory_escapes_are_refused() {
    let c = Checkout::new();
    // tests/items.spec.ts becomes a link to a copy outside the repository.
    let outside = tempfile::tempdir().expect("tmp");
    let target = outside.path().join("items.spec.ts");
    std::fs::copy(c.dir.join("tests/items.spec.ts"), &target).expect("copy");
    std::fs::remove_file(c.dir.join("tests/items.spec.ts")).expect("rm");
    std::os::unix::fs::symlink(&target, c.dir.join("tests/items.spec.ts")).expect("link");
    c.config("");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    let e = c.edit_for(&meta, "tests/items.spec.ts");
    assert_eq!(e["applied"], false, "{e:#}");
    assert!(
        e["reason"]
            .as_str()
            .expect("r")
            .contains("outside the repository"),
        "{e:#}"
    );
    // The other edit is unaffected; the file outside is untouched.
    assert_eq!(
        c.edit_for(&meta, "tests/item-form.spec.ts")["applied"],
        true
    );
    assert_eq!(
        std::fs::read_to_string(&target).expect("read"),
        std::fs::read_to_string(repo().join("fixtures/e2e/tests/items.spec.ts")).expect("read")
    );

    // input.json is an artifact too: a spec path with `..` in it is never written.
    let c = Checkout::new();
    c.config("");
    let o = ci_medic(&c.dir, &["fix", "prepare"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let path = c.dir.join("fix-agent/input.json");
    let mut input = read_json(&path);
    for f in input["failures"].as_array_mut().expect("failures") {
        f["spec"] = serde_json::json!("tests/../../outside.spec.ts");
    }
    std::fs::write(&path, serde_json::to_vec(&input).expect("json")).expect("write");
    let (meta, _) = c.fix(&["fix", "apply", "--no-validate"]);
    assert_eq!(meta["outcome"], "no_patch");
    for e in meta["edits"].as_array().expect("edits") {
        assert!(
            e["reason"]
                .as_str()
                .expect("r")
                .starts_with("guardrail path"),
            "{e:#}"
        );
    }
}

#[test]
fn ambiguous_candidates_get_no_edit() {
    let c = Checkout::new();
    c.config("");
    let o = ci_medic(&c.dir, &["fix", "prepare"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The page knows only an ARIA snapshot with two identical "New item" links.
    let path = c.dir.join("fix-agent/input.json");
    let mut input = read_json(&path);
    for f in input["failures"].as_array_mut().expect("failures") {
        f["trace"] = serde_json::Value::Null;
        f["page_snapshot"] = serde_json::json!(
            "- main:\n  - heading \"Items\" [level=1]\n  - link \"New item\":\n    - /url: /items/new\n  - link \"New item\":\n    - /url: /items/new\n"
        );
    }
    std::fs::write(&path, serde_json::to_vec(&input).expect("json")).expect("write");
    let (meta, _) = c.fix(&["fix", "apply", "--no-validate"]);
    let e = c.edit_for(&meta, "tests/item-form.spec.ts");
    assert_eq!(e["applied"], false, "{e:#}");
    let reason = e["reason"].as_str().expect("r");
    assert!(
        reason.contains("cannot be selected alone") || reason.contains("ambiguous"),
        "{reason}"
    );
    assert!(!e["healing"]["candidates"].as_array().expect("c").is_empty());
    assert_eq!(meta["outcome"], "no_patch", "{meta:#}");
}

#[test]
fn bad_input_is_refused_with_the_file_and_the_field() {
    let c = Checkout::new();
    c.config("");
    let mut analysis = read_json(&c.dir.join("analysis.json"));
    analysis["run"]["run_id"] = serde_json::json!("another-run");
    std::fs::write(
        c.dir.join("analysis.json"),
        serde_json::to_vec(&analysis).expect("json"),
    )
    .expect("write");
    let o = ci_medic(&c.dir, &["fix", "--no-validate"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the analysis is of run another-run"), "{err}");
    analysis["fix_agent_instructions"][0]["kind"] = serde_json::json!("rewrite_everything");
    std::fs::write(
        c.dir.join("analysis.json"),
        serde_json::to_vec(&analysis).expect("json"),
    )
    .expect("write");
    let o = ci_medic(&c.dir, &["fix", "--no-validate"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fix_agent_instructions[0].kind"), "{err}");
    let o = ci_medic(&c.dir, &["fix", "apply"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("run `ci-medic fix prepare` first"));
    std::fs::write(c.dir.join(".ci-medic.toml"), "[fix]\nmin_score = 2\n").expect("config");
    let o = ci_medic(&c.dir, &["fix", "--no-validate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fix.min_score"));
    // A history that is not one names the file; nothing is written.
    c.config("");
    std::fs::write(c.dir.join("history.json"), "{\"runs\": 3}").expect("history");
    let before = std::fs::read_dir(c.dir.join("fix-agent")).map_or(0, |d| d.count());
    let o = ci_medic(
        &c.dir,
        &["fix", "--no-validate", "--history", "history.json"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("history.json"), "{err}");
    let after = std::fs::read_dir(c.dir.join("fix-agent")).map_or(0, |d| d.count());
    assert_eq!(before, after, "{err}");
}

#[test]
fn fix_pr_opens_a_draft_pr_only_when_allowed_and_never_edits_the_default_branch() {
    use scenario_harness::github::{GithubReplay, Repo};
    let c = Checkout::new();
    c.config("");
    c.fix(&["fix", "--no-validate"]);
    let replay = GithubReplay::start(Repo::new("acme", "shop")).expect("replay");
    let env = [
        ("GITHUB_API_URL", replay.api_base()),
        ("GITHUB_TOKEN", "ghp_fixPrTestToken0123456789abcdefABCD"),
        ("GITHUB_REPOSITORY", "acme/shop"),
    ];
    // Off by default: no request at all.
    let o = ci_medic_env(&c.dir, &["fix", "pr"], &env);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("[fix] open_pr is not true"));
    assert!(replay.requests().is_empty());
    // Allowed, but the patch is not validated: still no PR unless asked for.
    c.config("open_pr = true");
    let o = ci_medic_env(&c.dir, &["fix", "pr"], &env);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not validated"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(replay.writes().is_empty());
    let o = ci_medic_env(&c.dir, &["fix", "pr", "--allow-unvalidated"], &env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("opened draft PR #"), "{err}");
    replay.assert_valid();
    let model = replay.repo();
    let pull = model.pulls.last().expect("a pull request");
    assert!(pull.draft);
    assert_eq!(pull.base, "main");
    assert!(pull.head.starts_with("ci-medic/fix-"), "{pull:?}");
    assert!(
        pull.body
            .as_deref()
            .unwrap_or_default()
            .contains("### Validation")
    );
    // The commit carries the patched specs as the patch leaves them.
    let blobs: Vec<String> = model
        .blobs
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        blobs
            .iter()
            .any(|b| b.contains("getByTestId('product-row')")),
        "{blobs:?}"
    );
    assert!(
        blobs
            .iter()
            .any(|b| b.contains("getByRole('link', { name: 'New item' }).click()"))
    );
    assert_eq!(
        model.branches.get("main"),
        Repo::new("acme", "shop").branches.get("main"),
        "main moved"
    );
    assert!(!err.contains("ghp_fixPrTestToken"));
}

#[test]
fn timeouts_are_raised_and_assertions_only_proposed() {
    // timeout_flaky: both tests hit the 10 s test timeout before passing on retry.
    let c = Checkout::of("timeout_flaky");
    c.config("");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    let edits = meta["edits"].as_array().expect("edits");
    assert_eq!(edits.len(), 2, "{meta:#}");
    for e in edits {
        assert_eq!(e["kind"], "adjust_timeout");
        assert_eq!(e["applied"], true, "{e:#}");
        assert_eq!(e["new"], "test.setTimeout(20000);", "{e:#}");
    }
    let patch = c.patch();
    assert!(patch.contains("+  test.setTimeout(20000);\n"), "{patch}");
    validate("fix-metadata.v1.json", &meta);

    // assertion_mismatch: the expected texts are a person's call, never edited.
    let c = Checkout::of("assertion_mismatch");
    c.config("");
    let (meta, _) = c.fix(&["fix", "--no-validate"]);
    let proposals = meta["proposals"].as_array().expect("proposals");
    assert_eq!(proposals.len(), 2, "{meta:#}");
    assert!(
        proposals
            .iter()
            .all(|p| p["kind"] == "review_assertion" && p["expected"].is_string()),
        "{proposals:#?}"
    );
    assert!(!c.patch().contains("items.spec.ts"), "{}", c.patch());
}
