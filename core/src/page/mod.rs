//! The one page model: the page a failing locator was looking at, as elements
//! with the properties locators use: role, accessible name, text, test id, id,
//! classes, label, placeholder, alt, title and place in the tree.
//!
//! Three sources become a [`Page`]: the DOM snapshots Playwright stores in
//! `trace.zip` ([`trace`]), a live page's `outerHTML`, and the ARIA snapshot of
//! `error-context.md` ([`aria`], roles and names only). Markup is
//! parsed with `scraper` (html5ever), so CSS selectors match exactly as a browser
//! would; roles and names follow the HTML-AAM implicit roles and a reduced
//! accessible-name computation (aria-labelledby, aria-label, label, content,
//! alt, title, placeholder).

pub mod aria;
pub mod trace;

use std::cell::OnceCell;
use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Node};

/// One element of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// Lower-case tag name.
    pub tag: String,
    /// Explicit or implicit ARIA role (`generic` when it has none).
    pub role: String,
    /// Accessible name (may be empty).
    pub name: String,
    /// Visible text content, whitespace collapsed.
    pub text: String,
    /// `id` attribute.
    pub id: Option<String>,
    /// `data-testid` (or `data-test-id`, `data-test`) attribute.
    pub test_id: Option<String>,
    /// Class names.
    pub classes: Vec<String>,
    /// Text of the `<label>` that labels a form control.
    pub label: Option<String>,
    /// `placeholder` attribute.
    pub placeholder: Option<String>,
    /// `alt` attribute.
    pub alt: Option<String>,
    /// `title` attribute.
    pub title: Option<String>,
    /// Heading level.
    pub level: Option<u8>,
    /// Other attributes worth comparing (`name`, `type`, `href`, `aria-*`, `value`).
    pub attrs: Vec<(String, String)>,
    /// Depth below `<html>`.
    pub depth: usize,
    /// Index of the parent element in [`Page::elements`].
    pub parent: Option<usize>,
    /// The landmarks and tags above it, outermost first (`main/ul/li`).
    pub path: String,
    /// Whether it is rendered (no `hidden`, `aria-hidden`, `display:none` on it or above).
    pub visible: bool,
    /// Its line in the ARIA snapshot, for a page made from one.
    pub snapshot_line: Option<usize>,
}

/// A CSS selector the selector engine cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{selector:?} is not a CSS selector: {message}")]
pub struct SelectorError {
    /// The selector.
    pub selector: String,
    /// The parser's message.
    pub message: String,
}

/// A parsed page.
#[derive(Debug)]
pub struct Page {
    /// Every element under `<body>`, in document order.
    pub elements: Vec<Element>,
    /// The document tree behind the elements, for CSS selectors and markup.
    tree: OnceCell<Tree>,
    /// The snapshot of a page made from an ARIA snapshot: its tree is built
    /// on the first CSS selector (most questions never ask one), and an
    /// element's excerpt is its own lines, not markup the page never had.
    aria: Option<String>,
}

/// A document tree and where each element of the page is in it.
#[derive(Debug)]
struct Tree {
    html: Html,
    /// Each element's node, by element index.
    nodes: Vec<NodeId>,
    by_node: HashMap<NodeId, usize>,
}

/// An attribute's value, found by name without interning it (scraper's own
/// `attr` builds an atom for every lookup, which dominated page building).
fn attr<'a>(el: &'a scraper::node::Element, name: &str) -> Option<&'a str> {
    el.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
}

const SKIPPED: &[&str] = &[
    "script", "style", "template", "noscript", "head", "meta", "link", "title", "base",
];

impl Page {
    /// Parses a whole document.
    pub fn parse(html: &str) -> Page {
        Page::from_html(Html::parse_document(html))
    }

    /// The page of a document tree, parsed or built.
    fn from_html(html: Html) -> Page {
        let (elements, tree) = Page::walk(html);
        Page {
            elements,
            tree: OnceCell::from(tree),
            aria: None,
        }
    }

