//! The Queue page: readable rows (plan, key parameters, user, metadata), selection for removing
//! or moving several, drag-and-drop (and buttons) to reorder, edit/duplicate/remove, queue modes,
//! the plan form generated from the allowed plans, and spreadsheet upload with a preview.

mod editor;
mod upload;

use std::collections::BTreeSet;

use leptos::prelude::*;
use serde_json::{json, Value};

use super::common::{act, confirm, Outcome, OutcomeLine};
use crate::api;
use crate::live::{use_live, use_status};
use crate::model::control::Action;
use crate::model::queue::QueueItem;
use crate::model::queue_view::{summary, QueueView};
use crate::pages::monitor::refusal;

#[component]
pub fn QueuePage() -> impl IntoView {
    let live = use_live();
    let initial = Resource::new(
        || (),
        |_| async {
            let v = api::get("/api/queue/get").await?;
            serde_json::from_value::<QueueView>(v).map_err(|e| e.to_string())
        },
    );
    let queue = Signal::derive(move || match live.queue.get() {
        Some(q) => Some(Ok(q)),
        None => initial.get(),
    });
    let outcome: Outcome = RwSignal::new(None);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let editing = RwSignal::new(None::<QueueItem>);
    view! {
        <section class="panel" aria-labelledby="queue-h">
            <h1 id="queue-h">"Queue"</h1>
            <Modes outcome/>
            <Suspense fallback=|| view! { <p class="muted">"Loading the queue…"</p> }>
                {move || match queue.get() {
                    None => view! { <p class="muted">"Loading the queue…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error" role="alert">"Could not read the queue: " {e}</p> }.into_any(),
                    Some(Ok(q)) => view! { <Rows queue=q outcome selected editing/> }.into_any(),
                }}
            </Suspense>
            <Bulk outcome selected/>
            <Start outcome/>
            <OutcomeLine outcome testid="queue-outcome"/>
        </section>
        <editor::PlanEditor editing/>
        <upload::Upload/>
    }
    .into_any()
}

/// "Start queue", enabled when the server would accept it; otherwise it says why (open the
/// environment on the Monitor, the queue is empty, it already runs).
#[component]
fn Start(outcome: Outcome) -> impl IntoView {
    let status = use_status();
    let why = move || refusal(&status.get(), Action::StartQueue);
    let start = move |_| {
        let path = "/api/queue/start".to_string();
        act(
            outcome,
            "Start queue".into(),
            "POST",
            path,
            json!({}),
            |_| {},
        )
    };
    view! {
        <div class="control-group">
            <button type="button" class="primary" on:click=start
                disabled=move || why().is_some() title=move || why().unwrap_or_default()>
                "Start queue"
            </button>
            <span class="muted" data-testid="start-why">
                {move || {
                    let closed = status.with(|s| matches!(s, Some(Ok(s)) if !s.worker_environment_exists));
                    match why() {
                        Some(_) if closed => view! {
                            "Open the environment on the " <a href="/">"Monitor"</a> " first."
                        }.into_any(),
                        Some(w) => w.into_any(),
                        None => ().into_any(),
                    }
                }}
            </span>
        </div>
    }
}

/// Loop, ignore failures, autostart.
#[component]
fn Modes(outcome: Outcome) -> impl IntoView {
    let status = use_status();
    let current = move || status.get().and_then(|s| s.ok());
    let toggle = move |label: &'static str, path: &'static str, body: Value| {
        act(
            outcome,
            label.to_string(),
            "POST",
            path.to_string(),
            body,
            |_| {},
        );
    };
    view! {
        <fieldset class="modes">
            <legend>"Queue modes"</legend>
            <label>
                <input type="checkbox" prop:checked=move || current().is_some_and(|s| s.plan_queue_mode.loop_)
                    on:change=move |ev| toggle("Loop", "/api/queue/mode/set", json!({"mode": {"loop": event_target_checked(&ev)}}))/>
                " Loop (executed plans go back to the end)"
            </label>
            <label>
                <input type="checkbox" prop:checked=move || current().is_some_and(|s| s.plan_queue_mode.ignore_failures)
                    on:change=move |ev| toggle("Ignore failures", "/api/queue/mode/set", json!({"mode": {"ignore_failures": event_target_checked(&ev)}}))/>
                " Ignore failures (go on after a failed plan)"
            </label>
            <label>
                <input type="checkbox" prop:checked=move || current().is_some_and(|s| s.queue_autostart_enabled)
                    on:change=move |ev| toggle("Autostart", "/api/queue/autostart", json!({"enable": event_target_checked(&ev)}))/>
                " Autostart (start when a plan is added)"
            </label>
        </fieldset>
    }
}

