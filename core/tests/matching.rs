//! One matching engine: the planner's proposals in `analysis.json` and the
//! fix-agent's heal of the same failure on the same page are the same list,
//! in the same order, with the same scores and the same decision.

mod common;

use std::path::Path;

use ci_medic_core::diagnose::analysis::FixKind;
use ci_medic_core::diagnose::classify::Classifier;
use ci_medic_core::diagnose::classify::rules::Field;
use ci_medic_core::diagnose::plan;
use ci_medic_core::fix::edit;
use ci_medic_core::locator::matching::Thresholds;
use ci_medic_core::page::Page;
use common::bundle_of;

#[test]
fn the_planner_and_the_fix_agent_give_the_same_candidates() {
    let bundle = bundle_of("selector_drift");
    let classifier = Classifier::builtin().expect("rules");
    let analysis = plan::analyze(&classifier, &bundle, "t".into());
    let (docs, _) = classifier.classify_bundle(&bundle);
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/e2e");
    let mut compared = 0;
    for ins in analysis
        .fix_agent_instructions
        .iter()
        .filter(|i| i.kind == FixKind::UpdateLocator)
    {
        let old = ins.old.as_deref().expect("the broken locator");
        let doc = docs
            .iter()
            .find(|d| d.unresolved_locator.as_deref() == Some(old))
            .expect("the failure's document");
        let file = ins.file.as_deref().expect("spec file");
        let source = std::fs::read_to_string(specs.join(file))
            .or_else(|_| std::fs::read_to_string(specs.join("tests").join(file)))
            .expect("spec source");
        // The fix-agent, given the page the planner saw (the ARIA snapshot).
        let page = Page::from_aria(doc.text(Field::Page));
        let fixed = edit::locator(
            &source,
            ins.line,
            old,
            doc.text(Field::Message),
            &page,
            &[],
            Thresholds::default(),
        );
        let healing = fixed.healing.expect("the fix-agent scored the page");
        let from_fix: Vec<(String, String, f64)> = healing
            .candidates
            .iter()
            .take(5)
            .filter_map(|c| Some((c.chain.clone()?, c.role.clone(), c.score)))
            .collect();
        let from_plan: Vec<(String, String, f64)> = ins
            .candidates
            .iter()
            .map(|c| (c.locator.clone(), c.role.clone(), c.score))
            .collect();
        assert!(!from_plan.is_empty(), "{old}: the planner proposed nothing");
        assert_eq!(from_plan, from_fix, "{old}");
        // The same decision: the planner proposes exactly what the fix-agent heals.
        let healed_chain = healing
            .replacement
            .as_ref()
            .and_then(|_| healing.candidates.first())
            .and_then(|c| c.chain.clone());
        assert_eq!(ins.new, healed_chain, "{old}");
        compared += 1;
    }
    assert_eq!(compared, 2, "both drifted locators of the run");
}
