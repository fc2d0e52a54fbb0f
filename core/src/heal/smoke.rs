//! The smoke report (`ci-medic smoke`): which pages were broken and why (a
//! non-2xx answer, a console error or an uncaught exception, a missing expected
//! title or element). Data only; `ci-medic-exec` visits the pages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The schema id of the smoke report.
pub const SMOKE_SCHEMA: &str = "ci-medic/smoke/v1";

/// What to expect of every page.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// The title must contain this.
    pub title: Option<String>,
    /// This CSS selector must match.
    pub selector: Option<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmokeReport {
    /// Always `ci-medic/smoke/v1`.
    pub schema: String,
    /// Every page passed.
    pub passed: bool,
    /// Each page.
    pub pages: Vec<PageResult>,
}

/// One page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageResult {
    /// The URL asked for.
    pub url: String,
    /// The URL the page ended on.
    pub final_url: String,
    /// The document's HTTP status (Navigation Timing), when known.
    pub status: Option<u16>,
    /// The document's title.
    pub title: String,
    /// Milliseconds until loaded.
    pub load_ms: u64,
    /// Console errors and uncaught exceptions.
    pub errors: Vec<String>,
    /// Why it failed; empty when it passed.
    pub problems: Vec<String>,
}

/// The JSON Schema of the smoke report (committed as `schemas/smoke.v1.json`).
pub fn smoke_schema() -> serde_json::Value {
    crate::model::contract_schema(
        schemars::schema_for!(SmokeReport),
        "https://ci-medic.dev/schemas/smoke.v1.json",
        SMOKE_SCHEMA,
    )
}
