//! The compiled `ci-medic` binary.

use std::process::Command;

fn ci_medic(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(args)
        .output()
        .expect("run ci-medic")
}

#[test]
fn help_lists_the_whole_pipeline() {
    let out = ci_medic(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "collect",
        "send",
        "triage",
        "heal",
        "fix",
        "dashboard",
        "comment",
        "annotate",
    ] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from --help:\n{help}"
        );
    }
}

#[test]
fn version_matches_the_package() {
    let out = ci_medic(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ci-medic {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_planned_command_says_so_and_exits_2() {
    let out = ci_medic(&["comment"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ci-medic comment: not available in this build"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let out = ci_medic(&["colect"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unrecognized subcommand 'colect'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("collect"),
        "clap suggests the close match: {stderr}"
    );
}
