//! The reference run: what each failing locator matched where it last worked.
//!
//! The app is started at the reference commit (`[fix.reference]`) from a
//! temporary worktree, the failing tests are rerun there with tracing on, and
//! every locator call of their traces is kept with the element Playwright
//! marked as its target. A failure is then matched to the reference call of
//! the same locator (the same selector, else the same source line), and its
//! element's fingerprint tells the matching engine what to look for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::validate::{self, Target, Worktree};
use crate::process::{self, Background, Spec};
use ci_medic_core::config::{FixConfig, ReferenceConfig};
use ci_medic_core::fix::metadata::{FailureInput, ReferenceRun};
use ci_medic_core::locator::fingerprint::Fingerprint;
use ci_medic_core::page::Page;
use ci_medic_core::page::trace::{self, CallTarget};

/// The calls of the reference run's traces that found their element.
#[derive(Debug, Default)]
pub struct Reference {
    /// What the metadata says of the run.
    pub report: ReferenceRun,
    /// Each test's title path, with its calls that found their element.
    calls: Vec<(Vec<String>, CallTarget)>,
}

/// Why the reference run gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The worktree could not be made.
    #[error("the reference checkout: {0}")]
    Worktree(#[from] validate::WorktreeError),
    /// The app did not start or answer.
    #[error("the app at the reference: {0}")]
    App(String),
}

impl Reference {
    /// Starts the app at `commit`, reruns `targets` with tracing, reads the traces.
    /// The app and the worktree are gone when it returns.
    pub fn run(
        repo: &Path,
        config: &FixConfig,
        rc: &ReferenceConfig,
        commit: &str,
        targets: &[Target],
        out: &Path,
        deadline: Instant,
    ) -> Result<Reference, ReferenceError> {
        let started = Instant::now();
        let wt = Worktree::at(repo, config, Some(commit))?;
        let log = out.join("reference/app.log");
        let spec = Spec {
            program: rc.command[0].clone(),
            args: rc.command[1..].to_vec(),
            cwd: wt.path.clone(),
            env: rc.pass_env.clone(),
            set: rc.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            timeout: deadline.saturating_duration_since(Instant::now()),
            log: log.clone(),
        };
        let mut app = Background::start(&spec).map_err(|e| ReferenceError::App(e.to_string()))?;
        let until = (Instant::now() + rc.ready_timeout).min(deadline);
        process::wait_for_health(&rc.url, until, Some(&mut app))
            .map_err(|why| ReferenceError::App(format!("{why} (its output: {})", log.display())))?;
        let results = out.join("reference");
        let env = validate::Env {
            pass: rc.pass_env.clone(),
            set: rc.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let _ = std::fs::remove_dir_all(results.join("test-results"));
        let run = validate::run_with(
            &wt,
            config,
            targets,
            &results,
            &["--trace=on"],
            &env,
            deadline,
        );
        drop(app);
        // Each test's own trace: a call is only ever matched within its test.
        let mut calls = Vec::new();
        let mut unreadable = Vec::new();
        for t in &run.tests {
            let zips = t
                .attempts
                .iter()
                .flat_map(|a| a.attachments.iter())
                .filter(|a| a.kind == ci_medic_core::model::ArtifactKind::Trace)
                .filter_map(|a| a.path.as_deref().map(PathBuf::from));
            for zip in zips {
                match trace::call_targets(&zip) {
                    Ok(c) => calls.extend(
                        c.into_iter()
                            .filter(|c| c.page.is_some())
                            .map(|c| (t.title_path.clone(), c)),
                    ),
                    Err(e) => unreadable.push(e.to_string()),
                }
            }
        }
        let passed = run
            .tests
            .iter()
            .filter(|t| t.status == ci_medic_core::model::TestStatus::Expected)
            .count();
        let mut detail = format!(
            "{} of {} test(s) passed at {}; {} locator call(s) with their element",
            passed,
            run.tests.len(),
            short(&wt.base),
            calls.len()
        );
        if let Some(e) = &run.report_error {
            detail.push_str(&format!("; {e}"));
        }
        if !unreadable.is_empty() {
            detail.push_str(&format!("; unreadable traces: {}", unreadable.join("; ")));
        }
        Ok(Reference {
            report: ReferenceRun {
                commit: wt.base.clone(),
                tests: run.tests.len(),
                passed,
                calls: calls.len(),
                duration_ms: ms(started.elapsed()),
                detail,
            },
            calls,
        })
    }

    /// The element(s) the failing locator of `f` matched at the reference,
    /// with how the call was recognised; `None` when no reference call is it.
    pub fn element_of(
        &self,
        f: &FailureInput,
        bundle_dir: &Path,
    ) -> Option<(Vec<Fingerprint>, String)> {
        let trace = f.trace.as_deref().map(|t| {
            if Path::new(t).is_absolute() {
                PathBuf::from(t)
            } else {
                bundle_dir.join(t)
            }
        });
        self.element_at(&f.title, trace.as_deref(), f.spec.as_deref(), f.line)
    }

    /// [`Reference::element_of`] for a failure known by its trace and the
    /// line it failed at.
    pub fn element_at(
        &self,
        test: &[String],
        trace: Option<&Path>,
        spec: Option<&str>,
        line: Option<u32>,
    ) -> Option<(Vec<Fingerprint>, String)> {
        let own: Vec<&CallTarget> = self
            .calls
            .iter()
            .filter(|(t, _)| t == test)
            .map(|(_, c)| c)
            .collect();
        // The failing call's selector, from the failing run's own trace.
        let failing = trace.and_then(|p| {
            trace::call_targets(p)
                .ok()?
                .into_iter()
                .rev()
                .find(|c| c.failed)
        });
        let by_selector = failing.as_ref().and_then(|fc| {
            own.iter()
                .find(|c| c.selector == fc.selector)
                .map(|c| (*c, format!("the same selector `{}`", c.selector)))
        });
        let by_line = || {
            let spec = spec?;
            let line = line?;
            own.iter()
                .find(|c| {
                    c.frames.iter().any(|(file, l)| {
                        *l == line && (file == spec || file.ends_with(&format!("/{spec}")))
                    })
                })
                .map(|c| (*c, format!("the same call at {spec}:{line}")))
        };
        let (call, how) = by_selector.or_else(by_line)?;
        let snapshot = call.page.as_ref()?;
        let prints = Fingerprint::marked(&Page::parse(&snapshot.html));
        if prints.is_empty() {
            return None;
        }
        Some((prints, format!("{how} on {}", snapshot.url)))
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
