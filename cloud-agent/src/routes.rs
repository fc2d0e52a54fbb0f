//! The service's HTTP routes: the relay (`POST /api/ci/logs`), the analyzer
//! (`POST /process-logs`), stored runs (`GET /api/runs/{run_id}`) and the health
//! check.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use ci_medic_core::diagnose::analysis::{Analysis, AnalysisSource};
use ci_medic_core::diagnose::classify::Classifier;
use serde::Serialize;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::relay::Upstream;
use crate::store::{Store, Stored};
use crate::{auth, body};

/// The request id header, set when the client sent none and echoed back.
pub const REQUEST_ID: &str = "x-request-id";

/// Everything a request needs.
#[derive(Debug)]
pub struct AppState {
    /// `AGENT_TOKEN`: the relay's and the runs route's token.
    pub agent_token: Option<String>,
    /// `DEVELOPER_AGENT_TOKEN`: the analyzer's token.
    pub developer_token: Option<String>,
    /// The analyzer to relay to; none runs it in-process.
    pub upstream: Option<Upstream>,
    /// Where records go.
    pub store: Store,
    /// The rules.
    pub classifier: Classifier,
    /// The largest body accepted, decompressed.
    pub max_body: usize,
}

/// The health check's answer.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Always `"ok"` while the process serves requests.
    pub status: &'static str,
    /// The service's version, so a probe can tell which build answers.
    pub version: &'static str,
}

/// The relay's answer.
#[derive(Debug, Serialize)]
struct Received {
    status: &'static str,
    upstream: serde_json::Value,
}

/// Builds the router shared by every way of serving it.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/ci/logs", post(relay))
        .route("/process-logs", post(process_logs))
        .route("/api/runs/{run_id}", get(run))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are bounded by `body::read`, before and after gzip.
        .layer(DefaultBodyLimit::disable())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<Body>| {
                // Method, path and request id only: never headers (tokens) or bodies.
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route: the routes are POST /api/ci/logs, POST /process-logs, GET /api/runs/{run_id}, GET /healthz",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// `POST /api/ci/logs`: validate, then forward to the analyzer or analyze here.
async fn relay(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    auth::check(&headers, state.agent_token.as_deref(), "AGENT_TOKEN")?;
    let body = body::read(&headers, body, state.max_body).await?;
    let bundle = validate(&body.json)?;
    let (analysis, replayed) = match &state.upstream {
        Some(upstream) => {
            let v = upstream
                .forward(body.raw, body.gzip, &request_id(&headers))
                .await?;
            (v, false)
        }
        None => {
            let (bytes, replayed) = analyze_and_store(&state, bundle, body.json).await?;
            let v = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::internal(format!("stored analysis is not JSON: {e}")))?;
            (v, replayed)
        }
    };
    let mut response = Json(Received {
        status: "received",
        upstream: analysis,
    })
    .into_response();
    mark_replayed(&mut response, replayed);
    Ok(response)
}

/// `POST /process-logs`: validate, analyze, store, answer with the analysis.
async fn process_logs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    auth::check(
        &headers,
        state.developer_token.as_deref(),
        "DEVELOPER_AGENT_TOKEN",
    )?;
    let body = body::read(&headers, body, state.max_body).await?;
    let bundle = validate(&body.json)?;
    let (bytes, replayed) = analyze_and_store(&state, bundle, body.json).await?;
    let mut response = (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response();
    mark_replayed(&mut response, replayed);
    Ok(response)
}

/// `GET /api/runs/{run_id}`: the latest stored analysis of a run.
async fn run(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    auth::check(&headers, state.agent_token.as_deref(), "AGENT_TOKEN")?;
    if let Err(why) = ci_medic_core::bundle::check_run_id(&run_id) {
        return Err(ApiError {
            field: Some("run_id".into()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_run_id",
                format!(
                    "expected {}, found {:?} ({why})",
                    ci_medic_core::bundle::RUN_ID_EXPECTED,
                    ci_medic_core::text::one_line(&run_id, 80)
                ),
            )
        });
    }
    match state.store.latest_analysis(&run_id).await {
        Ok(Some(bytes)) => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response()),
        Ok(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "run_not_found",
            format!("no analysis is stored for run {run_id}"),
        )),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

fn validate(json: &[u8]) -> Result<ci_medic_core::Bundle, ApiError> {
    ci_medic_core::bundle::parse(json)
        .map_err(|e| ApiError::bad_field(e.field.clone(), e.to_string()))
}

/// Classifies and plans off the async threads, then stores bundle and analysis.
/// Returns the analysis as stored and whether it was already there.
async fn analyze_and_store(
    state: &Arc<AppState>,
    bundle: ci_medic_core::Bundle,
    json: Bytes,
) -> Result<(Bytes, bool), ApiError> {
    let run_id = bundle.run.run_id.clone();
    let attempt = bundle.run.run_attempt;
    // A retry finds its record before any analysis is spent on it.
    match state.store.analysis(&run_id, attempt).await {
        Ok(Some(existing)) => return Ok((existing, true)),
        Ok(None) => {}
        Err(e) => return Err(ApiError::internal(e.to_string())),
    }
    let worker = Arc::clone(state);
    let analysis: Analysis = tokio::task::spawn_blocking(move || {
        let mut a = ci_medic_core::diagnose::plan::analyze(
            &worker.classifier,
            &bundle,
            ci_medic_core::collect::now_rfc3339(),
        );
        a.source = AnalysisSource::Service;
        a
    })
    .await
    .map_err(|e| ApiError::internal(format!("the analyzer failed: {e}")))?;
    let bytes = Bytes::from(
        serde_json::to_vec(&analysis)
            .map_err(|e| ApiError::internal(format!("cannot serialize the analysis: {e}")))?,
    );
    match state
        .store
        .put_record(&run_id, attempt, json, bytes.clone())
        .await
    {
        Ok(Stored::New) => Ok((bytes, false)),
        Ok(Stored::Existing(existing)) => Ok((existing, true)),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// `Idempotent-Replayed: true` when the answer is a record stored earlier.
fn mark_replayed(response: &mut Response, replayed: bool) {
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
}
