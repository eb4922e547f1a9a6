//! The applet grid (`/applets?dashboard=<name>`): the applets this dashboard shows, live, and the
//! list where the dashboard chooses which ones, in what order and how big — kept in this
//! browser only. Applets themselves live on the server and are edited in `editor`.

pub mod editor;
pub mod panel;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::board::{provide_board, use_board, Board};
use crate::model::applets::Applet;
use crate::model::dashboard::Size;
use crate::pages::common::{act, confirm, Outcome, OutcomeLine};
use panel::AppletBody;

/// The dashboard name from `?dashboard=` (default `default`).
pub fn dashboard_name() -> String {
    use_query_map()
        .get_untracked()
        .get("dashboard")
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| "default".to_string())
}

#[component]
pub fn AppletsPage() -> impl IntoView {
    let name = dashboard_name();
    let board = provide_board(name.clone());
    let manage = RwSignal::new(false);
    let new_href = format!("/applets/new?dashboard={}", crate::api::enc(&name));
    let kiosk_href = format!("/kiosk?dashboard={}", crate::api::enc(&name));
    view! {
        <section class="board" aria-labelledby="board-h">
            <div class="board-head">
                <h1 id="board-h">"Applets"</h1>
                <span class="muted" data-testid="dashboard-name">"dashboard " <strong>{name}</strong></span>
                <BoardConn board/>
                <span class="spacer"></span>
                <button
                    type="button"
                    aria-expanded=move || manage.get().to_string()
                    on:click=move |_| manage.update(|m| *m = !*m)
                >
                    "Choose applets"
                </button>
                <a class="button" href=new_href>"New applet"</a>
                <a class="button" href=kiosk_href>"Kiosk view"</a>
            </div>
            <Show when=move || manage.get()>
                <Manage/>
            </Show>
            <Grid big=false readonly=false/>
        </section>
    }
}

/// The board connection's state, for tests and the curious (`data-state`).
#[component]
pub fn BoardConn(board: Board) -> impl IntoView {
    view! {
        <span class="conn" data-testid="board-connection" data-state=move || board.conn.get().as_str()>
            <span class="dot" aria-hidden="true"></span>
            {move || match board.conn.get() {
                crate::live::Conn::Connected => "live".to_string(),
                crate::live::Conn::Reconnecting => format!("reconnecting… (try {})", board.attempt.get()),
                other => other.as_str().to_string(),
            }}
        </span>
    }
}

/// The shown applets as panels. `only` limits them (a kiosk page).
#[component]
pub fn Grid(
    big: bool,
    readonly: bool,
    #[prop(optional, into)] only: Option<Signal<Vec<String>>>,
) -> impl IntoView {
    let board = use_board();
    let shown = Memo::new(move |_| {
        let mut list = board.shown();
        if let Some(only) = only {
            let only = only.get();
            list.retain(|a| only.contains(&a.uid));
        }
        list
    });
    let empty = move || {
        board.applets.with(|a| match a {
            None => Some("Loading applets…"),
            Some(all) if all.is_empty() => {
                Some("No applets yet. Create one with “New applet”, or run a scan: hutch adds a plot per plan.")
            }
            Some(_) if shown.with(Vec::is_empty) => Some("This dashboard shows no applet. Choose some with “Choose applets”."),
            _ => None,
        })
    };
    view! {
        <p class="muted" data-testid="board-empty">{empty}</p>
        <div class=if big { "applet-grid big" } else { "applet-grid" }>
            <For
                each=move || shown.get()
                key=|a| (a.uid.clone(), a.version)
                children=move |a: Applet| {
                    let uid = a.uid.clone();
                    let style = move || {
                        let s = board.dash.with(|d| d.size_of(&uid));
                        format!("grid-column: span {}; grid-row: span {}", s.w, s.h)
                    };
                    let title = format!("{} · {}", a.name, a.group);
                    let name = a.name.clone();
                    let edit = format!("/applets/{}?dashboard={}", a.uid, crate::api::enc(&board.name.get_value()));
                    let applet = Signal::stored(a);
                    view! {
                        <article class="applet" data-applet=name style=style>
                            <header>
                                <h2>{title}</h2>
                                {(!readonly).then(|| view! { <a href=edit class="edit">"Edit"</a> })}
                            </header>
                            <AppletBody applet big readonly/>
                        </article>
                    }
                }
            />
        </div>
    }
}

