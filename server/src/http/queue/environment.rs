//! Environment, queue execution and run-engine control routes.

use axum::Extension;
use serde_json::{json, Value};

use super::{answer, controlled, done, fail, ok, refused, run, unexpected, with, Body, Caller, S};
use crate::auth::scopes::{self, Need};
use crate::http::api::Api;
use crate::http::ApiError;
use crate::queue::command::{
    Control, ModeChange, PlanEnd, QueueCommand, QueueReply, Read, RunFilter, Step,
};
use crate::queue::state::PauseOption;
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

body!(EnvironmentOpen, "environment_open" { lock_key: Option<String> });
body!(EnvironmentClose, "environment_close" { lock_key: Option<String> });
body!(EnvironmentDestroy, "environment_destroy" { lock_key: Option<String> });
body!(QueueStart, "queue_start" { lock_key: Option<String> });
body!(QueueStop, "queue_stop" { lock_key: Option<String> });
body!(QueueStopCancel, "queue_stop_cancel" { lock_key: Option<String> });
body!(ReResume, "re_resume" { lock_key: Option<String> });
body!(ReStop, "re_stop" { lock_key: Option<String> });
body!(ReAbort, "re_abort" { lock_key: Option<String> });
body!(ReHalt, "re_halt" { lock_key: Option<String> });
body!(RePause, "re_pause" { option: Option<String>, lock_key: Option<String> });
body!(QueueAutostart, "queue_autostart" { enable: Option<Value>, lock_key: Option<String> });
body!(ItemExecute, "item_execute" {
    item: Option<Value>, lock_key: Option<String>, user: Option<Value>, user_group: Option<Value>,
});
body!(ReRuns, "re_runs" { option: Option<Value>, reload: Option<Value> });

/// A control route: the environment lock, then `control`.
async fn control(
    state: &AppState,
    who: crate::auth::Principal,
    lock_key: Option<String>,
    control: Control,
) -> Reply {
    run(
        state,
        who,
        QueueCommand::Control { lock_key, control },
        controlled,
    )
    .await
}

/// How long `environment/open` waits for the environment to open or fail before it answers
/// (bluesky answers at once; waiting a little lets a missing Python, a Python without bluesky
/// or a profile that raises early be told to the caller). Slower profiles report through the
/// status and the console, as in bluesky.
const OPEN_REPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

async fn environment_open(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<EnvironmentOpen>,
) -> Reply {
    let mut outcome = s.queue.open_outcome();
    let before = outcome.borrow_and_update().generation;
    let command = QueueCommand::Control {
        lock_key: b.lock_key,
        control: Control::OpenEnvironment,
    };
    let mut began = false;
    let reply = run(&s, w, command, |r| {
        began = matches!(r, QueueReply::Done(Ok(())));
        controlled(r)
    })
    .await?;
    if !began {
        return Ok(reply);
    }
    let waited = tokio::time::timeout(
        OPEN_REPLY_WAIT,
        outcome.wait_for(|o| o.generation > before && o.result.is_some()),
    )
    .await;
    match waited {
        Ok(Ok(o)) => match o.result.clone() {
            Some(Err(e)) => answer(fail(format!(
                "Failed to open the RE Worker environment: {e}"
            ))),
            _ => answer(ok()),
        },
        // Still opening: the outcome shows in the status and the console.
        _ => answer(ok()),
    }
}
async fn environment_close(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<EnvironmentClose>,
) -> Reply {
    control(&s, w, b.lock_key, Control::CloseEnvironment).await
}
async fn environment_destroy(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<EnvironmentDestroy>,
) -> Reply {
    control(&s, w, b.lock_key, Control::DestroyEnvironment).await
}
async fn queue_start(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<QueueStart>) -> Reply {
    control(&s, w, b.lock_key, Control::StartQueue).await
}
async fn queue_stop(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<QueueStop>) -> Reply {
    control(&s, w, b.lock_key, Control::StopQueue).await
}
async fn queue_stop_cancel(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<QueueStopCancel>,
) -> Reply {
    control(&s, w, b.lock_key, Control::CancelStopQueue).await
}
async fn re_resume(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<ReResume>) -> Reply {
    control(&s, w, b.lock_key, Control::Resume).await
}
async fn re_stop(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<ReStop>) -> Reply {
    control(&s, w, b.lock_key, Control::End(PlanEnd::Stop)).await
}
async fn re_abort(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<ReAbort>) -> Reply {
    control(&s, w, b.lock_key, Control::End(PlanEnd::Abort)).await
}
async fn re_halt(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<ReHalt>) -> Reply {
    control(&s, w, b.lock_key, Control::End(PlanEnd::Halt)).await
}

async fn re_pause(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<RePause>) -> Reply {
    let option = match b.option.as_deref().unwrap_or("deferred") {
        "deferred" => PauseOption::Deferred,
        "immediate" => PauseOption::Immediate,
        other => {
            return answer(fail(format!(
                "Option '{other}' is not supported. Available options: ('deferred', 'immediate')"
            )))
        }
    };
    control(&s, w, b.lock_key, Control::Pause(option)).await
}

