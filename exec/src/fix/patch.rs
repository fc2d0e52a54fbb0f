//! Git patches, written and read by libgit2: the fix-agent's changes as the
//! patch `git apply` takes (text hunks, `GIT binary patch` literals for
//! screenshots), and a patch read back into the rows the dashboard shows.

use ci_medic_core::fix::change::FileChange;
use ci_medic_core::report::dashboard::diff::{DiffFile, DiffLine};

/// Why a patch could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the patch ({path}): {source}")]
pub struct PatchError {
    /// The file being written, or `patch` for the diff itself.
    pub path: String,
    /// libgit2's error.
    pub source: git2::Error,
}

/// Writes the patch for `changes` with libgit2 (unchanged files skipped): both
/// sides become blobs and trees in an in-memory object database, and the patch
/// is the tree-to-tree diff, binary files as `GIT binary patch` literals with
/// the full blob ids `git apply` needs for them. Files come in path order.
pub fn render(changes: &[FileChange]) -> Result<String, PatchError> {
    let err = |path: &str| {
        let path = path.to_owned();
        move |source| PatchError { path, source }
    };
    let odb = git2::Odb::new().map_err(err("patch"))?;
    odb.add_new_mempack_backend(1000).map_err(err("patch"))?;
    let repo = git2::Repository::from_odb(odb).map_err(err("patch"))?;
    let mut old = Vec::new();
    let mut new = Vec::new();
    for c in changes.iter().filter(|c| c.old != c.new) {
        let mode = if c.executable { 0o100_755 } else { 0o100_644 };
        if let Some(bytes) = &c.old {
            old.push((
                c.path.as_str(),
                repo.blob(bytes).map_err(err(&c.path))?,
                mode,
            ));
        }
        if let Some(bytes) = &c.new {
            new.push((
                c.path.as_str(),
                repo.blob(bytes).map_err(err(&c.path))?,
                mode,
            ));
        }
    }
    let old = tree(&repo, &old).map_err(err("patch"))?;
    let new = tree(&repo, &new).map_err(err("patch"))?;
    let mut opts = git2::DiffOptions::new();
    opts.show_binary(true).context_lines(3).id_abbrev(40);
    let diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
        .map_err(err("patch"))?;
    let mut out = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            out.push(line.origin() as u8);
        }
        out.extend_from_slice(line.content());
        true
    })
    .map_err(err("patch"))?;
    // The contents are the files' own bytes: a patch of UTF-8 files is UTF-8,
    // and binary files are base85 literals.
    String::from_utf8(out).map_err(|e| PatchError {
        path: "patch".into(),
        source: git2::Error::from_str(&format!("not UTF-8 text: {e}")),
    })
}

/// A tree of `files` (`/`-separated paths, blob ids, modes), nested as their
/// paths say.
fn tree<'r>(
    repo: &'r git2::Repository,
    files: &[(&str, git2::Oid, i32)],
) -> Result<git2::Tree<'r>, git2::Error> {
    fn build(
        repo: &git2::Repository,
        files: &[(&str, git2::Oid, i32)],
    ) -> Result<git2::Oid, git2::Error> {
        let mut builder = repo.treebuilder(None)?;
        let mut dirs: std::collections::BTreeMap<&str, Vec<(&str, git2::Oid, i32)>> =
            std::collections::BTreeMap::new();
        for &(path, id, mode) in files {
            match path.split_once('/') {
                Some((dir, rest)) => dirs.entry(dir).or_default().push((rest, id, mode)),
                None => {
                    builder.insert(path, id, mode)?;
                }
            }
        }
        for (dir, inner) in dirs {
            let id = build(repo, &inner)?;
            builder.insert(dir, id, 0o040_000)?;
        }
        builder.write()
    }
    let id = build(repo, files)?;
    repo.find_tree(id)
}

