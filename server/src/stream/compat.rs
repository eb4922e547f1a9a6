//! bluesky-httpserver's own WebSockets, fed from the hub: `/api/status/ws` (and `/api/info/ws`,
//! which carries the same frames) and `/api/console_output/ws`.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use hutch_app::model::stream::{ServerMessage, Topic};
use serde_json::{json, Value};

use crate::queue::manager::unix_now;
use crate::AppState;

const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn status_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket| forward(socket, state, Topic::Status))
}

pub async fn console_ws(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket| forward(socket, state, Topic::Console))
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
async fn forward(mut socket: WebSocket, state: AppState, topic: Topic) {
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
        };
        if !send(&mut socket, text).await {
            break;
        }
    }
}
