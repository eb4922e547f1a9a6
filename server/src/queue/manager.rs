//! The queue manager: one task that owns the [`QueueState`], the worker process and the store.
//! Everything else talks to it through [`QueueHandle`] (a bounded channel with oneshot replies).
//!
//! For every request and every worker report: apply it to the state, write the resulting changes
//! to SQLite, then publish (status board, stream), then carry out the effects on the worker, then
//! reply. So a client that sees a change can rely on it being stored.

use std::sync::Arc;

use hutch_app::model::queue::ExitStatus;
use hutch_app::model::stream::{HistoryDelta, QueueDelta, Topic};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

use super::catalog::Catalog;
use super::state::{Change, Ctx, Effect, QueueState, RunInfo};
use super::store::Store;
use crate::auth::Principal;
use crate::console::Console;
use crate::hub::Hub;
use crate::status::StatusBoard;
use crate::worker::handle::{WorkerEvent, WorkerHandle};
use crate::worker::launch::{Environment, Launch};
use crate::worker::protocol::{FromWorker, ToWorker};

/// What a request may touch.
pub struct Env<'a, 'c> {
    pub state: &'a mut QueueState,
    pub catalog: &'a mut Catalog,
    pub ctx: &'a mut Ctx<'c>,
    pub console: &'a Console,
    pub uids: &'a Uids,
}

/// What a request answers: JSON to serialise, or JSON already serialised (large lists are
/// written straight from the state, without building a `Value` tree first).
#[derive(Debug)]
pub enum Reply {
    Value(Value),
    Raw(String),
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Value(v)
    }
}

type Job = Box<dyn for<'a, 'c> FnOnce(&mut Env<'a, 'c>) -> Reply + Send>;

struct Request {
    principal: Principal,
    job: Job,
    reply: oneshot::Sender<Reply>,
}

/// The `*_uid` change markers of the status, renewed when their list changes.
#[derive(Clone, Debug)]
pub struct Uids {
    pub plan_queue: String,
    pub plan_history: String,
    pub run_list: String,
    pub lock_info: String,
    pub plans_allowed: String,
    pub devices_allowed: String,
    pub task_results: String,
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Requests handled together (one transaction) when they arrive faster than they are stored.
const MAX_BATCH: usize = 64;

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Cheap to clone; sends requests to the manager task.
#[derive(Clone)]
pub struct QueueHandle {
    tx: mpsc::Sender<Request>,
    opened: watch::Receiver<OpenOutcome>,
}

#[derive(Debug, thiserror::Error)]
#[error("the queue manager has stopped; restart hutch")]
pub struct ManagerGone;

impl QueueHandle {
    /// The outcome of the latest `environment/open`.
    pub fn open_outcome(&self) -> watch::Receiver<OpenOutcome> {
        self.opened.clone()
    }

    /// Runs `job` inside the manager and returns its reply once the changes are stored.
    pub async fn call<R: Into<Reply>>(
        &self,
        principal: Principal,
        job: impl for<'a, 'c> FnOnce(&mut Env<'a, 'c>) -> R + Send + 'static,
    ) -> Result<Reply, ManagerGone> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request {
                principal,
                job: Box::new(move |env: &mut Env| job(env).into()),
                reply,
            })
            .await
            .map_err(|_| ManagerGone)?;
        rx.await.map_err(|_| ManagerGone)
    }
}

pub struct Manager {
    state: QueueState,
    hub: Hub,
    docs: crate::runs::store::DocWriter,
    catalog: Catalog,
    store: Store,
    status: Arc<StatusBoard>,
    console: Console,
    uids: Uids,
    worker: Option<WorkerHandle>,
    generation: u64,
    /// The worker is expected to exit (close or destroy was requested).
    exit_expected: bool,
    next_scan_id: i64,
    launch: Launch,
    /// The key under which this environment's catalogue is stored.
    catalog_key: String,
    /// Why the worker said it could not open (`open_failed`), for its exit that follows.
    open_error: Option<String>,
    /// The outcome of the latest `environment/open`, for requests that wait for it.
    open_outcome: watch::Sender<OpenOutcome>,
    events_tx: mpsc::Sender<WorkerEvent>,
    datasets: crate::datasets::Datasets,
    applets: crate::applets::Applets,
}

