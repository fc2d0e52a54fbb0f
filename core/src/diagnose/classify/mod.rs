//! The classifier: every failure gets exactly one error type, a calibrated
//! confidence, and the evidence behind it.
//!
//! How it decides: each rule that fires votes for its type with its weight (the
//! probability the type is right when only that signal is seen). Votes for the
//! same type combine in log-odds, each further vote counting half as much as the
//! one before (signals are correlated); types compete through a softmax against a
//! "none of these" baseline, so a lone rule of weight 0.9 yields confidence 0.9
//! and two contradicting rules share it. Under `min_confidence` the failure is
//! `unknown`. Run-level passes then add what no single failure shows: most
//! failures unable to reach the server, or a missing element that a data_seed
//! failure of the same run already found missing.

pub mod rules;
pub mod run;
pub mod signals;
pub mod signature;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::analysis::{
    Alternative, Classification, Cluster, Evidence, FailureClassification, FailureKind, Quote,
    TypeCount,
};
use crate::diagnose::taxonomy::ErrorType;
use crate::locator::Chain;
use crate::model::{Bundle, RunOutcome, TestStatus};
pub use rules::{Fact, Facts, Field, Matches, RuleSet, RulesError, RulesFile, Signal};
pub use signals::FailureDoc;

/// Each further vote for the same type counts this much of the previous one.
const DECAY: f64 = 0.5;

/// The classifier: a compiled rule set.
#[derive(Debug, Clone)]
pub struct Classifier {
    rules: RuleSet,
}

/// The decision for one failure.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureVerdict {
    /// The chosen type (`unknown` when nothing is confident).
    pub error_type: ErrorType,
    /// Its confidence (for `unknown`: the best candidate's, below the threshold).
    pub confidence: f64,
    /// The strongest rule for the chosen type.
    pub rule: Option<String>,
    /// Fired rule indices, strongest first.
    pub fired: Vec<usize>,
    /// Every type with evidence and its confidence, best first.
    pub scores: Vec<(ErrorType, f64)>,
    /// The patterns that matched, for quoting the evidence.
    pub matches: rules::Matches,
}

/// Expected values in an assertion diff: `-   "Blue Widget",` and `Expected: "…"`.
static EXPECTED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*(?:-\s+|Expected(?: string| substring)?:\s*)"([^"]+)",?\s*$"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

impl Classifier {
    /// A classifier over `rules`.
    pub fn new(rules: RuleSet) -> Classifier {
        Classifier { rules }
    }

    /// A classifier over the built-in rules.
    pub fn builtin() -> Result<Classifier, RulesError> {
        Ok(Classifier::new(RuleSet::builtin()?))
    }

    /// The rules in use.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Classifies one failure on its own.
    pub fn classify(&self, doc: &FailureDoc) -> FailureVerdict {
        self.classify_with(&mut self.rules.scanner(), doc)
    }

    fn classify_with(&self, scanner: &mut rules::Scanner<'_>, doc: &FailureDoc) -> FailureVerdict {
        self.decide_on(doc, scanner.scan(&doc.texts()))
    }

    /// The verdict for `doc` given what its texts matched.
    fn decide_on(&self, doc: &FailureDoc, matches: Matches) -> FailureVerdict {
        let fired = self.rules.fired(&matches, doc.facts);
        self.decide(fired, matches)
    }

    /// Classifies one pasted failure text.
    pub fn classify_text(&self, text: &str) -> (FailureDoc, FailureVerdict) {
        let mut doc = signals::from_text(text);
        signals::match_locators(std::slice::from_mut(&mut doc));
        let verdict = self.classify(&doc);
        (doc, verdict)
    }

    fn decide(&self, mut fired: Vec<usize>, matches: rules::Matches) -> FailureVerdict {
        fired.sort_by(|a, b| {
            self.rules
                .rule(*b)
                .weight
                .total_cmp(&self.rules.rule(*a).weight)
        });
        // (type, log-odds, weight of the next vote); a handful of types at most.
        let mut log_odds: Vec<(ErrorType, f64, f64)> = Vec::new();
        for &i in &fired {
            let r = self.rules.rule(i);
            let at = match log_odds.iter().position(|e| e.0 == r.error_type) {
                Some(at) => at,
                None => {
                    log_odds.push((r.error_type, 0.0, 1.0));
                    log_odds.len() - 1
                }
            };
            let entry = &mut log_odds[at];
            entry.1 += logit(r.weight) * entry.2;
            entry.2 *= DECAY;
        }
        let z: f64 = 1.0 + log_odds.iter().map(|e| e.1.exp()).sum::<f64>();
        let mut scores: Vec<(ErrorType, f64)> = log_odds
            .iter()
            .map(|(t, s, _)| (*t, round3(s.exp() / z)))
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let (error_type, confidence) = match scores.first() {
            Some(&(t, p)) if p >= self.rules.min_confidence => (t, p),
            Some(&(_, p)) => (ErrorType::Unknown, p),
            None => (ErrorType::Unknown, 0.0),
        };
        let rule = fired
            .iter()
            .find(|i| self.rules.rule(**i).error_type == error_type)
            .map(|i| self.rules.rule(*i).id.clone());
        FailureVerdict {
            error_type,
            confidence,
            rule,
            fired,
            scores,
            matches,
        }
    }

