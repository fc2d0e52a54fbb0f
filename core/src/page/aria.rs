//! Playwright's ARIA snapshot (the "Page snapshot" of `error-context.md`):
//! parsed into nodes, and turned into a [`Page`] so that a page known only from
//! its snapshot is matched by the same engine as a DOM snapshot or a live page.
//!
//! A snapshot line looks like `- link "Add item" [ref=e13] [cursor=pointer]:`,
//! `- heading "Items" [level=1]`, `- paragraph [ref=e12]: 1 items` or
//! `- text: refused to connect.`; nesting is by indentation.

use std::cell::OnceCell;

use ego_tree::NodeId;
use html5ever::{Attribute, LocalName, QualName, ns};
use scraper::{Html, StrTendril};

use super::{Element, Page, collapse, name_from_content};

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

    /// What its element holds before its children: the inline text, or
    /// else the name.
    fn content(&self) -> Option<&str> {
        self.text
            .as_deref()
            .or(self.name.as_deref())
            .filter(|t| !t.is_empty())
    }

    /// The `[level=…]` attribute's value.
    fn level(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find_map(|a| a.strip_prefix("level="))
    }
}

/// For each node, the node of the element it is nested in (`None` at the
/// top): the nearest shallower node before it that is not text.
fn enclosing(nodes: &[Node]) -> Vec<Option<usize>> {
    // (depth, node) of the elements still open, innermost last.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        while open.last().is_some_and(|&(d, _)| d >= n.depth) {
            open.pop();
        }
        out.push(open.last().map(|&(_, p)| p));
        if n.role != "text" {
            open.push((n.depth, i));
        }
    }
    out
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
/// record).
impl Page {
    /// The page of an ARIA snapshot. Its elements are read from the snapshot
    /// directly; the document tree ([`tree`]) is built only when a CSS selector
    /// is asked, and gives the same elements.
    pub fn from_aria(snapshot: &str) -> Page {
        Page {
            elements: elements(&parse(snapshot)),
            tree: OnceCell::new(),
            aria: Some(snapshot.to_owned()),
        }
    }
}

/// A part of an element's content: text, or a child element.
enum Part<'a> {
    Text(&'a str),
    Child(usize),
}

/// The elements of a snapshot's nodes: what [`Page`] finds in the tree that
/// [`tree`] builds from them (a `div` per node with its role, `aria-label`
/// and `aria-level`, holding its inline text or else its name, then its
/// children), computed without building it.
fn elements(nodes: &[Node]) -> Vec<Element> {
    let mut out: Vec<Element> = Vec::new();
    let mut parts: Vec<Vec<Part<'_>>> = Vec::new();
    // Each node's element, for the nodes that are elements.
    let mut element_of: Vec<Option<usize>> = vec![None; nodes.len()];
    for ((i, n), above) in nodes.iter().enumerate().zip(enclosing(nodes)) {
        let parent = above.and_then(|p| element_of[p]);
        if n.role == "text" {
            if let (Some(p), Some(t)) = (parent, n.text.as_deref().filter(|t| !t.is_empty())) {
                parts[p].push(Part::Text(t));
            }
            continue;
        }
        let index = out.len();
        element_of[i] = Some(index);
        if let Some(p) = parent {
            parts[p].push(Part::Child(index));
        }
        parts.push(n.content().map(Part::Text).into_iter().collect());
        // In the order of their names, as the tree keeps them.
        let mut attrs = Vec::new();
        if let Some(name) = &n.name {
            attrs.push(("aria-label".to_owned(), name.clone()));
        }
        if let Some(level) = n.level() {
            attrs.push(("aria-level".to_owned(), level.to_owned()));
        }
        attrs.push(("role".to_owned(), n.role.clone()));
        // Elements above it: one more than its parent has (depth counts
        // `<html>` and `<body>` too).
        let nesting = parent.map_or(0, |p| out[p].depth - 2 + 1);
        out.push(Element {
            tag: "div".to_owned(),
            role: n.role.to_ascii_lowercase(),
            // Filled in below, once the content of every element is known.
            name: String::new(),
            text: String::new(),
            id: None,
            test_id: None,
            classes: Vec::new(),
            label: n.name.as_deref().map(collapse).filter(|l| !l.is_empty()),
            placeholder: None,
            alt: None,
            title: None,
            level: n.level().and_then(|l| l.parse().ok()),
            attrs,
            // Below `<html>` and `<body>`.
            depth: nesting + 2,
            parent,
            path: vec!["div"; nesting].join("/"),
            visible: true,
            snapshot_line: Some(n.line),
        });
    }
    // Text content as the tree's text walk gives it (a `div` is set apart by
    // spaces); children come after their parent, so the last is done first.
    let mut content: Vec<String> = vec![String::new(); out.len()];
    for i in (0..out.len()).rev() {
        let mut s = String::new();
        for part in &parts[i] {
            match part {
                Part::Text(t) => s.push_str(t),
                Part::Child(c) => {
                    s.push(' ');
                    s.push_str(&content[*c]);
                    s.push(' ');
                }
            }
        }
        content[i] = s;
    }
    for (e, content) in out.iter_mut().zip(&content) {
        e.text = collapse(content);
        e.name = match &e.label {
            Some(label) => label.clone(),
            None if name_from_content(&e.role) => e.text.clone(),
            None => String::new(),
        };
    }
    out
}

