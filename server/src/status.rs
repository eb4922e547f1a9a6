//! The status board: the one current [`ServerStatus`], changed only through [`StatusBoard::update`],
//! which stamps a new `status_uid` and publishes the new state on the `status` topic.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;

use hutch_app::model::status::{HutchInfo, LockState, QueueMode, ServerStatus};
use hutch_app::model::stream::Topic;

use crate::hub::Hub;

fn to_bytes(status: &ServerStatus) -> Bytes {
    Bytes::from(serde_json::to_vec(status).unwrap_or_default())
}

pub struct StatusBoard {
    /// The status and its JSON, serialised once per change: `/api/status` is polled by every
    /// bluesky client, so it answers from these bytes.
    current: Mutex<(ServerStatus, Bytes)>,
    hub: Hub,
}

fn now() -> String {
    crate::clock::Timestamp::now().precise()
}

fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl StatusBoard {
    /// The status of a server that just started: idle, no environment, empty queue.
    pub fn new(hub: Hub) -> Arc<Self> {
        let started_at = now();
        let status = ServerStatus {
            msg: format!("hutch {}", env!("CARGO_PKG_VERSION")),
            time: started_at.clone(),
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
            status_uid: new_uid(),
            run_list_uid: new_uid(),
            plan_queue_uid: new_uid(),
            plan_history_uid: new_uid(),
            devices_existing_uid: new_uid(),
            plans_existing_uid: new_uid(),
            devices_allowed_uid: new_uid(),
            plans_allowed_uid: new_uid(),
            plan_queue_mode: QueueMode::default(),
            task_results_uid: new_uid(),
            lock_info_uid: new_uid(),
            lock: LockState::default(),
            hutch: HutchInfo {
                version: env!("CARGO_PKG_VERSION").into(),
                started_at,
                stream_clients: 0,
                worker_pid: None,
                environment: String::new(),
            },
        };
        hub.publish(
            Topic::Status,
            serde_json::to_value(&status).unwrap_or_default(),
        );
        let json = to_bytes(&status);
        Arc::new(StatusBoard {
            current: Mutex::new((status, json)),
            hub,
        })
    }

    fn lock(&self) -> MutexGuard<'_, (ServerStatus, Bytes)> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current status; `time` is when it last changed, as in bluesky.
    pub fn get(&self) -> ServerStatus {
        self.lock().0.clone()
    }

    /// The current status as JSON bytes (cheap: shared, serialised at the change).
    pub fn json(&self) -> Bytes {
        self.lock().1.clone()
    }

    /// Applies a change, gives the status a new `status_uid` and publishes it. Publishing happens
    /// under the lock so that the topic's seq order is the order of the changes.
    pub fn update(&self, change: impl FnOnce(&mut ServerStatus)) {
        let mut guard = self.lock();
        let s = &mut guard.0;
        change(s);
        s.status_uid = new_uid();
        s.time = now();
        let data = serde_json::to_value(&*s).unwrap_or_default();
        guard.1 = Bytes::from(data.to_string());
        self.hub.publish(Topic::Status, data);
    }

    /// Counts a stream client until the returned guard is dropped.
    pub fn client_connected(self: &Arc<Self>) -> ClientCount {
        let n = self.hub.client_count();
        self.update(|s| s.hutch.stream_clients = n);
        ClientCount {
            board: self.clone(),
        }
    }
}

/// Keeps `hutch.stream_clients` right however a connection ends.
pub struct ClientCount {
    board: Arc<StatusBoard>,
}

impl Drop for ClientCount {
    fn drop(&mut self) {
        // The owner drops its `Client` first, so the hub's count is already the new one.
        let n = self.board.hub.client_count();
        self.board.update(|s| s.hutch.stream_clients = n);
    }
}
