//! Secrets never leave the runner: credentials of many providers, each shaped as
//! its provider issues it, are planted in every place a Playwright run and an app
//! log can hold them; then every command that writes or sends something runs on
//! that run, and every file it wrote, everything it printed and the body `send`
//! posted are searched for every planted value.

use crate::common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ci_medic, commit_all, copy_dir, copy_specs, repo_root, walk};
use serde_json::Value;

/// Deterministic "random" text over `alphabet`, so every value has the
/// provider's length and alphabet and the entropy of a real token.
fn fake(alphabet: &str, len: usize, seed: u64) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            chars[((state >> 33) % chars.len() as u64) as usize]
        })
        .collect()
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &str = "0123456789abcdef";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BECH32: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// One planted credential: its kind, the line that carries it (with whatever
/// context its provider's tools print around it) and the secret itself.
struct Planted {
    kind: &'static str,
    line: String,
    secret: String,
}

fn planted() -> Vec<Planted> {
    let mut seed = 0u64;
    let mut f = |alphabet: &str, len: usize| {
        seed += 1;
        fake(alphabet, len, seed)
    };
    let mut out = Vec::new();
    let mut add = |kind: &'static str, secret: String, line: String| {
        out.push(Planted { kind, line, secret });
    };
    macro_rules! plain {
        ($kind:literal, $secret:expr) => {{
            let s: String = $secret;
            add($kind, s.clone(), format!("using {s} for the request"));
        }};
    }
    plain!("github classic PAT", format!("ghp_{}", f(ALNUM, 36)));
    plain!(
        "github fine-grained PAT",
        format!("github_pat_{}_{}", f(ALNUM, 22), f(ALNUM, 59))
    );
    plain!("github OAuth token", format!("gho_{}", f(ALNUM, 36)));
    plain!("github installation token", format!("ghs_{}", f(ALNUM, 36)));
    plain!("github refresh token", format!("ghr_{}", f(ALNUM, 76)));
    plain!("gitlab PAT", format!("glpat-{}", f(B64URL, 20)));
    plain!("gitlab runner token", format!("glrt-{}", f(B64URL, 20)));
    plain!("gitlab trigger token", format!("glptt-{}", f(HEX, 40)));
    plain!("gitlab deploy token", format!("gldt-{}", f(B64URL, 20)));
    plain!("npm token", format!("npm_{}", f(ALNUM, 36)));
    plain!(
        "PyPI token",
        format!("pypi-AgEIcHlwaS5vcmc{}", f(B64URL, 70))
    );
    plain!("RubyGems key", format!("rubygems_{}", f(HEX, 48)));
    plain!("NuGet key", format!("oy2{}", f(LOWER_ALNUM, 43)));
    plain!("Clojars token", format!("CLOJARS_{}", f(LOWER_ALNUM, 60)));
    plain!("Docker Hub PAT", format!("dckr_pat_{}", f(B64URL, 27)));
    plain!("JFrog API key", format!("AKCp{}", f(ALNUM, 69)));
    plain!("SonarQube token", format!("sqp_{}", f(HEX, 40)));
    plain!("AWS access key id", format!("AKIA{}", f(UPPER_ALNUM, 16)));
    let s = f(B64, 40);
    add(
        "AWS secret access key",
        s.clone(),
        format!("aws_secret_access_key={s}"),
    );
    plain!("Google API key", format!("AIza{}", f(B64URL, 35)));
    plain!(
        "Google OAuth client secret",
        format!("GOCSPX-{}", f(B64URL, 28))
    );
    plain!(
        "Google OAuth access token",
        format!("ya29.{}", f(B64URL, 120))
    );
    let s = format!("{}==", f(B64, 86));
    add(
        "Azure Storage account key",
        s.clone(),
        format!(
            "DefaultEndpointsProtocol=https;AccountName=acmeci;AccountKey={s};EndpointSuffix=core.windows.net"
        ),
    );
    let s = format!("{}%3D", f(ALNUM, 43));
    add(
        "Azure SAS signature",
        s.clone(),
        format!(
            "GET https://acmeci.blob.core.windows.net/traces/t.zip?sv=2022-11-02&se=2026-12-04&sp=r&sig={s} 403"
        ),
    );
    let s = format!("{}7Q~{}", f(ALNUM, 3), f(ALNUM, 34));
    add(
        "Entra ID client secret",
        s.clone(),
        format!("AZURE_CLIENT_SECRET {s}"),
    );
    plain!("DigitalOcean token", format!("dop_v1_{}", f(HEX, 64)));
    plain!("Alibaba AccessKey id", format!("LTAI{}", f(ALNUM, 20)));
    plain!("Heroku API key", format!("HRKU-AA{}", f(B64URL, 58)));
    plain!("Fly.io token", format!("fm2_{}", f(B64, 160)));
    plain!(
        "Databricks token",
        format!("dapi{}", f("abcdefgh0123456789", 32))
    );
    plain!("Vault token", format!("hvs.{}", f(B64URL, 95)));
    plain!(
        "Terraform Cloud token",
        format!("{}.atlasv1.{}", f(ALNUM, 14), f(B64URL, 67))
    );
    plain!("Pulumi token", format!("pul-{}", f(HEX, 40)));
    plain!("Doppler token", format!("dp.st.{}", f(ALNUM, 43)));
    plain!("PlanetScale token", format!("pscale_tkn_{}", f(ALNUM, 43)));
    plain!("Supabase token", format!("sbp_{}", f(HEX, 40)));
    plain!("Sentry user token", format!("sntryu_{}", f(HEX, 64)));
    plain!("New Relic key", format!("NRAK-{}", f(UPPER_ALNUM, 27)));
    plain!(
        "Grafana service account token",
        format!("glsa_{}_{}", f(ALNUM, 32), f(HEX, 8))
    );
    plain!(
        "Dynatrace token",
        format!("dt0c01.{}.{}", f(UPPER_ALNUM, 24), f(UPPER_ALNUM, 64))
    );
    plain!("Postman key", format!("PMAK-{}-{}", f(HEX, 24), f(HEX, 34)));
    plain!("Atlassian token", format!("ATATT3{}", f(B64URL, 186)));
    plain!("Linear key", format!("lin_api_{}", f(ALNUM, 40)));
    plain!("Prefect key", format!("pnu_{}", f(ALNUM, 36)));
    plain!("ReadMe key", format!("rdme_{}", f(LOWER_ALNUM, 70)));
    plain!(
        "Slack bot token",
        format!(
            "xoxb-{}-{}-{}",
            f("0123456789", 12),
            f("0123456789", 13),
            f(ALNUM, 24)
        )
    );
    plain!(
        "Slack app token",
        format!(
            "xapp-1-A{}-{}-{}",
            f(UPPER_ALNUM, 10),
            f("0123456789", 13),
            f(HEX, 64)
        )
    );
    let s = format!(
        "T{}/B{}/{}",
        f(UPPER_ALNUM, 8),
        f(UPPER_ALNUM, 10),
        f(ALNUM, 24)
    );
    add(
        "Slack incoming webhook",
        s.clone(),
        format!("POST https://hooks.slack.com/services/{s} failed"),
    );
    let s = f(B64URL, 68);
    add(
        "Discord webhook",
        s.clone(),
        format!("https://discord.com/api/webhooks/112233445566778899/{s}"),
    );
    plain!(
        "Telegram bot token",
        format!("{}:AA{}", f("123456789", 10), f(B64URL, 33))
    );
    plain!("Twilio API key", format!("SK{}", f(HEX, 32)));
    plain!(
        "SendGrid key",
        format!("SG.{}.{}", f(B64URL, 22), f(B64URL, 43))
    );
    plain!("Mailgun key", format!("key-{}", f(HEX, 32)));
    plain!("Mailchimp key", format!("{}-us14", f(HEX, 32)));
    plain!(
        "Notion token",
        format!("ntn_{}{}", f("0123456789", 11), f(ALNUM, 35))
    );
    plain!("Figma token", format!("figd_{}", f(B64URL, 40)));
    plain!(
        "Airtable PAT",
        format!("pat{}.{}", f(ALNUM, 14), f(HEX, 64))
    );
    plain!("Typeform token", format!("tfp_{}", f(ALNUM, 59)));
    plain!("Stripe secret key", format!("sk_live_{}", f(ALNUM, 99)));
    plain!("Stripe restricted key", format!("rk_live_{}", f(ALNUM, 99)));
    plain!("Stripe webhook secret", format!("whsec_{}", f(ALNUM, 32)));
    plain!("Square token", format!("sq0atp-{}", f(B64URL, 22)));
    plain!(
        "Braintree token",
        format!(
            "access_token$production${}${}",
            f(LOWER_ALNUM, 16),
            f(HEX, 32)
        )
    );
    plain!("Shopify token", format!("shpat_{}", f(HEX, 32)));
    plain!("Razorpay key", format!("rzp_live_{}", f(ALNUM, 14)));
    plain!(
        "Flutterwave key",
        format!("FLWSECK_TEST-{}-X", f("abcdefgh0123456789", 32))
    );
    plain!("EasyPost key", format!("EZAK{}", f(ALNUM, 54)));
    plain!("Shippo token", format!("shippo_live_{}", f(HEX, 40)));
    plain!("Duffel token", format!("duffel_live_{}", f(B64URL, 43)));
    plain!("OpenAI project key", format!("sk-proj-{}", f(B64URL, 120)));
    plain!("Anthropic key", format!("sk-ant-api03-{}AA", f(B64URL, 93)));
    plain!("Hugging Face token", format!("hf_{}", f(LETTERS, 34)));
    plain!("Groq key", format!("gsk_{}", f(ALNUM, 52)));
    plain!("Perplexity key", format!("pplx-{}", f(ALNUM, 48)));
    plain!("Replicate token", format!("r8_{}", f(ALNUM, 37)));
    plain!("xAI key", format!("xai-{}", f(ALNUM, 80)));
    plain!(
        "age secret key",
        format!("AGE-SECRET-KEY-1{}", f(BECH32, 58))
    );
    plain!(
        "JWT",
        format!(
            "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
            f(B64URL, 40),
            f(B64URL, 43)
        )
    );
    plain!(
        "Mapbox secret token",
        format!("sk.eyJ{}.{}", f(B64URL, 60), f(B64URL, 22))
    );
    let s = format!("{}\n{}\n{}", f(B64, 64), f(B64, 64), f(B64, 40));
    add(
        "PEM private key",
        s.clone(),
        format!("-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----"),
    );
    let s = f(B64, 28);
    add("basic auth", s.clone(), format!("Authorization: Basic {s}"));
    let s = f(B64URL, 40);
    add("bearer token", s.clone(), format!("sending Bearer {s}"));
    let s = f(ALNUM, 48);
    add(
        "Set-Cookie session",
        s.clone(),
        format!("< Set-Cookie: app_session={s}; Path=/; HttpOnly; SameSite=Lax"),
    );
    let s = f(ALNUM, 16);
    add(
        "URL password",
        s.clone(),
        format!("connecting to postgres://app:{s}@db.internal:5432/app"),
    );
    let s = f(ALNUM, 14);
    add("password assignment", s.clone(), format!("DB_PASSWORD={s}"));
    let s = f(ALNUM, 32);
    add(
        "client secret",
        s.clone(),
        format!("\"client_secret\": \"{s}\""),
    );
    let s = f(ALNUM, 36);
    add(
        ".npmrc auth token",
        s.clone(),
        format!("//npm.pkg.github.com/:_authToken={s}"),
    );
    let s = f(ALNUM, 40);
    add(
        "credential on a line",
        s.clone(),
        format!("retrying with the service credential {s} (attempt 2)"),
    );
    out
}

