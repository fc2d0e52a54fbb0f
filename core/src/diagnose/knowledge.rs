//! What failing runs say, read from the programs that say it: the catalogs of
//! `core/knowledge/` (Playwright's own messages, Chromium's net errors, Node's
//! system errors, signals and databases' migration errors), and the mapping of
//! each message to the rule that classifies it.
//!
//! A message of the catalog is mapped by a hand-written rule of
//! `core/rules/builtin.toml` when one decides it (its `rule` column names it),
//! or by a rule made from the message itself (`rule` = `message`): its template
//! becomes a pattern and its type and confidence become the rule's type and
//! weight. [`coverage`] checks the mapping against the classifier.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::diagnose::classify::Classifier;

use crate::diagnose::taxonomy::ErrorType;

/// Playwright's messages, as committed.
pub const MESSAGES_TSV: &str = include_str!("../../knowledge/messages.tsv");

/// Where [`MESSAGES_TSV`] is, in errors.
pub const MESSAGES_PATH: &str = "<builtin>/core/knowledge/messages.tsv";

/// The messages the language bindings (Playwright for Python, Java and .NET)
/// raise themselves, in the same format.
pub const CLIENTS_TSV: &str = include_str!("../../knowledge/clients.tsv");

/// Where [`CLIENTS_TSV`] is, in errors.
pub const CLIENTS_PATH: &str = "<builtin>/core/knowledge/clients.tsv";

/// The `rule` value of a message that is its own rule.
pub const SELF_RULE: &str = "message";

/// The prefix of the id of a rule made from a catalog message.
pub const RULE_PREFIX: &str = "pw.";

/// How surely a message's type follows from the message alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The message names the cause.
    High,
    /// The message usually means the type.
    Medium,
    /// A first judgment; context decides more often than not.
    Low,
}

impl Confidence {
    /// The weight of a rule made from a message of this confidence.
    pub const fn weight(self) -> f64 {
        match self {
            Confidence::High => 0.9,
            Confidence::Medium => 0.75,
            Confidence::Low => 0.6,
        }
    }
}

/// Where a message is printed, which decides whether it can be a failure's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// Thrown as an error.
    Throw,
    /// Printed by a matcher as the failure's message.
    AssertionOutput,
    /// A protocol validation error.
    Protocol,
    /// A labelled line of a matcher's failure output (`Expected string: …`,
    /// `Locator: …`): context of the error, not the error.
    MatcherLine,
    /// A line of a call log, a launch log or the reporter: context, not an error.
    Log,
}

/// One row of `messages.tsv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Stable id.
    pub id: String,
    /// The template: placeholders as `{…}`, newlines as `\n`.
    pub message: String,
    /// `package/path:line` in the Playwright source.
    pub location: String,
    /// Where it is printed.
    pub kind: MessageKind,
    /// The type the message points to (`unknown` when context decides).
    pub error_type: ErrorType,
    /// How surely.
    pub confidence: Confidence,
    /// Why, or what else decides.
    pub note: String,
    /// The rule that maps it: a built-in rule's id, [`SELF_RULE`], or empty.
    #[serde(default)]
    pub rule: String,
}

impl Message {
    /// Whether the message can be a failure's error (not a log or matcher line).
    pub fn is_error(&self) -> bool {
        !matches!(self.kind, MessageKind::Log | MessageKind::MatcherLine)
    }

    /// The id of the rule made from this message.
    pub fn rule_id(&self) -> String {
        format!("{RULE_PREFIX}{}", self.id)
    }
}

/// A catalog that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: row {row}: expected {expected}, found: {found}")]
pub struct CatalogError {
    /// The catalog.
    pub file: String,
    /// 1-based data row (the header is row 0).
    pub row: usize,
    /// What the row should be.
    pub expected: String,
    /// What it is.
    pub found: String,
}

