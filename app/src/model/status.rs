//! The server status, in the shape bluesky-httpserver returns from `/api/status`.
//!
//! Existing bluesky clients read these keys, so the names and meanings follow the reference
//! (recorded in `server/tests/fixtures/bluesky-httpserver-api/status.json`). hutch adds one object, `hutch`, with
//! facts of its own; clients that do not know it ignore it.

use serde::{Deserialize, Serialize};

/// The status dictionary. Every `*_uid` changes whenever the thing it names changes, so a client can
/// poll this one route and refetch only what moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Human-readable server name and version, e.g. "hutch 0.1.0".
    pub msg: String,
    /// When this status last changed, RFC 3339 UTC.
    pub time: String,
    pub items_in_queue: usize,
    pub items_in_history: usize,
    pub running_item_uid: Option<String>,
    /// `initializing`, `idle`, `paused`, `creating_environment`, `executing_queue`, ...
    pub manager_state: String,
    pub queue_stop_pending: bool,
    pub queue_autostart_enabled: bool,
    pub worker_environment_exists: bool,
    /// `closed`, `initializing`, `idle`, `executing_plan`, `closing`, ...
    pub worker_environment_state: String,
    pub worker_background_tasks: usize,
    /// Run-engine state when an environment exists: `idle`, `running`, `paused`; else null.
    pub re_state: Option<String>,
    pub ip_kernel_state: Option<String>,
    pub ip_kernel_captured: Option<bool>,
    pub pause_pending: bool,
    pub status_uid: String,
    pub run_list_uid: String,
    pub plan_queue_uid: String,
    pub plan_history_uid: String,
    pub devices_existing_uid: String,
    pub plans_existing_uid: String,
    pub devices_allowed_uid: String,
    pub plans_allowed_uid: String,
    pub plan_queue_mode: QueueMode,
    pub task_results_uid: String,
    pub lock_info_uid: String,
    pub lock: LockState,
    /// hutch's own additions.
    pub hutch: HutchInfo,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMode {
    #[serde(rename = "loop")]
    pub loop_: bool,
    pub ignore_failures: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    pub environment: bool,
    pub queue: bool,
}

/// Facts about this hutch server that bluesky's status has no key for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HutchInfo {
    /// Crate version of the server.
    pub version: String,
    /// When this server process started, RFC 3339 UTC.
    pub started_at: String,
    /// Browser tabs and other clients connected to `/api/stream` right now.
    pub stream_clients: usize,
    /// Process id of the worker while an environment is open.
    #[serde(default)]
    pub worker_pid: Option<u32>,
    /// Which environment `environment/open` starts: `sim (simulated devices)` or
    /// `bluesky: <profile directory, script or module>`.
    #[serde(default)]
    pub environment: String,
}

impl ServerStatus {
    /// True when plans can be run right now: the environment is open and idle or busy with the queue.
    /// ("Server up" alone is not readiness.)
    pub fn ready(&self) -> bool {
        self.worker_environment_exists
            && !matches!(
                self.worker_environment_state.as_str(),
                "closed" | "initializing" | "closing"
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServerStatus {
        ServerStatus {
            msg: "hutch 0.1.0".into(),
            time: "2026-11-22T00:00:00Z".into(),
            items_in_queue: 0,
            items_in_history: 0,
            running_item_uid: None,
            manager_state: "idle".into(),
            queue_stop_pending: false,
            queue_autostart_enabled: false,
            worker_environment_exists: false,
            worker_environment_state: "closed".into(),
            worker_background_tasks: 0,
            re_state: None,
            ip_kernel_state: None,
            ip_kernel_captured: None,
            pause_pending: false,
            status_uid: "a".into(),
            run_list_uid: "b".into(),
            plan_queue_uid: "c".into(),
            plan_history_uid: "d".into(),
            devices_existing_uid: "e".into(),
            plans_existing_uid: "f".into(),
            devices_allowed_uid: "g".into(),
            plans_allowed_uid: "h".into(),
            plan_queue_mode: QueueMode::default(),
            task_results_uid: "i".into(),
            lock_info_uid: "j".into(),
            lock: LockState::default(),
            hutch: HutchInfo {
                version: "0.1.0".into(),
                started_at: "2026-11-22T00:00:00Z".into(),
                stream_clients: 0,
                worker_pid: None,
                environment: "sim".into(),
            },
        }
    }

    #[test]
    fn serializes_with_the_reference_key_names() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["plan_queue_mode"]["loop"], false);
        assert_eq!(v["lock"]["environment"], false);
        assert_eq!(v["manager_state"], "idle");
        assert!(v["re_state"].is_null());
    }

    #[test]
    fn reference_status_keys_are_all_present() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../server/tests/fixtures/bluesky-httpserver-api/status.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "reference file {} is missing ({e}); copied from the recorded replies into server/tests/fixtures",
                path.display()
            )
        });
        let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
        let theirs = reference["exchanges"][0]["response"].as_object().unwrap();
        let ours = serde_json::to_value(sample()).unwrap();
        for key in theirs.keys() {
            assert!(
                ours.get(key).is_some(),
                "hutch status lacks the reference key {key}"
            );
        }
    }

    #[test]
    fn readiness_needs_an_open_environment() {
        let mut s = sample();
        assert!(!s.ready());
        s.worker_environment_exists = true;
        s.worker_environment_state = "initializing".into();
        assert!(!s.ready());
        s.worker_environment_state = "idle".into();
        assert!(s.ready());
    }
}
