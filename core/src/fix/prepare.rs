//! `fix prepare`: from the bundle (and the analysis when there is one) to
//! `input.json` — the instructions, the failures they concern with their page
//! snapshots and traces, and the spec sources around each failure.

use std::path::{Path, PathBuf};

use super::metadata::{FailureInput, FixInput, INPUT_SCHEMA, SnapshotImage, SourceExcerpt};
use crate::diagnose::analysis::Analysis;
use crate::model::{ArtifactKind, AttemptStatus, Bundle, Test};

/// Directories never searched for specs.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "target",
    "test-results",
    "playwright-report",
    "bundle",
    "fix-agent",
];

/// Lines of source kept on each side of a failure.
const CONTEXT_LINES: u32 = 15;
/// Bound on an error message kept in the input.
const MESSAGE_MAX: usize = 4096;

/// Builds the fix-agent's input.
///
/// `bundle_dir` resolves artifact paths; `repo` is the checkout; `pw_dir` the
/// Playwright directory (relative to `repo`), where report file names are rooted.
pub fn prepare(
    bundle: &Bundle,
    bundle_dir: &Path,
    analysis: &Analysis,
    mode: &str,
    repo: &Path,
    pw_dir: &Path,
    generated_at: String,
) -> FixInput {
    let mut warnings = Vec::new();
    let mut failures: Vec<FailureInput> = Vec::new();
    let mut sources: Vec<SourceExcerpt> = Vec::new();
    let classes = &analysis.classification.failures;
    for ins in &analysis.fix_agent_instructions {
        if failures.iter().any(|f| f.id == ins.failure) {
            continue;
        }
        let Some(test) = bundle.tests.iter().find(|t| t.id == ins.failure) else {
            warnings.push(format!(
                "{}: the instruction's failure is not a test of the bundle",
                ins.failure
            ));
            continue;
        };
        let error_type = classes
            .iter()
            .find(|c| c.id == ins.failure)
            .map_or(ins.error_type, |c| c.error_type);
        let f = failure_input(test, bundle_dir, repo, pw_dir, error_type, &mut warnings);
        if let (Some(spec), Some(line)) = (&f.spec, f.line)
            && let Ok(text) = std::fs::read_to_string(repo.join(spec))
        {
            let total = text.lines().count() as u32;
            let start = line.saturating_sub(CONTEXT_LINES).max(1);
            let end = (line + CONTEXT_LINES).min(total.max(1));
            let excerpt: Vec<String> = text
                .lines()
                .enumerate()
                .skip(start as usize - 1)
                .take((end + 1 - start) as usize)
                .map(|(i, l)| format!("{:>4} | {l}", i + 1))
                .collect();
            sources.push(SourceExcerpt {
                path: spec.clone(),
                failure: f.id.clone(),
                start_line: start,
                end_line: end,
                text: excerpt.join("\n"),
            });
        }
        failures.push(f);
    }
    FixInput {
        schema: INPUT_SCHEMA.to_owned(),
        generated_at,
        run: bundle.run.clone(),
        mode: mode.to_owned(),
        instructions: analysis.fix_agent_instructions.clone(),
        failures,
        sources,
        warnings,
    }
}

