//! Classification rules: the data file format, its validation, and the compiled
//! form that matches every field of a failure with one `RegexSet` pass.
//!
//! The built-in rules are `core/rules/builtin.toml`, compiled into the binary.
//! A repository adds or overrides rules in `.ci-medic/rules.toml` (same format):
//! a rule with the id of a built-in one replaces it, `enabled = false` switches
//! it off.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use std::sync::Arc;

use regex::bytes::{Regex, RegexBuilder};
use regex_automata::{MatchKind, PatternSet, meta, util::syntax};
use serde::Deserialize;

use crate::diagnose::knowledge::{self, TemplatePattern};
use crate::diagnose::taxonomy::ErrorType;

/// The built-in rules, as shipped.
pub const BUILTIN_RULES: &str = include_str!("../../../rules/builtin.toml");

/// Where the built-in rules say they come from in error messages.
pub const BUILTIN_RULES_NAME: &str = "<builtin>/core/rules/builtin.toml";

/// The confidence below which a failure is `unknown`, unless a rules file says otherwise.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.5;

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the rules format.
    #[error("{path}: expected a rules file (TOML with [[rule]] tables), found an error: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// One rule is invalid.
    #[error("{path}: rule {rule}, field `{field}`: {message}")]
    Rule {
        /// The file.
        path: String,
        /// The rule's id (or `#n` when it has none).
        rule: String,
        /// The offending field.
        field: String,
        /// What was expected and what was found.
        message: String,
    },
}

/// Where a pattern looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The error message(s), without call log, source excerpt or stack.
    Message,
    /// The `Call log:` lines.
    CallLog,
    /// The source excerpt (`> 12 | await …`).
    Source,
    /// Stack frames.
    Stack,
    /// What the test printed (stdout, stderr, browser diagnostics) and inline attachments.
    Output,
    /// The ARIA snapshot of the page at failure (error-context.md).
    Page,
    /// Error windows of backend and app logs (run-wide).
    Backend,
    /// The test's id: project, file and title path.
    Test,
    /// All of the above, as one text.
    Any,
}

impl Field {
    /// Every field, in evaluation order.
    pub const ALL: [Field; 9] = [
        Field::Message,
        Field::CallLog,
        Field::Source,
        Field::Stack,
        Field::Output,
        Field::Page,
        Field::Backend,
        Field::Test,
        Field::Any,
    ];

    /// The name used in rules files and evidence.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Message => "message",
            Field::CallLog => "call_log",
            Field::Source => "source",
            Field::Stack => "stack",
            Field::Output => "output",
            Field::Page => "page",
            Field::Backend => "backend",
            Field::Test => "test",
            Field::Any => "any",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    /// Whether `any` patterns look in this field: the texts Playwright, the
    /// browser and the app produced, not the test's own code or name (which
    /// quote status codes and error names without having seen them) nor the
    /// run-wide backend log.
    pub const fn in_any(self) -> bool {
        matches!(
            self,
            Field::Message | Field::CallLog | Field::Stack | Field::Output | Field::Page
        )
    }
}

impl FromStr for Field {
    type Err = ();
    fn from_str(s: &str) -> Result<Field, ()> {
        Field::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structural fact about a failure, computed from the bundle rather than matched in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    /// An attempt ran past the test timeout.
    TimedOut,
    /// The test failed, then passed on a retry.
    PassedOnRetry,
    /// The test was retried and failed every time.
    FailedEveryAttempt,
    /// The failure is in a setup project or a setup file.
    SetupProject,
    /// An error outside any test (global setup, config, webServer).
    RunError,
    /// Playwright captured the page (an ARIA snapshot) at failure.
    HasPageSnapshot,
    /// Playwright wrote an error context but could not capture the page.
    PageSnapshotMissing,
    /// The call log waited for a locator that never resolved to an element.
    LocatorUnresolved,
    /// The page at failure has an element close to the failing locator.
    SimilarElementOnPage,
    /// Most failures of the run could not reach the app.
    ServerDownRunWide,
    /// Most failures of the run landed on a login page.
    LoginPageRunWide,
    /// The missing element is a record that a data_seed failure of the same run found missing.
    MissingSeedRecord,
    /// A retrying assertion saw different wrong values: the page had not settled.
    ValueChangedWhileRetrying,
    /// The locator matched nothing, yet the page shows every text the
    /// assertion expected: the content is there, the locator lost it.
    ExpectedTextOnPage,
}

impl Fact {
    /// Every fact.
    pub const ALL: [Fact; 14] = [
        Fact::TimedOut,
        Fact::PassedOnRetry,
        Fact::FailedEveryAttempt,
        Fact::SetupProject,
        Fact::RunError,
        Fact::HasPageSnapshot,
        Fact::PageSnapshotMissing,
        Fact::LocatorUnresolved,
        Fact::SimilarElementOnPage,
        Fact::ServerDownRunWide,
        Fact::LoginPageRunWide,
        Fact::MissingSeedRecord,
        Fact::ValueChangedWhileRetrying,
        Fact::ExpectedTextOnPage,
    ];

