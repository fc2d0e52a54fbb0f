//! `ci-medic auth`: the storage-state builtin on its own, to prepare the login
//! state before the E2E job (the login flow of `.ci-medic.toml`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ci_medic_core::diagnose::analysis::HealAction;
use ci_medic_exec::heal::login;
use clap::Args;

/// Options of `ci-medic auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// The repository's configuration (its `[heal.actions.regenerate_storage_state.login]`).
    #[arg(long, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: PathBuf,
    /// The repository root (the storage state path is relative to it).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Seconds for the whole login.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// Runs `auth`.
pub fn run(args: &AuthArgs) -> anyhow::Result<ExitCode> {
    let config = match ci_medic_core::config::load(&args.config) {
        Ok(c) => c.heal,
        Err(e) => {
            eprintln!("ci-medic auth: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(flow) = config
        .actions
        .get(&HealAction::RegenerateStorageState)
        .and_then(|a| a.login.as_ref())
    else {
        eprintln!(
            "ci-medic auth: error: {}: expected a [heal.actions.regenerate_storage_state.login] table, found none",
            args.config.display()
        );
        return Ok(ExitCode::from(2));
    };
    let log = std::env::temp_dir().join(format!("ci-medic-auth-{}.log", std::process::id()));
    match login::login(
        flow,
        &args.repo,
        &login::Browser::default(),
        Duration::from_secs(args.timeout),
        &log,
    ) {
        Ok(done) => {
            eprintln!(
                "ci-medic auth: signed in ({}); wrote {} with {} cookie(s) and {} localStorage entr(ies)",
                done.url,
                args.repo.join(&flow.storage_state).display(),
                done.cookies,
                done.local_storage
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("ci-medic auth: the login failed: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
