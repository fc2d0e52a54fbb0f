//! Collect's errors: reading Playwright's outputs and writing bundles.

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
    Rules(#[from] super::redact::RuleError),
    /// The repository's configuration cannot be used.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
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
