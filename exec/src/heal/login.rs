//! The `regenerate_storage_state` builtin (and `ci-medic auth`): log in with a
//! real browser over WebDriver (chromedriver, headless Chromium) following the
//! login flow the repository declares, and write Playwright's storage state:
//! every cookie (CDP `Storage.getCookies`, so HttpOnly ones too) and the
//! localStorage of the page's origin.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use thirtyfour::extensions::cdp::ChromeDevTools;
use thirtyfour::prelude::*;

pub use crate::browser::Browser;
use crate::browser::{BrowserError, Driver};
use ci_medic_core::config::LoginFlow;

/// What a login produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedIn {
    /// Cookies written.
    pub cookies: usize,
    /// localStorage entries written.
    pub local_storage: usize,
    /// The URL the flow ended on.
    pub url: String,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A credential variable the flow names is unset.
    #[error("expected the {what} in ${var}, found it unset")]
    Credentials {
        /// `user name` or `password`.
        what: &'static str,
        /// The variable.
        var: String,
    },
    /// The browser or a step of the flow failed.
    #[error(transparent)]
    Browser(#[from] BrowserError),
    /// The storage state could not be written.
    #[error("{path}: {source}", path = path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Logs in and writes the storage state to `flow.storage_state` (relative to
/// `root`), within `timeout`. The credentials come from the variables the flow
/// names; they are never written anywhere.
pub fn login(
    flow: &LoginFlow,
    root: &Path,
    browser: &Browser,
    timeout: Duration,
    log: &Path,
) -> Result<LoggedIn, LoginError> {
    let user = std::env::var(&flow.username_env).map_err(|_| LoginError::Credentials {
        what: "user name",
        var: flow.username_env.clone(),
    })?;
    let password = std::env::var(&flow.password_env).map_err(|_| LoginError::Credentials {
        what: "password",
        var: flow.password_env.clone(),
    })?;
    let driver = Driver::start(browser, log, timeout)?;
    let state = driver.run(browser, "the login", |d| async move {
        let r = steps(&d, flow, &user, &password).await;
        (d, r)
    })?;
    let (doc, logged) = state;
    let path = root.join(&flow.storage_state);
    ci_medic_core::atomic::write_json(&path, &doc).map_err(|source| LoginError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(logged)
}

async fn steps(
    driver: &WebDriver,
    flow: &LoginFlow,
    user: &str,
    password: &str,
) -> Result<(Value, LoggedIn), BrowserError> {
    let at = |what: &str, sel: &str, err: WebDriverError| format!("{what} `{sel}`: {err}");
    driver
        .goto(flow.url.as_str())
        .await
        .map_err(|err| format!("cannot open {}: {err}", flow.url))?;
    driver
        .find(By::Css(flow.username_selector.as_str()))
        .await
        .map_err(|err| at("no user name field", &flow.username_selector, err))?
        .send_keys(user)
        .await
        .map_err(|err| at("cannot type into", &flow.username_selector, err))?;
    driver
        .find(By::Css(flow.password_selector.as_str()))
        .await
        .map_err(|err| at("no password field", &flow.password_selector, err))?
        .send_keys(password)
        .await
        .map_err(|err| at("cannot type into", &flow.password_selector, err))?;
    driver
        .find(By::Css(flow.submit_selector.as_str()))
        .await
        .map_err(|err| at("no submit button", &flow.submit_selector, err))?
        .click()
        .await
        .map_err(|err| at("cannot click", &flow.submit_selector, err))?;
    // Signed in when the URL or the page says so.
    let (current, origin) = loop {
        let at = driver.current_url().await.map_err(|e| e.to_string())?;
        let current = at.to_string();
        let by_url = flow
            .success_url_contains
            .as_deref()
            .is_some_and(|s| current.contains(s));
        let by_selector = match &flow.success_selector {
            Some(sel) => driver.find(By::Css(sel.as_str())).await.is_ok(),
            None => false,
        };
        if by_url || by_selector {
            break (current, at.origin().ascii_serialization());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let cdp = ChromeDevTools::new(driver.handle.clone());
    let raw = cdp
        .execute_cdp_with_params("Storage.getCookies", json!({}))
        .await
        .map_err(|e| format!("CDP Storage.getCookies: {e}"))?;
    let cookies: Vec<Value> = raw["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "name": c["name"],
                "value": c["value"],
                "domain": c["domain"],
                "path": c["path"],
                // CDP marks session cookies with `session`; Playwright with -1.
                "expires": if c["session"].as_bool() == Some(true) { json!(-1) } else { c["expires"].clone() },
                "httpOnly": c["httpOnly"],
                "secure": c["secure"],
                "sameSite": c["sameSite"].as_str().unwrap_or("Lax"),
            })
        })
        .collect();
    let entries = driver
        .execute(
            "return Object.keys(localStorage).map(k => ({ name: k, value: localStorage.getItem(k) }))",
            Vec::new(),
        )
        .await
        .map_err(|e| format!("reading localStorage: {e}"))?;
    let local: Vec<Value> = entries.json().as_array().cloned().unwrap_or_default();
    let logged = LoggedIn {
        cookies: cookies.len(),
        local_storage: local.len(),
        url: current,
    };
    let origins = if local.is_empty() {
        json!([])
    } else {
        json!([{ "origin": origin, "localStorage": local }])
    };
    Ok((json!({ "cookies": cookies, "origins": origins }), logged))
}
