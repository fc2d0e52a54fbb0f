//! The sticky pull-request comment: one short Markdown message per pull request
//! that says how the latest run went and where the dashboard is. Rendered here;
//! posted (created once, then edited in place) by `ci-medic comment`.
//!
//! The body starts with a hidden marker that names the comment's key, so the
//! poster can find its own comment again. Everything taken from the run (test
//! titles, messages, reasons) is escaped: a test title cannot open a table cell,
//! inject HTML or mention anyone.

use std::fmt::Write as _;

use crate::diagnose::analysis::{Analysis, Trigger};
use crate::fix::metadata::{FixMetadata, Outcome};
use crate::heal::report::{HealReport, HealVerdict};
use crate::model::RunOutcome;
use crate::model::{Bundle, TestStatus};
use crate::text::one_line;

/// GitHub refuses a comment body longer than this many characters.
pub const MAX_CHARS: usize = 65_536;

/// Failures listed in the comment by default; all of them are on the dashboard.
pub const DEFAULT_LISTED_FAILURES: usize = 20;

/// Flaky tests listed in the comment.
const LISTED_FLAKY: usize = 10;

/// The longest excerpt of a message or reason in the comment.
const EXCERPT_CHARS: usize = 160;

/// The run's cause is one sentence, shown whole up to this many characters.
const CAUSE_CHARS: usize = 400;

/// The hidden first line of a comment with `key` (letters, digits, `-`, `_`, `.`).
pub fn marker(key: &str) -> String {
    format!("<!-- ci-medic:sticky-comment key={key} -->")
}

/// Whether `body` is a comment with `key`'s marker (on its first line).
pub fn has_marker(body: &str, key: &str) -> bool {
    body.lines()
        .next()
        .is_some_and(|first| first.trim() == marker(key))
}

/// Where the dashboard is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DashboardLink {
    /// Published (GitHub Pages): the site itself.
    Published(String),
    /// Only as a workflow artifact: the artifact (or the run's artifact list).
    Artifact(String),
    /// Not known.
    None,
}

impl DashboardLink {
    /// The published site when there is one, else the artifact's page, else the
    /// run's list of artifacts (blank strings count as absent).
    pub fn pick(published: Option<&str>, artifact: Option<&str>, run_url: Option<&str>) -> Self {
        let given = |u: Option<&str>| {
            u.map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
        };
        if let Some(url) = given(published) {
            DashboardLink::Published(url)
        } else if let Some(url) = given(artifact) {
            DashboardLink::Artifact(url)
        } else if let Some(run) = given(run_url) {
            DashboardLink::Artifact(format!("{run}#artifacts"))
        } else {
            DashboardLink::None
        }
    }
}

/// What the comment is made of.
#[derive(Debug, Clone)]
pub struct CommentInputs<'a> {
    /// The run's bundle.
    pub bundle: &'a Bundle,
    /// Its analysis.
    pub analysis: &'a Analysis,
    /// The self-heal report, when self-heal ran.
    pub heal: Option<&'a HealReport>,
    /// The fix-agent metadata, when the fix-agent ran.
    pub fix: Option<&'a FixMetadata>,
    /// The dashboard.
    pub dashboard: DashboardLink,
    /// The workflow run's page.
    pub run_url: Option<String>,
    /// The comment's key (see [`marker`]).
    pub key: String,
    /// When it was rendered (RFC 3339).
    pub generated_at: String,
    /// Most failures listed (the comment lists fewer when it would be too long).
    pub listed_failures: usize,
}

/// A rendered comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The Markdown body, marker first.
    pub body: String,
    /// Its length in characters (at most the limit it was rendered for).
    pub chars: usize,
    /// Failures listed out of those classified.
    pub listed_failures: usize,
    /// Whether anything had to be left out to stay within the limit.
    pub truncated: bool,
}

