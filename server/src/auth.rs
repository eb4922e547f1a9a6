//! Who is asking, and may they: authentication of every request, and the per-route check.
//!
//! Credentials, in this order: `Authorization: ApiKey <key>` (or `Bearer <key>`), `?api_key=`,
//! the `hutch_session` cookie (multi-user mode, set by login), the `hutch_api_key` cookie (set by
//! opening the link hutch prints at start). The outer layer ([`layer`]) turns them into an
//! [`Authn`] for every request and keeps pages behind the login page; each API route then checks
//! its own [`scopes::Need`] ([`require`], applied by `http::api::Api` where the route is declared).
//!
//! Modes: single-user (the default) — one key with every scope, the principal
//! `UNAUTHENTICATED_SINGLE_USER` of group `primary`, as bluesky-httpserver; multi-user — users with
//! roles, sessions and per-user API keys. In both, API keys made with `hutch apikey create`
//! (kiosk tokens included) work, and in multi-user mode the machine's own key
//! (DATA_DIR/api_key or HUTCH_API_KEY) stays valid as the local administrator.

pub mod audit;
mod credentials;
mod pages;
mod principal;
mod require;
pub mod scopes;
pub mod secret;
pub mod store;
pub mod throttle;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use credentials::query_param;
pub use credentials::{cookie, credentials, is_credential_param, urlencode, Credentials};
use pages::{forbidden_page, kiosk_refused};
pub use principal::Principal;
pub use require::require;
pub(crate) use require::same_origin;
use scopes::{Need, Role};
pub use secret::key_matches;
use store::Store;

pub const COOKIE: &str = "hutch_api_key";
pub const SESSION_COOKIE: &str = "hutch_session";
pub const CSRF_COOKIE: &str = "hutch_csrf";
pub const CSRF_HEADER: &str = "x-csrf";
pub const SINGLE_USER: &str = "UNAUTHENTICATED_SINGLE_USER";
pub const SINGLE_USER_GROUP: &str = "primary";
/// Who the machine's own key is in multi-user mode.
pub const LOCAL_ADMIN: &str = "local-admin";
/// Refused (4xx) HTTP ingest requests a caller may make per second, after a burst of twice that.
/// Accepted ingest is never rate-limited: a publisher that keeps up is only slowed by storage
/// itself (see `http::documents`, which bounds the bytes in flight).
pub const INGEST_FAILURE_RATE: f64 = 10.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Single,
    Multi,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s {
            "single" | "single-user" => Ok(Mode::Single),
            "multi" | "multi-user" => Ok(Mode::Multi),
            other => Err(format!("unknown auth mode '{other}': use single or multi")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Multi => "multi",
        }
    }
}

/// The authentication side of the server state. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    pub mode: Mode,
    single_key: Arc<str>,
    pub store: Store,
    pub audit: audit::AuditLog,
    login: Arc<Mutex<throttle::LoginThrottle>>,
    ingest: Arc<Mutex<throttle::Buckets>>,
    /// Cookies get `Secure` (under TLS, or behind an HTTPS proxy when configured).
    pub secure_cookies: bool,
}

/// The pools of [`Auth`]: accounts and sessions on the shared one, the audit log on the
/// frequent writers' connection (`db::open_writer`).
pub struct Databases {
    pub read: sqlx::SqlitePool,
    pub audit: sqlx::SqlitePool,
}

impl Auth {
    pub fn new(
        mode: Mode,
        single_key: Arc<str>,
        db: Databases,
        secure_cookies: bool,
        audit_retention: audit::Retention,
    ) -> Self {
        Auth {
            mode,
            single_key,
            store: Store::new(db.read),
            audit: audit::AuditLog::start(db.audit, audit_retention),
            login: Default::default(),
            ingest: Arc::new(Mutex::new(throttle::Buckets::new(
                INGEST_FAILURE_RATE,
                2.0 * INGEST_FAILURE_RATE,
            ))),
            secure_cookies,
        }
    }

    pub fn single_key(&self) -> &str {
        &self.single_key
    }

    pub fn login_throttle(&self) -> std::sync::MutexGuard<'_, throttle::LoginThrottle> {
        self.login.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `who` may ingest now (spends nothing), or how long it must wait after too many
    /// refused requests.
    pub fn ingest_allowed(&self, who: &str) -> Result<(), std::time::Duration> {
        self.ingest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(who, Instant::now())
    }

    /// Counts a refused ingest request of `who`.
    pub fn ingest_failed(&self, who: &str) {
        self.ingest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .spend(who, Instant::now());
    }

