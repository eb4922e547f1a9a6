//! The bluesky-compatible queue routes: queue, items, history, environment, run engine, lock,
//! plans and devices. Every handler parses the JSON body (also on GET, as bluesky clients send
//! one), refuses unknown keys with 400 like bluesky-httpserver, and runs its work inside the
//! queue manager. A rejected request is HTTP 200 with `success: false` and a `msg`, as in the
//! reference; nothing is changed by a rejected request.

mod admin;
mod edit;
mod environment;
mod info;
mod tasks;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::status::json_object_body;
use super::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::queue::handle::{Env, Reply};
use crate::queue::position::{Placement, Pos};
use crate::queue::state::Guard;
use crate::AppState;

pub fn routes() -> super::api::Api {
    edit::routes()
        .merge(environment::routes())
        .merge(info::routes())
        .merge(tasks::routes())
        .merge(admin::routes())
}

/// The request body as a map, refusing keys the route does not take.
pub(super) fn params(
    body: &Bytes,
    function: &str,
    allowed: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    let map = json_object_body(body)?;
    if let Some(bad) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("API_Async_Mixin.{function}() got an unexpected keyword argument '{bad}'; accepted: {}", allowed.join(", ")),
        ));
    }
    Ok(map)
}

/// Runs `job` in the manager with the caller's identity and returns its JSON reply.
pub(super) async fn run<R: Into<Reply>>(
    state: &AppState,
    principal: Principal,
    job: impl for<'a, 'c> FnOnce(&mut Env<'a, 'c>) -> R + Send + 'static,
) -> Result<Response, ApiError> {
    match state.queue.call(principal, job).await {
        Ok(Reply::Value(v)) => Ok(Json(v).into_response()),
        Ok(Reply::Raw(text)) => {
            Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
        }
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            e.to_string(),
        )),
    }
}

pub(super) fn ok() -> Value {
    json!({"success": true, "msg": ""})
}

pub(super) fn fail(msg: impl Into<String>) -> Value {
    json!({"success": false, "msg": msg.into()})
}

/// Adds more keys to a reply object.
pub(super) fn with(mut v: Value, extra: Value) -> Value {
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

pub(super) fn lock_key(p: &Map<String, Value>) -> Option<String> {
    p.get("lock_key").and_then(Value::as_str).map(String::from)
}

/// Checks the lock for this route; the error is the route's full message.
pub(super) fn guard(
    env: &Env,
    guard: Guard,
    key: &Option<String>,
    prefix: &str,
) -> Result<(), String> {
    env.state
        .check_lock(guard, key.as_deref())
        .map_err(|e| format!("{prefix}{e}"))
}

pub(super) fn pos_of(p: &Map<String, Value>, key: &str) -> Result<Option<Pos>, String> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Pos::from_json(v).map(Some),
    }
}

pub(super) fn str_of(p: &Map<String, Value>, key: &str) -> Option<String> {
    p.get(key).and_then(Value::as_str).map(String::from)
}

/// `pos` / `before_uid` / `after_uid` of an add request.
pub(super) fn placement(p: &Map<String, Value>, pos_key: &str) -> Result<Placement, String> {
    Placement::from_parts(
        pos_of(p, pos_key)?,
        str_of(p, "before_uid"),
        str_of(p, "after_uid"),
    )
    .map_err(|e| e.to_string())
}

/// Parses and prepares (validates, stamps) a submitted item.
pub(super) fn edit_item(
    env: &mut Env,
    v: Option<&Value>,
) -> Result<hutch_app::model::queue::QueueItem, String> {
    edit::parse_item(v).and_then(|i| crate::queue::edit::prepare_item(env.catalog, i, env.ctx))
}

/// The principal of a request (set by the auth layer).
pub(super) type Caller = Extension<Principal>;

pub(super) use axum::extract::State as S;
