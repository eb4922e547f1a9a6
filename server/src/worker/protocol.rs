//! The manager ↔ worker protocol: newline-delimited JSON over the worker's stdin and stdout, one
//! message per line, each an object with a `type`. Documented in docs/worker-protocol.md, so an
//! environment in another language (e.g. Python running a real RunEngine) can implement it.
//!
//! The worker pushes everything (readiness, documents, runs, pauses, completion); the manager
//! never polls. The worker's stderr is treated as console output.

use hutch_app::model::queue::{ExitStatus, QueueItem};
use serde::{Deserialize, Serialize};

use crate::queue::state::PauseOption;

/// Bumped when a change would break an existing worker. Version 2 added the catalogue in
/// `ready`, `catalog`, `open_failed` and the tasks (`script`, `function`, `update` →
/// `task_finished`); a version-1 worker still works (its catalogue is then the one last stored).
pub const WORKER_PROTOCOL: u32 = 2;

/// Manager → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Execute one plan. `scan_id` is the first scan id its runs may use.
    Run { item: Box<QueueItem>, scan_id: i64 },
    /// Pause at the next checkpoint (`deferred`) or now (`immediate`).
    Pause { option: PauseOption },
    /// Continue a paused plan (from its last checkpoint).
    Resume,
    /// End a paused plan: its run closes as a success, the item counts as `stopped`.
    Stop,
    /// End a paused plan: run `abort`, item `aborted`.
    Abort,
    /// End a paused plan without cleanup: run `abort`, item `halted`.
    Halt,
    /// Finish and exit (the environment is being closed).
    Close,
    /// Execute Python source in the environment's namespace (`script/upload`).
    Script {
        task_uid: String,
        script: String,
        /// Re-read the plans and devices afterwards (then send `catalog`).
        update_lists: bool,
        /// Use the `RE` the script defines, if it defines one.
        update_re: bool,
        /// Run beside a plan instead of only when idle.
        background: bool,
    },
    /// Call a function of the namespace (`function/execute`).
    Function {
        task_uid: String,
        item: Box<QueueItem>,
        background: bool,
    },
    /// Re-read the plans and devices of the namespace (`environment/update`).
    Update { task_uid: String, background: bool },
}

/// Worker → manager.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// First message: the environment is open. `plans` and `devices` are its catalogue in
    /// bluesky-queueserver's "existing" representation; `types` names hutch's strict parameter
    /// types (the simulated environment's own plans).
    Ready {
        protocol: u32,
        environment: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plans: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        devices: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        types: Option<serde_json::Value>,
    },
    /// The environment could not be opened (the worker exits next): a one-line reason and the
    /// traceback of the profile, if any.
    OpenFailed {
        msg: String,
        #[serde(default)]
        traceback: String,
    },
    /// The plans and devices changed (after a script or `update`).
    Catalog {
        plans: serde_json::Value,
        devices: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        types: Option<serde_json::Value>,
    },
    /// A task (script, function, update) ended.
    TaskFinished {
        task_uid: String,
        success: bool,
        #[serde(default)]
        msg: String,
        #[serde(default)]
        traceback: String,
        #[serde(default)]
        return_value: serde_json::Value,
    },
    /// A line for the console.
    Log { msg: String },
    /// A bluesky document, in emission order.
    Document {
        name: String,
        doc: serde_json::Value,
    },
    /// A run started (after its start document).
    RunOpened { uid: String, scan_id: i64 },
    /// A run ended (after its stop document).
    RunClosed {
        uid: String,
        scan_id: i64,
        exit_status: String,
    },
    /// Set a dataset (named value) on behalf of the running plan.
    Dataset {
        key: String,
        value: serde_json::Value,
        /// Survives a restart and goes to the datasets.json mirror.
        #[serde(default)]
        persist: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// Create or update the applet `name` of `group` on behalf of the plan `plan`; the group's
    /// policy decides, and a person's newer edit is never overwritten.
    Applet {
        group: String,
        name: String,
        kind: hutch_app::model::applets::AppletKind,
        spec: serde_json::Value,
        plan: String,
    },
    /// The plan is paused at a checkpoint.
    Paused,
    /// The plan ended; the worker is ready for the next `run`.
    Finished {
        exit_status: ExitStatus,
        msg: String,
        traceback: String,
        run_uids: Vec<String>,
        scan_ids: Vec<i64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_single_lines_of_tagged_json() {
        let m = FromWorker::Log { msg: "a\nb".into() };
        let line = serde_json::to_string(&m).unwrap();
        assert!(!line.contains('\n'));
        assert!(line.starts_with(r#"{"type":"log""#));
        let back: FromWorker = serde_json::from_str(&line).unwrap();
        assert_eq!(back, m);
        let p: ToWorker = serde_json::from_str(r#"{"type":"pause","option":"immediate"}"#).unwrap();
        assert_eq!(
            p,
            ToWorker::Pause {
                option: PauseOption::Immediate
            }
        );
    }
}
