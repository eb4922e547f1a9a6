//! The outer layer every request passes: it authenticates whatever was presented, and keeps pages
//! other than the login page behind a signed-in browser (API routes check their own scope).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::credentials::query_param;
use super::pages::{forbidden_page, kiosk_refused};
use super::{credentials, csrf_for_key, scopes, urlencode, Auth, Authn, COOKIE};

/// The page anyone may load (static files never reach the check).
fn public_page(path: &str) -> bool {
    path == "/login"
}

/// Authenticates every request. API routes check their scope themselves ([`require`]); pages
/// other than the login page need a signed-in browser; `?api_key=` on a page becomes a cookie.
pub async fn layer(State(auth): State<Auth>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    // The browser bundle and icons are the same for everyone: no credential lookup for them.
    if path.starts_with("/pkg/") || path.starts_with("/favicon") {
        return next.run(req).await;
    }
    let creds = credentials(req.headers(), req.uri().query());
    let authn = auth.authenticate(&creds).await;
    req.extensions_mut().insert(auth.clone());
    if path.starts_with("/api/") || path == "/api" {
        req.extensions_mut().insert(authn);
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let link_key = query_param(Some(&query), "api_key");
    match (&authn, link_key) {
        // The link hutch prints (or a kiosk link): remember the key in a cookie, and drop it from
        // the address bar so that it is not bookmarked or shown on a wall screen.
        (Authn::Ok(_), Some(_))
            if req
                .headers()
                .get("sec-fetch-site")
                .is_some_and(|v| v.as_bytes() == b"cross-site") =>
        {
            // A link on another site's page would sign this browser in with that site's key.
            forbidden_page(
                "This sign-in link was followed from another site; open it from hutch's own output, a bookmark, or type it in",
            )
        }
        (Authn::Ok(id), _) if !id.has(scopes::READ_STATUS) => forbidden_page(&format!(
            "Signed in as '{}', who may not read the status ({}), so no page can be shown; ask an administrator for a role with it",
            id.user,
            scopes::READ_STATUS
        )),
        (Authn::Ok(_), Some(key)) => {
            let rest: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("api_key=") && !kv.is_empty())
                .collect();
            // Never `//host`: a browser reads that as another site.
            let path = format!("/{}", path.trim_start_matches('/'));
            let target = if rest.is_empty() {
                path
            } else {
                format!("{path}?{}", rest.join("&"))
            };
            let mut resp = Redirect::to(&target).into_response();
            for c in auth.cookies(COOKIE, &key, &csrf_for_key(&key), 31_536_000) {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        }
        (Authn::Ok(id), None) => {
            let id = id.clone();
            req.extensions_mut().insert(id.principal());
            req.extensions_mut().insert(id);
            next.run(req).await
        }
        _ if public_page(&path) => next.run(req).await,
        (authn, _) => {
            let why = match authn {
                Authn::Denied { msg, .. } => msg.clone(),
                _ => String::new(),
            };
            if path == "/kiosk" {
                return kiosk_refused(&why);
            }
            let here = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            let mut to = format!("/login?next={}", urlencode(&here));
            if !why.is_empty() {
                to.push_str(&format!("&error={}", urlencode(&why)));
            }
            Redirect::to(&to).into_response()
        }
    }
}
