//! The queue manager: one task that owns the [`QueueState`], the worker process and the store.
//! Everything else talks to it through [`QueueHandle`] (a bounded channel with oneshot replies).
//!
//! For every request and every worker report: apply it to the state, write the resulting changes
//! to SQLite, then publish (status board, stream), then carry out the effects on the worker, then
//! reply. So a client that sees a change can rely on it being stored.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::catalog::Catalog;
use super::command::{self, QueueReply};
use super::handle::{Env, OpenOutcome, QueueHandle, Request};
use super::publish;
use super::router::Router;
use super::state::{Change, Ctx, QueueState};
use super::store::Store;
use super::uids::{uuid, Uids};
use crate::clock::unix_now;
use crate::console::Console;
use crate::hub::Hub;
use crate::status::StatusBoard;
use crate::worker::handle::{WorkerEvent, WorkerHandle};
use crate::worker::launch::{Environment, Launch};

mod orphans;
mod worker;

/// Requests handled together (one transaction) when they arrive faster than they are stored.
const MAX_BATCH: usize = 64;

pub struct Manager {
    state: QueueState,
    hub: Hub,
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
    /// Where the worker's documents, datasets, applets and log lines go.
    router: Router,
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
    for (item, dispatch) in &loaded.interrupted {
        let text = format!("item {item} was running when hutch stopped: recorded as interrupted and put back at the front of the queue");
        tracing::warn!("{text}");
        console.push(unix_now(), &text);
        let why = "hutch stopped while this run was open (server restart or crash)";
        match orphans::close_open_runs(store.pool(), &docs, dispatch, why, unix_now()).await {
            Ok(runs) => {
                for run in runs {
                    console.push(
                        unix_now(),
                        &format!("run {run} of item {item} was left open; hutch stopped it"),
                    );
                }
            }
            Err(e) => {
                let text = format!("the open runs of item {item} could not be stopped: {e}");
                console.push(unix_now(), &text);
            }
        }
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
        catalog,
        store,
        status,
        router: Router {
            docs,
            datasets,
            applets,
            console: console.clone(),
        },
        console,
        uids: Uids::new(),
        worker: None,
        generation: 0,
        exit_expected: false,
        next_scan_id: loaded.next_scan_id,
        launch,
        catalog_key,
        open_error: None,
        open_outcome,
        events_tx,
    };
    manager.publish_status();
    let opened = manager.open_outcome.subscribe();
    tokio::spawn(manager.run(rx, events_rx, shutdown));
    Ok(QueueHandle { tx, opened })
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
            command,
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
                    hub: &self.hub,
                };
                command::apply(&mut env, command)
            };
            // Renew the change markers now, so the next request of the batch sees them.
            let changes = self.state.changes[mark..].to_vec();
            self.uids.renew(&changes);
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
                    *value = QueueReply::NotStored(refused.clone());
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
        self.uids.renew(&changes);
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
                self.uids.renew(&changes);
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

    /// Sends the queue and history changes to the stream, in order.
    fn publish_deltas(&self, changes: Vec<Change>) {
        for (topic, delta) in changes.into_iter().flat_map(publish::deltas) {
            self.hub.publish_delta(topic, delta);
        }
    }

    fn publish_status(&self) {
        let environment = self.launch.environment.short();
        let worker = publish::Worker {
            pid: self.worker.as_ref().and_then(|w| w.pid),
            environment: &environment,
        };
        publish::status(&self.status, &self.state, &self.uids, &worker);
    }
}
