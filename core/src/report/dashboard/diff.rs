//! The fix-agent's patch as rows a page can show: files, hunks and lines with
//! their numbers. `ci-medic-exec`'s patch reader (libgit2, the parser `git
//! apply` agrees with) produces them; the dashboard only renders.

use serde::Serialize;

/// One file of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffFile {
    /// The path after the change (before, for a deletion).
    pub path: String,
    /// `modified`, `added`, `deleted`, `renamed`.
    pub status: &'static str,
    /// A binary change (a refreshed screenshot baseline): no lines to show.
    pub binary: bool,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The rows, hunk headers included.
    pub lines: Vec<DiffLine>,
}

/// One row of a rendered diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `add`, `del`, `ctx` or `hunk`.
    pub kind: &'static str,
    /// Line number before the change.
    pub old: Option<u32>,
    /// Line number after the change.
    pub new: Option<u32>,
    /// The text, without its newline.
    pub text: String,
}
