//! ci-medic's core library.
//!
//! Everything that decides something lives here, free of HTTP servers, GitHub and
//! terminals, so that the CLI and the cloud-agent service share one implementation
//! and the whole pipeline can run offline.

pub mod error;
pub mod model;
pub mod playwright;
pub mod taxonomy;

pub use error::CollectError;
pub use model::{BUNDLE_SCHEMA, Bundle};
pub use taxonomy::{ErrorType, Remediation};
