//! The action's install script (`action/install.sh`) against a local release
//! directory served over real HTTP on 127.0.0.1: an archive of the compiled
//! ci-medic whose SHA-256 is pinned installs; one whose checksum differs is
//! refused; versions without a pinned checksum are built with cargo instead.
//! And the action's `run:` scripts never expand `${{ }}` themselves.

use crate::common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::repo_root;
use sha2::Digest as _;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-unknown-linux-musl";

/// `python3 -m http.server` on 127.0.0.1, serving `dir`; stopped on drop.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's first line");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A release directory `v<VERSION>/ci-medic-<VERSION>-<TARGET>.tar.gz` holding the
/// compiled binary; returns the archive's SHA-256.
fn release(dir: &Path) -> String {
    let stage = dir.join("stage");
    std::fs::create_dir_all(&stage).expect("stage");
    std::fs::copy(env!("CARGO_BIN_EXE_ci-medic"), stage.join("ci-medic")).expect("copy");
    let releases = dir.join(format!("releases/v{VERSION}"));
    std::fs::create_dir_all(&releases).expect("releases");
    let archive = releases.join(format!("ci-medic-{VERSION}-{TARGET}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&stage)
        .arg("ci-medic")
        .status()
        .expect("tar");
    assert!(status.success());
    let bytes = std::fs::read(&archive).expect("archive");
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Install {
    tmp: tempfile::TempDir,
    checksums: PathBuf,
    bin_dir: PathBuf,
    github_path: PathBuf,
    github_output: PathBuf,
}

impl Install {
    fn new(pins: &str) -> Install {
        let tmp = tempfile::tempdir().expect("tmp");
        let checksums = tmp.path().join("checksums.txt");
        std::fs::write(&checksums, format!("# pinned\n\n{pins}")).expect("pins");
        Install {
            checksums,
            bin_dir: tmp.path().join("bin"),
            github_path: tmp.path().join("github-path"),
            github_output: tmp.path().join("github-output"),
            tmp,
        }
    }

    fn run(&self, version: &str, releases_url: &str, extra: &[(&str, &str)]) -> Output {
        Command::new("bash")
            .arg(repo_root().join("action/install.sh"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("CI_MEDIC_VERSION", version)
            .env("CI_MEDIC_CHECKSUMS", &self.checksums)
            .env("CI_MEDIC_RELEASES_URL", releases_url)
            .env("CI_MEDIC_INSTALL_DIR", &self.bin_dir)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("GITHUB_PATH", &self.github_path)
            .env("GITHUB_OUTPUT", &self.github_output)
            .envs(extra.iter().copied())
            .output()
            .expect("bash action/install.sh")
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_pinned_checksum_installs_the_released_binary() {
    let dir = tempfile::tempdir().expect("tmp");
    let sha = release(dir.path());
    let server = Server::start(&dir.path().join("releases"));
    // An older pin too: the empty version takes the newest.
    let install = Install::new(&format!(
        "0.0.9 {TARGET} {}\n{VERSION} {TARGET} {sha}\n{VERSION} aarch64-apple-darwin {}\n",
        "0".repeat(64),
        "1".repeat(64)
    ));
    for version in [VERSION, ""] {
        std::fs::remove_dir_all(&install.bin_dir).ok();
        let o = install.run(version, &server.url, &[]);
        assert!(o.status.success(), "{version:?}: {}", text(&o));
        let bin = install.bin_dir.join("ci-medic");
        let out = Command::new(&bin).arg("--version").output().expect("run");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("ci-medic {VERSION}")
        );
        let path = std::fs::read_to_string(&install.github_path).expect("GITHUB_PATH");
        assert!(
            path.lines().any(|l| Path::new(l) == install.bin_dir),
            "{path}"
        );
        let output = std::fs::read_to_string(&install.github_output).expect("GITHUB_OUTPUT");
        assert!(
            output.contains(&format!("path={}", bin.display())),
            "{output}"
        );
    }
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_installed() {
    let dir = tempfile::tempdir().expect("tmp");
    let sha = release(dir.path());
    let server = Server::start(&dir.path().join("releases"));
    let wrong = "ab".repeat(32);
    let install = Install::new(&format!("{VERSION} {TARGET} {wrong}\n"));
    let o = install.run(VERSION, &server.url, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "ci-medic-{VERSION}-{TARGET}.tar.gz from {}/v{VERSION}/ci-medic-{VERSION}-{TARGET}.tar.gz: expected SHA-256 {wrong} (pinned in {}), found {sha}; refusing to install it",
            server.url,
            install.checksums.display()
        )),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("::error title=ci-medic install::"),
        "an annotation for the run page"
    );
    assert!(!install.bin_dir.join("ci-medic").exists());
    assert!(!install.github_path.exists());
}

#[test]
fn without_a_pinned_checksum_it_builds_with_cargo_install_locked() {
    let install = Install::new(&format!(
        "{VERSION} aarch64-apple-darwin {}\n",
        "1".repeat(64)
    ));
    let dry = [("CI_MEDIC_INSTALL_DRY_RUN", "1")];
    // A version with no pin for this runner: its tag, from the action's repository.
    let o = install.run("9.9.9", "http://127.0.0.1:9", &dry);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("would run: cargo install --locked --root")
            && stdout.contains("--git https://github.com/ci-medic/ci-medic --tag v9.9.9 ci-medic"),
        "{}",
        text(&o)
    );
    // No pin at all for this runner, no version asked: the action's own source.
    let o = install.run("", "http://127.0.0.1:9", &dry);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("--path {}/cli", repo_root().display())),
        "{}",
        text(&o)
    );
    // A version that is not one.
    let o = install.run("latest; rm -rf /", "http://127.0.0.1:9", &dry);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("version: expected X.Y.Z, empty or \"source\", found \"latest; rm -rf /\""),
        "{}",
        text(&o)
    );
}

#[test]
fn the_actions_scripts_take_inputs_from_the_environment_only() {
    // action.yml's `run:` blocks are plain enough to read line by line.
    let action = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    let text = action.as_str();
    let mut in_run = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("run:") {
            in_run = true;
            assert!(
                !trimmed.contains("${{"),
                "an expression in a script: {line}"
            );
            continue;
        }
        if in_run
            && (trimmed.starts_with("- ") || trimmed.starts_with("env:") || line.trim().is_empty())
        {
            in_run = false;
        }
        if in_run {
            assert!(!line.contains("${{"), "an expression in a script: {line}");
        }
    }
    assert!(text.contains("::add-mask::$CI_MEDIC_GITHUB_TOKEN_INPUT"));
    assert!(text.contains("::add-mask::$CI_MEDIC_AGENT_TOKEN_INPUT"));
    for input in [
        "command",
        "args",
        "version",
        "github-token",
        "agent-url",
        "agent-token",
    ] {
        assert!(text.contains(&format!("\n  {input}:\n")), "input {input}");
    }
    // The pinned checksums file parses: "<version> <target> <sha256>" lines.
    let pins = std::fs::read_to_string(repo_root().join("action/checksums.txt")).expect("pins");
    for line in pins
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[2].len(), 64, "{line}");
        assert!(fields[2].chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    }
}

