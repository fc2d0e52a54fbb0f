//! Run-level reasoning: the run's cause decided from all of its evidence at
//! once — every failure, the tests that passed, retries, the app's log
//! correlated by time, the pages at failure — and said in one plain sentence.
//!
//! Per-failure votes cannot see what only the run shows: a server that served
//! passing tests was up, the same empty list on four pages is missing data, an
//! `ERROR` in the app's log while an assertion failed is the app's fault. Each
//! hypothesis here names the evidence it needs; when it holds, it explains the
//! failures whose own evidence is compatible with it, and the others keep
//! their types.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use regex::bytes::Regex as BytesRegex;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::rules::{Field, Matches, Signal};
use super::signals::FailureDoc;
use crate::diagnose::analysis::{Evidence, FailureClassification, Quote};
use crate::diagnose::taxonomy::ErrorType;
use crate::model::{Bundle, TestStatus};

/// The run's cause, when a run-level hypothesis holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCause {
    /// The type that explains the run.
    pub error_type: ErrorType,
    /// How sure.
    pub confidence: f64,
    /// One plain sentence for the comment and the dashboard.
    pub sentence: String,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// An empty list or table, as apps word it.
pub(super) const EMPTY_STATE_PATTERN: &str = r#"\b(no (items|products|results|records|entries|orders|rows|data)( (yet|found|available))?\b|nothing (here|found|to show)|(list|cart|table|inventory) is empty|\b0 (items|results|products|records)\b)"#;

/// A page that says the record does not exist.
pub(super) const NOT_FOUND_PAGE_PATTERN: &str = r#"(heading "[^"]*\b(404|not found)\b|\b404\b[^\n]{0,40}\bnot found\b|\bpage not found\b|\b(item|product|record|page) (was )?not found\b)"#;

/// The browser lost a connection that had reached the server.
pub(super) const DROPPED_PATTERN: &str = r"(net::ERR_EMPTY_RESPONSE|net::ERR_CONNECTION_RESET|net::ERR_CONNECTION_CLOSED|ECONNRESET|socket hang up|Failed to fetch)";

/// Nothing listens: the server is down, not the network.
pub(super) const REFUSED_PATTERN: &str =
    r"(ERR_CONNECTION_REFUSED|ECONNREFUSED|connection refused)";

// The scan that runs the rules flags the failures whose texts match these
// ([`Signal`]); only those are searched again, for the words to quote. Same
// flags as the rules' patterns, so a flag and a search agree.
static EMPTY_STATE: LazyLock<BytesRegex> = LazyLock::new(|| rule_re(EMPTY_STATE_PATTERN));
static NOT_FOUND_PAGE: LazyLock<BytesRegex> = LazyLock::new(|| rule_re(NOT_FOUND_PAGE_PATTERN));
static DROPPED: LazyLock<BytesRegex> = LazyLock::new(|| rule_re(DROPPED_PATTERN));

/// The words a pattern found. Its matches start and end on ASCII, so they
/// are whole characters.
fn found(re: &BytesRegex, text: &str) -> Option<String> {
    re.find(text.as_bytes())
        .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
}

fn rule_re(pattern: &str) -> BytesRegex {
    super::rules::pattern_regex(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// An app log line that reports a failure, with its timestamp.
static LOG_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?m)^\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\s+(.*\b(ERROR|FATAL|CRITICAL)\b.*|.*\bstatus[=:] ?5\d\d\b.*)$",
    )
});

/// Types a run-level cause may explain: what a failure looks like when the
/// cause lies elsewhere (a missing element, a wrong value, a late page, a
/// changed screenshot), or no type at all.
fn compatible(t: ErrorType) -> bool {
    matches!(
        t,
        ErrorType::Unknown
            | ErrorType::SelectorDrift
            | ErrorType::AssertionMismatch
            | ErrorType::TimeoutFlaky
            | ErrorType::VisualRegression
    )
}

/// Decides the run's cause, re-typing the failures it explains. `None` when no
/// hypothesis holds: the per-failure votes decide.
///
/// `seen` holds each failure's matches, whose [`Signal`]s say which failures
/// show what.
pub fn explain(
    bundle: &Bundle,
    docs: &[FailureDoc],
    seen: &[&Matches],
    failures: &mut [FailureClassification],
) -> Option<RunCause> {
    app_error_in_log(bundle, docs, failures)
        .or_else(|| missing_data(docs, seen, failures))
        .or_else(|| dropped_connections(bundle, docs, seen, failures))
}

/// The texts a failure's page and received values are in.
fn page_texts(d: &FailureDoc) -> [&str; 2] {
    [d.text(Field::Page), d.text(Field::Message)]
}

