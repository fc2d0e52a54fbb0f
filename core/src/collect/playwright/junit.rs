//! Playwright's JUnit reporter output, old and new forms.
//!
//! `<testsuite name=file hostname=project>` holds `<testcase name="a › b">`; a failed
//! test has `<failure>` (assertions; older versions: every failure, with
//! `message="file:line:col title"`) or `<error>` (other errors, newer versions); with
//! retries included, `<flakyFailure>`/`<flakyError>` and `<rerunFailure>`/`<rerunError>`
//! stand for the other attempts. `<system-out>` lists attachments as
//! `[[ATTACHMENT|path]]`.

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::error_text::error_from_text;
use crate::collect::error::CollectError;
use crate::model::{
    Annotation, Attachment, Attempt, AttemptStatus, ErrorInfo, ReportInfo, Test, TestStatus,
};
use crate::text::describe_content;

/// What the JUnit report contributes.
#[derive(Debug, Clone, Default)]
pub struct JunitRun {
    /// Run-level facts (start time, duration).
    pub info: ReportInfo,
    /// The tests.
    pub tests: Vec<Test>,
}

#[derive(Debug, Default)]
struct Case {
    name: String,
    file: String,
    project: String,
    time_ms: f64,
    skipped: bool,
    /// The final failure, when the test failed.
    failure: Option<ErrorInfo>,
    /// Failed attempts before a final pass (includeRetries).
    flaky: Vec<ErrorInfo>,
    /// Failed attempts after the first failure (includeRetries).
    reruns: Vec<ErrorInfo>,
    attachments: Vec<String>,
    stdout: String,
    stderr: String,
    properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    None,
    Failure,
    Flaky,
    Rerun,
    Out,
    Err,
}

