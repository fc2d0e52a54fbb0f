//! `ci-medic send`: post a bundle to the cloud-agent and write the analysis it
//! returns. Best-effort: when the service cannot be reached or keeps failing,
//! the in-process analyzer answers instead (`source: local-fallback`), and the
//! exit code is 0 unless `--strict`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ci_medic_core::Bundle;
use ci_medic_core::diagnose::analysis::{self, Analysis, AnalysisSource};
use ci_medic_core::diagnose::plan;
use ci_medic_core::retry::{
    Backoff, Transport, describe_transport_error, error_message, retryable_status,
};
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};

use crate::classify::{RulesArgs, read_bundle, report, write_analysis};

/// Options of `ci-medic send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Bundle directory (or its bundle.json) written by `ci-medic collect`.
    #[arg(value_name = "BUNDLE", default_value = "bundle")]
    pub bundle: PathBuf,
    /// The cloud-agent's base URL (the bundle goes to `<url>/api/ci/logs`);
    /// unset, the bundle is analyzed locally. The token is read from
    /// CI_MEDIC_AGENT_TOKEN.
    #[arg(long, env = "CI_MEDIC_AGENT_URL")]
    pub url: Option<String>,
    /// Where to write the analysis.
    #[arg(long, short, value_name = "FILE", default_value = "analysis.json")]
    pub output: PathBuf,
    /// What to do when the service fails: analyze locally, or write nothing.
    #[arg(long, value_enum, default_value = "local")]
    pub fallback: Fallback,
    /// Exit 1 when the service did not deliver the analysis.
    #[arg(long)]
    pub strict: bool,
    /// Seconds to wait for a connection.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds for the whole exchange, retries included.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Tries in all (connection errors, timeouts and 5xx are retried).
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// What `send` does when the service fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fallback {
    /// Run the in-process analyzer (`source: local-fallback`).
    Local,
    /// Write no analysis.
    None,
}

/// Runs `send`.
pub fn run(args: &SendArgs) -> anyhow::Result<ExitCode> {
    let file = if args.bundle.is_dir() {
        args.bundle.join("bundle.json")
    } else {
        args.bundle.clone()
    };
    let bundle = match read_bundle(&args.bundle) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ci-medic send: error: {e}");
            return Ok(ExitCode::from(crate::exit::BAD_INPUT));
        }
    };
    let Some(url) = args.url.as_deref().filter(|u| !u.trim().is_empty()) else {
        eprintln!("ci-medic send: no --url or CI_MEDIC_AGENT_URL: analyzing locally");
        return local(args, &bundle, AnalysisSource::Local, None);
    };
    let json = std::fs::read(&file)?;
    let token = std::env::var("CI_MEDIC_AGENT_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    match post(args, url, token.as_deref(), &bundle, &json) {
        Ok(analysis) => {
            write_analysis(&args.output, &analysis)?;
            report(&analysis, &args.output)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("ci-medic send: the service did not deliver an analysis: {why}");
            match args.fallback {
                Fallback::Local => {
                    eprintln!("ci-medic send: falling back to the local analyzer");
                    local(args, &bundle, AnalysisSource::LocalFallback, Some(why))
                }
                Fallback::None => Ok(service_failed(args.strict)),
            }
        }
    }
}

fn service_failed(strict: bool) -> ExitCode {
    if strict {
        ExitCode::from(crate::exit::FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn local(
    args: &SendArgs,
    bundle: &Bundle,
    source: AnalysisSource,
    failure: Option<String>,
) -> anyhow::Result<ExitCode> {
    let classifier = match args.rules.classifier() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ci-medic send: error: {e}");
            return Ok(ExitCode::from(crate::exit::BAD_INPUT));
        }
    };
    let mut analysis = plan::analyze(&classifier, bundle, ci_medic_core::collect::now_rfc3339());
    analysis.source = source;
    write_analysis(&args.output, &analysis)?;
    report(&analysis, &args.output)?;
    Ok(match failure {
        Some(_) => service_failed(args.strict),
        None => ExitCode::SUCCESS,
    })
}

/// POSTs the bundle (gzip) with retries until the deadline; the analysis or why not.
fn post(
    args: &SendArgs,
    url: &str,
    token: Option<&str>,
    bundle: &Bundle,
    json: &[u8],
) -> Result<Analysis, String> {
    let endpoint = format!("{}/api/ci/logs", url.trim_end_matches('/'));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json)
        .map_err(|e| format!("cannot compress the bundle: {e}"))?;
    let body = gz
        .finish()
        .map_err(|e| format!("cannot compress the bundle: {e}"))?;
    // The same bundle sent twice carries the same key; the service keeps one record.
    let digest = Sha256::digest(json);
    let key = format!(
        "{}-{}-{}",
        bundle.run.run_id,
        bundle.run.run_attempt,
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(args.connect_timeout))
        .user_agent(concat!("ci-medic/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let backoff = Backoff {
        attempts: args.attempts.max(1),
        ..Backoff::default()
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut last = String::from("no try was made");
    for attempt in 1..=backoff.attempts {
        if attempt > 1 {
            let wait = backoff.delay(attempt - 1, rand::random::<f64>());
            if Instant::now() + wait >= deadline {
                break;
            }
            std::thread::sleep(wait);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut req = client
            .post(&endpoint)
            .timeout(left)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("idempotency-key", &key)
            .body(body.clone());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        match req.send() {
            Err(e) => {
                last = format!(
                    "try {attempt}: {}",
                    describe_transport_error(Transport::of(e.is_timeout(), e.is_connect()), &e)
                );
                tracing::warn!("{last}");
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().unwrap_or_default();
                if (200..300).contains(&status) {
                    return parse_answer(&text);
                }
                last = format!(
                    "try {attempt}: {endpoint} answered {status}: {}",
                    error_message(text.as_bytes())
                );
                tracing::warn!("{last}");
                if !retryable_status(status) {
                    break;
                }
            }
        }
    }
    Err(last)
}

/// The relay's answer: `{ "status": "received", "upstream": <analysis> }`.
fn parse_answer(text: &str) -> Result<Analysis, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "expected a JSON answer, found {} ({e})",
            ci_medic_core::text::one_line(text, 80)
        )
    })?;
    let Some(upstream) = value.get("upstream") else {
        return Err(
            "expected {\"status\": \"received\", \"upstream\": <analysis>}, found no `upstream`"
                .into(),
        );
    };
    let bytes = serde_json::to_vec(upstream).map_err(|e| e.to_string())?;
    ci_medic_core::document::parse::<Analysis>(&bytes, analysis::ANALYSIS_SCHEMA, "`upstream`")
        .map_err(|e| e.to_string())
}
