//! A locator in its statement: where a statement starts and ends, what it does
//! with its locator (the action, the texts and count an assertion expects), and
//! where a broken locator is written. The matching engine's context comes from
//! here, for the fix-agent (the spec source) and the planner (the error's code
//! snippet) alike.

use super::matching::{Action, Context};
use super::{Arg, By, Chain, call_args};

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
    ctx.action = action_of(&method);
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

pub(crate) fn shift(c: &mut Chain, by: usize) {
    c.span = (c.span.0 + by, c.span.1 + by);
    for s in &mut c.segments {
        s.span = (s.span.0 + by, s.span.1 + by);
    }
}

/// The written occurrences of `broken` in `source` (see [`find`]) and what the
/// failing statement at `line` does with it: the statement that writes it when
/// that is the failing one, else the failing statement's use of it (a
/// variable, a page-object field).
pub fn context_at(source: &str, line: Option<u32>, broken: &Chain) -> (Vec<Occurrence>, Context) {
    let occurrences = find(source, line, broken);
    let Some(first) = occurrences.first() else {
        let ctx = line
            .and_then(|l| statement_at(source, l))
            .map(|(s, e)| context_of_use(&source[s..e]))
            .unwrap_or_default();
        return (occurrences, ctx);
    };
    let stmt = &source[first.statement.0..first.statement.1];
    let at_failure = line.is_none_or(|l| {
        let first_line = line_of(source, first.statement.0);
        let last_line = line_of(source, first.statement.1);
        (first_line..=last_line).contains(&l)
    });
    let ctx = if at_failure {
        context_of(
            stmt,
            first.chain.span.0 - first.statement.0,
            first.chain.span.1 - first.statement.0,
        )
    } else {
        line.and_then(|l| statement_at(source, l))
            .map(|(s, e)| context_of_use(&source[s..e]))
            .unwrap_or_default()
    };
    (occurrences, ctx)
}

/// The action a Playwright method performs (`click`, `fill`, …).
fn action_of(method: &str) -> Option<Action> {
    match method {
        "click" | "dblclick" | "tap" => Some(Action::Click),
        "fill" | "type" | "pressSequentially" | "clear" => Some(Action::Fill),
        "check" | "uncheck" | "setChecked" => Some(Action::Check),
        "selectOption" => Some(Action::Select),
        "textContent" | "innerText" | "inputValue" | "isVisible" | "count" | "allTextContents" => {
            Some(Action::Read)
        }
        "" => None,
        _ => Some(Action::Other),
    }
}