    /// Resolves what the request presented.
    pub async fn authenticate(&self, creds: &Credentials) -> Authn {
        match creds {
            Credentials::None => Authn::Anonymous,
            Credentials::BadScheme(s) => Authn::Denied {
                status: StatusCode::BAD_REQUEST,
                msg: format!("Authorization scheme '{s}' is not supported; use 'ApiKey <key>'"),
            },
            Credentials::Key { key, cookie } => self.by_key(key, *cookie).await,
            Credentials::Session(id) => self.by_session(id).await,
        }
    }

    async fn by_key(&self, key: &str, cookie: bool) -> Authn {
        let csrf = cookie.then(|| csrf_for_key(key));
        if key_matches(key, &self.single_key) {
            let (user, group, role) = match self.mode {
                Mode::Single => (SINGLE_USER, SINGLE_USER_GROUP, Role::SingleUser),
                Mode::Multi => (LOCAL_ADMIN, "admin", Role::Admin),
            };
            return Authn::Ok(Identity::new(user, group, role, role.scopes(), csrf));
        }
        let denied = |msg: &str| Authn::Denied {
            status: StatusCode::UNAUTHORIZED,
            msg: msg.into(),
        };
        let record = match self.store.lookup_key(key).await {
            Ok(Some(r)) => r,
            Ok(None) => return denied("Invalid API key"),
            Err(e) => {
                tracing::error!("cannot look up an API key: {e}");
                return Authn::Denied {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    msg: "the key could not be checked (database); see the server log".into(),
                };
            }
        };
        if record.revoked {
            return denied("This API key was revoked; ask for a new one");
        }
        if record.expired {
            return denied("This API key has expired; ask for a new one");
        }
        if record.kind == "kiosk" {
            let scopes = store::kiosk_scopes(&record);
            return Authn::Ok(Identity::new(
                &record.owner,
                "kiosk",
                Role::Kiosk,
                scopes,
                csrf,
            ));
        }
        match self.mode {
            Mode::Single => {
                let scopes = store::effective(&record, &Role::SingleUser.scopes());
                Authn::Ok(Identity::new(
                    SINGLE_USER,
                    SINGLE_USER_GROUP,
                    Role::SingleUser,
                    scopes,
                    csrf,
                ))
            }
            Mode::Multi => match self.store.user(&record.owner).await {
                Ok(u) if !u.disabled => {
                    let scopes = store::effective(&record, &u.role.scopes());
                    Authn::Ok(Identity::new(&u.name, &u.user_group, u.role, scopes, csrf))
                }
                _ => denied("The owner of this API key is disabled or no longer exists"),
            },
        }
    }

    async fn by_session(&self, id: &str) -> Authn {
        if self.mode != Mode::Multi {
            return Authn::Anonymous;
        }
        match self.store.session(id).await {
            Ok(Some((u, csrf))) => Authn::Ok(Identity::new(
                &u.name,
                &u.user_group,
                u.role,
                u.role.scopes(),
                Some(csrf),
            )),
            Ok(None) => Authn::Denied {
                status: StatusCode::UNAUTHORIZED,
                msg: "Your session has ended; sign in again at /login".into(),
            },
            Err(e) => {
                tracing::error!("cannot look up a session: {e}");
                Authn::Denied {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    msg: "the session could not be checked (database); see the server log".into(),
                }
            }
        }
    }

    /// `Set-Cookie` values: an HttpOnly credential cookie and the CSRF cookie scripts read.
    pub fn cookies(&self, name: &str, value: &str, csrf: &str, max_age: i64) -> [String; 2] {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        [
            format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"),
            format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"),
        ]
    }
}

/// The CSRF token that goes with a key held in a cookie (derived, so nothing is stored).
pub fn csrf_for_key(key: &str) -> String {
    store::digest(&format!("csrf:{key}"))[..32].to_string()
}

/// Someone known.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: String,
    pub user_group: String,
    pub role: Role,
    pub scopes: Vec<&'static str>,
    /// Set when the credential came in a cookie: writes must echo this token.
    pub csrf: Option<String>,
}

impl Identity {
    pub fn new(
        user: &str,
        group: &str,
        role: Role,
        scopes: Vec<&'static str>,
        csrf: Option<String>,
    ) -> Self {
        Identity {
            user: user.into(),
            user_group: group.into(),
            role,
            scopes,
            csrf,
        }
    }

