//! Locators written as template literals (`page.getByTestId(`row-${id}`)`):
//! the call log prints the value one test built (`getByTestId('row-3')`), the
//! source holds the template. A heal of the printed value is carried back
//! into the template's constant parts when the parameters keep their places
//! in the new value; when a parameter's value is what changed, no edit of
//! the template is right, and the refusal says so.

use std::sync::LazyLock;

use super::edit::{LocatorEdit, Made, Refused};
use super::source::replace;
use crate::locator::matching::{Context, Thresholds, heal};
use crate::locator::statement::line_of;
use crate::locator::{By, Chain};
use crate::page::Page;

/// One part of a template literal.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text.
    Text(String),
    /// A `${…}` substitution, as written.
    Param(String),
}

/// A locator method called with a template literal as its first argument.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    method: String,
    /// Byte span of the literal's content (inside the backticks).
    span: (usize, usize),
    parts: Vec<Part>,
}

fn calls(source: &str) -> Vec<Call> {
    static CALL: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"\b(getByTestId|getByText|getByLabel|getByPlaceholder|getByAltText|getByTitle|locator)\(\s*`",
        )
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let mut out = Vec::new();
    for m in CALL.captures_iter(source) {
        let (Some(all), Some(method)) = (m.get(0), m.get(1)) else {
            continue;
        };
        let start = all.end();
        let Some(parts_end) = parse(&source[start..]) else {
            continue;
        };
        let (parts, len) = parts_end;
        if parts.iter().any(|p| matches!(p, Part::Param(_))) {
            out.push(Call {
                method: method.as_str().to_owned(),
                span: (start, start + len),
                parts,
            });
        }
    }
    out
}

/// The parts of a template literal's content up to its closing backtick, and
/// the content's length; `None` when it does not close.
fn parse(text: &str) -> Option<(Vec<Part>, usize)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' => {
                if !lit.is_empty() {
                    parts.push(Part::Text(lit));
                }
                return Some((parts, i));
            }
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    lit.push(n);
                }
            }
            '$' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                chars.next();
                if !lit.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut lit)));
                }
                let mut depth = 1;
                let mut expr = String::new();
                for (_, e) in chars.by_ref() {
                    match e {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    expr.push(e);
                }
                parts.push(Part::Param(expr));
            }
            c => lit.push(c),
        }
    }
    None
}

/// The method a printed segment was made by, and the value it selects by.
fn method_and_value(by: &By) -> Option<(&'static str, &str)> {
    Some(match by {
        By::TestId(v) => ("getByTestId", v),
        By::Text(v) => ("getByText", v),
        By::Label(v) => ("getByLabel", v),
        By::Placeholder(v) => ("getByPlaceholder", v),
        By::AltText(v) => ("getByAltText", v),
        By::Title(v) => ("getByTitle", v),
        By::Css(v) | By::XPath(v) => ("locator", v),
        _ => return None,
    })
}

/// The parameters' values when `value` is what `parts` build.
fn captures(parts: &[Part], value: &str) -> Option<Vec<String>> {
    let mut pattern = String::from("^");
    for p in parts {
        match p {
            Part::Text(t) => pattern.push_str(&regex::escape(t)),
            Part::Param(_) => pattern.push_str("(.+?)"),
        }
    }
    pattern.push('$');
    let re = regex::Regex::new(&pattern).ok()?;
    let c = re.captures(value)?;
    Some(
        c.iter()
            .skip(1)
            .map(|m| m.map_or(String::new(), |m| m.as_str().to_owned()))
            .collect(),
    )
}

/// `new` written with the template's parameters where their values are, in
/// order; `None` when a value is not in it.
fn rebuild(parts: &[Part], values: &[String], new: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = new;
    let mut params = parts.iter().filter_map(|p| match p {
        Part::Param(e) => Some(e),
        Part::Text(_) => None,
    });
    for v in values {
        let expr = params.next()?;
        // Placed only where it is unambiguous: a value found twice could be
        // either, and the wrong one breaks every other value of the parameter.
        let at = rest.find(v.as_str())?;
        if v.is_empty() || rest[at + v.len()..].contains(v.as_str()) {
            return None;
        }
        out.push_str(&escape(&rest[..at]));
        out.push_str(&format!("${{{expr}}}"));
        rest = &rest[at + v.len()..];
    }
    out.push_str(&escape(rest));
    Some(out)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('`', "\\`")
        .replace("${", "\\${")
}

