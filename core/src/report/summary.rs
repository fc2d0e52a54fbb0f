//! The Markdown summary of a bundle: a job summary in GitHub Actions, the same
//! text on a terminal.

use std::fmt::Write as _;

use crate::model::{Bundle, Test, TestStatus};
use crate::text::{one_line, truncate_markdown};

/// Most failing tests listed in the table; the rest are counted.
pub const MAX_LISTED: usize = 50;

/// Renders the summary, at most `max_bytes` long (GitHub's step summary takes 1 MiB).
pub fn markdown(bundle: &Bundle, bundle_path: &str, max_bytes: usize) -> String {
    let s = &bundle.summary;
    let mut out = String::new();
    let verdict = if s.failed > 0 || s.run_errors > 0 {
        "❌ failed"
    } else if s.flaky > 0 {
        "⚠️ passed with flaky tests"
    } else {
        "✅ passed"
    };
    let _ = writeln!(out, "## ci-medic · Playwright run {verdict}\n");
    let _ = write!(
        out,
        "**{} failed** · {} flaky · {} passed · {} skipped — {} tests, {} attempts",
        s.failed, s.flaky, s.passed, s.skipped, s.tests, s.attempts
    );
    let mut facts = Vec::new();
    if let Some(v) = &bundle.report.playwright_version {
        facts.push(format!("Playwright {v}"));
    }
    if let Some(ms) = bundle.report.duration_ms {
        facts.push(format!("{:.1} s", ms / 1000.0));
    }
    if let Some(shard) = bundle.report.shard {
        facts.push(format!("shard {}/{}", shard.current, shard.total));
    }
    if !facts.is_empty() {
        let _ = write!(out, " ({})", facts.join(", "));
    }
    out.push_str("\n\n");

    if !bundle.run_errors.is_empty() {
        let _ = writeln!(out, "### Errors outside tests\n");
        for e in &bundle.run_errors {
            let _ = writeln!(out, "- {}", one_line(&e.message, 300));
        }
        out.push('\n');
    }
    let failing: Vec<&Test> = bundle
        .tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "| | Test | Location | Error |\n|---|---|---|---|");
        for t in failing.iter().take(MAX_LISTED) {
            let icon = if t.status == TestStatus::Flaky {
                "⚠️"
            } else {
                "❌"
            };
            let location = match t.line {
                Some(line) => format!("{}:{line}", t.file),
                None => t.file.clone(),
            };
            let error = t
                .attempts
                .iter()
                .find_map(|a| a.errors.first())
                .map(|e| one_line(&e.message, 160))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {icon} | {} | `{}` ({}) | {} |",
                cell(&t.title()),
                cell(&location),
                cell(&t.project),
                cell(&error)
            );
        }
        if failing.len() > MAX_LISTED {
            let _ = writeln!(
                out,
                "\n… and {} more failing or flaky tests (all in the bundle).",
                failing.len() - MAX_LISTED
            );
        }
        out.push('\n');
    }
    if !bundle.log_excerpts.is_empty() {
        let matched: usize = bundle.log_excerpts.iter().map(|l| l.matched_lines).sum();
        let _ = writeln!(
            out,
            "Backend logs: {} file(s), {matched} error line(s) excerpted.\n",
            bundle.log_excerpts.len()
        );
    }
    if bundle.redaction.masked > 0 {
        let kinds: Vec<String> = bundle
            .redaction
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "Redacted: {} secret(s) masked ({}).\n",
            bundle.redaction.masked,
            kinds.join(", ")
        );
    }
    if !bundle.warnings.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} collector warning(s)</summary>\n",
            bundle.warnings.len()
        );
        for w in &bundle.warnings {
            let _ = writeln!(out, "- `{}`: {}", w.code, one_line(&w.message, 300));
        }
        out.push_str("\n</details>\n\n");
    }
    let _ = writeln!(out, "Bundle: `{bundle_path}`");
    truncate_markdown(out, max_bytes)
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
