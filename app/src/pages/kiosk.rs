//! The kiosk (`/kiosk?dashboard=<name>`): a wall screen. Read-only, full screen, large type; shows
//! the running plan and its progress, and the dashboard's applets a page at a time, turning the
//! page every `seconds` (default 20; `per_page` applets a page, default 4). Both connections
//! reconnect by themselves, so a server restart or a network drop never needs a reload; a kiosk
//! without a valid key is told how to get one and is never sent to a login form.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::board::provide_board;
use crate::live::{use_live, Conn};
use crate::pages::applets::{dashboard_name, Grid};
use crate::pages::monitor::{Attention, Running, StateHeadline};

#[component]
pub fn KioskPage() -> impl IntoView {
    let name = dashboard_name();
    let board = provide_board(name.clone());
    let live = use_live();
    let query = use_query_map().get_untracked();
    let number = |key: &str, default: u32, max: u32| {
        query
            .get(key)
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| *n >= 1)
            .map(|n| n.min(max))
            .unwrap_or(default)
    };
    let per_page = number("per_page", 4, 12) as usize;
    let seconds = number("seconds", 20, 3600);

    let page = RwSignal::new(0usize);
    let pages = Memo::new(move |_| {
        let shown: Vec<String> = board.shown().into_iter().map(|a| a.uid).collect();
        shown
            .chunks(per_page)
            .map(<[String]>::to_vec)
            .collect::<Vec<_>>()
    });
    #[cfg(feature = "hydrate")]
    {
        let timer = set_interval_with_handle(
            move || {
                let n = pages.with_untracked(Vec::len).max(1);
                page.update(|p| *p = (*p + 1) % n);
            },
            std::time::Duration::from_secs(seconds as u64),
        );
        if let Ok(t) = timer {
            on_cleanup(move || t.clear());
        }
    }
    let _ = seconds;
    let only = Signal::derive(move || {
        pages.with(|p| {
            let n = p.len().max(1);
            p.get(page.get() % n).cloned().unwrap_or_default()
        })
    });
    // Worst of the two connections: a wall screen should say when it shows stale data.
    let state = move || match (live.conn.get(), board.conn.get()) {
        (Conn::SignedOut, _) | (_, Conn::SignedOut) => Conn::SignedOut,
        (Conn::Connected, Conn::Connected) => Conn::Connected,
        (Conn::Connecting, _) | (_, Conn::Connecting) => Conn::Connecting,
        _ => Conn::Reconnecting,
    };
    let state_text = move || match state() {
        Conn::Connected => "live".to_string(),
        Conn::SignedOut => {
            "this kiosk's key is not accepted: open /kiosk?dashboard=…&api_key=<kiosk token>"
                .to_string()
        }
        Conn::Connecting => "connecting…".to_string(),
        Conn::Reconnecting => {
            "connection lost — reconnecting; the data shown may be old".to_string()
        }
    };
    view! {
        <div class="kiosk" data-testid="kiosk">
            <header class="kiosk-head">
                <span class="brand">"hutch"</span>
                <span class="kiosk-name">{name}</span>
                <span class="conn" data-testid="kiosk-connection" data-state=move || state().as_str()>
                    <span class="dot" aria-hidden="true"></span>
                    {state_text}
                </span>
                <span class="kiosk-page" data-testid="kiosk-page">
                    {move || {
                        let n = pages.with(Vec::len);
                        (n > 1).then(|| format!("page {} of {n}", page.get() % n + 1))
                    }}
                </span>
            </header>
            <div class="kiosk-running">
                <Attention readonly=true/>
                <StateHeadline/>
                <Running compact=true/>
            </div>
            <Grid big=true readonly=true only/>
        </div>
    }
}
