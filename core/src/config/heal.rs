//! The `[heal]` table of `.ci-medic.toml`: when self-heal may run and the only
//! actions it may take. Every default is the safe one: manual runs only, two
//! attempts, and no action at all until the repository declares it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnose::analysis::HealAction;
use crate::diagnose::taxonomy::ErrorType;

use super::Invalid;

/// The `[heal]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealConfig {
    /// Events that may trigger self-heal (`GITHUB_EVENT_NAME`).
    #[serde(default = "default_events")]
    pub events: Vec<String>,
    /// Error types self-heal may act on.
    #[serde(default = "default_eligible")]
    pub eligible: Vec<ErrorType>,
    /// Failures classified below this confidence are not acted on.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// Heal attempts for one workflow run, over all its reruns.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The whole execution's time limit (`"15m"`, `"90s"`).
    #[serde(default = "default_timeout", with = "super::duration")]
    pub timeout: Duration,
    /// How the failing tests are rerun.
    #[serde(default)]
    pub playwright: PlaywrightConfig,
    /// The actions this repository allows, by name. Only these ever run.
    #[serde(default)]
    pub actions: BTreeMap<HealAction, ActionConfig>,
}

impl Default for HealConfig {
    fn default() -> HealConfig {
        HealConfig {
            events: default_events(),
            eligible: default_eligible(),
            min_confidence: default_min_confidence(),
            max_attempts: default_max_attempts(),
            timeout: default_timeout(),
            playwright: PlaywrightConfig::default(),
            actions: BTreeMap::new(),
        }
    }
}

/// How Playwright is run for a rerun.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaywrightConfig {
    /// The command, as arguments (no shell): the test files and flags are appended.
    #[serde(default = "default_playwright")]
    pub command: Vec<String>,
    /// Where it runs, relative to the repository root.
    #[serde(default = "default_dir")]
    pub cwd: PathBuf,
    /// Environment variables it may see (besides PATH and HOME).
    #[serde(default)]
    pub env: Vec<String>,
    /// Reporters for the rerun (JSON is always added, into the rerun's directory).
    #[serde(default = "default_reporters")]
    pub reporters: Vec<String>,
}

impl PlaywrightConfig {
    /// The arguments of a rerun of `targets` (`file`, test line, project): the
    /// configured command's arguments, each test as `file:line` once, its
    /// projects, the configured reporters plus JSON, and Playwright's output directory.
    pub fn rerun_args<'a>(
        &self,
        targets: impl IntoIterator<Item = (&'a str, Option<u32>, &'a str)>,
        output: &Path,
    ) -> Vec<String> {
        let mut args: Vec<String> = self.command[1..].to_vec();
        let mut seen = std::collections::BTreeSet::new();
        let mut projects = std::collections::BTreeSet::new();
        for (file, line, project) in targets {
            let arg = match line {
                Some(l) => format!("{file}:{l}"),
                None => file.to_owned(),
            };
            if seen.insert(arg.clone()) {
                args.push(arg);
            }
            if !project.is_empty() {
                projects.insert(project.to_owned());
            }
        }
        for p in projects {
            args.push(format!("--project={p}"));
        }
        let mut reporters = self.reporters.clone();
        if !reporters.iter().any(|r| r == "json") {
            reporters.push("json".into());
        }
        args.push(format!("--reporter={}", reporters.join(",")));
        args.push(format!("--output={}", output.display()));
        args
    }
}

impl Default for PlaywrightConfig {
    fn default() -> PlaywrightConfig {
        PlaywrightConfig {
            command: default_playwright(),
            cwd: default_dir(),
            env: Vec::new(),
            reporters: default_reporters(),
        }
    }
}

