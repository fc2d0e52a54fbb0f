//! Opens a pull request with a fix through GitHub's REST API: one new branch, one
//! commit on top of the base branch, one (draft) pull request.
//!
//! Guard rails, checked with GitHub before anything is written: the head branch is
//! never the default branch or the base, always starts with the fix-branch prefix
//! and must not exist yet (so nothing is ever pushed onto an existing or protected
//! branch), and at most `max_open` fix PRs are open at a time. The token is sent
//! only to the configured API host and never appears in errors or logs.

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use octocrab::Octocrab;
use octocrab::models::pulls::PullRequest;
use octocrab::params::State;
use octocrab::params::repos::Reference;
use serde::{Deserialize, Serialize};

use crate::github::api::{self, call_error, encode_path, split_repo};

/// At most this many pages of open pull requests are read (100 each).
const MAX_PULL_PAGES: usize = 50;

/// What to open: the branch, the commit and the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrPlan {
    /// The repository, `owner/name`.
    pub repo: String,
    /// The PR's target branch; `None` means the repository's default branch.
    pub base: Option<String>,
    /// The new head branch, e.g. `ci-medic/fix-1234`; it must not exist yet.
    pub branch: String,
    /// Every fix branch starts with this, e.g. `ci-medic/fix-`; open PRs from such
    /// branches count towards `max_open`.
    pub branch_prefix: String,
    /// The PR's title.
    pub title: String,
    /// The PR's description (Markdown).
    pub body: String,
    /// The commit's message.
    pub commit_message: String,
    /// The full new contents of every changed file.
    pub files: Vec<ChangedFile>,
    /// At most this many open PRs whose head branch starts with `branch_prefix`.
    pub max_open: usize,
    /// Open the PR as a draft.
    pub draft: bool,
}

/// One changed file of a [`PrPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// The new contents; `None` deletes the file.
    pub content: Option<Vec<u8>>,
    /// Mode `100755` instead of `100644`.
    pub executable: bool,
}

/// What [`open`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrOutcome {
    /// The branch was created and the PR opened.
    Opened {
        /// The PR's number.
        number: u64,
        /// The PR's web page.
        url: String,
        /// The head branch that was created.
        branch: String,
    },
    /// A guard rail said no; nothing was written.
    Refused {
        /// Why, in a sentence.
        reason: String,
    },
}

/// Creates the branch, the commit and the PR of `plan` in GitHub at `api_base`
/// (e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`), or refuses.
///
/// Blocking: runs its own single-threaded tokio runtime, so it must not be called
/// from inside an async runtime.
///
/// # Errors
/// A malformed plan, repository name or API base; any failed GitHub call (the
/// message names the call, the HTTP status and GitHub's message).
pub fn open(api_base: &str, token: &str, plan: &PrPlan) -> anyhow::Result<PrOutcome> {
    let (owner, name) = split_repo(&plan.repo)?;
    check_plan(plan)?;
    let session = api::Session::new(
        api_base,
        token,
        "opening a pull request needs one with contents and pull-requests write access",
    )?;
    session.block_on(
        Client {
            github: session.github(),
            owner,
            name,
        }
        .open(plan),
    )
}

/// The calls of one run against one repository.
struct Client<'a> {
    github: &'a Octocrab,
    owner: &'a str,
    name: &'a str,
}

