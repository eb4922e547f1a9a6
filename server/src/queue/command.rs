//! What a client asks of the queue manager ([`QueueCommand`]) and what it answers
//! ([`QueueReply`]): typed, with no wire format. The HTTP edge (`http/queue/`) parses bluesky's
//! request bodies into a command and writes the reply back in bluesky's JSON; the manager runs
//! the command with [`apply`] against its state, inside one request batch.
//!
//! Messages in refusals are bluesky-queueserver's, without the route's prefix (the HTTP layer
//! adds "Failed to add an item: " and the like).

use hutch_app::model::queue::QueueItem;
use hutch_app::model::status::QueueMode;
use serde_json::Value;

use super::edit::Which;
use super::handle::Env;
use super::permissions::Permissions;
use super::position::Placement;
use super::state::{Lock, PauseOption, RunInfo};

mod control;
mod edit;
mod read;

/// One request to the manager.
#[derive(Debug)]
pub enum QueueCommand {
    /// Reads: nothing changes.
    Read(Read),
    /// Queue and history edits, refused while the queue is locked with another key.
    Edit {
        lock_key: Option<String>,
        edit: Edit,
    },
    /// Environment, execution and run-engine control, refused while the environment is locked
    /// with another key.
    Control {
        lock_key: Option<String>,
        control: Control,
    },
    /// `queue/item/execute` (behind the environment lock): the item as submitted, run at once
    /// outside the queue.
    Execute {
        lock_key: Option<String>,
        item: Value,
    },
    /// Work in the environment's namespace (behind the environment lock).
    StartTask {
        lock_key: Option<String>,
        background: bool,
        task: Task,
    },
    /// The lock itself.
    Lock(LockCommand),
    /// `manager/stop`: `safe` refuses unless the manager is idle. The caller stops hutch once
    /// the reply says yes.
    ManagerStop { safe: bool },
}