async fn queue_autostart(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<QueueAutostart>,
) -> Reply {
    let Some(enable) = b.enable.as_ref().map(truthy) else {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "API_Async_Mixin.queue_autostart() missing 1 required positional argument: 'enable'",
        ));
    };
    control(&s, w, b.lock_key, Control::Autostart(enable)).await
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

async fn queue_mode_set(S(s): S<AppState>, Extension(w): Caller, body: axum::body::Bytes) -> Reply {
    const PREFIX: &str = "Failed to set queue mode: ";
    let mut p = super::super::status::json_object_body(&body)?;
    // Like the bluesky API library: a body without `mode` is the mode itself.
    let lock_key = match p.remove("lock_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k),
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "queue_mode_set: 'lock_key' cannot be {other}: it must be a string"
            )))
        }
    };
    let mode = match p.remove("mode") {
        Some(mode) => mode,
        None => Value::Object(std::mem::take(&mut p)),
    };
    if let Some(bad) = p.keys().next() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("API_Async_Mixin.queue_mode_set() got an unexpected keyword argument '{bad}'; accepted: mode, lock_key"),
        ));
    }
    let change = match mode_change(&mode) {
        Ok(c) => c,
        Err(e) => return answer(fail(format!("{PREFIX}{e}"))),
    };
    let command = QueueCommand::Edit {
        lock_key,
        edit: crate::queue::command::Edit::SetMode(change),
    };
    run(&s, w, command, |r| done(r, PREFIX)).await
}

fn mode_change(mode: &Value) -> Result<ModeChange, String> {
    match mode {
        Value::String(s) if s == "default" => Ok(ModeChange::Default),
        Value::Object(m) => {
            let (mut loop_, mut ignore_failures) = (None, None);
            for (k, v) in m {
                let Some(b) = v.as_bool() else {
                    return Err(format!("Unsupported type of the parameter '{k}': expected a boolean, got {v}"));
                };
                match k.as_str() {
                    "loop" => loop_ = Some(b),
                    "ignore_failures" => ignore_failures = Some(b),
                    other => {
                        return Err(format!(
                            "Unsupported plan queue mode parameter '{other}': supported parameters ['loop', 'ignore_failures']"
                        ))
                    }
                }
            }
            Ok(ModeChange::Set { loop_, ignore_failures })
        }
        other => Err(format!(
            "Queue mode is passed using object of unsupported type ({other}). Supported types: ('dict', 'str'), supported string value: 'default'"
        )),
    }
}

async fn item_execute(
    S(s): S<AppState>,
    Extension(w): Caller,
    Body(b): Body<ItemExecute>,
) -> Reply {
    const PREFIX: &str = "Failed to start execution of the item: ";
    let sent = b.item.unwrap_or(Value::Null);
    let command = QueueCommand::Execute {
        lock_key: b.lock_key,
        item: sent.clone(),
    };
    run(&s, w, command, move |r| {
        let QueueReply::Executed { item, outcome } = r else {
            return unexpected(r);
        };
        match outcome {
            Ok(qsize) => with(ok(), json!({"qsize": qsize, "item": item})),
            Err(e) => {
                let shown = match e.at {
                    Step::Lock => Value::Null,
                    Step::Request => sent,
                    Step::State => json!(item),
                };
                with(refused(&e, PREFIX), json!({"qsize": null, "item": shown}))
            }
        }
    })
    .await
}

async fn runs(state: &AppState, who: crate::auth::Principal, filter: RunFilter) -> Reply {
    run(
        state,
        who,
        QueueCommand::Read(Read::Runs(filter)),
        |r| match r {
            QueueReply::Runs { runs, uid } => {
                with(ok(), json!({"run_list": runs, "run_list_uid": uid}))
            }
            other => unexpected(other),
        },
    )
    .await
}

async fn re_runs(S(s): S<AppState>, Extension(w): Caller, Body(b): Body<ReRuns>) -> Reply {
    let filter = match &b.option {
        None | Some(Value::Null) => RunFilter::Active,
        Some(Value::String(o)) if o == "active" => RunFilter::Active,
        Some(Value::String(o)) if o == "open" => RunFilter::Open,
        Some(Value::String(o)) if o == "closed" => RunFilter::Closed,
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                format!(
                "Unsupported option {other}. Supported options: (None, 'active', 'open', 'closed')"
            ),
            ))
        }
    };
    runs(&s, w, filter).await
}
async fn runs_active(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs(&s, w, RunFilter::Active).await
}
async fn runs_open(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs(&s, w, RunFilter::Open).await
}
async fn runs_closed(S(s): S<AppState>, Extension(w): Caller) -> Reply {
    runs(&s, w, RunFilter::Closed).await
}
