//! Runs the real `ci-medic-cloud-agent` binary on a loopback port.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// A running service process, killed on drop.
pub(crate) struct Service {
    pub(crate) url: String,
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Service {
    /// Starts `serve --addr 127.0.0.1:0` with `env` and extra `args`.
    pub(crate) fn start(env: &[(&str, &str)], args: &[&str]) -> Service {
        let tmp = tempfile::tempdir().expect("tmp");
        let log = tmp.path().join("stderr.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ci-medic-cloud-agent"));
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("AGENT_TOKEN")
            .env_remove("DEVELOPER_AGENT_TOKEN")
            .env_remove("DEVELOPER_AGENT_URL")
            .env_remove("CI_MEDIC_STORE")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log"));
        let mut child = cmd.spawn().expect("spawn the service");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the listening line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "expected `listening on …`, found {line:?}; stderr: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_owned();
        Service {
            url,
            child,
            log,
            _tmp: tmp,
        }
    }

    /// What the service logged so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bundle collected from a recorded scenario run (once per test binary).
pub(crate) fn bundle_json() -> &'static [u8] {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let run = repo().join("fixtures/runs/selector_drift");
        let tmp = tempfile::tempdir().expect("tmp");
        let inputs = ci_medic_core::collect::discover(&run, |_| None);
        let out = tmp.path().join("bundle");
        let bundle = ci_medic_core::collect::collect(
            &inputs,
            &ci_medic_core::collect::Limits::default(),
            ci_medic_core::model::RunContext {
                provider: "github".into(),
                run_id: "4242".into(),
                run_attempt: 1,
                ..Default::default()
            },
            &ci_medic_core::collect::redact::Redactor::new([]),
            &out,
            Vec::new(),
        )
        .expect("collect")
        .bundle;
        serde_json::to_vec(&bundle).expect("json")
    })
}

/// The bundle as JSON, for edits.
pub(crate) fn bundle_value() -> serde_json::Value {
    serde_json::from_slice(bundle_json()).expect("json")
}

pub(crate) fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

pub(crate) fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

/// POSTs JSON (optionally gzip) with an optional bearer token.
pub(crate) fn post(
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> reqwest::blocking::Response {
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().expect("send")
}

/// Status and JSON body.
pub(crate) fn json(r: reqwest::blocking::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().expect("body");
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    (status, v)
}