/// Which applets this dashboard shows, their order and size.
#[component]
fn Manage() -> impl IntoView {
    let board = use_board();
    let outcome: Outcome = RwSignal::new(None);
    let rows = move || {
        let dash = board.dash.get();
        let mut all = board.applets.get().unwrap_or_default();
        all.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
        let shown: Vec<String> = dash
            .shown(&all)
            .into_iter()
            .map(|a| a.uid.clone())
            .collect();
        all.into_iter()
            .map(|a| {
                let uid = a.uid.clone();
                let position = shown.iter().position(|u| *u == uid);
                let is_shown = position.is_some();
                let size = dash.size_of(&uid);
                let (u1, u2, u3, u4, u5) = (uid.clone(), uid.clone(), uid.clone(), uid.clone(), uid.clone());
                let n = shown.len();
                let name = a.name.clone();
                let delete_name = a.name.clone();
                view! {
                    <tr data-applet=name.clone()>
                        <td>
                            <input
                                type="checkbox"
                                aria-label=format!("Show {name} on this dashboard")
                                prop:checked=is_shown
                                on:change=move |e| {
                                    let on = event_target_checked(&e);
                                    board.change(|d| d.set_shown(&u1, on));
                                }
                            />
                        </td>
                        <td>{a.name.clone()}</td>
                        <td>{a.group.clone()}</td>
                        <td>{a.kind.as_str()}</td>
                        <td>
                            <select
                                aria-label=format!("Size of {name}")
                                on:change=move |e| {
                                    let s = match event_target_value(&e).as_str() {
                                        "2" => Size { w: 2, h: 1 },
                                        "3" => Size { w: 2, h: 2 },
                                        "4" => Size { w: 3, h: 2 },
                                        _ => Size { w: 1, h: 1 },
                                    };
                                    board.change(|d| {
                                        d.size.insert(u2.clone(), s);
                                    });
                                }
                            >
                                {[("1", "small", Size { w: 1, h: 1 }), ("2", "wide", Size { w: 2, h: 1 }), ("3", "large", Size { w: 2, h: 2 }), ("4", "huge", Size { w: 3, h: 2 })]
                                    .into_iter()
                                    .map(|(v, label, s)| view! { <option value=v selected=s == size>{label}</option> })
                                    .collect_view()}
                            </select>
                        </td>
                        <td>
                            <button
                                type="button"
                                disabled=!matches!(position, Some(p) if p > 0)
                                aria-label=format!("Move {name} earlier")
                                on:click=move |_| {
                                    let p = position.unwrap_or(0);
                                    let order = shown_order(board);
                                    board.change(|d| { d.order = order; d.move_to(&u3, p.saturating_sub(1)); });
                                }
                            >"↑"</button>
                            <button
                                type="button"
                                disabled=!matches!(position, Some(p) if p + 1 < n)
                                aria-label=format!("Move {name} later")
                                on:click=move |_| {
                                    let p = position.unwrap_or(0);
                                    let order = shown_order(board);
                                    board.change(|d| { d.order = order; d.move_to(&u4, p + 1); });
                                }
                            >"↓"</button>
                        </td>
                        <td>
                            <button
                                type="button"
                                class="danger"
                                on:click=move |_| {
                                    if confirm(&format!("Delete applet '{delete_name}' for every dashboard?")) {
                                        act(outcome, format!("delete {delete_name}"), "DELETE", format!("/api/applets/{u5}"), serde_json::json!({}), |_| {});
                                    }
                                }
                            >"Delete"</button>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="panel manage">
            <p class="muted">
                "What this dashboard shows is kept in this browser only; other dashboards and other "
                "browsers keep their own choice. Applets themselves are shared by everyone."
            </p>
            <table class="manage-table">
                <thead>
                    <tr>
                        <th scope="col">"Shown"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Group"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Order"</th>
                        <th scope="col"></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <OutcomeLine outcome/>
        </div>
    }
    .into_any()
}

/// The shown applets' uids in their current order (so a move keeps the others where they are).
fn shown_order(board: Board) -> Vec<String> {
    board.shown().into_iter().map(|a| a.uid).collect()
}