    /// The name used in rules files and evidence.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fact::TimedOut => "timed_out",
            Fact::PassedOnRetry => "passed_on_retry",
            Fact::FailedEveryAttempt => "failed_every_attempt",
            Fact::SetupProject => "setup_project",
            Fact::RunError => "run_error",
            Fact::HasPageSnapshot => "has_page_snapshot",
            Fact::PageSnapshotMissing => "page_snapshot_missing",
            Fact::LocatorUnresolved => "locator_unresolved",
            Fact::SimilarElementOnPage => "similar_element_on_page",
            Fact::ServerDownRunWide => "server_down_run_wide",
            Fact::LoginPageRunWide => "login_page_run_wide",
            Fact::MissingSeedRecord => "missing_seed_record",
            Fact::ValueChangedWhileRetrying => "value_changed_while_retrying",
            Fact::ExpectedTextOnPage => "expected_text_on_page",
        }
    }

    /// A bit for fact sets.
    pub const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl FromStr for Fact {
    type Err = ();
    fn from_str(s: &str) -> Result<Fact, ()> {
        Fact::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

/// A set of facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts(u32);

impl Facts {
    /// Adds `fact`.
    pub fn insert(&mut self, fact: Fact) {
        self.0 |= fact.bit();
    }
    /// Whether `fact` holds.
    pub fn contains(self, fact: Fact) -> bool {
        self.0 & fact.bit() != 0
    }
    /// The facts that hold, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Fact> {
        Fact::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: Option<u32>,
    #[serde(default)]
    settings: Option<SettingsSpec>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    min_confidence: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: Option<String>,
    error_type: Option<String>,
    weight: Option<f64>,
    why: Option<String>,
    enabled: Option<bool>,
    #[serde(default, rename = "match")]
    matches: BTreeMap<String, Patterns>,
    #[serde(default)]
    unless: BTreeMap<String, Patterns>,
    #[serde(default)]
    facts: Vec<String>,
    #[serde(default)]
    not_facts: Vec<String>,
}

/// One pattern or a list of patterns.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Patterns {
    One(String),
    Many(Vec<String>),
}

impl Patterns {
    fn into_vec(self) -> Vec<String> {
        match self {
            Patterns::One(p) => vec![p],
            Patterns::Many(v) => v,
        }
    }
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, quoted in evidence.
    pub id: String,
    /// The type this rule votes for.
    pub error_type: ErrorType,
    /// How likely the type is right when only this rule fires, in (0, 1).
    pub weight: f64,
    /// One line on why the signal means what it means.
    pub why: String,
    /// Patterns per field: every field must match one of its patterns.
    pub matches: Vec<(Field, Vec<String>)>,
    /// Patterns per field: no field may match any of its patterns.
    pub unless: Vec<(Field, Vec<String>)>,
    /// Facts that must hold.
    pub facts: Vec<Fact>,
    /// Facts that must not hold.
    pub not_facts: Vec<Fact>,
    /// Where the rule came from.
    pub origin: RuleOrigin,
    /// For a rule made from a catalog message (`core/knowledge/`): its
    /// template as a pattern on the message, matched apart from the field sets.
    pub catalog: Option<TemplatePattern>,
}

/// Where a rule was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOrigin {
    /// Shipped with ci-medic.
    Builtin,
    /// The repository's rules file.
    User,
}

/// A parsed rules file: its rules, the ids it disables, and its settings.
#[derive(Debug, Clone, Default)]
pub struct RulesFile {
    /// Enabled rules.
    pub rules: Vec<Rule>,
    /// Ids switched off with `enabled = false`.
    pub disabled: Vec<String>,
    /// `settings.min_confidence`, when given.
    pub min_confidence: Option<f64>,
}

impl RulesFile {
    /// Parses and validates a rules file's text; `name` is used in errors.
    pub fn parse(name: &str, text: &str, origin: RuleOrigin) -> Result<RulesFile, RulesError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| RulesError::Syntax {
            path: name.to_owned(),
            message: e.to_string().trim().replace('\n', " ").replace("  ", " "),
        })?;
        let err = |rule: &str, field: &str, message: String| RulesError::Rule {
            path: name.to_owned(),
            rule: rule.to_owned(),
            field: field.to_owned(),
            message,
        };
        if let Some(v) = file.version
            && v != 1
        {
            return Err(RulesError::Syntax {
                path: name.to_owned(),
                message: format!("version: expected 1, found {v}"),
            });
        }
        let min_confidence = file.settings.and_then(|s| s.min_confidence);
        if let Some(m) = min_confidence
            && !(0.0..=1.0).contains(&m)
        {
            return Err(err(
                "-",
                "settings.min_confidence",
                format!("expected a number in [0, 1], found {m}"),
            ));
        }
        let mut out = RulesFile {
            min_confidence,
            ..RulesFile::default()
        };
        let mut seen = HashMap::new();
        for (n, spec) in file.rules.into_iter().enumerate() {
            let label = match &spec.id {
                Some(id) => format!("'{id}' (#{})", n + 1),
                None => format!("#{}", n + 1),
            };
            let id = spec
                .id
                .clone()
                .ok_or_else(|| err(&label, "id", "expected a string id, found none".into()))?;
            if id.trim().is_empty() || id.chars().any(char::is_whitespace) {
                return Err(err(
                    &label,
                    "id",
                    format!("expected a non-empty id without spaces, found {id:?}"),
                ));
            }
            if let Some(prev) = seen.insert(id.clone(), n + 1) {
                return Err(err(
                    &label,
                    "id",
                    format!("expected a unique id, found the same id as rule #{prev}"),
                ));
            }
            if spec.enabled == Some(false) {
                out.disabled.push(id);
                continue;
            }
            out.rules.push(validate(&label, id, spec, origin, &err)?);
        }
        Ok(out)
    }

    /// Reads and parses a rules file from disk.
    pub fn load(path: &Path) -> Result<RulesFile, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.to_owned(),
            source,
        })?;
        RulesFile::parse(&path.display().to_string(), &text, RuleOrigin::User)
    }
}

