//! bluesky-httpserver's own WebSockets, fed from the hub: `/api/status/ws` (and `/api/info/ws`,
//! which carries the same frames) and `/api/console_output/ws`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use hutch_app::model::stream::{ServerMessage, Topic};
use serde_json::{json, Value};

use axum::http::{HeaderMap, Uri};

use crate::auth::{scopes, Recheck};
use crate::clock::unix_now;
use crate::AppState;

const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Client frames are ignored; anything larger than this is refused by the socket layer.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

pub async fn status_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    upgrade(
        ws,
        state,
        &headers,
        &uri,
        Topic::Status,
        scopes::READ_MONITOR,
    )
}

pub async fn console_ws(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    upgrade(
        ws,
        state,
        &headers,
        &uri,
        Topic::Console,
        scopes::READ_CONSOLE,
    )
}

fn upgrade(
    ws: WebSocketUpgrade,
    state: AppState,
    headers: &HeaderMap,
    uri: &Uri,
    topic: Topic,
    scope: &'static str,
) -> Response {
    let recheck = Recheck::new(&state.auth, headers, uri.query());
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| forward(socket, state, topic, recheck, scope))
}

/// `{"time": …, "msg": {"status": …}}` as bluesky sends it.
fn status_frame(status: &Value) -> String {
    json!({"time": unix_now(), "msg": {"status": status}}).to_string()
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

/// Sends every update of `topic`; for the status also the last one again each second, as
/// bluesky-httpserver does. Client frames are ignored.
async fn forward(
    mut socket: WebSocket,
    state: AppState,
    topic: Topic,
    recheck: Recheck,
    scope: &'static str,
) {
    let mut client = state.hub.connect();
    let start = client.subscribe(&topic);
    let mut last = start.snapshot.map(|s| (*s).clone());
    if topic == Topic::Status {
        if let Some(status) = &last {
            if !send(&mut socket, status_frame(status)).await {
                return;
            }
        }
    }
    let mut repeat = tokio::time::interval(Duration::from_secs(1));
    repeat.tick().await;
    // The credentials are asked again this often, as on /api/stream: a revoked key, an ended
    // session or a lowered role closes the socket.
    let mut recheck_tick = tokio::time::interval(state.config.heartbeat);
    recheck_tick.tick().await;
    let stopping = crate::stopping(state.shutdown.clone());
    tokio::pin!(stopping);
    loop {
        let text = tokio::select! {
            () = &mut stopping => break,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            Some(frame) = client.rx.recv() => {
                let Ok(ServerMessage::Update { data, .. }) = serde_json::from_str::<ServerMessage>(&frame.text) else { continue };
                let text = if topic == Topic::Status { status_frame(&data) } else { data.to_string() };
                last = Some(data);
                text
            }
            _ = repeat.tick(), if topic == Topic::Status => match &last {
                Some(status) => status_frame(status),
                None => continue,
            },
            _ = recheck_tick.tick() => match recheck.lost(scope).await {
                None => continue,
                Some(why) => {
                    tracing::info!("closing a {topic} socket: {why}");
                    let frame = CloseFrame { code: 4001, reason: "Not signed in".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
            },
        };
        if !send(&mut socket, text).await {
            break;
        }
    }
}
