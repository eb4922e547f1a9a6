//! The Monitor page: manager and environment state, live.

use leptos::prelude::*;

use crate::live::use_status;
use crate::model::status::ServerStatus;

#[component]
pub fn MonitorPage() -> impl IntoView {
    let status = use_status();
    view! {
        <section class="panel">
            <h1>"Monitor"</h1>
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

#[component]
fn StatusCard(status: ServerStatus) -> impl IntoView {
    let ready = if status.ready() {
        "ready"
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
    let rows: Vec<(&str, &str, String)> = vec![
        ("Manager", "manager-state", status.manager_state.clone()),
        ("Environment", "environment", env),
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
