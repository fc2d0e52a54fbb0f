//! What each page shows, computed once in Rust and handed to the templates as
//! plain data, so a customised template only decides the markup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::history::{self, FailingSince, Flakiness, History, RunRecord};
use super::site::{safe_relative, write};
use super::template::render_error;
use super::{Built, DashboardError, Options, SiteInputs, Templates};
use crate::diagnose::analysis::{FailureClassification, FailureKind};
use crate::fix::metadata::Edit;
use crate::heal::report::TestReport;
use crate::model::RunOutcome;
use crate::model::{ArtifactKind, Attempt, Bundle, Test, TestStatus};

/// Runs shown in the overview's small chart.
const OVERVIEW_RUNS: usize = 30;
/// Flaky tests listed on the history page.
const FLAKY_LIMIT: usize = 25;
/// Characters of stdout/stderr kept per attempt (the tail).
const OUTPUT_TAIL: usize = 4000;

/// The word a page uses for a test status.
pub(super) const fn status_word(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Expected => "passed",
        TestStatus::Unexpected => "failed",
        TestStatus::Flaky => "flaky",
        TestStatus::Skipped => "skipped",
    }
}

/// Facts every page shows (header, navigation, footer).
#[derive(Debug, Serialize)]
struct Site<'a> {
    title: String,
    repo: Option<&'a str>,
    run_id: &'a str,
    run_attempt: u32,
    sha: Option<&'a str>,
    ref_name: Option<&'a str>,
    event: Option<&'a str>,
    pr_number: Option<u64>,
    workflow: Option<&'a str>,
    job: Option<&'a str>,
    runner_os: Option<&'a str>,
    run_url: Option<&'a str>,
    commit_url: Option<String>,
    pr_url: Option<String>,
    dashboard_url: Option<&'a str>,
    artifact_url: Option<&'a str>,
    verdict: &'static str,
    generated_at: &'a str,
    version: &'static str,
    has_heal: bool,
    has_fix: bool,
    history_runs: usize,
    failures: usize,
}

/// A failure in a list.
#[derive(Debug, Clone, Serialize)]
struct FailureRow<'a> {
    n: usize,
    page: String,
    kind: FailureKind,
    title: &'a str,
    file: Option<&'a str>,
    line: Option<u32>,
    project: Option<&'a str>,
    status: Option<&'static str>,
    error_type: &'static str,
    confidence: f64,
    message: String,
    since: Option<&'a FailingSince>,
}

#[derive(Debug, Serialize)]
struct TypeShare {
    error_type: &'static str,
    count: usize,
    share: f64,
}

#[derive(Debug, Serialize)]
struct ClusterRow<'a> {
    id: &'a str,
    error_type: &'static str,
    count: usize,
    signature: &'a str,
    example: String,
    page: Option<String>,
}

/// One attempt of a failed test, ready to show.
#[derive(Debug, Serialize)]
struct AttemptView<'a> {
    retry: u32,
    status: &'a str,
    duration_ms: f64,
    errors: Vec<ErrorView>,
    screenshots: Vec<Image>,
    traces: Vec<TraceView>,
    others: Vec<String>,
    page_snapshot: Option<&'a str>,
    stdout: String,
    stderr: String,
}

