//! The console output of Playwright's list and line reporters (`logs/playwright.log`).
//!
//! What it has that the reports may lack: the call log of every attempt as printed,
//! and the run's summary lines. Each failure is printed as
//!
//! ```text
//!   1) [project] › tests/file.spec.ts:12:5 › describe › title ─────────
//!
//!     Error: …
//!     Call log:
//!       - …
//!
//!     Retry #1 ─────────
//!     …
//! ```

use std::path::Path;

use super::error_text::{split_call_log, strip_ansi};
use crate::collect::error::CollectError;
use crate::text::describe_content;

/// What the console log says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleRun {
    /// `Running N tests using M workers`: (N, M).
    pub running: Option<(usize, usize)>,
    /// The closing summary counts.
    pub summary: ConsoleSummary,
    /// Every failure block, in order.
    pub failures: Vec<ConsoleFailure>,
}

/// The summary lines at the end of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConsoleSummary {
    /// `N failed`
    pub failed: usize,
    /// `N flaky`
    pub flaky: usize,
    /// `N skipped`
    pub skipped: usize,
    /// `N did not run`
    pub did_not_run: usize,
    /// `N interrupted`
    pub interrupted: usize,
    /// `N passed (Xs)`
    pub passed: usize,
    /// `N error(s) was not a part of any test`
    pub run_errors: usize,
}

/// One failure block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleFailure {
    /// The project, when printed.
    pub project: Option<String>,
    /// The file as printed (relative to the config's directory).
    pub file: String,
    /// Line of the test.
    pub line: Option<u32>,
    /// Column of the test.
    pub column: Option<u32>,
    /// Describe titles and test title.
    pub title_path: Vec<String>,
    /// The attempts printed, first one first.
    pub attempts: Vec<ConsoleAttempt>,
}

/// One attempt inside a failure block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsoleAttempt {
    /// 0 for the first, N for `Retry #N`.
    pub retry: u32,
    /// The error text without the call log, dedented.
    pub message: String,
    /// The call log lines.
    pub call_log: Vec<String>,
    /// `attachment #N: name (type)` followed by a path: (name, path).
    pub attachments: Vec<(String, String)>,
}

/// Parses console output read from `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ConsoleRun, CollectError> {
    const EXPECTED: &str = "console output of Playwright's list or line reporter";
    if bytes.contains(&0) {
        return Err(CollectError::format(
            path,
            EXPECTED,
            describe_content(bytes),
        ));
    }
    let text = strip_ansi(&String::from_utf8_lossy(bytes));
    let run = parse_text(&text);
    if run.running.is_none() && run.failures.is_empty() && run.summary == ConsoleSummary::default()
    {
        return Err(CollectError::format(
            path,
            EXPECTED,
            format!(
                "no `Running N tests` line, failure block or summary line ({})",
                describe_content(bytes)
            ),
        ));
    }
    Ok(run)
}

/// Parses console text (ANSI already removed).
pub fn parse_text(text: &str) -> ConsoleRun {
    let mut run = ConsoleRun::default();
    let mut current: Option<ConsoleFailure> = None;
    let mut block: Vec<&str> = Vec::new();
    let mut retry = 0u32;
    let flush = |failure: &mut ConsoleFailure, block: &mut Vec<&str>, retry: u32| {
        if block.iter().any(|l| !l.trim().is_empty()) {
            failure.attempts.push(attempt(block, retry));
        }
        block.clear();
    };
    for line in text.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("Running ") {
            if run.running.is_none() {
                run.running = parse_running(rest);
            }
            continue;
        }
        if let Some(header) = failure_header(line) {
            if let Some(mut f) = current.take() {
                flush(&mut f, &mut block, retry);
                run.failures.push(f);
            }
            current = Some(header);
            retry = 0;
            continue;
        }
        if summary_line(line, &mut run.summary) {
            // A summary line ends any open block.
            if let Some(mut f) = current.take() {
                flush(&mut f, &mut block, retry);
                run.failures.push(f);
            }
            continue;
        }
        if let Some(f) = current.as_mut() {
            let t = line.trim();
            if let Some(n) = t
                .strip_prefix("Retry #")
                .and_then(|r| r.split_whitespace().next())
            {
                flush(f, &mut block, retry);
                retry = n.parse().unwrap_or(retry + 1);
                continue;
            }
            block.push(line);
        }
    }
    if let Some(mut f) = current.take() {
        flush(&mut f, &mut block, retry);
        run.failures.push(f);
    }
    run
}