/// The value of a secret-like variable in collect's environment.
const ENV_SECRET: &str = "env-only-value-Zq81xKp2";

/// Copies the recorded `selector_drift` run and plants every line in its
/// console log, app log, JSON report (stdout, stderr, error messages) and
/// error-context files.
fn planted_run(into: &Path, lines: &[String]) -> PathBuf {
    let run = into.join("run");
    copy_dir(&repo_root().join("fixtures/runs/selector_drift"), &run);
    let block = format!("{}\n{ENV_SECRET}\n", lines.join("\n"));
    for log in ["logs/playwright.log", "logs/app.log"] {
        let path = run.join(log);
        let mut text = std::fs::read_to_string(&path).expect(log);
        text.push_str(&block);
        std::fs::write(&path, text).expect("write");
    }
    let report = run.join("results.json");
    let mut json: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let mut planted_results = 0;
    plant_results(&mut json, &block, &mut planted_results);
    assert!(
        planted_results > 0,
        "the run has failed results to plant in"
    );
    std::fs::write(&report, serde_json::to_vec_pretty(&json).expect("json")).expect("write");
    let mut contexts = 0;
    for entry in walk(&run.join("test-results")) {
        if entry.file_name().is_some_and(|n| n == "error-context.md") {
            let mut text = std::fs::read_to_string(&entry).expect("context");
            text.push_str(&block);
            std::fs::write(&entry, text).expect("write");
            contexts += 1;
        }
    }
    assert!(contexts > 0, "the run has error contexts to plant in");
    run
}

