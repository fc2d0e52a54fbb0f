//! Playwright's ARIA snapshot (the "Page snapshot" of `error-context.md`):
//! parsed into nodes, and turned into a [`Page`] so that a page known only from
//! its snapshot is matched by the same engine as a DOM snapshot or a live page.
//!
//! A snapshot line looks like `- link "Add item" [ref=e13] [cursor=pointer]:`,
//! `- heading "Items" [level=1]`, `- paragraph [ref=e12]: 1 items` or
//! `- text: refused to connect.`; nesting is by indentation.

use ego_tree::NodeId;
use html5ever::{Attribute, LocalName, QualName, ns};
use scraper::{Html, StrTendril};

use super::Page;

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

/// The attribute that carries a snapshot node's line into its element.
pub(super) const SNAPSHOT_LINE: &str = "data-aria-line";

/// An ARIA snapshot as a document of elements with explicit roles and names,
/// so that pages known only from `error-context.md` are scored like DOM
/// snapshots (without ids, test ids or classes, which an ARIA snapshot does not
/// record). The tree is built directly: no markup is written or parsed.
impl Page {
    /// The page of an ARIA snapshot.
    pub fn from_aria(snapshot: &str) -> Page {
        let nodes = parse(snapshot);
        let mut html = Html::new_document();
        let body = {
            let mut root = html.tree.root_mut();
            let mut doc = root.append(element("html", Vec::new()));
            doc.append(element("body", Vec::new())).id()
        };
        // (depth, node) of the elements still open, innermost last.
        let mut open: Vec<(usize, NodeId)> = Vec::new();
        for n in &nodes {
            while open.last().is_some_and(|&(d, _)| d >= n.depth) {
                open.pop();
            }
            let parent = open.last().map_or(body, |&(_, id)| id);
            let Some(mut parent) = html.tree.get_mut(parent) else {
                continue;
            };
            if n.role == "text" {
                if let Some(t) = n.text.as_deref().filter(|t| !t.is_empty()) {
                    parent.append(text(t));
                }
                continue;
            }
            let mut attrs = vec![
                ("role", n.role.clone()),
                (SNAPSHOT_LINE, n.line.to_string()),
            ];
            if let Some(name) = &n.name {
                attrs.push(("aria-label", name.clone()));
            }
            if let Some(level) = n.attributes.iter().find_map(|a| a.strip_prefix("level=")) {
                attrs.push(("aria-level", level.to_owned()));
            }
            let mut el = parent.append(element("div", attrs));
            if let Some(t) = n
                .text
                .as_deref()
                .or(n.name.as_deref())
                .filter(|t| !t.is_empty())
            {
                el.append(text(t));
            }
            open.push((n.depth, el.id()));
        }
        Page::from_html(html)
    }
}

/// An HTML element node.
fn element(tag: &str, attrs: Vec<(&str, String)>) -> scraper::Node {
    let name = |local: &str| QualName::new(None, ns!(), LocalName::from(local));
    let attrs = attrs
        .into_iter()
        .map(|(k, v)| Attribute {
            name: name(k),
            value: StrTendril::from(v),
        })
        .collect();
    scraper::Node::Element(scraper::node::Element::new(
        QualName::new(None, ns!(html), LocalName::from(tag)),
        attrs,
    ))
}

/// A text node.
fn text(t: &str) -> scraper::Node {
    scraper::Node::Text(scraper::node::Text {
        text: StrTendril::from(t),
    })
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
    fn aria_snapshots_become_pages() {
        let page = Page::from_aria(
            "- main:\n  - heading \"Items\" [level=1]\n  - link \"New item\":\n    - /url: /items/new\n  - paragraph: 5 items\n",
        );
        let link = page
            .elements
            .iter()
            .find(|e| e.role == "link")
            .expect("link");
        assert_eq!(link.name, "New item");
        let h = page
            .elements
            .iter()
            .find(|e| e.role == "heading")
            .expect("h");
        assert_eq!(h.level, Some(1));
        assert_eq!((link.snapshot_line, h.snapshot_line), (Some(3), Some(2)));
    }

    /// The snapshot as markup, the way pages were once built from it: the
    /// built tree must give the same elements as parsing this.
    fn markup(snapshot: &str) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut html = String::from("<!DOCTYPE html><html><body>");
        let mut open: Vec<usize> = Vec::new();
        for n in parse(snapshot) {
            while open.last().is_some_and(|&d| d >= n.depth) {
                open.pop();
                html.push_str("</div>");
            }
            if n.role == "text" {
                html.push_str(&esc(n.text.as_deref().unwrap_or_default()));
                continue;
            }
            html.push_str(&format!(
                "<div role=\"{}\" {SNAPSHOT_LINE}=\"{}\"",
                esc(&n.role),
                n.line
            ));
            if let Some(name) = &n.name {
                html.push_str(&format!(" aria-label=\"{}\"", esc(name)));
            }
            if let Some(level) = n.attributes.iter().find_map(|a| a.strip_prefix("level=")) {
                html.push_str(&format!(" aria-level=\"{}\"", esc(level)));
            }
            html.push('>');
            if let Some(t) = n.text.as_deref().or(n.name.as_deref()) {
                html.push_str(&esc(t));
            }
            open.push(n.depth);
        }
        for _ in open {
            html.push_str("</div>");
        }
        html.push_str("</body></html>");
        html
    }

    #[test]
    fn the_built_page_equals_the_parsed_markup_for_every_recorded_snapshot() {
        let runs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut snapshots = vec![SNAPSHOT.to_owned()];
        for entry in walkdir::WalkDir::new(&runs).into_iter().flatten() {
            if entry.file_name() == "error-context.md" {
                let text = std::fs::read_to_string(entry.path()).expect("readable");
                snapshots.push(text);
            }
        }
        assert!(
            snapshots.len() > 20,
            "the recorded runs' snapshots were found"
        );
        let mut elements = 0;
        for snapshot in &snapshots {
            let built = Page::from_aria(snapshot);
            let parsed = Page::parse(&markup(snapshot));
            assert_eq!(built.elements.len(), parsed.elements.len());
            for (b, p) in built.elements.iter().zip(&parsed.elements) {
                let mut b = b.clone();
                b.node = p.node;
                assert_eq!(&b, p);
                elements += 1;
            }
        }
        assert!(elements > 200, "{elements} elements compared");
    }
}
