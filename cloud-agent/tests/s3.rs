//! The S3 store for real: records go to an S3-compatible server on loopback
//! (moto in server mode, `pip install "moto[server]"`).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Service, bundle_json, gzip, json, post};

struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn records_go_to_s3_once_and_come_back() {
    let port = ci_medic_exec::process::loopback_port().expect("a free loopback port");
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("moto_server is missing ({e}): `pip install \"moto[server]\"` (scripts/bootstrap installs it)")
        });
    let _moto = Moto(child);
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = common::client();
    let started = Instant::now();
    // Create the bucket (moto takes unsigned requests).
    loop {
        if client
            .put(format!("{endpoint}/ci-medic-records"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let s = Service::start(
        &[
            ("AGENT_TOKEN", "s3-token"),
            ("CI_MEDIC_STORE", "s3://ci-medic-records/team-a"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
        ],
        &[],
    );
    let url = format!("{}/api/ci/logs", s.url);
    let (status, first) = json(post(&url, Some("s3-token"), gzip(bundle_json()), true));
    assert_eq!(status, 200, "{first}");
    let again = post(&url, Some("s3-token"), bundle_json().to_vec(), false);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let (_, again) = json(again);
    assert_eq!(first, again);
    let listing = client
        .get(format!("{endpoint}/ci-medic-records?list-type=2"))
        .send()
        .expect("list")
        .text()
        .expect("xml");
    let keys: Vec<&str> = listing
        .split("<Key>")
        .skip(1)
        .filter_map(|k| k.split("</Key>").next())
        .collect();
    assert_eq!(
        keys,
        [
            "team-a/logs/4242/1/analysis.json",
            "team-a/logs/4242/1/bundle.json"
        ],
        "{listing}"
    );
    let (status, v) = json(
        client
            .get(format!("{}/api/runs/4242", s.url))
            .bearer_auth("s3-token")
            .send()
            .expect("get"),
    );
    assert_eq!(status, 200);
    assert_eq!(v, first["upstream"]);
}
