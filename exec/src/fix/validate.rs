//! Validation: the patch applied in a temporary git worktree of HEAD, the
//! affected tests rerun there with Playwright, their results read back.
//!
//! The worktree shares the repository's objects, not its untracked files, so
//! `node_modules` directories (and `[fix] link` paths) are symlinked in.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{Repository, WorktreeAddOptions, WorktreePruneOptions};

use crate::process::{self, Spec};
use ci_medic_core::config::FixConfig;
use ci_medic_core::model::{Test, TestStatus};

/// Why the validation worktree could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// A file or directory operation failed.
    #[error("{what} {path}: {source}", path = path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// libgit2 refused.
    #[error("{what}: {message}", message = source.message())]
    Git {
        /// What was being done.
        what: String,
        /// libgit2's error.
        source: git2::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorktreeError {
    let path = path.to_owned();
    move |source| WorktreeError::Io { what, path, source }
}

fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> WorktreeError {
    let what = what.into();
    move |source| WorktreeError::Git { what, source }
}

/// A temporary worktree, removed (and pruned from the repository) on drop.
#[derive(Debug)]
pub struct Worktree {
    repo_root: PathBuf,
    name: String,
    dir: Option<tempfile::TempDir>,
    /// The checkout.
    pub path: PathBuf,
    /// The commit it checks out.
    pub base: String,
}

impl Worktree {
    /// Adds a worktree of HEAD and links the untracked directories tests need.
    pub fn create(repo_root: &Path, config: &FixConfig) -> Result<Worktree, WorktreeError> {
        Worktree::at(repo_root, config, None)
    }

    /// Adds a worktree of `revision` (HEAD when `None`) and links the
    /// untracked directories tests need.
    pub fn at(
        repo_root: &Path,
        config: &FixConfig,
        revision: Option<&str>,
    ) -> Result<Worktree, WorktreeError> {
        let repo_root = &repo_root
            .canonicalize()
            .map_err(io("cannot read", repo_root))?;
        let repo = Repository::open(repo_root).map_err(git(format!(
            "{}: not a git repository",
            repo_root.display()
        )))?;
        let head = match revision {
            None => repo
                .head()
                .and_then(|h| h.peel_to_commit())
                .map_err(git("the repository has no HEAD commit"))?,
            Some(r) => repo
                .revparse_single(r)
                .and_then(|o| o.peel_to_commit())
                .map_err(git(format!("{r:?} is not a commit of the repository")))?,
        };
        let dir = tempfile::Builder::new()
            .prefix("ci-medic-fix-")
            .tempdir()
            .map_err(io(
                "cannot create a temporary directory in",
                &std::env::temp_dir(),
            ))?;
        let name = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ci-medic-fix".into());
        let path = dir.path().join("checkout");
        // libgit2 checks a worktree out on a branch: a temporary one at HEAD,
        // deleted with the worktree.
        let branch = repo
            .branch(&name, &head, false)
            .map_err(git(format!("cannot create the temporary branch {name}")))?;
        let mut opts = WorktreeAddOptions::new();
        opts.reference(Some(branch.get()));
        if let Err(e) = repo.worktree(&name, &path, Some(&opts)) {
            if let Ok(mut b) = repo.find_branch(&name, git2::BranchType::Local) {
                let _ = b.delete();
            }
            return Err(git("cannot add a worktree")(e));
        }
        let wt = Worktree {
            repo_root: repo_root.to_owned(),
            name,
            dir: Some(dir),
            path,
            base: head.id().to_string(),
        };
        wt.link(config)?;
        Ok(wt)
    }

    fn link(&self, config: &FixConfig) -> Result<(), WorktreeError> {
        let mut links: Vec<PathBuf> = config.link.clone();
        // node_modules from the root down to the Playwright directory.
        let mut dir = PathBuf::new();
        links.push(PathBuf::from("node_modules"));
        for c in config.playwright.cwd.components() {
            if !matches!(c, std::path::Component::Normal(_)) {
                continue;
            }
            dir.push(c);
            links.push(dir.join("node_modules"));
        }
        for rel in links {
            let from = self.repo_root.join(&rel);
            let to = self.path.join(&rel);
            if !from.exists() || to.symlink_metadata().is_ok() {
                continue;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
            }
            std::os::unix::fs::symlink(&from, &to).map_err(io("cannot link", &rel))?;
        }
        Ok(())
    }

    /// Writes `content` at `rel` in the worktree.
    pub fn write(&self, rel: &str, content: &[u8]) -> Result<(), WorktreeError> {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
        }
        std::fs::write(&p, content).map_err(io("cannot write", &p))
    }

    /// Files that differ from HEAD in the worktree (changed or new), relative paths.
    pub fn changed(&self) -> Result<Vec<String>, WorktreeError> {
        let repo = Repository::open(&self.path).map_err(git("cannot open the worktree"))?;
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false);
        let statuses = repo
            .statuses(Some(&mut opts))
            .map_err(git("cannot read the worktree's status"))?;
        Ok(statuses
            .iter()
            .filter(|s| !s.status().is_ignored())
            .filter_map(|s| s.path().map(str::to_owned))
            .collect())
    }

    /// The content of `rel` at HEAD (`None`: not tracked).
    pub fn head_content(&self, rel: &str) -> Option<Vec<u8>> {
        let repo = Repository::open(&self.path).ok()?;
        let tree = repo.head().ok()?.peel_to_tree().ok()?;
        let entry = tree.get_path(Path::new(rel)).ok()?;
        let blob = repo.find_blob(entry.id()).ok()?;
        Some(blob.content().to_vec())
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        drop(self.dir.take());
        if let Ok(repo) = Repository::open(&self.repo_root) {
            if let Ok(wt) = repo.find_worktree(&self.name) {
                let _ = wt.prune(Some(
                    WorktreePruneOptions::new().valid(true).working_tree(true),
                ));
            }
            if let Ok(mut b) = repo.find_branch(&self.name, git2::BranchType::Local) {
                let _ = b.delete();
            }
        }
    }
}

