//! What the classifier looks at: one failure's texts, sorted into fields, and
//! the structural facts around it.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::diagnose::classify::rules::{Fact, Facts, Field};
use crate::locator::matching::{self, Candidate, Healing, MIN_IDENTITY, Thresholds};
use crate::model::{AttemptStatus, Bundle, ErrorInfo, Location, Test, TestStatus};
use crate::page::Page;

/// A failure as the rules see it.
#[derive(Debug, Clone)]
pub struct FailureDoc {
    /// `test` or `run_error`.
    pub kind: FailureKind,
    /// The test, for test failures.
    pub test_id: Option<String>,
    /// Title path joined with ` › ` (or the first line of a run error).
    pub title: String,
    /// Spec file.
    pub file: Option<String>,
    /// Where the failure happened (error location, else the test's line).
    pub location: Option<Location>,
    /// Project.
    pub project: Option<String>,
    /// Playwright's verdict.
    pub status: Option<TestStatus>,
    /// Number of attempts.
    pub attempts: usize,
    /// Texts per field, indexed like [`Field::ALL`] (the backend's is empty:
    /// see `backend`).
    pub fields: [String; 9],
    /// The run's backend log, one text shared by every failure of the run
    /// rather than a copy in each.
    pub backend: Arc<str>,
    /// Structural facts.
    pub facts: Facts,
    /// The first error message (for the signature and the summary line).
    pub primary: String,
    /// The locator the call log waited for and never found.
    pub unresolved_locator: Option<String>,
    /// The matching engine's answer for that locator on the snapshot's page
    /// (computed once by [`match_locators`]: the classifier's fact and the
    /// planner's proposals; shared by the failures that asked the same question).
    pub locator_match: Option<Arc<Healing>>,
    /// The first error's code snippet (the failing statement, marked `>`).
    pub snippet: Option<String>,
    /// The distinct values a retrying assertion received, in order.
    pub values_seen: Vec<String>,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A test.
    Test,
    /// An error outside any test.
    RunError,
}

impl FailureDoc {
    /// The engine's best element on the page for the unresolved locator.
    pub fn similar_element(&self) -> Option<&Candidate> {
        self.locator_match
            .as_ref()
            .and_then(|h| h.candidates.first())
    }

    /// The text of `field`.
    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::Backend => &self.backend,
            _ => &self.fields[field as usize],
        }
    }

    /// The fields as borrowed texts.
    pub fn texts(&self) -> [&str; 9] {
        let mut texts: [&str; 9] = std::array::from_fn(|i| self.fields[i].as_str());
        texts[Field::Backend as usize] = &self.backend;
        texts
    }

    /// The fields as borrowed texts without the run's shared backend log,
    /// which is scanned once per run.
    pub fn own_texts(&self) -> [&str; 9] {
        std::array::from_fn(|i| self.fields[i].as_str())
    }
}

/// Stack frames of JS, Python, Java and .NET.
static STACK_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(at\s+\S|File "[^"]+", line \d+|Traceback \(most recent call last\)|\.\.\. \d+ more$)"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
/// Lines of an ARIA page snapshot.
static PAGE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*- (/url: |(heading|paragraph|button|link|textbox|generic|list|listitem|img|navigation|banner|main|text|checkbox|combobox|region|dialog|alert|status|table|row|cell|tab|tablist|form|article|contentinfo|complementary|separator|option|menu|menuitem|group|searchbox)( "[^"]*")?( \[[^\]]+\])*:?( .*)?$)"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
/// Diagnostics a test or fixture printed: `[browser] …`, `[WebServer] …`, `pageerror: …`.
static OUTPUT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(\[(browser|WebServer|webServer|console|pageerror|stdout|stderr)\]|pageerror:|console\.(error|warn)|requestfailed:)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(Test|Hook|Fixture) timeout of \d+ms exceeded|Timeout \d+ms exceeded|exceeded the test timeout")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static SETUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[/\\._ -])(global[._-]?)?(setup|teardown)([/\\._ -]|$)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// A line of a Playwright source excerpt: `  12 | code`, `> 12 | code` or the
/// caret line `     |   ^` (a Markdown table row `| a | b |` is none of these).
/// Checked by hand: every line of every message goes through here.
fn is_source_line(line: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix('>').map_or(t, str::trim_start);
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = t[digits..].trim_start().strip_prefix('|') else {
        return false;
    };
    digits > 0 || (!line.trim_start().starts_with('>') && rest.trim() == "^")
}

/// A stack frame; the prefix check keeps the regex off most lines.
fn is_stack_line(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("at ")
        || t.starts_with("File \"")
        || t.starts_with("Traceback")
        || t.starts_with("..."))
        && STACK_LINE.is_match(line)
}

