//! The labeled dev corpus (`fixtures/corpus/*.jsonl`) and the classifier's
//! scores on it: accuracy, per-type precision/recall/F1, the confusion matrix
//! and a calibration table.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::diagnose::taxonomy::ErrorType;

/// One labeled failure excerpt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Unique id.
    pub id: String,
    /// The failure text, verbatim from its source.
    pub text: String,
    /// The root cause's type, as the source thread established it.
    pub error_type: ErrorType,
    /// Where the text comes from.
    pub source: String,
    /// What the thread established, in one sentence.
    pub root_cause: String,
    /// Which comment or commit established it.
    pub established_by: String,
}

/// A corpus file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line that is not a reading of an entry's evidence.
    #[error(
        "{path}:{line}: expected a reading (id of a corpus entry, evidence explicit|inferable|ambiguous|contrary, type_from_text, why), found: {found}"
    )]
    Reading {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        found: String,
    },
    /// A line that is not a corpus entry.
    #[error(
        "{path}:{line}: expected a corpus entry (id, text, error_type, source, root_cause, established_by), found: {found}"
    )]
    Entry {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        found: String,
    },
}

/// Reads every `*.jsonl` file of `dir` (or one file), checking ids are unique.
pub fn load(path: &Path) -> Result<Vec<Entry>, CorpusError> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| CorpusError::Io {
                path: path.to_owned(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_owned()]
    };
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| CorpusError::Io {
            path: file.clone(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(line).map_err(|e| CorpusError::Entry {
                path: file.clone(),
                line: i + 1,
                found: e.to_string(),
            })?;
            if !ids.insert(entry.id.clone()) {
                return Err(CorpusError::Entry {
                    path: file.clone(),
                    line: i + 1,
                    found: format!("duplicate id {:?}", entry.id),
                });
            }
            out.push(entry);
        }
    }
    Ok(out)
}

/// One classified entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The entry's id.
    pub id: String,
    /// The label.
    pub expected: ErrorType,
    /// What the classifier said.
    pub predicted: ErrorType,
    /// Its confidence.
    pub confidence: f64,
    /// The rule behind it.
    pub rule: Option<String>,
}

/// Precision, recall and F1 of one type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeScore {
    /// The type.
    pub error_type: ErrorType,
    /// Entries labeled with it.
    pub support: usize,
    /// Entries predicted as it.
    pub predicted: usize,
    /// Correct predictions.
    pub correct: usize,
    /// correct / predicted.
    pub precision: f64,
    /// correct / support.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

/// One row of the calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Lower bound (inclusive).
    pub from: f64,
    /// Upper bound (exclusive, except the last).
    pub to: f64,
    /// Predictions in the bin.
    pub count: usize,
    /// Of those, correct.
    pub correct: usize,
    /// correct / count.
    pub accuracy: f64,
    /// Mean confidence in the bin.
    pub mean_confidence: f64,
}

/// The classifier's scores on a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Entries.
    pub total: usize,
    /// Correct predictions.
    pub correct: usize,
    /// correct / total.
    pub accuracy: f64,
    /// Mean F1 over the labeled types.
    pub macro_f1: f64,
    /// Predictions with confidence ≥ 0.8.
    pub confident: usize,
    /// Of those, correct.
    pub confident_correct: usize,
    /// confident_correct / confident.
    pub confident_precision: f64,
    /// Predicted `unknown`.
    pub unknown: usize,
    /// Per type.
    pub per_type: Vec<TypeScore>,
    /// `confusion[expected][predicted]`.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// Calibration bins.
    pub calibration: Vec<CalibrationBin>,
    /// The misclassified entries.
    pub errors: Vec<Prediction>,
}

/// The confidence from which a prediction counts as "confident".
pub const CONFIDENT: f64 = 0.8;