/// Reads a `messages.tsv` text.
pub fn parse_messages(name: &str, text: &str) -> Result<Vec<Message>, CatalogError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .flexible(false)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<Message>().enumerate() {
        out.push(row.map_err(|e| CatalogError {
            file: name.to_owned(),
            row: i + 1,
            expected: "id, message, location, kind (throw, assertion-output, protocol, matcher-line, log), \
                       error_type, confidence (high, medium, low), note, rule"
                .to_owned(),
            found: e.to_string(),
        })?);
    }
    Ok(out)
}

/// Writes messages as `messages.tsv` text (the format [`parse_messages`] reads).
pub fn write_messages(messages: &[Message]) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(Vec::new());
    for m in messages {
        // Serializing plain strings and enums into memory cannot fail.
        let _ = w.serialize(m);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Playwright's messages, parsed once.
pub fn messages() -> &'static [Message] {
    static MESSAGES: LazyLock<Vec<Message>> = LazyLock::new(|| {
        parse_messages(MESSAGES_PATH, MESSAGES_TSV)
            .unwrap_or_else(|e| unreachable!("the committed catalog is checked by tests: {e}"))
    });
    &MESSAGES
}

/// Which catalog a message is from: it decides which messages may be rules of
/// their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Playwright's own (`messages.tsv`).
    Playwright,
    /// The language bindings' (`clients.tsv`).
    Bindings,
}

impl Source {
    /// Whether a typed error message with enough text may be its own rule. A
    /// binding's assertion output and its low-confidence messages may not: on
    /// the corpus they turned `unknown` into wrong answers (a late page behind
    /// "Locator expected to have text", a shared page behind "Object doesn't
    /// exist") and put nothing right.
    pub fn may_be_own_rule(self, m: &Message) -> bool {
        match self {
            Source::Playwright => true,
            Source::Bindings => {
                m.kind != MessageKind::AssertionOutput && m.confidence != Confidence::Low
            }
        }
    }
}

/// The language bindings' own messages, parsed once.
pub fn client_messages() -> &'static [Message] {
    static MESSAGES: LazyLock<Vec<Message>> = LazyLock::new(|| {
        parse_messages(CLIENTS_PATH, CLIENTS_TSV)
            .unwrap_or_else(|e| unreachable!("the committed catalog is checked by tests: {e}"))
    });
    &MESSAGES
}

/// A piece of a template: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(String),
    Hole(&'a str),
}

/// Splits a template at its `{…}` placeholders (nested braces included);
/// `\n` in the text is a newline.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text = String::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let mut depth = 0usize;
            let mut end = None;
            for (j, b) in bytes.iter().enumerate().skip(i) {
                match b {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(end) = end {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Hole(&template[i + 1..end]));
                i = end + 1;
                continue;
            }
        }
        if template[i..].starts_with("\\n") {
            text.push('\n');
            i += 2;
            continue;
        }
        let c = template[i..].chars().next().unwrap_or(' ');
        text.push(c);
        i += c.len_utf8();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

/// A message template as a pattern: its first line specific enough to say
/// something (a log may wrap or split the rest), literal text with any
/// whitespace between words and placeholders as any text on the line. `None`
/// when no line has enough literal text (`{apiName}: {message}`).
pub fn template_pattern(template: &str) -> Option<TemplatePattern> {
    let all = pieces(template);
    // Split the pieces into lines at the newlines of their text.
    let mut lines: Vec<Vec<Piece<'_>>> = vec![Vec::new()];
    for p in all {
        match p {
            Piece::Hole(h) => lines
                .last_mut()
                .map(|l| l.push(Piece::Hole(h)))
                .unwrap_or(()),
            Piece::Text(t) => {
                for (i, part) in t.split('\n').enumerate() {
                    if i > 0 {
                        lines.push(Vec::new());
                    }
                    if !part.is_empty()
                        && let Some(l) = lines.last_mut()
                    {
                        l.push(Piece::Text(part.to_owned()));
                    }
                }
            }
        }
    }
    lines.into_iter().find_map(line_pattern)
}

