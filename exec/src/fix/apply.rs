//! `fix apply`: instructions → edits → guardrails → validation → patch and metadata.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use super::change::{self, Fate, Replaced};
use super::patch;
use super::reference::Reference;
use super::validate::{self, Target, Worktree};
use ci_medic_core::config::FixConfig;
use ci_medic_core::diagnose::analysis::{FixInstruction, FixKind};
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::taxonomy::ErrorType;
use ci_medic_core::fix::change::FileChange;
use ci_medic_core::fix::edit;
use ci_medic_core::fix::guard::{self, GuardDecision};
use ci_medic_core::fix::metadata::{
    Edit, FailureInput, FailureValidation, FixInput, FixMetadata, METADATA_SCHEMA, Outcome,
    PatchInfo, Proposal, ReferenceRun, Round, Validation,
};
use ci_medic_core::locator::fingerprint::Fingerprint;
use ci_medic_core::locator::matching::Thresholds;
use ci_medic_core::model::{ArtifactKind, AttemptStatus, TestStatus};
use ci_medic_core::page::Page;

/// What `apply` needs besides the input.
#[derive(Debug)]
pub struct Setup<'a> {
    /// The repository root.
    pub repo: &'a Path,
    /// Where bundle-relative artifact paths are rooted.
    pub bundle_dir: &'a Path,
    /// The `[fix]` table.
    pub config: &'a FixConfig,
    /// The output directory (`fix-agent/`), for validation logs.
    pub out: &'a Path,
    /// For failures revealed by validation.
    pub classifier: &'a Classifier,
    /// When it runs (RFC 3339).
    pub now: String,
    /// The revision the broken locators last worked at: the change from it to
    /// HEAD is read for renames (`None`: the merge-base with the default branch).
    pub base: Option<String>,
}

/// The result: the patch text (empty when there is none) and its metadata.
#[derive(Debug)]
pub struct Applied {
    /// The patch.
    pub patch: String,
    /// The metadata (patch path and hash filled in by the writer).
    pub metadata: FixMetadata,
}

#[derive(Debug, Clone)]
struct FileState {
    original: Option<Vec<u8>>,
    current: Vec<u8>,
}

struct State<'a> {
    setup: &'a Setup<'a>,
    files: BTreeMap<String, FileState>,
    edits: Vec<Edit>,
    proposals: Vec<Proposal>,
    guardrails: Vec<GuardDecision>,
    targets: Vec<Target>,
    refresh: Vec<Target>,
    /// The change to the app since the base: its short id and its replaced lines.
    change: Option<(String, Vec<Replaced>)>,
    /// The reference run's calls, when `[fix.reference]` ran.
    reference: Option<Reference>,
    /// What the metadata says of the reference run.
    reference_run: Option<ReferenceRun>,
}

/// Turns the input's instructions into a validated patch, or an empty one and the reason.
pub fn apply(input: &FixInput, setup: &Setup<'_>) -> Applied {
    let mut st = State {
        setup,
        files: BTreeMap::new(),
        edits: Vec::new(),
        proposals: Vec::new(),
        guardrails: Vec::new(),
        targets: Vec::new(),
        refresh: Vec::new(),
        change: app_change(setup),
        reference: None,
        reference_run: None,
    };
    (st.reference, st.reference_run) = reference_run(input, setup);
    // A screenshot of a run whose markup drifted may record the drift: its
    // baseline is not refreshed.
    let drift = input
        .failures
        .iter()
        .find(|f| f.error_type == ErrorType::SelectorDrift)
        .map(|f| f.id.clone());
    for ins in &input.instructions {
        let Some(f) = input.failures.iter().find(|f| f.id == ins.failure) else {
            continue;
        };
        if ins.kind == FixKind::RefreshSnapshot
            && let Some(other) = &drift
        {
            st.edits.push(Edit {
                kind: ins.kind,
                failure: f.id.clone(),
                file: f.spec.clone(),
                line: f.line,
                old: ins.old.clone(),
                new: None,
                applied: false,
                reason: format!(
                    "not refreshed: the same run shows markup drift ({other}), which the new screenshot would record as the baseline"
                ),
                confidence: ins.confidence,
                round: 1,
                healing: None,
                images: f.comparison.clone(),
            });
            continue;
        }
        st.instruction(ins, f);
    }
    let mut validation = Validation::default();
    let mut base_sha = None;
    let has_work = st
        .files
        .values()
        .any(|f| f.original.as_deref() != Some(&f.current[..]))
        || !st.refresh.is_empty();
    let caps_ok = |st: &State<'_>| {
        guard::check_caps(&st.changes(), st.setup.config)
            .iter()
            .all(|d| d.ok)
    };
    if !has_work {
        validation.detail = "nothing to validate: no edit was made".into();
    } else if !caps_ok(&st) {
        validation.detail = "not run: the patch is over a cap".into();
    } else if !setup.config.validate {
        validation.detail = "not run: [fix] validate = false".into();
    } else {
        match Worktree::create(setup.repo, setup.config) {
            Ok(wt) => {
                base_sha = Some(wt.base.clone());
                st.validate(&wt, input, &mut validation);
            }
            Err(e) => validation.detail = format!("not run: {e}"),
        }
    }
    if base_sha.is_none() {
        base_sha = git2::Repository::open(setup.repo)
            .ok()
            .and_then(|r| r.head().ok()?.target().map(|o| o.to_string()));
    }
    st.finish(input, validation, base_sha)
}

