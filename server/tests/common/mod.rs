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

/// The API key of test servers (`Config::for_data_dir`).
pub const KEY: &str = "test-key";

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
        config.worker_exe = Some(env!("CARGO_BIN_EXE_hutch").into());
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

    /// A signed-in WebSocket client.
    pub async fn ws(&self) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/api/stream", self.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("ApiKey {KEY}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        ws
    }

    /// A WebSocket client without credentials.
    pub async fn ws_anonymous(&self) -> Ws {
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

/// Calls a route through the real router with the test key; returns status and JSON.
pub async fn api(server: &TestServer, method: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, bytes) = api_raw(server, method, path, &body.to_string()).await;
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

/// `api` with the body sent as given (for malformed bodies); returns status and raw bytes.
pub async fn api_raw(server: &TestServer, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    use tower::ServiceExt;
    let router = hutch_server::http::router(server.state.clone());
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", format!("ApiKey {KEY}"))
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    let response = router.oneshot(request).await.expect("router answers");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    (status, bytes.to_vec())
}

/// `api` that must succeed with `success: true`.
pub async fn api_ok(server: &TestServer, method: &str, path: &str, body: Value) -> Value {
    let (status, v) = api(server, method, path, body.clone()).await;
    assert_eq!(status, 200, "{method} {path} {body}: {v}");
    assert_eq!(v["success"], true, "{method} {path} {body}: {v}");
    v
}

/// Waits (on the status topic, no polling) until the status satisfies `pred`; returns it.
pub async fn wait_status(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    let frame = next_matching(ws, |f| {
        matches!(f["type"].as_str(), Some("snapshot" | "update"))
            && f["topic"] == "status"
            && pred(&f["data"])
    })
    .await;
    frame["data"].clone()
}

/// A minimal HTTP/1.1 client for tests against a `hutch` process: one request per connection.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.to_string();
    let mut stream = tokio::time::timeout(DEADLINE, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: ApiKey {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}

/// A `hutch serve` process on a free port with the test key; killed when dropped.
pub struct Process {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Process {
    pub fn start(data_dir: &std::path::Path) -> Process {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hutch"))
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("HUTCH_CONFIG", "/dev/null")
            .env("HUTCH_API_KEY", KEY)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("hutch starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("API at http://").nth(1) {
                    let _ = tx.send(rest.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("hutch announces its address");
        Process {
            child,
            addr: addr.parse().expect("an address"),
        }
    }

    pub fn kill9(&mut self) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .expect("kill")
            .success());
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `/api/status` of a process until `pred` holds (a process test has no socket helper).
pub async fn wait_process_status(addr: SocketAddr, pred: impl Fn(&Value) -> bool) -> Value {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (_, status) = http(addr, "GET", "/api/status", serde_json::json!({})).await;
        if pred(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "status never matched; last: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
