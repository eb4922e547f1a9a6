//! The queue state machine: the queue, the running item, history, modes, lock and the
//! manager/environment states — and every operation on them. Pure: no IO, no clock, no random;
//! the caller passes the time and fresh uids in [`Ctx`].
//!
//! Every operation either changes nothing and returns a message for the client, or applies its
//! change and records it in `changes` (what the manager must persist and publish) and `effects`
//! (what it must tell the worker). The manager drains both after each call.

use hutch_app::model::queue::{ExitStatus, ItemResult, QueueItem, RunningProperties};
use hutch_app::model::status::QueueMode;
use serde::{Deserialize, Serialize};

pub use lock::{time_str, Guard, Lock};

mod lock;

/// What the caller supplies: the time, the principal, and fresh uids.
pub struct Ctx<'a> {
    /// Unix seconds.
    pub now: f64,
    pub user: &'a str,
    pub user_group: &'a str,
    pub new_uid: &'a mut dyn FnMut() -> String,
}

// The manager's and the environment's states are the model's: the dashboard reads them from
// the status and checks its buttons with the same rules (`model::control::check`).
pub use hutch_app::model::control::{EnvState, ManagerState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseOption {
    Deferred,
    Immediate,
}

/// One run of the executing plan, for `re/runs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub uid: String,
    pub scan_id: i64,
    pub is_open: bool,
    pub exit_status: Option<String>,
}

/// A change the manager must persist, then publish.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    QueueInsert {
        index: usize,
        item: QueueItem,
    },
    QueueRemove {
        uid: String,
    },
    QueueMove {
        uid: String,
        index: usize,
    },
    QueueReplace {
        uid: String,
        item: QueueItem,
    },
    QueueClear,
    /// An item started executing (it already left the queue with `QueueRemove`, unless immediate).
    Started(QueueItem),
    /// The running item finished; it is appended to history (plans only).
    Finished(QueueItem),
    /// The oldest `count` history items were removed.
    HistoryTrim {
        count: usize,
    },
    /// Mode, autostart or lock changed.
    Settings,
    /// The run list of the executing plan changed.
    Runs,
    /// Manager, environment or run-engine state changed.
    Status,
    /// A task started or ended (`task_results_uid`).
    Tasks,
    /// The plans, devices or permissions changed (`plans_allowed_uid`, `devices_allowed_uid`).
    Catalog,
    /// The executing item's dispatch is now `paused` or `running` again (its status log too).
    Dispatch(DispatchStatus),
    /// The next run's `scan_id` (kept across restarts).
    NextScanId(i64),
}

/// The status of the executing item's dispatch between its start and its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchStatus {
    Paused,
    Running,
}

impl DispatchStatus {
    /// As stored in `dispatches.status` and `dispatch_status_log`.
    pub fn as_str(self) -> &'static str {
        match self {
            DispatchStatus::Paused => "paused",
            DispatchStatus::Running => "running",
        }
    }
}

/// Something the manager must tell or do to the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    OpenEnvironment,
    CloseEnvironment,
    DestroyEnvironment,
    Run(Box<QueueItem>),
    Pause(PauseOption),
    Resume,
    Stop,
    Abort,
    Halt,
    /// Run a script, function or update in the worker.
    Task(Box<super::tasks::TaskStart>),
}

