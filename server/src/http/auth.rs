//! `/api/auth/*` and `/api/audit`: signing in and out, who am I, scopes and the route table,
//! API keys, user accounts (admins), and the audit log (admins).

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::api::RouteInfo;
use super::params::{Params, QueryParams};
use super::ApiError;
use crate::auth::scopes::{self, Need, Role};
use crate::auth::store::StoreError;
use crate::auth::{self, audit, Auth, Identity, Mode};
use crate::http::api::Api;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .post("/api/auth/login", Need::Public, login)
        .post("/api/auth/logout", Need::Public, logout)
        .get("/api/auth/whoami", Need::SignedIn, whoami)
        .get("/api/auth/scopes", Need::Public, scope_list)
        .get("/api/auth/apikey", Need::Scope(scopes::USER_APIKEYS), keys)
        .post(
            "/api/auth/apikey",
            Need::Scope(scopes::USER_APIKEYS),
            create_key,
        )
        .delete(
            "/api/auth/apikey",
            Need::Scope(scopes::USER_APIKEYS),
            revoke_key,
        )
        .get("/api/auth/users", Need::Scope(scopes::ADMIN), users)
        .post("/api/auth/users", Need::Scope(scopes::ADMIN), add_user)
        .put(
            "/api/auth/users/{name}",
            Need::Scope(scopes::ADMIN),
            update_user,
        )
        .get("/api/audit", Need::Scope(scopes::ADMIN), audit_list)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => ApiError::unprocessable(m),
            StoreError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            StoreError::Db(e) => ApiError::database(e),
        }
    }
}

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

fn text<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
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
async fn login(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
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
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
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

fn identity_json(id: &Identity, mode: Mode) -> Value {
    json!({"user": id.user, "user_group": id.user_group, "role": id.role.as_str(),
           "scopes": id.scopes, "mode": mode.as_str(), "csrf_token": id.csrf})
}

async fn whoami(State(state): State<AppState>, Extension(id): Extension<Identity>) -> Json<Value> {
    let mut v = identity_json(&id, state.auth.mode);
    v["success"] = json!(true);
    Json(v)
}

/// Every declared API route with what it needs (built once).
pub fn route_table() -> &'static [RouteInfo] {
    static TABLE: std::sync::OnceLock<Vec<RouteInfo>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| super::api().into_parts().1)
}

/// `GET /api/auth/scopes`: the caller's roles and scopes (as bluesky-httpserver), every scope,
/// what each role has, and every route with the scope it needs.
async fn scope_list(State(state): State<AppState>, id: Option<Extension<Identity>>) -> Json<Value> {
    let (roles, mine) = match &id {
        Some(Extension(id)) => (vec![id.role.as_str()], id.scopes.clone()),
        None => (vec![], vec![]),
    };
    let role_scopes: Map<String, Value> =
        [Role::Admin, Role::Operator, Role::Observer, Role::Kiosk]
            .iter()
            .map(|r| (r.as_str().to_string(), json!(r.scopes())))
            .collect();
    Json(
        json!({"roles": roles, "scopes": mine, "mode": state.auth.mode.as_str(),
                "all_scopes": scopes::ALL, "role_scopes": role_scopes, "routes": route_table()}),
    )
}

/// `GET /api/auth/apikey?owner=`: an admin's view of another user's keys (`*`: everyone's).
#[derive(Deserialize, Default)]
#[serde(default)]
struct KeysParams {
    owner: Option<String>,
}

impl QueryParams for KeysParams {
    const ROUTE: &'static str = "GET /api/auth/apikey";
}

async fn keys(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Params(q): Params<KeysParams>,
) -> Result<Json<Value>, ApiError> {
    let owner = match &q.owner {
        Some(o) if id.has(scopes::ADMIN) => (o != "*").then_some(o.as_str()),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "only admins may list other users' keys",
            ))
        }
        None => Some(id.user.as_str()),
    };
    let keys = state.auth.store.keys(owner).await?;
    Ok(Json(json!({"success": true, "msg": "", "api_keys": keys})))
}