impl Client<'_> {
    async fn open(&self, plan: &PrPlan) -> anyhow::Result<PrOutcome> {
        let (owner, name) = (self.owner, self.name);

        let call = format!("GET /repos/{owner}/{name} (read the repository)");
        let repo = self
            .github
            .repos(owner, name)
            .get()
            .await
            .map_err(|err| call_error(&call, err))?;
        let default_branch = repo.default_branch.ok_or_else(|| {
            anyhow!("{call}: GitHub's answer names no default branch for {owner}/{name}")
        })?;
        let base = plan.base.clone().unwrap_or_else(|| default_branch.clone());

        if let Some(reason) = refusal(plan, &default_branch, &base) {
            return Ok(PrOutcome::Refused { reason });
        }

        let call = format!(
            "GET /repos/{owner}/{name}/branches/{} (check that the head branch is new)",
            plan.branch
        );
        match self
            .github
            .repos(owner, name)
            .branches()
            .get(encode_path(&plan.branch))
            .await
        {
            Ok(_) => {
                return Ok(PrOutcome::Refused {
                    reason: format!(
                        "branch {} already exists in {owner}/{name}; ci-medic never pushes onto an existing branch",
                        plan.branch
                    ),
                });
            }
            Err(err) if api::is_status(&err, 404) => {}
            Err(err) => return Err(call_error(&call, err)),
        }

        let open_fix_prs = self.count_open_fix_prs(&plan.branch_prefix).await?;
        if open_fix_prs >= plan.max_open {
            return Ok(PrOutcome::Refused {
                reason: format!(
                    "{open_fix_prs} open fix PRs (head branch {}…) in {owner}/{name}, the limit is {}",
                    plan.branch_prefix, plan.max_open
                ),
            });
        }

        let call = format!("GET /repos/{owner}/{name}/git/ref/heads/{base} (read the base branch)");
        let base_ref = self
            .github
            .git(owner, name)
            .get_ref(&Reference::Branch(encode_path(&base)))
            .await
            .map_err(|err| call_error(&call, err))?;
        let base_sha = match base_ref.object {
            octocrab::models::repos::Object::Commit { sha, .. } => sha,
            other => bail!("{call}: refs/heads/{base} points to {other:?}, not to a commit"),
        };

        let call =
            format!("GET /repos/{owner}/{name}/git/commits/{base_sha} (read the base commit)");
        let base_commit = self
            .github
            .git(owner, name)
            .get_commit(&base_sha)
            .await
            .map_err(|err| call_error(&call, err))?;

        let mut entries = Vec::with_capacity(plan.files.len());
        for file in &plan.files {
            let sha = match &file.content {
                Some(content) => {
                    let call = format!(
                        "POST /repos/{owner}/{name}/git/blobs (upload {}, {} bytes)",
                        file.path,
                        content.len()
                    );
                    let blob = self
                        .github
                        .git(owner, name)
                        .create_blob(base64::engine::general_purpose::STANDARD.encode(content))
                        .encoding("base64")
                        .send()
                        .await
                        .map_err(|err| call_error(&call, err))?;
                    Some(blob.sha)
                }
                None => None,
            };
            entries.push(NewTreeEntry {
                path: file.path.clone(),
                mode: if file.executable { "100755" } else { "100644" },
                kind: "blob",
                sha,
            });
        }

        // octocrab's typed tree builder leaves out a `sha` of `None`, but deleting a
        // file needs an explicit `"sha": null`: this call uses its own body.
        let call = format!("POST /repos/{owner}/{name}/git/trees (the new tree)");
        let tree: CreatedTree = self
            .github
            .post(
                format!("/repos/{owner}/{name}/git/trees"),
                Some(&NewTree {
                    base_tree: &base_commit.tree.sha,
                    tree: entries,
                }),
            )
            .await
            .map_err(|err| call_error(&call, err))?;

        let call = format!("POST /repos/{owner}/{name}/git/commits (the fix commit)");
        let commit = self
            .github
            .git(owner, name)
            .create_commit(plan.commit_message.clone(), tree.sha)
            .parents(vec![base_sha.clone()])
            .send()
            .await
            .map_err(|err| call_error(&call, err))?;

        let call = format!(
            "POST /repos/{owner}/{name}/git/refs (create branch {})",
            plan.branch
        );
        self.github
            .git(owner, name)
            .create_ref(&Reference::Branch(plan.branch.clone()), commit.sha)
            .await
            .map_err(|err| call_error(&call, err))?;

        let call = format!("POST /repos/{owner}/{name}/pulls (open the pull request)");
        let created = self
            .github
            .pulls(owner, name)
            .create(plan.title.clone(), plan.branch.clone(), base.clone())
            .body(plan.body.clone())
            .draft(plan.draft)
            .send()
            .await;
        let pr =
            match created {
                Ok(pr) => pr,
                Err(err) => {
                    let err = call_error(&call, err);
                    // The branch is ours and brand new: take it away again, so a later
                    // run is not refused because of it.
                    let cleanup = self
                        .github
                        .git(owner, name)
                        .delete_ref(&Reference::Branch(encode_path(&plan.branch)))
                        .await;
                    return Err(match cleanup {
                    Ok(()) => err.context(format!(
                        "no pull request was opened; branch {} was deleted again",
                        plan.branch
                    )),
                    Err(cleanup_err) => err.context(format!(
                        "no pull request was opened, and deleting branch {} again failed too ({})",
                        plan.branch,
                        call_error(
                            &format!("DELETE /repos/{owner}/{name}/git/refs/heads/{}", plan.branch),
                            cleanup_err
                        )
                    )),
                });
                }
            };
        let url = pr
            .html_url
            .map(|url| url.to_string())
            .unwrap_or_else(|| format!("https://github.com/{owner}/{name}/pull/{}", pr.number));
        tracing::info!(repo = %plan.repo, number = pr.number, %url, branch = %plan.branch, "opened pull request");
        Ok(PrOutcome::Opened {
            number: pr.number,
            url,
            branch: plan.branch.clone(),
        })
    }

    /// Open PRs whose head branch starts with `prefix`, over every page.
    async fn count_open_fix_prs(&self, prefix: &str) -> anyhow::Result<usize> {
        let (owner, name) = (self.owner, self.name);
        let call = format!("GET /repos/{owner}/{name}/pulls?state=open (count open fix PRs)");
        let page = self
            .github
            .pulls(owner, name)
            .list()
            .state(State::Open)
            .per_page(100)
            .send()
            .await
            .map_err(|err| call_error(&call, err))?;
        let open = api::all_items(
            self.github,
            page,
            &call,
            MAX_PULL_PAGES,
            "open pull requests",
        )
        .await?;
        let count = open
            .iter()
            .filter(|pr: &&PullRequest| pr.head.ref_field.starts_with(prefix))
            .count();
        Ok(count)
    }
}

