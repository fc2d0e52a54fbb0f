//! ci-medic's executors: the stages' effects on the world, kept out of
//! `ci-medic-core` so that what only decides (the cloud-agent) links no browser,
//! runtime or git.
//!
//! - [`process`]: commands in their own process group, to a deadline;
//! - [`browser`]: headless Chromium over WebDriver (chromedriver);
//! - [`heal`]: executing a self-heal decision, the login builtin, the smoke test;
//! - [`fix`]: applying the fix-agent's edits in a git worktree, validating them
//!   by rerunning the tests, reading the live page, and git patches.

pub mod browser;
pub mod fix;
pub mod heal;
pub mod process;
