//! `.ci-medic.toml` as every command reads it: one file, one parse, each
//! command taking its own table's defaults (a flag still wins), and a mistake
//! refused with exit 2 naming the file, the line and the key.

use crate::common;

use common::{checkout_with_run, ci_medic};

/// A checkout with an analyzed selector_drift run and this `.ci-medic.toml`.
fn configured(run_id: &str, toml: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = checkout_with_run("selector_drift", run_id);
    std::fs::write(dir.join(".ci-medic.toml"), toml).expect("config");
    (tmp, dir)
}

fn out(o: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_comment_table_sets_the_key_and_the_list_and_a_flag_wins() {
    let (_tmp, dir) = configured("cfg-1", "[comment]\nkey = \"chromium\"\nmax_failures = 1\n");
    let o = ci_medic(&dir, &["comment", "--dry-run", "--pr", "1"], &[]);
    let (stdout, stderr) = out(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("<!-- ci-medic:sticky-comment key=chromium -->"),
        "{stdout}"
    );
    assert!(stdout.contains("Failures (1 of 2)"), "{stdout}");

    let o = ci_medic(
        &dir,
        &[
            "comment",
            "--dry-run",
            "--pr",
            "1",
            "--key",
            "firefox",
            "--max-failures",
            "5",
        ],
        &[],
    );
    let (stdout, _) = out(&o);
    assert!(stdout.starts_with("<!-- ci-medic:sticky-comment key=firefox -->"));
    assert!(stdout.contains("Failures (2 of 2)"), "{stdout}");
}

#[test]
fn the_dashboard_table_caps_the_history() {
    let (_tmp, dir) = checkout_with_run("selector_drift", "cfg-2");
    let history = common::repo_root().join("fixtures/history/history.v1.json");
    let history = history.to_str().expect("utf-8");
    let build = |out_dir: &str, extra: &[&str]| {
        let mut args = vec!["dashboard", "build", "--history", history, "--out", out_dir];
        args.extend_from_slice(extra);
        let o = ci_medic(&dir, &args, &[]);
        let (stdout, stderr) = out(&o);
        assert!(o.status.success(), "{stderr}");
        stdout
    };
    // The fixture's three runs and this one: no cap configured.
    assert!(build("all", &[]).contains("history of 4 run(s)"));
    std::fs::write(
        dir.join(".ci-medic.toml"),
        "[dashboard]\nhistory_max_runs = 2\n",
    )
    .expect("config");
    assert!(build("capped", &[]).contains("history of 2 run(s)"));
    assert!(
        build("flag", &["--history-max-runs", "3"]).contains("history of 3 run(s)"),
        "the flag wins"
    );
}

#[test]
fn a_mistake_in_any_table_stops_every_command_naming_file_line_and_key() {
    let (_tmp, dir) = configured(
        "cfg-3",
        "[heal]\nmax_attempts = 2\n\n[comment]\nkey = \"two words\"\n",
    );
    for args in [
        &["comment", "--dry-run", "--pr", "1"][..],
        &["dashboard", "build", "--out", "site"],
        &["heal", "decide"],
        &["fix", "prepare"],
        &["collect", "--dir", "run", "--out", "again"],
    ] {
        let o = ci_medic(&dir, args, &[]);
        let (_, stderr) = out(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(".ci-medic.toml:5: comment.key: expected 1-64 letters"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!dir.join("site").exists() && !dir.join("again").exists());
}
