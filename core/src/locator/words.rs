//! The words a person would use to find an element again: identifiers and
//! texts split into lower-case words (camelCase, kebab-case, plurals), and the
//! words inside a CSS or XPath selector without its syntax.

/// Words inside a CSS or XPath selector: ids, classes, attribute values, text.
pub fn selector_words(selector: &str) -> Vec<String> {
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
    fn words_split_case_and_plurals() {
        assert_eq!(words("submitButtons"), ["submit", "button"]);
        assert_eq!(words("In stock: 12"), ["in", "stock", "12"]);
        assert_eq!(words("class"), ["class"]);
    }

    #[test]
    fn selector_words_drop_the_syntax() {
        assert_eq!(selector_words("#add-items"), ["add", "item"]);
        assert_eq!(
            selector_words("xpath=//div[@data-testid='cart-total']"),
            ["cart", "total"]
        );
    }
}
