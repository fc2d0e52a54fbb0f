//! The readable diagnosis of an analysis: Markdown that reads well both on a
//! terminal and in a GitHub job summary.

use std::fmt::Write as _;

use crate::diagnose::analysis::{Analysis, FixKind};
use crate::diagnose::taxonomy::ErrorType;
use crate::text::one_line;

/// How many failures are shown in full before the rest are listed by cluster.
const SHOWN_FAILURES: usize = 20;

/// Renders `analysis` as Markdown, at most `max_bytes` long.
pub fn markdown(analysis: &Analysis, max_bytes: usize) -> String {
    let c = &analysis.classification;
    let s = &analysis.summary;
    let mut out = String::new();
    let _ = writeln!(out, "## ci-medic diagnosis\n");
    let Some(error_type) = c.error_type else {
        let _ = writeln!(out, "**Verdict: `{}`** — {}", c.outcome.as_str(), c.cause);
        return out;
    };
    let _ = writeln!(
        out,
        "**Verdict: `{}`** (confidence {:.2}) — {}\n",
        error_type.as_str(),
        c.confidence.unwrap_or(0.0),
        error_type.meaning()
    );
    let _ = writeln!(out, "{}\n\nHow: {}.\n", c.cause, c.reason);
    let _ = writeln!(
        out,
        "{} test(s): {} failed, {} flaky, {} run error(s); {} failure(s) in {} cluster(s).\n",
        s.tests, s.failed, s.flaky, s.run_errors, s.failures, s.clusters
    );
    let _ = writeln!(
        out,
        "| error type | failures | remediation |\n|---|---:|---|"
    );
    for t in &c.by_type {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            t.error_type.as_str(),
            t.count,
            remediation_text(t.error_type)
        );
    }
    out.push('\n');
    let _ = writeln!(out, "### Failures\n");
    for f in c.failures.iter().take(SHOWN_FAILURES) {
        let place = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!(" — `{file}:{line}`"),
            (Some(file), None) => format!(" — `{file}`"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "- **{}**{place}\n  `{}` ({:.2}){} — {}",
            f.title,
            f.error_type.as_str(),
            f.confidence,
            f.status
                .filter(|s| *s == crate::model::TestStatus::Flaky)
                .map_or("", |_| ", flaky"),
            one_line(&f.message, 200)
        );
        for e in f
            .evidence
            .iter()
            .filter(|e| e.error_type == f.error_type)
            .take(3)
        {
            let quote = e
                .quotes
                .first()
                .map(|q| {
                    format!(
                        ": {} `{}`",
                        q.field,
                        one_line(&q.text, 160).replace('`', "'")
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(out, "  - {} ({:.2}) {}{quote}", e.rule, e.weight, e.why);
        }
        if let Some(alt) = f.alternatives.first() {
            let _ = writeln!(
                out,
                "  - also considered `{}` ({:.2})",
                alt.error_type.as_str(),
                alt.confidence
            );
        }
    }
    if c.failures.len() > SHOWN_FAILURES {
        let _ = writeln!(
            out,
            "\n…and {} more; by cluster:\n",
            c.failures.len() - SHOWN_FAILURES
        );
        for cl in &c.clusters {
            let _ = writeln!(
                out,
                "- {} × `{}` — {}",
                cl.count,
                cl.error_type.as_str(),
                one_line(&cl.signature, 160)
            );
        }
    }
    out.push('\n');
    let _ = writeln!(out, "### Self-heal plan\n");
    if analysis.self_heal_plan.actions.is_empty() {
        let _ = writeln!(out, "No safe non-code action applies.");
    }
    for (i, a) in analysis.self_heal_plan.actions.iter().enumerate() {
        let _ = writeln!(out, "{}. `{}` — {}", i + 1, a.action.as_str(), a.reason);
    }
    out.push('\n');
    let _ = writeln!(out, "### Fix-agent instructions\n");
    if analysis.fix_agent_instructions.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for f in &analysis.fix_agent_instructions {
        let place = match (&f.file, f.line) {
            (Some(file), Some(line)) => format!("`{file}:{line}`"),
            (Some(file), None) => format!("`{file}`"),
            _ => "unknown place".to_owned(),
        };
        let what = match (f.kind, &f.old, &f.new) {
            (FixKind::UpdateLocator, Some(old), Some(new)) => {
                format!("replace `{old}` with `{new}`")
            }
            (FixKind::UpdateLocator, Some(old), None) => {
                format!("`{old}` matches nothing; no candidate is clear enough to propose")
            }
            (FixKind::ReviewAssertion, _, _) => format!(
                "expected {} but received {}",
                f.expected.as_deref().unwrap_or("?"),
                f.received.as_deref().unwrap_or("?")
            ),
            (FixKind::RefreshSnapshot, Some(name), _) => format!("refresh baseline `{name}`"),
            (FixKind::AdjustTimeout, Some(ms), _) => format!("timeout was {ms}"),
            (_, Some(old), _) => format!("at `{}`", one_line(old, 120)),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "- `{}` {place}: {what}{}",
            f.kind.as_str(),
            if f.needs_review {
                " (needs review)"
            } else {
                ""
            }
        );
    }
    out.push('\n');
    let t = &analysis.triggers;
    let _ = writeln!(out, "### Triggers\n");
    for (name, trig) in [
        ("self_heal", &t.self_heal),
        ("fix_agent", &t.fix_agent),
        ("notify", &t.notify),
    ] {
        let _ = writeln!(
            out,
            "- {name}: **{}** — {}",
            if trig.eligible {
                "eligible"
            } else {
                "not eligible"
            },
            trig.reasons.first().map_or("", String::as_str)
        );
    }
    crate::text::truncate_markdown(out, max_bytes)
}

fn remediation_text(t: ErrorType) -> &'static str {
    match t {
        ErrorType::SelectorDrift => "fix-agent: update locator",
        ErrorType::AssertionMismatch => "fix-agent proposal, needs review",
        ErrorType::VisualRegression => "fix-agent: refresh baseline, needs review",
        ErrorType::TimeoutFlaky => "self-heal: rerun subset",
        ErrorType::AuthState => "self-heal: regenerate storage state, rerun",
        ErrorType::DataSeed => "self-heal: reseed, rerun",
        ErrorType::ServerUnavailable => "self-heal: restart/wait healthy, rerun",
        ErrorType::NetworkFlake => "self-heal: rerun",
        ErrorType::BrowserCrash => "self-heal: rerun with fewer workers",
        ErrorType::EnvironmentSetup => "self-heal: environment reset (if declared)",
        ErrorType::AppError | ErrorType::Unknown => "human",
        ErrorType::TestCodeError => "fix-agent proposal, needs review",
    }
}
