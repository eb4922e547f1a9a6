//! The bluesky routes about the manager itself: permissions (`permissions/get`, `/set`,
//! `/reload`), the spreadsheet upload (`queue/upload/spreadsheet`) and `manager/stop`.

use axum::extract::Multipart;
use axum::Extension;
use serde_json::{json, Value};

use super::{answer, controlled, done, fail, ok, run, unexpected, with, Body, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::command::{Control, PermissionChange, QueueCommand, QueueReply, Read};
use crate::queue::permissions::Permissions;
use crate::queue::position::{Placement, Pos};
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

body!(PermissionsGet, "permissions_get" {});
body!(PermissionsSet, "permissions_set" {
    user_group_permissions: Option<Value>, lock_key: Option<String>,
});
body!(PermissionsReload, "permissions_reload" {
    restore_plans_devices: Option<bool>, restore_permissions: Option<bool>,
    lock_key: Option<String>,
});
body!(ManagerStop, "manager_stop" { option: Option<String> });

async fn permissions_get(
    S(s): S<AppState>,
    Extension(w): Caller,
    _: Body<PermissionsGet>,
) -> Reply {
    run(&s, w, QueueCommand::Read(Read::Permissions), |r| match r {
        QueueReply::Permissions(rules) => with(ok(), json!({"user_group_permissions": rules})),
        other => unexpected(other),
    })
    .await
}

fn permissions(lock_key: Option<String>, change: PermissionChange) -> QueueCommand {
    QueueCommand::Control {
        lock_key,
        control: Control::Permissions(change),
    }
}

async fn permissions_set(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<PermissionsSet>,
) -> Reply {
    let Some(rules) = b.user_group_permissions else {
        return answer(fail(
            "Error: \"Parameter 'user_group_permissions' is missing\"",
        ));
    };
    let perms = match Permissions::from_bluesky(&rules) {
        Ok(perms) => perms,
        Err(e) => return answer(fail(format!("Error: the permissions are not valid: {e}"))),
    };
    let command = permissions(b.lock_key, PermissionChange::Replace(perms));
    run(&s, w, command, controlled).await
}

async fn permissions_reload(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<PermissionsReload>,
) -> Reply {
    // The file is read here, outside the manager; only the result goes in.
    let change = match (&s.config.permissions, b.restore_permissions.unwrap_or(true)) {
        (_, false) => PermissionChange::Keep,
        (None, true) => PermissionChange::Reload(None),
        (Some(path), true) => {
            let text = match tokio::fs::read_to_string(path).await {
                Ok(t) => t,
                Err(e) => {
                    return answer(fail(format!(
                        "Error: cannot read the permissions file {}: {e}",
                        path.display()
                    )))
                }
            };
            match Permissions::parse(&text) {
                Ok(perms) => PermissionChange::Reload(Some(perms)),
                Err(e) => {
                    return answer(fail(format!(
                        "Error: the permissions file {} is not valid: {e}; nothing was changed",
                        path.display()
                    )))
                }
            }
        }
    };
    run(&s, w, permissions(b.lock_key, change), controlled).await
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
                    return answer(fail(format!(
                        "the spreadsheet is larger than hutch takes ({MAX_SPREADSHEET} bytes); split it"
                    )))
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
                return answer(fail(
                    "the spreadsheet must be CSV text in UTF-8 (save it from your spreadsheet program as CSV)",
                ))
            }
        }
    }
    let Some(text) = text else {
        return answer(fail(
            "the form has no 'spreadsheet' file field; send the CSV file as 'spreadsheet'",
        ));
    };
    let items = match hutch_app::model::spreadsheet::items(&text) {
        Ok(items) => items,
        Err(errors) => {
            return answer(with(
                fail(format!("Failed to add all items: {}", errors.join("; "))),
                json!({"qsize": null, "items": [], "results": []}),
            ))
        }
    };
    super::edit::add_batch(&s, w, None, items, Placement::At(Pos::Back)).await
}

async fn manager_stop(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<ManagerStop>,
) -> Reply {
    let option = b.option.unwrap_or_else(|| "safe_on".to_string());
    let safe = match option.as_str() {
        "safe_on" => true,
        "safe_off" => false,
        _ => {
            return answer(fail(format!(
                "Option '{option}' is not supported. Available options: ('safe_on', 'safe_off')"
            )))
        }
    };
    let mut stopping = false;
    let reply = run(&s, w, QueueCommand::ManagerStop { safe }, |r| {
        stopping = matches!(r, QueueReply::Done(Ok(())));
        done(r, "")
    })
    .await?;
    // After the reply is made (and the console line stored): hutch stops.
    if stopping {
        s.manager_stop.notify_one();
    }
    Ok(reply)
}