/// The snapshot as a document tree, for CSS selectors: the elements
/// [`elements`] describes, each carrying its snapshot line.
pub(super) fn tree(snapshot: &str) -> Html {
    let nodes = parse(snapshot);
    let mut html = Html::new_document();
    let body = {
        let mut root = html.tree.root_mut();
        let mut doc = root.append(element("html", Vec::new()));
        doc.append(element("body", Vec::new())).id()
    };
    // Each node's tree node, for the nodes that are elements.
    let mut node_of: Vec<Option<NodeId>> = vec![None; nodes.len()];
    for ((i, n), above) in nodes.iter().enumerate().zip(enclosing(&nodes)) {
        let parent = above.and_then(|p| node_of[p]).unwrap_or(body);
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
        if let Some(level) = n.level() {
            attrs.push(("aria-level", level.to_owned()));
        }
        let mut el = parent.append(element("div", attrs));
        if let Some(t) = n.content() {
            el.append(text(t));
        }
        node_of[i] = Some(el.id());
    }
    html
}

/// The snapshot's lines of the element on 1-based `line` (its own and those
/// nested under it), whitespace collapsed; reading stops once more than `max`
/// bytes are held.
pub(super) fn excerpt(snapshot: &str, line: usize, max: usize) -> String {
    let mut lines = snapshot.lines().skip(line.saturating_sub(1));
    let Some(first) = lines.next().filter(|_| line > 0) else {
        return String::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let own = indent(first);
    let mut out = collapse(first);
    for l in lines.take_while(|l| l.trim().is_empty() || indent(l) > own) {
        if out.len() > max {
            break;
        }
        let l = collapse(l);
        if !l.is_empty() {
            out.push(' ');
            out.push_str(&l);
        }
    }
    out
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

    /// Every ARIA snapshot of the fixtures, and the one above.
    fn recorded_snapshots() -> Vec<String> {
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
        snapshots
    }

    /// The elements read from the snapshot are the ones the page finds in the
    /// tree built from it, and in the markup of that tree parsed.
    #[test]
    fn the_elements_equal_those_of_the_built_tree_and_of_the_parsed_markup() {
        let mut elements = 0;
        for snapshot in &recorded_snapshots() {
            let direct = Page::from_aria(snapshot).elements;
            let (built, _) = Page::walk(tree(snapshot));
            let parsed = Page::parse(&markup(snapshot)).elements;
            assert_eq!(direct, built);
            assert_eq!(direct, parsed);
            elements += direct.len();
        }
        assert!(elements > 200, "{elements} elements compared");
    }

    #[test]
    fn css_selectors_work_on_a_page_made_from_a_snapshot() {
        let page = Page::from_aria(SNAPSHOT);
        let links = page.select_css("[role=link]", None).expect("css");
        let names: Vec<&str> = links
            .iter()
            .map(|&i| page.elements[i].name.as_str())
            .collect();
        assert_eq!(names, ["Acme Inventory", "Items", "New item"]);
        let nav = page
            .elements
            .iter()
            .position(|e| e.role == "navigation")
            .expect("nav");
        let inside = page.select_css("[role=link]", Some(nav)).expect("css");
        assert_eq!(inside.len(), 1);
        assert_eq!(page.elements[inside[0]].name, "Items");
        assert!(page.select_css("#add-item", None).expect("css").is_empty());
    }

    #[test]
    fn an_elements_excerpt_is_its_own_lines_of_the_snapshot() {
        let page = Page::from_aria(SNAPSHOT);
        let at = |role: &str| {
            page.elements
                .iter()
                .position(|e| e.role == role)
                .expect("element")
        };
        assert_eq!(
            page.outer_html(at("navigation"), 240),
            "- navigation \"Main\" [ref=e5]: - link \"Items\" [ref=e6] [cursor=pointer]: \
             - /url: /items - button \"Sign out\" [ref=e9] [cursor=pointer]"
        );
        assert_eq!(
            page.outer_html(at("heading"), 240),
            "- heading \"Items\" [level=1] [ref=e11]"
        );
        assert_eq!(
            page.outer_html(at("navigation"), 20),
            "- navigation \"Main\" …"
        );
        let whole = page.outer_html(0, 10_000);
        assert!(
            whole.starts_with("- generic [active] [ref=e1]: - banner"),
            "{whole}"
        );
        assert!(whole.ends_with("- text: \"Quoted: text\""), "{whole}");
    }
}
