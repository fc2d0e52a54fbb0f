//! Runs a workflow's jobs in `needs` order on this machine, each in its own
//! workspace, moving between them exactly the files their upload-artifact and
//! download-artifact steps name, with the environment GitHub gives a job.
//!
//! What runs: `run:` steps (bash), `ci-medic/ci-medic@v0` (the compiled
//! binary, its step outputs limited to those action.yml declares), artifact
//! uploads and downloads (upload-artifact v4's rules: the paths' common root,
//! hidden files left out unless asked), checkout (a clone of the repository),
//! and reusable workflows called with `uses: ./.github/workflows/…`. Pages is
//! off (configure-pages fails, as it does on a repository without Pages).
//! `gh run download` inside a reusable workflow reads the same artifact store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::expr::{self, Scope};
use super::workflow::{Body, Job, Reusable, Step, Workflow};

/// The machine a rehearsal runs on.
pub(super) struct Rig {
    /// Scratch space: job workspaces and the artifact store.
    pub(super) root: PathBuf,
    /// The repository every checkout clones.
    pub(super) repo: PathBuf,
    /// `GITHUB_EVENT_NAME`.
    pub(super) event: String,
    /// Environment every job sees (the runner's, and repository settings).
    pub(super) env: Pairs,
    /// `secrets.*`.
    pub(super) secrets: BTreeMap<String, String>,
    /// Text replaced in every command and input: the example's commands for an
    /// app, rewritten to bring up the demo app instead.
    pub(super) substitutions: Pairs,
    /// Per reusable-workflow call (`job` input): inputs replaced after substitution.
    pub(super) overrides: BTreeMap<String, Pairs>,
    /// Outputs the composite action declares.
    pub(super) action_outputs: Vec<String>,
    /// The health URL that says the app is up, checked before a rerun.
    pub(super) health_url: String,
    /// Run after each checkout (links what `npm ci` would install).
    pub(super) after_checkout: String,
}

type Pairs = Vec<(String, String)>;

/// A job's end: `success`, `failure` or `skipped`, its outputs and workspace.
#[derive(Debug, Clone)]
pub(super) struct JobRun {
    pub(super) result: String,
    pub(super) outputs: BTreeMap<String, String>,
    pub(super) dir: PathBuf,
    pub(super) log: Vec<String>,
}

/// ci-medic commands that rerun tests: the app must be up when they run.
const RERUNS: &[&str] = &["heal execute", "heal", "fix apply", "fix"];

/// Runs every job; the first job that cannot be rehearsed is an error that
/// names it (a missing artifact, an unknown action, a rerun with the app down).
pub(super) fn rehearse(
    wf: &Workflow,
    reusable: &BTreeMap<String, Reusable>,
    rig: &Rig,
) -> Result<BTreeMap<String, JobRun>, String> {
    std::fs::create_dir_all(rig.root.join("artifacts")).map_err(|e| e.to_string())?;
    write_gh_stub(rig)?;
    let mut runs: BTreeMap<String, JobRun> = BTreeMap::new();
    for job in &wf.jobs {
        let dir = rig.root.join("jobs").join(&job.id);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let needs: BTreeMap<String, JobRun> = job
            .needs
            .iter()
            .filter_map(|n| runs.get(n).map(|r| (n.clone(), r.clone())))
            .collect();
        let scope = JobScope {
            rig,
            wf_env: &wf.env,
            needs: &needs,
            steps: BTreeMap::new(),
            inputs: BTreeMap::new(),
            secrets: rig.secrets.clone(),
            steps_ok: true,
            in_steps: false,
        };
        let run = if !expr::condition(job.condition.as_deref(), &scope)
            .map_err(|e| format!("{}: job {}: if: {e}", wf.file, job.id))?
        {
            JobRun {
                result: "skipped".into(),
                outputs: BTreeMap::new(),
                dir,
                log: vec!["skipped".into()],
            }
        } else {
            match &job.body {
                Body::Steps(_) => run_job(job, scope, &dir, &job.id).map_err(|e| {
                    format!("{}: job {}: {e}\n\n{}", wf.file, job.id, summary(&runs))
                })?,
                Body::Call {
                    workflow,
                    with,
                    secrets,
                } => {
                    let callee = reusable.get(workflow).ok_or_else(|| {
                        format!(
                            "{}: job {} calls {workflow}, which is not here",
                            wf.file, job.id
                        )
                    })?;
                    call(callee, with, secrets, scope, &dir, &job.id).map_err(|e| {
                        format!("{}: job {} ({}): {e}", wf.file, job.id, callee.file)
                    })?
                }
            }
        };
        runs.insert(job.id.clone(), run);
    }
    Ok(runs)
}

