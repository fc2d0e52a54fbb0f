//! ci-medic's core library, laid out by pipeline stage:
//!
//! 1. [`collect`]: Playwright's outputs → a redacted bundle;
//! 2. [`diagnose`]: bundle → classification, self-heal plan, fix instructions;
//! 3. [`heal`] (safe non-code remediation) and [`fix`] (validated test edits);
//! 4. [`report`]: job summary, diagnosis, PR comment, dashboard.
//!
//! Shared by every stage: the bundle [`model`] and its [`bundle`] reader, the
//! one [`page`] model (ARIA snapshot, trace DOM, live page), the one
//! [`locator`] model with its element-matching engine, the [`config`],
//! versioned [`document`]s, [`atomic`] writes, [`retry`] and [`text`] helpers. A stage uses the shared modules and earlier stages, never a
//! later one.

pub mod atomic;
pub mod bundle;
pub mod collect;
pub mod config;
pub mod diagnose;
pub mod document;
pub mod fix;
pub mod heal;
pub mod locator;
pub mod model;
pub mod page;
pub mod report;
pub mod retry;
pub mod text;

pub use collect::error::CollectError;
pub use diagnose::taxonomy::{ErrorType, Remediation};
pub use model::{BUNDLE_SCHEMA, Bundle};
