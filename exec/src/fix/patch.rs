//! Git-style patches: `diff --git` headers, unified text hunks (from `similar`)
//! and `GIT binary patch` literals for images, in the form both `git apply`
//! and libgit2's `Diff::from_buffer` read.

use std::fmt::Write as _;
use std::io::Write as _;

use similar::TextDiff;

use ci_medic_core::fix::change::{FileChange, is_binary};
use ci_medic_core::report::dashboard::diff::{DiffFile, DiffLine};

/// The git blob id of `bytes`.
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| "0".repeat(40))
}

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Writes the patch for `changes` (files in the given order; unchanged files skipped).
pub fn render(changes: &[FileChange]) -> String {
    let mut out = String::new();
    for c in changes {
        if c.old == c.new {
            continue;
        }
        let mode = if c.executable { "100755" } else { "100644" };
        let a = format!("a/{}", c.path);
        let b = format!("b/{}", c.path);
        let _ = writeln!(out, "diff --git {a} {b}");
        let old_id = c.old.as_deref().map_or_else(|| ZERO.to_owned(), blob_id);
        let new_id = c.new.as_deref().map_or_else(|| ZERO.to_owned(), blob_id);
        match (&c.old, &c.new) {
            (None, Some(_)) => {
                let _ = writeln!(out, "new file mode {mode}");
                let _ = writeln!(out, "index {old_id}..{new_id}");
            }
            (Some(_), None) => {
                let _ = writeln!(out, "deleted file mode {mode}");
                let _ = writeln!(out, "index {old_id}..{new_id}");
            }
            _ => {
                let _ = writeln!(out, "index {old_id}..{new_id} {mode}");
            }
        }
        let old = c.old.as_deref().unwrap_or_default();
        let new = c.new.as_deref().unwrap_or_default();
        let from = if c.old.is_some() {
            a.as_str()
        } else {
            "/dev/null"
        };
        let to = if c.new.is_some() {
            b.as_str()
        } else {
            "/dev/null"
        };
        let text = (!is_binary(old) && !is_binary(new))
            .then(|| {
                Some((
                    std::str::from_utf8(old).ok()?,
                    std::str::from_utf8(new).ok()?,
                ))
            })
            .flatten();
        match text {
            Some((o, n)) => {
                let _ = writeln!(out, "--- {from}");
                let _ = writeln!(out, "+++ {to}");
                let diff = TextDiff::from_lines(o, n);
                for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
                    let _ = write!(out, "{hunk}");
                    if !out.ends_with('\n') {
                        out.push('\n');
                    }
                }
                // `similar` writes "\ No newline at end of file" itself.
            }
            None => {
                out.push_str("GIT binary patch\n");
                literal(&mut out, new);
                out.push('\n');
                literal(&mut out, old);
                out.push('\n');
            }
        }
    }
    out
}

/// A `literal <size>` block: zlib-deflated content in git's base85 lines.
fn literal(out: &mut String, data: &[u8]) {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = z.write_all(data);
    let deflated = z.finish().unwrap_or_default();
    let _ = writeln!(out, "literal {}", data.len());
    for chunk in deflated.chunks(52) {
        let n = chunk.len();
        let len_char = if n <= 26 {
            (b'A' + n as u8 - 1) as char
        } else {
            (b'a' + (n - 26) as u8 - 1) as char
        };
        out.push(len_char);
        out.push_str(&base85(chunk));
        out.push('\n');
    }
}

const B85: &[u8; 85] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/// Git's base85: big-endian 4-byte groups (the last zero-padded) as 5 digits.
fn base85(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(4) * 5);
    for group in data.chunks(4) {
        let mut word = [0u8; 4];
        word[..group.len()].copy_from_slice(group);
        let mut v = u32::from_be_bytes(word);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = B85[(v % 85) as usize];
            v /= 85;
        }
        s.extend(digits.iter().map(|&b| b as char));
    }
    s
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
        ]);
        assert!(patch.contains("diff --git a/tests/a.spec.ts b/tests/a.spec.ts\n"));
        assert!(patch.contains("-two\n+2\n"));
        assert!(patch.contains("new file mode 100644\n"));
        assert!(patch.contains("deleted file mode 100644\n"));
        assert!(patch.contains("GIT binary patch\nliteral 3001\n"));
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
        ]);
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