    /// The evidence behind a verdict: every fired rule with its quoted lines.
    pub fn evidence(&self, doc: &FailureDoc, verdict: &FailureVerdict) -> Vec<Evidence> {
        let texts = doc.texts();
        verdict
            .fired
            .iter()
            .map(|&i| {
                let r = self.rules.rule(i);
                let mut quotes: Vec<Quote> = self
                    .rules
                    .quotes(i, &texts, &verdict.matches)
                    .into_iter()
                    .map(|(f, text)| Quote {
                        field: Cow::Borrowed(f.as_str()),
                        text,
                    })
                    .collect();
                // The most specific fact (declared last) first.
                for fact in r.facts.iter().rev() {
                    if let Some(q) = fact_quote(doc, *fact) {
                        quotes.push(q);
                    }
                }
                let (rule, why) = self.rules.shared_text(i);
                Evidence {
                    rule: Arc::clone(rule),
                    error_type: r.error_type,
                    weight: r.weight,
                    why: Arc::clone(why),
                    facts: r.facts.iter().map(|f| Cow::Borrowed(f.as_str())).collect(),
                    quotes,
                }
            })
            .collect()
    }

    /// Classifies every failure of a run (failed and flaky tests, run errors),
    /// with run-level correlation, clusters and the run verdict.
    pub fn classify_bundle(&self, bundle: &Bundle) -> (Vec<FailureDoc>, Classification) {
        let backend = signals::backend_text(bundle);
        let failed: Vec<&crate::model::Test> = bundle
            .tests
            .iter()
            .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
            .filter(|t| {
                t.attempts.iter().any(|a| {
                    !a.errors.is_empty() || a.status != crate::model::AttemptStatus::Passed
                })
            })
            .collect();
        // Each failure is scanned by every pattern right after its doc is built
        // (while its texts are in cache); the run-level passes then add facts,
        // and the decisions only read the matches.
        // The backend log is the run's, the same for every failure: scanned once.
        let shared = {
            let mut texts = [""; 9];
            texts[Field::Backend as usize] = &backend;
            self.rules.scan(&texts)
        };
        let scan = |s: &mut rules::Scanner<'_>, doc: &FailureDoc| {
            let mut m = s.scan(&doc.own_texts());
            m.merge(&shared);
            m
        };
        let (mut docs, mut matches): (Vec<FailureDoc>, Vec<Matches>) = par_map_with(
            &failed,
            || self.rules.scanner(),
            |s, t| {
                let doc = signals::from_test(t, &backend);
                let m = scan(s, &doc);
                (doc, m)
            },
        )
        .into_iter()
        .unzip();
        let mut scanner = self.rules.scanner();
        for e in &bundle.run_errors {
            let doc = signals::from_run_error(e, &backend);
            matches.push(scan(&mut scanner, &doc));
            docs.push(doc);
        }
        drop(scanner);
        signals::match_locators(&mut docs);
        mark_server_down(&mut docs, &matches);
        mark_login_page(&mut docs, &matches);
        let decide_all = |docs: &[FailureDoc], matches: Vec<Matches>| -> Vec<FailureVerdict> {
            use rayon::prelude::*;
            docs.par_iter()
                .zip(matches)
                .with_min_len(256)
                .map(|(d, m)| self.decide_on(d, m))
                .collect()
        };
        let mut verdicts = decide_all(&docs, matches);
        // Only the failures given a new fact can decide differently.
        let marked = mark_missing_seed_records(&mut docs, &verdicts);
        {
            use rayon::prelude::*;
            verdicts
                .par_iter_mut()
                .zip(&docs)
                .zip(&marked)
                .filter(|(_, marked)| **marked)
                .for_each(|((v, d), _)| *v = self.decide_on(d, std::mem::take(&mut v.matches)));
        }
        let mut failures = build_failures(self, &docs, &verdicts);
        let seen: Vec<&Matches> = verdicts.iter().map(|v| &v.matches).collect();
        let cause = run::explain(bundle, &docs, &seen, &mut failures);
        let clusters = clusters(&mut failures);
        let outcome = RunOutcome::of(&bundle.summary);
        let (error_type, confidence, reason, cause) = if failures.is_empty() {
            let reason = nothing_to_diagnose(outcome, &bundle.summary);
            let cause = passed_sentence(outcome, &bundle.summary);
            (None, None, reason, cause)
        } else {
            let (t, c, r) = run_verdict(&failures);
            match cause {
                Some(cause) => (
                    Some(cause.error_type),
                    Some(cause.confidence),
                    format!("run-level cause {}; {r}", cause.error_type.as_str()),
                    cause.sentence,
                ),
                None => {
                    let sentence = run::sentence_for(t, &failures, &bundle.summary);
                    (Some(t), Some(c), r, sentence)
                }
            }
        };
        let mut by_type: Vec<TypeCount> = {
            let mut counts: BTreeMap<ErrorType, usize> = BTreeMap::new();
            for f in &failures {
                *counts.entry(f.error_type).or_default() += 1;
            }
            counts
                .into_iter()
                .map(|(error_type, count)| TypeCount { error_type, count })
                .collect()
        };
        by_type.sort_by(|a, b| b.count.cmp(&a.count).then(a.error_type.cmp(&b.error_type)));
        (
            docs,
            Classification {
                outcome,
                error_type,
                confidence,
                reason,
                cause,
                by_type,
                failures,
                clusters,
            },
        )
    }
}

