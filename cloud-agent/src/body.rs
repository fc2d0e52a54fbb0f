//! Reading a request body: JSON only, gzip or not, bounded before and after
//! decompression (a small gzip body can inflate to gigabytes).

use std::io::Read as _;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::ApiError;

/// The body as sent (for forwarding) and as JSON text (for parsing).
#[derive(Debug, Clone)]
pub struct JsonBody {
    /// The bytes on the wire.
    pub raw: Bytes,
    /// Whether `raw` is gzip.
    pub gzip: bool,
    /// The JSON document.
    pub json: Bytes,
}

/// Reads a JSON body of at most `limit` bytes, decompressed.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<JsonBody, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "expected Content-Type application/json, found {}",
                if content_type.is_empty() {
                    "none".to_owned()
                } else {
                    format!("{content_type:?}")
                }
            ),
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("identity") | Some("") => false,
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected Content-Encoding gzip or none, found {other:?}"),
            ));
        }
    };
    let too_large = |what: &str| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("expected a body of at most {limit} bytes, found a larger {what}"),
        )
    };
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large("body"))?;
    if !gzip {
        return Ok(JsonBody {
            json: raw.clone(),
            raw,
            gzip,
        });
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
    flate2::read::GzDecoder::new(&raw[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            ApiError::bad_field(
                "",
                format!("expected a gzip body (Content-Encoding: gzip), found bytes that do not inflate: {e}"),
            )
        })?;
    if out.len() > limit {
        return Err(too_large("body once decompressed"));
    }
    Ok(JsonBody {
        raw,
        gzip,
        json: Bytes::from(out),
    })
}
