//! Reads of the manager's state, and the lock.

use super::{LockCommand, QueueReply, Read, RunFilter, Snapshot, SnapshotOf};
use crate::queue::handle::Env;
use hutch_app::model::stream::Topic;

pub(super) fn apply(env: &mut Env, read: Read) -> QueueReply {
    match read {
        Read::Queue => QueueReply::Queue {
            items: list(&env.state.items),
            running: env.state.running.clone(),
            uid: env.uids.plan_queue.clone(),
        },
        Read::History => QueueReply::History {
            items: list(&env.state.history),
            uid: env.uids.plan_history.clone(),
        },
        Read::Item(which) => QueueReply::Item(
            env.state
                .get(&which)
                .map(|item| super::ItemAt {
                    item: item.clone(),
                    qsize: env.state.items.len(),
                })
                .map_err(super::edit::request),
        ),
        Read::Runs(filter) => QueueReply::Runs {
            runs: env
                .state
                .runs
                .iter()
                .filter(|r| match filter {
                    RunFilter::Open => r.is_open,
                    RunFilter::Closed => !r.is_open,
                    RunFilter::Active => true,
                })
                .cloned()
                .collect(),
            uid: env.uids.run_list.clone(),
        },
        Read::Plans { allowed, reduced } => QueueReply::Catalog {
            list: env
                .catalog
                .plans_json_for(allowed.then_some(env.ctx.user_group), reduced),
            uid: env.uids.plans_allowed.clone(),
        },
        Read::Devices { allowed } => QueueReply::Catalog {
            list: env
                .catalog
                .devices_json_for(allowed.then_some(env.ctx.user_group)),
            uid: env.uids.devices_allowed.clone(),
        },
        Read::Schema(None) => QueueReply::Schema(Some(serde_json::Value::Object(
            env.catalog.plan_schemas(Some(env.ctx.user_group)),
        ))),
        Read::Schema(Some(name)) => {
            QueueReply::Schema(env.catalog.plan_schema(&name, Some(env.ctx.user_group)))
        }
        Read::Permissions => {
            QueueReply::Permissions(env.catalog.permissions.as_ref().map(|p| p.to_bluesky()))
        }
        Read::TaskStatus(uids) => QueueReply::TaskStatus(
            uids.into_iter()
                .map(|uid| {
                    let status = env.state.tasks.status(&uid);
                    (uid, status)
                })
                .collect(),
        ),
        Read::TaskResult(uid) => QueueReply::TaskResult {
            status: env.state.tasks.status(&uid),
            result: env.state.tasks.result(&uid),
        },
        Read::Check(items) => QueueReply::Checked(
            items
                .iter()
                .map(|v| super::edit::prepared(env, v).map(drop).map_err(|e| e.msg))
                .collect(),
        ),
        Read::Snapshot(of) => {
            // Read inside the manager, which alone publishes these topics: no change can slip
            // between the seq and the items.
            let (topic, items, running, uid) = match of {
                SnapshotOf::Queue => (
                    Topic::Queue,
                    &env.state.items,
                    env.state.running.clone(),
                    &env.uids.plan_queue,
                ),
                SnapshotOf::History => (
                    Topic::History,
                    &env.state.history,
                    None,
                    &env.uids.plan_history,
                ),
            };
            QueueReply::Snapshot(Snapshot {
                seq: env.hub.seq(&topic),
                of,
                items: items.clone(),
                running,
                uid: uid.clone(),
            })
        }
    }
}

/// A list of items as JSON text (infallible for these types; an empty list if it ever failed).
fn list(items: &[hutch_app::model::queue::QueueItem]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(super) fn lock(env: &mut Env, command: LockCommand) -> QueueReply {
    let outcome = match command {
        LockCommand::Lock {
            key,
            environment,
            queue,
            note,
        } => env.state.lock(&key, environment, queue, note, env.ctx),
        LockCommand::Unlock { key } => env.state.unlock(&key),
        LockCommand::Break => {
            if env.state.break_lock() {
                env.console.push(
                    env.ctx.now,
                    &format!("the lock was broken by {}", env.ctx.user),
                );
                Ok(())
            } else {
                Err("there is no lock to break".into())
            }
        }
        LockCommand::Info { key } => match (&key, &env.state.lock) {
            (Some(k), Some(l)) if !crate::auth::key_matches(k, &l.key) => {
                Err(format!("Invalid lock key: \n{}", env.state.lock_text()))
            }
            _ => Ok(()),
        },
    };
    QueueReply::Lock {
        outcome,
        lock: env.state.lock.clone(),
        emergency_key_set: env.state.emergency_key.is_some(),
        uid: env.uids.lock_info.clone(),
    }
}
