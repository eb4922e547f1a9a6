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
mod identity;
mod layer;
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

use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;

use credentials::query_param;
pub use credentials::{cookie, credentials, is_credential_param, urlencode, Credentials};
pub use identity::{Authn, Identity, Recheck};
pub use layer::layer;
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

/// A new random key: 32 hexadecimal digits (alphanumeric, as bluesky requires; 128 bits).
pub fn generate_key() -> String {
    secret::random_hex(16)
}

#[cfg(test)]
mod tests;
