//! `/api/auth/*` and `/api/audit`: signing in and out, who am I, scopes and the route table,
//! API keys, user accounts (admins), and the audit log (admins).

mod admin;
mod keys;
mod session;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::api::RouteInfo;
use super::ApiError;
use crate::auth::scopes::{self, Need, Role};
use crate::auth::store::StoreError;
use crate::auth::{Identity, Mode};
use crate::http::api::Api;
use crate::AppState;

use admin::{add_user, audit_list, update_user, users};
use keys::{create_key, keys, revoke_key};
use session::{login, logout};

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
