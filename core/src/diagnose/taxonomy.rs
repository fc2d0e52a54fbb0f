//! The failure taxonomy: the one `error_type` every failure is assigned.
//!
//! Types are chosen for the remediation they imply, not for how the error message
//! reads: a test timeout caused by a renamed selector is `selector_drift`, because
//! updating the locator is what fixes it.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What went wrong with a failed test (or a run-level error).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// A locator matches nothing, too many elements (strict mode) or a detached node.
    SelectorDrift,
    /// An `expect()` value differs while the page itself works.
    AssertionMismatch,
    /// A screenshot or snapshot differs from its baseline, or the baseline is missing.
    VisualRegression,
    /// Timing: late elements, slow responses, passes on retry.
    TimeoutFlaky,
    /// Storage state missing or expired, redirected to login, 401/403.
    AuthState,
    /// Baseline data is missing or wrong.
    DataSeed,
    /// The app is unreachable: connection refused, webServer timeout, 502/503/504.
    ServerUnavailable,
    /// Transient network errors: resets, DNS hiccups, aborted requests.
    NetworkFlake,
    /// The browser, context or page closed or crashed (often out of memory).
    BrowserCrash,
    /// Browsers or dependencies missing, configuration errors.
    EnvironmentSetup,
    /// A product error: an uncaught page error, a 5xx from the app's own API.
    AppError,
    /// A bug in the spec itself.
    TestCodeError,
    /// No rule is confident.
    Unknown,
}

/// The kind of remediation an error type allows (docs/design.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Remediation {
    /// A code change prepared by the fix-agent, applied only after review.
    FixAgent,
    /// A safe, non-code action by self-heal followed by a rerun.
    SelfHeal,
    /// Nothing automatic: a person has to look.
    Human,
}

impl ErrorType {
    /// Every error type, in the order of the taxonomy table.
    pub const ALL: [ErrorType; 13] = [
        ErrorType::SelectorDrift,
        ErrorType::AssertionMismatch,
        ErrorType::VisualRegression,
        ErrorType::TimeoutFlaky,
        ErrorType::AuthState,
        ErrorType::DataSeed,
        ErrorType::ServerUnavailable,
        ErrorType::NetworkFlake,
        ErrorType::BrowserCrash,
        ErrorType::EnvironmentSetup,
        ErrorType::AppError,
        ErrorType::TestCodeError,
        ErrorType::Unknown,
    ];

    /// The stable identifier used in JSON contracts and configuration files.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::SelectorDrift => "selector_drift",
            ErrorType::AssertionMismatch => "assertion_mismatch",
            ErrorType::VisualRegression => "visual_regression",
            ErrorType::TimeoutFlaky => "timeout_flaky",
            ErrorType::AuthState => "auth_state",
            ErrorType::DataSeed => "data_seed",
            ErrorType::ServerUnavailable => "server_unavailable",
            ErrorType::NetworkFlake => "network_flake",
            ErrorType::BrowserCrash => "browser_crash",
            ErrorType::EnvironmentSetup => "environment_setup",
            ErrorType::AppError => "app_error",
            ErrorType::TestCodeError => "test_code_error",
            ErrorType::Unknown => "unknown",
        }
    }

    /// One line on what the type means, for summaries and dashboards.
    pub const fn meaning(self) -> &'static str {
        match self {
            ErrorType::SelectorDrift => {
                "locator matches nothing / too many (strict mode) / detached"
            }
            ErrorType::AssertionMismatch => "expect() value differs, page works",
            ErrorType::VisualRegression => "screenshot/snapshot diff or missing baseline",
            ErrorType::TimeoutFlaky => "timing; passes on retry; late elements",
            ErrorType::AuthState => "storage state missing/expired, login redirect, 401/403",
            ErrorType::DataSeed => "baseline data missing/wrong",
            ErrorType::ServerUnavailable => "app unreachable, webServer timeout, 502/503/504",
            ErrorType::NetworkFlake => "transient network errors",
            ErrorType::BrowserCrash => "target/page/browser closed, crash, OOM",
            ErrorType::EnvironmentSetup => "browsers/deps missing, config errors",
            ErrorType::AppError => "product error: pageerror, 5xx from the app's API",
            ErrorType::TestCodeError => "bug in the spec itself",
            ErrorType::Unknown => "no rule is confident",
        }
    }

    /// Who or what may act on a failure of this type.
    pub const fn remediation(self) -> Remediation {
        match self {
            ErrorType::SelectorDrift
            | ErrorType::AssertionMismatch
            | ErrorType::VisualRegression
            | ErrorType::TestCodeError => Remediation::FixAgent,
            ErrorType::TimeoutFlaky
            | ErrorType::AuthState
            | ErrorType::DataSeed
            | ErrorType::ServerUnavailable
            | ErrorType::NetworkFlake
            | ErrorType::BrowserCrash
            | ErrorType::EnvironmentSetup => Remediation::SelfHeal,
            ErrorType::AppError | ErrorType::Unknown => Remediation::Human,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no error type of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error_type {found:?}: expected one of {expected}")]
pub struct UnknownErrorType {
    /// What was given.
    pub found: String,
    /// The accepted names, comma-separated.
    pub expected: String,
}

impl FromStr for ErrorType {
    type Err = UnknownErrorType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownErrorType {
                found: s.to_owned(),
                expected: ErrorType::ALL.map(ErrorType::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for t in ErrorType::ALL {
            assert_eq!(t.as_str().parse::<ErrorType>(), Ok(t));
            let json = serde_json::to_string(&t).expect("serialize");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            let back: ErrorType = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, t);
        }
    }

    #[test]
    fn unknown_name_is_rejected_with_the_accepted_list() {
        let err = "selector-drift"
            .parse::<ErrorType>()
            .expect_err("hyphen is not accepted");
        assert_eq!(err.found, "selector-drift");
        assert!(err.to_string().contains("selector_drift"), "{err}");
        assert!(err.to_string().contains("test_code_error"), "{err}");
    }

    #[test]
    fn remediation_follows_the_design_table() {
        assert_eq!(
            ErrorType::SelectorDrift.remediation(),
            Remediation::FixAgent
        );
        assert_eq!(ErrorType::DataSeed.remediation(), Remediation::SelfHeal);
        assert_eq!(ErrorType::BrowserCrash.remediation(), Remediation::SelfHeal);
        assert_eq!(ErrorType::AppError.remediation(), Remediation::Human);
        assert_eq!(ErrorType::Unknown.remediation(), Remediation::Human);
    }
}
