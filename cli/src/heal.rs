//! `ci-medic heal`: self-heal as context → decide → execute, each step writing
//! its file under `self-heal/` so the next step (or a person) can read it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use ci_medic_core::heal::{self, HealContext, HealState};
use clap::{Args, Subcommand};

use crate::classify::read_bundle;
use crate::collect::write_json_atomic;
use crate::exit::UserError;
use crate::github;

/// Options of `ci-medic heal`.
#[derive(Debug, Args)]
pub struct HealArgs {
    #[command(subcommand)]
    pub step: Option<Step>,
    #[command(flatten)]
    pub context: ContextArgs,
    /// The repository's configuration.
    #[arg(long, global = true, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: PathBuf,
    /// The repository root (commands run there; its tracked tree is guarded).
    #[arg(long, global = true, default_value = ".")]
    pub repo: PathBuf,
    /// Exit 1 when the run was not healed (refused, or not every test passed).
    #[arg(long, global = true)]
    pub strict: bool,
}

/// The steps.
#[derive(Debug, Subcommand)]
pub enum Step {
    /// Write self-heal/context.json: the run, its failures, the analysis or why there is none, the policy inputs.
    Context,
    /// Write self-heal/decision.json from the context and .ci-medic.toml: allowed or refused, every reason.
    Decide,
    /// Run the allowed actions, then the rerun; write self-heal/report-<run_id>.json and the state record.
    Execute,
}

/// Where the inputs and outputs are.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The bundle written by `ci-medic collect`.
    #[arg(long, global = true, default_value = "bundle")]
    pub bundle: PathBuf,
    /// The analysis (from `send` or `classify`); missing is allowed.
    #[arg(long, global = true, default_value = "analysis.json")]
    pub analysis: PathBuf,
    /// The state record carried from earlier heal attempts of this run.
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// The triggering event (default: $GITHUB_EVENT_NAME, else `local`).
    #[arg(long, global = true)]
    pub event: Option<String>,
    /// The output directory.
    #[arg(long, global = true, default_value = "self-heal")]
    pub out: PathBuf,
}

/// Runs `heal`.
pub fn run(args: &HealArgs) -> anyhow::Result<ExitCode> {
    match args.step {
        Some(Step::Context) => context(&args.context).map(|_| ExitCode::SUCCESS),
        Some(Step::Decide) => decide(args).map(|_| ExitCode::SUCCESS),
        Some(Step::Execute) => execute(args),
        None => {
            // All three steps, each from scratch.
            let _ = std::fs::remove_file(args.context.out.join("context.json"));
            let _ = std::fs::remove_file(args.context.out.join("decision.json"));
            execute(args)
        }
    }
}

fn execute(args: &HealArgs) -> anyhow::Result<ExitCode> {
    let (config, ctx, decision) = decide(args)?;
    let paths = ci_medic_exec::heal::execute::Paths {
        repo: args.repo.clone(),
        out: args.context.out.clone(),
    };
    let redactor = ci_medic_core::collect::redact::Redactor::for_repo(&args.repo, &config.redact)
        .map_err(|e| UserError::bad_input(e.to_string()))?;
    let report =
        ci_medic_exec::heal::execute::execute(&paths, &config.heal, &ctx, &decision, &redactor);
    let path = args
        .context
        .out
        .join(format!("report-{}.json", ctx.run.run_id));
    write_json_atomic(&path, &report)?;
    let state_path = args.context.out.join("state.json");
    let previous = match &args.context.state {
        Some(p) => read_state(p).ok().flatten(),
        None => read_state(&state_path).ok().flatten(),
    };
    let state = heal::report::record_attempt(
        previous,
        &ctx,
        &report,
        ci_medic_core::collect::now_rfc3339(),
    );
    write_json_atomic(&state_path, &state)?;
    let md = report_markdown(&report);
    eprint!("{md}");
    github::publish(
        &md,
        &[
            ("verdict", report.verdict.as_str().to_owned()),
            ("report", path.display().to_string()),
        ],
    )?;
    let healed = report.verdict == heal::report::HealVerdict::Healed;
    Ok(if args.strict && !healed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The report for people.
fn report_markdown(r: &heal::report::HealReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## ci-medic self-heal report: {}

{}
",
        r.verdict.as_str(),
        r.reason
    );
    for a in &r.actions {
        let _ = writeln!(
            s,
            "- {} `{}` ({} ms): {}",
            if a.ok { "✅" } else { "❌" },
            a.action.as_str(),
            a.duration_ms,
            a.detail
        );
    }
    if !r.tests.is_empty() {
        let _ = writeln!(
            s,
            "
| test | before | after |
|---|---|---|"
        );
        for t in &r.tests {
            let after = t.after.map_or("not reported".to_owned(), |a| {
                format!("{a:?}").to_lowercase()
            });
            let _ = writeln!(s, "| {} | {:?} | {} |", t.id, t.before, after);
        }
    }
    let _ = writeln!(s);
    for g in &r.guardrails {
        let _ = writeln!(
            s,
            "- {} guardrail {}: {}",
            if g.passed { "✅" } else { "❌" },
            g.check,
            g.detail
        );
    }
    s
}

fn context(a: &ContextArgs) -> anyhow::Result<HealContext> {
    let bundle = read_bundle(&a.bundle)?;
    let analysis = read_analysis(&a.analysis);
    let state = match &a.state {
        Some(p) => read_state(p)?,
        None => None,
    };
    let event = a.event.clone().or_else(|| {
        std::env::var("GITHUB_EVENT_NAME")
            .ok()
            .filter(|e| !e.is_empty())
    });
    let attempt = std::env::var("GITHUB_RUN_ATTEMPT")
        .ok()
        .and_then(|v| v.parse().ok());
    let ctx = heal::context::build(&bundle, analysis, event.as_deref(), attempt, state.as_ref());
    let path = a.out.join("context.json");
    write_json_atomic(&path, &ctx)?;
    eprintln!(
        "ci-medic heal context: {} failing test(s), analysis {}, {} heal attempt(s) used: {}",
        ctx.failures.len(),
        if ctx.analysis.present {
            "read"
        } else {
            "missing"
        },
        ctx.attempts_used,
        path.display()
    );
    Ok(ctx)
}

/// The analysis as loose JSON (it is untrusted), or why there is none.
fn read_analysis(path: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: expected JSON, found an error: {e}", path.display()))?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(ci_medic_core::diagnose::analysis::ANALYSIS_SCHEMA) => Ok(v),
        other => Err(format!(
            "{}: expected schema {:?}, found {:?}",
            path.display(),
            ci_medic_core::diagnose::analysis::ANALYSIS_SCHEMA,
            other
        )),
    }
}

