//! `.ci-medic.toml`, read once into one typed [`Config`]: `[heal]` (when
//! self-heal may act and how), `[fix]` (what the fix-agent may edit),
//! `[dashboard]` and `[comment]` (the report's defaults) and `[redact]` (the
//! repository's extra redaction rules). A missing file or table is the default,
//! and every default is the safe one. An invalid file is an error that names
//! the file, the key and the line.

mod fix;
mod heal;
mod report;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use fix::{FixConfig, LiveConfig, ReferenceConfig};
pub use heal::{ActionConfig, HealConfig, LoginFlow, PlaywrightConfig};
pub use report::{CommentConfig, DashboardConfig, RedactConfig, valid_comment_key};

/// Where a repository keeps its configuration.
pub const CONFIG_FILE: &str = ".ci-medic.toml";

/// Where a repository keeps its own redaction rules unless `[redact] rules` says otherwise.
pub const REDACT_RULES_FILE: &str = ".ci-medic/redact.toml";

/// The whole of `.ci-medic.toml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[heal]`.
    #[serde(default)]
    pub heal: HealConfig,
    /// `[fix]`.
    #[serde(default)]
    pub fix: FixConfig,
    /// `[dashboard]`.
    #[serde(default)]
    pub dashboard: DashboardConfig,
    /// `[comment]`.
    #[serde(default)]
    pub comment: CommentConfig,
    /// `[redact]`.
    #[serde(default)]
    pub redact: RedactConfig,
}

/// The configuration's errors: the file, the key and the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}{at}: {key}{sep}{message}", path = path.display(), at = line.map(|l| format!(":{l}")).unwrap_or_default(), sep = if key.is_empty() { "" } else { ": " })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key (`heal.min_confidence`), empty when the syntax is at fault.
        key: String,
        /// The line (1-based), when the key is written in the file.
        line: Option<usize>,
        /// What was expected and what was found.
        message: String,
    },
}

/// A value the types accept but the product does not: its key and why.
#[derive(Debug)]
pub(crate) struct Invalid {
    key: String,
    message: String,
}

impl Invalid {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Reads `path`; a missing file is the default configuration.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(source) => {
            return Err(ConfigError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(path, &text)
}

/// Parses a configuration file's text (`path` names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        ConfigError::Invalid {
            path: path.to_owned(),
            key: String::new(),
            line,
            message: e.message().trim_end().to_owned(),
        }
    })?;
    config
        .heal
        .validate()
        .and_then(|()| config.fix.validate())
        .and_then(|()| config.dashboard.validate())
        .and_then(|()| config.comment.validate())
        .map_err(|Invalid { key, message }| ConfigError::Invalid {
            path: path.to_owned(),
            line: line_of(text, &key),
            key,
            message,
        })?;
    Ok(config)
}

