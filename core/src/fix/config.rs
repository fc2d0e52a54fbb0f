//! The `[fix]` table of `.ci-medic.toml`: where the fix-agent may edit, how much,
//! how sure it must be, how it validates, and whether it may open a PR. Every
//! default is the safe one: test files only, small patches, no PR.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::heal::config::{ConfigError, PlaywrightConfig, describe};

/// The `[fix]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixConfig {
    /// Globs (relative to the repository root) of the files it may edit.
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    /// At most this many files in one patch.
    #[serde(default = "default_max_files")]
    pub max_files: usize,
    /// At most this many added plus removed lines in one patch (a binary file counts one).
    #[serde(default = "default_max_lines")]
    pub max_changed_lines: usize,
    /// A locator heal needs at least this score.
    #[serde(default = "default_min_score")]
    pub min_score: f64,
    /// …and at least this lead over the next candidate.
    #[serde(default = "default_min_margin")]
    pub min_margin: f64,
    /// Failures classified below this confidence get no edit.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// Rerun the affected tests with the patch applied.
    #[serde(default = "default_true")]
    pub validate: bool,
    /// Validation rounds: a fixed locator can reveal the next broken one in the same test.
    #[serde(default = "default_rounds")]
    pub max_rounds: u32,
    /// The whole validation's time limit.
    #[serde(default = "default_timeout", with = "crate::heal::config::duration")]
    pub timeout: Duration,
    /// How the affected tests are run (as `[heal.playwright]`).
    #[serde(default)]
    pub playwright: PlaywrightConfig,
    /// Untracked directories the validation worktree links to (besides every
    /// `node_modules` on the way to the Playwright directory).
    #[serde(default)]
    pub link: Vec<PathBuf>,
    /// `ci-medic fix pr` may open a draft PR.
    #[serde(default)]
    pub open_pr: bool,
    /// At most this many open fix PRs at a time.
    #[serde(default = "default_max_open")]
    pub max_open_prs: usize,
    /// Prefix of the branches fix PRs come from.
    #[serde(default = "default_prefix")]
    pub branch_prefix: String,
    /// The PR's base branch (default: the repository's default branch).
    pub base: Option<String>,
    /// Read candidates from the live page when a failure left no DOM snapshot.
    pub live: Option<super::live::LiveConfig>,
}

impl Default for FixConfig {
    fn default() -> FixConfig {
        FixConfig {
            allow: default_allow(),
            max_files: default_max_files(),
            max_changed_lines: default_max_lines(),
            min_score: default_min_score(),
            min_margin: default_min_margin(),
            min_confidence: default_min_confidence(),
            validate: true,
            max_rounds: default_rounds(),
            timeout: default_timeout(),
            playwright: PlaywrightConfig::default(),
            link: Vec::new(),
            open_pr: false,
            max_open_prs: default_max_open(),
            branch_prefix: default_prefix(),
            base: None,
            live: None,
        }
    }
}

fn default_allow() -> Vec<String> {
    [
        "tests/**",
        "test/**",
        "e2e/**",
        "**/tests/**",
        "**/test/**",
        "**/e2e/**",
        "**/*.spec.*",
        "**/*.test.*",
    ]
    .map(str::to_owned)
    .to_vec()
}
fn default_max_files() -> usize {
    5
}
fn default_max_lines() -> usize {
    60
}
fn default_min_score() -> f64 {
    0.5
}
fn default_min_margin() -> f64 {
    0.1
}
fn default_min_confidence() -> f64 {
    0.6
}
fn default_true() -> bool {
    true
}
fn default_rounds() -> u32 {
    3
}
fn default_timeout() -> Duration {
    Duration::from_secs(10 * 60)
}
fn default_max_open() -> usize {
    3
}
fn default_prefix() -> String {
    "ci-medic/fix-".to_owned()
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    fix: Option<FixConfig>,
    #[serde(flatten)]
    _rest: toml::Table,
}

/// Reads the `[fix]` table of `path`; a missing file or table is the default.
pub fn load(path: &Path) -> Result<FixConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FixConfig::default()),
        Err(source) => {
            return Err(ConfigError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &text)
}

/// Parses a configuration file's text.
pub fn parse(path: &Path, text: &str) -> Result<FixConfig, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| invalid(describe(text, &e)))?;
    let fix = file.fix.unwrap_or_default();
    for g in &fix.allow {
        glob::Pattern::new(g)
            .map_err(|e| invalid(format!("fix.allow: {g:?} is not a glob: {e}")))?;
    }
    for (key, v) in [
        ("min_score", fix.min_score),
        ("min_margin", fix.min_margin),
        ("min_confidence", fix.min_confidence),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(invalid(format!(
                "fix.{key}: expected a number from 0 to 1, found {v}"
            )));
        }
    }
    if fix.playwright.command.is_empty() {
        return Err(invalid(
            "fix.playwright.command: expected a program and its arguments, found an empty list"
                .into(),
        ));
    }
    if !fix.branch_prefix.contains('/') || fix.branch_prefix.starts_with('/') {
        return Err(invalid(format!(
            "fix.branch_prefix: expected a prefix like \"ci-medic/fix-\", found {:?}",
            fix.branch_prefix
        )));
    }
    Ok(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors_name_the_key() {
        let p = Path::new(".ci-medic.toml");
        let c = parse(p, "[heal]\nmax_attempts = 1\n").expect("no [fix] is the default");
        assert_eq!(c, FixConfig::default());
        let c = parse(p, "[fix]\nmax_files = 2\ntimeout = \"90s\"\n").expect("parses");
        assert_eq!((c.max_files, c.timeout), (2, Duration::from_secs(90)));
        let e = parse(p, "[fix]\nmax_file = 2\n")
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("max_file"), "{e}");
        let e = parse(p, "[fix]\nmin_score = 1.5\n")
            .expect_err("range")
            .to_string();
        assert!(e.contains("fix.min_score") && e.contains("1.5"), "{e}");
        let e = parse(p, "[fix]\nallow = [\"[\"]\n")
            .expect_err("glob")
            .to_string();
        assert!(e.contains("fix.allow"), "{e}");
    }
}