    /// Every element of a document tree, with the tree indexed by them.
    fn walk(html: Html) -> (Vec<Element>, Tree) {
        let root = html.root_element();
        let mut stack: Vec<(ElementRef<'_>, Option<usize>, usize, String, bool)> =
            vec![(root, None, 0, String::new(), true)];
        let mut out: Vec<Element> = Vec::new();
        let mut nodes = Vec::new();
        while let Some((el, parent, depth, path, visible)) = stack.pop() {
            let tag = el.value().name().to_ascii_lowercase();
            if SKIPPED.contains(&tag.as_str()) {
                continue;
            }
            let visible = visible && !hidden(&el);
            let index = if tag == "html" || tag == "body" {
                parent
            } else {
                out.push(describe(&html, el, parent, depth, &path, visible));
                nodes.push(el.id());
                Some(out.len() - 1)
            };
            let here = if tag == "html" || tag == "body" {
                path.clone()
            } else if path.is_empty() {
                tag.clone()
            } else {
                format!("{path}/{tag}")
            };
            let children: Vec<ElementRef<'_>> = el.child_elements().collect();
            for child in children.into_iter().rev() {
                stack.push((child, index, depth + 1, here.clone(), visible));
            }
        }
        let by_node = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let tree = Tree {
            html,
            nodes,
            by_node,
        };
        (out, tree)
    }

    /// The document tree, built from the snapshot on first use for a page
    /// made from one.
    fn tree(&self) -> &Tree {
        self.tree.get_or_init(|| {
            let html = aria::tree(self.aria.as_deref().unwrap_or_default());
            let (elements, tree) = Page::walk(html);
            debug_assert_eq!(elements, self.elements, "the tree gives the same elements");
            tree
        })
    }

    /// The element indices matching a CSS selector inside `scope` (the whole page
    /// when `None`); `Err` with the parser's message for a selector it cannot read.
    pub fn select_css(&self, css: &str, scope: Option<usize>) -> Result<Vec<usize>, SelectorError> {
        let selector = scraper::Selector::parse(css).map_err(|e| SelectorError {
            selector: css.to_owned(),
            message: e.to_string(),
        })?;
        let tree = self.tree();
        let mut out = Vec::new();
        match scope {
            None => {
                for el in tree.html.select(&selector) {
                    if let Some(&i) = tree.by_node.get(&el.id()) {
                        out.push(i);
                    }
                }
            }
            Some(s) => {
                let Some(el) = tree.element(s) else {
                    return Ok(out);
                };
                for m in el.select(&selector) {
                    if let Some(&i) = tree.by_node.get(&m.id()) {
                        out.push(i);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether `inner` is `outer` or inside it.
    pub fn contains(&self, outer: usize, inner: usize) -> bool {
        let mut cur = Some(inner);
        while let Some(i) = cur {
            if i == outer {
                return true;
            }
            cur = self.elements[i].parent;
        }
        false
    }

    /// The outer HTML of an element, whitespace collapsed, cut after `max`
    /// bytes with `…`, for the metadata. Only what is shown is serialized: a
    /// wrapper's outer HTML is most of the page. For a page made from an ARIA
    /// snapshot: the element's lines of the snapshot, the same way.
    pub fn outer_html(&self, index: usize, max: usize) -> String {
        if let Some(snapshot) = &self.aria {
            let line = self.elements[index].snapshot_line.unwrap_or_default();
            return cut(aria::excerpt(snapshot, line, max), max);
        }
        let Some(el) = self.tree().element(index) else {
            return String::new();
        };
        let mut out = Collapsed::new(max);
        let opts = html5ever::serialize::SerializeOpts {
            scripting_enabled: false,
            traversal_scope: html5ever::serialize::TraversalScope::IncludeNode,
            create_missing_parent: false,
        };
        // An error is the writer saying it holds enough.
        let _ = html5ever::serialize(&mut out, &el, opts);
        cut(out.text, max)
    }
}

impl Tree {
    /// The node of the element at `index`.
    fn element(&self, index: usize) -> Option<ElementRef<'_>> {
        let node = *self.nodes.get(index)?;
        self.html.tree.get(node).and_then(ElementRef::wrap)
    }
}

/// `text` cut after `max` bytes (on a character boundary), with `…`.
fn cut(text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text
    }
}

/// A writer that collapses whitespace as [`collapse`] does and stops the
/// writing (with an error) once it holds more than `max` bytes.
struct Collapsed {
    text: String,
    max: usize,
    space: bool,
    /// The start of a character split between two writes.
    partial: Vec<u8>,
}

impl Collapsed {
    fn new(max: usize) -> Collapsed {
        Collapsed {
            text: String::new(),
            max,
            space: false,
            partial: Vec::new(),
        }
    }
}

impl std::io::Write for Collapsed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        };
        let bytes = std::mem::take(&mut self.partial);
        let (done, rest) = bytes.split_at(valid);
        for c in String::from_utf8_lossy(done).chars() {
            if c.is_whitespace() {
                self.space = !self.text.is_empty();
                continue;
            }
            if self.space {
                self.text.push(' ');
                self.space = false;
            }
            self.text.push(c);
        }
        self.partial = rest.to_vec();
        if self.text.len() > self.max {
            return Err(std::io::Error::other("enough markup for the excerpt"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hidden(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    attr(v, "hidden").is_some()
        || attr(v, "aria-hidden") == Some("true")
        || attr(v, "style").is_some_and(|s| {
            let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            s.contains("display:none") || s.contains("visibility:hidden")
        })
        || (v.name() == "input" && attr(v, "type") == Some("hidden"))
}

fn describe(
    html: &Html,
    el: ElementRef<'_>,
    parent: Option<usize>,
    depth: usize,
    path: &str,
    visible: bool,
) -> Element {
    let v = el.value();
    let tag = v.name().to_ascii_lowercase();
    let role = role_of(&el, &tag);
    let label = label_of(html, &el, &tag);
    let text = collapse(&visible_text(&el));
    let name = name_of(html, &el, &role, &text, label.as_deref());
    let attr_text = |k: &str| attr(v, k).map(collapse).filter(|s| !s.is_empty());
    let level = tag
        .strip_prefix('h')
        .and_then(|d| d.parse::<u8>().ok())
        .filter(|l| (1..=6).contains(l))
        .or_else(|| attr(v, "aria-level").and_then(|l| l.parse().ok()));
    let attrs = v
        .attrs()
        .filter(|(k, _)| {
            matches!(*k, "name" | "type" | "href" | "value" | "for" | "role")
                || k.starts_with("aria-")
        })
        .map(|(k, val)| (k.to_owned(), val.to_owned()))
        .collect();
    Element {
        role,
        name,
        text,
        id: attr_text("id"),
        test_id: attr_text("data-testid")
            .or_else(|| attr_text("data-test-id"))
            .or_else(|| attr_text("data-test")),
        classes: v.classes().map(str::to_owned).collect(),
        label,
        placeholder: attr_text("placeholder"),
        alt: attr_text("alt"),
        title: attr_text("title"),
        level,
        attrs,
        depth,
        parent,
        path: path.to_owned(),
        visible,
        snapshot_line: attr(v, aria::SNAPSHOT_LINE).and_then(|l| l.parse().ok()),
        tag,
    }
}

/// Collapses runs of whitespace into one space and trims.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text content without hidden subtrees; images contribute their alt text.
fn visible_text(el: &ElementRef<'_>) -> String {
    let mut out = String::new();
    fn walk(node: ego_tree::NodeRef<'_, Node>, out: &mut String) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => {
                    let Some(er) = ElementRef::wrap(child) else {
                        continue;
                    };
                    let name = e.name();
                    if SKIPPED.contains(&name) || hidden(&er) {
                        continue;
                    }
                    if name == "img" {
                        if let Some(alt) = attr(e, "alt") {
                            out.push(' ');
                            out.push_str(alt);
                            out.push(' ');
                        }
                        continue;
                    }
                    if matches!(name, "br" | "p" | "div" | "li") {
                        out.push(' ');
                    }
                    walk(child, out);
                    if matches!(name, "p" | "div" | "li" | "td" | "th") {
                        out.push(' ');
                    }
                }
                _ => {}
            }
        }
    }
    walk(**el, &mut out);
    out
}

/// HTML-AAM implicit roles for the elements tests commonly target.
fn role_of(el: &ElementRef<'_>, tag: &str) -> String {
    let v = el.value();
    if let Some(r) = attr(v, "role").and_then(|r| r.split_whitespace().next()) {
        return r.to_ascii_lowercase();
    }
    let in_sectioning = || {
        el.ancestors().any(|a| {
            a.value().as_element().is_some_and(|e| {
                matches!(e.name(), "article" | "aside" | "main" | "nav" | "section")
            })
        })
    };
    let named = attr(v, "aria-label").is_some() || attr(v, "aria-labelledby").is_some();
    let role = match tag {
        "a" | "area" if attr(v, "href").is_some() => "link",
        "button" => "button",
        "input" => match v
            .attrs()
            .find(|(k, _)| *k == "type")
            .map(|(_, v)| v)
            .unwrap_or("text")
            .to_ascii_lowercase()
            .as_str()
        {
            "button" | "submit" | "reset" | "image" => "button",
            "checkbox" => "checkbox",
            "radio" => "radio",
            "range" => "slider",
            "number" => "spinbutton",
            "search" => "searchbox",
            "hidden" | "file" | "color" | "date" | "time" | "datetime-local" | "month" | "week" => {
                "generic"
            }
            _ => "textbox",
        },
        "textarea" => "textbox",
        "select" => {
            if attr(v, "multiple").is_some()
                || attr(v, "size").is_some_and(|s| s != "1" && s != "0")
            {
                "listbox"
            } else {
                "combobox"
            }
        }
        "option" => "option",
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => "heading",
        "ul" | "ol" | "menu" => "list",
        "li" => "listitem",
        "table" => "table",
        "tr" => "row",
        "td" => "cell",
        "th" => "columnheader",
        "thead" | "tbody" | "tfoot" => "rowgroup",
        "nav" => "navigation",
        "main" => "main",
        "header" if !in_sectioning() => "banner",
        "footer" if !in_sectioning() => "contentinfo",
        "aside" => "complementary",
        "form" if named => "form",
        "section" if named => "region",
        "article" => "article",
        "dialog" => "dialog",
        "img" if attr(v, "alt") == Some("") => "presentation",
        "img" => "img",
        "p" => "paragraph",
        "hr" => "separator",
        "fieldset" | "details" => "group",
        "progress" => "progressbar",
        "output" => "status",
        "dl" => "list",
        _ => "generic",
    };
    role.to_owned()
}

fn text_of_ids(html: &Html, ids: &str) -> Option<String> {
    let mut parts = Vec::new();
    for id in ids.split_whitespace() {
        let sel =
            scraper::Selector::parse(&format!("[id=\"{}\"]", id.replace('"', "\\\""))).ok()?;
        if let Some(e) = html.select(&sel).next() {
            parts.push(collapse(&visible_text(&e)));
        }
    }
    let s = parts.join(" ");
    (!s.is_empty()).then_some(s)
}

fn is_labelable(tag: &str) -> bool {
    matches!(
        tag,
        "input" | "textarea" | "select" | "button" | "meter" | "output" | "progress"
    )
}

/// The text of the `<label>` for a form control: `label[for=id]` or an enclosing label.
fn label_of(html: &Html, el: &ElementRef<'_>, tag: &str) -> Option<String> {
    let v = el.value();
    if let Some(ids) = attr(v, "aria-labelledby") {
        return text_of_ids(html, ids);
    }
    if let Some(l) = attr(v, "aria-label")
        .map(collapse)
        .filter(|s| !s.is_empty())
    {
        return Some(l);
    }
    if !is_labelable(tag) {
        return None;
    }
    if let Some(id) = attr(v, "id") {
        let sel = scraper::Selector::parse(&format!("label[for=\"{}\"]", id.replace('"', "\\\"")))
            .ok()?;
        if let Some(l) = html.select(&sel).next() {
            let t = collapse(&visible_text(&l));
            if !t.is_empty() {
                return Some(t);
            }
        }
    }
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().name() == "label")
        .map(|l| collapse(&visible_text(&l)))
        .filter(|t| !t.is_empty())
}

/// Roles whose name comes from their content.
fn name_from_content(role: &str) -> bool {
    matches!(
        role,
        "button"
            | "cell"
            | "checkbox"
            | "columnheader"
            | "gridcell"
            | "heading"
            | "link"
            | "menuitem"
            | "option"
            | "radio"
            | "row"
            | "rowheader"
            | "switch"
            | "tab"
            | "tooltip"
            | "treeitem"
    )
}

fn name_of(
    html: &Html,
    el: &ElementRef<'_>,
    role: &str,
    text: &str,
    label: Option<&str>,
) -> String {
    let v = el.value();
    if let Some(ids) = attr(v, "aria-labelledby")
        && let Some(t) = text_of_ids(html, ids)
    {
        return t;
    }
    if let Some(l) = attr(v, "aria-label")
        .map(collapse)
        .filter(|s| !s.is_empty())
    {
        return l;
    }
    if let Some(l) = label {
        return l.to_owned();
    }
    let tag = v.name();
    if (tag == "img" || (tag == "input" && attr(v, "type") == Some("image")))
        && let Some(alt) = attr(v, "alt")
    {
        return collapse(alt);
    }
    if tag == "input"
        && matches!(attr(v, "type"), Some("submit" | "button" | "reset"))
        && let Some(val) = attr(v, "value")
    {
        return collapse(val);
    }
    if name_from_content(role) && !text.is_empty() {
        return text.to_owned();
    }
    if let Some(t) = attr(v, "title") {
        return collapse(t);
    }
    if let Some(p) = attr(v, "placeholder") {
        return collapse(p);
    }
    let _ = html;
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = r#"<!doctype html><html><body>
      <header class="banner"><a class="brand" href="/items"><span aria-hidden="true"></span>Acme</a>
        <nav aria-label="Main"><a href="/items">Items</a><form method="post"><button type="submit">Sign out</button></form></nav></header>
      <main><h1>Items</h1><p class="count" data-testid="item-count">5 items</p>
        <a id="new-item" class="button" href="/items/new">New item</a>
        <ul class="items"><li data-testid="product-row"><a href="/items/1">Blue Widget</a> <span class="price">$19.99</span></li></ul>
        <form><label for="name">Title</label><input id="name" name="name">
          <label>Price <input name="price" placeholder="0.00"></label>
          <img src="x.png" alt="Logo"><div hidden><button>Ghost</button></div></form>
      </main></body></html>"#;

    #[test]
    fn roles_names_and_attributes() {
        let page = Page::parse(HTML);
        let find = |pred: &dyn Fn(&Element) -> bool| {
            page.elements.iter().find(|e| pred(e)).expect("element")
        };
        let link = find(&|e| e.id.as_deref() == Some("new-item"));
        assert_eq!(
            (link.role.as_str(), link.name.as_str()),
            ("link", "New item")
        );
        assert_eq!(link.classes, ["button"]);
        assert_eq!(link.path, "main");
        let row = find(&|e| e.test_id.as_deref() == Some("product-row"));
        assert_eq!(row.role, "listitem");
        assert_eq!(row.text, "Blue Widget $19.99");
        let name = find(&|e| e.attrs.iter().any(|(k, v)| k == "name" && v == "name"));
        assert_eq!(
            (name.role.as_str(), name.label.as_deref()),
            ("textbox", Some("Title"))
        );
        let price = find(&|e| e.placeholder.is_some());
        assert_eq!(
            (price.name.as_str(), price.label.as_deref()),
            ("Price", Some("Price"))
        );
        let h1 = find(&|e| e.tag == "h1");
        assert_eq!((h1.role.as_str(), h1.level), ("heading", Some(1)));
        let banner = find(&|e| e.tag == "header");
        assert_eq!(banner.role, "banner");
        let img = find(&|e| e.tag == "img");
        assert_eq!((img.role.as_str(), img.name.as_str()), ("img", "Logo"));
        let ghost = find(&|e| e.text == "Ghost" && e.tag == "button");
        assert!(!ghost.visible);
        let nav = find(&|e| e.tag == "nav");
        assert_eq!(
            (nav.role.as_str(), nav.name.as_str()),
            ("navigation", "Main")
        );
    }

    #[test]
    fn css_selection_scoped() {
        let page = Page::parse(HTML);
        let all = page.select_css("a", None).expect("css");
        assert_eq!(all.len(), 4);
        let main = page
            .elements
            .iter()
            .position(|e| e.tag == "main")
            .expect("main");
        let inside = page.select_css("a", Some(main)).expect("css");
        assert_eq!(inside.len(), 2);
        assert!(inside.iter().all(|&i| page.contains(main, i)));
        assert!(page.select_css("a[", None).is_err());
    }

    #[test]
    fn outer_html_is_the_collapsed_markup_cut_at_the_bound() {
        let html = "<html><body><main id=\"m\">\n  <h1 class=\"t\">Caf\u{e9}\u{2003} &amp; more</h1>\n\n\
                    <ul>\u{3000}<li>\u{65e5}\u{672c}\u{8a9e} one</li>   <li>two&nbsp;three</li></ul>\
                    <img alt=\"a &quot;b&quot;\"><br><p>  tail  </p></main></body></html>";
        let page = Page::parse(html);
        for i in 0..page.elements.len() {
            let el = page.tree().element(i).expect("element");
            let full = collapse(&el.html());
            for max in [0, 1, 5, 17, 18, 19, 40, 240, 10_000] {
                let expected = if full.len() > max {
                    let mut end = max;
                    while !full.is_char_boundary(end) {
                        end -= 1;
                    }
                    format!("{}…", &full[..end])
                } else {
                    full.clone()
                };
                assert_eq!(page.outer_html(i, max), expected, "element {i}, max {max}");
            }
        }
    }
}
