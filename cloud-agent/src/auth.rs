//! Bearer tokens, compared in constant time.

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Checks the request's `Authorization: Bearer …` against `expected` (the value
/// of the environment variable `name`). Both sides are hashed first so the
/// comparison takes the same time whatever the token's length.
pub fn check(headers: &HeaderMap, expected: Option<&str>, name: &str) -> Result<(), ApiError> {
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return Err(ApiError::unauthorized(format!(
            "this route is closed: the service has no {name} set"
        )));
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "expected an Authorization: Bearer <token> header, found none",
        ));
    };
    let Some(given) = value.to_str().ok().and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    }) else {
        return Err(ApiError::unauthorized(
            "expected an Authorization header of the form Bearer <token>",
        ));
    };
    let same: bool = Sha256::digest(given.trim().as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    if same {
        Ok(())
    } else {
        Err(ApiError::unauthorized(format!(
            "the bearer token does not match {name}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(v).expect("header"),
        );
        h
    }

    #[test]
    fn only_the_right_token_passes() {
        assert!(check(&with("Bearer s3cret"), Some("s3cret"), "AGENT_TOKEN").is_ok());
        assert!(check(&with("Bearer s3cre"), Some("s3cret"), "AGENT_TOKEN").is_err());
        assert!(check(&with("s3cret"), Some("s3cret"), "AGENT_TOKEN").is_err());
        assert!(check(&HeaderMap::new(), Some("s3cret"), "AGENT_TOKEN").is_err());
        let e = check(&with("Bearer x"), None, "AGENT_TOKEN").expect_err("closed");
        assert!(e.message.contains("no AGENT_TOKEN set"), "{}", e.message);
    }
}
