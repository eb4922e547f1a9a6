//! History, from the dispatch database: filters kept in the address (so a filtered view can be
//! bookmarked or sent), status counts, paging, and the detail of one execution with its runs
//! (plot and document download) and "copy back to queue".

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde_json::{json, Value};

use super::common::{act, time_text, Outcome, OutcomeLine};
use crate::api::{self, enc};
use crate::live::use_live;
use crate::model::queue::{QueueItem, DISPATCH_STATUSES};
use crate::model::queue_view::{duration_text, summary};

/// The statuses offered in the filter (a queued dispatch is still in the queue, not history).
const STATUSES: &[&str] = DISPATCH_STATUSES.split_at(1).1;
const FILTERS: &[&str] = &["status", "plan", "user", "q", "since", "until"];

/// A `YYYY-MM-DD` date as Unix seconds (UTC), at the start of the day or, for `until`, its end.
fn day_secs(date: &str, end: bool) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let t = if end {
        d.and_hms_opt(23, 59, 59)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    Some(t.and_utc().timestamp())
}

fn item_of(d: &Value) -> Option<QueueItem> {
    serde_json::from_value(d["item"].clone()).ok()
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let query = use_query_map();
    let live = use_live();
    let get = move |k: &str| query.get().get(k).filter(|v| !v.is_empty());
    let api_path = move || {
        let mut parts = Vec::new();
        for k in ["status", "plan", "user", "q", "after"] {
            if let Some(v) = get(k) {
                parts.push(format!("{k}={}", enc(&v)));
            }
        }
        if let Some(t) = get("since").and_then(|d| day_secs(&d, false)) {
            parts.push(format!("since={t}"));
        }
        if let Some(t) = get("until").and_then(|d| day_secs(&d, true)) {
            parts.push(format!("until={t}"));
        }
        format!("/api/dispatches?limit=25&{}", parts.join("&"))
    };
    let list = Resource::new(
        move || (api_path(), live.history_changes.get()),
        |(p, _)| api::get(p),
    );
    let overview = Resource::new(
        move || live.history_changes.get(),
        |_| api::get("/api/dispatches/overview"),
    );
    let filters_query = move |extra: Option<(&str, String)>| {
        let mut parts: Vec<String> = FILTERS
            .iter()
            .filter_map(|k| get(k).map(|v| format!("{k}={}", enc(&v))))
            .collect();
        if let Some((k, v)) = extra {
            parts.push(format!("{k}={}", enc(&v)));
        }
        format!("/history?{}", parts.join("&"))
    };
    view! {
        <section class="panel" aria-labelledby="history-h">
            <h1 id="history-h">"History"</h1>
            <Suspense fallback=|| ()>
                {move || overview.get().map(|o| match o {
                    Ok(o) => view! {
                        <p class="counts" data-testid="history-counts">
                            <a href="/history">{format!("all {}", o["total"])}</a>
                            {STATUSES.iter().filter_map(|s| o["counts"][*s].as_u64().filter(|n| *n > 0).map(|n| view! {
                                " " <a class=format!("badge {s}") href=format!("/history?status={s}")>{format!("{s} {n}")}</a>
                            })).collect_view()}
                        </p>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                })}
            </Suspense>
            <form method="get" action="/history" class="filters" role="search" aria-label="Filter history">
                <label>"Status "
                    <select name="status">
                        <option value="">"any"</option>
                        {STATUSES.iter().map(|s| view! { <option value=*s selected=move || get("status").as_deref() == Some(*s)>{*s}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Plan " <input name="plan" size="10" prop:value=move || get("plan").unwrap_or_default()/></label>
                <label>"User " <input name="user" size="10" prop:value=move || get("user").unwrap_or_default()/></label>
                <label>"Text " <input name="q" type="search" placeholder="parameters, metadata" prop:value=move || get("q").unwrap_or_default()/></label>
                <label>"From " <input name="since" type="date" prop:value=move || get("since").unwrap_or_default()/></label>
                <label>"To " <input name="until" type="date" prop:value=move || get("until").unwrap_or_default()/></label>
                <button type="submit">"Filter"</button>
                <a href="/history">"Clear"</a>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Loading history…"</p> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">"Could not read history: " {e}</p> }.into_any(),
                    Ok(v) => {
                        let rows = v["dispatches"].as_array().cloned().unwrap_or_default();
                        // The cursor is a number (or absent/null on the last page).
                        let next = match &v["next"] {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        };
                        if rows.is_empty() {
                            return view! { <p class="muted" data-testid="history-empty">"No executions match."</p> }.into_any();
                        }
                        view! {
                            <table class="history" data-testid="history">
                                <thead><tr><th scope="col">"Created"</th><th scope="col">"Plan"</th><th scope="col">"User"</th><th scope="col">"Status"</th><th scope="col">"Finished"</th><th scope="col">"Took"</th><th scope="col">"Message"</th></tr></thead>
                                <tbody>
                                {rows.into_iter().map(|d| {
                                    let uid = d["uid"].as_str().unwrap_or("").to_string();
                                    let text = item_of(&d).map(|i| summary(&i)).unwrap_or_else(|| d["plan_name"].as_str().unwrap_or("").to_string());
                                    let status = d["status"].as_str().unwrap_or("").to_string();
                                    view! {
                                        <tr data-testid="history-row">
                                            <td>{time_text(d["created_at"].as_f64().unwrap_or(0.0))}</td>
                                            <td><a href=format!("/history/{uid}")>{text}</a></td>
                                            <td>{d["user"].as_str().unwrap_or("").to_string()}</td>
                                            <td><span class=format!("badge {status}")>{status.clone()}</span></td>
                                            <td>{d["finished_at"].as_f64().map(time_text).unwrap_or_default()}</td>
                                            <td data-testid="history-took">{match (d["started_at"].as_f64(), d["finished_at"].as_f64()) {
                                                (Some(a), Some(b)) => duration_text(b - a),
                                                _ => String::new(),
                                            }}</td>
                                            <td class="message">{d["exit_msg"].as_str().unwrap_or("").to_string()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|n| view! { <a class="pager" href=filters_query(Some(("after", n)))>"Older →"</a> })}
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn DispatchPage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live();
    let uid = move || params.get().get("uid").unwrap_or_default();
    let detail = Resource::new(
        move || (uid(), live.history_changes.get()),
        |(u, _)| api::get(format!("/api/dispatches/{}", enc(&u))),
    );
    let outcome: Outcome = RwSignal::new(None);
    view! {
        <section class="panel">
            <p><a href="/history">"← History"</a></p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || detail.get().map(|r| match r {
                    Err(e) => view! { <h1>"Execution"</h1><p class="error" role="alert">{e}</p> }.into_any(),
                    Ok(v) => {
                        let d = v["dispatch"].clone();
                        let item = item_of(&d);
                        let title = item.as_ref().map(summary).unwrap_or_default();
                        let status = d["status"].as_str().unwrap_or("").to_string();
                        let copy = item.clone();
                        let times = [("Created", "created_at"), ("Started", "started_at"), ("Finished", "finished_at")];
                        let runs = d["runs"].as_array().cloned().unwrap_or_default();
                        view! {
                            <h1>{title}</h1>
                            <dl class="status-grid">
                                <div class="status-item"><dt>"Status"</dt><dd data-testid="dispatch-status"><span class=format!("badge {status}")>{status.clone()}</span></dd></div>
                                <div class="status-item"><dt>"User"</dt><dd>{format!("{} ({})", d["user"].as_str().unwrap_or(""), d["user_group"].as_str().unwrap_or(""))}</dd></div>
                                {times.into_iter().map(|(label, key)| view! {
                                    <div class="status-item"><dt>{label}</dt><dd>{d[key].as_f64().map(time_text).unwrap_or_else(|| "—".into())}</dd></div>
                                }).collect_view()}
                            </dl>
                            {d["exit_msg"].as_str().filter(|m| !m.is_empty()).map(|m| view! { <p><strong>"Exit message: "</strong>{m.to_string()}</p> })}
                            {d["traceback"].as_str().filter(|t| !t.is_empty()).map(|t| view! { <h2>"Traceback"</h2><pre class="traceback">{t.to_string()}</pre> })}
                            <h2>"Parameters"</h2>
                            <pre class="params">{serde_json::to_string_pretty(&json!({"args": d["item"]["args"], "kwargs": d["item"]["kwargs"], "meta": d["item"]["meta"]})).unwrap_or_default()}</pre>
                            <button type="button" class="primary" disabled=copy.is_none() on:click=move |_| {
                                if let Some(i) = &copy {
                                    let item = json!({"name": i.name, "args": i.args, "kwargs": i.kwargs, "item_type": i.item_type, "meta": i.meta});
                                    act(outcome, "Copied back to the queue".into(), "POST", "/api/queue/item/add".into(), json!({"item": item}), |_| {});
                                }
                            }>"Copy back to queue"</button>
                            <OutcomeLine outcome testid="copy-outcome"/>
                            <h2>"Runs"</h2>
                            {if runs.is_empty() { Some(view! { <p class="muted">"No runs."</p> }) } else { None }}
                            {runs.into_iter().map(|r| {
                                let ruid = r["uid"].as_str().unwrap_or("").to_string();
                                view! {
                                    <article class="run">
                                        <h3>{format!("Scan {} · {}", r["scan_id"], r["exit_status"].as_str().unwrap_or("open"))}</h3>
                                        <p><a href=format!("/api/runs/{ruid}/documents") download=format!("{ruid}.jsonl")>"Download documents (JSON lines)"</a>
                                           " · " <a href=format!("/api/runs/{ruid}/streams/primary/data.csv") download=format!("{ruid}.csv")>"primary stream as CSV"</a></p>
                                        <RunPlot uid=ruid/>
                                    </article>
                                }
                            }).collect_view()}
                            {d["status_log"].as_array().cloned().map(|log| view! {
                                <h2>"Status changes"</h2>
                                <ol class="status-log">{log.into_iter().map(|l| view! {
                                    <li>{format!("{} {} {}", l["at"].as_f64().map(time_text).unwrap_or_default(), l["status"].as_str().unwrap_or(""), l["msg"].as_str().unwrap_or(""))}</li>
                                }).collect_view()}</ol>
                            })}
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The run as the server draws it (`plot.svg`, the same look as the applets and the kiosk):
/// the scan's motor against its hinted detectors, a grid scan as a heatmap, axes with units.
#[component]
fn RunPlot(uid: String) -> impl IntoView {
    let src = format!("/api/runs/{}/plot.svg?width=900&height=420", enc(&uid));
    let href = src.clone();
    view! {
        <a href=href target="_blank" title="Open the plot on its own">
            <img class="plot" src=src width="900" height="420" data-testid="run-plot"
                alt="Plot of the run's primary stream (none if it has no numeric data)"/>
        </a>
    }
}
