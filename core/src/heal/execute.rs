//! `self-heal/report-<run_id>.json`: running a decision. The declared actions
//! run in order, then the eligible failing tests are rerun, and every guardrail
//! check is written down with its result.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::collect::redact::Redactor;
use crate::config::{ActionConfig, HealConfig};
use crate::diagnose::analysis::HealAction;
use crate::heal::context::{HealContext, HealState, StateAttempt};
use crate::heal::decide::Decision;
use crate::heal::guard::TreeGuard;
use crate::heal::process::{self, Background, Spec};
use crate::model::TestStatus;

/// The schema id of the report.
pub const REPORT_SCHEMA: &str = "ci-medic/heal-report/v1";

/// Default time limit of one action.
const ACTION_TIMEOUT: Duration = Duration::from_secs(300);

/// Lines of each command's log kept in the report.
const LOG_TAIL_LINES: usize = 40;

/// The outcome of a heal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealVerdict {
    /// Every rerun test passed.
    Healed,
    /// Some rerun tests passed.
    PartiallyHealed,
    /// None passed, an action broke a guardrail, or the rerun did not run.
    NotHealed,
    /// The decision did not allow healing; nothing ran.
    Refused,
}

impl HealVerdict {
    /// The name used in reports and the state record.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealVerdict::Healed => "healed",
            HealVerdict::PartiallyHealed => "partially_healed",
            HealVerdict::NotHealed => "not_healed",
            HealVerdict::Refused => "refused",
        }
    }
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealReport {
    /// Always `ci-medic/heal-report/v1`.
    pub schema: String,
    /// The workflow run.
    pub run_id: String,
    /// The verdict.
    pub verdict: HealVerdict,
    /// Why, in one line.
    pub reason: String,
    /// Wall time of the whole execution, in milliseconds.
    pub duration_ms: u64,
    /// Each action, in the order it ran.
    pub actions: Vec<ActionReport>,
    /// The rerun.
    pub rerun: Option<RerunReport>,
    /// Each rerun test, before and after.
    pub tests: Vec<TestReport>,
    /// Each guardrail check and its result.
    pub guardrails: Vec<GuardrailCheck>,
}

/// One action's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionReport {
    /// The action.
    pub action: HealAction,
    /// What ran: the program's name (`sh`), or `builtin` (never the command line,
    /// which can hold secrets).
    pub command: String,
    /// Milliseconds.
    pub duration_ms: u64,
    /// Exit code (none when it timed out, was skipped or is a builtin).
    pub exit_code: Option<i32>,
    /// It ran past its time limit; its process group was killed.
    pub timed_out: bool,
    /// It did what it is for.
    pub ok: bool,
    /// What happened, in one line.
    pub detail: String,
    /// The end of its output, redacted.
    pub log_tail: String,
}

/// The rerun.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunReport {
    /// Tests asked for.
    pub tests: usize,
    /// `1` when `reduce_workers` applied.
    pub workers: Option<u32>,
    /// Playwright's exit code.
    pub exit_code: Option<i32>,
    /// It ran past the overall time limit.
    pub timed_out: bool,
    /// Milliseconds.
    pub duration_ms: u64,
    /// The rerun's JSON report, relative to the output directory.
    pub results: String,
    /// The end of its output, redacted.
    pub log_tail: String,
}

/// One test before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestReport {
    /// The test id.
    pub id: String,
    /// Its status in the failing run.
    pub before: TestStatus,
    /// Its status in the rerun (none when the rerun did not report it).
    pub after: Option<TestStatus>,
}

/// One guardrail check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailCheck {
    /// `decision`, `declared_actions`, `tracked_tree`, `timeout`.
    pub check: String,
    /// Whether it held.
    pub passed: bool,
    /// What was found.
    pub detail: String,
}

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
    let targets: Vec<&crate::heal::context::FailureInput> = ctx
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
        .and_then(|b| crate::collect::playwright::json::parse(&results, &b).ok());
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
                    let healthy = wait_for_health(url, until, Some(&mut app));
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
            let healthy = wait_for_health(url, until, None);
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
                    r.detail = e;
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

/// Polls `url` until it answers 2xx or `until`; stops early when the app exits.
fn wait_for_health(
    url: &str,
    until: Instant,
    mut app: Option<&mut Background>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        let last = match client.get(url).send() {
            Ok(r) if r.status().is_success() => return Ok(started.elapsed()),
            Ok(r) => format!("answered {}", r.status().as_u16()),
            Err(e) if e.is_connect() => "connection refused".to_owned(),
            Err(_) => "no answer".to_owned(),
        };
        if let Some(app) = app.as_deref_mut()
            && app.exited()
        {
            return Err(format!("the app exited before {url} answered ({last})"));
        }
        if Instant::now() >= until {
            return Err(format!("{url} did not answer 2xx in time ({last})"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The Playwright command for the rerun: the configured command, the failing
/// tests as `file:line`, their projects, the JSON reporter into the output.
fn rerun_spec(
    config: &HealConfig,
    paths: &Paths,
    targets: &[&crate::heal::context::FailureInput],
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

/// The state record after this attempt.
pub fn record_attempt(
    state: Option<HealState>,
    ctx: &HealContext,
    report: &HealReport,
    at: String,
) -> HealState {
    let mut s = state
        .filter(|s| s.run_id == ctx.run.run_id)
        .unwrap_or_else(|| HealState {
            run_id: ctx.run.run_id.clone(),
            attempts: Vec::new(),
        });
    if report.verdict != HealVerdict::Refused {
        s.attempts.push(StateAttempt {
            run_attempt: ctx.run.run_attempt,
            at,
            verdict: report.verdict.as_str().to_owned(),
        });
    }
    s
}

/// The JSON Schema of the report (committed as `schemas/heal-report.v1.json`).
pub fn report_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(HealReport),
        "https://ci-medic.dev/schemas/heal-report.v1.json",
        REPORT_SCHEMA,
    )
}
