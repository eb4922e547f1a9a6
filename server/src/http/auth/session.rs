//! Signing in and out: `POST /api/auth/login` (a user name and password, or the API key in
//! single-user mode) sets the session or key cookie, and `POST /api/auth/logout` clears them.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::auth::scopes::Role;
use crate::auth::{self, audit, Auth, Identity, Mode};
use crate::http::ApiError;
use crate::AppState;

/// A JSON object or a urlencoded form, as a map of strings (forms) or JSON values.
/// What a sign-in sends: `username` and `password` (multi-user mode) or `api_key` (single-user
/// mode), and for the login page's form, the page to go to after.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginBody {
    username: String,
    password: String,
    api_key: String,
    next: String,
}

/// The sign-in from a JSON object or the login page's form; `true` when it came from the form.
fn login_body(headers: &HeaderMap, body: &[u8]) -> Result<(LoginBody, bool), ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed = if form {
        serde_urlencoded::from_bytes::<LoginBody>(body).ok()
    } else {
        serde_json::from_slice::<LoginBody>(body).ok()
    };
    parsed.map(|b| (b, form)).ok_or_else(|| {
        ApiError::unprocessable(
            "send a JSON object such as {\"username\": \"ann\", \"password\": \"...\"} (or {\"api_key\": \"...\"} in single-user mode), or a form",
        )
    })
}

/// Where to go after a form login: a path on this site only.
fn safe_next(next: &str) -> &str {
    let second = next.chars().nth(1);
    let local = next.starts_with('/')
        && !matches!(second, Some('/' | '\\'))
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if local {
        next
    } else {
        "/"
    }
}

fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

async fn note(
    auth: &Auth,
    user: &str,
    role: &str,
    action: &str,
    status: u16,
    from: &str,
    detail: String,
) {
    auth.audit
        .record(audit::Entry {
            at: crate::clock::Timestamp::now().record(),
            user: user.into(),
            role: role.into(),
            action: action.into(),
            status,
            source: from.into(),
            detail,
        })
        .await;
}

/// `POST /api/auth/login`: a user name and password (multi-user mode) or the API key
/// (single-user mode), as JSON or from the login page's form. Five failures for a name or from an
/// address within five minutes refuse further tries for the rest of that time (429).
pub(super) async fn login(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let auth = state.auth.clone();
    let from = auth::source(&req);
    let ip = from.split(' ').next().unwrap_or("").to_string();
    let headers = req.headers().clone();
    if !auth::same_origin(&headers) {
        // Another site's page posting a login form would sign this browser in as someone else.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This sign-in came from another site's page (its Origin is not this server); sign in on hutch's own /login page",
        ));
    }
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the login request is too large",
            )
        })?;
    let (f, form) = login_body(&headers, &body)?;
    let next = safe_next(&f.next).to_string();
    // A name longer than any account's cannot sign in; bounded before it reaches the throttle
    // map or the audit log.
    let user = match auth.mode {
        Mode::Multi => auth::bounded(&f.username, 128),
        Mode::Single => String::new(),
    };
    // Single-user mode has no names: throttle by address only, or one host could lock out all.
    let user_key = format!("user:{user}");
    let ip_key = format!("ip:{ip}");
    let keys: Vec<&str> = if user.is_empty() {
        vec![ip_key.as_str()]
    } else {
        vec![user_key.as_str(), ip_key.as_str()]
    };
    let refuse = |status: StatusCode, msg: String| -> Response {
        if form {
            let to = format!(
                "/login?error={}&next={}",
                auth::urlencode(&msg),
                auth::urlencode(&next)
            );
            Redirect::to(&to).into_response()
        } else {
            let mut r = ApiError::new(status, msg).into_response();
            if status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(60));
            }
            r
        }
    };
    let throttled = auth
        .login_throttle()
        .attempt(&keys, std::time::Instant::now());
    if let Err(wait) = throttled {
        let msg = format!(
            "Too many failed sign-ins; try again in {} s",
            wait.as_secs().max(1)
        );
        note(
            &auth,
            &user,
            "",
            "login refused (throttled)",
            429,
            &from,
            String::new(),
        )
        .await;
        return Ok(refuse(StatusCode::TOO_MANY_REQUESTS, msg));
    }
    let signed_in = match auth.mode {
        Mode::Multi => {
            let password = f.password.as_str();
            if user.is_empty() || password.is_empty() {
                return Ok(refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "give a user name and a password".into(),
                ));
            }
            match auth.store.check_login(&user, password).await? {
                Some(u) => {
                    let (id, csrf) = auth.store.create_session(&u.name).await?;
                    let max_age = crate::auth::store::SESSION_DAYS * 86_400;
                    let cookies = auth.cookies(auth::SESSION_COOKIE, &id, &csrf, max_age);
                    let who =
                        Identity::new(&u.name, &u.user_group, u.role, u.role.scopes(), Some(csrf));
                    Some((who, cookies))
                }
                None => None,
            }
        }
        Mode::Single => {
            let key = f.api_key.trim();
            auth::key_matches(key, auth.single_key()).then(|| {
                let csrf = auth::csrf_for_key(key);
                let cookies = auth.cookies(auth::COOKIE, key, &csrf, 31_536_000);
                let r = Role::SingleUser;
                let who = Identity::new(
                    auth::SINGLE_USER,
                    auth::SINGLE_USER_GROUP,
                    r,
                    r.scopes(),
                    Some(csrf),
                );
                (who, cookies)
            })
        }
    };
    let Some((who, cookies)) = signed_in else {
        note(&auth, &user, "", "login failed", 401, &from, String::new()).await;
        let msg = match auth.mode {
            Mode::Multi => "Wrong user name or password",
            Mode::Single => {
                "Wrong API key: use the key hutch printed at start (also in DATA_DIR/api_key)"
            }
        };
        return Ok(refuse(StatusCode::UNAUTHORIZED, msg.into()));
    };
    auth.login_throttle()
        .succeeded(&user_key, &[ip_key.as_str()]);
    note(
        &auth,
        &who.user,
        who.role.as_str(),
        "login",
        200,
        &from,
        String::new(),
    )
    .await;
    let resp = if form {
        Redirect::to(&next).into_response()
    } else {
        Json(
            json!({"success": true, "msg": "", "user": who.user, "user_group": who.user_group,
                    "role": who.role.as_str(), "scopes": who.scopes, "csrf_token": who.csrf}),
        )
        .into_response()
    };
    Ok(with_cookies(resp, &cookies))
}

/// `POST /api/auth/logout`: ends the session and clears the cookies.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(id) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        state.auth.store.end_session(&id).await?;
    }
    let gone: Vec<String> = [auth::SESSION_COOKIE, auth::COOKIE, auth::CSRF_COOKIE]
        .iter()
        .map(|c| format!("{c}=; Path=/; Max-Age=0; SameSite=Strict"))
        .collect();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let resp = if form {
        Redirect::to("/login").into_response()
    } else {
        Json(json!({"success": true, "msg": ""})).into_response()
    };
    Ok(with_cookies(resp, &gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        assert_eq!(safe_next("/history?x=1"), "/history?x=1");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
    }
}
