//! Editing spec sources: small edits that keep everything else byte for byte,
//! and the page a test was on at a line. Reading statements and locators is
//! [`crate::locator::statement`].

use crate::locator::statement::line_start;
use crate::locator::{Arg, call_args};

/// `source` with the byte range `span` replaced.
pub fn replace(source: &str, span: (usize, usize), with: &str) -> String {
    let mut out = String::with_capacity(source.len() + with.len());
    out.push_str(&source[..span.0]);
    out.push_str(with);
    out.push_str(&source[span.1..]);
    out
}

/// The URL the test was on at `line`: its last `goto(…)` before that line.
pub fn url_at(source: &str, test_line: u32, line: u32, base_url: &str) -> Option<String> {
    let begin = line_start(source, test_line)?;
    let end = line_start(source, line + 1).unwrap_or(source.len());
    let body = &source[begin..end];
    let at = body.rfind("goto(")? + "goto(".len();
    let (args, _) = call_args(body, at)?;
    let target = match args.first()? {
        Arg::Str(s, _) => s.clone(),
        _ => return None,
    };
    if target.starts_with("http://") || target.starts_with("https://") {
        return Some(target);
    }
    Some(format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        target.trim_start_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn the_last_goto_before_the_failing_line_gives_the_url() {
        let src = "test('x', async ({ page }) => {\n  await page.goto('/items');\n  await page.locator('#a').click();\n  await page.goto('https://x.test/account');\n});\n";
        assert_eq!(
            url_at(src, 1, 3, "http://127.0.0.1:3000/").as_deref(),
            Some("http://127.0.0.1:3000/items")
        );
        assert_eq!(
            url_at(src, 1, 5, "http://h").as_deref(),
            Some("https://x.test/account")
        );
        assert_eq!(url_at("test('y', () => {\n});\n", 1, 2, "http://h"), None);
    }
}
