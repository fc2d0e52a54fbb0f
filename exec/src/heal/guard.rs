//! The no-code-edits guardrail: the tracked tree is recorded before self-heal
//! acts and compared after; any change to a tracked file is put back and
//! reported as a violation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Repository, Status, StatusOptions};

/// The tracked files that differed from the index before, with their content,
/// so that exactly that state can be restored.
#[derive(Debug)]
pub struct TreeGuard {
    root: PathBuf,
    dirty: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

/// One tracked file an action changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path relative to the repository root.
    pub path: PathBuf,
    /// Whether it was put back.
    pub restored: bool,
    /// What happened.
    pub detail: String,
}

impl TreeGuard {
    /// Records the tracked tree of the repository that contains `dir`.
    pub fn record(dir: &Path) -> Result<TreeGuard, git2::Error> {
        let repo = Repository::discover(dir)?;
        let root = repo
            .workdir()
            .ok_or_else(|| git2::Error::from_str("a bare repository has no working tree"))?
            .to_owned();
        let mut dirty = BTreeMap::new();
        for path in changed_tracked(&repo)? {
            let content = std::fs::read(root.join(&path)).ok();
            dirty.insert(path, content);
        }
        Ok(TreeGuard { root, dirty })
    }

    /// Compares the tracked tree with the record and restores what changed.
    pub fn check_and_restore(&self) -> Result<Vec<Violation>, git2::Error> {
        let repo = Repository::open(&self.root)?;
        let now = changed_tracked(&repo)?;
        let mut violations = Vec::new();
        // Clean before, changed now: back to the index.
        let to_index: Vec<&PathBuf> = now
            .iter()
            .filter(|p| !self.dirty.contains_key(*p))
            .collect();
        if !to_index.is_empty() {
            let mut opts = git2::build::CheckoutBuilder::new();
            opts.force();
            for p in &to_index {
                opts.path(p.as_path());
            }
            let restored = repo.checkout_index(None, Some(&mut opts)).is_ok();
            for p in to_index {
                violations.push(Violation {
                    path: p.clone(),
                    restored,
                    detail: "a tracked file changed during self-heal".into(),
                });
            }
        }
        // Changed before: back to exactly what it was.
        for (path, before) in &self.dirty {
            let full = self.root.join(path);
            let current = std::fs::read(&full).ok();
            if &current == before {
                continue;
            }
            let restored = match before {
                Some(bytes) => std::fs::write(&full, bytes).is_ok(),
                None => std::fs::remove_file(&full).is_ok(),
            };
            violations.push(Violation {
                path: path.clone(),
                restored,
                detail: "a tracked file with local changes was changed again during self-heal"
                    .into(),
            });
        }
        Ok(violations)
    }
}

/// Tracked files whose working-tree content differs from the index or HEAD.
fn changed_tracked(repo: &Repository) -> Result<Vec<PathBuf>, git2::Error> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(false)
        .include_ignored(false)
        .include_unmodified(false);
    let statuses = repo.statuses(Some(&mut opts))?;
    let mut out = Vec::new();
    for entry in statuses.iter() {
        let s = entry.status();
        let changed = s.intersects(
            Status::WT_MODIFIED | Status::WT_DELETED | Status::WT_TYPECHANGE | Status::WT_RENAMED,
        );
        if changed && let Some(p) = entry.path() {
            out.push(PathBuf::from(p));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Repository) {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = Repository::init(tmp.path()).expect("init");
        for (name, text) in files {
            let p = tmp.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        {
            let mut index = repo.index().expect("index");
            index
                .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
                .expect("add");
            index.write().expect("write index");
            let tree = repo
                .find_tree(index.write_tree().expect("tree"))
                .expect("tree");
            let sig = git2::Signature::now("t", "t@example.com").expect("sig");
            repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
                .expect("commit");
        }
        (tmp, repo)
    }

    #[test]
    fn a_changed_tracked_file_is_restored_and_reported() {
        let (tmp, _repo) = repo_with(&[("tests/a.spec.ts", "original\n"), ("src/app.ts", "app\n")]);
        let guard = TreeGuard::record(tmp.path()).expect("record");
        std::fs::write(tmp.path().join("tests/a.spec.ts"), "edited by an action\n").expect("w");
        std::fs::remove_file(tmp.path().join("src/app.ts")).expect("rm");
        std::fs::write(tmp.path().join("untracked.log"), "fine").expect("w");
        let v = guard.check_and_restore().expect("check");
        let paths: Vec<&Path> = v.iter().map(|v| v.path.as_path()).collect();
        assert_eq!(
            paths,
            [Path::new("src/app.ts"), Path::new("tests/a.spec.ts")]
        );
        assert!(v.iter().all(|v| v.restored));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("tests/a.spec.ts")).expect("r"),
            "original\n"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("src/app.ts")).expect("r"),
            "app\n"
        );
        assert!(guard.check_and_restore().expect("again").is_empty());
    }

    #[test]
    fn local_changes_made_before_are_kept_and_guarded() {
        let (tmp, _repo) = repo_with(&[("a.txt", "committed\n")]);
        std::fs::write(tmp.path().join("a.txt"), "work in progress\n").expect("w");
        let guard = TreeGuard::record(tmp.path()).expect("record");
        assert!(guard.check_and_restore().expect("unchanged").is_empty());
        std::fs::write(tmp.path().join("a.txt"), "changed again\n").expect("w");
        let v = guard.check_and_restore().expect("check");
        assert_eq!(v.len(), 1);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("a.txt")).expect("r"),
            "work in progress\n"
        );
    }
}
