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
