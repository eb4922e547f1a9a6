//! The API's fallbacks (no such route, wrong method) and shared parameter checks, answered as
//! [`ApiError`]s.

use axum::http::{Method, StatusCode, Uri};

pub use crate::error::ApiError;

pub async fn api_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "there is no API route {method} {}; docs/api.md lists the routes",
            uri.path()
        ),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} does not accept {method}; docs/api.md lists the methods of each route",
            uri.path()
        ),
    )
}

/// What a list route's `limit` must be, for the error text.
pub const LIMIT: &str = "an integer from 1 to 1000";

/// `limit` of a list route: 1 to 1 000, 50 when absent.
pub fn limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_param(format!(
            "'limit' must be {LIMIT}, got '{n}'"
        ))),
    }
}
