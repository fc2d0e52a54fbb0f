use ci_medic_core::classify::{Classifier, Field, signals};
use ci_medic_core::collect::{self, Limits};
use ci_medic_core::model::{RunContext, TestStatus};
use ci_medic_core::redact::Redactor;
use std::path::Path;
use std::time::Instant;
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let runs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs");
    let tmp = tempfile::tempdir().unwrap();
    let mut templates = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for (i, dir) in dirs.iter().enumerate() {
        let inputs = collect::discover(dir, |_| None);
        let b = collect::collect(
            &inputs,
            &Limits::default(),
            RunContext::default(),
            &Redactor::new([]),
            &tmp.path().join(i.to_string()),
            Vec::new(),
        )
        .unwrap()
        .bundle;
        templates.extend(
            b.tests
                .iter()
                .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
                .cloned(),
        );
    }
    println!("templates {}", templates.len());
    let tests: Vec<_> = (0..10_000)
        .map(|i| templates[i % templates.len()].clone())
        .collect();
    let c = Classifier::builtin().unwrap();
    let mut best = [f64::MAX; 3];
    for _ in 0..std::env::args().nth(1).map_or(3, |s| s.parse().unwrap()) {
        let t0 = Instant::now();
        let docs: Vec<_> = tests.iter().map(|t| signals::from_test(t, "")).collect();
        let t1 = Instant::now();
        let v: Vec<_> = docs.iter().map(|d| c.classify(d)).collect();
        let t2 = Instant::now();
        let e: usize = docs
            .iter()
            .zip(&v)
            .map(|(d, v)| c.evidence(d, v).len())
            .sum();
        let t3 = Instant::now();
        let ts = [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ];
        for i in 0..3 {
            best[i] = best[i].min(ts[i] * 1000.0);
        }
        let _ = e;
        let mut sizes = [0usize; 9];
        for d in &docs {
            for f in Field::ALL {
                sizes[f as usize] += d.text(f).len();
            }
        }
        let _ = sizes;
    }
    let inputs = collect::discover(&dirs[0], |_| None);
    let mut bundle = collect::collect(
        &inputs,
        &Limits::default(),
        RunContext::default(),
        &Redactor::new([]),
        &tmp.path().join("x"),
        Vec::new(),
    )
    .unwrap()
    .bundle;
    bundle.tests = tests
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut t = t.clone();
            t.id = format!("{} #{i}", t.id);
            if std::env::var("PROBE_IP").is_ok() {
                for a in &mut t.attempts {
                    for e in &mut a.errors {
                        e.message = e
                            .message
                            .replace("127.0.0.1:", &format!("10.0.{}.{}:", i / 250, i % 250));
                    }
                }
            }
            t
        })
        .collect();
    let mut bb = f64::MAX;
    let mut dd = f64::MAX;
    for _ in 0..std::env::var("PROBE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
    {
        let t = Instant::now();
        let r = c.classify_bundle(&bundle);
        bb = bb.min(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        drop(r);
        dd = dd.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("drop min {dd:.1} ms");
    println!("classify_bundle min {bb:.1} ms");
    println!(
        "min ms: docs {:.1} classify {:.1} evidence {:.1}",
        best[0], best[1], best[2]
    );
}