fn validate(
    label: &str,
    id: String,
    spec: RuleSpec,
    origin: RuleOrigin,
    err: &dyn Fn(&str, &str, String) -> RulesError,
) -> Result<Rule, RulesError> {
    let type_name = spec.error_type.ok_or_else(|| {
        err(
            label,
            "error_type",
            "expected one of the error types, found none".into(),
        )
    })?;
    let error_type = ErrorType::from_str(&type_name)
        .ok()
        .filter(|t| *t != ErrorType::Unknown)
        .ok_or_else(|| {
            let names: Vec<_> = ErrorType::ALL[..12].iter().map(|t| t.as_str()).collect();
            err(
                label,
                "error_type",
                format!("expected one of {}, found {type_name:?}", names.join(", ")),
            )
        })?;
    let weight = spec.weight.ok_or_else(|| {
        err(
            label,
            "weight",
            "expected a number in (0, 1), found none".into(),
        )
    })?;
    if !(weight > 0.0 && weight < 1.0) {
        return Err(err(
            label,
            "weight",
            format!("expected a number strictly between 0 and 1, found {weight}"),
        ));
    }
    let why = spec.why.filter(|w| !w.trim().is_empty()).ok_or_else(|| {
        err(
            label,
            "why",
            "expected a one-line explanation, found none".into(),
        )
    })?;
    let fields = |table: BTreeMap<String, Patterns>,
                  section: &str|
     -> Result<Vec<(Field, Vec<String>)>, RulesError> {
        let mut out = Vec::new();
        for (name, patterns) in table {
            let field = Field::from_str(&name).map_err(|()| {
                let names: Vec<_> = Field::ALL.iter().map(|f| f.as_str()).collect();
                err(
                    label,
                    &format!("{section}.{name}"),
                    format!("expected one of {}, found {name:?}", names.join(", ")),
                )
            })?;
            let patterns = patterns.into_vec();
            if patterns.is_empty() {
                return Err(err(
                    label,
                    &format!("{section}.{name}"),
                    "expected at least one pattern, found an empty list".into(),
                ));
            }
            for (i, p) in patterns.iter().enumerate() {
                if let Err(e) = pattern_syntax(p) {
                    return Err(err(
                        label,
                        &format!("{section}.{name}[{i}]"),
                        format!(
                            "expected a regular expression, found {p:?}: {}",
                            e.to_string().lines().last().unwrap_or("invalid").trim()
                        ),
                    ));
                }
            }
            out.push((field, patterns));
        }
        Ok(out)
    };
    let matches = fields(spec.matches, "match")?;
    let unless = fields(spec.unless, "unless")?;
    let facts = |names: Vec<String>, section: &str| -> Result<Vec<Fact>, RulesError> {
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| {
                Fact::from_str(&n).map_err(|()| {
                    let all: Vec<_> = Fact::ALL.iter().map(|f| f.as_str()).collect();
                    err(
                        label,
                        &format!("{section}[{i}]"),
                        format!("expected one of {}, found {n:?}", all.join(", ")),
                    )
                })
            })
            .collect()
    };
    let required = facts(spec.facts, "facts")?;
    let forbidden = facts(spec.not_facts, "not_facts")?;
    if matches.is_empty() && required.is_empty() {
        return Err(err(
            label,
            "match",
            "expected at least one `match.<field>` pattern or a `facts` entry, found neither"
                .into(),
        ));
    }
    Ok(Rule {
        id,
        error_type,
        weight,
        why,
        matches,
        unless,
        facts: required,
        not_facts: forbidden,
        origin,
        catalog: None,
    })
}

/// Run-level signals looked for in the same pass as the rules' patterns: what
/// one failure shows and the run-level passes count across all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The app could not be reached (connection refused, gateway errors).
    ServerDown,
    /// A login screen in the page snapshot or the received value.
    LoginPage,
    /// An empty list or table on the page or in the received value.
    EmptyState,
    /// A page saying the record does not exist.
    NotFoundPage,
    /// A connection that had reached the server was dropped.
    Dropped,
    /// A connection was refused: nothing listened.
    Refused,
}

impl Signal {
    /// Every signal, in bit order.
    pub const ALL: [Signal; 6] = [
        Signal::ServerDown,
        Signal::LoginPage,
        Signal::EmptyState,
        Signal::NotFoundPage,
        Signal::Dropped,
        Signal::Refused,
    ];

