//! The one locator model, used by diagnosis, the planner and the fix-agent
//! alike. Locator chains as written in specs and call logs:
//! `page.locator('ul.items').getByRole('link', { name: 'Blue', exact: true }).nth(1)`,
//! `getByTestId('item-row').filter({ hasText: 'Blue' }).first()`, `text=Save`,
//! `xpath=//button[@id='save']`.
//!
//! Parsing keeps every segment's byte span, so an edit replaces exactly the
//! segment that broke and leaves the rest of the line as its author wrote it.
//! Evaluation runs a chain against a [`Page`] with Playwright's semantics for
//! the parts healing needs (CSS through a real selector engine, role + name,
//! text, label, placeholder, test id, alt, title, a common XPath subset).
//! Python's and .NET's spellings (`get_by_role`, `GetByRole`) read as the
//! same methods. [`matching`] is the one element-matching engine.

pub mod fingerprint;
pub mod matching;
pub mod statement;
pub mod words;

use crate::page::{Element, Page, SelectorError};

/// What one segment selects by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    /// `locator('css')`.
    Css(String),
    /// `locator('xpath=…')` or `locator('//…')`.
    XPath(String),
    /// `getByText` or `text=`.
    Text(String),
    /// `getByRole(role, { name })`.
    Role {
        /// The role.
        role: String,
        /// The accessible name option.
        name: Option<String>,
        /// `level` option.
        level: Option<u8>,
    },
    /// `getByLabel`.
    Label(String),
    /// `getByPlaceholder`.
    Placeholder(String),
    /// `getByTestId`.
    TestId(String),
    /// `getByAltText`.
    AltText(String),
    /// `getByTitle`.
    Title(String),
    /// `.nth(n)`, `.first()` (0), `.last()` (-1).
    Nth(i64),
    /// `.filter({ hasText })`.
    Filter(String),
}

/// One call of a chain, with where it is in the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// What it selects by.
    pub by: By,
    /// `exact: true`, or a `text="…"` quoted selector.
    pub exact: bool,
    /// Whether its main argument was a regular expression literal.
    pub regex: bool,
    /// Byte range of the call (`getByRole(…)`, without the leading `.`).
    pub span: (usize, usize),
    /// The quote character its author used.
    pub quote: char,
}

/// A parsed chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Its segments, outermost first.
    pub segments: Vec<Segment>,
    /// Byte range of the whole chain in the text.
    pub span: (usize, usize),
}

const METHODS: &[&str] = &[
    "locator",
    "getByRole",
    "getByText",
    "getByLabel",
    "getByPlaceholder",
    "getByTestId",
    "getByAltText",
    "getByTitle",
    "nth",
    "first",
    "last",
    "filter",
];