#[derive(Debug, Serialize)]
struct ErrorView {
    message: String,
    location: Option<String>,
    snippet: Option<String>,
    stack: Option<String>,
    call_log: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Image {
    name: String,
    src: Option<String>,
    alt: String,
}

#[derive(Debug, Serialize)]
struct TraceView {
    command: String,
    in_dashboard: bool,
}

/// The run-history chart: one stacked bar per run.
#[derive(Debug, Serialize)]
struct Chart {
    width: f64,
    height: f64,
    bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
struct Bar {
    x: f64,
    w: f64,
    label: String,
    url: Option<String>,
    current: bool,
    segs: Vec<Seg>,
}

#[derive(Debug, Serialize)]
struct Seg {
    y: f64,
    h: f64,
    class: &'static str,
}

/// Everything the renderer needs, computed once.
struct Ctx<'a> {
    inputs: &'a SiteInputs<'a>,
    site: Site<'a>,
    tests: HashMap<&'a str, &'a Test>,
    pages: HashMap<&'a str, String>,
    since: BTreeMap<String, FailingSince>,
    history: History,
}

pub(super) fn render(
    inputs: &SiteInputs<'_>,
    templates: &Templates,
    env: &minijinja::Environment<'static>,
    dir: &Path,
    options: &Options,
) -> Result<Built, DashboardError> {
    let bundle = inputs.bundle;
    let analysis = inputs.analysis;
    let mut warnings = inputs.warnings.clone();

    let mut history = inputs
        .previous
        .clone()
        .unwrap_or_else(|| History::new(&inputs.generated_at, options.max_runs));
    history.push(
        history::record(bundle, Some(analysis)),
        &inputs.generated_at,
        options.max_runs,
    );
    let since = history.failing_since();

    let failures = &analysis.classification.failures;
    let pages: HashMap<&str, String> = failures
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.as_str(), failure_page(i)))
        .collect();
    let tests: HashMap<&str, &Test> = bundle.tests.iter().map(|t| (t.id.as_str(), t)).collect();
    let site = site(inputs, &history);
    let ctx = Ctx {
        inputs,
        site,
        tests,
        pages,
        since,
        history,
    };

    // Artifacts first: pages link only to files that are there.
    let copied = copy_artifacts(&ctx, dir, options, &mut warnings)?;

    let overview = overview(&ctx, options, &warnings);
    render_to(env, "index.html", &overview, &dir.join("index.html"))?;
    render_to(env, "tests.html", &explorer(&ctx), &dir.join("tests.html"))?;
    render_to(
        env,
        "history.html",
        &history_page(&ctx),
        &dir.join("history.html"),
    )?;
    render_to(env, "heal.html", &heal_page(&ctx), &dir.join("heal.html"))?;
    let (fix_ctx, patch_file) = fix_page(&ctx, &copied, &mut warnings);
    if let Some((name, bytes)) = patch_file {
        write(&dir.join("fix").join(name), bytes)?;
    }
    render_to(env, "fix.html", &fix_ctx, &dir.join("fix.html"))?;
    failures.par_iter().enumerate().try_for_each(|(i, f)| {
        let page = failure_view(&ctx, i, f, &copied);
        render_to(env, "failure.html", &page, &dir.join(failure_page(i)))
    })?;

    write(&dir.join("data").join("tests.js"), &tests_data(&ctx))?;
    for (name, bytes) in templates.statics() {
        write(&dir.join("static").join(name), bytes)?;
    }
    let history_json = serde_json::to_vec_pretty(&ctx.history).map_err(|e| DashboardError::Io {
        path: dir.join("history.json"),
        source: e.into(),
    })?;
    write(&dir.join("history.json"), &history_json)?;

    let (files, bytes) = measure(dir);
    Ok(Built {
        pages: 5 + failures.len(),
        files,
        bytes,
        failures: failures.len(),
        screenshots: copied.screenshots,
        history_runs: ctx.history.runs.len(),
        warnings,
    })
}

fn failure_page(i: usize) -> String {
    format!("failures/{:04}.html", i + 1)
}

fn render_to(
    env: &minijinja::Environment<'static>,
    name: &str,
    ctx: &impl Serialize,
    path: &Path,
) -> Result<(), DashboardError> {
    let template = env.get_template(name).map_err(|e| DashboardError::Render {
        template: name.to_owned(),
        message: render_error(&e),
    })?;
    let html = template.render(ctx).map_err(|e| DashboardError::Render {
        template: name.to_owned(),
        message: render_error(&e),
    })?;
    write(path, html.as_bytes())
}

fn measure(dir: &Path) -> (usize, u64) {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .fold((0, 0), |(n, b), e| {
            (n + 1, b + e.metadata().map(|m| m.len()).unwrap_or(0))
        })
}