fn retype(f: &mut FailureClassification, to: ErrorType, confidence: f64, evidence: Evidence) {
    if f.error_type != to && f.error_type != ErrorType::Unknown {
        f.alternatives.insert(
            0,
            crate::diagnose::analysis::Alternative {
                error_type: f.error_type,
                confidence: f.confidence,
            },
        );
    }
    f.alternatives.retain(|a| a.error_type != to);
    f.error_type = to;
    f.confidence = confidence;
    f.rule = Some(evidence.rule.to_string());
    f.evidence.insert(0, evidence);
}

fn evidence(rule: &'static str, to: ErrorType, weight: f64, why: &str, quote: String) -> Evidence {
    Evidence {
        rule: Arc::from(rule),
        error_type: to,
        weight,
        why: Arc::from(why),
        facts: Vec::new(),
        quotes: vec![Quote {
            field: Cow::Borrowed("run"),
            text: quote,
        }],
    }
}

/// What a failure's page shows, for [`missing_data`].
enum Shows {
    /// An empty list, with the words that say so.
    Empty(String),
    /// A record-not-found page.
    NotFound,
    Other,
}

/// The same empty list, pages saying the record does not exist, or failures
/// that found seeded records missing, across at least half of the failures
/// (two or more): the data was never seeded.
fn missing_data(
    docs: &[FailureDoc],
    seen: &[&Matches],
    failures: &mut [FailureClassification],
) -> Option<RunCause> {
    let n = failures.len();
    let mut empty = Vec::new();
    let mut not_found = Vec::new();
    let mut seed = Vec::new();
    let shows = docs.iter().zip(seen).map(|(d, m)| {
        let texts = page_texts(d);
        if let Some(words) = m
            .has(Signal::EmptyState)
            .then(|| texts.iter().find_map(|t| found(&EMPTY_STATE, t)))
            .flatten()
        {
            Shows::Empty(words)
        } else if m.has(Signal::NotFoundPage)
            && texts.iter().any(|t| NOT_FOUND_PAGE.is_match(t.as_bytes()))
        {
            Shows::NotFound
        } else {
            Shows::Other
        }
    });
    for (i, (shows, f)) in shows.into_iter().zip(failures.iter()).enumerate() {
        match shows {
            Shows::Empty(text) => empty.push((i, text)),
            Shows::NotFound => not_found.push(i),
            Shows::Other if f.error_type == ErrorType::DataSeed => seed.push(i),
            Shows::Other => {}
        }
    }
    let k = empty.len() + not_found.len() + seed.len();
    // Pages, not only votes: at least one empty list or missing-record page.
    if empty.is_empty() && not_found.is_empty() || k < 2 || k * 2 < n {
        return None;
    }
    let why = "the run shows empty lists or missing records on most failing pages";
    for (i, text) in &empty {
        let q = format!("the page at failure shows \"{text}\"");
        if compatible(failures[*i].error_type) {
            retype(
                &mut failures[*i],
                ErrorType::DataSeed,
                0.8,
                evidence("run.empty-data", ErrorType::DataSeed, 0.8, why, q),
            );
        }
    }
    for &i in &not_found {
        if compatible(failures[i].error_type) {
            let q = "the page at failure says the record was not found".to_owned();
            retype(
                &mut failures[i],
                ErrorType::DataSeed,
                0.75,
                evidence("run.empty-data", ErrorType::DataSeed, 0.75, why, q),
            );
        }
    }
    let mut seen = Vec::new();
    if let Some((_, text)) = empty.first() {
        seen.push(format!("the page showed \"{text}\" in {}", empty.len()));
    }
    if !not_found.is_empty() {
        seen.push(format!("a record was not found in {}", not_found.len()));
    }
    if !seed.is_empty() {
        seen.push(format!("seeded records were missing in {}", seed.len()));
    }
    Some(RunCause {
        error_type: ErrorType::DataSeed,
        confidence: round3(0.6 + 0.3 * k as f64 / n as f64),
        sentence: format!(
            "{k} of {n} failures show missing data ({}): the test data was not seeded.",
            seen.join(", ")
        ),
    })
}