/// Renders the comment within `max_chars` characters: first with every failure up
/// to `listed_failures`, then with fewer rows until it fits, saying how many were
/// left out; only if even the shortest form is too long is the text cut, with a
/// note saying so.
pub fn render(inputs: &CommentInputs<'_>, max_chars: usize) -> Comment {
    let failures = inputs.analysis.classification.failures.len();
    let wanted = inputs.listed_failures.min(failures);
    let fits = |rows: usize| {
        let body = body(inputs, rows);
        let chars = body.chars().count();
        (chars <= max_chars).then_some((body, chars))
    };
    if let Some((body, chars)) = fits(wanted) {
        return Comment {
            body,
            chars,
            listed_failures: wanted,
            truncated: false,
        };
    }
    // The body grows with the rows listed: find the most rows that fit.
    let (mut lo, mut hi) = (0, wanted);
    let mut best = fits(0).map(|b| (0, b));
    if best.is_some() {
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            match fits(mid) {
                Some(b) => {
                    lo = mid;
                    best = Some((mid, b));
                }
                None => hi = mid,
            }
        }
    }
    match best {
        Some((rows, (body, chars))) => Comment {
            body,
            chars,
            listed_failures: rows,
            truncated: true,
        },
        None => {
            let full = body(inputs, 0);
            let body = cut(&full, max_chars);
            let chars = body.chars().count();
            Comment {
                body,
                chars,
                listed_failures: 0,
                truncated: true,
            }
        }
    }
}

/// `text` cut to `max_chars` characters, ending with a note that says how much
/// was left out (the marker on the first line always survives).
fn cut(text: &str, max_chars: usize) -> String {
    let total = text.chars().count();
    let note = |omitted: usize| {
        format!(
            "\n\n… (cut here: {omitted} more characters would exceed GitHub's comment limit; the dashboard has everything)\n"
        )
    };
    // The note's length depends on the number in it; take the longest it can be.
    let room = max_chars.saturating_sub(note(total).chars().count());
    let kept: String = text.chars().take(room).collect();
    let mut out = kept;
    out.push_str(&note(total - room.min(total)));
    out
}