fn site<'a>(inputs: &'a SiteInputs<'a>, history: &History) -> Site<'a> {
    let run = &inputs.bundle.run;
    let repo_url = inputs
        .links
        .repo_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'));
    let title = match &run.repo {
        Some(repo) => format!("{repo} · run {}", run.run_id),
        None => format!("Run {}", run.run_id),
    };
    Site {
        title,
        repo: run.repo.as_deref(),
        run_id: &run.run_id,
        run_attempt: run.run_attempt,
        sha: run.sha.as_deref(),
        ref_name: run.ref_name.as_deref(),
        event: run.event.as_deref(),
        pr_number: run.pr_number,
        workflow: run.workflow.as_deref(),
        job: run.job.as_deref(),
        runner_os: run.runner_os.as_deref(),
        run_url: run.run_url.as_deref(),
        commit_url: repo_url
            .zip(run.sha.as_deref())
            .map(|(r, sha)| format!("{r}/commit/{sha}")),
        pr_url: repo_url
            .zip(run.pr_number)
            .map(|(r, n)| format!("{r}/pull/{n}")),
        dashboard_url: inputs.links.dashboard_url.as_deref(),
        artifact_url: inputs.links.artifact_url.as_deref(),
        verdict: RunOutcome::of(&inputs.bundle.summary).as_str(),
        generated_at: &inputs.generated_at,
        version: env!("CARGO_PKG_VERSION"),
        has_heal: inputs.heal.is_some(),
        has_fix: inputs.fix.is_some(),
        history_runs: history.runs.len(),
        failures: inputs.analysis.classification.failures.len(),
    }
}

fn row<'a>(ctx: &'a Ctx<'a>, i: usize, f: &'a FailureClassification) -> FailureRow<'a> {
    FailureRow {
        n: i + 1,
        page: failure_page(i),
        kind: f.kind,
        title: &f.title,
        file: f.file.as_deref(),
        line: f.line,
        project: f.project.as_deref(),
        status: f.status.map(status_word),
        error_type: f.error_type.as_str(),
        confidence: f.confidence,
        message: crate::text::one_line(&strip(&f.message), 240),
        since: ctx.since.get(&f.id),
    }
}

/// Text as it should be read: terminal colour codes removed.
fn strip(text: &str) -> String {
    if text.contains('\u{1b}') {
        String::from_utf8_lossy(&strip_ansi_escapes::strip(text)).into_owned()
    } else {
        text.to_owned()
    }
}

fn tail(text: &str, max: usize) -> String {
    let text = strip(text);
    let n = text.chars().count();
    if n <= max {
        text
    } else {
        let cut: String = text.chars().skip(n - max).collect();
        format!("… ({} earlier characters not shown)\n{cut}", n - max)
    }
}

fn overview(ctx: &Ctx<'_>, options: &Options, warnings: &[String]) -> serde_json::Value {
    let inputs = ctx.inputs;
    let bundle = inputs.bundle;
    let c = &inputs.analysis.classification;
    let total: usize = c.by_type.iter().map(|t| t.count).sum();
    let by_type: Vec<TypeShare> = c
        .by_type
        .iter()
        .map(|t| TypeShare {
            error_type: t.error_type.as_str(),
            count: t.count,
            share: t.count as f64 / total.max(1) as f64,
        })
        .collect();
    let clusters: Vec<ClusterRow<'_>> = c
        .clusters
        .iter()
        .map(|cl| ClusterRow {
            id: &cl.id,
            error_type: cl.error_type.as_str(),
            count: cl.count,
            signature: &cl.signature,
            example: crate::text::one_line(&strip(&cl.example), 200),
            page: cl
                .failures
                .first()
                .and_then(|id| ctx.pages.get(id.as_str()).cloned()),
        })
        .collect();
    let failures: Vec<FailureRow<'_>> = c
        .failures
        .iter()
        .enumerate()
        .take(options.overview_failures)
        .map(|(i, f)| row(ctx, i, f))
        .collect();
    let flaky: Vec<serde_json::Value> = bundle
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Flaky)
        .take(20)
        .map(|t| {
            serde_json::json!({
                "title": t.title(),
                "file": t.file,
                "line": t.line,
                "page": ctx.pages.get(t.id.as_str()),
            })
        })
        .collect();
    let heal = inputs.heal.map(|h| {
        let healed = h
            .tests
            .iter()
            .filter(|t| t.after == Some(TestStatus::Expected))
            .count();
        serde_json::json!({
            "verdict": h.verdict.as_str(),
            "reason": h.reason,
            "healed": healed,
            "tests": h.tests.len(),
        })
    });
    let fix = inputs.fix.map(|f| {
        let m = f.metadata;
        serde_json::json!({
            "outcome": serde_json::to_value(m.outcome).unwrap_or_default(),
            "reason": m.reason,
            "files": m.patch.files.len(),
            "changed_lines": m.patch.changed_lines,
            "applied": m.edits.iter().filter(|e| e.applied).count(),
        })
    });
    let mut all_warnings: Vec<String> = bundle
        .warnings
        .iter()
        .map(|w| format!("{} ({})", w.message, w.code))
        .collect();
    all_warnings.extend(warnings.iter().cloned());
    serde_json::json!({
        "site": ctx.site,
        "root": "",
        "page": "overview",
        "summary": bundle.summary,
        "duration_ms": bundle.report.duration_ms,
        "playwright_version": bundle.report.playwright_version,
        "projects": bundle.report.projects,
        "workers": bundle.report.workers,
        "shard": bundle.report.shard,
        "classification": {
            "outcome": c.outcome.as_str(),
            "verdict": c.verdict(),
            "error_type": c.error_type.map(|t| t.as_str()),
            "confidence": c.confidence,
            "reason": c.reason,
            "cause": c.cause,
            "by_type": by_type,
            "origin": inputs.analysis_origin,
            "analyzer": format!("{} {}", inputs.analysis.analyzer.name, inputs.analysis.analyzer.version),
        },
        "clusters": clusters,
        "failures": failures,
        "failures_total": c.failures.len(),
        "flaky": flaky,
        "heal": heal,
        "fix": fix,
        "chart": chart(&ctx.history, OVERVIEW_RUNS),
        "log_excerpts": bundle.log_excerpts,
        "warnings": all_warnings,
        "redaction": bundle.redaction,
    })
}

