//! The service over real HTTP on 127.0.0.1: each test runs the compiled binary.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{Service, bundle_json, bundle_value, gzip, json, post};
use serde_json::json;

const TOKEN: &str = "agent-secret-token";
const DEV_TOKEN: &str = "developer-secret-token";

fn analyzer(store: &str) -> Service {
    Service::start(
        &[("AGENT_TOKEN", TOKEN), ("DEVELOPER_AGENT_TOKEN", DEV_TOKEN)],
        &["--store", store],
    )
}

#[test]
fn tokens_are_required_and_checked() {
    let store = tempfile::tempdir().expect("tmp");
    let s = analyzer(store.path().to_str().expect("utf-8"));
    let url = format!("{}/api/ci/logs", s.url);
    let (status, body) = json(post(&url, None, bundle_json().to_vec(), false));
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, body) = json(post(
        &url,
        Some("agent-secret-toke"),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("does not match AGENT_TOKEN")
    );
    // The analyzer's route takes the developer token, not the agent's.
    let (status, _) = json(post(
        &format!("{}/process-logs", s.url),
        Some(TOKEN),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 401);
    let (status, _) = json(post(
        &format!("{}/process-logs", s.url),
        Some(DEV_TOKEN),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 200);
    let r = common::client()
        .get(format!("{}/api/runs/4242", s.url))
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 401);
    // Tokens never reach the logs; every request is logged with its id.
    let logs = s.logs();
    assert!(!logs.contains(TOKEN) && !logs.contains(DEV_TOKEN), "{logs}");
    assert!(logs.contains("request_id"), "{logs}");
}

#[test]
fn malformed_bundles_are_refused_naming_the_field() {
    let store = tempfile::tempdir().expect("tmp");
    let s = analyzer(store.path().to_str().expect("utf-8"));
    let url = format!("{}/process-logs", s.url);
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = bundle_value();
        f(&mut v);
        serde_json::to_vec(&v).expect("json")
    };
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("not JSON", b"{\"schema\": ".to_vec(), None),
        ("an array", b"[1, 2]".to_vec(), None),
        (
            "no schema",
            edit(&|v| {
                v.as_object_mut().expect("obj").remove("schema");
            }),
            Some("schema"),
        ),
        (
            "other major version",
            edit(&|v| v["schema"] = json!("ci-medic/bundle/v2")),
            Some("schema"),
        ),
        (
            "run id of the wrong type",
            edit(&|v| v["run"]["run_id"] = json!(42)),
            Some("run.run_id"),
        ),
        (
            "run id escaping the store",
            edit(&|v| v["run"]["run_id"] = json!("../../etc")),
            Some("run.run_id"),
        ),
        (
            "attempt 0",
            edit(&|v| v["run"]["run_attempt"] = json!(0)),
            Some("run.run_attempt"),
        ),
        (
            "negative attempt",
            edit(&|v| v["run"]["run_attempt"] = json!(-1)),
            Some("run.run_attempt"),
        ),
        (
            "unknown status",
            edit(&|v| v["tests"][0]["status"] = json!("exploded")),
            Some("tests[0].status"),
        ),
        (
            "message not a string",
            edit(&|v| v["tests"][0]["attempts"][0]["status"] = json!(7)),
            Some("tests[0].attempts[0].status"),
        ),
        (
            "missing collector",
            edit(&|v| {
                v.as_object_mut().expect("obj").remove("collector");
            }),
            Some("collector"),
        ),
        (
            "unknown top-level field",
            edit(&|v| v["extra"] = json!(true)),
            Some("extra"),
        ),
        (
            "counts that do not add up",
            edit(&|v| v["summary"]["tests"] = json!(999)),
            Some("summary.tests"),
        ),
        (
            "tests not a list",
            edit(&|v| v["tests"] = json!({})),
            Some("tests"),
        ),
    ];
    assert!(cases.len() >= 10);
    for (what, body, field) in cases {
        let (status, v) = json(post(&url, Some(DEV_TOKEN), body, false));
        assert_eq!(status, 400, "{what}: {v}");
        assert_eq!(v["error"]["code"], "bad_bundle", "{what}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{what}: {v}");
        let message = v["error"]["message"].as_str().expect("message");
        assert!(message.contains("expected"), "{what}: {message}");
    }
    assert!(
        std::fs::read_dir(store.path())
            .expect("store")
            .next()
            .is_none()
            || !store.path().join("logs").exists()
    );
}

