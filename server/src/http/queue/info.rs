//! Read-mostly routes: allowed/existing plans and devices, the lock, the console, the config.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{fail, ok, run, unexpected, with, Body, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::body::BodyParams;
use crate::http::params::Params;
use crate::http::ApiError;
use crate::queue::command::{LockCommand, QueueCommand, QueueReply, Read};
use crate::queue::state::{time_str, Lock};
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get(
            "/api/plans/allowed",
            Need::Scope(scopes::READ_RESOURCES),
            plans_allowed,
        )
        .get(
            "/api/plans/existing",
            Need::Scope(scopes::READ_RESOURCES),
            plans_existing,
        )
        .get(
            "/api/plans/schema",
            Need::Scope(scopes::READ_RESOURCES),
            plans_schema,
        )
        .get(
            "/api/plans/schema/{name}",
            Need::Scope(scopes::READ_RESOURCES),
            plan_schema,
        )
        .get(
            "/api/devices/allowed",
            Need::Scope(scopes::READ_RESOURCES),
            devices_allowed,
        )
        .get(
            "/api/devices/existing",
            Need::Scope(scopes::READ_RESOURCES),
            devices_existing,
        )
        .post("/api/lock", Need::Scope(scopes::WRITE_LOCK), lock)
        .post("/api/unlock", Need::Scope(scopes::WRITE_LOCK), unlock)
        .post("/api/lock/break", Need::Scope(scopes::ADMIN), lock_break)
        .get("/api/lock/info", Need::Scope(scopes::READ_LOCK), lock_info)
        .get(
            "/api/config/get",
            Need::Scope(scopes::READ_CONFIG),
            config_get,
        )
        .get(
            "/api/console_output",
            Need::Scope(scopes::READ_CONSOLE),
            console_output,
        )
        .get(
            "/api/console_output/uid",
            Need::Scope(scopes::READ_CONSOLE),
            console_output_uid,
        )
        .get(
            "/api/console_output_update",
            Need::Scope(scopes::READ_CONSOLE),
            console_output_update,
        )
}

type Reply = Result<axum::response::Response, ApiError>;

/// `plans/allowed` and `plans/existing` refuse unknown keys with bluesky's own words.
macro_rules! plans_body {
    ($name:ident, $function:literal) => {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        #[allow(dead_code)]
        struct $name {
            reduced: Option<bool>,
            reload: Option<Value>,
        }
        impl BodyParams for $name {
            const FUNCTION: &'static str = $function;
            fn unknown(key: &str, _: &[&str]) -> ApiError {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Request contains keys the are not supported: {{'{key}'}}."),
                )
            }
        }
    };
}

plans_body!(PlansAllowed, "plans_allowed");
plans_body!(PlansExisting, "plans_existing");
body!(DevicesAllowed, "devices_allowed" { reload: Option<Value> });
body!(DevicesExisting, "devices_existing" { reload: Option<Value> });
body!(LockBody, "lock" {
    lock_key: Option<Value>, environment: Option<bool>, queue: Option<bool>,
    note: Option<String>, user: Option<Value>,
});
body!(UnlockBody, "unlock" { lock_key: Option<Value> });
body!(LockBreak, "lock_break" {});
body!(LockInfo, "lock_info" { lock_key: Option<String>, reload: Option<Value> });
body!(ConfigGet, "config_get" {});
body!(ConsoleOutput, "console_output" { nlines: Option<u64> });
body!(ConsoleOutputUpdate, "console_output_update" { last_msg_uid: Option<String> });

/// Plans or devices, allowed to the caller's group or all existing, under `key`.
async fn catalog(
    state: &AppState,
    who: crate::auth::Principal,
    read: Read,
    key: &'static str,
) -> Reply {
    run(state, who, QueueCommand::Read(read), move |r| match r {
        QueueReply::Catalog { list, uid } => {
            let mut reply = ok();
            reply[key] = list;
            reply[format!("{key}_uid")] = json!(uid);
            reply
        }
        other => unexpected(other),
    })
    .await
}

/// `GET /api/plans/schema` (hutch's): every plan the caller's group may use, as JSON Schema
/// 2020-12, under `plans`.
async fn plans_schema(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    run(&s, w, QueueCommand::Read(Read::Schema(None)), |r| match r {
        QueueReply::Schema(Some(plans)) => with(
            ok(),
            json!({"$schema": crate::queue::catalog::schema::DIALECT, "plans": plans}),
        ),
        other => unexpected(other),
    })
    .await
}

/// `GET /api/plans/schema/{name}`: the schema document itself (for a validator to load as is);
/// 404 when the plan is not one the caller's group may use.
async fn plan_schema(
    S(s): S<AppState>,
    Extension(w): Caller,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Reply {
    let command = QueueCommand::Read(Read::Schema(Some(name.clone())));
    match super::ask(&s, w, command).await? {
        QueueReply::Schema(Some(schema)) => Ok(Json(schema).into_response()),
        QueueReply::NotStored(why) => Ok(Json(fail(why)).into_response()),
        QueueReply::Schema(None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "there is no plan '{name}' among the plans you may use; GET /api/plans/schema lists them"
            ),
        )),
        other => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            unexpected(other)["msg"].as_str().unwrap_or_default().to_string(),
        )),
    }
}

