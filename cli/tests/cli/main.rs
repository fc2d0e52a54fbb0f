//! The `ci-medic` binary end to end: one test binary (it links the whole tree
//! once), one module per command or concern, the helpers in `common` and the
//! end-to-end suite workspace in `suite`.

mod common;
mod suite;

mod action_install;
mod annotate;
mod binary;
mod classify;
mod collect;
mod comment;
mod config;
mod dashboard;
mod dashboard_browser;
mod fix;
mod fix_e2e;
mod fix_pr;
mod heal;
mod heal_e2e;
mod redaction;
mod rehearsal;
mod send;
