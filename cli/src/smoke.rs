//! `ci-medic smoke <urls…>`: visit each page in headless Chromium over
//! WebDriver; fail on a non-2xx answer, a console error or an uncaught
//! exception, or a missing expected title or element.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ci_medic_core::heal::smoke;
use ci_medic_exec::browser::Browser;
use clap::Args;

use crate::collect::write_json_atomic;
use crate::github;

/// Options of `ci-medic smoke`.
#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The pages to visit.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// Every page's title must contain this.
    #[arg(long)]
    pub title: Option<String>,
    /// Every page must have an element matching this CSS selector.
    #[arg(long)]
    pub selector: Option<String>,
    /// Where to write the JSON report.
    #[arg(long, short, default_value = "smoke.json")]
    pub output: PathBuf,
    /// Seconds for the whole run.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// The repository's configuration (its `[redact]` table).
    #[arg(long, default_value = ci_medic_core::config::CONFIG_FILE)]
    pub config: PathBuf,
}

/// Runs `smoke`.
pub fn run(args: &SmokeArgs) -> anyhow::Result<ExitCode> {
    for u in &args.urls {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            eprintln!("ci-medic smoke: error: expected http(s) URLs, found {u:?}");
            return Ok(ExitCode::from(2));
        }
    }
    let expect = smoke::Expect {
        title: args.title.clone(),
        selector: args.selector.clone(),
    };
    let log = std::env::temp_dir().join(format!("ci-medic-smoke-{}.log", std::process::id()));
    let config = ci_medic_core::config::load(&args.config)
        .map_err(|e| crate::exit::UserError::bad_input(e.to_string()))?;
    let redactor = ci_medic_core::collect::redact::Redactor::for_repo(
        std::path::Path::new("."),
        &config.redact,
    )
    .map_err(|e| crate::exit::UserError::bad_input(e.to_string()))?;
    let report = match ci_medic_exec::heal::smoke::run(
        &args.urls,
        &expect,
        &Browser::default(),
        Duration::from_secs(args.timeout),
        &log,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ci-medic smoke: error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // URLs and console messages can carry tokens: the report is redacted like
    // every other document ci-medic writes.
    let mut value = serde_json::to_value(&report)?;
    redactor.redact_json(&mut value);
    let report: smoke::SmokeReport = serde_json::from_value(value)?;
    write_json_atomic(&args.output, &report)?;
    let md = markdown(&report);
    eprint!("{md}");
    github::publish(&md, &[])?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn markdown(r: &smoke::SmokeReport) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "## ci-medic smoke: {}\n\n| page | status | title | load | problems |\n|---|---|---|---:|---|\n",
        if r.passed { "passed" } else { "failed" }
    );
    for p in &r.pages {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} ms | {} |",
            p.url,
            p.status.map_or("?".into(), |c| c.to_string()),
            p.title,
            p.load_ms,
            if p.problems.is_empty() {
                "✅".to_owned()
            } else {
                p.problems.join("; ")
            }
        );
    }
    s
}