/// One declared action: a command of the repository's (`run`), or a builtin's
/// settings. Which keys apply depends on the action (see the README).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The repository's command, run with `sh -c` in `cwd` (for `reseed_data`,
    /// `restart_app` (started in the background), `reinstall_browsers`, or instead
    /// of any builtin).
    pub run: Option<String>,
    /// Time limit of the action (default 5 minutes).
    #[serde(default, with = "super::duration::option")]
    pub timeout: Option<Duration>,
    /// Where it runs, relative to the repository root.
    pub cwd: Option<PathBuf>,
    /// Environment variables it may see (besides PATH and HOME); nothing else is passed.
    #[serde(default)]
    pub env: Vec<String>,
    /// `wait_for_health` and `restart_app`: the URL that answers 2xx when healthy.
    pub health_url: Option<String>,
    /// `regenerate_storage_state`: the login flow.
    pub login: Option<LoginFlow>,
}

/// A login flow for `regenerate_storage_state` and `ci-medic auth`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFlow {
    /// The login page.
    pub url: String,
    /// CSS selector of the user name field.
    pub username_selector: String,
    /// CSS selector of the password field.
    pub password_selector: String,
    /// CSS selector of the submit button.
    pub submit_selector: String,
    /// Environment variable holding the user name.
    pub username_env: String,
    /// Environment variable holding the password.
    pub password_env: String,
    /// Signed in when the URL contains this…
    pub success_url_contains: Option<String>,
    /// …or this CSS selector is on the page.
    pub success_selector: Option<String>,
    /// Where to write Playwright's storage state.
    pub storage_state: PathBuf,
}

fn default_events() -> Vec<String> {
    vec!["workflow_dispatch".to_owned()]
}

fn default_eligible() -> Vec<ErrorType> {
    vec![
        ErrorType::TimeoutFlaky,
        ErrorType::AuthState,
        ErrorType::DataSeed,
        ErrorType::ServerUnavailable,
        ErrorType::NetworkFlake,
        ErrorType::BrowserCrash,
    ]
}

fn default_min_confidence() -> f64 {
    0.6
}

fn default_max_attempts() -> u32 {
    2
}

fn default_timeout() -> Duration {
    Duration::from_secs(15 * 60)
}

fn default_playwright() -> Vec<String> {
    ["npx", "playwright", "test"].map(str::to_owned).to_vec()
}

fn default_dir() -> PathBuf {
    PathBuf::from(".")
}

fn default_reporters() -> Vec<String> {
    vec!["list".to_owned()]
}

impl HealConfig {
    /// What the types cannot say.
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.playwright.command.is_empty() {
            return Err(Invalid::new(
                "heal.playwright.command",
                "expected a command (a list of arguments), found an empty list",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(Invalid::new(
                "heal.min_confidence",
                format!(
                    "expected a number from 0 to 1, found {}",
                    self.min_confidence
                ),
            ));
        }
        for (action, a) in &self.actions {
            let key = format!("heal.actions.{}", action.as_str());
            let needs_run = matches!(
                action,
                HealAction::ReseedData | HealAction::RestartApp | HealAction::ReinstallBrowsers
            );
            if needs_run && a.run.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(Invalid::new(
                    format!("{key}.run"),
                    format!(
                        "expected the repository's command for {}, found none",
                        action.as_str()
                    ),
                ));
            }
            if matches!(action, HealAction::WaitForHealth | HealAction::RestartApp) {
                match a.health_url.as_deref() {
                    Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                    Some(u) => {
                        return Err(Invalid::new(
                            format!("{key}.health_url"),
                            format!("expected an http(s) URL, found {u:?}"),
                        ));
                    }
                    None => {
                        return Err(Invalid::new(
                            format!("{key}.health_url"),
                            "expected the URL that answers 2xx when the app is healthy, found none",
                        ));
                    }
                }
            }
            if *action == HealAction::RegenerateStorageState && a.run.is_none() && a.login.is_none()
            {
                return Err(Invalid::new(
                    key,
                    "expected a `login` flow (or a `run` command), found neither",
                ));
            }
            for name in &a.env {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(Invalid::new(
                        format!("{key}.env"),
                        format!("expected environment variable names, found {name:?}"),
                    ));
                }
            }
        }
        Ok(())
    }
}
