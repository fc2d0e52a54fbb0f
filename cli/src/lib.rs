//! The `ci-medic` command line: one module per subcommand, thin over `ci-medic-core`.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub mod annotate;
pub mod auth;
pub mod classify;
pub mod collect;
pub mod comment;
pub mod dashboard;
pub mod eval_corpus;
pub mod exit;
pub mod fix;
pub mod github;
pub mod heal;
pub mod inputs;
pub mod send;
pub mod smoke;
pub mod triage;

/// ci-medic turns a failed Playwright run into evidence, a diagnosis, a safe
/// remediation and a reviewable patch, without flipping the job's own pass/fail signal.
#[derive(Debug, Parser)]
#[command(name = "ci-medic", version, propagate_version = true)]
#[command(after_help = "Docs: README.md in the ci-medic repository.")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How `tracing` output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// The pipeline's stages, in the order a workflow runs them.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect Playwright reports, logs and artifacts into a redacted bundle.
    Collect(Box<collect::CollectArgs>),
    /// Classify a bundle's failures and plan remediations: writes analysis.json.
    Classify(Box<classify::ClassifyArgs>),
    /// Collect, classify and plan a local run directory, with no service: a readable diagnosis.
    Triage(Box<triage::TriageArgs>),
    /// Score the classifier on the labeled dev corpus (and recorded scenario runs).
    EvalCorpus(Box<eval_corpus::EvalArgs>),
    /// Send a bundle to the cloud-agent and write analysis.json (falls back to the local analyzer).
    Send(Box<send::SendArgs>),
    /// Self-heal: context, decide and execute safe non-code remediations, then rerun the failing tests.
    Heal(Box<heal::HealArgs>),
    /// Log in over WebDriver with the login flow of .ci-medic.toml and write Playwright's storage state.
    Auth(Box<auth::AuthArgs>),
    /// Visit pages in headless Chromium; fail on non-2xx, console errors, a missing title or element.
    Smoke(Box<smoke::SmokeArgs>),
    /// Fix-agent: prepare and apply guarded, validated locator and test edits as a PR-ready patch.
    Fix(Box<fix::FixArgs>),
    /// Build the static dashboard (overview, failures, tests, self-heal, fix-agent, history).
    Dashboard(Box<dashboard::DashboardArgs>),
    /// Keep one sticky PR comment up to date with the verdict, failures, self-heal and fix status and the dashboard link.
    Comment(Box<comment::CommentArgs>),
    /// Publish a check run on the PR head with one annotation per failed test.
    Annotate(Box<annotate::AnnotateArgs>),
}

/// Parses the command line, runs the command and maps its outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match run(&cli) {
        Ok(code) => code,
        Err(err) => match err.downcast_ref::<exit::UserError>() {
            Some(user) => {
                eprintln!("ci-medic {}: error: {user}", cli.command.name());
                ExitCode::from(user.code)
            }
            None => {
                eprintln!("ci-medic: error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Collect(_) => "collect",
            Command::Classify(_) => "classify",
            Command::Triage(_) => "triage",
            Command::EvalCorpus(_) => "eval-corpus",
            Command::Send(_) => "send",
            Command::Heal(_) => "heal",
            Command::Auth(_) => "auth",
            Command::Smoke(_) => "smoke",
            Command::Fix(_) => "fix",
            Command::Dashboard(_) => "dashboard",
            Command::Comment(_) => "comment",
            Command::Annotate(_) => "annotate",
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Collect(args) => collect::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Triage(args) => triage::run(args),
        Command::EvalCorpus(args) => eval_corpus::run(args),
        Command::Send(args) => send::run(args),
        Command::Heal(args) => heal::run(args),
        Command::Auth(args) => auth::run(args),
        Command::Smoke(args) => smoke::run(args),
        Command::Fix(args) => fix::run(args),
        Command::Dashboard(args) => dashboard::run(args),
        Command::Comment(args) => comment::run(args),
        Command::Annotate(args) => annotate::run(args),
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CI_MEDIC_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