    /// The pattern of the signal.
    const fn pattern(self) -> &'static str {
        match self {
            Signal::ServerDown => {
                r"ERR_CONNECTION_REFUSED|ECONNREFUSED|connection refused|ERR_EMPTY_RESPONSE|refused to connect|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out"
            }
            Signal::LoginPage => {
                r#"textbox "(password|passwort|mot de passe)"|heading "(sign in|log ?in|login)|Received(: | string: )\s*"(sign in|log ?in|login)"#
            }
            Signal::EmptyState => super::run::EMPTY_STATE_PATTERN,
            Signal::NotFoundPage => super::run::NOT_FOUND_PAGE_PATTERN,
            Signal::Dropped => super::run::DROPPED_PATTERN,
            Signal::Refused => super::run::REFUSED_PATTERN,
        }
    }

    /// Whether the signal is looked for in `field`.
    const fn looks_in(self, field: Field) -> bool {
        match self {
            // Connections: wherever a network error is printed.
            Signal::ServerDown | Signal::Dropped | Signal::Refused => matches!(
                field,
                Field::Message | Field::CallLog | Field::Output | Field::Page
            ),
            // What the page showed, or the value an assertion received.
            Signal::LoginPage | Signal::EmptyState | Signal::NotFoundPage => {
                matches!(field, Field::Message | Field::Page)
            }
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Patterns are case-insensitive (ASCII) and `^`/`$` match at line boundaries.
///
/// Classes (`\w`, `\s`, `\b`, `.`) are ASCII/byte-wide: failure texts are
/// matched as bytes, which keeps one lazy DFA over hundreds of patterns small and
/// fast; non-ASCII literals in patterns still match their UTF-8 bytes.
pub(super) fn pattern_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .case_insensitive(true)
        .multi_line(true)
        .size_limit(1 << 22)
        .build()
}

/// Checks a pattern's syntax with the same flags as [`pattern_regex`], without
/// building a matcher: loading the rules parses every pattern, and only the
/// field sets need compiling.
fn pattern_syntax(pattern: &str) -> Result<(), String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .case_insensitive(true)
        .multi_line(true)
        .build()
        .parse(pattern)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// One field's patterns as one multi-pattern matcher reporting every match.
fn compile_set(patterns: &[String]) -> Result<meta::Regex, RulesError> {
    meta::Regex::builder()
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(false)
                .case_insensitive(true)
                .multi_line(true),
        )
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::All)
                .utf8_empty(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None)
                .nfa_size_limit(Some(1 << 26))
                .hybrid_cache_capacity(1 << 26),
        )
        .build_many(patterns)
        .map_err(|e| RulesError::Syntax {
            path: "rules".into(),
            message: format!("the patterns do not compile together: {e}"),
        })
}

/// One pattern of a field, compiled when first needed.
#[derive(Debug, Clone)]
struct Single {
    pattern: String,
    regex: std::sync::OnceLock<Option<Regex>>,
}

impl Single {
    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| pattern_regex(&self.pattern).ok())
            .as_ref()
    }
}

/// A condition of a compiled rule: one field and the indices of its patterns in
/// that field's set.
#[derive(Debug, Clone)]
struct Condition {
    field: Field,
    patterns: Vec<usize>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    rule: Rule,
    /// The id and the why, shared by every piece of evidence quoting the rule.
    id: Arc<str>,
    why: Arc<str>,
    matches: Vec<Condition>,
    unless: Vec<Condition>,
    /// For a catalog rule: its index in [`Catalog`].
    known: Option<usize>,
}

/// The catalog rules' templates: one Aho-Corasick pass over a failure's
/// message for their literal anchors, then each hit's template confirmed. Kept
/// apart from the field sets so hundreds of templates cost neither the lazy
/// DFA's states nor a cold start.
#[derive(Debug, Clone)]
struct Catalog {
    anchors: aho_corasick::AhoCorasick,
    /// Per anchor: the templates (indices into `patterns`) it starts.
    by_anchor: Vec<Vec<usize>>,
    patterns: Vec<Single>,
}

impl Catalog {
    fn build(templates: &[&TemplatePattern]) -> Result<Option<Catalog>, RulesError> {
        if templates.is_empty() {
            return Ok(None);
        }
        let mut anchors: Vec<String> = Vec::new();
        let mut by_anchor: Vec<Vec<usize>> = Vec::new();
        for (i, t) in templates.iter().enumerate() {
            let a = t.anchor.to_ascii_lowercase();
            match anchors.iter().position(|x| *x == a) {
                Some(at) => by_anchor[at].push(i),
                None => {
                    anchors.push(a);
                    by_anchor.push(vec![i]);
                }
            }
        }
        let anchors = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&anchors)
            .map_err(|e| RulesError::Syntax {
                path: knowledge::MESSAGES_PATH.into(),
                message: format!("the catalog's anchors do not compile: {e}"),
            })?;
        Ok(Some(Catalog {
            anchors,
            by_anchor,
            patterns: templates
                .iter()
                .map(|t| Single {
                    pattern: t.pattern.clone(),
                    regex: std::sync::OnceLock::new(),
                })
                .collect(),
        }))
    }

    /// The templates that match `text`, as bits.
    fn scan(&self, text: &str) -> Vec<u64> {
        let mut bits = vec![0u64; self.patterns.len().div_ceil(64)];
        if text.is_empty() {
            return bits;
        }
        let mut tried = vec![0u64; bits.len()];
        for hit in self.anchors.find_overlapping_iter(text) {
            for &t in &self.by_anchor[hit.pattern().as_usize()] {
                if tried[t / 64] & (1 << (t % 64)) != 0 {
                    continue;
                }
                tried[t / 64] |= 1 << (t % 64);
                if self.patterns[t]
                    .regex()
                    .is_some_and(|re| re.is_match(text.as_bytes()))
                {
                    bits[t / 64] |= 1 << (t % 64);
                }
            }
        }
        bits
    }
}

/// The rules made from catalog messages (Playwright's and its language
/// bindings') whose `rule` column says the message is its own rule.
fn catalog_rules() -> Vec<Rule> {
    // Which messages may be rules is the `rule` column's to say
    // (`knowledge::Source::may_be_own_rule`).
    knowledge::messages()
        .iter()
        .chain(knowledge::client_messages())
        .filter(|m| m.rule == knowledge::SELF_RULE && m.error_type != ErrorType::Unknown)
        .filter_map(|m| {
            let catalog = knowledge::template_pattern(&m.message)?;
            Some(Rule {
                id: m.rule_id(),
                error_type: m.error_type,
                weight: m.confidence.weight(),
                why: format!(
                    "Playwright's own message ({}): {}",
                    m.location,
                    m.note.split(';').next().unwrap_or(&m.note).trim()
                ),
                matches: Vec::new(),
                unless: Vec::new(),
                facts: Vec::new(),
                not_facts: Vec::new(),
                origin: RuleOrigin::Builtin,
                catalog: Some(catalog),
            })
        })
        .collect()
}