/// Scores predictions against their labels.
pub fn evaluate(preds: &[Prediction]) -> Evaluation {
    let total = preds.len();
    let correct = preds.iter().filter(|p| p.expected == p.predicted).count();
    let labeled: Vec<ErrorType> = ErrorType::ALL
        .into_iter()
        .filter(|t| preds.iter().any(|p| p.expected == *t))
        .collect();
    let per_type: Vec<TypeScore> = labeled
        .iter()
        .map(|&t| {
            let support = preds.iter().filter(|p| p.expected == t).count();
            let predicted = preds.iter().filter(|p| p.predicted == t).count();
            let hit = preds
                .iter()
                .filter(|p| p.predicted == t && p.expected == t)
                .count();
            let precision = ratio(hit, predicted);
            let recall = ratio(hit, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            TypeScore {
                error_type: t,
                support,
                predicted,
                correct: hit,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let macro_f1 = if per_type.is_empty() {
        0.0
    } else {
        per_type.iter().map(|s| s.f1).sum::<f64>() / per_type.len() as f64
    };
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for p in preds {
        *confusion
            .entry(p.expected.as_str().to_owned())
            .or_default()
            .entry(p.predicted.as_str().to_owned())
            .or_default() += 1;
    }
    let edges = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    let calibration = edges
        .windows(2)
        .map(|w| {
            let last = w[1] >= 1.0;
            let inside: Vec<&Prediction> = preds
                .iter()
                .filter(|p| p.confidence >= w[0] && (p.confidence < w[1] || last))
                .collect();
            let ok = inside.iter().filter(|p| p.expected == p.predicted).count();
            CalibrationBin {
                from: w[0],
                to: w[1],
                count: inside.len(),
                correct: ok,
                accuracy: ratio(ok, inside.len()),
                mean_confidence: if inside.is_empty() {
                    0.0
                } else {
                    inside.iter().map(|p| p.confidence).sum::<f64>() / inside.len() as f64
                },
            }
        })
        .collect();
    let confident: Vec<&Prediction> = preds
        .iter()
        .filter(|p| p.confidence >= CONFIDENT && p.predicted != ErrorType::Unknown)
        .collect();
    let confident_correct = confident
        .iter()
        .filter(|p| p.expected == p.predicted)
        .count();
    Evaluation {
        total,
        correct,
        accuracy: ratio(correct, total),
        macro_f1,
        confident: confident.len(),
        confident_correct,
        confident_precision: ratio(confident_correct, confident.len()),
        unknown: preds
            .iter()
            .filter(|p| p.predicted == ErrorType::Unknown)
            .count(),
        per_type,
        confusion,
        calibration,
        errors: preds
            .iter()
            .filter(|p| p.expected != p.predicted)
            .cloned()
            .collect(),
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Short column names for the confusion matrix.
fn abbrev(t: &str) -> String {
    let t = ErrorType::from_str(t).unwrap_or(ErrorType::Unknown);
    match t {
        ErrorType::SelectorDrift => "sel",
        ErrorType::AssertionMismatch => "asr",
        ErrorType::VisualRegression => "vis",
        ErrorType::TimeoutFlaky => "tmo",
        ErrorType::AuthState => "aut",
        ErrorType::DataSeed => "sed",
        ErrorType::ServerUnavailable => "srv",
        ErrorType::NetworkFlake => "net",
        ErrorType::BrowserCrash => "crs",
        ErrorType::EnvironmentSetup => "env",
        ErrorType::AppError => "app",
        ErrorType::TestCodeError => "cod",
        ErrorType::Unknown => "unk",
    }
    .to_owned()
}

/// Which part of the corpus an entry belongs to. The split is by source, so
/// that a rule written for one project's failure is measured on projects it was
/// not written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Rules and weights may be tuned on it.
    Tuning,
    /// Held out: rules are judged on it, never written for one of its entries.
    Validation,
}

impl Part {
    /// The snake_case name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Tuning => "tuning",
            Part::Validation => "validation",
        }
    }
}

/// The unit the split keeps together: the source repository (`owner/name`),
/// except Playwright's own trackers, where each issue is another team's
/// project and is its own unit.
pub fn split_unit(source: &str) -> String {
    let path = source
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .trim_start_matches("github.com/");
    let mut parts = path.split(['/', '#', '?']);
    let owner = parts.next().unwrap_or_default().to_ascii_lowercase();
    let name = parts.next().unwrap_or_default().to_ascii_lowercase();
    if owner == "microsoft" && name.starts_with("playwright") {
        let number = parts.nth(1).unwrap_or_default();
        format!("{owner}/{name}#{number}")
    } else {
        format!("{owner}/{name}")
    }
}

/// The part of `source`: validation for about 30 % of units, fixed by a hash of
/// the unit (SHA-256, first 8 bytes, modulo 100 below 30), so a new entry's
/// part never depends on what else is in the corpus.
pub fn part(source: &str) -> Part {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(split_unit(source).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    if u64::from_be_bytes(first) % 100 < VALIDATION_PERCENT {
        Part::Validation
    } else {
        Part::Tuning
    }
}

/// The share of split units held out for validation, in percent.
pub const VALIDATION_PERCENT: u64 = 30;

/// Scores on both parts of the corpus and on all of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitEvaluation {
    /// The tuning part.
    pub tuning: Evaluation,
    /// The validation part.
    pub validation: Evaluation,
    /// Both.
    pub all: Evaluation,
    /// Split units (sources) in each part.
    pub units: BTreeMap<String, usize>,
}

/// Scores predictions (in the order of `entries`) on each part.
pub fn evaluate_split(entries: &[Entry], preds: &[Prediction]) -> SplitEvaluation {
    let pick = |want: Part| -> Vec<Prediction> {
        entries
            .iter()
            .zip(preds)
            .filter(|(e, _)| part(&e.source) == want)
            .map(|(_, p)| p.clone())
            .collect()
    };
    let mut units: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for e in entries {
        units
            .entry(part(&e.source).as_str().to_owned())
            .or_default()
            .insert(split_unit(&e.source));
    }
    SplitEvaluation {
        tuning: evaluate(&pick(Part::Tuning)),
        validation: evaluate(&pick(Part::Validation)),
        all: evaluate(preds),
        units: units.into_iter().map(|(k, v)| (k, v.len())).collect(),
    }
}

/// How often one rule's type was right where the rule decided a failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleScore {
    /// The rule's id.
    pub rule: String,
    /// Its weight: what it claims, P(type right | it fired alone).
    pub weight: Option<f64>,
    /// Entries whose answer the rule gave.
    pub decided: usize,
    /// Those whose label it was.
    pub right: usize,
}

impl RuleScore {
    /// The share of its answers that were right.
    pub fn share(&self) -> f64 {
        self.right as f64 / self.decided as f64
    }
}

/// Per rule, on the entries of `want` only: how often the answer it gave was
/// the label, weakest first. Shown for the tuning part alone, where weights may
/// be tuned; the validation part is judged in aggregate.
pub fn rule_scores(
    entries: &[Entry],
    preds: &[Prediction],
    want: Part,
    weight: impl Fn(&str) -> Option<f64>,
) -> Vec<RuleScore> {
    let mut by_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (e, p) in entries.iter().zip(preds) {
        let Some(rule) = p.rule.as_deref() else {
            continue;
        };
        if part(&e.source) != want || p.predicted == ErrorType::Unknown {
            continue;
        }
        let s = by_rule.entry(rule).or_default();
        s.0 += 1;
        s.1 += usize::from(p.predicted == p.expected);
    }
    let mut out: Vec<RuleScore> = by_rule
        .into_iter()
        .map(|(rule, (decided, right))| RuleScore {
            rule: rule.to_owned(),
            weight: weight(rule),
            decided,
            right,
        })
        .collect();
    out.sort_by(|a, b| {
        a.share()
            .total_cmp(&b.share())
            .then(b.decided.cmp(&a.decided))
            .then(a.rule.cmp(&b.rule))
    });
    out
}

/// The rules' scores as a table.
pub fn render_rule_scores(scores: &[RuleScore]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<45} {:>6} {:>7} {:>5} {:>6}",
        "rule", "weight", "decided", "right", "share"
    );
    for s in scores {
        let _ = writeln!(
            out,
            "{:<45} {:>6} {:>7} {:>5} {:>6.2}",
            s.rule,
            s.weight
                .map_or_else(|| "-".to_owned(), |w| format!("{w:.2}")),
            s.decided,
            s.right,
            s.share()
        );
    }
    out
}

