//! Environment and execution: open/close/destroy, queue start/stop, immediate execution,
//! pause/resume/stop/abort/halt, and the worker's reports (environment ready, plan finished,
//! worker gone). Behaviour follows bluesky-queueserver where the reference shows it.

use hutch_app::model::control::{check, Action, Situation};
use hutch_app::model::queue::{ExitStatus, QueueItem, RunningProperties};

use super::state::{
    result_of, Change, Ctx, DispatchStatus, Effect, EnvState, ManagerState, PauseOption,
    PlanOutcome, QueueState, RunInfo,
};

impl QueueState {
    /// What the control rules look at (the same the dashboard reads from the status).
    pub fn situation(&self) -> Situation {
        Situation {
            manager: self.manager,
            env: self.env,
            re_state: self.re_state.map(String::from),
            running: self.running.is_some(),
            stop_pending: self.stop_pending,
            pause_pending: self.pause_pending,
        }
    }

    /// Whether `action` is accepted now (`model::control::check`, shared with the dashboard).
    fn allowed(&self, action: Action) -> Result<(), String> {
        check(action, &self.situation())
    }

    fn set_manager(&mut self, state: ManagerState) {
        if self.manager != state {
            self.manager = state;
            self.status_changed();
        }
    }

    pub fn open_environment(&mut self) -> Result<(), String> {
        self.allowed(Action::OpenEnvironment)?;
        self.manager = ManagerState::CreatingEnvironment;
        self.env = EnvState::Initializing;
        self.status_changed();
        self.effects.push(Effect::OpenEnvironment);
        Ok(())
    }

    /// The worker reports its environment is ready.
    pub fn environment_opened(&mut self, ctx: &mut Ctx) {
        if self.env == EnvState::Initializing {
            self.env = EnvState::Idle;
            self.re_state = Some("idle");
            self.manager = ManagerState::Idle;
            self.status_changed();
            self.kick_autostart(ctx);
        }
    }

    pub fn close_environment(&mut self) -> Result<(), String> {
        self.allowed(Action::CloseEnvironment)?;
        self.manager = ManagerState::ClosingEnvironment;
        self.env = EnvState::Closing;
        self.status_changed();
        self.effects.push(Effect::CloseEnvironment);
        Ok(())
    }

    pub fn destroy_environment(&mut self) -> Result<(), String> {
        self.allowed(Action::DestroyEnvironment)?;
        self.manager = ManagerState::DestroyingEnvironment;
        self.status_changed();
        self.effects.push(Effect::DestroyEnvironment);
        Ok(())
    }

    /// The worker process is gone: closed on request, destroyed, or died. A running item is
    /// recorded as failed with `reason` and goes back to the front of the queue.
    pub fn environment_gone(&mut self, reason: Option<&str>, ctx: &mut Ctx) {
        if self.running.is_some() {
            let why =
                reason.unwrap_or("RE Worker environment was closed while the plan was running");
            let outcome = PlanOutcome {
                exit_status: ExitStatus::Failed,
                msg: why.to_string(),
                traceback: String::new(),
                run_uids: self.runs.iter().map(|r| r.uid.clone()).collect(),
                scan_ids: self.runs.iter().map(|r| r.scan_id).collect(),
            };
            self.finish_running(&outcome, ctx);
        }
        self.tasks_gone(
            reason.unwrap_or("RE Worker environment was closed while the task was running"),
            ctx.now,
        );
        self.env = EnvState::Closed;
        self.re_state = None;
        self.manager = ManagerState::Idle;
        self.pause_pending = false;
        self.stop_pending = false;
        self.status_changed();
    }

    pub fn start_queue(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        self.allowed(Action::StartQueue)?;
        self.stop_pending = false;
        self.set_manager(ManagerState::ExecutingQueue);
        self.advance(ctx);
        Ok(())
    }

    pub fn stop_queue(&mut self) -> Result<(), String> {
        self.allowed(Action::StopQueue)?;
        if !self.stop_pending {
            self.stop_pending = true;
            self.status_changed();
        }
        Ok(())
    }

    pub fn cancel_stop_queue(&mut self) {
        if self.stop_pending {
            self.stop_pending = false;
            self.status_changed();
        }
    }

    /// Runs a prepared item at once, outside the queue.
    pub fn execute(&mut self, mut item: QueueItem, ctx: &mut Ctx) -> Result<(), String> {
        self.allowed(Action::Execute)?;
        if !item.is_plan() {
            return Ok(()); // `queue_stop` outside the queue has nothing to stop
        }
        item.properties = Some(RunningProperties {
            immediate_execution: true,
            time_start: ctx.now,
        });
        self.manager = ManagerState::ExecutingQueue;
        self.begin(item);
        Ok(())
    }

    fn begin(&mut self, item: QueueItem) {
        self.env = EnvState::ExecutingPlan;
        self.re_state = Some("running");
        self.running = Some(item.clone());
        self.runs.clear();
        self.changes.push(Change::Started(item.clone()));
        self.changes.push(Change::Runs);
        self.status_changed();
        self.effects.push(Effect::Run(Box::new(item)));
    }

