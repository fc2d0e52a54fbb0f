//! `ci-medic fix`: the fix-agent's stages. `prepare` writes `fix-agent/input.json`,
//! `apply` writes `patch-<run_id>.diff` and `metadata-<run_id>.json`, `pr` opens a
//! draft PR from them when the repository allows it; bare `fix` runs prepare and apply.
//!
//! Best-effort like every agent stage: a failure to fix is an empty patch with
//! its reason (exit 0), unless `--strict`; bad input exits 2.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use ci_medic_core::config::CONFIG_FILE;
use ci_medic_core::config::FixConfig;
use ci_medic_core::diagnose::analysis::{ANALYSIS_SCHEMA, Analysis};
use ci_medic_core::fix::metadata::{FixInput, FixMetadata, INPUT_SCHEMA, Outcome};
use ci_medic_core::fix::prepare::prepare;
use ci_medic_exec::fix::apply::{Setup, apply};
use clap::{Args, Subcommand};

use crate::classify::{RulesArgs, read_bundle};
use crate::collect::write_json_atomic;
use crate::exit::UserError;
use crate::github;

mod open_pr;
pub mod pr;

/// Options of `ci-medic fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(subcommand)]
    pub step: Option<Step>,
    /// The bundle written by `ci-medic collect`.
    #[arg(long, global = true, default_value = "bundle")]
    pub bundle: PathBuf,
    /// The analysis (from `send` or `classify`); without it the bundle is classified here.
    #[arg(long, global = true, default_value = "analysis.json")]
    pub analysis: PathBuf,
    /// The repository's configuration.
    #[arg(long, global = true, default_value = CONFIG_FILE)]
    pub config: PathBuf,
    /// The repository root.
    #[arg(long, global = true, default_value = ".")]
    pub repo: PathBuf,
    /// The output directory.
    #[arg(long, global = true, default_value = "fix-agent")]
    pub out: PathBuf,
    /// Skip the validation rerun (the patch is then flagged needs_manual_review).
    #[arg(long, global = true)]
    pub no_validate: bool,
    /// Exit 1 when there is no validated patch.
    #[arg(long, global = true)]
    pub strict: bool,
    /// The revision the suite last passed at: the app's change from it to HEAD
    /// is read for the renames that broke locators (default: the merge-base
    /// with the default branch).
    #[arg(long, global = true, value_name = "REF")]
    pub base: Option<String>,
    /// The dashboard's history.json: without --base, the last run that passed
    /// at an ancestor of HEAD is the base.
    #[arg(long, global = true, value_name = "FILE")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// The steps.
#[derive(Debug, Subcommand)]
pub enum Step {
    /// Write fix-agent/input.json: instructions, failures, page snapshots, spec sources.
    Prepare,
    /// Edit, guard, validate: write fix-agent/patch-<run_id>.diff and metadata-<run_id>.json.
    Apply,
    /// Open a draft PR with the validated patch (needs [fix] open_pr = true and GITHUB_TOKEN).
    Pr(open_pr::PrArgs),
}

/// Runs `fix`.
pub fn run(args: &FixArgs) -> anyhow::Result<ExitCode> {
    let config = ci_medic_core::config::load(&args.config)
        .map_err(|e| UserError::bad_input(e.to_string()))?
        .fix;
    // A bad history is refused before anything is written.
    let base = base(args)?;
    match &args.step {
        Some(Step::Prepare) => prepare_step(args, &config).map(|_| ExitCode::SUCCESS),
        Some(Step::Apply) => {
            let input = read_input(&args.out.join("input.json"))?;
            apply_step(args, &config, &input, base)
        }
        Some(Step::Pr(pr_args)) => open_pr::run(args, &config, pr_args),
        None => {
            let input = prepare_step(args, &config)?;
            apply_step(args, &config, &input, base)
        }
    }
}

/// The revision the suite last passed at: `--base`, else the history's last
/// passing run that HEAD descends from, else none (the merge-base with the
/// default branch is then taken).
fn base(args: &FixArgs) -> anyhow::Result<Option<String>> {
    Ok(match (&args.base, &args.history) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(h)) => {
            let history = ci_medic_core::report::dashboard::history::read(h)
                .map_err(|e| UserError::bad_input(e.to_string()))?;
            ci_medic_exec::fix::apply::last_green(&args.repo, &history)
        }
        (None, None) => None,
    })
}

