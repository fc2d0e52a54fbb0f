//! The PR body a fix patch is proposed with: what failed, the evidence, what
//! changed and why, how it was validated, and the guardrails it passed.

use std::fmt::Write as _;

use super::metadata::{FixInput, FixMetadata, Outcome};

/// GitHub's limit on a PR body is 65,536 characters; stay well under it.
const MAX_BODY: usize = 60_000;

/// Renders the Markdown body.
pub fn render(m: &FixMetadata, input: &FixInput) -> String {
    let mut s = String::new();
    let status = match m.outcome {
        Outcome::Validated => "✅ validated: the affected tests pass with this patch",
        Outcome::NeedsManualReview => "⚠️ needs manual review: this patch is not validated",
        Outcome::Partial => {
            "⚠️ partly validated: some of the failures it targets still fail with this patch"
        }
        Outcome::NoPatch => "no patch",
    };
    let _ = writeln!(s, "**{status}** · risk: `{}`", m.risk);
    if let Some(c) = m.confidence {
        let _ = writeln!(s, " · confidence {c:.2}");
    }
    let _ = writeln!(s, "\n### What failed\n");
    let _ = writeln!(s, "| test | error type | file |\n|---|---|---|");
    for f in &input.failures {
        let _ = writeln!(
            s,
            "| {} | `{}` | `{}:{}` |",
            cell(&f.title.join(" › ")),
            f.error_type.as_str(),
            f.spec.as_deref().unwrap_or(&f.report_file),
            f.line.unwrap_or(0)
        );
    }
    let evidence: Vec<&String> = input
        .instructions
        .iter()
        .flat_map(|i| i.evidence.iter())
        .take(6)
        .collect();
    if !evidence.is_empty() {
        let _ = writeln!(s, "\n### Evidence\n");
        for e in evidence {
            let _ = writeln!(s, "- `{}`", e.replace('`', "'"));
        }
    }
    let _ = writeln!(s, "\n### What changed\n");
    for e in m.edits.iter().filter(|e| e.applied) {
        let _ = writeln!(
            s,
            "- **{}** `{}:{}`: `{}` → `{}` — {}",
            e.kind.as_str(),
            e.file.as_deref().unwrap_or("?"),
            e.line.unwrap_or(0),
            e.old.as_deref().unwrap_or("").replace('`', "'"),
            e.new
                .as_deref()
                .unwrap_or("(regenerated)")
                .replace('`', "'"),
            e.reason
        );
        images(&mut s, e);
    }
    let skipped: Vec<_> = m.edits.iter().filter(|e| !e.applied).collect();
    if !skipped.is_empty() {
        let _ = writeln!(s, "\nNot changed:\n");
        for e in skipped {
            let _ = writeln!(s, "- {} for `{}`: {}", e.kind.as_str(), e.failure, e.reason);
            images(&mut s, e);
        }
    }
    for p in &m.proposals {
        let _ = writeln!(
            s,
            "- proposal ({}), `{}`: {}",
            p.kind.as_str(),
            p.file.as_deref().unwrap_or("?"),
            p.summary
        );
    }
    let _ = writeln!(s, "\n### Validation\n\n{}\n", m.validation.detail);
    for f in &m.validation.failures {
        let _ = writeln!(
            s,
            "- {} {}",
            match f.passed {
                Some(true) => "✅ passes:",
                Some(false) => "❌ still fails:",
                None => "❔ no result:",
            },
            cell(&f.test)
        );
    }
    for r in &m.validation.rounds {
        let _ = writeln!(
            s,
            "- round {}: {} passed, {} failed ({} ms)",
            r.round,
            r.passed,
            r.failed.len(),
            r.duration_ms
        );
    }
    let _ = writeln!(s, "\n### Guardrails\n");
    for g in &m.guardrails {
        let _ = writeln!(
            s,
            "- {} `{}`{}: {}",
            if g.ok { "✔" } else { "✘" },
            g.check,
            g.path
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default(),
            g.detail
        );
    }
    let heals: Vec<_> = m.edits.iter().filter_map(|e| e.healing.as_ref()).collect();
    if !heals.is_empty() {
        let _ = writeln!(s, "\n<details><summary>Locator candidates</summary>\n");
        for h in heals {
            let _ = writeln!(
                s,
                "`{}` (matched {} element(s) on the page)\n",
                h.original.replace('`', "'"),
                h.original_matches
            );
            let _ = writeln!(
                s,
                "| score | identity | role | context | position | candidate |\n|---|---|---|---|---|---|"
            );
            for c in h.candidates.iter().take(5) {
                let f = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.2}"));
                let _ = writeln!(
                    s,
                    "| {:.2} | {:.2} | {} | {} | {} | {} |",
                    c.score,
                    c.features.identity,
                    f(c.features.role),
                    f(c.features.context),
                    f(c.features.position),
                    cell(c.locator.as_deref().unwrap_or(&c.element))
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "</details>");
    }
    if let Some(url) = &input.run.run_url {
        let _ = writeln!(s, "\nFailing run: {url}");
    }
    if s.len() > MAX_BODY {
        let mut end = MAX_BODY;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("\n\n… (truncated; the full record is in the metadata file)\n");
    }
    s
}

fn cell(s: &str) -> String {
    format!("`{}`", s.replace('|', "\\|").replace('`', "'"))
}

/// A baseline refresh's comparison images, for the reviewer to open in the
/// run's artifacts (a PR body cannot embed files that are not on GitHub).
fn images(s: &mut String, e: &super::metadata::Edit) {
    if e.images.is_empty() {
        return;
    }
    let list: Vec<String> = e
        .images
        .iter()
        .map(|i| {
            let role = match i.role.as_str() {
                "expected" => "old baseline (expected)",
                "actual" => "new baseline (actual)",
                other => other,
            };
            format!("{role} `{}`", i.path.replace('`', "'"))
        })
        .collect();
    let _ = writeln!(s, "  - images in the run's artifacts: {}", list.join(", "));
}