impl Chain {
    /// Every chain in `text` (a source line, a call log line), in order.
    pub fn find_all(text: &str) -> Vec<Chain> {
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let Some((method, after)) = method_at(text, i) else {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            };
            // A chain starts at a locator method not preceded by another of ours.
            if !is_locating(method) {
                i = after;
                continue;
            }
            let mut segments = Vec::new();
            let mut pos = i;
            let start = i;
            let mut end = i;
            while let Some((m, args_start)) = method_at(text, pos) {
                let Some((args, close)) = call_args(text, args_start) else {
                    break;
                };
                let Some(seg) = segment(m, &args, (pos, close + 1)) else {
                    break;
                };
                segments.push(seg);
                end = close + 1;
                // Chained call: optional whitespace/newline, `.`, next method.
                let rest = &text[end..];
                let trimmed = rest.trim_start();
                let skipped = rest.len() - trimmed.len();
                if let Some(after_dot) = trimmed.strip_prefix('.') {
                    let ws = after_dot.len() - after_dot.trim_start().len();
                    let next = end + skipped + 1 + ws;
                    if method_at(text, next).is_some() {
                        pos = next;
                        continue;
                    }
                }
                break;
            }
            if segments.is_empty() {
                i = after;
            } else {
                out.push(Chain {
                    segments,
                    span: (start, end),
                });
                i = end;
            }
        }
        out
    }

    /// Parses the chain in `text`, the last one when there are several.
    pub fn parse(text: &str) -> Option<Chain> {
        Chain::find_all(text).pop()
    }

    /// The index of the last selecting segment (not `nth`/`filter`).
    pub fn target_index(&self) -> Option<usize> {
        self.segments
            .iter()
            .rposition(|s| !matches!(s.by, By::Nth(_) | By::Filter(_)))
    }

    /// What the target segment names: a role's name, a text, label, test id,
    /// or a CSS/XPath selector as written ("" for a role without a name).
    pub fn target_text(&self) -> &str {
        let Some(seg) = self.target_index().map(|i| &self.segments[i]) else {
            return "";
        };
        match &seg.by {
            By::Role { name, .. } => name.as_deref().unwrap_or(""),
            By::Css(s)
            | By::XPath(s)
            | By::Text(s)
            | By::Label(s)
            | By::Placeholder(s)
            | By::TestId(s)
            | By::AltText(s)
            | By::Title(s)
            | By::Filter(s) => s,
            By::Nth(_) => "",
        }
    }

    /// The chain in Playwright's canonical form (as call logs print it).
    pub fn canonical(&self) -> String {
        self.segments
            .iter()
            .map(|s| render(&s.by, s.exact, '\''))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The elements the chain matches on `page` (`Err` for an unreadable selector).
    pub fn resolve(&self, page: &Page) -> Result<Vec<usize>, SelectorError> {
        resolve_segments(&self.segments, page, None)
    }
}

/// Resolves `segments` on `page`, inside `scope` elements when given.
pub fn resolve_segments(
    segments: &[Segment],
    page: &Page,
    scope: Option<Vec<usize>>,
) -> Result<Vec<usize>, SelectorError> {
    let mut current: Option<Vec<usize>> = scope;
    for seg in segments {
        current = Some(match &seg.by {
            By::Nth(n) => {
                let set = current.unwrap_or_default();
                let idx = if *n < 0 {
                    set.len().checked_sub(n.unsigned_abs() as usize)
                } else {
                    Some(*n as usize)
                };
                idx.and_then(|i| set.get(i).copied()).into_iter().collect()
            }
            By::Filter(text) => current
                .unwrap_or_default()
                .into_iter()
                .filter(|&i| text_matches(&page.elements[i].text, text, false))
                .collect(),
            by => {
                let mut out: Vec<usize> = Vec::new();
                match &current {
                    None => out = select(by, seg.exact, page, None)?,
                    Some(scopes) => {
                        for &s in scopes {
                            for i in select(by, seg.exact, page, Some(s))? {
                                if !out.contains(&i) {
                                    out.push(i);
                                }
                            }
                        }
                        out.sort_unstable();
                    }
                }
                out
            }
        });
    }
    Ok(current.unwrap_or_default())
}

fn select(
    by: &By,
    exact: bool,
    page: &Page,
    scope: Option<usize>,
) -> Result<Vec<usize>, SelectorError> {
    if let By::Css(css) = by {
        return page.select_css(css, scope);
    }
    let within = |i: usize| scope.is_none_or(|s| s != i && page.contains(s, i));
    let matching: Vec<usize> = page
        .elements
        .iter()
        .enumerate()
        .filter(|(i, e)| e.visible && within(*i) && matches_by(by, exact, e))
        .map(|(i, _)| i)
        .collect();
    if let By::Text(_) = by {
        // getByText returns the innermost elements holding the text.
        return Ok(matching
            .iter()
            .copied()
            .filter(|&i| !matching.iter().any(|&j| j != i && page.contains(i, j)))
            .collect());
    }
    Ok(matching)
}