/// Connections that reached the server and were dropped, while the same server
/// served tests that passed: the network, not the server.
fn dropped_connections(
    bundle: &Bundle,
    docs: &[FailureDoc],
    seen: &[&Matches],
    failures: &mut [FailureClassification],
) -> Option<RunCause> {
    let n = failures.len();
    let any_text = |d: &FailureDoc, r: &BytesRegex| -> Option<String> {
        [Field::Message, Field::CallLog, Field::Output, Field::Page]
            .iter()
            .find_map(|f| found(r, d.text(*f)))
    };
    if seen.iter().any(|m| m.has(Signal::Refused)) {
        return None;
    }
    let dropped: Vec<(usize, String)> = docs
        .iter()
        .zip(seen)
        .enumerate()
        .filter(|(_, (_, m))| m.has(Signal::Dropped))
        .filter_map(|(i, (d, _))| any_text(d, &DROPPED).map(|m| (i, m)))
        .collect();
    let served = bundle.summary.passed + bundle.summary.flaky;
    if dropped.is_empty() || dropped.len() * 2 < n || served == 0 {
        return None;
    }
    let flaky = bundle
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Flaky)
        .count();
    let why = "connections were dropped while the same server served passing tests";
    for (i, m) in &dropped {
        let t = failures[*i].error_type;
        if compatible(t) || t == ErrorType::ServerUnavailable || t == ErrorType::NetworkFlake {
            let q = format!("{m}, while {served} test(s) passed against the same server");
            retype(
                &mut failures[*i],
                ErrorType::NetworkFlake,
                0.8,
                evidence("run.server-was-up", ErrorType::NetworkFlake, 0.8, why, q),
            );
        }
    }
    let error = &dropped[0].1;
    let retry = if flaky > 0 {
        format!(" and {flaky} passed on retry")
    } else {
        String::new()
    };
    Some(RunCause {
        error_type: ErrorType::NetworkFlake,
        confidence: if flaky > 0 { 0.85 } else { 0.75 },
        sentence: format!(
            "{} of {n} failures lost a connection that had reached the server ({error}) while {served} test(s) passed against it{retry}: the network dropped requests; the server was up.",
            dropped.len()
        ),
    })
}

/// An error in the app's log while a test that failed on a value or a wait
/// was running: the app failed, not the test.
fn app_error_in_log(
    bundle: &Bundle,
    docs: &[FailureDoc],
    failures: &mut [FailureClassification],
) -> Option<RunCause> {
    let mut lines: Vec<(OffsetDateTime, String)> = Vec::new();
    for ex in &bundle.log_excerpts {
        for w in &ex.windows {
            for c in LOG_ERROR.captures_iter(&w.text) {
                if let (Some(ts), Some(line)) = (c.get(1), c.get(0))
                    && let Ok(at) = OffsetDateTime::parse(ts.as_str(), &Rfc3339)
                {
                    lines.push((at, line.as_str().trim().to_owned()));
                }
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let n = failures.len();
    let mut hits: Vec<(usize, String)> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        if !matches!(
            failures[i].error_type,
            ErrorType::Unknown
                | ErrorType::AssertionMismatch
                | ErrorType::TimeoutFlaky
                | ErrorType::AppError
        ) {
            continue;
        }
        let Some(test) = d
            .test_id
            .as_deref()
            .and_then(|id| bundle.tests.iter().find(|t| t.id == id))
        else {
            continue;
        };
        let during = test
            .attempts
            .iter()
            .filter(|a| !a.errors.is_empty())
            .find_map(|a| {
                let start = OffsetDateTime::parse(a.started_at.as_deref()?, &Rfc3339).ok()?;
                let end = start + time::Duration::milliseconds(a.duration_ms as i64 + 500);
                lines
                    .iter()
                    .find(|(at, _)| *at >= start && *at <= end)
                    .map(|(_, l)| l.clone())
            });
        if let Some(line) = during {
            hits.push((i, line));
        }
    }
    if hits.is_empty() {
        return None;
    }
    let why = "the app logged an error while this test ran";
    for (i, line) in &hits {
        let q = crate::text::one_line(line, 240);
        retype(
            &mut failures[*i],
            ErrorType::AppError,
            0.8,
            evidence("run.app-log-during-test", ErrorType::AppError, 0.8, why, q),
        );
    }
    if hits.len() * 2 < n {
        return None;
    }
    // The line without its timestamp, short enough for a sentence.
    let first = hits[0]
        .1
        .split_once(char::is_whitespace)
        .map_or(hits[0].1.as_str(), |(_, rest)| rest);
    let line = crate::text::one_line(first.trim(), 100);
    Some(RunCause {
        error_type: ErrorType::AppError,
        confidence: 0.8,
        sentence: format!(
            "The app logged an error while {} of {n} failing tests ran ({line}): the app failed, not the test.",
            hits.len()
        ),
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The one sentence of a run no hypothesis explained: its verdict in words.
pub fn sentence_for(
    error_type: ErrorType,
    failures: &[FailureClassification],
    summary: &crate::model::Summary,
) -> String {
    let n = failures.len();
    let k = failures
        .iter()
        .filter(|f| f.error_type == error_type)
        .count();
    if error_type == ErrorType::Unknown {
        return format!(
            "{n} failure(s) of {} test(s), none with evidence clear enough to name a cause.",
            summary.tests
        );
    }
    let example = failures
        .iter()
        .find(|f| f.error_type == error_type)
        .map(|f| crate::text::one_line(&f.message, 120))
        .unwrap_or_default();
    format!(
        "{k} of {n} failure(s) point to {}: {} (\"{example}\").",
        error_type.as_str(),
        error_type.meaning()
    )
}
