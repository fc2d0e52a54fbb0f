//! Redaction: secrets never leave the runner (DESIGN.md §5.5).
//!
//! Two kinds of secrets are masked in every text the collector writes:
//! the *values* of secret-like environment variables (found literally, with
//! Aho-Corasick), and *shapes* of well-known secrets (GitHub and AWS tokens, JWTs,
//! bearer tokens, `Authorization` and `Cookie` headers, passwords in URLs,
//! `password=…` pairs, private keys). A mask reads `[redacted:<kind>]`; only
//! counts per kind are reported, never a value.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};

use crate::model::RedactionReport;

/// Env values shorter than this are not treated as secrets (`1`, `true`, `dev`).
pub const MIN_SECRET_LEN: usize = 6;

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

/// One secret shape: a kind, a regex, and the capture group to mask (0: all).
struct Shape {
    kind: &'static str,
    group: usize,
    pattern: &'static str,
}

/// Word boundaries are ASCII (`(?-u:\b)`) so the patterns run on the lazy DFA.
/// Value characters stop at quotes, backslashes and whitespace so that a mask never
/// swallows the structure around a value (JSON quoting, `; ` separators).
const SHAPES: [Shape; 11] = [
    Shape {
        kind: "private_key",
        group: 0,
        pattern: r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    },
    Shape {
        kind: "github_token",
        group: 0,
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})(?-u:\b)",
    },
    Shape {
        kind: "aws_access_key",
        group: 0,
        pattern: r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?-u:\b)",
    },
    Shape {
        kind: "aws_secret_key",
        group: 1,
        pattern: r#"(?i)aws.{0,20}?(?:secret|key).{0,20}?[=:]\s*["']?([A-Za-z0-9/+=]{40})(?-u:\b)"#,
    },
    Shape {
        kind: "jwt",
        group: 0,
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}",
    },
    Shape {
        kind: "authorization",
        group: 1,
        pattern: r#"(?i)(?-u:\b)(?:proxy-)?authorization["']?\s*[:=]\s*["']?((?:basic|bearer|token|digest)\s+[^\s"'\\]+|[^\s"'\\]{6,})"#,
    },
    Shape {
        kind: "bearer_token",
        group: 1,
        pattern: r"(?i)(?-u:\b)bearer\s+([A-Za-z0-9._~+/=-]{8,})",
    },
    Shape {
        kind: "cookie",
        group: 1,
        pattern: r#"(?i)(?-u:\b)(?:set-)?cookie["']?\s*[:=]\s*["']?([^\r\n"\\]+)"#,
    },
    Shape {
        kind: "url_password",
        group: 1,
        pattern: r"(?-u:\b)[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]+:([^\s@/]+)@",
    },
    Shape {
        kind: "password",
        group: 1,
        pattern: r#"(?i)(?-u:\b)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)["']?\s*[=:]\s*["']?([^\s"'&,;\\]{4,})"#,
    },
    Shape {
        kind: "slack_token",
        group: 0,
        pattern: r"(?-u:\b)xox[abprs]-[A-Za-z0-9-]{10,}",
    },
];

/// Masks secrets and counts what it masked.
#[derive(Debug)]
pub struct Redactor {
    literals: Option<AhoCorasick>,
    set: RegexSet,
    shapes: Vec<(&'static str, usize, Regex)>,
    literal_count: AtomicUsize,
    shape_counts: Vec<AtomicUsize>,
}

impl Redactor {
    /// A redactor for the given secret values (e.g. from [`secrets_from_env`]).
    pub fn new(secret_values: impl IntoIterator<Item = String>) -> Redactor {
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
        let set = RegexSet::new(SHAPES.iter().map(|s| s.pattern)).expect("built-in shapes compile");
        let shapes = SHAPES
            .iter()
            .map(|s| {
                (
                    s.kind,
                    s.group,
                    Regex::new(s.pattern).expect("built-in shapes compile"),
                )
            })
            .collect();
        Redactor {
            literals,
            set,
            shapes,
            literal_count: AtomicUsize::new(0),
            shape_counts: SHAPES.iter().map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// A redactor for the secret-like variables of this process's environment.
    pub fn from_process_env() -> Redactor {
        Redactor::new(secrets_from_env(std::env::vars()))
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
        // The DFA answers "any secret here?" fast; only then find which.
        if !self.set.is_match(&out) {
            return out;
        }
        let matched = self.set.matches(&out);
        for i in matched.iter() {
            let (kind, group, re) = &self.shapes[i];
            let mut n = 0;
            let replaced = re.replace_all(&out, |caps: &regex::Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                match caps.get(*group) {
                    // Already masked by an earlier kind: leave it.
                    Some(m) if m.as_str().starts_with("[redacted:") => whole.to_owned(),
                    Some(m) => {
                        n += 1;
                        let start = m.start() - caps.get(0).map_or(0, |w| w.start());
                        let end = start + m.len();
                        format!("{}[redacted:{kind}]{}", &whole[..start], &whole[end..])
                    }
                    None => whole.to_owned(),
                }
            });
            if n > 0 {
                self.shape_counts[i].fetch_add(n, Ordering::Relaxed);
                out = Cow::Owned(replaced.into_owned());
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
        for (i, (kind, _, _)) in self.shapes.iter().enumerate() {
            let n = self.shape_counts[i].load(Ordering::Relaxed);
            if n > 0 {
                *by_kind.entry((*kind).to_owned()).or_insert(0) += n;
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
                "github_token",
            ),
            ("key AKIAIOSFODNN7EXAMPLE here", "aws_access_key"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_key",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            ("Authorization: Basic dXNlcjpwYXNz", "authorization"),
            ("sent bearer abcdef123456789", "bearer_token"),
            ("Cookie: demo_session=abc123; other=xyz", "cookie"),
            ("postgres://app:hunter22@db:5432/app", "url_password"),
            ("login with password=correct-horse", "password"),
            ("xoxb-1234567890-abcdefghij", "slack_token"),
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
            "GET https://user:[redacted:url_password]@example.com/x"
        );
        assert_eq!(
            r.redact(r#"{"Authorization": "Bearer abc.def.ghi123"}"#),
            r#"{"Authorization": "[redacted:authorization]"}"#
        );
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
