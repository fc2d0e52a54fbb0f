//! Redaction: secrets never leave the runner.
//!
//! Two kinds of secrets are masked in every text ci-medic writes or sends: the
//! *values* of secret-like environment variables (found literally, with
//! Aho-Corasick), and secrets found by *rules* ([`rules`]): over eighty
//! provider token formats and generic credential shapes, in gitleaks' rule
//! format, plus a repository's own `.ci-medic/redact.toml`. One pass per text: an
//! Aho-Corasick scan for the rules' keywords picks the few rules whose regex can
//! match; a text with none of them costs that one scan. A mask reads
//! `[redacted:<rule id>]`; only counts per rule are reported, never a value.

pub mod rules;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::model::RedactionReport;
pub use rules::{Allowlist, Rule, RuleError, RuleSet, entropy};

/// Env values shorter than this are not treated as secrets (`1`, `true`, `dev`).
pub const MIN_SECRET_LEN: usize = 6;

/// Where a repository keeps its own rules and allowlist.
pub use crate::config::REDACT_RULES_FILE as REPO_RULES_FILE;

/// Name fragments that make an environment variable secret-like.
const SECRET_NAME_PARTS: [&str; 14] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "AUTH",
    "COOKIE",
    "SESSION",
    "DSN",
];

/// Values of secret-like variables that are configuration, not secrets.
const NOT_SECRETS: [&str; 4] = ["true", "false", "null", "undefined"];

/// Whether an environment variable's name marks its value as a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
        || upper.ends_with("_KEY")
        || upper == "KEY"
        || upper.ends_with("_PWD")
}

/// Masks secrets and counts what it masked.
#[derive(Debug)]
pub struct Redactor {
    literals: Option<AhoCorasick>,
    /// Provider rules first, then the generic ones.
    rules: Vec<Rule>,
    /// Every rule keyword, ASCII case-insensitive.
    keywords: AhoCorasick,
    /// For each keyword, the rules it enables.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: they run on every text.
    always: Vec<usize>,
    allowlist: Allowlist,
    literal_count: AtomicUsize,
    counts: Vec<AtomicUsize>,
}

impl Redactor {
    /// A redactor with the built-in rules for the given secret values (e.g.
    /// from [`secrets_from_env`]).
    pub fn new(secret_values: impl IntoIterator<Item = String>) -> Redactor {
        Redactor::with_rules(secret_values, None).expect("the built-in rules compile")
    }