fn line_pattern(mut ps: Vec<Piece<'_>>) -> Option<TemplatePattern> {
    // `Error: ` is how a thrown message prints, not part of it.
    if let Some(Piece::Text(t)) = ps.first_mut()
        && let Some(rest) = t.strip_prefix("Error: ")
    {
        *t = rest.to_owned();
    }
    while matches!(ps.first(), Some(Piece::Hole(_))) {
        ps.remove(0);
    }
    // A message that ends in a placeholder has no final full stop of its own.
    let ends_in_text = matches!(ps.last(), Some(Piece::Text(_)));
    while matches!(ps.last(), Some(Piece::Hole(_))) {
        ps.pop();
    }
    let mut pattern = String::new();
    let mut anchor = String::new();
    let mut letters = 0;
    let mut words = 0;
    let last = ps.len().saturating_sub(1);
    // Whether the pattern reaches the end of the message.
    let mut whole = ends_in_text;
    for (i, p) in ps.iter().enumerate() {
        // A prefix this specific is enough: excerpts are often cut short.
        if letters >= PREFIX_LETTERS && words >= PREFIX_WORDS {
            whole = false;
            break;
        }
        match p {
            Piece::Hole(_) => pattern.push_str("[^\\n]*?"),
            Piece::Text(t) => {
                let tokens: Vec<&str> = t.split_whitespace().collect();
                if tokens.is_empty() {
                    pattern.push_str("\\s*");
                    continue;
                }
                if i > 0 && t.starts_with(char::is_whitespace) {
                    pattern.push_str("\\s+");
                }
                let escaped: Vec<String> = tokens.iter().map(|w| regex::escape(w)).collect();
                pattern.push_str(&escaped.join("\\s+"));
                if i < last && t.ends_with(char::is_whitespace) {
                    pattern.push_str("\\s+");
                }
                letters += t.chars().filter(|c| c.is_alphabetic()).count();
                words += tokens
                    .iter()
                    .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
                    .count();
                let line = tokens.join(" ");
                if line.len() > anchor.len() {
                    anchor = line;
                }
            }
        }
    }
    // Trailing whitespace or a placeholder after the prefix constrains nothing.
    while let Some(stripped) = pattern
        .strip_suffix("\\s+")
        .or_else(|| pattern.strip_suffix("\\s*"))
        .or_else(|| pattern.strip_suffix("[^\\n]*?"))
    {
        pattern = stripped.to_owned();
    }
    // Nor does the full stop that ends a message after a word or a closing
    // quote: excerpts often print it without. Right after a placeholder it is
    // what ends the value, and stays; inside a message it is text.
    if whole
        && let Some(stripped) = pattern.strip_suffix("\\.")
        && stripped.ends_with(|c: char| c.is_alphanumeric() || c == '\'' || c == '"')
    {
        pattern = stripped.to_owned();
        if let Some(a) = anchor.strip_suffix('.').filter(|a| a.len() >= 10) {
            anchor = a.to_owned();
        }
    }
    (letters >= 16 && words >= 2 && anchor.len() >= 10)
        .then_some(TemplatePattern { pattern, anchor })
}

/// Letters and words after which a template's prefix is specific enough.
const PREFIX_LETTERS: usize = 24;
const PREFIX_WORDS: usize = 4;

/// A template compiled for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePattern {
    /// The regular expression (case-insensitive, as rules' patterns are).
    pub pattern: String,
    /// Its longest literal line, searched for first.
    pub anchor: String,
}

/// The template with every placeholder filled by a plausible value: what the
/// message looks like in a log, to check which rule classifies it.
pub fn instantiate(template: &str) -> String {
    pieces(template)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t,
            Piece::Hole(name) => sample(name).to_owned(),
        })
        .collect()
}

