//! Queue and history edits, each behind the queue lock.

use hutch_app::model::queue::QueueItem;
use serde_json::Value;

use super::{Edit, ItemAt, ItemsAt, Outcome, QueueReply, Refused, Step};
use crate::queue::edit::{parse_item, prepare_item};
use crate::queue::handle::Env;
use crate::queue::state::Guard;

pub(super) fn apply(env: &mut Env, lock_key: Option<&str>, edit: Edit) -> QueueReply {
    let locked = env
        .state
        .check_lock(Guard::Queue, lock_key)
        .map_err(|e| Refused::new(Step::Lock, e));
    match edit {
        Edit::Clear => QueueReply::Done(locked.map(|()| env.state.clear())),
        Edit::ClearHistory { size, uid } => QueueReply::Done(
            locked.and_then(|()| env.state.clear_history(size, uid.as_deref()).map_err(state)),
        ),
        Edit::SetMode(change) => QueueReply::Done(locked.map(|()| {
            let mode = change.applied_to(&env.state.mode);
            env.state.set_mode(mode);
        })),
        Edit::Add { item, placement } => QueueReply::Item(locked.and_then(|()| {
            let item = prepared(env, &item)?;
            let qsize = env
                .state
                .add(item.clone(), &placement, env.ctx)
                .map_err(request)?;
            Ok(ItemAt { item, qsize })
        })),
        Edit::Update { item, replace } => QueueReply::Updated(locked.and_then(|()| {
            let Some(uid) = item.get("item_uid").and_then(Value::as_str) else {
                return Err(request(
                    "Item description contains no UID and UID generation is skipped",
                ));
            };
            let uid = uid.to_string();
            let item = prepared(env, &item)?;
            let index = env.state.items.iter().position(|i| i.item_uid == uid);
            let qsize = env.state.update(&uid, item, replace).map_err(state)?;
            let stored = index.and_then(|i| env.state.items.get(i)).cloned();
            Ok((stored, qsize))
        })),
        Edit::AddBatch { items, placement } => {
            let qsize = env.state.items.len();
            if let Err(refused) = locked {
                return QueueReply::Batch {
                    qsize,
                    results: Vec::new(),
                    outcome: Err(refused),
                };
            }
            let prepared: Vec<Result<QueueItem, String>> = items
                .iter()
                .map(|v| parse_item(Some(v)).and_then(|i| prepare_item(env.catalog, i, env.ctx)))
                .collect();
            let results = prepared
                .iter()
                .map(|r| r.as_ref().map(drop).map_err(Clone::clone))
                .collect();
            let outcome = add_batch(env, prepared, &placement);
            QueueReply::Batch {
                qsize,
                results,
                outcome,
            }
        }
        Edit::Remove(which) => QueueReply::Item(locked.and_then(|()| {
            let item = env.state.remove(&which).map_err(request)?;
            Ok(at(env, item))
        })),
        Edit::RemoveBatch {
            uids,
            ignore_missing,
        } => QueueReply::Items(locked.and_then(|()| {
            let items = env
                .state
                .remove_batch(&uids, ignore_missing)
                .map_err(request)?;
            Ok(all_at(env, items))
        })),
        Edit::Move { which, dest } => QueueReply::Item(locked.and_then(|()| {
            let item = env.state.move_item(&which, &dest).map_err(request)?;
            Ok(at(env, item))
        })),
        Edit::MoveBatch {
            uids,
            dest,
            reorder,
        } => QueueReply::Items(locked.and_then(|()| {
            let items = env
                .state
                .move_batch(&uids, &dest, reorder)
                .map_err(request)?;
            Ok(all_at(env, items))
        })),
    }
}

/// All items or none: any item that fails its check refuses the batch.
fn add_batch(
    env: &mut Env,
    prepared: Vec<Result<QueueItem, String>>,
    placement: &crate::queue::position::Placement,
) -> Outcome<ItemsAt> {
    let failed = prepared.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(request(format!(
            "validation of {failed} out of {} submitted items failed",
            prepared.len()
        )));
    }
    let items: Vec<QueueItem> = prepared.into_iter().flatten().collect();
    let qsize = env
        .state
        .add_batch(items.clone(), placement, env.ctx)
        .map_err(state)?;
    Ok(ItemsAt { items, qsize })
}

/// Parses and prepares (validates, stamps) a submitted item.
pub(super) fn prepared(env: &mut Env, item: &Value) -> Outcome<QueueItem> {
    parse_item(Some(item))
        .and_then(|i| prepare_item(env.catalog, i, env.ctx))
        .map_err(request)
}

fn at(env: &Env, item: QueueItem) -> ItemAt {
    ItemAt {
        item,
        qsize: env.state.items.len(),
    }
}

fn all_at(env: &Env, items: Vec<QueueItem>) -> ItemsAt {
    ItemsAt {
        items,
        qsize: env.state.items.len(),
    }
}

pub(super) fn request(msg: impl Into<String>) -> Refused {
    Refused::new(Step::Request, msg)
}

pub(super) fn state(msg: impl Into<String>) -> Refused {
    Refused::new(Step::State, msg)
}
