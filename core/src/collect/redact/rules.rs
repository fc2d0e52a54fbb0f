//! Secret rules: the built-in set and a repository's `.ci-medic/redact.toml`,
//! both in gitleaks' rule format so that rules written for gitleaks work here
//! unchanged (`id`, `description`, `regex`, `secretGroup`, `entropy`, `keywords`,
//! `allowlists`/`allowlist` with `regexes` and `stopwords`; `tags` and `path` are
//! accepted and ignored, a rule needs a `regex`).

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

/// The built-in rules (`builtin.toml`).
pub const BUILTIN: &str = include_str!("builtin.toml");

/// A rules file that cannot be used; says which file, rule and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{}expected {expected}, found {found}", rule.as_ref().map(|r| format!("rule '{r}', ")).unwrap_or_default(), field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct RuleError {
    /// The file (or `built-in rules`).
    pub file: String,
    /// The rule's id (or its position, `#3`), when one rule is at fault.
    pub rule: Option<String>,
    /// The field, when one field is at fault.
    pub field: Option<String>,
    /// What belongs there.
    pub expected: String,
    /// What is there instead.
    pub found: String,
}

/// A rules file: rules, a global allowlist, and built-in rules to switch off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    allowlist: Option<AllowSpec>,
    #[serde(default)]
    allowlists: Vec<AllowSpec>,
    /// ci-medic's own key: built-in rule ids not to run.
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: Option<String>,
    #[serde(default)]
    description: Option<String>,
    regex: Option<String>,
    #[serde(default, rename = "secretGroup")]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    allowlist: Option<AllowSpec>,
    #[serde(default)]
    allowlists: Vec<AllowSpec>,
    #[serde(default)]
    #[allow(dead_code)]
    tags: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    /// gitleaks' `regexTarget`: only `secret` (the default) is supported.
    #[serde(default, rename = "regexTarget")]
    regex_target: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    condition: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    paths: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    commits: Vec<String>,
}

/// What makes a match not a secret.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// A secret matching any of these is left alone.
    pub regexes: Vec<Regex>,
    /// A secret containing any of these (ASCII case-insensitive) is left alone.
    pub stopwords: Vec<String>,
}

impl Allowlist {
    /// Whether `secret` is allowed (not to be masked).
    pub fn allows(&self, secret: &str) -> bool {
        self.regexes.iter().any(|re| re.is_match(secret))
            || (!self.stopwords.is_empty() && {
                let lower = secret.to_ascii_lowercase();
                self.stopwords.iter().any(|w| lower.contains(w.as_str()))
            })
    }

    fn extend(&mut self, other: Allowlist) {
        self.regexes.extend(other.regexes);
        self.stopwords.extend(other.stopwords);
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id, also the mask's kind: `[redacted:<id>]`.
    pub id: String,
    /// What it finds.
    pub description: String,
    /// The pattern (word boundaries made ASCII, so it runs on the DFA).
    pub regex: Regex,
    /// The capture group that is the secret: set, else the first group, else the match.
    pub secret_group: Option<usize>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f64>,
    /// Lowercased prefilter words; empty: the rule runs on every text.
    pub keywords: Vec<String>,
    /// What this rule leaves alone.
    pub allowlist: Allowlist,
}

impl Rule {
    /// Runs after every non-generic rule.
    pub fn is_generic(&self) -> bool {
        self.id.starts_with("generic-")
    }
}

/// A parsed rules file.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// The file it was read from, as errors name it.
    pub file: String,
    /// Its rules, in file order.
    pub rules: Vec<Rule>,
    /// What no rule masks.
    pub allowlist: Allowlist,
    /// Built-in rule ids the file switches off.
    pub disabled: Vec<String>,
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        RuleSet::parse(BUILTIN, "built-in rules")
    }

    /// Reads and parses a repository's rules file.
    pub fn read(path: &Path) -> Result<RuleSet, RuleError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RuleError {
            file: file.clone(),
            rule: None,
            field: None,
            expected: "a readable TOML rules file".to_owned(),
            found: e.to_string(),
        })?;
        RuleSet::parse(&text, &file)
    }

    /// Parses `text`, naming `file` in errors.
    pub fn parse(text: &str, file: &str) -> Result<RuleSet, RuleError> {
        let err =
            |rule: Option<String>, field: Option<&str>, expected: &str, found: String| RuleError {
                file: file.to_owned(),
                rule,
                field: field.map(str::to_owned),
                expected: expected.to_owned(),
                found,
            };
        let spec: FileSpec = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            err(
                None,
                None,
                "a rules file (TOML: [[rules]] with id and regex, [allowlist], disabled_rules)",
                format!("{}{at}", e.message()),
            )
        })?;
        let _ = spec.title;
        let mut allowlist = Allowlist::default();
        for (i, a) in spec
            .allowlist
            .into_iter()
            .chain(spec.allowlists)
            .enumerate()
        {
            allowlist.extend(compile_allow(a, &format!("allowlist[{i}]"), None, &err)?);
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(spec.rules.len());
        for (i, r) in spec.rules.into_iter().enumerate() {
            let name = r.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            let who = Some(name.clone());
            let id = match r.id {
                Some(id) if !id.trim().is_empty() => id,
                _ => {
                    return Err(err(
                        who,
                        Some("id"),
                        "a non-empty rule id",
                        "none".to_owned(),
                    ));
                }
            };
            if rules.iter().any(|x| x.id == id) {
                return Err(err(
                    who,
                    Some("id"),
                    "an id used once",
                    "a second rule with it".to_owned(),
                ));
            }
            let Some(pattern) = r.regex else {
                return Err(err(
                    who,
                    Some("regex"),
                    "a regular expression (rules that only match paths do not apply to text)",
                    "none".to_owned(),
                ));
            };
            let regex = Regex::new(&ascii_word_boundaries(&pattern)).map_err(|e| {
                err(
                    who.clone(),
                    Some("regex"),
                    "a regular expression",
                    format!("{pattern:?}: {e}"),
                )
            })?;
            if let Some(g) = r.secret_group
                && g >= regex.captures_len()
            {
                return Err(err(
                    who,
                    Some("secretGroup"),
                    &format!(
                        "a capture group of the regex (0 to {})",
                        regex.captures_len() - 1
                    ),
                    g.to_string(),
                ));
            }
            if let Some(e) = r.entropy
                && !(0.0..=8.0).contains(&e)
            {
                return Err(err(
                    who,
                    Some("entropy"),
                    "bits per byte between 0 and 8",
                    e.to_string(),
                ));
            }
            if let Some(k) = r.keywords.iter().position(|k| k.is_empty()) {
                return Err(err(
                    who,
                    Some(&format!("keywords[{k}]")),
                    "a non-empty word",
                    "\"\"".to_owned(),
                ));
            }
            let mut rule_allow = Allowlist::default();
            for (j, a) in r.allowlist.into_iter().chain(r.allowlists).enumerate() {
                rule_allow.extend(compile_allow(
                    a,
                    &format!("allowlists[{j}]"),
                    who.clone(),
                    &err,
                )?);
            }
            rules.push(Rule {
                id,
                description: r.description.unwrap_or_default(),
                regex,
                secret_group: r.secret_group,
                entropy: r.entropy,
                keywords: r.keywords.iter().map(|k| k.to_ascii_lowercase()).collect(),
                allowlist: rule_allow,
            });
        }
        Ok(RuleSet {
            file: file.to_owned(),
            rules,
            allowlist,
            disabled: spec.disabled_rules,
        })
    }
}