fn sample(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    let has = |w: &[&str]| w.iter().any(|w| n.contains(w));
    if has(&[
        "timeout", "ms", "count", "number", "index", "line", "duration", "width",
    ]) {
        "5000"
    } else if has(&["status"]) {
        "500"
    } else if has(&["url", "href"]) {
        "http://127.0.0.1:3000/items"
    } else if has(&["selector", "locator"]) {
        "getByRole('button', { name: 'Save' })"
    } else if has(&["path", "file"]) {
        "tests/example.spec.ts"
    } else {
        "value"
    }
}

/// How one catalog message is classified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapped {
    /// The message's id.
    pub id: String,
    /// Whether it can be a failure's error.
    pub is_error: bool,
    /// The catalog's type.
    pub expected: ErrorType,
    /// What the classifier says of the message alone.
    pub predicted: ErrorType,
    /// The rule behind it.
    pub rule: Option<String>,
}

impl Mapped {
    /// A rule gives the message the catalog's type.
    pub fn is_mapped(&self) -> bool {
        self.expected != ErrorType::Unknown && self.predicted == self.expected
    }
}

/// Classifies every message of the catalog as a log would show it.
pub fn classify_messages(classifier: &Classifier, messages: &[Message]) -> Vec<Mapped> {
    messages
        .iter()
        .map(|m| {
            let (_, v) = classifier.classify_text(&instantiate(&m.message));
            Mapped {
                id: m.id.clone(),
                is_error: m.is_error(),
                expected: m.error_type,
                predicted: v.error_type,
                rule: v.rule,
            }
        })
        .collect()
}

/// The `rule` column the catalog should have: the hand-written rule that gives
/// a message its type, alone or in the context its facts ask for; else
/// [`SELF_RULE`] when no hand-written rule addresses the message and it has a
/// type and enough text to be a pattern; else empty. `hand` classifies with the
/// hand-written rules alone
/// ([`RuleSet::hand_written`](crate::diagnose::classify::RuleSet::hand_written)).
pub fn rule_column(hand: &Classifier, messages: &[Message], source: Source) -> Vec<String> {
    classify_messages(hand, messages)
        .into_iter()
        .zip(messages)
        .map(|(mapped, m)| {
            if mapped.is_mapped() {
                return mapped.rule.unwrap_or_default();
            }
            let addressing = addressing(hand, m);
            if let Some(id) = addressing
                .iter()
                .find(|(_, t)| *t == m.error_type && m.error_type != ErrorType::Unknown)
            {
                id.0.clone()
            } else if addressing.is_empty()
                && m.is_error()
                && m.error_type != ErrorType::Unknown
                && mapped.predicted == ErrorType::Unknown
                && source.may_be_own_rule(m)
                && template_pattern(&m.message).is_some()
            {
                SELF_RULE.to_owned()
            } else {
                String::new()
            }
        })
        .collect()
}

/// The hand-written rules whose patterns match a message, with their types.
fn addressing(c: &Classifier, m: &Message) -> Vec<(String, ErrorType)> {
    let doc = crate::diagnose::classify::signals::from_text(&instantiate(&m.message));
    let rules = c.rules();
    let matches = rules.scan(&doc.texts());
    rules
        .addressing(&matches)
        .into_iter()
        .map(|i| (rules.rule(i).id.clone(), rules.rule(i).error_type))
        .collect()
}

/// The catalog's coverage: of Playwright's error messages (log lines are
/// context, not errors), how many a rule gives the catalog's type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Error messages in the catalog.
    pub errors: usize,
    /// Of those, mapped by a rule to their type.
    pub mapped: usize,
    /// Of the mapped, by a hand-written rule.
    pub by_hand_rule: usize,
    /// mapped / errors.
    pub share: f64,
    /// Error messages with no type in the catalog (context decides).
    pub untyped: usize,
    /// Typed error messages the classifier gives another type.
    pub conflicts: Vec<Mapped>,
}

