//! Playwright's ARIA snapshot (the "Page snapshot" of `error-context.md`):
//! parsing it into nodes, and finding the elements closest to a failing locator.
//!
//! A snapshot line looks like `- link "Add item" [ref=e13] [cursor=pointer]:`,
//! `- heading "Items" [level=1]`, `- paragraph [ref=e12]: 1 items` or
//! `- text: refused to connect.`; nesting is by indentation.

use crate::diagnose::locator::{Locator, LocatorKind};

/// One element of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// ARIA role (`button`, `link`, `heading`, `text`, …).
    pub role: String,
    /// Accessible name, when the snapshot gives one.
    pub name: Option<String>,
    /// Inline text after `:`.
    pub text: Option<String>,
    /// `[level=1]`, `[checked]`, … (without `ref` and `cursor`).
    pub attributes: Vec<String>,
    /// Nesting depth (0 at the root).
    pub depth: usize,
    /// 1-based line in the snapshot.
    pub line: usize,
}

impl Node {
    /// The name, or else the inline text.
    pub fn label(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.text.as_deref())
            .filter(|s| !s.trim().is_empty())
    }
}

/// Parses an ARIA snapshot; lines that are not elements (`/url:` properties) are skipped.
pub fn parse(snapshot: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (i, raw) in snapshot.lines().enumerate() {
        let indent = raw.len() - raw.trim_start().len();
        let Some(rest) = raw.trim_start().strip_prefix("- ") else {
            continue;
        };
        if rest.starts_with('/') {
            continue;
        }
        let (head, text) = split_inline_text(rest);
        let role_end = head
            .char_indices()
            .find(|(_, c)| *c == ' ' || *c == '"' || *c == '[')
            .map_or(head.len(), |(i, _)| i);
        let role = head[..role_end].trim().trim_end_matches(':').to_owned();
        if role.is_empty() || !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        let after = &head[role_end..];
        let name = quoted(after);
        let attributes = after
            .split('[')
            .skip(1)
            .filter_map(|a| a.split(']').next())
            .filter(|a| !a.starts_with("ref=") && !a.starts_with("cursor="))
            .map(str::to_owned)
            .collect();
        nodes.push(Node {
            role,
            name,
            text,
            attributes,
            depth: indent / 2,
            line: i + 1,
        });
    }
    nodes
}

/// Splits `role "name" [attrs]: text` at the colon that follows the head.
fn split_inline_text(rest: &str) -> (&str, Option<String>) {
    let mut in_quote = false;
    let mut bracket = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '[' if !in_quote => bracket += 1,
            ']' if !in_quote => bracket = bracket.saturating_sub(1),
            ':' if !in_quote && bracket == 0 => {
                let text = rest[i + 1..].trim();
                let text = text.trim_matches('"');
                return (&rest[..i], (!text.is_empty()).then(|| text.to_owned()));
            }
            _ => {}
        }
    }
    (rest, None)
}

fn quoted(s: &str) -> Option<String> {
    let start = s.find('"')?;
    let rest = &s[start + 1..];
    let mut out = String::new();
    let mut escaped = false;
    for c in rest.chars() {
        match (escaped, c) {
            (true, c) => {
                out.push(c);
                escaped = false;
            }
            (false, '\\') => escaped = true,
            (false, '"') => return Some(out),
            (false, c) => out.push(c),
        }
    }
    None
}

/// A snapshot element that could be what a failing locator meant.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The element.
    pub node: Node,
    /// Similarity to the locator in [0, 1].
    pub score: f64,
    /// A locator for it, in the style of the original where possible.
    pub locator: String,
}

/// Roles worth proposing: things a test clicks, reads or fills.
const USEFUL_ROLES: &[&str] = &[
    "button",
    "link",
    "heading",
    "textbox",
    "checkbox",
    "radio",
    "combobox",
    "listitem",
    "row",
    "cell",
    "tab",
    "menuitem",
    "option",
    "img",
    "paragraph",
    "status",
    "alert",
    "dialog",
    "navigation",
    "text",
    "generic",
    "searchbox",
    "spinbutton",
    "switch",
    "banner",
    "main",
    "list",
    "table",
    "region",
    "article",
];

/// Scores every labelled element of `nodes` against `locator`, best first, at most `limit`.
pub fn candidates(locator: &Locator, nodes: &[Node], limit: usize) -> Vec<Candidate> {
    let target_words = locator.words();
    if target_words.is_empty() && locator.role().is_none() {
        return Vec::new();
    }
    let target_text = target_words.join(" ");
    let mut scored: Vec<(f64, &Node)> = nodes
        .iter()
        .filter(|n| USEFUL_ROLES.contains(&n.role.as_str()))
        .filter_map(|n| {
            let label = n.label()?;
            let words = crate::diagnose::locator::words(label);
            let name_sim = if target_words.is_empty() {
                0.0
            } else {
                dice(&target_words, &words).max(strsim::normalized_levenshtein(
                    &target_text,
                    &words.join(" "),
                ))
            };
            let role_sim = match locator.role() {
                Some(r) if r == n.role => 1.0,
                Some(_) => 0.0,
                None => {
                    let hinted = target_words
                        .iter()
                        .any(|w| role_hint(w) == Some(n.role.as_str()));
                    if hinted { 1.0 } else { 0.5 }
                }
            };
            let interactive = matches!(
                n.role.as_str(),
                "button" | "link" | "textbox" | "checkbox" | "combobox" | "tab" | "menuitem"
            );
            let mut score = 0.75 * name_sim + 0.2 * role_sim + if interactive { 0.05 } else { 0.0 };
            if locator.role().is_some() && locator.name().is_none() {
                // getByRole('heading', { level: 1 }): the role is the whole locator.
                score = 0.8 * role_sim + 0.2 * name_sim;
            }
            (score > 0.0).then_some(((score * 1000.0).round() / 1000.0, n))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.line.cmp(&b.1.line)));
    // Proposals are built best first, only until `limit` distinct ones exist.
    let mut out: Vec<Candidate> = Vec::with_capacity(limit.min(scored.len()));
    for (score, n) in scored {
        if out.len() == limit {
            break;
        }
        let proposed = propose(locator, n);
        if out.last().is_some_and(|c| c.locator == proposed) {
            continue;
        }
        out.push(Candidate {
            locator: proposed,
            score,
            node: n.clone(),
        });
    }
    out
}

