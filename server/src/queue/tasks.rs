//! Tasks: scripts, functions and environment updates run in the worker's Python namespace
//! (`script/upload`, `function/execute`, `environment/update`), with their results kept for
//! `task/status` and `task/result` and expired as bluesky-queueserver does. Pure: the time comes in.
//!
//! A foreground task occupies the environment (manager and environment state `executing_task`,
//! no plan starts meanwhile); a background task runs beside plans.

use std::collections::BTreeMap;

use hutch_app::model::queue::QueueItem;
use serde_json::{json, Value};

use super::state::{Change, EnvState, ManagerState, QueueState};

/// How long a finished task's result is kept.
pub const RESULT_RETENTION_S: f64 = 3600.0;
/// Most task records kept at once (oldest finished ones go first).
pub const MAX_TASKS: usize = 1000;

/// What a task asks the worker to do.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskRequest {
    Script {
        script: String,
        update_lists: bool,
        update_re: bool,
    },
    Function {
        item: Box<QueueItem>,
    },
    Update,
}

/// A task to send to the worker, with its uid.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskStart {
    pub task_uid: String,
    pub background: bool,
    pub request: TaskRequest,
}

/// The worker's report of a finished task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskOutcome {
    pub success: bool,
    pub msg: String,
    pub traceback: String,
    pub return_value: Value,
}

#[derive(Clone, Debug, PartialEq)]
struct Record {
    background: bool,
    time_start: f64,
    /// `None` while running.
    done: Option<(TaskOutcome, f64)>,
}

/// Every task the manager knows of, by uid.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tasks {
    records: BTreeMap<String, Record>,
    /// The task that occupies the environment, if any.
    pub foreground: Option<String>,
}

impl Tasks {
    pub fn background_running(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.background && r.done.is_none())
            .count()
    }

    /// `running`, `completed` or `not_found`.
    pub fn status(&self, uid: &str) -> &'static str {
        match self.records.get(uid) {
            Some(Record { done: None, .. }) => "running",
            Some(_) => "completed",
            None => "not_found",
        }
    }

    /// The `result` of `task/result` (`None` unless completed).
    pub fn result(&self, uid: &str) -> Option<Value> {
        let r = self.records.get(uid)?;
        let (o, stop) = r.done.as_ref()?;
        Some(json!({
            "task_uid": uid,
            "success": o.success,
            "msg": o.msg,
            "traceback": o.traceback,
            "return_value": o.return_value,
            "time_start": r.time_start,
            "time_stop": stop,
        }))
    }

    /// Drops results older than the retention time and, past [`MAX_TASKS`], the oldest finished.
    fn expire(&mut self, now: f64) {
        self.records.retain(|_, r| {
            r.done
                .as_ref()
                .is_none_or(|(_, t)| now - t < RESULT_RETENTION_S)
        });
        while self.records.len() >= MAX_TASKS {
            let oldest = self
                .records
                .iter()
                .filter_map(|(k, r)| r.done.as_ref().map(|(_, t)| (*t, k.clone())))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            match oldest {
                Some((_, k)) => {
                    self.records.remove(&k);
                }
                None => break,
            }
        }
    }
}

impl QueueState {
    /// Starts a task in the worker; a foreground one only when the environment is idle.
    pub fn start_task(&mut self, start: TaskStart, now: f64) -> Result<(), String> {
        if !self.env.exists() {
            return Err("RE Worker environment is not open".into());
        }
        if !start.background && (self.manager != ManagerState::Idle || self.env != EnvState::Idle) {
            return Err(format!(
                "RE Manager is busy (manager state: {}); run the task in the background (run_in_background=True) or wait",
                self.manager.as_str()
            ));
        }
        self.tasks.expire(now);
        if self.tasks.records.len() >= MAX_TASKS {
            return Err(format!(
                "{MAX_TASKS} tasks are running; wait for some to finish"
            ));
        }
        self.tasks.records.insert(
            start.task_uid.clone(),
            Record {
                background: start.background,
                time_start: now,
                done: None,
            },
        );
        if !start.background {
            self.tasks.foreground = Some(start.task_uid.clone());
            self.manager = ManagerState::ExecutingTask;
            self.env = EnvState::ExecutingTask;
        }
        self.changes.push(Change::Tasks);
        self.status_changed();
        self.effects
            .push(super::state::Effect::Task(Box::new(start)));
        Ok(())
    }

