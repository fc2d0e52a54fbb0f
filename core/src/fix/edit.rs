//! The source edits the fix-agent makes: a healed locator, a raised timeout or a
//! fixed sleep replaced by a web-first assertion, a missing `await`. Each takes
//! a spec's text and returns the new text with a one-line account, or why not.

use super::source::replace;
use crate::locator::Chain;
use crate::locator::fingerprint::Fingerprint;
use crate::locator::matching::{Healing, Thresholds, heal};
use crate::locator::statement::{failure_context, line_of, line_start, statement_at};
use crate::page::Page;

/// A made edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Made {
    /// The new source.
    pub source: String,
    /// First line changed.
    pub line: u32,
    /// What was there.
    pub old: String,
    /// What is there now.
    pub new: String,
}

/// A locator heal's outcome: the healing record and, when it healed, the edit.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatorEdit {
    /// Candidates, scores, decision.
    pub healing: Option<Healing>,
    /// The edit.
    pub made: Result<Made, Refused>,
}

/// Why an edit was not made, in words for the metadata and the PR body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl From<&str> for Refused {
    fn from(why: &str) -> Refused {
        Refused(why.to_owned())
    }
}

impl From<String> for Refused {
    fn from(why: String) -> Refused {
        Refused(why)
    }
}

/// Whether `source` writes the `broken` locator (as a call log prints it), or
/// its leading part: where a heal would edit.
pub fn writes_locator(source: &str, broken: &str) -> bool {
    Chain::parse(broken)
        .is_some_and(|chain| !failure_context(source, None, &chain, "").0.is_empty())
}

/// The scope of the `broken` locator (its segments before the target, as a
/// call log prints them) when that scope matches nothing on `page`: then the
/// scope is what broke, wherever it is written. `None` when the locator has
/// no scope or its scope still matches.
pub fn broken_scope(broken: &str, page: &Page) -> Option<String> {
    let chain = Chain::parse(broken)?;
    let target = chain.target_index()?;
    if target == 0 {
        return None;
    }
    let scope = Chain {
        segments: chain.segments[..target].to_vec(),
        span: chain.span,
    };
    scope
        .resolve(page)
        .is_ok_and(|m| m.is_empty())
        .then(|| scope.canonical())
}

/// The files a spec imports by relative path (`import … from './pages/login'`,
/// `require('../helpers')`), as written: resolving them is the caller's.
pub fn relative_imports(source: &str) -> Vec<String> {
    use std::sync::LazyLock;
    static IMPORT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"(?m)(?:^\s*import\s[^;]*?\bfrom\s*|^\s*import\s*|\brequire\(\s*|\bimport\(\s*)['"](\.{1,2}/[^'"]+)['"]"#,
        )
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    IMPORT
        .captures_iter(source)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
        .collect()
}

/// The literals a locator selects by, that a change to the app could have
/// renamed: its target's text, test id, label, name; for CSS, each id, class
/// and attribute value it names.
pub fn literals(broken: &str) -> Vec<String> {
    let Some(chain) = Chain::parse(broken) else {
        return Vec::new();
    };
    let Some(seg) = chain.target_index().map(|i| &chain.segments[i]) else {
        return Vec::new();
    };
    match &seg.by {
        crate::locator::By::Css(css) => {
            use std::sync::LazyLock;
            static IDENT: LazyLock<regex::Regex> = LazyLock::new(|| {
                regex::Regex::new(
                    r#"[#.]([A-Za-z_][\w-]*)|\[[\w-]+\s*[~|^$*]?=\s*["']?([^"'\]]+)["']?\]"#,
                )
                .unwrap_or_else(|e| unreachable!("static regex: {e}"))
            });
            IDENT
                .captures_iter(css)
                .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_owned()))
                .collect()
        }
        crate::locator::By::XPath(_) | crate::locator::By::Nth(_) => Vec::new(),
        _ => {
            let t = chain.target_text();
            if t.is_empty() {
                Vec::new()
            } else {
                vec![t.to_owned()]
            }
        }
    }
}

/// Rewrites `literal` to `to` in the `broken` locator where `source` writes it
/// (as [`locator`] finds it): the rename a change to the app made, carried
/// into the test.
pub fn rename(
    source: &str,
    line: Option<u32>,
    broken: &str,
    literal: &str,
    to: &str,
) -> Result<Made, Refused> {
    let chain = Chain::parse(broken)
        .ok_or_else(|| Refused(format!("{broken:?} is not a locator ci-medic can read")))?;
    let (occurrences, _) = failure_context(source, line, &chain, "");
    let first = occurrences.first().ok_or_else(|| {
        Refused(format!(
            "{} is not written in the spec (built at run time or in another file)",
            chain.canonical()
        ))
    })?;
    let target = &first.chain.segments[first.segment];
    let old_text = source[target.span.0..target.span.1].to_owned();
    if !old_text.contains(literal) {
        return Err(Refused(format!(
            "{old_text} does not write {literal:?} literally (built from parts)"
        )));
    }
    let new_text = old_text.replacen(literal, to, 1);
    let (out, line) = rewrite(source, &occurrences, 0, &old_text, &new_text);
    Ok(Made {
        source: out,
        line,
        old: old_text,
        new: new_text,
    })
}

