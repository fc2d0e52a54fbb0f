//! Stage 4, report: what people read about a run.
//!
//! [`summary`] is collect's job summary, [`diagnosis`] the analysis as Markdown,
//! [`pr_comment`] the sticky pull-request comment, and [`dashboard`] the static
//! site with its history. Reporting only reads the documents the earlier stages
//! wrote; nothing here decides anything about the run.

pub mod dashboard;
pub mod diagnosis;
pub mod pr_comment;
pub mod summary;