#[test]
fn bodies_are_bounded_typed_and_may_be_gzip() {
    let store = tempfile::tempdir().expect("tmp");
    let limit = bundle_json().len() + 1024;
    let s = Service::start(
        &[("DEVELOPER_AGENT_TOKEN", DEV_TOKEN)],
        &[
            "--store",
            store.path().to_str().expect("utf-8"),
            "--max-body-bytes",
            &limit.to_string(),
        ],
    );
    let url = format!("{}/process-logs", s.url);
    // gzip accepted.
    let (status, v) = json(post(&url, Some(DEV_TOKEN), gzip(bundle_json()), true));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["schema"], "ci-medic/analysis/v1");
    assert_eq!(v["source"], "service");
    // Over the limit, plain and once inflated (a small gzip body can be huge).
    let mut big = bundle_value();
    big["warnings"] = json!([{ "code": "padding", "message": "y".repeat(limit) }]);
    let big = serde_json::to_vec(&big).expect("json");
    let (status, v) = json(post(&url, Some(DEV_TOKEN), big.clone(), false));
    assert_eq!(status, 413, "{v}");
    let small = gzip(&big);
    assert!(small.len() < limit);
    let (status, v) = json(post(&url, Some(DEV_TOKEN), small, true));
    assert_eq!(status, 413, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("m")
            .contains("decompressed")
    );
    // Not JSON, or an encoding the service does not speak.
    let r = common::client()
        .post(&url)
        .bearer_auth(DEV_TOKEN)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 415);
    let r = common::client()
        .post(&url)
        .bearer_auth(DEV_TOKEN)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body(bundle_json().to_vec())
        .send()
        .expect("send");
    assert_eq!(r.status().as_u16(), 415);
    let (status, v) = json(post(
        &url,
        Some(DEV_TOKEN),
        b"not gzip at all".to_vec(),
        true,
    ));
    assert_eq!(status, 400, "{v}");
}

#[test]
fn the_relay_forwards_to_the_analyzer_in_another_process() {
    let analyzer_store = tempfile::tempdir().expect("tmp");
    let relay_store = tempfile::tempdir().expect("tmp");
    let a = analyzer(analyzer_store.path().to_str().expect("utf-8"));
    let relay = Service::start(
        &[
            ("AGENT_TOKEN", TOKEN),
            ("DEVELOPER_AGENT_URL", &a.url),
            ("DEVELOPER_AGENT_TOKEN", DEV_TOKEN),
        ],
        &["--store", relay_store.path().to_str().expect("utf-8")],
    );
    let (status, v) = json(post(
        &format!("{}/api/ci/logs", relay.url),
        Some(TOKEN),
        gzip(bundle_json()),
        true,
    ));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "received");
    assert_eq!(v["upstream"]["source"], "service");
    assert_eq!(
        v["upstream"]["classification"]["error_type"],
        "selector_drift"
    );
    // The analyzer stored the record; the relay stores nothing of its own.
    assert!(
        analyzer_store
            .path()
            .join("logs/4242/1/analysis.json")
            .is_file()
    );
    assert!(!relay_store.path().join("logs").exists());
    // The request id travels from the relay to the analyzer.
    let id = relay
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|l| l["span"]["request_id"].as_str().map(str::to_owned))
        .expect("the relay logs a request id");
    assert!(a.logs().contains(&id), "analyzer logs lack {id}");
}

