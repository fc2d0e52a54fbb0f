//! The cloud-agent service: one axum router, served locally by `serve`.
//!
//! The analysis routes (`POST /api/ci/logs`, `POST /process-logs`,
//! `GET /api/runs/{run_id}`) and the Lambda entry point are planned; this build
//! serves the health check so deployments can be wired and probed.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

pub mod routes;

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
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CI_MEDIC_AGENT_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
}

/// Parses the command line and runs the service.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .json()
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ci-medic-cloud-agent: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { addr } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener
                .local_addr()
                .context("listener has no local address")?;
            tracing::info!(%local, "listening");
            axum::serve(listener, routes::router())
                .with_graceful_shutdown(shutdown_signal())
                .await
                .context("server failed")
        }
    }
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