    /// A redactor with the built-in rules and `repo`'s rules (which add rules,
    /// replace a built-in rule of the same id, switch built-in rules off and
    /// allowlist false positives).
    pub fn with_rules(
        secret_values: impl IntoIterator<Item = String>,
        repo: Option<RuleSet>,
    ) -> Result<Redactor, RuleError> {
        let builtin = RuleSet::builtin()?;
        let repo = repo.unwrap_or_default();
        if let Some(unknown) = repo
            .disabled
            .iter()
            .find(|id| !builtin.rules.iter().any(|r| &r.id == *id))
        {
            return Err(RuleError {
                file: repo.file.clone(),
                rule: None,
                field: Some("disabled_rules".to_owned()),
                expected: "ids of built-in rules".to_owned(),
                found: format!("{unknown:?}, which is not one"),
            });
        }
        let mut allowlist = builtin.allowlist;
        allowlist.regexes.extend(repo.allowlist.regexes);
        allowlist.stopwords.extend(repo.allowlist.stopwords);
        let replaced: Vec<String> = repo.rules.iter().map(|r| r.id.clone()).collect();
        let (generic, specific): (Vec<Rule>, Vec<Rule>) = builtin
            .rules
            .into_iter()
            .filter(|r| !repo.disabled.contains(&r.id) && !replaced.contains(&r.id))
            .chain(repo.rules)
            .partition(Rule::is_generic);
        let rules: Vec<Rule> = specific.into_iter().chain(generic).collect();

        let mut words: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
            }
            for k in &r.keywords {
                match words.iter().position(|w| w == k) {
                    Some(at) => keyword_rules[at].push(i),
                    None => {
                        words.push(k.clone());
                        keyword_rules.push(vec![i]);
                    }
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .expect("keywords always build");

        let mut values: Vec<String> = secret_values
            .into_iter()
            .filter(|v| v.len() >= MIN_SECRET_LEN && !NOT_SECRETS.contains(&v.as_str()))
            .collect();
        values.sort();
        values.dedup();
        let literals = (!values.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&values)
                .expect("literal patterns always build")
        });
        Ok(Redactor {
            literals,
            counts: rules.iter().map(|_| AtomicUsize::new(0)).collect(),
            rules,
            keywords,
            keyword_rules,
            always,
            allowlist,
            literal_count: AtomicUsize::new(0),
        })
    }

    /// A redactor for the secret-like variables of this process's environment,
    /// with the built-in rules.
    pub fn from_process_env() -> Redactor {
        Redactor::new(secrets_from_env(std::env::vars()))
    }

    /// A redactor for this process's environment with the rules of the
    /// repository at `root` (its `[redact] rules` file, by default
    /// `.ci-medic/redact.toml`, when there is one).
    pub fn for_repo(
        root: &Path,
        config: &crate::config::RedactConfig,
    ) -> Result<Redactor, RuleError> {
        let file = root.join(&config.rules);
        let repo = if file.is_file() {
            Some(RuleSet::read(&file)?)
        } else {
            None
        };
        Redactor::with_rules(secrets_from_env(std::env::vars()), repo)
    }

    /// The ids of the rules it runs, in order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// `text` with every secret masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        if let Some(ac) = &self.literals
            && ac.is_match(text)
        {
            let mut n = 0;
            let mut replaced = String::with_capacity(text.len());
            ac.replace_all_with(text, &mut replaced, |_, _, dst| {
                n += 1;
                dst.push_str("[redacted:env]");
                true
            });
            self.literal_count.fetch_add(n, Ordering::Relaxed);
            out = Cow::Owned(replaced);
        }
        // One keyword scan decides which rules may match at all.
        let mut candidates: Option<Vec<bool>> = None;
        for m in self.keywords.find_overlapping_iter(out.as_ref()) {
            let c = candidates.get_or_insert_with(|| vec![false; self.rules.len()]);
            for &i in &self.keyword_rules[m.pattern().as_usize()] {
                c[i] = true;
            }
        }
        if candidates.is_none() && self.always.is_empty() {
            return out;
        }
        let mut candidates = candidates.unwrap_or_else(|| vec![false; self.rules.len()]);
        for &i in &self.always {
            candidates[i] = true;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if !candidates[i] || !rule.regex.is_match(&out) {
                continue;
            }
            let mut n = 0;
            let replaced = rule
                .regex
                .replace_all(&out, |caps: &regex::Captures<'_>| {
                    let whole = caps.get(0).map_or("", |m| m.as_str());
                    let secret = match rule.secret_group {
                        Some(g) => caps.get(g),
                        None => (1..caps.len()).find_map(|g| caps.get(g)).or(caps.get(0)),
                    };
                    let Some(secret) = secret else {
                        return whole.to_owned();
                    };
                    let value = secret.as_str();
                    if value.is_empty()
                        || value.starts_with("[redacted:")
                        || rule.entropy.is_some_and(|min| entropy(value) < min)
                        || rule.allowlist.allows(value)
                        || self.allowlist.allows(value)
                    {
                        return whole.to_owned();
                    }
                    n += 1;
                    let start = secret.start() - caps.get(0).map_or(0, |w| w.start());
                    let end = start + secret.len();
                    format!("{}[redacted:{}]{}", &whole[..start], rule.id, &whole[end..])
                })
                .into_owned();
            if n > 0 {
                self.counts[i].fetch_add(n, Ordering::Relaxed);
                out = Cow::Owned(replaced);
            }
        }
        out
    }

    /// Redacts a string in place.
    pub fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(new) = self.redact(text) {
            *text = new;
        }
    }

    /// Redacts every string of a JSON value (keys are left alone).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => self.redact_in_place(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    /// How much was masked so far.
    pub fn report(&self) -> RedactionReport {
        let mut by_kind = BTreeMap::new();
        let env = self.literal_count.load(Ordering::Relaxed);
        if env > 0 {
            by_kind.insert("env".to_owned(), env);
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let n = self.counts[i].load(Ordering::Relaxed);
            if n > 0 {
                *by_kind.entry(rule.id.clone()).or_insert(0) += n;
            }
        }
        RedactionReport {
            masked: by_kind.values().sum(),
            by_kind,
        }
    }
}

