//! `ci-medic comment`: keeps one sticky comment on the pull request up to date
//! with the run's verdict, its failures by error type, flaky tests, self-heal and
//! fix-agent status, and the dashboard link.
//!
//! The comment is found again by its hidden marker and its author: only a comment
//! that carries this key's marker *and* was written by the token's own identity is
//! edited; every other comment is left alone, whatever it says. A best-effort
//! stage: a GitHub failure is reported and exits 0 unless `--strict`; bad input
//! exits 2.

use std::process::ExitCode;

use anyhow::anyhow;
use ci_medic_core::report::pr_comment::{self, DashboardLink};
use clap::Args;
use octocrab::Octocrab;

use crate::exit;
use crate::github;
use crate::github::api::{self, call_error};
use crate::github::target::{self, Context, GithubArgs, Pull};
use crate::inputs::{self, RunDocsArgs};

/// At most this many pages of 100 comments are searched for ours.
const MAX_COMMENT_PAGES: usize = 30;

/// Options of `ci-medic comment`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    #[command(flatten)]
    pub docs: RunDocsArgs,
    #[command(flatten)]
    pub github: GithubArgs,
    /// The published dashboard (GitHub Pages), e.g. actions/deploy-pages' page_url output.
    #[arg(long, env = "CI_MEDIC_DASHBOARD_URL")]
    pub dashboard_url: Option<String>,
    /// The dashboard artifact's page (actions/upload-artifact's artifact-url output) [default: the run's artifact list].
    #[arg(long, env = "CI_MEDIC_ARTIFACT_URL")]
    pub artifact_url: Option<String>,
    /// One sticky comment per key: different keys (e.g. one per browser) keep separate comments [default: `[comment] key`, else "default"].
    #[arg(long)]
    pub key: Option<String>,
    /// The login the comment is written as [default: the token's user (GET /user), or github-actions[bot] for an installation token; set it for a GitHub App's token, e.g. my-app[bot]].
    #[arg(long, env = "CI_MEDIC_COMMENT_AUTHOR")]
    pub author: Option<String>,
    /// Most failures listed in the comment (fewer when it would pass GitHub's size limit) [default: `[comment] max_failures`, else 20].
    #[arg(long)]
    pub max_failures: Option<usize>,
    /// Print the comment instead of posting it; with GITHUB_TOKEN, also say whether it would create or update (reads only).
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 1 when the comment could not be posted.
    #[arg(long)]
    pub strict: bool,
    /// The repository's configuration (its `[comment]` table gives the defaults of these flags).
    #[arg(long, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: std::path::PathBuf,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Created { id: u64, url: String },
    Updated { id: u64, url: String },
    WouldCreate,
    WouldUpdate { id: u64 },
}

