//! Browser side of `/api/stream` (hydrate only): connect, subscribe, reconnect with backoff, and a
//! watchdog that treats a silent socket (no heartbeat) as dead, so a dropped network is noticed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::{Conn, ConsoleLine, Live, CONSOLE_LINES};
use crate::model::progress::Progress;
use crate::model::queue_view::QueueView;
use crate::model::status::ServerStatus;
use crate::model::stream::{
    ClientMessage, HistoryDelta, QueueDelta, RunOpened, RunsDelta, ServerMessage, Topic,
    TopicOptions,
};

/// First retry after this long; doubled per failed try up to `MAX_BACKOFF_MS`, then jittered.
const BASE_BACKOFF_MS: f64 = 250.0;
const MAX_BACKOFF_MS: f64 = 8_000.0;
/// The server sends a heartbeat every 10 s; a socket silent for this long is closed and redialled.
const STALE_AFTER_MS: f64 = 25_000.0;

struct Socket {
    ws: WebSocket,
    // The closures must live as long as the socket can call them.
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// What one connection does with its frames. The socket code (connect, reconnect, watchdog) is
/// shared by the tab's live connection and the dashboard's plot feed.
pub(crate) trait Handler {
    /// Messages to send on every (re)connection: the subscriptions.
    fn on_open(&self) -> Vec<ClientMessage>;
    /// Handles one frame; may answer with messages to send.
    fn on_frame(&self, msg: ServerMessage) -> Vec<ClientMessage>;
}

/// The connection's state, shown to the user.
#[derive(Clone, Copy)]
pub(crate) struct LinkState {
    pub conn: RwSignal<Conn>,
    pub attempt: RwSignal<u32>,
}

struct Ctx {
    link: LinkState,
    handler: Rc<dyn Handler>,
    socket: RefCell<Option<Socket>>,
    last_frame_ms: Cell<f64>,
}

/// A way to send on a connection (dropped silently while it is down: `on_open` resubscribes).
#[derive(Clone)]
pub(crate) struct Sender(Rc<Ctx>);

impl Sender {
    pub fn send(&self, msg: &ClientMessage) {
        if self.0.link.conn.get_untracked() == Conn::Connected {
            if let Some(s) = self.0.socket.borrow().as_ref() {
                send(&s.ws, msg);
            }
        }
    }
}

/// Opens a connection to `/api/stream` that keeps itself alive.
pub(crate) fn open(link: LinkState, handler: Rc<dyn Handler>) -> Sender {
    let ctx = Rc::new(Ctx {
        link,
        handler,
        socket: RefCell::new(None),
        last_frame_ms: Cell::new(js_sys::Date::now()),
    });
    let sender = Sender(ctx.clone());
    connect(ctx.clone());
    set_interval(
        move || {
            let silent_for = js_sys::Date::now() - ctx.last_frame_ms.get();
            if ctx.link.conn.get_untracked() == Conn::Connected && silent_for > STALE_AFTER_MS {
                // A dead network may leave `close()` pending for minutes without `onclose`:
                // detach this socket and dial a new one now.
                if let Some(s) = ctx.socket.borrow_mut().take() {
                    s.ws.set_onclose(None);
                    s.ws.set_onmessage(None);
                    let _ = s.ws.close();
                }
                schedule_reconnect(ctx.clone());
            }
        },
        Duration::from_secs(5),
    );
    sender
}

fn stream_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/api/stream", location.host().ok()?))
}

fn connect(ctx: Rc<Ctx>) {
    let Some(url) = stream_url() else { return };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return schedule_reconnect(ctx),
    };

    let on_open = {
        let (ctx, ws) = (ctx.clone(), ws.clone());
        Closure::<dyn FnMut()>::new(move || {
            ctx.last_frame_ms.set(js_sys::Date::now());
            ctx.link.conn.set(Conn::Connected);
            ctx.link.attempt.set(0);
            for msg in ctx.handler.on_open() {
                send(&ws, &msg);
            }
        })
    };
    let on_message = {
        let ctx = ctx.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            ctx.last_frame_ms.set(js_sys::Date::now());
            if let Some(text) = e.data().as_string() {
                let msg = match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(msg) => msg,
                    Err(e) => {
                        leptos::logging::warn!("hutch: unreadable frame from /api/stream: {e}");
                        return;
                    }
                };
                if let ServerMessage::Error { msg } = &msg {
                    leptos::logging::warn!("hutch: server says: {msg}");
                }
                let replies = ctx.handler.on_frame(msg);
                if let Some(s) = ctx.socket.borrow().as_ref() {
                    for reply in &replies {
                        send(&s.ws, reply);
                    }
                }
            }
        })
    };
    let on_close = {
        let ctx = ctx.clone();
        Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            if e.code() == 4001 {
                // No valid key: keep trying slowly, in case the key arrives in another tab.
                ctx.link.conn.set(Conn::SignedOut);
                let ctx = ctx.clone();
                set_timeout(
                    move || connect(ctx),
                    Duration::from_millis(MAX_BACKOFF_MS as u64),
                );
                return;
            }
            schedule_reconnect(ctx.clone());
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *ctx.socket.borrow_mut() = Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    });
}

