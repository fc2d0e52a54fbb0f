//! Stage 2, diagnose: from a bundle to `analysis.json`.
//!
//! [`classify`] gives each failure an error type from the [`taxonomy`] with its
//! evidence, [`plan`] turns the classification into a self-heal plan, fix-agent
//! instructions and triggers, and [`analysis`] is the contract they fill. The
//! page and locator readers it reasons with are [`aria`] and [`locator`];
//! [`corpus`] scores the classifier on labeled failure texts.

pub mod analysis;
pub mod classify;
pub mod corpus;
pub mod knowledge;
pub mod plan;
pub mod taxonomy;
