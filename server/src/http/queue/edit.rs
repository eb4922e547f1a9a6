//! Queue and history editing routes.

use axum::body::Bytes;
use axum::Extension;
use hutch_app::model::queue::QueueItem;
use serde_json::{json, Map, Value};

use super::{fail, guard, lock_key, ok, params, placement, pos_of, run, str_of, with, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::edit::Which;
use crate::queue::handle::Env;
use crate::queue::position::{Ambiguous, Placement};
use crate::queue::state::Guard;
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .get("/api/queue/get", Need::Scope(scopes::READ_QUEUE), queue_get)
        .post(
            "/api/queue/clear",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            queue_clear,
        )
        .post(
            "/api/queue/item/add",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_add,
        )
        .post(
            "/api/queue/item/add/batch",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_add_batch,
        )
        .get(
            "/api/queue/item/get",
            Need::Scope(scopes::READ_QUEUE),
            item_get,
        )
        .post(
            "/api/queue/item/update",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_update,
        )
        .post(
            "/api/queue/item/remove",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_remove,
        )
        .post(
            "/api/queue/item/remove/batch",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_remove_batch,
        )
        .post(
            "/api/queue/item/move",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_move,
        )
        .post(
            "/api/queue/item/move/batch",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_move_batch,
        )
        .get(
            "/api/history/get",
            Need::Scope(scopes::READ_HISTORY),
            history_get,
        )
        .post(
            "/api/history/clear",
            Need::Scope(scopes::WRITE_HISTORY_EDIT),
            history_clear,
        )
}

type Reply = Result<axum::response::Response, ApiError>;

/// The keys `item/add` and `item/add/batch` accept, with their item key (`item` or `items`).
/// `user` and `user_group` are accepted and ignored: the server stamps them.
fn with_key(item_key: &'static str) -> [&'static str; 7] {
    [
        item_key,
        "pos",
        "before_uid",
        "after_uid",
        "lock_key",
        "user",
        "user_group",
    ]
}

/// Parses a submitted item; the error is bluesky's "Incorrect request format" message.
pub(super) fn parse_item(v: Option<&Value>) -> Result<QueueItem, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Err("Incorrect request format: request contains no item info".into());
    };
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "Incorrect request format: the item must be an object, got {v}"
        ));
    };
    match obj.get("item_type").and_then(Value::as_str) {
        None => return Err("Incorrect request format: 'item_type' key is not found".into()),
        Some("plan" | "instruction") => {}
        Some(other) => {
            return Err(format!(
                "Incorrect request format: unsupported 'item_type' value: '{other}', supported item types ('plan', 'instruction')"
            ))
        }
    }
    let mut clean = Map::new();
    for key in ["name", "args", "kwargs", "item_type", "meta", "item_uid"] {
        if let Some(v) = obj.get(key) {
            clean.insert(key.into(), v.clone());
        }
    }
    serde_json::from_value(Value::Object(clean))
        .map_err(|e| format!("Incorrect request format: {e}"))
}

async fn queue_get(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    params(&body, "queue_get", &["reload"])?;
    run(&state, who, |env: &mut Env| {
        let running = env.state.running.as_ref().map_or(json!({}), |r| json!(r));
        raw(&QueueList {
            success: true,
            msg: "",
            items: &env.state.items,
            running_item: Some(&running),
            plan_queue_uid: Some(&env.uids.plan_queue),
            plan_history_uid: None,
        })
    })
    .await
}

/// `queue/get` and `history/get` replies, serialised straight from the state: for a long queue
/// this is several times faster than building a `Value` first.
#[derive(serde::Serialize)]
struct QueueList<'a> {
    success: bool,
    msg: &'a str,
    items: &'a [QueueItem],
    #[serde(skip_serializing_if = "Option::is_none")]
    running_item: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_queue_uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_history_uid: Option<&'a str>,
}

fn raw(list: &QueueList) -> crate::queue::handle::Reply {
    match serde_json::to_string(list) {
        Ok(text) => crate::queue::handle::Reply::Raw(text),
        Err(e) => fail(format!("could not encode the reply: {e}")).into(),
    }
}

async fn queue_clear(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "queue_clear", &["lock_key"])?;
    run(&state, who, move |env: &mut Env| {
        if let Err(e) = guard(env, Guard::Queue, &lock_key(&p), "Error: ") {
            return fail(e);
        }
        env.state.clear();
        ok()
    })
    .await
}

async fn item_add(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "item_add", &with_key("item"))?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to add an item: ";
        let rejected = |msg: String, item: Value| {
            with(
                fail(format!("{PREFIX}{msg}")),
                json!({"qsize": null, "item": item}),
            )
        };
        if let Err(e) = guard(env, Guard::Queue, &lock_key(&p), "") {
            return rejected(e, Value::Null);
        }
        let sent = p.get("item").cloned().unwrap_or(Value::Null);
        let item = match super::edit_item(env, p.get("item")) {
            Ok(i) => i,
            Err(e) => return rejected(e, sent),
        };
        let placement = match placement(&p, "pos") {
            Ok(pl) => pl,
            Err(e) => return rejected(e, sent),
        };
        match env.state.add(item.clone(), &placement, env.ctx) {
            Ok(qsize) => with(ok(), json!({"qsize": qsize, "item": item})),
            Err(e) => rejected(e, sent),
        }
    })
    .await
}

