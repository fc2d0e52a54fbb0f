//! `ci-medic smoke`: visit pages in a real browser over WebDriver and say which
//! ones are broken: a non-2xx answer, a console error or an uncaught exception,
//! a missing expected title or element.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use thirtyfour::extensions::cdp::ChromeDevTools;
use thirtyfour::prelude::*;

use crate::browser::{Browser, BrowserError, Driver};
use ci_medic_core::heal::smoke::{Expect, PageResult, SMOKE_SCHEMA, SmokeReport};

/// Collects console errors and uncaught exceptions from the first script on.
const CAPTURE: &str = r#"
window.__ciMedicErrors = [];
const original = console.error.bind(console);
console.error = (...args) => { window.__ciMedicErrors.push('console.error: ' + args.map(String).join(' ')); original(...args); };
window.addEventListener('error', e => window.__ciMedicErrors.push('uncaught: ' + (e.message || String(e))));
window.addEventListener('unhandledrejection', e => window.__ciMedicErrors.push('unhandled rejection: ' + String(e.reason)));
"#;

/// Visits `urls` in one headless browser session.
pub fn run(
    urls: &[String],
    expect: &Expect,
    browser: &Browser,
    timeout: Duration,
    log: &Path,
) -> Result<SmokeReport, BrowserError> {
    let driver = Driver::start(browser, log, timeout)?;
    driver.run(browser, "the smoke test", |d| async move {
        let r = pages(&d, urls, expect).await;
        (d, r)
    })
}

async fn pages(
    driver: &WebDriver,
    urls: &[String],
    expect: &Expect,
) -> Result<SmokeReport, BrowserError> {
    let cdp = ChromeDevTools::new(driver.handle.clone());
    cdp.execute_cdp_with_params(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": CAPTURE }),
    )
    .await
    .map_err(|err| format!("cannot install the error capture (CDP): {err}"))?;
    let mut pages = Vec::new();
    for url in urls {
        pages.push(visit(driver, url, expect).await);
    }
    Ok(SmokeReport {
        schema: SMOKE_SCHEMA.to_owned(),
        passed: pages.iter().all(|p| p.problems.is_empty()),
        pages,
    })
}

async fn visit(driver: &WebDriver, url: &str, expect: &Expect) -> PageResult {
    let started = Instant::now();
    let mut p = PageResult {
        url: url.to_owned(),
        final_url: String::new(),
        status: None,
        title: String::new(),
        load_ms: 0,
        errors: Vec::new(),
        problems: Vec::new(),
    };
    if let Err(err) = driver.goto(url).await {
        p.problems.push(format!("cannot load: {err}"));
        return p;
    }
    p.load_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    p.final_url = driver
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    p.title = driver.title().await.unwrap_or_default();
    p.status = driver
        .execute("const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : null", Vec::new())
        .await
        .ok()
        .and_then(|r| r.json().as_u64())
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| *s > 0);
    // Late errors (a script failing after load) get a moment to happen.
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.errors = driver
        .execute("return window.__ciMedicErrors || []", Vec::new())
        .await
        .ok()
        .and_then(|r| r.json().as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(|s| ci_medic_core::text::one_line(s, 300)))
        .collect();
    match p.status {
        Some(s) if !(200..300).contains(&s) => p.problems.push(format!("answered HTTP {s}")),
        _ => {}
    }
    if !p.errors.is_empty() {
        p.problems.push(format!(
            "{} console error(s) or uncaught exception(s)",
            p.errors.len()
        ));
    }
    if let Some(t) = &expect.title
        && !p.title.contains(t.as_str())
    {
        p.problems.push(format!(
            "expected a title containing {t:?}, found {:?}",
            p.title
        ));
    }
    if let Some(sel) = &expect.selector
        && driver.find(By::Css(sel.as_str())).await.is_err()
    {
        p.problems
            .push(format!("expected an element matching `{sel}`, found none"));
    }
    p
}
