//! Hardening around every request: API requests that take too long are answered 503, and a
//! handler that panics is answered 500 with a plain message — never a backtrace — while the
//! details go to the server log. WebSocket upgrades are exempt from the deadline (the socket
//! tasks have their own send timeouts).

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;

use super::ApiError;
use axum::response::IntoResponse;

/// The longest an API request may take.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

pub async fn layer(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let what = format!("{} {}", req.method(), req.uri().path());
    let run = AssertUnwindSafe(next.run(req)).catch_unwind();
    let outcome = if api && !upgrade {
        match tokio::time::timeout(REQUEST_DEADLINE, run).await {
            Ok(r) => r,
            Err(_) => {
                tracing::error!("{what} took longer than {REQUEST_DEADLINE:?}; answered 503");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the request took longer than {} s and was abandoned; try again, and see the server log",
                        REQUEST_DEADLINE.as_secs()
                    ),
                )
                .into_response();
            }
        }
    } else {
        run.await
    };
    outcome.unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        tracing::error!("{what} panicked: {msg}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "hutch hit an internal error answering this request; it is in the server log",
        )
        .into_response()
    })
}