/// The values of secret-like variables among `vars`.
pub fn secrets_from_env(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    vars.into_iter()
        .filter(|(name, value)| is_secret_name(name) && value.len() >= MIN_SECRET_LEN)
        .map(|(_, value)| value)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new([
            "s3cr3t-value-from-env".to_owned(),
            "short".to_owned(),
            "true".to_owned(),
        ])
    }

    #[test]
    fn secret_names() {
        for name in [
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "STRIPE_API_KEY",
            "SESSION_SECRET",
            "SENTRY_DSN",
            "E2E_PWD",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "PWD", "CI", "GITHUB_SHA", "KEYBOARD_LAYOUT"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn every_shape_is_masked_and_counted() {
        let r = redactor();
        let cases = [
            (
                "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used",
                "github-pat",
            ),
            ("key AKIAIOSFODNN7EXAMPLE here", "aws-access-key-id"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws-secret-access-key",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            ("Authorization: Basic dXNlcjpwYXNz", "authorization-header"),
            ("sent bearer abcdef123456789", "bearer-token"),
            ("Cookie: demo_session=abc123; other=xyz", "cookie-header"),
            ("postgres://app:hunter22@db:5432/app", "url-credentials"),
            ("login with password=correct-horse", "generic-password"),
            ("xoxb-1234567890-abcdefghij", "slack-token"),
            ("value s3cr3t-value-from-env in a log", "env"),
        ];
        for (text, kind) in cases {
            let before = r.report().by_kind.get(kind).copied().unwrap_or(0);
            let out = r.redact(text);
            assert!(out.contains(&format!("[redacted:{kind}]")), "{kind}: {out}");
            assert!(
                r.report().by_kind.get(kind).copied().unwrap_or(0) > before,
                "{kind} counted"
            );
        }
        assert_eq!(
            r.redact("nothing to see, true, short"),
            "nothing to see, true, short"
        );
    }

    #[test]
    fn masks_keep_the_text_around_them() {
        let r = redactor();
        assert_eq!(
            r.redact("GET https://user:pa55word@example.com/x"),
            "GET https://user:[redacted:url-credentials]@example.com/x"
        );
        assert_eq!(
            r.redact(r#"{"Authorization": "Bearer abc.def.ghi123"}"#),
            r#"{"Authorization": "[redacted:authorization-header]"}"#
        );
    }

    #[test]
    fn generic_credentials_need_entropy_and_passwords_do_not() {
        let r = redactor();
        for kept in [
            "token: expired",
            "api_key=aaaaaaaaaaaaaaaa",
            "SyntaxError: Unexpected token: }",
            "password: ${{ secrets.E2E_PASSWORD }}",
            "secret_name=my_secret_name",
        ] {
            assert_eq!(r.redact(kept), kept, "kept as is");
        }
        for masked in [
            "client_secret: 8Jf2kLq9ZxR4vT1m",
            r#""apiKey": "Zx8k2Lq9Jf4vR7tM""#,
            "//registry.npmjs.org/:_authToken=9fK2mQ7xZ4vL8tR1",
            "DB_PASSWORD=hunter22",
        ] {
            assert!(r.redact(masked).contains("[redacted:"), "{masked}");
        }
    }

    #[test]
    fn a_repository_adds_rules_allowlists_and_switches_rules_off() {
        let repo = RuleSet::parse(
            r#"
            disabled_rules = ["jwt"]
            [[rules]]
            id = "acme-internal-token"
            description = "Acme's own API tokens"
            regex = '\bacme_[0-9a-f]{24}\b'
            keywords = ["acme_"]
            [allowlist]
            regexes = ['^AKIAIOSFODNN7EXAMPLE$']
            "#,
            ".ci-medic/redact.toml",
        )
        .expect("valid");
        let r = Redactor::with_rules(Vec::new(), Some(repo)).expect("rules");
        assert_eq!(
            r.redact("auth acme_0123456789abcdef01234567 ok"),
            "auth [redacted:acme-internal-token] ok"
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N";
        assert_eq!(r.redact(jwt), jwt, "jwt switched off");
        assert_eq!(
            r.redact("AKIAIOSFODNN7EXAMPLE"),
            "AKIAIOSFODNN7EXAMPLE",
            "allowlisted"
        );
        assert!(
            r.redact("AKIAIOSFODNN7EXAMPLF")
                .contains("[redacted:aws-access-key-id]")
        );
        let bad = RuleSet::parse(
            "disabled_rules = [\"no-such-rule\"]",
            ".ci-medic/redact.toml",
        )
        .expect("parses");
        let e = Redactor::with_rules(Vec::new(), Some(bad)).expect_err("unknown id");
        assert!(e.to_string().contains("disabled_rules"), "{e}");
    }

    #[test]
    fn ids_hashes_urls_and_error_texts_survive() {
        let r = Redactor::new([]);
        let screenshot = format!(
            "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAyAAAAA4CAIAAAB{}",
            "xK9pQ2mZ7vR4tL8wN3jF6hB1cD5gS0aE".repeat(40)
        );
        let kept = [
            "commit 0123456789abcdef0123456789abcdef01234567 on main",
            "sha: 9fceb02d0ae598e95dc970b74767f19372d61af8",
            "request 3f2b8c1e-4a5d-4e6f-9a0b-1c2d3e4f5a6b failed",
            "x-request-id: 550e8400-e29b-41d4-a716-446655440000",
            "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            r#"{"sha256":"5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"}"#,
            "chromium › auth/token-refresh.spec.ts:12:5 › refreshes the token › keeps the session",
            screenshot.as_str(),
            "GET https://example.com/api/items?page=2&sort=name 200",
            "git@github.com:acme/shop.git",
            "Timeout 10000ms exceeded while waiting for getByTestId('api-key-input')",
            "The API key field is required",
            r#"locator('#password') resolved to <input id="password" name="password" type="password"/>"#,
            r#"Expected string: "Save settings" Received string: "Update Settings""#,
            "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:3000/login",
            "trace: test-results/items-adds-an-item-chromium-retry1/trace.zip",
            "Set the PASSWORD variable in the repository's secrets",
            "keyboard: press Enter; primaryKey: id",
            "TypeError: Cannot read properties of undefined (reading 'token')",
        ];
        for text in kept {
            assert_eq!(r.redact(text), text);
        }
        assert_eq!(r.report().masked, 0, "{:?}", r.report());
    }

    #[test]
    fn json_strings_are_redacted_everywhere() {
        let r = redactor();
        let mut v = serde_json::json!({"a": ["x s3cr3t-value-from-env"], "b": {"c": "Cookie: a=b"}, "n": 1});
        r.redact_json(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("s3cr3t-value-from-env") && !text.contains("a=b"),
            "{text}"
        );
        assert_eq!(r.report().masked, 2);
    }
}