/// The headline figures of both parts side by side.
pub fn render_split(s: &SplitEvaluation) -> String {
    let mut out = String::new();
    let rows: [(&str, &Evaluation); 3] = [
        ("tuning", &s.tuning),
        ("validation", &s.validation),
        ("all", &s.all),
    ];
    let _ = writeln!(
        out,
        "{:<11} {:>7} {:>7} {:>8} {:>8} {:>8} {:>15}",
        "part", "sources", "entries", "accuracy", "macro-F1", "unknown", "precision@0.8"
    );
    for (name, e) in rows {
        let sources = match name {
            "all" => s.units.values().sum(),
            _ => s.units.get(name).copied().unwrap_or(0),
        };
        let _ = writeln!(
            out,
            "{:<11} {:>7} {:>7} {:>8.3} {:>8.3} {:>7.1}% {:>8.3} ({:>3})",
            name,
            sources,
            e.total,
            e.accuracy,
            e.macro_f1,
            if e.total == 0 {
                0.0
            } else {
                100.0 * e.unknown as f64 / e.total as f64
            },
            e.confident_precision,
            e.confident
        );
    }
    out
}

/// The evaluation as plain-text tables.
pub fn render(e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "entries {}  correct {}  accuracy {:.3}  macro-F1 {:.3}  unknown {}",
        e.total, e.correct, e.accuracy, e.macro_f1, e.unknown
    );
    let _ = writeln!(
        out,
        "confidence >= {CONFIDENT}: {} predictions, {} correct, precision {:.3}\n",
        e.confident, e.confident_correct, e.confident_precision
    );
    let _ = writeln!(
        out,
        "{:<20} {:>7} {:>9} {:>7} {:>9} {:>7} {:>6}",
        "error_type", "support", "predicted", "correct", "precision", "recall", "f1"
    );
    for s in &e.per_type {
        let _ = writeln!(
            out,
            "{:<20} {:>7} {:>9} {:>7} {:>9.3} {:>7.3} {:>6.3}",
            s.error_type.as_str(),
            s.support,
            s.predicted,
            s.correct,
            s.precision,
            s.recall,
            s.f1
        );
    }
    let cols: Vec<&str> = ErrorType::ALL.iter().map(|t| t.as_str()).collect();
    let _ = write!(
        out,
        "\nconfusion (rows: label, columns: predicted)\n{:<20}",
        ""
    );
    for c in &cols {
        let _ = write!(out, " {:>4}", abbrev(c));
    }
    out.push('\n');
    for (label, row) in &e.confusion {
        let _ = write!(out, "{label:<20}");
        for c in &cols {
            match row.get(*c) {
                Some(n) => {
                    let _ = write!(out, " {n:>4}");
                }
                None => out.push_str("    ."),
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\ncalibration\n{:<12} {:>6} {:>8} {:>9} {:>9}",
        "confidence", "count", "correct", "accuracy", "mean conf"
    );
    for b in &e.calibration {
        let _ = writeln!(
            out,
            "[{:.1}, {:.1}{} {:>6} {:>8} {:>9.3} {:>9.3}",
            b.from,
            b.to,
            if b.to >= 1.0 { "]" } else { ")" },
            b.count,
            b.correct,
            b.accuracy,
            b.mean_confidence
        );
    }
    out
}

/// What an entry's text alone shows of its root cause, as a careful reader
/// judged it, knowing the label and the thread's one-sentence cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A message in the text names the cause.
    Explicit,
    /// No message names it, but the text points to it over every other type.
    Inferable,
    /// The text fits the label and another type as well: it takes a guess or
    /// context the text does not have.
    Ambiguous,
    /// The text points to another type; only context outside it shows the label.
    Contrary,
}

