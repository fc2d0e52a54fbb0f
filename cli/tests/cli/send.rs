//! `ci-medic send` end to end: the compiled CLI against the cloud-agent's router
//! served on a real loopback port, a port nobody listens on, and none at all.

use crate::common;

use common::walk;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use clap::Parser as _;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Serves the cloud-agent router (analyzing in-process) on 127.0.0.1:0.
fn service(token: &str, store: &Path) -> String {
    service_with(token, store, &[])
}

/// [`service`] with more `serve` arguments.
fn service_with(token: &str, store: &Path, extra: &[&str]) -> String {
    #[derive(clap::Parser)]
    struct S {
        #[command(flatten)]
        serve: ci_medic_cloud_agent::ServeArgs,
    }
    let mut argv = vec!["t", "--store", store.to_str().expect("utf-8")];
    argv.extend_from_slice(extra);
    let args = S::parse_from(argv).serve;
    let mut state = args.state("unused").expect("state");
    state.agent_token = Some(token.to_owned());
    let state = Arc::new(state);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum_serve(listener, state).await;
        });
    });
    format!("http://{}", rx.recv().expect("address"))
}

async fn axum_serve(
    listener: tokio::net::TcpListener,
    state: Arc<ci_medic_cloud_agent::routes::AppState>,
) {
    let _ = ci_medic_cloud_agent::serve_on(listener, state).await;
}

fn collect(dir: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .args(["collect", "--dir"])
        .arg(repo().join("fixtures/runs/server_unavailable"))
        .args(["--out", "bundle"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("collect");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn send(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ci-medic"))
        .arg("send")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("send")
}

fn analysis(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("analysis")).expect("json")
}

#[test]
fn send_writes_the_service_analysis_and_a_retry_is_one_record() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = tmp.path().join("store");
    let url = service("tok-123", &store);
    collect(tmp.path());
    let env = [
        ("CI_MEDIC_AGENT_URL", url.as_str()),
        ("CI_MEDIC_AGENT_TOKEN", "tok-123"),
    ];
    let o = send(tmp.path(), &["bundle"], &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = analysis(tmp.path(), "analysis.json");
    assert_eq!(a["source"], "service");
    assert_eq!(a["classification"]["error_type"], "server_unavailable");
    let o = send(tmp.path(), &["bundle", "-o", "again.json"], &env);
    assert!(o.status.success());
    assert_eq!(
        analysis(tmp.path(), "again.json"),
        a,
        "the retry gets the stored record"
    );
    let records = walk(&store)
        .into_iter()
        .filter(|p| p.ends_with("analysis.json"))
        .count();
    assert_eq!(records, 1);
}

#[test]
fn an_unreachable_service_falls_back_to_the_local_analyzer() {
    let tmp = tempfile::tempdir().expect("tmp");
    collect(tmp.path());
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let o = send(
        tmp.path(),
        &[
            "bundle",
            "--url",
            &url,
            "--attempts",
            "2",
            "--timeout",
            "10",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "best-effort: exit 0");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("falling back to the local analyzer"), "{err}");
    let a = analysis(tmp.path(), "analysis.json");
    assert_eq!(a["source"], "local-fallback");
    assert_eq!(a["classification"]["error_type"], "server_unavailable");
    // --strict says so in the exit code; --fallback none writes nothing.
    let o = send(
        tmp.path(),
        &[
            "bundle",
            "--url",
            &url,
            "--attempts",
            "1",
            "--strict",
            "-o",
            "strict.json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(tmp.path().join("strict.json").is_file());
    let o = send(
        tmp.path(),
        &[
            "bundle",
            "--url",
            &url,
            "--attempts",
            "1",
            "--fallback",
            "none",
            "-o",
            "none.json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(!tmp.path().join("none.json").exists());
}

#[test]
fn a_wrong_token_is_not_retried_and_falls_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let url = service("right", &tmp.path().join("store"));
    collect(tmp.path());
    let started = std::time::Instant::now();
    let o = send(
        tmp.path(),
        &["bundle", "--url", &url],
        &[("CI_MEDIC_AGENT_TOKEN", "wrong")],
    );
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("answered 401") && err.contains("does not match AGENT_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("try 2"), "4xx is not retried: {err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        analysis(tmp.path(), "analysis.json")["source"],
        "local-fallback"
    );
}

#[test]
fn without_a_url_the_bundle_is_analyzed_locally_and_bad_bundles_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    collect(tmp.path());
    let o = send(tmp.path(), &["bundle"], &[]);
    assert!(o.status.success());
    assert_eq!(analysis(tmp.path(), "analysis.json")["source"], "local");
    std::fs::create_dir_all(tmp.path().join("bad")).expect("mkdir");
    std::fs::write(
        tmp.path().join("bad/bundle.json"),
        r#"{"schema": "ci-medic/bundle/v1", "collector": 1}"#,
    )
    .expect("w");
    let o = send(tmp.path(), &["bad", "-o", "bad.json"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`collector`: expected"), "{err}");
    assert!(!tmp.path().join("bad.json").exists());
}

#[test]
fn a_relay_whose_analyzer_is_down_answers_502_and_send_falls_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dead = crate::common::free_port();
    let url = service_with(
        "tok",
        &tmp.path().join("store"),
        &[
            "--upstream-url",
            &format!("http://127.0.0.1:{dead}"),
            "--upstream-attempts",
            "1",
        ],
    );
    collect(tmp.path());
    let o = send(
        tmp.path(),
        &["bundle", "--url", &url, "--attempts", "2"],
        &[("CI_MEDIC_AGENT_TOKEN", "tok")],
    );
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("answered 502") && err.contains("try 2"),
        "5xx is retried: {err}"
    );
    assert_eq!(
        analysis(tmp.path(), "analysis.json")["source"],
        "local-fallback"
    );
}