    pub fn has(&self, scope: &str) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn principal(&self) -> Principal {
        Principal {
            user: self.user.clone(),
            user_group: self.user_group.clone(),
        }
    }
}

/// The outcome of authentication, put into every request's extensions.
#[derive(Clone, Debug)]
pub enum Authn {
    Anonymous,
    Denied { status: StatusCode, msg: String },
    Ok(Identity),
}

/// What a long-lived connection presented, kept to ask again later: a socket outlives the check
/// made when it opened, and a key may be revoked or a user disabled meanwhile.
#[derive(Clone)]
pub struct Recheck {
    auth: Auth,
    creds: std::sync::Arc<Credentials>,
}

impl Recheck {
    pub fn new(auth: &Auth, headers: &HeaderMap, query: Option<&str>) -> Self {
        Recheck {
            auth: auth.clone(),
            creds: std::sync::Arc::new(credentials(headers, query)),
        }
    }

    /// `None` while the credentials still hold, else why they no longer do.
    pub async fn failed(&self) -> Option<String> {
        match self.auth.authenticate(&self.creds).await {
            Authn::Ok(_) => None,
            Authn::Denied { msg, .. } => Some(msg),
            Authn::Anonymous => Some("not signed in any more".into()),
        }
    }

    /// [`Self::failed`], and also when the credentials no longer carry `scope` (a key's scopes
    /// lowered, a user's role changed).
    pub async fn lost(&self, scope: &str) -> Option<String> {
        match self.auth.authenticate(&self.creds).await {
            Authn::Ok(id) if id.has(scope) => None,
            Authn::Ok(id) => Some(format!(
                "{} (role {}) no longer has the scope {scope} this connection needs",
                id.user,
                id.role.as_str()
            )),
            Authn::Denied { msg, .. } => Some(msg),
            Authn::Anonymous => Some("not signed in any more".into()),
        }
    }
}

/// The page anyone may load (static files never reach the check).
fn public_page(path: &str) -> bool {
    path == "/login"
}

/// Where a request came from, for the audit log and login throttling.
pub fn source(req: &Request) -> String {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    match req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        // Bounded: a client chooses this header, and it goes into the throttle map and the log.
        Some(fwd) => format!("{peer} (forwarded for {})", bounded(fwd, 200)),
        None => peer,
    }
}

/// `text` cut to at most `max` characters (with … when cut).
pub fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
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

/// A new random key: 32 hexadecimal digits (alphanumeric, as bluesky requires; 128 bits).
pub fn generate_key() -> String {
    secret::random_hex(16)
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

    fn key(k: &str, cookie: bool) -> Credentials {
        Credentials::Key {
            key: k.into(),
            cookie,
        }
    }

    #[test]
    fn credentials_come_from_header_query_session_or_cookie() {
        assert_eq!(
            credentials(&headers(&[("authorization", "ApiKey abc")]), None),
            key("abc", false)
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "apikey abc")]), None),
            key("abc", false)
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "Bearer abc")]), None),
            key("abc", false)
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "Token abc")]), None),
            Credentials::BadScheme("Token".into())
        );
        assert_eq!(
            credentials(&headers(&[]), Some("x=1&api_key=q1")),
            key("q1", false)
        );
        assert_eq!(
            credentials(&headers(&[]), Some("my_api_key=q1")),
            Credentials::None
        );
        assert_eq!(
            credentials(&headers(&[("cookie", "a=b; hutch_api_key=c1")]), None),
            key("c1", true)
        );
        assert_eq!(
            credentials(
                &headers(&[("cookie", "hutch_api_key=c1; hutch_session=s1")]),
                None
            ),
            Credentials::Session("s1".into()),
            "a session wins over a key cookie"
        );
        assert_eq!(credentials(&headers(&[]), None), Credentials::None);
    }

    #[test]
    fn key_comparison() {
        assert!(key_matches("abc", "abc"));
        assert!(!key_matches("abd", "abc"));
        assert!(!key_matches("ab", "abc"));
    }

    #[test]
    fn websocket_origin_must_be_this_host() {
        assert!(same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "http://h:1")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "https://h:1")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "h:1"),
            ("origin", "https://evil.example")
        ])));
        assert!(
            same_origin(&headers(&[("host", "h:1")])),
            "no Origin: not a browser"
        );
    }

    #[test]
    fn urlencode_keeps_paths_readable() {
        assert_eq!(
            urlencode("/history?status=failed&x=a b"),
            "/history%3Fstatus%3Dfailed%26x%3Da%20b"
        );
    }
}
