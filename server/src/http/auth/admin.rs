//! The admins' routes: user accounts (`/api/auth/users`, multi-user mode only) and the audit log
//! (`GET /api/audit`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::scopes::Role;
use crate::auth::{audit, Auth, Mode};
use crate::http::datasets::object_body;
use crate::http::params::{Params, QueryParams};
use crate::http::ApiError;
use crate::AppState;

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

pub(super) async fn users(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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

fn text<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

pub(super) async fn add_user(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let p = object_body(&body, &["name", "role", "user_group", "password"])?;
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

pub(super) async fn update_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let p = object_body(&body, &["role", "user_group", "password", "disabled"])?;
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
pub(super) struct AuditParams {
    user: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

impl QueryParams for AuditParams {
    const ROUTE: &'static str = "/api/audit";
    fn expects(key: &str) -> &'static str {
        match key {
            "limit" => crate::http::LIMIT,
            _ => "an entry id",
        }
    }
}

pub(super) async fn audit_list(
    State(state): State<AppState>,
    Params(q): Params<AuditParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::http::limit(q.limit)?;
    state.auth.audit.flush().await;
    let entries = audit::list(&state.db, q.user.as_deref(), q.before, limit)
        .await
        .map_err(ApiError::database)?;
    Ok(Json(
        json!({"success": true, "msg": "", "entries": entries}),
    ))
}