/// Builds the doc for a failed (or flaky) test of `bundle`; `backend` is the
/// run's backend log text shared by every failure. Its unresolved locator is
/// matched on its page by [`match_locators`], once for the run's docs.
pub fn from_test(test: &Test, backend: &Arc<str>) -> FailureDoc {
    let failed: Vec<_> = test
        .attempts
        .iter()
        .filter(|a| !matches!(a.status, AttemptStatus::Passed | AttemptStatus::Skipped))
        .collect();
    let mut b = Builder::default();
    let mut facts = Facts::default();
    let mut snapshot = None;
    let mut context_without_snapshot = false;
    for attempt in &failed {
        if attempt.status == AttemptStatus::TimedOut {
            facts.insert(Fact::TimedOut);
        }
        for e in &attempt.errors {
            b.error(e);
        }
        b.output(&attempt.stdout);
        b.output(&attempt.stderr);
        for att in &attempt.attachments {
            if let Some(body) = &att.body {
                b.output(body);
            }
        }
        if let Some(ctx) = &attempt.error_context {
            match &ctx.page_snapshot {
                Some(s) => snapshot = Some(s.as_str()),
                None => context_without_snapshot = true,
            }
        }
    }
    if let Some(s) = snapshot {
        b.push(Field::Page, s);
        facts.insert(Fact::HasPageSnapshot);
    } else if context_without_snapshot {
        facts.insert(Fact::PageSnapshotMissing);
    }
    match test.status {
        TestStatus::Flaky => facts.insert(Fact::PassedOnRetry),
        TestStatus::Unexpected if failed.len() >= 2 => facts.insert(Fact::FailedEveryAttempt),
        _ => {}
    }
    if SETUP.is_match(&test.project) || SETUP.is_match(&test.file) {
        facts.insert(Fact::SetupProject);
    }
    b.push(Field::Test, &test.id);
    let location = failed
        .iter()
        .flat_map(|a| a.errors.iter())
        .find_map(|e| e.location.clone())
        .or_else(|| {
            test.line.map(|line| Location {
                file: test.file.clone(),
                line,
                column: test.column.unwrap_or(1),
            })
        });
    let primary = failed
        .iter()
        .flat_map(|a| a.errors.iter())
        .map(|e| e.message.trim())
        .find(|m| !m.is_empty())
        .unwrap_or("")
        .to_owned();
    b.finish(FailureDoc {
        kind: FailureKind::Test,
        test_id: Some(test.id.clone()),
        title: test.title(),
        file: Some(test.file.clone()),
        location,
        project: Some(test.project.clone()),
        status: Some(test.status),
        attempts: test.attempts.len(),
        fields: Default::default(),
        backend: Arc::clone(backend),
        facts,
        primary,
        unresolved_locator: None,
        locator_match: None,
        snippet: None,
        values_seen: Vec::new(),
    })
}

/// Builds the doc for a run-level error.
pub fn from_run_error(error: &ErrorInfo, backend: &Arc<str>) -> FailureDoc {
    let mut b = Builder::default();
    b.error(error);
    let mut facts = Facts::default();
    facts.insert(Fact::RunError);
    let primary = error.message.trim().to_owned();
    b.finish(FailureDoc {
        kind: FailureKind::RunError,
        test_id: None,
        title: crate::text::one_line(&primary, 120),
        file: error.location.as_ref().map(|l| l.file.clone()),
        location: error.location.clone(),
        project: None,
        status: None,
        attempts: 0,
        fields: Default::default(),
        backend: Arc::clone(backend),
        facts,
        primary,
        unresolved_locator: None,
        locator_match: None,
        snippet: None,
        values_seen: Vec::new(),
    })
}