/// The line a dotted key (`heal.actions.reseed_data.run`) is written on, or its
/// nearest written parent's (a table header, or an inline table's key).
fn line_of(text: &str, key: &str) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut found = None;
    for part in key.split('.') {
        let Some((k, v)) = table.get_key_value(part) else {
            break;
        };
        let span = if k.span().is_empty() {
            v.span()
        } else {
            k.span()
        };
        found = Some(span.start);
        match v.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found.map(|at| text[..at.min(text.len())].matches('\n').count() + 1)
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

    pub(crate) fn parse(t: &str) -> Option<Duration> {
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

    /// The same, optional.
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] Duration);
            Ok(Some(W::deserialize(d)?.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::diagnose::analysis::HealAction;
    use crate::diagnose::taxonomy::ErrorType;

    fn err(text: &str) -> ConfigError {
        parse(Path::new(".ci-medic.toml"), text).expect_err(text)
    }

    #[test]
    fn an_empty_file_is_every_safe_default() {
        let c = parse(Path::new(".ci-medic.toml"), "").expect("empty is fine");
        assert_eq!(c, Config::default());
        assert_eq!(c.heal.events, ["workflow_dispatch"]);
        assert_eq!(c.heal.max_attempts, 2);
        assert!(c.heal.actions.is_empty(), "nothing runs until declared");
        assert!(!c.heal.eligible.contains(&ErrorType::SelectorDrift));
        assert!(!c.fix.open_pr);
        assert_eq!(c.redact.rules, PathBuf::from(".ci-medic/redact.toml"));
    }

    #[test]
    fn every_section_is_read_from_one_file() {
        let c = parse(
            Path::new(".ci-medic.toml"),
            r#"
[heal]
timeout = "10m"
[heal.actions.reseed_data]
run = "cargo run -p demo-app -- seed --data-dir data"
timeout = "2m"
env = ["DATABASE_URL"]
[heal.actions.rerun_failed]
[fix]
max_files = 2
timeout = "90s"
[dashboard]
history_max_runs = 30
include_traces = true
[comment]
key = "chromium"
max_failures = 5
[redact]
rules = "ci/secrets.toml"
"#,
        )
        .expect("valid");
        assert_eq!(c.heal.timeout, Duration::from_secs(600));
        let seed = &c.heal.actions[&HealAction::ReseedData];
        assert_eq!(seed.timeout, Some(Duration::from_secs(120)));
        assert!(c.heal.actions.contains_key(&HealAction::RerunFailed));
        assert_eq!(
            (c.fix.max_files, c.fix.timeout),
            (2, Duration::from_secs(90))
        );
        assert_eq!(c.dashboard.history_max_runs, Some(30));
        assert_eq!(c.dashboard.include_traces, Some(true));
        assert_eq!(c.comment.key.as_deref(), Some("chromium"));
        assert_eq!(c.comment.max_failures, Some(5));
        assert_eq!(c.redact.rules, PathBuf::from("ci/secrets.toml"));
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_line() {
        for (text, key, line, needle) in [
            (
                "\n[heal.actions.reseed_data]\n",
                "heal.actions.reseed_data.run",
                2,
                "expected the repository's command",
            ),
            (
                "[heal.actions.wait_for_health]\nhealth_url = \"localhost\"\n",
                "heal.actions.wait_for_health.health_url",
                2,
                "expected an http(s) URL",
            ),
            (
                "[heal]\nmin_confidence = 1.5\n",
                "heal.min_confidence",
                2,
                "from 0 to 1, found 1.5",
            ),
            ("[fix]\n\nmin_score = 2\n", "fix.min_score", 3, "found 2"),
            ("[fix]\nallow = [\"[\"]\n", "fix.allow", 2, "is not a glob"),
            (
                "[fix.reference]\ncommand = [\"npm\", \"start\"]\nurl = \"localhost:3000\"\n",
                "fix.reference.url",
                3,
                "expected an http:// or https:// URL, found \"localhost:3000\"",
            ),
            (
                "[fix.reference]\ncommand = []\nurl = \"http://127.0.0.1:3000\"\n",
                "fix.reference.command",
                2,
                "found an empty list",
            ),
            (
                "[fix]\nbranch_prefix = \"fix\"\n",
                "fix.branch_prefix",
                2,
                "expected a prefix",
            ),
            (
                "[dashboard]\nhistory_max_runs = 0\n",
                "dashboard.history_max_runs",
                2,
                "from 1 to 10000",
            ),
            (
                "[comment]\nkey = \"a b\"\n",
                "comment.key",
                2,
                "letters, digits",
            ),
        ] {
            match err(text) {
                ConfigError::Invalid {
                    key: k,
                    line: l,
                    message,
                    ..
                } => {
                    assert_eq!((k.as_str(), l), (key, Some(line)), "{text}");
                    assert!(message.contains(needle), "{text}: {message}");
                }
                other => panic!("{text}: {other}"),
            }
        }
        let shown = err("[heal]\nmin_confidence = 1.5\n").to_string();
        assert_eq!(
            shown,
            ".ci-medic.toml:2: heal.min_confidence: expected a number from 0 to 1, found 1.5"
        );
    }

    #[test]
    fn syntax_and_type_errors_carry_the_line_too() {
        for (text, line, needle) in [
            (
                "[heal.actions.drop_database]\nrun = \"x\"\n",
                1,
                "unknown variant `drop_database`",
            ),
            ("[heal]\ntimeout = \"soon\"\n", 2, "expected a duration"),
            (
                "[heal]\nmax_attempt = 3\n",
                2,
                "unknown field `max_attempt`",
            ),
            (
                "[heal]\neligible = [\"everything\"]\n",
                2,
                "unknown variant",
            ),
            ("[fix]\nmax_file = 2\n", 2, "unknown field `max_file`"),
            ("[dashbord]\n", 1, "unknown field `dashbord`"),
            ("[heal\n", 1, ""),
        ] {
            let e = err(text);
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!(".ci-medic.toml:{line}: ")) && shown.contains(needle),
                "{text}: {shown}"
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
