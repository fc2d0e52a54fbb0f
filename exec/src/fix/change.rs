//! The change that broke it: the lines of the app's source that a commit range
//! removed and the lines that replaced them. A removed line that carries a
//! broken locator's literal (a test id, an id, a label, a text) and the line
//! that replaced it prove the rename and give the new value; a removed line
//! with no replacement proves the element is gone.

use std::path::Path;

use git2::{DiffOptions, Repository};

/// Why the change could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Not a git repository, or a revision it does not have.
    #[error("{what}: {message}")]
    Git {
        /// What was being read.
        what: String,
        /// libgit2's message.
        message: String,
    },
}

fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> ChangeError {
    let what = what.into();
    move |e| ChangeError::Git {
        what,
        message: e.message().to_owned(),
    }
}

/// A removed line and what replaced it in the same hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The file (relative to the repository).
    pub file: String,
    /// Its line number before the change.
    pub old_line: u32,
    /// The removed line.
    pub old: String,
    /// The line that took its place, when the hunk added one.
    pub new: Option<String>,
}

/// One hunk: its file, removed lines (number, text) and added lines.
type Hunk = (String, Vec<(u32, String)>, Vec<String>);

/// The removed lines of `base..HEAD`, each with the added line the hunk put in
/// its place (paired in order when the hunk removes and adds as many lines,
/// else by likeness), in files `keep` accepts. Also returns the base's short id.
pub fn replaced_lines(
    repo: &Path,
    base: &str,
    keep: &dyn Fn(&str) -> bool,
) -> Result<(String, Vec<Replaced>), ChangeError> {
    let r = Repository::discover(repo).map_err(git(format!("{}", repo.display())))?;
    let base_commit = r
        .revparse_single(base)
        .and_then(|o| o.peel_to_commit())
        .map_err(git(format!("revision {base:?}")))?;
    let head = r
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(git("HEAD"))?;
    let short = base_commit
        .as_object()
        .short_id()
        .ok()
        .and_then(|b| b.as_str().map(str::to_owned))
        .unwrap_or_else(|| base.to_owned());
    let mut opts = DiffOptions::new();
    opts.context_lines(0);
    let diff = r
        .diff_tree_to_tree(
            Some(&base_commit.tree().map_err(git("base tree"))?),
            Some(&head.tree().map_err(git("HEAD tree"))?),
            Some(&mut opts),
        )
        .map_err(git("diff"))?;
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut key: Option<(String, u32)> = None;
    diff.foreach(
        &mut |_, _| true,
        None,
        None,
        Some(&mut |delta, hunk, line| {
            let file = delta
                .new_file()
                .path()
                .or_else(|| delta.old_file().path())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let this = (file.clone(), hunk.map_or(0, |h| h.old_start()));
            if key.as_ref() != Some(&this) {
                hunks.push((file, Vec::new(), Vec::new()));
                key = Some(this);
            }
            let Some(h) = hunks.last_mut() else {
                return true;
            };
            let text = String::from_utf8_lossy(line.content())
                .trim_end_matches(['\n', '\r'])
                .to_owned();
            match line.origin() {
                '-' => h.1.push((line.old_lineno().unwrap_or(0), text)),
                '+' => h.2.push(text),
                _ => {}
            }
            true
        }),
    )
    .map_err(git("diff lines"))?;
    // A line removed in one place and added unchanged in another (of any
    // file) moved: its counterpart is itself, never a deletion.
    let everywhere: std::collections::HashSet<String> = hunks
        .iter()
        .flat_map(|(_, _, added)| added.iter().map(|a| a.trim().to_owned()))
        .collect();
    let mut out = Vec::new();
    for (file, removed, added) in hunks {
        if !keep(&file) {
            continue;
        }
        let same_count = removed.len() == added.len();
        for (i, (line, old)) in removed.into_iter().enumerate() {
            let new = if same_count {
                added.get(i).cloned()
            } else {
                added
                    .iter()
                    .map(|a| {
                        (
                            similar::TextDiff::from_chars(old.as_str(), a.as_str()).ratio(),
                            a,
                        )
                    })
                    .filter(|(r, _)| *r >= 0.5)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, a)| a.clone())
            };
            let moved = !old.trim().is_empty() && everywhere.contains(old.trim());
            let new = if moved { Some(old.clone()) } else { new };
            out.push(Replaced {
                file: file.clone(),
                old_line: line,
                old,
                new,
            });
        }
    }
    Ok((short, out))
}

