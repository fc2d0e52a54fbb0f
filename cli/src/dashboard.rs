//! `ci-medic dashboard`: `build` writes the static site (and `history.json`)
//! from the run's bundle and whatever later stages left; `template` writes the
//! built-in template for customising.
//!
//! Inputs given by flag must be there and valid (exit 2 otherwise); the
//! default paths are used when they exist, and the build says which it used.

use crate::exit::UserError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use ci_medic_core::diagnose::analysis::Analysis;
use ci_medic_core::model::Bundle;
use ci_medic_core::report::dashboard::{self, FixDoc, History, Links, PatchDoc, Templates};
use clap::{Args, Subcommand};

use crate::github;
use crate::inputs::{self, RunDocsArgs};

/// Failures listed on the overview page unless configured.
const DEFAULT_OVERVIEW_FAILURES: usize = 50;

/// The largest history document read (the default cap keeps it far smaller).
const MAX_HISTORY_BYTES: u64 = 64 * 1024 * 1024;

/// Options of `ci-medic dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    #[command(subcommand)]
    pub step: Step,
}

/// The steps.
#[derive(Debug, Subcommand)]
pub enum Step {
    /// Build the static site: overview, failures, tests, self-heal, fix-agent, history.
    Build(Box<BuildArgs>),
    /// Write the built-in template (minijinja + CSS + JS) to a directory to customise it.
    Template(TemplateArgs),
}

/// Options of `ci-medic dashboard build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The output directory (replaced if it holds an earlier dashboard; refused if it holds anything else).
    #[arg(long, default_value = "dashboard")]
    pub out: PathBuf,
    #[command(flatten)]
    pub docs: RunDocsArgs,
    /// The previous history.json: a file, or an https:// URL (the published dashboard's). Missing (no file, HTTP 404) starts a new history.
    #[arg(long)]
    pub history: Option<String>,
    /// Runs kept in history.json [default: `[dashboard] history_max_runs`, else 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub history_max_runs: Option<u32>,
    /// A template directory (see `ci-medic dashboard template`) [default: the built-in template].
    #[arg(long)]
    pub template_dir: Option<PathBuf>,
    /// Copy trace.zip files into the site (they can be large).
    #[arg(long)]
    pub include_traces: bool,
    /// Failures listed on the overview page; all of them are in the test explorer [default: `[dashboard] overview_failures`, else 50].
    #[arg(long)]
    pub overview_failures: Option<usize>,
    /// Where the site will be published (GitHub Pages), for links.
    #[arg(long, env = "CI_MEDIC_DASHBOARD_URL")]
    pub dashboard_url: Option<String>,
    /// The repository's configuration (its `[dashboard]` table gives the defaults of these flags).
    #[arg(long, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: PathBuf,
}

/// Options of `ci-medic dashboard template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// The directory to write (must be empty or missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `dashboard`.
pub fn run(args: &DashboardArgs) -> anyhow::Result<ExitCode> {
    match &args.step {
        Step::Build(b) => build(b),
        Step::Template(t) => template(t),
    }
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("ci-medic dashboard: error: {message}");
    ExitCode::from(crate::exit::BAD_INPUT)
}