/// `source` with every occurrence of the segment written `old_text` (with the
/// `extra` segments after it) replaced by `new`, last first so earlier offsets
/// stay valid; and the first one's line.
fn rewrite(
    source: &str,
    occurrences: &[crate::locator::statement::Occurrence],
    extra: usize,
    old_text: &str,
    new: &str,
) -> (String, u32) {
    let mut spans: Vec<(usize, usize)> = occurrences
        .iter()
        .filter_map(|o| {
            let start = o.chain.segments.get(o.segment)?.span.0;
            let end = o.chain.segments.get(o.segment + extra)?.span.1;
            Some((start, end))
        })
        .filter(|s| source.get(s.0..s.1) == Some(old_text))
        .collect();
    spans.sort_unstable();
    spans.dedup();
    let mut out = source.to_owned();
    for s in spans.iter().rev() {
        out = replace(&out, *s, new);
    }
    (out, spans.first().map_or(1, |s| line_of(source, s.0)))
}

/// Heals the `broken` locator (as a call log prints it) written in `source`,
/// with what the failure's `message` says the assertion expected and, when a
/// reference run recorded it, the element it matched there (`reference`).
pub fn locator(
    source: &str,
    line: Option<u32>,
    broken: &str,
    message: &str,
    page: &Page,
    reference: &[Fingerprint],
    t: Thresholds,
) -> LocatorEdit {
    let Some(chain) = Chain::parse(broken) else {
        return LocatorEdit {
            healing: None,
            made: Err(format!("{broken:?} is not a locator ci-medic can read").into()),
        };
    };
    let (occurrences, mut ctx) = failure_context(source, line, &chain, message);
    ctx.reference = reference.to_vec();
    // Several elements marked at the reference: the locator names a list.
    if reference.len() > 1 {
        ctx.list = true;
    }
    // A scope that matches nothing is what broke: when the file writes the
    // target but not that scope (`shell.headerNav.getByRole(…)`), the
    // target is not to be edited here.
    let scope_elsewhere = broken_scope(broken, page).is_some()
        && occurrences
            .first()
            .is_some_and(|o| o.segment < chain.target_index().unwrap_or(0));
    // Built by a template literal (`getByTestId(`row-${id}`)`): healed there.
    if occurrences.is_empty()
        && let Some(out) = super::template::locator(source, line, &chain, page, &ctx, t)
    {
        return out;
    }
    if occurrences.is_empty() || scope_elsewhere {
        // The file may write only a scope of it (a page object's field the
        // spec continues from): heal that scope when it is what broke.
        if let Some(out) = written_scope(source, line, &chain).and_then(|(occ, full, written)| {
            let target = full.target_index()?;
            heal_scope(source, &occ, (&full, target, written), page, &ctx, t)
        }) {
            return out;
        }
        if scope_elsewhere {
            return LocatorEdit {
                healing: None,
                made: Err(format!(
                    "its scope {} matches nothing and is written in another file",
                    broken_scope(broken, page).unwrap_or_default()
                )
                .into()),
            };
        }
    }
    let Some(first) = occurrences.first() else {
        return LocatorEdit {
            healing: None,
            made: Err(format!(
                "{} is not written in the spec (built at run time or in another file)",
                chain.canonical()
            )
            .into()),
        };
    };
    // Heal the chain as written: its quotes, its scope, and the `.nth()` or
    // `.filter()` that picks from what it matches.
    let picked = first.chain.segments[first.segment + 1..]
        .iter()
        .take_while(|s| {
            matches!(
                s.by,
                crate::locator::By::Nth(_) | crate::locator::By::Filter(_)
            )
        })
        .count();
    let written = Chain {
        segments: first.chain.segments[..=first.segment + picked].to_vec(),
        span: first.chain.span,
    };
    // Where it failed, the locator was picked from (`rows.first()`), but where
    // it is written it is not: it names a list.
    let picks = |c: &Chain, from: usize| {
        c.segments.iter().skip(from + 1).any(|s| {
            matches!(
                s.by,
                crate::locator::By::Nth(_) | crate::locator::By::Filter(_)
            )
        })
    };
    if chain.target_index().is_some_and(|t| picks(&chain, t)) && !picks(&first.chain, first.segment)
    {
        ctx.list = true;
    }
    let len = first.chain.segments.len();
    if let Some(out) = heal_scope(
        source,
        &occurrences,
        (&first.chain, first.segment, len),
        page,
        &ctx,
        t,
    ) {
        return out;
    }
    let healing = heal(&written, page, &ctx, t);
    let Some(replacement) = healing.replacement.clone() else {
        let reason = healing.reason.clone();
        return LocatorEdit {
            healing: Some(healing),
            made: Err(Refused(reason)),
        };
    };
    // A replacement that selects the element alone stands for the pick too.
    let extra = if healing.replaces_pick { picked } else { 0 };
    let start = first.chain.segments[first.segment].span.0;
    let end = first.chain.segments[first.segment + extra].span.1;
    let old_text = source[start..end].to_owned();
    // Every place the same broken segment is written gets the same replacement.
    let (out, line) = rewrite(source, &occurrences, extra, &old_text, &replacement);
    LocatorEdit {
        healing: Some(healing),
        made: Ok(Made {
            source: out,
            line,
            old: old_text,
            new: replacement,
        }),
    }
}