/// Heals `broken` where `source` builds it with a template literal; `None`
/// when no template literal of the source builds it.
pub fn locator(
    source: &str,
    line: Option<u32>,
    broken: &Chain,
    page: &Page,
    ctx: &Context,
    t: Thresholds,
) -> Option<LocatorEdit> {
    let target = broken.target_index()?;
    let (method, value) = method_and_value(&broken.segments[target].by)?;
    // Templates with a constant part that build the printed value; the one on
    // the failing line first, else the only one in the file.
    let mut found: Vec<(Call, Vec<String>)> = calls(source)
        .into_iter()
        .filter(|c| c.method == method && c.parts.iter().any(|p| matches!(p, Part::Text(_))))
        .filter_map(|c| captures(&c.parts, value).map(|v| (c, v)))
        .collect();
    if let Some(l) = line
        && let Some(i) = found
            .iter()
            .position(|(c, _)| line_of(source, c.span.0) == l)
    {
        found = vec![found.swap_remove(i)];
    }
    let (call, values) = match found.len() {
        0 => return None,
        1 => found.pop()?,
        n => {
            return Some(LocatorEdit {
                healing: None,
                made: Err(Refused(format!(
                    "{n} template literals of the file build {value:?}: which one the failing test used is not known"
                ))),
            });
        }
    };
    let written = format!("`{}`", &source[call.span.0..call.span.1]);
    let healing = heal(broken, page, ctx, t);
    let refuse = |why: String, healing| LocatorEdit {
        healing: Some(healing),
        made: Err(Refused(why)),
    };
    let Some(replacement) = healing.replacement.clone() else {
        let why = format!(
            "{} (built by the template literal {written})",
            healing.reason
        );
        return Some(refuse(why, healing));
    };
    let new_by = Chain::parse(&replacement).and_then(|c| c.segments.into_iter().next());
    let Some((new_method, new_value)) = new_by.as_ref().and_then(|s| method_and_value(&s.by))
    else {
        let why = format!(
            "the heal {replacement} selects by another kind of locator than the template literal {written} builds: not edited"
        );
        return Some(refuse(why, healing));
    };
    if new_method != method || healing.replaces_pick {
        let why = format!(
            "the heal {replacement} is not a {method} value the template literal {written} can build: not edited"
        );
        return Some(refuse(why, healing));
    }
    let Some(content) = rebuild(&call.parts, &values, new_value) else {
        let why = format!(
            "a parameter of the template literal {written} decides the broken part: its value ({}) is not in the element's new value {new_value:?}",
            values.join(", ")
        );
        return Some(refuse(why, healing));
    };
    let new_literal = format!("`{content}`");
    let out = replace(source, call.span, &content);
    let mut healing = healing;
    healing.reason = format!(
        "{}; the template literal {written} becomes {new_literal}",
        healing.reason
    );
    Some(LocatorEdit {
        healing: Some(healing),
        made: Ok(Made {
            source: out,
            line: line_of(source, call.span.0),
            old: written,
            new: new_literal,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body><main><h1>Items</h1><ul>
        <li data-testid="catalog-row-1"><a href="/items/1">Blue Widget</a></li>
        <li data-testid="catalog-row-2"><a href="/items/2">Red Gadget</a></li>
        <li data-testid="catalog-row-3"><a href="/items/3">Green Sprocket</a></li></ul></main></body></html>"#;

    fn run(source: &str, printed: &str) -> LocatorEdit {
        let chain = Chain::parse(printed).expect("chain");
        let ctx = Context {
            expected_texts: vec!["Green Sprocket".into()],
            ..Context::default()
        };
        locator(
            source,
            None,
            &chain,
            &Page::parse(PAGE),
            &ctx,
            Thresholds::default(),
        )
        .expect("a template literal builds it")
    }

    #[test]
    fn the_constant_part_of_a_template_literal_is_healed() {
        let source = "export const row = (page, id) => page.getByTestId(`item-row-${id}`);\n";
        let out = run(source, "getByTestId('item-row-3')");
        let made = out.made.expect("healed");
        assert_eq!(made.old, "`item-row-${id}`");
        assert_eq!(made.new, "`catalog-row-${id}`");
        assert_eq!(
            made.source,
            "export const row = (page, id) => page.getByTestId(`catalog-row-${id}`);\n"
        );
    }

    #[test]
    fn a_parameter_that_decides_the_broken_part_is_a_refusal_that_says_so() {
        // The row is now named after the item, not its id: the parameter's
        // value (3) is not in the new test id.
        let page = PAGE.replace("catalog-row-3", "item-row-green");
        let chain = Chain::parse("getByTestId('item-row-3')").expect("chain");
        let ctx = Context {
            expected_texts: vec!["Green Sprocket".into()],
            ..Context::default()
        };
        let source = "const row = page.getByTestId(`item-row-${id}`);\n";
        let out = locator(
            source,
            None,
            &chain,
            &Page::parse(&page),
            &ctx,
            Thresholds::default(),
        )
        .expect("a template literal builds it");
        let why = out.made.expect_err("refused").0;
        assert!(
            why.contains("a parameter of the template literal `item-row-${id}`"),
            "{why}"
        );
    }

    #[test]
    fn templates_are_parsed_with_nested_braces_and_escapes() {
        let (parts, len) = parse("a-${f({x: 1})}\\`b`rest").expect("closes");
        assert_eq!(
            parts,
            vec![
                Part::Text("a-".into()),
                Part::Param("f({x: 1})".into()),
                Part::Text("`b".into())
            ]
        );
        assert_eq!(len, "a-${f({x: 1})}\\`b".len());
        assert_eq!(captures(&parts, "a-7`b"), Some(vec!["7".into()]));
        assert_eq!(
            rebuild(&parts, &["7".into()], "c-7`d").as_deref(),
            Some("c-${f({x: 1})}\\`d")
        );
        // Where the value is found twice, the parameter's place is not known.
        let cell = [Part::Text("cell-".into()), Part::Param("i".into())];
        assert_eq!(rebuild(&cell, &["1".into()], "grid1-cell-1"), None);
        assert_eq!(
            rebuild(&cell, &["1".into()], "grid-cell-1").as_deref(),
            Some("grid-cell-${i}")
        );
    }
}
