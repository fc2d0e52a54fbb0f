//! The sticky PR comment rendered from recorded scenario runs and synthetic ones:
//! what it says (as snapshots), and that it stays within GitHub's limit and
//! says what it left out.

mod common;

use ci_medic_core::report::pr_comment::{self, CommentInputs, DashboardLink, MAX_CHARS};
use common::{AT, run, synthetic};

fn inputs<'a>(
    bundle: &'a ci_medic_core::Bundle,
    analysis: &'a ci_medic_core::diagnose::analysis::Analysis,
) -> CommentInputs<'a> {
    CommentInputs {
        bundle,
        analysis,
        heal: None,
        fix: None,
        dashboard: DashboardLink::Published("https://acme.github.io/shop/".into()),
        run_url: Some("https://github.com/acme/shop/actions/runs/3003".into()),
        key: "default".into(),
        generated_at: AT.into(),
        listed_failures: pr_comment::DEFAULT_LISTED_FAILURES,
    }
}

#[test]
fn failing_and_flaky_runs_as_snapshots() {
    let settings = {
        let mut s = insta::Settings::clone_current();
        s.add_filter(r"ci-medic \d+\.\d+\.\d+", "ci-medic [version]");
        s
    };
    // The last three are explained at run level: their one-sentence cause is
    // the comment's diagnosis line.
    for scenario in [
        "selector_drift",
        "timeout_flaky",
        "all_green",
        "data_seed_visual",
        "app_error_api_assertion",
        "network_flake_empty_response",
    ] {
        let r = run(scenario, "3003");
        let comment = pr_comment::render(&inputs(&r.bundle, &r.analysis), MAX_CHARS);
        assert!(!comment.truncated, "{scenario}");
        assert!(pr_comment::has_marker(&comment.body, "default"));
        assert_eq!(comment.chars, comment.body.chars().count());
        settings.bind(|| insta::assert_snapshot!(scenario, comment.body));
    }
}

#[test]
fn a_thousand_failures_fit_in_githubs_limit_and_the_comment_says_how_many_are_listed() {
    let (bundle, analysis) = synthetic(5_000, 1_000);
    let mut i = inputs(&bundle, &analysis);
    i.listed_failures = 1_000;
    let comment = pr_comment::render(&i, MAX_CHARS);
    assert!(comment.chars <= MAX_CHARS, "{}", comment.chars);
    assert!(comment.truncated);
    assert!(
        comment.listed_failures > 50 && comment.listed_failures < 1_000,
        "{}",
        comment.listed_failures
    );
    assert!(
        comment.body.contains(&format!(
            "{} of 1000 failures listed here; every one is on the dashboard.",
            comment.listed_failures
        )),
        "honest about what is left out"
    );
    assert!(comment.body.contains("(https://acme.github.io/shop/)"));
    // One more row would not have fitted.
    let mut more = inputs(&bundle, &analysis);
    more.listed_failures = comment.listed_failures + 1;
    assert!(pr_comment::render(&more, usize::MAX).chars > MAX_CHARS);
    assert_eq!(
        pr_comment::render(&more, MAX_CHARS).listed_failures,
        comment.listed_failures
    );

    // A tiny limit: no rows fit, the text is cut and says so, the marker survives.
    let tiny = pr_comment::render(&i, 400);
    assert!(tiny.chars <= 400, "{}", tiny.chars);
    assert!(tiny.truncated);
    assert!(pr_comment::has_marker(&tiny.body, "default"));
    assert!(tiny.body.contains("would exceed GitHub's comment limit"));
}

#[test]
fn titles_cannot_mention_people_or_break_the_table() {
    let mut r = run("selector_drift", "3004");
    r.analysis.classification.failures[0].title = "@octocat | <img src=x> `x`".into();
    let comment = pr_comment::render(&inputs(&r.bundle, &r.analysis), MAX_CHARS);
    let row = comment
        .body
        .lines()
        .find(|l| l.contains("octocat"))
        .expect("the row");
    assert!(
        row.contains("@\u{200b}octocat \\| &lt;img src=x&gt; \\`x\\`"),
        "{row}"
    );
    assert_eq!(row.matches(" | ").count(), 3, "still four cells: {row}");
}
