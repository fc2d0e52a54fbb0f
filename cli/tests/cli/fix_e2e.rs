//! The fix-agent end to end: the demo app with its markup drifted, the real
//! Playwright suite in Chromium, a real git checkout, the compiled `ci-medic fix`,
//! and `git apply` on the patch it writes.

use crate::suite;

use std::path::Path;
use std::process::Command;

use suite::{Workspace, ci_medic, collect_and_classify, failing_run, playwright_cli, run_suite};

fn fix_config(ws: &Workspace, extra: &str) {
    std::fs::write(
        ws.dir.join(".ci-medic.toml"),
        format!(
            "[fix]\n{extra}\n[fix.playwright]\ncommand = [\"node\", {cli:?}, \"test\"]\nenv = [\"E2E_BASE_URL\"]\n",
            cli = playwright_cli(),
        ),
    )
    .expect("config");
}

fn metadata(dir: &Path) -> (serde_json::Value, String) {
    let input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("fix-agent/input.json")).expect("input"))
            .expect("json");
    let run_id = input["run"]["run_id"].as_str().expect("run id").to_owned();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("fix-agent/metadata-{run_id}.json"))).expect("metadata"),
    )
    .expect("json");
    (meta, run_id)
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git")
}

#[test]
fn selector_drift_is_healed_by_a_validated_patch_that_turns_the_suite_green() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let app = ws.app("[faults]\nmarkup_drift = true\n", None);
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    fix_config(&ws, "");
    let o = ci_medic(&dir, &["fix"], &[("E2E_BASE_URL", &app.base_url)]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, run_id) = metadata(&dir);
    assert_eq!(meta["outcome"], "validated", "{err}\n{meta:#}");
    assert_eq!(meta["validation"]["passed"], true, "{meta:#}");
    assert_eq!(meta["risk"], "test-only");
    let applied: Vec<&serde_json::Value> = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .filter(|e| e["applied"] == true)
        .collect();
    let news: Vec<&str> = applied.iter().filter_map(|e| e["new"].as_str()).collect();
    assert!(news.contains(&"getByTestId('product-row')"), "{news:?}");
    assert!(
        news.contains(&"getByRole('link', { name: 'New item' })"),
        "{news:?}"
    );
    assert!(news.contains(&"getByLabel('Title')"), "{news:?}");
    for e in &applied {
        let h = &e["healing"];
        assert!(
            h["candidates"].as_array().is_some_and(|c| !c.is_empty()),
            "{e:#}"
        );
        assert!(h["score"].as_f64().is_some_and(|s| s >= 0.5), "{e:#}");
    }
    // The patch applies to the checkout with git itself, and the suite is green on it.
    let patch = dir.join(format!("fix-agent/patch-{run_id}.diff"));
    let o = git(&dir, &["apply", "--check", patch.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    git2::Diff::from_buffer(&std::fs::read(&patch).expect("patch"))
        .expect("libgit2 reads the patch");
    let o = git(&dir, &["apply", patch.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        run_suite(&dir, &app.base_url, "after", &[]),
        "the suite still fails with the patch applied"
    );
    // The validation worktree is gone, and no branch was left behind.
    let repo = git2::Repository::open(&dir).expect("repo");
    assert!(repo.worktrees().expect("worktrees").is_empty());
    assert_eq!(repo.branches(None).expect("branches").count(), 1);
    drop(app);
}

#[test]
fn a_visual_change_refreshes_only_the_affected_baseline_as_a_binary_patch_for_review() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let app = ws.app("[faults]\ntheme_change = true\n", None);
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    fix_config(&ws, "");
    let o = ci_medic(&dir, &["fix"], &[("E2E_BASE_URL", &app.base_url)]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, run_id) = metadata(&dir);
    // The rerun passes with any new baseline: a refresh alone is never validated.
    assert_eq!(meta["outcome"], "needs_manual_review", "{err}\n{meta:#}");
    assert_eq!(meta["needs_manual_review"], true);
    assert!(
        meta["reason"]
            .as_str()
            .is_some_and(|r| r.contains("only refreshes screenshot baselines")),
        "{meta:#}"
    );
    assert_eq!(meta["validation"]["passed"], true, "{meta:#}");
    // The reviewer gets the comparison's images: the old baseline, what the
    // new one records, and their diff.
    let refresh = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .find(|e| e["kind"] == "refresh_snapshot")
        .expect("the refresh edit");
    let roles: Vec<&str> = refresh["images"]
        .as_array()
        .expect("images")
        .iter()
        .filter_map(|i| i["role"].as_str())
        .collect();
    assert_eq!(roles, ["expected", "actual", "diff"], "{refresh:#}");
    // All three are in the bundle: collect copies the baseline the report's
    // `-expected.png` attachment points at in the checkout.
    for i in refresh["images"].as_array().expect("images") {
        let p = i["path"].as_str().expect("path");
        let bytes = std::fs::read(dir.join("bundle").join(p))
            .unwrap_or_else(|e| panic!("{p} is not in the bundle: {e}"));
        assert_eq!(&bytes[..4], b"\x89PNG", "{p}");
    }
    assert_eq!(
        refresh["images"][0]["path"],
        "artifacts/baseline__tests__visual.spec.ts-snapshots__banner-chromium-linux.png",
        "{refresh:#}"
    );
    assert!(
        meta["pr_body"]
            .as_str()
            .is_some_and(|b| b.contains("old baseline (expected) `") && b.contains("diff `")),
        "{meta:#}"
    );
    let baseline = "tests/visual.spec.ts-snapshots/banner-chromium-linux.png";
    assert_eq!(
        meta["patch"]["files"],
        serde_json::json!([baseline]),
        "{meta:#}"
    );
    let patch_path = dir.join(format!("fix-agent/patch-{run_id}.diff"));
    let patch = std::fs::read_to_string(&patch_path).expect("patch");
    assert!(patch.contains("GIT binary patch\nliteral "), "{patch}");
    let before = std::fs::read(dir.join(baseline)).expect("baseline");
    let o = git(&dir, &["apply", patch_path.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(dir.join(baseline)).expect("baseline"), before);
    assert!(
        run_suite(&dir, &app.base_url, "after", &["tests/visual.spec.ts"]),
        "the visual test still fails with the new baseline"
    );
    drop(app);
}

/// A page object shared by two tests: the locator is written in the page
/// object, not the specs; one edit there heals both, and both are rerun.
#[test]
fn a_locator_written_in_a_page_object_is_healed_there_for_every_test_using_it() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    std::fs::create_dir_all(dir.join("tests/pages")).expect("mkdir");
    std::fs::write(
        dir.join("tests/pages/catalog-page.ts"),
        "import type { Locator, Page } from '@playwright/test';\n\n\
         export class CatalogPage {\n  readonly rows: Locator;\n\n  \
         constructor(private readonly page: Page) {\n    this.rows = page.getByTestId('item-row');\n  }\n\n  \
         async open() {\n    await this.page.goto('/items');\n  }\n}\n",
    )
    .expect("page object");
    std::fs::write(
        dir.join("tests/catalog.spec.ts"),
        "import { test, expect } from './fixtures';\nimport { CatalogPage } from './pages/catalog-page';\n\n\
         test('the first row is the blue widget', async ({ page }) => {\n  const catalog = new CatalogPage(page);\n  \
         await catalog.open();\n  await expect(catalog.rows.first()).toContainText('Blue Widget');\n});\n\n\
         test('one row is the red gadget', async ({ page }) => {\n  const catalog = new CatalogPage(page);\n  \
         await catalog.open();\n  await expect(catalog.rows.filter({ hasText: 'Red Gadget' })).toHaveCount(1);\n});\n",
    )
    .expect("spec");
    crate::common::commit_all(&dir);
    let app = ws.app("[faults]\nmarkup_drift = true\n", None);
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    fix_config(&ws, "");
    let o = ci_medic(&dir, &["fix"], &[("E2E_BASE_URL", &app.base_url)]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, run_id) = metadata(&dir);
    let po = "tests/pages/catalog-page.ts";
    let edits: Vec<&serde_json::Value> = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .filter(|e| {
            e["failure"]
                .as_str()
                .is_some_and(|f| f.contains("catalog.spec.ts"))
        })
        .collect();
    assert_eq!(edits.len(), 2, "{meta:#}");
    let made: Vec<&&serde_json::Value> = edits.iter().filter(|e| e["applied"] == true).collect();
    assert_eq!(made.len(), 1, "one edit heals both: {meta:#}");
    assert_eq!(made[0]["file"], po, "{meta:#}");
    assert_eq!(made[0]["new"], "getByTestId('product-row')", "{meta:#}");
    let other = edits
        .iter()
        .find(|e| e["applied"] == false)
        .expect("the other");
    assert!(
        other["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("healed by the edit made for")),
        "{other:#}"
    );
    assert!(
        meta["patch"]["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f == po),
        "{meta:#}"
    );
    // Both tests are among the ones validation reran.
    let rerun = meta["validation"]["tests"].as_array().expect("tests");
    assert!(
        rerun
            .iter()
            .filter(|t| t.as_str().is_some_and(|t| t.contains("catalog.spec.ts")))
            .count()
            == 2,
        "{meta:#}"
    );
    let patch = dir.join(format!("fix-agent/patch-{run_id}.diff"));
    let o = git(&dir, &["apply", patch.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let healed = std::fs::read_to_string(dir.join(po)).expect("po");
    assert!(
        healed.contains("page.getByTestId('product-row')"),
        "{healed}"
    );
    assert!(
        run_suite(&dir, &app.base_url, "after", &["tests/catalog.spec.ts"]),
        "the page object's tests still fail with the patch applied"
    );
    drop(app);
}

/// A rename no word similarity would find (`item-row` → `catalog-entry`),
/// proved by the commit that made it: the app's templates are in the
/// repository, and the fix-agent reads their change since `--base`.
#[test]
fn the_commit_that_renamed_a_test_id_gives_the_new_one() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let templates = dir.join("app/templates");
    crate::common::copy_dir(
        &suite::repo().join("fixtures/demo-app/templates"),
        &templates,
    );
    let items = templates.join("items.html");
    let before = std::fs::read_to_string(&items)
        .expect("items.html")
        .replace("{{ ui.item_row_testid }}", "item-row");
    std::fs::write(&items, &before).expect("write");
    crate::common::commit_all(&dir);
    std::fs::write(&items, before.replace("\"item-row\"", "\"catalog-entry\"")).expect("write");
    crate::common::commit_all(&dir);
    let app = ws.app(
        &format!("templates_dir = {:?}\n", templates.display().to_string()),
        None,
    );
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    fix_config(&ws, "");
    let o = ci_medic(
        &dir,
        &["fix", "--base", "HEAD~1"],
        &[("E2E_BASE_URL", &app.base_url)],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, run_id) = metadata(&dir);
    let edit = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .find(|e| e["applied"] == true && e["new"] == "getByTestId('catalog-entry')")
        .unwrap_or_else(|| panic!("no edit to the new test id: {meta:#}"));
    assert!(
        edit["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("the change that broke it: app/templates/items.html:9")),
        "{edit:#}"
    );
    assert_eq!(meta["outcome"], "validated", "{meta:#}");
    let patch = dir.join(format!("fix-agent/patch-{run_id}.diff"));
    let o = git(&dir, &["apply", patch.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        run_suite(&dir, &app.base_url, "after", &["tests/items.spec.ts"]),
        "the item list tests still fail with the patch applied"
    );
    drop(app);
}

#[test]
fn a_screenshot_of_a_run_whose_markup_drifted_keeps_its_baseline() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let app = ws.app("[faults]\ntheme_change = true\nmarkup_drift = true\n", None);
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    fix_config(&ws, "");
    let o = ci_medic(&dir, &["fix"], &[("E2E_BASE_URL", &app.base_url)]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, _) = metadata(&dir);
    let refresh: Vec<&serde_json::Value> = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .filter(|e| e["kind"] == "refresh_snapshot")
        .collect();
    assert!(
        !refresh.is_empty(),
        "the visual failure asks for a refresh: {meta:#}"
    );
    for e in refresh {
        assert_eq!(e["applied"], false, "{e:#}");
        assert!(
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("markup drift")),
            "{e:#}"
        );
    }
    let files = meta["patch"]["files"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        files
            .iter()
            .all(|f| !f.as_str().unwrap_or_default().ends_with(".png")),
        "{meta:#}"
    );
    drop(app);
}

#[test]
fn without_a_dom_snapshot_candidates_come_from_the_live_page_signed_in_with_the_storage_state() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let app = ws.app("[faults]\nmarkup_drift = true\n", None);
    // The suite's setup project signs in and writes .auth/user.json.
    assert!(run_suite(
        &dir,
        &app.base_url,
        "setup",
        &["--project=setup"]
    ));
    assert!(dir.join(".auth/user.json").is_file());
    // The recorded drift run, its traces and page snapshots taken away.
    let run = suite::repo().join("fixtures/runs/selector_drift");
    let o = ci_medic(
        &dir,
        &[
            "collect",
            "--dir",
            run.to_str().expect("path"),
            "--out",
            "bundle",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ci_medic(&dir, &["classify", "bundle"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(
        dir.join(".ci-medic.toml"),
        format!(
            "[fix]\n[fix.live]\nbase_url = {:?}\nstorage_state = \".auth/user.json\"\n",
            app.base_url
        ),
    )
    .expect("config");
    let o = ci_medic(&dir, &["fix", "prepare"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let path = dir.join("fix-agent/input.json");
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("input")).expect("json");
    for f in input["failures"].as_array_mut().expect("failures") {
        f["trace"] = serde_json::Value::Null;
        f["page_snapshot"] = serde_json::Value::Null;
    }
    std::fs::write(&path, serde_json::to_vec(&input).expect("json")).expect("write");
    let o = ci_medic(&dir, &["fix", "apply", "--no-validate"], &[]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, _) = metadata(&dir);
    let edits = meta["edits"].as_array().expect("edits");
    let rows = edits
        .iter()
        .find(|e| e["file"] == "tests/items.spec.ts")
        .expect("items edit");
    // A test id can only come from the DOM: the live page's, signed in.
    assert_eq!(rows["new"], "getByTestId('product-row')", "{meta:#}");
    assert!(
        rows["reason"]
            .as_str()
            .expect("r")
            .contains("the live page http://"),
        "{rows:#}"
    );
    assert!(edits.iter().all(|e| e["applied"] == true), "{meta:#}");
    drop(app);
}

/// The app's templates committed (the list's test id and add link as
/// literals), then `change` to items.html as a second commit; `spec` written
/// as `tests/<name>` in the first. The app serves the changed templates, the
/// spec has failed against it, and the run is collected and classified.
fn broken_by_change(
    ws: &Workspace,
    spec: (&str, &str),
    change: &dyn Fn(&str) -> String,
) -> scenario_harness::app::DemoApp {
    let templates = app_in_repo_with_change(ws, spec, change);
    let app = ws.app(
        &format!("templates_dir = {:?}\n", templates.display().to_string()),
        None,
    );
    let only = format!("tests/{}", spec.0);
    assert!(
        !run_suite(
            &ws.dir,
            &app.base_url,
            "run",
            &[&only, "--project=chromium"]
        ),
        "the first run is meant to fail"
    );
    collect_and_classify(&ws.dir);
    app
}

fn app_in_repo_with_change(
    ws: &Workspace,
    spec: (&str, &str),
    change: &dyn Fn(&str) -> String,
) -> std::path::PathBuf {
    let dir = &ws.dir;
    let templates = dir.join("app/templates");
    crate::common::copy_dir(
        &suite::repo().join("fixtures/demo-app/templates"),
        &templates,
    );
    std::fs::write(dir.join("tests").join(spec.0), spec.1).expect("spec");
    crate::common::commit_all(dir);
    // The list's literals in place of the settings the app fills in.
    let items = templates.join("items.html");
    let before = std::fs::read_to_string(&items)
        .expect("items.html")
        .replace("{{ ui.item_row_testid }}", "item-row")
        .replace("{{ ui.add_item_id }}", "add-item");
    std::fs::write(&items, &before).expect("write");
    crate::common::commit_all(dir);
    std::fs::write(&items, change(&before)).expect("write");
    crate::common::commit_all(dir);
    templates
}

/// `[fix.reference]` starting the demo app on the reference checkout's own
/// templates, on a free port.
fn reference_config(ws: &Workspace) -> String {
    let port = crate::common::free_port();
    let bin = ws.paths.demo_app.display().to_string();
    let data = ws.dir.join("reference-data").display().to_string();
    let script = format!(
        "{bin:?} seed --data-dir {data:?} && exec {bin:?} serve --addr 127.0.0.1:{port} --data-dir {data:?}"
    );
    format!(
        "[fix.reference]\ncommand = [\"sh\", \"-c\", {script:?}]\nurl = \"http://127.0.0.1:{port}/healthz\"\n[fix.reference.env]\nE2E_BASE_URL = \"http://127.0.0.1:{port}\"\nDEMO_TEMPLATES_DIR = \"app/templates\"\n"
    )
}

const COUNT_SPEC: &str = "import { test, expect } from './fixtures';\n\ntest('the count follows the heading', async ({ page }) => {\n  await page.goto('/items');\n  await expect(page.locator('h1 + p')).toHaveText('5 items');\n});\n";

/// The count paragraph moved below the list.
fn move_count(before: &str) -> String {
    let p = "<p class=\"count\" data-testid=\"item-count\">{{ items | length }} items</p>\n";
    assert!(before.contains(p), "items.html changed: {before}");
    before
        .replace(p, "")
        .replace("</ul>\n", &format!("</ul>\n{p}"))
}

#[test]
fn a_reference_run_heals_a_structural_locator_to_the_element_it_matched_there() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    let app = broken_by_change(&ws, ("structure.spec.ts", COUNT_SPEC), &move_count);
    // Without the reference: `h1 + p` names no words, nothing to heal to.
    fix_config(&ws, "");
    let o = ci_medic(
        &dir,
        &["fix", "--base", "HEAD~1"],
        &[("E2E_BASE_URL", &app.base_url)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (meta, _) = metadata(&dir);
    assert_eq!(meta["outcome"], "no_patch", "{meta:#}");
    assert!(meta.get("reference").is_none(), "{meta:#}");
    // With it: the failing test rerun at HEAD~1 says which paragraph it was.
    fix_config(&ws, &reference_config(&ws));
    let o = ci_medic(
        &dir,
        &["fix", "--base", "HEAD~1"],
        &[("E2E_BASE_URL", &app.base_url)],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, run_id) = metadata(&dir);
    let reference = &meta["reference"];
    assert_eq!(reference["tests"], reference["passed"], "{meta:#}");
    assert!(
        reference["calls"].as_u64().is_some_and(|c| c >= 1),
        "{meta:#}"
    );
    assert_eq!(meta["outcome"], "validated", "{err}\n{meta:#}");
    let edit = meta["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .find(|e| e["applied"] == true)
        .unwrap_or_else(|| panic!("no edit: {meta:#}"));
    assert_eq!(edit["old"], "locator('h1 + p')", "{edit:#}");
    assert!(
        edit["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reference run's call")),
        "{edit:#}"
    );
    let patch = dir.join(format!("fix-agent/patch-{run_id}.diff"));
    let o = git(&dir, &["apply", patch.to_str().expect("path")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        run_suite(
            &dir,
            &app.base_url,
            "after",
            &["tests/structure.spec.ts", "--project=chromium"]
        ),
        "the test still fails with the patch applied"
    );
    // The reference worktree is gone.
    let repo = git2::Repository::open(&dir).expect("repo");
    assert!(repo.worktrees().expect("worktrees").is_empty());
    drop(app);
}

const ROWS_SPEC: &str = "import { test, expect } from './fixtures';\n\ntest('lists the rows', async ({ page }) => {\n  await page.goto('/items');\n  await expect(page.getByTestId('item-row')).toContainText(['Blue Widget', 'Red Gadget', 'Green Sprocket', 'Yellow Gizmo', 'Purple Doohickey']);\n});\n\ntest('lists the rows, then adds one', async ({ page }) => {\n  await page.goto('/items');\n  await expect(page.getByTestId('item-row')).toContainText(['Blue Widget', 'Red Gadget', 'Green Sprocket', 'Yellow Gizmo', 'Purple Doohickey']);\n  await page.locator('#add-item').click();\n  await expect(page).toHaveURL(/\\/items\\/new$/);\n});\n";

#[test]
fn a_patch_that_heals_one_of_two_failures_is_partial_never_validated() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    // The rows' test id renamed (a heal the change proves) and the add link deleted.
    let app = broken_by_change(&ws, ("rows.spec.ts", ROWS_SPEC), &|before| {
        let link = before
            .lines()
            .find(|l| l.contains("id=\"add-item\""))
            .expect("the add link")
            .to_owned();
        before
            .replace("\"item-row\"", "\"catalog-entry\"")
            .replace(&format!("{link}\n"), "")
    });
    fix_config(&ws, "");
    let o = ci_medic(
        &dir,
        &["fix", "--base", "HEAD~1"],
        &[("E2E_BASE_URL", &app.base_url)],
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let (meta, _) = metadata(&dir);
    assert_eq!(meta["outcome"], "partial", "{err}\n{meta:#}");
    assert_eq!(meta["needs_manual_review"], true);
    let failures = meta["validation"]["failures"].as_array().expect("failures");
    let passed = |title: &str| {
        failures
            .iter()
            .find(|f| f["test"].as_str().is_some_and(|t| t.ends_with(title)))
            .map(|f| f["passed"].clone())
    };
    assert_eq!(
        passed("lists the rows"),
        Some(serde_json::json!(true)),
        "{meta:#}"
    );
    assert_eq!(
        passed("lists the rows, then adds one"),
        Some(serde_json::json!(false)),
        "{meta:#}"
    );
    assert!(
        meta["pr_body"]
            .as_str()
            .is_some_and(|b| b.contains("partly validated") && b.contains("❌ still fails")),
        "{meta:#}"
    );
    drop(app);
}
