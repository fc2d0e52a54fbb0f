//! The relay's client for the analyzer (`DEVELOPER_AGENT_URL`): a deadline over
//! all tries, retries with exponential backoff and jitter on 5xx and timeouts
//! only, and a circuit breaker so a dead analyzer costs callers nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bytes::Bytes;
use ci_medic_core::retry::{
    Backoff, Transport, describe_transport_error, error_message, retryable_status,
};

use crate::error::ApiError;

/// How the relay talks to the analyzer.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The analyzer's base URL; requests go to `<url>/process-logs`.
    pub url: String,
    /// Its bearer token (`DEVELOPER_AGENT_TOKEN`).
    pub token: Option<String>,
    /// The deadline for the whole exchange, retries included.
    pub timeout: Duration,
    /// Tries and waits.
    pub backoff: Backoff,
    /// Consecutive failures that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit refuses before letting one request through.
    pub breaker_cooldown: Duration,
}

/// The analyzer's client.
#[derive(Debug)]
pub struct Upstream {
    config: UpstreamConfig,
    endpoint: String,
    client: reqwest::Client,
    breaker: Mutex<Breaker>,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// How one try ended.
enum Try {
    Done(serde_json::Value),
    /// Worth another try: the status (or none for a network error) and why.
    Retry(Option<u16>, String),
    /// Not worth another try.
    Fail(ApiError),
}

impl Upstream {
    /// A client for `config`.
    pub fn new(config: UpstreamConfig) -> Result<Upstream, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()?;
        let endpoint = format!("{}/process-logs", config.url.trim_end_matches('/'));
        Ok(Upstream {
            config,
            endpoint,
            client,
            breaker: Mutex::new(Breaker::default()),
        })
    }

    /// Forwards a validated bundle (as received: `gzip` says whether `raw` is
    /// compressed) and returns the analyzer's analysis.
    pub async fn forward(
        &self,
        raw: Bytes,
        gzip: bool,
        request_id: &str,
    ) -> Result<serde_json::Value, ApiError> {
        self.admit()?;
        let deadline = Instant::now() + self.config.timeout;
        let result = tokio::time::timeout(
            self.config.timeout,
            self.tries(raw, gzip, request_id, deadline),
        )
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                format!(
                    "the analyzer did not answer within {} ms",
                    self.config.timeout.as_millis()
                ),
            ))
        });
        self.record(result.is_ok());
        result
    }

    async fn tries(
        &self,
        raw: Bytes,
        gzip: bool,
        request_id: &str,
        deadline: Instant,
    ) -> Result<serde_json::Value, ApiError> {
        let mut last = (None, String::new());
        for attempt in 1..=self.config.backoff.attempts.max(1) {
            if attempt > 1 {
                let wait = self
                    .config
                    .backoff
                    .delay(attempt - 1, rand::random::<f64>());
                if Instant::now() + wait >= deadline {
                    break;
                }
                tokio::time::sleep(wait).await;
            }
            match self.try_once(raw.clone(), gzip, request_id).await {
                Try::Done(v) => return Ok(v),
                Try::Fail(e) => return Err(e),
                Try::Retry(status, why) => {
                    tracing::warn!(attempt, ?status, %why, "analyzer try failed");
                    last = (status, why);
                }
            }
        }
        Err(match last.0 {
            Some(status) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_failed",
                format!("the analyzer answered {status}: {}", last.1),
            ),
            None => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                format!("the analyzer could not be reached: {}", last.1),
            ),
        })
    }

    async fn try_once(&self, raw: Bytes, gzip: bool, request_id: &str) -> Try {
        let mut req = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .header("x-request-id", request_id)
            .body(raw);
        if gzip {
            req = req.header("content-encoding", "gzip");
        }
        if let Some(t) = &self.config.token {
            req = req.bearer_auth(t);
        }
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Try::Retry(
                    None,
                    describe_transport_error(Transport::of(e.is_timeout(), e.is_connect()), &e),
                );
            }
        };
        let status = response.status().as_u16();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Try::Retry(
                    Some(status),
                    describe_transport_error(Transport::of(e.is_timeout(), e.is_connect()), &e),
                );
            }
        };
        if (200..300).contains(&status) {
            return match serde_json::from_slice(&body) {
                Ok(v) => Try::Done(v),
                Err(e) => Try::Fail(ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_failed",
                    format!("the analyzer answered {status} with a body that is not JSON: {e}"),
                )),
            };
        }
        let detail = error_message(&body);
        if retryable_status(status) {
            Try::Retry(Some(status), detail)
        } else {
            Try::Fail(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_failed",
                format!("the analyzer answered {status}: {detail}"),
            ))
        }
    }

    /// Refuses at once while the circuit is open.
    fn admit(&self) -> Result<(), ApiError> {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        match b.open_until {
            Some(until) if Instant::now() < until => {
                let wait = until.saturating_duration_since(Instant::now());
                Err(ApiError {
                    retry_after: Some(wait.as_secs().max(1)),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "circuit_open",
                        format!(
                            "the analyzer failed {} times in a row; not trying again for {} s",
                            b.failures,
                            wait.as_secs().max(1)
                        ),
                    )
                })
            }
            Some(_) => {
                // Half-open: this request is the probe; the next failure reopens.
                b.open_until = None;
                b.failures = self.config.breaker_threshold.saturating_sub(1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn record(&self, ok: bool) {
        let mut b = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            *b = Breaker::default();
        } else {
            b.failures += 1;
            if b.failures >= self.config.breaker_threshold.max(1) {
                b.open_until = Some(Instant::now() + self.config.breaker_cooldown);
            }
        }
    }
}