async fn item_add_batch(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "item_add_batch", &with_key("items"))?;
    run(&state, who, move |env: &mut Env| add_batch(env, &p)).await
}

/// `queue/item/add/batch` inside the manager: all items or none (also the spreadsheet upload's).
pub(super) fn add_batch(env: &mut Env, p: &Map<String, Value>) -> Value {
    {
        let qsize = env.state.items.len();
        if let Err(e) = guard(env, Guard::Queue, &lock_key(p), "Failed to add an item: ") {
            return with(fail(e), json!({"qsize": null, "items": [], "results": []}));
        }
        let Some(sent) = p.get("items").and_then(Value::as_array).cloned() else {
            return with(
                fail(
                    "Failed to add an item: Invalid request format: the list of items is not found",
                ),
                json!({"qsize": null, "items": [], "results": []}),
            );
        };
        let prepared: Vec<Result<QueueItem, String>> = sent
            .iter()
            .map(|v| super::edit_item(env, Some(v)))
            .collect();
        let failed = prepared.iter().filter(|r| r.is_err()).count();
        let results: Vec<Value> = prepared
            .iter()
            .map(|r| match r {
                Ok(_) => json!({"success": true, "msg": ""}),
                Err(e) => json!({"success": false, "msg": format!("Failed to add a plan: {e}")}),
            })
            .collect();
        let placement = match placement(p, "pos") {
            Ok(pl) if failed == 0 => pl,
            other => {
                let msg = match other {
                    Err(e) => format!("Failed to add all items: {e}"),
                    Ok(_) => format!("Failed to add all items: validation of {failed} out of {} submitted items failed", sent.len()),
                };
                return with(
                    fail(msg),
                    json!({"qsize": qsize, "items": sent, "results": results}),
                );
            }
        };
        let items: Vec<QueueItem> = prepared.into_iter().flatten().collect();
        match env.state.add_batch(items.clone(), &placement, env.ctx) {
            Ok(qsize) => with(
                ok(),
                json!({"qsize": qsize, "items": items, "results": results}),
            ),
            Err(e) => with(
                fail(format!("Failed to add all items: {e}")),
                json!({"qsize": qsize, "items": sent, "results": results}),
            ),
        }
    }
}

fn which(p: &Map<String, Value>) -> Result<Which, String> {
    Which::from_parts(str_of(p, "uid"), pos_of(p, "pos")?)
}

async fn item_get(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "item_get", &["uid", "pos"])?;
    run(&state, who, move |env: &mut Env| {
        match which(&p).and_then(|w| env.state.get(&w).cloned()) {
            Ok(item) => with(ok(), json!({"item": item})),
            Err(e) => with(
                fail(format!("Failed to get an item: {e}")),
                json!({"item": {}}),
            ),
        }
    })
    .await
}

async fn item_update(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "item_update",
        &["item", "replace", "lock_key", "user", "user_group"],
    )?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to add an item: ";
        if let Err(e) = guard(env, Guard::Queue, &lock_key(&p), PREFIX) {
            return with(fail(e), json!({"qsize": null, "item": null}));
        }
        let sent = p.get("item").cloned().unwrap_or(Value::Null);
        let Some(uid) = sent
            .get("item_uid")
            .and_then(Value::as_str)
            .map(String::from)
        else {
            return with(
                fail(format!(
                    "{PREFIX}Item description contains no UID and UID generation is skipped"
                )),
                json!({"qsize": null, "item": sent}),
            );
        };
        let replace = p.get("replace").and_then(Value::as_bool).unwrap_or(false);
        let item = match super::edit_item(env, Some(&sent)) {
            Ok(i) => i,
            Err(e) => {
                return with(
                    fail(format!("{PREFIX}{e}")),
                    json!({"qsize": null, "item": sent}),
                )
            }
        };
        let index = env.state.items.iter().position(|i| i.item_uid == uid);
        match env.state.update(&uid, item, replace) {
            Ok(qsize) => {
                let stored = index.and_then(|i| env.state.items.get(i)).cloned();
                with(ok(), json!({"qsize": qsize, "item": stored}))
            }
            Err(e) => with(
                fail(format!("{PREFIX}{e}")),
                json!({"qsize": 0, "item": sent}),
            ),
        }
    })
    .await
}

async fn item_remove(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "item_remove", &["uid", "pos", "lock_key"])?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to remove an item: ";
        let result = guard(env, Guard::Queue, &lock_key(&p), "")
            .and_then(|()| which(&p))
            .and_then(|w| env.state.remove(&w));
        match result {
            Ok(item) => with(ok(), json!({"item": item, "qsize": env.state.items.len()})),
            Err(e) => with(
                fail(format!("{PREFIX}{e}")),
                json!({"item": {}, "qsize": null}),
            ),
        }
    })
    .await
}

