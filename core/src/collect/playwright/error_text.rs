//! Cleaning Playwright's error texts: ANSI codes out, the call log split off.

use crate::model::ErrorInfo;

/// Removes ANSI escape sequences (colours, cursor movement).
pub fn strip_ansi(text: &str) -> String {
    if !text.contains('\u{1b}') {
        return text.to_owned();
    }
    String::from_utf8_lossy(&strip_ansi_escapes::strip(text.as_bytes())).into_owned()
}

/// Removes what CI runners and package managers put before each line of a log:
/// GitHub Actions' timestamps (`2024-03-05T12:34:56.7890123Z `) and its
/// `##[error]` markers, Yarn's `➤ YN0000: `, and the `E   ` pytest puts before
/// each line of a failure (its short form; the long form's `E       ` keeps its
/// further indentation). The rest of the line, its
/// indentation included, is Playwright's, and the call log is found again.
pub fn strip_log_prefixes(text: &str) -> std::borrow::Cow<'_, str> {
    static PREFIX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?m)^(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?)?(?:##\[(?:error|warning|notice|debug|group|endgroup)\])?(?:➤ YN\d{4}: )?(?:E   )?",
        )
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    PREFIX.replace_all(text, "")
}

/// Splits an error message into the message proper and its call log.
///
/// Current Playwright writes `Call log:` followed by `  - …` lines; older versions
/// framed the log with a `==== logs ====` banner and a closing line of `=`.
pub fn split_call_log(message: &str) -> (String, Vec<String>) {
    let mut head = Vec::new();
    let mut log = Vec::new();
    let mut in_log = false;
    let mut old_style = false;
    for line in message.lines() {
        let trimmed = line.trim();
        if !in_log && (trimmed == "Call log:" || is_logs_banner(trimmed)) {
            in_log = true;
            old_style = trimmed != "Call log:";
            continue;
        }
        if in_log {
            if old_style {
                if !trimmed.is_empty() && trimmed.bytes().all(|b| b == b'=') {
                    in_log = false;
                } else if !trimmed.is_empty() {
                    log.push(trimmed.to_owned());
                }
                continue;
            }
            if let Some(entry) = trimmed.strip_prefix("- ") {
                log.push(entry.to_owned());
                continue;
            }
            if !trimmed.is_empty() && line.starts_with(char::is_whitespace) {
                // A continuation such as `12 × locator resolved to 0 elements`.
                log.push(trimmed.to_owned());
                continue;
            }
            // A blank or unindented line ends the log (the source excerpt follows).
            in_log = false;
            if trimmed.is_empty() {
                continue;
            }
        }
        head.push(line);
    }
    while head.last().is_some_and(|l| l.trim().is_empty()) {
        head.pop();
    }
    (head.join("\n"), log)
}

fn is_logs_banner(line: &str) -> bool {
    line.starts_with("===") && line.ends_with("===") && line.trim_matches('=').trim() == "logs"
}

/// The first `at …file:line:col` frame of a stack, for errors without a location.
pub fn location_from_stack(stack: &str) -> Option<crate::model::Location> {
    stack.lines().find_map(|line| {
        let frame = line.trim().strip_prefix("at ")?;
        let target = match (frame.rfind('('), frame.ends_with(')')) {
            (Some(open), true) => &frame[open + 1..frame.len() - 1],
            _ => frame,
        };
        let mut parts = target.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        (!file.starts_with("node:") && !file.contains("node_modules")).then(|| {
            crate::model::Location {
                file: file.to_owned(),
                line,
                column,
            }
        })
    })
}

