//! The `test-results/` tree: one folder per attempt with screenshots, traces,
//! videos and `error-context*.md`.

use std::path::{Path, PathBuf};

use crate::collect::error::CollectError;
use crate::model::{ArtifactKind, ErrorContext};

/// A file of the results tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultFile {
    /// Path relative to the tree's root, with `/` separators.
    pub rel: String,
    /// Absolute (or as-given) path on disk.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// What it is.
    pub kind: ArtifactKind,
}

/// Every file of a results tree, sorted by relative path.
#[derive(Debug, Clone, Default)]
pub struct ResultsDir {
    /// The root as given.
    pub root: PathBuf,
    /// The files (symlinks are not followed).
    pub files: Vec<ResultFile>,
}

/// Lists the results tree under `root`.
pub fn scan(root: &Path) -> Result<ResultsDir, CollectError> {
    if !root.is_dir() {
        return Err(CollectError::format(
            root,
            "a Playwright output directory (test-results/)",
            "no such directory",
        ));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| root.to_owned());
            CollectError::io(
                path,
                e.into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("walk failed")),
            )
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        // Playwright's scratch folders (`.playwright-artifacts-N`) are not results.
        if rel.starts_with(".playwright-artifacts") {
            continue;
        }
        let size = entry
            .metadata()
            .map_err(|e| CollectError::io(entry.path(), e.into()))?
            .len();
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        files.push(ResultFile {
            kind: super::attachment_kind("", "", Some(name)),
            rel,
            path: entry.path().to_owned(),
            size,
        });
    }
    Ok(ResultsDir {
        root: root.to_owned(),
        files,
    })
}

impl ResultsDir {
    /// The file an attachment path points at: the path relative to one of the
    /// report's output directories, else its last two components (the attempt
    /// folder and the file name), which survive moving the tree to another machine.
    pub fn find(&self, attachment_path: &str, output_dirs: &[String]) -> Option<&ResultFile> {
        let normalized = attachment_path.replace('\\', "/");
        for dir in output_dirs {
            let dir = dir.replace('\\', "/");
            if let Some(rel) = normalized.strip_prefix(dir.trim_end_matches('/')) {
                let rel = rel.trim_start_matches('/');
                if let Some(f) = self.files.iter().find(|f| f.rel == rel) {
                    return Some(f);
                }
            }
        }
        let mut parts = normalized.rsplit('/');
        let file = parts.next()?;
        let folder = parts.next()?;
        let tail = format!("{folder}/{file}");
        self.files
            .iter()
            .find(|f| f.rel == tail || f.rel.ends_with(&format!("/{tail}")))
    }
}

/// Parses the sections of an `error-context.md`.
pub fn parse_error_context(rel: &str, text: &str) -> ErrorContext {
    let mut ctx = ErrorContext {
        path: rel.to_owned(),
        ..ErrorContext::default()
    };
    let mut section = String::new();
    let mut body: Vec<&str> = Vec::new();
    let store = |section: &str, body: &[&str], ctx: &mut ErrorContext| {
        let content = unfence(body);
        if content.is_empty() {
            return;
        }
        match section {
            "Page snapshot" => ctx.page_snapshot = Some(content),
            "Error details" => ctx.error_details = Some(content),
            "Test source" => ctx.test_source = Some(content),
            _ => {}
        }
    };
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# ") {
            store(&section, &body, &mut ctx);
            section = title.trim().to_owned();
            body.clear();
        } else {
            body.push(line);
        }
    }
    store(&section, &body, &mut ctx);
    // Before sections existed, the file was the page snapshot alone.
    if ctx.page_snapshot.is_none()
        && ctx.error_details.is_none()
        && text.trim_start().starts_with("- ")
    {
        ctx.page_snapshot = Some(text.trim().to_owned());
    }
    ctx
}

/// The text inside the first code fence of a section, or the section trimmed.
fn unfence(body: &[&str]) -> String {
    let start = body.iter().position(|l| l.trim_start().starts_with("```"));
    if let Some(start) = start {
        let end = body[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with("```"))
            .map(|i| start + 1 + i)
            .unwrap_or(body.len());
        return body[start + 1..end].join("\n").trim_end().to_owned();
    }
    body.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_an_error_context() {
        let text = "# Instructions\n\n- x\n\n# Test info\n\n- Name: a\n\n# Error details\n\n```\nError: boom\n```\n\n# Page snapshot\n\n```yaml\n- button \"Sign in\"\n```\n\n# Test source\n\n```ts\n> 5 | await x();\n```\n";
        let ctx = parse_error_context("d/error-context.md", text);
        assert_eq!(ctx.error_details.as_deref(), Some("Error: boom"));
        assert_eq!(ctx.page_snapshot.as_deref(), Some("- button \"Sign in\""));
        assert_eq!(ctx.test_source.as_deref(), Some("> 5 | await x();"));
    }

    #[test]
    fn a_bare_snapshot_is_the_page_snapshot() {
        let ctx = parse_error_context("e.md", "- heading \"Items\" [level=1]\n- list\n");
        assert_eq!(
            ctx.page_snapshot.as_deref(),
            Some("- heading \"Items\" [level=1]\n- list")
        );
    }

    #[test]
    fn attachment_paths_are_found_after_a_move() {
        let dir = ResultsDir {
            root: PathBuf::from("/x"),
            files: vec![ResultFile {
                rel: "items-chromium/test-failed-1.png".into(),
                path: PathBuf::from("/x/items-chromium/test-failed-1.png"),
                size: 1,
                kind: ArtifactKind::Screenshot,
            }],
        };
        let moved = "/home/runner/work/app/test-results/items-chromium/test-failed-1.png";
        assert!(dir.find(moved, &["/elsewhere".into()]).is_some());
        assert!(
            dir.find(moved, &["/home/runner/work/app/test-results".into()])
                .is_some()
        );
        assert!(dir.find("/a/other/test-failed-1.png", &[]).is_none());
    }
}
