//! The event that started the workflow (`GITHUB_EVENT_NAME`, and the payload at
//! `GITHUB_EVENT_PATH`), as far as the reporting stages need it: which pull
//! request, which commit, which run.
//!
//! A `pull_request` run from a fork gets a read-only token, so the reporting is
//! done by a follow-up `workflow_run` workflow; its payload names the run and its
//! head commit, and the pull request is found from those (GitHub leaves
//! `workflow_run.pull_requests` empty for forks). Nothing is taken from the run's
//! artifacts to decide where to write.

use serde_json::Value;

/// The triggering event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `pull_request`, `workflow_run`, `push`, ….
    pub name: String,
    /// The payload.
    pub payload: Value,
}

/// Which pull request (if any) the event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A `pull_request` or `pull_request_target` event.
    PullRequest {
        /// Its number.
        number: u64,
        /// Its head commit.
        head_sha: Option<String>,
        /// The head branch is in another repository (a fork).
        from_fork: bool,
    },
    /// A `workflow_run` event: the run whose results are being reported.
    WorkflowRun(WorkflowRun),
    /// Anything else (`push`, `schedule`, `workflow_dispatch`, …).
    Other,
}

/// The finished run a `workflow_run` event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    /// Its id.
    pub id: String,
    /// Its attempt.
    pub attempt: u32,
    /// Its page.
    pub html_url: Option<String>,
    /// The event that started it (`pull_request` for a PR's run).
    pub event: String,
    /// The commit it ran on.
    pub head_sha: String,
    /// The branch it ran on.
    pub head_branch: Option<String>,
    /// The owner of the repository that branch is in (a fork's owner for forks).
    pub head_owner: Option<String>,
    /// Pull requests GitHub associates with it, with their head commits (empty for forks).
    pub pull_requests: Vec<(u64, Option<String>)>,
}

impl Event {
    /// Reads the event from the Actions environment (`var`); `None` outside Actions.
    ///
    /// # Errors
    /// The payload file is missing or not JSON (the message names the file).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<Event>, String> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let (Some(name), Some(path)) = (get("GITHUB_EVENT_NAME"), get("GITHUB_EVENT_PATH")) else {
            return Ok(None);
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            format!("GITHUB_EVENT_PATH={path}: expected the event payload, cannot read it: {e}")
        })?;
        let payload = serde_json::from_slice(&bytes).map_err(|e| {
            format!("GITHUB_EVENT_PATH={path}: expected the event payload as JSON, found {e}")
        })?;
        Ok(Some(Event { name, payload }))
    }

    /// What the event is about.
    ///
    /// # Errors
    /// A `pull_request` or `workflow_run` payload without the fields GitHub
    /// always sends (the message names the field).
    pub fn subject(&self) -> Result<Subject, String> {
        let p = &self.payload;
        let str_at = |pointer: &str| p.pointer(pointer).and_then(Value::as_str);
        match self.name.as_str() {
            "pull_request" | "pull_request_target" => {
                let number = p
                    .pointer("/pull_request/number")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| self.missing("pull_request.number"))?;
                let head_repo = str_at("/pull_request/head/repo/full_name");
                let base_repo = str_at("/pull_request/base/repo/full_name");
                Ok(Subject::PullRequest {
                    number,
                    head_sha: str_at("/pull_request/head/sha").map(str::to_owned),
                    from_fork: matches!((head_repo, base_repo), (Some(h), Some(b)) if !h.eq_ignore_ascii_case(b)),
                })
            }
            "workflow_run" => {
                let id = p
                    .pointer("/workflow_run/id")
                    .and_then(|v| {
                        v.as_u64()
                            .map(|n| n.to_string())
                            .or_else(|| v.as_str().map(str::to_owned))
                    })
                    .ok_or_else(|| self.missing("workflow_run.id"))?;
                let head_sha = str_at("/workflow_run/head_sha")
                    .ok_or_else(|| self.missing("workflow_run.head_sha"))?
                    .to_owned();
                let pull_requests = p
                    .pointer("/workflow_run/pull_requests")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|pr| {
                        let number = pr.get("number").and_then(Value::as_u64)?;
                        let sha = pr
                            .pointer("/head/sha")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        Some((number, sha))
                    })
                    .collect();
                Ok(Subject::WorkflowRun(WorkflowRun {
                    id,
                    attempt: p
                        .pointer("/workflow_run/run_attempt")
                        .and_then(Value::as_u64)
                        .and_then(|a| u32::try_from(a).ok())
                        .unwrap_or(1),
                    html_url: str_at("/workflow_run/html_url").map(str::to_owned),
                    event: str_at("/workflow_run/event").unwrap_or_default().to_owned(),
                    head_sha,
                    head_branch: str_at("/workflow_run/head_branch").map(str::to_owned),
                    head_owner: str_at("/workflow_run/head_repository/owner/login")
                        .map(str::to_owned),
                    pull_requests,
                }))
            }
            _ => Ok(Subject::Other),
        }
    }

    fn missing(&self, field: &str) -> String {
        format!(
            "the {} event payload (GITHUB_EVENT_PATH): expected {field}, found none",
            self.name
        )
    }
}