/// Puts `block` in every failed result's stdout, stderr and error messages.
fn plant_results(v: &mut Value, block: &str, n: &mut usize) {
    match v {
        Value::Object(map) => {
            let failed = map
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s == "failed" || s == "timedOut")
                && map.contains_key("errors");
            if failed {
                *n += 1;
                for stream in ["stdout", "stderr"] {
                    if let Some(Value::Array(items)) = map.get_mut(stream) {
                        items.push(serde_json::json!({ "text": block }));
                    }
                }
                if let Some(Value::Array(errors)) = map.get_mut("errors") {
                    for e in errors {
                        if let Some(Value::String(m)) = e.get_mut("message") {
                            m.push('\n');
                            m.push_str(block);
                        }
                    }
                }
                if let Some(Value::String(m)) =
                    map.get_mut("error").and_then(|e| e.get_mut("message"))
                {
                    m.push('\n');
                    m.push_str(block);
                }
            }
            for child in map.values_mut() {
                plant_results(child, block, n);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| plant_results(c, block, n)),
        _ => {}
    }
}

/// A one-shot HTTP server that keeps the body of the request it gets (gunzipped
/// when sent gzip) and answers 503, so `send` falls back to the local analyzer.
fn capture_one_post() -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let (mut length, mut gzip) = (0usize, false);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
            if lower.starts_with("content-encoding:") && lower.contains("gzip") {
                gzip = true;
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let mut stream = stream;
        let _ = stream.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        if gzip {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .expect("gzip");
            plain
        } else {
            body
        }
    });
    (url, handle)
}