/// Where the manager finds what it needs besides the database.
pub struct Setup {
    /// Where queue and history changes are published.
    pub hub: Hub,
    /// Where the worker's documents are stored.
    pub docs: crate::runs::store::DocWriter,
    /// Per-group allowed plans and devices (`--permissions`), if any.
    pub permissions: Option<Arc<super::permissions::Permissions>>,
    pub status: Arc<StatusBoard>,
    pub console: Console,
    /// How workers are started (environment, program, assets directory).
    pub launch: Launch,
    pub emergency_key: Option<String>,
    /// Where plans' datasets and applets go.
    pub datasets: crate::datasets::Datasets,
    pub applets: crate::applets::Applets,
}

/// Loads the persisted state and starts the manager task.
pub async fn start(
    pool: sqlx::SqlitePool,
    setup: Setup,
    shutdown: watch::Receiver<bool>,
) -> Result<QueueHandle, sqlx::Error> {
    let Setup {
        hub,
        docs,
        permissions,
        status,
        console,
        launch,
        emergency_key,
        datasets,
        applets,
    } = setup;
    let (store, loaded) = Store::load(pool, unix_now()).await?;
    let catalog_key = launch.environment.describe();
    let catalog = initial_catalog(&store, &catalog_key, &launch, permissions, &console).await;
    let (open_outcome, _) = watch::channel(OpenOutcome::default());
    for uid in &loaded.interrupted {
        let text = format!("item {uid} was running when hutch stopped: recorded as interrupted and put back at the front of the queue");
        tracing::warn!("{text}");
        console.push(unix_now(), &text);
    }
    let state = QueueState {
        items: loaded.items,
        history: loaded.history,
        mode: loaded.mode,
        autostart: loaded.autostart,
        lock: loaded.lock,
        emergency_key,
        ..QueueState::default()
    };
    let (events_tx, events_rx) = mpsc::channel(1024);
    let (tx, rx) = mpsc::channel(256);
    let manager = Manager {
        state,
        hub,
        docs,
        catalog,
        store,
        status,
        console,
        uids: Uids {
            plan_queue: uuid(),
            plan_history: uuid(),
            run_list: uuid(),
            lock_info: uuid(),
            plans_allowed: uuid(),
            devices_allowed: uuid(),
            task_results: uuid(),
        },
        worker: None,
        generation: 0,
        exit_expected: false,
        next_scan_id: loaded.next_scan_id,
        launch,
        catalog_key,
        open_error: None,
        open_outcome,
        events_tx,
        datasets,
        applets,
    };
    manager.publish_status();
    let opened = manager.open_outcome.subscribe();
    tokio::spawn(manager.run(rx, events_rx, shutdown));
    Ok(QueueHandle { tx, opened })
}

/// What the last `environment/open` came to: `generation` counts the opens, `result` is
/// `None` while the environment is still starting.
#[derive(Clone, Debug, Default)]
pub struct OpenOutcome {
    pub generation: u64,
    pub result: Option<Result<(), String>>,
}

/// The catalogue before the environment opens: for the simulated environment its own (the same
/// code its worker sends it from); for another, the one it described when it last opened
/// (stored), else empty until it opens.
async fn initial_catalog(
    store: &Store,
    key: &str,
    launch: &Launch,
    permissions: Option<Arc<super::permissions::Permissions>>,
    console: &Console,
) -> Catalog {
    if launch.environment == Environment::Sim {
        // The simulated worker is this binary: its catalogue is known without asking it (and
        // a stored one could be an older hutch's).
        let mut catalog = crate::worker::sim::catalog::catalog();
        catalog.permissions = permissions;
        return catalog;
    }
    let stored = match store.load_catalog(key).await {
        Ok(Some((p, d, t))) => Catalog::from_json(&p, &d, t.as_ref()).ok(),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("cannot read the stored catalogue: {e}");
            None
        }
    };
    let mut catalog = match stored {
        Some(c) => c,
        None => {
            console.push(
                unix_now(),
                "The plans and devices of this environment are known once it has opened (environment/open).",
            );
            Catalog::default()
        }
    };
    catalog.permissions = permissions;
    catalog
}