/// What the change did to `literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Renamed: the new value, and where.
    Renamed {
        /// The new value.
        to: String,
        /// `file:line` of the removed line.
        at: String,
        /// The removed line and the line that replaced it.
        lines: (String, String),
    },
    /// Removed with nothing in its place.
    Deleted {
        /// `file:line` of the removed line.
        at: String,
    },
    /// Renamed to different values in different places.
    Conflicting(Vec<String>),
}

/// What the change did to `literal`, when a removed line carries it and the
/// line that replaced it does not.
pub fn fate(literal: &str, lines: &[Replaced]) -> Option<Fate> {
    let mut renamed: Vec<(String, String, (String, String))> = Vec::new();
    let mut deleted = None;
    for r in lines {
        if !r.old.contains(literal) {
            continue;
        }
        let at = format!("{}:{}", r.file, r.old_line);
        match &r.new {
            Some(new) if new.contains(literal) => {}
            Some(new) => {
                if let Some(to) = counterpart(&r.old, new, literal) {
                    renamed.push((to, at, (r.old.trim().to_owned(), new.trim().to_owned())));
                }
            }
            None => {
                deleted.get_or_insert(at);
            }
        }
    }
    let mut values: Vec<String> = renamed.iter().map(|r| r.0.clone()).collect();
    values.sort();
    values.dedup();
    match values.len() {
        0 => deleted.map(|at| Fate::Deleted { at }),
        1 => {
            let (to, at, lines) = renamed.swap_remove(0);
            Some(Fate::Renamed { to, at, lines })
        }
        _ => Some(Fate::Conflicting(values)),
    }
}

