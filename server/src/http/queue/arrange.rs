//! Removing and moving queued items, one or many.

use axum::Extension;
use serde_json::{json, Value};

use super::{
    answer, fail, ok, placement, pos_of, refused, run, unexpected, which, with, Body, Caller, S,
};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::command::{Edit, QueueCommand, QueueReply};
use crate::queue::position::{Ambiguous, Placement};
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
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
}

type Reply = Result<axum::response::Response, ApiError>;

fn edit(lock_key: Option<String>, edit: Edit) -> QueueCommand {
    QueueCommand::Edit { lock_key, edit }
}

body!(ItemRemove, "item_remove" { uid: Option<String>, pos: Option<Value>, lock_key: Option<String> });
body!(ItemRemoveBatch, "item_remove_batch" {
    uids: Option<Vec<String>>, ignore_missing: Option<bool>, lock_key: Option<String>,
});
body!(ItemMove, "item_move" {
    uid: Option<String>, pos: Option<Value>, pos_dest: Option<Value>,
    before_uid: Option<String>, after_uid: Option<String>, lock_key: Option<String>,
});
body!(ItemMoveBatch, "item_move_batch" {
    uids: Option<Vec<String>>, pos_dest: Option<Value>, before_uid: Option<String>,
    after_uid: Option<String>, reorder: Option<bool>, lock_key: Option<String>,
});

/// The reply of a single-item edit (remove, move).
fn one_item(r: QueueReply, prefix: &str) -> Value {
    match r {
        QueueReply::Item(Ok(at)) => with(ok(), json!({"item": at.item, "qsize": at.qsize})),
        QueueReply::Item(Err(e)) => with(refused(&e, prefix), json!({"item": {}, "qsize": null})),
        other => unexpected(other),
    }
}

/// The reply of a batch edit (remove, move).
fn many_items(r: QueueReply, prefix: &str) -> Value {
    match r {
        QueueReply::Items(Ok(at)) => with(ok(), json!({"items": at.items, "qsize": at.qsize})),
        QueueReply::Items(Err(e)) => with(refused(&e, prefix), json!({"items": [], "qsize": null})),
        other => unexpected(other),
    }
}

async fn item_remove(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemRemove>,
) -> Reply {
    const PREFIX: &str = "Failed to remove an item: ";
    let which = match which(b.uid, &b.pos) {
        Ok(w) => w,
        Err(e) => {
            return answer(with(
                fail(format!("{PREFIX}{e}")),
                json!({"item": {}, "qsize": null}),
            ))
        }
    };
    run(&state, who, edit(b.lock_key, Edit::Remove(which)), |r| {
        one_item(r, PREFIX)
    })
    .await
}

async fn item_remove_batch(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemRemoveBatch>,
) -> Reply {
    const PREFIX: &str = "Failed to remove a batch of items: ";
    let Some(uids) = b.uids else {
        return answer(with(
            fail(format!("{PREFIX}Request does not contain the list of UIDs")),
            json!({"items": [], "qsize": null}),
        ));
    };
    let ignore_missing = b.ignore_missing.unwrap_or(true);
    let command = edit(
        b.lock_key,
        Edit::RemoveBatch {
            uids,
            ignore_missing,
        },
    );
    run(&state, who, command, |r| many_items(r, PREFIX)).await
}

async fn item_move(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemMove>,
) -> Reply {
    const PREFIX: &str = "Failed to move the item: ";
    let parsed = (|| {
        if b.uid.is_none() && b.pos.is_none() {
            return Err("Source position or UID is not specified.".to_string());
        }
        if b.pos_dest.is_none() && b.before_uid.is_none() && b.after_uid.is_none() {
            return Err("Destination position or UID is not specified.".to_string());
        }
        let src = which(b.uid, &b.pos).map_err(|_| {
            "Ambiguous parameters: Both position and uid is specified for the source plan."
                .to_string()
        })?;
        let dest = Placement::from_parts(pos_of(&b.pos_dest)?, b.before_uid, b.after_uid)
            .map_err(|e| match e {
                Ambiguous::BeforeAndAfter => "Ambiguous parameters: source should be moved 'before' and 'after' the destination.",
                Ambiguous::PositionAndUid => "Ambiguous parameters: Both position and uid is specified for the destination plan.",
            }.to_string())?;
        Ok((src, dest))
    })();
    let (which, dest) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return answer(with(
                fail(format!("{PREFIX}{e}")),
                json!({"item": {}, "qsize": null}),
            ))
        }
    };
    run(
        &state,
        who,
        edit(b.lock_key, Edit::Move { which, dest }),
        |r| one_item(r, PREFIX),
    )
    .await
}

async fn item_move_batch(
    S(state): S<AppState>,
    Extension(who): Caller,
    Body(b): Body<ItemMoveBatch>,
) -> Reply {
    const PREFIX: &str = "Failed to move the batch of items: ";
    let parsed = (|| {
        let uids = b.uids.ok_or("Request does not contain the list of UIDs")?;
        let given = [
            b.pos_dest.is_some(),
            b.before_uid.is_some(),
            b.after_uid.is_some(),
        ]
        .into_iter()
        .filter(|g| *g)
        .count();
        if given == 0 {
            return Err("Destination for the batch is not specified: use parameters 'pos_dest', 'before_uid' or 'after_uid'".to_string());
        }
        if given > 1 {
            return Err("The function was called with more than one mutually exclusive parameter ('pos_dest', 'before_uid', 'after_uid')".into());
        }
        let dest = placement(&b.pos_dest, b.before_uid, b.after_uid)?;
        Ok((uids, dest))
    })();
    let (uids, dest) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return answer(with(
                fail(format!("{PREFIX}{e}")),
                json!({"qsize": null, "items": []}),
            ))
        }
    };
    let reorder = b.reorder.unwrap_or(false);
    let command = edit(
        b.lock_key,
        Edit::MoveBatch {
            uids,
            dest,
            reorder,
        },
    );
    run(&state, who, command, |r| many_items(r, PREFIX)).await
}
