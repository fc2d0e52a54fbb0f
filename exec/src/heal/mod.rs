//! Self-heal's effects: running the allowed actions and the rerun under the
//! guardrails, the login builtin and the page smoke test.

pub mod execute;
pub mod guard;
pub mod login;
pub mod smoke;
