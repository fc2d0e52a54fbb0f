//! The `[heal]` table of `.ci-medic.toml`: when self-heal may run and the only
//! actions it may take. Every default is the safe one: manual runs only, two
//! attempts, and no action at all until the repository declares it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnose::analysis::HealAction;
use crate::diagnose::taxonomy::ErrorType;

/// Where a repository keeps its configuration.
pub const CONFIG_FILE: &str = ".ci-medic.toml";

/// The configuration's errors: the file, the key and what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was expected and found, and where (key, line, column).
        message: String,
    },
}

/// `.ci-medic.toml` as far as self-heal reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    heal: Option<HealConfig>,
    #[serde(default)]
    fix: Option<toml::Value>,
    #[serde(default)]
    dashboard: Option<toml::Value>,
    #[serde(default)]
    comment: Option<toml::Value>,
}

/// The `[heal]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default = "default_timeout", with = "duration")]
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
    #[serde(default, with = "opt_duration")]
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

/// Reads the `[heal]` table of `path`; a missing file or table is the default.
pub fn load(path: &Path) -> Result<HealConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HealConfig::default()),
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
pub fn parse(path: &Path, text: &str) -> Result<HealConfig, ConfigError> {
    let file: File = toml::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        message: describe(text, &e),
    })?;
    let heal = file.heal.unwrap_or_default();
    validate(&heal).map_err(|message| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    })?;
    Ok(heal)
}

pub(crate) fn describe(text: &str, e: &toml::de::Error) -> String {
    let at = e.span().map(|s| {
        let before = &text[..s.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!(" (line {line}, column {col})")
    });
    format!("{}{}", e.message(), at.unwrap_or_default())
}

/// What the types cannot say.
fn validate(h: &HealConfig) -> Result<(), String> {
    if h.playwright.command.is_empty() {
        return Err("heal.playwright.command: expected a command (a list of arguments), found an empty list".into());
    }
    if !(0.0..=1.0).contains(&h.min_confidence) {
        return Err(format!(
            "heal.min_confidence: expected a number from 0 to 1, found {}",
            h.min_confidence
        ));
    }
    for (action, a) in &h.actions {
        let key = format!("heal.actions.{}", action.as_str());
        let needs_run = matches!(
            action,
            HealAction::ReseedData | HealAction::RestartApp | HealAction::ReinstallBrowsers
        );
        if needs_run && a.run.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(format!(
                "{key}.run: expected the repository's command for {}, found none",
                action.as_str()
            ));
        }
        if matches!(action, HealAction::WaitForHealth | HealAction::RestartApp) {
            match a.health_url.as_deref() {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {}
                Some(u) => {
                    return Err(format!(
                        "{key}.health_url: expected an http(s) URL, found {u:?}"
                    ));
                }
                None => {
                    return Err(format!(
                        "{key}.health_url: expected the URL that answers 2xx when the app is healthy, found none"
                    ));
                }
            }
        }
        if *action == HealAction::RegenerateStorageState && a.run.is_none() && a.login.is_none() {
            return Err(format!(
                "{key}: expected a `login` flow (or a `run` command), found neither"
            ));
        }
        for name in &a.env {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "{key}.env: expected environment variable names, found {name:?}"
                ));
            }
        }
    }
    Ok(())
}

/// `"15m"`, `"90s"`, `"1h30m"` or a number of seconds.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.as_secs()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => parse(&t).ok_or_else(|| {
                D::Error::custom(format!(
                    "expected a duration like \"90s\", \"15m\" or \"1h30m\", found {t:?}"
                ))
            }),
        }
    }

    pub(super) fn parse(t: &str) -> Option<Duration> {
        let mut total = 0u64;
        let mut num = String::new();
        for c in t.trim().chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let n: u64 = num.parse().ok()?;
            num.clear();
            total += n * match c {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return None,
            };
        }
        if !num.is_empty() || total == 0 {
            return None;
        }
        Some(Duration::from_secs(total))
    }
}

mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::duration")] Duration);
        Ok(Some(W::deserialize(d)?.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let h = parse(Path::new(".ci-medic.toml"), "").expect("empty is fine");
        assert_eq!(h.events, ["workflow_dispatch"]);
        assert_eq!(h.max_attempts, 2);
        assert!(h.actions.is_empty(), "nothing runs until declared");
        assert!(!h.eligible.contains(&ErrorType::SelectorDrift));
    }

    #[test]
    fn actions_are_read_and_checked() {
        let h = parse(
            Path::new(".ci-medic.toml"),
            r#"
[heal]
timeout = "10m"
[heal.actions.reseed_data]
run = "cargo run -p demo-app -- seed --data-dir data"
timeout = "2m"
env = ["DATABASE_URL"]
[heal.actions.rerun_failed]
"#,
        )
        .expect("valid");
        assert_eq!(h.timeout, Duration::from_secs(600));
        let seed = &h.actions[&HealAction::ReseedData];
        assert_eq!(seed.timeout, Some(Duration::from_secs(120)));
        assert!(h.actions.contains_key(&HealAction::RerunFailed));
        for (text, needle) in [
            (
                "[heal.actions.reseed_data]\n",
                "heal.actions.reseed_data.run: expected",
            ),
            (
                "[heal.actions.wait_for_health]\nhealth_url = \"localhost\"\n",
                "expected an http(s) URL",
            ),
            (
                "[heal.actions.drop_database]\nrun = \"x\"\n",
                "unknown variant `drop_database`",
            ),
            ("[heal]\ntimeout = \"soon\"\n", "expected a duration"),
            ("[heal]\nmax_attempt = 3\n", "unknown field `max_attempt`"),
            ("[heal]\neligible = [\"everything\"]\n", "line 2"),
        ] {
            let e = parse(Path::new(".ci-medic.toml"), text)
                .expect_err(text)
                .to_string();
            assert!(
                e.contains(needle) && e.starts_with(".ci-medic.toml: "),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration::parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(duration::parse("45s"), Some(Duration::from_secs(45)));
        assert_eq!(duration::parse("45"), None);
        assert_eq!(duration::parse("0s"), None);
    }
}
