//! Self-heal end to end: the demo app, the real Playwright suite in Chromium, a
//! real git checkout, and the compiled `ci-medic heal`.

use crate::suite;

use std::path::Path;

use suite::{
    Workspace, ci_medic, collect_and_classify, failing_run, playwright_cli, repo, run_suite,
};

/// Writes `.ci-medic.toml`: the rerun with the suite's Playwright (plus
/// `rerun_args`), `rerun_failed`, and `actions`.
fn heal_config(ws: &Workspace, rerun_args: &str, actions: &str) {
    std::fs::write(
        ws.dir.join(".ci-medic.toml"),
        format!(
            "[heal]\n[heal.playwright]\ncommand = [\"node\", {cli:?}, \"test\"{rerun_args}]\nenv = [\"E2E_BASE_URL\"]\n\
             [heal.actions.rerun_failed]\n{actions}",
            cli = playwright_cli(),
        ),
    )
    .expect("config");
}

/// Runs `ci-medic heal` on a manual run and returns the report (and stderr).
fn heal(dir: &Path, env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let o = ci_medic(dir, &["heal", "--event", "workflow_dispatch"], env);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let ctx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("self-heal/context.json")).expect("ctx"))
            .expect("json");
    let run_id = ctx["run"]["run_id"].as_str().expect("run id");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("self-heal/report-{run_id}.json"))).expect("report"),
    )
    .expect("json");
    let decision = std::fs::read_to_string(dir.join("self-heal/decision.json")).unwrap_or_default();
    (report, format!("{err}\n{decision}"))
}

#[test]
fn missing_data_is_reseeded_and_the_failing_tests_pass_on_rerun() {
    // The app starts on an empty data directory: the seeded items are missing.
    let ws = Workspace::new(false);
    let dir = ws.dir.clone();
    let app = ws.app("", None);
    failing_run(&dir, &app.base_url);
    collect_and_classify(&dir);
    heal_config(
        &ws,
        "",
        &format!(
            "[heal.actions.reseed_data]\nrun = \"{bin} seed --data-dir {data}\"\ntimeout = \"1m\"\n",
            bin = ws.paths.demo_app.display(),
            data = ws.data.display()
        ),
    );
    let (report, why) = heal(&dir, &[("E2E_BASE_URL", &app.base_url)]);
    assert_eq!(report["verdict"], "healed", "{why}\n{report:#}");
    assert_eq!(report["actions"][0]["action"], "reseed_data");
    assert_eq!(report["actions"][0]["ok"], true);
    let tests = report["tests"].as_array().expect("tests");
    assert!(!tests.is_empty());
    for t in tests {
        assert_eq!(t["before"], "unexpected", "{t}");
        assert_eq!(t["after"], "expected", "{t}");
    }
    assert!(
        report["guardrails"]
            .as_array()
            .expect("g")
            .iter()
            .all(|g| g["passed"] == true),
        "{report:#}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("self-heal/state.json")).expect("state"))
            .expect("json");
    assert_eq!(state["attempts"][0]["verdict"], "healed");
    drop(app);
}

#[test]
fn a_server_that_is_down_is_restarted_and_the_failing_tests_pass_on_rerun() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    // Nothing listens on the app's port: every test that needs it fails.
    let port = crate::common::free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    failing_run(&dir, &base_url);
    collect_and_classify(&dir);
    heal_config(
        &ws,
        "",
        &format!(
            "[heal.actions.restart_app]\nrun = \"exec {bin} serve --addr 127.0.0.1:{port} --data-dir {data}\"\n\
             health_url = \"{base_url}/healthz\"\ntimeout = \"30s\"\n\
             [heal.actions.wait_for_health]\nhealth_url = \"{base_url}/healthz\"\n",
            bin = ws.paths.demo_app.display(),
            data = ws.data.display()
        ),
    );
    let (report, why) = heal(&dir, &[("E2E_BASE_URL", &base_url)]);
    assert_eq!(report["verdict"], "healed", "{why}\n{report:#}");
    assert_eq!(report["actions"][0]["action"], "restart_app", "{report:#}");
    assert_eq!(report["actions"][0]["ok"], true, "{report:#}");
    let tests = report["tests"].as_array().expect("tests");
    assert!(tests.len() >= 2, "{report:#}");
    assert!(tests.iter().all(|t| t["after"] == "expected"), "{report:#}");
    // The app started for the rerun is stopped afterwards.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn a_flaky_timeout_is_rerun_and_passes() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    // Item pages are slow the first time each is asked for (a cold cache).
    let app = ws.app(
        "[faults.slow]\npaths = [\"/items/*\"]\nmode = \"first:1\"\ndelay_ms = 15000\n",
        None,
    );
    // The first attempt times out, the retry passes: Playwright says flaky.
    run_suite(&dir, &app.base_url, "run", &[]);
    collect_and_classify(&dir);
    heal_config(&ws, "", "");
    let (report, why) = heal(&dir, &[("E2E_BASE_URL", &app.base_url)]);
    assert_eq!(report["verdict"], "healed", "{why}\n{report:#}");
    assert!(
        report["actions"].as_array().expect("a").is_empty(),
        "a rerun only"
    );
    let tests = report["tests"].as_array().expect("tests");
    assert!(!tests.is_empty(), "{report:#}");
    for t in tests {
        assert_eq!(t["before"], "flaky", "{t}");
        assert_eq!(t["after"], "expected", "{t}");
    }
    drop(app);
}

