//! `ci-medic classify`: a bundle → `analysis.json`; or one pasted failure text;
//! or a JSON-lines batch of texts.

use crate::exit::UserError;
use std::io::{BufRead, BufWriter, Read, Write};

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ci_medic_core::diagnose::analysis::Analysis;
use ci_medic_core::diagnose::classify::{Classifier, RuleSet, RulesFile};
use ci_medic_core::diagnose::plan;
use ci_medic_core::model::Bundle;
use ci_medic_core::report::diagnosis;
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::github;

/// Where a repository keeps its own rules.
pub const DEFAULT_RULES: &str = ".ci-medic/rules.toml";

/// Options of `ci-medic classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Bundle directory (or its bundle.json) written by `ci-medic collect`.
    #[arg(value_name = "BUNDLE", required_unless_present_any = ["text", "jsonl"], conflicts_with_all = ["text", "jsonl"])]
    pub bundle: Option<PathBuf>,
    /// Where to write the analysis.
    #[arg(long, short, value_name = "FILE", default_value = "analysis.json")]
    pub output: PathBuf,
    /// Classify one pasted failure text (a console excerpt); `-` reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "jsonl")]
    pub text: Option<PathBuf>,
    /// With --text: print JSON instead of a readable verdict.
    #[arg(long, requires = "text")]
    pub json: bool,
    /// Classify lines `{"id": …, "text": …}`; writes `{"id", "error_type", "confidence", "rule"}` lines to stdout.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Where the rules come from.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// The repository's rules file (default: .ci-medic/rules.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

impl RulesArgs {
    /// The built-in rules merged with the repository's file.
    pub fn classifier(&self) -> Result<Classifier, UserError> {
        let path = match &self.rules {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(DEFAULT_RULES)).filter(|p| p.is_file()),
        };
        let user = match &path {
            Some(p) => Some(RulesFile::load(p).map_err(|e| UserError::bad_input(e.to_string()))?),
            None => None,
        };
        let name = path.as_ref().map(|p| p.display().to_string());
        RuleSet::with_user(name.as_deref().zip(user))
            .map(Classifier::new)
            .map_err(|e| UserError::bad_input(e.to_string()))
    }
}

