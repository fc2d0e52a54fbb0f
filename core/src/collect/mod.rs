//! Stage 1, collect: from Playwright's outputs to a redacted, versioned bundle
//! directory.
//!
//! [`playwright`] reads each of Playwright's outputs, [`merge`] reconciles them,
//! [`logs`] excerpts backend logs, [`context`] reads the CI run's identity,
//! [`redact`] masks secrets in every text, and [`ctrf`] writes the results in the
//! common test report format. The bundle is built in a temporary sibling
//! directory and renamed into place, so a reader never sees half a bundle, and a
//! failed collect leaves nothing behind.

pub mod context;
pub mod ctrf;
pub mod error;
pub mod logs;
pub mod merge;
pub mod playwright;
pub mod redact;

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::collect::error::CollectError;
use crate::collect::logs::Excerpter;

use crate::collect::playwright::{console, json, junit, results_dir};
use crate::collect::redact::Redactor;
use crate::model::{
    Artifact, ArtifactKind, BUNDLE_SCHEMA, Bundle, Collector, LogExcerpt, RunContext, Source,
    SourceKind, Summary, Test, Warning,
};

/// The inputs of a collect run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
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
    /// Artifacts that are only indexed (not copied) and larger than this get no
    /// SHA-256. Default 0: reading every byte of gigabytes of traces and videos
    /// was most of collect's time, and the CI artifact store keeps its own digest
    /// of what it uploads. Copied artifacts are always hashed.
    pub hash_max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            copy_max_bytes: 2 * 1024 * 1024,
            output_max_bytes: 8 * 1024,
            error_max_bytes: 16 * 1024,
            context_max_bytes: 32 * 1024,
            backend_log_read_bytes: 32 * 1024 * 1024,
            hash_max_bytes: 0,
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
pub fn discover(root: &Path, env: impl Fn(&str) -> Option<String>) -> Sources {
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
    Sources {
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
    hash: bool,
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

/// Collects `inputs` into a bundle directory `out_dir` (replaced if it holds an
/// earlier bundle).
///
/// Hashing and copying the results tree (the slow part: every byte is read) runs on
/// all cores while the reports are parsed and merged.
pub fn collect(
    inputs: &Sources,
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
    let staging = Staging::new(out_dir)?;
    let early_tree = match &inputs.results_dir {
        Some(root) => Some(results_dir::scan(root)?),
        None => None,
    };
    let (mut bundle, artifacts) = std::thread::scope(|scope| {
        let early = early_tree.as_ref().map(|tree| {
            let planned = plan(tree, limits);
            let dir = staging.path();
            scope.spawn(move || process_artifacts(&planned, redactor, dir))
        });
        let built = build(inputs, limits, run, early_tree.as_ref(), &mut warnings);
        let artifacts = match early {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(CollectError::NothingFound(
                    "the artifact worker panicked".into(),
                ))
            }),
            None => match &built {
                Ok((_, Some(late_tree))) => {
                    process_artifacts(&plan(late_tree, limits), redactor, staging.path())
                }
                _ => Ok(Vec::new()),
            },
        };
        built.map(|(bundle, _)| (bundle, artifacts))
    })?;
    bundle.artifacts = artifacts?;
    let baselines = plan_baselines(&mut bundle.tests, limits);
    bundle
        .artifacts
        .extend(process_artifacts(&baselines, redactor, staging.path())?);
    bundle.warnings = warnings;
    staging.finish(bundle, redactor, out_dir)
}