#[test]
fn a_stale_session_is_replaced_by_a_webdriver_login_and_the_tests_pass() {
    let ws = Workspace::new(true);
    let dir = ws.dir.clone();
    // The storage state is written against one instance…
    let earlier = ws.app("", Some("an-earlier-secret-0123456789abcdef"));
    assert!(run_suite(
        &dir,
        &earlier.base_url,
        "setup-run",
        &["--project=setup"]
    ));
    assert!(dir.join(".auth/user.json").is_file());
    earlier.stop();
    // …and the suite runs against a restarted one that rejects it.
    let app = ws.app("", Some("a-new-secret-fedcba9876543210fedcba"));
    assert!(!run_suite(
        &dir,
        &app.base_url,
        "run",
        &["--project=chromium", "--no-deps"]
    ));
    collect_and_classify(&dir);
    // The rerun skips the setup project: only the builtin login can fix the state.
    heal_config(
        &ws,
        ", \"--no-deps\"",
        &format!(
            "[heal.actions.regenerate_storage_state]\ntimeout = \"60s\"\n\
             [heal.actions.regenerate_storage_state.login]\n\
             url = \"{base}/login\"\nusername_selector = \"#username\"\npassword_selector = \"#password\"\n\
             submit_selector = \"button[type=submit]\"\nusername_env = \"E2E_USERNAME\"\npassword_env = \"E2E_PASSWORD\"\n\
             success_url_contains = \"/items\"\nstorage_state = \".auth/user.json\"\n",
            base = app.base_url,
        ),
    );
    let (report, why) = heal(
        &dir,
        &[
            ("E2E_BASE_URL", &app.base_url),
            ("E2E_USERNAME", "demo"),
            ("E2E_PASSWORD", "demo-password"),
        ],
    );
    assert_eq!(report["verdict"], "healed", "{why}\n{report:#}");
    assert_eq!(
        report["actions"][0]["action"], "regenerate_storage_state",
        "{report:#}"
    );
    assert_eq!(report["actions"][0]["ok"], true, "{report:#}");
    let tests = report["tests"].as_array().expect("tests");
    assert!(tests.len() >= 3, "{report:#}");
    assert!(tests.iter().all(|t| t["after"] == "expected"), "{report:#}");
    // The state holds the HttpOnly session cookie; the password is nowhere in it.
    let state = std::fs::read_to_string(dir.join(".auth/user.json")).expect("state");
    assert!(state.contains("demo_session"), "{state}");
    assert!(!state.contains("demo-password"));
    let log = std::fs::read_to_string(dir.join("self-heal").join(format!(
        "report-{}.json",
        report["run_id"].as_str().expect("id")
    )))
    .expect("report");
    assert!(!log.contains("demo-password"));
}