fn template(args: &TemplateArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists()
        && std::fs::read_dir(&args.out)
            .with_context(|| format!("cannot read {}", args.out.display()))?
            .next()
            .is_some()
    {
        return Ok(bad_input(&format!(
            "{}: expected an empty or missing directory, found files (the template is never written over other files)",
            args.out.display()
        )));
    }
    let written = Templates::embedded().write_to(&args.out)?;
    println!(
        "wrote the dashboard template to {} ({} files); build with --template-dir {}",
        args.out.display(),
        written.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let config = match ci_medic_core::config::load(&args.config) {
        Ok(c) => c.dashboard,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    let dashboard_url = args.dashboard_url.clone().or(config.url.clone());
    let templates = match &args.template_dir {
        Some(dir) => match Templates::from_dir(dir) {
            Ok(t) => t,
            Err(e) => return Ok(bad_input(&e.to_string())),
        },
        None => Templates::embedded(),
    };
    let mut loaded = match inputs::load(&args.docs, "dashboard") {
        Ok(l) => l,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    let previous = match &args.history {
        Some(source) => match read_history(source, &mut loaded.warnings) {
            Ok(h) => h,
            Err(e) => return Ok(bad_input(&e.to_string())),
        },
        None => None,
    };
    let patch_files = loaded
        .fix
        .as_ref()
        .and_then(|(_, p)| p.as_deref())
        .map(ci_medic_exec::fix::patch::read);
    let inputs = dashboard::SiteInputs {
        bundle: &loaded.bundle,
        bundle_dir: loaded.bundle_dir.as_deref(),
        analysis: &loaded.analysis,
        analysis_origin: loaded.analysis_origin.clone(),
        heal: loaded.heal.as_ref(),
        fix: loaded.fix.as_ref().map(|(m, p)| FixDoc {
            metadata: m,
            patch: p
                .as_deref()
                .zip(patch_files.as_ref())
                .map(|(bytes, files)| PatchDoc { bytes, files }),
        }),
        previous,
        links: links(&loaded.bundle, dashboard_url.clone()),
        generated_at: ci_medic_core::collect::now_rfc3339(),
        warnings: loaded.warnings.clone(),
    };
    let options = dashboard::Options {
        max_runs: args
            .history_max_runs
            .or(config.history_max_runs)
            .map_or(dashboard::history::DEFAULT_MAX_RUNS, |n| n as usize),
        overview_failures: args
            .overview_failures
            .or(config.overview_failures)
            .unwrap_or(DEFAULT_OVERVIEW_FAILURES),
        include_traces: args.include_traces || config.include_traces.unwrap_or(false),
    };
    let built = match dashboard::build(&inputs, &templates, &args.out, &options) {
        Ok(b) => b,
        Err(
            e @ (dashboard::DashboardError::NotADashboard(_)
            | dashboard::DashboardError::Mismatch(_)
            | dashboard::DashboardError::Template { .. }
            | dashboard::DashboardError::Render { .. }),
        ) => return Ok(bad_input(&e.to_string())),
        Err(e) => return Err(e).context("cannot build the dashboard"),
    };
    for w in &built.warnings {
        eprintln!("ci-medic dashboard: warning: {w}");
    }
    let index = args.out.join("index.html");
    println!(
        "dashboard: {} ({} pages, {} files, {:.1} MB; {} failure page(s), {} screenshot(s); history of {} run(s) in {})",
        index.display(),
        built.pages,
        built.files,
        built.bytes as f64 / (1024.0 * 1024.0),
        built.failures,
        built.screenshots,
        built.history_runs,
        args.out.join("history.json").display()
    );
    let summary = format!(
        "### ci-medic dashboard\n\nBuilt `{}`: {} failure page(s), history of {} run(s){}.\n",
        index.display(),
        built.failures,
        built.history_runs,
        dashboard_url
            .as_deref()
            .map(|u| format!(", to be published at {u}"))
            .unwrap_or_default()
    );
    github::publish(
        &summary,
        &[
            ("dashboard_dir", args.out.display().to_string()),
            ("dashboard_index", index.display().to_string()),
            (
                "history",
                args.out.join("history.json").display().to_string(),
            ),
        ],
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the previous history from a file or URL. Missing means "first run"
/// (a warning); anything else that is wrong stops the build, because writing a
/// new history over an unreadable one would lose it.
fn read_history(source: &str, warnings: &mut Vec<String>) -> Result<Option<History>, UserError> {
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        match fetch(source)? {
            Some(b) => b,
            None => {
                warnings.push(format!(
                    "{source}: no history there yet (HTTP 404): this run starts it"
                ));
                return Ok(None);
            }
        }
    } else {
        let path = Path::new(source);
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warnings.push(format!("{source}: no history file yet: this run starts it"));
                return Ok(None);
            }
            Err(e) => return Err(UserError::bad_input(format!("{source}: {e}"))),
            Ok(m) if m.len() > MAX_HISTORY_BYTES => {
                return Err(UserError::bad_input(format!(
                    "{source}: expected a history of at most {MAX_HISTORY_BYTES} bytes, found {} bytes",
                    m.len()
                )));
            }
            Ok(_) => {
                std::fs::read(path).map_err(|e| UserError::bad_input(format!("{source}: {e}")))?
            }
        }
    };
    dashboard::history::parse(&bytes, source)
        .map(Some)
        .map_err(|e| UserError::bad_input(format!("{e} (drop --history to start a new history)")))
}

/// GETs a history URL: https anywhere, plain http only on this machine.
fn fetch(url: &str) -> Result<Option<Vec<u8>>, UserError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| UserError::bad_input(format!("{url}: not a URL: {e}")))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if parsed.scheme() != "https" && !loopback {
        return Err(UserError::bad_input(format!(
            "{url}: expected an https:// URL (plain http only on this machine), found {}://",
            parsed.scheme()
        )));
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("ci-medic/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| UserError::bad_input(e.to_string()))?;
    let response = client
        .get(parsed)
        .send()
        .map_err(|e| UserError::bad_input(format!("{url}: cannot fetch the history: {e}")))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(UserError::bad_input(format!(
            "{url}: expected the history (HTTP 200), found HTTP {status}"
        )));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_HISTORY_BYTES)
    {
        return Err(UserError::bad_input(format!(
            "{url}: expected a history of at most {MAX_HISTORY_BYTES} bytes, found a larger one"
        )));
    }
    let mut bytes = Vec::new();
    use std::io::Read as _;
    response
        .take(MAX_HISTORY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| UserError::bad_input(format!("{url}: cannot read the history: {e}")))?;
    if bytes.len() as u64 > MAX_HISTORY_BYTES {
        return Err(UserError::bad_input(format!(
            "{url}: expected a history of at most {MAX_HISTORY_BYTES} bytes, found a larger one"
        )));
    }
    Ok(Some(bytes))
}

/// Commit, PR, artifact and dashboard links from the run context and the
/// Actions environment (`GITHUB_SERVER_URL`, for Enterprise servers too).
fn links(bundle: &Bundle, dashboard_url: Option<String>) -> Links {
    let run = &bundle.run;
    let repo_url = run
        .run_url
        .as_deref()
        .and_then(|u| u.find("/actions/runs/").map(|i| u[..i].to_owned()))
        .or_else(|| {
            let repo = run.repo.as_deref()?;
            (run.provider == "github").then(|| {
                let server = std::env::var("GITHUB_SERVER_URL")
                    .unwrap_or_else(|_| "https://github.com".to_owned());
                format!("{}/{repo}", server.trim_end_matches('/'))
            })
        });
    Links {
        repo_url,
        dashboard_url,
        artifact_url: run.run_url.as_deref().map(|u| format!("{u}#artifacts")),
    }
}

/// Builds the dashboard of a local run (for `triage`), carrying the history of
/// earlier builds in the same place; returns the index page.
pub fn build_local(
    bundle: &Bundle,
    bundle_dir: &Path,
    analysis: &Analysis,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let previous_path = out.join("history.json");
    let previous = if previous_path.is_file() {
        Some(
            dashboard::history::read(&previous_path)
                .with_context(|| "the previous dashboard's history (remove it to start anew)")?,
        )
    } else {
        None
    };
    let inputs = dashboard::SiteInputs {
        bundle,
        bundle_dir: Some(bundle_dir),
        analysis,
        analysis_origin: "Diagnosis by the local analyzer (ci-medic triage)".to_owned(),
        heal: None,
        fix: None,
        previous,
        links: links(bundle, None),
        generated_at: ci_medic_core::collect::now_rfc3339(),
        warnings: Vec::new(),
    };
    dashboard::build(
        &inputs,
        &Templates::embedded(),
        out,
        &dashboard::Options::default(),
    )?;
    Ok(out.join("index.html"))
}
