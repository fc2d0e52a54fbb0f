//! The fix-agent's guardrails: which paths it may write and how much.
//!
//! A path is allowed when it is relative, has no `..`, matches an allowlist
//! glob, and neither it nor any directory on the way is a symlink that leads
//! outside the repository. A patch over the file or line cap is dropped whole:
//! a partial fix is worse than none.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::change::FileChange;
use crate::config::FixConfig;

/// One guardrail decision, recorded in the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardDecision {
    /// The check (`path`, `allowlist`, `symlink`, `max_files`, `max_changed_lines`).
    pub check: String,
    /// The file it concerns (`null` for whole-patch caps).
    pub path: Option<String>,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Checks that `rel` may be written under `root`; `Err` holds the failed decision.
pub fn check_path(
    root: &Path,
    rel: &str,
    config: &FixConfig,
) -> Result<GuardDecision, GuardDecision> {
    let refuse = |check: &str, detail: String| GuardDecision {
        check: check.into(),
        path: Some(rel.into()),
        ok: false,
        detail,
    };
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || rel.starts_with('/')
        || rel.contains('\\')
        || rel.contains(':')
    {
        return Err(refuse(
            "path",
            "expected a path relative to the repository root, found an absolute or drive path"
                .into(),
        ));
    }
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(refuse(
            "path",
            "`..` or `.` components are never written".into(),
        ));
    }
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let Some(glob) = config
        .allow
        .iter()
        .find(|g| glob::Pattern::new(g).is_ok_and(|pat| pat.matches_with(rel, opts)))
    else {
        return Err(refuse(
            "allowlist",
            format!("outside the allowlist [fix] allow = {:?}", config.allow),
        ));
    };
    // Every existing step, and the file itself, must stay inside the root.
    let root_real = root.canonicalize().map_err(|e| {
        refuse(
            "symlink",
            format!("the repository root cannot be resolved: {e}"),
        )
    })?;
    let mut cur = root.to_path_buf();
    for c in p.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let real = cur.canonicalize().map_err(|e| {
                    refuse(
                        "symlink",
                        format!("{} is a symlink that does not resolve: {e}", cur.display()),
                    )
                })?;
                if !real.starts_with(&root_real) {
                    return Err(refuse(
                        "symlink",
                        format!(
                            "{} is a symlink to {}, outside the repository",
                            strip(root, &cur),
                            real.display()
                        ),
                    ));
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // Through an in-repository symlink, the file written must be allowed too.
    if let Some(real) = resolved(&root.join(p))
        && let Ok(real_rel) = real.strip_prefix(&root_real)
    {
        let real_rel = real_rel.to_string_lossy().replace('\\', "/");
        if real_rel != rel
            && !config
                .allow
                .iter()
                .any(|g| glob::Pattern::new(g).is_ok_and(|pat| pat.matches_with(&real_rel, opts)))
        {
            return Err(refuse(
                "symlink",
                format!("it leads to {real_rel}, which is outside the allowlist"),
            ));
        }
    }
    Ok(GuardDecision {
        check: "allowlist".into(),
        path: Some(rel.into()),
        ok: true,
        detail: format!("matches {glob:?}, inside the repository"),
    })
}

/// The real path of `p`: its deepest existing ancestor resolved, the rest appended.
fn resolved(p: &Path) -> Option<std::path::PathBuf> {
    let mut existing = p.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name()?.to_owned());
        existing.pop();
    }
    let mut real = existing.canonicalize().ok()?;
    for r in rest.into_iter().rev() {
        real.push(r);
    }
    Some(real)
}

fn strip(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Checks the whole patch against the caps.
pub fn check_caps(changes: &[FileChange], config: &FixConfig) -> Vec<GuardDecision> {
    let files = changes.iter().filter(|c| c.old != c.new).count();
    let lines: usize = changes.iter().map(FileChange::changed_lines).sum();
    vec![
        GuardDecision {
            check: "max_files".into(),
            path: None,
            ok: files <= config.max_files,
            detail: format!("{files} file(s) changed, the cap is {}", config.max_files),
        },
        GuardDecision {
            check: "max_changed_lines".into(),
            path: None,
            ok: lines <= config.max_changed_lines,
            detail: format!(
                "{lines} line(s) changed, the cap is {}",
                config.max_changed_lines
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_allowlist_or_the_repository_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("e2e/tests")).expect("mkdir");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        let outside = tempfile::tempdir().expect("tmp");
        std::os::unix::fs::symlink(outside.path(), root.join("e2e/tests/linked")).expect("link");
        std::os::unix::fs::symlink(root.join("src"), root.join("e2e/tests/inside")).expect("link");
        let c = FixConfig::default();
        assert!(check_path(root, "e2e/tests/a.spec.ts", &c).is_ok());
        assert!(check_path(root, "e2e/tests/inside/x.spec.ts", &c).is_ok());
        assert_eq!(
            check_path(root, "e2e/tests/inside/app.ts", &c)
                .expect_err("via link")
                .check,
            "symlink"
        );
        let no = |p: &str| check_path(root, p, &c).expect_err(p);
        assert_eq!(no("src/app.ts").check, "allowlist");
        assert_eq!(no("e2e/../src/app.ts").check, "path");
        assert_eq!(no("/etc/passwd").check, "path");
        let s = no("e2e/tests/linked/evil.spec.ts");
        assert_eq!(s.check, "symlink");
        assert!(s.detail.contains("outside the repository"), "{}", s.detail);
    }

    #[test]
    fn caps_count_files_and_lines() {
        let c = FixConfig {
            max_files: 1,
            max_changed_lines: 2,
            ..FixConfig::default()
        };
        let ch = |p: &str, a: &str, b: &str| FileChange {
            path: p.into(),
            old: Some(a.as_bytes().to_vec()),
            new: Some(b.as_bytes().to_vec()),
            executable: false,
        };
        let d = check_caps(&[ch("a", "x\n", "y\n")], &c);
        assert!(d.iter().all(|d| d.ok), "{d:?}");
        let d = check_caps(&[ch("a", "x\n", "y\n"), ch("b", "1\n2\n", "3\n4\n")], &c);
        assert!(d.iter().all(|d| !d.ok), "{d:?}");
    }
}
