//! The Monitor page: manager, run engine and environment state, readiness, the running plan with
//! its progress, and the controls — all live.

use leptos::prelude::*;
use serde_json::json;

use super::common::{act, confirm, Outcome, OutcomeLine};

mod attention;
mod running;
use crate::live::{use_live, use_status};
use crate::model::control::{headline, offered, Action, Situation};
use crate::model::status::ServerStatus;
pub(crate) use attention::Attention;
pub(crate) use running::Running;

#[component]
pub fn MonitorPage() -> impl IntoView {
    let status = use_status();
    view! {
        <Attention/>
        <section class="panel">
            <h1>"Monitor"</h1>
            <StateHeadline/>
        </section>
        <Running/>
        <Controls/>
        <section class="panel" aria-labelledby="state-h">
            <h2 id="state-h">"State"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading status…"</p> }>
                {move || match status.get() {
                    Some(Ok(s)) => view! { <StatusCard status=s/> }.into_any(),
                    Some(Err(e)) => {
                        view! {
                            <p class="error" role="alert">
                                "Could not read the server status: " {e}
                            </p>
                        }
                            .into_any()
                    }
                    None => view! { <p class="muted">"Loading status…"</p> }.into_any(),
                }}
            </Suspense>
        </section>
    }
}

/// The manager's state in a scientist's words, coloured by its tone (shared with the kiosk).
#[component]
pub(crate) fn StateHeadline() -> impl IntoView {
    let status = use_status();
    let live = use_live();
    move || {
        let situation = status
            .get()
            .and_then(|s| s.ok())
            .and_then(|s| Situation::of(&s));
        match situation {
            Some(s) => {
                let h = headline(&s, live.progress.get().map(|p| p.events()));
                view! {
                    <p class=format!("headline {}", h.tone.class()) data-testid="headline" role="status">
                        {h.text}
                    </p>
                }
                .into_any()
            }
            None => {
                view! { <p class="headline" data-testid="headline">"Waiting for the server…"</p> }
                    .into_any()
            }
        }
    }
}

struct Control {
    label: &'static str,
    path: &'static str,
    body: serde_json::Value,
    /// Asked before a destructive action.
    confirm: Option<&'static str>,
    /// What the server would be asked: the button is enabled only when it would accept it.
    action: Action,
}

fn control(label: &'static str, path: &'static str, action: Action) -> Control {
    Control {
        label,
        path,
        body: json!({}),
        confirm: None,
        action,
    }
}

/// Why `action` is not offered now (the server's own words), or `None` when it is.
pub(crate) fn refusal(
    status: &Option<Result<ServerStatus, String>>,
    action: Action,
) -> Option<String> {
    match status {
        Some(Ok(s)) => match Situation::of(s) {
            Some(situation) => offered(action, &situation).err(),
            // A state this dashboard does not know (a newer server): let the server decide.
            None => None,
        },
        Some(Err(_)) | None => Some("Waiting for the server's status.".into()),
    }
}

