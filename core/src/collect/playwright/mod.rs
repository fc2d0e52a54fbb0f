//! Readers of what Playwright writes: the JSON and JUnit reports, the console
//! log of the list/line reporters and the `test-results/` tree.

pub mod console;
pub mod error_text;
pub mod json;
pub mod junit;
pub mod results_dir;

use crate::model::{ArtifactKind, AttemptStatus};

/// The status of a failed attempt known only from its message (JUnit, console):
/// Playwright words a test timeout as `Test timeout of Nms exceeded.`
pub fn failed_attempt_status(message: &str) -> AttemptStatus {
    if message.contains("Test timeout of") {
        AttemptStatus::TimedOut
    } else {
        AttemptStatus::Failed
    }
}

/// The stable id of a test: `project › file › titles…`.
pub fn test_id(project: &str, file: &str, title_path: &[String]) -> String {
    let mut id = String::with_capacity(64);
    id.push_str(project);
    id.push_str(" › ");
    id.push_str(file);
    for t in title_path {
        id.push_str(" › ");
        id.push_str(t);
    }
    id
}

/// Classifies an attachment or file by name, MIME type and path.
pub fn attachment_kind(name: &str, content_type: &str, path: Option<&str>) -> ArtifactKind {
    let file = path
        .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p))
        .unwrap_or("");
    if name == "trace" || file.ends_with(".zip") && file.starts_with("trace") {
        ArtifactKind::Trace
    } else if name == "video" || content_type.starts_with("video/") || file.ends_with(".webm") {
        ArtifactKind::Video
    } else if name.starts_with("error-context")
        || name.starts_with("_error-context")
        || name.starts_with("_prompt")
        || file.starts_with("error-context")
    {
        ArtifactKind::ErrorContext
    } else if content_type.starts_with("image/")
        || file.ends_with(".png")
        || file.ends_with(".jpeg")
        || file.ends_with(".jpg")
    {
        ArtifactKind::Screenshot
    } else if content_type.starts_with("text/")
        || file.ends_with(".txt")
        || file.ends_with(".log")
        || file.ends_with(".md")
    {
        ArtifactKind::Text
    } else {
        ArtifactKind::Other
    }
}
