//! One changed file of a patch, as the guardrails count it: both contents, so a
//! cap on changed lines reads the same change the patch writer writes.

use similar::TextDiff;

/// One changed file: its path in the repository and both contents (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// Content before (None: a new file).
    pub old: Option<Vec<u8>>,
    /// Content after (None: deleted).
    pub new: Option<Vec<u8>>,
    /// Whether the file is executable (mode 100755).
    pub executable: bool,
}

impl FileChange {
    /// Lines added plus lines removed (binary files count as one).
    pub fn changed_lines(&self) -> usize {
        let old = self.old.as_deref().unwrap_or_default();
        let new = self.new.as_deref().unwrap_or_default();
        match (std::str::from_utf8(old), std::str::from_utf8(new)) {
            (Ok(a), Ok(b)) if !is_binary(old) && !is_binary(new) => {
                let diff = TextDiff::from_lines(a, b);
                diff.iter_all_changes()
                    .filter(|c| c.tag() != similar::ChangeTag::Equal)
                    .count()
            }
            _ => usize::from(old != new),
        }
    }
}

/// Git's test for binary content: a NUL in the first 8000 bytes.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|&b| b == 0)
}
