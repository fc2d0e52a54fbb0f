//! GitHub's REST API through octocrab: the API base (GitHub Enterprise Server
//! too), one client per command, and errors that name the call, GitHub's status
//! and message, and never the token.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use octocrab::Octocrab;

/// github.com's REST API; GitHub Enterprise Server sets `GITHUB_API_URL`
/// (`https://HOST/api/v3`) in its Actions runners.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The REST API base: `GITHUB_API_URL` when set (GitHub Enterprise Server), else
/// [`DEFAULT_API_URL`].
pub fn api_base_from_env() -> String {
    std::env::var("GITHUB_API_URL")
        .ok()
        .map(|url| url.trim().to_string())
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string())
}

/// `owner/name`, checked.
pub fn split_repo(repo: &str) -> anyhow::Result<(&str, &str)> {
    let ok_part = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok((owner, name)),
        _ => bail!("repository {repo:?} is not of the form owner/name"),
    }
}

/// Percent-encodes a branch name for a URL path, keeping its `/`s (GitHub's
/// branch and ref parameters span path segments).
pub fn encode_path(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An error for a failed GitHub call: which call, the HTTP status and GitHub's message.
pub fn call_error(call: &str, err: octocrab::Error) -> anyhow::Error {
    match err {
        octocrab::Error::GitHub { source, .. } => {
            let mut message = format!(
                "{call} failed: GitHub answered HTTP {}: {}",
                source.status_code, source.message
            );
            let details: Vec<String> = source
                .errors
                .iter()
                .flatten()
                .map(describe_error_detail)
                .collect();
            if !details.is_empty() {
                message.push_str(&format!(" ({})", details.join("; ")));
            }
            if let Some(doc) = &source.documentation_url {
                message.push_str(&format!(" [see {doc}]"));
            }
            anyhow!(message)
        }
        other => {
            let mut message = format!("{call} failed: {other}");
            let mut source = std::error::Error::source(&other);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            anyhow!(message)
        }
    }
}

/// One entry of GitHub's `errors` array, e.g. `PullRequest: A pull request already
/// exists for o:b.` or `Label.color: invalid`.
fn describe_error_detail(detail: &serde_json::Value) -> String {
    let field = |key: &str| detail.get(key).and_then(serde_json::Value::as_str);
    match (
        field("message"),
        field("resource"),
        field("field"),
        field("code"),
    ) {
        (Some(message), Some(resource), _, _) => format!("{resource}: {message}"),
        (Some(message), None, _, _) => message.to_string(),
        (None, Some(resource), Some(field), Some(code)) => format!("{resource}.{field}: {code}"),
        (None, Some(resource), None, Some(code)) => format!("{resource}: {code}"),
        _ => detail.to_string(),
    }
}

/// The error with every occurrence of the token masked (belt and braces: none of
/// the client's messages contains it).
pub fn scrub(err: anyhow::Error, token: &str) -> anyhow::Error {
    let token = token.trim();
    let text = format!("{err:#}");
    if token.len() >= 4 && text.contains(token) {
        anyhow!(text.replace(token, "***"))
    } else {
        err
    }
}

/// A GitHub client and the runtime it runs on: commands are synchronous, the
/// client is async (and must be built inside a runtime).
pub struct Session {
    // Dropped before the runtime it was built in.
    github: Octocrab,
    runtime: tokio::runtime::Runtime,
    token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

impl Session {
    /// A client for `api_base` (e.g. `https://api.github.com` or
    /// `https://ghe.example.com/api/v3`) that authenticates with `token`.
    ///
    /// # Errors
    /// An API base that is not an http(s) URL, or an empty token (`needs` says
    /// what the token is for).
    pub fn new(api_base: &str, token: &str, needs: &str) -> anyhow::Result<Session> {
        let base_uri = api_base.trim().trim_end_matches('/');
        if !(base_uri.starts_with("https://") || base_uri.starts_with("http://")) {
            bail!("the GitHub API base {base_uri:?} is not an http(s) URL");
        }
        let token = token.trim();
        if token.is_empty() {
            bail!("no GitHub token: {needs}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime for the GitHub client")?;
        let github = {
            let _entered = runtime.enter();
            Octocrab::builder()
                .base_uri(base_uri)
                .with_context(|| format!("the GitHub API base {base_uri:?} is not a valid URI"))?
                .personal_token(token.to_string())
                .set_connect_timeout(Some(Duration::from_secs(15)))
                .set_read_timeout(Some(Duration::from_secs(60)))
                .set_write_timeout(Some(Duration::from_secs(60)))
                .build()
                .context("building the GitHub client")?
        };
        Ok(Session {
            github,
            runtime,
            token: token.to_owned(),
        })
    }

    /// The client.
    pub fn github(&self) -> &Octocrab {
        &self.github
    }

    /// Runs `work` (GitHub calls) to completion, masking the token in any error.
    /// Must not be called from inside a runtime.
    ///
    /// # Errors
    /// `work` fails.
    pub fn block_on<T>(&self, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        self.runtime
            .block_on(work)
            .map_err(|err| scrub(err, &self.token))
    }
}

/// Whether `err` is GitHub answering with HTTP `status`.
pub fn is_status(err: &octocrab::Error, status: u16) -> bool {
    matches!(err, octocrab::Error::GitHub { source, .. } if source.status_code.as_u16() == status)
}

/// Every item of `first` and of the pages after it, at most `max_pages` pages
/// (`what` names the items in the error past that). Only the path and query of
/// GitHub's `next` links are followed: the requests stay on the configured API
/// host (and keep the token there).
///
/// # Errors
/// A failed call, a link without a path, or more than `max_pages` pages.
pub async fn all_items<T: serde::de::DeserializeOwned>(
    github: &Octocrab,
    mut page: octocrab::Page<T>,
    call: &str,
    max_pages: usize,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    let mut items = Vec::new();
    for pages in 1.. {
        items.append(&mut page.items);
        let Some(next) = page.next.take() else {
            break;
        };
        if pages >= max_pages {
            bail!(
                "{call}: more than {} {what}; not reading further",
                max_pages * 100
            );
        }
        let next = next
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .ok_or_else(|| anyhow!("{call}: GitHub's next-page link {next} has no path"))?;
        page = github
            .get(&next, None::<&()>)
            .await
            .map_err(|err| call_error(&format!("GET {next} ({call})"), err))?;
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_must_be_owner_slash_name() {
        assert!(split_repo("acme/shop").is_ok());
        assert!(split_repo("acme.io/shop_2-x").is_ok());
        for bad in [
            "acme",
            "acme/",
            "/shop",
            "acme/shop/x",
            "acme/..",
            "ac me/shop",
            "",
        ] {
            assert!(split_repo(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn branch_names_keep_slashes_in_paths() {
        assert_eq!(encode_path("ci-medic/fix-1"), "ci-medic/fix-1");
        assert_eq!(encode_path("a#b%c"), "a%23b%25c");
    }

    #[test]
    fn scrub_masks_the_token() {
        let err = scrub(anyhow!("bad: ghp_secret123 here"), "ghp_secret123");
        assert_eq!(err.to_string(), "bad: *** here");
    }

    #[test]
    fn the_client_needs_an_http_base_and_a_token() {
        let err = Session::new("ftp://x", "t", "to comment").expect_err("ftp");
        assert!(err.to_string().contains("not an http(s) URL"), "{err}");
        let err = Session::new("https://api.github.com", "  ", "to comment").expect_err("no token");
        assert_eq!(err.to_string(), "no GitHub token: to comment");
        assert!(Session::new("https://api.github.com", "t", "").is_ok());
    }
}