#[derive(Debug)]
pub enum Read {
    Queue,
    History,
    Item(Which),
    Runs(RunFilter),
    /// `allowed`: the caller group's plans (else all existing); `reduced`: bluesky's short form.
    Plans {
        allowed: bool,
        reduced: bool,
    },
    Devices {
        allowed: bool,
    },
    /// The JSON Schema of the caller group's plans, or of one plan (`None` in the reply when
    /// the group may not use it or it does not exist).
    Schema(Option<String>),
    Permissions,
    TaskStatus(Vec<String>),
    TaskResult(String),
    /// The queue or the history with the stream seq it is current at (for a WebSocket snapshot).
    Snapshot(SnapshotOf),
    /// Items as submitted, checked as `item/add` would check them for the caller, added to
    /// nothing (the spreadsheet preview).
    Check(Vec<Value>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFilter {
    Active,
    Open,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotOf {
    Queue,
    History,
}

#[derive(Debug)]
pub enum Edit {
    Clear,
    /// `item` as submitted: parsed and validated inside the manager, against its catalogue.
    Add {
        item: Value,
        placement: Placement,
    },
    Update {
        item: Value,
        replace: bool,
    },
    AddBatch {
        items: Vec<Value>,
        placement: Placement,
    },
    Remove(Which),
    RemoveBatch {
        uids: Vec<String>,
        ignore_missing: bool,
    },
    Move {
        which: Which,
        dest: Placement,
    },
    MoveBatch {
        uids: Vec<String>,
        dest: Placement,
        reorder: bool,
    },
    ClearHistory {
        size: Option<usize>,
        uid: Option<String>,
    },
    SetMode(ModeChange),
}

/// `queue/mode/set`: back to the defaults, or some flags changed.
#[derive(Debug, PartialEq, Eq)]
pub enum ModeChange {
    Default,
    Set {
        loop_: Option<bool>,
        ignore_failures: Option<bool>,
    },
}

impl ModeChange {
    pub fn applied_to(&self, mode: &QueueMode) -> QueueMode {
        match self {
            ModeChange::Default => QueueMode::default(),
            ModeChange::Set {
                loop_,
                ignore_failures,
            } => QueueMode {
                loop_: loop_.unwrap_or(mode.loop_),
                ignore_failures: ignore_failures.unwrap_or(mode.ignore_failures),
            },
        }
    }
}

#[derive(Debug)]
pub enum Control {
    OpenEnvironment,
    CloseEnvironment,
    DestroyEnvironment,
    StartQueue,
    StopQueue,
    CancelStopQueue,
    Autostart(bool),
    Pause(PauseOption),
    Resume,
    /// Ends a paused plan.
    End(PlanEnd),
    Permissions(PermissionChange),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEnd {
    Stop,
    Abort,
    Halt,
}

#[derive(Debug)]
pub enum PermissionChange {
    /// `permissions/set`: these rules replace the ones in force.
    Replace(Permissions),
    /// `permissions/reload`: the file's rules (`None`: no file, every group may use everything).
    Reload(Option<Permissions>),
    /// `permissions/reload` that restores nothing: only the lock is checked.
    Keep,
}

/// Work in the environment's namespace.
#[derive(Debug)]
pub enum Task {
    Update,
    Script {
        script: String,
        update_lists: bool,
        update_re: bool,
    },
    /// A function item as read from the request (name, args, kwargs); stamped with the caller
    /// and the task's uid inside the manager, after the caller's group's permission is checked.
    Function(Box<QueueItem>),
}

#[derive(Debug)]
pub enum LockCommand {
    Lock {
        key: String,
        environment: bool,
        queue: bool,
        note: Option<String>,
    },
    Unlock {
        key: String,
    },
    /// Staff remove a lock whose key is lost.
    Break,
    /// `lock/info`, optionally checking a key.
    Info {
        key: Option<String>,
    },
}

/// Why a command was refused, and at which step (bluesky's replies differ by step).
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    pub at: Step,
    pub msg: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The lock stopped it.
    Lock,
    /// The request's own content (the item, the list of uids) is not acceptable.
    Request,
    /// The queue or the manager is not in a state that allows it.
    State,
}

impl Refused {
    fn new(at: Step, msg: impl Into<String>) -> Self {
        Refused {
            at,
            msg: msg.into(),
        }
    }
}

pub type Outcome<T> = Result<T, Refused>;

/// An item and the queue's length after the command.
#[derive(Debug)]
pub struct ItemAt {
    pub item: QueueItem,
    pub qsize: usize,
}

#[derive(Debug)]
pub struct ItemsAt {
    pub items: Vec<QueueItem>,
    pub qsize: usize,
}

/// What the manager answers.
#[derive(Debug)]
pub enum QueueReply {
    /// Done, or refused: there is nothing else to say.
    Done(Outcome<()>),
    /// The queue: its items already serialised as a JSON list (a long queue is written
    /// straight from the state instead of being copied first).
    Queue {
        items: String,
        running: Option<QueueItem>,
        uid: String,
    },
    History {
        items: String,
        uid: String,
    },
    Item(Outcome<ItemAt>),
    Items(Outcome<ItemsAt>),
    /// `item/update`: the stored item (if it is still queued).
    Updated(Outcome<(Option<QueueItem>, usize)>),
    /// `item/execute`: the item as prepared (also on a refusal by state), and the outcome.
    Executed {
        item: Option<QueueItem>,
        outcome: Outcome<usize>,
    },
    /// `Read::Schema`: a map of plan schemas, or one plan's.
    Schema(Option<Value>),
    /// `Read::Check`: each item's verdict.
    Checked(Vec<Result<(), String>>),
    /// `item/add/batch`: each item's own check, then the batch's outcome.
    Batch {
        /// The queue's length before the batch.
        qsize: usize,
        results: Vec<Result<(), String>>,
        outcome: Outcome<ItemsAt>,
    },
    Runs {
        runs: Vec<RunInfo>,
        uid: String,
    },
    /// Plans or devices in bluesky's catalogue form.
    Catalog {
        list: Value,
        uid: String,
    },
    Permissions(Option<Value>),
    TaskStatus(Vec<(String, &'static str)>),
    TaskResult {
        status: &'static str,
        result: Option<Value>,
    },
    /// A task started (its uid); for a function, the item as stamped (also on a refusal by
    /// state).
    TaskStarted {
        item: Option<QueueItem>,
        outcome: Outcome<String>,
    },
    Lock {
        outcome: Result<(), String>,
        lock: Option<Lock>,
        emergency_key_set: bool,
        uid: String,
    },
    Snapshot(Snapshot),
    /// The batch this command was in could not be stored: nothing of it was made.
    NotStored(String),
}

#[derive(Debug)]
pub struct Snapshot {
    pub seq: u64,
    pub of: SnapshotOf,
    pub items: Vec<QueueItem>,
    pub running: Option<QueueItem>,
    pub uid: String,
}

impl QueueReply {
    /// Whether the command was refused by a failed commit (see [`QueueReply::NotStored`]).
    pub fn not_stored(&self) -> Option<&str> {
        match self {
            QueueReply::NotStored(why) => Some(why),
            _ => None,
        }
    }
}

/// Runs `command` against the manager's state. Changes and effects are left in the state's
/// change log for the manager to store, publish and carry out.
pub fn apply(env: &mut Env, command: QueueCommand) -> QueueReply {
    match command {
        QueueCommand::Read(read) => read::apply(env, read),
        QueueCommand::Edit { lock_key, edit } => edit::apply(env, lock_key.as_deref(), edit),
        QueueCommand::Control { lock_key, control } => {
            control::apply(env, lock_key.as_deref(), control)
        }
        QueueCommand::Execute { lock_key, item } => {
            control::execute(env, lock_key.as_deref(), &item)
        }
        QueueCommand::StartTask {
            lock_key,
            background,
            task,
        } => control::start_task(env, lock_key.as_deref(), background, task),
        QueueCommand::Lock(lock) => read::lock(env, lock),
        QueueCommand::ManagerStop { safe } => control::manager_stop(env, safe),
    }
}
