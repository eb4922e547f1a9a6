//! Environment, queue execution and run-engine control routes.

use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::Extension;
use hutch_app::model::status::QueueMode;
use serde_json::{json, Map, Value};

use super::edit_item;
use super::{fail, guard, lock_key, ok, params, run, with, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::handle::Env;
use crate::queue::state::{Effect, Guard, PauseOption, QueueState};
use crate::AppState;

pub fn routes() -> Api {
    Api::new()
        .post(
            "/api/environment/open",
            Need::Scope(scopes::WRITE_MANAGER_CONTROL),
            environment_open,
        )
        .post(
            "/api/environment/close",
            Need::Scope(scopes::WRITE_MANAGER_CONTROL),
            environment_close,
        )
        .post(
            "/api/environment/destroy",
            Need::Scope(scopes::WRITE_MANAGER_CONTROL),
            environment_destroy,
        )
        .post(
            "/api/queue/start",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            queue_start,
        )
        .post(
            "/api/queue/stop",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            queue_stop,
        )
        .post(
            "/api/queue/stop/cancel",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            queue_stop_cancel,
        )
        .post(
            "/api/queue/autostart",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            queue_autostart,
        )
        .post(
            "/api/queue/mode/set",
            Need::Scope(scopes::WRITE_QUEUE_CONTROL),
            queue_mode_set,
        )
        .post(
            "/api/queue/item/execute",
            Need::Scope(scopes::WRITE_EXECUTE),
            item_execute,
        )
        .post(
            "/api/re/pause",
            Need::Scope(scopes::WRITE_PLAN_CONTROL),
            re_pause,
        )
        .post(
            "/api/re/resume",
            Need::Scope(scopes::WRITE_PLAN_CONTROL),
            re_resume,
        )
        .post(
            "/api/re/stop",
            Need::Scope(scopes::WRITE_PLAN_CONTROL),
            re_stop,
        )
        .post(
            "/api/re/abort",
            Need::Scope(scopes::WRITE_PLAN_CONTROL),
            re_abort,
        )
        .post(
            "/api/re/halt",
            Need::Scope(scopes::WRITE_PLAN_CONTROL),
            re_halt,
        )
        .post("/api/re/runs", Need::Scope(scopes::READ_MONITOR), re_runs)
        .get("/api/re/runs", Need::Scope(scopes::READ_MONITOR), re_runs)
        .get(
            "/api/re/runs/active",
            Need::Scope(scopes::READ_MONITOR),
            runs_active,
        )
        .get(
            "/api/re/runs/open",
            Need::Scope(scopes::READ_MONITOR),
            runs_open,
        )
        .get(
            "/api/re/runs/closed",
            Need::Scope(scopes::READ_MONITOR),
            runs_closed,
        )
}

type Reply = Result<axum::response::Response, ApiError>;

/// A control route: checks the environment lock, then runs `op` on the state.
async fn control(
    state: AppState,
    who: crate::auth::Principal,
    body: Bytes,
    function: &'static str,
    op: impl FnOnce(&mut Env) -> Result<(), String> + Send + 'static,
) -> Reply {
    let p = params(&body, function, &["lock_key"])?;
    run(&state, who, move |env: &mut Env| {
        match guard(env, Guard::Environment, &lock_key(&p), "Error: ").and_then(|()| op(env)) {
            Ok(()) => ok(),
            Err(e) => fail(e),
        }
    })
    .await
}

/// How long `environment/open` waits for the environment to open or fail before it answers
/// (bluesky answers at once; waiting a little lets a missing Python, a Python without bluesky
/// or a profile that raises early be told to the caller). Slower profiles report through the
/// status and the console, as in bluesky.
const OPEN_REPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

async fn environment_open(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    let mut outcome = s.queue.open_outcome();
    let before = outcome.borrow_and_update().generation;
    // The same control path as close/destroy; `opening` says whether the open began.
    let opening = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let began = opening.clone();
    let reply = control(s, w, b, "environment_open", move |env| {
        env.state.open_environment()?;
        began.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
    .await?;
    if !opening.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(reply);
    }
    let waited = tokio::time::timeout(
        OPEN_REPLY_WAIT,
        outcome.wait_for(|o| o.generation > before && o.result.is_some()),
    )
    .await;
    match waited {
        Ok(Ok(o)) => match o.result.clone() {
            Some(Err(e)) => Ok(axum::Json(fail(format!(
                "Failed to open the RE Worker environment: {e}"
            )))
            .into_response()),
            _ => Ok(axum::Json(super::ok()).into_response()),
        },
        // Still opening: the outcome shows in the status and the console.
        _ => Ok(axum::Json(super::ok()).into_response()),
    }
}
async fn environment_close(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "environment_close", |env| {
        env.state.close_environment()
    })
    .await
}
async fn environment_destroy(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "environment_destroy", |env| {
        env.state.destroy_environment()
    })
    .await
}
async fn queue_start(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "queue_start", |env| env.state.start_queue(env.ctx)).await
}
async fn queue_stop(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "queue_stop", |env| env.state.stop_queue()).await
}
async fn queue_stop_cancel(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "queue_stop_cancel", |env| {
        env.state.cancel_stop_queue();
        Ok(())
    })
    .await
}
async fn re_resume(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "re_resume", |env| env.state.resume()).await
}
async fn re_stop(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "re_stop", |env| env.state.end_paused(Effect::Stop)).await
}
async fn re_abort(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "re_abort", |env| {
        env.state.end_paused(Effect::Abort)
    })
    .await
}
async fn re_halt(S(s): S<AppState>, Extension(w): Caller, b: Bytes) -> Reply {
    control(s, w, b, "re_halt", |env| env.state.end_paused(Effect::Halt)).await
}

