//! Classifier speed: 10,000 failures from the recorded real runs.
//!
//! `cargo bench -p ci-medic-core --bench classify`. The baseline is the design the
//! rules engine avoids: every pattern of every rule tried one by one on its field.
//! No two copies share a page snapshot (see `big_bundle`).

use std::hint::black_box;
use std::path::Path;

use ci_medic_core::collect::redact::Redactor;
use ci_medic_core::collect::{self, Limits};
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::model::{Bundle, RunContext, TestStatus};
use criterion::{Criterion, criterion_group, criterion_main};
use regex::RegexBuilder;

// The allocator the `ci-medic` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A run with `n` failures: the failed and flaky tests of every recorded
/// scenario, repeated with distinct ids and ports.
fn big_bundle(n: usize) -> Bundle {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut templates = Vec::new();
    let mut base = None;
    let mut dirs: Vec<_> = std::fs::read_dir(&runs)
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for (i, dir) in dirs.iter().enumerate() {
        let inputs = collect::discover(dir, |_| None);
        let bundle = collect::collect(
            &inputs,
            &Limits::default(),
            RunContext::default(),
            &Redactor::new([]),
            &tmp.path().join(i.to_string()),
            Vec::new(),
        )
        .expect("collect")
        .bundle;
        templates.extend(
            bundle
                .tests
                .iter()
                .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
                .cloned(),
        );
        base.get_or_insert(bundle);
    }
    let mut bundle = base.expect("a run");
    bundle.tests = (0..n)
        .map(|i| {
            let mut t = templates[i % templates.len()].clone();
            t.id = format!("{} #{i}", t.id);
            for a in &mut t.attempts {
                for e in &mut a.errors {
                    e.message = e
                        .message
                        .replace("127.0.0.1:", &format!("10.0.{}.{}:", i / 250, i % 250));
                }
                // Every copy shows its own page: the classifier answers each
                // distinct page and question once, and the recorded runs share
                // few of them, so shared copies would flatter it.
                if let Some(s) = a
                    .error_context
                    .as_mut()
                    .and_then(|c| c.page_snapshot.as_mut())
                {
                    s.push_str(&format!("\n- text: copy {i}"));
                }
            }
            t
        })
        .collect();
    bundle.run_errors.clear();
    bundle
}

fn bench(c: &mut Criterion) {
    let bundle = big_bundle(10_000);
    let classifier = Classifier::builtin().expect("rules");
    let mut group = c.benchmark_group("classify");
    group.sample_size(10);
    group.bench_function("10k_failures_ruleset", |b| {
        b.iter(|| black_box(classifier.classify_bundle(black_box(&bundle))))
    });
    // Baseline: one regex per pattern, tried one by one on each failure's text.
    let rules = classifier.rules();
    let patterns: Vec<regex::Regex> = (0..rules.len())
        .flat_map(|i| rules.rule(i).matches.clone())
        .flat_map(|(_, ps)| ps)
        .map(|p| {
            RegexBuilder::new(&p)
                .case_insensitive(true)
                .multi_line(true)
                .build()
                .expect("pattern")
        })
        .collect();
    let docs: Vec<String> = bundle
        .tests
        .iter()
        .map(|t| {
            t.attempts
                .iter()
                .flat_map(|a| {
                    a.errors
                        .iter()
                        .map(|e| format!("{}\n{}", e.message, e.call_log.join("\n")))
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    group.bench_function("10k_failures_regex_loop_baseline", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for d in &docs {
                for re in &patterns {
                    if re.is_match(d) {
                        hits += 1;
                    }
                }
            }
            black_box(hits)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