/// A failed screenshot comparison's `-expected.png` attachment is the baseline
/// in the checkout, outside the results tree: it is copied too (once, however
/// many attempts name it), so the bundle holds the old image beside the actual
/// and the diff. Only a PNG inside the current directory (the checkout) under
/// the copy limit is taken: an attachment path is the report's word, not a
/// licence to read anywhere.
fn plan_baselines(tests: &mut [Test], limits: &Limits) -> Vec<Planned> {
    let Ok(here) = std::env::current_dir().and_then(|d| d.canonicalize()) else {
        return Vec::new();
    };
    let mut planned: Vec<Planned> = Vec::new();
    for a in tests
        .iter_mut()
        .flat_map(|t| t.attempts.iter_mut())
        .flat_map(|a| a.attachments.iter_mut())
    {
        if a.artifact.is_some() || !a.name.ends_with("-expected.png") {
            continue;
        }
        let Some(source) = a
            .path
            .as_deref()
            .and_then(|p| Path::new(p).canonicalize().ok())
        else {
            continue;
        };
        let Ok(rel) = source.strip_prefix(&here) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&source) else {
            continue;
        };
        if !meta.is_file() || meta.len() > limits.copy_max_bytes || !is_png(&source) {
            continue;
        }
        let bundle_path = format!(
            "artifacts/baseline__{}",
            rel.display().to_string().replace('/', "__")
        );
        if !planned.iter().any(|p| p.bundle_path == bundle_path) {
            planned.push(Planned {
                source: source.clone(),
                bundle_path: bundle_path.clone(),
                size: meta.len(),
                kind: ArtifactKind::Screenshot,
                copy: true,
                hash: true,
            });
        }
        a.artifact = Some(bundle_path);
    }
    planned
}

fn is_png(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == *b"\x89PNG\r\n\x1a\n")
}

/// Parses and merges the reports, links the results tree and reads the logs. The
/// tree found late (the report's own outputDir) is returned for hashing.
fn build(
    inputs: &Sources,
    limits: &Limits,
    run: RunContext,
    early_tree: Option<&results_dir::ResultsDir>,
    warnings: &mut Vec<Warning>,
) -> Result<(Bundle, Option<results_dir::ResultsDir>), CollectError> {
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
    let merged = merge::merge(json_run, junit_run, console_run, warnings);
    let mut info = merged.info;
    let mut tests = merged.tests;

    // The results tree: given or discovered (test-results/), else the report's own
    // outputDir when it exists on this machine.
    let late_tree = match early_tree {
        Some(_) => None,
        None => match merged
            .output_dirs
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_dir())
        {
            Some(root) => Some(results_dir::scan(&root)?),
            None => None,
        },
    };
    if let Some(tree) = early_tree.or(late_tree.as_ref()) {
        sources.push(source(SourceKind::ResultsDir, &tree.root));
        link_attachments(&mut tests, tree, &merged.output_dirs, limits, warnings);
    }

    let excerpter = Excerpter::default();
    let mut log_excerpts: Vec<LogExcerpt> = Vec::new();
    for path in &inputs.backend_logs {
        sources.push(source(SourceKind::BackendLog, path));
        let text = read_tail(path, limits.backend_log_read_bytes, warnings)?;
        log_excerpts.push(excerpter.excerpt(&path.display().to_string(), &text));
    }

    cap_tests(&mut tests, limits, warnings);
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
        warnings: Vec::new(),
    };
    Ok((bundle, late_tree))
}

/// Where a results-tree file goes in the bundle: one flat folder,
/// `artifacts/<attempt-folder>__<file>`. Copies are hard links where possible, and
/// a flat folder makes them cost no new inodes at all.
pub fn bundle_path(rel: &str) -> String {
    format!("artifacts/{}", rel.replace('/', "__"))
}

