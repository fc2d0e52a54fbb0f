//! The fix-agent's decisions: scoped edits to test code as a reviewable patch.
//!
//! `prepare` gathers what an edit needs (the analysis' fix instructions, the
//! failing specs' sources, page snapshots); `edit` turns instructions into
//! edits — locator heals, snapshot refreshes, timeout adjustments, a missing
//! `await` — and `guard` checks them against the guardrails. Applying them in a
//! worktree, validating by rerunning the affected tests and writing the patch
//! is `ci-medic-exec`'s `fix`.

pub mod change;
pub mod edit;
pub mod guard;
pub mod metadata;
pub mod pr_body;
pub mod prepare;
pub mod source;
pub mod template;
