//! The static dashboard: one self-contained site per run (overview, one page
//! per failure, a test explorer, self-heal, fix-agent, history) that opens
//! from a downloaded artifact with no network, plus `history.json` for the next run.

use std::path::{Path, PathBuf};

use crate::diagnose::analysis::Analysis;
use crate::fix::metadata::FixMetadata;
use crate::heal::report::HealReport;
use crate::model::Bundle;

pub mod diff;
mod filters;
pub mod history;
mod site;
pub mod template;
mod view;

pub use history::{HISTORY_SCHEMA, HISTORY_SCHEMA_V1, History};
pub use template::Templates;

/// A file in the output directory that says "a ci-medic dashboard lives here":
/// only such a directory (or an empty one) is ever replaced.
pub const MARKER: &str = ".ci-medic-dashboard";

/// Why a dashboard could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The template directory is not a usable template.
    #[error("{origin}: {message}")]
    Template {
        /// The directory.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A template failed to render.
    #[error("template {template}: {message}")]
    Render {
        /// The template.
        template: String,
        /// Where and why.
        message: String,
    },
    /// The output directory holds something that is not a dashboard.
    #[error(
        "{}: expected an empty directory or a previous dashboard (with {MARKER}), found other files; choose another --out",
        .0.display()
    )]
    NotADashboard(PathBuf),
    /// The inputs do not belong together.
    #[error("{0}")]
    Mismatch(String),
}

/// The fix-agent's output for the run.
#[derive(Debug, Clone, Copy)]
pub struct FixDoc<'a> {
    /// `metadata-<run_id>.json`.
    pub metadata: &'a FixMetadata,
    /// The patch, when the patch file was found.
    pub patch: Option<PatchDoc<'a>>,
}

/// The fix-agent's patch file and its files as the patch reader read them.
#[derive(Debug, Clone, Copy)]
pub struct PatchDoc<'a> {
    /// The file's bytes (copied into the site for download).
    pub bytes: &'a [u8],
    /// Its files and lines, or why it could not be read.
    pub files: &'a Result<Vec<diff::DiffFile>, String>,
}

/// Links the site shows; each is optional.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The repository's web page (`https://github.com/owner/repo`), for commit and PR links.
    pub repo_url: Option<String>,
    /// Where this dashboard is published (GitHub Pages).
    pub dashboard_url: Option<String>,
    /// The run's artifacts page.
    pub artifact_url: Option<String>,
}

/// Everything a dashboard is built from.
#[derive(Debug, Clone)]
pub struct SiteInputs<'a> {
    /// The run.
    pub bundle: &'a Bundle,
    /// The bundle's directory, for its screenshots (none: pages say they are missing).
    pub bundle_dir: Option<&'a Path>,
    /// The diagnosis.
    pub analysis: &'a Analysis,
    /// Where the diagnosis came from, in a few words.
    pub analysis_origin: String,
    /// The self-heal report, when self-heal ran.
    pub heal: Option<&'a HealReport>,
    /// The fix-agent's output, when it ran.
    pub fix: Option<FixDoc<'a>>,
    /// The history so far (none: this run starts it).
    pub previous: Option<History>,
    /// Links.
    pub links: Links,
    /// When the site is built (RFC 3339).
    pub generated_at: String,
    /// Problems with the inputs the caller noticed; shown on the overview.
    pub warnings: Vec<String>,
}

/// Build options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs kept in `history.json`.
    pub max_runs: usize,
    /// Failures listed on the overview (the rest are one click away in the explorer).
    pub overview_failures: usize,
    /// Copy trace.zip files into the site (they can be large).
    pub include_traces: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_runs: history::DEFAULT_MAX_RUNS,
            overview_failures: 50,
            include_traces: false,
        }
    }
}

/// What a build wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// HTML pages.
    pub pages: usize,
    /// Files in the site.
    pub files: usize,
    /// Bytes in the site.
    pub bytes: u64,
    /// Failure pages.
    pub failures: usize,
    /// Screenshots copied.
    pub screenshots: usize,
    /// Runs in the written history.
    pub history_runs: usize,
    /// Problems noticed while building (also shown on the overview).
    pub warnings: Vec<String>,
}

/// Builds the site into `out`, replacing a previous dashboard there: the site
/// is assembled in a sibling directory and moved into place whole, so a failed
/// build leaves the previous site (or nothing) and never half a site.
pub fn build(
    inputs: &SiteInputs<'_>,
    templates: &Templates,
    out: &Path,
    options: &Options,
) -> Result<Built, DashboardError> {
    check_same_run(
        inputs.bundle,
        inputs.analysis,
        inputs.heal,
        inputs.fix.map(|f| f.metadata),
    )?;
    site::check_out_dir(out)?;
    let env = templates.environment()?;
    let stage = site::Stage::new(out)?;
    let built = view::render(inputs, templates, &env, stage.path(), options)?;
    stage.commit(out)?;
    Ok(built)
}

/// Refuses documents of different runs: the analysis, the self-heal report and
/// the fix-agent metadata must be of the bundle's run.
///
/// # Errors
/// [`DashboardError::Mismatch`], naming the document and both runs.
pub fn check_same_run(
    bundle: &Bundle,
    analysis: &Analysis,
    heal: Option<&HealReport>,
    fix: Option<&FixMetadata>,
) -> Result<(), DashboardError> {
    let run_id = &bundle.run.run_id;
    let others = [
        ("the analysis", Some(analysis.run.run_id.as_str())),
        ("the self-heal report", heal.map(|h| h.run_id.as_str())),
        ("the fix-agent metadata", fix.map(|f| f.run_id.as_str())),
    ];
    for (what, id) in others {
        if let Some(id) = id.filter(|id| *id != run_id) {
            return Err(DashboardError::Mismatch(format!(
                "{what} is of run {id}, the bundle of run {run_id}"
            )));
        }
    }
    Ok(())
}
