//! The `[fix]` table of `.ci-medic.toml`: where the fix-agent may edit, how much,
//! how sure it must be, how it validates, and whether it may open a PR. Every
//! default is the safe one: test files only, small patches, no PR.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Invalid, PlaywrightConfig};

/// The `[fix]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    #[serde(default = "default_timeout", with = "super::duration")]
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
    pub live: Option<LiveConfig>,
    /// Rerun the failing tests where their locators last worked, to learn
    /// which element each one matched.
    pub reference: Option<ReferenceConfig>,
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
            reference: None,
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

impl FixConfig {
    /// What the types cannot say.
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        for g in &self.allow {
            glob::Pattern::new(g)
                .map_err(|e| Invalid::new("fix.allow", format!("{g:?} is not a glob: {e}")))?;
        }
        for (key, v) in [
            ("min_score", self.min_score),
            ("min_margin", self.min_margin),
            ("min_confidence", self.min_confidence),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Invalid::new(
                    format!("fix.{key}"),
                    format!("expected a number from 0 to 1, found {v}"),
                ));
            }
        }
        if self.playwright.command.is_empty() {
            return Err(Invalid::new(
                "fix.playwright.command",
                "expected a program and its arguments, found an empty list",
            ));
        }
        if let Some(r) = &self.reference {
            r.validate()?;
        }
        if !self.branch_prefix.contains('/') || self.branch_prefix.starts_with('/') {
            return Err(Invalid::new(
                "fix.branch_prefix",
                format!(
                    "expected a prefix like \"ci-medic/fix-\", found {:?}",
                    self.branch_prefix
                ),
            ));
        }
        Ok(())
    }
}

/// `[fix.live]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// The app's base URL; a test's `page.goto('/path')` is resolved against it.
    pub base_url: String,
    /// Playwright's storage state (cookies) to sign in with.
    pub storage_state: Option<PathBuf>,
    /// Time limit for one page.
    #[serde(default = "default_live_timeout", with = "super::duration")]
    pub timeout: Duration,
}

fn default_live_timeout() -> Duration {
    Duration::from_secs(60)
}

/// `[fix.reference]`: how to start the app at another commit. The failing
/// tests are rerun there with tracing, and each locator's element is read
/// from the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceConfig {
    /// The commit the tests last passed at (default: `ci-medic fix --base`,
    /// else the merge-base of HEAD with the default branch).
    pub commit: Option<String>,
    /// The program and arguments that start the app, run in the reference
    /// checkout and stopped (with everything it started) afterwards.
    pub command: Vec<String>,
    /// Polled until it answers 2xx; then the tests run.
    pub url: String,
    /// Variables for the app and the Playwright run (`E2E_BASE_URL = "…"`).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Variables passed through from this process, by name (secrets stay out of the file).
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// How long the app may take to answer.
    #[serde(default = "default_ready", with = "super::duration")]
    pub ready_timeout: Duration,
}

fn default_ready() -> Duration {
    Duration::from_secs(60)
}

impl ReferenceConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.command.is_empty() {
            return Err(Invalid::new(
                "fix.reference.command",
                "expected a program and its arguments, found an empty list",
            ));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(Invalid::new(
                "fix.reference.url",
                format!("expected an http:// or https:// URL, found {:?}", self.url),
            ));
        }
        Ok(())
    }
}
