//! Work in the environment's Python namespace: `environment/update`, `script/upload`,
//! `function/execute`, and their results through `task/status` and `task/result`;
//! `kernel/interrupt` (hutch runs no IPython kernel). Shapes as bluesky-httpserver's.

use axum::Extension;
use hutch_app::model::queue::{ItemType, QueueItem};
use serde_json::{json, Map, Value};

use super::{answer, fail, run, unexpected, with, Body, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::command::{QueueCommand, QueueReply, Read, Step, Task};
use crate::worker::launch::Environment;
use crate::AppState;

/// Largest script `script/upload` takes (its text travels to the worker in one line).
const MAX_SCRIPT: usize = 1 << 20;
/// Most task uids one `task/status` asks about.
const MAX_STATUS_UIDS: usize = 1000;

pub fn routes() -> Api {
    Api::new()
        .post(
            "/api/environment/update",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            environment_update,
        )
        .post(
            "/api/script/upload",
            Need::Scope(scopes::WRITE_SCRIPTS),
            script_upload,
        )
        .post(
            "/api/function/execute",
            Need::Scope(scopes::WRITE_EXECUTE),
            function_execute,
        )
        .get(
            "/api/task/status",
            Need::Scope(scopes::READ_MONITOR),
            task_status,
        )
        .get(
            "/api/task/result",
            Need::Scope(scopes::READ_MONITOR),
            task_result,
        )
        .post(
            "/api/kernel/interrupt",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            kernel_interrupt,
        )
}

type Reply = Result<axum::response::Response, ApiError>;

body!(EnvironmentUpdate, "environment_update" {
    run_in_background: Option<bool>, lock_key: Option<String>,
});
body!(ScriptUpload, "script_upload" {
    script: Option<String>, update_lists: Option<bool>, update_re: Option<bool>,
    run_in_background: Option<bool>, lock_key: Option<String>,
});
body!(FunctionExecute, "function_execute" {
    item: Option<Value>, run_in_background: Option<bool>, lock_key: Option<String>,
});
body!(TaskStatus, "task_status" { task_uid: Option<Value> });
body!(TaskResult, "task_result" { task_uid: Option<String> });
body!(KernelInterrupt, "kernel_interrupt" {
    interrupt_task: Option<bool>, interrupt_plan: Option<bool>, lock_key: Option<String>,
});

fn no_python(env: &Environment) -> Option<String> {
    (*env == Environment::Sim).then(|| {
        "the simulated environment runs no Python: scripts and functions need hutch serve --environment bluesky".to_string()
    })
}

/// Starts a task in the manager (lock and environment state first). `sent`: the function item
/// as the request gave it (shown back when the caller may not run it).
async fn start(
    state: &AppState,
    who: crate::auth::Principal,
    lock_key: Option<String>,
    background: Option<bool>,
    task: Task,
    sent: Option<Value>,
) -> Reply {
    let command = QueueCommand::StartTask {
        lock_key,
        background: background.unwrap_or(false),
        task,
    };
    run(state, who, command, move |r| {
        let QueueReply::TaskStarted { item, outcome } = r else {
            return unexpected(r);
        };
        // A function's item, as stamped for the task (bluesky shows these keys).
        let shown = item.map(|i| {
            json!({"name": i.name, "args": i.args, "kwargs": i.kwargs, "user": i.user,
                "user_group": i.user_group, "item_uid": i.item_uid})
        });
        let extra = match (&outcome, shown, sent) {
            (Err(e), _, Some(sent)) if e.at == Step::Request => json!({"item": sent}),
            (Err(e), _, _) if e.at == Step::Lock => json!({}),
            (_, Some(shown), _) => json!({"item": shown}),
            _ => json!({}),
        };
        let reply = match outcome {
            Ok(task_uid) => json!({"success": true, "msg": "", "task_uid": task_uid}),
            Err(e) if e.at == Step::Lock => {
                with(fail(format!("Error: {}", e.msg)), json!({"task_uid": null}))
            }
            Err(e) => with(fail(e.msg), json!({"task_uid": null})),
        };
        with(reply, extra)
    })
    .await
}

async fn environment_update(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<EnvironmentUpdate>,
) -> Reply {
    start(&s, w, b.lock_key, b.run_in_background, Task::Update, None).await
}

async fn script_upload(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<ScriptUpload>,
) -> Reply {
    let Some(script) = b.script else {
        return answer(with(
            fail("Error: \"Parameter 'script' is missing\": send the Python source as 'script'"),
            json!({"task_uid": null}),
        ));
    };
    if script.len() > MAX_SCRIPT {
        return answer(with(
            fail(format!(
                "the script is {} bytes; hutch takes scripts of up to {MAX_SCRIPT} bytes",
                script.len()
            )),
            json!({"task_uid": null}),
        ));
    }
    if let Some(msg) = no_python(&s.config.environment) {
        return answer(with(fail(msg), json!({"task_uid": null})));
    }
    let task = Task::Script {
        script,
        update_lists: b.update_lists.unwrap_or(true),
        update_re: b.update_re.unwrap_or(false),
    };
    start(&s, w, b.lock_key, b.run_in_background, task, None).await
}

async fn function_execute(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<FunctionExecute>,
) -> Reply {
    let raw = b.item.unwrap_or(Value::Null);
    let item = match function_item(&raw) {
        Ok(item) => item,
        Err(e) => return answer(with(fail(e), json!({"item": raw, "task_uid": null}))),
    };
    if let Some(msg) = no_python(&s.config.environment) {
        return answer(with(fail(msg), json!({"item": raw, "task_uid": null})));
    }
    let task = Task::Function(Box::new(item));
    start(&s, w, b.lock_key, b.run_in_background, task, Some(raw)).await
}

/// Reads a `function/execute` item: a name, a list of args and an object of kwargs.
fn function_item(v: &Value) -> Result<QueueItem, String> {
    let obj = v
        .as_object()
        .ok_or("Incorrect request format: request contains no item info")?;
    if let Some(t) = obj.get("item_type").and_then(Value::as_str) {
        if t != "function" {
            return Err(format!(
                "Incorrect request format: item_type must be 'function', got '{t}'"
            ));
        }
    }
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or("Incorrect request format: the item needs the function's 'name'")?;
    let args = match obj.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err("Incorrect request format: 'args' must be a list".into()),
    };
    let kwargs = match obj.get("kwargs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("Incorrect request format: 'kwargs' must be an object".into()),
    };
    Ok(QueueItem {
        name: name.into(),
        args: Some(args),
        kwargs: Some(kwargs),
        item_type: ItemType::Function,
        user: String::new(),
        user_group: String::new(),
        meta: None,
        item_uid: String::new(),
        properties: None,
        result: None,
    })
}