    /// Takes the next item while the queue executes; ends execution when told to stop or empty.
    fn advance(&mut self, ctx: &mut Ctx) {
        while self.manager == ManagerState::ExecutingQueue && self.running.is_none() {
            if self.stop_pending || self.pause_pending || self.items.is_empty() {
                if self.stop_pending {
                    self.autostart = false;
                    self.changes.push(Change::Settings);
                }
                self.stop_pending = false;
                self.set_manager(ManagerState::Idle);
                return;
            }
            let mut item = self.items.remove(0);
            self.changes.push(Change::QueueRemove {
                uid: item.item_uid.clone(),
            });
            if !item.is_plan() {
                // `queue_stop`: consumed, never in history; stops the queue (and autostart).
                if self.mode.loop_ {
                    self.requeue_copy(&item, ctx);
                }
                self.autostart = false;
                self.changes.push(Change::Settings);
                self.set_manager(ManagerState::Idle);
                return;
            }
            item.properties = Some(RunningProperties {
                immediate_execution: false,
                time_start: ctx.now,
            });
            item.result = None;
            self.begin(item);
        }
    }

    /// Appends a copy with a new uid at the back (loop mode).
    fn requeue_copy(&mut self, item: &QueueItem, ctx: &mut Ctx) {
        let mut copy = item.clone();
        copy.item_uid = (ctx.new_uid)();
        copy.properties = None;
        copy.result = None;
        let index = self.items.len();
        self.items.push(copy.clone());
        self.changes.push(Change::QueueInsert { index, item: copy });
    }

    pub fn pause(&mut self, option: PauseOption) -> Result<(), String> {
        self.allowed(Action::Pause)?;
        self.pause_pending = true;
        self.status_changed();
        self.effects.push(Effect::Pause(option));
        Ok(())
    }

    /// The worker reports that the plan paused at a checkpoint.
    /// A repeated report of the same pause changes nothing.
    pub fn paused(&mut self) {
        if self.running.is_some() && self.manager != ManagerState::Paused {
            self.pause_pending = false;
            self.manager = ManagerState::Paused;
            self.env = EnvState::Idle;
            self.re_state = Some("paused");
            self.status_changed();
            self.changes.push(Change::Dispatch(DispatchStatus::Paused));
        }
    }

    pub fn resume(&mut self) -> Result<(), String> {
        self.allowed(Action::Resume)?;
        self.manager = ManagerState::ExecutingQueue;
        self.env = EnvState::ExecutingPlan;
        self.re_state = Some("running");
        self.status_changed();
        self.changes.push(Change::Dispatch(DispatchStatus::Running));
        self.effects.push(Effect::Resume);
        Ok(())
    }

    /// `stop`, `abort` or `halt` of a paused plan; the worker then reports the plan finished.
    pub fn end_paused(&mut self, effect: Effect) -> Result<(), String> {
        self.allowed(Action::EndPaused)?;
        self.manager = ManagerState::ExecutingQueue;
        self.env = EnvState::ExecutingPlan;
        self.re_state = Some("running");
        self.status_changed();
        self.effects.push(effect);
        Ok(())
    }

    /// The worker reports a run opened or closed.
    pub fn run_event(&mut self, run: RunInfo) {
        match self.runs.iter_mut().find(|r| r.uid == run.uid) {
            Some(existing) => *existing = run,
            None => self.runs.push(run),
        }
        self.changes.push(Change::Runs);
    }

    /// The worker reports the running plan ended.
    pub fn plan_finished(&mut self, outcome: &PlanOutcome, ctx: &mut Ctx) {
        if self.running.is_none() {
            return;
        }
        if self.manager == ManagerState::Paused {
            // Ended while paused (e.g. the worker gave up): leave the paused state with it.
            self.manager = ManagerState::ExecutingQueue;
        }
        self.finish_running(outcome, ctx);
        if self.env.exists() {
            self.env = EnvState::Idle;
            self.re_state = Some("idle");
        }
        self.status_changed();
        self.advance(ctx);
        if self.manager == ManagerState::Idle {
            self.kick_autostart(ctx);
        }
    }

    fn finish_running(&mut self, outcome: &PlanOutcome, ctx: &mut Ctx) {
        let Some(mut item) = self.running.take() else {
            return;
        };
        let immediate = item
            .properties
            .as_ref()
            .is_some_and(|p| p.immediate_execution);
        item.result = Some(result_of(&item, outcome, ctx.now));
        item.properties = None;
        self.history.push(item.clone());
        self.changes.push(Change::Finished(item.clone()));
        self.runs.clear();
        self.changes.push(Change::Runs);
        self.pause_pending = false;
        let status = outcome.exit_status;
        let failed_but_ignored = status == ExitStatus::Failed && self.mode.ignore_failures;
        if immediate {
            self.manager = ManagerState::Idle;
        } else if status.returns_item_to_queue() && !failed_but_ignored {
            // A copy, result included, goes back to the front with a new uid; the queue stops.
            let mut copy = item;
            copy.item_uid = (ctx.new_uid)();
            self.items.insert(0, copy.clone());
            self.changes.push(Change::QueueInsert {
                index: 0,
                item: copy,
            });
            self.stop_after_failure();
        } else if status == ExitStatus::Stopped {
            self.stop_after_failure();
        } else if self.mode.loop_ {
            self.requeue_copy(&item, ctx);
        }
    }

    fn stop_after_failure(&mut self) {
        self.manager = ManagerState::Idle;
        if self.autostart {
            self.autostart = false;
            self.changes.push(Change::Settings);
        }
    }
}