/// The text of `new` that stands where `literal` stood in `old`: the two lines
/// aligned character by character, the literal's span widened to whole
/// changed runs. `None` when that text is empty or not a plausible literal.
fn counterpart(old: &str, new: &str, literal: &str) -> Option<String> {
    use similar::{DiffOp, TextDiff};
    let start = old.find(literal)?;
    let end = start + literal.len();
    let old_chars: Vec<(usize, char)> = old.char_indices().collect();
    let new_chars: Vec<(usize, char)> = new.char_indices().collect();
    // Character indices of the literal's span.
    let a = old_chars.iter().position(|(b, _)| *b == start)?;
    let z = old_chars
        .iter()
        .position(|(b, _)| *b >= end)
        .unwrap_or(old_chars.len());
    let diff = TextDiff::from_chars(old, new);
    let (mut na, mut nz) = (None, None);
    for op in diff.ops() {
        let (o, ol, n, nl) = match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => (old_index, len, new_index, len),
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index, old_len, new_index, 0),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index, new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len),
        };
        let equal = matches!(op, DiffOp::Equal { .. });
        // The start: inside an equal run it maps one to one; inside a change,
        // to the change's start.
        if na.is_none() && (a < o + ol || (ol == 0 && a == o)) && a >= o {
            na = Some(if equal { n + (a - o) } else { n });
        }
        // The end (exclusive).
        if nz.is_none() && z <= o + ol && z > o {
            nz = Some(if equal { n + (z - o) } else { n + nl });
        } else if nz.is_none() && ol == 0 && z == o && !equal {
            nz = Some(n + nl);
        }
    }
    let mut na = na?;
    let mut nz = nz.unwrap_or(new_chars.len()).max(na);
    // Widen to the whole value: an insertion next to the span belongs to it
    // up to the delimiters around a literal (quotes, tags, `=`; spaces too
    // unless the literal itself has one).
    let spaced = literal.contains(' ');
    let inner = |c: char| {
        !matches!(c, '"' | '\'' | '<' | '>' | '=' | '`') && (spaced || !c.is_whitespace())
    };
    while na > 0 && inner(new_chars[na - 1].1) {
        na -= 1;
    }
    while nz < new_chars.len() && inner(new_chars[nz].1) {
        nz += 1;
    }
    let from = new_chars.get(na).map_or(new.len(), |c| c.0);
    let to = new_chars.get(nz).map_or(new.len(), |c| c.0);
    let value = new.get(from..to)?.trim();
    // A one-word literal (an id, a class) renamed to several words is not a
    // like-for-like rename (`class="button"` → `class="btn btn-primary"`).
    let plausible = !value.is_empty()
        && (spaced || !value.contains(char::is_whitespace))
        && value != literal
        && value.len() <= 120
        && !value.contains(['"', '\'', '<', '>', '{', '}', '\n']);
    plausible.then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(old: &str, new: Option<&str>) -> Replaced {
        Replaced {
            file: "app/templates/items.html".into(),
            old_line: 9,
            old: old.into(),
            new: new.map(str::to_owned),
        }
    }

    #[test]
    fn a_renamed_test_id_gives_its_new_value() {
        let lines = [r(
            r#"  <li data-testid="item-row"><a href="/items/1">"#,
            Some(r#"  <li data-testid="catalog-entry"><a href="/items/1">"#),
        )];
        assert_eq!(
            fate("item-row", &lines),
            Some(Fate::Renamed {
                to: "catalog-entry".into(),
                at: "app/templates/items.html:9".into(),
                lines: (
                    r#"<li data-testid="item-row"><a href="/items/1">"#.into(),
                    r#"<li data-testid="catalog-entry"><a href="/items/1">"#.into()
                ),
            })
        );
    }

    #[test]
    fn a_renamed_text_that_shares_no_word_is_still_found() {
        let lines = [r(
            r#"<button type="submit">Update Settings</button>"#,
            Some(r#"<button type="submit">Save settings</button>"#),
        )];
        assert!(matches!(
            fate("Update Settings", &lines),
            Some(Fate::Renamed { to, .. }) if to == "Save settings"
        ));
    }

    #[test]
    fn a_word_that_became_several_is_not_a_rename() {
        let lines = [r(
            r#"<a class="button" href="/items/new">"#,
            Some(r#"<a class="btn btn-primary" href="/items/new">"#),
        )];
        assert_eq!(fate("button", &lines), None);
    }

    #[test]
    fn a_deleted_element_is_deleted() {
        let lines = [r(
            r#"<a id="add-item" href="/items/new">Add item</a>"#,
            None,
        )];
        assert_eq!(
            fate("add-item", &lines),
            Some(Fate::Deleted {
                at: "app/templates/items.html:9".into()
            })
        );
    }

    #[test]
    fn untouched_or_conflicting_literals_are_not_renames() {
        let kept = [r(
            r#"<li data-testid="item-row">a"#,
            Some(r#"<li data-testid="item-row">b"#),
        )];
        assert_eq!(fate("item-row", &kept), None);
        let two = [
            r(
                r#"<li data-testid="item-row">"#,
                Some(r#"<li data-testid="row-a">"#),
            ),
            r(
                r#"<li data-testid="item-row">"#,
                Some(r#"<li data-testid="row-b">"#),
            ),
        ];
        assert!(matches!(fate("item-row", &two), Some(Fate::Conflicting(v)) if v.len() == 2));
    }

    /// A real repository: the price line moved to the end of the page.
    #[test]
    fn a_moved_line_is_neither_a_rename_nor_a_deletion() {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = Repository::init(tmp.path()).expect("init");
        let page = |body: &str| {
            crate::fix::test_repo::commit_file(&repo, "item.html", body, "c");
        };
        page("<h1>Blue</h1>\n<p class=\"price\">$1</p>\n<p>In stock</p>\n<p>Notes</p>\n");
        page("<h1>Blue</h1>\n<p>In stock</p>\n<p>Notes</p>\n<p class=\"price\">$1</p>\n");
        let (_, lines) = replaced_lines(tmp.path(), "HEAD~1", &|_| true).expect("change");
        assert!(
            lines.iter().any(|l| l.old.contains("price")),
            "the removed line is read: {lines:?}"
        );
        assert_eq!(fate("price", &lines), None, "{lines:?}");
    }
}
