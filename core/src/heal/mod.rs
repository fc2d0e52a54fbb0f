//! Self-heal's decisions: context → decide, and the report's data. Free of
//! processes, browsers and git: executing a decision is `ci-medic-exec`'s `heal`.

pub mod context;
pub mod decide;
pub mod report;
pub mod smoke;

pub use context::{HealContext, HealState};
pub use decide::{Decision, decide};
