//! Locator healing: which element of the page a broken locator meant, and a
//! new locator for it in the same style — or an honest refusal.
//!
//! Every visible element is scored against what the broken locator said about
//! its element (its id, test id, classes, role, name, label, text…) and against
//! what the test does with it (click, fill, the texts an assertion expects),
//! with four weighted similarities:
//!
//! | feature  | weight | how |
//! |----------|--------|-----|
//! | identity | 0.55 | best word similarity between the locator's identifiers and the element's, words weighted by how rare they are on the page, UI synonyms counted as equal |
//! | role     | 0.20 | the locator's role or tag, or what the action needs (fill → textbox) |
//! | context  | 0.15 | the assertion's expected texts and count, found in what the new locator matches |
//! | position | 0.10 | inside the chain's scope, or under the ancestors a CSS/XPath selector names |
//!
//! A feature the failure says nothing about is left out of the average. A heal
//! needs an identity of at least [`MIN_IDENTITY`], a score of at least the
//! threshold (default 0.5), a margin over the next distinct proposal (default
//! 0.1), and a proposal that matches exactly the chosen element on the page
//! (or, for a list, a set holding every expected text). Anything else is a
//! refusal with its reason; every candidate and score is kept for the metadata.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use super::{By, Chain, Segment, XCond, render, resolve_segments, xpath_conditions};
use crate::locator::words::words;
use crate::page::{Element, Page};

/// A heal's identity similarity below this is never a heal, whatever the rest says.
pub const MIN_IDENTITY: f64 = 0.5;

/// With a reference, identity is the fingerprint similarity: at least two
/// thirds of the weighted evidence about the element must agree.
pub const MIN_REFERENCE_IDENTITY: f64 = 0.67;

/// What the test does with the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// click, dblclick, tap.
    Click,
    /// fill, type, pressSequentially, clear.
    Fill,
    /// check, uncheck, setChecked.
    Check,
    /// selectOption.
    Select,
    /// An assertion or read (toHaveText, textContent, isVisible…).
    Read,
    /// hover, focus, press and the rest.
    Other,
}

/// What the failing statement tells about the element besides its locator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The action performed on it.
    pub action: Option<Action>,
    /// Texts an assertion expects it (or them) to have.
    pub expected_texts: Vec<String>,
    /// How many elements the assertion expects (`toHaveCount`, an array of texts).
    pub expected_count: Option<usize>,
    /// The locator names a list its users pick from (`.first()`, `.nth()`,
    /// `.filter()` follow it where it failed): a shared definition such as a
    /// page object's `rows` heals to the list, not to one of its items.
    pub list: bool,
    /// What the locator matched when it last worked (a reference run's
    /// trace): elements are then known by their whole fingerprint, not by
    /// the locator's words. Empty when there is no reference.
    pub reference: Vec<Fingerprint>,
}

/// Thresholds (from `[fix]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minimum score of a heal.
    pub min_score: f64,
    /// Minimum lead over the next distinct proposal.
    pub min_margin: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            min_score: 0.5,
            min_margin: 0.1,
        }
    }
}

/// The feature scores of one candidate (`null`: the failure says nothing about it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// Identifier similarity.
    pub identity: f64,
    /// Role/tag/action fit.
    pub role: Option<f64>,
    /// Expected texts and count.
    pub context: Option<f64>,
    /// Scope and ancestors.
    pub position: Option<f64>,
}

/// One element considered, with its score and the locator it would get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// The replacement for the broken segment (`null`: no locator selects it alone).
    pub locator: Option<String>,
    /// The whole new chain.
    pub chain: Option<String>,
    /// Weighted score in [0, 1].
    pub score: f64,
    /// The feature scores.
    pub features: Features,
    /// How many elements the new chain matches.
    pub matches: usize,
    /// `role "name"` `<tag id class>` of the element.
    pub element: String,
    /// The element's role.
    #[serde(default)]
    pub role: String,
    /// The element's accessible name (empty when it has none).
    #[serde(default)]
    pub name: String,
    /// Its line in the ARIA snapshot, for a page made from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_line: Option<usize>,
    /// Its outer HTML, bounded; for a page known from its ARIA snapshot,
    /// its lines of the snapshot.
    pub html: String,
    /// The locator selects it without the chain's `.nth()`/`.first()`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_pick: bool,
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Healing {
    /// The broken chain as written.
    pub original: String,
    /// What the broken chain matches on the page now.
    pub original_matches: usize,
    /// The replacement segment, when healed.
    pub replacement: Option<String>,
    /// The replacement selects the element alone and stands for the
    /// segment and the `.nth()`/`.first()` after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_pick: bool,
    /// Score of the chosen candidate.
    pub score: Option<f64>,
    /// Lead over the next distinct proposal.
    pub margin: Option<f64>,
    /// Why it healed or refused.
    pub reason: String,
    /// Candidates, best first (at most 10).
    pub candidates: Vec<Candidate>,
}

