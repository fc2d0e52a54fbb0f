//! The planner: from a classification, the self-heal plan, the fix-agent's
//! instructions and the triggers. The plan only proposes; what runs is decided
//! later against the repository's own configuration (docs/design.md §5).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnose::analysis::{
    ANALYSIS_SCHEMA, Analysis, AnalysisSource, AnalysisSummary, Analyzer, Classification,
    FailureClassification, FixInstruction, FixKind, HealAction, LocatorCandidate, PlannedAction,
    SelfHealPlan, Trigger, Triggers,
};
use crate::diagnose::classify::{Classifier, FailureDoc, Field};
use crate::diagnose::taxonomy::{ErrorType, Remediation};
use crate::locator::Chain;
use crate::locator::matching::{self, Thresholds};
use crate::model::{Bundle, TestStatus};
use crate::page::Page;

/// Failures under this confidence drive no action (they still trigger `notify`).
pub const ACTION_MIN_CONFIDENCE: f64 = 0.6;

/// Classifies a bundle and plans: the whole `analysis.json`.
pub fn analyze(classifier: &Classifier, bundle: &Bundle, generated_at: String) -> Analysis {
    let (docs, classification) = classifier.classify_bundle(bundle);
    let info = &classifier.rules().info;
    let summary = AnalysisSummary {
        tests: bundle.summary.tests,
        failed: bundle.summary.failed,
        flaky: bundle.summary.flaky,
        run_errors: bundle.run_errors.len(),
        failures: classification.failures.len(),
        unknown: classification
            .failures
            .iter()
            .filter(|f| f.error_type == ErrorType::Unknown)
            .count(),
        clusters: classification.clusters.len(),
    };
    let self_heal_plan = self_heal_plan(&classification);
    let fix_agent_instructions = fix_instructions(&classification, &docs);
    let triggers = triggers(&classification, &self_heal_plan, &fix_agent_instructions);
    Analysis {
        schema: ANALYSIS_SCHEMA.to_owned(),
        analyzer: Analyzer {
            name: "ci-medic".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at,
            builtin_rules: info.builtin,
            user_rules: info.user,
            rules_file: info.user_file.clone(),
            overridden_rules: info.overridden.clone(),
            disabled_rules: info.disabled.clone(),
            min_confidence: classifier.rules().min_confidence,
        },
        source: AnalysisSource::Local,
        run: bundle.run.clone(),
        summary,
        classification,
        self_heal_plan,
        fix_agent_instructions,
        triggers,
    }
}

/// The actions an error type calls for, in the order they must run.
fn actions_for(t: ErrorType) -> &'static [HealAction] {
    use HealAction::*;
    match t {
        ErrorType::TimeoutFlaky | ErrorType::NetworkFlake => &[RerunFailed],
        ErrorType::AuthState => &[RegenerateStorageState, RerunFailed],
        ErrorType::DataSeed => &[ReseedData, RerunFailed],
        ErrorType::ServerUnavailable => &[RestartApp, WaitForHealth, RerunFailed],
        ErrorType::BrowserCrash => &[ReduceWorkers],
        ErrorType::EnvironmentSetup => &[ReinstallBrowsers, RerunFailed],
        _ => &[],
    }
}

fn action_reason(a: HealAction, types: &[ErrorType], n: usize) -> String {
    let what = types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let why = match a {
        HealAction::ReinstallBrowsers => "browsers or their dependencies are missing",
        HealAction::RestartApp => "the app was unreachable",
        HealAction::WaitForHealth => "the app must answer its health check before tests rerun",
        HealAction::ReseedData => "the baseline data is missing or wrong",
        HealAction::RegenerateStorageState => "the saved login state was rejected",
        HealAction::ReduceWorkers => "the browser crashed; fewer workers lower memory pressure",
        HealAction::RerunFailed => "the cause is transient or fixed by the actions before",
    };
    format!("{why} ({n} failure(s): {what})")
}

