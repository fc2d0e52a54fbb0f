//! A headless Chromium over WebDriver (chromedriver), shared by the login
//! builtin and the smoke test: start the driver, open a session, run the async
//! steps to a deadline.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thirtyfour::prelude::*;

use crate::process::{Background, Spec};

/// Chromium's flags for CI machines.
const CHROMIUM_ARGS: [&str; 7] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

/// Why the browser could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// No loopback port to give chromedriver.
    #[error("no free port for chromedriver: {0}")]
    Port(std::io::Error),
    /// chromedriver would not start.
    #[error("{0} (install chromium-driver)")]
    Driver(std::io::Error),
    /// chromedriver started but never listened.
    #[error("chromedriver did not listen on port {0} in time")]
    DriverSilent(u16),
    /// The session's async runtime would not start.
    #[error("cannot start an async runtime: {0}")]
    Runtime(std::io::Error),
    /// Chromium would not open a session.
    #[error("cannot start a browser session: {0}")]
    Session(Box<WebDriverError>),
    /// The whole work ran past its deadline.
    #[error("{0} did not finish in time")]
    Timeout(String),
    /// The console could not be read.
    #[error("cannot read the browser console: {0}")]
    Console(Box<WebDriverError>),
    /// A step of the caller's work failed: what it was doing and why.
    #[error("{0}")]
    Step(String),
}

impl From<String> for BrowserError {
    fn from(step: String) -> BrowserError {
        BrowserError::Step(step)
    }
}

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct Browser {
    /// `chromedriver` (`$CHROMEDRIVER`, else `/usr/bin/chromedriver`).
    pub driver: PathBuf,
    /// Chromium (`$CHROMIUM`, else `/usr/bin/chromium`).
    pub binary: PathBuf,
}

impl Default for Browser {
    fn default() -> Browser {
        Browser {
            driver: PathBuf::from(
                std::env::var_os("CHROMEDRIVER").unwrap_or_else(|| "/usr/bin/chromedriver".into()),
            ),
            binary: PathBuf::from(
                std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
            ),
        }
    }
}

/// A running chromedriver, stopped (with its browsers) on drop.
#[derive(Debug)]
pub struct Driver {
    _process: Background,
    url: String,
    deadline: Instant,
}

impl Driver {
    /// Starts chromedriver on a free loopback port; everything done with it must
    /// end within `timeout`.
    pub fn start(browser: &Browser, log: &Path, timeout: Duration) -> Result<Driver, BrowserError> {
        let port = crate::process::loopback_port().map_err(BrowserError::Port)?;
        let spec = Spec {
            program: browser.driver.display().to_string(),
            args: vec![format!("--port={port}")],
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            set: Vec::new(),
            timeout,
            log: log.to_owned(),
        };
        let process = Background::start(&spec).map_err(BrowserError::Driver)?;
        let deadline = Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline {
                return Err(BrowserError::DriverSilent(port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Driver {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            deadline,
        })
    }

    /// Runs `steps` with a new headless session, quitting it afterwards, by the deadline.
    pub fn run<T, F, Fut>(&self, browser: &Browser, what: &str, steps: F) -> Result<T, BrowserError>
    where
        F: FnOnce(WebDriver) -> Fut,
        Fut: Future<Output = (WebDriver, Result<T, BrowserError>)>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BrowserError::Runtime)?;
        let left = self.deadline.saturating_duration_since(Instant::now());
        runtime.block_on(async {
            let work = async {
                let driver = self.open(browser).await?;
                let (driver, result) = steps(driver).await;
                let _ = driver.quit().await;
                result
            };
            tokio::time::timeout(left, work)
                .await
                .unwrap_or_else(|_| Err(BrowserError::Timeout(what.to_owned())))
        })
    }

    async fn open(&self, browser: &Browser) -> Result<WebDriver, BrowserError> {
        let mut caps = DesiredCapabilities::chrome();
        let e = |e: WebDriverError| BrowserError::Session(Box::new(e));
        caps.set_binary(&browser.binary.display().to_string())
            .map_err(e)?;
        for arg in CHROMIUM_ARGS {
            caps.add_arg(arg).map_err(e)?;
        }
        // Keeps the console (errors, failed loads, CSP violations) for `console_messages`.
        caps.insert_base_capability(
            "goog:loggingPrefs".to_owned(),
            serde_json::json!({ "browser": "ALL" }),
        );
        WebDriver::new(self.url.as_str(), caps)
            .await
            .map_err(|err| BrowserError::Session(Box::new(err)))
    }
}

/// One message of the browser's console.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ConsoleMessage {
    /// `SEVERE` (errors, failed loads, CSP violations), `WARNING`, `INFO`, …
    pub level: String,
    /// The text, with its source.
    pub message: String,
}

/// chromedriver's log endpoint (not in the W3C protocol, so not in thirtyfour).
#[derive(Debug)]
struct BrowserLog;

impl thirtyfour::common::command::ExtensionCommand for BrowserLog {
    fn parameters_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "type": "browser" }))
    }

    fn method(&self) -> http::Method {
        http::Method::POST
    }

    fn endpoint(&self) -> std::sync::Arc<str> {
        std::sync::Arc::from("/se/log")
    }
}

/// The console messages since the last call: what the page logged and what
/// Chromium reported about it (a resource that failed to load, a blocked request).
pub async fn console_messages(driver: &WebDriver) -> Result<Vec<ConsoleMessage>, BrowserError> {
    driver
        .handle
        .cmd(thirtyfour::common::command::Command::ExtensionCommand(
            Box::new(BrowserLog),
        ))
        .await
        .and_then(|r| r.value::<Vec<ConsoleMessage>>())
        .map_err(|e| BrowserError::Console(Box::new(e)))
}