/// Which files of the tree are copied (small evidence) and which only indexed.
/// Error contexts are parsed into the bundle itself, so they are indexed only.
fn plan(tree: &results_dir::ResultsDir, limits: &Limits) -> Vec<Planned> {
    tree.files
        .iter()
        .map(|f| {
            let copy = f.size <= limits.copy_max_bytes
                && matches!(f.kind, ArtifactKind::Screenshot | ArtifactKind::Text);
            Planned {
                source: f.path.clone(),
                bundle_path: bundle_path(&f.rel),
                size: f.size,
                kind: f.kind,
                copy,
                hash: copy || f.size <= limits.hash_max_bytes,
            }
        })
        .collect()
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

/// The current time, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
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

/// Points attachments at their files, reads each failed attempt's error
/// context, and gives a failed attempt whose report printed no call log the one
/// its trace recorded (a bare `Test timeout of …ms exceeded.` hides what the
/// step was waiting for; the trace's log of the step says it).
fn link_attachments(
    tests: &mut [Test],
    tree: &results_dir::ResultsDir,
    output_dirs: &[String],
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) {
    let mut missing = 0usize;
    let mut first_missing = None;
    let mut trace_logs = 0usize;
    for test in tests.iter_mut() {
        for attempt in &mut test.attempts {
            let wants_log =
                !attempt.errors.is_empty() && attempt.errors.iter().all(|e| e.call_log.is_empty());
            for a in &mut attempt.attachments {
                let Some(path) = a.path.as_deref() else {
                    continue;
                };
                match tree.find(path, output_dirs) {
                    Some(file) => {
                        a.artifact = Some(bundle_path(&file.rel));
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
                        if a.kind == ArtifactKind::Trace
                            && wants_log
                            && attempt.errors.iter().all(|e| e.call_log.is_empty())
                            && let Ok(Some(log)) = crate::page::trace::failed_call_log(&file.path)
                            && let Some(first) = attempt.errors.first_mut()
                        {
                            first.call_log = log;
                            trace_logs += 1;
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
    if trace_logs > 0 {
        warnings.push(Warning::new(
            "trace_call_logs",
            format!("{trace_logs} call log(s) were read from the failed step in the trace"),
        ));
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

/// SHA-256 of a file, streamed through `buf`. Holes of sparse files are hashed
/// as the zeros they read as, without reading them.
fn sha256_file(path: &Path, buf: &mut [u8]) -> Result<String, CollectError> {
    let mut file = fs::File::open(path).map_err(|e| CollectError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| CollectError::io(path, e))?
        .len();
    let mut hasher = Sha256::new();
    let mut pos = 0u64;
    for (start, end) in data_regions(&file, len) {
        hash_zeros(&mut hasher, start - pos);
        read_range(&mut file, path, start, end, buf, &mut hasher)?;
        pos = end;
    }
    hash_zeros(&mut hasher, len - pos);
    Ok(hex(&hasher.finalize()))
}

fn read_range(
    file: &mut fs::File,
    path: &Path,
    start: u64,
    end: u64,
    buf: &mut [u8],
    hasher: &mut Sha256,
) -> Result<(), CollectError> {
    use std::io::{Seek as _, SeekFrom};
    file.seek(SeekFrom::Start(start))
        .map_err(|e| CollectError::io(path, e))?;
    let mut left = end - start;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file
            .read(&mut buf[..want])
            .map_err(|e| CollectError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

fn hash_zeros(hasher: &mut Sha256, mut n: u64) {
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    while n > 0 {
        let take = ZEROS.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        hasher.update(&ZEROS[..take]);
        n -= take as u64;
    }
}

/// The byte ranges of `file` that hold data (`SEEK_DATA`/`SEEK_HOLE`); the whole
/// file where the filesystem cannot tell.
#[cfg(unix)]
fn data_regions(file: &fs::File, len: u64) -> Vec<(u64, u64)> {
    use nix::unistd::{Whence, lseek};
    let mut regions = Vec::new();
    let mut pos: i64 = 0;
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    while pos < len_i {
        let start = match lseek(file, pos, Whence::SeekData) {
            Ok(s) => s,
            Err(nix::errno::Errno::ENXIO) => break,
            Err(_) => return vec![(0, len)],
        };
        let end = match lseek(file, start, Whence::SeekHole) {
            Ok(e) => e.min(len_i),
            Err(_) => return vec![(0, len)],
        };
        if end <= start {
            return vec![(0, len)];
        }
        regions.push((start as u64, end as u64));
        pos = end;
    }
    regions
}

#[cfg(not(unix))]
fn data_regions(_file: &fs::File, len: u64) -> Vec<(u64, u64)> {
    vec![(0, len)]
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
    dir: &Path,
) -> Result<Vec<Artifact>, CollectError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, Artifact)>, CollectError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; 1 << 20];
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = planned.get(i) else { break };
                        let sha256 = if p.hash {
                            Some(sha256_file(&p.source, &mut buf)?)
                        } else {
                            None
                        };
                        if p.copy {
                            copy_artifact(p, redactor, dir)?;
                        }
                        done.push((
                            i,
                            Artifact {
                                path: p.bundle_path.clone(),
                                source_path: p.source.display().to_string(),
                                size: p.size,
                                sha256,
                                kind: p.kind,
                                copied: p.copy,
                            },
                        ));
                    }
                    Ok(done)
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
    artifacts.sort_by_key(|(i, _)| *i);
    Ok(artifacts.into_iter().map(|(_, a)| a).collect())
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
        // Results are immutable once the run is over: a hard link is a copy that
        // costs no data blocks and no inode; across filesystems it is a real copy.
        fs::hard_link(&p.source, &dest)
            .or_else(|_| fs::copy(&p.source, &dest).map(|_| ()))
            .map_err(|e| CollectError::io(&dest, e))
    }
}

/// The temporary directory a bundle is built in, next to its final place.
#[derive(Debug)]
struct Staging {
    tmp: tempfile::TempDir,
    parent: PathBuf,
}

impl Staging {
    fn new(out_dir: &Path) -> Result<Staging, CollectError> {
        let parent = out_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        fs::create_dir_all(&parent).map_err(|e| CollectError::io(&parent, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".ci-medic-bundle-")
            .tempdir_in(&parent)
            .map_err(|e| CollectError::io(&parent, e))?;
        Ok(Staging { tmp, parent })
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Redacts the bundle, writes `bundle.json` and swaps the directory into place.
    fn finish(
        self,
        bundle: Bundle,
        redactor: &Redactor,
        out_dir: &Path,
    ) -> Result<Collected, CollectError> {
        // Redact every string of the bundle, then record what was masked.
        let mut value = serde_json::to_value(&bundle)
            .map_err(|e| CollectError::io(out_dir, std::io::Error::other(e)))?;
        redactor.redact_json(&mut value);
        let mut bundle: Bundle = serde_json::from_value(value)
            .map_err(|e| CollectError::io(out_dir, std::io::Error::other(e)))?;
        bundle.redaction = redactor.report();

        let json_path = self.tmp.path().join("bundle.json");
        let file = fs::File::create(&json_path).map_err(|e| CollectError::io(&json_path, e))?;
        let mut writer = std::io::BufWriter::new(file);
        serde_json::to_writer(&mut writer, &bundle)
            .map_err(|e| CollectError::io(&json_path, std::io::Error::other(e)))?;
        writer
            .write_all(b"\n")
            .map_err(|e| CollectError::io(&json_path, e))?;
        // No fsync: the rename below is what makes the bundle visible, atomically;
        // surviving a power cut is not worth flushing the whole journal for.
        writer
            .flush()
            .map_err(|e| CollectError::io(&json_path, e))?;
        drop(writer);

        let staged = self.tmp.keep();
        if out_dir.exists() {
            let old = self.parent.join(format!(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_files_hash_like_their_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A sparse file with data in the middle: zeros, "abc", zeros.
        let path = dir.path().join("sparse.bin");
        let file = fs::File::create(&path).expect("create");
        file.set_len(3 << 20).expect("set_len");
        {
            use std::io::{Seek as _, SeekFrom};
            let mut f = &file;
            f.seek(SeekFrom::Start(1 << 20)).expect("seek");
            f.write_all(b"abc").expect("write");
        }
        drop(file);
        let mut expected = vec![0u8; 3 << 20];
        expected[1 << 20..(1 << 20) + 3].copy_from_slice(b"abc");
        let want = hex(&Sha256::digest(&expected));
        let mut buf = vec![0u8; 4096];
        assert_eq!(sha256_file(&path, &mut buf).expect("hash"), want);
        let dense = dir.path().join("dense.bin");
        fs::write(&dense, b"abc").expect("write");
        assert_eq!(
            sha256_file(&dense, &mut buf).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn caps_say_what_they_cut() {
        let mut n = 0;
        let mut text = "é".repeat(100);
        cap(&mut text, 51, &mut n);
        assert!(
            text.starts_with(&"é".repeat(25)) && text.contains("more bytes truncated by ci-medic")
        );
        let mut out = format!("{}END", "x".repeat(100));
        cap_tail(&mut out, 10, &mut n);
        assert!(
            out.ends_with("END") && out.starts_with("[… 93 earlier bytes truncated"),
            "{out}"
        );
        assert_eq!(n, 2);
    }
}