fn chart(history: &History, last: usize) -> Chart {
    let runs = &history.runs[history.runs.len().saturating_sub(last)..];
    const STEP: f64 = 14.0;
    const W: f64 = 10.0;
    const H: f64 = 100.0;
    let bars = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let x = i as f64 * STEP + 2.0;
            let total = r.tests.max(1) as f64;
            let mut y = 0.0;
            let mut segs = Vec::new();
            for (count, class) in [
                (r.failed, "failed"),
                (r.flaky, "flaky"),
                (r.skipped, "skipped"),
                (r.passed, "passed"),
            ] {
                if count == 0 {
                    continue;
                }
                let h = count as f64 / total * H;
                segs.push(Seg {
                    y: round(y),
                    h: round(h),
                    class,
                });
                y += h;
            }
            if r.tests == 0 {
                segs.push(Seg {
                    y: H - 4.0,
                    h: 4.0,
                    class: "skipped",
                });
            }
            Bar {
                x,
                w: W,
                label: run_label(r),
                url: r.run.run_url.clone(),
                current: i + 1 == runs.len(),
                segs,
            }
        })
        .collect();
    Chart {
        width: (runs.len() as f64 * STEP + 2.0).max(60.0),
        height: H,
        bars,
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn run_label(r: &RunRecord) -> String {
    format!(
        "Run {} ({}): {} — {} passed, {} failed, {} flaky, {} skipped",
        r.run.run_id,
        r.started_at.get(..10).unwrap_or(&r.started_at),
        r.verdict.as_str().replace('_', " "),
        r.passed,
        r.failed,
        r.flaky,
        r.skipped
    )
}

fn explorer(ctx: &Ctx<'_>) -> serde_json::Value {
    let bundle = ctx.inputs.bundle;
    let mut files: Vec<&str> = bundle.tests.iter().map(|t| t.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    let mut types: Vec<&str> = ctx
        .inputs
        .analysis
        .classification
        .by_type
        .iter()
        .map(|t| t.error_type.as_str())
        .collect();
    types.sort_unstable();
    serde_json::json!({
        "site": ctx.site,
        "root": "",
        "page": "tests",
        "summary": bundle.summary,
        "files": files,
        "error_types": types,
        "page_size": 100,
    })
}

/// `data/tests.js`: every test as a compact row, loaded by the explorer as a
/// script (a `fetch` of a local file is blocked when the site is opened from disk).
fn tests_data(ctx: &Ctx<'_>) -> Vec<u8> {
    let bundle = ctx.inputs.bundle;
    let types: HashMap<&str, &str> = ctx
        .inputs
        .analysis
        .classification
        .failures
        .iter()
        .map(|f| (f.id.as_str(), f.error_type.as_str()))
        .collect();
    let mut file_index: HashMap<&str, usize> = HashMap::new();
    let mut files: Vec<&str> = Vec::new();
    let rows: Vec<serde_json::Value> = bundle
        .tests
        .iter()
        .map(|t| {
            let fi = *file_index.entry(t.file.as_str()).or_insert_with(|| {
                files.push(&t.file);
                files.len() - 1
            });
            serde_json::json!([
                t.title(),
                fi,
                t.line,
                t.project,
                status_word(t.status),
                types.get(t.id.as_str()),
                t.duration_ms.round(),
                ctx.pages.get(t.id.as_str()),
            ])
        })
        .collect();
    let data = serde_json::json!({
        "columns": ["title", "file", "line", "project", "status", "error_type", "duration_ms", "page"],
        "files": files,
        "rows": rows,
    });
    let mut out = b"window.CI_MEDIC_TESTS = ".to_vec();
    // Serializing a Value into memory cannot fail.
    out.extend(serde_json::to_vec(&data).unwrap_or_default());
    out.extend(b";\n");
    out
}

fn history_page(ctx: &Ctx<'_>) -> serde_json::Value {
    let h = &ctx.history;
    let flaky: Vec<Flakiness> = h.flaky_tests(FLAKY_LIMIT);
    let failing: Vec<serde_json::Value> = ctx
        .since
        .iter()
        .map(|(id, since)| {
            serde_json::json!({
                "id": id,
                "title": ctx.tests.get(id.as_str()).map(|t| t.title()).unwrap_or_else(|| id.clone()),
                "page": ctx.pages.get(id.as_str()),
                "since": since,
            })
        })
        .collect();
    let runs: Vec<&RunRecord> = h.runs.iter().rev().collect();
    serde_json::json!({
        "site": ctx.site,
        "root": "",
        "page": "history",
        "chart": chart(h, usize::MAX),
        "runs": runs,
        "max_runs": h.max_runs,
        "flaky": flaky,
        "failing": failing,
    })
}

fn heal_page(ctx: &Ctx<'_>) -> serde_json::Value {
    let heal = ctx.inputs.heal;
    let tests: Vec<serde_json::Value> = heal
        .map(|h| {
            h.tests
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "id": t.id,
                        "title": ctx.tests.get(t.id.as_str()).map(|x| x.title()).unwrap_or_else(|| t.id.clone()),
                        "page": ctx.pages.get(t.id.as_str()),
                        "before": status_word(t.before),
                        "after": t.after.map(status_word),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({
        "site": ctx.site,
        "root": "",
        "page": "heal",
        "report": heal,
        "verdict": heal.map(|h| h.verdict.as_str()),
        "tests": tests,
        "plan": ctx.inputs.analysis.self_heal_plan,
        "trigger": ctx.inputs.analysis.triggers.self_heal,
    })
}

type PatchFile<'a> = Option<(String, &'a [u8])>;

fn fix_page<'a>(
    ctx: &'a Ctx<'a>,
    copied: &Copied,
    warnings: &mut Vec<String>,
) -> (serde_json::Value, PatchFile<'a>) {
    let fix = ctx.inputs.fix;
    let mut files = Vec::new();
    let mut patch_error = None;
    let mut patch_file = None;
    if let Some(f) = fix {
        if let Some(patch) = f.patch {
            let bytes = patch.bytes;
            match patch.files {
                Ok(parsed) => files.clone_from(parsed),
                Err(e) => {
                    let msg = format!("the fix-agent patch could not be read: {e}");
                    warnings.push(msg.clone());
                    patch_error = Some(msg);
                }
            }
            let name = Path::new(&f.metadata.patch.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("patch-{}.diff", f.metadata.run_id));
            patch_file = Some((name, bytes));
        } else if !f.metadata.patch.files.is_empty() {
            warnings.push(format!(
                "the fix-agent patch {} was not found; the page shows its metadata only",
                f.metadata.patch.path
            ));
        }
    }
    let edits: Vec<serde_json::Value> = fix
        .map(|f| {
            f.metadata
                .edits
                .iter()
                .map(|e| edit_view(ctx, e, copied))
                .collect()
        })
        .unwrap_or_default();
    let page = serde_json::json!({
        "site": ctx.site,
        "root": "",
        "page": "fix",
        "metadata": fix.map(|f| f.metadata),
        "edits": edits,
        "files": files,
        "patch_error": patch_error,
        "patch_href": patch_file.as_ref().map(|(n, _)| format!("fix/{n}")),
        "patch_name": patch_file.as_ref().map(|(n, _)| n.clone()),
        "instructions": ctx.inputs.analysis.fix_agent_instructions.len(),
        "trigger": ctx.inputs.analysis.triggers.fix_agent,
    });
    (page, patch_file)
}

fn edit_view(ctx: &Ctx<'_>, e: &Edit, copied: &Copied) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "page".to_owned(),
            serde_json::json!(ctx.pages.get(e.failure.as_str())),
        );
        // A baseline refresh's images, where the site has a copy.
        let images: Vec<serde_json::Value> = e
            .images
            .iter()
            .map(|i| {
                let src = safe_relative(&i.path).filter(|r| copied.files.contains(r));
                serde_json::json!({ "role": i.role, "path": i.path, "src": src })
            })
            .collect();
        obj.insert("images".to_owned(), serde_json::json!(images));
    }
    v
}