impl Manager {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut events: mpsc::Receiver<WorkerEvent>,
        shutdown: watch::Receiver<bool>,
    ) {
        let stopping = crate::stopping(shutdown);
        tokio::pin!(stopping);
        loop {
            tokio::select! {
                req = requests.recv() => match req {
                    Some(req) => {
                        // Group commit: take what else is already waiting, run it all, store
                        // it in one transaction, then answer everyone.
                        let mut batch = vec![req];
                        while batch.len() < MAX_BATCH {
                            match requests.try_recv() {
                                Ok(more) => batch.push(more),
                                Err(_) => break,
                            }
                        }
                        self.handle_requests(batch).await;
                    }
                    None => break,
                },
                Some(event) = events.recv() => self.handle_worker(event).await,
                () = &mut stopping => break,
            }
        }
        if let Some(w) = self.worker.as_mut() {
            // The worker dies with the server; the running item, if any, is recovered at the next start.
            w.kill();
        }
    }

    async fn handle_requests(&mut self, batch: Vec<Request>) {
        let now = unix_now();
        let before = (
            self.state.before(),
            self.store.running_dispatch().map(String::from),
        );
        let mut replies = Vec::with_capacity(batch.len());
        for Request {
            principal,
            job,
            reply,
        } in batch
        {
            let mark = self.state.changes.len();
            let effects_mark = self.state.effects.len();
            let value = {
                let mut gen = uuid;
                let mut ctx = Ctx {
                    now,
                    user: &principal.user,
                    user_group: &principal.user_group,
                    new_uid: &mut gen,
                };
                let mut env = Env {
                    state: &mut self.state,
                    catalog: &mut self.catalog,
                    ctx: &mut ctx,
                    console: &self.console,
                    uids: &self.uids,
                };
                job(&mut env)
            };
            // Renew the change markers now, so the next request of the batch sees them.
            let changes = self.state.changes[mark..].to_vec();
            self.renew_uids(&changes);
            let acted = !changes.is_empty() || self.state.effects.len() > effects_mark;
            replies.push((reply, value, acted));
        }
        if let Err(e) = self.settle_renewed(now).await {
            // Commit, then publish: nothing of this batch went out, so put the state back to the
            // database's and tell each request that changed something that it did not happen.
            self.roll_back(before, now, &e).await;
            let refused = format!(
                "hutch could not store this change, so it was not made: {e}. This is a disk or database problem; see the server log"
            );
            for (_, value, changed) in replies.iter_mut() {
                if *changed {
                    *value = Reply::Value(serde_json::json!({"success": false, "msg": refused}));
                }
            }
        }
        for (reply, value, _) in replies {
            let _ = reply.send(value);
        }
    }

    /// Persists, publishes and carries out what the last step changed (a worker event: it has
    /// happened, so a failed commit is reported and the state kept; see [`Self::settle_renewed`]).
    async fn settle(&mut self, now: f64) {
        let changes = self.state.changes.clone();
        self.renew_uids(&changes);
        if let Err(e) = self.settle_renewed(now).await {
            self.report_store_failure(now, &e);
            let (changes, effects) = self.state.take_changes();
            self.publish_status();
            self.publish_deltas(changes);
            for effect in effects {
                self.carry_out(effect).await;
            }
            Box::pin(self.settle(now)).await;
        }
    }

    /// [`Self::settle`] for changes whose uids were already renewed. Commits, then publishes and
    /// carries out the effects, until no change is left. If the first commit fails, nothing is
    /// published or carried out and the changes stay pending: the caller decides (a request
    /// batch rolls back). A later round's failure (after effects ran) is reported and kept.
    async fn settle_renewed(&mut self, now: f64) -> Result<(), sqlx::Error> {
        let mut first = true;
        loop {
            if self.state.changes.is_empty() && self.state.effects.is_empty() {
                return Ok(());
            }
            if !first {
                let changes = self.state.changes.clone();
                self.renew_uids(&changes);
            }
            if let Err(e) = self
                .store
                .apply(&self.state.changes, &self.state, now)
                .await
            {
                if first {
                    return Err(e);
                }
                self.report_store_failure(now, &e);
            }
            first = false;
            let (changes, effects) = self.state.take_changes();
            self.publish_status();
            self.publish_deltas(changes);
            for effect in effects {
                self.carry_out(effect).await;
            }
        }
    }

    /// The state in memory is ahead of the database; say so loudly. Nothing retries it: an
    /// operator must look, this is a disk or database problem.
    fn report_store_failure(&self, now: f64, e: &sqlx::Error) {
        tracing::error!("could not store queue changes: {e}");
        self.console
            .push(now, &format!("ERROR: could not store queue changes: {e}"));
    }

    /// After a request batch's failed commit: the queue, history and settings as stored, the
    /// rest as before the batch. Clients saw none of it (nothing was published).
    async fn roll_back(
        &mut self,
        (before, dispatch): (super::state::Before, Option<String>),
        now: f64,
        e: &sqlx::Error,
    ) {
        tracing::error!("could not store queue changes, so the requests were refused: {e}");
        self.console.push(
            now,
            &format!("ERROR: could not store queue changes (the requests were refused): {e}"),
        );
        match self.store.reload(dispatch).await {
            Ok(l) => self
                .state
                .restore(before, l.items, l.history, l.mode, l.autostart, l.lock),
            Err(re) => {
                // Cannot even read: keep memory as it is, so the next commit may still succeed.
                tracing::error!("could not re-read the queue after the failed commit: {re}");
                self.state.changes.clear();
                self.state.effects.clear();
            }
        }
        self.uids.plan_queue = uuid();
        self.uids.plan_history = uuid();
        self.publish_status();
    }

    fn renew_uids(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::QueueInsert { .. }
                | Change::QueueRemove { .. }
                | Change::QueueMove { .. }
                | Change::QueueReplace { .. }
                | Change::QueueClear
                | Change::Started(_) => self.uids.plan_queue = uuid(),
                Change::Finished(_) => {
                    self.uids.plan_queue = uuid();
                    self.uids.plan_history = uuid();
                }
                Change::HistoryTrim { .. } => self.uids.plan_history = uuid(),
                Change::Runs => self.uids.run_list = uuid(),
                Change::Settings => self.uids.lock_info = uuid(),
                Change::Tasks => self.uids.task_results = uuid(),
                Change::Catalog => {
                    self.uids.plans_allowed = uuid();
                    self.uids.devices_allowed = uuid();
                }
                Change::Status => {}
            }
        }
    }

    /// Sends the queue and history changes to the stream, in order.
    fn publish_deltas(&self, changes: Vec<Change>) {
        for change in changes {
            let (topic, delta) = match change {
                Change::QueueInsert { index, item } => (
                    Topic::Queue,
                    json!(QueueDelta::Insert {
                        index,
                        item: Box::new(item)
                    }),
                ),
                Change::QueueRemove { uid } => (Topic::Queue, json!(QueueDelta::Remove { uid })),
                Change::QueueMove { uid, index } => {
                    (Topic::Queue, json!(QueueDelta::Move { uid, index }))
                }
                Change::QueueReplace { uid, item } => (
                    Topic::Queue,
                    json!(QueueDelta::Replace {
                        uid,
                        item: Box::new(item)
                    }),
                ),
                Change::QueueClear => (Topic::Queue, json!(QueueDelta::Clear)),
                Change::Started(item) => (
                    Topic::Queue,
                    json!(QueueDelta::Running {
                        item: Some(Box::new(item))
                    }),
                ),
                Change::Finished(item) => {
                    self.hub
                        .publish_delta(Topic::Queue, json!(QueueDelta::Running { item: None }));
                    (
                        Topic::History,
                        json!(HistoryDelta::Append {
                            item: Box::new(item)
                        }),
                    )
                }
                Change::HistoryTrim { count } => {
                    (Topic::History, json!(HistoryDelta::Trim { count }))
                }
                Change::Settings
                | Change::Runs
                | Change::Status
                | Change::Tasks
                | Change::Catalog => continue,
            };
            self.hub.publish_delta(topic, delta);
        }
    }

    fn publish_status(&self) {
        let q = &self.state;
        let worker_pid = self.worker.as_ref().and_then(|w| w.pid);
        let environment = self.launch.environment.short();
        let u = &self.uids;
        self.status.update(|s| {
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
            s.hutch.worker_pid = worker_pid;
            s.hutch.environment.clone_from(&environment);
            s.worker_background_tasks = q.tasks.background_running();
            s.task_results_uid.clone_from(&u.task_results);
        });
    }

    fn log(&self, text: &str) {
        tracing::info!("{text}");
        self.console.push(unix_now(), text);
    }

    async fn send(&mut self, msg: ToWorker) {
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        if let Err(e) = worker.send(&msg).await {
            // The exit event that follows records the failure.
            tracing::warn!("could not write to the worker: {e}");
        }
    }

    async fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::OpenEnvironment => {
                self.generation += 1;
                self.exit_expected = false;
                self.open_error = None;
                self.open_outcome.send_replace(OpenOutcome {
                    generation: self.generation,
                    result: None,
                });
                self.log(&format!(
                    "Creating the RE Worker environment ({}) ...",
                    self.launch.environment.describe()
                ));
                let spawned = self.launch.command().and_then(|c| {
                    WorkerHandle::spawn(self.generation, c, self.events_tx.clone())
                        .map_err(|e| self.launch.spawn_error(&e))
                });
                match spawned {
                    Ok(w) => self.worker = Some(w),
                    Err(reason) => {
                        let now = unix_now();
                        self.log(&format!(
                            "Failed to open the RE Worker environment: {reason}"
                        ));
                        self.set_open_result(Err(reason.clone()));
                        self.with_ctx(now, |q, ctx| q.environment_gone(Some(&reason), ctx));
                        Box::pin(self.settle(now)).await;
                    }
                }
            }
            Effect::CloseEnvironment => {
                self.exit_expected = true;
                self.log("Closing the RE Worker environment ...");
                self.send(ToWorker::Close).await;
            }
            Effect::DestroyEnvironment => {
                self.exit_expected = true;
                self.log("Destroying the RE Worker environment ...");
                if let Some(w) = self.worker.as_mut() {
                    w.kill();
                }
            }
            Effect::Run(item) => {
                self.log(&format!(
                    "Starting plan '{}' ({})",
                    item.name, item.item_uid
                ));
                let scan_id = self.next_scan_id;
                self.send(ToWorker::Run { item, scan_id }).await;
            }
            Effect::Pause(option) => self.send(ToWorker::Pause { option }).await,
            Effect::Resume => self.send(ToWorker::Resume).await,
            Effect::Stop => self.send(ToWorker::Stop).await,
            Effect::Abort => self.send(ToWorker::Abort).await,
            Effect::Halt => self.send(ToWorker::Halt).await,
            Effect::Task(start) => {
                use super::tasks::TaskRequest as R;
                let super::tasks::TaskStart {
                    task_uid,
                    background,
                    request,
                } = *start;
                let msg = match request {
                    R::Script {
                        script,
                        update_lists,
                        update_re,
                    } => ToWorker::Script {
                        task_uid,
                        script,
                        update_lists,
                        update_re,
                        background,
                    },
                    R::Function { item } => ToWorker::Function {
                        task_uid,
                        item,
                        background,
                    },
                    R::Update => ToWorker::Update {
                        task_uid,
                        background,
                    },
                };
                self.send(msg).await;
            }
        }
    }

    /// Tells requests waiting on `environment/open` how it went (once per open).
    fn set_open_result(&mut self, result: Result<(), String>) {
        let generation = self.generation;
        self.open_outcome.send_if_modified(|o| {
            if o.generation == generation && o.result.is_none() {
                o.result = Some(result);
                true
            } else {
                false
            }
        });
    }

    /// Takes the catalogue the environment described, keeps it for the next start, and renews
    /// the `*_allowed_uid`s so that clients re-read it.
    async fn set_catalog(&mut self, plans: Value, devices: Value, types: Option<Value>) {
        match Catalog::from_json(&plans, &devices, types.as_ref()) {
            Ok(mut c) => {
                c.permissions = self.catalog.permissions.clone();
                self.catalog = c;
                self.state.changes.push(Change::Catalog);
                // The simulated catalogue is this binary's own and never read back.
                if self.launch.environment == Environment::Sim {
                    return;
                }
                if let Err(e) = self
                    .store
                    .save_catalog(&self.catalog_key, &plans, &devices, types.as_ref(), unix_now())
                    .await
                {
                    tracing::error!("could not store the environment's plans and devices: {e}");
                }
            }
            Err(e) => self.log(&format!(
                "The environment's list of plans and devices is not readable ({e}); keeping the previous one"
            )),
        }
    }

    fn with_ctx(&mut self, now: f64, f: impl FnOnce(&mut QueueState, &mut Ctx)) {
        let mut gen = uuid;
        let mut ctx = Ctx {
            now,
            user: "hutch",
            user_group: "root",
            new_uid: &mut gen,
        };
        f(&mut self.state, &mut ctx);
    }

    async fn handle_worker(&mut self, event: WorkerEvent) {
        let now = unix_now();
        match event {
            WorkerEvent::Message(g, _) | WorkerEvent::Stderr(g, _) | WorkerEvent::Exited(g, _)
                if g != self.generation => {}
            WorkerEvent::Stderr(_, line) => {
                self.console.push(now, &line);
            }
            WorkerEvent::Exited(_, reason) => {
                self.worker = None;
                let reason = match (self.exit_expected, self.open_error.take(), reason) {
                    (true, _, _) => None,
                    (false, Some(why), _) => Some(why),
                    (false, None, Some(r)) => Some(r),
                    (false, None, None) => {
                        Some("RE Worker process exited unexpectedly".to_string())
                    }
                };
                self.set_open_result(Err(reason
                    .clone()
                    .unwrap_or_else(|| "the environment was closed before it opened".into())));
                match &reason {
                    Some(r) => self.log(&format!("The RE Worker environment is gone: {r}")),
                    None => self.log("The RE Worker environment is closed."),
                }
                self.with_ctx(now, |q, ctx| q.environment_gone(reason.as_deref(), ctx));
            }
            WorkerEvent::Message(_, msg) => self.on_message(msg, now).await,
        }
        self.settle(now).await;
    }

    async fn on_message(&mut self, msg: FromWorker, now: f64) {
        match msg {
            FromWorker::Ready {
                environment,
                plans,
                devices,
                types,
                ..
            } => {
                if let Some(plans) = plans {
                    self.set_catalog(plans, devices.unwrap_or(Value::Null), types)
                        .await;
                }
                self.log(&format!(
                    "RE Worker environment '{environment}' is open: {} plans, {} devices.",
                    self.catalog.plans.len(),
                    self.catalog.devices.len()
                ));
                self.set_open_result(Ok(()));
                self.with_ctx(now, |q, ctx| q.environment_opened(ctx));
            }
            FromWorker::OpenFailed { msg, .. } => {
                // The worker has printed the traceback on its stderr, which is the console.
                self.log(&format!("Failed to open the RE Worker environment: {msg}"));
                self.open_error = Some(msg);
            }
            FromWorker::Catalog {
                plans,
                devices,
                types,
            } => {
                self.set_catalog(plans, devices, types).await;
                self.log(&format!(
                    "The lists of plans and devices were updated: {} plans, {} devices.",
                    self.catalog.plans.len(),
                    self.catalog.devices.len()
                ));
            }
            FromWorker::TaskFinished {
                task_uid,
                success,
                msg,
                traceback,
                return_value,
            } => {
                let outcome = super::tasks::TaskOutcome {
                    success,
                    msg,
                    traceback,
                    return_value,
                };
                self.with_ctx(now, |q, ctx| q.task_finished(&task_uid, outcome, ctx));
            }
            FromWorker::Log { msg } => {
                self.console.push(now, &msg);
            }
            FromWorker::Document { name, doc } => {
                // Queued for the storage path, in order; a full queue makes the worker wait.
                let dispatch = self.store.running_dispatch().map(String::from);
                if let Err(e) = self.docs.send(vec![(name, doc)], dispatch).await {
                    tracing::error!("a document from the worker was not stored: {e}");
                    self.console.push(
                        now,
                        &format!("a document from the worker was not stored: {e}"),
                    );
                }
            }
            FromWorker::RunOpened { uid, scan_id } => {
                self.next_scan_id = self.next_scan_id.max(scan_id + 1);
                if let Err(e) = self.store.save_next_scan_id(self.next_scan_id).await {
                    tracing::error!("could not store the next scan id: {e}");
                }
                self.state.run_event(RunInfo {
                    uid,
                    scan_id,
                    is_open: true,
                    exit_status: None,
                });
            }
            FromWorker::RunClosed {
                uid,
                scan_id,
                exit_status,
            } => {
                self.state.run_event(RunInfo {
                    uid,
                    scan_id,
                    is_open: false,
                    exit_status: Some(exit_status),
                });
            }
            FromWorker::Dataset {
                key,
                value,
                persist,
                unit,
            } => {
                let by = self
                    .store
                    .running_dispatch()
                    .map_or_else(|| "worker".to_string(), |d| format!("dispatch:{d}"));
                let meta = unit.map(|unit| hutch_app::model::datasets::DatasetMeta {
                    unit: Some(unit),
                    ..Default::default()
                });
                let req = crate::datasets::SetRequest {
                    value,
                    meta,
                    persist: Some(persist),
                };
                if let Err(e) = self.datasets.set(&key, req, &by).await {
                    self.console
                        .push(now, &format!("the plan could not set dataset '{key}': {e}"));
                }
            }
            FromWorker::Applet {
                group,
                name,
                kind,
                spec,
                plan,
            } => {
                use crate::applets::ExperimentOutcome as O;
                match self
                    .applets
                    .from_experiment(&group, &name, kind, spec, &format!("plan:{plan}"))
                    .await
                {
                    Ok(O::Kept { msg, .. } | O::Ignored { msg }) => {
                        self.console
                            .push(now, &format!("applet not changed: {msg}"));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.console.push(
                            now,
                            &format!("the plan could not save applet '{name}': {e}"),
                        );
                    }
                }
            }
            FromWorker::Paused => {
                self.state.paused();
                if let Err(e) = self.store.set_running_status("paused", now).await {
                    tracing::error!("could not store the pause: {e}");
                }
                self.log("The plan is paused.");
            }
            FromWorker::Finished {
                exit_status,
                msg,
                traceback,
                run_uids,
                scan_ids,
            } => {
                // The plan's documents are stored before it shows as finished in history.
                if let Err(e) = self.docs.flush().await {
                    tracing::error!("documents of the finished plan may be lost: {e}");
                }
                let outcome = super::state::PlanOutcome {
                    exit_status,
                    msg,
                    traceback,
                    run_uids,
                    scan_ids,
                };
                if exit_status != ExitStatus::Completed {
                    self.log(&format!("The plan ended: {}", exit_status.as_str()));
                }
                self.with_ctx(now, |q, ctx| q.plan_finished(&outcome, ctx));
            }
        }
    }
}
