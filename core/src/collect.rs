//! `collect`: from Playwright's outputs to a redacted, versioned bundle directory.
//!
//! The bundle is built in a temporary sibling directory and renamed into place, so
//! a reader never sees half a bundle, and a failed collect leaves nothing behind.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::CollectError;
use crate::logs::Excerpter;
use crate::merge;
use crate::model::{
    Artifact, ArtifactKind, BUNDLE_SCHEMA, Bundle, Collector, LogExcerpt, RunContext, Source,
    SourceKind, Summary, Test, Warning,
};
use crate::playwright::{console, json, junit, results_dir};
use crate::redact::Redactor;

/// The inputs of a collect run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Playwright's JSON report.
    pub json: Option<PathBuf>,
    /// Playwright's JUnit report.
    pub junit: Option<PathBuf>,
    /// Console output of the list/line reporter.
    pub console_log: Option<PathBuf>,
    /// The `test-results/` directory.
    pub results_dir: Option<PathBuf>,
    /// Backend and app logs.
    pub backend_logs: Vec<PathBuf>,
}

/// Bounds on what goes into a bundle.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Artifacts up to this size are copied into the bundle; larger ones are indexed.
    pub copy_max_bytes: u64,
    /// Most bytes of stdout or stderr kept per attempt (the end is kept).
    pub output_max_bytes: usize,
    /// Most bytes of an error message, stack or snippet.
    pub error_max_bytes: usize,
    /// Most bytes of a page snapshot or other error-context section.
    pub context_max_bytes: usize,
    /// Most bytes read from one backend log (its end is read).
    pub backend_log_read_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            copy_max_bytes: 2 * 1024 * 1024,
            output_max_bytes: 8 * 1024,
            error_max_bytes: 16 * 1024,
            context_max_bytes: 32 * 1024,
            backend_log_read_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Where Playwright's reporters and common configurations put their files,
/// relative to the working directory.
pub const JSON_CANDIDATES: [&str; 6] = [
    "results.json",
    "test-results.json",
    "playwright-report/results.json",
    "test-results/results.json",
    "reports/results.json",
    "playwright-report.json",
];
/// JUnit report locations.
pub const JUNIT_CANDIDATES: [&str; 5] = [
    "junit.xml",
    "results.xml",
    "test-results/junit.xml",
    "playwright-report/junit.xml",
    "reports/junit.xml",
];
/// Console log locations.
pub const LOG_CANDIDATES: [&str; 3] = [
    "logs/playwright.log",
    "playwright.log",
    "test-results/playwright.log",
];

/// Finds the inputs under `root`; `env` gives `PLAYWRIGHT_JSON_OUTPUT_NAME` and
/// `PLAYWRIGHT_JUNIT_OUTPUT_NAME` when the reporters were pointed elsewhere.
pub fn discover(root: &Path, env: impl Fn(&str) -> Option<String>) -> Inputs {
    let first = |env_name: &str, candidates: &[&str]| {
        env(env_name)
            .map(|p| root.join(p))
            .into_iter()
            .chain(candidates.iter().map(|c| root.join(c)))
            .find(|p| p.is_file())
    };
    let console_log = LOG_CANDIDATES
        .iter()
        .map(|c| root.join(c))
        .find(|p| p.is_file());
    let results_dir = Some(root.join("test-results")).filter(|p| p.is_dir());
    let mut backend_logs: Vec<PathBuf> = glob::glob(&root.join("logs/**/*.log").to_string_lossy())
        .map(|paths| paths.flatten().collect())
        .unwrap_or_default();
    let same = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    backend_logs.retain(|p| console_log.as_deref().is_none_or(|c| !same(p, c)));
    backend_logs.sort();
    Inputs {
        json: first("PLAYWRIGHT_JSON_OUTPUT_NAME", &JSON_CANDIDATES),
        junit: first("PLAYWRIGHT_JUNIT_OUTPUT_NAME", &JUNIT_CANDIDATES),
        console_log,
        results_dir,
        backend_logs,
    }
}