/// What was copied into the site.
#[derive(Debug, Default)]
struct Copied {
    files: HashSet<String>,
    screenshots: usize,
}

fn copy_artifacts(
    ctx: &Ctx<'_>,
    dir: &Path,
    options: &Options,
    warnings: &mut Vec<String>,
) -> Result<Copied, DashboardError> {
    let mut copied = Copied::default();
    let mut missing = 0usize;
    let Some(bundle_dir) = ctx.inputs.bundle_dir else {
        return Ok(copied);
    };
    for f in &ctx.inputs.analysis.classification.failures {
        let Some(test) = ctx.tests.get(f.id.as_str()) else {
            continue;
        };
        for a in test.attempts.iter().flat_map(|a| &a.attachments) {
            let wanted = match a.kind {
                ArtifactKind::Screenshot => true,
                ArtifactKind::Trace => options.include_traces,
                _ => false,
            };
            let Some(rel) = a.artifact.as_deref().and_then(safe_relative) else {
                continue;
            };
            if !wanted || copied.files.contains(&rel) {
                continue;
            }
            let src = bundle_dir.join(&rel);
            if !src.is_file() {
                missing += 1;
                continue;
            }
            let dst = dir.join(&rel);
            if let Some(parent) = dst.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DashboardError::Io {
                    path: parent.to_owned(),
                    source: e,
                })?;
            }
            std::fs::copy(&src, &dst).map_err(|e| DashboardError::Io {
                path: src.clone(),
                source: e,
            })?;
            if a.kind == ArtifactKind::Screenshot {
                copied.screenshots += 1;
            }
            copied.files.insert(rel);
        }
    }
    if missing > 0 {
        warnings.push(format!(
            "{missing} screenshot or trace file(s) named by the bundle are not in {} (indexed only, or the bundle was moved without them)",
            bundle_dir.display()
        ));
    }
    Ok(copied)
}