fn read_state(path: &Path) -> Result<Option<HealState>, UserError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            UserError::bad_input(format!(
                "{}: expected a heal state record, found: {e}",
                path.display()
            ))
        }),
        // The first attempt of a run has no record yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(UserError::bad_input(format!("{}: {e}", path.display()))),
    }
}

type Decided = (ci_medic_core::config::Config, HealContext, heal::Decision);

fn decide(args: &HealArgs) -> anyhow::Result<Decided> {
    let config = ci_medic_core::config::load(&args.config)
        .map_err(|e| UserError::bad_input(e.to_string()))?;
    let path = args.context.out.join("context.json");
    // The context of `heal context`, or built now when there is none.
    let ctx: HealContext = match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                return Err(UserError::bad_input(format!(
                    "{}: expected a heal context ({}), found: {e}",
                    path.display(),
                    heal::context::CONTEXT_SCHEMA
                ))
                .into());
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => context(&args.context)?,
        Err(e) => return Err(e).with_context(|| path.display().to_string()),
    };
    let d = heal::decide(&ctx, &config.heal);
    let out = args.context.out.join("decision.json");
    write_json_atomic(&out, &d)?;
    let md = markdown(&d);
    eprint!("{md}");
    github::publish(
        &md,
        &[
            ("allowed", d.allowed.to_string()),
            ("decision", out.display().to_string()),
        ],
    )?;
    Ok((config, ctx, d))
}

/// The decision for people.
fn markdown(d: &heal::Decision) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## ci-medic self-heal: {}\n",
        if d.allowed { "allowed" } else { "refused" }
    );
    for c in &d.checks {
        let _ = writeln!(
            s,
            "- {} {}: {}",
            if c.passed { "✅" } else { "❌" },
            c.check,
            c.detail
        );
    }
    if !d.actions.is_empty() {
        let _ = writeln!(s, "\nActions, in order:");
        for a in &d.actions {
            let _ = writeln!(
                s,
                "- `{}` ({} test(s)): {}",
                a.action.as_str(),
                a.targets.len(),
                a.reason
            );
        }
    }
    if let Some(r) = &d.rerun {
        let _ = writeln!(
            s,
            "\nThen rerun {} test(s){}.",
            r.tests.len(),
            if r.workers == Some(1) {
                " with one worker"
            } else {
                ""
            }
        );
    }
    if !d.refused_actions.is_empty() {
        let _ = writeln!(s, "\nRefused:");
        for r in &d.refused_actions {
            let _ = writeln!(s, "- `{}`: {}", r.action, r.reason);
        }
    }
    let ineligible: Vec<_> = d.failures.iter().filter(|f| !f.eligible).collect();
    if !ineligible.is_empty() {
        let _ = writeln!(s, "\nNot acted on:");
        for f in ineligible {
            let _ = writeln!(s, "- {}: {}", f.id, f.reason);
        }
    }
    s
}