fn prepare_step(args: &FixArgs, config: &FixConfig) -> anyhow::Result<FixInput> {
    let bundle = read_bundle(&args.bundle)?;
    let bundle_dir = if args.bundle.is_dir() {
        args.bundle.clone()
    } else {
        args.bundle.parent().map(Path::to_owned).unwrap_or_default()
    };
    let (analysis, mode) = if args.analysis.exists() {
        (read_analysis(&args.analysis)?, "analysis")
    } else {
        // Artifact-only: classify the bundle here.
        let classifier = args.rules.classifier()?;
        (
            ci_medic_core::diagnose::plan::analyze(
                &classifier,
                &bundle,
                ci_medic_core::collect::now_rfc3339(),
            ),
            "artifacts",
        )
    };
    if analysis.run.run_id != bundle.run.run_id {
        return Err(UserError::bad_input(format!(
            "{}: the analysis is of run {}, the bundle of run {}",
            args.analysis.display(),
            analysis.run.run_id,
            bundle.run.run_id
        ))
        .into());
    }
    let input = prepare(
        &bundle,
        &bundle_dir,
        &analysis,
        mode,
        &args.repo,
        &config.playwright.cwd,
        ci_medic_core::collect::now_rfc3339(),
    );
    let path = args.out.join("input.json");
    write_json_atomic(&path, &input)?;
    eprintln!(
        "ci-medic fix prepare: {} instruction(s) for {} failure(s) ({} mode) -> {}",
        input.instructions.len(),
        input.failures.len(),
        mode,
        path.display()
    );
    for w in &input.warnings {
        eprintln!("ci-medic fix prepare: warning: {w}");
    }
    Ok(input)
}

fn apply_step(
    args: &FixArgs,
    config: &FixConfig,
    input: &FixInput,
    base: Option<String>,
) -> anyhow::Result<ExitCode> {
    let classifier = args.rules.classifier()?;
    let mut config = config.clone();
    if args.no_validate {
        config.validate = false;
    }
    let bundle_dir = if args.bundle.is_dir() {
        args.bundle.clone()
    } else {
        args.bundle.parent().map(Path::to_owned).unwrap_or_default()
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let setup = Setup {
        repo: &args.repo,
        bundle_dir: &bundle_dir,
        config: &config,
        out: &args.out,
        classifier: &classifier,
        now: ci_medic_core::collect::now_rfc3339(),
        base,
    };
    let applied = apply(input, &setup);
    let mut metadata = applied.metadata;
    let run_id = metadata.run_id.clone();
    let patch_path = args.out.join(format!("patch-{run_id}.diff"));
    let meta_path = args.out.join(format!("metadata-{run_id}.json"));
    // The patch first: metadata that names a patch always finds it whole.
    ci_medic_core::atomic::write_bytes(&patch_path, applied.patch.as_bytes())
        .with_context(|| format!("writing {}", patch_path.display()))?;
    metadata.patch.path = patch_path.display().to_string();
    metadata.patch.sha256 = sha256_hex(applied.patch.as_bytes());
    write_json_atomic(&meta_path, &metadata)?;
    let md = summary(&metadata);
    eprint!("{md}");
    github::publish(
        &md,
        &[
            ("fix_outcome", outcome_str(metadata.outcome).to_owned()),
            ("fix_patch", patch_path.display().to_string()),
            ("fix_metadata", meta_path.display().to_string()),
            ("fix_branch", metadata.branch.clone()),
        ],
    )?;
    Ok(if args.strict && metadata.outcome != Outcome::Validated {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The outcome's name in outputs.
pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Validated => "validated",
        Outcome::NeedsManualReview => "needs_manual_review",
        Outcome::Partial => "partial",
        Outcome::NoPatch => "no_patch",
    }
}

fn summary(m: &FixMetadata) -> String {
    let mut s = format!(
        "### ci-medic fix: {}\n\n{}\n\n",
        outcome_str(m.outcome),
        m.reason
    );
    for e in &m.edits {
        s.push_str(&format!(
            "- {} {} `{}:{}`: {}\n",
            if e.applied { "✔" } else { "✘" },
            e.kind.as_str(),
            e.file.as_deref().unwrap_or("?"),
            e.line.unwrap_or(0),
            match (&e.old, &e.new, e.applied) {
                (Some(o), Some(n), true) => format!("`{o}` → `{n}`"),
                _ => e.reason.clone(),
            }
        ));
    }
    if !m.patch.files.is_empty() {
        s.push_str(&format!(
            "\npatch: {} ({} file(s), {} line(s)); metadata next to it\n",
            m.patch.path,
            m.patch.files.len(),
            m.patch.changed_lines
        ));
    }
    s
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `analysis.json` strictly: its schema, then every field typed.
fn read_analysis(path: &Path) -> Result<Analysis, UserError> {
    ci_medic_core::document::read(path, ANALYSIS_SCHEMA)
        .map_err(|e| UserError::bad_input(e.to_string()))
}

fn read_input(path: &Path) -> Result<FixInput, UserError> {
    if !path.exists() {
        return Err(UserError::bad_input(format!(
            "{}: not found (run `ci-medic fix prepare` first)",
            path.display()
        )));
    }
    ci_medic_core::document::read(path, INPUT_SCHEMA)
        .map_err(|e| UserError::bad_input(e.to_string()))
}

/// Reads a metadata file (for `fix pr`).
pub fn read_metadata(path: &Path) -> Result<FixMetadata, UserError> {
    let bytes = std::fs::read(path)
        .map_err(|e| UserError::bad_input(format!("{}: {e}", path.display())))?;
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&bytes)).map_err(
        |e| {
            UserError::bad_input(format!(
                "{}: at {}: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        },
    )
}