#[test]
fn a_dead_analyzer_is_a_502_then_an_open_circuit() {
    let port = ci_medic_exec::process::loopback_port().expect("a free loopback port");
    let store = tempfile::tempdir().expect("tmp");
    let relay = Service::start(
        &[
            ("AGENT_TOKEN", TOKEN),
            ("DEVELOPER_AGENT_URL", &format!("http://127.0.0.1:{port}")),
        ],
        &[
            "--store",
            store.path().to_str().expect("utf-8"),
            "--upstream-attempts",
            "2",
            "--breaker-threshold",
            "2",
        ],
    );
    let url = format!("{}/api/ci/logs", relay.url);
    for _ in 0..2 {
        let (status, v) = json(post(&url, Some(TOKEN), bundle_json().to_vec(), false));
        assert_eq!(status, 502, "{v}");
        assert_eq!(v["error"]["code"], "upstream_unreachable");
    }
    let started = Instant::now();
    let r = post(&url, Some(TOKEN), bundle_json().to_vec(), false);
    assert!(r.headers().get("retry-after").is_some());
    let (status, v) = json(r);
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"]["code"], "circuit_open");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_slow_analyzer_is_a_504_within_the_deadline() {
    // An analyzer that accepts connections and never answers.
    let slow = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = slow.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in slow.incoming().flatten() {
            held.push(conn);
        }
    });
    let store = tempfile::tempdir().expect("tmp");
    let relay = Service::start(
        &[
            ("AGENT_TOKEN", TOKEN),
            ("DEVELOPER_AGENT_URL", &format!("http://127.0.0.1:{port}")),
        ],
        &[
            "--store",
            store.path().to_str().expect("utf-8"),
            "--upstream-timeout-ms",
            "700",
        ],
    );
    let started = Instant::now();
    let (status, v) = json(post(
        &format!("{}/api/ci/logs", relay.url),
        Some(TOKEN),
        bundle_json().to_vec(),
        false,
    ));
    let took = started.elapsed();
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["error"]["code"], "upstream_timeout");
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[test]
fn a_retried_post_stores_one_record_and_runs_are_served() {
    let store = tempfile::tempdir().expect("tmp");
    let s = analyzer(store.path().to_str().expect("utf-8"));
    let url = format!("{}/api/ci/logs", s.url);
    let first = post(&url, Some(TOKEN), bundle_json().to_vec(), false);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (_, first) = json(first);
    let second = post(&url, Some(TOKEN), gzip(bundle_json()), true);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let (status, second) = json(second);
    assert_eq!(status, 200);
    assert_eq!(first, second, "the retry answers with the stored record");
    let files: Vec<_> = walk(store.path());
    assert_eq!(files.len(), 2, "{files:?}");
    // A second attempt of the run is a new record, and GET serves the latest.
    let mut v = bundle_value();
    v["run"]["run_attempt"] = json!(2);
    let (status, _) = json(post(
        &url,
        Some(TOKEN),
        serde_json::to_vec(&v).expect("json"),
        false,
    ));
    assert_eq!(status, 200);
    let get = |path: &str| {
        json(
            common::client()
                .get(format!("{}{path}", s.url))
                .bearer_auth(TOKEN)
                .send()
                .expect("get"),
        )
    };
    let (status, latest) = get("/api/runs/4242");
    assert_eq!(status, 200);
    assert_eq!(latest["run"]["run_attempt"], 2);
    let (status, v) = get("/api/runs/4243");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("run_not_found"))
    );
    for bad in ["..%2F..%2Fetc%2Fpasswd", "a%2Fb", ".hidden", "x%00y"] {
        let (status, v) = get(&format!("/api/runs/{bad}"));
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["field"], "run_id", "{bad}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// SIGKILL while records are being written: every record file that exists is
/// whole (the old one or the new one), never a prefix of one.
#[test]
fn a_killed_process_leaves_whole_records() {
    let store = tempfile::tempdir().expect("tmp");
    let mut big = bundle_value();
    big["warnings"] = json!([{ "code": "padding", "message": "z".repeat(1 << 20) }]);
    for round in 0..4u64 {
        let s = analyzer(store.path().to_str().expect("utf-8"));
        let url = format!("{}/process-logs", s.url);
        let bodies: Vec<Vec<u8>> = (0..6)
            .map(|i| {
                let mut v = big.clone();
                v["run"]["run_attempt"] = json!(round * 10 + i + 1);
                serde_json::to_vec(&v).expect("json")
            })
            .collect();
        let sender = std::thread::spawn(move || {
            for b in bodies {
                let _ = common::client()
                    .post(&url)
                    .bearer_auth(DEV_TOKEN)
                    .header("content-type", "application/json")
                    .body(b)
                    .send();
            }
        });
        // The first round lets some records finish; later ones kill sooner.
        std::thread::sleep(Duration::from_millis(if round == 0 {
            2500
        } else {
            100 + round * 130
        }));
        drop(s); // SIGKILL
        let _ = sender.join();
        for f in walk(store.path()) {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "bundle.json" || name == "analysis.json" {
                let bytes = std::fs::read(&f).expect("read");
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{}: partial record ({e})", f.display()));
                assert!(
                    v["schema"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("ci-medic/"))
                );
            }
        }
    }
    // Records complete before each kill are there.
    assert!(
        walk(store.path())
            .iter()
            .any(|f| f.ends_with("analysis.json"))
    );
}

/// An analyzer that fails with 503 once, then answers: the relay retries 5xx.
#[test]
fn the_relay_retries_a_5xx_and_passes_the_answer_on() {
    use std::io::{Read as _, Write as _};
    let fake = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = fake.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut conn in fake.incoming().flatten() {
            // Read the request head and its body (Content-Length).
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            let head_end = loop {
                let n = conn.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let n = conn.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let response = if n == 0 {
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_owned()
            } else {
                let body = r#"{"schema":"ci-medic/analysis/v1","from":"the fake analyzer"}"#;
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = conn.write_all(response.as_bytes());
        }
    });
    let store = tempfile::tempdir().expect("tmp");
    let relay = Service::start(
        &[
            ("AGENT_TOKEN", TOKEN),
            ("DEVELOPER_AGENT_URL", &format!("http://127.0.0.1:{port}")),
        ],
        &["--store", store.path().to_str().expect("utf-8")],
    );
    let (status, v) = json(post(
        &format!("{}/api/ci/logs", relay.url),
        Some(TOKEN),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["upstream"]["from"], "the fake analyzer");
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one 503, one retry"
    );
}

/// Bundles over axum's 2 MiB default body limit pass under the service's own.
#[test]
fn a_bundle_over_two_mib_is_accepted_by_default() {
    let store = tempfile::tempdir().expect("tmp");
    let s = analyzer(store.path().to_str().expect("utf-8"));
    let mut big = bundle_value();
    big["warnings"] = json!([{ "code": "padding", "message": "w".repeat(3 << 20) }]);
    let (status, v) = json(post(
        &format!("{}/process-logs", s.url),
        Some(DEV_TOKEN),
        serde_json::to_vec(&big).expect("json"),
        false,
    ));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["schema"], "ci-medic/analysis/v1");
}

