//! The tab's live connection to the server: one WebSocket to `/api/stream`, reconnected with
//! jittered exponential backoff, feeding signals that every page reads through [`use_live`].
//!
//! On the server (SSR) nothing connects: pages render from the status fetched by the
//! [`get_status`] server function, so the page is readable before the wasm loads. After
//! hydration the socket's snapshot and updates take over.

use leptos::prelude::*;

use crate::model::progress::Progress;
use crate::model::queue::QueueItem;
use crate::model::queue_view::QueueView;
use crate::model::status::ServerStatus;

/// Console lines a tab keeps (older ones are searched on the server).
pub const CONSOLE_LINES: usize = 2000;

pub use crate::model::stream::ConsoleLine;

#[cfg(feature = "hydrate")]
pub(crate) mod socket;

/// State of the tab's connection, shown in the top bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// Before the first connection (and in the server-rendered page).
    Connecting,
    Connected,
    /// The connection was lost; a retry is scheduled.
    Reconnecting,
    /// The server refused the connection: this browser has no valid API key (close code 4001).
    SignedOut,
}

impl Conn {
    pub fn as_str(self) -> &'static str {
        match self {
            Conn::Connecting => "connecting",
            Conn::Connected => "connected",
            Conn::Reconnecting => "reconnecting",
            Conn::SignedOut => "signed-out",
        }
    }
}

/// Signals fed by the live connection.
#[derive(Clone, Copy, Debug)]
pub struct Live {
    pub conn: RwSignal<Conn>,
    /// Retries since the connection was lost (0 while connected).
    pub attempt: RwSignal<u32>,
    /// The latest status pushed on the `status` topic; `None` until the first snapshot.
    pub status: RwSignal<Option<ServerStatus>>,
    /// The queue (`queue` topic, deltas applied); `None` until the first snapshot.
    pub queue: RwSignal<Option<QueueView>>,
    /// Counts history changes (`history` topic): pages reading the dispatch log reload on it.
    pub history_changes: RwSignal<u64>,
    /// The newest console lines (`console` topic).
    pub console: RwSignal<Vec<ConsoleLine>>,
    /// The running plan's progress (its run topic, decimated to counts).
    pub progress: RwSignal<Option<Progress>>,
    /// The item that ended last (the newest of the `history` topic), for the failure banner.
    pub last_ended: RwSignal<Option<QueueItem>>,
}

/// Creates the live signals, puts them in context and, in the browser, opens the connection.
pub fn provide_live() -> Live {
    let live = Live {
        conn: RwSignal::new(Conn::Connecting),
        attempt: RwSignal::new(0),
        status: RwSignal::new(None),
        queue: RwSignal::new(None),
        history_changes: RwSignal::new(0),
        console: RwSignal::new(Vec::new()),
        progress: RwSignal::new(None),
        last_ended: RwSignal::new(None),
    };
    provide_context(live);
    // Effects run only in the browser, after hydration; this one reads no signal, so it runs once.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| socket::start(live));
    live
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

/// Where the server function reads the status from; the server provides it as context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct StatusSource(pub std::sync::Arc<dyn Fn() -> ServerStatus + Send + Sync>);

/// The current status, for the first render (the live socket takes over after hydration).
#[server(prefix = "/_hutch", endpoint = "status")]
pub async fn get_status() -> Result<ServerStatus, ServerFnError> {
    let source = use_context::<StatusSource>()
        .ok_or_else(|| ServerFnError::new("the server did not provide a status source"))?;
    Ok((source.0)())
}

/// The status to show: the live one once it arrived, else the server-rendered one.
pub fn use_status() -> Signal<Option<Result<ServerStatus, String>>> {
    let live = use_live();
    let initial = Resource::new(|| (), |_| get_status());
    Signal::derive(move || match live.status.get() {
        Some(s) => Some(Ok(s)),
        None => initial.get().map(|r| r.map_err(|e| e.to_string())),
    })
}

/// The connection badge in the top bar. `data-state` is for tests and styling.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let live = use_live();
    let label = move || match live.conn.get() {
        Conn::Reconnecting => format!("reconnecting… (try {})", live.attempt.get()),
        Conn::SignedOut => "not signed in: reload the page to sign in".to_string(),
        other => other.as_str().to_string(),
    };
    view! {
        <span
            class="conn"
            data-testid="connection"
            data-state=move || live.conn.get().as_str()
            role="status"
            aria-live="polite"
            title="Live connection to the hutch server"
        >
            <span class="dot" aria-hidden="true"></span>
            {label}
        </span>
    }
}