/// How the worker says a plan ended.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOutcome {
    pub exit_status: ExitStatus,
    pub msg: String,
    pub traceback: String,
    pub run_uids: Vec<String>,
    pub scan_ids: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct QueueState {
    pub items: Vec<QueueItem>,
    pub running: Option<QueueItem>,
    pub history: Vec<QueueItem>,
    pub mode: QueueMode,
    pub autostart: bool,
    pub stop_pending: bool,
    pub pause_pending: bool,
    pub manager: ManagerState,
    pub env: EnvState,
    /// `None` when no environment exists.
    pub re_state: Option<&'static str>,
    pub lock: Option<Lock>,
    /// The emergency key accepted by `unlock` (from configuration).
    pub emergency_key: Option<String>,
    pub runs: Vec<RunInfo>,
    /// Scripts, functions and updates, running and finished.
    pub tasks: super::tasks::Tasks,
    pub changes: Vec<Change>,
    pub effects: Vec<Effect>,
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            items: Vec::new(),
            running: None,
            history: Vec::new(),
            mode: QueueMode::default(),
            autostart: false,
            stop_pending: false,
            pause_pending: false,
            manager: ManagerState::Idle,
            env: EnvState::Closed,
            re_state: None,
            lock: None,
            emergency_key: None,
            runs: Vec::new(),
            tasks: super::tasks::Tasks::default(),
            changes: Vec::new(),
            effects: Vec::new(),
        }
    }
}

/// The parts of the state that are small and not re-read from the database: taken before a
/// batch of requests so that, if its commit fails, the state can go back to what it was (the
/// queue and history themselves are re-read from the database, which is the truth). Taking it
/// costs a clone of the running item, no more; the task list is not part of it (a task started
/// in a batch whose commit failed stays listed, and its start is not carried out).
#[derive(Clone, Debug)]
pub struct Before {
    running: Option<QueueItem>,
    stop_pending: bool,
    pause_pending: bool,
    manager: ManagerState,
    env: EnvState,
    re_state: Option<&'static str>,
}

impl QueueState {
    pub fn before(&self) -> Before {
        Before {
            running: self.running.clone(),
            stop_pending: self.stop_pending,
            pause_pending: self.pause_pending,
            manager: self.manager,
            env: self.env,
            re_state: self.re_state,
        }
    }

    /// Puts the state back: `before` for the small parts, the stored queue, history and
    /// settings for the rest. Changes and effects not yet carried out are dropped.
    pub fn restore(
        &mut self,
        before: Before,
        items: Vec<QueueItem>,
        history: Vec<QueueItem>,
        mode: QueueMode,
        autostart: bool,
        lock: Option<Lock>,
    ) {
        self.running = before.running;
        self.stop_pending = before.stop_pending;
        self.pause_pending = before.pause_pending;
        self.manager = before.manager;
        self.env = before.env;
        self.re_state = before.re_state;
        self.items = items;
        self.history = history;
        self.mode = mode;
        self.autostart = autostart;
        self.lock = lock;
        self.changes.clear();
        self.effects.clear();
    }
}

impl QueueState {
    pub fn take_changes(&mut self) -> (Vec<Change>, Vec<Effect>) {
        (
            std::mem::take(&mut self.changes),
            std::mem::take(&mut self.effects),
        )
    }

    pub(super) fn status_changed(&mut self) {
        self.changes.push(Change::Status);
    }

    pub fn set_mode(&mut self, mode: QueueMode) {
        if self.mode != mode {
            self.mode = mode;
            self.changes.push(Change::Settings);
        }
    }

    pub fn set_autostart(&mut self, enable: bool, ctx: &mut Ctx) {
        if self.autostart != enable {
            self.autostart = enable;
            self.changes.push(Change::Settings);
        }
        self.kick_autostart(ctx);
    }

    /// With autostart on, an idle manager with an open environment starts the queue by itself.
    pub fn kick_autostart(&mut self, ctx: &mut Ctx) {
        if self.autostart
            && self.manager == ManagerState::Idle
            && self.env == EnvState::Idle
            && !self.items.is_empty()
        {
            let _ = self.start_queue(ctx);
        }
    }
}

/// The result a finished item gets.
pub fn result_of(item: &QueueItem, outcome: &PlanOutcome, now: f64) -> ItemResult {
    ItemResult {
        exit_status: outcome.exit_status,
        run_uids: outcome.run_uids.clone(),
        scan_ids: outcome.scan_ids.clone(),
        time_start: item
            .properties
            .as_ref()
            .map_or(now, |p: &RunningProperties| p.time_start),
        time_stop: now,
        msg: outcome.msg.clone(),
        traceback: outcome.traceback.clone(),
    }
}
