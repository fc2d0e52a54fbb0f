//! The dashboard's templates and static assets: built into the binary from
//! `dashboard-template/`, or read from a user's copy of that directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::DashboardError;

/// Pages rendered by the build; a template directory must have every one.
pub const PAGES: [&str; 6] = [
    "index.html",
    "failure.html",
    "tests.html",
    "heal.html",
    "fix.html",
    "history.html",
];

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../../../../dashboard-template/", $name)) as &[u8])),*]
    };
}

/// The default template, as committed in `dashboard-template/`.
const EMBEDDED: &[(&str, &[u8])] = embedded![
    "README.md",
    "base.html",
    "macros.html",
    "index.html",
    "failure.html",
    "tests.html",
    "heal.html",
    "fix.html",
    "history.html",
    "static/style.css",
    "static/theme.js",
    "static/tests.js",
    "static/favicon.svg",
];

/// A complete template: Jinja sources (top-level `*.html`) and static files
/// (everything under `static/`, copied as they are).
#[derive(Debug, Clone)]
pub struct Templates {
    /// Where it came from, for messages.
    pub origin: String,
    sources: BTreeMap<String, String>,
    statics: BTreeMap<String, Vec<u8>>,
    others: BTreeMap<String, Vec<u8>>,
}

impl Templates {
    /// The template built into this binary.
    pub fn embedded() -> Templates {
        let mut t = Templates::empty("the built-in template");
        for (name, bytes) in EMBEDDED {
            // The embedded sources are this repository's files; they are UTF-8 by test.
            t.insert(name, bytes.to_vec())
                .unwrap_or_else(|e| unreachable!("built-in template: {e}"));
        }
        t
    }

    /// A template directory: every page of [`PAGES`] must be there.
    pub fn from_dir(dir: &Path) -> Result<Templates, DashboardError> {
        let mut t = Templates::empty(&dir.display().to_string());
        if !dir.is_dir() {
            return Err(DashboardError::Template {
                origin: t.origin,
                message: "expected a directory of templates (see `ci-medic dashboard template`), found no directory".to_owned(),
            });
        }
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| DashboardError::Template {
                origin: t.origin.clone(),
                message: e.to_string(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = relative(dir, entry.path());
            let bytes = std::fs::read(entry.path()).map_err(|e| DashboardError::Io {
                path: entry.path().to_owned(),
                source: e,
            })?;
            t.insert(&rel, bytes)?;
        }
        let missing: Vec<&str> = PAGES
            .iter()
            .copied()
            .filter(|p| !t.sources.contains_key(*p))
            .collect();
        if !missing.is_empty() {
            return Err(DashboardError::Template {
                origin: t.origin,
                message: format!(
                    "expected every page template ({}), found none for {}",
                    PAGES.join(", "),
                    missing.join(", ")
                ),
            });
        }
        Ok(t)
    }

    fn empty(origin: &str) -> Templates {
        Templates {
            origin: origin.to_owned(),
            sources: BTreeMap::new(),
            statics: BTreeMap::new(),
            others: BTreeMap::new(),
        }
    }

    fn insert(&mut self, rel: &str, bytes: Vec<u8>) -> Result<(), DashboardError> {
        if let Some(asset) = rel.strip_prefix("static/") {
            self.statics.insert(asset.to_owned(), bytes);
        } else if rel.ends_with(".html") && !rel.contains('/') {
            let text = String::from_utf8(bytes).map_err(|_| DashboardError::Template {
                origin: self.origin.clone(),
                message: format!("{rel}: expected UTF-8 text, found other bytes"),
            })?;
            self.sources.insert(rel.to_owned(), text);
        } else {
            self.others.insert(rel.to_owned(), bytes);
        }
        Ok(())
    }

    /// A Jinja environment with every source loaded (syntax errors name the file and line).
    pub fn environment(&self) -> Result<minijinja::Environment<'static>, DashboardError> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        super::filters::register(&mut env);
        for (name, source) in &self.sources {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| DashboardError::Render {
                    template: name.clone(),
                    message: render_error(&e),
                })?;
        }
        Ok(env)
    }

    /// Static files by path under `static/`.
    pub fn statics(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.statics
    }

    /// Writes the whole template (sources, static files, README) under `dir`,
    /// for a user to customise.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, DashboardError> {
        let mut written = Vec::new();
        let files = self
            .sources
            .iter()
            .map(|(n, s)| (n.clone(), s.as_bytes()))
            .chain(
                self.statics
                    .iter()
                    .map(|(n, b)| (format!("static/{n}"), b.as_slice())),
            )
            .chain(self.others.iter().map(|(n, b)| (n.clone(), b.as_slice())));
        for (name, bytes) in files {
            let path = dir.join(&name);
            crate::atomic::write_bytes(&path, bytes).map_err(|e| DashboardError::Io {
                path: path.clone(),
                source: e,
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// HTML escaping of the five characters that matter (`&<>"'`): minijinja's
/// default also escapes `/`, which makes every path and URL unreadable in the source.
fn html_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() => {
            let mut escaped = String::with_capacity(text.len() + 8);
            for c in text.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#39;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn relative(dir: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A render error with the template's name, line and the chain of causes.
pub(crate) fn render_error(e: &minijinja::Error) -> String {
    let mut text = match (e.name(), e.line()) {
        (Some(name), Some(line)) => format!("{name}:{line}: {e}"),
        _ => e.to_string(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_template_is_complete_and_compiles() {
        let t = Templates::embedded();
        for page in PAGES {
            assert!(t.sources.contains_key(page), "{page}");
        }
        assert!(t.statics.contains_key("style.css"));
        t.environment().expect("every built-in template compiles");
    }

    #[test]
    fn a_copy_round_trips_and_an_incomplete_one_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        Templates::embedded().write_to(dir.path()).expect("write");
        let copy = Templates::from_dir(dir.path()).expect("copy reads back");
        assert_eq!(copy.sources, Templates::embedded().sources);
        assert_eq!(copy.statics, Templates::embedded().statics);

        std::fs::remove_file(dir.path().join("heal.html")).expect("rm");
        let err = Templates::from_dir(dir.path()).expect_err("heal.html missing");
        assert!(
            err.to_string().contains("found none for heal.html"),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        Templates::embedded().write_to(dir.path()).expect("write");
        std::fs::write(dir.path().join("heal.html"), "line one\n{% if %}\n").expect("write");
        let t = Templates::from_dir(dir.path()).expect("complete");
        let err = t.environment().expect_err("syntax error");
        let text = err.to_string();
        assert!(text.contains("heal.html:2"), "{text}");
    }
}
