//! The e2e suite in a temp git checkout, the demo app, and the compiled CLI:
//! what the end-to-end tests of self-heal and the fix-agent share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scenario_harness::app::{AppLaunch, DemoApp, Started};

use super::common::copy_dir;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo")
}

pub(crate) fn ci_medic(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run ci-medic")
}

/// A git checkout of the suite in a temp dir, with a data directory for the app
/// (seeded or not).
pub(crate) struct Workspace {
    pub(crate) paths: scenario_harness::Paths,
    pub(crate) dir: PathBuf,
    pub(crate) data: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new(seeded: bool) -> Workspace {
        let paths = scenario_harness::Paths::discover().expect("paths");
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().canonicalize().expect("dir");
        checkout(&dir);
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data");
        if seeded {
            DemoApp::seed(&paths.demo_app, &data, &dir.join("seed.log")).expect("seed");
        }
        Workspace {
            paths,
            dir,
            data,
            _tmp: tmp,
        }
    }

    /// Starts the demo app on the data directory with `config` (TOML) and,
    /// when given, a session secret.
    pub(crate) fn app(&self, config: &str, secret: Option<&str>) -> DemoApp {
        std::fs::write(self.dir.join("demo-app.toml"), config).expect("config");
        let launch = AppLaunch {
            bin: &self.paths.demo_app,
            data_dir: &self.data,
            config: &self.dir.join("demo-app.toml"),
            log: &self.dir.join("app.log"),
            env: secret
                .map(|s| vec![("DEMO_SESSION_SECRET".to_owned(), s.to_owned())])
                .unwrap_or_default(),
        };
        match DemoApp::start(&launch).expect("start") {
            Started::Healthy(app) => app,
            Started::Exited(s) => panic!("the demo app exited: {s}"),
        }
    }
}

/// A git checkout holding the e2e suite (its node_modules linked, not copied).
pub(crate) fn checkout(dir: &Path) {
    let suite = repo().join("fixtures/e2e");
    for f in ["playwright.config.ts", "package.json", "tsconfig.json"] {
        std::fs::copy(suite.join(f), dir.join(f)).expect("copy");
    }
    copy_dir(&suite.join("tests"), &dir.join("tests"));
    std::os::unix::fs::symlink(suite.join("node_modules"), dir.join("node_modules")).expect("link");
    std::fs::write(
        dir.join(".gitignore"),
        "node_modules\nrun/\nbundle/\nself-heal/\n.auth/\ndata/\n*.log\nanalysis.json\n",
    )
    .expect("ignore");
    super::common::commit_all(dir);
}

pub(crate) fn playwright_cli() -> String {
    repo()
        .join("fixtures/e2e/node_modules/@playwright/test/cli.js")
        .display()
        .to_string()
}

/// Collects and classifies the failing run in `run/`.
pub(crate) fn collect_and_classify(dir: &Path) {
    let o = ci_medic(dir, &["collect", "--dir", "run", "--out", "bundle"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ci_medic(dir, &["classify", "bundle"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs the suite (`playwright test` with `args`) against `base_url`, its
/// reports and results under `dir/<out>`; whether it passed.
pub(crate) fn run_suite(dir: &Path, base_url: &str, out: &str, args: &[&str]) -> bool {
    let run = dir.join(out);
    Command::new("node")
        .arg(playwright_cli())
        .arg("test")
        .args(args)
        .current_dir(dir)
        .env("E2E_BASE_URL", base_url)
        .env("E2E_REPORT_DIR", &run)
        .env("E2E_OUTPUT_DIR", run.join("test-results"))
        .env_remove("PLAYWRIGHT_JSON_OUTPUT_NAME")
        .stdout(std::fs::File::create(dir.join(format!("{out}.log"))).expect("log"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("playwright")
        .success()
}

/// Runs the suite once against `base_url`, leaving a CI job's artifacts in `run/`.
pub(crate) fn failing_run(dir: &Path, base_url: &str) {
    assert!(
        !run_suite(dir, base_url, "run", &[]),
        "the first run is meant to fail"
    );
}