impl Evidence {
    /// Every class, strongest first.
    pub const ALL: [Evidence; 4] = [
        Evidence::Explicit,
        Evidence::Inferable,
        Evidence::Ambiguous,
        Evidence::Contrary,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Explicit => "explicit",
            Evidence::Inferable => "inferable",
            Evidence::Ambiguous => "ambiguous",
            Evidence::Contrary => "contrary",
        }
    }

    /// Whether the text carries the evidence for its label.
    pub fn bears_label(self) -> bool {
        matches!(self, Evidence::Explicit | Evidence::Inferable)
    }
}

/// One reading of an entry's text (`fixtures/corpus/evidence/readings.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The entry's id.
    pub id: String,
    /// What the text alone shows.
    pub evidence: Evidence,
    /// The type the reader would give from the text alone (`unknown` when
    /// nothing leads).
    pub type_from_text: ErrorType,
    /// Why, in one sentence.
    pub why: String,
}

/// Reads the readings of `entries` from a JSON Lines file. Every entry needs
/// exactly one reading, and a reading that says the text carries the evidence
/// must give the label as the type.
pub fn load_readings(path: &Path, entries: &[Entry]) -> Result<Vec<Reading>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, found: String| CorpusError::Reading {
        path: path.to_owned(),
        line,
        found,
    };
    let labels: BTreeMap<&str, ErrorType> = entries
        .iter()
        .map(|e| (e.id.as_str(), e.error_type))
        .collect();
    let mut by_id: BTreeMap<String, Reading> = BTreeMap::new();
    let mut last_line = 0;
    for (i, line) in text.lines().enumerate() {
        last_line = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let r: Reading = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
        let Some(&label) = labels.get(r.id.as_str()) else {
            return Err(bad(
                i + 1,
                format!("id {:?}, which no corpus entry has", r.id),
            ));
        };
        if r.evidence.bears_label() && r.type_from_text != label {
            return Err(bad(
                i + 1,
                format!(
                    "evidence {} with type_from_text {}, but the entry's label is {}",
                    r.evidence.as_str(),
                    r.type_from_text.as_str(),
                    label.as_str()
                ),
            ));
        }
        if by_id.contains_key(&r.id) {
            return Err(bad(i + 1, format!("a second reading of {:?}", r.id)));
        }
        by_id.insert(r.id.clone(), r);
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        match by_id.remove(&e.id) {
            Some(r) => out.push(r),
            None => {
                return Err(bad(
                    last_line + 1,
                    format!("the end of the file, with no reading of entry {:?}", e.id),
                ));
            }
        }
    }
    Ok(out)
}

