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
fn a_reporting_command_without_its_bundle_says_what_is_missing_and_exits_2() {
    for command in ["comment", "annotate"] {
        let out = ci_medic(&[command, "--bundle", "/nonexistent/bundle", "--dry-run"]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("ci-medic {command}: error:"))
                && stderr.contains("/nonexistent/bundle"),
            "{command}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{command}");
    }
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
