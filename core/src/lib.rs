//! ci-medic's core library.
//!
//! Everything that decides something lives here, free of HTTP servers, GitHub and
//! terminals, so that the CLI and the cloud-agent service share one implementation
//! and the whole pipeline can run offline.

pub mod analysis;
pub mod aria;
pub mod atomic;
pub mod bundle;
pub mod classify;
pub mod collect;
pub mod context;
pub mod corpus;
pub mod ctrf;
pub mod dashboard;
pub mod diagnosis;
pub mod document;
pub mod error;
pub mod fix;
pub mod heal;
pub mod locator;
pub mod logs;
pub mod merge;
pub mod model;
pub mod plan;
pub mod playwright;
pub mod pr_comment;
pub mod redact;
pub mod retry;
pub mod summary;
pub mod taxonomy;

pub use error::CollectError;
pub use model::{BUNDLE_SCHEMA, Bundle};
pub use taxonomy::{ErrorType, Remediation};
