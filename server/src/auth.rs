//! Single-user API-key authentication, as bluesky-httpserver does it without auth providers.
//!
//! A request is authenticated by `Authorization: ApiKey <key>` (or `Bearer <key>`), by
//! `?api_key=<key>` (which also sets the `hutch_api_key` cookie, so a browser opened with the link
//! hutch prints at start stays signed in), or by that cookie. `/api/*` routes refuse anything else
//! with 401; pages are served to everyone. The principal is stamped into queued items.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;

use crate::queue::manager::Principal;
use crate::AppState;

pub const COOKIE: &str = "hutch_api_key";
pub const SINGLE_USER: &str = "UNAUTHENTICATED_SINGLE_USER";
pub const SINGLE_USER_GROUP: &str = "primary";

/// What the request presented.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    None,
    Key(String),
    /// An `Authorization` scheme hutch does not know.
    BadScheme(String),
}

fn query_key(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("api_key="))
        .map(String::from)
}

fn cookie_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| {
            cookies.split(';').find_map(|c| {
                c.trim()
                    .strip_prefix(&format!("{COOKIE}="))
                    .map(String::from)
            })
        })
}

pub fn credentials(headers: &HeaderMap, query: Option<&str>) -> Credentials {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, key) = auth.split_once(' ').unwrap_or((auth, ""));
        return match scheme.to_ascii_lowercase().as_str() {
            "apikey" | "bearer" => Credentials::Key(key.trim().to_string()),
            _ => Credentials::BadScheme(scheme.to_string()),
        };
    }
    match query_key(query).or_else(|| cookie_key(headers)) {
        Some(k) => Credentials::Key(k),
        None => Credentials::None,
    }
}

/// Constant-time comparison, so the key cannot be guessed from timing.
pub fn key_matches(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn deny(status: StatusCode, detail: &str) -> Response {
    (
        status,
        Json(json!({"success": false, "msg": detail, "detail": detail})),
    )
        .into_response()
}

/// Checks the key on `/api/*` and stamps the principal; turns `?api_key=` on a page into a cookie.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let creds = credentials(req.headers(), req.uri().query());
    let expected: &str = &state.api_key;
    let valid = matches!(&creds, Credentials::Key(k) if key_matches(k, expected));
    if !path.starts_with("/api/") && path != "/api" {
        // A page: remember a valid key from the link in a cookie and drop it from the address bar.
        if valid && query_key(req.uri().query()).is_some() {
            let mut resp = Redirect::to(&path).into_response();
            let cookie =
                format!("{COOKIE}={expected}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
        return next.run(req).await;
    }
    if path == "/api/stream" {
        // The socket checks for itself so that it can tell the browser why (close code 4001).
        req.extensions_mut().insert(Authorized(valid));
        return next.run(req).await;
    }
    match creds {
        Credentials::None => deny(
            StatusCode::UNAUTHORIZED,
            "Not enough permissions. Requires an API key: send 'Authorization: ApiKey <key>' (hutch prints its key at start)",
        ),
        Credentials::BadScheme(s) => deny(
            StatusCode::BAD_REQUEST,
            &format!("Authorization scheme '{s}' is not supported; use 'ApiKey <key>'"),
        ),
        Credentials::Key(_) if !valid => deny(StatusCode::UNAUTHORIZED, "Invalid API key"),
        Credentials::Key(_) => {
            req.extensions_mut().insert(Principal { user: SINGLE_USER.into(), user_group: SINGLE_USER_GROUP.into() });
            next.run(req).await
        }
    }
}

/// Whether the `/api/stream` request carried a valid key.
#[derive(Clone, Copy, Debug)]
pub struct Authorized(pub bool);

/// A new random key: 32 alphanumeric characters.
pub fn generate_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn keys_come_from_header_query_or_cookie() {
        assert_eq!(
            credentials(&headers(&[("authorization", "ApiKey abc")]), None),
            Credentials::Key("abc".into())
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "apikey abc")]), None),
            Credentials::Key("abc".into())
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "Bearer abc")]), None),
            Credentials::Key("abc".into())
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "Token abc")]), None),
            Credentials::BadScheme("Token".into())
        );
        assert_eq!(
            credentials(&headers(&[]), Some("x=1&api_key=q1")),
            Credentials::Key("q1".into())
        );
        assert_eq!(
            credentials(&headers(&[("cookie", "a=b; hutch_api_key=c1")]), None),
            Credentials::Key("c1".into())
        );
        assert_eq!(credentials(&headers(&[]), None), Credentials::None);
    }

    #[test]
    fn key_comparison() {
        assert!(key_matches("abc", "abc"));
        assert!(!key_matches("abd", "abc"));
        assert!(!key_matches("ab", "abc"));
    }
}