#[test]
fn auth_writes_a_storage_state_and_smoke_finds_broken_pages() {
    let ws = Workspace::new(false);
    let dir = ws.dir.clone();
    let app = ws.app("", Some("a-secret-for-auth-0123456789abcdef"));
    let config = |password_env: &str| {
        format!(
            "[heal.actions.regenerate_storage_state.login]\n\
             url = \"{base}/login\"\nusername_selector = \"#username\"\npassword_selector = \"#password\"\n\
             submit_selector = \"button[type=submit]\"\nusername_env = \"E2E_USERNAME\"\npassword_env = \"{password_env}\"\n\
             success_selector = \"form[action='/logout']\"\nstorage_state = \"state/user.json\"\n",
            base = app.base_url
        )
    };
    std::fs::write(dir.join(".ci-medic.toml"), config("E2E_PASSWORD")).expect("config");
    let env = [
        ("E2E_USERNAME", "demo"),
        ("E2E_PASSWORD", "demo-password"),
        ("WRONG", "nope"),
    ];
    let o = ci_medic(&dir, &["auth"], &env);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state/user.json")).expect("state"))
            .expect("json");
    let cookie = state["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .find(|c| c["name"] == "demo_session")
        .expect("the session cookie");
    assert_eq!(
        cookie["httpOnly"], true,
        "HttpOnly cookies come through CDP"
    );
    // The state works: the API accepts its cookie.
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/api/items", app.base_url))
        .header(
            "cookie",
            format!("demo_session={}", cookie["value"].as_str().expect("value")),
        )
        .send()
        .expect("api");
    assert_eq!(r.status().as_u16(), 200);
    // A wrong password does not sign in: exit 1, and says why.
    std::fs::write(dir.join(".ci-medic.toml"), config("WRONG")).expect("config");
    let o = ci_medic(&dir, &["auth", "--timeout", "20"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the login failed"));

    let login = format!("{}/login", app.base_url);
    // A secret in a URL and one in a console message never reach the report.
    let url_secret = "Zk8QwP3xL9vR2mT7nB4c";
    let console_secret = "ghp_9aZ8bY7cX6dW5eV4fU3gT2hS1iR0jQ9kP8lO";
    let missing = format!("{}/no-such-page?access_token={url_secret}", app.base_url);
    // A page whose script logs an error and throws, served on loopback.
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let broken = format!("http://{}/broken", server.local_addr().expect("addr"));
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for mut conn in server.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = "<!doctype html><title>Broken</title><script>console.error('boom', 'ghp_9aZ8bY7cX6dW5eV4fU3gT2hS1iR0jQ9kP8lO'); undefined_function()</script>";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let o = ci_medic(
        &dir,
        &[
            "smoke",
            &login,
            "--title",
            "Sign in",
            "--selector",
            "#username",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ci_medic(
        &dir,
        &["smoke", &login, &missing, &broken, "-o", "bad.json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let written = std::fs::read_to_string(dir.join("bad.json")).expect("report");
    for secret in [url_secret, console_secret] {
        assert!(
            !written.contains(secret),
            "{secret} in the smoke report: {written}"
        );
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains(secret),
            "{secret} printed"
        );
    }
    assert!(written.contains("[redacted:"), "{written}");
    let r: serde_json::Value = serde_json::from_str(&written).expect("json");
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("schemas/smoke.v1.json")).expect("schema"),
    )
    .expect("json");
    assert!(
        jsonschema::validator_for(&schema)
            .expect("schema")
            .is_valid(&r)
    );
    assert_eq!(r["passed"], false);
    let pages = r["pages"].as_array().expect("pages");
    assert!(
        pages[0]["problems"].as_array().expect("p").is_empty(),
        "{r:#}"
    );
    assert_eq!(pages[1]["status"], 404, "{r:#}");
    let errors: Vec<&str> = pages[2]["errors"]
        .as_array()
        .expect("e")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("console.error: boom")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("uncaught")), "{errors:?}");
    let o = ci_medic(&dir, &["smoke", "ftp://example.com"], &[]);
    assert_eq!(o.status.code(), Some(2));
}
