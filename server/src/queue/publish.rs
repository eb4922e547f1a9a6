//! What the manager publishes after a commit: the queue and history deltas of the change log,
//! and the status board's fields. Pure: from the changes and the state to what goes out.

use hutch_app::model::stream::{HistoryDelta, QueueDelta, Topic};
use serde_json::{json, Value};

use super::state::{Change, QueueState};
use super::uids::Uids;
use crate::status::StatusBoard;

/// The stream deltas of one change, in order (a finished item is two: the queue's running
/// item clears and history grows). Changes without a list of their own publish none.
pub fn deltas(change: Change) -> Vec<(Topic, Value)> {
    let one = |topic, delta| vec![(topic, delta)];
    match change {
        Change::QueueInsert { index, item } => one(
            Topic::Queue,
            json!(QueueDelta::Insert {
                index,
                item: Box::new(item)
            }),
        ),
        Change::QueueRemove { uid } => one(Topic::Queue, json!(QueueDelta::Remove { uid })),
        Change::QueueMove { uid, index } => {
            one(Topic::Queue, json!(QueueDelta::Move { uid, index }))
        }
        Change::QueueReplace { uid, item } => one(
            Topic::Queue,
            json!(QueueDelta::Replace {
                uid,
                item: Box::new(item)
            }),
        ),
        Change::QueueClear => one(Topic::Queue, json!(QueueDelta::Clear)),
        Change::Started(item) => one(
            Topic::Queue,
            json!(QueueDelta::Running {
                item: Some(Box::new(item))
            }),
        ),
        Change::Finished(item) => vec![
            (Topic::Queue, json!(QueueDelta::Running { item: None })),
            (
                Topic::History,
                json!(HistoryDelta::Append {
                    item: Box::new(item)
                }),
            ),
        ],
        Change::HistoryTrim { count } => one(Topic::History, json!(HistoryDelta::Trim { count })),
        Change::Settings
        | Change::Runs
        | Change::Status
        | Change::Tasks
        | Change::Catalog
        | Change::Dispatch(_)
        | Change::NextScanId(_) => Vec::new(),
    }
}

/// What the status board shows besides the state: the worker's pid and the environment.
pub struct Worker<'a> {
    pub pid: Option<u32>,
    pub environment: &'a str,
}

/// Writes the state's fields into the status board (which then notifies its watchers).
pub fn status(board: &StatusBoard, q: &QueueState, u: &Uids, worker: &Worker) {
    board.update(|s| {
        s.items_in_queue = q.items.len();
        s.items_in_history = q.history.len();
        s.running_item_uid = q.running.as_ref().map(|i| i.item_uid.clone());
        s.manager_state = q.manager.as_str().into();
        s.queue_stop_pending = q.stop_pending;
        s.queue_autostart_enabled = q.autostart;
        s.worker_environment_exists = q.env.exists();
        s.worker_environment_state = q.env.as_str().into();
        s.re_state = q.re_state.map(String::from);
        s.pause_pending = q.pause_pending;
        s.plan_queue_uid.clone_from(&u.plan_queue);
        s.plan_history_uid.clone_from(&u.plan_history);
        s.run_list_uid.clone_from(&u.run_list);
        s.lock_info_uid.clone_from(&u.lock_info);
        s.plans_allowed_uid.clone_from(&u.plans_allowed);
        s.devices_allowed_uid.clone_from(&u.devices_allowed);
        s.plans_existing_uid.clone_from(&u.plans_allowed);
        s.devices_existing_uid.clone_from(&u.devices_allowed);
        s.plan_queue_mode = q.mode.clone();
        s.lock.environment = q.lock.as_ref().is_some_and(|l| l.environment);
        s.lock.queue = q.lock.as_ref().is_some_and(|l| l.queue);
        s.hutch.worker_pid = worker.pid;
        s.hutch.environment = worker.environment.to_string();
        s.worker_background_tasks = q.tasks.background_running();
        s.task_results_uid.clone_from(&u.task_results);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use hutch_app::model::queue::QueueItem;

    #[test]
    fn a_finished_item_clears_the_running_item_then_grows_history() {
        let item: QueueItem = serde_json::from_value(json!({
            "item_type": "plan", "name": "count", "item_uid": "u1"
        }))
        .unwrap();
        let out = deltas(Change::Finished(item));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, Topic::Queue);
        assert_eq!(out[1].0, Topic::History);
        assert!(deltas(Change::NextScanId(3)).is_empty());
    }
}
