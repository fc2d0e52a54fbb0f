//! `ci-medic triage`: collect → classify → plan → dashboard on a local run
//! directory, with no service and no GitHub, and a readable diagnosis at the end.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use ci_medic_core::CollectError;
use ci_medic_core::collect::context;
use ci_medic_core::collect::redact::Redactor;
use ci_medic_core::collect::{self, Limits};
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::plan;
use ci_medic_core::model::Bundle;
use clap::Args;
use serde::Serialize;

use crate::classify::{self, RulesArgs};

/// Options of `ci-medic triage`.
#[derive(Debug, Args)]
pub struct TriageArgs {
    /// The run directory (Playwright's outputs: results.json, junit.xml, logs/, test-results/).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write `bundle/` and `analysis.json`.
    #[arg(long, short, default_value = "ci-medic-triage")]
    pub out: PathBuf,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `triage`.
pub fn run(args: &TriageArgs) -> anyhow::Result<ExitCode> {
    let classifier = match args.rules.classifier() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ci-medic triage: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let bundle = match collect_dir(&args.dir, &args.out.join("bundle")) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ci-medic triage: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let analysis = plan::analyze(&classifier, &bundle, collect::now_rfc3339());
    let path = args.out.join("analysis.json");
    classify::write_analysis(&path, &analysis)?;
    classify::report(&analysis, &path)?;
    let site = args.out.join("dashboard");
    match crate::dashboard::build_local(&bundle, &args.out.join("bundle"), &analysis, &site) {
        Ok(index) => println!("dashboard: {}", index.display()),
        // The diagnosis above stands; the dashboard is a view of it.
        Err(e) => eprintln!("ci-medic triage: warning: no dashboard: {e:#}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Collects a run directory with the default discovery into `out`, redacted
/// with the repository's rules (`.ci-medic.toml` `[redact]`).
pub fn collect_dir(dir: &Path, out: &Path) -> Result<Bundle, CollectError> {
    let inputs = collect::discover(dir, |k| std::env::var(k).ok());
    let mut warnings = Vec::new();
    let run = context::detect(|k| std::env::var(k).ok(), dir, &mut warnings);
    let collected = collect::collect(
        &inputs,
        &Limits::default(),
        run,
        &Redactor::for_repo(
            Path::new("."),
            &ci_medic_core::config::load(Path::new(ci_medic_core::config::CONFIG_FILE))?.redact,
        )?,
        out,
        warnings,
    )?;
    Ok(collected.bundle)
}

/// A recorded scenario run and the verdict on it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRunVerdict {
    /// The scenario.
    pub scenario: String,
    /// Its expected verdict: an error type, or `passed` for a scenario in
    /// which every test passes.
    pub expected: String,
    /// The run verdict (`Classification::verdict`).
    pub verdict: String,
    /// Its confidence; `None` when there was nothing to diagnose.
    pub confidence: Option<f64>,
    /// Whether they agree.
    pub correct: bool,
}

/// Classifies every recorded run under `dir` (those with a `scenario-run.json`).
pub fn evaluate_runs(c: &Classifier, dir: &Path) -> anyhow::Result<Vec<RecordedRunVerdict>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario-run.json").is_file())
        .collect();
    dirs.sort();
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    for run_dir in dirs {
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run_dir.join("scenario-run.json"))
                .with_context(|| format!("cannot read {}", run_dir.display()))?,
        )
        .with_context(|| format!("{}: scenario-run.json is not JSON", run_dir.display()))?;
        let scenario = meta["scenario"].as_str().unwrap_or_default().to_owned();
        // A scenario in which every test passes has no error type.
        let expected = meta["error_type"].as_str().unwrap_or("passed").to_owned();
        let bundle = collect_dir(&run_dir, &tmp.path().join(&scenario))
            .with_context(|| format!("cannot collect {}", run_dir.display()))?;
        let analysis = plan::analyze(c, &bundle, String::new());
        let verdict = analysis.classification.verdict().to_owned();
        out.push(RecordedRunVerdict {
            correct: verdict == expected,
            scenario,
            expected,
            verdict,
            confidence: analysis.classification.confidence,
        });
    }
    Ok(out)
}
