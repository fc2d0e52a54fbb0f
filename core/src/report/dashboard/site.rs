//! Writing the site: a staging directory next to the output, moved into place
//! whole, and only over an empty directory or a previous dashboard.

use std::path::{Component, Path, PathBuf};

use super::{DashboardError, MARKER};

/// Refuses an output directory that holds anything but a previous dashboard,
/// so `--out .` can never replace a repository.
pub(super) fn check_out_dir(out: &Path) -> Result<(), DashboardError> {
    let io = |e| DashboardError::Io {
        path: out.to_owned(),
        source: e,
    };
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
        Ok(meta) if !meta.is_dir() => Err(DashboardError::NotADashboard(out.to_owned())),
        Ok(_) => {
            if out.join(MARKER).is_file() || std::fs::read_dir(out).map_err(io)?.next().is_none() {
                Ok(())
            } else {
                Err(DashboardError::NotADashboard(out.to_owned()))
            }
        }
    }
}

/// A directory the site is assembled in; removed on drop unless committed.
#[derive(Debug)]
pub(super) struct Stage {
    dir: Option<tempfile::TempDir>,
}

impl Stage {
    pub(super) fn new(out: &Path) -> Result<Stage, DashboardError> {
        let parent = parent_of(out);
        std::fs::create_dir_all(&parent).map_err(|e| DashboardError::Io {
            path: parent.clone(),
            source: e,
        })?;
        let dir = tempfile::Builder::new()
            .prefix(".ci-medic-dashboard-")
            .tempdir_in(&parent)
            .map_err(|e| DashboardError::Io {
                path: parent,
                source: e,
            })?;
        Ok(Stage { dir: Some(dir) })
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("."), |d| d.path())
    }

    /// Moves the staged site to `out`, replacing what was there.
    pub(super) fn commit(mut self, out: &Path) -> Result<(), DashboardError> {
        let Some(dir) = self.dir.take() else {
            return Ok(());
        };
        write(&dir.path().join(MARKER), b"ci-medic dashboard\n")?;
        let staged = dir.keep();
        let io = |path: &Path, e| DashboardError::Io {
            path: path.to_owned(),
            source: e,
        };
        let old = if out.exists() {
            let old = parent_of(out).join(format!(
                ".ci-medic-dashboard-old-{}",
                staged
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            std::fs::rename(out, &old).map_err(|e| io(out, e))?;
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&staged, out) {
            // Put the previous site back; the staged one is removed.
            if let Some(old) = &old {
                let _ = std::fs::rename(old, out);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(io(out, e));
        }
        if let Some(old) = old {
            std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        }
        Ok(())
    }
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Writes a file of the site, creating its directory.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), DashboardError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| DashboardError::Io {
            path: dir.to_owned(),
            source: e,
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| DashboardError::Io {
        path: path.to_owned(),
        source: e,
    })
}

/// A bundle-relative artifact path that stays inside its directory
/// (`artifacts/x/shot.png`), as `/`-joined text; `None` for anything else.
pub(super) fn safe_relative(path: &str) -> Option<String> {
    let p = Path::new(path);
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_inside_paths_are_copied() {
        assert_eq!(
            safe_relative("artifacts/a/shot.png").as_deref(),
            Some("artifacts/a/shot.png")
        );
        assert_eq!(safe_relative("./a.png").as_deref(), Some("a.png"));
        assert_eq!(safe_relative("../a.png"), None);
        assert_eq!(safe_relative("/etc/passwd"), None);
        assert_eq!(safe_relative("a/../../b"), None);
        assert_eq!(safe_relative(""), None);
    }

    #[test]
    fn a_directory_with_other_files_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        check_out_dir(&dir.path().join("new")).expect("missing is fine");
        check_out_dir(dir.path()).expect("empty is fine");
        std::fs::write(dir.path().join("Cargo.toml"), "x").expect("write");
        let err = check_out_dir(dir.path()).expect_err("a repository");
        assert!(err.to_string().contains("found other files"), "{err}");
        std::fs::write(dir.path().join(MARKER), "x").expect("marker");
        check_out_dir(dir.path()).expect("a previous dashboard");
    }

    #[test]
    fn commit_replaces_the_previous_site_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("dashboard");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join(MARKER), "x").expect("marker");
        std::fs::write(out.join("stale.html"), "old").expect("old");
        let stage = Stage::new(&out).expect("stage");
        write(&stage.path().join("index.html"), b"new").expect("write");
        stage.commit(&out).expect("commit");
        assert_eq!(std::fs::read(out.join("index.html")).expect("new"), b"new");
        assert!(!out.join("stale.html").exists());
        assert!(out.join(MARKER).is_file());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("dashboard")]);
    }

    #[test]
    fn a_dropped_stage_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("dashboard");
        {
            let stage = Stage::new(&out).expect("stage");
            write(&stage.path().join("index.html"), b"x").expect("write");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
    }
}
