//! Writing a document whole or not at all: a temp file in the same directory,
//! then a rename, so a reader (or a crash) never sees a partial file.

use std::io::Write as _;
use std::path::Path;

/// Writes `doc` as pretty JSON (and a final newline) to `path`, creating its directory.
pub fn write_json(path: &Path, doc: &impl serde::Serialize) -> std::io::Result<()> {
    write_with(path, |tmp| {
        serde_json::to_writer_pretty(&mut *tmp, doc)?;
        tmp.write_all(b"\n")
    })
}

/// Writes `bytes` to `path`, creating its directory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |tmp| tmp.write_all(bytes))
}

fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut tempfile::NamedTempFile) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    fill(&mut tmp)?;
    tmp.persist(path).map(drop).map_err(|e| e.error)
}
