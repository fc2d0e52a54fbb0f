//! The dashboard in real headless Chromium (chromedriver, WebDriver), opened
//! from disk the way a downloaded artifact is: what a person sees, that the
//! console stays clean and nothing is fetched, the explorer's filters, history
//! over three builds, light/dark contrast, keyboard and phone layout.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ci_medic_exec::browser::{Browser, BrowserError, Driver, console_messages};
use common::{checkout_with_run, ci_medic};
use serde_json::{Value, json};
use thirtyfour::extensions::cdp::ChromeDevTools;
use thirtyfour::prelude::*;

fn ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn url(site: &Path, page: &str) -> String {
    format!("file://{}/{page}", site.display())
}

/// A failing run's dashboard with every stage's output: analysis, fix-agent
/// patch, self-heal report. The checkout lives as long as the returned guard.
fn failing_site() -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = checkout_with_run("selector_drift", "run-101");
    ok(&ci_medic(&dir, &["fix", "--no-validate"], &[]));
    ok(&ci_medic(&dir, &["heal", "--event", "push"], &[]));
    ok(&ci_medic(&dir, &["dashboard", "build"], &[]));
    (tmp, dir.join("dashboard"))
}

/// Three successive builds (flaky run, failing run, green run), each passing the
/// previous site's history.json back in; returns the last site and the ids of
/// the tests the flaky run reported flaky.
fn three_builds(root: &Path) -> (Vec<tempfile::TempDir>, PathBuf, Vec<String>) {
    let mut keep = Vec::new();
    let mut previous: Option<PathBuf> = None;
    let mut last = PathBuf::new();
    let mut flaky = Vec::new();
    for (scenario, id) in [
        ("timeout_flaky", "run-201"),
        ("selector_drift", "run-202"),
        ("all_green", "run-203"),
    ] {
        let (tmp, dir) = checkout_with_run(scenario, id);
        let mut args = vec!["dashboard", "build"];
        let history;
        if let Some(p) = &previous {
            history = root.join(format!("history-before-{id}.json"));
            std::fs::copy(p, &history).expect("copy history");
            args.extend(["--history", history.to_str().expect("path")]);
        }
        ok(&ci_medic(&dir, &args, &[]));
        if scenario == "timeout_flaky" {
            let bundle: Value = serde_json::from_slice(
                &std::fs::read(dir.join("bundle/bundle.json")).expect("bundle"),
            )
            .expect("json");
            flaky = bundle["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .filter(|t| t["status"] == "flaky")
                .map(|t| t["id"].as_str().expect("id").to_owned())
                .collect();
        }
        previous = Some(dir.join("dashboard/history.json"));
        last = dir.join("dashboard");
        keep.push(tmp);
    }
    assert!(!flaky.is_empty(), "the timeout_flaky run has a flaky test");
    (keep, last, flaky)
}

async fn open(d: &WebDriver, url: &str) -> Result<(), String> {
    d.goto(url).await.map_err(|e| format!("{url}: {e}"))?;
    for _ in 0..100 {
        let state = d
            .execute("return document.readyState", Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        if state.json() == "complete" {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{url} did not finish loading"))
}

async fn js(d: &WebDriver, script: &str) -> Result<Value, String> {
    d.execute(script, Vec::new())
        .await
        .map(|r| r.json().clone())
        .map_err(|e| format!("script failed: {e}\n{script}"))
}

async fn text(d: &WebDriver, css: &str) -> Result<String, String> {
    d.find(By::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .text()
        .await
        .map_err(|e| e.to_string())
}

/// No console error (a failed load, a CSP violation, a script error) and no
/// request that left the site's directory.
async fn assert_clean(d: &WebDriver, page: &str) -> Result<(), String> {
    let errors: Vec<String> = console_messages(d)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|m| m.level == "SEVERE" || m.level == "WARNING")
        .map(|m| m.message)
        .collect();
    if !errors.is_empty() {
        return Err(format!("{page}: console: {errors:?}"));
    }
    let outside = js(
        d,
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('file://'))",
    )
    .await?;
    if outside.as_array().is_some_and(|a| !a.is_empty()) {
        return Err(format!("{page}: requests outside the site: {outside}"));
    }
    Ok(())
}

/// WCAG AA contrast of every visible text against its (opaque) background.
const CONTRAST: &str = r#"
function rgb(s) { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return { c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 }; }
function lum(c) { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
function background(el) { for (; el; el = el.parentElement) { const b = rgb(getComputedStyle(el).backgroundColor);
  if (b && b.a > 0.5) return b.c; } return [255, 255, 255]; }
const bad = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const seen = new Set();
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!el || seen.has(el) || !n.textContent.trim()) continue;
  seen.add(el);
  if (!el.getClientRects().length || el.closest('.sr-only, option')) continue;
  const st = getComputedStyle(el);
  if (st.visibility === 'hidden') continue;
  const fg = rgb(st.color).c, bg = background(el);
  const l1 = lum(fg), l2 = lum(bg);
  const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
  const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
  if (ratio < need) bad.push(`${ratio.toFixed(2)} < ${need}: "${n.textContent.trim().slice(0, 40)}" (${st.color} on rgb(${bg}))`);
}
return bad;
"#;

/// Semantic basics: language, one h1, labelled controls, described images,
/// a skip link, landmarks.
const SEMANTICS: &str = r#"
const bad = [];
if (!document.documentElement.lang) bad.push('no lang');
if (document.querySelectorAll('h1').length !== 1) bad.push('h1 count ' + document.querySelectorAll('h1').length);
if (!document.querySelector('main') || !document.querySelector('nav')) bad.push('landmarks');
for (const c of document.querySelectorAll('input, select, textarea')) {
  if (!(c.labels && c.labels.length) && !c.getAttribute('aria-label')) bad.push('unlabelled ' + (c.id || c.tagName));
}
for (const img of document.querySelectorAll('img')) if (!img.getAttribute('alt')) bad.push('img without alt ' + img.src);
for (const svg of document.querySelectorAll('svg[role=img]')) if (!svg.getAttribute('aria-label') && !svg.getAttribute('aria-labelledby')) bad.push('svg without a name');
for (const t of document.querySelectorAll('table')) if (!t.querySelector('caption') && !t.getAttribute('aria-label')) bad.push('table without caption');
return bad;
"#;

async fn check_page(d: &WebDriver, site: &Path, page: &str) -> Result<(), String> {
    open(d, &url(site, page)).await?;
    assert_clean(d, page).await?;
    let bad = js(d, SEMANTICS).await?;
    if bad.as_array().is_some_and(|a| !a.is_empty()) {
        return Err(format!("{page}: {bad}"));
    }
    for scheme in ["light", "dark"] {
        let cdp = ChromeDevTools::new(d.handle.clone());
        cdp.execute_cdp_with_params(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await
        .map_err(|e| e.to_string())?;
        let bad = js(d, CONTRAST).await?;
        if bad.as_array().is_some_and(|a| !a.is_empty()) {
            return Err(format!("{page} ({scheme}): contrast below WCAG AA: {bad}"));
        }
    }
    // A phone: nothing wider than the screen but what scrolls in its own box.
    d.set_window_rect(0, 0, 390, 844)
        .await
        .map_err(|e| e.to_string())?;
    let overflow = js(
        d,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await?;
    d.set_window_rect(0, 0, 1280, 900)
        .await
        .map_err(|e| e.to_string())?;
    if overflow.as_i64().unwrap_or(1) > 0 {
        return Err(format!(
            "{page}: {overflow}px wider than a 390px phone screen"
        ));
    }
    Ok(())
}

fn driver() -> (Driver, Browser, tempfile::TempDir) {
    let browser = Browser::default();
    let logs = tempfile::tempdir().expect("tmp");
    let driver = Driver::start(
        &browser,
        &logs.path().join("chromedriver.log"),
        Duration::from_secs(240),
    )
    .expect("chromedriver (apt package chromium-driver)");
    (driver, browser, logs)
}

#[test]
fn the_overview_failures_and_explorer_work_in_chromium_from_disk() {
    let (_keep, site) = failing_site();
    let (driver, browser, _logs) = driver();
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-overview.png");
    let shot = screenshot.clone();
    driver
        .run(&browser, "the dashboard", |d| async move {
            let r = async {
                d.set_window_rect(0, 0, 1280, 900).await.map_err(|e| e.to_string())?;
                open(&d, &url(&site, "index.html")).await?;
                assert_clean(&d, "index.html").await?;
                let verdict = text(&d, "#verdict").await?;
                if verdict != "Failed: 2 of 8 tests failed" {
                    return Err(format!("verdict: {verdict:?}"));
                }
                let stats = js(&d, "return [...document.querySelectorAll('dl.stats div')].map(d => d.querySelector('dt').textContent + '=' + d.querySelector('dd').textContent)").await?;
                let expected = json!(["Tests=8", "Passed=6", "Failed=2", "Flaky=0", "Skipped=0", "Duration=25.2 s"]);
                if stats != expected {
                    return Err(format!("counts: {stats}"));
                }
                let titles = js(&d, "return [...document.querySelectorAll('#failures ~ * td.title a, section[aria-labelledby=failures] td.title a')].map(a => a.textContent)").await?;
                for t in ["creates an item through the form", "item list › lists the seeded items"] {
                    if !titles.as_array().is_some_and(|a| a.iter().any(|x| x == t)) {
                        return Err(format!("failure {t:?} not listed: {titles}"));
                    }
                }
                let png = d.screenshot_as_png().await.map_err(|e| e.to_string())?;
                std::fs::write(&shot, &png).map_err(|e| e.to_string())?;

                // Follow the first failure: its screenshot is there and loaded.
                d.find(By::LinkText("creates an item through the form")).await.map_err(|e| e.to_string())?
                    .click().await.map_err(|e| e.to_string())?;
                let h1 = text(&d, "h1").await?;
                if h1 != "creates an item through the form" {
                    return Err(format!("failure page h1: {h1:?}"));
                }
                // Screenshots load lazily: bring each into view first.
                js(&d, "document.querySelectorAll('.shots img').forEach(i => i.scrollIntoView()); return null").await?;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let loaded = js(&d, "return [...document.querySelectorAll('.shots img')].map(i => i.complete && i.naturalWidth > 0)").await?;
                if !loaded.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|x| x == true)) {
                    return Err(format!("screenshots not loaded: {loaded}"));
                }
                let hint = js(&d, "return document.body.textContent.includes('npx playwright show-trace test-results/')").await?;
                if hint != true {
                    return Err("no show-trace hint".into());
                }
                assert_clean(&d, "failures/0001.html").await?;

                // The explorer: all 8, then failed only, then a search, linkable through the address.
                open(&d, &url(&site, "tests.html")).await?;
                let status = text(&d, "#explorer-status").await?;
                if !status.starts_with("Showing 1–8 of 8 matching tests") {
                    return Err(format!("explorer: {status:?}"));
                }
                d.find(By::Css("#f-status option[value=failed]")).await.map_err(|e| e.to_string())?
                    .click().await.map_err(|e| e.to_string())?;
                let rows = js(&d, "return document.querySelectorAll('#explorer-rows tr').length").await?;
                let status = text(&d, "#explorer-status").await?;
                if rows != 2 || !status.starts_with("Showing 1–2 of 2") {
                    return Err(format!("failed filter: {rows} rows, {status:?}"));
                }
                let hash = js(&d, "return location.hash").await?;
                if hash != "#status=failed" {
                    return Err(format!("filters not in the address: {hash}"));
                }
                d.find(By::Id("f-q")).await.map_err(|e| e.to_string())?
                    .send_keys("seeded").await.map_err(|e| e.to_string())?;
                tokio::time::sleep(Duration::from_millis(400)).await;
                let titles = js(&d, "return [...document.querySelectorAll('#explorer-rows td.title')].map(t => t.textContent)").await?;
                if titles != json!(["item list › lists the seeded items"]) {
                    return Err(format!("search: {titles}"));
                }
                open(&d, &url(&site, "tests.html#type=selector_drift")).await?;
                let status = text(&d, "#explorer-status").await?;
                if !status.starts_with("Showing 1–2 of 2") {
                    return Err(format!("linked filter: {status:?}"));
                }
                assert_clean(&d, "tests.html").await?;

                // Keyboard: the first Tab reaches the skip link, Enter moves to the content.
                open(&d, &url(&site, "index.html")).await?;
                d.find(By::Css("body")).await.map_err(|e| e.to_string())?
                    .send_keys(Key::Tab).await.map_err(|e| e.to_string())?;
                let focused = js(&d, "return document.activeElement.className").await?;
                if focused != "skip" {
                    return Err(format!("first Tab focuses {focused}, not the skip link"));
                }
                Ok(())
            }
            .await;
            (d, r.map_err(BrowserError::Step))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = common::repo_root().join("docs/dashboard-overview.png");
        std::fs::create_dir_all(docs.parent().expect("docs")).expect("mkdir docs");
        std::fs::copy(&screenshot, docs).expect("copy screenshot");
    }
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert_eq!(&png[..4], b"\x89PNG");
}

#[test]
fn every_page_is_accessible_in_light_and_dark_and_fits_a_phone() {
    let (_keep, site) = failing_site();
    let (driver, browser, _logs) = driver();
    driver
        .run(&browser, "the accessibility checks", |d| async move {
            let r = async {
                d.set_window_rect(0, 0, 1280, 900).await.map_err(|e| e.to_string())?;
                for page in ["index.html", "failures/0001.html", "failures/0002.html", "tests.html", "history.html", "heal.html", "fix.html"] {
                    check_page(&d, &site, page).await?;
                }
                // The theme switch wins over the system setting and is remembered.
                open(&d, &url(&site, "index.html")).await?;
                d.find(By::Id("theme-toggle")).await.map_err(|e| e.to_string())?
                    .click().await.map_err(|e| e.to_string())?;
                let theme = js(&d, "return document.documentElement.dataset.theme").await?;
                open(&d, &url(&site, "history.html")).await?;
                let kept = js(&d, "return document.documentElement.dataset.theme").await?;
                if theme.as_str().is_none() || theme != kept {
                    return Err(format!("theme {theme} not kept ({kept})"));
                }
                let bad = js(&d, CONTRAST).await?;
                if bad.as_array().is_some_and(|a| !a.is_empty()) {
                    return Err(format!("contrast with the {theme} theme: {bad}"));
                }
                // The checks catch what they look for: grey on the page's background fails.
                js(&d, "const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#bbbbbb'; p.style.background = '#ffffff'; document.querySelector('main').appendChild(p); const i = document.createElement('input'); document.querySelector('main').appendChild(i); return null").await?;
                let contrast = js(&d, CONTRAST).await?;
                let semantics = js(&d, SEMANTICS).await?;
                if !contrast.to_string().contains("faint") || !semantics.to_string().contains("unlabelled") {
                    return Err(format!("the checks missed planted faults: {contrast} {semantics}"));
                }
                Ok(())
            }
            .await;
            (d, r.map_err(BrowserError::Step))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn history_over_three_builds_shows_three_runs_and_the_flaky_test() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_keep, site, flaky_ids) = three_builds(tmp.path());
    let (driver, browser, _logs) = driver();
    driver
        .run(&browser, "the history page", |d| async move {
            let r = async {
                open(&d, &url(&site, "history.html")).await?;
                assert_clean(&d, "history.html").await?;
                let bars = js(&d, "return document.querySelectorAll('svg.chart > g').length").await?;
                let runs = js(&d, "return document.querySelectorAll('#runs + .table-wrap tbody tr').length").await?;
                if bars != 3 || runs != 3 {
                    return Err(format!("{bars} bars, {runs} run rows"));
                }
                let flaky = js(&d, "return [...document.querySelectorAll('#flaky + .table-wrap td.title')].map(t => t.textContent)").await?;
                // Retried-then-passed tests first; then a test that failed once
                // (selector_drift run) and passed in the other two.
                let listed: Vec<&str> = flaky.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                if listed.get(..flaky_ids.len()) != Some(&flaky_ids.iter().map(String::as_str).collect::<Vec<_>>()[..])
                    || !listed.contains(&"chromium › items.spec.ts › item list › lists the seeded items")
                {
                    return Err(format!("most flaky: {flaky}, expected {flaky_ids:?} first"));
                }
                let verdicts = js(&d, "return [...document.querySelectorAll('#runs + .table-wrap tbody tr td:nth-child(3)')].map(t => t.textContent.trim())").await?;
                if verdicts != json!(["passed", "failed", "flaky"]) {
                    return Err(format!("runs, newest first: {verdicts}"));
                }
                Ok(())
            }
            .await;
            (d, r.map_err(BrowserError::Step))
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
