//! ci-medic's core library.
//!
//! Everything that decides something lives here, free of HTTP servers, GitHub and
//! terminals, so that the CLI and the cloud-agent service share one implementation
//! and the whole pipeline can run offline.

pub mod taxonomy;

pub use taxonomy::{ErrorType, Remediation};
