//! The manager's side of the worker process: carrying out effects (open, close, run, pause…)
//! and taking in what the worker reports. Outputs that are not the queue's (documents,
//! datasets, applets, log lines) go to the [`Router`](crate::queue::router::Router).

use hutch_app::model::queue::ExitStatus;
use serde_json::Value;

use super::{Manager, OpenOutcome};
use crate::clock::unix_now;
use crate::queue::catalog::Catalog;
use crate::queue::router::Output;
use crate::queue::state::{Change, Ctx, Effect, QueueState, RunInfo};
use crate::queue::uids::uuid;
use crate::queue::{state, tasks};
use crate::worker::handle::{WorkerEvent, WorkerHandle};
use crate::worker::launch::Environment;
use crate::worker::protocol::{FromWorker, ToWorker};

impl Manager {
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

    pub(super) async fn carry_out(&mut self, effect: Effect) {
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
                use tasks::TaskRequest as R;
                let tasks::TaskStart {
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

    pub(super) async fn handle_worker(&mut self, event: WorkerEvent) {
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
                let why = reason.as_deref().unwrap_or("the environment was destroyed");
                self.close_open_runs(why, now).await;
                self.with_ctx(now, |q, ctx| q.environment_gone(reason.as_deref(), ctx));
            }
            WorkerEvent::Message(_, msg) => self.on_message(msg, now).await,
        }
        self.settle(now).await;
    }

    /// The worker is gone while a plan ran: the runs it left open are stopped (see
    /// [`super::orphans`]).
    async fn close_open_runs(&mut self, why: &str, now: f64) {
        let Some(dispatch) = self.store.running_dispatch().map(str::to_string) else {
            return;
        };
        let docs = &self.router.docs;
        match super::orphans::close_open_runs(self.store.pool(), docs, &dispatch, why, now).await {
            Ok(runs) => {
                for run in runs {
                    self.log(&format!(
                        "Run {run} was left open by the lost worker; hutch stopped it."
                    ));
                }
            }
            Err(e) => self.log(&format!(
                "The runs of the lost plan could not be stopped: {e}"
            )),
        }
    }

    async fn on_message(&mut self, msg: FromWorker, now: f64) {
        let msg = match Output::take(msg) {
            Ok(out) => {
                let dispatch = self.store.running_dispatch();
                return self.router.route(out, dispatch, now).await;
            }
            Err(msg) => msg,
        };
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
                let outcome = tasks::TaskOutcome {
                    success,
                    msg,
                    traceback,
                    return_value,
                };
                self.with_ctx(now, |q, ctx| q.task_finished(&task_uid, outcome, ctx));
            }
            FromWorker::RunOpened { uid, scan_id } => {
                let next = self.next_scan_id.max(scan_id.saturating_add(1));
                if next != self.next_scan_id {
                    self.next_scan_id = next;
                    self.state.changes.push(Change::NextScanId(next));
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
            FromWorker::Log { .. }
            | FromWorker::Document { .. }
            | FromWorker::Dataset { .. }
            // Taken by `Output::take` above; never reaches here.
            | FromWorker::Applet { .. } => {}
            FromWorker::Paused => {
                self.state.paused();
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
                if let Err(e) = self.router.flush_documents().await {
                    tracing::error!("documents of the finished plan may be lost: {e}");
                }
                let outcome = state::PlanOutcome {
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