fn failure_view(
    ctx: &Ctx<'_>,
    i: usize,
    f: &FailureClassification,
    copied: &Copied,
) -> serde_json::Value {
    let failures = &ctx.inputs.analysis.classification.failures;
    let test = ctx.tests.get(f.id.as_str()).copied();
    let attempts: Vec<AttemptView<'_>> = test
        .map(|t| {
            t.attempts
                .iter()
                .map(|a| attempt_view(ctx, a, copied))
                .collect()
        })
        .unwrap_or_default();
    let run_error = (f.kind == FailureKind::RunError)
        .then(|| {
            ctx.inputs
                .bundle
                .run_errors
                .iter()
                .find(|e| {
                    e.message.lines().next().unwrap_or("") == f.title
                        || f.message == e.message.lines().next().unwrap_or("")
                })
                .map(error_view)
        })
        .flatten();
    let edits: Vec<&Edit> = ctx
        .inputs
        .fix
        .map(|fx| {
            fx.metadata
                .edits
                .iter()
                .filter(|e| e.failure == f.id)
                .collect()
        })
        .unwrap_or_default();
    let heal: Option<&TestReport> = ctx
        .inputs
        .heal
        .and_then(|h| h.tests.iter().find(|t| t.id == f.id));
    let cluster = ctx
        .inputs
        .analysis
        .classification
        .clusters
        .iter()
        .find(|c| c.id == f.cluster);
    serde_json::json!({
        "site": ctx.site,
        "root": "../",
        "page": "failure",
        "n": i + 1,
        "total": failures.len(),
        "prev": i.checked_sub(1).map(|p| format!("{:04}.html", p + 1)),
        "next": (i + 1 < failures.len()).then(|| format!("{:04}.html", i + 2)),
        "failure": {
            "id": f.id,
            "kind": f.kind,
            "title": f.title,
            "title_path": test.map(|t| t.title_path.clone()),
            "file": f.file,
            "line": f.line,
            "column": f.column,
            "test_line": test.and_then(|t| t.line),
            "project": f.project,
            "status": f.status.map(status_word),
            "attempts": f.attempts,
            "error_type": f.error_type.as_str(),
            "confidence": f.confidence,
            "rule": f.rule,
            "message": strip(&f.message),
            "locator": f.locator,
            "evidence": f.evidence,
            "alternatives": f.alternatives,
            "tags": test.map(|t| t.tags.clone()).unwrap_or_default(),
            "annotations": test.map(|t| t.annotations.clone()).unwrap_or_default(),
            "duration_ms": test.map(|t| t.duration_ms),
        },
        "cluster": cluster.map(|c| serde_json::json!({"id": c.id, "count": c.count, "signature": c.signature})),
        "attempts": attempts,
        "run_error": run_error,
        "since": ctx.since.get(&f.id),
        "edits": edits,
        "heal": heal.map(|h| serde_json::json!({"before": status_word(h.before), "after": h.after.map(status_word)})),
    })
}

