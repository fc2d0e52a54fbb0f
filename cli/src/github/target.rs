//! Where a reporting stage writes: the repository, the pull request and the
//! commit, from flags, the event payload and (for a fork's `workflow_run`
//! follow-up) GitHub itself.

use anyhow::Context as _;
use clap::Args;
use octocrab::Octocrab;
use octocrab::params::State;

use super::api::{self, DEFAULT_API_URL, call_error};
use super::event::{Event, Subject, WorkflowRun};

/// The GitHub options shared by `comment` and `annotate`. The token is read from
/// `GITHUB_TOKEN` only (a flag would show it in process listings).
#[derive(Debug, Args)]
pub struct GithubArgs {
    /// The repository, owner/name [default: GITHUB_REPOSITORY, else the bundle's].
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repo: Option<String>,
    /// The pull request [default: from the event payload].
    #[arg(long)]
    pub pr: Option<u64>,
    /// GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, env = "GITHUB_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
}

impl GithubArgs {
    /// `GITHUB_TOKEN`, when set and not blank.
    pub fn token() -> Option<String> {
        std::env::var("GITHUB_TOKEN")
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

/// The run being reported, as the event tells it.
#[derive(Debug, Clone)]
pub struct Context {
    /// The event, in Actions.
    pub event: Option<Event>,
    /// What it is about.
    pub subject: Subject,
}

impl Context {
    /// Reads the event from the environment.
    ///
    /// # Errors
    /// An unreadable payload (see [`Event::from_env`] and [`Event::subject`]).
    pub fn from_env() -> Result<Context, String> {
        let event = Event::from_env(|k| std::env::var(k).ok())?;
        let subject = match &event {
            Some(e) => e.subject()?,
            None => Subject::Other,
        };
        Ok(Context { event, subject })
    }

    /// The event's name, for messages.
    pub fn event_name(&self) -> &str {
        self.event.as_ref().map_or("local", |e| e.name.as_str())
    }

    /// Refuses a bundle of another run than the `workflow_run` being reported:
    /// the follow-up must report the artifact of the run that triggered it.
    ///
    /// # Errors
    /// The message names both runs.
    pub fn check_run(&self, bundle_run_id: &str) -> Result<(), String> {
        match &self.subject {
            Subject::WorkflowRun(run) if run.id != bundle_run_id => Err(format!(
                "the bundle is of run {bundle_run_id}, but this workflow_run event reports run {}: \
                 download the artifacts of github.event.workflow_run.id",
                run.id
            )),
            _ => Ok(()),
        }
    }

    /// The page of the run being reported: the `workflow_run`'s, else the
    /// bundle's, else this run's (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`,
    /// `GITHUB_RUN_ID`) when it is the bundle's run.
    pub fn run_url(&self, bundle_run_id: &str, bundle_run_url: Option<&str>) -> Option<String> {
        if let Subject::WorkflowRun(run) = &self.subject
            && let Some(url) = &run.html_url
        {
            return Some(url.clone());
        }
        if let Some(url) = bundle_run_url {
            return Some(url.to_owned());
        }
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(id)) if id == bundle_run_id => Some(format!(
                "{}/{repo}/actions/runs/{id}",
                server.trim_end_matches('/')
            )),
            _ => None,
        }
    }

    /// The commit being reported: the PR head, the run's head, else `fallback`.
    pub fn head_sha(&self, fallback: Option<&str>) -> Option<String> {
        match &self.subject {
            Subject::PullRequest { head_sha, .. } => {
                head_sha.clone().or_else(|| fallback.map(str::to_owned))
            }
            Subject::WorkflowRun(run) => Some(run.head_sha.clone()),
            Subject::Other => fallback.map(str::to_owned),
        }
    }
}

/// Which pull request to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pull {
    /// This one.
    Number(u64),
    /// A `workflow_run` follow-up: ask GitHub which open PR has the run's head.
    OfRun(WorkflowRun),
    /// None; the sentence says why.
    None(String),
}

/// The pull request from `--pr` or the event. A fork's `pull_request` run is
/// skipped: its token cannot write to the base repository.
pub fn pull(args: &GithubArgs, context: &Context) -> Pull {
    if let Some(n) = args.pr {
        return Pull::Number(n);
    }
    match &context.subject {
        Subject::PullRequest {
            from_fork: true, ..
        } if context.event_name() == "pull_request" => Pull::None(
            "this pull_request run is from a fork: its token is read-only. Report from a \
             workflow_run follow-up instead (README: \"Pull requests from forks\")"
                .to_owned(),
        ),
        Subject::PullRequest { number, .. } => Pull::Number(*number),
        Subject::WorkflowRun(run) => match run.associated_pull() {
            Some(n) => Pull::Number(n),
            None if run.event == "pull_request" || run.event == "pull_request_target" => {
                Pull::OfRun(run.clone())
            }
            None => Pull::None(format!(
                "the reported run was started by {:?}, not by a pull request",
                run.event
            )),
        },
        Subject::Other => Pull::None(format!(
            "the {} event is not about a pull request (pass --pr to name one)",
            context.event_name()
        )),
    }
}

/// Finds the open pull request whose head is the run's branch at the run's
/// commit: `GET /repos/{owner}/{repo}/pulls?head=OWNER:BRANCH`. `None` when
/// there is none (closed, or pushed to since: the newer run reports).
///
/// # Errors
/// A failed call.
pub async fn resolve_run_pull(
    github: &Octocrab,
    owner: &str,
    name: &str,
    run: &WorkflowRun,
) -> anyhow::Result<Option<u64>> {
    let (Some(head_owner), Some(branch)) = (&run.head_owner, &run.head_branch) else {
        return Ok(None);
    };
    let call = format!(
        "GET /repos/{owner}/{name}/pulls?head={head_owner}:{branch} (find the run's pull request)"
    );
    let page = github
        .pulls(owner, name)
        .list()
        .state(State::Open)
        .head(format!("{head_owner}:{branch}"))
        .per_page(100)
        .send()
        .await
        .map_err(|err| call_error(&call, err))?;
    Ok(page
        .items
        .iter()
        .find(|pr| pr.head.sha == run.head_sha)
        .map(|pr| pr.number))
}

/// The repository to write to: `--repo`/`GITHUB_REPOSITORY`, else the bundle's.
///
/// # Errors
/// Neither is known, or it is not `owner/name`.
pub fn repo(args: &GithubArgs, bundle_repo: Option<&str>) -> anyhow::Result<String> {
    let repo = args
        .repo
        .clone()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| bundle_repo.map(str::to_owned))
        .context("no repository: pass --repo owner/name (GITHUB_REPOSITORY in Actions)")?;
    api::split_repo(&repo)?;
    Ok(repo)
}