impl WorkflowRun {
    /// The pull request GitHub itself associates with the run at its head commit.
    pub fn associated_pull(&self) -> Option<u64> {
        self.pull_requests
            .iter()
            .find(|(_, sha)| sha.as_deref().is_none_or(|s| s == self.head_sha))
            .map(|(n, _)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, payload: Value) -> Event {
        Event {
            name: name.into(),
            payload,
        }
    }

    #[test]
    fn a_pull_request_from_a_fork_is_recognised() {
        let e = event(
            "pull_request",
            json!({"pull_request": {"number": 7, "head": {"sha": "abc", "repo": {"full_name": "eve/shop"}},
                   "base": {"repo": {"full_name": "acme/shop"}}}}),
        );
        assert_eq!(
            e.subject(),
            Ok(Subject::PullRequest {
                number: 7,
                head_sha: Some("abc".into()),
                from_fork: true
            })
        );
        let same = event(
            "pull_request",
            json!({"pull_request": {"number": 8, "head": {"sha": "abc", "repo": {"full_name": "acme/shop"}},
                   "base": {"repo": {"full_name": "Acme/Shop"}}}}),
        );
        assert!(matches!(
            same.subject(),
            Ok(Subject::PullRequest {
                from_fork: false,
                ..
            })
        ));
    }

    #[test]
    fn a_workflow_run_names_its_run_and_head() {
        let e = event(
            "workflow_run",
            json!({"workflow_run": {"id": 123, "run_attempt": 2, "event": "pull_request", "head_sha": "h1",
                   "head_branch": "feat", "html_url": "https://github.com/acme/shop/actions/runs/123",
                   "head_repository": {"owner": {"login": "eve"}}, "pull_requests": []}}),
        );
        let Ok(Subject::WorkflowRun(run)) = e.subject() else {
            panic!("not a workflow run: {:?}", e.subject());
        };
        assert_eq!(run.id, "123");
        assert_eq!(run.attempt, 2);
        assert_eq!(run.head_owner.as_deref(), Some("eve"));
        assert_eq!(run.associated_pull(), None);
        let with_pr = WorkflowRun {
            pull_requests: vec![(4, Some("old".into())), (5, Some("h1".into()))],
            ..run
        };
        assert_eq!(with_pr.associated_pull(), Some(5));
    }

    #[test]
    fn missing_fields_are_named() {
        let e = event("workflow_run", json!({"workflow_run": {"id": 1}}));
        assert_eq!(
            e.subject(),
            Err("the workflow_run event payload (GITHUB_EVENT_PATH): expected workflow_run.head_sha, found none".into())
        );
        assert_eq!(event("push", json!({})).subject(), Ok(Subject::Other));
    }

    #[test]
    fn the_payload_file_must_be_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("event.json");
        std::fs::write(&path, "not json").expect("write");
        let path_s = path.display().to_string();
        let err = Event::from_env(|k| match k {
            "GITHUB_EVENT_NAME" => Some("push".into()),
            "GITHUB_EVENT_PATH" => Some(path_s.clone()),
            _ => None,
        })
        .expect_err("not json");
        assert!(err.contains("expected the event payload as JSON"), "{err}");
        assert_eq!(Event::from_env(|_| None), Ok(None));
    }
}