/// Maps `items` in order, on all cores when there are enough of them.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    par_map_with(items, || (), |_, t| f(t))
}

/// [`par_map`] with per-worker state made by `init` (search caches). The
/// workers are rayon's long-lived threads: their allocator heaps and the warm
/// caches outlive one call, which matters when a service classifies run after run.
fn par_map_with<T: Sync, S, R: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, &T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    if items.len() < 256 {
        let mut state = init();
        return items.iter().map(|t| f(&mut state, t)).collect();
    }
    items
        .par_iter()
        .with_min_len(64)
        .map_init(init, |s, t| f(s, t))
        .collect()
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// When at least half of the failures (two or more) could not reach the app, or a
/// setup step could not, the server is the cause for all of them.
fn mark_server_down(docs: &mut [FailureDoc], matches: &[Matches]) {
    let hits: Vec<bool> = matches.iter().map(|m| m.has(Signal::ServerDown)).collect();
    let n = hits.iter().filter(|h| **h).count();
    let setup_down = docs.iter().zip(&hits).any(|(d, h)| {
        *h && (d.facts.contains(Fact::SetupProject) || d.facts.contains(Fact::RunError))
    });
    if (n >= 2 && n * 2 >= docs.len()) || setup_down {
        for d in docs.iter_mut() {
            d.facts.insert(Fact::ServerDownRunWide);
        }
    }
}

/// When at least half of the failures (two or more) show a login screen, the
/// session is the cause for all of them.
fn mark_login_page(docs: &mut [FailureDoc], matches: &[Matches]) {
    let n = matches.iter().filter(|m| m.has(Signal::LoginPage)).count();
    if n >= 2 && n * 2 >= docs.len() {
        for d in docs.iter_mut() {
            d.facts.insert(Fact::LoginPageRunWide);
        }
    }
}

/// Marks failures whose missing element is a record that a data_seed failure of
/// the same run expected and did not find. Returns, per failure, whether it was marked.
fn mark_missing_seed_records(docs: &mut [FailureDoc], verdicts: &[FailureVerdict]) -> Vec<bool> {
    let mut marked = vec![false; docs.len()];
    // A set: a run's data_seed failures can expect thousands of records.
    let mut records: HashSet<String> = HashSet::new();
    for (d, v) in docs.iter().zip(verdicts) {
        if v.error_type == ErrorType::DataSeed {
            for c in EXPECTED_VALUE.captures_iter(d.text(Field::Message)) {
                if let Some(m) = c.get(1) {
                    records.insert(m.as_str().trim().to_lowercase());
                }
            }
        }
    }
    if records.is_empty() {
        return marked;
    }
    for ((d, v), marked) in docs.iter_mut().zip(verdicts).zip(&mut marked) {
        if v.error_type == ErrorType::DataSeed || !d.facts.contains(Fact::LocatorUnresolved) {
            continue;
        }
        let target = d
            .unresolved_locator
            .as_deref()
            .and_then(Chain::parse)
            .map(|l| l.target_text().trim().to_lowercase());
        if target.is_some_and(|t| !t.is_empty() && records.contains(&t)) {
            d.facts.insert(Fact::MissingSeedRecord);
            *marked = true;
        }
    }
    marked
}

