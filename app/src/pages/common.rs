//! Pieces every page uses: calling the API from a button with the outcome shown where it
//! happened, confirmation of destructive actions, and the outcome line.

use leptos::prelude::*;
use serde_json::Value;

use crate::api;

/// The outcome of the last action of a panel: shown in place, never a blank panel.
pub type Outcome = RwSignal<Option<Result<String, String>>>;

/// Asks the user first (in the browser); `true` elsewhere.
pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(question).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        true
    }
}

/// Sends a change and reports it in `outcome`; `then` runs on success.
pub fn act(
    outcome: Outcome,
    label: String,
    method: &'static str,
    path: String,
    body: Value,
    then: impl FnOnce(Value) + 'static,
) {
    outcome.set(None);
    leptos::task::spawn_local(async move {
        match api::act(method, path, body).await {
            Ok(v) => {
                outcome.set(Some(Ok(format!("{label}: done"))));
                then(v);
            }
            Err(e) => outcome.set(Some(Err(format!("{label}: {e}")))),
        }
    });
}

/// The outcome line of a panel (`role=status` for success, `role=alert` for errors).
#[component]
pub fn OutcomeLine(outcome: Outcome, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let testid = if testid.is_empty() { "outcome" } else { testid };
    move || match outcome.get() {
        Some(Ok(m)) => view! { <p class="ok" role="status" data-testid=testid>{m}</p> }.into_any(),
        Some(Err(m)) => {
            view! { <p class="error" role="alert" data-testid=testid>{m}</p> }.into_any()
        }
        None => view! { <p class="outcome-empty" data-testid=testid></p> }.into_any(),
    }
}

/// Seconds since the epoch as local-looking UTC text (`2026-11-22 13:04:05`).
pub fn time_text(secs: f64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