fn meta_text(item: &QueueItem) -> String {
    match &item.meta {
        Some(Value::Object(m)) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn move_item(outcome: Outcome, uid: String, body: Value) {
    let mut b = body;
    b["uid"] = json!(uid);
    act(
        outcome,
        "Move".into(),
        "POST",
        "/api/queue/item/move".into(),
        b,
        |_| {},
    );
}

#[component]
fn Rows(
    queue: QueueView,
    outcome: Outcome,
    selected: RwSignal<BTreeSet<String>>,
    editing: RwSignal<Option<QueueItem>>,
) -> impl IntoView {
    let dragging = RwSignal::new(None::<(String, usize)>);
    let running = queue.running_item.clone();
    let n = queue.items.len();
    let rows = queue.items.into_iter().enumerate().map(|(i, item)| {
        let uid = item.item_uid.clone();
        let row_uid = uid.clone();
        let text = summary(&item);
        let (u1, u2, u3, u4, u5, u6, u7) = (uid.clone(), uid.clone(), uid.clone(), uid.clone(), uid.clone(), uid.clone(), uid.clone());
        let (for_edit, for_dup) = (item.clone(), item.clone());
        let label = format!("Select {text}");
        view! {
            <tr draggable="true" data-uid=row_uid data-testid="queue-row"
                class:dragging=move || dragging.get().is_some_and(|(d, _)| d == u1)
                on:dragstart=move |ev| {
                    dragging.set(Some((u2.clone(), i)));
                    #[cfg(feature = "hydrate")]
                    if let Some(dt) = ev.data_transfer() {
                        let _ = dt.set_data("text/plain", &u2);
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
                on:dragover=move |ev| ev.prevent_default()
                on:drop=move |ev| {
                    ev.prevent_default();
                    if let Some((from, from_i)) = dragging.get_untracked() {
                        dragging.set(None);
                        if from != u3 {
                            let key = if from_i < i { "after_uid" } else { "before_uid" };
                            move_item(outcome, from, json!({key: u3.clone()}));
                        }
                    }
                }
                on:dragend=move |_| dragging.set(None)
            >
                <td><input type="checkbox" aria-label=label
                    prop:checked=move || selected.get().contains(&u4)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|s| { if on { s.insert(u5.clone()); } else { s.remove(&u5); } });
                    }/></td>
                <td class="pos">{i + 1}</td>
                <td class="plan"><strong>{text}</strong></td>
                <td>{item.user.clone()}</td>
                <td class="muted">{meta_text(&item)}</td>
                <td class="row-actions">
                    <button type="button" title="Move up" aria-label="Move up" disabled=i == 0
                        on:click=move |_| move_item(outcome, u6.clone(), json!({"pos_dest": i.saturating_sub(1)}))>"↑"</button>
                    <button type="button" title="Move down" aria-label="Move down" disabled=i + 1 == n
                        on:click=move |_| move_item(outcome, u7.clone(), json!({"pos_dest": i + 1}))>"↓"</button>
                    <button type="button" disabled=!item.is_plan() on:click=move |_| editing.set(Some(for_edit.clone()))>"Edit"</button>
                    <button type="button" on:click=move |_| {
                        let mut copy = serde_json::to_value(&for_dup).unwrap_or_default();
                        if let Some(o) = copy.as_object_mut() {
                            for k in ["item_uid", "user", "user_group", "result", "properties"] {
                                o.remove(k);
                            }
                        }
                        act(outcome, "Duplicate".into(), "POST", "/api/queue/item/add".into(),
                            json!({"item": copy, "after_uid": for_dup.item_uid}), |_| {});
                    }>"Duplicate"</button>
                    <button type="button" class="danger" on:click=move |_| {
                        act(outcome, "Remove".into(), "POST", "/api/queue/item/remove".into(), json!({"uid": uid}), |_| {});
                    }>"Remove"</button>
                </td>
            </tr>
        }
    }).collect_view();
    view! {
        {running.map(|r| view! {
            <p class="running-line" data-testid="queue-running">"Running: " <strong>{summary(&r)}</strong> " · " {r.user.clone()}</p>
        })}
        {if n == 0 {
            view! { <p class="muted" data-testid="queue-empty">"The queue is empty. Add a plan below."</p> }.into_any()
        } else {
            view! {
                <table class="queue" data-testid="queue">
                    <caption class="sr-only">"Queued plans, in the order they run; drag a row to move it"</caption>
                    <thead><tr><th scope="col">"Select"</th><th scope="col">"#"</th><th scope="col">"Plan"</th><th scope="col">"User"</th><th scope="col">"Metadata"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Actions on the selected rows, and the stop instruction.
#[component]
fn Bulk(outcome: Outcome, selected: RwSignal<BTreeSet<String>>) -> impl IntoView {
    // In queue order, and only those still queued (a selected plan may have run meanwhile).
    let live = use_live();
    let uids = move || {
        let chosen = selected.get_untracked();
        live.queue
            .get_untracked()
            .map(|q| {
                q.items
                    .into_iter()
                    .map(|i| i.item_uid)
                    .filter(|u| chosen.contains(u))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|| chosen.into_iter().collect())
    };
    let none = move || selected.get().is_empty();
    view! {
        <div class="bulk" role="group" aria-label="Selected plans">
            <button type="button" disabled=none on:click=move |_| {
                act(outcome, "Move to front".into(), "POST", "/api/queue/item/move/batch".into(), json!({"uids": uids(), "pos_dest": "front", "reorder": true}), |_| {});
            }>"Move selected to front"</button>
            <button type="button" disabled=none on:click=move |_| {
                act(outcome, "Move to back".into(), "POST", "/api/queue/item/move/batch".into(), json!({"uids": uids(), "pos_dest": "back", "reorder": true}), |_| {});
            }>"Move selected to back"</button>
            <button type="button" class="danger" disabled=none on:click=move |_| {
                let list = uids();
                if !confirm(&format!("Remove {} selected plan(s) from the queue?", list.len())) {
                    return;
                }
                act(outcome, "Remove selected".into(), "POST", "/api/queue/item/remove/batch".into(), json!({"uids": list}),
                    move |_| selected.set(BTreeSet::new()));
            }>"Remove selected"</button>
            <button type="button" on:click=move |_| {
                act(outcome, "Add queue_stop".into(), "POST", "/api/queue/item/add".into(),
                    json!({"item": {"name": "queue_stop", "item_type": "instruction"}}), |_| {});
            }>"Add a stop instruction"</button>
        </div>
    }
}