#[derive(Debug, Serialize)]
struct NewTree<'a> {
    base_tree: &'a str,
    tree: Vec<NewTreeEntry>,
}

#[derive(Debug, Serialize)]
struct NewTreeEntry {
    path: String,
    mode: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    /// `None` is sent as `null`: the file is deleted.
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreatedTree {
    sha: String,
}

/// Why the plan must not be carried out, judged with the repository's default
/// branch and the resolved base.
fn refusal(plan: &PrPlan, default_branch: &str, base: &str) -> Option<String> {
    if plan.branch == default_branch {
        return Some(format!(
            "the head branch {} is the repository's default branch; ci-medic never pushes to it",
            plan.branch
        ));
    }
    if plan.branch == base {
        return Some(format!(
            "the head branch {} is the PR's base branch; a fix goes on a branch of its own",
            plan.branch
        ));
    }
    if plan.branch_prefix.is_empty() || !plan.branch.starts_with(&plan.branch_prefix) {
        return Some(format!(
            "the head branch {} does not start with the fix-branch prefix {:?}",
            plan.branch, plan.branch_prefix
        ));
    }
    None
}

/// Local checks of the plan that need no GitHub call.
fn check_plan(plan: &PrPlan) -> anyhow::Result<()> {
    check_branch_name(&plan.branch).context("the head branch")?;
    if let Some(base) = &plan.base {
        check_branch_name(base).context("the base branch")?;
    }
    if plan.files.is_empty() {
        bail!("the plan changes no files: there is nothing to commit");
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in &plan.files {
        let path = &file.path;
        let bad = path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path.chars().any(char::is_control)
            || path
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == ".." || part == ".git");
        if bad {
            bail!("changed file {path:?} is not a plain repository-relative path");
        }
        if !seen.insert(path.as_str()) {
            bail!("changed file {path:?} appears twice in the plan");
        }
    }
    Ok(())
}

/// A branch name git and GitHub accept (`git check-ref-format --branch`, roughly).
fn check_branch_name(branch: &str) -> anyhow::Result<()> {
    let bad = branch.is_empty()
        || branch.starts_with('/')
        || branch.ends_with('/')
        || branch.ends_with('.')
        || branch.ends_with(".lock")
        || branch.starts_with('-')
        || branch.contains("..")
        || branch.contains("//")
        || branch.contains("@{")
        || branch == "@"
        || branch
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        || branch.split('/').any(|part| part.starts_with('.'));
    if bad {
        bail!("{branch:?} is not a valid branch name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PrPlan {
        PrPlan {
            repo: "acme/shop".into(),
            base: None,
            branch: "ci-medic/fix-1".into(),
            branch_prefix: "ci-medic/fix-".into(),
            title: "t".into(),
            body: "b".into(),
            commit_message: "m".into(),
            files: vec![ChangedFile {
                path: "tests/a.spec.ts".into(),
                content: Some(b"x".to_vec()),
                executable: false,
            }],
            max_open: 1,
            draft: true,
        }
    }

    #[test]
    fn refuses_default_base_and_unprefixed_branches() {
        let mut p = plan();
        assert_eq!(refusal(&p, "main", "main"), None);
        p.branch = "main".into();
        assert!(refusal(&p, "main", "main").is_some_and(|r| r.contains("default branch")));
        p.branch = "ci-medic/fix-1".into();
        assert!(refusal(&p, "main", "ci-medic/fix-1").is_some_and(|r| r.contains("base")));
        p.branch = "feature/x".into();
        assert!(refusal(&p, "main", "main").is_some_and(|r| r.contains("prefix")));
        p.branch_prefix = String::new();
        assert!(refusal(&p, "main", "main").is_some());
    }

    #[test]
    fn plan_paths_and_branches_are_checked() {
        assert!(check_plan(&plan()).is_ok());
        for bad in ["/etc/passwd", "a/../b", ".git/config", "a//b", "", "a\\b"] {
            let mut p = plan();
            p.files[0].path = bad.into();
            assert!(check_plan(&p).is_err(), "{bad:?} accepted");
        }
        for bad in ["a..b", "a b", "x.lock", "/x", "x/", "a:b", "-x", "a/.b"] {
            let mut p = plan();
            p.branch = bad.into();
            assert!(check_plan(&p).is_err(), "{bad:?} accepted");
        }
        let mut p = plan();
        p.files.clear();
        assert!(check_plan(&p).is_err());
        let mut p = plan();
        p.files.push(p.files[0].clone());
        assert!(check_plan(&p).is_err());
    }
}
