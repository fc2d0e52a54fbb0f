//! Playwright's JSON reporter output, every version from 1.28 on.
//!
//! Everything optional is optional here: `stats` arrived in 1.39/1.40 (before it,
//! `config.metadata.totalTime`), `config.projects` became `filteredProjects`,
//! merged reports may have no projects, `error.value` stands for a thrown
//! non-Error, and output chunks are `{text}` or `{buffer}` (base64).

use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;

use super::error_text::{error_from_text, strip_ansi};
use crate::collect::error::CollectError;
use crate::model::{
    Annotation, Attachment, Attempt, AttemptStatus, ErrorInfo, Location, ReportInfo, Shard, Test,
    TestStatus,
};
use crate::text::describe_content;

/// What the JSON report contributes to the model.
#[derive(Debug, Clone, Default)]
pub struct JsonRun {
    /// Run-level facts.
    pub info: ReportInfo,
    /// The tests.
    pub tests: Vec<Test>,
    /// Errors outside tests.
    pub run_errors: Vec<ErrorInfo>,
    /// Every project's `outputDir`, to re-root attachment paths.
    pub output_dirs: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Report {
    config: Option<Config>,
    suites: Option<Vec<Suite>>,
    #[serde(default)]
    errors: Vec<RawError>,
    stats: Option<Stats>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    version: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    shard: Option<Shard>,
    workers: Option<u32>,
    #[serde(default)]
    projects: Vec<Project>,
    #[serde(default)]
    filtered_projects: Vec<Project>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Project {
    #[serde(default)]
    name: String,
    output_dir: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    start_time: Option<String>,
    duration: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Suite {
    #[serde(default)]
    title: String,
    #[serde(default)]
    specs: Vec<Spec>,
    #[serde(default)]
    suites: Vec<Suite>,
}

#[derive(Debug, Deserialize)]
struct Spec {
    #[serde(default)]
    title: String,
    #[serde(default)]
    file: String,
    line: Option<u32>,
    column: Option<u32>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    tests: Vec<RawTest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTest {
    project_name: Option<String>,
    project_id: Option<String>,
    status: Option<String>,
    expected_status: Option<String>,
    #[serde(default)]
    annotations: Vec<RawAnnotation>,
    #[serde(default)]
    results: Vec<RawResult>,
}

#[derive(Debug, Deserialize)]
struct RawAnnotation {
    #[serde(rename = "type", default)]
    kind: String,
    description: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResult {
    #[serde(default)]
    retry: u32,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    duration: f64,
    start_time: Option<String>,
    worker_index: Option<i64>,
    error: Option<RawError>,
    #[serde(default)]
    errors: Vec<RawError>,
    #[serde(default)]
    stdout: Vec<Chunk>,
    #[serde(default)]
    stderr: Vec<Chunk>,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
    error_location: Option<RawLocation>,
}

#[derive(Debug, Default, Deserialize)]
struct RawError {
    message: Option<String>,
    stack: Option<String>,
    snippet: Option<String>,
    value: Option<String>,
    location: Option<RawLocation>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawLocation {
    #[serde(default)]
    file: String,
    #[serde(default)]
    line: u32,
    #[serde(default)]
    column: u32,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Chunk {
    Text { text: String },
    Buffer { buffer: String },
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAttachment {
    #[serde(default)]
    name: String,
    #[serde(default)]
    content_type: String,
    path: Option<String>,
    body: Option<String>,
}

/// The most of an inline attachment body kept in the model.
pub const MAX_INLINE_BODY: usize = 64 * 1024;

/// Parses a JSON report read from `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JsonRun, CollectError> {
    const EXPECTED: &str = "a Playwright JSON report (an object with `config` and `suites`)";
    let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if trimmed.is_none_or(|i| bytes[i] != b'{') {
        return Err(CollectError::format(
            path,
            EXPECTED,
            describe_content(bytes),
        ));
    }
    let report: Report = serde_json::from_slice(bytes).map_err(|e| {
        let found = if e.is_eof() {
            format!(
                "JSON that ends early (line {}, column {})",
                e.line(),
                e.column()
            )
        } else {
            format!("invalid JSON: {e}")
        };
        CollectError::format(path, EXPECTED, found)
    })?;
    let (Some(config), Some(suites)) = (report.config, report.suites) else {
        return Err(CollectError::format(
            path,
            EXPECTED,
            "a JSON object without Playwright's `config` and `suites` (a report from another tool?)",
        ));
    };

    let projects: Vec<&Project> = if config.projects.is_empty() {
        config.filtered_projects.iter().collect()
    } else {
        config.projects.iter().collect()
    };
    let mut info = ReportInfo {
        playwright_version: config.version.clone(),
        shard: config.shard,
        workers: config
            .metadata
            .get("actualWorkers")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .or(config.workers),
        projects: Vec::new(),
        ..ReportInfo::default()
    };
    for p in &projects {
        if !info.projects.contains(&p.name) {
            info.projects.push(p.name.clone());
        }
    }
    match report.stats {
        Some(stats) => {
            info.started_at = stats.start_time;
            info.duration_ms = stats.duration;
        }
        None => {
            info.duration_ms = config
                .metadata
                .get("totalTime")
                .and_then(serde_json::Value::as_f64)
        }
    }
    let mut output_dirs: Vec<String> = projects
        .iter()
        .filter_map(|p| p.output_dir.clone())
        .collect();
    output_dirs.dedup();

    let mut tests = Vec::new();
    for suite in &suites {
        // Top-level suites stand for files; their titles are not part of the title path.
        walk(suite, &mut Vec::new(), &mut tests);
    }
    let run_errors = report.errors.iter().map(convert_error).collect();
    Ok(JsonRun {
        info,
        tests,
        run_errors,
        output_dirs,
    })
}

fn walk(suite: &Suite, describes: &mut Vec<String>, out: &mut Vec<Test>) {
    for spec in &suite.specs {
        for raw in &spec.tests {
            out.push(convert_test(spec, raw, describes));
        }
    }
    for child in &suite.suites {
        describes.push(child.title.clone());
        walk(child, describes, out);
        describes.pop();
    }
}

fn convert_test(spec: &Spec, raw: &RawTest, describes: &[String]) -> Test {
    let project = raw
        .project_name
        .clone()
        .or_else(|| raw.project_id.clone())
        .unwrap_or_default();
    let mut title_path: Vec<String> = describes
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    title_path.push(spec.title.clone());
    let attempts: Vec<Attempt> = raw.results.iter().map(convert_result).collect();
    let status = match raw.status.as_deref() {
        Some("expected") => TestStatus::Expected,
        Some("unexpected") => TestStatus::Unexpected,
        Some("flaky") => TestStatus::Flaky,
        Some("skipped") => TestStatus::Skipped,
        _ => infer_status(&attempts),
    };
    Test {
        id: super::test_id(&project, &spec.file, &title_path),
        title_path,
        file: spec.file.clone(),
        line: spec.line,
        column: spec.column,
        project,
        status,
        expected_status: raw.expected_status.clone(),
        tags: spec.tags.clone(),
        annotations: raw
            .annotations
            .iter()
            .map(|a| Annotation {
                kind: a.kind.clone(),
                description: a.description.as_ref().map(|d| match d {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
            })
            .collect(),
        duration_ms: attempts.iter().map(|a| a.duration_ms).sum(),
        attempts,
    }
}

/// A status from the attempts, for reports that do not state one.
fn infer_status(attempts: &[Attempt]) -> TestStatus {
    let passed = attempts.iter().any(|a| a.status == AttemptStatus::Passed);
    let failed = attempts.iter().any(|a| {
        matches!(
            a.status,
            AttemptStatus::Failed | AttemptStatus::TimedOut | AttemptStatus::Interrupted
        )
    });
    match (passed, failed) {
        (true, true) => TestStatus::Flaky,
        (true, false) => TestStatus::Expected,
        (false, true) => TestStatus::Unexpected,
        (false, false) => TestStatus::Skipped,
    }
}

/// Maps Playwright's attempt status names.
pub fn attempt_status(name: Option<&str>) -> AttemptStatus {
    match name {
        Some("passed") => AttemptStatus::Passed,
        Some("timedOut") => AttemptStatus::TimedOut,
        Some("skipped") => AttemptStatus::Skipped,
        Some("interrupted") => AttemptStatus::Interrupted,
        _ => AttemptStatus::Failed,
    }
}

fn convert_result(r: &RawResult) -> Attempt {
    let mut errors: Vec<ErrorInfo> = r.errors.iter().map(convert_error).collect();
    if let Some(first) = &r.error {
        let first = convert_error(first);
        match errors.first_mut() {
            // `errors[0]` repeats `error` with fewer fields in older versions.
            Some(e) => {
                e.stack = e.stack.take().or(first.stack);
                e.snippet = e.snippet.take().or(first.snippet);
                e.value = e.value.take().or(first.value);
                if e.location.is_none() {
                    e.location = first.location;
                }
            }
            None => errors.push(first),
        }
    }
    if let (Some(e), Some(loc)) = (errors.first_mut(), &r.error_location)
        && e.location.is_none()
    {
        e.location = Some(location(loc));
    }
    Attempt {
        retry: r.retry,
        status: attempt_status(r.status.as_deref()),
        duration_ms: r.duration,
        started_at: r.start_time.clone(),
        worker_index: r.worker_index,
        errors,
        stdout: chunks(&r.stdout),
        stderr: chunks(&r.stderr),
        attachments: r.attachments.iter().map(convert_attachment).collect(),
        error_context: None,
    }
}

fn location(l: &RawLocation) -> Location {
    Location {
        file: l.file.clone(),
        line: l.line,
        column: l.column,
    }
}

fn convert_error(e: &RawError) -> ErrorInfo {
    let message = e
        .message
        .as_deref()
        .or(e.value.as_deref())
        .unwrap_or_default();
    let mut info = error_from_text(message, e.stack.as_deref(), e.snippet.as_deref());
    info.value = e.value.as_deref().map(strip_ansi);
    info.location = e.location.as_ref().map(location).or_else(|| {
        info.stack
            .as_deref()
            .and_then(super::error_text::location_from_stack)
    });
    info
}

fn chunks(chunks: &[Chunk]) -> String {
    let mut out = String::new();
    for chunk in chunks {
        match chunk {
            Chunk::Text { text } => out.push_str(text),
            Chunk::Buffer { buffer } => {
                match base64::engine::general_purpose::STANDARD.decode(buffer) {
                    Ok(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
                    Err(_) => out.push_str("[undecodable output buffer]"),
                }
            }
            Chunk::Other(_) => {}
        }
    }
    strip_ansi(&out)
}

fn convert_attachment(a: &RawAttachment) -> Attachment {
    let body = a.body.as_deref().and_then(|b| {
        let textual = a.content_type.starts_with("text/") || a.content_type.contains("json");
        if !textual {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if text.len() > MAX_INLINE_BODY {
            let cut = (0..=MAX_INLINE_BODY)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.truncate(cut);
            text.push_str("\n[… truncated by ci-medic]");
        }
        Some(text)
    });
    Attachment {
        kind: super::attachment_kind(&a.name, &a.content_type, a.path.as_deref()),
        name: a.name.clone(),
        content_type: a.content_type.clone(),
        path: a.path.clone(),
        body,
        artifact: None,
    }
}