/// Where `source` writes a scope of `broken` (its leading segments up to a
/// selecting one, with their picks) and nothing after it: the occurrences,
/// the chain as it runs (the written scope, then the rest of `broken`), and
/// how many of its segments are written.
fn written_scope(
    source: &str,
    line: Option<u32>,
    broken: &Chain,
) -> Option<(Vec<crate::locator::statement::Occurrence>, Chain, usize)> {
    let target = broken.target_index()?;
    for k in (0..target).rev() {
        if matches!(
            broken.segments[k].by,
            crate::locator::By::Nth(_) | crate::locator::By::Filter(_)
        ) {
            continue;
        }
        let prefix = Chain {
            segments: broken.segments[..=k].to_vec(),
            span: broken.span,
        };
        let occ: Vec<_> = crate::locator::statement::find(source, line, &prefix)
            .into_iter()
            .filter(|o| o.segment + 1 == o.chain.segments.len())
            .collect();
        let Some(first) = occ.first() else {
            continue;
        };
        let mut full = first.chain.clone();
        let written = full.segments.len();
        full.segments
            .extend(broken.segments[k + 1..].iter().cloned());
        return Some((occ, full, written));
    }
    None
}

/// A scope that names only structure (`header nav`, `getByRole('list')`)
/// gives words nothing to match: its candidates are then the page's elements
/// of the same tag or role, each proposed a locator by the matching engine
/// (looking for that very element), and kept when the whole chain through
/// it selects one element. One such scope is a heal; several are a refusal.
fn structural_scopes(
    scope: &Chain,
    page: &Page,
    whole: &dyn Fn(&crate::locator::matching::Candidate) -> Option<f64>,
    t: Thresholds,
) -> Vec<crate::locator::matching::Candidate> {
    let Some(seg) = scope.target_index().map(|i| &scope.segments[i]) else {
        return Vec::new();
    };
    let same_kind: Box<dyn Fn(&crate::page::Element) -> bool> = match &seg.by {
        crate::locator::By::Css(css) => {
            let last = css
                .rsplit([' ', '>', '+', '~'])
                .find(|p| !p.is_empty())
                .unwrap_or_default();
            let tag: String = last
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if tag.is_empty() {
                return Vec::new();
            }
            Box::new(move |e| e.tag == tag)
        }
        crate::locator::By::Role { role, .. } => {
            let role = role.clone();
            Box::new(move |e| e.role == role)
        }
        _ => return Vec::new(),
    };
    let mut kept = Vec::new();
    // Two is already a refusal; a page with very many of the kind is one too.
    let kinds: Vec<usize> = page
        .elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.visible && same_kind(e))
        .map(|(i, _)| i)
        .collect();
    if kinds.len() > MAX_STRUCTURAL {
        return Vec::new();
    }
    for i in kinds {
        if kept.len() > 1 {
            break;
        }
        let ctx = crate::locator::matching::Context {
            reference: vec![Fingerprint::of(page, i)],
            ..Default::default()
        };
        let h = heal(scope, page, &ctx, t);
        if let Some(c) = h
            .candidates
            .into_iter()
            .find(|c| c.locator.is_some() && c.features.identity >= 0.999)
            && whole(&c).is_some()
        {
            kept.push(c);
        }
    }
    kept
}

/// At most this many elements of a structural scope's kind are tried.
const MAX_STRUCTURAL: usize = 60;

/// How many `.nth()`/`.filter()` segments follow segment `k` of `chain`.
fn picks_after(chain: &Chain, k: usize) -> usize {
    chain.segments[k + 1..]
        .iter()
        .take_while(|s| {
            matches!(
                s.by,
                crate::locator::By::Nth(_) | crate::locator::By::Filter(_)
            )
        })
        .count()
}

