//! Reading and editing spec sources: the statement that failed, what it does
//! with its locator, where a broken locator is written, and small edits that
//! keep everything else byte for byte.

use super::chain::{Arg, By, Chain, call_args};
use super::locator_heal::{Action, Context};

/// Byte offset of the start of 1-based `line`.
pub fn line_start(source: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    source
        .match_indices('\n')
        .nth(line as usize - 2)
        .map(|(i, _)| i + 1)
}

/// 1-based line of byte offset `at`.
pub fn line_of(source: &str, at: usize) -> u32 {
    source[..at.min(source.len())].matches('\n').count() as u32 + 1
}

/// The statement starting on `line`: up to the `;` (or line end without one)
/// that closes it at bracket depth 0, at most 40 lines.
pub fn statement_at(source: &str, line: u32) -> Option<(usize, usize)> {
    let start = line_start(source, line)?;
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut lines = 0;
    for (off, c) in source[start..].char_indices() {
        let at = start + off;
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth < 0 {
                    return Some((start, at));
                }
            }
            ';' if depth == 0 => return Some((start, at + 1)),
            '\n' => {
                lines += 1;
                if depth == 0 || lines >= 40 {
                    return Some((start, at));
                }
            }
            _ => {}
        }
    }
    Some((start, source.len()))
}

/// What a statement does with the locator chain at `chain_end` (byte offset in
/// `stmt`): the action after it, or the assertion around it.
pub fn context_of(stmt: &str, chain_start: usize, chain_end: usize) -> Context {
    let mut ctx = Context::default();
    let after = &stmt[chain_end..];
    let method: String = after
        .trim_start()
        .strip_prefix('.')
        .map(|r| r.chars().take_while(|c| c.is_alphanumeric()).collect())
        .unwrap_or_default();
    ctx.action = match method.as_str() {
        "click" | "dblclick" | "tap" => Some(Action::Click),
        "fill" | "type" | "pressSequentially" | "clear" => Some(Action::Fill),
        "check" | "uncheck" | "setChecked" => Some(Action::Check),
        "selectOption" => Some(Action::Select),
        "textContent" | "innerText" | "inputValue" | "isVisible" | "count" | "allTextContents" => {
            Some(Action::Read)
        }
        "" => None,
        _ => Some(Action::Other),
    };
    // expect(<chain>).toHaveText(…): the chain sits inside expect( … ).
    // The receiver (`page.`, `this.page.`, `row.`) is not part of the chain.
    let before = stmt[..chain_start]
        .trim_end()
        .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
        .trim_end();
    let in_expect = before.ends_with("expect(")
        || before.ends_with("expect.soft(")
        || before.ends_with("expect.poll(");
    if in_expect {
        ctx.action = Some(Action::Read);
        let close = after.find(')').map_or(after.len(), |i| i + 1);
        let rest = &after[close..];
        let rest = rest
            .trim_start()
            .strip_prefix(".not")
            .unwrap_or(rest.trim_start());
        if let Some(m) = rest.strip_prefix('.') {
            let name: String = m.chars().take_while(|c| c.is_alphanumeric()).collect();
            let args_at = chain_end + close + (after[close..].len() - rest.len()) + 1 + name.len();
            let args = stmt[args_at..]
                .trim_start()
                .strip_prefix('(')
                .map(|_| {
                    let open = args_at + stmt[args_at..].find('(').unwrap_or(0) + 1;
                    call_args(stmt, open).map(|(a, _)| a).unwrap_or_default()
                })
                .unwrap_or_default();
            match (name.as_str(), args.first()) {
                ("toHaveText" | "toContainText", Some(Arg::Str(s, _))) => {
                    ctx.expected_texts = vec![s.clone()];
                }
                ("toHaveText" | "toContainText", Some(Arg::Array(items))) => {
                    ctx.expected_texts = items
                        .iter()
                        .filter_map(|a| match a {
                            Arg::Str(s, _) => Some(s.clone()),
                            _ => None,
                        })
                        .collect();
                    ctx.expected_count = Some(items.len()).filter(|_| name == "toHaveText");
                    if ctx.expected_texts.len() > 1 && ctx.expected_count.is_none() {
                        // toContainText([...]): at least that many.
                        ctx.expected_count = None;
                    }
                }
                ("toHaveCount", Some(Arg::Num(n))) => ctx.expected_count = Some(*n as usize),
                _ => {}
            }
        }
    }
    ctx
}

/// The context of a statement that uses its locator through a variable:
/// `await expect(row).toHaveText('x')`, `await addButton.click()`.
pub fn context_of_use(stmt: &str) -> Context {
    if let Some(i) = stmt.find("expect(") {
        let open = i + "expect(".len();
        if let Some((_, close)) = call_args_or_ident(stmt, open) {
            return context_of(stmt, open, close);
        }
    }
    // `<ident>.action(` : the action is the last method called on the statement.
    let trimmed = stmt.trim_start().trim_start_matches("await ").trim_start();
    let ident_end = trimmed
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(trimmed.len());
    let offset = stmt.len() - trimmed.len();
    context_of(stmt, offset, offset + ident_end)
}