/// Builds the doc for one pasted failure text (a console excerpt, a CI log block):
/// lines are sorted into fields by their shape. As for [`from_test`], the
/// locator is matched by [`match_locators`].
pub fn from_text(text: &str) -> FailureDoc {
    let clean = crate::collect::playwright::error_text::strip_ansi(text);
    let clean = crate::collect::playwright::error_text::strip_log_prefixes(&clean);
    let mut b = Builder::default();
    let (rest, call_log) = crate::collect::playwright::error_text::split_call_log(&clean);
    for line in &call_log {
        b.push(Field::CallLog, line);
    }
    let mut message = Vec::new();
    let mut page = Vec::new();
    for line in rest.lines() {
        if let Some(entry) = line
            .trim()
            .strip_prefix("- ")
            .filter(|_| b.in_call_log_style(line))
        {
            b.push(Field::CallLog, entry);
        } else if PAGE_LINE.is_match(line) {
            page.push(line);
        } else if is_source_line(line) {
            b.push(Field::Source, line);
        } else if is_stack_line(line) {
            b.push(Field::Stack, line);
        } else if OUTPUT_LINE.is_match(line) {
            b.push(Field::Output, line);
        } else {
            message.push(line);
        }
    }
    let message = message.join("\n");
    b.push(Field::Message, &message);
    let mut facts = Facts::default();
    if !page.is_empty() {
        b.push(Field::Page, &page.join("\n"));
        facts.insert(Fact::HasPageSnapshot);
    }
    if TIMEOUT.is_match(&message) && message.contains("Test timeout") {
        facts.insert(Fact::TimedOut);
    }
    let primary = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_owned();
    let location =
        crate::collect::playwright::error_text::location_from_stack(b.text(Field::Stack));
    b.finish(FailureDoc {
        kind: FailureKind::Test,
        test_id: None,
        title: crate::text::one_line(&primary, 120),
        file: location.as_ref().map(|l| l.file.clone()),
        location,
        project: None,
        status: None,
        attempts: 0,
        fields: Default::default(),
        backend: Arc::from(""),
        facts,
        primary,
        unresolved_locator: None,
        locator_match: None,
        snippet: None,
        values_seen: Vec::new(),
    })
}

/// Builds the run-wide backend text from the bundle's log excerpts.
pub fn backend_text(bundle: &Bundle) -> Arc<str> {
    let mut out = String::new();
    for ex in &bundle.log_excerpts {
        for w in &ex.windows {
            out.push_str(&w.text);
            out.push('\n');
        }
    }
    Arc::from(out.trim_end())
}

#[derive(Default)]
struct Builder {
    fields: [String; 9],
    /// The first error's code snippet, as Playwright printed it.
    snippet: Option<String>,
    /// Field and hash of every text pushed: retries repeat the same error.
    seen: Vec<(Field, u64)>,
}

impl Builder {
    fn text(&self, field: Field) -> &str {
        &self.fields[field as usize]
    }

    /// Appends `text` to `field` unless it was pushed there before: retries
    /// repeat the same error, and a repeat adds nothing a rule could match.
    fn push(&mut self, field: Field, text: &str) {
        use std::hash::BuildHasher;
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        let key = (field, foldhash::fast::FixedState::default().hash_one(text));
        if self.seen.contains(&key) {
            return;
        }
        self.seen.push(key);
        let slot = &mut self.fields[field as usize];
        if !slot.is_empty() {
            slot.push('\n');
        }
        slot.push_str(text);
    }

    /// Old-style call logs in pasted text keep their `- ` entries after a `Call log:`
    /// header that `split_call_log` already consumed; elsewhere `- ` is a diff line.
    fn in_call_log_style(&self, line: &str) -> bool {
        let t = line.trim_start();
        t.starts_with("- waiting for")
            || t.starts_with("- locator resolved")
            || t.starts_with("- navigating to")
            || t.starts_with("- attempting ")
    }

    fn output(&mut self, text: &str) {
        self.push(Field::Output, text);
    }

    /// Sorts an error's parts into fields; source-excerpt and stack lines inside
    /// the message go to their own fields.
    fn error(&mut self, e: &ErrorInfo) {
        let (mut message, mut source, mut stack) = (Vec::new(), Vec::new(), Vec::new());
        for line in e.message.lines() {
            if is_source_line(line) {
                source.push(line);
            } else if is_stack_line(line) {
                stack.push(line);
            } else {
                message.push(line);
            }
        }
        self.push(Field::Source, &source.join("\n"));
        self.push(Field::Stack, &stack.join("\n"));
        self.push(Field::Message, message.join("\n").trim());
        if let Some(v) = &e.value {
            self.push(Field::Message, v);
        }
        self.push(Field::CallLog, &e.call_log.join("\n"));
        if let Some(s) = &e.snippet {
            self.push(Field::Source, s);
            if self.snippet.is_none() {
                self.snippet = Some(s.clone());
            }
        }
        if let Some(s) = &e.stack {
            let frames: Vec<&str> = s.lines().filter(|l| is_stack_line(l)).collect();
            self.push(Field::Stack, &frames.join("\n"));
        }
    }