/// Runs `classify`.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<ExitCode> {
    let classifier = match args.rules.classifier() {
        Ok(c) => c,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    if let Some(path) = &args.text {
        return classify_text(&classifier, path, args.json);
    }
    if let Some(path) = &args.jsonl {
        return classify_jsonl(&classifier, path);
    }
    let Some(bundle_path) = &args.bundle else {
        return Ok(bad_input("expected a bundle directory, --text or --jsonl"));
    };
    let bundle = match read_bundle(bundle_path) {
        Ok(b) => b,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    let analysis = plan::analyze(&classifier, &bundle, ci_medic_core::collect::now_rfc3339());
    write_analysis(&args.output, &analysis)?;
    report(&analysis, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("ci-medic classify: error: {message}");
    ExitCode::from(crate::exit::BAD_INPUT)
}

/// Reads a bundle from its directory or its `bundle.json`, rejecting other schemas.
pub fn read_bundle(path: &Path) -> Result<Bundle, UserError> {
    let file = if path.is_dir() {
        path.join("bundle.json")
    } else {
        path.to_owned()
    };
    if !path.exists() {
        return Err(UserError::bad_input(format!(
            "{}: expected a bundle directory or its bundle.json, found nothing at that path",
            path.display()
        )));
    }
    let bytes = std::fs::read(&file)
        .map_err(|e| UserError::bad_input(format!("{}: {e}", file.display())))?;
    ci_medic_core::bundle::parse(&bytes)
        .map_err(|e| UserError::bad_input(format!("{}: {e}", file.display())))
}

/// Writes `analysis` atomically.
pub fn write_analysis(path: &Path, analysis: &Analysis) -> anyhow::Result<()> {
    crate::collect::write_json_atomic(path, analysis)
}

/// Prints the diagnosis (and in GitHub Actions: job summary and outputs).
pub fn report(analysis: &Analysis, path: &Path) -> anyhow::Result<()> {
    let md = diagnosis::markdown(analysis, github::STEP_SUMMARY_LIMIT);
    let c = &analysis.classification;
    let t = &analysis.triggers;
    github::publish(
        &md,
        &[
            ("outcome", c.outcome.as_str().to_owned()),
            ("verdict", c.verdict().to_owned()),
            (
                "error_type",
                c.error_type
                    .map_or_else(String::new, |t| t.as_str().to_owned()),
            ),
            (
                "confidence",
                c.confidence.map_or_else(String::new, |p| format!("{p:.3}")),
            ),
            ("self_heal", t.self_heal.eligible.to_string()),
            ("fix_agent", t.fix_agent.eligible.to_string()),
            ("notify", t.notify.eligible.to_string()),
            ("analysis", path.display().to_string()),
        ],
    )?;
    println!("{md}\nAnalysis: {}", path.display());
    Ok(())
}

#[derive(Debug, Serialize)]
struct TextVerdict<'a> {
    error_type: &'a str,
    confidence: f64,
    rule: Option<&'a str>,
    evidence: Vec<ci_medic_core::diagnose::analysis::Evidence>,
    alternatives: Vec<(&'a str, f64)>,
}

fn classify_text(c: &Classifier, path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read(path).map(|b| text = String::from_utf8_lossy(&b).into_owned())
    };
    if let Err(e) = read {
        return Ok(bad_input(&format!("{}: {e}", path.display())));
    }
    if text.trim().is_empty() {
        return Ok(bad_input(&format!(
            "{}: expected a failure text, found an empty input",
            path.display()
        )));
    }
    let (doc, v) = c.classify_text(&text);
    let evidence = c.evidence(&doc, &v);
    let mut out = std::io::stdout().lock();
    if json {
        let verdict = TextVerdict {
            error_type: v.error_type.as_str(),
            confidence: v.confidence,
            rule: v.rule.as_deref(),
            evidence,
            alternatives: v
                .scores
                .iter()
                .filter(|(t, _)| *t != v.error_type)
                .map(|(t, p)| (t.as_str(), *p))
                .collect(),
        };
        serde_json::to_writer_pretty(&mut out, &verdict)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} (confidence {:.2}) — {}",
            v.error_type.as_str(),
            v.confidence,
            v.error_type.meaning()
        )?;
        for e in &evidence {
            writeln!(
                out,
                "  {} → {} ({:.2}): {}",
                e.rule,
                e.error_type.as_str(),
                e.weight,
                e.why
            )?;
            for q in &e.quotes {
                writeln!(out, "      {}: {}", q.field, q.text)?;
            }
        }
        if evidence.is_empty() {
            writeln!(out, "  no rule fired")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Deserialize)]
struct JsonlIn {
    id: serde_json::Value,
    text: String,
}

#[derive(Debug, Serialize)]
struct JsonlOut<'a> {
    id: &'a serde_json::Value,
    error_type: &'a str,
    confidence: f64,
    rule: Option<&'a str>,
}

fn classify_jsonl(c: &Classifier, path: &Path) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(path) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => return Ok(bad_input(&format!("{}: {e}", path.display()))),
        }
    };
    // Validate everything first so that bad input writes nothing.
    let mut items = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JsonlIn>(&line) {
            Ok(item) => items.push(item),
            Err(e) => {
                return Ok(bad_input(&format!(
                    "{}:{}: expected {{\"id\": …, \"text\": \"…\"}}, found: {e}",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    for item in &items {
        let (_, v) = c.classify_text(&item.text);
        serde_json::to_writer(
            &mut out,
            &JsonlOut {
                id: &item.id,
                error_type: v.error_type.as_str(),
                confidence: v.confidence,
                rule: v.rule.as_deref(),
            },
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
