//! A headless Chromium over WebDriver (chromedriver), shared by the login
//! builtin and the smoke test: start the driver, open a session, run the async
//! steps to a deadline.

use std::future::Future;
use std::net::TcpListener;
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
    pub fn start(browser: &Browser, log: &Path, timeout: Duration) -> Result<Driver, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for chromedriver: {e}"))?
            .port();
        let spec = Spec {
            program: browser.driver.display().to_string(),
            args: vec![format!("--port={port}")],
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            set: Vec::new(),
            timeout,
            log: log.to_owned(),
        };
        let process =
            Background::start(&spec).map_err(|e| format!("{e} (install chromium-driver)"))?;
        let deadline = Instant::now() + timeout;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "chromedriver did not listen on port {port} in time"
                ));
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
    pub fn run<T, F, Fut>(&self, browser: &Browser, what: &str, steps: F) -> Result<T, String>
    where
        F: FnOnce(WebDriver) -> Fut,
        Fut: Future<Output = (WebDriver, Result<T, String>)>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
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
                .unwrap_or_else(|_| Err(format!("{what} did not finish in time")))
        })
    }

    async fn open(&self, browser: &Browser) -> Result<WebDriver, String> {
        let mut caps = DesiredCapabilities::chrome();
        let e = |e: WebDriverError| e.to_string();
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
            .map_err(|err| format!("cannot start a browser session: {err}"))
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
pub async fn console_messages(driver: &WebDriver) -> Result<Vec<ConsoleMessage>, String> {
    driver
        .handle
        .cmd(thirtyfour::common::command::Command::ExtensionCommand(
            Box::new(BrowserLog),
        ))
        .await
        .and_then(|r| r.value::<Vec<ConsoleMessage>>())
        .map_err(|e| format!("cannot read the browser console: {e}"))
}