fn parse_running(rest: &str) -> Option<(usize, usize)> {
    let mut words = rest.split_whitespace();
    let tests = words.next()?.parse().ok()?;
    let _tests_word = words.next()?;
    if words.next()? != "using" {
        return None;
    }
    let workers = words.next()?.parse().ok()?;
    Some((tests, workers))
}

/// `  1) [project] › file:L:C › titles ───…`
fn failure_header(line: &str) -> Option<ConsoleFailure> {
    let t = line.trim_start();
    let (num, rest) = t.split_once(") ")?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_end().trim_end_matches('─').trim_end();
    let mut parts: Vec<&str> = rest.split(" › ").collect();
    let project = match parts.first() {
        Some(p) if p.starts_with('[') && p.ends_with(']') => Some(p[1..p.len() - 1].to_owned()),
        _ => None,
    };
    if project.is_some() {
        parts.remove(0);
    }
    let location = parts.first()?;
    let (file, line, column) = split_location(location)?;
    let title_path: Vec<String> = parts[1..].iter().map(|s| (*s).to_owned()).collect();
    if title_path.is_empty() {
        return None;
    }
    Some(ConsoleFailure {
        project,
        file,
        line,
        column,
        title_path,
        attempts: Vec::new(),
    })
}

fn split_location(s: &str) -> Option<(String, Option<u32>, Option<u32>)> {
    let mut it = s.rsplitn(3, ':');
    let col = it.next()?;
    let line = it.next()?;
    let file = it.next()?;
    match (line.parse::<u32>(), col.parse::<u32>()) {
        (Ok(l), Ok(c)) if file.contains('.') => Some((file.to_owned(), Some(l), Some(c))),
        _ => None,
    }
}

/// Recognises a summary line and records it in `summary`.
fn summary_line(line: &str, summary: &mut ConsoleSummary) -> bool {
    let t = line.trim();
    let Some((n, rest)) = t.split_once(' ') else {
        return false;
    };
    let Ok(n) = n.parse::<usize>() else {
        return false;
    };
    let slot = if rest == "failed" {
        &mut summary.failed
    } else if rest == "flaky" {
        &mut summary.flaky
    } else if rest == "skipped" {
        &mut summary.skipped
    } else if rest == "did not run" {
        &mut summary.did_not_run
    } else if rest == "interrupted" {
        &mut summary.interrupted
    } else if rest.starts_with("passed (") || rest == "passed" {
        &mut summary.passed
    } else if rest.contains("not a part of any test") {
        &mut summary.run_errors
    } else {
        return false;
    };
    *slot = n;
    true
}

