//! `ci-medic annotate`: a check run on the pull request's head commit with one
//! annotation per failed test (file, line, title, error type), so failures show
//! in the PR's "Files changed" view.
//!
//! GitHub takes at most 50 annotations per request: the check run is created
//! with the first 50 and updated with each next 50. Its conclusion is `neutral`
//! for a failed run unless `--conclusion-on-failure failure`: the test job is the
//! primary signal, this check only explains it. A best-effort stage: a GitHub
//! failure is reported and exits 0 unless `--strict`; bad input exits 2.

use std::collections::HashMap;
use std::process::ExitCode;

use ci_medic_core::model::RunOutcome;
use ci_medic_core::report::pr_comment::{self, DashboardLink};
use ci_medic_core::text::one_line;
use clap::{Args, ValueEnum};
use octocrab::Octocrab;
use octocrab::models::CheckRunId;
use octocrab::params::checks::{
    CheckRunConclusion, CheckRunOutput, CheckRunOutputAnnotation, CheckRunOutputAnnotationLevel,
    CheckRunStatus,
};

use crate::exit;
use crate::github;
use crate::github::api::{self, call_error};
use crate::github::target::{self, Context, GithubArgs};
use crate::inputs::{self, RunDocsArgs};

/// GitHub takes at most this many annotations per check-run request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;

/// GitHub's limit on a check run's title (`one_line` adds an ellipsis to `max - 1`).
const MAX_TITLE_CHARS: usize = 255;

/// The summary's limit (GitHub: 65,535 characters).
const MAX_SUMMARY_CHARS: usize = 65_535;

/// Options of `ci-medic annotate`.
#[derive(Debug, Args)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub docs: RunDocsArgs,
    #[command(flatten)]
    pub github: GithubArgs,
    /// The commit to annotate [default: the PR head from the event, else the bundle's commit].
    #[arg(long)]
    pub sha: Option<String>,
    /// The check run's name.
    #[arg(long, default_value = "ci-medic")]
    pub name: String,
    /// The conclusion when tests failed (the test job itself already fails the run).
    #[arg(long, value_enum, default_value_t = FailureConclusion::Neutral)]
    pub conclusion_on_failure: FailureConclusion,
    /// Most annotations written (the rest are counted in the summary).
    #[arg(long, default_value_t = 500)]
    pub max_annotations: usize,
    /// The published dashboard, linked from the check run.
    #[arg(long, env = "CI_MEDIC_DASHBOARD_URL")]
    pub dashboard_url: Option<String>,
    /// The workspace absolute paths are made relative to [default: GITHUB_WORKSPACE].
    #[arg(long, env = "GITHUB_WORKSPACE")]
    pub workspace: Option<String>,
    /// Print the annotations as JSON instead of writing the check run.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 1 when the check run could not be written.
    #[arg(long)]
    pub strict: bool,
}

/// The check run's conclusion for a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailureConclusion {
    /// Grey: informational.
    Neutral,
    /// Red: the check fails too.
    Failure,
}

