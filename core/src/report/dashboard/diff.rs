//! The fix-agent's patch as rows a page can show: files, hunks and lines with
//! their numbers, read by libgit2 (the same parser `git apply` agrees with).

use serde::Serialize;

/// One file of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct DiffFile {
    /// The path after the change (before, for a deletion).
    pub path: String,
    /// `modified`, `added`, `deleted`, `renamed`.
    pub status: &'static str,
    /// A binary change (a refreshed screenshot baseline): no lines to show.
    pub binary: bool,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The rows, hunk headers included.
    pub lines: Vec<DiffLine>,
}

/// One row of a rendered diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct DiffLine {
    /// `add`, `del`, `ctx` or `hunk`.
    pub kind: &'static str,
    /// Line number before the change.
    pub old: Option<u32>,
    /// Line number after the change.
    pub new: Option<u32>,
    /// The text, without its newline.
    pub text: String,
}

/// Parses a git patch; an unreadable patch is an error message for the page.
pub(super) fn parse(patch: &[u8]) -> Result<Vec<DiffFile>, String> {
    if patch.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let diff = git2::Diff::from_buffer(patch).map_err(|e| e.message().to_owned())?;
    let mut files: Vec<DiffFile> = Vec::new();
    let mut current: Option<usize> = None;
    let mut last_delta: Option<(Option<std::path::PathBuf>, Option<std::path::PathBuf>)> = None;
    diff.print(git2::DiffFormat::Patch, |delta, hunk, line| {
        let key = (
            delta.old_file().path().map(Into::into),
            delta.new_file().path().map(Into::into),
        );
        if last_delta.as_ref() != Some(&key) {
            let path = delta
                .new_file()
                .path()
                .or_else(|| delta.old_file().path())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(DiffFile {
                path,
                status: match delta.status() {
                    git2::Delta::Added => "added",
                    git2::Delta::Deleted => "deleted",
                    git2::Delta::Renamed => "renamed",
                    _ => "modified",
                },
                binary: delta.flags().is_binary(),
                added: 0,
                removed: 0,
                lines: Vec::new(),
            });
            current = Some(files.len() - 1);
            last_delta = Some(key);
        }
        let Some(file) = current.and_then(|i| files.get_mut(i)) else {
            return true;
        };
        let text = String::from_utf8_lossy(line.content())
            .trim_end_matches(['\n', '\r'])
            .to_owned();
        let kind = match line.origin() {
            '+' => {
                file.added += 1;
                "add"
            }
            '-' => {
                file.removed += 1;
                "del"
            }
            ' ' => "ctx",
            'H' => "hunk",
            'B' => {
                file.binary = true;
                return true;
            }
            // File headers and "\ No newline" markers.
            _ => return true,
        };
        let text = if kind == "hunk" {
            hunk.map(|h| String::from_utf8_lossy(h.header()).trim_end().to_owned())
                .unwrap_or(text)
        } else {
            text
        };
        file.lines.push(DiffLine {
            kind,
            old: line.old_lineno(),
            new: line.new_lineno(),
            text,
        });
        true
    })
    .map_err(|e| e.message().to_owned())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/tests/items.spec.ts b/tests/items.spec.ts
index 1111111..2222222 100644
--- a/tests/items.spec.ts
+++ b/tests/items.spec.ts
@@ -3,3 +3,3 @@ import { test, expect } from '@playwright/test';
 test('lists', async ({ page }) => {
-  await page.getByTestId('item-row').click();
+  await page.getByTestId('product-row').click();
 });
";

    #[test]
    fn lines_carry_kinds_and_numbers() {
        let files = parse(PATCH.as_bytes()).expect("parses");
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(
            (f.path.as_str(), f.status, f.binary),
            ("tests/items.spec.ts", "modified", false)
        );
        assert_eq!((f.added, f.removed), (1, 1));
        let kinds: Vec<&str> = f.lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, ["hunk", "ctx", "del", "add", "ctx"]);
        assert!(
            f.lines[0].text.starts_with("@@ -3,3 +3,3 @@"),
            "{:?}",
            f.lines[0]
        );
        assert_eq!((f.lines[2].old, f.lines[2].new), (Some(4), None));
        assert_eq!((f.lines[3].old, f.lines[3].new), (None, Some(4)));
        assert_eq!(
            f.lines[3].text,
            "  await page.getByTestId('product-row').click();"
        );
    }

    #[test]
    fn an_empty_patch_has_no_files_and_garbage_is_an_error() {
        assert!(parse(b"").expect("empty").is_empty());
        assert!(parse(b"diff --git a/x b/x\n@@ nonsense").is_err());
    }
}
