//! The cloud-agent service: one axum router, served on AWS Lambda (when
//! `AWS_LAMBDA_RUNTIME_API` is set) or locally by `serve`. It is both the relay
//! (`POST /api/ci/logs`, forwarding to `DEVELOPER_AGENT_URL` or analyzing
//! in-process) and the analyzer (`POST /process-logs`); see `routes`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ci_medic_core::diagnose::classify::{Classifier, RuleSet, RulesFile};
use ci_medic_core::retry::Backoff;
use clap::{Args, Parser, Subcommand};

pub mod auth;
pub mod body;
pub mod error;
pub mod relay;
pub mod routes;
pub mod store;

/// ci-medic's classifier service.
#[derive(Debug, Parser)]
#[command(name = "ci-medic-cloud-agent", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What the binary does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the router on a local address (the embedded default).
    Serve(ServeArgs),
}

/// The service's settings. Tokens come only from the environment
/// (`AGENT_TOKEN`, `DEVELOPER_AGENT_TOKEN`), never from arguments a process
/// listing would show.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the address is printed).
    #[arg(long, env = "CI_MEDIC_AGENT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Where records go: a directory, or s3://bucket[/prefix].
    #[arg(long, env = "CI_MEDIC_STORE")]
    pub store: Option<String>,
    /// The largest request body accepted, in bytes, after decompression.
    #[arg(long, env = "CI_MEDIC_MAX_BODY_BYTES", default_value_t = 6 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The analyzer to relay to; unset, the relay analyzes in-process.
    #[arg(long, env = "DEVELOPER_AGENT_URL")]
    pub upstream_url: Option<String>,
    /// Deadline for one relayed request to the analyzer, retries included.
    #[arg(long, env = "CI_MEDIC_UPSTREAM_TIMEOUT_MS", default_value_t = 25_000)]
    pub upstream_timeout_ms: u64,
    /// Tries per relayed request (5xx and timeouts only are retried).
    #[arg(long, env = "CI_MEDIC_UPSTREAM_ATTEMPTS", default_value_t = 3)]
    pub upstream_attempts: u32,
    /// Consecutive analyzer failures that open the circuit breaker.
    #[arg(long, env = "CI_MEDIC_BREAKER_THRESHOLD", default_value_t = 5)]
    pub breaker_threshold: u32,
    /// Seconds an open circuit refuses before letting one request through.
    #[arg(long, env = "CI_MEDIC_BREAKER_COOLDOWN_SECS", default_value_t = 30)]
    pub breaker_cooldown_secs: u64,
    /// A rules file in the format of `.ci-medic/rules.toml`, on top of the built-in rules.
    #[arg(long, env = "CI_MEDIC_RULES")]
    pub rules: Option<PathBuf>,
}

impl ServeArgs {
    /// The shared state for these settings.
    pub fn state(&self, default_store: &str) -> anyhow::Result<routes::AppState> {
        let store = store::Store::open(self.store.as_deref().unwrap_or(default_store))?;
        let user = match &self.rules {
            Some(p) => Some(RulesFile::load(p)?),
            None => None,
        };
        let name = self.rules.as_ref().map(|p| p.display().to_string());
        let classifier = Classifier::new(RuleSet::with_user(name.as_deref().zip(user))?);
        let upstream = match self.upstream_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    anyhow::bail!(
                        "DEVELOPER_AGENT_URL: expected an http:// or https:// URL, found {url:?}"
                    );
                }
                Some(relay::Upstream::new(relay::UpstreamConfig {
                    url: url.to_owned(),
                    token: env_token("DEVELOPER_AGENT_TOKEN"),
                    timeout: Duration::from_millis(self.upstream_timeout_ms),
                    backoff: Backoff {
                        attempts: self.upstream_attempts.max(1),
                        ..Backoff::default()
                    },
                    breaker_threshold: self.breaker_threshold,
                    breaker_cooldown: Duration::from_secs(self.breaker_cooldown_secs),
                })?)
            }
            None => None,
        };
        Ok(routes::AppState {
            agent_token: env_token("AGENT_TOKEN"),
            developer_token: env_token("DEVELOPER_AGENT_TOKEN"),
            upstream,
            store,
            classifier,
            max_body: self.max_body_bytes,
        })
    }
}

fn env_token(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|t| !t.trim().is_empty())
}

/// Runs the service: on Lambda when `AWS_LAMBDA_RUNTIME_API` is set, else the
/// command line.
pub fn main() -> ExitCode {
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let command = if on_lambda {
        None
    } else {
        Some(Cli::parse().command)
    };
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CI_MEDIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ci-medic-cloud-agent: error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        None => runtime.block_on(lambda()),
        Some(Command::Serve(args)) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ci-medic-cloud-agent: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the router on AWS Lambda (function URL or API Gateway events); the
/// settings come from the environment, records default to `/tmp`.
async fn lambda() -> anyhow::Result<()> {
    let args = ServeArgs::try_parse_from(["lambda"]).context("reading the settings")?;
    let state = Arc::new(args.state("/tmp/ci-medic-store")?);
    tracing::info!(store = %state.store.describe, relay = state.upstream.is_some(), "starting on Lambda");
    lambda_http::run(routes::router(state))
        .await
        .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

#[derive(Debug, Parser)]
struct LambdaSettings {
    #[command(flatten)]
    serve: ServeArgs,
}

impl ServeArgs {
    fn try_parse_from<I, T>(args: I) -> Result<ServeArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        LambdaSettings::try_parse_from(args).map(|s| s.serve)
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let state = Arc::new(args.state("ci-medic-store")?);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let local = listener
        .local_addr()
        .context("listener has no local address")?;
    // One line on stdout, so scripts and tests started with port 0 learn the port.
    println!("listening on http://{local}");
    tracing::info!(%local, store = %state.store.describe, relay = state.upstream.is_some(), "listening");
    serve_on(listener, state).await
}

/// Serves the router on a bound listener until SIGTERM or Ctrl-C.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<routes::AppState>,
) -> anyhow::Result<()> {
    axum::serve(listener, routes::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