/// Scores the page's elements against the broken `chain` and decides.
pub fn heal(chain: &Chain, page: &Page, ctx: &Context, t: Thresholds) -> Healing {
    let original = chain.canonical();
    let original_matches = chain.resolve(page).map_or(0, |m| m.len());
    let refuse = |reason: String, candidates: Vec<Candidate>| Healing {
        original: original.clone(),
        original_matches,
        replacement: None,
        replaces_pick: false,
        score: None,
        margin: None,
        reason,
        candidates,
    };
    let Some(target) = chain.target_index() else {
        return refuse("the locator has no selecting part".into(), Vec::new());
    };
    let seg = &chain.segments[target];
    let prefix = &chain.segments[..target];
    let suffix = &chain.segments[target + 1..];
    let multi =
        ctx.list || ctx.expected_count.is_some_and(|c| c > 1) || ctx.expected_texts.len() > 1;
    let scope: Option<Vec<usize>> = if prefix.is_empty() {
        None
    } else {
        match resolve_segments(prefix, page, None) {
            Ok(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    };
    let want = Evidence::of(seg, chain);
    let idf = Idf::new(page);
    let ours = want.prepared(&idf);
    let prints = (!ctx.reference.is_empty()).then(|| Fingerprint::all(page));
    let min_identity = if prints.is_some() {
        MIN_REFERENCE_IDENTITY
    } else {
        MIN_IDENTITY
    };
    let mut scored: Vec<(f64, Features, usize)> = page
        .elements
        .iter()
        .enumerate()
        .filter(|(_, e)| e.visible && !matches!(e.tag.as_str(), "form" | "br" | "hr"))
        // `.filter({ hasText })` after the segment says what its element holds.
        .filter(|(_, e)| {
            suffix.iter().all(|s| match &s.by {
                By::Filter(text) => super::text_matches(&e.text, text, false),
                _ => true,
            })
        })
        .map(|(i, e)| {
            let identity = match &prints {
                Some(all) => ctx
                    .reference
                    .iter()
                    .map(|r| r.similarity(&all[i]))
                    .fold(0.0, f64::max),
                None => Evidence::identity(&ours, e, &idf),
            };
            let role = want.role_fit(e, ctx);
            let position = want.position(page, i, scope.as_deref());
            let context = single_context(e, ctx, multi);
            (
                combine(identity, role, context, position),
                Features {
                    identity: round(identity),
                    role: role.map(round),
                    context: context.map(round),
                    position: position.map(round),
                },
                i,
            )
        })
        .filter(|(s, f, _)| *s > 0.2 && f.identity > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    scored.truncate(25);

    // Proposals, best first; candidates whose proposal is the same are one.
    let mut candidates: Vec<(Candidate, usize)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (score, mut features, i) in scored {
        // Scores only change for list locators: otherwise the first ten
        // proposals kept are the ten the final sort keeps.
        if !multi && candidates.len() == KEPT {
            break;
        }
        let (locator, chain_text, matches, set, replaces_pick) =
            match propose(seg, page, i, prefix, suffix, scope.clone(), multi, chain) {
                Some(p) => (
                    Some(p.segment),
                    Some(p.chain),
                    p.matches.len(),
                    p.matches,
                    p.replaces_pick,
                ),
                None => (None, None, 0, Vec::new(), false),
            };
        let mut score = score;
        if multi && !set.is_empty() {
            // A list locator is judged by everything it selects.
            let c = set_context(page, &set, ctx);
            features.context = c.map(round);
            score = combine(features.identity, features.role, c, features.position);
        }
        if let Some(l) = &chain_text
            && !seen.insert(l.clone())
        {
            continue;
        }
        candidates.push((
            Candidate {
                locator,
                chain: chain_text,
                score: round(score),
                features,
                matches,
                element: describe(&page.elements[i]),
                role: page.elements[i].role.clone(),
                name: page.elements[i].name.clone(),
                snapshot_line: page.elements[i].snapshot_line,
                // Filled in for the ten that are kept.
                html: String::new(),
                replaces_pick,
            },
            i,
        ));
    }
    candidates.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    candidates.truncate(KEPT);
    let candidates: Vec<Candidate> = candidates
        .into_iter()
        .map(|(mut c, i)| {
            c.html = page.outer_html(i, 240);
            c
        })
        .collect();

    let Some(best) = candidates.first().cloned() else {
        return refuse(
            "no element on the page resembles what the locator named".into(),
            candidates,
        );
    };
    let runner_up = candidates.get(1).map_or(0.0, |c| c.score);
    let margin = round(best.score - runner_up);
    // Identical elements (a duplicated control) get the same score: no margin.
    let twins = candidates
        .iter()
        .skip(1)
        .filter(|c| c.score == best.score && c.element == best.element)
        .count();
    let reason = if best.locator.is_none() {
        Some(if twins > 0 {
            format!(
                "the best candidate ({}) cannot be selected alone: {} elements share every locator it could get",
                best.element,
                twins + 1
            )
        } else {
            format!(
                "the best candidate ({}) cannot be selected alone: every locator it could get also selects other elements",
                best.element
            )
        })
    } else if best.features.identity < min_identity {
        Some(if prints.is_some() {
            format!(
                "the best candidate ({}) is too unlike the element the locator matched at the reference (similarity {:.2} < {min_identity})",
                best.element, best.features.identity
            )
        } else {
            format!(
                "the best candidate ({}) shares too little with the locator (identity {:.2} < {min_identity})",
                best.element, best.features.identity
            )
        })
    } else if best.score < t.min_score {
        Some(format!(
            "the best candidate ({}) scores {:.2}, under the threshold {:.2}",
            best.element, best.score, t.min_score
        ))
    } else if margin < t.min_margin {
        Some(format!(
            "ambiguous: the best two candidates score {:.2} and {:.2} (margin {:.2} < {:.2})",
            best.score, runner_up, margin, t.min_margin
        ))
    } else {
        None
    };
    if let Some(reason) = reason {
        return refuse(reason, candidates);
    }
    Healing {
        original: original.clone(),
        original_matches,
        replacement: best.locator.clone(),
        replaces_pick: best.replaces_pick,
        score: Some(best.score),
        margin: Some(margin),
        reason: format!(
            "{} matches {} ({}), score {:.2}, {:.2} ahead of the next candidate",
            best.chain.as_deref().unwrap_or_default(),
            if best.matches == 1 {
                "exactly one element".to_owned()
            } else {
                format!("{} elements", best.matches)
            },
            best.element,
            best.score,
            margin
        ),
        candidates,
    }
}

/// The engine on a locator as a call log or an error message prints it
/// (`getByRole('link', { name: 'Add item' })`), with what the failing
/// statement of the error's code snippet does with it: the planner's
/// proposals and the classifier's "a similar element is on the page" are this
/// call, so they can never disagree with each other or with a heal of the same
/// failure on the same page. `None` when the text holds no locator.
pub fn heal_printed(
    printed: &str,
    page: &Page,
    snippet: Option<&str>,
    message: &str,
    t: Thresholds,
) -> Option<Healing> {
    let chain = Chain::parse(printed)?;
    let (code, line) = snippet
        .and_then(super::statement::snippet_code)
        .map_or((String::new(), None), |(code, line)| (code, Some(line)));
    let (_, ctx) = super::statement::failure_context(&code, line, &chain, message);
    Some(heal(&chain, page, &ctx, t))
}

/// How many candidates a healing reports.
const KEPT: usize = 10;

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn combine(identity: f64, role: Option<f64>, context: Option<f64>, position: Option<f64>) -> f64 {
    let mut num = 0.55 * identity;
    let mut den = 0.55;
    for (w, v) in [(0.2, role), (0.15, context), (0.1, position)] {
        if let Some(v) = v {
            num += w * v;
            den += w;
        }
    }
    num / den
}

fn describe(e: &Element) -> String {
    let mut s = e.role.clone();
    if !e.name.is_empty() {
        let name: String = e.name.chars().take(60).collect();
        s.push_str(&format!(" \"{name}\""));
    }
    s.push_str(&format!(" <{}", e.tag));
    if let Some(id) = &e.id {
        s.push_str(&format!(" id={id}"));
    }
    if let Some(t) = &e.test_id {
        s.push_str(&format!(" data-testid={t}"));
    }
    if !e.classes.is_empty() {
        s.push_str(&format!(" class={}", e.classes.join(".")));
    }
    s.push('>');
    s
}

/// Kinds of identifier, compared like with like at full weight and across kinds a little less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Id,
    TestId,
    Class,
    Name,
    Text,
    Label,
    Placeholder,
    Alt,
    Title,
    Attr,
}

/// What the broken locator says about its element.
#[derive(Debug, Default)]
struct Evidence {
    identifiers: Vec<(Kind, String)>,
    role: Option<String>,
    tag: Option<String>,
    ancestors: Vec<String>,
    form_control: bool,
    level: Option<u8>,
}

impl Evidence {
    fn of(seg: &Segment, chain: &Chain) -> Evidence {
        let mut ev = Evidence::default();
        match &seg.by {
            By::Css(css) => ev.css(css),
            By::XPath(x) => ev.xpath(x),
            By::Text(t) => ev.identifiers.push((Kind::Text, t.clone())),
            By::Role { role, name, level } => {
                ev.role = Some(role.clone());
                ev.level = *level;
                if let Some(n) = name {
                    ev.identifiers.push((Kind::Name, n.clone()));
                }
            }
            By::Label(l) => {
                ev.identifiers.push((Kind::Label, l.clone()));
                ev.form_control = true;
            }
            By::Placeholder(p) => {
                ev.identifiers.push((Kind::Placeholder, p.clone()));
                ev.form_control = true;
            }
            By::TestId(t) => ev.identifiers.push((Kind::TestId, t.clone())),
            By::AltText(a) => ev.identifiers.push((Kind::Alt, a.clone())),
            By::Title(t) => ev.identifiers.push((Kind::Title, t.clone())),
            By::Nth(_) | By::Filter(_) => {}
        }
        // A `.filter({ hasText })` after the target names its text too (and
        // every candidate must hold it, see `heal`).
        for s in &chain.segments {
            if let By::Filter(t) = &s.by {
                ev.identifiers.push((Kind::Text, t.clone()));
            }
        }
        ev
    }

    /// `main nav > a.button#add-item[name=x]`: the last compound names the
    /// element, the ones before are ancestors.
    fn css(&mut self, css: &str) {
        let css = css.split(',').next().unwrap_or(css);
        let parts: Vec<&str> = css
            .split(|c: char| c.is_whitespace() || c == '>' || c == '+' || c == '~')
            .filter(|p| !p.is_empty())
            .collect();
        let Some((last, before)) = parts.split_last() else {
            return;
        };
        for a in before {
            let tag: String = a
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !tag.is_empty() {
                self.ancestors.push(tag.to_ascii_lowercase());
            }
            for (k, v) in compound(a) {
                if k == Kind::Class || k == Kind::Id {
                    self.ancestors.push(v);
                }
            }
        }
        let tag: String = last
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !tag.is_empty() {
            self.tag = Some(tag.to_ascii_lowercase());
        }
        self.identifiers.extend(compound(last));
    }

    fn xpath(&mut self, x: &str) {
        let steps: Vec<&str> = x.split('/').filter(|s| !s.is_empty()).collect();
        let Some((last, before)) = steps.split_last() else {
            return;
        };
        for s in before {
            let tag: String = s
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !tag.is_empty() && tag != "html" && tag != "body" {
                self.ancestors.push(tag.to_ascii_lowercase());
            }
        }
        let tag: String = last
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !tag.is_empty() {
            self.tag = Some(tag.to_ascii_lowercase());
        }
        let preds = last.find('[').map_or("", |i| &last[i..]);
        for c in xpath_conditions(preds) {
            match c {
                XCond::AttrEq(a, v) | XCond::AttrContains(a, v) => {
                    self.identifiers.push((attr_kind(&a), v));
                }
                XCond::TextEq(v) | XCond::TextContains(v) => self.identifiers.push((Kind::Text, v)),
                XCond::Position(_) | XCond::Unknown => {}
            }
        }
    }

    /// The locator's identifiers, prepared once for every element's comparison.
    fn prepared(&self, idf: &Idf) -> Vec<(Kind, Prepared<'_>)> {
        self.identifiers
            .iter()
            .map(|(k, v)| (*k, Prepared::new(v, idf)))
            .collect()
    }

    fn identity(ours: &[(Kind, Prepared<'_>)], e: &Element, idf: &Idf) -> f64 {
        let mut theirs: Vec<(Kind, &str)> = Vec::new();
        if let Some(v) = &e.id {
            theirs.push((Kind::Id, v));
        }
        if let Some(v) = &e.test_id {
            theirs.push((Kind::TestId, v));
        }
        for c in &e.classes {
            theirs.push((Kind::Class, c));
        }
        if !e.name.is_empty() && e.name.len() <= 120 {
            theirs.push((Kind::Name, &e.name));
        }
        if !e.text.is_empty() && e.text.len() <= 120 {
            theirs.push((Kind::Text, &e.text));
        }
        for (k, v) in [
            (Kind::Label, &e.label),
            (Kind::Placeholder, &e.placeholder),
            (Kind::Alt, &e.alt),
            (Kind::Title, &e.title),
        ] {
            if let Some(v) = v {
                theirs.push((k, v));
            }
        }
        for (k, v) in &e.attrs {
            if matches!(k.as_str(), "name" | "aria-label" | "value") {
                theirs.push((Kind::Attr, v));
            }
        }
        if ours.is_empty() {
            return 0.0;
        }
        let mut best: f64 = 0.0;
        let mut lower = String::new();
        // The last text and its preparation: an element's name is often its
        // text too.
        let mut last: Option<(&str, Option<Prepared<'_>>)> = None;
        for (tk, tv) in &theirs {
            if last.as_ref().is_none_or(|(t, _)| t != tv) {
                // Most of a page's texts share no word with the locator and differ
                // too much in length to be a respelling: they score 0 unprepared.
                lower.clear();
                lower.extend(tv.chars().flat_map(char::to_lowercase));
                let chars = lower.chars().count();
                let may = ours
                    .iter()
                    .any(|(_, wp)| wp.raw == *tv || wp.may_resemble(&lower, chars));
                last = Some((tv, may.then(|| Prepared::new(tv, idf))));
            }
            let Some((_, Some(tp))) = &last else {
                continue;
            };
            for (wk, wp) in ours {
                let same = wk == tk
                    || matches!(
                        (wk, tk),
                        (Kind::Name | Kind::Text, Kind::Name | Kind::Text)
                            | (Kind::Label | Kind::Name, Kind::Label | Kind::Name)
                    );
                let factor = if same { 1.0 } else { 0.85 };
                if factor <= best {
                    continue;
                }
                let sim = if wp.raw == *tv {
                    1.0
                } else {
                    wp.similarity(tp)
                };
                best = best.max(factor * sim);
            }
        }
        best
    }

    fn role_fit(&self, e: &Element, ctx: &Context) -> Option<f64> {
        let mut fits: Vec<f64> = Vec::new();
        if let Some(r) = &self.role {
            fits.push(if *r == e.role { 1.0 } else { 0.0 });
            if let Some(l) = self.level {
                fits.push(if e.level == Some(l) { 1.0 } else { 0.3 });
            }
        }
        if let Some(t) = &self.tag {
            fits.push(if *t == e.tag { 1.0 } else { 0.3 });
        }
        if self.form_control {
            fits.push(if is_control(&e.role) { 1.0 } else { 0.0 });
        }
        match ctx.action {
            Some(Action::Click) => fits.push(match e.role.as_str() {
                "button" | "link" | "menuitem" | "tab" | "checkbox" | "radio" | "option"
                | "switch" | "treeitem" => 1.0,
                "textbox" | "searchbox" | "combobox" => 0.3,
                _ => 0.5,
            }),
            Some(Action::Fill) => fits.push(
                if matches!(
                    e.role.as_str(),
                    "textbox" | "searchbox" | "combobox" | "spinbutton"
                ) {
                    1.0
                } else {
                    0.0
                },
            ),
            Some(Action::Check) => fits.push(
                if matches!(e.role.as_str(), "checkbox" | "radio" | "switch") {
                    1.0
                } else {
                    0.0
                },
            ),
            Some(Action::Select) => {
                fits.push(if matches!(e.role.as_str(), "combobox" | "listbox") {
                    1.0
                } else {
                    0.0
                })
            }
            _ => {}
        }
        (!fits.is_empty()).then(|| fits.iter().sum::<f64>() / fits.len() as f64)
    }

    fn position(&self, page: &Page, i: usize, scope: Option<&[usize]>) -> Option<f64> {
        if let Some(scope) = scope {
            return Some(if scope.iter().any(|&s| s != i && page.contains(s, i)) {
                1.0
            } else {
                0.0
            });
        }
        if self.ancestors.is_empty() {
            return None;
        }
        // Ancestor tags/classes/ids the selector named, found above the element.
        let mut above: HashSet<String> = HashSet::new();
        let mut cur = page.elements[i].parent;
        while let Some(p) = cur {
            let e = &page.elements[p];
            above.insert(e.tag.clone());
            above.extend(e.classes.iter().cloned());
            if let Some(id) = &e.id {
                above.insert(id.clone());
            }
            cur = e.parent;
        }
        let hit = self.ancestors.iter().filter(|a| above.contains(*a)).count();
        Some(hit as f64 / self.ancestors.len() as f64)
    }
}

fn is_control(role: &str) -> bool {
    matches!(
        role,
        "textbox"
            | "searchbox"
            | "combobox"
            | "spinbutton"
            | "checkbox"
            | "radio"
            | "switch"
            | "slider"
            | "listbox"
    )
}

fn attr_kind(a: &str) -> Kind {
    match a {
        "id" => Kind::Id,
        "class" => Kind::Class,
        "data-testid" | "data-test-id" | "data-test" => Kind::TestId,
        "placeholder" => Kind::Placeholder,
        "alt" => Kind::Alt,
        "title" => Kind::Title,
        "aria-label" => Kind::Label,
        _ => Kind::Attr,
    }
}

/// `a.button#add-item[data-testid="x"]` → its id, classes and attribute values.
fn compound(c: &str) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    let mut rest = c;
    // Attribute selectors first: their values may hold `.` or `#`.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        if let Some((k, v)) = inner.split_once('=') {
            let k = k.trim_end_matches(['~', '|', '^', '$', '*']);
            out.push((
                attr_kind(k),
                v.trim_matches(|c| c == '"' || c == '\'').to_owned(),
            ));
        }
        rest = &rest[open + close + 1..];
    }
    let head = c
        .split('[')
        .next()
        .unwrap_or(c)
        .split(':')
        .next()
        .unwrap_or(c);
    let mut kind = None;
    let mut cur = String::new();
    let flush = |kind: Option<char>, cur: &mut String, out: &mut Vec<(Kind, String)>| {
        if !cur.is_empty() {
            match kind {
                Some('#') => out.push((Kind::Id, std::mem::take(cur))),
                Some('.') => out.push((Kind::Class, std::mem::take(cur))),
                _ => cur.clear(),
            }
        }
    };
    for ch in head.chars() {
        if ch == '#' || ch == '.' {
            flush(kind, &mut cur, &mut out);
            kind = Some(ch);
        } else {
            cur.push(ch);
        }
    }
    flush(kind, &mut cur, &mut out);
    out
}

/// Word weights: a word on many elements of the page says little about which one is meant.
struct Idf {
    df: foldhash::HashMap<String, usize>,
    n: f64,
}

impl Idf {
    fn new(page: &Page) -> Idf {
        let mut df: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
        let mut n = 0usize;
        let mut set: Vec<String> = Vec::new();
        for e in page.elements.iter().filter(|e| e.visible) {
            set.clear();
            for s in [
                &e.id,
                &e.test_id,
                &e.label,
                &e.placeholder,
                &e.alt,
                &e.title,
            ]
            .into_iter()
            .flatten()
            {
                add_canonical_words(s, &mut set);
            }
            for c in &e.classes {
                add_canonical_words(c, &mut set);
            }
            // Own text only (not descendants'): the name of leaf-ish elements.
            if e.name.len() <= 120 {
                add_canonical_words(&e.name, &mut set);
            }
            if set.is_empty() {
                continue;
            }
            n += 1;
            for w in set.drain(..) {
                *df.entry(w).or_default() += 1;
            }
        }
        Idf {
            df,
            n: n.max(1) as f64,
        }
    }

    fn weight(&self, w: &str) -> f64 {
        let df = self.df.get(canonical(w)).copied().unwrap_or(0) as f64;
        (1.0 + self.n / (1.0 + df)).ln()
    }
}

/// A text prepared for comparison: its words by their synonym group, each once,
/// their summed rarity, and the text lower-cased for the spelling check.
struct Prepared<'a> {
    raw: &'a str,
    /// Canonical words with their rarity weights.
    words: Vec<(String, f64)>,
    weight: f64,
    lower: String,
    chars: usize,
    /// The words and their synonyms, looked for in other texts: made when first
    /// asked, since only the locator's own texts are asked, once per element.
    needles: std::cell::OnceCell<Vec<String>>,
}

impl<'a> Prepared<'a> {
    fn new(raw: &'a str, idf: &Idf) -> Prepared<'a> {
        let mut canon = Vec::new();
        add_canonical_words(raw, &mut canon);
        let out: Vec<(String, f64)> = canon
            .into_iter()
            .map(|w| {
                let weight = idf.weight(&w);
                (w, weight)
            })
            .collect();
        let weight = out.iter().map(|(_, w)| w).sum();
        let lower = raw.to_lowercase();
        let chars = lower.chars().count();
        Prepared {
            raw,
            weight,
            words: out,
            chars,
            lower,
            needles: std::cell::OnceCell::new(),
        }
    }

    /// Whether a text can have a similarity above 0 with this one, given the
    /// text lower-cased character by character (as [`words`] does) and its
    /// length in characters: it contains one of this text's words or a synonym
    /// of one (every word of a text is a piece of it lower-cased), or its length
    /// allows a close spelling.
    fn may_resemble(&self, lower: &str, chars: usize) -> bool {
        let longest = self.chars.max(chars);
        if longest > 0 && 1.0 - self.chars.abs_diff(chars) as f64 / longest as f64 >= 0.8 {
            return true;
        }
        let needles = self.needles.get_or_init(|| {
            let mut all: Vec<String> = Vec::new();
            for (w, _) in &self.words {
                match synonyms(w) {
                    Some(group) => all.extend(group.iter().map(|g| (*g).to_owned())),
                    None => all.push(w.clone()),
                }
            }
            all
        });
        needles.iter().any(|n| lower.contains(n.as_str()))
    }

    /// IDF-weighted Sørensen–Dice over words (synonyms equal), or a close
    /// spelling of the whole string (a typo fix, a plural).
    fn similarity(&self, other: &Prepared<'_>) -> f64 {
        if self.words.is_empty() || other.words.is_empty() {
            return 0.0;
        }
        let common: f64 = self
            .words
            .iter()
            .filter(|(w, _)| other.words.iter().any(|(o, _)| o == w))
            .map(|(_, weight)| weight)
            .sum();
        let total = self.weight + other.weight;
        let dice = if total > 0.0 {
            2.0 * common / total
        } else {
            0.0
        };
        // Levenshtein distance is at least the difference in length, so a
        // spelling that cannot reach 0.8 (or beat the words) is not computed.
        let longest = self.chars.max(other.chars);
        let bound = if longest == 0 {
            1.0
        } else {
            1.0 - self.chars.abs_diff(other.chars) as f64 / longest as f64
        };
        if bound < 0.8 || bound <= dice {
            return dice;
        }
        let spelled = strsim::normalized_levenshtein(&self.lower, &other.lower);
        let spelled = if spelled >= 0.8 { spelled } else { 0.0 };
        dice.max(spelled)
    }
}

/// Words UIs use interchangeably for the same thing: a renamed control usually
/// keeps its meaning ("Add item" → "New item", `item-row` → `product-row`).
const SYNONYMS: &[&[&str]] = &[
    &["add", "new", "create", "plus"],
    &["delete", "remove", "trash", "discard"],
    &["edit", "update", "modify", "change"],
    &["save", "submit", "confirm", "apply", "ok", "done"],
    &["close", "dismiss", "cancel"],
    &["login", "signin", "log", "sign"],
    &["search", "find", "filter", "query"],
    &["next", "continue", "forward", "proceed"],
    &["back", "previous", "prev", "return"],
    &["setting", "preference", "option", "config"],
    &["user", "account", "profile"],
    &["item", "product", "entry", "record", "article"],
    &["name", "title", "label"],
    &["price", "cost", "amount"],
    &["stock", "inventory", "available", "quantity", "qty"],
    &["count", "total", "number"],
    &["btn", "button"],
    &["msg", "message", "notice", "status", "alert"],
];

/// Each synonym's group head (the first group that lists it wins).
static CANONICAL: std::sync::LazyLock<HashMap<&'static str, &'static str>> =
    std::sync::LazyLock::new(|| {
        let mut map = HashMap::new();
        for group in SYNONYMS {
            for w in *group {
                map.entry(*w).or_insert(group[0]);
            }
        }
        map
    });

/// Adds the words of `text`, each by its synonym group's name, to `into`
/// unless already there: the word sets both page rarity and similarity count.
fn add_canonical_words(text: &str, into: &mut Vec<String>) {
    for w in words(text) {
        let c = canonical(&w);
        if !into.iter().any(|s| s == c) {
            into.push(c.to_owned());
        }
    }
}

/// The synonym group known by `canonical`, when it heads one.
fn synonyms(canonical: &str) -> Option<&'static [&'static str]> {
    SYNONYMS.iter().copied().find(|g| g[0] == canonical)
}

/// The word its synonym group is known by (the word itself when it has none).
fn canonical(word: &str) -> &str {
    CANONICAL.get(word).copied().unwrap_or(word)
}

fn single_context(e: &Element, ctx: &Context, multi: bool) -> Option<f64> {
    if multi || ctx.expected_texts.is_empty() {
        return None;
    }
    let t = ctx.expected_texts[0].to_lowercase();
    Some(if e.text.to_lowercase().contains(&t) {
        1.0
    } else {
        0.0
    })
}

/// For list locators: the share of expected texts the set holds, and the count.
fn set_context(page: &Page, set: &[usize], ctx: &Context) -> Option<f64> {
    let mut parts = Vec::new();
    if !ctx.expected_texts.is_empty() {
        let texts: Vec<String> = set
            .iter()
            .map(|&i| page.elements[i].text.to_lowercase())
            .collect();
        let found = ctx
            .expected_texts
            .iter()
            .filter(|x| {
                let x = x.to_lowercase();
                texts.iter().any(|t| t.contains(&x))
            })
            .count();
        parts.push(found as f64 / ctx.expected_texts.len() as f64);
    }
    if let Some(c) = ctx.expected_count {
        parts.push(if set.len() == c { 1.0 } else { 0.0 });
    }
    (!parts.is_empty()).then(|| parts.iter().sum::<f64>() / parts.len() as f64)
}

struct Proposal {
    segment: String,
    chain: String,
    matches: Vec<usize>,
    /// It selects the element alone, without the chain's index pick.
    replaces_pick: bool,
}

/// The first locator, in the order the original's style prefers, that selects
/// element `i` alone (or, for a list, a set of several holding it).
#[allow(clippy::too_many_arguments)]
fn propose(
    original: &Segment,
    page: &Page,
    i: usize,
    prefix: &[Segment],
    suffix: &[Segment],
    scope: Option<Vec<usize>>,
    multi: bool,
    chain: &Chain,
) -> Option<Proposal> {
    let e = &page.elements[i];
    let role_name = || {
        (!e.name.is_empty()).then(|| By::Role {
            role: e.role.clone(),
            name: Some(e.name.clone()),
            level: None,
        })
    };
    let role_level = || {
        e.level.map(|l| By::Role {
            role: e.role.clone(),
            name: None,
            level: Some(l),
        })
    };
    let test_id = || e.test_id.clone().map(By::TestId);
    let label = || {
        e.label
            .clone()
            .filter(|_| is_control(&e.role))
            .map(By::Label)
    };
    let placeholder = || e.placeholder.clone().map(By::Placeholder);
    let text = || (!e.text.is_empty() && e.text.len() <= 80).then(|| By::Text(e.text.clone()));
    let alt = || e.alt.clone().map(By::AltText);
    let title = || e.title.clone().map(By::Title);
    let css_id = || {
        e.id.as_ref()
            .filter(|id| {
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .map(|id| By::Css(format!("#{id}")))
    };
    let css_class =
        || (!e.classes.is_empty()).then(|| By::Css(format!("{}.{}", e.tag, e.classes.join("."))));
    // The author's own selector with its child combinators loosened to
    // descendants: the smallest edit after the element was wrapped.
    let relaxed = || match &original.by {
        By::Css(css) if css.contains('>') && !css.contains(">>") && !css.contains(['(', '[']) => {
            Some(By::Css(
                css.split('>').map(str::trim).collect::<Vec<_>>().join(" "),
            ))
        }
        _ => None,
    };
    let options: Vec<Option<By>> = match &original.by {
        By::TestId(_) => vec![
            test_id(),
            role_name(),
            label(),
            placeholder(),
            text(),
            css_id(),
        ],
        By::Role {
            name: None,
            level: Some(_),
            ..
        } => vec![role_level(), role_name(), test_id()],
        By::Role { .. } => vec![role_name(), test_id(), label(), text()],
        By::Label(_) => vec![label(), placeholder(), role_name(), test_id()],
        By::Placeholder(_) => vec![placeholder(), label(), role_name(), test_id()],
        By::Text(_) => vec![text(), role_name(), test_id()],
        By::AltText(_) => vec![alt(), role_name(), test_id()],
        By::Title(_) => vec![title(), role_name(), test_id()],
        By::Css(_) | By::XPath(_) => vec![
            relaxed(),
            test_id(),
            role_name(),
            label(),
            placeholder(),
            alt(),
            css_id(),
            css_class(),
            text(),
        ],
        By::Nth(_) | By::Filter(_) => Vec::new(),
    };
    // An index pick (`.nth(1)`, `.first()`) after the segment no longer
    // applies to a locator that selects the element alone: try that too.
    let index_pick =
        !suffix.is_empty() && !multi && suffix.iter().all(|s| matches!(s.by, By::Nth(_)));
    let options: Vec<By> = options.into_iter().flatten().collect();
    let with_suffix = propose_with(
        original, page, i, prefix, suffix, &scope, multi, chain, &options, false,
    );
    if with_suffix.is_some() || !index_pick {
        return with_suffix;
    }
    propose_with(
        original, page, i, prefix, suffix, &scope, multi, chain, &options, true,
    )
}

/// [`propose`] over `options`; `drop_suffix`: without the index pick after the segment.
#[allow(clippy::too_many_arguments)]
fn propose_with(
    original: &Segment,
    page: &Page,
    i: usize,
    prefix: &[Segment],
    suffix: &[Segment],
    scope: &Option<Vec<usize>>,
    multi: bool,
    chain: &Chain,
    options: &[By],
    drop_suffix: bool,
) -> Option<Proposal> {
    let suffix_used: &[Segment] = if drop_suffix { &[] } else { suffix };
    let q = original.quote;
    for by in options {
        for exact in [original.exact, true] {
            if matches!(by, By::TestId(_) | By::Css(_)) && exact && !original.exact {
                continue;
            }
            let seg = Segment {
                by: by.clone(),
                exact,
                regex: false,
                span: (0, 0),
                quote: q,
            };
            let mut segs: Vec<Segment> = prefix.to_vec();
            segs.push(seg.clone());
            segs.extend(suffix_used.iter().cloned());
            let Ok(matches) = resolve_segments(&segs[prefix.len()..], page, scope.clone()) else {
                continue;
            };
            let ok = if multi {
                matches.len() > 1 && matches.contains(&i)
            } else {
                matches == [i]
            };
            if ok {
                let segment = render(by, exact, q);
                let chain_text = chain
                    .segments
                    .iter()
                    .filter(|s| !drop_suffix || !suffix.iter().any(|x| std::ptr::eq(x, *s)))
                    .map(|s| {
                        if std::ptr::eq(s, original) {
                            segment.clone()
                        } else {
                            render(&s.by, s.exact, q)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                return Some(Proposal {
                    segment,
                    chain: chain_text,
                    matches,
                    replaces_pick: drop_suffix,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRIFTED: &str = r#"<html><body><header class="banner"><a class="brand" href="/items">Acme Inventory</a>
      <nav aria-label="Main"><a href="/items">Items</a><a href="/account">Account</a>
      <form method="post" action="/logout"><button type="submit">Sign out</button></form></nav></header>
      <main><h1>Items</h1><p class="count" data-testid="item-count">5 items</p>
      <a id="new-item" class="button" href="/items/new">New item</a>
      <ul class="items">
        <li data-testid="product-row"><a href="/items/1">Blue Widget</a> <span class="price">$19.99</span></li>
        <li data-testid="product-row"><a href="/items/2">Red Gadget</a> <span class="price">$24.50</span></li>
        <li data-testid="product-row"><a href="/items/3">Green Sprocket</a> <span class="price">$7.99</span></li>
      </ul></main></body></html>"#;

    fn run(loc: &str, ctx: Context, html: &str) -> Healing {
        let chain = Chain::parse(loc).expect("chain");
        heal(&chain, &Page::parse(html), &ctx, Thresholds::default())
    }

    #[test]
    fn a_renamed_id_heals_to_a_role_locator() {
        let h = run(
            "page.locator('#add-item')",
            Context {
                action: Some(Action::Click),
                ..Context::default()
            },
            DRIFTED,
        );
        assert_eq!(
            h.replacement.as_deref(),
            Some("getByRole('link', { name: 'New item' })"),
            "{h:#?}"
        );
        assert_eq!(h.original_matches, 0);
    }

    #[test]
    fn a_renamed_test_id_list_heals_with_its_expected_texts() {
        let h = run(
            "page.getByTestId('item-row')",
            Context {
                action: Some(Action::Read),
                expected_texts: vec![
                    "Blue Widget".into(),
                    "Red Gadget".into(),
                    "Green Sprocket".into(),
                ],
                expected_count: Some(3),
                list: false,
                reference: Vec::new(),
            },
            DRIFTED,
        );
        assert_eq!(
            h.replacement.as_deref(),
            Some("getByTestId('product-row')"),
            "{h:#?}"
        );
        assert_eq!(h.candidates[0].matches, 3);
    }

    #[test]
    fn a_removed_element_is_refused() {
        let html = DRIFTED.replace(
            r#"<a id="new-item" class="button" href="/items/new">New item</a>"#,
            "",
        );
        let h = run(
            "page.locator('#add-item')",
            Context {
                action: Some(Action::Click),
                ..Context::default()
            },
            &html,
        );
        assert!(h.replacement.is_none(), "{h:#?}");
    }

    #[test]
    fn a_removed_link_is_not_healed_to_a_link_sharing_one_word() {
        // "Add item" removed: the "Items" nav link shares only the common word.
        let html = DRIFTED.replace(
            r#"<a id="new-item" class="button" href="/items/new">New item</a>"#,
            "",
        );
        let h = run(
            "page.getByRole('link', { name: 'Add item' })",
            Context {
                action: Some(Action::Click),
                ..Context::default()
            },
            &html,
        );
        assert!(h.replacement.is_none(), "{h:#?}");
        assert!(h.reason.contains("shares too little"), "{}", h.reason);
    }

    #[test]
    fn a_duplicated_element_is_refused() {
        let html = DRIFTED.replace(
            r#"<a id="new-item" class="button" href="/items/new">New item</a>"#,
            r#"<a class="button" href="/items/new">New item</a><a class="button" href="/items/new">New item</a>"#,
        );
        let h = run(
            "page.locator('#add-item')",
            Context {
                action: Some(Action::Click),
                ..Context::default()
            },
            &html,
        );
        assert!(h.replacement.is_none(), "{h:#?}");
        assert!(
            h.reason.contains("cannot be selected alone") || h.reason.contains("ambiguous"),
            "{}",
            h.reason
        );
    }

    #[test]
    fn a_changed_label_heals_to_a_label() {
        let html = r#"<html><body><main><form><label for="n">Title</label><input id="n" name="name">
            <label for="p">Price</label><input id="p" name="price"><button>Save item</button></form></main></body></html>"#;
        let h = run(
            "page.getByLabel('Name')",
            Context {
                action: Some(Action::Fill),
                ..Context::default()
            },
            html,
        );
        assert_eq!(
            h.replacement.as_deref(),
            Some("getByLabel('Title')"),
            "{h:#?}"
        );
    }

    /// The page the reference run acted on, with the element marked.
    const REFERENCE: &str = r#"<html><body><main><h1>Items</h1><p data-ci-medic-target="">5 items</p>
      <a id="add-item" class="button" href="/items/new">Add item</a>
      <ul class="items"><li>Blue Widget</li><li>Red Gadget</li></ul></main></body></html>"#;

    fn reference() -> Vec<Fingerprint> {
        Fingerprint::marked(&Page::parse(REFERENCE))
    }

    fn with_reference(loc: &str, html: &str) -> Healing {
        run(
            loc,
            Context {
                action: Some(Action::Read),
                reference: reference(),
                ..Context::default()
            },
            html,
        )
    }

    #[test]
    fn a_structural_locator_heals_to_the_element_the_reference_run_matched() {
        // `h1 + p` named no words: the paragraph moved below the list.
        let moved = r#"<html><body><main><h1>Items</h1>
          <a id="add-item" class="button" href="/items/new">Add item</a>
          <ul class="items"><li>Blue Widget</li><li>Red Gadget</li></ul><p>5 items</p></main></body></html>"#;
        let words = run("page.locator('h1 + p')", Context::default(), moved);
        assert!(words.replacement.is_none(), "{words:#?}");
        let h = with_reference("page.locator('h1 + p')", moved);
        assert_eq!(
            h.replacement.as_deref(),
            Some("getByText('5 items')"),
            "{h:#?}"
        );
    }

    #[test]
    fn with_a_reference_a_removed_element_is_still_refused() {
        let removed = r#"<html><body><main><h1>Items</h1>
          <a id="add-item" class="button" href="/items/new">Add item</a>
          <ul class="items"><li>Blue Widget</li><li>Red Gadget</li></ul></main></body></html>"#;
        let h = with_reference("page.locator('h1 + p')", removed);
        assert!(h.replacement.is_none(), "{h:#?}");
    }

    #[test]
    fn with_a_reference_a_duplicated_element_is_still_refused() {
        let twice = REFERENCE.replace(
            r#"<p data-ci-medic-target="">5 items</p>"#,
            "<p>5 items</p><p>5 items</p>",
        );
        let h = with_reference("page.locator('h1 + p')", &twice);
        assert!(h.replacement.is_none(), "{h:#?}");
    }

    /// The shortcut in `identity` is exact: a text it skips scores 0.
    #[test]
    fn a_text_that_may_not_resemble_scores_zero() {
        let runs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs");
        let mut texts: Vec<String> = vec![
            "Add item".into(),
            "addItems".into(),
            "New product".into(),
            "submit-btn".into(),
            "Σύνολο ΦΠΑ".into(),
        ];
        let mut pages = Vec::new();
        for entry in walkdir::WalkDir::new(&runs).into_iter().flatten() {
            if entry.file_name() == "error-context.md" {
                let page = Page::from_aria(&std::fs::read_to_string(entry.path()).expect("read"));
                for e in &page.elements {
                    texts.extend([e.name.clone(), e.text.clone()]);
                }
                pages.push(page);
            }
        }
        texts.sort();
        texts.dedup();
        texts.retain(|t| !t.is_empty() && t.len() <= 120);
        let idf = Idf::new(&pages[0]);
        let mut skipped = 0;
        for a in &texts {
            let pa = Prepared::new(a, &idf);
            for b in &texts {
                let lower: String = b.chars().flat_map(char::to_lowercase).collect();
                if a != b && !pa.may_resemble(&lower, lower.chars().count()) {
                    skipped += 1;
                    let pb = Prepared::new(b, &idf);
                    assert_eq!(pa.similarity(&pb), 0.0, "{a:?} vs {b:?}");
                }
            }
        }
        assert!(skipped > 1000, "{skipped} pairs skipped");
    }
}