fn role_hint(word: &str) -> Option<&'static str> {
    match word {
        "btn" | "button" | "submit" => Some("button"),
        "link" | "nav" => Some("link"),
        "input" | "field" | "textbox" => Some("textbox"),
        "title" | "heading" | "header" => Some("heading"),
        "row" => Some("row"),
        "item" => Some("listitem"),
        _ => None,
    }
}

/// Words UIs use interchangeably for the same action: a renamed control
/// usually keeps its meaning ("Add item" → "New item").
const SYNONYMS: &[&[&str]] = &[
    &["add", "new", "create", "plus"],
    &["delete", "remove", "trash", "discard"],
    &["edit", "update", "modify", "change"],
    &["save", "submit", "confirm", "apply", "ok"],
    &["close", "dismiss", "cancel", "x"],
    &["login", "signin", "log", "sign"],
    &["search", "find", "filter", "query"],
    &["next", "continue", "forward", "proceed"],
    &["back", "previous", "prev", "return"],
    &["setting", "preference", "option", "config"],
    &["user", "account", "profile"],
];

fn canonical(word: &str) -> &str {
    SYNONYMS
        .iter()
        .find(|group| group.contains(&word))
        .map_or(word, |group| group[0])
}

/// Sørensen–Dice over word sets, synonyms counted as the same word.
fn dice(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let b: Vec<&str> = b.iter().map(|w| canonical(w)).collect();
    let common = a.iter().filter(|w| b.contains(&canonical(w))).count();
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

/// A locator for `node` in the style of `original`: roles stay roles, text stays
/// text, and brittle CSS becomes a role locator.
fn propose(original: &Locator, node: &Node) -> String {
    let label = node.label().unwrap_or_default().replace('\'', "\\'");
    let by_role = || {
        if node.name.is_some() {
            format!("getByRole('{}', {{ name: '{label}' }})", node.role)
        } else {
            format!("getByText('{label}')")
        }
    };
    match original.kind() {
        LocatorKind::Text => format!("getByText('{label}')"),
        LocatorKind::Label if node.role == "textbox" => format!("getByLabel('{label}')"),
        LocatorKind::Placeholder if node.role == "textbox" => {
            format!("getByPlaceholder('{label}')")
        }
        _ if node.role == "text" || node.role == "generic" || node.role == "paragraph" => {
            format!("getByText('{label}')")
        }
        _ => by_role(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = r#"- generic [active] [ref=e1]:
  - banner [ref=e2]:
    - link "Acme Inventory" [ref=e3] [cursor=pointer]:
      - /url: /items
    - navigation "Main" [ref=e5]:
      - link "Items" [ref=e6] [cursor=pointer]:
        - /url: /items
      - button "Sign out" [ref=e9] [cursor=pointer]
  - main [ref=e10]:
    - heading "Items" [level=1] [ref=e11]
    - paragraph [ref=e12]: 5 items
    - link "New item" [ref=e13] [cursor=pointer]:
      - /url: /items/new
    - text: "Quoted: text"
"#;

    #[test]
    fn parses_roles_names_attributes_and_text() {
        let nodes = parse(SNAPSHOT);
        let heading = nodes.iter().find(|n| n.role == "heading").expect("heading");
        assert_eq!(heading.name.as_deref(), Some("Items"));
        assert_eq!(heading.attributes, ["level=1"]);
        assert_eq!(heading.depth, 2);
        let para = nodes.iter().find(|n| n.role == "paragraph").expect("p");
        assert_eq!(para.text.as_deref(), Some("5 items"));
        let text = nodes.iter().find(|n| n.role == "text").expect("text");
        assert_eq!(text.text.as_deref(), Some("Quoted: text"));
        assert!(nodes.iter().all(|n| !n.role.starts_with('/')));
    }

    #[test]
    fn a_renamed_id_finds_its_element() {
        let loc = Locator::parse("locator('#add-item')").expect("css");
        let c = candidates(&loc, &parse(SNAPSHOT), 3);
        assert_eq!(c[0].locator, "getByRole('link', { name: 'New item' })");
        assert!(c[0].score > 0.8, "{c:?}");
        assert!(c[0].score - c[1].score >= 0.1, "{c:?}");
    }

    #[test]
    fn unrelated_names_score_low() {
        let loc = Locator::parse("getByRole('link', { name: 'Blue Widget' })").expect("role");
        let c = candidates(&loc, &parse(SNAPSHOT), 3);
        assert!(c.iter().all(|c| c.score < 0.5), "{c:?}");
    }
}
