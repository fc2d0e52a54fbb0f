//! GitHub: Actions' workflow commands and files (annotations, step outputs, the
//! job summary; each has a plain local equivalent, the terminal), the REST client
//! ([`api`]) and the triggering event ([`event`]).

pub mod api;
pub mod event;
pub mod target;

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use ci_medic_core::model::{Bundle, TestStatus};
use ci_medic_core::text;

/// GitHub shows at most this many error annotations per step.
pub const MAX_ERROR_ANNOTATIONS: usize = 10;

/// GitHub's limit for `$GITHUB_STEP_SUMMARY`, per step.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Whether we run inside GitHub Actions.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")
}

/// Escapes the message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error file=…,line=…,title=…::message` annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Repository-relative file.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// Short title.
    pub title: String,
    /// The message.
    pub message: String,
}

impl Annotation {
    /// The workflow command line.
    pub fn command(&self) -> String {
        let mut props = Vec::new();
        if let Some(f) = &self.file {
            props.push(format!("file={}", escape_property(f)));
        }
        if let Some(l) = self.line {
            props.push(format!("line={l}"));
        }
        props.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::error {}::{}",
            props.join(","),
            escape_data(&self.message)
        )
    }
}

/// The annotation commands for `annotations`, within GitHub's per-step limit; the
/// rest are counted in a notice.
pub fn annotation_commands(annotations: &[Annotation]) -> Vec<String> {
    let mut lines: Vec<String> = annotations
        .iter()
        .take(MAX_ERROR_ANNOTATIONS)
        .map(Annotation::command)
        .collect();
    if annotations.len() > MAX_ERROR_ANNOTATIONS {
        lines.push(format!(
            "::notice title=ci-medic::{} more failure(s) are not annotated (GitHub shows {} per step); see the job summary",
            annotations.len() - MAX_ERROR_ANNOTATIONS,
            MAX_ERROR_ANNOTATIONS
        ));
    }
    lines
}

/// One annotation per failed test (with the test's id), at the failing line when
/// the error says where; absolute paths are made relative to `workspace`.
pub fn failure_annotations(bundle: &Bundle, workspace: Option<&str>) -> Vec<(String, Annotation)> {
    bundle
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Unexpected)
        .map(|t| {
            let error = t.attempts.iter().rev().find_map(|a| a.errors.first());
            let location = error.and_then(|e| e.location.as_ref());
            let file = location
                .map(|l| relative_to(&l.file, workspace))
                .unwrap_or_else(|| t.file.clone());
            let annotation = Annotation {
                file: Some(file),
                line: location.map(|l| l.line).or(t.line),
                title: format!("{} [{}]", t.title(), t.project),
                message: error
                    .map(|e| text::one_line(&e.message, 500))
                    .unwrap_or_else(|| "failed".to_owned()),
            };
            (t.id.clone(), annotation)
        })
        .collect()
}

fn relative_to(file: &str, root: Option<&str>) -> String {
    match root {
        Some(root) => file
            .strip_prefix(root)
            .map(|r| r.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| file.to_owned()),
        None => file.to_owned(),
    }
}

/// Appends `name=value` lines to the file named by `$GITHUB_OUTPUT`.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open GITHUB_OUTPUT file {}", path.display()))?;
    for (name, value) in outputs {
        let value = value.replace(['\n', '\r'], " ");
        writeln!(file, "{name}={value}")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Appends Markdown to the file named by `$GITHUB_STEP_SUMMARY`.
pub fn append_summary(path: &Path, markdown: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open GITHUB_STEP_SUMMARY file {}", path.display()))?;
    file.write_all(markdown.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// In GitHub Actions, appends `markdown` to the job summary and writes
/// `outputs`; elsewhere does nothing. Each stage's one place for both.
pub fn publish(markdown: &str, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    if !in_actions() {
        return Ok(());
    }
    if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        append_summary(Path::new(&p), markdown)?;
    }
    if let Some(p) = std::env::var_os("GITHUB_OUTPUT")
        && !outputs.is_empty()
    {
        write_outputs(Path::new(&p), outputs)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_what_github_requires() {
        let a = Annotation {
            file: Some("tests/a,b.spec.ts".into()),
            line: Some(12),
            title: "item list › lists: 100%".into(),
            message: "line one\nline two 50%".into(),
        };
        assert_eq!(
            a.command(),
            "::error file=tests/a%2Cb.spec.ts,line=12,title=item list › lists%3A 100%25::line one%0Aline two 50%25"
        );
    }

    #[test]
    fn at_most_ten_errors_then_a_notice() {
        let many: Vec<Annotation> = (0..13)
            .map(|i| Annotation {
                file: None,
                line: None,
                title: format!("t{i}"),
                message: "m".into(),
            })
            .collect();
        let lines = annotation_commands(&many);
        assert_eq!(lines.len(), 11);
        assert!(lines[10].starts_with("::notice") && lines[10].contains("3 more failure(s)"));
    }
}