/// The body with `rows` failures listed.
fn body(inputs: &CommentInputs<'_>, rows: usize) -> String {
    let bundle = inputs.bundle;
    let analysis = inputs.analysis;
    let s = &bundle.summary;
    let c = &analysis.classification;
    let mut out = String::new();
    let _ = writeln!(out, "{}", marker(&inputs.key));
    let verdict = RunOutcome::of(&bundle.summary);
    let headline = match verdict {
        RunOutcome::Failed => "❌ Playwright run failed",
        RunOutcome::Flaky => "⚠️ Playwright run passed with flaky tests",
        RunOutcome::Passed => "✅ Playwright run passed",
        RunOutcome::NoTests => "⚪ Playwright run had no tests",
    };
    let _ = writeln!(out, "### {headline} · ci-medic\n");
    let _ = write!(
        out,
        "**{} failed** · {} flaky · {} passed · {} skipped — {} tests",
        s.failed, s.flaky, s.passed, s.skipped, s.tests
    );
    if s.run_errors > 0 {
        let _ = write!(out, " · {} error(s) outside tests", s.run_errors);
    }
    let run = &bundle.run;
    if let Some(sha) = &run.sha {
        let short: String = sha.chars().take(7).collect();
        let _ = write!(out, " · commit `{}`", text(&short));
    }
    match &inputs.run_url {
        Some(url) => {
            let _ = write!(
                out,
                " · [run {} (attempt {})]({})",
                text(&run.run_id),
                run.run_attempt,
                link_target(url)
            );
        }
        None => {
            let _ = write!(
                out,
                " · run {} (attempt {})",
                text(&run.run_id),
                run.run_attempt
            );
        }
    }
    out.push_str("\n\n");

    if !c.failures.is_empty() {
        let _ = writeln!(
            out,
            "**Diagnosis:** `{}` (confidence {:.2}) — {}\n",
            c.verdict(),
            c.confidence.unwrap_or(0.0),
            text(&one_line(&c.cause, CAUSE_CHARS))
        );
        let _ = writeln!(out, "| Error type | Failures |\n|---|---:|");
        for t in &c.by_type {
            let _ = writeln!(out, "| `{}` | {} |", t.error_type.as_str(), t.count);
        }
        out.push('\n');
        if rows > 0 {
            let _ = writeln!(
                out,
                "<details><summary>Failures ({} of {})</summary>\n",
                rows,
                c.failures.len()
            );
            let _ = writeln!(
                out,
                "| Test | Location | Error type | Message |\n|---|---|---|---|"
            );
            for f in c.failures.iter().take(rows) {
                let location = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("`{}`", code(&format!("{file}:{line}"))),
                    (Some(file), None) => format!("`{}`", code(file)),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}` | {} |",
                    text(&one_line(&f.title, EXCERPT_CHARS)),
                    location,
                    f.error_type.as_str(),
                    text(&one_line(&f.message, EXCERPT_CHARS))
                );
            }
            out.push_str("\n</details>\n\n");
        }
        if rows < c.failures.len() {
            let _ = writeln!(
                out,
                "{} of {} failures listed here; every one is on the dashboard.\n",
                rows,
                c.failures.len()
            );
        }
    } else {
        let _ = writeln!(
            out,
            "**Verdict:** `{}` — {}\n",
            c.verdict(),
            text(&one_line(&c.cause, CAUSE_CHARS))
        );
    }

    let flaky: Vec<_> = bundle
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Flaky)
        .collect();
    if !flaky.is_empty() {
        let _ = writeln!(out, "**Flaky** (passed on a retry):");
        for t in flaky.iter().take(LISTED_FLAKY) {
            let location = match t.line {
                Some(line) => format!("{}:{line}", t.file),
                None => t.file.clone(),
            };
            let _ = writeln!(
                out,
                "- {} (`{}`)",
                text(&one_line(&t.title(), EXCERPT_CHARS)),
                code(&location)
            );
        }
        if flaky.len() > LISTED_FLAKY {
            let _ = writeln!(out, "- … and {} more", flaky.len() - LISTED_FLAKY);
        }
        out.push('\n');
    }

    if !c.failures.is_empty() || inputs.heal.is_some() || inputs.fix.is_some() {
        let _ = writeln!(
            out,
            "**Self-heal:** {}  ",
            heal_status(inputs.heal, &analysis.triggers.self_heal)
        );
        let _ = writeln!(
            out,
            "**Fix-agent:** {}\n",
            fix_status(inputs.fix, &analysis.triggers.fix_agent)
        );
    }

    match &inputs.dashboard {
        DashboardLink::Published(url) => {
            let _ = writeln!(out, "📊 **[Open the dashboard]({})**", link_target(url));
        }
        DashboardLink::Artifact(url) => {
            let _ = writeln!(
                out,
                "📊 **[Download the dashboard]({})** (the `dashboard` artifact; open `index.html`)",
                link_target(url)
            );
        }
        DashboardLink::None => {
            let _ = writeln!(out, "📊 The dashboard was not published for this run.");
        }
    }
    let _ = writeln!(
        out,
        "\n<sub>Updated {} by ci-medic {} · diagnosis by {} {}</sub>",
        text(&inputs.generated_at),
        env!("CARGO_PKG_VERSION"),
        text(&analysis.analyzer.name),
        text(&analysis.analyzer.version)
    );
    out
}

fn heal_status(report: Option<&HealReport>, trigger: &Trigger) -> String {
    match report {
        Some(r) => {
            let passed = r
                .tests
                .iter()
                .filter(|t| t.after == Some(TestStatus::Expected))
                .count();
            let word = match r.verdict {
                HealVerdict::Healed => "✅ healed",
                HealVerdict::PartiallyHealed => "🟡 partially healed",
                HealVerdict::NotHealed => "❌ not healed",
                HealVerdict::Refused => "⏸️ refused",
            };
            let rerun = if r.tests.is_empty() {
                String::new()
            } else {
                format!(" — {passed} of {} rerun test(s) pass", r.tests.len())
            };
            format!(
                "{word}{rerun} ({})",
                text(&one_line(&r.reason, EXCERPT_CHARS))
            )
        }
        None if trigger.eligible => {
            "eligible; it runs on a manual `workflow_dispatch` of this workflow".to_owned()
        }
        None => format!("not eligible ({})", reasons(trigger)),
    }
}

fn fix_status(metadata: Option<&FixMetadata>, trigger: &Trigger) -> String {
    match metadata {
        Some(m) => {
            let what = match m.outcome {
                Outcome::Validated => format!(
                    "✅ validated patch, {} file(s), {} changed line(s) (`{}`)",
                    m.patch.files.len(),
                    m.patch.changed_lines,
                    code(&m.patch.path)
                ),
                Outcome::NeedsManualReview => format!(
                    "👀 patch for review, {} file(s), {} changed line(s) (`{}`)",
                    m.patch.files.len(),
                    m.patch.changed_lines,
                    code(&m.patch.path)
                ),
                Outcome::Partial => format!(
                    "⚠️ partly validated patch, {} of {} targeted failure(s) pass, {} file(s) (`{}`)",
                    m.validation
                        .failures
                        .iter()
                        .filter(|f| f.passed == Some(true))
                        .count(),
                    m.validation.failures.len(),
                    m.patch.files.len(),
                    code(&m.patch.path)
                ),
                Outcome::NoPatch => "no patch".to_owned(),
            };
            format!("{what} — {}", text(&one_line(&m.reason, EXCERPT_CHARS)))
        }
        None if trigger.eligible => "eligible; not run for this run".to_owned(),
        None => format!("not eligible ({})", reasons(trigger)),
    }
}

fn reasons(trigger: &Trigger) -> String {
    match trigger.reasons.first() {
        Some(r) => text(&one_line(r, EXCERPT_CHARS)),
        None => "no reason given".to_owned(),
    }
}

/// Run text for Markdown prose: no HTML, no mentions, no emphasis or link syntax.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // A zero-width space after @ keeps "@someone" from notifying anyone.
            '@' => out.push_str("@\u{200b}"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Run text inside a `code span`: backticks cannot close it, newlines cannot end the row.
fn code(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' | '|' => ' ',
            c => c,
        })
        .collect()
}

/// A URL as a Markdown link target: only http(s), with parentheses and spaces encoded.
fn link_target(url: &str) -> String {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return "#".to_owned();
    }
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_keyed_and_found_on_the_first_line_only() {
        assert_eq!(marker("e2e"), "<!-- ci-medic:sticky-comment key=e2e -->");
        assert!(has_marker(&format!("{}\nhello", marker("e2e")), "e2e"));
        assert!(!has_marker(&format!("{}\nhello", marker("e2e")), "unit"));
        assert!(!has_marker(&format!("quote:\n{}", marker("e2e")), "e2e"));
        assert!(crate::config::valid_comment_key("e2e-chromium_1.x"));
        for bad in ["", "a b", "a-->", "ä", &"k".repeat(65)] {
            assert!(!crate::config::valid_comment_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_published_dashboard_wins_then_the_artifact_then_the_run() {
        let run = Some("https://g.io/r/1");
        assert_eq!(
            DashboardLink::pick(Some("https://p.io/"), Some("https://a"), run),
            DashboardLink::Published("https://p.io/".into())
        );
        assert_eq!(
            DashboardLink::pick(Some(" "), Some("https://a"), run),
            DashboardLink::Artifact("https://a".into())
        );
        assert_eq!(
            DashboardLink::pick(None, None, run),
            DashboardLink::Artifact("https://g.io/r/1#artifacts".into())
        );
        assert_eq!(DashboardLink::pick(None, None, None), DashboardLink::None);
    }

    #[test]
    fn run_text_cannot_inject_markup_or_mentions() {
        assert_eq!(
            text("@octocat <b>x</b> | [a](b) `c` *d*"),
            "@\u{200b}octocat &lt;b&gt;x&lt;/b&gt; \\| \\[a\\](b) \\`c\\` \\*d\\*"
        );
        assert_eq!(code("a`b|c\nd"), "a'b c d");
        assert_eq!(link_target("javascript:alert(1)"), "#");
        assert_eq!(
            link_target("https://x.io/a (b)"),
            "https://x.io/a%20%28b%29"
        );
    }

    #[test]
    fn cutting_keeps_the_marker_and_says_how_much_is_gone() {
        let text = format!("{}\n{}", marker("k"), "x".repeat(1_000));
        let out = cut(&text, 300);
        assert!(out.chars().count() <= 300, "{}", out.chars().count());
        assert!(has_marker(&out, "k"));
        assert!(out.contains("more characters would exceed"));
    }
}