fn compile_allow(
    a: AllowSpec,
    field: &str,
    rule: Option<String>,
    err: &impl Fn(Option<String>, Option<&str>, &str, String) -> RuleError,
) -> Result<Allowlist, RuleError> {
    if let Some(t) = a.regex_target.as_deref()
        && t != "secret"
    {
        return Err(err(
            rule,
            Some(&format!("{field}.regexTarget")),
            "\"secret\" (allowlist regexes are matched against the secret)",
            format!("{t:?}"),
        ));
    }
    let mut regexes = Vec::with_capacity(a.regexes.len());
    for (k, re) in a.regexes.iter().enumerate() {
        regexes.push(Regex::new(re).map_err(|e| {
            err(
                rule.clone(),
                Some(&format!("{field}.regexes[{k}]")),
                "a regular expression",
                format!("{re:?}: {e}"),
            )
        })?);
    }
    Ok(Allowlist {
        regexes,
        stopwords: a.stopwords.iter().map(|w| w.to_ascii_lowercase()).collect(),
    })
}

/// `\b` as an ASCII word boundary (`(?-u:\b)`), as gitleaks' RE2 means it: the
/// regex crate's Unicode `\b` would keep the pattern off its fast DFA.
fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('b') => out.push_str("(?-u:\\b)"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Shannon entropy of `s` in bits per byte.
pub fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_compile_and_have_unique_ids() {
        let set = RuleSet::builtin().expect("built-in rules");
        assert!(set.rules.len() >= 60, "{}", set.rules.len());
        let providers = set.rules.iter().filter(|r| !r.is_generic()).count();
        assert!(providers >= 55, "{providers}");
        for r in &set.rules {
            assert!(!r.description.is_empty(), "{}", r.id);
        }
    }

    #[test]
    fn word_boundaries_become_ascii_and_escapes_survive() {
        assert_eq!(
            ascii_word_boundaries(r"\bghp_\d+\b"),
            r"(?-u:\b)ghp_\d+(?-u:\b)"
        );
        assert_eq!(ascii_word_boundaries(r"a\\b"), r"a\\b");
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(entropy("0123456789abcdef0123456789abcdef01234567") <= 4.0);
    }

    #[test]
    fn mistakes_name_the_file_rule_and_field() {
        let cases = [
            (
                "[[rules]]\nid = \"a\"\nregex = \"(\"\n",
                "rule 'a', field `regex`",
            ),
            ("[[rules]]\nregex = \"x\"\n", "rule '#1', field `id`"),
            ("[[rules]]\nid = \"a\"\n", "rule 'a', field `regex`"),
            (
                "[[rules]]\nid = \"a\"\nregex = \"x\"\nsecretGroup = 2\n",
                "field `secretGroup`",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = \"x\"\nentropy = 9.5\n",
                "field `entropy`",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = \"x\"\n[[rules]]\nid = \"a\"\nregex = \"y\"\n",
                "an id used once",
            ),
            (
                "[allowlist]\nregexes = [\"[\"]\n",
                "field `allowlist[0].regexes[0]`",
            ),
            (
                "[[rules]]\nid = \"a\"\nregex = \"x\"\n[[rules.allowlists]]\nregexTarget = \"line\"\n",
                "regexTarget",
            ),
            (
                "[[rules]]\nid = \"a\"\nregx = \"x\"\n",
                "unknown field `regx`",
            ),
            ("disabled_rules = \"jwt\"\n", "(line 1)"),
        ];
        for (text, want) in cases {
            let e = RuleSet::parse(text, ".ci-medic/redact.toml")
                .expect_err(text)
                .to_string();
            assert!(e.starts_with(".ci-medic/redact.toml: "), "{e}");
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
