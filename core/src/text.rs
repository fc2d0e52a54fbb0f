//! Text helpers every stage shares: one line of a message for a table cell or
//! a title, Markdown cut to a size limit at a line boundary, and what a byte
//! buffer looks like for the "found …" of an error message.

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

/// Describes what a byte buffer looks like, for "found …" in error messages.
pub fn describe_content(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "an empty file".to_owned();
    }
    let head = &bytes[..bytes.len().min(512)];
    let binary = head.iter().filter(|b| **b == 0 || (**b < 0x09)).count() > 0
        || std::str::from_utf8(head).is_err()
            && std::str::from_utf8(&head[..head.len().saturating_sub(3)]).is_err();
    if binary {
        return format!("binary data ({} bytes)", bytes.len());
    }
    let text = String::from_utf8_lossy(head);
    let first = text.trim_start().lines().next().unwrap_or("").trim();
    let shown: String = first.chars().take(60).collect();
    format!("text starting with {shown:?}")
}