fn fact_quote(doc: &FailureDoc, fact: Fact) -> Option<Quote> {
    let text = match fact {
        Fact::LocatorUnresolved => format!(
            "never resolved: {}",
            doc.unresolved_locator.as_deref().unwrap_or("the locator")
        ),
        Fact::SimilarElementOnPage => {
            let c = doc.similar_element()?;
            format!(
                "page has {} (snapshot line {}, similarity {:.2}) for {}",
                c.chain.as_deref().unwrap_or(&c.element),
                c.snapshot_line.unwrap_or_default(),
                c.score,
                doc.unresolved_locator.as_deref().unwrap_or("the locator")
            )
        }
        Fact::ExpectedTextOnPage => format!(
            "the page shows what the assertion expected, yet {} matched nothing",
            doc.unresolved_locator.as_deref().unwrap_or("the locator")
        ),
        Fact::PassedOnRetry => format!("failed, then passed on retry ({} attempts)", doc.attempts),
        Fact::FailedEveryAttempt => format!("failed all {} attempts the same way", doc.attempts),
        Fact::TimedOut => "an attempt ran past the test timeout".to_owned(),
        Fact::SetupProject => format!(
            "failed in setup: {}",
            doc.project
                .as_deref()
                .or(doc.file.as_deref())
                .unwrap_or("setup")
        ),
        Fact::RunError => "error outside any test".to_owned(),
        Fact::HasPageSnapshot => "the page was captured at failure".to_owned(),
        Fact::PageSnapshotMissing => "Playwright could not capture the page at failure".to_owned(),
        Fact::ServerDownRunWide => "most failures of this run could not reach the app".to_owned(),
        Fact::LoginPageRunWide => "most failures of this run landed on a login page".to_owned(),
        Fact::ValueChangedWhileRetrying => format!(
            "the assertion saw {} while retrying",
            doc.values_seen.join(", ")
        ),
        Fact::MissingSeedRecord => format!(
            "{} is a record another failure of this run found missing",
            doc.unresolved_locator.as_deref().unwrap_or("the element")
        ),
    };
    Some(Quote {
        field: Cow::Owned(format!("fact:{}", fact.as_str())),
        text,
    })
}

fn build_failures(
    c: &Classifier,
    docs: &[FailureDoc],
    verdicts: &[FailureVerdict],
) -> Vec<FailureClassification> {
    let pairs: Vec<(usize, (&FailureDoc, &FailureVerdict))> =
        docs.iter().zip(verdicts).enumerate().collect();
    let first_run_error = docs.iter().position(|d| d.test_id.is_none()).unwrap_or(0);
    par_map(&pairs, |&(i, (d, v))| {
        let id = match &d.test_id {
            Some(id) => id.clone(),
            None => format!("run-error-{}", i - first_run_error + 1),
        };
        let signature = signature::signature(&d.primary);
        FailureClassification {
            id,
            kind: match d.kind {
                signals::FailureKind::Test => FailureKind::Test,
                signals::FailureKind::RunError => FailureKind::RunError,
            },
            title: d.title.clone(),
            file: d.file.clone(),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            project: d.project.clone(),
            status: d.status,
            attempts: d.attempts,
            error_type: v.error_type,
            confidence: v.confidence,
            rule: v.rule.clone(),
            message: crate::text::one_line(&d.primary, 300),
            cluster: String::new(),
            signature,
            locator: d.unresolved_locator.clone(),
            evidence: c.evidence(d, v),
            alternatives: v
                .scores
                .iter()
                .filter(|(t, _)| *t != v.error_type)
                .map(|(t, p)| Alternative {
                    error_type: *t,
                    confidence: *p,
                })
                .collect(),
        }
    })
}