async fn re_pause(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "re_pause", &["option", "lock_key"])?;
    run(&state, who, move |env: &mut Env| {
        let option = match p
            .get("option")
            .and_then(Value::as_str)
            .unwrap_or("deferred")
        {
            "deferred" => PauseOption::Deferred,
            "immediate" => PauseOption::Immediate,
            other => {
                return fail(format!(
                "Option '{other}' is not supported. Available options: ('deferred', 'immediate')"
            ))
            }
        };
        match guard(env, Guard::Environment, &lock_key(&p), "Error: ")
            .and_then(|()| env.state.pause(option))
        {
            Ok(()) => ok(),
            Err(e) => fail(e),
        }
    })
    .await
}

async fn queue_autostart(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "queue_autostart", &["enable", "lock_key"])?;
    let Some(enable) = p.get("enable").map(truthy) else {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "API_Async_Mixin.queue_autostart() missing 1 required positional argument: 'enable'",
        ));
    };
    run(&state, who, move |env: &mut Env| {
        match guard(env, Guard::Environment, &lock_key(&p), "Error: ") {
            Ok(()) => {
                env.state.set_autostart(enable, env.ctx);
                ok()
            }
            Err(e) => fail(e),
        }
    })
    .await
}

/// Python's `bool()` of a JSON value, as the bluesky API library applies it.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

async fn queue_mode_set(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let mut p = super::super::status::json_object_body(&body)?;
    // Like the bluesky API library: a body without `mode` is the mode itself.
    if !p.contains_key("mode") {
        let lock = p.remove("lock_key");
        let mode = Value::Object(std::mem::take(&mut p));
        p.insert("mode".into(), mode);
        if let Some(l) = lock {
            p.insert("lock_key".into(), l);
        }
    }
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to set queue mode: ";
        let result =
            guard(env, Guard::Queue, &lock_key(&p), "").and_then(|()| new_mode(env.state, &p));
        match result {
            Ok(mode) => {
                env.state.set_mode(mode);
                ok()
            }
            Err(e) => fail(format!("{PREFIX}{e}")),
        }
    })
    .await
}

fn new_mode(state: &QueueState, p: &Map<String, Value>) -> Result<QueueMode, String> {
    match p.get("mode") {
        Some(Value::String(s)) if s == "default" => Ok(QueueMode::default()),
        Some(Value::Object(m)) => {
            let mut mode = state.mode.clone();
            for (k, v) in m {
                let Some(b) = v.as_bool() else {
                    return Err(format!("Unsupported type of the parameter '{k}': expected a boolean, got {v}"));
                };
                match k.as_str() {
                    "loop" => mode.loop_ = b,
                    "ignore_failures" => mode.ignore_failures = b,
                    other => {
                        return Err(format!(
                            "Unsupported plan queue mode parameter '{other}': supported parameters ['loop', 'ignore_failures']"
                        ))
                    }
                }
            }
            Ok(mode)
        }
        other => Err(format!(
            "Queue mode is passed using object of unsupported type ({}). Supported types: ('dict', 'str'), supported string value: 'default'",
            other.cloned().unwrap_or(Value::Null)
        )),
    }
}

async fn item_execute(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(
        &body,
        "item_execute",
        &["item", "lock_key", "user", "user_group"],
    )?;
    run(&state, who, move |env: &mut Env| {
        const PREFIX: &str = "Failed to start execution of the item: ";
        if let Err(e) = guard(env, Guard::Environment, &lock_key(&p), "") {
            return with(
                fail(format!("{PREFIX}{e}")),
                json!({"qsize": null, "item": null}),
            );
        }
        let sent = p.get("item").cloned().unwrap_or(Value::Null);
        let item = match edit_item(env, p.get("item")) {
            Ok(i) => i,
            Err(e) => {
                return with(
                    fail(format!("{PREFIX}{e}")),
                    json!({"qsize": null, "item": sent}),
                )
            }
        };
        match env.state.execute(item.clone(), env.ctx) {
            Ok(()) => with(ok(), json!({"qsize": env.state.items.len(), "item": item})),
            Err(e) => with(
                fail(format!("{PREFIX}{e}")),
                json!({"qsize": null, "item": item}),
            ),
        }
    })
    .await
}

fn runs_reply(env: &Env, option: &str) -> Value {
    let runs: Vec<&crate::queue::state::RunInfo> = env
        .state
        .runs
        .iter()
        .filter(|r| match option {
            "open" => r.is_open,
            "closed" => !r.is_open,
            _ => true,
        })
        .collect();
    with(
        ok(),
        json!({"run_list": runs, "run_list_uid": env.uids.run_list}),
    )
}

async fn re_runs(S(state): S<AppState>, Extension(who): Caller, body: Bytes) -> Reply {
    let p = params(&body, "re_runs", &["option", "reload"])?;
    let option = match p.get("option") {
        None | Some(Value::Null) => "active".to_string(),
        Some(Value::String(s)) if ["active", "open", "closed"].contains(&s.as_str()) => s.clone(),
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                format!(
                "Unsupported option {other}. Supported options: (None, 'active', 'open', 'closed')"
            ),
            ))
        }
    };
    run(&state, who, move |env: &mut Env| runs_reply(env, &option)).await
}

async fn runs_fixed(state: AppState, who: crate::auth::Principal, option: &'static str) -> Reply {
    run(&state, who, move |env: &mut Env| runs_reply(env, option)).await
}
async fn runs_active(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs_fixed(s, w, "active").await
}
async fn runs_open(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs_fixed(s, w, "open").await
}
async fn runs_closed(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs_fixed(s, w, "closed").await
}