fn self_heal_plan(c: &Classification) -> SelfHealPlan {
    let mut by_action: BTreeMap<HealAction, (Vec<ErrorType>, Vec<String>)> = BTreeMap::new();
    for f in &c.failures {
        if f.confidence < ACTION_MIN_CONFIDENCE {
            continue;
        }
        for &a in actions_for(f.error_type) {
            let entry = by_action.entry(a).or_default();
            if !entry.0.contains(&f.error_type) {
                entry.0.push(f.error_type);
            }
            entry.1.push(f.id.clone());
        }
    }
    // A rerun with fewer workers already reruns the failing tests.
    if by_action.contains_key(&HealAction::ReduceWorkers)
        && let (Some(reduce), Some(rerun)) = (
            by_action.get(&HealAction::ReduceWorkers).cloned(),
            by_action.remove(&HealAction::RerunFailed),
        )
    {
        let merged = by_action.entry(HealAction::ReduceWorkers).or_default();
        *merged = reduce;
        for t in rerun.0 {
            if !merged.0.contains(&t) {
                merged.0.push(t);
            }
        }
        merged.1.extend(rerun.1);
    }
    // BTreeMap order is the enum's order: environment, app, data, auth, then reruns.
    let actions = by_action
        .into_iter()
        .map(|(action, (mut types, mut targets))| {
            types.sort();
            targets.sort();
            targets.dedup();
            PlannedAction {
                action,
                reason: action_reason(action, &types, targets.len()),
                error_types: types,
                targets,
            }
        })
        .collect();
    SelfHealPlan { actions }
}