/// The jobs so far, one line each and the log of every step: what a failed
/// rehearsal shows next to its error.
pub(super) fn summary(runs: &BTreeMap<String, JobRun>) -> String {
    runs.iter()
        .map(|(id, r)| {
            format!(
                "{id}: {} ({})\n  {}",
                r.result,
                r.dir.display(),
                r.log.join("\n  ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct JobScope<'a> {
    rig: &'a Rig,
    wf_env: &'a Pairs,
    needs: &'a BTreeMap<String, JobRun>,
    steps: BTreeMap<String, (String, BTreeMap<String, String>)>,
    inputs: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    steps_ok: bool,
    in_steps: bool,
}

impl Scope for JobScope<'_> {
    fn lookup(&self, path: &[String]) -> Value {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["needs", job, "result"] => self
                .needs
                .get(*job)
                .map_or(Value::Null, |r| json!(r.result)),
            ["needs", job, "outputs", name] => self
                .needs
                .get(*job)
                .and_then(|r| r.outputs.get(*name))
                .map_or(Value::Null, |v| json!(v)),
            ["needs"] => Value::Object(
                self.needs
                    .iter()
                    .map(|(k, r)| {
                        (
                            k.clone(),
                            json!({ "result": r.result, "outputs": r.outputs }),
                        )
                    })
                    .collect(),
            ),
            ["steps", id, "outputs", name] => self
                .steps
                .get(*id)
                .and_then(|(_, o)| o.get(*name))
                .map_or(Value::Null, |v| json!(v)),
            ["steps", id, "outcome" | "conclusion"] => {
                self.steps.get(*id).map_or(Value::Null, |(o, _)| json!(o))
            }
            ["inputs", name] => self
                .inputs
                .get(*name)
                .map_or(Value::Null, |v| match v.as_str() {
                    "true" => json!(true),
                    "false" => json!(false),
                    _ => json!(v),
                }),
            ["secrets", name] => self.secrets.get(*name).map_or(Value::Null, |v| json!(v)),
            ["vars", ..] => Value::Null,
            ["env", name] => self
                .wf_env
                .iter()
                .find(|(k, _)| k == name)
                .map_or(Value::Null, |(_, v)| json!(v)),
            ["github", "event_name"] => json!(self.rig.event),
            ["github", "repository"] => json!("acme/shop"),
            ["github", "token"] => json!("rehearsal-token"),
            ["github", "ref"] => json!("refs/heads/main"),
            ["github", ..] => Value::Null,
            _ => Value::Null,
        }
    }

    fn success(&self) -> bool {
        // A job's `if` looks at the jobs it needs; a step's at the steps before it.
        if self.in_steps {
            self.steps_ok
        } else {
            self.needs.values().all(|r| r.result == "success")
        }
    }
}

/// A reusable workflow's job with `with` as its inputs.
fn call(
    callee: &Reusable,
    with: &Pairs,
    secrets: &Pairs,
    mut scope: JobScope<'_>,
    dir: &Path,
    caller: &str,
) -> Result<JobRun, String> {
    for (k, _) in with {
        if !callee.inputs.contains_key(k) {
            return Err(format!("{} has no input `{k}`", callee.file));
        }
    }
    for (k, _) in secrets {
        if !callee.secrets.contains(k) {
            return Err(format!("{} has no secret `{k}`", callee.file));
        }
    }
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    for (k, default) in &callee.inputs {
        let given = with.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
        let v = match given {
            Some(v) => substitute(&expr::interpolate(&v, &scope)?, scope.rig),
            None => substitute(
                &expr::interpolate(&default.clone().unwrap_or_default(), &scope)?,
                scope.rig,
            ),
        };
        inputs.insert(k.clone(), v);
    }
    let name = inputs.get("job").cloned().unwrap_or_default();
    for (k, v) in scope.rig.overrides.get(&name).into_iter().flatten() {
        inputs.insert(k.clone(), v.clone());
    }
    let mut called_secrets = BTreeMap::new();
    for (k, v) in secrets {
        called_secrets.insert(k.clone(), expr::interpolate(v, &scope)?);
    }
    scope.inputs = inputs;
    scope.secrets = called_secrets;
    let inner = run_job(&callee.job, scope, dir, caller)?;
    // The call's outputs come from the callee's `on.workflow_call.outputs`.
    let mut outputs = BTreeMap::new();
    for (k, v) in &callee.outputs {
        let value = v.replace(&format!("jobs.{}.outputs.", callee.job.id), "outputs.");
        let value = value
            .trim()
            .trim_start_matches("${{")
            .trim_end_matches("}}")
            .trim()
            .strip_prefix("outputs.")
            .and_then(|o| inner.outputs.get(o))
            .cloned()
            .unwrap_or_default();
        outputs.insert(k.clone(), value);
    }
    Ok(JobRun { outputs, ..inner })
}

fn run_job(job: &Job, mut scope: JobScope<'_>, dir: &Path, name: &str) -> Result<JobRun, String> {
    let Body::Steps(steps) = &job.body else {
        return Err("a reusable workflow's job calls another".into());
    };
    scope.in_steps = true;
    let mut log = Vec::new();
    let mut job_env: Pairs = Vec::new();
    for (k, v) in &job.env {
        job_env.push((k.clone(), expr::interpolate(v, &scope)?));
    }
    let mut failed = false;
    for (i, step) in steps.iter().enumerate() {
        let go = expr::condition(step.condition.as_deref(), &scope)
            .map_err(|e| format!("step {}: if: {e}", step.label))?;
        if !go {
            if let Some(id) = &step.id {
                scope
                    .steps
                    .insert(id.clone(), ("skipped".into(), BTreeMap::new()));
            }
            continue;
        }
        let outcome = run_step(step, &scope, dir, name, &mut job_env, i)
            .map_err(|e| format!("step {:?}: {e}", step.label))?;
        log.push(format!("{}: {}", step.label, outcome.detail));
        let continue_on_error = match &step.continue_on_error {
            Some(c) => expr::truthy(&expr::eval(
                c.trim().trim_start_matches("${{").trim_end_matches("}}"),
                &scope,
            )?),
            None => false,
        };
        if let Some(id) = &step.id {
            scope.steps.insert(
                id.clone(),
                (
                    if outcome.ok { "success" } else { "failure" }.into(),
                    outcome.outputs.clone(),
                ),
            );
        }
        if !outcome.ok && !continue_on_error {
            failed = true;
            scope.steps_ok = false;
        }
    }
    let mut outputs = BTreeMap::new();
    for (k, v) in &job.outputs {
        outputs.insert(k.clone(), expr::interpolate(v, &scope)?);
    }
    Ok(JobRun {
        result: if failed { "failure" } else { "success" }.into(),
        outputs,
        dir: dir.to_owned(),
        log,
    })
}

struct Outcome {
    ok: bool,
    outputs: BTreeMap<String, String>,
    detail: String,
}

impl Outcome {
    fn done(detail: impl Into<String>) -> Outcome {
        Outcome {
            ok: true,
            outputs: BTreeMap::new(),
            detail: detail.into(),
        }
    }
}

fn with_value(step: &Step, key: &str, scope: &JobScope<'_>) -> Result<Option<String>, String> {
    step.with
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| expr::interpolate(v, scope))
        .transpose()
}

fn run_step(
    step: &Step,
    scope: &JobScope<'_>,
    dir: &Path,
    job: &str,
    job_env: &mut Pairs,
    index: usize,
) -> Result<Outcome, String> {
    let rig = scope.rig;
    let mut env = github_env(rig, dir, job, index)?;
    env.extend(scope.wf_env.iter().cloned());
    env.extend(job_env.iter().cloned());
    for (k, v) in &step.env {
        env.push((k.clone(), substitute(&expr::interpolate(v, scope)?, rig)));
    }
    let store = rig.root.join("artifacts");
    match (step.uses.as_deref(), step.run.as_deref()) {
        (None, Some(script)) => {
            let script = substitute(&expr::interpolate(script, scope)?, rig);
            let o = Command::new("bash")
                .args(["-eo", "pipefail", "-c", &script])
                .current_dir(dir)
                .env_clear()
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .output()
                .map_err(|e| format!("bash: {e}"))?;
            let outputs = read_outputs(&dir_file(&env, "GITHUB_OUTPUT"));
            job_env.extend(read_outputs(&dir_file(&env, "GITHUB_ENV")));
            Ok(Outcome {
                ok: o.status.success(),
                outputs: outputs.into_iter().collect(),
                detail: format!("exit {:?}{}", o.status.code(), tail(&o.stderr)),
            })
        }
        (Some(uses), None) => {
            let action = uses.split('@').next().unwrap_or(uses);
            match action {
                "actions/checkout" => {
                    git_clone(&rig.repo, dir)?;
                    let o = Command::new("bash")
                        .args(["-c", &rig.after_checkout])
                        .current_dir(dir)
                        .output()
                        .map_err(|e| e.to_string())?;
                    if !o.status.success() {
                        return Err(format!("after checkout: {}", tail(&o.stderr)));
                    }
                    Ok(Outcome::done("cloned"))
                }
                "actions/setup-node" => Ok(Outcome::done("node is installed")),
                "actions/configure-pages" => Ok(Outcome {
                    ok: false,
                    outputs: BTreeMap::new(),
                    detail: "Pages is off".into(),
                }),
                "actions/upload-pages-artifact" | "actions/deploy-pages" => {
                    Err(format!("{action} ran although Pages is off"))
                }
                "actions/upload-artifact" => {
                    let name = with_value(step, "name", scope)?.ok_or("upload without a name")?;
                    let paths = with_value(step, "path", scope)?.ok_or("upload without a path")?;
                    let hidden =
                        with_value(step, "include-hidden-files", scope)?.as_deref() == Some("true");
                    let n = upload(dir, &paths, hidden, &store.join(&name))?;
                    Ok(Outcome::done(format!("uploaded {n} file(s) as {name}")))
                }
                "actions/download-artifact" => {
                    let path = with_value(step, "path", scope)?.unwrap_or_default();
                    let dest = dir.join(&path);
                    if let Some(name) = with_value(step, "name", scope)? {
                        // As on GitHub, a missing artifact fails the step.
                        return Ok(match download(&store, &name, &dest, job) {
                            Ok(()) => Outcome::done(format!("downloaded {name}")),
                            Err(why) => Outcome {
                                ok: false,
                                outputs: BTreeMap::new(),
                                detail: why,
                            },
                        });
                    }
                    let pattern = with_value(step, "pattern", scope)?
                        .ok_or("download without name or pattern")?;
                    let merge =
                        with_value(step, "merge-multiple", scope)?.as_deref() == Some("true");
                    let glob = glob::Pattern::new(&pattern).map_err(|e| e.to_string())?;
                    let mut n = 0;
                    for entry in std::fs::read_dir(&store).map_err(|e| e.to_string())? {
                        let name = entry.map_err(|e| e.to_string())?.file_name();
                        let name = name.to_string_lossy();
                        if glob.matches(&name) {
                            let to = if merge {
                                dest.clone()
                            } else {
                                dest.join(&*name)
                            };
                            download(&store, &name, &to, job)?;
                            n += 1;
                        }
                    }
                    if n == 0 {
                        return Err(format!(
                            "downloads artifacts `{pattern}`, and no earlier job uploaded one"
                        ));
                    }
                    Ok(Outcome::done(format!(
                        "downloaded {n} artifact(s) matching {pattern}"
                    )))
                }
                "ci-medic/ci-medic" => ci_medic_step(step, scope, dir, &env),
                other => Err(format!("the rehearsal does not know the action {other}")),
            }
        }
        _ => Err("a step needs exactly one of `uses` and `run`".into()),
    }
}

fn ci_medic_step(
    step: &Step,
    scope: &JobScope<'_>,
    dir: &Path,
    env: &Pairs,
) -> Result<Outcome, String> {
    let rig = scope.rig;
    let command = substitute(
        &with_value(step, "command", scope)?.unwrap_or_default(),
        rig,
    );
    let args = substitute(&with_value(step, "args", scope)?.unwrap_or_default(), rig);
    let words: Vec<&str> = command
        .split_whitespace()
        .chain(args.split_whitespace())
        .collect();
    if words.is_empty() {
        return Ok(Outcome::done("installed only"));
    }
    let sub: String = words
        .iter()
        .take_while(|w| !w.starts_with('-'))
        .take(2)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if RERUNS.contains(&sub.as_str()) && !app_is_up(&rig.health_url) {
        return Err(format!(
            "`ci-medic {sub}` reruns tests, but the app is not up ({} does not answer)",
            rig.health_url
        ));
    }
    let mut env = env.clone();
    let agent_url = with_value(step, "agent-url", scope)?.unwrap_or_default();
    if !agent_url.is_empty() {
        env.push(("CI_MEDIC_AGENT_URL".into(), agent_url));
    }
    let output = dir_file(&env, "GITHUB_OUTPUT");
    let o = Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(&words)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .map_err(|e| format!("ci-medic: {e}"))?;
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() == Some(2)
        && [
            "unexpected argument",
            "unrecognized subcommand",
            "invalid value",
        ]
        .iter()
        .any(|m| stderr.contains(m))
    {
        return Err(format!(
            "`ci-medic {}` does not parse: {}",
            words.join(" "),
            tail(&o.stderr)
        ));
    }
    // A composite action's outputs are only those action.yml declares: one the
    // command writes and the action drops is lost to the workflow.
    let written = read_outputs(&output);
    if let Some((k, _)) = written
        .iter()
        .find(|(k, _)| !rig.action_outputs.contains(k))
    {
        return Err(format!(
            "`ci-medic {}` writes the output `{k}`, which action.yml does not forward",
            words.join(" ")
        ));
    }
    let outputs = written.into_iter().collect();
    Ok(Outcome {
        ok: o.status.success(),
        outputs,
        detail: format!(
            "ci-medic {} → exit {:?}{}",
            words.join(" "),
            o.status.code(),
            tail(&o.stderr)
        ),
    })
}

fn app_is_up(url: &str) -> bool {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .ok()
        .and_then(|c| c.get(url).send().ok())
        .is_some_and(|r| r.status().is_success())
}

fn substitute(text: &str, rig: &Rig) -> String {
    let mut out = text.to_owned();
    for (from, to) in &rig.substitutions {
        out = out.replace(from, to);
    }
    out
}

/// The variables GitHub sets for a step, with fresh output and env files.
fn github_env(rig: &Rig, dir: &Path, job: &str, index: usize) -> Result<Pairs, String> {
    let files = rig.root.join("files").join(job);
    std::fs::create_dir_all(&files).map_err(|e| e.to_string())?;
    let output = files.join(format!("output-{index}"));
    let genv = files.join(format!("env-{index}"));
    let event = rig.root.join("event.json");
    std::fs::write(&output, "").map_err(|e| e.to_string())?;
    std::fs::write(&genv, "").map_err(|e| e.to_string())?;
    std::fs::write(&event, r#"{"inputs": {}}"#).map_err(|e| e.to_string())?;
    let mut env: Pairs = rig.env.clone();
    let path = format!(
        "{}:{}",
        rig.root.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (k, v) in [
        ("PATH", path),
        ("HOME", std::env::var("HOME").unwrap_or_default()),
        ("CI", "true".into()),
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_EVENT_NAME", rig.event.clone()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_RUN_ID", "7001".into()),
        ("GITHUB_RUN_ATTEMPT", "1".into()),
        ("GITHUB_REPOSITORY", "acme/shop".into()),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_SHA", head(&rig.repo)),
        ("GITHUB_REF", "refs/heads/main".into()),
        ("GITHUB_JOB", job.to_owned()),
        ("GITHUB_WORKSPACE", dir.display().to_string()),
        ("GITHUB_OUTPUT", output.display().to_string()),
        ("GITHUB_ENV", genv.display().to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            files.join("summary.md").display().to_string(),
        ),
        ("RUNNER_TEMP", files.display().to_string()),
    ] {
        env.push((k.to_owned(), v));
    }
    Ok(env)
}

fn dir_file(env: &Pairs, key: &str) -> PathBuf {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| PathBuf::from(v))
        .unwrap_or_default()
}

/// `key=value` lines and `key<<EOF` … `EOF` blocks.
fn read_outputs(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((k, delim)) = line.split_once("<<") {
            let mut v = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                v.push(l);
            }
            out.push((k.to_owned(), v.join("\n")));
        } else if let Some((k, v)) = line.split_once('=') {
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

fn head(repo: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn git_clone(repo: &Path, dir: &Path) -> Result<(), String> {
    let o = Command::new("git")
        .args(["clone", "-q"])
        .arg(repo)
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!("git clone: {}", tail(&o.stderr)));
    }
    Ok(())
}

/// upload-artifact v4: the files the paths (globs allowed) name, stored
/// relative to the paths' least common ancestor; hidden files only when asked.
fn upload(dir: &Path, paths: &str, hidden: bool, to: &Path) -> Result<usize, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in paths.lines().map(str::trim).filter(|p| !p.is_empty()) {
        let literal: PathBuf = Path::new(p)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let full = dir.join(p);
        let root = if p.contains(['*', '?', '[']) || full.is_dir() {
            literal
        } else {
            literal.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        roots.push(root);
        let pattern = full.display().to_string();
        let matched: Vec<PathBuf> = glob::glob(&pattern)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .collect();
        for m in matched {
            if m.is_dir() {
                for e in crate::common::walk(&m) {
                    files.push(e);
                }
            } else {
                files.push(m);
            }
        }
    }
    let mut common = roots.first().cloned().unwrap_or_default();
    for r in &roots[1..] {
        common = common
            .components()
            .zip(r.components())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect();
    }
    let base = dir.join(&common);
    let mut n = 0;
    for f in files {
        let rel = f.strip_prefix(&base).map_err(|e| e.to_string())?;
        if !hidden
            && rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap_or(to)).map_err(|e| e.to_string())?;
        std::fs::copy(&f, &dest).map_err(|e| format!("{}: {e}", f.display()))?;
        n += 1;
    }
    Ok(n)
}