fn uid_list(p: &Map<String, Value>) -> Option<Vec<String>> {
    p.get("uids")?
        .as_array()?
        .iter()
        .map(|u| u.as_str().map(String::from))
        .collect()
}

async fn item_remove_batch(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "item_remove_batch",
        &["uids", "ignore_missing", "lock_key"],
    )?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to remove a batch of items: ";
        let ignore_missing = p
            .get("ignore_missing")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let result = guard(env, Guard::Queue, &lock_key(&p), "")
            .and_then(|()| {
                uid_list(&p).ok_or_else(|| "Request does not contain the list of UIDs".to_string())
            })
            .and_then(|uids| env.state.remove_batch(&uids, ignore_missing));
        match result {
            Ok(items) => with(
                ok(),
                json!({"items": items, "qsize": env.state.items.len()}),
            ),
            Err(e) => with(
                fail(format!("{PREFIX}{e}")),
                json!({"items": [], "qsize": null}),
            ),
        }
    })
    .await
}

async fn item_move(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "item_move",
        &[
            "uid",
            "pos",
            "pos_dest",
            "before_uid",
            "after_uid",
            "lock_key",
        ],
    )?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to move the item: ";
        let result = guard(env, Guard::Queue, &lock_key(&p), "").and_then(|()| {
            if p.get("uid").is_none() && p.get("pos").is_none() {
                return Err("Source position or UID is not specified.".to_string());
            }
            if ["pos_dest", "before_uid", "after_uid"].iter().all(|k| p.get(*k).is_none()) {
                return Err("Destination position or UID is not specified.".to_string());
            }
            let src = which(&p).map_err(|_| "Ambiguous parameters: Both position and uid is specified for the source plan.".to_string())?;
            let dest = Placement::from_parts(
                pos_of(&p, "pos_dest")?,
                str_of(&p, "before_uid"),
                str_of(&p, "after_uid"),
            )
            .map_err(|e| match e {
                Ambiguous::BeforeAndAfter => "Ambiguous parameters: source should be moved 'before' and 'after' the destination.",
                Ambiguous::PositionAndUid => "Ambiguous parameters: Both position and uid is specified for the destination plan.",
            }.to_string())?;
            env.state.move_item(&src, &dest)
        });
        match result {
            Ok(item) => with(ok(), json!({"item": item, "qsize": env.state.items.len()})),
            Err(e) => with(fail(format!("{PREFIX}{e}")), json!({"item": {}, "qsize": null})),
        }
    })
    .await
}

async fn item_move_batch(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "item_move_batch",
        &[
            "uids",
            "pos_dest",
            "before_uid",
            "after_uid",
            "reorder",
            "lock_key",
        ],
    )?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to move the batch of items: ";
        let result = guard(env, Guard::Queue, &lock_key(&p), "").and_then(|()| {
            let uids = uid_list(&p).ok_or_else(|| "Request does not contain the list of UIDs".to_string())?;
            let given = ["pos_dest", "before_uid", "after_uid"].iter().filter(|k| p.get(**k).is_some()).count();
            if given == 0 {
                return Err("Destination for the batch is not specified: use parameters 'pos_dest', 'before_uid' or 'after_uid'".into());
            }
            if given > 1 {
                return Err("The function was called with more than one mutually exclusive parameter ('pos_dest', 'before_uid', 'after_uid')".into());
            }
            let dest = placement(&p, "pos_dest")?;
            let reorder = p.get("reorder").and_then(Value::as_bool).unwrap_or(false);
            env.state.move_batch(&uids, &dest, reorder)
        });
        match result {
            Ok(items) => with(ok(), json!({"qsize": env.state.items.len(), "items": items})),
            Err(e) => with(fail(format!("{PREFIX}{e}")), json!({"qsize": null, "items": []})),
        }
    })
    .await
}

async fn history_get(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    params(&body, "history_get", &["reload"])?;
    run(&state, who, |env: &mut Env| {
        raw(&QueueList {
            success: true,
            msg: "",
            items: &env.state.history,
            running_item: None,
            plan_queue_uid: None,
            plan_history_uid: Some(&env.uids.plan_history),
        })
    })
    .await
}

async fn history_clear(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "history_clear", &["size", "item_uid", "lock_key"])?;
    run(&state, who, move |env: &mut Env| {
        let result = guard(env, Guard::Queue, &lock_key(&p), "").and_then(|()| {
            let size =
                match p.get("size") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_u64().ok_or_else(|| {
                        format!("The 'size' parameter must be an integer: size={v}")
                    })? as usize),
                };
            let uid = match p.get("item_uid") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_str()
                        .ok_or_else(|| {
                            format!("The 'item_uid' parameter must be a string: item_uid={v}")
                        })?
                        .to_string(),
                ),
            };
            env.state.clear_history(size, uid.as_deref())
        });
        match result {
            Ok(()) => ok(),
            Err(e) => fail(format!("Error: {e}")),
        }
    })
    .await
}
