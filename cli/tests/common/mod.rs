//! Helpers shared by the CLI's integration tests.

use std::path::Path;

/// Makes `dir` a git repository with everything in it (but `.gitignore`d
/// paths) committed.
pub(crate) fn commit_all(dir: &Path) {
    let repo = git2::Repository::init(dir).expect("init");
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("t", "t@example.com").expect("sig");
    repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
        .expect("commit");
}