/// Reads a git patch back into the rows the dashboard shows; an unreadable
/// patch is an error message for the page.
pub fn read(patch: &[u8]) -> Result<Vec<DiffFile>, String> {
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

    /// The git blob id of `bytes`.
    fn blob_id(bytes: &[u8]) -> String {
        git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
            .map(|o| o.to_string())
            .unwrap_or_else(|_| "0".repeat(40))
    }

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
        let files = read(PATCH.as_bytes()).expect("parses");
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
        assert!(read(b"").expect("empty").is_empty());
        assert!(read(b"diff --git a/x b/x\n@@ nonsense").is_err());
    }

    fn change(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> FileChange {
        FileChange {
            path: path.into(),
            old: old.map(<[u8]>::to_vec),
            new: new.map(<[u8]>::to_vec),
            executable: false,
        }
    }

    #[test]
    fn text_binary_new_and_deleted_files_parse_in_libgit2() {
        let png: Vec<u8> = (0..3000u32)
            .map(|i| (i * 7 % 251) as u8)
            .chain([0u8])
            .collect();
        let png2: Vec<u8> = png.iter().map(|b| b.wrapping_add(1)).collect();
        let patch = render(&[
            change(
                "tests/a.spec.ts",
                Some(b"one\ntwo\nthree\n"),
                Some(b"one\n2\nthree\n"),
            ),
            change("tests/b.spec.ts", None, Some(b"new\n")),
            change("tests/c.spec.ts", Some(b"gone\n"), None),
            change("tests/snap.png", Some(&png), Some(&png2)),
            change("tests/same.ts", Some(b"x\n"), Some(b"x\n")),
            change("tests/nonl.ts", Some(b"a\nb"), Some(b"a\nc")),
        ])
        .expect("writes");
        assert!(patch.contains("diff --git a/tests/a.spec.ts b/tests/a.spec.ts\n"));
        assert!(patch.contains("-two\n+2\n"));
        assert!(patch.contains("new file mode 100644\n"));
        assert!(patch.contains("deleted file mode 100644\n"));
        assert!(
            patch.contains("GIT binary patch\nliteral 3001\n")
                || patch.contains("GIT binary patch\ndelta "),
            "{patch}"
        );
        assert!(
            patch.contains(&format!("index {}..{}", blob_id(&png), blob_id(&png2))),
            "binary changes carry full blob ids"
        );
        assert!(!patch.contains("same.ts"));
        assert!(patch.contains("\\ No newline at end of file"));
        let diff = git2::Diff::from_buffer(patch.as_bytes()).expect("libgit2 reads it");
        assert_eq!(diff.deltas().len(), 5);
        assert_eq!(
            change("x", Some(b"a\nb\n"), Some(b"a\nc\nd\n")).changed_lines(),
            3
        );
    }

    #[test]
    fn git_apply_accepts_text_and_binary_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let png: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
        let png2: Vec<u8> = png.iter().rev().copied().collect();
        std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
        std::fs::write(dir.path().join("tests/a.spec.ts"), "one\ntwo\nthree\n").expect("w");
        std::fs::write(dir.path().join("tests/snap.png"), &png).expect("w");
        let patch = render(&[
            change(
                "tests/a.spec.ts",
                Some(b"one\ntwo\nthree\n"),
                Some(b"one\n2\nthree\n"),
            ),
            change("tests/snap.png", Some(&png), Some(&png2)),
            change("tests/new.png", None, Some(&png)),
        ])
        .expect("writes");
        std::fs::write(dir.path().join("p.diff"), &patch).expect("w");
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("git runs")
        };
        git(&["init", "-q"]);
        let out = git(&["apply", "p.diff"]);
        assert!(
            out.status.success(),
            "{}\n{patch}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(dir.path().join("tests/snap.png")).expect("r"),
            png2
        );
        assert_eq!(
            std::fs::read(dir.path().join("tests/new.png")).expect("r"),
            png
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("tests/a.spec.ts")).expect("r"),
            "one\n2\nthree\n"
        );
    }
}
