//! `/api/status`, `/api/ping` and `/api/`: the bluesky status dictionary.
//!
//! Like bluesky-httpserver these are GET routes that may carry a JSON object body
//! (`{"reload": true}`); hutch's status is always current, so the body's keys change nothing, but
//! a body that is not a JSON object is refused with 422 as the reference does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/", Need::Scope(scopes::READ_STATUS), status)
        .get("/api/ping", Need::Scope(scopes::READ_STATUS), status)
        .get("/api/status", Need::Scope(scopes::READ_STATUS), status)
}

async fn status(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    json_object_body(&body)?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        state.status.json(),
    )
        .into_response())
}

/// Accepts an empty body or a JSON object, as every bluesky-httpserver route does.
pub fn json_object_body(
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::unprocessable(
            "the request body must be a JSON object, such as {}",
        )),
        Err(e) => Err(ApiError::unprocessable(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}