/// Runs `annotate`.
pub fn run(args: &AnnotateArgs) -> anyhow::Result<ExitCode> {
    let bad = |message: &str| {
        eprintln!("ci-medic annotate: error: {message}");
        Ok(ExitCode::from(exit::BAD_INPUT))
    };
    if args.name.trim().is_empty() {
        return bad("--name: expected a check run name, found an empty one");
    }
    let docs = match inputs::load(&args.docs, "annotate") {
        Ok(d) => d,
        Err(e) => return bad(&e.to_string()),
    };
    let context = match Context::from_env() {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    if let Err(e) = context.check_run(&docs.bundle.run.run_id) {
        return bad(&e);
    }
    let error_types: HashMap<&str, (&str, f64)> = docs
        .analysis
        .classification
        .failures
        .iter()
        .map(|f| (f.id.as_str(), (f.error_type.as_str(), f.confidence)))
        .collect();
    let all = github::failure_annotations(&docs.bundle, args.workspace.as_deref());
    let total = all.len();
    let annotations: Vec<CheckRunOutputAnnotation> = all
        .into_iter()
        .take(args.max_annotations)
        .map(|(id, a)| {
            let (error_type, confidence) = error_types
                .get(id.as_str())
                .copied()
                .unwrap_or(("unknown", 0.0));
            let line = a.line.unwrap_or(1).max(1);
            CheckRunOutputAnnotation {
                path: a.file.unwrap_or_default(),
                start_line: line,
                end_line: line,
                start_column: None,
                end_column: None,
                annotation_level: CheckRunOutputAnnotationLevel::Failure,
                message: format!("{error_type} (confidence {confidence:.2}): {}", a.message),
                title: Some(one_line(
                    &format!("{} · {error_type}", a.title),
                    MAX_TITLE_CHARS - 1,
                )),
                raw_details: None,
            }
        })
        .collect();

    let verdict = RunOutcome::of(&docs.bundle.summary);
    let conclusion = match (verdict, args.conclusion_on_failure) {
        (RunOutcome::Failed, FailureConclusion::Failure) => CheckRunConclusion::Failure,
        (RunOutcome::Failed, FailureConclusion::Neutral) | (RunOutcome::NoTests, _) => {
            CheckRunConclusion::Neutral
        }
        (RunOutcome::Passed | RunOutcome::Flaky, _) => CheckRunConclusion::Success,
    };
    let s = &docs.bundle.summary;
    let title = one_line(
        &format!(
            "{} failed, {} flaky, {} passed{}",
            s.failed,
            s.flaky,
            s.passed,
            match docs.analysis.classification.error_type {
                Some(t) => format!(" — {}", t.as_str()),
                None => String::new(),
            }
        ),
        MAX_TITLE_CHARS - 1,
    );
    let run_url = context.run_url(&docs.bundle.run.run_id, docs.bundle.run.run_url.as_deref());
    let mut summary = pr_comment::render(
        &pr_comment::CommentInputs {
            bundle: &docs.bundle,
            analysis: &docs.analysis,
            heal: docs.heal.as_ref(),
            fix: docs.fix.as_ref().map(|(m, _)| m),
            dashboard: DashboardLink::pick(args.dashboard_url.as_deref(), None, run_url.as_deref()),
            run_url: run_url.clone(),
            key: "check-run".to_owned(),
            generated_at: ci_medic_core::collect::now_rfc3339(),
            listed_failures: 0,
        },
        MAX_SUMMARY_CHARS - 200,
    )
    .body;
    if total > annotations.len() {
        summary.push_str(&format!(
            "\n{} of {total} failures are annotated (--max-annotations); the dashboard has every one.\n",
            annotations.len()
        ));
    }

    if args.dry_run {
        let json: Vec<serde_json::Value> = annotations
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or_default())
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "name": args.name,
                "title": title,
                "conclusion": conclusion_word(conclusion),
                "annotations": json,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(head_sha) = args
        .sha
        .clone()
        .or_else(|| context.head_sha(docs.bundle.run.sha.as_deref()))
    else {
        return bad("no commit to annotate: pass --sha (the event and the bundle name none)");
    };
    let repo = match target::repo(&args.github, docs.bundle.run.repo.as_deref()) {
        Ok(r) => r,
        Err(e) => return bad(&format!("{e:#}")),
    };
    let Some(token) = GithubArgs::token() else {
        return bad("no GITHUB_TOKEN: a check run needs a token with checks: write (or --dry-run)");
    };
    let session = match api::Session::new(&args.github.api_url, &token, "") {
        Ok(s) => s,
        Err(e) => return bad(&format!("{e:#}")),
    };
    let check = Check {
        name: &args.name,
        head_sha: &head_sha,
        details_url: args.dashboard_url.clone().or(run_url),
        title,
        summary,
        conclusion,
    };
    let count = annotations.len();
    match session.block_on(check.write(session.github(), &repo, annotations)) {
        Ok((id, requests)) => {
            eprintln!(
                "ci-medic annotate: check run {id} \"{}\" on {repo}@{}: {count} annotation(s) in {requests} request(s), conclusion {}",
                args.name,
                &head_sha[..head_sha.len().min(12)],
                conclusion_word(conclusion)
            );
            github::publish(
                "",
                &[
                    ("check_run_id", id.to_string()),
                    ("annotations", count.to_string()),
                ],
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("ci-medic annotate: warning: the check run was not written: {e:#}");
            Ok(if args.strict {
                ExitCode::from(exit::FAILED)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn conclusion_word(c: CheckRunConclusion) -> &'static str {
    match c {
        CheckRunConclusion::Failure => "failure",
        CheckRunConclusion::Neutral => "neutral",
        CheckRunConclusion::Success => "success",
        _ => "other",
    }
}

/// The check run to write.
struct Check<'a> {
    name: &'a str,
    head_sha: &'a str,
    details_url: Option<String>,
    title: String,
    summary: String,
    conclusion: CheckRunConclusion,
}

impl Check<'_> {
    fn output(&self, annotations: Vec<CheckRunOutputAnnotation>) -> CheckRunOutput {
        CheckRunOutput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            text: None,
            annotations,
            images: Vec::new(),
        }
    }

    /// Creates the check run with the first batch, adds each next batch, and
    /// completes it with the last; returns its id and the number of requests.
    async fn write(
        &self,
        github: &Octocrab,
        repo: &str,
        annotations: Vec<CheckRunOutputAnnotation>,
    ) -> anyhow::Result<(u64, usize)> {
        let (owner, name) = api::split_repo(repo)?;
        let mut batches: Vec<Vec<CheckRunOutputAnnotation>> = Vec::new();
        let mut rest = annotations.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(ANNOTATIONS_PER_REQUEST).collect());
        }
        let mut batches = batches.into_iter();
        let first = batches.next().unwrap_or_default();
        let more = batches.len();
        let call = format!("POST /repos/{owner}/{name}/check-runs (create the check run)");
        let checks = github.checks(owner, name);
        let mut create = checks
            .create_check_run(self.name, self.head_sha)
            .output(self.output(first));
        if let Some(url) = &self.details_url {
            create = create.details_url(url.clone());
        }
        create = if more == 0 {
            create.conclusion(self.conclusion)
        } else {
            create.status(CheckRunStatus::InProgress)
        };
        let run = create.send().await.map_err(|err| call_error(&call, err))?;
        let id = run.id;
        let mut requests = 1;
        for (i, batch) in batches.enumerate() {
            let call = format!(
                "PATCH /repos/{owner}/{name}/check-runs/{id} (annotations batch {} of {})",
                i + 2,
                more + 1
            );
            let mut update = checks
                .update_check_run(CheckRunId(id.0))
                .output(self.output(batch));
            if i + 1 == more {
                update = update.conclusion(self.conclusion);
            }
            update.send().await.map_err(|err| call_error(&call, err))?;
            requests += 1;
        }
        Ok((id.0, requests))
    }
}