/// The classifier's and the reader's scores on one part's entries of one
/// evidence class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceScore {
    /// The part.
    pub part: Part,
    /// The class, `None` for the whole part.
    pub evidence: Option<Evidence>,
    /// Entries.
    pub entries: usize,
    /// The classifier's correct predictions.
    pub correct: usize,
    /// The classifier's `unknown`s.
    pub unknown: usize,
    /// Its predictions with confidence ≥ [`CONFIDENT`].
    pub confident: usize,
    /// Of those, correct.
    pub confident_correct: usize,
    /// The reader's type from the text equals the label: what answering
    /// from the text alone every time reaches.
    pub reader_correct: usize,
}

/// Scores predictions (in the order of `entries`, as for [`evaluate_split`])
/// by part and by what the text alone shows; an entry without a reading is
/// left out ([`load_readings`] gives every entry one).
pub fn evaluate_by_evidence(
    entries: &[Entry],
    preds: &[Prediction],
    readings: &[Reading],
) -> Vec<EvidenceScore> {
    let by_id: BTreeMap<&str, &Reading> = readings.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = Vec::new();
    for want in [Part::Tuning, Part::Validation] {
        for class in Evidence::ALL.map(Some).into_iter().chain([None]) {
            let mut score = EvidenceScore {
                part: want,
                evidence: class,
                entries: 0,
                correct: 0,
                unknown: 0,
                confident: 0,
                confident_correct: 0,
                reader_correct: 0,
            };
            for (e, p) in entries.iter().zip(preds) {
                let Some(r) = by_id.get(e.id.as_str()) else {
                    continue;
                };
                if part(&e.source) != want || class.is_some_and(|c| c != r.evidence) {
                    continue;
                }
                score.entries += 1;
                score.correct += usize::from(p.predicted == e.error_type);
                score.unknown += usize::from(p.predicted == ErrorType::Unknown);
                if p.confidence >= CONFIDENT && p.predicted != ErrorType::Unknown {
                    score.confident += 1;
                    score.confident_correct += usize::from(p.predicted == e.error_type);
                }
                score.reader_correct += usize::from(r.type_from_text == e.error_type);
            }
            out.push(score);
        }
    }
    out
}