fn matches_by(by: &By, exact: bool, e: &Element) -> bool {
    let opt =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|v| text_matches(v, want, exact));
    match by {
        By::Role { role, name, level } => {
            e.role == *role
                && name
                    .as_deref()
                    .is_none_or(|n| text_matches(&e.name, n, exact))
                && level.is_none_or(|l| e.level == Some(l))
        }
        By::Text(t) => text_matches(&e.text, t, exact),
        By::Label(t) => opt(&e.label, t),
        By::Placeholder(t) => opt(&e.placeholder, t),
        By::TestId(t) => e.test_id.as_deref() == Some(t.as_str()),
        By::AltText(t) => opt(&e.alt, t),
        By::Title(t) => opt(&e.title, t),
        By::XPath(x) => xpath_matches(x, e),
        By::Css(_) | By::Nth(_) | By::Filter(_) => false,
    }
}

/// Playwright's text matching: case-insensitive substring after collapsing
/// whitespace, or whole-string when exact.
pub fn text_matches(have: &str, want: &str, exact: bool) -> bool {
    if exact {
        // Two collapsed texts are equal when their words are.
        return have.split_whitespace().eq(want.split_whitespace());
    }
    // Every element of a page is tried against one locator: the common ASCII
    // case compares in place instead of building four strings per element.
    if have.is_ascii() && want.is_ascii() {
        return contains_words_ascii(have, want);
    }
    let have = crate::page::collapse(have).to_lowercase();
    have.contains(&crate::page::collapse(want).to_lowercase())
}

/// Whether `have` contains `want`, both collapsed and ASCII-lowercased: a run
/// of spaces in `want` matches a run in `have`, so neither is copied.
fn contains_words_ascii(have: &str, want: &str) -> bool {
    let (have, want) = (have.as_bytes(), want.trim().as_bytes());
    let space = |b: u8| char::from(b).is_whitespace();
    let skip = |s: &[u8], mut i: usize| {
        while i < s.len() && space(s[i]) {
            i += 1;
        }
        i
    };
    let at = |start: usize| {
        let (mut h, mut w) = (start, 0);
        while w < want.len() {
            if space(want[w]) {
                // Inside `want` (it is trimmed): a word follows in both.
                if h >= have.len() || !space(have[h]) {
                    return false;
                }
                (h, w) = (skip(have, h), skip(want, w));
            } else if h < have.len() && have[h].eq_ignore_ascii_case(&want[w]) {
                (h, w) = (h + 1, w + 1);
            } else {
                return false;
            }
        }
        true
    };
    want.is_empty() || (0..have.len()).any(|i| !space(have[i]) && at(i))
}