#[component]
fn Controls() -> impl IntoView {
    let outcome: Outcome = RwSignal::new(None);
    let status = use_status();
    let groups: Vec<(&str, Vec<Control>)> = vec![
        (
            "Environment",
            vec![
                control(
                    "Open environment",
                    "/api/environment/open",
                    Action::OpenEnvironment,
                ),
                control(
                    "Close environment",
                    "/api/environment/close",
                    Action::CloseEnvironment,
                ),
                Control {
                    confirm: Some(
                        "Destroy the environment? The worker is killed; a running plan is lost.",
                    ),
                    ..control(
                        "Destroy environment",
                        "/api/environment/destroy",
                        Action::DestroyEnvironment,
                    )
                },
            ],
        ),
        (
            "Queue",
            vec![
                control("Start queue", "/api/queue/start", Action::StartQueue),
                control(
                    "Stop queue after this plan",
                    "/api/queue/stop",
                    Action::StopQueue,
                ),
                control(
                    "Cancel the stop",
                    "/api/queue/stop/cancel",
                    Action::CancelStopQueue,
                ),
            ],
        ),
        (
            "Run engine",
            vec![
                Control {
                    body: json!({"option": "deferred"}),
                    ..control("Pause (at checkpoint)", "/api/re/pause", Action::Pause)
                },
                Control {
                    body: json!({"option": "immediate"}),
                    ..control("Pause now", "/api/re/pause", Action::Pause)
                },
                control("Resume", "/api/re/resume", Action::Resume),
                Control {
                    confirm: Some("Stop the paused plan? It ends as 'stopped' (its data is kept)."),
                    ..control("Stop plan", "/api/re/stop", Action::EndPaused)
                },
                Control {
                    confirm: Some(
                        "Abort the paused plan? It ends as 'aborted' and goes back to the queue.",
                    ),
                    ..control("Abort plan", "/api/re/abort", Action::EndPaused)
                },
                Control {
                    confirm: Some("Halt the plan? It ends at once as 'halted', without cleanup."),
                    ..control("Halt plan", "/api/re/halt", Action::EndPaused)
                },
            ],
        ),
    ];
    view! {
        <section class="panel" aria-labelledby="controls-h">
            <h2 id="controls-h">"Controls"</h2>
            {groups.into_iter().map(|(title, controls)| view! {
                <div class="control-group" role="group" aria-label=title>
                    <span class="group-label">{title}</span>
                    {controls.into_iter().map(|c| {
                        let Control { label, path, body, confirm: ask, action } = c;
                        let danger = ask.is_some();
                        let why = move || refusal(&status.get(), action);
                        view! {
                            <button
                                class=if danger { "danger" } else { "" }
                                type="button"
                                disabled=move || why().is_some()
                                title=move || why().unwrap_or_default()
                                on:click=move |_| {
                                    if ask.is_some_and(|q| !confirm(q)) {
                                        return;
                                    }
                                    act(outcome, label.to_string(), "POST", path.to_string(), body.clone(), |_| {});
                                }
                            >{label}</button>
                        }
                    }).collect_view()}
                </div>
            }).collect_view()}
            <p class="muted">"A greyed-out control says why when you point at it."</p>
            <OutcomeLine outcome testid="control-outcome"/>
        </section>
    }
}

#[component]
fn StatusCard(status: ServerStatus) -> impl IntoView {
    let ready = if status.ready() {
        "ready"
    } else if status.worker_environment_exists {
        "not ready: the environment is still opening"
    } else {
        "not ready: open the environment"
    };
    let env = if status.worker_environment_exists {
        format!("open ({})", status.worker_environment_state)
    } else {
        "closed".to_string()
    };
    let lock = match (status.lock.environment, status.lock.queue) {
        (false, false) => "unlocked",
        (true, false) => "environment locked",
        (false, true) => "queue locked",
        (true, true) => "environment and queue locked",
    };
    let mode = {
        let mut m = Vec::new();
        if status.plan_queue_mode.loop_ {
            m.push("loop");
        }
        if status.plan_queue_mode.ignore_failures {
            m.push("ignore failures");
        }
        if status.queue_autostart_enabled {
            m.push("autostart");
        }
        if status.queue_stop_pending {
            m.push("stop pending");
        }
        if m.is_empty() {
            "normal".to_string()
        } else {
            m.join(", ")
        }
    };
    let rows: Vec<(&str, &str, String)> = vec![
        ("Manager", "manager-state", status.manager_state.clone()),
        ("Environment", "environment", env),
        (
            "Environment kind",
            "environment-kind",
            if status.hutch.environment.is_empty() {
                "—".to_string()
            } else {
                status.hutch.environment.clone()
            },
        ),
        ("Readiness", "readiness", ready.to_string()),
        (
            "Run engine",
            "re-state",
            status.re_state.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "Plans in queue",
            "items-in-queue",
            status.items_in_queue.to_string(),
        ),
        (
            "Plans in history",
            "items-in-history",
            status.items_in_history.to_string(),
        ),
        ("Queue mode", "queue-mode", mode),
        ("Lock", "lock", lock.to_string()),
        (
            "Connected clients",
            "stream-clients",
            status.hutch.stream_clients.to_string(),
        ),
        ("Server", "server", status.msg.clone()),
    ];
    view! {
        <dl class="status-grid" data-testid="status">
            {rows
                .into_iter()
                .map(|(label, key, value)| {
                    view! {
                        <div class="status-item">
                            <dt>{label}</dt>
                            <dd data-testid=key>{value}</dd>
                        </div>
                    }
                })
                .collect_view()}
        </dl>
    }
}