impl State<'_> {
    fn content(&mut self, path: &str) -> Result<String, String> {
        if let Some(f) = self.files.get(path) {
            return String::from_utf8(f.current.clone())
                .map_err(|_| format!("{path} is not UTF-8 text"));
        }
        let bytes =
            std::fs::read(self.setup.repo.join(path)).map_err(|e| format!("{path}: {e}"))?;
        let text =
            String::from_utf8(bytes.clone()).map_err(|_| format!("{path} is not UTF-8 text"))?;
        self.files.insert(
            path.to_owned(),
            FileState {
                original: Some(bytes.clone()),
                current: bytes,
            },
        );
        Ok(text)
    }

    fn allowed(&mut self, path: &str) -> Result<(), String> {
        match guard::check_path(self.setup.repo, path, self.setup.config) {
            Ok(d) => {
                if !self.guardrails.contains(&d) {
                    self.guardrails.push(d);
                }
                Ok(())
            }
            Err(d) => {
                let why = format!("guardrail {}: {}", d.check, d.detail);
                if !self.guardrails.contains(&d) {
                    self.guardrails.push(d);
                }
                Err(why)
            }
        }
    }

    fn target(&mut self, f: &FailureInput) {
        let t = Target {
            file: f.report_file.clone(),
            line: f.test_line,
            project: f.project.clone(),
        };
        if !self.targets.contains(&t) {
            self.targets.push(t);
        }
    }

    fn instruction(&mut self, ins: &FixInstruction, f: &FailureInput) {
        let mut e = Edit {
            kind: ins.kind,
            failure: f.id.clone(),
            file: f.spec.clone(),
            line: f.line,
            old: ins.old.clone(),
            new: None,
            applied: false,
            reason: String::new(),
            confidence: ins.confidence,
            round: 1,
            healing: None,
            images: if ins.kind == FixKind::RefreshSnapshot {
                f.comparison.clone()
            } else {
                Vec::new()
            },
        };
        if ins.kind == FixKind::ReviewAssertion {
            self.proposals.push(Proposal {
                kind: ins.kind,
                failure: f.id.clone(),
                file: f.spec.clone(),
                line: f.line,
                summary: "the expected value differs from what the page shows; whether the test or the app is right is a person's call, so this is never edited automatically".into(),
                expected: ins.expected.clone(),
                received: ins.received.clone(),
            });
            return;
        }
        if ins.confidence < self.setup.config.min_confidence {
            e.reason = format!(
                "the classification's confidence {:.2} is under [fix] min_confidence {:.2}",
                ins.confidence, self.setup.config.min_confidence
            );
            self.edits.push(e);
            return;
        }
        let Some(spec) = f.spec.clone() else {
            e.reason = "the failing spec was not found in the repository".into();
            self.edits.push(e);
            return;
        };
        if let Err(why) = self.allowed(&spec) {
            e.reason = why;
            self.edits.push(e);
            return;
        }
        let source = match self.content(&spec) {
            Ok(s) => s,
            Err(why) => {
                e.reason = why;
                self.edits.push(e);
                return;
            }
        };
        // The file the edit goes to: the spec, or where the spec's imports
        // write the locator (a page object, a fixture, a helper).
        let mut home = spec.clone();
        let made = match ins.kind {
            FixKind::UpdateLocator => {
                let Some(broken) = ins.old.clone() else {
                    e.reason = "the analysis names no failing locator".into();
                    self.edits.push(e);
                    return;
                };
                let written = if edit::writes_locator(&source, &broken) {
                    source.clone()
                } else {
                    match self.locator_home(&spec, &broken) {
                        Ok(Some((path, text))) => {
                            home = path;
                            e.file = Some(home.clone());
                            text
                        }
                        Ok(None) => {
                            if let Some(by) = self.healed_already(&spec, &broken) {
                                e.reason = by;
                                self.target(f);
                                self.edits.push(e);
                                return;
                            }
                            source.clone()
                        }
                        Err(why) => {
                            e.reason = why;
                            self.edits.push(e);
                            return;
                        }
                    }
                };
                let (page, from) = match page_for(f, self.setup.bundle_dir) {
                    (Some(p), from) if from.starts_with("the trace") => (Some(p), from),
                    (aria, from) => match self.live_page(f, &source) {
                        Ok(Some((p, url))) => {
                            (Some(p), format!("the live page {url} ({from} unavailable)"))
                        }
                        Ok(None) => (aria, from),
                        Err(why) => (aria, format!("{from}; the live page: {why}")),
                    },
                };
                // A scope that matches nothing is what broke: when the spec
                // continues a scope it does not write (`shell.headerNav.getByRole(…)`),
                // the edit goes where the scope is written.
                let mut written = written;
                if home == spec
                    && let Some(scope) = page.as_ref().and_then(|p| edit::broken_scope(&broken, p))
                    && !edit::writes_locator(&written, &scope)
                {
                    match self.locator_home(&spec, &scope) {
                        Ok(Some((path, text))) => {
                            home = path;
                            e.file = Some(home.clone());
                            written = text;
                        }
                        Ok(None) => {}
                        Err(why) => {
                            e.reason = why;
                            self.edits.push(e);
                            return;
                        }
                    }
                }
                let line = if home == spec { f.line } else { None };
                // What the locator matched at the reference, when that run saw it:
                // the element is then found by its whole fingerprint; a heal from
                // it comes first, the change's proven rename when it refuses.
                let reference = self
                    .reference
                    .as_ref()
                    .and_then(|r| r.element_of(f, self.setup.bundle_dir));
                // A page from the trace can fall back to the snapshot at failure.
                let at_failure = f
                    .page_snapshot
                    .as_deref()
                    .filter(|_| from.starts_with("the trace"));
                // What one test's assertion expected describes that test's use
                // of a shared locator it picks from (`rows.first()` holding "Blue
                // Widget"), not the locator: such a definition heals on what it
                // is. An assertion on the shared locator itself describes it.
                let picks = ci_medic_core::locator::Chain::parse(&broken)
                    .is_some_and(|c| c.target_index().is_some_and(|t| t + 1 < c.segments.len()));
                let message = if home == spec || !picks {
                    f.message.as_str()
                } else {
                    ""
                };
                let mut refused_by_reference = None;
                if let (Some((prints, how)), Some(page)) = (&reference, &page) {
                    let from = format!(
                        "{from}, looking for the element the reference run's call with {how} acted on"
                    );
                    let (out, from) = heal_locator(
                        &written,
                        line,
                        &broken,
                        message,
                        (page, from),
                        at_failure,
                        prints,
                        self.thresholds(),
                    );
                    let healing = out.healing.map(|mut h| {
                        h.reason = format!("{} (candidates from {from})", h.reason);
                        h
                    });
                    match out.made {
                        Ok(m) => {
                            if let Some(h) = &healing {
                                e.confidence = round(
                                    ins.confidence.min(h.score.unwrap_or(0.0).max(0.0)).max(0.0),
                                );
                            }
                            e.healing = healing;
                            self.made(&mut e, f, &home, m);
                            return;
                        }
                        Err(why) => refused_by_reference = Some((why.0, healing)),
                    }
                }
                // The change that broke it, when the app's diff proves a rename.
                match self.renamed_by_change(&written, line, &broken) {
                    Some(Ok((made, why))) => {
                        e.line = Some(made.line);
                        e.old = Some(made.old.clone());
                        e.new = Some(made.new.clone());
                        e.applied = true;
                        e.reason = match &refused_by_reference {
                            Some((r, _)) => {
                                format!("{why} (the reference run's element alone: {r})")
                            }
                            None => why,
                        };
                        if let Some(state) = self.files.get_mut(&home) {
                            state.current = made.source.into_bytes();
                        }
                        self.target(f);
                        self.edits.push(e);
                        return;
                    }
                    Some(Err(why)) => {
                        e.reason = why;
                        self.edits.push(e);
                        return;
                    }
                    None => {}
                }
                // The reference run's best candidate was like the element but not
                // far enough ahead: the locator's words may settle it, and a heal
                // stands only where both point at the same element.
                let reference_best = refused_by_reference.as_ref().and_then(|(_, h)| {
                    let best = h.as_ref()?.candidates.first()?;
                    (best.features.identity
                        >= ci_medic_core::locator::matching::MIN_REFERENCE_IDENTITY)
                        .then(|| (best.element.clone(), best.html.clone()))
                });
                if let Some((why, healing)) = &refused_by_reference
                    && reference_best.is_none()
                {
                    e.reason = why.clone();
                    e.healing = healing.clone();
                    self.edits.push(e);
                    return;
                }
                let Some(page) = page else {
                    e.reason = format!("no page to find candidates on: {from}");
                    self.edits.push(e);
                    return;
                };
                let (out, from) = heal_locator(
                    &written,
                    line,
                    &broken,
                    message,
                    (&page, from),
                    at_failure,
                    &[],
                    self.thresholds(),
                );
                if let Some(h) = &out.healing {
                    e.confidence =
                        round(ins.confidence.min(h.score.unwrap_or(0.0).max(0.0)).max(0.0));
                }
                if let (Some(best), Some((why, healing))) = (&reference_best, refused_by_reference)
                {
                    let chosen = out
                        .healing
                        .as_ref()
                        .filter(|_| out.made.is_ok())
                        .and_then(|h| h.candidates.first())
                        .map(|c| (c.element.clone(), c.html.clone()));
                    if chosen.as_ref() != Some(best) {
                        e.reason = why;
                        e.healing = healing;
                        self.edits.push(e);
                        return;
                    }
                    e.healing = out.healing.map(|mut h| {
                        h.reason = format!(
                            "{} (candidates from {from}); the reference run's element is the same one, first among its candidates ({why})",
                            h.reason
                        );
                        h
                    });
                    return self.made_or(e, f, &home, out.made);
                }
                e.healing = out.healing.map(|mut h| {
                    h.reason = format!("{} (candidates from {from})", h.reason);
                    h
                });
                out.made
            }
            FixKind::AdjustTimeout => match f.line {
                Some(line) => edit::timeout(&source, f.test_line, line, &f.message),
                None => Err("the failing line is unknown".into()),
            },
            FixKind::FixTestCode => match f.test_line {
                Some(l) => edit::missing_await(&source, l),
                None => Err("the test's line is unknown".into()),
            }
            .inspect_err(|why| {
                self.proposals.push(Proposal {
                    kind: ins.kind,
                    failure: f.id.clone(),
                    file: f.spec.clone(),
                    line: f.line,
                    summary: format!("the spec itself looks wrong ({why}); see the evidence"),
                    expected: None,
                    received: None,
                });
            }),
            FixKind::RefreshSnapshot => {
                e.reason =
                    "the baseline is regenerated with --update-snapshots during validation".into();
                self.refresh.push(Target {
                    file: f.report_file.clone(),
                    line: f.test_line,
                    project: f.project.clone(),
                });
                self.target(f);
                self.edits.push(e);
                return;
            }
            FixKind::ReviewAssertion => return,
        };
        match made {
            Ok(m) => {
                if e.healing.is_none() {
                    e.reason = format!("{} edit at line {}", ins.kind.as_str(), m.line);
                }
                self.made(&mut e, f, &home, m);
                return;
            }
            Err(why) => e.reason = why.0,
        }
        self.edits.push(e);
    }

    /// [`State::made`] for a heal's outcome, or the refusal's reason.
    fn made_or(
        &mut self,
        mut e: Edit,
        f: &FailureInput,
        home: &str,
        made: Result<edit::Made, edit::Refused>,
    ) {
        match made {
            Ok(m) => self.made(&mut e, f, home, m),
            Err(why) => {
                e.reason = why.0;
                self.edits.push(e);
            }
        }
    }

    /// Records a made edit of `home`: the edit, the file's new text, the test to rerun.
    fn made(&mut self, e: &mut Edit, f: &FailureInput, home: &str, m: edit::Made) {
        e.line = Some(m.line);
        e.old = Some(m.old.clone());
        e.new = Some(m.new.clone());
        e.applied = true;
        if let Some(h) = &e.healing {
            e.reason = h.reason.clone();
        }
        if let Some(state) = self.files.get_mut(home) {
            state.current = m.source.into_bytes();
        }
        self.target(f);
        self.edits.push(e.clone());
    }

    /// A rename the app's change proves for one of `broken`'s literals: the
    /// edit and its reason; a refusal when the change deleted the element or
    /// renamed it two ways; `None` when the change does not touch it.
    fn renamed_by_change(
        &self,
        source: &str,
        line: Option<u32>,
        broken: &str,
    ) -> Option<Result<(edit::Made, String), String>> {
        let (base, lines) = self.change.as_ref()?;
        let mut refusal = None;
        for literal in edit::literals(broken) {
            let Some(fate) = change::fate(&literal, lines) else {
                continue;
            };
            match fate {
                Fate::Renamed {
                    to,
                    at,
                    lines: (old, new),
                } => {
                    return Some(
                        edit::rename(source, line, broken, &literal, &to)
                            .map(|m| {
                                let why = format!(
                                    "the change that broke it: {at} (since {base}) replaced `{old}` with `{new}`: {literal:?} is now {to:?}"
                                );
                                (m, why)
                            })
                            .map_err(|r| r.0),
                    );
                }
                Fate::Deleted { at } => {
                    refusal.get_or_insert(format!(
                        "the change since {base} deleted the element that had {literal:?} ({at}) and put nothing in its place: a locator cannot bring it back"
                    ));
                }
                Fate::Conflicting(values) => {
                    refusal.get_or_insert(format!(
                        "the change since {base} renamed {literal:?} in several ways ({}): which one this test meant is not known",
                        values.join(", ")
                    ));
                }
            }
        }
        refusal.map(Err)
    }

    /// The one file among those `spec` imports (relative imports, followed
    /// three levels deep) that writes `broken`, with its text; `None` when
    /// none does; an error when several do or the one that does is not
    /// allowed.
    fn locator_home(
        &mut self,
        spec: &str,
        broken: &str,
    ) -> Result<Option<(String, String)>, String> {
        let mut found: Vec<(String, String)> = Vec::new();
        for path in self.imported(spec) {
            let Ok(text) = self.content(&path) else {
                continue;
            };
            if edit::writes_locator(&text, broken) {
                found.push((path, text));
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => {
                let (path, text) = found.remove(0);
                self.allowed(&path).map_err(|why| {
                    format!(
                        "{broken} is written in {path}, which the fix-agent may not edit: {why}"
                    )
                })?;
                Ok(Some((path, text)))
            }
            _ => Err(format!(
                "{broken} is written in {} files the spec imports ({}): which one the test used is not known",
                found.len(),
                found
                    .iter()
                    .map(|f| f.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The repository files `spec` imports by relative path, transitively
    /// (three levels, at most 50 files), resolved like Node and TypeScript do.
    fn imported(&mut self, spec: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut frontier = vec![spec.to_owned()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for file in frontier {
                let Ok(text) = self.content(&file) else {
                    continue;
                };
                let dir = Path::new(&file)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                for import in edit::relative_imports(&text) {
                    let Some(path) = self.resolve(&dir, &import) else {
                        continue;
                    };
                    if path != spec && !out.contains(&path) && out.len() < 50 {
                        out.push(path.clone());
                        next.push(path);
                    }
                }
            }
            frontier = next;
        }
        out
    }

    /// `import` resolved against `dir` (relative to the repository) to a file
    /// that exists: as written, with a script extension, or as a folder's index.
    fn resolve(&self, dir: &Path, import: &str) -> Option<String> {
        let mut parts: Vec<String> = dir
            .components()
            .filter_map(|c| c.as_os_str().to_str().map(str::to_owned))
            .collect();
        for seg in import.split('/') {
            match seg {
                "." | "" => {}
                ".." => {
                    parts.pop()?;
                }
                s => parts.push(s.to_owned()),
            }
        }
        let base = parts.join("/");
        let stem = base
            .strip_suffix(".js")
            .or_else(|| base.strip_suffix(".mjs"))
            .unwrap_or(&base)
            .to_owned();
        let tries = [
            base.clone(),
            format!("{stem}.ts"),
            format!("{stem}.tsx"),
            format!("{stem}.mts"),
            format!("{base}.js"),
            format!("{base}.mjs"),
            format!("{base}/index.ts"),
            format!("{base}/index.js"),
        ];
        tries
            .into_iter()
            .find(|t| self.setup.repo.join(t).is_file())
    }

    /// When an earlier edit of this run already replaced the written part of
    /// `broken` in the spec or a file it imports: the reason to give instead
    /// of a second edit (the test is rerun with the others).
    fn healed_already(&mut self, spec: &str, broken: &str) -> Option<String> {
        let files: Vec<String> = std::iter::once(spec.to_owned())
            .chain(self.imported(spec))
            .collect();
        self.edits
            .iter()
            .filter(|e| e.applied && e.kind == FixKind::UpdateLocator)
            .find(|e| {
                e.file.as_ref().is_some_and(|f| files.contains(f))
                    && e.old.as_deref().is_some_and(|old| broken.contains(old))
            })
            .map(|e| {
                format!(
                    "healed by the edit made for {} in {}:{} ({} -> {}); this test is rerun with it",
                    e.failure,
                    e.file.as_deref().unwrap_or("?"),
                    e.line.unwrap_or(0),
                    e.old.as_deref().unwrap_or(""),
                    e.new.as_deref().unwrap_or("")
                )
            })
    }

    /// The live page the failing test was on, when `[fix.live]` is set.
    fn live_page(&self, f: &FailureInput, source: &str) -> Result<Option<(Page, String)>, String> {
        let Some(live) = &self.setup.config.live else {
            return Ok(None);
        };
        let (Some(test_line), Some(line)) = (f.test_line, f.line) else {
            return Err("the failing line is unknown".into());
        };
        let url = ci_medic_core::fix::source::url_at(source, test_line, line, &live.base_url)
            .ok_or("the test navigates nowhere before the failing line")?;
        let state = live.storage_state.as_ref().map(|p| self.setup.repo.join(p));
        let log = self.setup.out.join("live/chromedriver.log");
        let html = super::live::page_html(&url, state.as_deref(), &log, live.timeout)
            .map_err(|e| e.to_string())?;
        Ok(Some((Page::parse(&html), url)))
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            min_score: self.setup.config.min_score,
            min_margin: self.setup.config.min_margin,
        }
    }

    fn changes(&self) -> Vec<FileChange> {
        self.files
            .iter()
            .filter(|(_, f)| f.original.as_deref() != Some(&f.current[..]))
            .map(|(p, f)| FileChange {
                path: p.clone(),
                old: f.original.clone(),
                new: Some(f.current.clone()),
                executable: false,
            })
            .collect()
    }

    fn validate(&mut self, wt: &Worktree, input: &FixInput, v: &mut Validation) {
        let deadline = Instant::now() + self.setup.config.timeout;
        let out = self.setup.out.join("validation");
        for (path, f) in &self.files {
            if f.original.as_deref() != Some(&f.current[..])
                && let Err(e) = wt.write(path, &f.current)
            {
                v.detail = format!("not run: {e}");
                return;
            }
        }
        v.ran = true;
        if !self.refresh.is_empty() {
            let refresh = self.refresh.clone();
            let r = validate::run(
                wt,
                self.setup.config,
                &refresh,
                &out.join("update-snapshots"),
                &["--update-snapshots"],
                deadline,
            );
            let changed = wt.changed().unwrap_or_default();
            let mut n = 0;
            for rel in changed {
                if self.files.contains_key(&rel) || !is_snapshot_file(&rel) {
                    continue;
                }
                if let Err(why) = self.allowed(&rel) {
                    self.note_refresh(&format!("{rel}: {why}"), false);
                    continue;
                }
                let Ok(bytes) = std::fs::read(wt.path.join(&rel)) else {
                    continue;
                };
                let original = wt.head_content(&rel);
                self.files.insert(
                    rel.clone(),
                    FileState {
                        original,
                        current: bytes,
                    },
                );
                n += 1;
                self.note_refresh(&format!("regenerated {rel}"), true);
            }
            if n == 0 {
                self.note_refresh(
                    &format!(
                        "--update-snapshots changed no baseline (exit {})",
                        r.exit_code.map_or("none".into(), |c| c.to_string())
                    ),
                    false,
                );
            }
        }
        v.tests = self
            .targets
            .iter()
            .map(|t| format!("{}:{} [{}]", t.file, t.line.unwrap_or(0), t.project))
            .collect();
        let max = self.setup.config.max_rounds.max(1);
        for round in 1..=max {
            let dir = out.join(format!("round-{round}"));
            let targets = self.targets.clone();
            let r = validate::run(wt, self.setup.config, &targets, &dir, &[], deadline);
            let failed: Vec<&ci_medic_core::model::Test> = r
                .tests
                .iter()
                .filter(|t| matches!(t.status, TestStatus::Unexpected | TestStatus::Flaky))
                .collect();
            v.rounds.push(Round {
                round,
                command: r.command.clone(),
                exit_code: r.exit_code,
                timed_out: r.timed_out,
                passed: r
                    .tests
                    .iter()
                    .filter(|t| t.status == TestStatus::Expected)
                    .count(),
                failed: failed
                    .iter()
                    .map(|t| {
                        let first = t
                            .attempts
                            .iter()
                            .flat_map(|a| a.errors.iter())
                            .next()
                            .map(|e| e.message.lines().next().unwrap_or_default().to_owned())
                            .unwrap_or_default();
                        format!("{} — {first}", t.title_path.join(" › "))
                    })
                    .collect(),
                duration_ms: r.duration.as_millis() as u64,
                log: dir
                    .join("playwright.log")
                    .strip_prefix(self.setup.out)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            });
            v.failures = per_failure(input, &self.targets, &r.tests);
            if r.passed() {
                v.passed = Some(true);
                v.detail =
                    format!("the affected tests pass with the patch (round {round} of {max})");
                return;
            }
            if let Some(e) = &r.report_error {
                v.passed = Some(false);
                v.detail = format!("the rerun gave no results: {e}");
                return;
            }
            if r.timed_out {
                v.passed = Some(false);
                v.detail = "the rerun hit [fix] timeout".into();
                return;
            }
            // A fixed locator can reveal the next broken one in the same test.
            let mut healed = 0;
            if round < max {
                for t in failed {
                    healed += self.heal_revealed(t, input, wt, round + 1);
                }
            }
            if healed == 0 {
                v.passed = Some(false);
                v.detail = format!(
                    "{} affected test(s) still fail with the patch (round {round})",
                    v.rounds.last().map_or(0, |r| r.failed.len())
                );
                return;
            }
        }
        v.passed = Some(false);
        v.detail = format!("still failing after {max} round(s)");
    }

    /// Whether every edit in the patch is a refreshed screenshot baseline.
    fn only_baselines(&self) -> bool {
        let mut applied = self.edits.iter().filter(|e| e.applied).peekable();
        applied.peek().is_some() && applied.all(|e| e.kind == FixKind::RefreshSnapshot)
    }

    fn note_refresh(&mut self, reason: &str, applied: bool) {
        if let Some(e) = self
            .edits
            .iter_mut()
            .rev()
            .find(|e| e.kind == FixKind::RefreshSnapshot)
        {
            if applied {
                e.applied = true;
                e.reason = reason.to_owned();
            } else if !e.applied {
                e.reason = reason.to_owned();
            }
        }
    }

    /// Heals a selector_drift failure of a validation round; returns 1 when it made an edit.
    fn heal_revealed(
        &mut self,
        t: &ci_medic_core::model::Test,
        input: &FixInput,
        wt: &Worktree,
        round: u32,
    ) -> usize {
        let Some(f) = input
            .failures
            .iter()
            .find(|f| f.report_file == t.file && f.project == t.project && f.title == t.title_path)
            .or_else(|| input.failures.iter().find(|f| f.report_file == t.file))
        else {
            tracing::debug!(file = %t.file, "validation failure of a test the input does not know");
            return 0;
        };
        let Some(spec) = f.spec.clone() else { return 0 };
        let Some(attempt) = t
            .attempts
            .iter()
            .rev()
            .find(|a| !matches!(a.status, AttemptStatus::Passed | AttemptStatus::Skipped))
        else {
            return 0;
        };
        // A test timeout is reported twice: the bare timeout, then the step with its call log.
        let Some(err) = attempt
            .errors
            .iter()
            .find(|e| !e.call_log.is_empty())
            .or(attempt.errors.first())
        else {
            return 0;
        };
        let text = attempt
            .errors
            .iter()
            .map(|e| format!("{}\nCall log:\n{}", e.message, e.call_log.join("\n")))
            .collect::<Vec<_>>()
            .join("\n");
        let (doc, verdict) = self.setup.classifier.classify_text(&text);
        // One rerun has no retries or history: a locator that never resolved in a
        // test already diagnosed as selector drift reads as a timeout here.
        let drift = verdict.error_type == ErrorType::SelectorDrift
            || (f.error_type == ErrorType::SelectorDrift
                && matches!(
                    verdict.error_type,
                    ErrorType::TimeoutFlaky | ErrorType::Unknown
                ));
        if !drift {
            tracing::debug!(test = %t.title_path.join(" › "), error_type = verdict.error_type.as_str(), "validation failure is not selector drift");
            return 0;
        }
        let Some(broken) = doc
            .unresolved_locator
            .clone()
            .or_else(|| unresolved(&attempt.errors))
        else {
            tracing::debug!(test = %t.title_path.join(" › "), "validation failure names no unresolved locator");
            return 0;
        };
        let trace = attempt
            .attachments
            .iter()
            .filter(|a| a.kind == ArtifactKind::Trace || a.name == "trace")
            .find_map(|a| a.path.clone());
        let page = trace
            .as_deref()
            .and_then(|p| ci_medic_core::page::trace::last_snapshot(Path::new(p)).ok())
            .map(|s| Page::parse(&s.html));
        let line = attempt
            .errors
            .iter()
            .find_map(|e| e.location.as_ref())
            .or(err.location.as_ref())
            .map(|l| l.line);
        let mut e = Edit {
            kind: FixKind::UpdateLocator,
            failure: f.id.clone(),
            file: Some(spec.clone()),
            line,
            old: Some(broken.clone()),
            new: None,
            applied: false,
            reason: String::new(),
            confidence: verdict.confidence,
            round,
            healing: None,
            images: Vec::new(),
        };
        let Some(page) = page else {
            e.reason = format!(
                "revealed in validation round {}; the rerun left no trace to find candidates in",
                round - 1
            );
            self.edits.push(e);
            return 0;
        };
        let Ok(source) = self.content(&spec) else {
            return 0;
        };
        // Playwright's ARIA snapshot at failure, from the rerun's error context.
        let at_failure = attempt
            .error_context
            .as_ref()
            .and_then(|c| c.page_snapshot.clone())
            .or_else(|| {
                let path = attempt
                    .attachments
                    .iter()
                    .filter(|a| a.kind == ArtifactKind::ErrorContext || a.name == "error-context")
                    .find_map(|a| a.path.clone())?;
                let text = std::fs::read_to_string(&path).ok()?;
                ci_medic_core::collect::playwright::results_dir::parse_error_context(&path, &text)
                    .page_snapshot
            });
        let (prints, from) = match self.reference.as_ref().and_then(|r| {
            r.element_at(&f.title, trace.as_deref().map(Path::new), Some(&spec), line)
        }) {
            Some((prints, how)) => (
                prints,
                format!(
                    "the rerun's trace, looking for the element the reference run's call with {how} acted on"
                ),
            ),
            None => (Vec::new(), "the rerun's trace".to_owned()),
        };
        let (mut out, from) = heal_locator(
            &source,
            line,
            &broken,
            &err.message,
            (&page, from),
            at_failure.as_deref(),
            &prints,
            self.thresholds(),
        );
        if let Some(h) = out.healing.as_mut() {
            h.reason = format!("{} (candidates from {from})", h.reason);
        }
        e.healing = out.healing;
        if let Some(h) = &e.healing {
            e.confidence = self::round(verdict.confidence.min(h.score.unwrap_or(0.0)));
        }
        let made = match out.made {
            Ok(m) => m,
            Err(why) => {
                e.reason = format!("revealed in validation round {}: {why}", round - 1);
                self.edits.push(e);
                return 0;
            }
        };
        if wt.write(&spec, made.source.as_bytes()).is_err() {
            return 0;
        }
        e.line = Some(made.line);
        e.old = Some(made.old.clone());
        e.new = Some(made.new.clone());
        e.applied = true;
        e.reason = format!(
            "revealed in validation round {}: {}",
            round - 1,
            e.healing
                .as_ref()
                .map_or(String::new(), |h| h.reason.clone())
        );
        if let Some(state) = self.files.get_mut(&spec) {
            state.current = made.source.into_bytes();
        }
        self.edits.push(e);
        1
    }

    fn finish(
        mut self,
        input: &FixInput,
        validation: Validation,
        base_sha: Option<String>,
    ) -> Applied {
        let changes = self.changes();
        let caps = guard::check_caps(&changes, self.setup.config);
        let over = caps.iter().find(|d| !d.ok).cloned();
        self.guardrails.extend(caps);
        let run_id = input.run.run_id.clone();
        let (patch, outcome, reason) = if let Some(d) = over {
            for e in &mut self.edits {
                if e.applied {
                    e.applied = false;
                    e.reason = format!("dropped: the patch is over a cap ({})", d.detail);
                }
            }
            (
                String::new(),
                Outcome::NoPatch,
                format!("no patch: {} ({})", d.check, d.detail),
            )
        } else if changes.is_empty() {
            let why = self
                .edits
                .iter()
                .map(|e| format!("{}: {}", e.kind.as_str(), e.reason))
                .next()
                .unwrap_or_else(|| "no fix instruction calls for an edit".into());
            (String::new(), Outcome::NoPatch, format!("no patch: {why}"))
        } else {
            match patch::render(&changes) {
                Err(e) => (String::new(), Outcome::NoPatch, format!("no patch: {e}")),
                Ok(patch) => match validation.passed {
                    // Any new baseline makes its own test pass: the rerun proves nothing.
                    Some(true) if self.only_baselines() => (
                        patch,
                        Outcome::NeedsManualReview,
                        format!(
                            "needs manual review: the patch only refreshes screenshot baselines, and a rerun passes with any new baseline, so it proves nothing; compare the old and new images before merging ({})",
                            validation.detail
                        ),
                    ),
                    // `validated` means every failure the patch targets passed.
                    Some(true)
                        if !validation.failures.is_empty()
                            && validation.failures.iter().all(|f| f.passed == Some(true)) =>
                    {
                        (patch, Outcome::Validated, validation.detail.clone())
                    }
                    Some(true) => (
                        patch,
                        Outcome::NeedsManualReview,
                        format!(
                            "needs manual review: the rerun passed, but not every targeted failure's test ran and passed in it ({})",
                            validation
                                .failures
                                .iter()
                                .filter(|f| f.passed != Some(true))
                                .map(|f| f.test.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    ),
                    Some(false) if validation.failures.iter().any(|f| f.passed == Some(true)) => {
                        let pass = validation
                            .failures
                            .iter()
                            .filter(|f| f.passed == Some(true))
                            .count();
                        (
                            patch,
                            Outcome::Partial,
                            format!(
                                "partly validated: {pass} of {} targeted failure(s) pass with the patch; {}",
                                validation.failures.len(),
                                validation.detail
                            ),
                        )
                    }
                    _ => (
                        patch,
                        Outcome::NeedsManualReview,
                        format!("needs manual review: validation {}", validation.detail),
                    ),
                },
            }
        };
        let applied: Vec<&Edit> = self.edits.iter().filter(|e| e.applied).collect();
        let confidence = applied.iter().map(|e| e.confidence).reduce(f64::min);
        let risk = if changes.iter().all(|c| is_test_file(&c.path)) {
            "test-only"
        } else {
            "app-code"
        };
        let files: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
        let changed_lines = changes.iter().map(FileChange::changed_lines).sum();
        let short: Vec<String> = files
            .iter()
            .map(|f| f.rsplit('/').next().unwrap_or(f).to_owned())
            .collect();
        let title = summary_title(&applied, &short);
        let branch = format!("{}{}", self.setup.config.branch_prefix, sanitize(&run_id));
        let mut commit = format!("{title}\n\n");
        for e in &applied {
            let _ = writeln!(
                commit,
                "- {} {}:{}: {} -> {}",
                e.kind.as_str(),
                e.file.as_deref().unwrap_or("?"),
                e.line.unwrap_or(0),
                e.old.as_deref().unwrap_or(""),
                e.new.as_deref().unwrap_or("(regenerated)")
            );
        }
        if let Some(url) = &input.run.run_url {
            let _ = write!(commit, "\nFrom failing run {url}\n");
        }
        let needs = outcome != Outcome::Validated;
        let mut metadata = FixMetadata {
            schema: METADATA_SCHEMA.to_owned(),
            run_id,
            generated_at: self.setup.now.clone(),
            base_sha,
            outcome,
            needs_manual_review: needs,
            reason,
            patch: PatchInfo {
                path: String::new(),
                files,
                changed_lines,
                sha256: String::new(),
            },
            edits: self.edits,
            proposals: self.proposals,
            guardrails: self.guardrails,
            validation,
            reference: self.reference_run.clone(),
            risk: risk.into(),
            confidence,
            branch,
            commit_message: commit,
            pr_title: format!("ci-medic: {title}"),
            pr_body: String::new(),
        };
        metadata.pr_body = ci_medic_core::fix::pr_body::render(&metadata, input);
        Applied { patch, metadata }
    }
}

fn summary_title(applied: &[&Edit], files: &[String]) -> String {
    if applied.is_empty() {
        return "no change".into();
    }
    let count = |k: FixKind| applied.iter().filter(|e| e.kind == k).count();
    let mut parts = Vec::new();
    for (k, one, many) in [
        (FixKind::UpdateLocator, "heal 1 locator", "heal {} locators"),
        (
            FixKind::RefreshSnapshot,
            "refresh 1 snapshot baseline",
            "refresh {} snapshot baselines",
        ),
        (
            FixKind::AdjustTimeout,
            "adjust 1 timeout",
            "adjust {} timeouts",
        ),
        (
            FixKind::FixTestCode,
            "add a missing await",
            "fix {} test code issues",
        ),
    ] {
        match count(k) {
            0 => {}
            1 => parts.push(one.to_owned()),
            n => parts.push(many.replace("{}", &n.to_string())),
        }
    }
    let mut files = files.to_vec();
    files.dedup();
    format!("{} in {}", parts.join(", "), files.join(", "))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn is_snapshot_file(rel: &str) -> bool {
    rel.contains("-snapshots/")
        || rel.contains("__screenshots__/")
        || rel.contains("__snapshots__/")
}

/// Test code, fixtures and baselines (the patch touches no application code).
fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.contains(".spec.")
        || name.contains(".test.")
        || is_snapshot_file(rel)
        || rel
            .split('/')
            .any(|c| matches!(c, "tests" | "test" | "e2e" | "__tests__"))
}

/// The locator a call log waited for and never found (no `resolved to` after it).
fn unresolved(errors: &[ci_medic_core::model::ErrorInfo]) -> Option<String> {
    for e in errors {
        let log: Vec<&str> = e
            .call_log
            .iter()
            .map(|l| l.trim().trim_start_matches("- ").trim())
            .collect();
        if log
            .iter()
            .any(|l| l.contains("resolved to") && !l.contains("resolved to 0 elements"))
        {
            continue;
        }
        if let Some(w) = log
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("waiting for "))
            && ci_medic_core::locator::Chain::parse(w).is_some()
        {
            return Some(w.to_owned());
        }
    }
    None
}

/// Each failure whose test the patch targets, and whether that test passed
/// in `tests` (a rerun's results).
fn per_failure(
    input: &FixInput,
    targets: &[Target],
    tests: &[ci_medic_core::model::Test],
) -> Vec<FailureValidation> {
    input
        .failures
        .iter()
        .filter(|f| {
            targets
                .iter()
                .any(|t| t.file == f.report_file && t.line == f.test_line && t.project == f.project)
        })
        .map(|f| {
            // By title: a patch that joins lines moves the tests below it.
            let rerun = tests.iter().find(|t| {
                t.file == f.report_file && t.title_path == f.title && t.project == f.project
            });
            FailureValidation {
                failure: f.id.clone(),
                test: f.title.join(" › "),
                passed: rerun.map(|t| t.status == TestStatus::Expected),
            }
        })
        .collect()
}

/// Runs `[fix.reference]` for the failures with a locator to heal: the
/// calls it recorded, and what the metadata says of it (also when it could
/// not run, so the metadata says why the heals went without it).
fn reference_run(input: &FixInput, setup: &Setup<'_>) -> (Option<Reference>, Option<ReferenceRun>) {
    let Some(rc) = &setup.config.reference else {
        return (None, None);
    };
    let mut targets: Vec<Target> = Vec::new();
    for ins in &input.instructions {
        if ins.kind != FixKind::UpdateLocator || ins.confidence < setup.config.min_confidence {
            continue;
        }
        let Some(f) = input.failures.iter().find(|f| f.id == ins.failure) else {
            continue;
        };
        let t = Target {
            file: f.report_file.clone(),
            line: f.test_line,
            project: f.project.clone(),
        };
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    if targets.is_empty() {
        return (None, None);
    }
    let not_run = |detail: String| ReferenceRun {
        detail,
        ..ReferenceRun::default()
    };
    let Some(commit) = rc
        .commit
        .clone()
        .or_else(|| setup.base.clone())
        .or_else(|| default_base(setup.repo))
    else {
        return (
            None,
            Some(not_run(
                "not run: no reference commit ([fix.reference] commit, --base, or a default branch HEAD is not on)".into(),
            )),
        );
    };
    let deadline = Instant::now() + setup.config.timeout;
    match Reference::run(
        setup.repo,
        setup.config,
        rc,
        &commit,
        &targets,
        setup.out,
        deadline,
    ) {
        Ok(r) => {
            let report = r.report.clone();
            (Some(r), Some(report))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the reference run failed");
            let mut report = not_run(format!("not run: {e}"));
            report.commit = commit;
            (None, Some(report))
        }
    }
}

/// The app's change since the base (`--base`, else the merge-base of HEAD
/// with the default branch): `None` when there is no base to compare with or
/// the repository cannot be read (logged; healing goes on without it).
fn app_change(setup: &Setup<'_>) -> Option<(String, Vec<Replaced>)> {
    let base = setup.base.clone().or_else(|| default_base(setup.repo))?;
    match change::replaced_lines(setup.repo, &base, &|f| !is_test_file(f)) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "the app's change could not be read");
            None
        }
    }
}

/// The commit of the history's last passing run that HEAD descends from
/// (the suite's last green state on this line of work); `None` when no
/// passing run's commit is an ancestor of HEAD here.
pub fn last_green(
    repo: &Path,
    history: &ci_medic_core::report::dashboard::History,
) -> Option<String> {
    let r = git2::Repository::discover(repo).ok()?;
    let head = r.head().ok()?.peel_to_commit().ok()?.id();
    history
        .runs
        .iter()
        .rev()
        .filter(|run| run.verdict == ci_medic_core::model::RunOutcome::Passed)
        .filter_map(|run| run.run.sha.as_deref())
        .filter_map(|sha| git2::Oid::from_str(sha).ok())
        .find(|&oid| oid == head || r.graph_descendant_of(head, oid).unwrap_or(false))
        .map(|oid| oid.to_string())
}

/// The merge-base of HEAD with the default branch (the remote's HEAD, else
/// `main` or `master`), when HEAD is not on it.
fn default_base(repo: &Path) -> Option<String> {
    let r = git2::Repository::discover(repo).ok()?;
    let head = r.head().ok()?.peel_to_commit().ok()?.id();
    for name in [
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
        "refs/heads/main",
        "refs/heads/master",
    ] {
        let Ok(reference) = r.find_reference(name) else {
            continue;
        };
        let Ok(target) = reference.resolve().and_then(|t| t.peel_to_commit()) else {
            continue;
        };
        let base = r.merge_base(head, target.id()).ok()?;
        return (base != head).then(|| base.to_string());
    }
    None
}

/// Heals `broken` on `page` (`from` says which page); when that makes no edit
/// and Playwright's ARIA snapshot at failure is at hand, on that page instead:
/// the trace's last DOM snapshot is taken when a step starts, which right after
/// a navigation can still be the previous page. Returns the edit and the page used.
#[allow(clippy::too_many_arguments)]
fn heal_locator(
    source: &str,
    line: Option<u32>,
    broken: &str,
    message: &str,
    (page, from): (&Page, String),
    at_failure: Option<&str>,
    reference: &[Fingerprint],
    t: Thresholds,
) -> (edit::LocatorEdit, String) {
    let out = edit::locator(source, line, broken, message, page, reference, t);
    if out.made.is_ok() {
        return (out, from);
    }
    let Some(snapshot) = at_failure else {
        return (out, from);
    };
    let aria = Page::from_aria(snapshot);
    // The snapshot at failure is another page only when the DOM snapshot was
    // taken before a navigation; on the same page (its headings are the DOM's)
    // a locator that matched nothing there has nothing to heal to: the element
    // is gone, and a page of roles and names alone must not find a stand-in.
    if same_page(page, &aria) {
        return (out, from);
    }
    let retry = edit::locator(source, line, broken, message, &aria, reference, t);
    if retry.made.is_ok() {
        let from = format!("the ARIA snapshot at failure ({from} showed no match)");
        (retry, from)
    } else {
        (out, from)
    }
}

/// Whether two snapshots show the same page: the page at failure has
/// headings, and every one of them is a heading of the other.
fn same_page(dom: &Page, aria: &Page) -> bool {
    let headings = |p: &Page| -> Vec<String> {
        p.elements
            .iter()
            .filter(|e| e.role == "heading" && e.visible)
            .map(|e| e.name.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect()
    };
    let at_failure = headings(aria);
    let before = headings(dom);
    !at_failure.is_empty() && at_failure.iter().all(|h| before.contains(h))
}

/// The page the failing locator looked at: the trace's DOM snapshot when there
/// is a trace, else the error-context ARIA snapshot; with where it came from.
pub fn page_for(f: &FailureInput, bundle_dir: &Path) -> (Option<Page>, String) {
    if let Some(t) = &f.trace {
        let p = if Path::new(t).is_absolute() {
            Path::new(t).to_owned()
        } else {
            bundle_dir.join(t)
        };
        match ci_medic_core::page::trace::last_snapshot(&p) {
            Ok(s) => {
                return (
                    Some(Page::parse(&s.html)),
                    format!("the trace's DOM snapshot of {}", s.url),
                );
            }
            Err(e) => {
                if let Some(a) = &f.page_snapshot {
                    return (
                        Some(Page::from_aria(a)),
                        format!("the error-context ARIA snapshot ({e})"),
                    );
                }
                return (None, e.to_string());
            }
        }
    }
    match &f.page_snapshot {
        Some(a) => (
            Some(Page::from_aria(a)),
            "the error-context ARIA snapshot (no trace)".into(),
        ),
        None => (
            None,
            "the failure has neither a trace nor an error-context page snapshot".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three commits; the history says the first passed, the second failed,
    /// and a commit HEAD does not descend from passed last.
    #[test]
    fn the_last_green_base_is_the_newest_passing_ancestor_of_head() {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = git2::Repository::init(tmp.path()).expect("init");
        let parents: Vec<git2::Oid> = (0..3)
            .map(|n| {
                crate::fix::test_repo::commit_file(&repo, "f", &n.to_string(), &format!("c{n}"))
            })
            .collect();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/history/history.v1.json");
        let mut history =
            ci_medic_core::report::dashboard::history::read(&fixture).expect("history");
        let template = history.runs[0].clone();
        let record = |sha: String, verdict| {
            let mut r = template.clone();
            r.run.sha = Some(sha);
            r.verdict = verdict;
            r
        };
        use ci_medic_core::model::RunOutcome::{Failed, Passed};
        history.runs = vec![
            record(parents[0].to_string(), Passed),
            record(parents[1].to_string(), Failed),
            record("1a55ae88f1034917ecce02c4e39c39a68dbb8216".into(), Passed),
        ];
        assert_eq!(
            last_green(tmp.path(), &history),
            Some(parents[0].to_string())
        );
        history.runs.push(record(parents[1].to_string(), Passed));
        assert_eq!(
            last_green(tmp.path(), &history),
            Some(parents[1].to_string())
        );
        history.runs.retain(|r| r.verdict != Passed);
        assert_eq!(last_green(tmp.path(), &history), None);
    }

    const SPEC: &str = "test('creates', async ({ page }) => {\n  await page.goto('/items');\n  await page.getByRole('link', { name: 'New item' }).click();\n  await page.getByLabel('Name').fill('Lamp');\n});\n";

    /// The trace caught the step on the list page it had just left; the
    /// snapshot at failure shows the form, whose "Name" field is now "Title".
    #[test]
    fn a_trace_page_without_the_element_falls_back_to_the_snapshot_at_failure() {
        let list = Page::parse(
            "<html><body><nav><a href=/items>Items</a></nav><main><h1>Items</h1><ul><li>Blue Widget</li></ul><a href=/items/new>New item</a></main></body></html>",
        );
        let form = "- main:\n  - heading \"New item\" [level=1]\n  - textbox \"Title\"\n  - button \"Save item\"\n";
        let message = "Error: locator.fill: Test timeout of 10000ms exceeded.\nCall log:\n  - waiting for getByLabel('Name')";
        let t = Thresholds::default();
        let (out, from) = heal_locator(
            SPEC,
            Some(4),
            "getByLabel('Name')",
            message,
            (&list, "the trace".into()),
            Some(form),
            &[],
            t,
        );
        let made = out.made.expect("healed on the snapshot at failure");
        assert_eq!(made.new, "getByLabel('Title')");
        assert!(from.starts_with("the ARIA snapshot at failure"), "{from}");
        // Without it, the trace's page alone gives no edit.
        let (out, from) = heal_locator(
            SPEC,
            Some(4),
            "getByLabel('Name')",
            message,
            (&list, "the trace".into()),
            None,
            &[],
            t,
        );
        assert!(out.made.is_err());
        assert_eq!(from, "the trace");
    }

    /// On the same page (same headings) a removed element has no stand-in,
    /// however close a name on the snapshot of roles and names reads.
    #[test]
    fn the_snapshot_of_the_same_page_is_no_fallback_for_a_removed_element() {
        let list = Page::parse(
            "<html><body><nav><a href=/items>Items</a></nav><main><h1>Items</h1><ul><li>Blue Widget</li></ul></main></body></html>",
        );
        let same = "- navigation:\n  - link \"Items\"\n- main:\n  - heading \"Items\" [level=1]\n  - list:\n    - listitem: Blue Widget\n";
        let message = "Error: locator.click: Test timeout of 10000ms exceeded.\nCall log:\n  - waiting for getByRole('link', { name: 'Add item' })";
        let spec = "test('adds', async ({ page }) => {\n  await page.goto('/items');\n  await page.getByRole('link', { name: 'Add item' }).click();\n});\n";
        let (out, from) = heal_locator(
            spec,
            Some(3),
            "getByRole('link', { name: 'Add item' })",
            message,
            (&list, "the trace".into()),
            Some(same),
            &[],
            Thresholds::default(),
        );
        assert!(out.made.is_err(), "{:?}", out.made);
        assert_eq!(from, "the trace");
    }
}