fn printed(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn no_planted_secret_leaves_the_runner_through_any_command() {
    let items = planted();
    let kinds: std::collections::BTreeSet<&str> = items.iter().map(|p| p.kind).collect();
    assert!(kinds.len() >= 50, "{} kinds", kinds.len());
    let tmp = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = items.iter().map(|p| p.line.clone()).collect();
    let run = planted_run(tmp.path(), &lines);

    // A checkout with the suite's specs (the fix-agent edits them).
    let dir = tmp.path().join("repo");
    copy_specs(&dir);
    commit_all(&dir);
    let before: std::collections::BTreeSet<PathBuf> = walk(&dir).into_iter().collect();

    let run_arg = run.to_str().expect("utf-8");
    let summary = tmp.path().join("step-summary.md");
    let outputs = tmp.path().join("github-output.txt");
    let gh = [
        ("E2E_API_TOKEN", ENV_SECRET),
        ("CI_MEDIC_RUN_ID", "7001"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().expect("utf-8")),
        ("GITHUB_OUTPUT", outputs.to_str().expect("utf-8")),
    ];
    let (url, posted) = capture_one_post();
    let mut printed_all = String::new();
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "collect",
            "--dir",
            run_arg,
            "--out",
            "bundle",
            "--ctrf",
            "bundle/ctrf.json",
        ],
        vec!["triage", run_arg, "--out", "triage"],
        vec!["classify", "bundle"],
        vec!["fix", "--no-validate"],
        vec!["heal", "--event", "push"],
        vec!["dashboard", "build"],
        vec!["comment", "--dry-run", "--pr", "1"],
        vec!["annotate", "--dry-run"],
        vec![
            "send",
            "bundle",
            "--url",
            &url,
            "--attempts",
            "1",
            "-o",
            "sent-analysis.json",
        ],
    ];
    for args in &commands {
        let o = ci_medic(&dir, args, &gh);
        assert!(
            o.status.success(),
            "{args:?} exited {:?}: {}",
            o.status,
            printed(&o)
        );
        printed_all.push_str(&printed(&o));
    }
    let body = posted.join().expect("the capture server");
    assert!(
        body.len() > 1000,
        "send posted the bundle ({} bytes)",
        body.len()
    );

    let written: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| !before.contains(p) && !p.components().any(|c| c.as_os_str() == ".git"))
        .chain([summary, outputs])
        .collect();
    for expect in [
        "bundle/bundle.json",
        "bundle/ctrf.json",
        "triage/analysis.json",
        "analysis.json",
        "dashboard/index.html",
        "sent-analysis.json",
    ] {
        assert!(
            written.iter().any(|p| p.ends_with(expect)),
            "{expect} written"
        );
    }
    assert!(
        written.iter().any(|p| p.starts_with(dir.join("fix-agent"))),
        "the fix-agent wrote its input and metadata"
    );
    let mut texts: Vec<(String, String)> = written
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(p).expect("read")).into_owned(),
            )
        })
        .collect();
    texts.push(("what the commands printed".into(), printed_all));
    texts.push((
        "what send posted".into(),
        String::from_utf8_lossy(&body).into_owned(),
    ));

    let mut leaks = Vec::new();
    for p in items
        .iter()
        .map(|p| (p.kind, p.secret.as_str()))
        .chain([("env", ENV_SECRET)])
    {
        for (place, text) in &texts {
            // A PEM body is searched line by line: JSON escapes its newlines.
            let found = p.1.lines().any(|l| l.len() >= 12 && text.contains(l));
            if found {
                leaks.push(format!("{} in {place}", p.0));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leak(s):\n{}",
        leaks.len(),
        leaks.join("\n")
    );

    // The masks are there, counted per rule, never the values.
    let bundle: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bundle/bundle.json")).expect("bundle"),
    )
    .expect("json");
    let masked = bundle["redaction"]["masked"].as_u64().expect("masked");
    assert!(
        masked as usize >= items.len(),
        "{masked} masks: {:#}",
        bundle["redaction"]
    );
}

