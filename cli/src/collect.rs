//! `ci-medic collect`: Playwright's outputs → `bundle/bundle.json` + artifacts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use ci_medic_core::CollectError;
use ci_medic_core::collect::redact::Redactor;
use ci_medic_core::collect::{self, Limits, Sources};
use ci_medic_core::collect::{context, ctrf};
use ci_medic_core::model::{Bundle, Warning};
use ci_medic_core::report::summary;
use clap::Args;

use crate::github;

/// Options of `ci-medic collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Directory to discover reports in (Playwright's default places).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Playwright JSON report (default: results.json, playwright-report/results.json, …).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Playwright JUnit report (default: junit.xml, results.xml, …).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Console output of the list/line reporter (default: logs/playwright.log).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Playwright's output directory (default: test-results/, or the report's outputDir).
    #[arg(long, value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Backend or app log glob, repeatable (default: logs/**/*.log except the console log).
    #[arg(long, value_name = "GLOB")]
    pub backend_log: Vec<String>,
    /// Bundle directory to write (replaced if it holds an earlier bundle).
    /// The repository's configuration (its `[redact]` table).
    #[arg(long, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: PathBuf,
    #[arg(long, short, default_value = "bundle")]
    pub out: PathBuf,
    /// Also write the results as CTRF JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub ctrf: Option<PathBuf>,
    /// Artifacts up to this many bytes are copied into the bundle; larger ones are indexed.
    #[arg(long, default_value_t = Limits::default().copy_max_bytes)]
    pub copy_max_bytes: u64,
    /// Also hash the artifacts that are only indexed, not copied (traces, videos):
    /// by default only copied artifacts get a SHA-256 (the CI artifact store keeps
    /// its own digest of what it uploads).
    #[arg(long, conflicts_with = "hash_max_bytes")]
    pub hash_all: bool,
    /// Hash indexed-only artifacts up to this many bytes (copied ones are always hashed).
    #[arg(long, value_name = "BYTES")]
    pub hash_max_bytes: Option<u64>,
}

/// Runs `collect`.
pub fn run(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let mut warnings = Vec::new();
    let inputs = match resolve_inputs(args, &mut warnings) {
        Ok(inputs) => inputs,
        Err(err) => return Ok(bad_input(&err)),
    };
    let run = context::detect(|k| std::env::var(k).ok(), &args.dir, &mut warnings);
    let config = match ci_medic_core::config::load(&args.config) {
        Ok(c) => c,
        Err(err) => return Ok(bad_input(&err.into())),
    };
    let redactor = match Redactor::for_repo(Path::new("."), &config.redact) {
        Ok(r) => r,
        Err(err) => return Ok(bad_input(&err.into())),
    };
    let limits = Limits {
        copy_max_bytes: args.copy_max_bytes,
        hash_max_bytes: if args.hash_all {
            u64::MAX
        } else {
            args.hash_max_bytes.unwrap_or(0)
        },
        ..Limits::default()
    };
    let collected = match collect::collect(&inputs, &limits, run, &redactor, &args.out, warnings) {
        Ok(c) => c,
        Err(err) => return Ok(bad_input(&err)),
    };
    let bundle = &collected.bundle;
    let bundle_path = collected.dir.join("bundle.json");
    if let Some(path) = &args.ctrf {
        write_ctrf(path, bundle)?;
    }
    report(bundle, &collected.dir, &bundle_path)?;
    Ok(ExitCode::SUCCESS)
}

fn bad_input(err: &CollectError) -> ExitCode {
    eprintln!("ci-medic collect: error: {err}");
    ExitCode::from(crate::exit::BAD_INPUT)
}

fn resolve_inputs(
    args: &CollectArgs,
    warnings: &mut Vec<Warning>,
) -> Result<Sources, CollectError> {
    let found = collect::discover(&args.dir, |k| std::env::var(k).ok());
    let explicit = |given: &Option<PathBuf>,
                    found: Option<PathBuf>|
     -> Result<Option<PathBuf>, CollectError> {
        match given {
            Some(p) if !p.exists() => Err(CollectError::format(
                p,
                "an existing path",
                "No such file or directory",
            )),
            Some(p) => Ok(Some(p.clone())),
            None => Ok(found),
        }
    };
    let backend_logs = if args.backend_log.is_empty() {
        found.backend_logs
    } else {
        collect::expand_globs(&args.backend_log, warnings)?
    };
    Ok(Sources {
        json: explicit(&args.report, found.json)?,
        junit: explicit(&args.junit, found.junit)?,
        console_log: explicit(&args.log, found.console_log)?,
        results_dir: explicit(&args.results_dir, found.results_dir)?,
        backend_logs,
    })
}

fn write_ctrf(path: &Path, bundle: &Bundle) -> anyhow::Result<()> {
    write_json_atomic(path, &ctrf::from_bundle(bundle))
}

/// Writes `doc` as pretty JSON through a temp file and a rename: a reader never
/// sees a partial file.
pub fn write_json_atomic(path: &Path, doc: &impl serde::Serialize) -> anyhow::Result<()> {
    ci_medic_core::atomic::write_json(path, doc)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Summary, outputs and annotations: to GitHub when in Actions, to the terminal otherwise.
fn report(bundle: &Bundle, dir: &Path, bundle_path: &Path) -> anyhow::Result<()> {
    let shown = bundle_path.display().to_string();
    let markdown = summary::markdown(bundle, &shown, github::STEP_SUMMARY_LIMIT);
    let s = &bundle.summary;
    if github::in_actions() {
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
            github::append_summary(Path::new(&path), &markdown)?;
        }
        if let Some(path) = std::env::var_os("GITHUB_OUTPUT") {
            github::write_outputs(
                Path::new(&path),
                &[
                    ("failed", s.failed.to_string()),
                    ("flaky", s.flaky.to_string()),
                    ("passed", s.passed.to_string()),
                    ("bundle", dir.display().to_string()),
                ],
            )?;
        }
        for line in github::annotation_commands(
            &github::failure_annotations(bundle, std::env::var("GITHUB_WORKSPACE").ok().as_deref())
                .into_iter()
                .map(|(_, a)| a)
                .collect::<Vec<_>>(),
        ) {
            println!("{line}");
        }
    } else {
        println!("{markdown}");
    }
    Ok(())
}