/// All enabled rules, compiled: one `RegexSet` per field.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// Per field: its set (own patterns, then the `any` patterns, then the
    /// signals it looks for) and the number of own and of `any` patterns.
    sets: Vec<Option<(meta::Regex, usize, usize)>>,
    /// Search states of finished scanners, kept warm for the next ones.
    spare: SparePool,
    /// Where each field's patterns start in a [`Matches`] bitset, and the total.
    offsets: [usize; 10],
    /// Per field: each pattern alone, compiled on first use (to quote the line
    /// a fired rule matched).
    singles: Vec<Vec<Single>>,
    /// The catalog rules' templates.
    catalog: Option<Catalog>,
    /// The hand-written rules' indices, and each catalog template's rule: a
    /// failure matches few of the hundreds of catalog rules, found by its bits.
    hand: Vec<usize>,
    by_template: Vec<usize>,
    /// Failures under this confidence are `unknown`.
    pub min_confidence: f64,
    /// How many rules came from each origin, and which built-ins were replaced or disabled.
    pub info: RuleSetInfo,
}

/// Where the rules of a set came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSetInfo {
    /// Enabled built-in rules.
    pub builtin: usize,
    /// Enabled rules from the repository's file.
    pub user: usize,
    /// The repository's rules file, when one was read.
    pub user_file: Option<String>,
    /// Built-in ids replaced by the repository's file.
    pub overridden: Vec<String>,
    /// Ids switched off.
    pub disabled: Vec<String>,
}

/// The patterns that matched one failure, per field (`any` patterns under
/// `Field::Any`, with the fields they matched in kept for quoting), and the
/// run-level signals seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matches {
    /// One bit per pattern of every field, at [`RuleSet::bit`].
    bits: Vec<u64>,
    /// `(any pattern, field it matched in)`, in field order.
    any_in: Vec<(usize, Field)>,
    signals: u8,
    /// One bit per catalog template that matched the message.
    known: Vec<u64>,
}

impl Matches {
    /// Whether `signal` was seen.
    pub fn has(&self, signal: Signal) -> bool {
        self.signals & signal.bit() != 0
    }

    /// Adds what another scan of the same rules found in other fields (the
    /// run's backend log, scanned once for every failure). The other scan must
    /// not have read a field `any` patterns search: their hits are kept in
    /// field order, which appending would break.
    pub fn merge(&mut self, other: &Matches) {
        debug_assert!(other.any_in.is_empty(), "merged a scan of an `any` field");
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
        for (a, b) in self.known.iter_mut().zip(&other.known) {
            *a |= b;
        }
        self.any_in.extend(other.any_in.iter().copied());
        self.signals |= other.signals;
    }
}

impl RuleSet {
    /// The built-in rules alone.
    pub fn builtin() -> Result<RuleSet, RulesError> {
        RuleSet::with_user(None)
    }

