//! What an element was, beyond any one locator: its tag, identifiers, role and
//! name, texts, attributes, ancestors and neighbours. Taken from the page a
//! passing run acted on (the reference run's trace), it lets the matching
//! engine find the same element on the failing page by many attributes at once
//! (as multi-attribute relocation does), where the broken locator's own words
//! say too little (`h1 + p`, `nav > a`) or name what was renamed.
//!
//! DOM snapshots carry no layout, so position is the ancestor path and the
//! neighbouring texts, not coordinates.

use serde::{Deserialize, Serialize};

use crate::page::{Element, Page};

/// One element's fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// Lower-case tag.
    pub tag: String,
    /// ARIA role.
    pub role: String,
    /// Accessible name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Visible text (bounded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Test id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_id: Option<String>,
    /// Classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Label text of a form control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `placeholder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// `alt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// `title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Other attributes (`name`, `type`, `href`, `aria-*`, `value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(String, String)>,
    /// Ancestor path (`main/ul/li`).
    pub path: String,
    /// Texts of the elements beside it (its siblings', or its wrapper's siblings').
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<String>,
}

/// Longest text kept or compared: long texts say nothing more about identity.
const TEXT: usize = 120;

fn bounded(s: &str) -> String {
    s.chars().take(TEXT).collect()
}

impl Fingerprint {
    /// The fingerprint of element `i` of `page`.
    pub fn of(page: &Page, i: usize) -> Fingerprint {
        Fingerprint::with_neighbours(page, i, neighbours(page, i))
    }

    /// The fingerprints of the elements a trace's page marks as a call's
    /// target ([`crate::page::trace::TARGET_ATTR`]).
    pub fn marked(page: &Page) -> Vec<Fingerprint> {
        page.select_css(&format!("[{}]", crate::page::trace::TARGET_ATTR), None)
            .unwrap_or_default()
            .into_iter()
            .map(|i| Fingerprint::of(page, i))
            .collect()
    }

    /// Every element's fingerprint, neighbours found in one pass.
    pub fn all(page: &Page) -> Vec<Fingerprint> {
        let (children, top) = children(page);
        (0..page.elements.len())
            .map(|i| {
                let n = neighbours_with(page, i, &|p| match p {
                    Some(p) => &children[p],
                    None => &top,
                });
                Fingerprint::with_neighbours(page, i, n)
            })
            .collect()
    }

    fn with_neighbours(page: &Page, i: usize, neighbours: Vec<String>) -> Fingerprint {
        let e: &Element = &page.elements[i];
        Fingerprint {
            tag: e.tag.clone(),
            role: e.role.clone(),
            name: bounded(&e.name),
            text: bounded(&e.text),
            id: e.id.clone(),
            test_id: e.test_id.clone(),
            classes: e.classes.clone(),
            label: e.label.clone(),
            placeholder: e.placeholder.clone(),
            alt: e.alt.clone(),
            title: e.title.clone(),
            attrs: e.attrs.clone(),
            path: e.path.clone(),
            neighbours,
        }
    }

    /// How alike two elements are, in [0, 1]: a weighted average over the
    /// attributes either of them has (one that neither has says nothing).
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        let mut num = 0.0;
        let mut den = 0.0;
        let mut add = |weight: f64, sim: Option<f64>| {
            if let Some(s) = sim {
                num += weight * s;
                den += weight;
            }
        };
        add(1.5, Some(f64::from(u8::from(self.tag == other.tag))));
        add(1.0, Some(f64::from(u8::from(self.role == other.role))));
        add(1.5, optional(self.id.as_deref(), other.id.as_deref()));
        add(
            1.5,
            optional(self.test_id.as_deref(), other.test_id.as_deref()),
        );
        add(1.5, text(&self.name, &other.name));
        if self.text != self.name || other.text != other.name {
            add(1.5, text(&self.text, &other.text));
        }
        add(1.0, optional(self.label.as_deref(), other.label.as_deref()));
        add(
            1.0,
            optional(self.placeholder.as_deref(), other.placeholder.as_deref()),
        );
        add(0.5, optional(self.alt.as_deref(), other.alt.as_deref()));
        add(0.5, optional(self.title.as_deref(), other.title.as_deref()));
        add(1.0, jaccard(&self.classes, &other.classes));
        add(0.5, attributes(&self.attrs, &other.attrs));
        add(
            0.5,
            Some(strsim::normalized_levenshtein(&self.path, &other.path)),
        );
        add(1.5, texts(&self.neighbours, &other.neighbours));
        if den == 0.0 { 0.0 } else { num / den }
    }
}

/// Texts of the elements around `i`: its siblings, or, when it is its
/// parent's only child (a wrapper's content), its parent's siblings.
fn neighbours(page: &Page, i: usize) -> Vec<String> {
    let (children, top) = children(page);
    neighbours_with(page, i, &|p| match p {
        Some(p) => &children[p],
        None => &top,
    })
}