    fn finish(self, mut doc: FailureDoc) -> FailureDoc {
        let (locator, unresolved) = unresolved_locator(
            &self.fields[Field::CallLog as usize],
            &self.fields[Field::Message as usize],
        );
        if unresolved {
            doc.facts.insert(Fact::LocatorUnresolved);
            doc.unresolved_locator = locator.clone();
            let snapshot = &self.fields[Field::Page as usize];
            if expected_text_on_page(&self.fields[Field::Message as usize], snapshot) {
                doc.facts.insert(Fact::ExpectedTextOnPage);
            }
        }
        doc.values_seen = values_seen(&self.fields[Field::CallLog as usize]);
        if doc.values_seen.len() >= 2 {
            doc.facts.insert(Fact::ValueChangedWhileRetrying);
        }
        doc.snippet = self.snippet;
        // `any` patterns run over every field (see `RuleSet::scan`): no joined copy.
        doc.fields = self.fields;
        doc
    }
}

/// Runs the matching engine for every doc whose locator never resolved on a
/// page the snapshot shows, and notes whether the page has a similar element.
///
/// The answer depends only on the page, the locator, the failing statement and
/// the message, and failures of one run can share them: the tests of one page
/// object, every test that landed on the same login page. Each distinct question is answered once, and each distinct page is
/// built once.
pub fn match_locators(docs: &mut [FailureDoc]) {
    use rayon::prelude::*;
    use std::collections::HashMap;
    /// The locator, the failing statement and the message.
    type Question<'a> = (&'a str, Option<&'a str>, &'a str);
    // Per doc that asks: its page and its question on that page.
    let mut asks: Vec<(usize, usize, usize)> = Vec::new();
    let answers: Vec<Vec<Option<Arc<Healing>>>> = {
        let mut pages: Vec<(&str, Vec<Question<'_>>)> = Vec::new();
        let mut page_index: HashMap<&str, usize> = HashMap::new();
        let mut question_index: HashMap<(usize, Question<'_>), usize> = HashMap::new();
        for (d, doc) in docs.iter().enumerate() {
            let snapshot = doc.text(Field::Page);
            let Some(printed) = doc.unresolved_locator.as_deref() else {
                continue;
            };
            if snapshot.trim().is_empty() {
                continue;
            }
            let p = *page_index.entry(snapshot).or_insert_with(|| {
                pages.push((snapshot, Vec::new()));
                pages.len() - 1
            });
            let question = (printed, doc.snippet.as_deref(), doc.text(Field::Message));
            let q = *question_index.entry((p, question)).or_insert_with(|| {
                pages[p].1.push(question);
                pages[p].1.len() - 1
            });
            asks.push((d, p, q));
        }
        // A page's model is not `Send`: each worker builds its own copy of a
        // page before it asks its share of that page's questions.
        pages
            .par_iter()
            .with_max_len(1)
            .map(|(snapshot, questions)| {
                questions
                    .par_iter()
                    .with_min_len(8)
                    .map_init(
                        || Page::from_aria(snapshot),
                        |page, &(printed, snippet, message)| {
                            matching::heal_printed(
                                printed,
                                page,
                                snippet,
                                message,
                                Thresholds::default(),
                            )
                            .map(Arc::new)
                        },
                    )
                    .collect()
            })
            .collect()
    };
    for (d, p, q) in asks {
        let doc = &mut docs[d];
        doc.locator_match = answers[p][q].clone();
        if doc.similar_element().is_some_and(|c| {
            c.score >= SIMILAR_ELEMENT_SCORE && c.features.identity >= MIN_IDENTITY
        }) {
            doc.facts.insert(Fact::SimilarElementOnPage);
        }
    }
}

/// The distinct values of the call log's `unexpected value "…"` lines: a
/// retrying assertion logs each value it received.
fn values_seen(call_log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in call_log.lines() {
        // `- unexpected value "3"`, or `9 × unexpected value "3"` for repeats.
        let entry = line.trim().trim_start_matches("- ");
        let entry = entry
            .split_once(" × ")
            .filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit()))
            .map_or(entry, |(_, rest)| rest);
        let Some(rest) = entry.strip_prefix("unexpected value ") else {
            continue;
        };
        let value = rest.trim().to_owned();
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// Whether the page snapshot shows every text the assertion expected (as
/// Playwright's message prints them), at least one of them three characters or
/// more (a digit alone is on every page).
fn expected_text_on_page(message: &str, snapshot: &str) -> bool {
    let texts = crate::locator::statement::expectations(message).expected_texts;
    // Playwright's own text matching (whitespace collapsed, case ignored).
    texts
        .iter()
        .any(|t| t.chars().filter(|c| c.is_alphanumeric()).count() >= 3)
        && texts
            .iter()
            .all(|t| crate::locator::text_matches(snapshot, t, false))
}

/// The score from which an element on the page counts as "the same thing, renamed".
pub const SIMILAR_ELEMENT_SCORE: f64 = 0.6;

/// The locator the call log last waited for, and whether it never resolved.
fn unresolved_locator(call_log: &str, message: &str) -> (Option<String>, bool) {
    let mut waited: Option<&str> = None;
    let mut resolved = false;
    for line in call_log.lines() {
        let l = line.trim();
        if let Some(target) = l.strip_prefix("waiting for ") {
            let is_locator = target.starts_with("locator(")
                || target.starts_with("getBy")
                || target.starts_with("get_by_")
                || target.starts_with("GetBy")
                || target.starts_with("selector ")
                || target.starts_with("frameLocator(");
            if is_locator {
                waited = Some(target);
                resolved = false;
            }
        } else if l.contains("resolved to") {
            resolved = !l.contains("resolved to 0 elements");
        }
    }
    let not_found = message.contains("element(s) not found")
        || message.contains("resolved to 0 elements")
        || message.contains("Received: <element(s) not found>");
    match waited {
        Some(target) => (Some(target.to_owned()), !resolved || not_found),
        None => {
            // The message may name the locator when the call log is missing.
            let from_message = message
                .lines()
                .find_map(|l| l.trim().strip_prefix("Locator:"))
                .map(|s| s.trim().to_owned());
            (from_message, not_found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_text_is_sorted_into_fields() {
        let doc = from_text(
            "Error: expect(locator).toBeVisible() failed\n\nLocator: getByText('Signed in as demo')\nExpected: visible\nError: element(s) not found\n\nCall log:\n  - Expect \"toBeVisible\" with timeout 4000ms\n  - waiting for getByText('Signed in as demo')\n\n\n  3 | test('x', async ({ page }) => {\n> 5 |   await expect(page.getByText('Signed in as demo')).toBeVisible();\n    at /src/tests/account.spec.ts:5:51\n[browser] console.error: 401\n",
        );
        assert!(doc.text(Field::Message).contains("element(s) not found"));
        assert!(doc.text(Field::CallLog).contains("waiting for getByText"));
        assert!(doc.text(Field::Source).contains("> 5 |"));
        assert!(doc.text(Field::Stack).contains("account.spec.ts:5:51"));
        assert!(doc.text(Field::Output).contains("[browser]"));
        assert!(doc.facts.contains(Fact::LocatorUnresolved));
        assert_eq!(
            doc.unresolved_locator.as_deref(),
            Some("getByText('Signed in as demo')")
        );
        assert_eq!(doc.location.as_ref().map(|l| l.line), Some(5));
    }

    #[test]
    fn failures_asking_the_same_question_share_one_answer() {
        let failure = |locator: &str, timeout: u32| {
            from_text(&format!(
                "Error: expect(locator).toBeVisible() failed\n\nLocator: {locator}\nExpected: visible\nTimeout: {timeout}ms\nError: element(s) not found\n\nCall log:\n  - Expect \"toBeVisible\" with timeout {timeout}ms\n  - waiting for {locator}\n\n- main:\n  - heading \"Cart\" [level=1]\n  - button \"Save changes\"\n  - link \"Home\"\n"
            ))
        };
        let question = "getByRole('button', { name: 'Save' })";
        // The same question on another page: the page is part of it.
        let other_page = from_text(&format!(
            "Error: expect(locator).toBeVisible() failed\n\nLocator: {question}\nExpected: visible\nTimeout: 5000ms\nError: element(s) not found\n\nCall log:\n  - Expect \"toBeVisible\" with timeout 5000ms\n  - waiting for {question}\n\n- main:\n  - heading \"Sign in\" [level=1]\n  - textbox \"Email\"\n"
        ));
        let mut docs = vec![
            failure(question, 5000),
            other_page,
            failure(question, 5000),
            failure(question, 7000),
            failure("getByTestId('gone')", 5000),
        ];
        match_locators(&mut docs);
        let answers: Vec<&Arc<Healing>> = docs
            .iter()
            .map(|d| {
                d.locator_match
                    .as_ref()
                    .expect("every locator was asked about")
            })
            .collect();
        assert!(
            Arc::ptr_eq(answers[0], answers[2]),
            "one answer for one question"
        );
        assert!(!Arc::ptr_eq(answers[0], answers[1]), "another page");
        assert!(
            answers[1].candidates.is_empty(),
            "nothing like the button on the sign-in page"
        );
        assert!(
            !Arc::ptr_eq(answers[0], answers[3]),
            "another message, another question"
        );
        // Each answer is the engine's answer to that failure alone.
        for doc in &docs {
            let page = Page::from_aria(doc.text(Field::Page));
            let alone = matching::heal_printed(
                doc.unresolved_locator.as_deref().unwrap_or_default(),
                &page,
                doc.snippet.as_deref(),
                doc.text(Field::Message),
                Thresholds::default(),
            );
            assert_eq!(doc.locator_match.as_deref(), alone.as_ref());
        }
        assert_eq!(
            answers[0].candidates.first().map(|c| c.element.as_str()),
            Some("button \"Save changes\" <div>")
        );
        assert!(docs[0].facts.contains(Fact::SimilarElementOnPage));
        // No page, no question.
        let mut alone = [from_text(
            "Error: element(s) not found\n\nCall log:\n  - waiting for getByText('x')\n",
        )];
        match_locators(&mut alone);
        assert!(alone[0].locator_match.is_none());
    }

    #[test]
    fn the_expected_text_is_looked_for_on_the_page() {
        let page = "- main:\n  - heading \"Order   SUMMARY\" [level=1]\n  - text: 3 items";
        let expecting = |text: &str| {
            format!(
                "Error: expect(locator).toHaveText(expected) failed\n\nLocator: getByTestId('x')\nExpected string: \"{text}\"\nReceived: <element(s) not found>\n"
            )
        };
        // Case and runs of spaces do not matter.
        assert!(expected_text_on_page(&expecting("order summary"), page));
        assert!(!expected_text_on_page(&expecting("Order total"), page));
        // A digit alone is on most pages: it proves nothing.
        assert!(!expected_text_on_page(&expecting("3"), page));
        // No expected text, nothing to look for.
        assert!(!expected_text_on_page(
            "Error: locator.click: Timeout 5000ms exceeded.",
            page
        ));
        assert!(!expected_text_on_page(&expecting("order summary"), ""));
    }

    #[test]
    fn changing_values_are_seen() {
        let log = "- expect.toHaveCount with timeout 5000ms\n  8 × locator resolved to 3 elements\n    - unexpected value \"3\"\n  - locator resolved to 1 element\n  - unexpected value \"1\"";
        assert_eq!(values_seen(log), ["\"3\"", "\"1\""]);
        assert_eq!(
            values_seen("  9 × unexpected value \"Saved\"\n  - unexpected value \"Saved\""),
            ["\"Saved\""]
        );
    }

    #[test]
    fn source_lines_are_numbered_or_carets() {
        for line in [
            "  12 | await page.goto('/')",
            "> 12 |   await x;",
            "    |     ^",
            "7|x",
        ] {
            assert!(is_source_line(line), "{line:?}");
        }
        for line in [
            "| a | b |",
            "> | x",
            "  | not a caret",
            "Expected: 3",
            "12 apples",
        ] {
            assert!(!is_source_line(line), "{line:?}");
        }
    }

    #[test]
    fn resolved_locators_are_not_unresolved() {
        let (loc, unresolved) = unresolved_locator(
            "waiting for getByRole('status')\n12 × locator resolved to <p role=\"status\"></p>",
            "Expected: \"Saved\"",
        );
        assert_eq!(loc.as_deref(), Some("getByRole('status')"));
        assert!(!unresolved);
        let (_, unresolved) = unresolved_locator(
            "waiting for getByTestId('item-row')\n12 × locator resolved to 0 elements",
            "",
        );
        assert!(unresolved);
    }
}