/// Builds an [`ErrorInfo`] from raw report text: ANSI removed, call log split off.
pub fn error_from_text(message: &str, stack: Option<&str>, snippet: Option<&str>) -> ErrorInfo {
    let clean = strip_ansi(message);
    let (message, call_log) = split_call_log(&clean);
    ErrorInfo {
        message,
        stack: stack.map(strip_ansi).filter(|s| !s.is_empty()),
        snippet: snippet.map(strip_ansi).filter(|s| !s.is_empty()),
        call_log,
        location: None,
        value: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_frames_give_a_location() {
        let loc = location_from_stack(
            "Error: it broke\n    at Object.<anonymous> (/src/tests/error.spec.ts:22:7)",
        )
        .expect("a frame");
        assert_eq!(
            (loc.file.as_str(), loc.line, loc.column),
            ("/src/tests/error.spec.ts", 22, 7)
        );
        let loc = location_from_stack(
            "Error\n    at /src/node_modules/x.js:1:1\n    at /src/a.spec.ts:3:9",
        )
        .expect("frame");
        assert_eq!(loc.line, 3);
        assert!(location_from_stack("no frames here").is_none());
    }

    #[test]
    fn ansi_is_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[31mTest timeout\u{1b}[39m ok"),
            "Test timeout ok"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn current_call_log_is_split_off() {
        let msg = "Error: locator.click: Test timeout of 10000ms exceeded.\nCall log:\n  - waiting for locator('#add-item')\n  - locator resolved to 0 elements\n";
        let (head, log) = split_call_log(msg);
        assert_eq!(
            head,
            "Error: locator.click: Test timeout of 10000ms exceeded."
        );
        assert_eq!(
            log,
            [
                "waiting for locator('#add-item')",
                "locator resolved to 0 elements"
            ]
        );
    }

    #[test]
    fn continuation_lines_stay_in_the_call_log() {
        let msg = "Error: failed\n\nCall log:\n  - waiting for getByTestId('item-row')\n    12 × locator resolved to 0 elements\n\n  4 | source";
        let (head, log) = split_call_log(msg);
        assert_eq!(
            log,
            [
                "waiting for getByTestId('item-row')",
                "12 × locator resolved to 0 elements"
            ]
        );
        assert_eq!(head, "Error: failed\n\n  4 | source");
    }

    #[test]
    fn old_logs_banner_is_split_off() {
        let msg = "Error: locator.click: Target closed\n    =========================== logs ===========================\n    waiting for locator('#x')\n    ============================================================\n\n       at table.locator.ts:12";
        let (head, log) = split_call_log(msg);
        assert_eq!(
            head,
            "Error: locator.click: Target closed\n\n       at table.locator.ts:12"
        );
        assert_eq!(log, ["waiting for locator('#x')"]);
    }

    #[test]
    fn ci_line_prefixes_are_removed_and_the_call_log_is_found_again() {
        let log = "2024-03-05T12:34:56.7890123Z ##[error]Error: expect(locator).toBeVisible() failed\n\
                   2024-03-05T12:34:56.7890456Z \n\
                   2024-03-05T12:34:56.7890789Z Call log:\n\
                   2024-03-05T12:34:56.7891012Z   - waiting for getByRole('button', { name: 'Save' })\n\
                   \u{27a4} YN0000:   - locator resolved to <button>Save</button>\n\
                   a line without a prefix stays 2024-03-05T12:34:56Z as it is";
        let clean = strip_log_prefixes(log);
        let (head, call_log) = split_call_log(&clean);
        assert_eq!(
            head.lines().next(),
            Some("Error: expect(locator).toBeVisible() failed")
        );
        assert_eq!(
            call_log,
            [
                "waiting for getByRole('button', { name: 'Save' })",
                "locator resolved to <button>Save</button>",
            ]
        );
        assert!(clean.ends_with("a line without a prefix stays 2024-03-05T12:34:56Z as it is"));
        // pytest's failure lines.
        let pytest = "E       AssertionError: Locator expected to have text 'Welcome'\n\
                      E       Actual value: Sign in\n\
                      E       Call log:\n\
                      E         - waiting for get_by_role(\"heading\")\n\
                      Each line keeps its E";
        let clean = strip_log_prefixes(pytest);
        let (head, call_log) = split_call_log(&clean);
        assert!(
            head.lines()
                .nth(1)
                .is_some_and(|l| l.trim_start() == "Actual value: Sign in"),
            "{head}"
        );
        assert_eq!(call_log, ["waiting for get_by_role(\"heading\")"]);
        assert!(clean.ends_with("Each line keeps its E"));
    }
}