/// Coverage of the catalog by `classifier`: a message is mapped when the
/// classifier gives it its type on its own, or when its `rule` names a
/// hand-written rule of its type that addresses it (one whose facts decide in
/// context, as `Timeout {timeout}ms exceeded.` is decided by the call log).
pub fn coverage(classifier: &Classifier) -> Coverage {
    coverage_of(classifier, messages())
}

/// [`coverage`] of the language bindings' own messages.
pub fn client_coverage(classifier: &Classifier) -> Coverage {
    coverage_of(classifier, client_messages())
}

fn coverage_of(classifier: &Classifier, messages: &[Message]) -> Coverage {
    let mut all = classify_messages(classifier, messages);
    for (mapped, m) in all.iter_mut().zip(messages) {
        if mapped.is_mapped() || m.rule.is_empty() || m.rule == SELF_RULE {
            continue;
        }
        if addressing(classifier, m)
            .iter()
            .any(|(id, t)| *id == m.rule && *t == m.error_type)
        {
            mapped.predicted = m.error_type;
            mapped.rule = Some(m.rule.clone());
        }
    }
    let errors: Vec<&Mapped> = all.iter().filter(|m| m.is_error).collect();
    let mapped = errors.iter().filter(|m| m.is_mapped()).count();
    let by_hand_rule = errors
        .iter()
        .filter(|m| {
            m.is_mapped()
                && m.rule
                    .as_deref()
                    .is_some_and(|r| !r.starts_with(RULE_PREFIX))
        })
        .count();
    Coverage {
        errors: errors.len(),
        mapped,
        by_hand_rule,
        share: if errors.is_empty() {
            0.0
        } else {
            mapped as f64 / errors.len() as f64
        },
        untyped: errors
            .iter()
            .filter(|m| m.expected == ErrorType::Unknown)
            .count(),
        conflicts: errors
            .iter()
            .filter(|m| {
                m.expected != ErrorType::Unknown
                    && m.predicted != ErrorType::Unknown
                    && m.predicted != m.expected
            })
            .map(|m| (*m).clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_catalog_parses() {
        let m = messages();
        assert!(m.len() > 900, "{}", m.len());
        assert!(m.iter().all(|r| !r.id.is_empty() && !r.message.is_empty()));
    }

    #[test]
    fn templates_become_patterns_with_placeholders_as_text() {
        let p =
            template_pattern("Timed out waiting {timeout}ms from config.webServer.").expect("p");
        let re = regex::RegexBuilder::new(&p.pattern)
            .case_insensitive(true)
            .build()
            .expect("regex");
        assert!(re.is_match("Error: Timed out waiting 120000ms from config.webServer."));
        // The full stop that ends the message may be missing from an excerpt.
        assert!(re.is_match("Timed out waiting 120000ms from config.webServer\n"));
        assert!(!re.is_match("Timed out waiting for the server"));
        assert_eq!(p.anchor, "ms from config.webServer");
        // After a placeholder the full stop is what ends the value: it stays.
        let p = template_pattern("Could not connect to {channel}.").expect("p");
        let re = regex::Regex::new(&p.pattern).expect("regex");
        assert!(re.is_match("Could not connect to chrome."));
        assert!(!re.is_match("page.goto: Could not connect to localhost: Connection refused"));
        // Inside a message a full stop is text.
        let p = template_pattern("Unexpected buffer type of 'data.{name}'").expect("p");
        assert!(p.pattern.contains("'data\\."), "{}", p.pattern);
        let p = template_pattern("Browser closed unexpectedly. {details}").expect("p");
        assert!(p.pattern.ends_with("unexpectedly\\."), "{}", p.pattern);
    }

    #[test]
    fn placeholder_only_templates_say_nothing() {
        assert_eq!(template_pattern("{apiName}: {message}"), None);
        assert_eq!(template_pattern("Internal error"), None);
    }

    #[test]
    fn nested_placeholders_are_one_hole() {
        let p = pieces("attempting {a ? ' (trial {x})' : ''} action");
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(
            instantiate("Timeout {timeout}ms exceeded."),
            "Timeout 5000ms exceeded."
        );
    }

    /// The committed `rule` column is the one the rules give
    /// (`UPDATE_KNOWLEDGE=1` rewrites it).
    #[test]
    fn the_rule_column_is_current() {
        let hand =
            Classifier::new(crate::diagnose::classify::RuleSet::hand_written().expect("rules"));
        for (file, rows, source) in [
            ("messages.tsv", messages(), Source::Playwright),
            ("clients.tsv", client_messages(), Source::Bindings),
        ] {
            rule_column_is_current(&hand, file, rows.to_vec(), source);
        }
    }

    fn rule_column_is_current(
        hand: &Classifier,
        file: &str,
        mut rows: Vec<Message>,
        source: Source,
    ) {
        let column = rule_column(hand, &rows, source);
        let stale: Vec<String> = rows
            .iter()
            .zip(&column)
            .filter(|(m, c)| m.rule != **c)
            .map(|(m, c)| format!("{}: {:?} -> {c:?}", m.id, m.rule))
            .collect();
        if std::env::var_os("UPDATE_KNOWLEDGE").is_some() {
            for (m, c) in rows.iter_mut().zip(column) {
                m.rule = c;
            }
            let path = format!("{}/knowledge/{file}", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(path, write_messages(&rows)).expect("write");
            return;
        }
        assert!(
            stale.is_empty(),
            "{} rows of {file} have a stale `rule` (UPDATE_KNOWLEDGE=1 cargo test -p ci-medic-core knowledge): {}",
            stale.len(),
            stale
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
    }

    /// At least 95 % of Playwright's error messages are mapped to their type,
    /// and no rule gives a typed message another type than the catalog's but
    /// the ones listed here with why.
    #[test]
    fn the_rules_cover_playwrights_messages() {
        let c = Classifier::builtin().expect("rules");
        let cov = coverage(&c);
        assert!(
            cov.share >= 0.95,
            "{} of {} ({:.3})",
            cov.mapped,
            cov.errors,
            cov.share
        );
        let conflicts: Vec<&str> = cov.conflicts.iter().map(|m| m.id.as_str()).collect();
        // `Unknown expect matcher` is also what a second copy of @playwright/test
        // says (its matchers are not the ones registered): the corpus has it as
        // environment_setup, the catalog as the test's misuse.
        assert_eq!(conflicts, ["unknown-expect-matcher"]);
    }

    /// What a binding raises with `message`, as its test runners print it;
    /// pytest also prints its failure lines behind `E`.
    fn raised(m: &Message, message: &str) -> Vec<String> {
        match m.id.split('-').next() {
            Some("py") => {
                let bare = format!("AssertionError: {message}");
                let pytest = bare.lines().map(|l| format!("E       {l}\n")).collect();
                vec![bare, pytest]
            }
            Some("java") => vec![format!("org.opentest4j.AssertionFailedError: {message}")],
            _ => vec![format!(
                "Microsoft.Playwright.PlaywrightException : {message}"
            )],
        }
    }

    /// A binding's failed `to_be_ok()` names the status the app answered: a
    /// 500 is the app's error as Node's `toBeOK()` output is, a 404 is not.
    #[test]
    fn the_bindings_response_status_reads_as_nodes() {
        let c = Classifier::builtin().expect("rules");
        let rows: Vec<&Message> = client_messages()
            .iter()
            .filter(|m| {
                m.message
                    .starts_with("Response status expected to be within")
            })
            .collect();
        // Python's and Java's; .NET's other row is the negated assertion.
        assert_eq!(rows.len(), 2, "{rows:#?}");
        for m in rows {
            for status in ["500", "404"] {
                let message = m.message.replacen("{status}", status, 1);
                assert_ne!(message, m.message, "{}", m.id);
                for text in raised(m, &message) {
                    let (_, v) = c.classify_text(&text);
                    let app = v.error_type == ErrorType::AppError
                        && v.rule.as_deref() == Some("app.server-error");
                    assert_eq!(app, status == "500", "{}: {text:?} {v:?}", m.id);
                }
            }
        }
    }

    /// The bindings print a failed assertion in their own words (Python's
    /// `Actual value:`, Java's `Expected:` and `Received:`, .NET's `But was:`),
    /// without `expect(…)`'s header: the hand-written rules read it as they read
    /// Playwright's, so the same failure gets the same type in every language.
    #[test]
    fn the_bindings_assertion_output_reads_as_an_assertion() {
        let c = Classifier::builtin().expect("rules");
        let rules = c.rules();
        let printed = |m: &Message| raised(m, &instantiate(&m.message.replace("\\n", "\n")));
        let rows: Vec<&Message> = client_messages()
            .iter()
            .filter(|m| {
                m.kind == MessageKind::AssertionOutput
                    && m.error_type == ErrorType::AssertionMismatch
                    && m.confidence != Confidence::Low
            })
            .collect();
        assert!(rows.len() > 40, "{}", rows.len());
        let mut missed = Vec::new();
        for m in rows {
            for text in printed(m) {
                let (_, v) = c.classify_text(&text);
                let read = v
                    .fired
                    .iter()
                    .any(|&i| rules.rule(i).id == "assert.value-differs");
                if v.error_type != m.error_type || !read {
                    missed.push(format!("{}: {} {text:?}", m.id, v.error_type.as_str()));
                }
            }
        }
        assert!(missed.is_empty(), "{missed:#?}");
    }

    /// The language bindings' own messages: every high-confidence throw long
    /// enough to be a pattern is mapped to its type, and the only disagreements
    /// are low-confidence ones that context decides.
    #[test]
    fn the_rules_cover_the_bindings_own_messages() {
        let c = Classifier::builtin().expect("rules");
        let rows = client_messages();
        assert!(rows.len() > 200, "{}", rows.len());
        for prefix in ["py-", "java-", "dotnet-"] {
            assert!(rows.iter().any(|m| m.id.starts_with(prefix)), "{prefix}");
        }
        let cov = client_coverage(&c);
        let mapped: Vec<Mapped> = classify_messages(&c, rows);
        let unmapped_high: Vec<&str> = rows
            .iter()
            .zip(&mapped)
            .filter(|(m, x)| {
                m.kind == MessageKind::Throw
                    && m.confidence == Confidence::High
                    && m.error_type != ErrorType::Unknown
                    && !x.is_mapped()
            })
            .map(|(m, _)| m.id.as_str())
            .collect();
        // Too short to be a pattern, or (`Driver not found`) matched only
        // with the exception's name before it, since Selenium says the same.
        let too_short: Vec<&str> = rows
            .iter()
            .filter(|m| template_pattern(&m.message).is_none())
            .map(|m| m.id.as_str())
            .collect();
        let unexplained: Vec<&&str> = unmapped_high
            .iter()
            .filter(|id| !too_short.contains(id) && **id != "dotnet-driver-not-found")
            .collect();
        assert!(unexplained.is_empty(), "{unexplained:?}");
        assert!(unmapped_high.len() <= 4, "{unmapped_high:?}");
        // A binding's assertion output and low-confidence rows are context.
        let own: Vec<&str> = rows
            .iter()
            .filter(|m| m.rule == SELF_RULE && !Source::Bindings.may_be_own_rule(m))
            .map(|m| m.id.as_str())
            .collect();
        assert!(own.is_empty(), "{own:?}");
        assert!(rows.iter().any(|m| m.kind == MessageKind::AssertionOutput));
        assert!(
            cov.mapped * 2 > cov.errors,
            "{} of {}",
            cov.mapped,
            cov.errors
        );
        // A binding's closed driver pipe is also matched by Playwright's own
        // (codegen) "Connection closed", typed environment_setup; Java's
        // enum fallback "Unexpected value" by the test's bad API use. All are
        // low-confidence rows, decided in context.
        let mut conflicts: Vec<&str> = cov.conflicts.iter().map(|m| m.id.as_str()).collect();
        conflicts.sort_unstable();
        assert_eq!(
            conflicts,
            [
                "java-playwright-connection-closed",
                "java-unexpected-value",
                "py-connection-closed-while-reading-driver",
                "py-playwright-connection-closed"
            ]
        );
        assert!(
            cov.conflicts.iter().all(|m| rows
                .iter()
                .any(|r| r.id == m.id && r.confidence == Confidence::Low)),
            "{:?}",
            cov.conflicts
        );
    }

    /// A catalog table's rows, under its header.
    fn tsv(text: &str) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .from_reader(text.as_bytes())
    }

    /// The Node, signal and database catalog: each row whose type follows
    /// from its message with high confidence is classified as that type when
    /// its message is the whole failure.
    #[test]
    fn the_rules_cover_node_signal_and_database_errors() {
        let c = Classifier::builtin().expect("rules");
        let mut rows = tsv(include_str!("../../knowledge/node-and-db.tsv"));
        let (mut typed, mut missed) = (0, Vec::new());
        for row in rows.records() {
            let row = row.expect("a row");
            let (key, message, error_type, confidence) = (&row[0], &row[1], &row[3], &row[4]);
            // Signal and exit-code rows name a number, not a wording.
            if error_type == "unknown"
                || confidence != "high"
                || matches!(&row[2], "signal" | "exit_code")
            {
                continue;
            }
            typed += 1;
            let sample = instantiate(&message.replace("\\n", "\n"));
            let (_, v) = c.classify_text(&format!("Error: {sample}"));
            if v.error_type.as_str() != error_type {
                missed.push(format!("{key}: {} for {error_type}", v.error_type.as_str()));
            }
        }
        assert!(typed > 30, "{typed}");
        assert!(missed.is_empty(), "{missed:#?}");
    }

    /// Chromium's net errors and their Firefox and WebKit twins: a row whose
    /// type follows from the error with high confidence is never classified as
    /// another type when it is the whole failure of a navigation. Rows no
    /// hand-written rule names stay `unknown`: the list as rules was measured
    /// and left out (the knowledge README).
    #[test]
    fn the_rules_never_contradict_a_high_confidence_net_error() {
        let c = Classifier::builtin().expect("rules");
        let mut rows = tsv(include_str!("../../knowledge/chromium-net-errors.tsv"));
        let (mut typed, mut wrong) = (Vec::new(), Vec::new());
        for row in rows.records() {
            let row = row.expect("a row");
            let (name, error_type, confidence) = (&row[1], &row[2], &row[3]);
            if error_type == "unknown" || confidence != "high" {
                continue;
            }
            let at = if name.starts_with("net::") {
                " at http://localhost:3000/"
            } else {
                ""
            };
            let (_, v) = c.classify_text(&format!(
                "Error: page.goto: {name}{at}\nCall log:\n  - navigating to \"http://localhost:3000/\", waiting until \"load\""
            ));
            match v.error_type.as_str() {
                t if t == error_type => typed.push(name.to_owned()),
                "unknown" => {}
                t => wrong.push(format!("{name}: {t} for {error_type}")),
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        assert!(typed.len() >= 6, "{typed:?}");
    }

    #[test]
    fn a_bad_row_names_the_row_and_what_was_expected() {
        let text = "id\tmessage\tlocation\tkind\terror_type\tconfidence\tnote\trule\n\
                    a\tb\tc\tthrown\tunknown\tlow\tn\t\n";
        let e = parse_messages("m.tsv", text).expect_err("bad kind");
        let s = e.to_string();
        assert!(s.starts_with("m.tsv: row 1: expected id, message"), "{s}");
        assert!(s.contains("thrown"), "{s}");
    }
}