/// The common XPath forms: `//tag`, `//tag[@a='v']`, `[text()='x']`,
/// `[contains(@class,'x')]`, `[contains(text(),'x')]`, `[normalize-space()='x']`,
/// joined with `and`; the last step is matched, ancestors are not.
fn xpath_matches(x: &str, e: &Element) -> bool {
    let x = x.trim_start_matches("xpath=");
    let last = x.rsplit("//").next().unwrap_or(x);
    let last = last.rsplit('/').next().unwrap_or(last);
    let (tag, preds) = match last.find('[') {
        Some(i) => (&last[..i], &last[i..]),
        None => (last, ""),
    };
    if tag != "*" && !tag.eq_ignore_ascii_case(&e.tag) {
        return false;
    }
    for cond in xpath_conditions(preds) {
        let ok = match cond {
            XCond::AttrEq(a, v) => attr_value(e, &a).is_some_and(|have| have == v),
            XCond::AttrContains(a, v) => attr_value(e, &a).is_some_and(|have| have.contains(&v)),
            XCond::TextEq(v) => e.text == v,
            XCond::TextContains(v) => e.text.contains(&v),
            XCond::Position(_) | XCond::Unknown => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// One predicate of an XPath step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XCond {
    /// `@a='v'`.
    AttrEq(String, String),
    /// `contains(@a,'v')`.
    AttrContains(String, String),
    /// `text()='v'` / `normalize-space()='v'` / `.='v'`.
    TextEq(String),
    /// `contains(text(),'v')` / `contains(.,'v')`.
    TextContains(String),
    /// `[2]`.
    Position(usize),
    /// Anything else (matched as true).
    Unknown,
}

/// The conditions of `[…][…]` predicates.
pub fn xpath_conditions(preds: &str) -> Vec<XCond> {
    let mut out = Vec::new();
    for pred in preds.split('[').skip(1) {
        let pred = pred.trim_end_matches(']').trim();
        for part in pred.split(" and ") {
            out.push(xpath_condition(part.trim()));
        }
    }
    out
}

fn xpath_condition(p: &str) -> XCond {
    let lit = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_owned();
    if let Ok(n) = p.parse::<usize>() {
        return XCond::Position(n);
    }
    if let Some(inner) = p
        .strip_prefix("contains(")
        .and_then(|r| r.strip_suffix(')'))
        && let Some((what, v)) = inner.split_once(',')
    {
        {
            let what = what.trim();
            return match what.strip_prefix('@') {
                Some(a) => XCond::AttrContains(a.to_owned(), lit(v)),
                None if matches!(
                    what,
                    "text()" | "." | "normalize-space()" | "normalize-space(.)"
                ) =>
                {
                    XCond::TextContains(lit(v))
                }
                None => XCond::Unknown,
            };
        }
    }
    if let Some((lhs, v)) = p.split_once('=') {
        let lhs = lhs.trim();
        return match lhs.strip_prefix('@') {
            Some(a) => XCond::AttrEq(a.to_owned(), lit(v)),
            None if matches!(
                lhs,
                "text()" | "." | "normalize-space()" | "normalize-space(.)"
            ) =>
            {
                XCond::TextEq(lit(v))
            }
            None => XCond::Unknown,
        };
    }
    XCond::Unknown
}

fn attr_value(e: &Element, a: &str) -> Option<String> {
    match a {
        "id" => e.id.clone(),
        "class" => Some(e.classes.join(" ")),
        "data-testid" | "data-test-id" | "data-test" => e.test_id.clone(),
        "placeholder" => e.placeholder.clone(),
        "alt" => e.alt.clone(),
        "title" => e.title.clone(),
        _ => e.attrs.iter().find(|(k, _)| k == a).map(|(_, v)| v.clone()),
    }
}

fn is_locating(method: &str) -> bool {
    !matches!(method, "nth" | "first" | "last" | "filter")
}

/// The method name starting at `i` when it is one of ours, and where its `(` ends.
fn method_at(text: &str, i: usize) -> Option<(&'static str, usize)> {
    if i > 0 {
        let prev = text[..i].chars().next_back()?;
        if prev.is_alphanumeric() || prev == '_' || prev == '$' {
            return None;
        }
    }
    let rest = &text[i..];
    let spelled = METHODS
        .iter()
        .map(|m| (*m, *m))
        .chain(OTHER_SPELLINGS.iter().copied());
    for (written, m) in spelled {
        if let Some(after) = rest.strip_prefix(written) {
            let ws = after.len() - after.trim_start().len();
            if after[ws..].starts_with('(') {
                return Some((m, i + written.len() + ws + 1));
            }
        }
    }
    None
}

/// Python's and .NET's names of the same methods (as their call logs print
/// them), read as the JavaScript ones.
const OTHER_SPELLINGS: &[(&str, &str)] = &[
    ("get_by_role", "getByRole"),
    ("get_by_text", "getByText"),
    ("get_by_label", "getByLabel"),
    ("get_by_placeholder", "getByPlaceholder"),
    ("get_by_test_id", "getByTestId"),
    ("get_by_alt_text", "getByAltText"),
    ("get_by_title", "getByTitle"),
    ("GetByRole", "getByRole"),
    ("GetByText", "getByText"),
    ("GetByLabel", "getByLabel"),
    ("GetByPlaceholder", "getByPlaceholder"),
    ("GetByTestId", "getByTestId"),
    ("GetByAltText", "getByAltText"),
    ("GetByTitle", "getByTitle"),
    ("Locator", "locator"),
];

/// A JavaScript literal argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Str(String, char),
    Regex(String),
    Num(f64),
    Bool(bool),
    Object(Vec<(String, Arg)>),
    Array(Vec<Arg>),
    Other,
}

/// Reads the arguments of a call whose `(` ends at `start`; returns them and
/// the index of the closing `)`.
pub(crate) fn call_args(text: &str, start: usize) -> Option<(Vec<Arg>, usize)> {
    let mut p = Parser { s: text, i: start };
    let mut args = Vec::new();
    p.ws();
    if p.peek() == Some(')') {
        return Some((args, p.i));
    }
    loop {
        args.push(p.value()?);
        p.ws();
        match p.peek()? {
            ',' => {
                p.i += 1;
                p.ws();
                if p.peek() == Some(')') {
                    return Some((args, p.i));
                }
            }
            ')' => return Some((args, p.i)),
            _ => return None,
        }
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.i += c.len_utf8();
            } else {
                break;
            }
        }
    }
    fn value(&mut self) -> Option<Arg> {
        self.ws();
        let c = self.peek()?;
        match c {
            '\'' | '"' | '`' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let ch = self.peek()?;
                    self.i += ch.len_utf8();
                    match ch {
                        '\\' => {
                            let esc = self.peek()?;
                            self.i += esc.len_utf8();
                            out.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                        }
                        ch if ch == c => break,
                        '$' if c == '`' && self.peek() == Some('{') => return Some(Arg::Other),
                        ch => out.push(ch),
                    }
                }
                Some(Arg::Str(out, c))
            }
            '/' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let ch = self.peek()?;
                    self.i += ch.len_utf8();
                    match ch {
                        '\\' => {
                            let esc = self.peek()?;
                            self.i += esc.len_utf8();
                            out.push('\\');
                            out.push(esc);
                        }
                        '/' => break,
                        ch => out.push(ch),
                    }
                }
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.i += 1;
                }
                Some(Arg::Regex(out))
            }
            '[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.peek()? {
                        ']' => {
                            self.i += 1;
                            break;
                        }
                        ',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => items.push(self.value()?),
                    }
                }
                Some(Arg::Array(items))
            }
            '{' => {
                self.i += 1;
                let mut fields = Vec::new();
                loop {
                    self.ws();
                    match self.peek()? {
                        '}' => {
                            self.i += 1;
                            break;
                        }
                        ',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key_start = self.i;
                    while self
                        .peek()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                    {
                        self.i += 1;
                    }
                    let key = self.s[key_start..self.i].to_owned();
                    if key.is_empty() {
                        return None;
                    }
                    self.ws();
                    if self.peek()? != ':' {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value()?;
                    fields.push((key, v));
                }
                Some(Arg::Object(fields))
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = self.i;
                self.i += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '_')
                {
                    self.i += 1;
                }
                self.s[start..self.i]
                    .replace('_', "")
                    .parse()
                    .ok()
                    .map(Arg::Num)
            }
            _ => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '$')
                {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    "true" => Some(Arg::Bool(true)),
                    "false" => Some(Arg::Bool(false)),
                    "" => None,
                    _ => Some(Arg::Other),
                }
            }
        }
    }
}

