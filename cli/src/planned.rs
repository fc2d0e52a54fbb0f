//! Commands that are part of the pipeline but not in this build yet.
//!
//! They are real subcommands so that `--help` shows the whole pipeline, and they
//! fail loudly (status 2) instead of pretending to work.

use std::process::ExitCode;

use crate::EXIT_USAGE;

/// Tells the user that `name` is not available in this build.
pub(crate) fn report(name: &str) -> ExitCode {
    eprintln!(
        "ci-medic {name}: not available in this build of ci-medic {} (planned; see the status table in README.md)",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(EXIT_USAGE)
}
