//! Self-heal: context → decide → execute. This module holds the configuration
//! and the decision, both free of processes and I/O beyond reading the config;
//! executing the decision lives with the CLI.

pub mod browser;
pub mod context;
pub mod decide;
pub mod execute;
pub mod guard;
pub mod login;
pub mod process;
pub mod smoke;

pub use context::{HealContext, HealState};
pub use decide::{Decision, decide};