/// One test to rerun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The report's file name (relative to the test directory).
    pub file: String,
    /// The test's line.
    pub line: Option<u32>,
    /// Its project.
    pub project: String,
}

/// What a run gave.
#[derive(Debug)]
pub struct RunResult {
    /// The command.
    pub command: Vec<String>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Whether it hit the limit.
    pub timed_out: bool,
    /// Duration.
    pub duration: Duration,
    /// Tests from its JSON report (empty when there is none).
    pub tests: Vec<Test>,
    /// Why there is no report, when there is none.
    pub report_error: Option<String>,
}

impl RunResult {
    /// Whether every selected test passed.
    pub fn passed(&self) -> bool {
        !self.tests.is_empty()
            && self.report_error.is_none()
            && self.exit_code == Some(0)
            && self
                .tests
                .iter()
                .all(|t| matches!(t.status, TestStatus::Expected | TestStatus::Skipped))
    }
}

/// Runs `targets` in the worktree; `extra` adds flags (`--update-snapshots`).
pub fn run(
    wt: &Worktree,
    config: &FixConfig,
    targets: &[Target],
    out: &Path,
    extra: &[&str],
    deadline: Instant,
) -> RunResult {
    run_with(wt, config, targets, out, extra, &Env::default(), deadline)
}

/// Variables for a run besides `[fix.playwright] env`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// Names passed through from this process.
    pub pass: Vec<String>,
    /// Values set.
    pub set: Vec<(String, String)>,
}

/// [`run`] with more variables (a reference run's app URL).
pub fn run_with(
    wt: &Worktree,
    config: &FixConfig,
    targets: &[Target],
    out: &Path,
    extra: &[&str],
    env: &Env,
    deadline: Instant,
) -> RunResult {
    let pw = &config.playwright;
    // Playwright runs in the worktree: every path it is given must be absolute.
    let out_abs;
    let out = if out.is_absolute() {
        out
    } else {
        out_abs = std::env::current_dir()
            .map(|d| d.join(out))
            .unwrap_or_else(|_| out.to_owned());
        &out_abs
    };
    let mut args = pw.rerun_args(
        targets
            .iter()
            .map(|t| (t.file.as_str(), t.line, t.project.as_str())),
        &out.join("test-results"),
    );
    args.push("--retries=0".into());
    args.push("--trace=retain-on-failure".into());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let results = out.join("results.json");
    let _ = std::fs::create_dir_all(out);
    let _ = std::fs::remove_file(&results);
    let spec = Spec {
        program: pw.command[0].clone(),
        args: args.clone(),
        cwd: wt.path.join(&pw.cwd),
        env: pw.env.iter().chain(&env.pass).cloned().collect(),
        set: env
            .set
            .iter()
            .cloned()
            .chain([(
                "PLAYWRIGHT_JSON_OUTPUT_NAME".into(),
                results.display().to_string(),
            )])
            .collect(),
        timeout: deadline.saturating_duration_since(Instant::now()),
        log: out.join("playwright.log"),
    };
    let mut command = vec![pw.command[0].clone()];
    command.extend(args);
    let started = Instant::now();
    let outcome = process::run(&spec, deadline);
    let (exit_code, timed_out) = match &outcome {
        Ok(o) => (o.exit_code, o.timed_out),
        Err(_) => (None, false),
    };
    let (tests, report_error) = match (&outcome, std::fs::read(&results)) {
        (Err(e), _) => (
            Vec::new(),
            Some(format!("{} could not start: {e}", pw.command[0])),
        ),
        (_, Ok(bytes)) => match ci_medic_core::collect::playwright::json::parse(&results, &bytes) {
            Ok(run) => (run.tests, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        },
        (_, Err(_)) => (
            Vec::new(),
            Some(format!(
                "no JSON report at {} (see {})",
                results.display(),
                spec.log.display()
            )),
        ),
    };
    RunResult {
        command,
        exit_code,
        timed_out,
        duration: started.elapsed(),
        tests,
        report_error,
    }
}