/// `POST /api/auth/apikey`: a new key for the caller: `scopes` (a subset of theirs; `["inherit"]`
/// or none for all), `expires_in` seconds, `note`; `kiosk: true` makes a read-only kiosk token.
async fn create_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let p = super::datasets::object_body(&body, &["scopes", "expires_in", "note", "kiosk"])?;
    let requested: Vec<String> = match p.get("scopes") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| s.as_str().map(String::from))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::unprocessable("'scopes' must be a list of scope names"))?,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "'scopes' must be a list of scope names",
            ))
        }
    };
    let kiosk = p.get("kiosk").and_then(Value::as_bool).unwrap_or(false);
    let limit: Vec<&'static str> = if kiosk {
        scopes::KIOSK
            .iter()
            .copied()
            .filter(|s| id.has(s))
            .collect()
    } else {
        id.scopes.clone()
    };
    let scopes = scopes::key_scopes(&requested, &limit).map_err(ApiError::unprocessable)?;
    let expires = match p.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let secs = v
                .as_f64()
                .filter(|s| *s > 0.0 && *s <= 10.0 * 366.0 * 86_400.0)
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "'expires_in' must be a number of seconds, up to ten years",
                    )
                })?;
            Some(chrono::Duration::seconds(secs as i64))
        }
    };
    let note = p.get("note").and_then(Value::as_str).unwrap_or("");
    let kind = if kiosk { "kiosk" } else { "user" };
    let (key, info) = state
        .auth
        .store
        .create_key(&id.user, kind, &scopes, note, expires)
        .await?;
    Ok(Json(
        json!({"success": true, "msg": "", "key": key, "first_eight": info.first_eight,
                   "kind": kind, "scopes": info.scopes, "note": info.note,
                   "expires_at": info.expires_at}),
    ))
}

/// `DELETE /api/auth/apikey?first_eight=`: which key.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeParams {
    first_eight: String,
}

impl QueryParams for RevokeParams {
    const ROUTE: &'static str = "DELETE /api/auth/apikey";
}

async fn revoke_key(
    State(state): State<AppState>,
    Extension(id): Extension<Identity>,
    Params(q): Params<RevokeParams>,
) -> Result<Json<Value>, ApiError> {
    let first = Some(&q.first_eight)
        .filter(|f| f.len() == 8)
        .ok_or_else(|| {
            ApiError::bad_param("give the key's first eight characters: ?first_eight=abcd1234")
        })?;
    let owner = (!id.has(scopes::ADMIN)).then_some(id.user.as_str());
    let n = state.auth.store.revoke(first, owner).await?;
    Ok(Json(json!({"success": true, "msg": "", "revoked": n})))
}

fn multi_only(auth: &Auth) -> Result<(), ApiError> {
    if auth.mode == Mode::Multi {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "hutch runs in single-user mode, which has no user accounts; start it with --auth multi",
        ))
    }
}

async fn users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let users = state.auth.store.users().await?;
    Ok(Json(json!({"success": true, "msg": "", "users": users})))
}

fn role_of(p: &Map<String, Value>) -> Result<Option<Role>, ApiError> {
    p.get("role")
        .and_then(Value::as_str)
        .map(Role::parse_user_role)
        .transpose()
        .map_err(ApiError::unprocessable)
}

async fn add_user(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let p = super::datasets::object_body(&body, &["name", "role", "user_group", "password"])?;
    let role = role_of(&p)?
        .ok_or_else(|| ApiError::unprocessable("give a role: admin, operator or observer"))?;
    let group = p
        .get("user_group")
        .and_then(Value::as_str)
        .unwrap_or("primary");
    let user = state
        .auth
        .store
        .add_user(text(&p, "name"), role, group, text(&p, "password"))
        .await?;
    Ok(Json(json!({"success": true, "msg": "", "user": user})))
}

async fn update_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let p = super::datasets::object_body(&body, &["role", "user_group", "password", "disabled"])?;
    let user = state
        .auth
        .store
        .update_user(
            &name,
            role_of(&p)?,
            p.get("user_group").and_then(Value::as_str),
            p.get("password").and_then(Value::as_str),
            p.get("disabled").and_then(Value::as_bool),
        )
        .await?;
    Ok(Json(json!({"success": true, "msg": "", "user": user})))
}

/// `GET /api/audit`: `user`'s entries (everyone's when absent), paged by `before` an entry id.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuditParams {
    user: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

impl QueryParams for AuditParams {
    const ROUTE: &'static str = "/api/audit";
    fn expects(key: &str) -> &'static str {
        match key {
            "limit" => super::LIMIT,
            _ => "an entry id",
        }
    }
}

async fn audit_list(
    State(state): State<AppState>,
    Params(q): Params<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = super::limit(q.limit)?;
    state.auth.audit.flush().await;
    let entries = audit::list(&state.db, q.user.as_deref(), q.before, limit)
        .await
        .map_err(ApiError::database)?;
    Ok(Json(
        json!({"success": true, "msg": "", "entries": entries}),
    ))
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