/// `CI_MEDIC_STORE` takes the `file://` URL form of a local directory, as
/// object stores are usually named, and refuses schemes it does not serve.
#[test]
fn a_file_url_store_keeps_records_in_that_directory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("records store");
    let url = format!("file://{}", tmp.path().join("records%20store").display());
    let s = Service::start(
        &[
            ("AGENT_TOKEN", TOKEN),
            ("DEVELOPER_AGENT_TOKEN", DEV_TOKEN),
            ("CI_MEDIC_STORE", &url),
        ],
        &[],
    );
    let (status, body) = json(post(
        &format!("{}/process-logs", s.url),
        Some(DEV_TOKEN),
        bundle_json().to_vec(),
        false,
    ));
    assert_eq!(status, 200, "{body}");
    let run_id = bundle_value()["run"]["run_id"]
        .as_str()
        .expect("run id")
        .to_owned();
    let run_dir = dir.join("logs").join(&run_id);
    let attempts: Vec<_> = std::fs::read_dir(&run_dir)
        .unwrap_or_else(|e| panic!("{}: {e}; logs: {}", run_dir.display(), s.logs()))
        .flatten()
        .collect();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    let stored = attempts[0].path();
    assert!(stored.join("bundle.json").is_file());
    let analysis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stored.join("analysis.json")).expect("analysis"))
            .expect("json");
    assert_eq!(analysis["run"]["run_id"], run_id.as_str());
    drop(s);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ci-medic-cloud-agent"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("CI_MEDIC_STORE", "gs://bucket/prefix")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("found the scheme gs://"), "{stderr}");
    assert!(stderr.contains("file:///absolute/path"), "{stderr}");
}
