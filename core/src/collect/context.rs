//! Where and why a run happened: GitHub Actions' environment and event payload,
//! or local equivalents (the checkout's git HEAD, a time-based run id).

use std::path::Path;

use crate::model::{RunContext, Warning};

/// Reads the run context from environment variables (`var`) and, in GitHub
/// Actions, the event payload at `GITHUB_EVENT_PATH`; `repo_dir` is used for the
/// local git HEAD.
pub fn detect(
    var: impl Fn(&str) -> Option<String>,
    repo_dir: &Path,
    warnings: &mut Vec<Warning>,
) -> RunContext {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    if get("GITHUB_ACTIONS").as_deref() != Some("true") {
        return local(&get, repo_dir);
    }
    let payload = get("GITHUB_EVENT_PATH").and_then(|p| match std::fs::read(&p) {
        Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                warnings.push(Warning::new(
                    "event_payload",
                    format!("{p}: not JSON ({e}); PR data unavailable"),
                ));
                None
            }
        },
        Err(e) => {
            warnings.push(Warning::new(
                "event_payload",
                format!("{p}: {e}; PR data unavailable"),
            ));
            None
        }
    });
    let event = get("GITHUB_EVENT_NAME");
    let pr = payload.as_ref().and_then(|p| {
        p.get("pull_request")
            .or_else(|| p.pointer("/workflow_run/pull_requests/0"))
            .filter(|v| v.is_object())
    });
    let pr_number = pr
        .and_then(|p| p.get("number"))
        .and_then(serde_json::Value::as_u64)
        .or_else(|| {
            payload
                .as_ref()
                .and_then(|p| p.get("number"))
                .and_then(serde_json::Value::as_u64)
        });
    // On pull_request events GITHUB_SHA is the merge commit; the PR head is what was pushed.
    let sha = pr
        .and_then(|p| p.pointer("/head/sha"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            payload
                .as_ref()
                .and_then(|p| p.pointer("/workflow_run/head_sha"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| get("GITHUB_SHA"));
    let ref_name = pr
        .and_then(|p| p.pointer("/head/ref"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .or_else(|| get("GITHUB_HEAD_REF"))
        .or_else(|| get("GITHUB_REF_NAME"));
    let repo = get("GITHUB_REPOSITORY");
    let run_id = get("GITHUB_RUN_ID").unwrap_or_else(|| "unknown".to_owned());
    let run_url = match (get("GITHUB_SERVER_URL"), &repo) {
        (Some(server), Some(repo)) => Some(format!("{server}/{repo}/actions/runs/{run_id}")),
        _ => None,
    };
    RunContext {
        provider: "github".to_owned(),
        repo,
        run_attempt: get("GITHUB_RUN_ATTEMPT")
            .and_then(|a| a.parse().ok())
            .unwrap_or(1),
        run_id,
        sha,
        ref_name,
        event,
        pr_number,
        workflow: get("GITHUB_WORKFLOW"),
        job: get("GITHUB_JOB"),
        runner_os: get("RUNNER_OS"),
        run_url,
    }
}

fn local(get: &impl Fn(&str) -> Option<String>, repo_dir: &Path) -> RunContext {
    let (sha, ref_name) = git_head(repo_dir).unwrap_or((None, None));
    let run_id = get("CI_MEDIC_RUN_ID").unwrap_or_else(|| {
        let now = time::OffsetDateTime::now_utc();
        format!("local-{}", now.unix_timestamp())
    });
    RunContext {
        provider: "local".to_owned(),
        repo: None,
        run_id,
        run_attempt: 1,
        sha,
        ref_name,
        event: Some("local".to_owned()),
        pr_number: None,
        workflow: None,
        job: None,
        runner_os: Some(std::env::consts::OS.to_owned()),
        run_url: None,
    }
}

/// The commit and branch of the checkout at or above `dir`, read from `.git`.
pub fn git_head(dir: &Path) -> Option<(Option<String>, Option<String>)> {
    let git = dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|g| g.exists())?;
    let git = if git.is_file() {
        // A worktree or submodule: `gitdir: <path>`.
        let text = std::fs::read_to_string(&git).ok()?;
        let target = text.trim().strip_prefix("gitdir: ")?;
        git.parent()?.join(target)
    } else {
        git
    };
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return Some((Some(head.to_owned()), None));
    };
    let branch = reference
        .strip_prefix("refs/heads/")
        .unwrap_or(reference)
        .to_owned();
    let sha = std::fs::read_to_string(git.join(reference))
        .ok()
        .map(|s| s.trim().to_owned())
        .or_else(|| {
            let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
            packed.lines().find_map(|l| {
                let (sha, name) = l.split_once(' ')?;
                (name == reference).then(|| sha.to_owned())
            })
        });
    Some((sha, Some(branch)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn pull_request_uses_the_head_sha_not_the_merge_sha() {
        let dir = tempfile::tempdir().expect("tempdir");
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"number": 42, "pull_request": {"number": 42, "head": {"sha": "headsha111", "ref": "feature/x"}}}"#,
        )
        .expect("write");
        let mut warnings = Vec::new();
        let ctx = detect(
            env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", event.to_str().expect("utf-8")),
                ("GITHUB_SHA", "mergesha999"),
                ("GITHUB_REF_NAME", "42/merge"),
                ("GITHUB_REPOSITORY", "acme/shop"),
                ("GITHUB_RUN_ID", "1234"),
                ("GITHUB_RUN_ATTEMPT", "2"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_WORKFLOW", "e2e"),
                ("GITHUB_JOB", "e2e-tests"),
                ("RUNNER_OS", "Linux"),
            ]),
            dir.path(),
            &mut warnings,
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(ctx.provider, "github");
        assert_eq!(ctx.sha.as_deref(), Some("headsha111"));
        assert_eq!(ctx.ref_name.as_deref(), Some("feature/x"));
        assert_eq!(ctx.pr_number, Some(42));
        assert_eq!(ctx.run_attempt, 2);
        assert_eq!(
            ctx.run_url.as_deref(),
            Some("https://github.com/acme/shop/actions/runs/1234")
        );
        assert_eq!(ctx.job.as_deref(), Some("e2e-tests"));
    }

    #[test]
    fn push_uses_github_sha_and_a_bad_payload_is_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut warnings = Vec::new();
        let ctx = detect(
            env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_EVENT_NAME", "push"),
                ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
                ("GITHUB_SHA", "pushsha"),
                ("GITHUB_REF_NAME", "main"),
                ("GITHUB_RUN_ID", "9"),
            ]),
            dir.path(),
            &mut warnings,
        );
        assert_eq!(ctx.sha.as_deref(), Some("pushsha"));
        assert_eq!(ctx.pr_number, None);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("/nonexistent/event.json"));
    }

    #[test]
    fn local_reads_git_head() {
        let dir = tempfile::tempdir().expect("tempdir");
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).expect("mkdir");
        std::fs::write(git.join("HEAD"), "ref: refs/heads/topic\n").expect("write");
        std::fs::write(
            git.join("packed-refs"),
            "# pack-refs\nabc123 refs/heads/topic\n",
        )
        .expect("write");
        let mut warnings = Vec::new();
        let ctx = detect(
            env(&[("CI_MEDIC_RUN_ID", "r1")]),
            &dir.path().join("sub/dir"),
            &mut warnings,
        );
        assert_eq!(ctx.provider, "local");
        assert_eq!(ctx.run_id, "r1");
        assert_eq!(ctx.sha.as_deref(), Some("abc123"));
        assert_eq!(ctx.ref_name.as_deref(), Some("topic"));
    }
}
