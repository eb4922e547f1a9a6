//! The bluesky routes about the manager itself: permissions (`permissions/get`, `/set`,
//! `/reload`), the spreadsheet upload (`queue/upload/spreadsheet`) and `manager/stop`.

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};
use std::sync::Arc;

use super::{fail, guard, lock_key, ok, params, run, with, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::handle::Env;
use crate::queue::permissions::Permissions;
use crate::queue::state::{Change, Guard, ManagerState};
use crate::AppState;

/// Largest spreadsheet `queue/upload/spreadsheet` takes.
const MAX_SPREADSHEET: usize = 2 << 20;

pub fn routes() -> Api {
    Api::new()
        .get(
            "/api/permissions/get",
            Need::Scope(scopes::READ_CONFIG),
            permissions_get,
        )
        .post(
            "/api/permissions/set",
            Need::Scope(scopes::WRITE_PERMISSIONS),
            permissions_set,
        )
        .post(
            "/api/permissions/reload",
            Need::Scope(scopes::WRITE_CONFIG),
            permissions_reload,
        )
        .post(
            "/api/queue/upload/spreadsheet",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            upload_spreadsheet,
        )
        .post(
            "/api/manager/stop",
            Need::Scope(scopes::WRITE_MANAGER_STOP),
            manager_stop,
        )
}

type Reply = Result<axum::response::Response, ApiError>;

async fn permissions_get(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    params(&b, "permissions_get", &[])?;
    run(&s, w, |env: &mut Env| {
        let rules = env
            .catalog
            .permissions
            .as_ref()
            .map_or(Value::Null, |p| p.to_bluesky());
        with(ok(), json!({"user_group_permissions": rules}))
    })
    .await
}

/// Puts `perms` in force (`None`: every group may use everything) and renews the allowed lists.
fn put_permissions(env: &mut Env, perms: Option<Permissions>) {
    env.catalog.permissions = perms.map(Arc::new);
    env.state.changes.push(Change::Catalog);
}

async fn permissions_set(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(
        &b,
        "permissions_set",
        &["user_group_permissions", "lock_key"],
    )?;
    let Some(rules) = p.get("user_group_permissions") else {
        return Ok(Json(fail(
            "Error: \"Parameter 'user_group_permissions' is missing\"",
        ))
        .into_response());
    };
    let perms = match Permissions::from_bluesky(rules) {
        Ok(perms) => perms,
        Err(e) => {
            return Ok(
                Json(fail(format!("Error: the permissions are not valid: {e}"))).into_response(),
            )
        }
    };
    run(&s, w, move |env: &mut Env| {
        if let Err(e) = guard(env, Guard::Environment, &lock_key(&p), "Error: ") {
            return fail(e);
        }
        put_permissions(env, Some(perms));
        env.console.push(
            env.ctx.now,
            "User group permissions were replaced (permissions/set); permissions/reload reads the permissions file again",
        );
        ok()
    })
    .await
}

async fn permissions_reload(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(
        &b,
        "permissions_reload",
        &["restore_plans_devices", "restore_permissions", "lock_key"],
    )?;
    let restore = p
        .get("restore_permissions")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    // The file is read here, outside the manager; only the result goes in.
    let perms = match (&s.config.permissions, restore) {
        (_, false) => None,
        (None, true) => Some(None),
        (Some(path), true) => {
            let text = match tokio::fs::read_to_string(path).await {
                Ok(t) => t,
                Err(e) => {
                    return Ok(Json(fail(format!(
                        "Error: cannot read the permissions file {}: {e}",
                        path.display()
                    )))
                    .into_response())
                }
            };
            match Permissions::parse(&text) {
                Ok(perms) => Some(Some(perms)),
                Err(e) => {
                    return Ok(Json(fail(format!(
                        "Error: the permissions file {} is not valid: {e}; nothing was changed",
                        path.display()
                    )))
                    .into_response())
                }
            }
        }
    };
    run(&s, w, move |env: &mut Env| {
        if let Err(e) = guard(env, Guard::Environment, &lock_key(&p), "Error: ") {
            return fail(e);
        }
        if let Some(perms) = perms {
            put_permissions(env, perms);
        }
        ok()
    })
    .await
}

async fn upload_spreadsheet(S(s): S<AppState>, Extension(w): Caller, mut form: Multipart) -> Reply {
    let mut text = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::unprocessable(format!(
                    "the upload is not a readable multipart form: {e}"
                )))
            }
        };
        // `data_type` and any other fields: hutch reads CSV whatever the data type says.
        if field.name() != Some("spreadsheet") {
            continue;
        }
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_SPREADSHEET => {
                    bytes.extend_from_slice(&chunk)
                }
                Ok(Some(_)) => {
                    return Ok(Json(fail(format!(
                        "the spreadsheet is larger than hutch takes ({MAX_SPREADSHEET} bytes); split it"
                    )))
                    .into_response())
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(ApiError::unprocessable(format!(
                        "the spreadsheet could not be read: {e}"
                    )))
                }
            }
        }
        match String::from_utf8(bytes) {
            Ok(t) => text = Some(t),
            Err(_) => {
                return Ok(Json(fail(
                    "the spreadsheet must be CSV text in UTF-8 (save it from your spreadsheet program as CSV)",
                ))
                .into_response())
            }
        }
    }
    let Some(text) = text else {
        return Ok(Json(fail(
            "the form has no 'spreadsheet' file field; send the CSV file as 'spreadsheet'",
        ))
        .into_response());
    };
    let items = match hutch_app::model::spreadsheet::items(&text) {
        Ok(items) => items,
        Err(errors) => {
            return Ok(Json(with(
                fail(format!("Failed to add all items: {}", errors.join("; "))),
                json!({"qsize": null, "items": [], "results": []}),
            ))
            .into_response())
        }
    };
    let mut p = Map::new();
    p.insert("items".into(), Value::Array(items));
    run(&s, w, move |env: &mut Env| super::edit::add_batch(env, &p)).await
}

async fn manager_stop(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(&b, "manager_stop", &["option"])?;
    let option = p
        .get("option")
        .and_then(Value::as_str)
        .unwrap_or("safe_on")
        .to_string();
    if option != "safe_on" && option != "safe_off" {
        return Ok(Json(fail(format!(
            "Option '{option}' is not supported. Available options: ('safe_on', 'safe_off')"
        )))
        .into_response());
    }
    let stopping = s.manager_stop.clone();
    run(&s, w, move |env: &mut Env| {
        if option == "safe_on" && env.state.manager != ManagerState::Idle {
            return fail(format!(
                "Closing RE Manager with option 'safe_on' is allowed only in 'idle' state. Current state: '{}'",
                env.state.manager.as_str()
            ));
        }
        env.console.push(
            env.ctx.now,
            &format!("Stopping hutch (manager/stop, option '{option}'); a running plan is recorded as interrupted"),
        );
        stopping.notify_one();
        ok()
    })
    .await
}
