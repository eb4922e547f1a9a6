//! Read-mostly routes: allowed/existing plans and devices, the lock, the console, the config.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{fail, ok, params, run, with, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::params::{Params, QueryParams};
use crate::http::ApiError;
use crate::queue::handle::Env;
use crate::queue::state::time_str;
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

fn unsupported(keys: &[&String]) -> ApiError {
    let list: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!(
            "Request contains keys the are not supported: {{{}}}.",
            list.join(", ")
        ),
    )
}

async fn plans(
    state: AppState,
    who: crate::auth::Principal,
    body: Bytes,
    key: &'static str,
) -> Reply {
    let p = super::super::status::json_object_body(&body)?;
    let bad: Vec<&String> = p
        .keys()
        .filter(|k| !["reduced", "reload"].contains(&k.as_str()))
        .collect();
    if !bad.is_empty() {
        return Err(unsupported(&bad));
    }
    let reduced = p.get("reduced").and_then(Value::as_bool).unwrap_or(false);
    run(&state, who, move |env: &mut Env| {
        let mut reply = ok();
        let group = (key == "plans_allowed").then_some(env.ctx.user_group);
        reply[key] = env.catalog.plans_json_for(group, reduced);
        reply[format!("{key}_uid")] = json!(env.uids.plans_allowed);
        reply
    })
    .await
}

async fn plans_allowed(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    plans(s, w, b, "plans_allowed").await
}
async fn plans_existing(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    plans(s, w, b, "plans_existing").await
}

async fn devices(
    state: AppState,
    who: crate::auth::Principal,
    body: Bytes,
    key: &'static str,
) -> Reply {
    params(&body, key, &["reload"])?;
    run(&state, who, move |env: &mut Env| {
        let mut reply = ok();
        let group = (key == "devices_allowed").then_some(env.ctx.user_group);
        reply[key] = env.catalog.devices_json_for(group);
        reply[format!("{key}_uid")] = json!(env.uids.devices_allowed);
        reply
    })
    .await
}

async fn devices_allowed(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    devices(s, w, b, "devices_allowed").await
}
async fn devices_existing(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    devices(s, w, b, "devices_existing").await
}

fn lock_info_json(env: &Env) -> Value {
    let emergency = env.state.emergency_key.is_some();
    match &env.state.lock {
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

fn required_lock_key(p: &serde_json::Map<String, Value>, what: &str) -> Result<String, ApiError> {
    match p.get("lock_key") {
        Some(Value::String(k)) if !k.is_empty() => Ok(k.clone()),
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

async fn lock(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "lock",
        &["lock_key", "environment", "queue", "note", "user"],
    )?;
    let key = required_lock_key(&p, "lock")?;
    let note = match p.get("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("Parameter 'note' must be a string or None: note={other}"),
            ))
        }
    };
    let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
    let (environment, queue) = (flag("environment"), flag("queue"));
    run(&state, who, move |env: &mut Env| {
        match env.state.lock(&key, environment, queue, note, env.ctx) {
            Ok(()) => with(
                ok(),
                json!({"lock_info": lock_info_json(env), "lock_info_uid": env.uids.lock_info}),
            ),
            Err(e) => with(
                fail(format!("Error: {e}")),
                json!({"lock_info": {}, "lock_info_uid": null}),
            ),
        }
    })
    .await
}

async fn unlock(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "unlock", &["lock_key"])?;
    let key = required_lock_key(&p, "unlock")?;
    run(&state, who, move |env: &mut Env| {
        let result = env.state.unlock(&key);
        let reply = match result {
            Ok(()) => ok(),
            Err(e) => fail(format!("Error: {e}")),
        };
        with(
            reply,
            json!({"lock_info": lock_info_json(env), "lock_info_uid": env.uids.lock_info}),
        )
    })
    .await
}

/// Staff remove a lock whose key is lost (the emergency key, without needing to know it).
async fn lock_break(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    params(&body, "lock_break", &[])?;
    let by = who.user.clone();
    run(&state, who, move |env: &mut Env| {
        let reply = if env.state.break_lock() {
            env.console.push(
                crate::clock::unix_now(),
                &format!("the lock was broken by {by}"),
            );
            ok()
        } else {
            fail("Error: there is no lock to break")
        };
        with(
            reply,
            json!({"lock_info": lock_info_json(env), "lock_info_uid": env.uids.lock_info}),
        )
    })
    .await
}

async fn lock_info(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "lock_info", &["lock_key", "reload"])?;
    let key = p.get("lock_key").and_then(Value::as_str).map(String::from);
    run(&state, who, move |env: &mut Env| {
        let reply = match (&key, &env.state.lock) {
            (Some(k), Some(l)) if &l.key != k => fail(format!(
                "Error: Invalid lock key: \n{}",
                env.state.lock_text()
            )),
            _ => ok(),
        };
        with(
            reply,
            json!({"lock_info": lock_info_json(env), "lock_info_uid": env.uids.lock_info}),
        )
    })
    .await
}

async fn config_get(body: Bytes) -> Reply {
    params(&body, "config_get", &[])?;
    Ok(Json(with(ok(), json!({"config": {"ip_connect_info": {}}}))).into_response())
}

/// `?nlines=` for a browser's GET (bluesky clients send `{"nlines": …}` in the body instead).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ConsoleParams {
    nlines: Option<u64>,
}

impl QueryParams for ConsoleParams {
    const ROUTE: &'static str = "/api/console_output";
    fn expects(_: &str) -> &'static str {
        "a whole number of lines"
    }
}

async fn console_output(
    S(state): S<AppState>,
    Params(q): Params<ConsoleParams>,
    body: Bytes,
) -> Reply {
    let p = super::super::status::json_object_body(&body)?;
    let n = p
        .get("nlines")
        .and_then(Value::as_u64)
        .or(q.nlines)
        .unwrap_or(200);
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

async fn console_output_update(S(state): S<AppState>, body: Bytes) -> Reply {
    let p = params(&body, "console_output_update", &["last_msg_uid"])?;
    let Some(last) = p.get("last_msg_uid").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Some required keys are missing in the request: {'last_msg_uid'}. ",
        ));
    };
    let (msgs, newest) = state.console.since(last);
    let reply =
        json!({"last_msg_uid": newest, "console_output_msgs": msgs, "success": true, "msg": ""});
    Ok(Json(reply).into_response())
}