/// When a scope of the written chain (`getByTestId('item-row').filter(…)` in
/// `….getByRole('link')`) matches nothing, the scope is what broke: it is
/// healed as a locator of its own, and the heal stands only if the whole
/// chain then selects exactly one element (the reference run's, when there
/// is one). `None` when every scope still matches.
///
/// `chain` is the locator as it runs and its first `written` segments are
/// the ones `occurrences` write (a page object's field can be the scope of a
/// chain the spec continues): only those are edited.
fn heal_scope(
    source: &str,
    occurrences: &[crate::locator::statement::Occurrence],
    (chain, target, written): (&Chain, usize, usize),
    page: &Page,
    ctx: &crate::locator::matching::Context,
    t: Thresholds,
) -> Option<LocatorEdit> {
    use crate::locator::resolve_segments;
    let k = (0..target.min(written)).find(|&k| {
        !matches!(
            chain.segments[k].by,
            crate::locator::By::Nth(_) | crate::locator::By::Filter(_)
        ) && resolve_segments(&chain.segments[..=k + picks_after(chain, k)], page, None)
            .is_ok_and(|m| m.is_empty())
    })?;
    let picked = picks_after(chain, k);
    // Picks the spec writes after a page object's scope are not the scope's to replace.
    let pick_written = k + picked < written;
    // The scope is healed on what it names; its `.filter()`s and the rest of
    // the chain are the check every candidate must pass (`whole`), not words
    // to match (a container holds the filter's text as well as the row).
    let scope = Chain {
        segments: chain.segments[..=k].to_vec(),
        span: chain.span,
    };
    // A scope its chain picks from (`.filter()`, `.nth()`) is a list.
    let scope_ctx = crate::locator::matching::Context {
        list: picked > 0,
        ..Default::default()
    };
    let mut healing = heal(&scope, page, &scope_ctx, t);
    // A scope's candidates are judged by the whole chain: with the healed
    // scope it must select exactly one element (the reference run's, when
    // there is one); the others are not what the test meant.
    let whole = |c: &crate::locator::matching::Candidate| -> Option<f64> {
        if c.replaces_pick && !pick_written {
            return None;
        }
        let seg = Chain::parse(c.locator.as_deref()?)?
            .segments
            .into_iter()
            .next()?;
        let extra = if c.replaces_pick { picked } else { 0 };
        let mut segs: Vec<crate::locator::Segment> = chain.segments[..k].to_vec();
        segs.push(seg);
        segs.extend(chain.segments[k + 1 + extra..].iter().cloned());
        let matches = resolve_segments(&segs, page, None).ok()?;
        let [only] = matches[..] else {
            return None;
        };
        if ctx.reference.is_empty() {
            return Some(1.0);
        }
        let found = Fingerprint::of(page, only);
        let similarity = ctx
            .reference
            .iter()
            .map(|r| r.similarity(&found))
            .fold(0.0, f64::max);
        (similarity >= crate::locator::matching::MIN_REFERENCE_IDENTITY).then_some(similarity)
    };
    let kept: Vec<crate::locator::matching::Candidate> = healing
        .candidates
        .iter()
        .filter(|c| whole(c).is_some())
        .cloned()
        .collect();
    let refuse = |mut healing: Healing, why: String| LocatorEdit {
        made: Err(Refused(why.clone())),
        healing: Some({
            healing.replacement = None;
            healing.score = None;
            healing.margin = None;
            healing.reason = why;
            healing
        }),
    };
    let kept = if kept.is_empty() {
        let structural = structural_scopes(&scope, page, &whole, t);
        if structural.len() > 1 {
            let why = format!(
                "its scope {} matches nothing, and {} elements of its kind ({}) would each lead the locator to one element: which one the test meant is not known",
                scope.canonical(),
                structural.len(),
                structural
                    .iter()
                    .map(|c| c.element.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            return Some(refuse(healing, why));
        }
        structural
    } else {
        kept
    };
    let Some(best) = kept.first().cloned() else {
        let why = format!(
            "its scope {} matches nothing, and no element it could be makes the whole locator select one element{}",
            scope.canonical(),
            if ctx.reference.is_empty() {
                ""
            } else {
                " like the one it matched at the reference"
            }
        );
        return Some(refuse(healing, why));
    };
    let margin = best.score - kept.get(1).map_or(0.0, |c| c.score);
    // With a reference, every kept scope leads the chain to the element it
    // matched there: that is the proof, words only rank the scopes.
    if ctx.reference.is_empty()
        && (best.score < t.min_score
            || best.features.identity < crate::locator::matching::MIN_IDENTITY
            || margin < t.min_margin)
    {
        let why = format!(
            "its scope {} matches nothing; the best scope ({}) scores {:.2}, identity {:.2}, {:.2} ahead of the next: not sure enough",
            scope.canonical(),
            best.element,
            best.score,
            best.features.identity,
            margin
        );
        return Some(refuse(healing, why));
    }
    let replacement = best.locator.clone().unwrap_or_default();
    let extra = if best.replaces_pick { picked } else { 0 };
    healing.replacement = Some(replacement.clone());
    healing.replaces_pick = best.replaces_pick;
    healing.score = Some(best.score);
    healing.margin = Some((margin * 1000.0).round() / 1000.0);
    healing.reason = format!(
        "{} matches one element with the rest of the chain{} ({}), score {:.2}, {:.2} ahead of the next scope",
        best.chain.as_deref().unwrap_or_default(),
        if ctx.reference.is_empty() {
            ""
        } else {
            ", the one it matched at the reference"
        },
        best.element,
        best.score,
        margin
    );
    let start = chain.segments[k].span.0;
    let end = chain.segments[k + extra].span.1;
    let old_text = source[start..end].to_owned();
    // The other places that write the same scope, at the same place in their chain.
    let occurrences: Vec<crate::locator::statement::Occurrence> = occurrences
        .iter()
        .filter(|o| {
            o.chain.segments[..o.chain.segments.len().min(k + 1)]
                .iter()
                .map(|s| (&s.by, s.exact))
                .eq(chain.segments[..=k].iter().map(|s| (&s.by, s.exact)))
        })
        .map(|o| {
            let mut o = o.clone();
            o.segment = k;
            o
        })
        .collect();
    let (out, line) = rewrite(source, &occurrences, extra, &old_text, &replacement);
    healing.reason = format!(
        "its scope {} matched nothing: {}",
        scope.canonical(),
        healing.reason
    );
    Some(LocatorEdit {
        healing: Some(healing),
        made: Ok(Made {
            source: out,
            line,
            old: old_text,
            new: replacement,
        }),
    })
}

/// Playwright's retrying (web-first) matchers: they return a promise that must be awaited.
const ASYNC_MATCHERS: &[&str] = &[
    "toBeAttached",
    "toBeChecked",
    "toBeDisabled",
    "toBeEditable",
    "toBeEmpty",
    "toBeEnabled",
    "toBeFocused",
    "toBeHidden",
    "toBeInViewport",
    "toBeVisible",
    "toContainText",
    "toHaveAccessibleDescription",
    "toHaveAccessibleName",
    "toHaveAttribute",
    "toHaveClass",
    "toHaveCount",
    "toHaveCSS",
    "toHaveId",
    "toHaveJSProperty",
    "toHaveRole",
    "toHaveScreenshot",
    "toHaveText",
    "toHaveValue",
    "toHaveValues",
    "toHaveTitle",
    "toHaveURL",
    "toPass",
    "toBeOK",
    "toContainClass",
    "toMatchAriaSnapshot",
];

/// Adds `await` to web-first assertions of the test declared at `test_line` that lack one.
pub fn missing_await(source: &str, test_line: u32) -> Result<Made, Refused> {
    let (s, e) = statement_at(source, test_line).ok_or("the test's line is not in the file")?;
    let mut inserts: Vec<usize> = Vec::new();
    let mut offset = s;
    for line in source[s..e].split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if (trimmed.starts_with("expect(") || trimmed.starts_with("expect.soft("))
            && ASYNC_MATCHERS.iter().any(|m| {
                trimmed.contains(&format!(".{m}(")) || trimmed.contains(&format!(".not.{m}("))
            })
        {
            inserts.push(offset + indent);
        }
        offset += line.len();
    }
    let Some(&first) = inserts.first() else {
        return Err("no web-first assertion without `await` in the test".into());
    };
    let old = source[first..]
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut out = source.to_owned();
    for at in inserts.iter().rev() {
        out.insert_str(*at, "await ");
    }
    Ok(Made {
        line: line_of(source, first),
        new: format!("await {old}"),
        old,
        source: out,
    })
}

/// Raises the timeout that ran out, or replaces a fixed sleep before the
/// failing step with a web-first wait for the step's locator.
///
/// `message` is the failure's error message: `Timeout: 5000ms` (an assertion),
/// `Timeout 5000ms exceeded` (an action) or `Test timeout of 30000ms exceeded`.
pub fn timeout(
    source: &str,
    test_line: Option<u32>,
    line: u32,
    message: &str,
) -> Result<Made, Refused> {
    let (fs, fe) = statement_at(source, line).ok_or("the failing line is not in the file")?;
    let stmt = &source[fs..fe];
    // A fixed sleep in the test before the failing step: wait for the step's element instead.
    if let Some(start_line) = test_line {
        let begin = line_start(source, start_line).unwrap_or(0);
        if let Some(rel) = source[begin..fs].rfind("waitForTimeout(") {
            let at = begin + rel;
            let sleep_line = line_of(source, at);
            let (ss, se) = statement_at(source, sleep_line).ok_or("no sleep statement")?;
            if let Some(chain) = Chain::find_all(stmt).into_iter().next() {
                let receiver_start = receiver_start(stmt, chain.span.0);
                let locator = &stmt[receiver_start..chain.span.1];
                let sleep = source[ss..se].trim_start();
                let indent = &source[ss..se][..source[ss..se].len() - sleep.len()];
                let new = format!("{indent}await expect({locator}).toBeVisible();");
                let old = source[ss..se].to_owned();
                return Ok(Made {
                    source: replace(source, (ss, se), &new),
                    line: sleep_line,
                    old: old.trim().to_owned(),
                    new: new.trim().to_owned(),
                });
            }
        }
    }
    let ms = |re: &str| {
        regex::Regex::new(re)
            .ok()
            .and_then(|r| r.captures(message))
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse::<u64>().ok())
    };
    let raised = |n: u64| (n * 2).min(120_000);
    if let Some(n) = ms(r"Test timeout of (\d+)ms exceeded") {
        let start_line = test_line.ok_or("the test's line is unknown")?;
        let (ts, te) =
            statement_at(source, start_line).ok_or("the test's line is not in the file")?;
        let body = source[ts..te]
            .find("=> {")
            .ok_or("the test body is not an arrow function")?;
        let at = ts + body + "=> {".len();
        let next_line = &source[at..].trim_start_matches('\n');
        let indent: String = next_line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let new = format!("{indent}test.setTimeout({});", raised(n));
        let mut out = source.to_owned();
        out.insert_str(at, &format!("\n{new}"));
        return Ok(Made {
            source: out,
            line: line_of(source, at) + 1,
            old: String::new(),
            new: new.trim().to_owned(),
        });
    }
    let n = ms(r"Timeout:? (\d+)ms").ok_or("no timeout value in the error message")?;
    // The call that timed out: the assertion's matcher, or the action after the chain.
    let call = ASYNC_MATCHERS
        .iter()
        .chain(
            [
                "click",
                "fill",
                "check",
                "hover",
                "waitFor",
                "selectOption",
                "press",
                "dblclick",
            ]
            .iter(),
        )
        .filter_map(|m| stmt.find(&format!(".{m}(")).map(|i| (i + m.len() + 2, *m)))
        .min_by_key(|(i, _)| *i)
        .ok_or("no assertion or action to give a timeout to")?;
    let open = fs + call.0;
    let (args, close) =
        crate::locator::call_args(source, open).ok_or("cannot read the call's arguments")?;
    let inside = &source[open..close];
    let old = stmt.trim().to_owned();
    let new_source = if let Some(i) = inside.find("timeout:") {
        let num_start = open + i + "timeout:".len();
        let digits_len = source[num_start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ' ' || *c == '_')
            .count();
        replace(
            source,
            (num_start, num_start + digits_len),
            &format!(" {}", raised(n)),
        )
    } else if let Some(crate::locator::Arg::Object(_)) = args.last() {
        // An options object is there: add the key.
        let brace = source[..close]
            .rfind('}')
            .ok_or("unbalanced options object")?;
        let before = source[..brace].trim_end();
        let mut out = source.to_owned();
        if before.ends_with('{') {
            out.insert_str(brace, &format!(" timeout: {} ", raised(n)));
        } else {
            let sep = if before.ends_with(',') { " " } else { ", " };
            out.insert_str(before.len(), &format!("{sep}timeout: {}", raised(n)));
        }
        out
    } else {
        let sep = if args.is_empty() { "" } else { ", " };
        let mut out = source.to_owned();
        out.insert_str(close, &format!("{sep}{{ timeout: {} }}", raised(n)));
        out
    };
    let (ns, ne) = statement_at(&new_source, line).ok_or("edit lost the statement")?;
    Ok(Made {
        new: new_source[ns..ne].trim().to_owned(),
        line,
        old,
        source: new_source,
    })
}

