//! `ci-medic eval-corpus`: the classifier's scores on the labeled dev corpus and
//! on recorded scenario runs.

use std::path::PathBuf;
use std::process::ExitCode;

use ci_medic_core::diagnose::corpus::{self, Prediction};
use clap::Args;

use crate::classify::RulesArgs;

/// Options of `ci-medic eval-corpus`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A corpus file or a directory of `*.jsonl` files.
    #[arg(long, default_value = "fixtures/corpus")]
    pub corpus: PathBuf,
    /// Also classify recorded scenario runs: a directory of run directories, each
    /// with `scenario-run.json` naming the expected error type.
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Readings of what each entry's text alone shows of its cause (JSON Lines,
    /// one per entry): scores are then also given by evidence class, beside
    /// what answering from the text alone reaches.
    #[arg(long, value_name = "FILE")]
    pub readings: Option<PathBuf>,
    /// Print the evaluation as JSON.
    #[arg(long)]
    pub json: bool,
    /// List every misclassified entry.
    #[arg(long)]
    pub errors: bool,
    /// Per rule, how often the answer it gave on the tuning part was the label,
    /// beside its weight (weakest first).
    #[arg(long)]
    pub rules_report: bool,
    #[command(flatten)]
    pub rules: RulesArgs,
}

/// Runs `eval-corpus`.
pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let classifier = match args.rules.classifier() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ci-medic eval-corpus: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let entries = match corpus::load(&args.corpus) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ci-medic eval-corpus: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let preds: Vec<Prediction> = entries
        .iter()
        .map(|e| {
            let (_, v) = classifier.classify_text(&e.text);
            Prediction {
                id: e.id.clone(),
                expected: e.error_type,
                predicted: v.error_type,
                confidence: v.confidence,
                rule: v.rule,
            }
        })
        .collect();
    let split = corpus::evaluate_split(&entries, &preds);
    let rule_scores = args.rules_report.then(|| {
        let rules = classifier.rules();
        corpus::rule_scores(&entries, &preds, corpus::Part::Tuning, |id| {
            (0..rules.len())
                .map(|i| rules.rule(i))
                .find(|r| r.id == id)
                .map(|r| r.weight)
        })
    });
    let by_evidence = match &args.readings {
        Some(path) => match corpus::load_readings(path, &entries) {
            Ok(readings) => Some(corpus::evaluate_by_evidence(&entries, &preds, &readings)),
            Err(e) => {
                eprintln!("ci-medic eval-corpus: error: {e}");
                return Ok(ExitCode::from(2));
            }
        },
        None => None,
    };
    let coverage = ci_medic_core::diagnose::knowledge::coverage(&classifier);
    let bindings = ci_medic_core::diagnose::knowledge::client_coverage(&classifier);
    let runs = match &args.runs {
        Some(dir) => Some(crate::triage::evaluate_runs(&classifier, dir)?),
        None => None,
    };
    if args.json {
        let doc = serde_json::json!({
            "corpus": split.all,
            "tuning": split.tuning,
            "validation": split.validation,
            "sources": split.units,
            "playwright_messages": coverage,
            "binding_messages": bindings,
            "runs": runs,
            "by_evidence": by_evidence,
            "tuning_rules": rule_scores,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "corpus: {} ({} entries, split by source: {} % of sources held out for validation)\n\n{}",
        args.corpus.display(),
        entries.len(),
        corpus::VALIDATION_PERCENT,
        corpus::render_split(&split)
    );
    println!(
        "Playwright's error messages (core/knowledge/messages.tsv): {} of {} mapped to their type by a rule ({:.1} %), {} by a hand-written rule; {} have no type of their own\n",
        coverage.mapped,
        coverage.errors,
        100.0 * coverage.share,
        coverage.by_hand_rule,
        coverage.untyped
    );
    println!(
        "The language bindings' own messages (core/knowledge/clients.tsv): {} of {} mapped ({:.1} %), {} by a hand-written rule; their low-confidence messages and assertion output are context, not rules of their own\n",
        bindings.mapped,
        bindings.errors,
        100.0 * bindings.share,
        bindings.by_hand_rule,
    );
    if let Some(scores) = &by_evidence {
        println!(
            "by what the text alone shows (reader right: the reader's type from the text alone is the label)\n\n{}",
            corpus::render_by_evidence(scores)
        );
    }
    println!("validation part\n\n{}", corpus::render(&split.validation));
    println!("tuning part\n\n{}", corpus::render(&split.tuning));
    if args.errors {
        println!("misclassified:");
        for p in &split.all.errors {
            let held_out = entries
                .iter()
                .find(|e| e.id == p.id)
                .is_some_and(|e| corpus::part(&e.source) == corpus::Part::Validation);
            println!(
                "  {} {:<40} label {:<20} got {:<20} {:.2} {}",
                if held_out { "V" } else { "T" },
                p.id,
                p.expected.as_str(),
                p.predicted.as_str(),
                p.confidence,
                p.rule.as_deref().unwrap_or("-")
            );
        }
    }
    if let Some(scores) = &rule_scores {
        println!(
            "\nrules on the tuning part: the entries whose answer each rule gave, and how many it got right\n\n{}",
            corpus::render_rule_scores(scores)
        );
    }
    if let Some(runs) = runs {
        println!("\nrecorded runs: run verdict vs the scenario's");
        let mut ok = 0;
        for r in &runs {
            if r.correct {
                ok += 1;
            }
            println!(
                "  {:<20} expected {:<20} verdict {:<20} {:>4} {}",
                r.scenario,
                r.expected,
                r.verdict,
                r.confidence
                    .map_or_else(|| "-".to_owned(), |p| format!("{p:.2}")),
                if r.correct { "ok" } else { "WRONG" }
            );
        }
        println!("  {ok}/{} correct", runs.len());
    }
    Ok(ExitCode::SUCCESS)
}
