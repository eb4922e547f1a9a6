//! Helpers for tests against a real server on 127.0.0.1:0: start/stop, WebSocket clients, and
//! await-with-deadline helpers (never fixed sleeps).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hutch_server::config::Config;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any awaited event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: hutch_server::AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_data_dir(dir.path());
        adjust(&mut config);
        let prepared = hutch_server::prepare(config)
            .await
            .expect("server prepares");
        let state = prepared.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(prepared.serve(listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Begins graceful shutdown and waits until the server has stopped.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("server stops within the deadline")
                .expect("server task")
                .expect("server ends without error");
        }
    }

    pub async fn ws(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/stream", self.addr))
            .await
            .expect("websocket connects");
        ws
    }
}

/// The next text frame as JSON, failing the test if none arrives before the deadline.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a frame arrives before the deadline")
            .expect("the socket is open")
            .expect("the frame is readable");
        match msg {
            Message::Text(text) => return serde_json::from_str(&text).expect("frame is JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Skips frames until one satisfies `pred`; fails at the deadline.
pub async fn next_matching(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let frame = tokio::time::timeout_at(until, next_json(ws))
            .await
            .expect("a matching frame arrives before the deadline");
        if pred(&frame) {
            return frame;
        }
    }
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .expect("send");
}

/// Connects, checks the hello frame and subscribes to `status`; returns the snapshot frame.
pub async fn subscribed_to_status(server: &TestServer) -> (Ws, Value) {
    let mut ws = server.ws().await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    send_json(
        &mut ws,
        serde_json::json!({"type": "subscribe", "topics": ["status"]}),
    )
    .await;
    let subscribed = next_json(&mut ws).await;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["seq"], subscribed["seq"]);
    (ws, snapshot)
}