/// Expands glob patterns into files; a pattern that matches nothing is a warning.
pub fn expand_globs(
    patterns: &[String],
    warnings: &mut Vec<Warning>,
) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for pattern in patterns {
        let paths = glob::glob(pattern).map_err(|e| {
            CollectError::format(
                PathBuf::from(pattern),
                "a glob pattern such as logs/**/*.log",
                e.to_string(),
            )
        })?;
        let before = files.len();
        files.extend(paths.flatten().filter(|p| p.is_file()));
        if files.len() == before {
            warnings.push(Warning::new(
                "no_match",
                format!("no file matches {pattern}"),
            ));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// A file the bundle will hold or index.
#[derive(Debug, Clone)]
struct Planned {
    source: PathBuf,
    bundle_path: String,
    size: u64,
    kind: ArtifactKind,
    copy: bool,
}

/// The result of a collect run: the bundle written and where.
#[derive(Debug)]
pub struct Collected {
    /// The redacted bundle, as written.
    pub bundle: Bundle,
    /// The bundle directory.
    pub dir: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, CollectError> {
    fs::read(path).map_err(|e| CollectError::io(path, e))
}

/// Collects `inputs` into a bundle directory `out_dir` (replaced if it exists).
pub fn collect(
    inputs: &Inputs,
    limits: &Limits,
    run: RunContext,
    redactor: &Redactor,
    out_dir: &Path,
    mut warnings: Vec<Warning>,
) -> Result<Collected, CollectError> {
    check_out_dir(out_dir)?;
    if inputs.json.is_none() && inputs.junit.is_none() && inputs.console_log.is_none() {
        return Err(CollectError::NothingFound(format!(
            "no JSON report, JUnit report or console log was given or found (looked for {}, {} and {})",
            JSON_CANDIDATES.join(", "),
            JUNIT_CANDIDATES.join(", "),
            LOG_CANDIDATES.join(", ")
        )));
    }
    let mut sources = Vec::new();
    let json_run = match &inputs.json {
        Some(p) => {
            sources.push(source(SourceKind::JsonReport, p));
            Some(json::parse(p, &read(p)?)?)
        }
        None => None,
    };
    let junit_run = match &inputs.junit {
        Some(p) => {
            sources.push(source(SourceKind::Junit, p));
            Some(junit::parse(p, &read(p)?)?)
        }
        None => None,
    };
    let console_run = match &inputs.console_log {
        Some(p) => {
            sources.push(source(SourceKind::ConsoleLog, p));
            Some(console::parse(p, &read(p)?)?)
        }
        None => None,
    };
    let merged = merge::merge(json_run, junit_run, console_run, &mut warnings);
    let mut info = merged.info;
    let mut tests = merged.tests;

    // The results tree: given, else test-results/ (found by discover), else the
    // report's own outputDir when it exists on this machine.
    let results_root = inputs.results_dir.clone().or_else(|| {
        merged
            .output_dirs
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_dir())
    });
    let mut planned = Vec::new();
    if let Some(root) = &results_root {
        sources.push(source(SourceKind::ResultsDir, root));
        let tree = results_dir::scan(root)?;
        link_attachments(
            &mut tests,
            &tree,
            &merged.output_dirs,
            limits,
            &mut warnings,
        );
        for f in &tree.files {
            let copy = f.size <= limits.copy_max_bytes
                && matches!(
                    f.kind,
                    ArtifactKind::Screenshot | ArtifactKind::ErrorContext | ArtifactKind::Text
                );
            planned.push(Planned {
                source: f.path.clone(),
                bundle_path: format!("artifacts/test-results/{}", f.rel),
                size: f.size,
                kind: f.kind,
                copy,
            });
        }
    }

    let excerpter = Excerpter::default();
    let mut log_excerpts: Vec<LogExcerpt> = Vec::new();
    for path in &inputs.backend_logs {
        sources.push(source(SourceKind::BackendLog, path));
        let text = read_tail(path, limits.backend_log_read_bytes, &mut warnings)?;
        log_excerpts.push(excerpter.excerpt(&path.display().to_string(), &text));
    }

    cap_tests(&mut tests, limits, &mut warnings);
    info.sources = sources;
    let mut run_errors = merged.run_errors;
    for e in &mut run_errors {
        cap(&mut e.message, limits.error_max_bytes, &mut 0);
        if let Some(s) = e.stack.as_mut() {
            cap(s, limits.error_max_bytes, &mut 0);
        }
    }
    let summary = Summary::of(&tests, run_errors.len());
    let bundle = Bundle {
        schema: BUNDLE_SCHEMA.to_owned(),
        collector: Collector {
            name: "ci-medic".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at: now_rfc3339(),
        },
        run,
        report: info,
        summary,
        tests,
        run_errors,
        log_excerpts,
        artifacts: Vec::new(),
        redaction: Default::default(),
        warnings,
    };
    write_bundle(bundle, planned, redactor, out_dir)
}

/// Only an empty directory or an earlier bundle may be replaced.
fn check_out_dir(out_dir: &Path) -> Result<(), CollectError> {
    if !out_dir.exists() {
        return Ok(());
    }
    let is_bundle = out_dir.join("bundle.json").is_file();
    let empty = fs::read_dir(out_dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if is_bundle || empty {
        Ok(())
    } else {
        Err(CollectError::format(
            out_dir,
            "an empty directory or an earlier bundle to replace",
            "a non-empty directory without bundle.json (left as it is)",
        ))
    }
}

fn source(kind: SourceKind, path: &Path) -> Source {
    Source {
        kind,
        path: path.display().to_string(),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Reads a log, at most its last `max` bytes (with a warning when cut).
fn read_tail(path: &Path, max: u64, warnings: &mut Vec<Warning>) -> Result<String, CollectError> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = fs::File::open(path).map_err(|e| CollectError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| CollectError::io(path, e))?
        .len();
    if len > max {
        file.seek(SeekFrom::Start(len - max))
            .map_err(|e| CollectError::io(path, e))?;
        warnings.push(Warning::new(
            "truncated",
            format!(
                "{}: only the last {max} of {len} bytes were read",
                path.display()
            ),
        ));
    }
    let mut bytes = Vec::new();
    file.take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| CollectError::io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Points attachments at their files and reads each failed attempt's error context.
fn link_attachments(
    tests: &mut [Test],
    tree: &results_dir::ResultsDir,
    output_dirs: &[String],
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) {
    let mut missing = 0usize;
    let mut first_missing = None;
    for test in tests.iter_mut() {
        for attempt in &mut test.attempts {
            for a in &mut attempt.attachments {
                let Some(path) = a.path.as_deref() else {
                    continue;
                };
                match tree.find(path, output_dirs) {
                    Some(file) => {
                        a.artifact = Some(format!("artifacts/test-results/{}", file.rel));
                        if a.kind == ArtifactKind::ErrorContext
                            && attempt.error_context.is_none()
                            && let Ok(text) = fs::read_to_string(&file.path)
                        {
                            let mut ctx = results_dir::parse_error_context(&file.rel, &text);
                            for section in [
                                &mut ctx.page_snapshot,
                                &mut ctx.error_details,
                                &mut ctx.test_source,
                            ]
                            .into_iter()
                            .flatten()
                            {
                                cap(section, limits.context_max_bytes, &mut 0);
                            }
                            attempt.error_context = Some(ctx);
                        }
                    }
                    None => {
                        missing += 1;
                        first_missing.get_or_insert_with(|| path.to_owned());
                    }
                }
            }
        }
    }
    if let Some(first) = first_missing {
        warnings.push(Warning::new(
            "missing_attachment",
            format!(
                "{missing} attachment(s) named by the report are not in {}; first: {first}",
                tree.root.display()
            ),
        ));
    }
}

/// Cuts `text` to `max` bytes keeping the start, with a marker saying how much went.
fn cap(text: &mut String, max: usize, count: &mut usize) {
    if text.len() <= max {
        return;
    }
    let cut = (0..=max)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let dropped = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!("\n[… {dropped} more bytes truncated by ci-medic]"));
    *count += 1;
}

/// Keeps the end of `text` (the end of output is where failures are printed).
fn cap_tail(text: &mut String, max: usize, count: &mut usize) {
    if text.len() <= max {
        return;
    }
    let start = (text.len() - max..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    let dropped = start;
    *text = format!(
        "[… {dropped} earlier bytes truncated by ci-medic]\n{}",
        &text[start..]
    );
    *count += 1;
}

fn cap_tests(tests: &mut [Test], limits: &Limits, warnings: &mut Vec<Warning>) {
    let mut n = 0;
    for t in tests.iter_mut() {
        for a in &mut t.attempts {
            cap_tail(&mut a.stdout, limits.output_max_bytes, &mut n);
            cap_tail(&mut a.stderr, limits.output_max_bytes, &mut n);
            for e in &mut a.errors {
                cap(&mut e.message, limits.error_max_bytes, &mut n);
                for s in [&mut e.stack, &mut e.snippet].into_iter().flatten() {
                    cap(s, limits.error_max_bytes, &mut n);
                }
                if e.call_log.len() > 200 {
                    let dropped = e.call_log.len() - 200;
                    e.call_log.truncate(200);
                    e.call_log.push(format!(
                        "[… {dropped} more call log lines truncated by ci-medic]"
                    ));
                    n += 1;
                }
            }
        }
    }
    if n > 0 {
        warnings.push(Warning::new(
            "truncated",
            format!("{n} text(s) were cut to the bundle's size limits"),
        ));
    }
}

/// SHA-256 of a file, streamed.
fn sha256_file(path: &Path) -> Result<String, CollectError> {
    let mut file = fs::File::open(path).map_err(|e| CollectError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| CollectError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Hashes every planned file on all cores; copies (and redacts) the small ones.
fn process_artifacts(
    planned: &[Planned],
    redactor: &Redactor,
    tmp: &Path,
) -> Result<Vec<Artifact>, CollectError> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let chunk = planned.len().div_ceil(workers).max(1);
    let results: Vec<Result<Vec<Artifact>, CollectError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = planned
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| {
                            let sha256 = sha256_file(&p.source)?;
                            if p.copy {
                                copy_artifact(p, redactor, tmp)?;
                            }
                            Ok(Artifact {
                                path: p.bundle_path.clone(),
                                source_path: p.source.display().to_string(),
                                size: p.size,
                                sha256,
                                kind: p.kind,
                                copied: p.copy,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CollectError::NothingFound(
                        "a hashing thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut artifacts = Vec::with_capacity(planned.len());
    for r in results {
        artifacts.extend(r?);
    }
    Ok(artifacts)
}

fn copy_artifact(p: &Planned, redactor: &Redactor, tmp: &Path) -> Result<(), CollectError> {
    let dest = tmp.join(&p.bundle_path);
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir).map_err(|e| CollectError::io(dir, e))?;
    }
    if matches!(p.kind, ArtifactKind::ErrorContext | ArtifactKind::Text) {
        let bytes = read(&p.source)?;
        let text = String::from_utf8_lossy(&bytes);
        fs::write(&dest, redactor.redact(&text).as_bytes()).map_err(|e| CollectError::io(&dest, e))
    } else {
        fs::copy(&p.source, &dest)
            .map(|_| ())
            .map_err(|e| CollectError::io(&dest, e))
    }
}

fn write_bundle(
    mut bundle: Bundle,
    planned: Vec<Planned>,
    redactor: &Redactor,
    out_dir: &Path,
) -> Result<Collected, CollectError> {
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| CollectError::io(parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".ci-medic-bundle-")
        .tempdir_in(parent)
        .map_err(|e| CollectError::io(parent, e))?;
    bundle.artifacts = process_artifacts(&planned, redactor, tmp.path())?;

    // Redact every string of the bundle, then record what was masked.
    let mut value = serde_json::to_value(&bundle)
        .map_err(|e| CollectError::io(out_dir, std::io::Error::other(e)))?;
    redactor.redact_json(&mut value);
    let mut bundle: Bundle = serde_json::from_value(value)
        .map_err(|e| CollectError::io(out_dir, std::io::Error::other(e)))?;
    bundle.redaction = redactor.report();

    let json_path = tmp.path().join("bundle.json");
    let file = fs::File::create(&json_path).map_err(|e| CollectError::io(&json_path, e))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, &bundle)
        .map_err(|e| CollectError::io(&json_path, std::io::Error::other(e)))?;
    writer
        .write_all(b"\n")
        .map_err(|e| CollectError::io(&json_path, e))?;
    writer
        .into_inner()
        .map_err(|e| CollectError::io(&json_path, e.into_error()))?
        .sync_all()
        .map_err(|e| CollectError::io(&json_path, e))?;

    // Swap the finished bundle into place.
    let staged = tmp.keep();
    if out_dir.exists() {
        let old = parent.join(format!(
            ".ci-medic-bundle-old-{}",
            out_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let _ = fs::remove_dir_all(&old);
        fs::rename(out_dir, &old).map_err(|e| CollectError::io(out_dir, e))?;
        fs::rename(&staged, out_dir).map_err(|e| CollectError::io(out_dir, e))?;
        let _ = fs::remove_dir_all(&old);
    } else {
        fs::rename(&staged, out_dir).map_err(|e| CollectError::io(out_dir, e))?;
    }
    Ok(Collected {
        bundle,
        dir: out_dir.to_owned(),
    })
}
