//! Queue items, history items and queue settings, in bluesky-queueserver's JSON shapes.
//!
//! A queued plan serialises as
//! `{"name", "args", "kwargs", "item_type": "plan", "user", "user_group", "item_uid"}` (+ `meta`);
//! an instruction as `{"name": "queue_stop", "item_type": "instruction", "user", "user_group",
//! "item_uid"}`. A history item is a queue item plus `result`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    Plan,
    Instruction,
    /// A function of the environment (`function/execute`); never queued.
    Function,
}

impl ItemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Plan => "plan",
            ItemType::Instruction => "instruction",
            ItemType::Function => "function",
        }
    }
}

/// One item of the queue (or of history, inside [`HistoryItem`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwargs: Option<Map<String, Value>>,
    pub item_type: ItemType,
    /// Stamped by the server from the authenticated principal, never taken from the request.
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub user_group: String,
    /// Free-form metadata the client attached (sent along into the run's start document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    /// Set by the server when the item enters the queue.
    #[serde(default)]
    pub item_uid: String,
    /// Only on the running item: when it started (`{"time_start": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<RunningProperties>,
    /// On history items, and on a failed/aborted/halted item pushed back to the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ItemResult>,
}

impl QueueItem {
    pub fn is_plan(&self) -> bool {
        self.item_type == ItemType::Plan
    }

    pub fn args(&self) -> &[Value] {
        self.args.as_deref().unwrap_or_default()
    }

    pub fn kwarg(&self, key: &str) -> Option<&Value> {
        self.kwargs.as_ref().and_then(|k| k.get(key))
    }
}

/// Every status a dispatch (one execution) can have in the dispatch database, in the order a
/// user reads them: waiting, live, then how it ended.
pub const DISPATCH_STATUSES: [&str; 9] = [
    "queued",
    "running",
    "paused",
    "completed",
    "failed",
    "stopped",
    "aborted",
    "halted",
    "interrupted",
];

/// How an execution ended, as bluesky-queueserver reports it in `result.exit_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    Completed,
    Failed,
    Stopped,
    Aborted,
    Halted,
    /// The server stopped (crash, `kill -9`, power loss) while the item ran; it went back to the
    /// front of the queue.
    Interrupted,
}

impl ExitStatus {
    /// An ending an operator must hear about: the plan did not do what was asked, and
    /// (unless the queue ignores failures) the queue stopped.
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            ExitStatus::Failed | ExitStatus::Aborted | ExitStatus::Halted | ExitStatus::Interrupted
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExitStatus::Completed => "completed",
            ExitStatus::Failed => "failed",
            ExitStatus::Stopped => "stopped",
            ExitStatus::Aborted => "aborted",
            ExitStatus::Halted => "halted",
            ExitStatus::Interrupted => "interrupted",
        }
    }

    /// After these the item goes back to the front of the queue and the queue stops
    /// (unless `ignore_failures` is set, for `failed`).
    pub fn returns_item_to_queue(self) -> bool {
        matches!(
            self,
            ExitStatus::Failed | ExitStatus::Aborted | ExitStatus::Halted | ExitStatus::Interrupted
        )
    }
}

/// `result` of a history item. Times are Unix seconds, as in bluesky.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    pub exit_status: ExitStatus,
    pub run_uids: Vec<String>,
    pub scan_ids: Vec<i64>,
    pub time_start: f64,
    pub time_stop: f64,
    pub msg: String,
    pub traceback: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunningProperties {
    /// Set for items run with `queue/item/execute`, outside the queue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immediate_execution: bool,
    pub time_start: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_round_trips_in_the_reference_shape() {
        let v = json!({"name": "count", "args": [["det1"]], "kwargs": {"num": 2}, "item_type": "plan",
            "user": "UNAUTHENTICATED_SINGLE_USER", "user_group": "primary",
            "item_uid": "10033025-be64-430a-b700-168bcd9f2579"});
        let item: QueueItem = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&item).unwrap(), v);
    }

    #[test]
    fn an_instruction_has_no_args_or_kwargs() {
        let v = json!({"name": "queue_stop", "item_type": "instruction", "user": "u", "user_group": "primary", "item_uid": "x"});
        let item: QueueItem = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&item).unwrap(), v);
    }

    #[test]
    fn history_items_flatten_the_item_and_add_result() {
        let v = json!({"name": "count", "args": [["det1"]], "kwargs": {}, "item_type": "plan", "user": "u",
            "user_group": "primary", "item_uid": "c5",
            "result": {"exit_status": "completed", "run_uids": ["8e"], "scan_ids": [1],
                "time_start": 1795311594.385539, "time_stop": 1795311596.1095767, "msg": "", "traceback": ""}});
        let h: QueueItem = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            h.result.as_ref().unwrap().exit_status,
            ExitStatus::Completed
        );
        assert_eq!(serde_json::to_value(&h).unwrap(), v);
    }
}
