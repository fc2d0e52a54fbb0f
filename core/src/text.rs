//! Text helpers every stage shares: one line of a message for a table cell or
//! a title, and Markdown cut to a size limit at a line boundary.

/// The first line of `text`, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > max {
        let mut cut: String = line.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        line.to_owned()
    }
}

/// `text` cut at a line boundary to at most `max_bytes`, with a note saying so.
pub(crate) fn truncate_markdown(mut text: String, max_bytes: usize) -> String {
    const MARKER: &str =
        "\n\n… summary truncated by ci-medic to fit the size limit; the bundle has everything.\n";
    if text.len() <= max_bytes {
        return text;
    }
    let budget = max_bytes.saturating_sub(MARKER.len());
    let mut cut = (0..=budget)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    if let Some(nl) = text[..cut].rfind('\n') {
        cut = nl;
    }
    text.truncate(cut);
    text.push_str(MARKER);
    text
}
