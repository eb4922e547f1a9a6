//! The admins' routes: user accounts (`/api/auth/users`, multi-user mode only) and the audit log
//! (`GET /api/audit`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::scopes::Role;
use crate::auth::{audit, Auth, Mode};
use crate::http::body::Body;
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

fn role_of(role: Option<&str>) -> Result<Option<Role>, ApiError> {
    role.map(Role::parse_user_role)
        .transpose()
        .map_err(ApiError::unprocessable)
}

hutch_body!(pub(super) AddUser, "POST /api/auth/users" {
    name: String,
    role: Option<String>,
    user_group: Option<String>,
    password: String,
});

pub(super) async fn add_user(
    State(state): State<AppState>,
    Body(b): Body<AddUser>,
) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let role = role_of(b.role.as_deref())?
        .ok_or_else(|| ApiError::unprocessable("give a role: admin, operator or observer"))?;
    let group = b.user_group.as_deref().unwrap_or("primary");
    let user = state
        .auth
        .store
        .add_user(&b.name, role, group, &b.password)
        .await?;
    Ok(Json(json!({"success": true, "msg": "", "user": user})))
}

hutch_body!(pub(super) UpdateUser, "PUT /api/auth/users/{name}" {
    role: Option<String>,
    user_group: Option<String>,
    password: Option<String>,
    disabled: Option<bool>,
});

pub(super) async fn update_user(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Body(b): Body<UpdateUser>,
) -> Result<Json<Value>, ApiError> {
    multi_only(&state.auth)?;
    let user = state
        .auth
        .store
        .update_user(
            &name,
            role_of(b.role.as_deref())?,
            b.user_group.as_deref(),
            b.password.as_deref(),
            b.disabled,
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
