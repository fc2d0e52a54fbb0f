//! The service classifies and plans; it never drives a browser or writes git
//! objects, so none of that may be linked into it.

use std::process::Command;

#[test]
fn the_service_links_no_browser_driver_and_no_git() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "--manifest-path",
            manifest,
            "-p",
            "ci-medic-cloud-agent",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .expect("cargo tree runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let crates: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"ci-medic-core"), "{out}");
    for banned in [
        "thirtyfour",
        "fantoccini",
        "chromiumoxide",
        "headless_chrome",
        "git2",
        "libgit2-sys",
        "ci-medic-exec",
    ] {
        assert!(!crates.contains(&banned), "the service links {banned}");
    }
}