async fn plans_allowed(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<PlansAllowed>,
) -> Reply {
    let read = Read::Plans {
        allowed: true,
        reduced: b.reduced.unwrap_or(false),
    };
    catalog(&s, w, read, "plans_allowed").await
}
async fn plans_existing(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<PlansExisting>,
) -> Reply {
    let read = Read::Plans {
        allowed: false,
        reduced: b.reduced.unwrap_or(false),
    };
    catalog(&s, w, read, "plans_existing").await
}
async fn devices_allowed(
    S(s): S<AppState>,
    Extension(w): Caller,
    _: Body<DevicesAllowed>,
) -> Reply {
    catalog(&s, w, Read::Devices { allowed: true }, "devices_allowed").await
}
async fn devices_existing(
    S(s): S<AppState>,
    Extension(w): Caller,
    _: Body<DevicesExisting>,
) -> Reply {
    catalog(&s, w, Read::Devices { allowed: false }, "devices_existing").await
}

fn lock_info_json(lock: Option<&Lock>, emergency: bool) -> Value {
    match lock {
        Some(l) => {
            json!({"environment": l.environment, "queue": l.queue, "user": l.user, "time": l.time,
            "time_str": time_str(l.time), "note": l.note, "emergency_lock_key_is_set": emergency})
        }
        None => {
            json!({"environment": false, "queue": false, "user": null, "time": null, "time_str": "",
            "note": null, "emergency_lock_key_is_set": emergency})
        }
    }
}

fn required_lock_key(key: Option<Value>, what: &str) -> Result<String, ApiError> {
    match key {
        Some(Value::String(k)) if !k.is_empty() => Ok(k),
        None | Some(Value::Null) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Failed to format the '{what}' request: Lock key is not set"),
        )),
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Parameter 'lock_key' must be non-empty string or None: lock_key={other}"),
        )),
    }
}

/// Runs a lock command; `info_on_refusal`: a refused `lock` shows no lock info (as bluesky).
async fn lock_command(
    state: &AppState,
    who: crate::auth::Principal,
    command: LockCommand,
    info_on_refusal: bool,
) -> Reply {
    run(state, who, QueueCommand::Lock(command), move |r| {
        let QueueReply::Lock { outcome, lock, emergency_key_set, uid } = r else {
            return unexpected(r);
        };
        let info = json!({"lock_info": lock_info_json(lock.as_ref(), emergency_key_set), "lock_info_uid": uid});
        match outcome {
            Ok(()) => with(ok(), info),
            Err(e) if info_on_refusal => with(fail(format!("Error: {e}")), info),
            Err(e) => with(fail(format!("Error: {e}")), json!({"lock_info": {}, "lock_info_uid": null})),
        }
    })
    .await
}

async fn lock(S(state): S<AppState>, Extension(who): Caller, Body(b): Body<LockBody>) -> Reply {
    let key = required_lock_key(b.lock_key, "lock")?;
    let command = LockCommand::Lock {
        key,
        environment: b.environment.unwrap_or(false),
        queue: b.queue.unwrap_or(false),
        note: b.note,
    };
    lock_command(&state, who, command, false).await
}

async fn unlock(S(state): S<AppState>, Extension(who): Caller, Body(b): Body<UnlockBody>) -> Reply {
    let key = required_lock_key(b.lock_key, "unlock")?;
    lock_command(&state, who, LockCommand::Unlock { key }, true).await
}

/// Staff remove a lock whose key is lost (the emergency key, without needing to know it).
async fn lock_break(S(state): S<AppState>, Extension(who): Caller, _: Body<LockBreak>) -> Reply {
    lock_command(&state, who, LockCommand::Break, true).await
}

async fn lock_info(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<LockInfo>,
) -> Reply {
    lock_command(&state, who, LockCommand::Info { key: b.lock_key }, true).await
}

async fn config_get(_: Body<ConfigGet>) -> Reply {
    Ok(Json(with(ok(), json!({"config": {"ip_connect_info": {}}}))).into_response())
}

query_params!(
    /// `?nlines=` for a browser's GET (bluesky clients send `{"nlines": …}` in the body).
    ConsoleParams, "/api/console_output", "a whole number of lines" {
        nlines: Option<u64>,
    }
);

async fn console_output(
    S(state): S<AppState>,
    Params(q): Params<ConsoleParams>,
    Body(b): Body<ConsoleOutput>,
) -> Reply {
    let n = b.nlines.or(q.nlines).unwrap_or(200);
    // The ring holds at most its capacity; a larger ask is all of it.
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Json(with(ok(), json!({"text": state.console.text(n)}))).into_response())
}

async fn console_output_uid(S(state): S<AppState>) -> Reply {
    Ok(Json(with(
        ok(),
        json!({"console_output_uid": state.console.uid()}),
    ))
    .into_response())
}

query_params!(
    /// `?last_msg_uid=` for a browser (a GET has no body there).
    ConsoleUpdateParams, "/api/console_output_update", "a message uid, or ALL" {
        last_msg_uid: Option<String>,
    }
);

async fn console_output_update(
    S(state): S<AppState>,
    Params(q): Params<ConsoleUpdateParams>,
    Body(b): Body<ConsoleOutputUpdate>,
) -> Reply {
    let Some(last) = b.last_msg_uid.or(q.last_msg_uid) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Some required keys are missing in the request: {'last_msg_uid'}. ",
        ));
    };
    let (msgs, newest) = state.console.since(&last);
    let reply =
        json!({"last_msg_uid": newest, "console_output_msgs": msgs, "success": true, "msg": ""});
    Ok(Json(reply).into_response())
}