/// What Playwright's error message says about the failing call: the action
/// (`locator.click: Timeout …`), or the assertion (`expect(locator).toHaveText
/// (expected) failed`) with the values it expected, as its matchers print them
/// (`Expected string: "…"`, `Expected: 5`, the `- Array [ … ]` of a diff). A
/// statement cut short in a snippet still has its expectations here.
pub fn expectations(message: &str) -> Context {
    let mut ctx = Context::default();
    // The line that names the call: a test timeout is reported first, bare.
    let first = message
        .lines()
        .find(|l| l.contains("expect(locator).") || l.contains("locator."))
        .unwrap_or("");
    let matcher = first.find("expect(locator).").map(|i| {
        let rest = &first[i + "expect(locator).".len()..];
        let rest = rest.strip_prefix("not.").unwrap_or(rest);
        rest.chars()
            .take_while(|c| c.is_alphanumeric())
            .collect::<String>()
    });
    if let Some(m) = &matcher {
        ctx.action = Some(Action::Read);
        let mut array: Option<Vec<String>> = None;
        for line in message.lines() {
            let t = line.trim();
            if let Some(v) = ["Expected string:", "Expected substring:", "Expected:"]
                .iter()
                .find_map(|p| t.strip_prefix(p))
                .map(str::trim)
            {
                if let Ok(s) = serde_json::from_str::<String>(v) {
                    ctx.expected_texts = vec![s];
                } else if m == "toHaveCount"
                    && let Ok(n) = v.parse::<usize>()
                {
                    ctx.expected_count = Some(n);
                }
                continue;
            }
            // A diff of arrays: `- Array [`, then `-   "a",` (expected only) and
            // `    "b",` (both); `+` lines are what was received.
            let (sign, body) = match line.chars().next() {
                Some(c @ ('-' | '+' | ' ')) => (c, line[1..].trim()),
                _ => (' ', t),
            };
            match (&mut array, body) {
                (None, "Array [") if sign != '+' => array = Some(Vec::new()),
                (Some(items), "]") if sign != '+' => {
                    ctx.expected_texts = std::mem::take(items);
                    if m == "toHaveText" {
                        ctx.expected_count = Some(ctx.expected_texts.len());
                    }
                    array = None;
                }
                (Some(items), item) if sign != '+' => {
                    if let Ok(s) = serde_json::from_str::<String>(item.trim_end_matches(',')) {
                        items.push(s);
                    }
                }
                _ => {}
            }
        }
    } else if let Some(i) = first.find("locator.") {
        let method: String = first[i + "locator.".len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        ctx.action = action_of(&method);
    }
    ctx
}

/// [`context_at`], completed by what the error message says the assertion
/// expected (a snippet can cut a statement short; the message never does):
/// the one context the planner and the fix-agent give the matching engine.
pub fn failure_context(
    source: &str,
    line: Option<u32>,
    broken: &Chain,
    message: &str,
) -> (Vec<Occurrence>, Context) {
    let (occurrences, mut ctx) = context_at(source, line, broken);
    let said = expectations(message);
    if ctx.action.is_none() {
        ctx.action = said.action;
    }
    if ctx.expected_texts.is_empty() {
        ctx.expected_texts = said.expected_texts;
    }
    if ctx.expected_count.is_none() {
        ctx.expected_count = said.expected_count;
    }
    (occurrences, ctx)
}

/// The code of a Playwright error snippet (`  > 8 |   await …`, gutters and
/// the caret line removed) and the 1-based line of the failing (`>`) line in it.
pub fn snippet_code(snippet: &str) -> Option<(String, u32)> {
    let mut code = String::new();
    let mut failing = None;
    let mut n = 0u32;
    for raw in snippet.lines() {
        let t = raw.trim_start();
        let marked = t.starts_with('>');
        let t = t.trim_start_matches('>').trim_start();
        let Some((gutter, rest)) = t.split_once('|') else {
            continue;
        };
        let gutter = gutter.trim();
        if gutter.is_empty() || !gutter.bytes().all(|b| b.is_ascii_digit()) {
            continue; // the caret line
        }
        n += 1;
        if marked {
            failing = Some(n);
        }
        code.push_str(rest.strip_prefix(' ').unwrap_or(rest));
        code.push('\n');
    }
    Some((code, failing?))
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn a_snippet_gives_its_code_and_failing_line() {
        let snippet = "   6 |     await expect(page.getByRole('heading', { level: 1 })).toHaveText('Items');\n   7 |     // seeded ones\n>  8 |     await expect(page.getByTestId('item-row')).toContainText([\n     |                                                ^\n   9 |       'Blue Widget',\n  10 |     ]);\n";
        let (code, line) = snippet_code(snippet).expect("code");
        assert_eq!(line, 3);
        assert!(
            code.lines()
                .nth(2)
                .expect("line")
                .contains("getByTestId('item-row')")
        );
        let broken = Chain::parse("getByTestId('item-row')").expect("c");
        let (occ, ctx) = context_at(&code, Some(line), &broken);
        assert_eq!(occ.len(), 1);
        assert_eq!(ctx.action, Some(Action::Read));
        assert_eq!(ctx.expected_texts, ["Blue Widget"]);
        assert!(snippet_code("no gutter here").is_none());
    }

    #[test]
    fn the_message_says_what_the_assertion_expected() {
        let c = expectations(
            "Error: expect(locator).toContainText(expected) failed\n\nLocator: getByTestId('item-row')\nTimeout: 4000ms\n- Expected  - 2\n+ Received  + 1\n\n- Array [\n-   \"Blue Widget\",\n    \"Red Gadget\",\n+   \"Other\",\n- ]\n+ Array []\n",
        );
        assert_eq!(c.action, Some(Action::Read));
        assert_eq!(c.expected_texts, ["Blue Widget", "Red Gadget"]);
        assert_eq!(c.expected_count, None);
        let c = expectations(
            "Error: expect(locator).toHaveText(expected) failed\n\nLocator: getByRole('heading')\nExpected string: \"Items\"\nReceived: <element(s) not found>",
        );
        assert_eq!(c.expected_texts, ["Items"]);
        let c = expectations(
            "Error: Timed out 5000ms waiting for expect(locator).toHaveCount(expected)\n\nLocator: getByRole('listitem')\nExpected: 5\nReceived: 0",
        );
        assert_eq!((c.expected_count, c.expected_texts.len()), (Some(5), 0));
        let c = expectations(
            "Error: locator.fill: Timeout 30000ms exceeded.\nCall log:\n  - waiting for getByLabel('Email')",
        );
        assert_eq!(c.action, Some(Action::Fill));
        assert_eq!(
            expectations("TypeError: x is not a function"),
            Context::default()
        );
    }

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
        let span = occ[0].chain.segments[0].span;
        assert_eq!(&SPEC[span.0..span.1], "getByTestId('price')");
    }
}