fn download(store: &Path, name: &str, to: &Path, job: &str) -> Result<(), String> {
    let from = store.join(name);
    if !from.is_dir() {
        return Err(format!(
            "job {job} downloads artifact `{name}`, which no earlier job uploaded"
        ));
    }
    crate::common::copy_dir(&from, to);
    Ok(())
}

/// `gh run download <id> --repo R --name N --dir D`, read from the artifact store.
fn write_gh_stub(rig: &Rig) -> Result<(), String> {
    let bin = rig.root.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    let store = rig.root.join("artifacts");
    let script = format!(
        r#"#!/usr/bin/env bash
set -euo pipefail
[ "$1 $2" = "run download" ] || {{ echo "gh stub: only 'gh run download' is rehearsed" >&2; exit 2; }}
shift 2
name=""; dir="."
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2;;
    --dir) dir="$2"; shift 2;;
    *) shift;;
  esac
done
if [ ! -d "{store}/$name" ]; then
  echo "no artifact matches any of the names or patterns provided: $name" >&2
  exit 1
fi
mkdir -p "$dir"
cp -R "{store}/$name/." "$dir/"
"#,
        store = store.display()
    );
    let path = bin.join("gh");
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())
}

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = s.lines().rev().take(6).collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!(
            "\n    {}",
            lines.into_iter().rev().collect::<Vec<_>>().join("\n    ")
        )
    }
}