    /// The worker reports a task ended.
    pub fn task_finished(&mut self, uid: &str, outcome: TaskOutcome, ctx: &mut super::state::Ctx) {
        let Some(r) = self.tasks.records.get_mut(uid) else {
            return;
        };
        if r.done.is_some() {
            return;
        }
        r.done = Some((outcome, ctx.now));
        if self.tasks.foreground.as_deref() == Some(uid) {
            self.tasks.foreground = None;
            if self.env == EnvState::ExecutingTask {
                self.env = EnvState::Idle;
            }
            if self.manager == ManagerState::ExecutingTask {
                self.manager = ManagerState::Idle;
                self.kick_autostart(ctx);
            }
        }
        self.changes.push(Change::Tasks);
        self.status_changed();
    }

    /// The worker is gone: its running tasks fail with `reason`.
    pub(super) fn tasks_gone(&mut self, reason: &str, now: f64) {
        let mut any = false;
        for r in self.tasks.records.values_mut() {
            if r.done.is_none() {
                r.done = Some((
                    TaskOutcome {
                        success: false,
                        msg: reason.to_string(),
                        traceback: String::new(),
                        return_value: Value::Null,
                    },
                    now,
                ));
                any = true;
            }
        }
        self.tasks.foreground = None;
        if any {
            self.changes.push(Change::Tasks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::state::{Ctx, Effect};

    fn open() -> QueueState {
        QueueState {
            env: EnvState::Idle,
            manager: ManagerState::Idle,
            ..QueueState::default()
        }
    }

    fn start(uid: &str, background: bool) -> TaskStart {
        TaskStart {
            task_uid: uid.into(),
            background,
            request: TaskRequest::Update,
        }
    }

    fn outcome() -> TaskOutcome {
        TaskOutcome {
            success: true,
            msg: String::new(),
            traceback: String::new(),
            return_value: json!(42),
        }
    }

    #[test]
    fn a_foreground_task_occupies_the_environment_until_it_ends() {
        let mut q = open();
        q.start_task(start("t1", false), 10.0).unwrap();
        assert_eq!(q.manager, ManagerState::ExecutingTask);
        assert_eq!(q.env, EnvState::ExecutingTask);
        assert!(matches!(q.effects.last(), Some(Effect::Task(_))));
        assert!(q.start_task(start("t2", false), 10.0).is_err());
        q.start_task(start("t3", true), 10.0).unwrap();
        assert_eq!(q.tasks.background_running(), 1);
        assert_eq!(q.tasks.status("t1"), "running");
        let mut uid = || "u".to_string();
        let mut ctx = Ctx {
            now: 11.0,
            user: "u",
            user_group: "g",
            new_uid: &mut uid,
        };
        q.task_finished("t1", outcome(), &mut ctx);
        assert_eq!(q.manager, ManagerState::Idle);
        assert_eq!(q.env, EnvState::Idle);
        assert_eq!(q.tasks.status("t1"), "completed");
        assert_eq!(q.tasks.result("t1").unwrap()["return_value"], 42);
        assert_eq!(q.tasks.status("nope"), "not_found");
    }

    #[test]
    fn tasks_need_an_environment_and_results_expire() {
        let mut q = QueueState::default();
        assert!(q
            .start_task(start("t1", true), 0.0)
            .unwrap_err()
            .contains("not open"));
        let mut q = open();
        q.start_task(start("t1", true), 0.0).unwrap();
        let mut uid = || "u".to_string();
        let mut ctx = Ctx {
            now: 1.0,
            user: "u",
            user_group: "g",
            new_uid: &mut uid,
        };
        q.task_finished("t1", outcome(), &mut ctx);
        q.start_task(start("t2", true), 1.0 + RESULT_RETENTION_S + 1.0)
            .unwrap();
        assert_eq!(q.tasks.status("t1"), "not_found");
        q.tasks_gone("worker died", 5000.0);
        assert_eq!(q.tasks.result("t2").unwrap()["msg"], "worker died");
    }
}