/// [`evaluate_by_evidence`] as a plain-text table.
pub fn render_by_evidence(scores: &[EvidenceScore]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<11} {:<10} {:>7} {:>17} {:>8} {:>14} {:>15}",
        "part",
        "evidence",
        "entries",
        "classifier right",
        "unknown",
        "right at ≥0.8",
        "reader right"
    );
    for s in scores {
        let _ = writeln!(
            out,
            "{:<11} {:<10} {:>7} {:>9} ({:.3}) {:>8} {:>14} {:>7} ({:.3})",
            s.part.as_str(),
            s.evidence.map_or("all", Evidence::as_str),
            s.entries,
            s.correct,
            ratio(s.correct, s.entries),
            s.unknown,
            format!("{} of {}", s.confident_correct, s.confident),
            s.reader_correct,
            ratio(s.reader_correct, s.entries)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, label: ErrorType) -> Entry {
        Entry {
            id: id.into(),
            text: "Error: connect ECONNREFUSED 127.0.0.1:3000".into(),
            error_type: label,
            source: "https://github.com/acme/shop/issues/1".into(),
            root_cause: "the app was not started".into(),
            established_by: "the maintainer".into(),
        }
    }

    #[test]
    fn readings_must_cover_the_corpus_and_agree_with_its_labels() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("readings.jsonl");
        let entries = [
            entry("a", ErrorType::ServerUnavailable),
            entry("b", ErrorType::DataSeed),
        ];
        let load = |text: &str| {
            std::fs::write(&path, text).expect("write");
            load_readings(&path, &entries)
        };
        let good = concat!(
            r#"{"id": "b", "evidence": "contrary", "type_from_text": "server_unavailable", "why": "reads as a server down"}"#,
            "\n\n",
            r#"{"id": "a", "evidence": "explicit", "type_from_text": "server_unavailable", "why": "ECONNREFUSED"}"#,
            "\n"
        );
        let readings = load(good).expect("good readings");
        // In the corpus's order.
        assert_eq!(readings[0].id, "a");
        assert_eq!(readings[1].evidence, Evidence::Contrary);
        let err = |text: &str| load(text).expect_err("refused").to_string();
        let a = r#"{"id": "a", "evidence": "explicit", "type_from_text": "server_unavailable", "why": "x"}"#;
        let e = err(&format!("{a}\n"));
        assert!(
            e.contains("readings.jsonl:2:") && e.contains("no reading of entry \"b\""),
            "{e}"
        );
        let e = err(&format!("{a}\n{a}\n"));
        assert!(
            e.contains(":2:") && e.contains("a second reading of \"a\""),
            "{e}"
        );
        let e = err(
            r#"{"id": "a", "evidence": "inferable", "type_from_text": "network_flake", "why": "x"}"#,
        );
        assert!(
            e.contains(":1:") && e.contains("the entry's label is server_unavailable"),
            "{e}"
        );
        let e =
            err(r#"{"id": "z", "evidence": "ambiguous", "type_from_text": "unknown", "why": "x"}"#);
        assert!(e.contains("which no corpus entry has"), "{e}");
        let e =
            err(r#"{"id": "a", "evidence": "obvious", "type_from_text": "unknown", "why": "x"}"#);
        assert!(
            e.contains("expected a reading") && e.contains("obvious"),
            "{e}"
        );
    }

    /// A second reader's reading of 100 entries drawn at random agrees with
    /// the first as `fixtures/corpus/README.md` says.
    #[test]
    fn a_second_reading_agrees_with_the_first_as_documented() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/corpus");
        let entries = load(&dir).expect("corpus");
        let first = load_readings(&dir.join("evidence/readings.jsonl"), &entries).expect("first");
        let first: BTreeMap<&str, &Reading> = first.iter().map(|r| (r.id.as_str(), r)).collect();
        let text =
            std::fs::read_to_string(dir.join("evidence/second-reading.jsonl")).expect("second");
        let second: Vec<Reading> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a reading"))
            .collect();
        let pairs: Vec<(&Reading, &Reading)> =
            second.iter().map(|r| (first[r.id.as_str()], r)).collect();
        let n = pairs.len() as f64;
        let same_class = pairs
            .iter()
            .filter(|(a, b)| a.evidence == b.evidence)
            .count();
        let same_bears = pairs
            .iter()
            .filter(|(a, b)| a.evidence.bears_label() == b.evidence.bears_label())
            .count();
        let p1 = ratio(
            pairs.iter().filter(|p| p.0.evidence.bears_label()).count(),
            pairs.len(),
        );
        let p2 = ratio(
            pairs.iter().filter(|p| p.1.evidence.bears_label()).count(),
            pairs.len(),
        );
        let chance = p1 * p2 + (1.0 - p1) * (1.0 - p2);
        let kappa = (same_bears as f64 / n - chance) / (1.0 - chance);
        assert_eq!((pairs.len(), same_class, same_bears), (100, 83, 90));
        assert!((kappa - 0.80).abs() < 0.005, "{kappa}");
    }

    #[test]
    fn scores_by_evidence_split_each_part() {
        let entries = [
            entry("a", ErrorType::ServerUnavailable),
            entry("b", ErrorType::DataSeed),
        ];
        let preds = [
            p(
                ErrorType::ServerUnavailable,
                ErrorType::ServerUnavailable,
                0.9,
            ),
            p(ErrorType::DataSeed, ErrorType::ServerUnavailable, 0.85),
        ];
        let reading = |id: &str, evidence, t| Reading {
            id: id.into(),
            evidence,
            type_from_text: t,
            why: String::new(),
        };
        let readings = [
            reading("a", Evidence::Explicit, ErrorType::ServerUnavailable),
            reading("b", Evidence::Contrary, ErrorType::ServerUnavailable),
        ];
        let scores = evaluate_by_evidence(&entries, &preds, &readings);
        let want = part("https://github.com/acme/shop/issues/1");
        let row = |c: Option<Evidence>| {
            scores
                .iter()
                .find(|s| s.part == want && s.evidence == c)
                .expect("row")
        };
        assert_eq!(
            (row(None).entries, row(None).correct, row(None).confident),
            (2, 1, 2)
        );
        assert_eq!(row(None).reader_correct, 1);
        assert_eq!(row(None).unknown, 0);
        let contrary = row(Some(Evidence::Contrary));
        assert_eq!((contrary.correct, contrary.confident_correct), (0, 0));
        assert_eq!(row(Some(Evidence::Inferable)).entries, 0);
        assert!(
            scores
                .iter()
                .filter(|s| s.part != want)
                .all(|s| s.entries == 0)
        );
        assert!(render_by_evidence(&scores).contains("contrary"));
    }

    fn p(e: ErrorType, g: ErrorType, c: f64) -> Prediction {
        Prediction {
            id: "x".into(),
            expected: e,
            predicted: g,
            confidence: c,
            rule: None,
        }
    }

    #[test]
    fn rule_scores_count_one_part_and_put_the_weakest_rule_first() {
        use ErrorType::*;
        // One source in each part.
        let source_in = |want: Part| {
            (0..)
                .map(|i| format!("https://github.com/acme/app-{i}/issues/1"))
                .find(|s| part(s) == want)
                .expect("a source")
        };
        let mut entries = Vec::new();
        let mut preds = Vec::new();
        let mut add = |want: Part, label, got, rule: Option<&str>| {
            let mut e = entry(&format!("e{}", entries.len()), label);
            e.source = source_in(want);
            entries.push(e);
            preds.push(Prediction {
                rule: rule.map(str::to_owned),
                ..p(label, got, 0.9)
            });
        };
        add(
            Part::Tuning,
            ServerUnavailable,
            ServerUnavailable,
            Some("server.down"),
        );
        add(
            Part::Tuning,
            ServerUnavailable,
            ServerUnavailable,
            Some("server.down"),
        );
        add(
            Part::Tuning,
            AuthState,
            SelectorDrift,
            Some("selector.gone"),
        );
        add(
            Part::Tuning,
            SelectorDrift,
            SelectorDrift,
            Some("selector.gone"),
        );
        add(Part::Tuning, DataSeed, Unknown, None);
        // The validation part is never shown rule by rule.
        add(
            Part::Validation,
            AuthState,
            ServerUnavailable,
            Some("server.down"),
        );
        let scores = rule_scores(&entries, &preds, Part::Tuning, |id| {
            (id == "server.down").then_some(0.9)
        });
        let row = |rule: &str, weight, decided, right| RuleScore {
            rule: rule.into(),
            weight,
            decided,
            right,
        };
        assert_eq!(
            scores,
            vec![
                row("selector.gone", None, 2, 1),
                row("server.down", Some(0.9), 2, 2)
            ]
        );
        let table = render_rule_scores(&scores);
        assert!(
            table.contains("selector.gone") && table.contains("0.50") && table.contains("0.90"),
            "{table}"
        );
    }

    #[test]
    fn metrics_add_up() {
        use ErrorType::*;
        let preds = [
            p(SelectorDrift, SelectorDrift, 0.9),
            p(SelectorDrift, TimeoutFlaky, 0.6),
            p(TimeoutFlaky, TimeoutFlaky, 0.85),
            p(AppError, Unknown, 0.3),
        ];
        let e = evaluate(&preds);
        assert_eq!((e.total, e.correct, e.unknown), (4, 2, 1));
        assert!((e.accuracy - 0.5).abs() < 1e-9);
        let sel = &e.per_type[0];
        assert_eq!(sel.error_type, SelectorDrift);
        assert!((sel.precision - 1.0).abs() < 1e-9 && (sel.recall - 0.5).abs() < 1e-9);
        let tmo = e
            .per_type
            .iter()
            .find(|s| s.error_type == TimeoutFlaky)
            .expect("tmo");
        assert!((tmo.precision - 0.5).abs() < 1e-9);
        assert_eq!((e.confident, e.confident_correct), (2, 2));
        assert_eq!(e.confusion["selector_drift"]["timeout_flaky"], 1);
        assert_eq!(e.calibration.iter().map(|b| b.count).sum::<usize>(), 4);
        // selector 2/3, timeout 2/3, app 0 → (0.667 + 0.667 + 0) / 3
        assert!((e.macro_f1 - (2.0 / 3.0 * 2.0) / 3.0).abs() < 1e-9);
        assert!(render(&e).contains("accuracy 0.500"));
    }

    #[test]
    fn the_split_keeps_a_repository_together_and_playwright_issues_apart() {
        assert_eq!(
            split_unit("https://github.com/Foo/Bar/pull/12#issuecomment-1"),
            "foo/bar"
        );
        assert_eq!(
            split_unit("https://github.com/microsoft/playwright/issues/23944"),
            "microsoft/playwright#23944"
        );
        assert_eq!(
            part("https://github.com/foo/bar/issues/1"),
            part("https://github.com/foo/bar/pull/99")
        );
        // About 30 % of many units land in validation.
        let held = (0..1000)
            .filter(|i| part(&format!("https://github.com/o{i}/r")) == Part::Validation)
            .count();
        assert!((250..350).contains(&held), "{held}");
    }
}
