//! Candidates from the live page: when a failure left no DOM snapshot, the page
//! its test navigated to is opened in headless Chromium over WebDriver, signed in
//! with the run's Playwright storage state, and its DOM read.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use thirtyfour::extensions::cdp::ChromeDevTools;

use crate::browser::{Browser, BrowserError, Driver};

/// Why the live page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The storage state file is unreadable or not Playwright's.
    #[error("{path}: {message}", path = path.display())]
    StorageState {
        /// The file.
        path: std::path::PathBuf,
        /// What was expected and found.
        message: String,
    },
    /// The browser failed.
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

/// The live page's HTML at `url`, with the storage state's cookies set first.
pub fn page_html(
    url: &str,
    storage_state: Option<&Path>,
    log: &Path,
    timeout: Duration,
) -> Result<String, LiveError> {
    let cookies: Vec<Value> = match storage_state {
        Some(p) => {
            let bad = |message: String| LiveError::StorageState {
                path: p.to_owned(),
                message,
            };
            let text = std::fs::read_to_string(p).map_err(|e| bad(e.to_string()))?;
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| bad(format!("expected Playwright's storage state JSON: {e}")))?;
            v["cookies"].as_array().cloned().unwrap_or_default()
        }
        None => Vec::new(),
    };
    let browser = Browser::default();
    let driver = Driver::start(&browser, log, timeout)?;
    let url = url.to_owned();
    let html = driver.run(&browser, "reading the live page", move |d| async move {
        let result = async {
            if !cookies.is_empty() {
                let cdp = ChromeDevTools::new(d.handle.clone());
                let cookies: Vec<Value> = cookies
                    .iter()
                    .map(|c| {
                        let mut c = c.clone();
                        // Playwright writes -1 for session cookies; CDP omits `expires` for them.
                        if c["expires"].as_f64().is_some_and(|e| e < 0.0)
                            && let Some(o) = c.as_object_mut()
                        {
                            o.remove("expires");
                        }
                        c
                    })
                    .collect();
                cdp.execute_cdp_with_params("Storage.setCookies", json!({ "cookies": cookies }))
                    .await
                    .map_err(|e| format!("CDP Storage.setCookies: {e}"))?;
            }
            d.goto(&url)
                .await
                .map_err(|e| format!("opening {url}: {e}"))?;
            // Scripts that build the page run after load; give them a moment.
            for _ in 0..20 {
                let ready = d
                    .execute("return document.readyState", Vec::new())
                    .await
                    .ok()
                    .and_then(|r| r.json().as_str().map(str::to_owned));
                if ready.as_deref() == Some("complete") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            d.source().await.map_err(|e| format!("reading {url}: {e}"))
        }
        .await;
        (d, result.map_err(BrowserError::Step))
    })?;
    Ok(html)
}
