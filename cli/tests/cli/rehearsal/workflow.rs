//! A workflow file read as the rehearsal runs it: jobs in `needs` order, their
//! steps or the reusable workflow they call, and the artifacts each uploads
//! and downloads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use yaml_serde::Value as Yaml;

/// Keys and values of a mapping, scalars as text.
pub(super) type Pairs = Vec<(String, String)>;

/// A workflow: its `env` and its jobs, each after the jobs it needs.
#[derive(Debug, Clone)]
pub(super) struct Workflow {
    pub(super) file: String,
    pub(super) env: Pairs,
    pub(super) jobs: Vec<Job>,
}

#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) id: String,
    pub(super) needs: Vec<String>,
    pub(super) condition: Option<String>,
    pub(super) outputs: Pairs,
    pub(super) env: Pairs,
    pub(super) body: Body,
}

#[derive(Debug, Clone)]
pub(super) enum Body {
    Steps(Vec<Step>),
    /// `uses: ./.github/workflows/x.yml` with its `with:` and `secrets:`.
    Call {
        workflow: String,
        with: Pairs,
        secrets: Pairs,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) label: String,
    pub(super) id: Option<String>,
    pub(super) condition: Option<String>,
    pub(super) uses: Option<String>,
    pub(super) run: Option<String>,
    pub(super) with: Pairs,
    pub(super) env: Pairs,
    pub(super) continue_on_error: Option<String>,
}

/// A reusable workflow: its inputs (with defaults), outputs and its one job.
#[derive(Debug, Clone)]
pub(super) struct Reusable {
    pub(super) file: String,
    pub(super) inputs: BTreeMap<String, Option<String>>,
    pub(super) secrets: BTreeSet<String>,
    pub(super) outputs: Pairs,
    pub(super) job: Job,
}

fn text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => yaml_serde::to_string(other).unwrap_or_default(),
    }
}

fn pairs(v: Option<&Yaml>) -> Pairs {
    v.and_then(Yaml::as_mapping)
        .map(|m| m.iter().map(|(k, v)| (text(k), text(v))).collect())
        .unwrap_or_default()
}

fn read_yaml(path: &Path) -> Result<Yaml, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    yaml_serde::from_str(&s).map_err(|e| format!("{}: {e}", path.display()))
}

fn job(id: &str, v: &Yaml, file: &str) -> Result<Job, String> {
    let needs = match v.get("needs") {
        Some(Yaml::String(s)) => vec![s.clone()],
        Some(Yaml::Sequence(items)) => items.iter().map(text).collect(),
        _ => Vec::new(),
    };
    let body = if let Some(uses) = v.get("uses") {
        Body::Call {
            workflow: text(uses),
            with: pairs(v.get("with")),
            secrets: pairs(v.get("secrets")),
        }
    } else {
        let steps = v
            .get("steps")
            .and_then(Yaml::as_sequence)
            .ok_or_else(|| format!("{file}: job {id} has neither `steps` nor `uses`"))?;
        Body::Steps(
            steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let uses = s.get("uses").map(text);
                    let run = s.get("run").map(text);
                    Step {
                        label: s
                            .get("name")
                            .or(s.get("id"))
                            .map(text)
                            .or_else(|| uses.clone())
                            .unwrap_or_else(|| format!("step {}", i + 1)),
                        id: s.get("id").map(text),
                        condition: s.get("if").map(text),
                        uses,
                        run,
                        with: pairs(s.get("with")),
                        env: pairs(s.get("env")),
                        continue_on_error: s.get("continue-on-error").map(text),
                    }
                })
                .collect(),
        )
    };
    Ok(Job {
        id: id.to_owned(),
        needs,
        condition: v.get("if").map(text),
        outputs: pairs(v.get("outputs")),
        env: pairs(v.get("env")),
        body,
    })
}

/// Reads a workflow and orders its jobs by `needs`.
pub(super) fn read(path: &Path) -> Result<Workflow, String> {
    let file = path.display().to_string();
    let y = read_yaml(path)?;
    let jobs = y
        .get("jobs")
        .and_then(Yaml::as_mapping)
        .ok_or_else(|| format!("{file}: no jobs"))?;
    let mut all = Vec::new();
    for (id, v) in jobs {
        all.push(job(&text(id), v, &file)?);
    }
    Ok(Workflow {
        env: pairs(y.get("env")),
        jobs: order(all, &file)?,
        file,
    })
}

