//! Hardening around every request, from tower-http: a request that takes longer than the
//! deadline is answered 503, and a handler that panics is answered 500 with a plain message —
//! never a backtrace — while the details go to the server log. The deadline covers the reply's
//! head only: a streamed body (`/documents`) and an upgraded WebSocket (which has its own send
//! timeouts) run on.
//!
//! tower-http's timeout answers with an empty body; [`explain`] gives it the bluesky shape. In
//! a router, innermost first: `.layer(timeout(d)).layer(catch_panic()).layer(map_response(explain))`.

use std::any::Any;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};
use tower_http::timeout::TimeoutLayer;

use super::ApiError;

/// The longest a request may take to be answered.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// The panic layer: logs the panic's message, answers 500 in the API's error shape.
#[derive(Clone, Copy, Debug, Default)]
pub struct PanicReply;

impl ResponseForPanic for PanicReply {
    type ResponseBody = axum::body::Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        tracing::error!("a request handler panicked: {msg}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "hutch hit an internal error answering this request; it is in the server log",
        )
        .into_response()
    }
}

pub fn catch_panic() -> CatchPanicLayer<PanicReply> {
    CatchPanicLayer::custom(PanicReply)
}

pub fn timeout(deadline: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, deadline)
}

/// Gives the timeout layer's bare 503 a message. A 503 a handler wrote itself has a body type
/// and is left alone.
pub async fn explain(response: Response) -> Response {
    if response.status() != StatusCode::SERVICE_UNAVAILABLE
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    tracing::error!("a request took longer than {REQUEST_DEADLINE:?}; answered 503");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the request took longer than {} s and was abandoned; try again, and see the server log",
            REQUEST_DEADLINE.as_secs()
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn guarded(deadline: Duration) -> Router {
        Router::new()
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("boom at the handler");
                    }
                    "unreached"
                }),
            )
            .route("/slow", get(std::future::pending::<&str>))
            .route(
                "/busy",
                get(|| async { ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "mine") }),
            )
            .layer(timeout(deadline))
            .layer(catch_panic())
            .layer(axum::middleware::map_response(explain))
    }

    async fn call(path: &str) -> (StatusCode, serde_json::Value) {
        let req = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = guarded(Duration::from_millis(20))
            .oneshot(req)
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_panic_is_a_500_in_the_error_shape_without_its_message() {
        let (status, body) = call("/panic").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["success"], false);
        assert!(!body["msg"].as_str().unwrap().contains("boom"), "{body}");
    }

    #[tokio::test]
    async fn a_request_past_the_deadline_is_a_503_that_says_so() {
        let (status, body) = call("/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["msg"].as_str().unwrap().contains("took longer than"),
            "{body}"
        );
        let (status, body) = call("/busy").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["msg"], "mine", "a handler's own 503 is kept");
    }
}
