//! Playwright locators as they appear in call logs, error messages and specs:
//! `locator('#add-item')`, `getByRole('link', { name: 'Blue Widget' })`,
//! `getByTestId('item-row')`, chains with `.locator()`, `.first()`, `.nth(n)`.
//!
//! Only what diagnosis needs: the kind, the role, the name or text, and the
//! words a human would use to find the element again.

use std::sync::LazyLock;

use regex::Regex;

/// How a locator finds its element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocatorKind {
    /// `locator('css')` or a bare selector.
    Css,
    /// `locator('xpath=…')` / `//…`.
    XPath,
    /// `getByRole`.
    Role,
    /// `getByText` / `text=`.
    Text,
    /// `getByLabel`.
    Label,
    /// `getByPlaceholder`.
    Placeholder,
    /// `getByTestId` / `[data-testid=…]`.
    TestId,
    /// `getByAltText`.
    AltText,
    /// `getByTitle`.
    Title,
}

/// The last segment of a (possibly chained) locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// The locator as written.
    pub source: String,
    kind: LocatorKind,
    /// The selector, text, label or test id argument.
    value: String,
    role: Option<String>,
    name: Option<String>,
}

static CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        (locator|getByRole|getByText|getByLabel|getByPlaceholder|getByTestId|getByAltText|getByTitle
        |get_by_role|get_by_text|get_by_label|get_by_placeholder|get_by_test_id|get_by_alt_text|get_by_title
        |GetByRole|GetByText|GetByLabel|GetByPlaceholder|GetByTestId|GetByAltText|GetByTitle)
        \(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|/((?:[^/\\]|\\.)*)/[a-z]*)
        (?:\s*,\s*\{([^}]*)\})?\s*\)"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static NAME_OPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"name\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|/((?:[^/\\]|\\.)*)/[a-z]*)"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

impl Locator {
    /// Parses the last locator call in `text`; `None` when there is none.
    pub fn parse(text: &str) -> Option<Locator> {
        let caps = CALL.captures_iter(text).last()?;
        // Python and .NET spell the same methods get_by_role / GetByRole.
        let func = caps.get(1)?.as_str().replace('_', "").to_lowercase();
        let value = caps
            .get(2)
            .or(caps.get(3))
            .or(caps.get(4))
            .map_or("", |m| m.as_str())
            .replace("\\'", "'")
            .replace("\\\"", "\"");
        let options = caps.get(5).map(|m| m.as_str());
        let name = options.and_then(|o| {
            let c = NAME_OPT.captures(o)?;
            c.get(1)
                .or(c.get(2))
                .or(c.get(3))
                .map(|m| m.as_str().to_owned())
        });
        let (kind, role) = match func.as_str() {
            "getbyrole" => (LocatorKind::Role, Some(value.clone())),
            "getbytext" => (LocatorKind::Text, None),
            "getbylabel" => (LocatorKind::Label, None),
            "getbyplaceholder" => (LocatorKind::Placeholder, None),
            "getbytestid" => (LocatorKind::TestId, None),
            "getbyalttext" => (LocatorKind::AltText, None),
            "getbytitle" => (LocatorKind::Title, None),
            _ => (selector_kind(&value), None),
        };
        let source = caps.get(0).map_or("", |m| m.as_str()).to_owned();
        Some(Locator {
            source,
            kind,
            value,
            role,
            name,
        })
    }

    /// The kind of locator.
    pub fn kind(&self) -> LocatorKind {
        self.kind
    }

    /// The role of a `getByRole`.
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    /// The accessible name of a `getByRole`.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The text a human would search the page for: the name, text, label,
    /// test id, or the words inside a CSS/XPath selector.
    pub fn target_text(&self) -> &str {
        match self.kind {
            LocatorKind::Role => self.name.as_deref().unwrap_or(""),
            _ => &self.value,
        }
    }

    /// Lower-case words of [`Locator::target_text`], selector syntax and
    /// plural `s` removed (`#add-items` → `add item`).
    pub fn words(&self) -> Vec<String> {
        match self.kind {
            LocatorKind::Css | LocatorKind::XPath => selector_words(&self.value),
            _ => words(self.target_text()),
        }
    }
}

fn selector_kind(selector: &str) -> LocatorKind {
    let s = selector.trim();
    if s.starts_with("xpath=") || s.starts_with("//") {
        LocatorKind::XPath
    } else if s.starts_with("text=") {
        LocatorKind::Text
    } else if s.contains("data-testid") || s.contains("data-test-id") || s.contains("data-test=") {
        LocatorKind::TestId
    } else {
        LocatorKind::Css
    }
}

/// Words inside a CSS or XPath selector: ids, classes, attribute values, text.
fn selector_words(selector: &str) -> Vec<String> {
    const SYNTAX: &[&str] = &[
        "div",
        "span",
        "xpath",
        "text",
        "data",
        "testid",
        "test",
        "id",
        "class",
        "contains",
        "normalize",
        "space",
        "nth",
        "child",
        "of",
        "type",
        "has",
        "not",
        "visible",
        "true",
        "false",
        "aria",
        "label",
        "name",
        "role",
        "internal",
        "css",
    ];
    words(selector)
        .into_iter()
        .filter(|w| !SYNTAX.contains(&w.as_str()))
        .collect()
}

/// Lower-case alphanumeric words, camelCase and kebab-case split, plural `s` removed.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            let mut w = std::mem::take(cur);
            if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            out.push(w);
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower {
                flush(&mut cur, &mut out);
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.extend(c.to_lowercase());
        } else {
            flush(&mut cur, &mut out);
            prev_lower = false;
        }
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_call_logs_use() {
        let l =
            Locator::parse("waiting for getByRole('link', { name: 'Blue Widget' })").expect("role");
        assert_eq!(
            (l.kind(), l.role(), l.name()),
            (LocatorKind::Role, Some("link"), Some("Blue Widget"))
        );
        let l = Locator::parse("waiting for locator('#add-item')").expect("css");
        assert_eq!(l.kind(), LocatorKind::Css);
        assert_eq!(l.words(), ["add", "item"]);
        let l = Locator::parse("getByTestId('item-row')").expect("testid");
        assert_eq!(
            (l.kind(), l.target_text()),
            (LocatorKind::TestId, "item-row")
        );
        let l = Locator::parse("locator('.list').getByText(\"Saved it\")").expect("chain");
        assert_eq!((l.kind(), l.target_text()), (LocatorKind::Text, "Saved it"));
        let l = Locator::parse("getByRole('heading', { level: 1 })").expect("level");
        assert_eq!((l.role(), l.name()), (Some("heading"), None));
        let l = Locator::parse(r"locator('xpath=//button[text()=\'Go\']')").expect("xpath");
        assert_eq!(l.kind(), LocatorKind::XPath);
        assert!(Locator::parse("navigating to \"http://x\"").is_none());
        let l = Locator::parse("waiting for get_by_placeholder(\"Search model\")").expect("python");
        assert_eq!(
            (l.kind(), l.target_text()),
            (LocatorKind::Placeholder, "Search model")
        );
    }

    #[test]
    fn words_split_case_and_plurals() {
        assert_eq!(words("submitButtons"), ["submit", "button"]);
        assert_eq!(words("In stock: 12"), ["in", "stock", "12"]);
        assert_eq!(words("class"), ["class"]);
    }
}