fn failure_input(
    test: &Test,
    bundle_dir: &Path,
    repo: &Path,
    pw_dir: &Path,
    error_type: crate::diagnose::taxonomy::ErrorType,
    warnings: &mut Vec<String>,
) -> FailureInput {
    // The last failed attempt carries the trace (first retry) and the final state.
    let failed: Vec<_> = test
        .attempts
        .iter()
        .filter(|a| !matches!(a.status, AttemptStatus::Passed | AttemptStatus::Skipped))
        .collect();
    let last = failed.last().copied();
    // A test timeout is reported twice: the bare timeout (at the test's line),
    // then the step that was running, with its call log and line.
    let error = last.and_then(|a| {
        a.errors
            .iter()
            .find(|e| !e.call_log.is_empty())
            .or(a.errors.first())
    });
    let mut message = error.map(|e| e.message.clone()).unwrap_or_default();
    if message.len() > MESSAGE_MAX {
        let mut end = MESSAGE_MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let find = |kind: ArtifactKind| -> Option<String> {
        failed.iter().rev().find_map(|a| {
            a.attachments
                .iter()
                .filter(|x| x.kind == kind)
                .find_map(|x| {
                    let in_bundle = x
                        .artifact
                        .as_ref()
                        .map(|p| bundle_dir.join(p))
                        .filter(|p| p.is_file());
                    let original = x.path.as_ref().map(PathBuf::from).filter(|p| p.is_file());
                    in_bundle.or(original).map(|p| p.display().to_string())
                })
        })
    };
    let screenshots = failed
        .iter()
        .flat_map(|a| a.attachments.iter())
        .filter(|x| x.kind == ArtifactKind::Screenshot)
        .filter_map(|x| x.artifact.clone().or_else(|| x.path.clone()))
        .collect();
    // The expected image is the baseline itself, in the repository: named by
    // its path there, the others by where the bundle has them.
    let comparison = failed
        .iter()
        .rev()
        .map(|a| {
            SnapshotImage::of(a.attachments.iter().filter_map(|x| {
                let path = x.artifact.clone().or_else(|| {
                    let p = x.path.as_deref()?;
                    let abs = std::path::Path::new(p);
                    Some(
                        repo.canonicalize()
                            .ok()
                            .and_then(|r| abs.strip_prefix(r).ok().map(|r| r.display().to_string()))
                            .unwrap_or_else(|| p.to_owned()),
                    )
                })?;
                Some((x.name.as_str(), path))
            }))
        })
        .find(|c| !c.is_empty())
        .unwrap_or_default();
    let page_snapshot = failed.iter().rev().find_map(|a| {
        a.error_context
            .as_ref()
            .and_then(|c| c.page_snapshot.clone())
    });
    let spec = match resolve_spec(repo, pw_dir, &test.file) {
        Ok(p) => Some(p),
        Err(w) => {
            warnings.push(format!("{}: {w}", test.id));
            None
        }
    };
    let line = last
        .into_iter()
        .flat_map(|a| a.errors.iter())
        .filter_map(|e| e.location.as_ref())
        .find(|l| same_file(&l.file, &test.file))
        .map(|l| l.line)
        .or(test.line);
    FailureInput {
        id: test.id.clone(),
        title: test.title_path.clone(),
        project: test.project.clone(),
        report_file: test.file.clone(),
        spec,
        test_line: test.line,
        line,
        error_type,
        message,
        call_log: error.map(|e| e.call_log.clone()).unwrap_or_default(),
        page_snapshot,
        trace: find(ArtifactKind::Trace),
        screenshots,
        comparison,
    }
}

fn same_file(location: &str, report_file: &str) -> bool {
    let l = location.replace('\\', "/");
    l == report_file || l.ends_with(&format!("/{report_file}"))
}

/// Why a report's file name names no one spec in the repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The name is absolute or climbs out (`..`).
    #[error("the report's file name {0:?} is not a relative path")]
    NotRelative(String),
    /// No file under the Playwright directory ends with it.
    #[error("no file ending in {name} under {dir}")]
    Missing {
        /// The report's file name.
        name: String,
        /// The Playwright directory.
        dir: String,
    },
    /// Several do.
    #[error("{} files end in {name} ({}); the spec is ambiguous", found.len(), found.join(", "))]
    Ambiguous {
        /// The report's file name.
        name: String,
        /// The files.
        found: Vec<String>,
    },
}

/// The repository path of a report's file name (relative to the test
/// directory): the one file under the Playwright directory whose path ends with it.
pub fn resolve_spec(repo: &Path, pw_dir: &Path, report_file: &str) -> Result<String, SpecError> {
    let want = report_file.replace('\\', "/");
    if want.is_empty() || want.split('/').any(|c| c == "..") {
        return Err(SpecError::NotRelative(report_file.to_owned()));
    }
    let base = repo.join(pw_dir);
    let mut found: Vec<String> = Vec::new();
    let walker = walkdir::WalkDir::new(&base)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !SKIP_DIRS.contains(&e.file_name().to_string_lossy().as_ref()));
    for entry in walker.flatten() {
        // A linked spec is found too; the guardrails decide whether it may be written.
        let ft = entry.file_type();
        if !(ft.is_file() || (ft.is_symlink() && entry.path().is_file())) {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(repo) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if rel == want || rel.ends_with(&format!("/{want}")) {
            found.push(rel);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(SpecError::Missing {
            name: want,
            dir: if pw_dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                pw_dir
            }
            .display()
            .to_string(),
        }),
        _ => Err(SpecError::Ambiguous { name: want, found }),
    }
}
