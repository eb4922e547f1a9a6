//! The failure banner: when the plan that ended last failed, was aborted, halted or interrupted,
//! the Monitor and the kiosk say so at the top, with the reason, the time, whether the queue
//! stopped, the traceback, and the controls that recover, until someone acknowledges it (this
//! browser remembers it) or a later plan ends well.

use leptos::prelude::*;
use serde_json::json;

use crate::live::{use_live, use_status};
use crate::model::control::{check, Action, Situation};
use crate::model::queue::QueueItem;
use crate::model::queue_view::summary;
use crate::pages::common::{act, time_text, Outcome, OutcomeLine};

/// Where this browser keeps the uid of the failure it acknowledged.
#[cfg(feature = "hydrate")]
const ACK_KEY: &str = "hutch.acknowledged";

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The failure to show, if the item that ended last needs attention.
fn failure(item: Option<QueueItem>, acknowledged: Option<&str>) -> Option<QueueItem> {
    let item = item?;
    let result = item.result.as_ref()?;
    (result.exit_status.needs_attention() && acknowledged != Some(item.item_uid.as_str()))
        .then_some(item)
}

/// `readonly`: a kiosk shows the banner without its buttons.
#[component]
pub(crate) fn Attention(#[prop(optional)] readonly: bool) -> impl IntoView {
    let live = use_live();
    let status = use_status();
    let acknowledged: RwSignal<Option<String>> = RwSignal::new(None);
    let outcome: Outcome = RwSignal::new(None);
    // In the browser only: read what this browser acknowledged before.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(uid) = storage().and_then(|s| s.get_item(ACK_KEY).ok().flatten()) {
            acknowledged.set(Some(uid));
        }
    });
    move || {
        let item = failure(live.last_ended.get(), acknowledged.get().as_deref())?;
        let result = item.result.clone()?;
        let status = status.get().and_then(|s| s.ok());
        let situation = status.as_ref().and_then(Situation::of);
        let allowed = |a| situation.as_ref().is_some_and(|s| check(a, s).is_ok());
        let waiting = status.as_ref().map_or(0, |s| s.items_in_queue);
        let stopped = situation
            .as_ref()
            .is_some_and(|s| s.manager == crate::model::control::ManagerState::Idle);
        let what = match result.exit_status.as_str() {
            "interrupted" => "was interrupted",
            "aborted" => "was aborted",
            "halted" => "was halted",
            _ => "failed",
        };
        let title = format!("{} {what}", summary(&item));
        let reason = if result.msg.is_empty() {
            "no reason was given".to_string()
        } else {
            result.msg.clone()
        };
        let queue_line = match (stopped, waiting) {
            (true, 0) => "The queue is empty.".to_string(),
            (true, 1) => "The queue stopped; 1 plan waits.".to_string(),
            (true, n) => format!("The queue stopped; {n} plans wait."),
            (false, _) => String::new(),
        };
        let uid = item.item_uid.clone();
        let acknowledge = move |_| {
            #[cfg(feature = "hydrate")]
            if let Some(s) = storage() {
                let _ = s.set_item(ACK_KEY, &uid);
            }
            acknowledged.set(Some(uid.clone()));
        };
        let traceback = result.traceback.clone();
        Some(view! {
            <section class="attention" role="alert" data-testid="attention">
                <h2>{title}</h2>
                <p>
                    <span data-testid="attention-reason">{reason}</span>
                    " · " {time_text(result.time_stop)} " UTC"
                </p>
                <p data-testid="attention-queue">{queue_line}</p>
                {(!traceback.is_empty()).then(|| view! {
                    <details><summary>"Traceback"</summary><pre>{traceback}</pre></details>
                })}
                {(!readonly).then(|| view! {
                    <div class="control-group">
                        {allowed(Action::OpenEnvironment).then(|| view! {
                            <button type="button" on:click=move |_| act(outcome, "Open environment".into(), "POST", "/api/environment/open".into(), json!({}), |_| {})>
                                "Open environment"
                            </button>
                        })}
                        {(allowed(Action::StartQueue) && waiting > 0).then(|| view! {
                            <button type="button" on:click=move |_| act(outcome, "Start queue".into(), "POST", "/api/queue/start".into(), json!({}), |_| {})>
                                "Start queue"
                            </button>
                        })}
                        <button type="button" on:click=acknowledge>"Acknowledge"</button>
                    </div>
                    <OutcomeLine outcome testid="attention-outcome"/>
                })}
            </section>
        })
    }
}
