//! Helpers shared by the CLI's integration tests.

use std::path::Path;

/// Makes `dir` a git repository (when it is not one) with everything in it
/// (but `.gitignore`d paths) committed on top of HEAD.
pub(crate) fn commit_all(dir: &Path) {
    let repo = git2::Repository::init(dir).expect("init");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("t", "t@example.com").expect("sig");
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &parents)
        .expect("commit");
}

/// Runs the compiled `ci-medic` in `dir` with a clean environment plus `env`.
#[allow(dead_code)] // not every test binary that shares this module runs the CLI this way
pub(crate) fn ci_medic(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run ci-medic")
}

/// The repository root.
#[allow(dead_code)]
pub(crate) fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo root")
}

/// A git checkout holding the e2e suite's specs, with a recorded scenario run
/// collected into `bundle/` (as run `run_id`) and classified into `analysis.json`.
#[allow(dead_code)]
pub(crate) fn checkout_with_run(
    scenario: &str,
    run_id: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    copy_specs(&dir);
    std::fs::write(
        dir.join(".gitignore"),
        "bundle/\nfix-agent/\nself-heal/\nanalysis.json\ndashboard/\n",
    )
    .expect("ignore");
    commit_all(&dir);
    let run = repo_root().join("fixtures/runs").join(scenario);
    let run = run.to_str().expect("utf-8 path");
    let o = ci_medic(
        &dir,
        &["collect", "--dir", run, "--out", "bundle"],
        &[("CI_MEDIC_RUN_ID", run_id)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ci_medic(&dir, &["classify", "bundle"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (tmp, dir)
}

/// Copies the e2e suite's spec files into `dir/tests`.
#[allow(dead_code)]
pub(crate) fn copy_specs(dir: &Path) {
    std::fs::create_dir_all(dir.join("tests")).expect("mkdir");
    for e in std::fs::read_dir(repo_root().join("fixtures/e2e/tests"))
        .expect("tests")
        .flatten()
    {
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join("tests").join(e.file_name())).expect("copy");
        }
    }
}

/// Every file under `dir`, recursively.
#[allow(dead_code)]
pub(crate) fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Copies a directory tree (a recorded run a test changes, the e2e suite).
#[allow(dead_code)]
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A loopback port nothing listens on, for a server a test starts later or
/// keeps down.
#[allow(dead_code)]
pub(crate) fn free_port() -> u16 {
    ci_medic_exec::process::loopback_port().expect("a free loopback port")
}