fn error_view(e: &crate::model::ErrorInfo) -> ErrorView {
    ErrorView {
        message: strip(&e.message),
        location: e
            .location
            .as_ref()
            .map(|l| format!("{}:{}:{}", l.file, l.line, l.column)),
        snippet: e.snippet.as_deref().map(strip),
        stack: e.stack.as_deref().map(strip),
        call_log: e.call_log.iter().map(|l| strip(l)).collect(),
    }
}

fn attempt_view<'a>(ctx: &Ctx<'_>, a: &'a Attempt, copied: &Copied) -> AttemptView<'a> {
    let mut screenshots = Vec::new();
    let mut traces = Vec::new();
    let mut others = Vec::new();
    for att in &a.attachments {
        let rel = att.artifact.as_deref().and_then(safe_relative);
        match att.kind {
            ArtifactKind::Screenshot => {
                let src = rel.filter(|r| copied.files.contains(r));
                screenshots.push(Image {
                    alt: format!(
                        "Screenshot “{}” of attempt {} ({})",
                        att.name,
                        a.retry + 1,
                        serde_json::to_value(a.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    ),
                    name: att.name.clone(),
                    src: src.map(|s| format!("../{s}")),
                });
            }
            ArtifactKind::Trace => {
                let (path, in_dashboard) = match rel.filter(|r| copied.files.contains(r)) {
                    Some(r) => (r, true),
                    None => (trace_path(ctx.inputs.bundle, att), false),
                };
                traces.push(TraceView {
                    command: format!("npx playwright show-trace {path}"),
                    in_dashboard,
                });
            }
            ArtifactKind::ErrorContext => {}
            _ => others.push(att.name.clone()),
        }
    }
    AttemptView {
        retry: a.retry,
        status: match a.status {
            crate::model::AttemptStatus::Passed => "passed",
            crate::model::AttemptStatus::Failed => "failed",
            crate::model::AttemptStatus::TimedOut => "timed out",
            crate::model::AttemptStatus::Skipped => "skipped",
            crate::model::AttemptStatus::Interrupted => "interrupted",
        },
        duration_ms: a.duration_ms,
        errors: a.errors.iter().map(error_view).collect(),
        screenshots,
        traces,
        others,
        page_snapshot: a
            .error_context
            .as_ref()
            .and_then(|c| c.page_snapshot.as_deref()),
        stdout: tail(&a.stdout, OUTPUT_TAIL),
        stderr: tail(&a.stderr, OUTPUT_TAIL),
    }
}

/// Where a trace is in the run's uploaded `test-results/` (what a person
/// downloads), else the path the report gave.
fn trace_path(bundle: &Bundle, att: &crate::model::Attachment) -> String {
    let source = att
        .artifact
        .as_deref()
        .and_then(|p| bundle.artifacts.iter().find(|a| a.path == p))
        .map(|a| a.source_path.as_str())
        .or(att.path.as_deref())
        .unwrap_or("trace.zip");
    let source = source.replace('\\', "/");
    match source.find("test-results/") {
        Some(i) => source[i..].to_owned(),
        None => source,
    }
}