fn attempt(block: &[&str], retry: u32) -> ConsoleAttempt {
    let indent = block
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut body = Vec::new();
    let mut attachments = Vec::new();
    let mut lines = block.iter().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("attachment #") {
            // `attachment #1: screenshot (image/png) ───` then the path, or usage lines.
            let name = rest
                .split_once(": ")
                .map(|(_, n)| {
                    n.split(" (")
                        .next()
                        .unwrap_or(n)
                        .trim_end_matches('─')
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            for next in lines.by_ref() {
                let n = next.trim();
                if n.is_empty() || n.starts_with("Usage:") {
                    continue;
                }
                if n.chars().all(|c| c == '─') {
                    break;
                }
                if n.starts_with("npx playwright") {
                    continue;
                }
                attachments.push((name.clone(), n.to_owned()));
            }
            continue;
        }
        if let Some(path) = t.strip_prefix("Error Context: ") {
            attachments.push(("error-context".to_owned(), path.to_owned()));
            continue;
        }
        body.push(if line.len() >= indent {
            &line[indent..]
        } else {
            line.trim_start()
        });
    }
    let text = body.join("\n");
    let (message, call_log) = split_call_log(text.trim_matches('\n'));
    ConsoleAttempt {
        retry,
        message,
        call_log,
        attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "
Running 8 tests using 2 workers

  ✘  1 [chromium] › tests/items.spec.ts:4:3 › item list › lists the seeded items (4.5s)

  1) [chromium] › tests/items.spec.ts:4:3 › item list › lists the seeded items ─────────────

    Error: expect(locator).toContainText(expected) failed

    Call log:
      - Expect \"toContainText\" with timeout 4000ms
      - waiting for getByTestId('item-row')


      4 |   test('lists', async ({ page }) => {
    > 5 |     await expect(rows).toContainText([]);
        at /tmp/e2e/tests/items.spec.ts:5:20

    attachment #1: screenshot (image/png) ──────────────────────────────
    test-results/items-chromium/test-failed-1.png
    ────────────────────────────────────────────────────────────────────

    Error Context: test-results/items-chromium/error-context.md

    Retry #1 ───────────────────────────────────────────────────────────

    Error: expect(locator).toContainText(expected) failed

    attachment #2: trace (application/zip) ─────────────────────────────
    test-results/items-chromium-retry1/trace.zip
    Usage:

        npx playwright show-trace test-results/items-chromium-retry1/trace.zip

    ────────────────────────────────────────────────────────────────────

  1 failed
    [chromium] › tests/items.spec.ts:4:3 › item list › lists the seeded items ─────────────
  1 flaky
  7 passed (25.2s)
";

    #[test]
    fn failure_blocks_attempts_and_summary() {
        let run = parse_text(LOG);
        assert_eq!(run.running, Some((8, 2)));
        assert_eq!(run.summary.failed, 1);
        assert_eq!(run.summary.flaky, 1);
        assert_eq!(run.summary.passed, 7);
        assert_eq!(run.failures.len(), 1, "{:#?}", run.failures);
        let f = &run.failures[0];
        assert_eq!(f.project.as_deref(), Some("chromium"));
        assert_eq!(f.file, "tests/items.spec.ts");
        assert_eq!((f.line, f.column), (Some(4), Some(3)));
        assert_eq!(f.title_path, ["item list", "lists the seeded items"]);
        assert_eq!(f.attempts.len(), 2);
        let first = &f.attempts[0];
        assert_eq!(first.retry, 0);
        assert!(
            first
                .message
                .starts_with("Error: expect(locator).toContainText(expected) failed")
        );
        assert_eq!(
            first.call_log,
            [
                "Expect \"toContainText\" with timeout 4000ms",
                "waiting for getByTestId('item-row')"
            ]
        );
        assert_eq!(
            first.attachments,
            [
                (
                    "screenshot".to_owned(),
                    "test-results/items-chromium/test-failed-1.png".to_owned()
                ),
                (
                    "error-context".to_owned(),
                    "test-results/items-chromium/error-context.md".to_owned()
                )
            ]
        );
        assert_eq!(f.attempts[1].retry, 1);
        assert_eq!(
            f.attempts[1].attachments,
            [(
                "trace".to_owned(),
                "test-results/items-chromium-retry1/trace.zip".to_owned()
            )]
        );
    }

    #[test]
    fn text_that_is_not_a_console_log_is_rejected() {
        let err = parse(Path::new("x.log"), b"hello world\nnothing here\n").expect_err("not a log");
        assert!(
            err.to_string().contains("x.log: expected console output"),
            "{err}"
        );
    }
}