/// Groups failures by (error type, signature), largest cluster first, and
/// records each failure's cluster id on it.
fn clusters(failures: &mut [FailureClassification]) -> Vec<Cluster> {
    let mut by_key: BTreeMap<(ErrorType, &str), Vec<usize>> = BTreeMap::new();
    for (i, f) in failures.iter().enumerate() {
        by_key
            .entry((f.error_type, f.signature.as_str()))
            .or_default()
            .push(i);
    }
    let mut out: Vec<(Cluster, Vec<usize>)> = by_key
        .into_iter()
        .map(|((t, sig), members)| {
            let cluster = Cluster {
                id: signature::cluster_id(&format!("{}|{sig}", t.as_str())),
                signature: sig.to_owned(),
                error_type: t,
                count: members.len(),
                failures: members.iter().map(|i| failures[*i].id.clone()).collect(),
                example: failures[members[0]].message.clone(),
            };
            (cluster, members)
        })
        .collect();
    for (cluster, members) in &out {
        for i in members {
            failures[*i].cluster.clone_from(&cluster.id);
        }
    }
    out.sort_by(|a, b| b.0.count.cmp(&a.0.count).then(a.0.id.cmp(&b.0.id)));
    out.into_iter().map(|(c, _)| c).collect()
}

/// The reason of a run with no failure to classify.
fn nothing_to_diagnose(outcome: RunOutcome, s: &crate::model::Summary) -> String {
    match outcome {
        RunOutcome::NoTests => "the run had no tests: nothing to diagnose".to_owned(),
        _ if s.skipped > 0 => format!(
            "all {} test(s) passed ({} skipped): nothing to diagnose",
            s.tests - s.skipped,
            s.skipped
        ),
        _ => format!("all {} test(s) passed: nothing to diagnose", s.tests),
    }
}

/// The plain sentence of a run with nothing to diagnose.
fn passed_sentence(outcome: RunOutcome, s: &crate::model::Summary) -> String {
    match outcome {
        RunOutcome::NoTests => "The run had no tests.".to_owned(),
        _ if s.flaky > 0 => format!(
            "All {} test(s) passed, {} of them on a retry.",
            s.tests - s.skipped,
            s.flaky
        ),
        _ => format!("All {} test(s) passed.", s.tests - s.skipped),
    }
}

/// The run's dominant error type: the type with the largest confidence mass,
/// where a failure in setup or outside any test counts for every test it kept
/// from running.
fn run_verdict(failures: &[FailureClassification]) -> (ErrorType, f64, String) {
    let mut mass: BTreeMap<ErrorType, f64> = BTreeMap::new();
    for f in failures {
        let w = if f.kind == FailureKind::RunError
            || f.project.as_deref().is_some_and(|p| p.contains("setup"))
        {
            2.0
        } else if f.status == Some(TestStatus::Flaky) {
            0.5
        } else {
            1.0
        };
        *mass.entry(f.error_type).or_default() += w * f.confidence.max(0.05);
    }
    let total: f64 = mass.values().sum();
    let Some((&top, &m)) = mass
        .iter()
        .filter(|(t, _)| **t != ErrorType::Unknown)
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
    else {
        return (
            ErrorType::Unknown,
            0.0,
            format!(
                "no failure of {} was classified with confidence",
                failures.len()
            ),
        );
    };
    let members: Vec<&FailureClassification> =
        failures.iter().filter(|f| f.error_type == top).collect();
    let mean = members.iter().map(|f| f.confidence).sum::<f64>() / members.len() as f64;
    let share = m / total;
    let confidence = round3(mean * share.sqrt());
    let reason = format!(
        "{} of {} failure(s) are {} (mean confidence {:.2}){}",
        members.len(),
        failures.len(),
        top.as_str(),
        mean,
        if members.len() < failures.len() {
            format!(
                "; others: {}",
                mass.keys()
                    .filter(|t| **t != top)
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        }
    );
    (top, confidence, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> Classifier {
        Classifier::builtin().expect("builtin")
    }

    #[test]
    fn a_lone_rule_gives_its_weight() {
        let c = c();
        let v = c.decide(vec![0], Default::default());
        assert_eq!(v.confidence, round3(c.rules.rule(0).weight));
    }

    #[test]
    fn nothing_fired_is_unknown() {
        let (_, v) = c().classify_text("something entirely unrelated happened");
        assert_eq!(v.error_type, ErrorType::Unknown);
        assert_eq!(v.confidence, 0.0);
    }

    #[test]
    fn executable_missing_is_environment_setup() {
        let (_, v) = c().classify_text("Error: browserType.launch: Executable doesn't exist at /ms-playwright/chromium-1091/chrome-linux/chrome");
        assert_eq!(v.error_type, ErrorType::EnvironmentSetup);
        assert!(v.confidence >= 0.9, "{v:?}");
    }
}
