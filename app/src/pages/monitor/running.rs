//! The running plan as an operator reads it: the plan, its scan id, what it is doing ("Moving to
//! start", "Taking data"), points seen of the total, elapsed time and an estimate of what is
//! left, and the plans that come next. Shared by the Monitor and the kiosk.

use leptos::prelude::*;

use crate::live::{use_live, use_status};
use crate::model::progress::Progress;
use crate::model::queue_view::{duration_text, summary};

/// How many waiting plans "Up next" lists.
const UP_NEXT: usize = 3;
/// The live plot is fetched again at most this often (seconds), while points arrive.
const PLOT_EVERY: f64 = 2.0;

/// Seconds since the epoch, ticking once a second in the browser (0 while rendered on the
/// server, where no time is shown).
fn clock() -> ReadSignal<f64> {
    let (now, set_now) = signal(0.0);
    #[cfg(feature = "hydrate")]
    {
        set_now.set(js_sys::Date::now() / 1000.0);
        let timer = set_interval_with_handle(
            move || set_now.set(js_sys::Date::now() / 1000.0),
            std::time::Duration::from_secs(1),
        );
        if let Ok(t) = timer {
            on_cleanup(move || t.clear());
        }
    }
    let _ = set_now;
    now
}

/// "Scan 12 · Taking data · 41 s elapsed · about 1 min 20 s left"; while `paused`, no
/// estimate (the pace so far says nothing about when someone resumes).
fn facts(p: &Progress, now: f64, paused: bool) -> String {
    let mut parts = Vec::new();
    if let Some(id) = p.scan_id {
        parts.push(format!("Scan {id}"));
    }
    parts.push(if paused { "Paused" } else { p.phase() }.to_string());
    if now > 0.0 {
        if let Some(e) = p.elapsed(now) {
            parts.push(format!("{} elapsed", duration_text(e)));
        }
        if let Some(r) = p.remaining(now).filter(|_| !paused) {
            parts.push(format!("about {} left", duration_text(r)));
        }
    }
    parts.join(" · ")
}

/// The running run drawn by the server (`plot.svg?applet=first`: as the first plot applet that
/// follows new runs and has this run's fields draws it, else the scan's motor against its hinted
/// detectors, a grid scan as a heatmap — the look of the applets and the history), fetched
/// again while points arrive, at most every [`PLOT_EVERY`] seconds. Nothing before the first
/// point.
#[component]
fn LivePlot(now: ReadSignal<f64>) -> impl IntoView {
    let live = use_live();
    // (run, events) of the picture shown, and when it was asked for.
    let shown = StoredValue::new((String::new(), 0u64, 0.0f64));
    let src = Memo::new(move |_| {
        let (run, events) = live.progress.with(|p| {
            p.as_ref()
                .map(|p| (p.run.clone().unwrap_or_default(), p.events()))
                .unwrap_or_default()
        });
        let t = now.get();
        let (last_run, last_events, at) = shown.get_value();
        let changed = run != last_run || (events != last_events && t - at >= PLOT_EVERY);
        if changed && !run.is_empty() && events > 0 {
            shown.set_value((run, events, t));
        }
        let (run, events, _) = shown.get_value();
        (!run.is_empty() && events > 0).then(|| {
            format!(
                "/api/runs/{}/plot.svg?applet=first&width=800&height=360&seen={events}",
                crate::api::enc(&run)
            )
        })
    });
    move || {
        src.get().map(|src| {
            view! {
                <img class="plot live-plot" src=src width="800" height="360" data-testid="live-plot"
                    alt="Live plot of the running scan"/>
            }
        })
    }
}

/// The running plan, its progress bar, and (unless `compact`) the next plans of the queue.
#[component]
pub(crate) fn Running(#[prop(optional)] compact: bool) -> impl IntoView {
    let live = use_live();
    let status = use_status();
    let paused = move || status.with(|s| matches!(s, Some(Ok(s)) if s.manager_state == "paused"));
    let now = clock();
    let running = move || live.queue.get().and_then(|q| q.running_item);
    let next = move || {
        live.queue
            .get()
            .map(|q| q.items.into_iter().take(UP_NEXT).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let waiting = move || live.queue.with(|q| q.as_ref().map_or(0, |q| q.items.len()));
    view! {
        <section class="panel running" aria-labelledby="running-h">
            <h2 id="running-h">"Running"</h2>
            {move || match running() {
                None => view! { <p class="muted" data-testid="running">"Nothing is running."</p> }.into_any(),
                Some(item) => {
                    let progress = live.progress.get();
                    let (value, text) = match &progress {
                        Some(p) => match (p.fraction(), p.total) {
                            (Some(f), Some(t)) => ((f * 100.0).round(), format!("{} of {t} points", p.events())),
                            _ => (0.0, format!("{} events", p.events())),
                        },
                        None => (0.0, "starting…".to_string()),
                    };
                    let facts = move || progress.as_ref().map(|p| facts(p, now.get(), paused())).unwrap_or_default();
                    view! {
                        <p data-testid="running"><strong>{summary(&item)}</strong>" · "{item.user.clone()}</p>
                        <p class="run-facts" data-testid="run-facts">{facts}</p>
                        <progress max="100" value=value aria-label="Progress of the running plan"></progress>
                        <span class="muted" data-testid="progress">{text}</span>
                        {(!compact).then(|| view! { <LivePlot now/> })}
                    }.into_any()
                }
            }}
            {(!compact).then(|| view! {
                <h3>"Up next"</h3>
                {move || {
                    let items = next();
                    if items.is_empty() {
                        return view! { <p class="muted" data-testid="up-next">"The queue is empty."</p> }.into_any();
                    }
                    let more = waiting().saturating_sub(items.len());
                    view! {
                        <ol class="up-next" data-testid="up-next">
                            {items.into_iter().map(|i| view! { <li>{summary(&i)}<span class="muted">" · "{i.user}</span></li> }).collect_view()}
                        </ol>
                        {(more > 0).then(|| view! { <p class="muted"><a href="/queue">{format!("and {more} more")}</a></p> })}
                    }.into_any()
                }}
            })}
        </section>
    }
}