/// Where the receiver of a chain starts (`page.`, `this.page.`).
fn receiver_start(stmt: &str, chain_start: usize) -> usize {
    let before = &stmt[..chain_start];
    let trimmed =
        before.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.');
    trimmed.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_literal_is_carried_into_the_locator_as_written() {
        let src = "await expect(page.getByTestId('item-row')).toHaveCount(5);\nawait page.getByTestId('item-row').first().click();\n";
        let m = rename(
            src,
            Some(1),
            "getByTestId('item-row')",
            "item-row",
            "catalog-entry",
        )
        .expect("made");
        assert_eq!(m.new, "getByTestId('catalog-entry')");
        assert!(
            m.source
                .starts_with("await expect(page.getByTestId('catalog-entry'))"),
            "{}",
            m.source
        );
        assert_eq!(
            literals("locator('ul.items > li#first')"),
            ["items", "first"]
        );
        assert_eq!(
            literals("getByRole('button', { name: 'Save item' })"),
            ["Save item"]
        );
    }

    #[test]
    fn a_heal_that_selects_the_element_alone_replaces_the_index_pick_too() {
        // The nav links lost their class: `nav a.link` matches nothing; the
        // element the reference run clicked (the second link) is found by its
        // fingerprint, and no list locator keeps it second.
        let source = "test('nav', async ({ page }) => {\n  await page.goto('/items');\n  await page.locator('nav a.link').nth(1).click();\n});\n";
        let before = Page::parse(
            r#"<html><body><nav><a class="link" href="/items">Items</a><a class="link" data-ci-medic-target="" href="/account">Account</a></nav><main><h1>Items</h1></main></body></html>"#,
        );
        let reference = Fingerprint::marked(&before);
        let after = Page::parse(
            r#"<html><body><nav><a href="/items">Items</a><a href="/account">Account</a></nav><main><h1>Items</h1></main></body></html>"#,
        );
        let out = locator(
            source,
            Some(3),
            "locator('nav a.link').nth(1)",
            "Error: locator.click: Test timeout of 10000ms exceeded.",
            &after,
            &reference,
            Thresholds::default(),
        );
        let made = out.made.expect("healed");
        assert_eq!(made.old, "locator('nav a.link').nth(1)");
        assert_eq!(made.new, "getByRole('link', { name: 'Account' })");
        assert!(
            made.source
                .contains("await page.getByRole('link', { name: 'Account' }).click();"),
            "{}",
            made.source
        );
    }

    #[test]
    fn a_wrapped_element_keeps_the_authors_selector_with_its_child_combinator_loosened() {
        let source = "test('nav', async ({ page }) => {\n  await page.goto('/items');\n  await page.locator('nav > a').nth(1).click();\n});\n";
        let before = Page::parse(
            r#"<html><body><nav><a href="/items">Items</a><a data-ci-medic-target="" href="/account">Account</a></nav><main><h1>Items</h1></main></body></html>"#,
        );
        let reference = Fingerprint::marked(&before);
        let after = Page::parse(
            r#"<html><body><nav><div class="links"><a href="/items">Items</a><a href="/account">Account</a></div></nav><main><h1>Items</h1></main></body></html>"#,
        );
        let out = locator(
            source,
            Some(3),
            "locator('nav > a').nth(1)",
            "Error: locator.click: Test timeout of 10000ms exceeded.",
            &after,
            &reference,
            Thresholds::default(),
        );
        let made = out.made.expect("healed");
        assert_eq!(
            (made.old.as_str(), made.new.as_str()),
            ("locator('nav > a')", "locator('nav a')")
        );
        assert!(
            made.source.contains("page.locator('nav a').nth(1).click()"),
            "{}",
            made.source
        );
    }

    #[test]
    fn a_shared_list_locator_heals_to_a_list_when_the_reference_marked_several_rows() {
        // A page object's field; the spec's assertion is not this file's.
        let po = "export class Items {\n  constructor(page) {\n    this.rows = page.getByTestId('item-row');\n  }\n}\n";
        let before = Page::parse(
            r#"<html><body><ul><li data-testid="item-row" data-ci-medic-target="">Blue Widget</li><li data-testid="item-row" data-ci-medic-target="">Red Gadget</li></ul></body></html>"#,
        );
        let reference = Fingerprint::marked(&before);
        let after = Page::parse(
            r#"<html><body><ul><li data-testid="product-row">Blue Widget</li><li data-testid="product-row">Red Gadget</li></ul></body></html>"#,
        );
        let out = locator(
            po,
            None,
            "getByTestId('item-row')",
            "",
            &after,
            &reference,
            Thresholds::default(),
        );
        assert_eq!(out.made.expect("healed").new, "getByTestId('product-row')");
    }

    #[test]
    fn a_scope_that_matches_nothing_is_what_gets_healed() {
        let source = "test('row link', async ({ page }) => {\n  await page.goto('/items');\n  await page.getByTestId('item-row').filter({ hasText: 'Green Sprocket' }).getByRole('link').click();\n});\n";
        let page = Page::parse(
            r#"<html><body><main><h1>Items</h1><ul class="items">
              <li data-testid="product-row"><a href="/items/1">Blue Widget</a></li>
              <li data-testid="product-row"><a href="/items/3">Green Sprocket</a></li></ul></main></body></html>"#,
        );
        let out = locator(
            source,
            Some(3),
            "getByTestId('item-row').filter({ hasText: 'Green Sprocket' }).getByRole('link')",
            "Error: locator.click: Test timeout of 10000ms exceeded.",
            &page,
            &[],
            Thresholds::default(),
        );
        let made = out.made.expect("healed");
        assert_eq!(
            (made.old.as_str(), made.new.as_str()),
            ("getByTestId('item-row')", "getByTestId('product-row')")
        );
        assert!(
            made.source.contains(
                "page.getByTestId('product-row').filter({ hasText: 'Green Sprocket' }).getByRole('link').click()"
            ),
            "{}",
            made.source
        );
        // Removed rows: the scope has nothing to heal to, and nothing else is edited.
        let empty = Page::parse(
            "<html><body><main><h1>Items</h1><a href=/items/3>Green Sprocket</a></main></body></html>",
        );
        let out = locator(
            source,
            Some(3),
            "getByTestId('item-row').filter({ hasText: 'Green Sprocket' }).getByRole('link')",
            "Error: locator.click: Test timeout of 10000ms exceeded.",
            &empty,
            &[],
            Thresholds::default(),
        );
        let why = out.made.expect_err("refused").0;
        assert!(why.contains("its scope"), "{why}");
    }

    #[test]
    fn a_page_object_field_that_scopes_the_failing_chain_is_healed_where_it_is_written() {
        let po = "export class Shell {\n  constructor(page) {\n    this.headerNav = page.locator('header nav');\n  }\n}\n";
        let page = Page::parse(
            r#"<html><body><header><a class="brand" href="/items">Acme</a></header><main><h1>Account</h1></main>
              <footer><nav aria-label="Main"><a href="/items">Items</a><a href="/account">Account</a></nav></footer></body></html>"#,
        );
        let out = locator(
            po,
            None,
            "locator('header nav').getByRole('link', { name: 'Items' })",
            "Error: locator.click: Test timeout of 10000ms exceeded.",
            &page,
            &[],
            Thresholds::default(),
        );
        let made = out.made.expect("healed");
        assert_eq!(made.old, "locator('header nav')");
        assert!(
            made.source.contains("this.headerNav = page."),
            "{}",
            made.source
        );
        assert_eq!(made.new, "getByRole('navigation', { name: 'Main' })");
    }

    #[test]
    fn relative_imports_are_found_in_their_usual_spellings() {
        let src = "import { test } from '@playwright/test';\nimport { ItemsPage } from './pages/items-page';\nimport type { X } from \"../support/x\";\nconst h = require('./helpers');\nimport './setup';\n";
        assert_eq!(
            relative_imports(src),
            ["./pages/items-page", "../support/x", "./helpers", "./setup"]
        );
    }

    #[test]
    fn a_page_object_writes_the_locator_a_call_log_prints() {
        let po = "export class ItemsPage {\n  constructor(page) {\n    this.rows = page.getByTestId('item-row');\n  }\n}\n";
        assert!(writes_locator(po, "getByTestId('item-row').first()"));
        assert!(!writes_locator(po, "getByRole('link', { name: 'Items' })"));
    }

    const SPEC: &str = "import { test, expect } from './fixtures';\n\ntest('creates', async ({ page }) => {\n  await page.goto('/items');\n  await page.waitForTimeout(500);\n  await page.locator('#add-item').click();\n  expect(page.getByRole('status')).toHaveText('Saved');\n  await expect(page.getByTestId('price')).toHaveText('$1', { exact: true });\n});\n";

    #[test]
    fn missing_await_is_added_to_web_first_assertions_only() {
        let m = missing_await(SPEC, 3).expect("edit");
        assert!(
            m.source
                .contains("  await expect(page.getByRole('status')).toHaveText('Saved');")
        );
        assert_eq!(m.line, 7);
        assert_eq!(m.source.matches("await expect(").count(), 2);
        assert!(missing_await(&m.source, 3).is_err());
    }

    #[test]
    fn a_fixed_sleep_becomes_a_web_first_wait() {
        let m = timeout(SPEC, Some(3), 6, "locator.click: Timeout 5000ms exceeded.").expect("edit");
        assert!(
            m.source
                .contains("  await expect(page.locator('#add-item')).toBeVisible();\n"),
            "{}",
            m.source
        );
        assert!(!m.source.contains("waitForTimeout"));
    }

    #[test]
    fn assertion_and_test_timeouts_are_raised() {
        let m = timeout(SPEC, None, 8, "Timeout: 5000ms").expect("edit");
        assert!(
            m.source
                .contains("toHaveText('$1', { exact: true, timeout: 10000 });"),
            "{}",
            m.source
        );
        let m = timeout(
            SPEC,
            None,
            7,
            "expect(locator).toHaveText(expected) failed\nTimeout: 4000ms",
        )
        .expect("edit");
        assert!(
            m.source.contains("toHaveText('Saved', { timeout: 8000 });"),
            "{}",
            m.source
        );
        let no_sleep = SPEC.replace("  await page.waitForTimeout(500);\n", "");
        let m = timeout(&no_sleep, Some(3), 7, "Test timeout of 30000ms exceeded.").expect("edit");
        assert!(
            m.source
                .contains("async ({ page }) => {\n  test.setTimeout(60000);\n  await page.goto"),
            "{}",
            m.source
        );
    }
}
