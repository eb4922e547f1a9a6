//! The bluesky-compatible queue routes: queue, items, history, environment, run engine, lock,
//! plans and devices. Every handler decodes the JSON body (also on GET, as bluesky clients send
//! one) into its typed struct with [`Body`] (unknown keys refused with 400 like
//! bluesky-httpserver), turns it into a [`QueueCommand`] for the queue manager, and writes the
//! manager's [`QueueReply`] in bluesky's JSON: this module is where that mapping lives. A
//! rejected request is HTTP 200 with `success: false` and a `msg`, as in the reference; nothing
//! is changed by a rejected request.

mod admin;
mod arrange;
mod edit;
mod environment;
mod info;
mod tasks;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hutch_app::model::queue::QueueItem;
use serde_json::{json, Value};

use super::ApiError;
use crate::auth::Principal;
use crate::queue::command::{QueueCommand, QueueReply, Refused, Step};
use crate::queue::edit::Which;
use crate::queue::position::{Placement, Pos};
use crate::AppState;

pub fn routes() -> super::api::Api {
    edit::routes()
        .merge(arrange::routes())
        .merge(environment::routes())
        .merge(info::routes())
        .merge(tasks::routes())
        .merge(admin::routes())
}

/// What a route answers: JSON to serialise, or JSON already serialised (a long queue).
pub(super) enum Answer {
    Json(Value),
    Text(String),
}

impl From<Value> for Answer {
    fn from(v: Value) -> Self {
        Answer::Json(v)
    }
}

/// Runs `command` in the manager as the caller and writes its reply with `answer`, the route's
/// bluesky mapping. A command whose batch could not be stored is answered as refused.
/// Sends a command to the manager and waits for its reply (503 when the manager is gone).
pub(super) async fn ask(
    state: &AppState,
    principal: Principal,
    command: QueueCommand,
) -> Result<QueueReply, ApiError> {
    state
        .queue
        .send(principal, command)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

pub(super) async fn run<A: Into<Answer>>(
    state: &AppState,
    principal: Principal,
    command: QueueCommand,
    answer: impl FnOnce(QueueReply) -> A,
) -> Result<Response, ApiError> {
    let answer = match ask(state, principal, command).await? {
        QueueReply::NotStored(why) => Answer::Json(fail(why)),
        reply => answer(reply).into(),
    };
    Ok(match answer {
        Answer::Json(v) => Json(v).into_response(),
        Answer::Text(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
    })
}

/// A reply of another kind than the route's command gives: a bug in hutch, said as such.
pub(super) fn unexpected(reply: QueueReply) -> Value {
    tracing::error!("the queue manager answered with an unexpected reply: {reply:?}");
    fail("hutch answered this request with a reply of another kind; this is a bug in hutch, please report it")
}

/// A reply that is only done or refused; a refusal's message after `prefix`.
pub(super) fn done(reply: QueueReply, prefix: &str) -> Value {
    match reply {
        QueueReply::Done(Ok(())) => ok(),
        QueueReply::Done(Err(r)) => fail(format!("{prefix}{}", r.msg)),
        other => unexpected(other),
    }
}

/// The reply of a control route: done, or refused with the reason ("Error: " before a lock's).
pub(super) fn controlled(reply: QueueReply) -> Value {
    match reply {
        QueueReply::Done(Err(r)) if r.at == Step::Lock => refused(&r, "Error: "),
        other => done(other, ""),
    }
}

/// An answer given without asking the manager (the request itself is refused).
pub(super) fn answer(v: Value) -> Result<Response, ApiError> {
    Ok(Json(v).into_response())
}

pub(super) fn ok() -> Value {
    json!({"success": true, "msg": ""})
}

pub(super) fn fail(msg: impl Into<String>) -> Value {
    json!({"success": false, "msg": msg.into()})
}

pub(super) fn refused(r: &Refused, prefix: &str) -> Value {
    fail(format!("{prefix}{}", r.msg))
}

/// Adds more keys to a reply object.
pub(super) fn with(mut v: Value, extra: Value) -> Value {
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// A `pos` as bluesky sends it: "front", "back" or an integer.
pub(super) fn pos_of(v: &Option<Value>) -> Result<Option<Pos>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Pos::from_json(v).map(Some),
    }
}

/// `uid` or `pos` of the item a request is about.
pub(super) fn which(uid: Option<String>, pos: &Option<Value>) -> Result<Which, String> {
    Which::from_parts(uid, pos_of(pos)?)
}

/// `pos` / `before_uid` / `after_uid` of an add request.
pub(super) fn placement(
    pos: &Option<Value>,
    before: Option<String>,
    after: Option<String>,
) -> Result<Placement, String> {
    Placement::from_parts(pos_of(pos)?, before, after).map_err(|e| e.to_string())
}

/// An item as bluesky replies show it (`{}` for none, as bluesky).
pub(super) fn item_json(item: Option<&QueueItem>) -> Value {
    item.map_or(json!({}), |i| json!(i))
}

/// The principal of a request (set by the auth layer).
pub(super) type Caller = Extension<Principal>;

pub(super) use super::body::Body;
pub(super) use axum::extract::State as S;
