//! The run's documents as the reporting stages (`dashboard`, `comment`,
//! `annotate`) read them: the bundle, its analysis (or a classification made on
//! the spot), and whatever self-heal and the fix-agent left.
//!
//! A path given by flag must be there and valid; a default path is used when it
//! exists. Every problem is a message for exit status 2.

use crate::exit::UserError;
use std::path::{Path, PathBuf};

use ci_medic_core::diagnose::analysis::{ANALYSIS_SCHEMA, Analysis, AnalysisSource};
use ci_medic_core::fix::metadata::{FixMetadata, METADATA_SCHEMA};
use ci_medic_core::heal::report::{HealReport, REPORT_SCHEMA};
use ci_medic_core::model::Bundle;
use clap::Args;

use crate::classify::{RulesArgs, read_bundle};

/// Where the run's documents are.
#[derive(Debug, Args)]
pub struct RunDocsArgs {
    /// The bundle written by `ci-medic collect`.
    #[arg(long, default_value = "bundle")]
    pub bundle: PathBuf,
    /// The analysis [default: analysis.json when it exists; else the bundle is classified here].
    #[arg(long)]
    pub analysis: Option<PathBuf>,
    /// The self-heal report [default: self-heal/report-<run_id>.json when it exists].
    #[arg(long)]
    pub heal_report: Option<PathBuf>,
    /// The fix-agent metadata [default: fix-agent/metadata-<run_id>.json when it exists]; its patch is read from the same directory.
    #[arg(long)]
    pub fix_metadata: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// The documents, read.
#[derive(Debug)]
pub struct RunDocs {
    /// The bundle.
    pub bundle: Bundle,
    /// The bundle's directory (for its artifacts).
    pub bundle_dir: Option<PathBuf>,
    /// The analysis.
    pub analysis: Analysis,
    /// Where the analysis came from, in a sentence.
    pub analysis_origin: String,
    /// The self-heal report.
    pub heal: Option<HealReport>,
    /// The fix-agent metadata, and its patch when it was found.
    pub fix: Option<(FixMetadata, Option<Vec<u8>>)>,
    /// What was odd but not fatal.
    pub warnings: Vec<String>,
}

/// `path` if given (it must exist), else `default` if it exists.
fn chosen(given: Option<&PathBuf>, default: PathBuf) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.clone()),
        None => default.is_file().then_some(default),
    }
}

/// Reads the documents; `command` names the caller in notes on stderr.
pub fn load(args: &RunDocsArgs, command: &str) -> Result<RunDocs, UserError> {
    let bundle = read_bundle(&args.bundle)?;
    let bundle_dir = if args.bundle.is_dir() {
        Some(args.bundle.clone())
    } else {
        args.bundle.parent().map(Path::to_owned)
    };
    let run_id = bundle.run.run_id.clone();
    let mut warnings = Vec::new();

    let (analysis, analysis_origin) = match chosen(
        args.analysis.as_ref(),
        PathBuf::from("analysis.json"),
    ) {
        Some(path) => {
            let a: Analysis = ci_medic_core::document::read(&path, ANALYSIS_SCHEMA)
                .map_err(|e| UserError::bad_input(e.to_string()))?;
            let by = match a.source {
                AnalysisSource::Service => "the cloud-agent service",
                AnalysisSource::Local => "the local analyzer",
                AnalysisSource::LocalFallback => "the local analyzer (the service was unreachable)",
            };
            let origin = format!("Diagnosis from {}, by {by}", path.display());
            (a, origin)
        }
        None => {
            let classifier = args.rules.classifier()?;
            eprintln!(
                "ci-medic {command}: no analysis given and no analysis.json here: classifying the bundle"
            );
            (
                ci_medic_core::diagnose::plan::analyze(
                    &classifier,
                    &bundle,
                    ci_medic_core::collect::now_rfc3339(),
                ),
                format!("Diagnosis made by `ci-medic {command}` (no analysis.json was given)"),
            )
        }
    };
    let heal = match chosen(
        args.heal_report.as_ref(),
        PathBuf::from("self-heal").join(format!("report-{run_id}.json")),
    ) {
        Some(path) => Some(
            ci_medic_core::document::read::<HealReport>(&path, REPORT_SCHEMA)
                .map_err(|e| UserError::bad_input(e.to_string()))?,
        ),
        None => None,
    };

    let fix = match chosen(
        args.fix_metadata.as_ref(),
        PathBuf::from("fix-agent").join(format!("metadata-{run_id}.json")),
    ) {
        Some(path) => {
            let metadata: FixMetadata = ci_medic_core::document::read(&path, METADATA_SCHEMA)
                .map_err(|e| UserError::bad_input(e.to_string()))?;
            let patch = read_patch(&path, &metadata, &mut warnings);
            Some((metadata, patch))
        }
        None => None,
    };
    ci_medic_core::report::dashboard::check_same_run(
        &bundle,
        &analysis,
        heal.as_ref(),
        fix.as_ref().map(|(m, _)| m),
    )
    .map_err(|e| UserError::bad_input(e.to_string()))?;
    Ok(RunDocs {
        bundle,
        bundle_dir,
        analysis,
        analysis_origin,
        heal,
        fix,
        warnings,
    })
}

/// The patch named by the metadata, looked for next to the metadata file; its
/// checksum must match (a patch that changed since is shown with a warning).
fn read_patch(
    metadata_path: &Path,
    metadata: &FixMetadata,
    warnings: &mut Vec<String>,
) -> Option<Vec<u8>> {
    if metadata.patch.path.is_empty() {
        return None;
    }
    let name = Path::new(&metadata.patch.path).file_name()?;
    let dir = metadata_path.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join(name), PathBuf::from(&metadata.patch.path)];
    let path = candidates.iter().find(|p| p.is_file())?;
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    use sha2::Digest as _;
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if !metadata.patch.sha256.is_empty() && sha != metadata.patch.sha256 {
        warnings.push(format!(
            "{}: its SHA-256 is {sha}, the metadata says {}; the patch changed after the fix-agent wrote it",
            path.display(),
            metadata.patch.sha256
        ));
    }
    Some(bytes)
}
