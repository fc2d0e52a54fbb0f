//! The fix-agent's effects: edits applied in a temporary git worktree,
//! validated by rerunning the affected tests, the change that broke a locator
//! read from git, the live page read when a failure
//! left no DOM snapshot, and the patch written and read back by libgit2.

pub mod apply;
pub mod change;
pub mod live;
pub mod patch;
pub mod reference;
pub mod validate;

/// Real repositories for the modules' tests.
#[cfg(test)]
pub(crate) mod test_repo {
    use std::path::Path;

    /// Writes `body` to `file` in `repo`'s work tree and commits it on HEAD.
    pub(crate) fn commit_file(
        repo: &git2::Repository,
        file: &str,
        body: &str,
        message: &str,
    ) -> git2::Oid {
        let root = repo.workdir().expect("a work tree");
        std::fs::write(root.join(file), body).expect("write");
        let mut index = repo.index().expect("index");
        index.add_path(Path::new(file)).expect("add");
        index.write().expect("index written");
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let sig = git2::Signature::now("t", "t@example.com").expect("sig");
        let parent: Vec<git2::Commit<'_>> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
            .expect("commit")
    }
}