    /// The hand-written built-in rules, without the rules made from catalog
    /// messages: what decides which messages need a rule of their own.
    pub fn hand_written() -> Result<RuleSet, RulesError> {
        let builtin = RulesFile::parse(BUILTIN_RULES_NAME, BUILTIN_RULES, RuleOrigin::Builtin)?;
        let info = RuleSetInfo {
            builtin: builtin.rules.len(),
            ..RuleSetInfo::default()
        };
        RuleSet::compile(
            builtin.rules,
            builtin.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE),
            info,
        )
    }

    /// The built-in rules merged with a repository's rules file.
    pub fn with_user(user: Option<(&str, RulesFile)>) -> Result<RuleSet, RulesError> {
        let builtin = RulesFile::parse(BUILTIN_RULES_NAME, BUILTIN_RULES, RuleOrigin::Builtin)?;
        let mut info = RuleSetInfo::default();
        let mut rules = builtin.rules;
        rules.extend(catalog_rules());
        let mut min_confidence = builtin.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE);
        if let Some((name, user)) = user {
            info.user_file = Some(name.to_owned());
            for id in &user.disabled {
                if rules.iter().any(|r| &r.id == id) {
                    rules.retain(|r| &r.id != id);
                    info.disabled.push(id.clone());
                }
            }
            for rule in user.rules {
                if let Some(pos) = rules.iter().position(|r| r.id == rule.id) {
                    info.overridden.push(rule.id.clone());
                    rules[pos] = rule;
                } else {
                    rules.push(rule);
                }
            }
            if let Some(m) = user.min_confidence {
                min_confidence = m;
            }
        }
        info.builtin = rules
            .iter()
            .filter(|r| r.origin == RuleOrigin::Builtin)
            .count();
        info.user = rules.len() - info.builtin;
        RuleSet::compile(rules, min_confidence, info)
    }

    fn compile(
        rules: Vec<Rule>,
        min_confidence: f64,
        info: RuleSetInfo,
    ) -> Result<RuleSet, RulesError> {
        let mut patterns: Vec<Vec<String>> = vec![Vec::new(); Field::ALL.len()];
        let mut index = |field: Field, p: &str| -> usize {
            let list = &mut patterns[field.index()];
            match list.iter().position(|q| q == p) {
                Some(i) => i,
                None => {
                    list.push(p.to_owned());
                    list.len() - 1
                }
            }
        };
        let mut compiled = Vec::with_capacity(rules.len());
        let mut templates: Vec<&TemplatePattern> = Vec::new();
        let catalog_of: Vec<Option<usize>> = rules
            .iter()
            .map(|r| {
                r.catalog.as_ref().map(|t| {
                    templates.push(t);
                    templates.len() - 1
                })
            })
            .collect();
        let catalog = Catalog::build(&templates)?;
        let template_count = templates.len();
        for (rule, known) in rules.into_iter().zip(catalog_of) {
            let conds = |list: &[(Field, Vec<String>)],
                         index: &mut dyn FnMut(Field, &str) -> usize| {
                list.iter()
                    .map(|(field, ps)| Condition {
                        field: *field,
                        patterns: ps.iter().map(|p| index(*field, p)).collect(),
                    })
                    .collect::<Vec<_>>()
            };
            let matches = conds(&rule.matches, &mut index);
            let unless = conds(&rule.unless, &mut index);
            compiled.push(CompiledRule {
                id: Arc::from(rule.id.as_str()),
                why: Arc::from(rule.why.as_str()),
                rule,
                matches,
                unless,
                known,
            });
        }
        let mut offsets = [0; 10];
        for (f, list) in patterns.iter().enumerate() {
            offsets[f + 1] = offsets[f] + list.len();
        }
        let mut lists = Vec::with_capacity(Field::ALL.len());
        let mut singles = Vec::with_capacity(Field::ALL.len());
        let any = patterns[Field::Any.index()].clone();
        for (f, list) in patterns.iter().enumerate() {
            // Each field's set also holds the `any` patterns (after its own), so
            // every text is scanned once; the `any` field has no text of its own.
            let field = Field::ALL[f];
            let mut combined: Vec<String> = if field == Field::Any {
                Vec::new()
            } else if !field.in_any() {
                list.clone()
            } else {
                list.iter().chain(&any).cloned().collect()
            };
            let any_len = combined.len() - list.len().min(combined.len());
            combined.extend(
                Signal::ALL
                    .iter()
                    .filter(|s| s.looks_in(field))
                    .map(|s| s.pattern().to_owned()),
            );
            singles.push(
                list.iter()
                    .map(|p| Single {
                        pattern: p.clone(),
                        regex: std::sync::OnceLock::new(),
                    })
                    .collect(),
            );
            lists.push((combined, list.len(), any_len));
        }
        // The sets are independent and their compilation is most of a cold start.
        let sets: Vec<Option<(meta::Regex, usize, usize)>> = {
            use rayon::prelude::*;
            lists
                .into_par_iter()
                .map(|(combined, own, any_len)| {
                    if combined.is_empty() {
                        return Ok(None);
                    }
                    compile_set(&combined).map(|set| Some((set, own, any_len)))
                })
                .collect::<Result<_, _>>()?
        };
        let hand = (0..compiled.len())
            .filter(|&i| compiled[i].known.is_none())
            .collect();
        let mut by_template = vec![0; template_count];
        for (i, r) in compiled.iter().enumerate() {
            if let Some(k) = r.known {
                by_template[k] = i;
            }
        }
        Ok(RuleSet {
            rules: compiled,
            hand,
            by_template,
            sets,
            spare: SparePool::default(),
            offsets,
            singles,
            catalog,
            min_confidence,
            info,
        })
    }

    /// Number of enabled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule at `index`.
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    /// Search state for scanning many failures on one thread.
    pub fn scanner(&self) -> Scanner<'_> {
        let state = self.spare.take().unwrap_or_else(|| {
            self.sets
                .iter()
                .map(|s| {
                    s.as_ref()
                        .map(|(re, ..)| (re.create_cache(), PatternSet::new(re.pattern_len())))
                })
                .collect()
        });
        Scanner { rules: self, state }
    }

    /// Runs every field's set once over `texts` (indexed like [`Field::ALL`]).
    pub fn scan(&self, texts: &[&str; 9]) -> Matches {
        self.scanner().scan(texts)
    }

    /// The id and the why of the rule at `index`, shared.
    pub fn shared_text(&self, index: usize) -> (&Arc<str>, &Arc<str>) {
        let r = &self.rules[index];
        (&r.id, &r.why)
    }

    /// The bit of `field`'s pattern `p` in a [`Matches`] bitset.
    fn bit(&self, field: Field, p: usize) -> usize {
        self.offsets[field.index()] + p
    }

    fn matched(&self, m: &Matches, field: Field, p: usize) -> bool {
        let b = self.bit(field, p);
        m.bits.get(b / 64).is_some_and(|w| w & (1 << (b % 64)) != 0)
    }

    /// The indices of the rules that fire given the matched patterns and the
    /// facts. A rule made from a catalog message knows the message alone; it
    /// speaks only when it is surer than every hand-written rule that fired,
    /// which read the message in its context.
    pub fn fired(&self, m: &Matches, facts: Facts) -> Vec<usize> {
        let hit = |c: &Condition| c.patterns.iter().any(|p| self.matched(m, c.field, *p));
        let holds = |r: &CompiledRule| {
            r.matches.iter().all(hit)
                && !r.unless.iter().any(hit)
                && r.rule.facts.iter().all(|f| facts.contains(*f))
                && !r.rule.not_facts.iter().any(|f| facts.contains(*f))
        };
        let mut out: Vec<usize> = self
            .hand
            .iter()
            .copied()
            .filter(|&i| holds(&self.rules[i]))
            .collect();
        let surest_hand = out
            .iter()
            .map(|&i| self.rules[i].rule.weight)
            .fold(0.0, f64::max);
        let before = out.len();
        for (w, word) in m.known.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let k = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(&i) = self.by_template.get(k) else {
                    continue;
                };
                if self.rules[i].rule.weight > surest_hand && holds(&self.rules[i]) {
                    out.push(i);
                }
            }
        }
        if out.len() > before {
            // In rule order, as ties between equal weights are broken.
            out.sort_unstable();
        }
        out
    }

    /// The hand-written rules whose patterns match, whatever the facts say:
    /// the rules that address a text, in some context.
    pub fn addressing(&self, m: &Matches) -> Vec<usize> {
        let hit = |c: &Condition| c.patterns.iter().any(|p| self.matched(m, c.field, *p));
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.known.is_none()
                    && !r.matches.is_empty()
                    && r.matches.iter().all(hit)
                    && !r.unless.iter().any(hit)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The lines that made rule `index` fire: per condition, the first line that
    /// one of its patterns matched, searched for only where `m` says it matched.
    pub fn quotes(&self, index: usize, texts: &[&str; 9], m: &Matches) -> Vec<(Field, String)> {
        let rule = &self.rules[index];
        let mut out = Vec::new();
        if let (Some(k), Some(catalog)) = (rule.known, &self.catalog) {
            let text = texts[Field::Message.index()];
            if let Some(hit) = catalog.patterns[k]
                .regex()
                .and_then(|re| re.find(text.as_bytes()))
            {
                out.push((Field::Message, line_around(text, hit.start(), hit.end())));
            }
        }
        for cond in &rule.matches {
            let hits: Vec<(usize, Field)> = if cond.field == Field::Any {
                m.any_in
                    .iter()
                    .filter(|(p, _)| cond.patterns.contains(p))
                    .copied()
                    .collect()
            } else {
                cond.patterns
                    .iter()
                    .filter(|p| self.matched(m, cond.field, **p))
                    .map(|p| (*p, cond.field))
                    .collect()
            };
            let quote = hits.iter().find_map(|&(p, f)| {
                let text = texts[f.index()];
                self.singles[cond.field.index()][p]
                    .regex()?
                    .find(text.as_bytes())
                    .map(|hit| (f, line_around(text, hit.start(), hit.end())))
            });
            if let Some(q) = quote {
                out.push(q);
            }
        }
        out
    }
}

