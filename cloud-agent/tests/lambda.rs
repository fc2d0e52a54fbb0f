//! The Lambda entry point for real: the function runs under `cargo lambda watch`
//! (the AWS Lambda emulator, `pip install cargo-lambda`) and is called through
//! its emulated function URL.

mod common;

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bundle_json, json, post};

struct Emulator(std::process::Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        // The emulator starts the function as its own child: end the whole
        // group (the child leads it: `process_group(0)` below).
        if let Ok(id) = i32::try_from(self.0.id())
            && id > 1
        {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(id),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_bundle_posted_to_the_emulated_function_url_returns_the_analysis() {
    let version = Command::new("cargo").args(["lambda", "--version"]).output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "cargo-lambda is missing: `pip install cargo-lambda` (scripts/bootstrap installs it)"
    );
    let port = ci_medic_exec::process::loopback_port().expect("a free loopback port");
    let store = tempfile::tempdir().expect("tmp");
    let log = store.path().join("emulator.log");
    let child = Command::new("cargo")
        .args(["lambda", "watch", "--quiet", "--ignore-changes"])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .arg("--env-var")
        .arg(format!(
            "AGENT_TOKEN=lambda-token,CI_MEDIC_STORE={}",
            store.path().join("records").display()
        ))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .process_group(0)
        .spawn()
        .expect("start cargo lambda watch");
    let _emulator = Emulator(child);
    let base = format!("http://127.0.0.1:{port}/lambda-url/ci-medic-cloud-agent");
    let client = common::client();
    // The first invocation may compile the function.
    let started = Instant::now();
    loop {
        let up = client
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success());
        if up {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the emulator did not answer: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (status, v) = json(post(
        &format!("{base}/api/ci/logs"),
        Some("lambda-token"),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "received");
    assert_eq!(v["upstream"]["source"], "service");
    assert_eq!(
        v["upstream"]["classification"]["error_type"],
        "selector_drift"
    );
    assert!(
        store
            .path()
            .join("records/logs/4242/1/analysis.json")
            .is_file()
    );
    let (status, v) = json(post(
        &format!("{base}/api/ci/logs"),
        Some("wrong"),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 401, "{v}");
    let r = client
        .get(format!("{base}/api/runs/4242"))
        .bearer_auth("lambda-token")
        .send()
        .expect("get");
    let (status, v) = json(r);
    assert_eq!(status, 200);
    assert_eq!(v["run"]["run_id"], "4242");
}