/// A repository's `.ci-medic/redact.toml` reaches `collect`: its own rule masks
/// its own token shape, its allowlist keeps a documented example key, and a
/// mistake stops collect with exit 2 naming the file, rule and field, with
/// nothing written.
#[test]
fn the_repositorys_redaction_rules_are_used_and_a_bad_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let token = "acme_0123456789abcdef01234567";
    let example_key = "AKIAIOSFODNN7EXAMPLE";
    let run = planted_run(
        tmp.path(),
        &[format!(
            "calling the inventory API with {token} and {example_key}"
        )],
    );
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(dir.join(".ci-medic")).expect("mkdir");
    let rules = dir.join(".ci-medic/redact.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nid = \"acme-internal-token\"\ndescription = \"Acme's API tokens\"\n\
         regex = '''\\bacme_[0-9a-f]{24}\\b'''\nkeywords = [\"acme_\"]\n\n\
         [allowlist]\nregexes = ['''^AKIAIOSFODNN7EXAMPLE$''']\n",
    )
    .expect("rules");
    let run_arg = run.to_str().expect("utf-8");
    let o = ci_medic(&dir, &["collect", "--dir", run_arg, "--out", "bundle"], &[]);
    assert!(o.status.success(), "{}", printed(&o));
    let bundle = std::fs::read_to_string(dir.join("bundle/bundle.json")).expect("bundle");
    assert!(
        !bundle.contains(token),
        "the repository's rule masks its token"
    );
    assert!(bundle.contains("[redacted:acme-internal-token]"));
    assert!(
        bundle.contains(example_key),
        "the allowlisted example survives"
    );
    let report: Value = serde_json::from_str(&bundle).expect("json");
    assert!(
        report["redaction"]["by_kind"]["acme-internal-token"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{:#}",
        report["redaction"]
    );

    std::fs::write(
        &rules,
        "[[rules]]\nid = \"acme-internal-token\"\nregex = \"acme_(\"\n",
    )
    .expect("rules");
    let o = ci_medic(&dir, &["collect", "--dir", run_arg, "--out", "again"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(".ci-medic/redact.toml: rule 'acme-internal-token', field `regex`: expected a regular expression"),
        "{err}"
    );
    assert!(!dir.join("again").exists(), "nothing written");

    // `[redact] rules` in .ci-medic.toml points at another file: that one is read.
    std::fs::create_dir_all(dir.join("ci")).expect("mkdir");
    std::fs::remove_file(&rules).expect("rm");
    std::fs::write(
        dir.join("ci/secrets.toml"),
        "[[rules]]\nid = \"acme-internal-token\"\nregex = '''\\bacme_[0-9a-f]{24}\\b'''\n",
    )
    .expect("rules");
    std::fs::write(
        dir.join(".ci-medic.toml"),
        "[redact]\nrules = \"ci/secrets.toml\"\n",
    )
    .expect("config");
    let o = ci_medic(&dir, &["collect", "--dir", run_arg, "--out", "third"], &[]);
    assert!(o.status.success(), "{}", printed(&o));
    let bundle = std::fs::read_to_string(dir.join("third/bundle.json")).expect("bundle");
    assert!(!bundle.contains(token) && bundle.contains("[redacted:acme-internal-token]"));
}