#[test]
fn the_readme_carries_the_agent_engine_workflow_verbatim() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let workflow =
        std::fs::read_to_string(repo_root().join(".github/workflows/agent-engine.example.yml"))
            .expect("workflow");
    assert!(
        readme.contains(&format!("```yaml\n{workflow}```")),
        "README.md's copy of agent-engine.example.yml differs from the file"
    );
    assert!(
        readme.contains("- uses: ci-medic/ci-medic@v0"),
        "the one-line use"
    );
}

#[test]
fn the_workflow_lint_passes_here_and_catches_an_expression_planted_in_an_action_script() {
    let lint = |root: &Path| {
        Command::new("node")
            .arg(repo_root().join("scripts/lint/lint-workflows.cjs"))
            .arg(root)
            .output()
            .expect("node (scripts/bootstrap installs the linter)")
    };
    let o = lint(&repo_root());
    assert!(o.status.success(), "{}", text(&o));

    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(tmp.path().join(".github/workflows")).expect("mkdir");
    std::fs::copy(
        repo_root().join(".github/workflows/ci.yml"),
        tmp.path().join(".github/workflows/ci.yml"),
    )
    .expect("copy");
    let action = std::fs::read_to_string(repo_root().join("action.yml")).expect("action.yml");
    let planted = action.replace(
        "    - name: Install ci-medic\n",
        "    - name: Planted\n      shell: bash\n      run: echo \"${{ github.event.pull_request.title }}\"\n    - name: Install ci-medic\n",
    );
    assert_ne!(planted, action, "the planted step went in");
    std::fs::write(tmp.path().join("action.yml"), planted).expect("write");
    let o = lint(tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("action.yml:") && stderr.contains("potentially untrusted"),
        "{stderr}"
    );
}
