//! Environment, execution, run-engine and task control, each behind the environment lock; and
//! `manager/stop`.

use std::sync::Arc;

use super::edit::{prepared, state};
use super::{Control, PermissionChange, PlanEnd, QueueReply, Refused, Step, Task};
use crate::queue::handle::Env;
use crate::queue::permissions::Permissions;
use crate::queue::state::{Change, Effect, Guard, ManagerState};
use crate::queue::tasks::{TaskRequest, TaskStart};

pub(super) fn apply(env: &mut Env, lock_key: Option<&str>, control: Control) -> QueueReply {
    let done = |r: Result<(), String>| QueueReply::Done(r.map_err(state));
    if let Err(refused) = locked(env, lock_key) {
        return QueueReply::Done(Err(refused));
    }
    let s = &mut *env.state;
    match control {
        Control::OpenEnvironment => done(s.open_environment()),
        Control::CloseEnvironment => done(s.close_environment()),
        Control::DestroyEnvironment => done(s.destroy_environment()),
        Control::StartQueue => done(s.start_queue(env.ctx)),
        Control::StopQueue => done(s.stop_queue()),
        Control::CancelStopQueue => {
            s.cancel_stop_queue();
            done(Ok(()))
        }
        Control::Autostart(enable) => {
            s.set_autostart(enable, env.ctx);
            done(Ok(()))
        }
        Control::Pause(option) => done(s.pause(option)),
        Control::Resume => done(s.resume()),
        Control::End(end) => done(s.end_paused(match end {
            PlanEnd::Stop => Effect::Stop,
            PlanEnd::Abort => Effect::Abort,
            PlanEnd::Halt => Effect::Halt,
        })),
        Control::Permissions(change) => {
            match change {
                PermissionChange::Replace(perms) => {
                    put_permissions(env, Some(perms));
                    env.console.push(
                        env.ctx.now,
                        "User group permissions were replaced (permissions/set); permissions/reload reads the permissions file again",
                    );
                }
                PermissionChange::Reload(perms) => put_permissions(env, perms),
                PermissionChange::Keep => {}
            }
            done(Ok(()))
        }
    }
}

fn locked(env: &Env, lock_key: Option<&str>) -> Result<(), Refused> {
    env.state
        .check_lock(Guard::Environment, lock_key)
        .map_err(|e| Refused::new(Step::Lock, e))
}

/// `queue/item/execute`: runs the item at once, outside the queue.
pub(super) fn execute(
    env: &mut Env,
    lock_key: Option<&str>,
    item: &serde_json::Value,
) -> QueueReply {
    let item = match locked(env, lock_key).and_then(|()| prepared(env, item)) {
        Ok(item) => item,
        Err(refused) => {
            return QueueReply::Executed {
                item: None,
                outcome: Err(refused),
            }
        }
    };
    let outcome = env
        .state
        .execute(item.clone(), env.ctx)
        .map(|()| env.state.items.len())
        .map_err(state);
    QueueReply::Executed {
        item: Some(item),
        outcome,
    }
}

/// Puts `perms` in force (`None`: every group may use everything) and renews the allowed lists.
fn put_permissions(env: &mut Env, perms: Option<Permissions>) {
    env.catalog.permissions = perms.map(Arc::new);
    env.state.changes.push(Change::Catalog);
}

pub(super) fn start_task(
    env: &mut Env,
    lock_key: Option<&str>,
    background: bool,
    task: Task,
) -> QueueReply {
    let refused = |outcome| QueueReply::TaskStarted {
        item: None,
        outcome: Err(outcome),
    };
    if let Err(r) = locked(env, lock_key) {
        return refused(r);
    }
    let task_uid = (env.ctx.new_uid)();
    let (request, item) = match task {
        Task::Update => (TaskRequest::Update, None),
        Task::Script {
            script,
            update_lists,
            update_re,
        } => (
            TaskRequest::Script {
                script,
                update_lists,
                update_re,
            },
            None,
        ),
        Task::Function(item) => {
            let group = env.ctx.user_group.to_string();
            // The permissions live in the manager's catalogue: checked here, with the item
            // stamped with the task's uid as bluesky does.
            if let Some(perm) = &env.catalog.permissions {
                if !perm.function_allowed(&group, &item.name) {
                    return refused(Refused::new(
                        Step::Request,
                        format!(
                            "Error: Function '{}' is not allowed for users from '{group}' group.",
                            item.name
                        ),
                    ));
                }
            }
            let mut item = *item;
            item.user = env.ctx.user.to_string();
            item.user_group = group;
            item.item_uid = task_uid.clone();
            let request = TaskRequest::Function {
                item: Box::new(item.clone()),
            };
            (request, Some(item))
        }
    };
    let start = TaskStart {
        task_uid: task_uid.clone(),
        background,
        request,
    };
    let outcome = env
        .state
        .start_task(start, env.ctx.now)
        .map(|()| task_uid)
        .map_err(state);
    QueueReply::TaskStarted { item, outcome }
}

/// `manager/stop`: with `safe`, only while idle.
pub(super) fn manager_stop(env: &mut Env, safe: bool) -> QueueReply {
    if safe && env.state.manager != ManagerState::Idle {
        return QueueReply::Done(Err(state(format!(
            "Closing RE Manager with option 'safe_on' is allowed only in 'idle' state. Current state: '{}'",
            env.state.manager.as_str()
        ))));
    }
    let option = if safe { "safe_on" } else { "safe_off" };
    env.console.push(
        env.ctx.now,
        &format!("Stopping hutch (manager/stop, option '{option}'); a running plan is recorded as interrupted"),
    );
    QueueReply::Done(Ok(()))
}
