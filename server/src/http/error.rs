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

/// `limit` of a list route: 1 to 1 000, 50 when absent.
pub fn limit_param(q: &std::collections::HashMap<String, String>) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(50),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_param(format!(
                    "'limit' must be an integer from 1 to 1000, got '{v}'"
                ))
            }),
    }
}
