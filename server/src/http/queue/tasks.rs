//! Work in the environment's Python namespace: `environment/update`, `script/upload`,
//! `function/execute`, and their results through `task/status` and `task/result`;
//! `kernel/interrupt` (hutch runs no IPython kernel). Shapes as bluesky-httpserver's.

use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::Extension;
use hutch_app::model::queue::{ItemType, QueueItem};
use serde_json::{json, Map, Value};

use super::{fail, guard, lock_key, params, run, with, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::handle::Env;
use crate::queue::state::Guard;
use crate::queue::tasks::{TaskRequest, TaskStart};
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

fn flag(p: &Map<String, Value>, key: &str, default: bool) -> bool {
    p.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn no_python(env: &Environment) -> Option<String> {
    (*env == Environment::Sim).then(|| {
        "the simulated environment runs no Python: scripts and functions need hutch serve --environment bluesky".to_string()
    })
}

/// What a task route asks for, made inside the manager from the new task's uid: the request
/// and the extra keys of its reply, or (refused) the keys of the refusal.
type Make = Box<dyn FnOnce(&mut Env, &str) -> Result<(TaskRequest, Value), (String, Value)> + Send>;

/// Starts a task in the manager (lock, environment state and `make`'s own checks first).
async fn start(
    state: &AppState,
    who: crate::auth::Principal,
    p: Map<String, Value>,
    make: Make,
) -> Reply {
    run(state, who, move |env: &mut Env| {
        let background = flag(&p, "run_in_background", false);
        let task_uid = (env.ctx.new_uid)();
        let now = env.ctx.now;
        if let Err(e) = guard(env, Guard::Environment, &lock_key(&p), "Error: ") {
            return with(fail(e), json!({"task_uid": null}));
        }
        let (request, extra) = match make(env, &task_uid) {
            Ok(made) => made,
            Err((e, extra)) => return with(with(fail(e), json!({"task_uid": null})), extra),
        };
        let start = TaskStart {
            task_uid: task_uid.clone(),
            background,
            request,
        };
        match env.state.start_task(start, now) {
            Ok(()) => with(
                json!({"success": true, "msg": "", "task_uid": task_uid}),
                extra,
            ),
            Err(e) => with(with(fail(e), json!({"task_uid": null})), extra),
        }
    })
    .await
}

async fn environment_update(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(&b, "environment_update", &["run_in_background", "lock_key"])?;
    start(
        &s,
        w,
        p,
        Box::new(|_, _| Ok((TaskRequest::Update, json!({})))),
    )
    .await
}

async fn script_upload(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(
        &b,
        "script_upload",
        &[
            "script",
            "update_lists",
            "update_re",
            "run_in_background",
            "lock_key",
        ],
    )?;
    let Some(script) = p.get("script").and_then(Value::as_str).map(String::from) else {
        return Ok(axum::Json(with(
            fail("Error: \"Parameter 'script' is missing\": send the Python source as 'script'"),
            json!({"task_uid": null}),
        ))
        .into_response());
    };
    if script.len() > MAX_SCRIPT {
        return Ok(axum::Json(with(
            fail(format!(
                "the script is {} bytes; hutch takes scripts of up to {MAX_SCRIPT} bytes",
                script.len()
            )),
            json!({"task_uid": null}),
        ))
        .into_response());
    }
    if let Some(msg) = no_python(&s.config.environment) {
        return Ok(axum::Json(with(fail(msg), json!({"task_uid": null}))).into_response());
    }
    let request = TaskRequest::Script {
        script,
        update_lists: flag(&p, "update_lists", true),
        update_re: flag(&p, "update_re", false),
    };
    start(&s, w, p, Box::new(move |_, _| Ok((request, json!({}))))).await
}

async fn function_execute(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(
        &b,
        "function_execute",
        &["item", "run_in_background", "lock_key"],
    )?;
    let raw = p.get("item").cloned().unwrap_or(Value::Null);
    let item = match function_item(&raw) {
        Ok(item) => item,
        Err(e) => {
            let reply = with(fail(e), json!({"item": raw, "task_uid": null}));
            return Ok(axum::Json(reply).into_response());
        }
    };
    if let Some(msg) = no_python(&s.config.environment) {
        let reply = with(fail(msg), json!({"item": raw, "task_uid": null}));
        return Ok(axum::Json(reply).into_response());
    }
    let (user, group) = (w.user.clone(), w.user_group.clone());
    // The permissions live in the manager's catalogue: checked there, with the item stamped
    // with the task's uid as bluesky does.
    let make: Make = Box::new(move |env, task_uid| {
        if let Some(perm) = &env.catalog.permissions {
            if !perm.function_allowed(&group, &item.name) {
                let msg = format!(
                    "Error: Function '{}' is not allowed for users from '{group}' group.",
                    item.name
                );
                return Err((msg, json!({"item": raw})));
            }
        }
        let mut item = item;
        item.user = user;
        item.user_group = group;
        item.item_uid = task_uid.to_string();
        let shown = json!({"name": item.name, "args": item.args, "kwargs": item.kwargs,
            "user": item.user, "user_group": item.user_group, "item_uid": item.item_uid});
        let request = TaskRequest::Function {
            item: Box::new(item),
        };
        Ok((request, json!({"item": shown})))
    });
    start(&s, w, p, make).await
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

async fn task_status(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(&b, "task_status", &["task_uid"])?;
    let uids = p.get("task_uid").cloned().unwrap_or(Value::Null);
    run(&s, w, move |env: &mut Env| match &uids {
        Value::String(uid) => {
            json!({"success": true, "msg": "", "task_uid": uid, "status": env.state.tasks.status(uid)})
        }
        Value::Array(list) if list.len() <= MAX_STATUS_UIDS => {
            let mut status = Map::new();
            for uid in list {
                let Some(uid) = uid.as_str() else {
                    return with(
                        fail("task_uid must be a string or a list of strings"),
                        json!({"task_uid": uids, "status": null}),
                    );
                };
                status.insert(uid.into(), json!(env.state.tasks.status(uid)));
            }
            json!({"success": true, "msg": "", "task_uid": uids, "status": status})
        }
        Value::Array(_) => with(
            fail(format!("ask about at most {MAX_STATUS_UIDS} tasks at once")),
            json!({"task_uid": null, "status": null}),
        ),
        _ => with(
            fail("Error: \"Parameter 'task_uid' is missing\": send the task's uid (or a list of uids)"),
            json!({"task_uid": null, "status": null}),
        ),
    })
    .await
}

async fn task_result(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let p = params(&b, "task_result", &["task_uid"])?;
    let Some(uid) = p.get("task_uid").and_then(Value::as_str).map(String::from) else {
        let reply = with(
            fail("Error: \"Parameter 'task_uid' is missing\": send the task's uid"),
            json!({"task_uid": null, "status": null, "result": null}),
        );
        return Ok(axum::Json(reply).into_response());
    };
    run(&s, w, move |env: &mut Env| {
        let status = env.state.tasks.status(&uid);
        let result = env.state.tasks.result(&uid).unwrap_or_else(|| json!({}));
        json!({"success": true, "msg": "", "task_uid": uid, "status": status, "result": result})
    })
    .await
}

async fn kernel_interrupt(_s: S<AppState>, _w: Caller, b: Bytes) -> Reply {
    params(
        &b,
        "kernel_interrupt",
        &["interrupt_task", "interrupt_plan", "lock_key"],
    )?;
    Ok(axum::Json(fail(
        "Failed to interrupt IPython kernel: RE Manager is not in IPython mode: IPython kernel is not used",
    ))
    .into_response())
}