/// Reads a reusable workflow (`on: workflow_call`) with one job.
pub(super) fn read_reusable(path: &Path) -> Result<Reusable, String> {
    let file = path.display().to_string();
    let y = read_yaml(path)?;
    let call = y
        .get("on")
        .and_then(|o| o.get("workflow_call"))
        .ok_or_else(|| format!("{file}: not a reusable workflow (no on.workflow_call)"))?;
    let inputs = call
        .get("inputs")
        .and_then(Yaml::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (text(k), v.get("default").map(text)))
                .collect()
        })
        .unwrap_or_default();
    let secrets = call
        .get("secrets")
        .and_then(Yaml::as_mapping)
        .map(|m| m.keys().map(text).collect())
        .unwrap_or_default();
    let outputs = call
        .get("outputs")
        .and_then(Yaml::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (text(k), v.get("value").map(text).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let jobs = y
        .get("jobs")
        .and_then(Yaml::as_mapping)
        .ok_or_else(|| format!("{file}: no jobs"))?;
    let [(id, v)] = jobs.iter().collect::<Vec<_>>()[..] else {
        return Err(format!("{file}: expected one job"));
    };
    Ok(Reusable {
        job: job(&text(id), v, &file)?,
        inputs,
        secrets,
        outputs,
        file,
    })
}

/// Jobs after the jobs they need; an unknown need or a cycle is an error.
fn order(mut jobs: Vec<Job>, file: &str) -> Result<Vec<Job>, String> {
    let ids: BTreeSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
    for j in &jobs {
        if let Some(n) = j.needs.iter().find(|n| !ids.contains(*n)) {
            return Err(format!(
                "{file}: job {} needs {n}, which is not a job",
                j.id
            ));
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !jobs.is_empty() {
        let Some(i) = jobs
            .iter()
            .position(|j| j.needs.iter().all(|n| done.contains(n)))
        else {
            let left: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
            return Err(format!("{file}: the needs of {left:?} form a cycle"));
        };
        let j = jobs.remove(i);
        done.insert(j.id.clone());
        out.push(j);
    }
    Ok(out)
}

/// Every job a job needs, directly or not.
pub(super) fn ancestors(wf: &Workflow, id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![id.to_owned()];
    while let Some(j) = todo.pop() {
        if let Some(job) = wf.jobs.iter().find(|x| x.id == j) {
            for n in &job.needs {
                if out.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
    }
    out
}

/// What a job uploads and downloads, by artifact name (a download may be a pattern).
pub(super) fn artifacts(
    job: &Job,
    reusable: &BTreeMap<String, Reusable>,
) -> (Vec<String>, Vec<String>) {
    let (mut up, mut down) = (Vec::new(), Vec::new());
    match &job.body {
        Body::Steps(steps) => {
            for s in steps {
                let with = |k: &str| s.with.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
                match s.uses.as_deref() {
                    Some(u) if u.starts_with("actions/upload-artifact@") => {
                        up.extend(with("name"));
                    }
                    Some(u) if u.starts_with("actions/download-artifact@") => {
                        down.extend(with("name").or(with("pattern")));
                    }
                    _ => {}
                }
            }
        }
        Body::Call { workflow, with, .. } => {
            let input = |k: &str| with.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
            if reusable.contains_key(workflow) {
                up.extend(input("upload-name").filter(|n| !n.is_empty()));
                up.extend(input("job").map(|j| format!("backend-logs-{j}")));
                for line in input("download").unwrap_or_default().lines() {
                    let line = line.trim();
                    if !line.is_empty() {
                        down.push(line.split(':').next().unwrap_or(line).to_owned());
                    }
                }
            }
        }
    }
    (up, down)
}

/// Every download names an artifact that a job it needs uploads: the first
/// one that does not, as the job, the artifact and the workflow file.
pub(super) fn check_artifacts(
    wf: &Workflow,
    reusable: &BTreeMap<String, Reusable>,
) -> Result<(), String> {
    let uploads: BTreeMap<String, Vec<String>> = wf
        .jobs
        .iter()
        .map(|j| (j.id.clone(), artifacts(j, reusable).0))
        .collect();
    for job in &wf.jobs {
        let before = ancestors(wf, &job.id);
        let available: Vec<&String> = before
            .iter()
            .flat_map(|j| uploads.get(j).into_iter().flatten())
            .collect();
        for want in artifacts(job, reusable).1 {
            let found = available.iter().any(|name| {
                glob::Pattern::new(&want).is_ok_and(|p| p.matches(name)) || **name == want
            });
            if !found {
                return Err(format!(
                    "{}: job {} downloads artifact `{want}`, which no job it needs uploads (they upload: {})",
                    wf.file,
                    job.id,
                    available
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    Ok(())
}