/// One scanner's search state: per field, the lazy DFA cache and the match set.
type ScanState = Vec<Option<(meta::Cache, PatternSet)>>;

/// The search states of finished scanners. A lazy DFA learns its states as it
/// searches; handing a warm cache to the next scanner (the next worker, the next
/// request of the service) keeps that work. A clone starts empty.
#[derive(Debug, Default)]
struct SparePool(std::sync::Mutex<Vec<ScanState>>);

impl SparePool {
    fn take(&self) -> Option<ScanState> {
        self.0.lock().ok()?.pop()
    }

    fn put(&self, state: ScanState) {
        if let Ok(mut spare) = self.0.lock() {
            spare.push(state);
        }
    }
}

impl Clone for SparePool {
    fn clone(&self) -> SparePool {
        SparePool::default()
    }
}

/// A rule set's search state for one thread: each field's cache and match set
/// are reused from one failure to the next instead of coming from a shared pool.
#[derive(Debug)]
pub struct Scanner<'a> {
    rules: &'a RuleSet,
    state: ScanState,
}

impl Drop for Scanner<'_> {
    fn drop(&mut self) {
        self.rules.spare.put(std::mem::take(&mut self.state));
    }
}

impl Scanner<'_> {
    /// Runs every field's set once over `texts` (indexed like [`Field::ALL`]);
    /// `any` patterns match when they match in a field that [`Field::in_any`].
    pub fn scan(&mut self, texts: &[&str; 9]) -> Matches {
        let rules = self.rules;
        let mut bits = vec![0u64; rules.offsets[9].div_ceil(64)];
        let mut set_bit = |field: Field, p: usize| {
            let b = rules.bit(field, p);
            bits[b / 64] |= 1 << (b % 64);
        };
        let mut any_in = Vec::new();
        let mut signals = 0;
        for f in Field::ALL {
            let (Some((set, own, any)), Some((cache, found)), text) = (
                &self.rules.sets[f.index()],
                &mut self.state[f.index()],
                texts[f.index()],
            ) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            // Clearing and walking a set costs one step per pattern, matched
            // or not, and most texts match few or none.
            if !found.is_empty() {
                found.clear();
            }
            set.which_overlapping_matches_with(cache, &regex_automata::Input::new(text), found);
            if found.is_empty() {
                continue;
            }
            let looked_for = Signal::ALL.iter().filter(|s| s.looks_in(f));
            for i in found.iter().take(found.len()).map(|p| p.as_usize()) {
                if i < *own {
                    set_bit(f, i);
                } else if i < own + any {
                    set_bit(Field::Any, i - own);
                    any_in.push((i - own, f));
                } else if let Some(s) = looked_for.clone().nth(i - own - any) {
                    signals |= s.bit();
                }
            }
        }
        let known = match &rules.catalog {
            Some(c) => c.scan(texts[Field::Message.index()]),
            None => Vec::new(),
        };
        Matches {
            bits,
            any_in,
            signals,
            known,
        }
    }
}