fn segment(method: &str, args: &[Arg], span: (usize, usize)) -> Option<Segment> {
    let (first, quote, regex) = match args.first() {
        Some(Arg::Str(s, q)) => (Some(s.clone()), *q, false),
        Some(Arg::Regex(r)) => (Some(r.clone()), '\'', true),
        _ => (None, '\'', false),
    };
    let opts: &[(String, Arg)] = match args.get(1) {
        Some(Arg::Object(o)) => o,
        _ => &[],
    };
    let opt_str = |k: &str| {
        opts.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| match v {
                Arg::Str(s, _) | Arg::Regex(s) => Some(s.clone()),
                _ => None,
            })
    };
    let exact = opts
        .iter()
        .any(|(k, v)| k == "exact" && *v == Arg::Bool(true));
    let (by, exact) = match method {
        "locator" => {
            let s = first?;
            let (by, quoted) = selector_by(&s);
            (by, exact || quoted)
        }
        "getByRole" => (
            By::Role {
                role: first?,
                name: opt_str("name"),
                level: opts
                    .iter()
                    .find(|(k, _)| k == "level")
                    .and_then(|(_, v)| match v {
                        Arg::Num(n) => Some(*n as u8),
                        _ => None,
                    }),
            },
            exact,
        ),
        "getByText" => (By::Text(first?), exact),
        "getByLabel" => (By::Label(first?), exact),
        "getByPlaceholder" => (By::Placeholder(first?), exact),
        "getByTestId" => (By::TestId(first?), exact),
        "getByAltText" => (By::AltText(first?), exact),
        "getByTitle" => (By::Title(first?), exact),
        "nth" => match args.first() {
            Some(Arg::Num(n)) => (By::Nth(*n as i64), false),
            _ => return None,
        },
        "first" => (By::Nth(0), false),
        "last" => (By::Nth(-1), false),
        "filter" => match args.first() {
            Some(Arg::Object(o)) => {
                let text = o
                    .iter()
                    .find(|(k, _)| k == "hasText")
                    .and_then(|(_, v)| match v {
                        Arg::Str(s, _) | Arg::Regex(s) => Some(s.clone()),
                        _ => None,
                    })?;
                (By::Filter(text), false)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(Segment {
        by,
        exact,
        regex,
        span,
        quote,
    })
}

/// A `locator()` argument: CSS, or one of Playwright's `text=`, `xpath=`,
/// `internal:…`, `data-testid=` engines. The flag says whether a text was quoted.
fn selector_by(s: &str) -> (By, bool) {
    let t = s.trim();
    if let Some(x) = t.strip_prefix("xpath=") {
        return (By::XPath(x.to_owned()), false);
    }
    if t.starts_with("//") || t.starts_with("(//") {
        return (By::XPath(t.to_owned()), false);
    }
    if let Some(text) = t.strip_prefix("text=") {
        let quoted = text.len() >= 2 && (text.starts_with('"') && text.ends_with('"'));
        return (By::Text(text.trim_matches('"').to_owned()), quoted);
    }
    if let Some(id) = t.strip_prefix("data-testid=") {
        return (By::TestId(id.trim_matches('"').to_owned()), true);
    }
    if let Some(inner) = t.strip_prefix("internal:testid=[data-testid=") {
        let v = inner
            .trim_end_matches(']')
            .trim_end_matches('s')
            .trim_end_matches('i');
        return (By::TestId(v.trim_matches('"').to_owned()), true);
    }
    (By::Css(t.to_owned()), false)
}

/// Writes a segment as Playwright JavaScript with `quote` as the quote character.
pub fn render(by: &By, exact: bool, quote: char) -> String {
    let q = |s: &str| quoted(s, quote);
    let ex = if exact { ", exact: true" } else { "" };
    let with_exact = |m: &str, s: &str| {
        if exact {
            format!("{m}({}, {{ exact: true }})", q(s))
        } else {
            format!("{m}({})", q(s))
        }
    };
    match by {
        By::Css(c) => format!("locator({})", q(c)),
        By::XPath(x) => format!("locator({})", q(&format!("xpath={x}"))),
        By::Text(t) => with_exact("getByText", t),
        By::Role { role, name, level } => {
            let mut opts = Vec::new();
            if let Some(n) = name {
                opts.push(format!("name: {}{ex}", q(n)));
            }
            if let Some(l) = level {
                opts.push(format!("level: {l}"));
            }
            if opts.is_empty() {
                format!("getByRole({})", q(role))
            } else {
                format!("getByRole({}, {{ {} }})", q(role), opts.join(", "))
            }
        }
        By::Label(t) => with_exact("getByLabel", t),
        By::Placeholder(t) => with_exact("getByPlaceholder", t),
        By::TestId(t) => format!("getByTestId({})", q(t)),
        By::AltText(t) => with_exact("getByAltText", t),
        By::Title(t) => with_exact("getByTitle", t),
        By::Nth(0) => "first()".to_owned(),
        By::Nth(-1) => "last()".to_owned(),
        By::Nth(n) => format!("nth({n})"),
        By::Filter(t) => format!("filter({{ hasText: {} }})", q(t)),
    }
}

/// A JavaScript string literal.
pub fn quoted(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Playwright's rule as written: collapse, lowercase, compare.
    fn text_matches_by_definition(have: &str, want: &str, exact: bool) -> bool {
        let (have, want) = (crate::page::collapse(have), crate::page::collapse(want));
        if exact {
            have == want
        } else {
            have.to_lowercase().contains(&want.to_lowercase())
        }
    }

    #[test]
    fn text_matching_agrees_with_its_definition() {
        // Short texts over few letters, runs of every kind of space and a
        // non-ASCII letter: every way two words can overlap comes up.
        let alphabet = ['a', 'B', 'b', ' ', ' ', '\n', '\t', 'É', 'é'];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let mut text = |max: usize, ascii: bool| -> String {
            let len = next(max + 1);
            (0..len)
                .map(|_| alphabet[next(if ascii { 7 } else { alphabet.len() })])
                .collect()
        };
        let mut matched = 0;
        for i in 0..60_000 {
            let ascii = i % 4 != 0;
            let (have, want) = (text(10, ascii), text(5, ascii));
            for exact in [false, true] {
                let expected = text_matches_by_definition(&have, &want, exact);
                assert_eq!(
                    text_matches(&have, &want, exact),
                    expected,
                    "{have:?} against {want:?}, exact: {exact}"
                );
                matched += usize::from(expected);
            }
        }
        // Both answers came up often.
        assert!((20_000..100_000).contains(&matched), "{matched} matched");
    }

    #[test]
    fn the_forms_call_logs_print_are_read() {
        let c =
            Chain::parse("waiting for getByRole('link', { name: 'Blue Widget' })").expect("role");
        assert_eq!(c.target_text(), "Blue Widget");
        assert_eq!(c.canonical(), "getByRole('link', { name: 'Blue Widget' })");
        let c = Chain::parse("locator('.list').getByText(\"Saved it\")").expect("chain");
        assert_eq!((c.segments.len(), c.target_text()), (2, "Saved it"));
        let c = Chain::parse("waiting for get_by_placeholder(\"Search model\")").expect("python");
        assert_eq!(c.canonical(), "getByPlaceholder('Search model')");
        let c = Chain::parse("GetByTestId(\"cart-total\")").expect(".NET");
        assert_eq!(c.target_text(), "cart-total");
        assert!(Chain::parse("navigating to \"http://x\"").is_none());
        assert!(Chain::parse("my_get_by_text(\"x\")").is_none());
    }

    #[test]
    fn parses_chains_with_spans_and_options() {
        let line = "  await page.locator('ul.items').getByRole(\"link\", { name: 'Blue Widget', exact: true }).nth(1).click();";
        let c = Chain::parse(line).expect("chain");
        assert_eq!(c.segments.len(), 3);
        assert_eq!(c.segments[0].by, By::Css("ul.items".into()));
        assert_eq!(
            c.segments[1].by,
            By::Role {
                role: "link".into(),
                name: Some("Blue Widget".into()),
                level: None
            }
        );
        assert!(c.segments[1].exact);
        assert_eq!(c.segments[1].quote, '"');
        assert_eq!(c.segments[2].by, By::Nth(1));
        let (s, e) = c.segments[1].span;
        assert!(line[s..e].starts_with("getByRole(") && line[s..e].ends_with("})"));
        assert_eq!(
            &line[c.span.0..c.span.1],
            "locator('ul.items').getByRole(\"link\", { name: 'Blue Widget', exact: true }).nth(1)"
        );
        assert_eq!(c.target_index(), Some(1));
        assert_eq!(
            c.canonical(),
            "locator('ul.items').getByRole('link', { name: 'Blue Widget', exact: true }).nth(1)"
        );
    }

    #[test]
    fn call_log_forms_and_engines() {
        let c = Chain::parse("  - waiting for getByTestId('item-row')").expect("testid");
        assert_eq!(c.segments[0].by, By::TestId("item-row".into()));
        let c = Chain::parse("locator('text=\"Save\"')").expect("text");
        assert_eq!(
            (c.segments[0].by.clone(), c.segments[0].exact),
            (By::Text("Save".into()), true)
        );
        let c = Chain::parse("page.locator('//button[@id=\"go\"]')").expect("xpath");
        assert!(matches!(c.segments[0].by, By::XPath(_)));
        let c = Chain::parse("getByRole('heading', { level: 1 }).first()").expect("level");
        assert_eq!(
            c.segments[0].by,
            By::Role {
                role: "heading".into(),
                name: None,
                level: Some(1)
            }
        );
        assert_eq!(c.segments[1].by, By::Nth(0));
        let c =
            Chain::parse("page.getByTestId('row').filter({ hasText: /Blue/ })").expect("filter");
        assert_eq!(c.segments[1].by, By::Filter("Blue".into()));
        assert!(Chain::parse("mylocator('x')").is_none());
        assert!(Chain::parse("page.goto('/items')").is_none());
        // Template literals with substitutions are not literal locators.
        assert!(Chain::parse("page.getByText(`Saved ${name}`)").is_none());
    }

    #[test]
    fn renders_round_trip() {
        for src in [
            "getByRole('button', { name: 'Save item' })",
            "getByTestId('product-row')",
            "getByLabel('It\\'s', { exact: true })",
            "locator('#new-item')",
            "locator('xpath=//a[@id=\\'x\\']')",
        ] {
            let c = Chain::parse(src).expect(src);
            let s = &c.segments[0];
            assert_eq!(render(&s.by, s.exact, '\''), src);
        }
    }

    #[test]
    fn resolves_on_a_page() {
        let page = Page::parse(
            r#"<main><ul class="items"><li data-testid="row"><a href="/1">Blue Widget</a></li>
               <li data-testid="row"><a href="/2">Red Gadget</a></li></ul>
               <label for="n">Title</label><input id="n"><button title="Go">Save item</button>
               <a id="x" href="/x">Blue Widget extra</a></main>"#,
        );
        let n = |s: &str| {
            Chain::parse(s)
                .expect(s)
                .resolve(&page)
                .expect("resolve")
                .len()
        };
        assert_eq!(n("getByTestId('row')"), 2);
        assert_eq!(n("getByTestId('row').filter({ hasText: 'Red' })"), 1);
        assert_eq!(n("getByRole('link', { name: 'Blue Widget' })"), 2);
        assert_eq!(
            n("getByRole('link', { name: 'Blue Widget', exact: true })"),
            1
        );
        assert_eq!(n("locator('ul.items').getByRole('link').nth(1)"), 1);
        assert_eq!(n("getByLabel('Title')"), 1);
        assert_eq!(n("getByTitle('Go')"), 1);
        assert_eq!(n("getByText('Save item')"), 1);
        assert_eq!(n("locator('xpath=//a[@id=\"x\"]')"), 1);
        assert_eq!(n("locator('//li[contains(text(), \"Gadget\")]')"), 1);
        assert_eq!(n("locator('#gone')"), 0);
    }
}
