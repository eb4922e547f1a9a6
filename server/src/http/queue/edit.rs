//! Queue and history editing routes.

use axum::Extension;
use serde_json::{json, Value};

use super::{
    answer, done, fail, item_json, ok, placement, refused, run, unexpected, which, with, Body,
    Caller, S,
};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::command::{Edit, QueueCommand, QueueReply, Read, Step};
use crate::queue::position::Placement;
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
        .post(
            "/api/queue/item/validate",
            Need::Scope(scopes::WRITE_QUEUE_EDIT),
            item_validate,
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

fn edit(lock_key: Option<String>, edit: Edit) -> QueueCommand {
    QueueCommand::Edit { lock_key, edit }
}

body!(QueueGet, "queue_get" { reload: Option<Value> });
body!(HistoryGet, "history_get" { reload: Option<Value> });
body!(QueueClear, "queue_clear" { lock_key: Option<String> });
// `user` and `user_group` are accepted and ignored: the server stamps them.
body!(ItemAdd, "item_add" {
    item: Option<Value>, pos: Option<Value>, before_uid: Option<String>,
    after_uid: Option<String>, lock_key: Option<String>, user: Option<Value>,
    user_group: Option<Value>,
});
body!(ItemAddBatch, "item_add_batch" {
    items: Option<Value>, pos: Option<Value>, before_uid: Option<String>,
    after_uid: Option<String>, lock_key: Option<String>, user: Option<Value>,
    user_group: Option<Value>,
});
hutch_body!(ItemValidate, "POST /api/queue/item/validate" { items: Option<Vec<Value>> });
body!(ItemGet, "item_get" { uid: Option<String>, pos: Option<Value> });
body!(ItemUpdate, "item_update" {
    item: Option<Value>, replace: Option<bool>, lock_key: Option<String>,
    user: Option<Value>, user_group: Option<Value>,
});
body!(HistoryClear, "history_clear" {
    size: Option<Value>, item_uid: Option<Value>, lock_key: Option<String>,
});

/// `queue/get` and `history/get` replies, written around the list the manager serialised.
fn list_text(items: &str, running: Option<&Value>, uid_key: &str, uid: &str) -> String {
    let uid = Value::from(uid);
    match running {
        Some(r) => format!(
            r#"{{"success":true,"msg":"","items":{items},"running_item":{r},"{uid_key}":{uid}}}"#
        ),
        None => format!(r#"{{"success":true,"msg":"","items":{items},"{uid_key}":{uid}}}"#),
    }
}

async fn queue_get(S(state): S<AppState>, Extension(who): Caller, _: Body<QueueGet>) -> Reply {
    run(&state, who, QueueCommand::Read(Read::Queue), |r| match r {
        QueueReply::Queue {
            items,
            running,
            uid,
        } => super::Answer::Text(list_text(
            &items,
            Some(&item_json(running.as_ref())),
            "plan_queue_uid",
            &uid,
        )),
        other => unexpected(other).into(),
    })
    .await
}

async fn history_get(S(state): S<AppState>, Extension(who): Caller, _: Body<HistoryGet>) -> Reply {
    run(
        &state,
        who,
        QueueCommand::Read(Read::History),
        |r| match r {
            QueueReply::History { items, uid } => {
                super::Answer::Text(list_text(&items, None, "plan_history_uid", &uid))
            }
            other => unexpected(other).into(),
        },
    )
    .await
}

async fn queue_clear(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<QueueClear>,
) -> Reply {
    run(&state, who, edit(b.lock_key, Edit::Clear), |r| {
        done(r, "Error: ")
    })
    .await
}

async fn item_add(S(state): S<AppState>, Extension(who): Caller, Body(b): Body<ItemAdd>) -> Reply {
    const PREFIX: &str = "Failed to add an item: ";
    let sent = b.item.unwrap_or(Value::Null);
    let placement = match placement(&b.pos, b.before_uid, b.after_uid) {
        Ok(p) => p,
        Err(e) => {
            return answer(with(
                fail(format!("{PREFIX}{e}")),
                json!({"qsize": null, "item": sent}),
            ))
        }
    };
    let command = edit(
        b.lock_key,
        Edit::Add {
            item: sent.clone(),
            placement,
        },
    );
    run(&state, who, command, move |r| match r {
        QueueReply::Item(Ok(at)) => with(ok(), json!({"qsize": at.qsize, "item": at.item})),
        QueueReply::Item(Err(e)) => {
            let item = if e.at == Step::Lock {
                Value::Null
            } else {
                sent
            };
            with(refused(&e, PREFIX), json!({"qsize": null, "item": item}))
        }
        other => unexpected(other),
    })
    .await
}

async fn item_add_batch(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemAddBatch>,
) -> Reply {
    let Some(Value::Array(sent)) = b.items else {
        return answer(with(
            fail("Failed to add an item: Invalid request format: the list of items is not found"),
            json!({"qsize": null, "items": [], "results": []}),
        ));
    };
    let placement = match placement(&b.pos, b.before_uid, b.after_uid) {
        Ok(p) => p,
        Err(e) => {
            return answer(with(
                fail(format!("Failed to add all items: {e}")),
                json!({"qsize": null, "items": sent, "results": []}),
            ))
        }
    };
    add_batch(&state, who, b.lock_key, sent, placement).await
}

/// `queue/item/add/batch`: all items or none (also the spreadsheet upload's).
pub(super) async fn add_batch(
    state: &AppState,
    who: crate::auth::Principal,
    lock_key: Option<String>,
    sent: Vec<Value>,
    placement: Placement,
) -> Reply {
    let command = edit(
        lock_key,
        Edit::AddBatch {
            items: sent.clone(),
            placement,
        },
    );
    run(state, who, command, move |r| {
        let QueueReply::Batch {
            qsize,
            results,
            outcome,
        } = r
        else {
            return unexpected(r);
        };
        let results: Vec<Value> = results
            .iter()
            .map(|r| match r {
                Ok(()) => ok(),
                Err(e) => fail(format!("Failed to add a plan: {e}")),
            })
            .collect();
        match outcome {
            Ok(added) => with(
                ok(),
                json!({"qsize": added.qsize, "items": added.items, "results": results}),
            ),
            Err(e) if e.at == Step::Lock => with(
                refused(&e, "Failed to add an item: "),
                json!({"qsize": null, "items": [], "results": []}),
            ),
            Err(e) => with(
                refused(&e, "Failed to add all items: "),
                json!({"qsize": qsize, "items": sent, "results": results}),
            ),
        }
    })
    .await
}

/// The most items one check takes (a spreadsheet of a beamtime is hundreds).
const MAX_CHECKED: usize = 10_000;

/// `queue/item/validate` (hutch's): items checked as `item/add` checks them for this caller
/// (plan, parameters, permissions; not the queue lock, checked when they are sent), added to nothing. `success` is whether every item passed; `results` has a verdict per
/// item in bluesky's batch form.
async fn item_validate(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemValidate>,
) -> Reply {
    let Some(items) = b.items else {
        return Err(ApiError::bad_param(
            "give 'items': a list of queue items, as for queue/item/add/batch",
        ));
    };
    if items.len() > MAX_CHECKED {
        return Err(ApiError::bad_param(format!(
            "'items' has {} items; check at most {MAX_CHECKED} at a time",
            items.len()
        )));
    }
    let n = items.len();
    run(
        &state,
        who,
        QueueCommand::Read(Read::Check(items)),
        move |r| {
            let QueueReply::Checked(verdicts) = r else {
                return unexpected(r);
            };
            let failed = verdicts.iter().filter(|v| v.is_err()).count();
            let results: Vec<Value> = verdicts
                .into_iter()
                .map(|v| match v {
                    Ok(()) => ok(),
                    Err(e) => fail(e),
                })
                .collect();
            let head = if failed == 0 {
                ok()
            } else {
                fail(format!(
                    "validation of {failed} out of {n} submitted items failed"
                ))
            };
            with(head, json!({"results": results}))
        },
    )
    .await
}

async fn item_get(S(state): S<AppState>, Extension(who): Caller, Body(b): Body<ItemGet>) -> Reply {
    const PREFIX: &str = "Failed to get an item: ";
    let which = match which(b.uid, &b.pos) {
        Ok(w) => w,
        Err(e) => return answer(with(fail(format!("{PREFIX}{e}")), json!({"item": {}}))),
    };
    run(
        &state,
        who,
        QueueCommand::Read(Read::Item(which)),
        |r| match r {
            QueueReply::Item(Ok(at)) => with(ok(), json!({"item": at.item})),
            QueueReply::Item(Err(e)) => with(refused(&e, PREFIX), json!({"item": {}})),
            other => unexpected(other),
        },
    )
    .await
}

async fn item_update(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemUpdate>,
) -> Reply {
    const PREFIX: &str = "Failed to add an item: ";
    let sent = b.item.unwrap_or(Value::Null);
    let command = edit(
        b.lock_key,
        Edit::Update {
            item: sent.clone(),
            replace: b.replace.unwrap_or(false),
        },
    );
    run(&state, who, command, move |r| match r {
        QueueReply::Updated(Ok((item, qsize))) => with(ok(), json!({"qsize": qsize, "item": item})),
        QueueReply::Updated(Err(e)) => {
            let extra = match e.at {
                Step::Lock => json!({"qsize": null, "item": null}),
                Step::Request => json!({"qsize": null, "item": sent}),
                Step::State => json!({"qsize": 0, "item": sent}),
            };
            with(refused(&e, PREFIX), extra)
        }
        other => unexpected(other),
    })
    .await
}

async fn history_clear(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<HistoryClear>,
) -> Reply {
    let size = match b.size {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                return answer(fail(format!(
                    "Error: The 'size' parameter must be an integer: size={v}"
                )))
            }
        },
    };
    let uid = match b.item_uid {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(v) => {
            return answer(fail(format!(
                "Error: The 'item_uid' parameter must be a string: item_uid={v}"
            )))
        }
    };
    run(
        &state,
        who,
        edit(b.lock_key, Edit::ClearHistory { size, uid }),
        |r| done(r, "Error: "),
    )
    .await
}