/// Parses a JUnit report read from `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<JunitRun, CollectError> {
    const EXPECTED: &str = "a JUnit XML report (<testsuites> or <testsuite>)";
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CollectError::format(path, EXPECTED, describe_content(bytes)))?;
    if !text.trim_start().starts_with('<') {
        return Err(CollectError::format(
            path,
            EXPECTED,
            describe_content(bytes),
        ));
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut info = ReportInfo::default();
    let mut cases: Vec<Case> = Vec::new();
    let mut suite_file = String::new();
    let mut suite_project = String::new();
    let mut current: Option<Case> = None;
    let mut text_target = Text::None;
    let mut buffer = String::new();
    let mut pending_error: Option<(String, String)> = None;
    let mut saw_root = false;
    let xml_error = |e: quick_xml::Error, pos: u64| {
        let (line, col) = line_col(text, pos as usize);
        CollectError::format(
            path,
            EXPECTED,
            format!("malformed XML at line {line}, column {col}: {e}"),
        )
    };
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| xml_error(e, pos))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let tag = e.name();
                let tag = String::from_utf8_lossy(tag.as_ref()).into_owned();
                match tag.as_str() {
                    "testsuites" => {
                        saw_root = true;
                        info.duration_ms = attr(e, "time")
                            .and_then(|t| t.parse::<f64>().ok())
                            .map(|s| s * 1000.0);
                    }
                    "testsuite" => {
                        saw_root = true;
                        suite_file = attr(e, "name").unwrap_or_default();
                        suite_project = attr(e, "hostname").unwrap_or_default();
                        if info.started_at.is_none() {
                            info.started_at = attr(e, "timestamp");
                        }
                    }
                    "testcase" => {
                        let case = Case {
                            name: attr(e, "name").unwrap_or_default(),
                            file: attr(e, "classname").unwrap_or_else(|| suite_file.clone()),
                            project: suite_project.clone(),
                            time_ms: attr(e, "time")
                                .and_then(|t| t.parse::<f64>().ok())
                                .unwrap_or(0.0)
                                * 1000.0,
                            ..Case::default()
                        };
                        if empty {
                            cases.push(case);
                        } else {
                            current = Some(case);
                        }
                    }
                    "skipped" => {
                        if let Some(c) = current.as_mut() {
                            c.skipped = true;
                        }
                    }
                    "property" => {
                        if let Some(c) = current.as_mut() {
                            c.properties.push((
                                attr(e, "name").unwrap_or_default(),
                                attr(e, "value").unwrap_or_default(),
                            ));
                        }
                    }
                    "failure" | "error" | "flakyFailure" | "flakyError" | "rerunFailure"
                    | "rerunError" => {
                        let target = match tag.as_str() {
                            "failure" | "error" => Text::Failure,
                            "flakyFailure" | "flakyError" => Text::Flaky,
                            _ => Text::Rerun,
                        };
                        let message = attr(e, "message").unwrap_or_default();
                        let kind = attr(e, "type").unwrap_or_default();
                        if empty {
                            push_error(current.as_mut(), target, &message, &kind, "");
                        } else {
                            text_target = target;
                            buffer.clear();
                            pending_error = Some((message, kind));
                        }
                    }
                    "system-out" | "system-err" if !empty && text_target == Text::None => {
                        text_target = if tag == "system-out" {
                            Text::Out
                        } else {
                            Text::Err
                        };
                        buffer.clear();
                    }
                    "stackTrace" => {}
                    _ => {}
                }
            }
            Event::Text(t) if text_target != Text::None => {
                let decoded = t.decode().map_err(|e| xml_error(e.into(), pos))?;
                let unescaped =
                    quick_xml::escape::unescape(&decoded).map_err(|e| xml_error(e.into(), pos))?;
                buffer.push_str(&unescaped);
            }
            Event::CData(t) if text_target != Text::None => {
                buffer.push_str(&String::from_utf8_lossy(&t));
            }
            Event::End(e) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match tag.as_str() {
                    "testcase" => {
                        if let Some(c) = current.take() {
                            cases.push(c);
                        }
                    }
                    "failure" | "error" | "flakyFailure" | "flakyError" | "rerunFailure"
                    | "rerunError" => {
                        if let Some((message, kind)) = pending_error.take() {
                            push_error(current.as_mut(), text_target, &message, &kind, &buffer);
                        }
                        text_target = Text::None;
                    }
                    "system-out" | "system-err" => {
                        if let (Some(c), Text::Out | Text::Err) = (current.as_mut(), text_target) {
                            let (out, attachments) = split_attachments(&buffer);
                            c.attachments.extend(attachments);
                            if text_target == Text::Out {
                                c.stdout.push_str(&out);
                            } else {
                                c.stderr.push_str(&out);
                            }
                            text_target = Text::None;
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(CollectError::format(
            path,
            EXPECTED,
            "XML without <testsuites> or <testsuite> (a report from another tool?)",
        ));
    }
    Ok(JunitRun {
        info,
        tests: cases.into_iter().map(into_test).collect(),
    })
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

fn push_error(case: Option<&mut Case>, target: Text, message: &str, kind: &str, body: &str) {
    let Some(case) = case else { return };
    let text = if body.trim().is_empty() {
        message
    } else {
        body
    };
    let mut error = error_from_text(text.trim_matches('\n'), None, None);
    if error.message.is_empty() {
        error.message = if message.is_empty() {
            kind.to_owned()
        } else {
            message.to_owned()
        };
    }
    match target {
        Text::Flaky => case.flaky.push(error),
        Text::Rerun => case.reruns.push(error),
        _ => case.failure = Some(error),
    }
}

/// Splits `[[ATTACHMENT|path]]` lines out of a system-out/err text.
fn split_attachments(text: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut attachments = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(path) = t
            .strip_prefix("[[ATTACHMENT|")
            .and_then(|r| r.strip_suffix("]]"))
        {
            attachments.push(path.to_owned());
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let trimmed = out.trim_matches('\n').to_owned();
    (trimmed, attachments)
}

fn attempt(
    retry: usize,
    status: AttemptStatus,
    errors: Vec<ErrorInfo>,
    duration_ms: f64,
) -> Attempt {
    Attempt {
        retry: u32::try_from(retry).unwrap_or(u32::MAX),
        status,
        duration_ms,
        started_at: None,
        worker_index: None,
        errors,
        stdout: String::new(),
        stderr: String::new(),
        attachments: Vec::new(),
        error_context: None,
    }
}

fn into_test(c: Case) -> Test {
    let title_path: Vec<String> = c.name.split(" › ").map(str::to_owned).collect();
    let failed_status = |e: &ErrorInfo| super::failed_attempt_status(&e.message);
    let (status, mut attempts) = if c.skipped {
        (TestStatus::Skipped, Vec::new())
    } else if let Some(failure) = c.failure {
        let mut attempts = vec![attempt(
            0,
            failed_status(&failure),
            vec![failure],
            c.time_ms,
        )];
        for (i, e) in c.reruns.into_iter().enumerate() {
            attempts.push(attempt(i + 1, failed_status(&e), vec![e], 0.0));
        }
        (TestStatus::Unexpected, attempts)
    } else if !c.flaky.is_empty() {
        let n = c.flaky.len();
        let mut attempts: Vec<Attempt> = c
            .flaky
            .into_iter()
            .enumerate()
            .map(|(i, e)| attempt(i, failed_status(&e), vec![e], 0.0))
            .collect();
        attempts.push(attempt(n, AttemptStatus::Passed, Vec::new(), c.time_ms));
        (TestStatus::Flaky, attempts)
    } else {
        (
            TestStatus::Expected,
            vec![attempt(0, AttemptStatus::Passed, Vec::new(), c.time_ms)],
        )
    };
    if let Some(last) = attempts.last_mut() {
        last.stdout = c.stdout;
        last.stderr = c.stderr;
        last.attachments = c
            .attachments
            .iter()
            .map(|p| {
                let file = p.rsplit('/').next().unwrap_or(p);
                Attachment {
                    name: file.to_owned(),
                    content_type: String::new(),
                    kind: super::attachment_kind("", "", Some(p)),
                    path: Some(p.clone()),
                    body: None,
                    artifact: None,
                }
            })
            .collect();
    }
    Test {
        id: super::test_id(&c.project, &c.file, &title_path),
        title_path,
        file: c.file,
        line: None,
        column: None,
        project: c.project,
        status,
        expected_status: None,
        tags: Vec::new(),
        annotations: c
            .properties
            .into_iter()
            .map(|(name, value)| Annotation {
                kind: name,
                description: (!value.is_empty()).then_some(value),
            })
            .collect(),
        duration_ms: c.time_ms,
        attempts,
    }
}