/// Expected / received values of an assertion message.
static EXPECTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*Expected(?: string| substring| pattern| value)?:\s*(.+)$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static RECEIVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*Received(?: string| value)?:\s*(.+)$")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static TIMEOUT_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:Timeout:?\s*|timeout of |Timeout )(\d+)\s*ms")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});
static SNAPSHOT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(?:Snapshot:\s*|toHaveScreenshot\(|toMatchSnapshot\()([\w./-]+\.png)")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

fn first_capture(re: &Regex, text: &str) -> Option<String> {
    re.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().to_owned())
}

fn evidence_lines(f: &FailureClassification) -> Vec<String> {
    f.evidence
        .iter()
        .filter(|e| e.error_type == f.error_type)
        .flat_map(|e| {
            e.quotes
                .iter()
                .map(move |q| format!("{} [{}]: {}", e.rule, q.field, q.text))
        })
        .take(6)
        .collect()
}

fn fix_instructions(c: &Classification, docs: &[FailureDoc]) -> Vec<FixInstruction> {
    let mut out = Vec::new();
    for (f, doc) in c.failures.iter().zip(docs) {
        if f.error_type.remediation() != Remediation::FixAgent
            || f.confidence < ACTION_MIN_CONFIDENCE
        {
            continue;
        }
        let message = doc.text(Field::Message);
        let base = FixInstruction {
            kind: FixKind::ReviewAssertion,
            failure: f.id.clone(),
            error_type: f.error_type,
            file: f.file.clone(),
            line: f.line,
            old: None,
            new: None,
            expected: first_capture(&EXPECTED, message),
            received: first_capture(&RECEIVED, message),
            candidates: Vec::new(),
            evidence: evidence_lines(f),
            confidence: f.confidence,
            needs_review: true,
        };
        let instruction = match f.error_type {
            ErrorType::SelectorDrift => {
                let old = doc.unresolved_locator.clone().or_else(|| {
                    Chain::parse(message).map(|c| message[c.span.0..c.span.1].to_owned())
                });
                // The matching engine, as the fix-agent runs it, on the page
                // the snapshot shows and the failing statement of the snippet:
                // the classifier's answer when it asked about the same locator.
                let computed;
                let healing = if old.is_some() && old == doc.unresolved_locator {
                    doc.locator_match.as_deref()
                } else {
                    let page = Page::from_aria(doc.text(Field::Page));
                    computed = old.as_deref().and_then(|o| {
                        matching::heal_printed(
                            o,
                            &page,
                            doc.snippet.as_deref(),
                            doc.text(Field::Message),
                            Thresholds::default(),
                        )
                    });
                    computed.as_ref()
                };
                let candidates: Vec<LocatorCandidate> = healing
                    .iter()
                    .flat_map(|h| &h.candidates)
                    .take(5)
                    .filter_map(|c| {
                        Some(LocatorCandidate {
                            locator: c.chain.clone()?,
                            role: c.role.clone(),
                            name: Some(c.name.clone()).filter(|n| !n.is_empty()),
                            score: c.score,
                            snapshot_line: c.snapshot_line?,
                        })
                    })
                    .collect();
                let new = healing
                    .filter(|h| h.replacement.is_some())
                    .and_then(|h| h.candidates.first())
                    .and_then(|c| c.chain.clone());
                let clear = new.is_some();
                FixInstruction {
                    kind: FixKind::UpdateLocator,
                    new,
                    needs_review: !clear,
                    old,
                    candidates,
                    expected: None,
                    received: None,
                    ..base
                }
            }
            ErrorType::VisualRegression => FixInstruction {
                kind: FixKind::RefreshSnapshot,
                old: first_capture(&SNAPSHOT_NAME, message),
                ..base
            },
            ErrorType::AssertionMismatch => base,
            ErrorType::TestCodeError => FixInstruction {
                kind: FixKind::FixTestCode,
                old: doc
                    .text(Field::Source)
                    .lines()
                    .find(|l| l.trim_start().starts_with('>'))
                    .map(|l| l.trim().to_owned()),
                ..base
            },
            _ => continue,
        };
        out.push(instruction);
    }
    // Timeouts that passed on retry: a timeout adjustment is worth proposing too.
    for (f, doc) in c.failures.iter().zip(docs) {
        if f.error_type == ErrorType::TimeoutFlaky && f.confidence >= ACTION_MIN_CONFIDENCE {
            out.push(FixInstruction {
                kind: FixKind::AdjustTimeout,
                failure: f.id.clone(),
                error_type: f.error_type,
                file: f.file.clone(),
                line: f.line,
                old: first_capture(&TIMEOUT_VALUE, doc.text(Field::Message))
                    .map(|ms| format!("{ms}ms")),
                new: None,
                expected: None,
                received: None,
                candidates: Vec::new(),
                evidence: evidence_lines(f),
                confidence: f.confidence,
                needs_review: true,
            });
        }
    }
    out
}

fn triggers(c: &Classification, plan: &SelfHealPlan, fixes: &[FixInstruction]) -> Triggers {
    let heal_failures: Vec<String> = {
        let mut v: Vec<String> = plan
            .actions
            .iter()
            .flat_map(|a| a.targets.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut heal_reasons = Vec::new();
    if c.failures.is_empty() {
        heal_reasons.push("no failures".to_owned());
    }
    for a in &plan.actions {
        heal_reasons.push(format!("{}: {}", a.action.as_str(), a.reason));
    }
    let low: Vec<&FailureClassification> = c
        .failures
        .iter()
        .filter(|f| {
            f.error_type.remediation() == Remediation::SelfHeal
                && f.confidence < ACTION_MIN_CONFIDENCE
        })
        .collect();
    if !low.is_empty() {
        heal_reasons.push(format!(
            "{} self-healable failure(s) below confidence {ACTION_MIN_CONFIDENCE} are left out",
            low.len()
        ));
    }
    let non_heal = c
        .failures
        .iter()
        .filter(|f| f.error_type.remediation() != Remediation::SelfHeal)
        .count();
    if non_heal > 0 {
        heal_reasons.push(format!(
            "{non_heal} failure(s) are not of a self-healable type; a rerun will not fix them"
        ));
    }
    let mut fix_failures: Vec<String> = fixes.iter().map(|f| f.failure.clone()).collect();
    fix_failures.dedup();
    let mut fix_reasons: Vec<String> = fixes
        .iter()
        .map(|f| {
            format!(
                "{} for {} ({}, confidence {:.2})",
                f.kind.as_str(),
                f.failure,
                f.error_type.as_str(),
                f.confidence
            )
        })
        .collect();
    if fixes.is_empty() {
        fix_reasons.push("no failure calls for a code change with enough confidence".to_owned());
    }
    let notify_failures: Vec<String> = c
        .failures
        .iter()
        .filter(|f| f.status != Some(TestStatus::Flaky))
        .map(|f| f.id.clone())
        .collect();
    let mut notify_reasons = Vec::new();
    let human: Vec<&FailureClassification> = c
        .failures
        .iter()
        .filter(|f| f.error_type.remediation() == Remediation::Human)
        .collect();
    if !human.is_empty() {
        notify_reasons.push(format!(
            "{} failure(s) need a person: {}",
            human.len(),
            human
                .iter()
                .map(|f| f.error_type.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !notify_failures.is_empty() {
        notify_reasons.push(format!(
            "{} test(s) failed; verdict {} ({:.2})",
            notify_failures.len(),
            c.verdict(),
            c.confidence.unwrap_or(0.0)
        ));
    } else if c.failures.is_empty() {
        notify_reasons.push("the run passed".to_owned());
    } else {
        notify_reasons.push("only flaky tests: they passed on retry".to_owned());
    }
    Triggers {
        self_heal: Trigger {
            eligible: !plan.actions.is_empty(),
            reasons: heal_reasons,
            failures: heal_failures,
        },
        fix_agent: Trigger {
            eligible: !fixes.is_empty(),
            reasons: fix_reasons,
            failures: fix_failures,
        },
        notify: Trigger {
            eligible: !notify_failures.is_empty() || !human.is_empty(),
            reasons: notify_reasons,
            failures: notify_failures,
        },
    }
}