/// The end of the single argument of `expect(…)` (an identifier or a call chain).
fn call_args_or_ident(stmt: &str, open: usize) -> Option<((), usize)> {
    let mut depth = 0i32;
    for (off, c) in stmt[open..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => return Some(((), open + off)),
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Where a broken chain is written in a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The chain as parsed from the source (spans are absolute byte offsets).
    pub chain: Chain,
    /// Index of its broken segment.
    pub segment: usize,
    /// The statement it is in.
    pub statement: (usize, usize),
}

/// Finds the broken chain in `source`: first in the statement at `line`, then
/// anywhere in the file (a locator defined once and used later). A match is a
/// written chain whose segments end with the broken chain's segments.
pub fn find(source: &str, line: Option<u32>, broken: &Chain) -> Vec<Occurrence> {
    let want: Vec<(&By, bool)> = broken.segments.iter().map(|s| (&s.by, s.exact)).collect();
    let Some(target) = broken.target_index() else {
        return Vec::new();
    };
    let matches = |c: &Chain| -> Option<usize> {
        let have: Vec<(&By, bool)> = c.segments.iter().map(|s| (&s.by, s.exact)).collect();
        // The written chain may start earlier (page.locator(x).getByRole(y)) or
        // end sooner (a variable holding a prefix): compare the broken target
        // segment and whatever surrounds it on both sides.
        let tgt = &broken.segments[target];
        let pos = c
            .segments
            .iter()
            .position(|s| s.by == tgt.by && s.exact == tgt.exact)?;
        let before_ok = want[..target]
            .iter()
            .rev()
            .zip(have[..pos].iter().rev())
            .all(|(a, b)| a == b);
        before_ok.then_some(pos)
    };
    let mut out = Vec::new();
    if let Some(line) = line
        && let Some((s, e)) = statement_at(source, line)
    {
        for mut c in Chain::find_all(&source[s..e]) {
            if let Some(seg) = matches(&c) {
                shift(&mut c, s);
                out.push(Occurrence {
                    chain: c,
                    segment: seg,
                    statement: (s, e),
                });
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    let mut offset = 0;
    for raw_line in source.split_inclusive('\n') {
        for mut c in Chain::find_all(raw_line) {
            if let Some(seg) = matches(&c) {
                shift(&mut c, offset);
                let l = line_of(source, offset);
                let stmt = statement_at(source, l).unwrap_or((offset, offset + raw_line.len()));
                out.push(Occurrence {
                    chain: c,
                    segment: seg,
                    statement: stmt,
                });
            }
        }
        offset += raw_line.len();
    }
    out
}

fn shift(c: &mut Chain, by: usize) {
    c.span = (c.span.0 + by, c.span.1 + by);
    for s in &mut c.segments {
        s.span = (s.span.0 + by, s.span.1 + by);
    }
}

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
    let (args, _) = super::chain::call_args(body, at)?;
    let target = match args.first()? {
        super::chain::Arg::Str(s, _) => s.clone(),
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

    const SPEC: &str = "import { test, expect } from './fixtures';\n\
test('lists', async ({ page }) => {\n\
  await page.goto('/items');\n\
  await expect(page.getByTestId('item-row')).toContainText([\n\
    'Blue Widget',\n\
    'Red Gadget',\n\
  ]);\n\
  await page.locator('#add-item').click();\n\
  const row = page.getByTestId('price');\n\
  await expect(row).toHaveText('$19.99');\n\
  await expect(page.getByRole('listitem')).toHaveCount(5);\n\
});\n";

    #[test]
    fn statements_span_lines() {
        let (s, e) = statement_at(SPEC, 4).expect("stmt");
        assert!(
            SPEC[s..e]
                .trim_start()
                .starts_with("await expect(page.getByTestId")
        );
        assert!(SPEC[s..e].ends_with("]);"));
        assert_eq!(line_of(SPEC, e), 7);
    }

    #[test]
    fn contexts_from_actions_and_assertions() {
        let find_ctx = |line: u32| {
            let (s, e) = statement_at(SPEC, line).expect("stmt");
            let stmt = &SPEC[s..e];
            let c = Chain::find_all(stmt).pop().expect("chain");
            context_of(stmt, c.span.0, c.span.1)
        };
        let c = find_ctx(4);
        assert_eq!(c.action, Some(Action::Read));
        assert_eq!(c.expected_texts, ["Blue Widget", "Red Gadget"]);
        let c = find_ctx(8);
        assert_eq!(c.action, Some(Action::Click));
        let c = find_ctx(11);
        assert_eq!(c.expected_count, Some(5));
        let (s, e) = statement_at(SPEC, 10).expect("stmt");
        let c = context_of_use(&SPEC[s..e]);
        assert_eq!(
            (c.action, c.expected_texts),
            (Some(Action::Read), vec!["$19.99".to_owned()])
        );
    }

    #[test]
    fn finds_the_written_locator_in_the_statement_or_the_file() {
        let broken = Chain::parse("locator('#add-item')").expect("c");
        let occ = find(SPEC, Some(8), &broken);
        assert_eq!(occ.len(), 1);
        let seg = &occ[0].chain.segments[occ[0].segment];
        assert_eq!(&SPEC[seg.span.0..seg.span.1], "locator('#add-item')");
        // Failing at the use of a variable: the definition is found.
        let broken = Chain::parse("getByTestId('price')").expect("c");
        let occ = find(SPEC, Some(10), &broken);
        assert_eq!(occ.len(), 1);
        assert_eq!(line_of(SPEC, occ[0].chain.span.0), 9);
        let edited = replace(SPEC, occ[0].chain.segments[0].span, "getByTestId('cost')");
        assert!(edited.contains("const row = page.getByTestId('cost');"));
        assert_eq!(edited.len(), SPEC.len() - 1);
    }
}
