//! The one error type at the HTTP edge (the route handlers' and the auth checks' alike).
//!
//! Its JSON is `{"success": false, "msg": "...", "detail": "..."}`: `success`/`msg` is the shape
//! of every bluesky-httpserver reply, and `detail` (the same text) is what FastAPI clients such as
//! `bluesky-queueserver-api` read from a non-200 reply.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub msg: String,
}

impl ApiError {
    pub fn new(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            msg: msg.into(),
        }
    }

    /// A database failure: logged in full, answered without internals.
    pub fn database(e: sqlx::Error) -> Self {
        tracing::error!("database query failed: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the database could not answer; see the server log",
        )
    }

    /// A bad query parameter.
    pub fn bad_param(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, msg)
    }

    /// The request body could not be used (FastAPI answers 422 here, so bluesky clients expect it).
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, msg = %self.msg, "request failed");
        }
        let body = serde_json::json!({ "success": false, "msg": self.msg, "detail": self.msg });
        (self.status, Json(body)).into_response()
    }
}
