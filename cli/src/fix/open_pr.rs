//! `ci-medic fix pr`: a draft PR from the patch and metadata `fix apply` wrote.
//!
//! Off unless `[fix] open_pr = true` and a token is given. Only a validated
//! patch is proposed (`--allow-unvalidated` proposes one flagged for review);
//! the PR comes from a new `[fix] branch_prefix` branch, never from or onto the
//! default branch, and at most `[fix] max_open_prs` are open at a time.

use std::path::PathBuf;
use std::process::ExitCode;

use ci_medic_core::config::FixConfig;
use ci_medic_core::fix::metadata::Outcome;
use clap::Args;

use super::pr::{self, ChangedFile, PrOutcome, PrPlan};
use super::{FixArgs, read_metadata};
use crate::exit::UserError;
use crate::github;

/// Options of `ci-medic fix pr`.
#[derive(Debug, Args)]
pub struct PrArgs {
    /// The repository, `owner/name` (default: $GITHUB_REPOSITORY).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    pub repo_name: Option<String>,
    /// The metadata file (default: the only metadata-*.json in the output directory).
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// Propose a patch whose validation did not pass (the PR says so).
    #[arg(long)]
    pub allow_unvalidated: bool,
}

/// Runs `fix pr`.
pub(super) fn run(
    args: &FixArgs,
    config: &FixConfig,
    pr_args: &PrArgs,
) -> anyhow::Result<ExitCode> {
    let skip = |why: &str| {
        eprintln!("ci-medic fix pr: no PR: {why}");
        github::publish(
            &format!("ci-medic fix pr: no PR: {why}\n"),
            &[("fix_pr", String::new())],
        )?;
        Ok(if args.strict {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    };
    if !config.open_pr {
        return skip("[fix] open_pr is not true in the repository's configuration");
    }
    let token = std::env::var("GITHUB_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        return skip("no GITHUB_TOKEN in the environment");
    }
    let Some(repo_name) = pr_args.repo_name.clone() else {
        return Err(
            UserError::bad_input("expected --repo-name owner/name or GITHUB_REPOSITORY").into(),
        );
    };
    let meta_path = match &pr_args.metadata {
        Some(p) => p.clone(),
        None => only_metadata(&args.out)?,
    };
    let meta = read_metadata(&meta_path)?;
    match meta.outcome {
        Outcome::NoPatch => return skip(&format!("the fix-agent made no patch ({})", meta.reason)),
        Outcome::NeedsManualReview | Outcome::Partial if !pr_args.allow_unvalidated => {
            return skip("the patch is not validated (--allow-unvalidated proposes it anyway)");
        }
        _ => {}
    }
    // The PR carries the files as the patch leaves them.
    let files = patched(&args.repo, &meta.patch.path, &meta.patch.files)?;
    let plan = PrPlan {
        repo: repo_name,
        base: config.base.clone(),
        branch: meta.branch.clone(),
        branch_prefix: config.branch_prefix.clone(),
        title: meta.pr_title.clone(),
        body: meta.pr_body.clone(),
        commit_message: meta.commit_message.clone(),
        files,
        max_open: config.max_open_prs,
        draft: true,
    };
    match pr::open(&crate::github::api::api_base_from_env(), &token, &plan)? {
        PrOutcome::Opened {
            number,
            url,
            branch,
        } => {
            eprintln!("ci-medic fix pr: opened draft PR #{number} from {branch}: {url}");
            github::publish(
                &format!("ci-medic fix pr: opened draft PR [#{number}]({url}) from `{branch}`\n"),
                &[("fix_pr", url)],
            )?;
            Ok(ExitCode::SUCCESS)
        }
        PrOutcome::Refused { reason } => skip(&reason),
    }
}

/// The files as the patch leaves them: the patch applied (libgit2) to HEAD's tree.
fn patched(
    repo: &std::path::Path,
    patch: &str,
    paths: &[String],
) -> anyhow::Result<Vec<ChangedFile>> {
    let e = |m: &str| anyhow::anyhow!("{m}");
    let text = std::fs::read(patch).map_err(|err| anyhow::anyhow!("{patch}: {err}"))?;
    let diff = git2::Diff::from_buffer(&text)
        .map_err(|err| e(&format!("{patch}: not a patch: {}", err.message())))?;
    let git = git2::Repository::open(repo)
        .map_err(|err| e(&format!("{}: {}", repo.display(), err.message())))?;
    let head = git.head().and_then(|h| h.peel_to_tree()).map_err(|err| {
        e(&format!(
            "{}: no HEAD tree: {}",
            repo.display(),
            err.message()
        ))
    })?;
    let index = git.apply_to_tree(&head, &diff, None).map_err(|err| {
        e(&format!(
            "{patch} does not apply to HEAD: {}",
            err.message()
        ))
    })?;
    paths
        .iter()
        .map(|p| {
            let content = match index.get_path(std::path::Path::new(p), 0) {
                Some(entry) => Some(
                    git.find_blob(entry.id)
                        .map_err(|err| e(&format!("{p}: {}", err.message())))?
                        .content()
                        .to_vec(),
                ),
                None => None,
            };
            Ok(ChangedFile {
                path: p.clone(),
                content,
                executable: false,
            })
        })
        .collect()
}

fn only_metadata(out: &std::path::Path) -> Result<PathBuf, UserError> {
    let found: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| {
            UserError::bad_input(format!("{}: {e} (run `ci-medic fix` first)", out.display()))
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("metadata-") && n.ends_with(".json"))
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(UserError::bad_input(format!(
            "no metadata-*.json in {} (run `ci-medic fix` first)",
            out.display()
        ))),
        many => Err(UserError::bad_input(format!(
            "{} metadata files in {}: pass --metadata",
            many.len(),
            out.display()
        ))),
    }
}
