//! When and how long to wait before trying a request again: shared by `send`
//! and the service's relay so both back off the same way.

use std::time::Duration;

/// Exponential backoff with full jitter, bounded in attempts and delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The ceiling of the first wait.
    pub base: Duration,
    /// The ceiling of any wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            attempts: 3,
            base: Duration::from_millis(200),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The wait before try `retry` (1 for the first retry): uniformly random in
    /// `0..=min(max, base · 2^(retry-1))`, so that clients failing together do
    /// not retry together. `unit` is a random number in `[0, 1)`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let exp = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = self.base.saturating_mul(exp).min(self.max);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Whether an HTTP status is worth retrying: the server failed or is
/// overloaded, not the request. 501 and 505 never get better.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status) && !matches!(status, 501 | 505)
}

/// How a request failed before any answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// It ran past its time limit.
    Timeout,
    /// No connection was made.
    Connect,
    /// Anything else.
    Other,
}

impl Transport {
    /// From an HTTP client's own flags (reqwest's `is_timeout`, `is_connect`).
    pub fn of(timeout: bool, connect: bool) -> Transport {
        if timeout {
            Transport::Timeout
        } else if connect {
            Transport::Connect
        } else {
            Transport::Other
        }
    }
}

/// A transport error in words, without its URL (a URL can carry credentials):
/// the kind and the innermost cause of `e`, whatever HTTP client raised it.
pub fn describe_transport_error(kind: Transport, e: &(dyn std::error::Error + 'static)) -> String {
    let kind = match kind {
        Transport::Timeout => "timed out",
        Transport::Connect => "could not connect",
        Transport::Other => "request failed",
    };
    let mut inner = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        inner = s.to_string();
        source = s.source();
    }
    if inner.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} ({inner})")
    }
}

/// The `error.message` of a structured error body
/// (`{"error": {"message": …}}`), else the start of the body.
pub fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| crate::text::one_line(&String::from_utf8_lossy(body), 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        let b = Backoff {
            attempts: 6,
            base: Duration::from_millis(100),
            max: Duration::from_millis(700),
        };
        assert_eq!(b.delay(1, 0.999_999).as_millis(), 99);
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(b.delay(5, 1.0), Duration::from_millis(700));
        assert_eq!(b.delay(30, 1.0), Duration::from_millis(700));
        assert_eq!(b.delay(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn error_bodies_are_read_for_their_message() {
        assert_eq!(
            error_message(br#"{"error": {"code": "x", "message": "the token does not match"}}"#),
            "the token does not match"
        );
        assert_eq!(
            error_message(b"<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
    }

    #[test]
    fn a_transport_error_names_its_kind_and_innermost_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (https://user:secret@example.test/)")]
        struct Outer(#[source] std::io::Error);
        let outer = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(
            describe_transport_error(Transport::Connect, &outer),
            "could not connect (connection refused)"
        );
        let bare = std::io::Error::other("x");
        assert_eq!(
            describe_transport_error(Transport::Timeout, &bare),
            "timed out"
        );
    }

    #[test]
    fn only_server_side_failures_are_retried() {
        for s in [500, 502, 503, 504, 429, 408] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 404, 413, 415, 501, 505] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