async fn task_status(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<TaskStatus>) -> Reply {
    let refused = |msg: &str, uids: &Value| {
        answer(with(fail(msg), json!({"task_uid": uids, "status": null})))
    };
    let (uids, one) = match b.task_uid {
        Some(Value::String(uid)) => (vec![uid], true),
        Some(Value::Array(list)) if list.len() <= MAX_STATUS_UIDS => {
            match list
                .iter()
                .map(|u| u.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
            {
                Some(uids) => (uids, false),
                None => {
                    return refused(
                        "task_uid must be a string or a list of strings",
                        &Value::Array(list),
                    )
                }
            }
        }
        Some(Value::Array(_)) => {
            return refused(
                &format!("ask about at most {MAX_STATUS_UIDS} tasks at once"),
                &Value::Null,
            )
        }
        _ => return refused(
            "Error: \"Parameter 'task_uid' is missing\": send the task's uid (or a list of uids)",
            &Value::Null,
        ),
    };
    run(
        &s,
        w,
        QueueCommand::Read(Read::TaskStatus(uids)),
        move |r| {
            let QueueReply::TaskStatus(statuses) = r else {
                return unexpected(r);
            };
            let (task_uid, status) = match (one, statuses.as_slice()) {
                (true, [(uid, status)]) => (json!(uid), json!(status)),
                _ => {
                    let uids: Vec<&String> = statuses.iter().map(|(u, _)| u).collect();
                    let map: Map<String, Value> = statuses
                        .iter()
                        .map(|(u, s)| (u.clone(), json!(s)))
                        .collect();
                    (json!(uids), Value::Object(map))
                }
            };
            json!({"success": true, "msg": "", "task_uid": task_uid, "status": status})
        },
    )
    .await
}

async fn task_result(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<TaskResult>) -> Reply {
    let Some(uid) = b.task_uid else {
        return answer(with(
            fail("Error: \"Parameter 'task_uid' is missing\": send the task's uid"),
            json!({"task_uid": null, "status": null, "result": null}),
        ));
    };
    let command = QueueCommand::Read(Read::TaskResult(uid.clone()));
    run(&s, w, command, move |r| match r {
        QueueReply::TaskResult { status, result } => {
            let result = result.unwrap_or_else(|| json!({}));
            json!({"success": true, "msg": "", "task_uid": uid, "status": status, "result": result})
        }
        other => unexpected(other),
    })
    .await
}

async fn kernel_interrupt(_: Body<KernelInterrupt>) -> Reply {
    answer(fail(
        "Failed to interrupt IPython kernel: RE Manager is not in IPython mode: IPython kernel is not used",
    ))
}
