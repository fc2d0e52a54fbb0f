//! Backend and app log excerpts: windows of lines around error lines, bounded.

use regex::RegexSet;

use crate::collect::playwright::error_text::strip_ansi;
use crate::model::{LogExcerpt, LogWindow};

/// Bounds of the excerpts of one log file.
#[derive(Debug, Clone, Copy)]
pub struct ExcerptLimits {
    /// Lines kept before an error line.
    pub before: usize,
    /// Lines kept after an error line.
    pub after: usize,
    /// Most windows kept (the first ones: the earliest error is usually the cause).
    pub max_windows: usize,
    /// Most bytes of window text kept per file.
    pub max_bytes: usize,
    /// Longer lines are cut (with a marker).
    pub max_line_len: usize,
}

impl Default for ExcerptLimits {
    fn default() -> Self {
        ExcerptLimits {
            before: 3,
            after: 6,
            max_windows: 20,
            max_bytes: 16 * 1024,
            max_line_len: 500,
        }
    }
}

/// Patterns of lines that signal an error in backend and app logs.
const ERROR_PATTERNS: [&str; 10] = [
    r"\b(?:ERROR|FATAL|CRITICAL|PANIC|SEVERE)\b",
    r"(?i)\b(?:error|fatal|exception)\b[:\]]",
    r"Traceback \(most recent call last\)",
    r"\bpanicked at\b",
    r"(?i)\b(?:unhandled|uncaught)\b",
    r"(?i)\b(?:status[=: ]+|HTTP/\d(?:\.\d)?\x22? )5\d\d\b",
    r#"" 5\d\d \d"#,
    r"(?i)\b(?:out of memory|oom-kill|segmentation fault|core dumped|killed)\b",
    r"(?i)\b(?:ECONNREFUSED|ECONNRESET|connection refused|connection reset)\b",
    r"(?i)\bstartup check failed\b",
];

/// Finds error lines and cuts windows around them.
#[derive(Debug)]
pub struct Excerpter {
    set: RegexSet,
    limits: ExcerptLimits,
}

impl Default for Excerpter {
    fn default() -> Self {
        Excerpter::new(ExcerptLimits::default())
    }
}

impl Excerpter {
    /// An excerpter with the given limits.
    pub fn new(limits: ExcerptLimits) -> Excerpter {
        Excerpter {
            set: RegexSet::new(ERROR_PATTERNS).expect("built-in patterns compile"),
            limits,
        }
    }

    /// The excerpt of `text`, the content of the log at `path`.
    pub fn excerpt(&self, path: &str, text: &str) -> LogExcerpt {
        let text = strip_ansi(text);
        let lines: Vec<&str> = text.lines().collect();
        let error_lines: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| self.set.is_match(l))
            .map(|(i, _)| i)
            .collect();
        let mut windows: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        for &i in &error_lines {
            let start = i.saturating_sub(self.limits.before);
            let end = (i + self.limits.after).min(lines.len().saturating_sub(1));
            match windows.last_mut() {
                Some(last) if start <= last.1 + 1 => {
                    last.1 = last.1.max(end);
                    last.2.push(i + 1);
                }
                _ => windows.push((start, end, vec![i + 1])),
            }
        }
        let mut truncated = windows.len() > self.limits.max_windows;
        windows.truncate(self.limits.max_windows);
        let mut out = Vec::new();
        let mut bytes = 0;
        for (start, end, errors) in windows {
            let mut body = String::new();
            for line in &lines[start..=end] {
                if line.len() > self.limits.max_line_len {
                    let cut = (0..=self.limits.max_line_len)
                        .rev()
                        .find(|c| line.is_char_boundary(*c))
                        .unwrap_or(0);
                    body.push_str(&line[..cut]);
                    body.push_str(&format!(" [… {} bytes cut]", line.len() - cut));
                } else {
                    body.push_str(line);
                }
                body.push('\n');
            }
            if bytes + body.len() > self.limits.max_bytes {
                truncated = true;
                break;
            }
            bytes += body.len();
            out.push(LogWindow {
                start_line: start + 1,
                end_line: end + 1,
                error_lines: errors,
                text: body,
            });
        }
        LogExcerpt {
            path: path.to_owned(),
            total_lines: lines.len(),
            matched_lines: error_lines.len(),
            windows: out,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_surround_error_lines_and_merge() {
        let mut log: Vec<String> = (1..=40).map(|i| format!("INFO line {i}")).collect();
        log[9] = "2026 ERROR request failed status=500".into();
        log[11] = "Traceback (most recent call last):".into();
        log[30] = "thread 'main' panicked at src/main.rs:3".into();
        let ex = Excerpter::default().excerpt("app.log", &log.join("\n"));
        assert_eq!(ex.total_lines, 40);
        assert_eq!(ex.matched_lines, 3);
        assert_eq!(ex.windows.len(), 2);
        assert_eq!((ex.windows[0].start_line, ex.windows[0].end_line), (7, 18));
        assert_eq!(ex.windows[0].error_lines, [10, 12]);
        assert!(ex.windows[1].text.contains("panicked at"));
        assert!(!ex.truncated);
    }

    #[test]
    fn access_log_5xx_and_quiet_logs() {
        let ex = Excerpter::default().excerpt(
            "a.log",
            "GET /x 200\n127.0.0.1 \"POST /api HTTP/1.1\" 502 12\n",
        );
        assert_eq!(ex.matched_lines, 1);
        let quiet = Excerpter::default().excerpt("b.log", "all good\nstill good\n");
        assert!(quiet.windows.is_empty());
    }

    #[test]
    fn excerpts_are_bounded_with_an_honest_flag() {
        let limits = ExcerptLimits {
            max_windows: 2,
            ..ExcerptLimits::default()
        };
        let log: Vec<String> = (0..100)
            .map(|i| {
                if i % 20 == 0 {
                    "FATAL boom".into()
                } else {
                    format!("x{i}")
                }
            })
            .collect();
        let ex = Excerpter::new(limits).excerpt("c.log", &log.join("\n"));
        assert_eq!(ex.windows.len(), 2);
        assert!(ex.truncated);
        let long = format!("ERROR {}", "y".repeat(2000));
        let ex = Excerpter::default().excerpt("d.log", &long);
        assert!(ex.windows[0].text.contains("bytes cut]"));
        assert!(ex.windows[0].text.len() < 700);
    }
}