/// The full line(s) containing `start..end`, trimmed and bounded.
fn line_around(text: &str, start: usize, end: usize) -> String {
    let bytes = text.as_bytes();
    let from = bytes[..start]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let to = bytes[end..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |i| end + i);
    // Line ends are ASCII, so `from..to` lies on character boundaries.
    let line = String::from_utf8_lossy(&bytes[from..to]);
    crate::text::one_line(line.trim(), 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signal is set exactly when its pattern, searched alone with the rules'
    /// flags, matches one of the fields it looks in: the run-level passes search
    /// again only where the scan flagged, so the two must agree.
    #[test]
    fn signals_flag_exactly_what_their_patterns_find() {
        let set = RuleSet::builtin().expect("rules");
        let texts = [
            "No products found",
            "- heading \"Product not found\" [level=1]",
            "- paragraph: Your cart is empty.",
            "Error: page.goto: net::ERR_EMPTY_RESPONSE at http://127.0.0.1:3000/",
            "connect ECONNREFUSED 127.0.0.1:3000",
            "- textbox \"Password\"",
            "- paragraph: no items here (3 products)",
            "Expected: 3 items\nReceived: 0 items",
            "a record of 404 pages",
            "an INFO line with nothing in it",
        ];
        let mut flagged = 0;
        for signal in Signal::ALL {
            let re = pattern_regex(signal.pattern()).expect("signal pattern");
            for field in Field::ALL {
                for text in texts {
                    let mut fields = [""; 9];
                    fields[field.index()] = text;
                    let found = set.scan(&fields).has(signal);
                    let expected = signal.looks_in(field) && re.is_match(text.as_bytes());
                    assert_eq!(found, expected, "{signal:?} in {field:?}: {text:?}");
                    flagged += usize::from(found);
                }
            }
        }
        assert!(flagged >= 12, "{flagged}");
    }

    #[test]
    fn builtin_rules_are_valid() {
        let set = RuleSet::builtin().expect("builtin rules compile");
        assert!(set.len() > 40, "{} rules", set.len());
        assert_eq!(set.info.user, 0);
    }

    fn parse(text: &str) -> Result<RulesFile, RulesError> {
        RulesFile::parse("rules.toml", text, RuleOrigin::User)
    }

    #[test]
    fn errors_name_the_rule_and_field() {
        let e = parse(
            r#"
[[rule]]
id = "mine"
error_type = "selector_drift"
weight = 0.8
why = "x"
match.message = ["ok", "(unclosed"]
"#,
        )
        .expect_err("bad regex");
        let s = e.to_string();
        assert!(
            s.contains("rules.toml: rule 'mine' (#1), field `match.message[1]`"),
            "{s}"
        );
        assert!(s.contains("expected a regular expression"), "{s}");

        let e = parse("[[rule]]\nid = \"a\"\nerror_type = \"flaky\"\nweight = 0.5\nwhy = \"w\"\nmatch.any = \"x\"\n")
            .expect_err("bad type");
        assert!(
            e.to_string()
                .contains("field `error_type`: expected one of selector_drift"),
            "{e}"
        );

        let e = parse("[[rule]]\nid = \"a\"\nerror_type = \"app_error\"\nweight = 1.5\nwhy = \"w\"\nmatch.any = \"x\"\n")
            .expect_err("bad weight");
        assert!(
            e.to_string()
                .contains("field `weight`: expected a number strictly between 0 and 1, found 1.5"),
            "{e}"
        );

        let e = parse("[[rule]]\nid = \"a\"\nerror_type = \"app_error\"\nweight = 0.5\nwhy = \"w\"\nmatch.mesage = \"x\"\n")
            .expect_err("bad field");
        assert!(
            e.to_string()
                .contains("field `match.mesage`: expected one of message, call_log"),
            "{e}"
        );

        let e = parse("[[rule]]\nid = \"a\"\nerror_type = \"app_error\"\nweight = 0.5\nwhy = \"w\"\nfacts = [\"slow\"]\n")
            .expect_err("bad fact");
        assert!(
            e.to_string()
                .contains("field `facts[0]`: expected one of timed_out"),
            "{e}"
        );

        let e = parse("[[rule]]\nid = \"a\"\nerror_type = \"app_error\"\nweigth = 0.5\n")
            .expect_err("typo");
        assert!(
            e.to_string().contains("rules.toml: expected a rules file"),
            "{e}"
        );
        assert!(e.to_string().contains("weigth"), "{e}");
    }

    #[test]
    fn user_rules_override_and_disable() {
        let builtin = RuleSet::builtin().expect("builtin");
        let first = builtin.rule(0).id.clone();
        let second = builtin.rule(1).id.clone();
        let user = parse(&format!(
            "[[rule]]\nid = \"{first}\"\nerror_type = \"app_error\"\nweight = 0.6\nwhy = \"mine\"\nmatch.any = \"zzz\"\n\n[[rule]]\nid = \"{second}\"\nenabled = false\n\n[[rule]]\nid = \"new\"\nerror_type = \"data_seed\"\nweight = 0.9\nwhy = \"ours\"\nmatch.page = \"no widgets\"\n"
        ))
        .expect("valid");
        let set = RuleSet::with_user(Some(("r.toml", user))).expect("merged");
        assert_eq!(set.info.overridden, vec![first.clone()]);
        assert_eq!(set.info.disabled, vec![second.clone()]);
        assert_eq!(set.info.user, 2);
        assert_eq!(set.len(), builtin.len());
        assert!(!(0..set.len()).any(|i| set.rule(i).id == second));
        let replaced = (0..set.len())
            .find(|i| set.rule(*i).id == first)
            .expect("kept");
        assert_eq!(set.rule(replaced).error_type, ErrorType::AppError);
    }
}
