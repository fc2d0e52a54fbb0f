//! `self-heal/report-<run_id>.json`: running a decision. The declared actions
//! run in order, then the eligible failing tests are rerun, and every guardrail
//! check is written down with its result.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::heal::guard::TreeGuard;
use crate::process::{self, Background, Spec};
use ci_medic_core::collect::redact::Redactor;
use ci_medic_core::config::{ActionConfig, HealConfig};
use ci_medic_core::diagnose::analysis::HealAction;
use ci_medic_core::heal::context::HealContext;
use ci_medic_core::heal::decide::Decision;
use ci_medic_core::heal::report::{
    ActionReport, GuardrailCheck, HealReport, HealVerdict, REPORT_SCHEMA, RerunReport, TestReport,
};
use ci_medic_core::model::TestStatus;

/// Default time limit of one action.
const ACTION_TIMEOUT: Duration = Duration::from_secs(300);

/// Lines of each command's log kept in the report.
const LOG_TAIL_LINES: usize = 40;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The repository root: commands run relative to it, its tracked tree is guarded.
    pub repo: PathBuf,
    /// The output directory (`self-heal/`).
    pub out: PathBuf,
}

/// Runs `decision`.
pub fn execute(
    paths: &Paths,
    config: &HealConfig,
    ctx: &HealContext,
    decision: &Decision,
    redactor: &Redactor,
) -> HealReport {
    let started = Instant::now();
    let deadline = started + config.timeout;
    let mut report = HealReport {
        schema: REPORT_SCHEMA.to_owned(),
        run_id: ctx.run.run_id.clone(),
        verdict: HealVerdict::Refused,
        reason: String::new(),
        duration_ms: 0,
        actions: Vec::new(),
        rerun: None,
        tests: Vec::new(),
        guardrails: Vec::new(),
    };
    report.guardrails.push(GuardrailCheck {
        check: "decision".into(),
        passed: decision.allowed,
        detail: if decision.allowed {
            "the decision allows healing".into()
        } else {
            let failed: Vec<String> = decision
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.detail.clone())
                .collect();
            format!("refused: {}", failed.join("; "))
        },
    });
    let Some(rerun) = decision.rerun.as_ref().filter(|_| decision.allowed) else {
        report.reason = "the decision does not allow healing; nothing ran".into();
        report.duration_ms = ms(started.elapsed());
        return report;
    };
    // The decision may only name actions the configuration declares.
    let undeclared: Vec<&str> = decision
        .actions
        .iter()
        .filter(|a| !config.actions.contains_key(&a.action))
        .map(|a| a.action.as_str())
        .collect();
    report.guardrails.push(GuardrailCheck {
        check: "declared_actions".into(),
        passed: undeclared.is_empty(),
        detail: if undeclared.is_empty() {
            "every action to run is declared in .ci-medic.toml".into()
        } else {
            format!("not declared, refused: {}", undeclared.join(", "))
        },
    });
    if !undeclared.is_empty() {
        report.reason = "the decision names actions the configuration does not declare".into();
        report.duration_ms = ms(started.elapsed());
        return report;
    }
    let guard = match TreeGuard::record(&paths.repo) {
        Ok(g) => g,
        Err(e) => {
            report.guardrails.push(GuardrailCheck {
                check: "tracked_tree".into(),
                passed: false,
                detail: format!("cannot record the tracked tree of {} ({e}): without it no code edit could be caught, so nothing runs", paths.repo.display()),
            });
            report.verdict = HealVerdict::NotHealed;
            report.reason = "the tracked tree could not be recorded".into();
            report.duration_ms = ms(started.elapsed());
            return report;
        }
    };

    let logs = paths.out.join("logs");
    let mut background: Vec<Background> = Vec::new();
    let mut failed_action = None;
    for decided in &decision.actions {
        let a = &config.actions[&decided.action];
        let r = if let Some(prior) = failed_action {
            ActionReport {
                action: decided.action,
                command: "skipped".into(),
                duration_ms: 0,
                exit_code: None,
                timed_out: false,
                ok: false,
                detail: format!("skipped: {prior} failed before it"),
                log_tail: String::new(),
            }
        } else {
            run_action(
                decided.action,
                a,
                paths,
                &logs,
                deadline,
                redactor,
                &mut background,
            )
        };
        if !r.ok && failed_action.is_none() {
            failed_action = Some(decided.action.as_str());
        }
        report.actions.push(r);
    }

    // The rerun: the eligible failing tests, with Playwright.
    let results_rel = "rerun/results.json";
    let results = paths.out.join(results_rel);
    let _ = std::fs::remove_file(&results);
    let targets: Vec<&ci_medic_core::heal::context::FailureInput> = ctx
        .failures
        .iter()
        .filter(|f| rerun.tests.contains(&f.id))
        .collect();
    let spec = rerun_spec(config, paths, &targets, rerun.workers, &results, &logs);
    let outcome = process::run(&spec, deadline);
    let tail = process::tail(&spec.log, LOG_TAIL_LINES, redactor);
    drop(background); // the apps started for the rerun
    let after = std::fs::read(&results)
        .ok()
        .and_then(|b| ci_medic_core::collect::playwright::json::parse(&results, &b).ok());
    report.rerun = Some(RerunReport {
        tests: targets.len(),
        workers: rerun.workers,
        exit_code: outcome.as_ref().ok().and_then(|o| o.exit_code),
        timed_out: outcome.as_ref().is_ok_and(|o| o.timed_out),
        duration_ms: outcome.as_ref().map_or(0, |o| ms(o.duration)),
        results: results_rel.into(),
        log_tail: match &outcome {
            Ok(_) => tail,
            Err(e) => format!("cannot start the rerun: {e}"),
        },
    });
    for f in &targets {
        let after_status = after
            .as_ref()
            .and_then(|run| run.tests.iter().find(|t| t.id == f.id))
            .map(|t| t.status);
        report.tests.push(TestReport {
            id: f.id.clone(),
            before: f.status,
            after: after_status,
        });
    }

    // Guardrails after the fact.
    let timed_out = Instant::now() >= deadline;
    report.guardrails.push(GuardrailCheck {
        check: "timeout".into(),
        passed: !timed_out,
        detail: format!(
            "{} s of heal.timeout {} s used",
            started.elapsed().as_secs(),
            config.timeout.as_secs()
        ),
    });
    let violations = guard.check_and_restore();
    let tree_ok = violations.as_ref().is_ok_and(|v| v.is_empty());
    report.guardrails.push(GuardrailCheck {
        check: "tracked_tree".into(),
        passed: tree_ok,
        detail: match &violations {
            Ok(v) if v.is_empty() => "no tracked file changed".into(),
            Ok(v) => format!(
                "violation: {} tracked file(s) changed and {}: {}",
                v.len(),
                if v.iter().all(|v| v.restored) {
                    "were put back"
                } else {
                    "could not all be put back"
                },
                v.iter()
                    .map(|v| v.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => format!("cannot compare the tracked tree: {e}"),
        },
    });

    let passed = report
        .tests
        .iter()
        .filter(|t| matches!(t.after, Some(TestStatus::Expected | TestStatus::Flaky)))
        .count();
    (report.verdict, report.reason) = if !tree_ok {
        (
            HealVerdict::NotHealed,
            "an action changed tracked files: a guardrail violation".into(),
        )
    } else if after.is_none() {
        (HealVerdict::NotHealed, "the rerun wrote no report".into())
    } else if passed == report.tests.len() && passed > 0 {
        (
            HealVerdict::Healed,
            format!("all {passed} rerun test(s) passed"),
        )
    } else if passed > 0 {
        (
            HealVerdict::PartiallyHealed,
            format!("{passed} of {} rerun test(s) passed", report.tests.len()),
        )
    } else {
        (
            HealVerdict::NotHealed,
            format!("none of the {} rerun test(s) passed", report.tests.len()),
        )
    };
    report.duration_ms = ms(started.elapsed());
    report
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn cwd(paths: &Paths, a: &ActionConfig) -> PathBuf {
    match &a.cwd {
        Some(c) => paths.repo.join(c),
        None => paths.repo.clone(),
    }
}

fn run_action(
    action: HealAction,
    a: &ActionConfig,
    paths: &Paths,
    logs: &Path,
    deadline: Instant,
    redactor: &Redactor,
    background: &mut Vec<Background>,
) -> ActionReport {
    let timeout = a.timeout.unwrap_or(ACTION_TIMEOUT);
    let log = logs.join(format!("{}.log", action.as_str()));
    let started = Instant::now();
    let mut r = ActionReport {
        action,
        command: "builtin".into(),
        duration_ms: 0,
        exit_code: None,
        timed_out: false,
        ok: false,
        detail: String::new(),
        log_tail: String::new(),
    };
    let until = (started + timeout).min(deadline);
    match (action, a.run.as_deref()) {
        (HealAction::RestartApp, Some(run)) => {
            let spec = Spec::shell(run, cwd(paths, a), a.env.clone(), timeout, log.clone());
            r.command = "sh".into();
            match Background::start(&spec) {
                Ok(mut app) => {
                    let url = a.health_url.as_deref().unwrap_or_default();
                    let healthy = process::wait_for_health(url, until, Some(&mut app));
                    r.ok = healthy.is_ok();
                    r.detail = match healthy {
                        Ok(d) => format!("started; {url} answered 2xx after {} ms", d.as_millis()),
                        Err(e) => e,
                    };
                    r.timed_out = !r.ok && Instant::now() >= until;
                    background.push(app);
                }
                Err(e) => r.detail = e.to_string(),
            }
        }
        (HealAction::WaitForHealth, None) => {
            let url = a.health_url.as_deref().unwrap_or_default();
            let healthy = process::wait_for_health(url, until, None);
            r.ok = healthy.is_ok();
            r.timed_out = !r.ok;
            r.detail = match healthy {
                Ok(d) => format!("{url} answered 2xx after {} ms", d.as_millis()),
                Err(e) => e,
            };
        }
        (HealAction::RegenerateStorageState, None) if let Some(flow) = &a.login => {
            let browser = crate::heal::login::Browser::default();
            match crate::heal::login::login(
                flow,
                &paths.repo,
                &browser,
                until.saturating_duration_since(Instant::now()),
                &log,
            ) {
                Ok(done) => {
                    r.ok = true;
                    r.detail = format!(
                        "signed in over WebDriver ({}): wrote {} with {} cookie(s) and {} localStorage entr(ies)",
                        done.url,
                        flow.storage_state.display(),
                        done.cookies,
                        done.local_storage
                    );
                }
                Err(e) => {
                    r.detail = e.to_string();
                    r.timed_out = Instant::now() >= until;
                }
            }
        }
        (HealAction::RerunFailed | HealAction::ReduceWorkers, _) => {
            r.ok = true;
            r.detail = "part of the rerun".into();
        }
        (_, Some(run)) => {
            let spec = Spec::shell(run, cwd(paths, a), a.env.clone(), timeout, log.clone());
            r.command = "sh".into();
            match process::run(&spec, deadline) {
                Ok(o) => {
                    r.ok = o.ok();
                    r.exit_code = o.exit_code;
                    r.timed_out = o.timed_out;
                    r.detail = if o.timed_out {
                        format!(
                            "ran past its {} s limit; its process group was killed",
                            timeout.as_secs()
                        )
                    } else {
                        format!(
                            "exited {}",
                            o.exit_code.map_or("by a signal".into(), |c| c.to_string())
                        )
                    };
                }
                Err(e) => r.detail = e.to_string(),
            }
        }
        (_, None) => {
            r.detail = format!(
                "{} has no `run` command and its builtin is not in this build",
                action.as_str()
            );
        }
    }
    if log.exists() {
        r.log_tail = process::tail(&log, LOG_TAIL_LINES, redactor);
    }
    r.duration_ms = ms(started.elapsed());
    r
}

/// The Playwright command for the rerun: the configured command, the failing
/// tests as `file:line`, their projects, the JSON reporter into the output.
fn rerun_spec(
    config: &HealConfig,
    paths: &Paths,
    targets: &[&ci_medic_core::heal::context::FailureInput],
    workers: Option<u32>,
    results: &Path,
    logs: &Path,
) -> Spec {
    let pw = &config.playwright;
    let mut args = pw.rerun_args(
        targets
            .iter()
            .map(|t| (t.file.as_str(), t.line, t.project.as_str())),
        &paths.out.join("rerun/test-results"),
    );
    if let Some(w) = workers {
        args.push(format!("--workers={w}"));
    }
    let results_abs = if results.is_absolute() {
        results.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(results))
            .unwrap_or_else(|_| results.to_owned())
    };
    Spec {
        program: pw.command[0].clone(),
        args,
        cwd: paths.repo.join(&pw.cwd),
        env: pw.env.clone(),
        set: vec![(
            "PLAYWRIGHT_JSON_OUTPUT_NAME".into(),
            results_abs.display().to_string(),
        )],
        timeout: config.timeout,
        log: logs.join("rerun.log"),
    }
}
