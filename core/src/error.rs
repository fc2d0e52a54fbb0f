//! Errors of reading inputs and writing bundles.

use std::path::PathBuf;

/// An input that cannot be used, or an output that cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not what it was given as.
    #[error("{path}: expected {expected}, found {found}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What the collector expected there.
        expected: &'static str,
        /// What it found instead (with line and column where known).
        found: String,
    },
    /// Nothing to collect.
    #[error("no Playwright report found: {0}")]
    NothingFound(String),
    /// The repository's redaction rules cannot be used.
    #[error(transparent)]
    Rules(#[from] crate::collect::redact::RuleError),
}

impl CollectError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CollectError {
        CollectError::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error on `path`.
    pub fn format(
        path: impl Into<PathBuf>,
        expected: &'static str,
        found: impl Into<String>,
    ) -> CollectError {
        CollectError::Format {
            path: path.into(),
            expected,
            found: found.into(),
        }
    }
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
