//! The per-route check every API route declares through `http::api::Api`: the scope it needs,
//! CSRF for cookie-authenticated writes, the origin of cookie-authenticated sockets and the ingest
//! rate; then it stamps the principal on the request and audits what changes.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

use super::*;

pub(super) fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Whether the page that sent a cookie-authenticated WebSocket request is ours.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true; // not a browser
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

pub(super) fn not_enough(need: &str, id: Option<&Identity>) -> String {
    match id {
        None => format!(
            "Not enough permissions. Requires scopes ['{need}']. Request had scopes []. Send your API key as 'Authorization: ApiKey <key>' (hutch prints its key at start) or sign in at /login"
        ),
        Some(id) => format!(
            "Not enough permissions. Requires scopes ['{need}']. Request had scopes [{}] (user '{}', role {})",
            id.scopes.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "),
            id.user,
            id.role.as_str()
        ),
    }
}

/// Bodies up to this size are copied into the audit log.
const AUDIT_BODY: u64 = 64 * 1024;

/// The per-route check: scope, CSRF for cookie-authenticated writes, the origin of
/// cookie-authenticated sockets, the ingest rate; then it stamps the principal and audits writes.
pub async fn require(State(need): State<Need>, mut req: Request, next: Next) -> Response {
    let authn = req
        .extensions()
        .get::<Authn>()
        .cloned()
        .unwrap_or(Authn::Anonymous);
    let Some(auth) = req.extensions().get::<Auth>().cloned() else {
        return ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "authentication is not set up",
        )
        .into_response();
    };
    if need == Need::Public {
        if let Authn::Ok(id) = &authn {
            let id = id.clone();
            req.extensions_mut().insert(id.principal());
            req.extensions_mut().insert(id);
        }
        return next.run(req).await;
    }
    let id = match authn {
        Authn::Ok(id) => id,
        // The stream socket tells a browser why it is refused (close code 4001).
        _ if need == Need::Stream && is_upgrade(&req) => return next.run(req).await,
        Authn::Denied { status, msg } => return ApiError::new(status, msg).into_response(),
        Authn::Anonymous => {
            let scope = match need {
                Need::Scope(s) => s,
                _ => scopes::READ_STATUS,
            };
            return ApiError::new(StatusCode::UNAUTHORIZED, not_enough(scope, None))
                .into_response();
        }
    };
    if let Need::Scope(s) = need {
        if !id.has(s) {
            return ApiError::new(StatusCode::FORBIDDEN, not_enough(s, Some(&id))).into_response();
        }
    }
    if let Some(expected) = &id.csrf {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
                .or_else(|| query_param(req.uri().query(), "csrf"));
            if !given.is_some_and(|g| key_matches(&g, expected)) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "Missing or wrong CSRF token: a request signed in by cookie must send the x-csrf header with the value of the hutch_csrf cookie",
                )
                .into_response();
            }
        }
        if is_upgrade(&req) && !same_origin(req.headers()) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "This WebSocket was opened from another site's page; open hutch's own page",
            )
            .into_response();
        }
    }
    let ingest = need == Need::Scope(scopes::PUBLISH_DOCUMENTS) && req.method() == Method::POST;
    if ingest {
        if let Err(wait) = auth.ingest_allowed(&id.user) {
            let secs = wait.as_secs().max(1);
            let mut resp = ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!(
                    "Too many refused ingest requests (more than {INGEST_FAILURE_RATE} a second): fix what the earlier replies named; retry in {secs} s"
                ),
            ).into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return resp;
        }
    }
    req.extensions_mut().insert(id.principal());
    req.extensions_mut().insert(id.clone());
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD)
        || need == Need::Scope(scopes::PUBLISH_DOCUMENTS);
    if !changes {
        return next.run(req).await;
    }
    // A change: record who, what, when and from where.
    let action = format!("{} {}", req.method(), req.uri().path());
    let from = source(&req);
    let small = {
        use axum::body::HttpBody;
        req.body()
            .size_hint()
            .upper()
            .is_some_and(|n| n <= AUDIT_BODY)
    };
    let (req, detail) = if small && need != Need::Scope(scopes::PUBLISH_DOCUMENTS) {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, AUDIT_BODY as usize)
            .await
            .unwrap_or_default();
        let detail = audit::redact(&bytes);
        (Request::from_parts(parts, Body::from(bytes)), detail)
    } else {
        let len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("streamed")
            .to_string();
        (req, format!("({len} bytes, not copied)"))
    };
    let resp = next.run(req).await;
    if ingest && resp.status().is_client_error() {
        auth.ingest_failed(&id.user);
    }
    auth.audit
        .record(audit::Entry {
            at: crate::clock::Timestamp::now().record(),
            user: id.user,
            role: id.role.as_str().into(),
            action,
            status: resp.status().as_u16(),
            source: from,
            detail,
        })
        .await;
    resp
}
