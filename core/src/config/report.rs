//! `[dashboard]`, `[comment]` and `[redact]`: the report's and the collector's
//! defaults. A command-line flag wins over the file; the file wins over the
//! built-in default, so a repository says once what every job should do.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// `[dashboard]`: `ci-medic dashboard build`'s defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    /// Runs kept in `history.json` (`--history-max-runs`).
    pub history_max_runs: Option<u32>,
    /// Failures listed on the overview page (`--overview-failures`).
    pub overview_failures: Option<usize>,
    /// Copy trace.zip files into the site (`--include-traces`).
    pub include_traces: Option<bool>,
    /// The published dashboard's URL (`--dashboard-url`).
    pub url: Option<String>,
}

impl DashboardConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if let Some(n) = self.history_max_runs
            && !(1..=10_000).contains(&n)
        {
            return Err(Invalid::new(
                "dashboard.history_max_runs",
                format!("expected a number from 1 to 10000, found {n}"),
            ));
        }
        if let Some(u) = &self.url {
            check_url("dashboard.url", u)?;
        }
        Ok(())
    }
}

/// `[comment]`: `ci-medic comment`'s defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentConfig {
    /// Which sticky comment to keep (`--key`).
    pub key: Option<String>,
    /// Most failures listed (`--max-failures`).
    pub max_failures: Option<usize>,
    /// The login the comment is written as (`--author`).
    pub author: Option<String>,
}

impl CommentConfig {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if let Some(k) = &self.key
            && !valid_comment_key(k)
        {
            return Err(Invalid::new(
                "comment.key",
                format!("expected 1-64 letters, digits, '-', '_' or '.', found {k:?}"),
            ));
        }
        Ok(())
    }
}

/// `[redact]`: the repository's own redaction rules, added to the built-in set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactConfig {
    /// A rules file in gitleaks' format, relative to the repository root.
    pub rules: PathBuf,
}

impl Default for RedactConfig {
    fn default() -> RedactConfig {
        RedactConfig {
            rules: PathBuf::from(super::REDACT_RULES_FILE),
        }
    }
}

fn check_url(key: &str, u: &str) -> Result<(), Invalid> {
    if u.starts_with("https://") || u.starts_with("http://") {
        Ok(())
    } else {
        Err(Invalid::new(
            key,
            format!("expected an http(s) URL, found {u:?}"),
        ))
    }
}

/// Whether `key` can name a sticky comment: 1-64 letters, digits, `-`, `_`, `.`
/// (it is written into the comment's hidden marker).
pub fn valid_comment_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