/// Runs `comment`.
pub fn run(args: &CommentArgs) -> anyhow::Result<ExitCode> {
    let bad = |message: &str| {
        eprintln!("ci-medic comment: error: {message}");
        Ok(ExitCode::from(exit::BAD_INPUT))
    };
    let config = match ci_medic_core::config::load(&args.config) {
        Ok(c) => c.comment,
        Err(e) => return bad(&e.to_string()),
    };
    let key = args
        .key
        .clone()
        .or(config.key)
        .unwrap_or_else(|| "default".to_owned());
    if !ci_medic_core::config::valid_comment_key(&key) {
        return bad(&format!(
            "--key {key:?}: expected 1-64 letters, digits, '-', '_' or '.'"
        ));
    }
    let author = args.author.clone().or(config.author);
    let max_failures = args
        .max_failures
        .or(config.max_failures)
        .unwrap_or(pr_comment::DEFAULT_LISTED_FAILURES);
    let docs = match inputs::load(&args.docs, "comment") {
        Ok(d) => d,
        Err(e) => return bad(&e.to_string()),
    };
    for w in &docs.warnings {
        eprintln!("ci-medic comment: warning: {w}");
    }
    let context = match Context::from_env() {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    if let Err(e) = context.check_run(&docs.bundle.run.run_id) {
        return bad(&e);
    }
    let run_url = context.run_url(&docs.bundle.run.run_id, docs.bundle.run.run_url.as_deref());
    let dashboard = DashboardLink::pick(
        args.dashboard_url.as_deref(),
        args.artifact_url.as_deref(),
        run_url.as_deref(),
    );
    let comment = pr_comment::render(
        &pr_comment::CommentInputs {
            bundle: &docs.bundle,
            analysis: &docs.analysis,
            heal: docs.heal.as_ref(),
            fix: docs.fix.as_ref().map(|(m, _)| m),
            dashboard,
            run_url,
            key: key.clone(),
            generated_at: ci_medic_core::collect::now_rfc3339(),
            listed_failures: max_failures,
        },
        pr_comment::MAX_CHARS,
    );
    if comment.truncated {
        eprintln!(
            "ci-medic comment: the comment lists {} of {} failures to stay within GitHub's {} characters",
            comment.listed_failures,
            docs.analysis.classification.failures.len(),
            pr_comment::MAX_CHARS
        );
    }

    let token = GithubArgs::token();
    let pull = target::pull(&args.github, &context);
    if args.dry_run {
        print!("{}", comment.body);
    }
    if let Pull::None(why) = &pull {
        eprintln!("ci-medic comment: no comment: {why}");
        github::publish("", &[("comment_action", "skipped".to_owned())])?;
        return Ok(ExitCode::SUCCESS);
    }
    let repo = match target::repo(&args.github, docs.bundle.run.repo.as_deref()) {
        Ok(r) => r,
        Err(e) if args.dry_run => {
            eprintln!("ci-medic comment: dry run: printed only ({e:#})");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return bad(&format!("{e:#}")),
    };
    let Some(token) = token else {
        if args.dry_run {
            eprintln!(
                "ci-medic comment: dry run: printed only (no GITHUB_TOKEN to look for the existing comment)"
            );
            return Ok(ExitCode::SUCCESS);
        }
        return bad(
            "no GITHUB_TOKEN: posting the comment needs a token with pull-requests: write (or --dry-run to print it)",
        );
    };
    let session = match api::Session::new(&args.github.api_url, &token, "") {
        Ok(s) => s,
        Err(e) => return bad(&format!("{e:#}")),
    };
    let job = Job {
        github: session.github(),
        repo: &repo,
        key: &key,
        author: author.as_deref(),
        body: &comment.body,
        dry_run: args.dry_run,
    };
    match session.block_on(job.run(&pull)) {
        Ok(None) => {
            eprintln!(
                "ci-medic comment: no comment: no open pull request in {repo} has the reported run's head commit (closed, or pushed to since)"
            );
            github::publish("", &[("comment_action", "skipped".to_owned())])?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some((number, action))) => {
            report(&repo, number, &action, comment.chars)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("ci-medic comment: warning: the comment was not posted: {e:#}");
            github::publish("", &[("comment_action", "failed".to_owned())])?;
            Ok(if args.strict {
                ExitCode::from(exit::FAILED)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn report(repo: &str, number: u64, action: &Action, chars: usize) -> anyhow::Result<()> {
    let (word, id, url) = match action {
        Action::Created { id, url } => ("created", Some(*id), Some(url.clone())),
        Action::Updated { id, url } => ("updated", Some(*id), Some(url.clone())),
        Action::WouldCreate => ("would create", None, None),
        Action::WouldUpdate { id } => ("would update", Some(*id), None),
    };
    eprintln!(
        "ci-medic comment: {word} the comment on {repo}#{number}{}{} ({chars} characters)",
        id.map(|i| format!(" (comment {i})")).unwrap_or_default(),
        url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
    );
    let mut outputs = vec![
        ("comment_action", word.replace(' ', "_")),
        ("pr_number", number.to_string()),
    ];
    if let Some(id) = id {
        outputs.push(("comment_id", id.to_string()));
    }
    if let Some(url) = url {
        outputs.push(("comment_url", url));
    }
    github::publish("", &outputs)
}

/// One comment's GitHub calls.
struct Job<'a> {
    github: &'a Octocrab,
    repo: &'a str,
    key: &'a str,
    author: Option<&'a str>,
    body: &'a str,
    dry_run: bool,
}

impl Job<'_> {
    /// Finds the pull request and our comment on it, then creates or updates it.
    async fn run(&self, pull: &Pull) -> anyhow::Result<Option<(u64, Action)>> {
        let (owner, name) = api::split_repo(self.repo)?;
        let number = match pull {
            Pull::Number(n) => *n,
            Pull::OfRun(run) => {
                match target::resolve_run_pull(self.github, owner, name, run).await? {
                    Some(n) => n,
                    None => return Ok(None),
                }
            }
            Pull::None(why) => return Err(anyhow!("{why}")),
        };
        let me = self.identity().await?;
        let comments = self.comments(owner, name, number).await?;
        let found = find_ours(&comments, self.key, &me);
        for (id, login) in &found.foreign {
            tracing::info!(
                comment = id,
                author = %login,
                "a comment with ci-medic's marker by someone else: left alone"
            );
        }
        if found.ours.len() > 1 {
            eprintln!(
                "ci-medic comment: warning: {} comments of {me} carry the marker for key {:?}; updating the newest ({}) and leaving the others",
                found.ours.len(),
                self.key,
                found.ours.last().copied().unwrap_or_default()
            );
        }
        let action = match (found.ours.last(), self.dry_run) {
            (Some(&id), true) => Action::WouldUpdate { id },
            (None, true) => Action::WouldCreate,
            (Some(&id), false) => {
                let call = format!(
                    "PATCH /repos/{owner}/{name}/issues/comments/{id} (update the comment)"
                );
                // GitHub documents PATCH; octocrab's `update_comment` sends POST.
                let updated: octocrab::models::issues::Comment = self
                    .github
                    .patch(
                        format!("/repos/{owner}/{name}/issues/comments/{id}"),
                        Some(&serde_json::json!({ "body": self.body })),
                    )
                    .await
                    .map_err(|err| call_error(&call, err))?;
                Action::Updated {
                    id,
                    url: updated.html_url.to_string(),
                }
            }
            (None, false) => {
                let call = format!(
                    "POST /repos/{owner}/{name}/issues/{number}/comments (create the comment)"
                );
                let created = self
                    .github
                    .issues(owner, name)
                    .create_comment(number, self.body)
                    .await
                    .map_err(|err| call_error(&call, err))?;
                if !created.user.login.eq_ignore_ascii_case(&me.login) {
                    eprintln!(
                        "ci-medic comment: warning: the comment was written as {}, not {} as assumed ({}); \
                         pass --author {} so that later runs update it instead of adding another",
                        created.user.login, me.login, me.how, created.user.login
                    );
                }
                Action::Created {
                    id: created.id.0,
                    url: created.html_url.to_string(),
                }
            }
        };
        Ok(Some((number, action)))
    }

    /// Who the token writes as.
    async fn identity(&self) -> anyhow::Result<Identity> {
        if let Some(login) = self.author {
            return Ok(Identity {
                login: login.to_owned(),
                how: "--author",
            });
        }
        match self.github.current().user().await {
            Ok(user) => Ok(Identity {
                login: user.login,
                how: "the token's user, GET /user",
            }),
            // Installation tokens (Actions' GITHUB_TOKEN, a GitHub App's) cannot
            // read /user; Actions' token writes as github-actions[bot].
            Err(err) if api::is_status(&err, 403) => Ok(Identity {
                login: "github-actions[bot]".to_owned(),
                how: "an installation token, taken to be Actions' GITHUB_TOKEN",
            }),
            Err(err) => Err(call_error("GET /user (who the token is)", err)),
        }
    }

    /// Every comment on the pull request: (id, author, body), oldest first.
    async fn comments(
        &self,
        owner: &str,
        name: &str,
        number: u64,
    ) -> anyhow::Result<Vec<(u64, String, String)>> {
        let call =
            format!("GET /repos/{owner}/{name}/issues/{number}/comments (look for the comment)");
        let first = self
            .github
            .issues(owner, name)
            .list_comments(number)
            .per_page(100)
            .send()
            .await
            .map_err(|err| call_error(&call, err))?;
        let all = api::all_items(self.github, first, &call, MAX_COMMENT_PAGES, "comments").await?;
        Ok(all
            .into_iter()
            .map(|c| (c.id.0, c.user.login, c.body.unwrap_or_default()))
            .collect())
    }
}

/// The login comments are written as, and how it was learned.
#[derive(Debug, Clone)]
struct Identity {
    login: String,
    how: &'static str,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.login)
    }
}

/// The comments with the key's marker: ours (by `me`), oldest first, and others'.
#[derive(Debug, Default, PartialEq, Eq)]
struct Found {
    ours: Vec<u64>,
    foreign: Vec<(u64, String)>,
}

fn find_ours(comments: &[(u64, String, String)], key: &str, me: &Identity) -> Found {
    let mut found = Found::default();
    for (id, login, body) in comments {
        if !pr_comment::has_marker(body, key) {
            continue;
        }
        if login.eq_ignore_ascii_case(&me.login) {
            found.ours.push(*id);
        } else {
            found.foreign.push((*id, login.clone()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_marked_comments_are_ours() {
        let marker = pr_comment::marker("default");
        let me = Identity {
            login: "github-actions[bot]".into(),
            how: "test",
        };
        let comments = vec![
            (1, "alice".into(), format!("{marker}\nforged")),
            (2, "github-actions[bot]".into(), "no marker".into()),
            (3, "GitHub-Actions[bot]".into(), format!("{marker}\nmine")),
            (
                4,
                "github-actions[bot]".into(),
                format!("{}\nother key", pr_comment::marker("webkit")),
            ),
            (
                5,
                "github-actions[bot]".into(),
                format!("quoting:\n{marker}"),
            ),
        ];
        assert_eq!(
            find_ours(&comments, "default", &me),
            Found {
                ours: vec![3],
                foreign: vec![(1, "alice".into())]
            }
        );
    }
}