/// Each element's children, and the top-level elements.
fn children(page: &Page) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); page.elements.len()];
    let mut top: Vec<usize> = Vec::new();
    for (i, e) in page.elements.iter().enumerate() {
        match e.parent {
            Some(p) => children[p].push(i),
            None => top.push(i),
        }
    }
    (children, top)
}

fn neighbours_with<'a>(
    page: &Page,
    i: usize,
    children: &dyn Fn(Option<usize>) -> &'a [usize],
) -> Vec<String> {
    let mut at = i;
    // Climb wrappers: an element alone in its parent is known by the parent's neighbours.
    for _ in 0..3 {
        let parent = page.elements[at].parent;
        let siblings = children(parent);
        let texts: Vec<String> = siblings
            .iter()
            .filter(|&&k| k != at && page.elements[k].visible)
            .map(|&k| bounded(&page.elements[k].text))
            .filter(|t| !t.is_empty())
            .take(6)
            .collect();
        if !texts.is_empty() {
            return texts;
        }
        match parent {
            Some(p) => at = p,
            None => break,
        }
    }
    Vec::new()
}

fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Text similarity: equal (case and spacing aside) is 1, else the better of
/// edit-distance and word-overlap similarity; `None` when both are empty.
fn text(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (norm(a), norm(b));
    if a.is_empty() && b.is_empty() {
        return None;
    }
    if a == b {
        return Some(1.0);
    }
    let mut wa: Vec<&str> = a.split(' ').collect();
    let mut wb: Vec<&str> = b.split(' ').collect();
    for w in [&mut wa, &mut wb] {
        w.sort_unstable();
        w.dedup();
    }
    let common = wa.iter().filter(|w| wb.contains(w)).count() as f64;
    let overlap = common / (wa.len().max(wb.len()) as f64);
    Some(strsim::normalized_levenshtein(&a, &b).max(overlap))
}

fn optional(a: Option<&str>, b: Option<&str>) -> Option<f64> {
    text(a.unwrap_or_default(), b.unwrap_or_default())
}

fn jaccard(a: &[String], b: &[String]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let dedup = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (a, b) = (&dedup(a)[..], &dedup(b)[..]);
    let common = a.iter().filter(|x| b.contains(x)).count() as f64;
    let union = (a.len() + b.len()) as f64 - common;
    Some(common / union)
}

fn attributes(a: &[(String, String)], b: &[(String, String)]) -> Option<f64> {
    let mut keys: Vec<&str> = a.iter().chain(b).map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let get = |list: &[(String, String)], k: &str| {
        list.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let sum: f64 = keys
        .iter()
        .map(|k| text(&get(a, k), &get(b, k)).unwrap_or(0.0))
        .sum();
    Some(sum / keys.len() as f64)
}

/// How many of `a`'s texts `b` has (each at its best match), over the larger list.
fn texts(a: &[String], b: &[String]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let best: f64 = a
        .iter()
        .map(|x| {
            b.iter()
                .map(|y| text(x, y).unwrap_or(0.0))
                .fold(0.0, f64::max)
        })
        .sum();
    Some(best / a.len().max(b.len()) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"<html><body><main><h1>Items</h1><p class="count">5 items</p>
        <a id="add-item" class="button" href="/items/new">Add item</a>
        <ul class="items"><li>Blue Widget</li><li>Red Gadget</li></ul></main></body></html>"#;

    fn find(page: &Page, tag: &str, text: &str) -> usize {
        page.elements
            .iter()
            .position(|e| e.tag == tag && e.text == text)
            .expect("element")
    }

    #[test]
    fn the_same_element_renamed_and_wrapped_is_closer_than_its_neighbours() {
        let before = Page::parse(BEFORE);
        let was = Fingerprint::of(&before, find(&before, "a", "Add item"));
        let after = Page::parse(
            &BEFORE.replace(
                r#"<a id="add-item" class="button" href="/items/new">Add item</a>"#,
                r#"<div class="actions"><a id="create-item" class="button" href="/items/new">Add item</a></div>"#,
            ),
        );
        let all = Fingerprint::all(&after);
        let mut scored: Vec<(f64, &str)> = all
            .iter()
            .zip(&after.elements)
            .map(|(f, e)| (was.similarity(f), e.text.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(scored[0].1, "Add item", "{scored:?}");
        assert!(scored[0].0 > 0.75, "{scored:?}");
        assert!(scored[0].0 - scored[1].0 > 0.2, "{scored:?}");
    }

    #[test]
    fn one_pass_and_one_element_agree() {
        let page = Page::parse(BEFORE);
        let all = Fingerprint::all(&page);
        for (i, f) in all.iter().enumerate() {
            assert_eq!(*f, Fingerprint::of(&page, i), "element {i}");
        }
    }

    #[test]
    fn an_element_is_itself() {
        let page = Page::parse(BEFORE);
        let f = Fingerprint::of(&page, find(&page, "p", "5 items"));
        assert!((f.similarity(&f) - 1.0).abs() < 1e-9);
    }
}
