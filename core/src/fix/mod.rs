//! The fix-agent: scoped, validated edits to test code as a reviewable patch.
//!
//! `prepare` gathers what an edit needs (the analysis' fix instructions, the
//! failing specs' sources, page snapshots); `apply` turns instructions into
//! edits — locator heals, snapshot refreshes, timeout adjustments, a missing
//! `await` — checks them against the guardrails, validates them by rerunning
//! the affected tests in a temporary worktree and writes the patch and its
//! metadata.

pub mod apply;
pub mod chain;
pub mod dom;
pub mod edit;
pub mod guard;
pub mod live;
pub mod locator_heal;
pub mod metadata;
pub mod patch;
pub mod pr_body;
pub mod prepare;
pub mod source;
pub mod trace;
pub mod validate;