fn schedule_reconnect(ctx: Rc<Ctx>) {
    let attempt = ctx.link.attempt.get_untracked() + 1;
    ctx.link.attempt.set(attempt);
    ctx.link.conn.set(Conn::Reconnecting);
    let exp = BASE_BACKOFF_MS * 2f64.powi(attempt.min(16) as i32 - 1);
    let delay = exp.min(MAX_BACKOFF_MS) * (0.5 + 0.5 * js_sys::Math::random());
    set_timeout(move || connect(ctx), Duration::from_millis(delay as u64));
}

fn send(ws: &WebSocket, msg: &ClientMessage) {
    if let Ok(text) = serde_json::to_string(msg) {
        let _ = ws.send_with_str(&text);
    }
}

/// Follows a newly opened run for the progress bar: two points per stream carry the counts.
fn follow_run(live: &Live, run: RunOpened) -> Option<ClientMessage> {
    let plan = run.plan_name.as_deref().unwrap_or("");
    live.progress.set(Some(Progress::new(&run.uid, plan)));
    let topic = Topic::Run(run.uid);
    let mut options = std::collections::BTreeMap::new();
    options.insert(
        topic.to_string(),
        TopicOptions {
            max_points: Some(2),
            max_rate: Some(5.0),
        },
    );
    Some(ClientMessage::Subscribe {
        topics: vec![topic],
        since: Default::default(),
        options,
    })
}

/// The tab's live connection: status, queue, history, console and the running plan's progress.
pub(super) fn start(live: Live) {
    struct LiveHandler(Live);
    impl Handler for LiveHandler {
        fn on_open(&self) -> Vec<ClientMessage> {
            vec![ClientMessage::Subscribe {
                topics: vec![
                    Topic::Status,
                    Topic::Queue,
                    Topic::History,
                    Topic::Console,
                    Topic::Runs,
                ],
                since: Default::default(),
                options: Default::default(),
            }]
        }
        fn on_frame(&self, msg: ServerMessage) -> Vec<ClientMessage> {
            handle_frame(&self.0, msg).into_iter().collect()
        }
    }
    let link = LinkState {
        conn: live.conn,
        attempt: live.attempt,
    };
    open(link, Rc::new(LiveHandler(live)));
}

/// Applies one frame to the signals; may answer with a message to send (a run to follow).
fn handle_frame(live: &Live, msg: ServerMessage) -> Option<ClientMessage> {
    match msg {
        ServerMessage::Snapshot { topic, data, .. } => match topic {
            Topic::Status => set_status(live, data),
            Topic::Queue => match serde_json::from_value::<QueueView>(data) {
                Ok(q) => live.queue.set(Some(q)),
                Err(e) => leptos::logging::warn!("hutch: unreadable queue: {e}"),
            },
            Topic::History => {
                // Only the newest item is read (the snapshot is the whole history).
                let last = data["items"].as_array().and_then(|items| items.last());
                live.last_ended
                    .set(last.and_then(|i| serde_json::from_value(i.clone()).ok()));
                live.history_changes.update(|n| *n += 1)
            }
            Topic::Console => {
                let lines: Vec<ConsoleLine> = serde_json::from_value(data).unwrap_or_default();
                live.console.set(lines);
            }
            Topic::Runs => {
                let open: Vec<RunOpened> =
                    serde_json::from_value(data["open"].clone()).unwrap_or_default();
                if let Some(run) = open.into_iter().last() {
                    return follow_run(live, run);
                }
            }
            _ => {}
        },
        ServerMessage::Update { topic, data, .. } => match topic {
            Topic::Status => set_status(live, data),
            Topic::Queue => match serde_json::from_value::<QueueDelta>(data) {
                Ok(d) => live.queue.update(|q| {
                    if let Some(q) = q {
                        q.apply(d)
                    }
                }),
                Err(e) => leptos::logging::warn!("hutch: unreadable queue change: {e}"),
            },
            Topic::History => {
                if let Ok(HistoryDelta::Append { item }) = serde_json::from_value(data) {
                    live.last_ended.set(Some(*item));
                }
                live.history_changes.update(|n| *n += 1)
            }
            Topic::Console => {
                if let Ok(line) = serde_json::from_value::<ConsoleLine>(data) {
                    live.console.update(|c| {
                        c.push(line);
                        if c.len() > CONSOLE_LINES {
                            c.drain(..c.len() - CONSOLE_LINES);
                        }
                    });
                }
            }
            Topic::Runs => {
                if let Ok(RunsDelta::Opened { run }) = serde_json::from_value(data) {
                    return follow_run(live, run);
                }
            }
            Topic::Run(uid) => live.progress.update(|p| {
                if let Some(p) = p
                    .as_mut()
                    .filter(|p| p.run.as_deref() == Some(uid.as_str()))
                {
                    if let Ok(frame) = serde_json::from_value(data) {
                        p.update(&frame);
                    }
                }
            }),
            _ => {}
        },
        _ => {}
    }
    None
}

fn set_status(live: &Live, data: serde_json::Value) {
    match serde_json::from_value::<ServerStatus>(data) {
        Ok(status) => live.status.set(Some(status)),
        Err(e) => leptos::logging::warn!("hutch: unreadable status: {e}"),
    }
}
