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
        Self::start_in(tempfile::tempdir().expect("temp dir"), adjust).await
    }

    /// A server on an existing data directory (e.g. the one of a server that was shut down).
    pub async fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
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
    serde_json::from_str(&next_text(ws).await).expect("frame is JSON")
}

/// The next text frame, failing the test if none arrives before the deadline.
pub async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a frame arrives before the deadline")
            .expect("the socket is open")
            .expect("the frame is readable");
        match msg {
            Message::Text(text) => return text.to_string(),
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

/// One request to a `hutch` process, by the CLI's own client (hyper); returns status and JSON
/// (or the text, for a reply that is not JSON).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let client = hutch_server::cli::client::Client::new(
        &format!("http://{addr}"),
        Some(KEY.to_string()),
        None,
    )
    .expect("a test address is a valid URL");
    let body = body.to_string();
    let (status, bytes) =
        tokio::time::timeout(DEADLINE, client.raw(method, path, Some(body.as_bytes())))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {DEADLINE:?}"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
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
    wait_process_get(addr, "/api/status", pred).await
}

/// Polls `GET path` of a process until its reply satisfies `pred`; fails at the deadline.
pub async fn wait_process_get(
    addr: SocketAddr,
    path: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (_, reply) = http(addr, "GET", path, serde_json::json!({})).await;
        if pred(&reply) {
            return reply;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{path} never matched; last: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A synthetic run: start, a `primary` descriptor with `x` and `det`, `events` events, stop.
pub fn synthetic_run(uid: &str, events: usize) -> Vec<(String, Value)> {
    use serde_json::json;
    let descriptor = format!("{uid}-d");
    let mut docs = vec![
        (
            "start".to_string(),
            json!({"uid": uid, "time": 1.0, "plan_name": "synthetic", "scan_id": 1}),
        ),
        (
            "descriptor".to_string(),
            json!({"uid": descriptor, "run_start": uid, "time": 1.0, "name": "primary",
            "data_keys": {"x": {"source": "sim", "dtype": "number", "shape": []},
                          "det": {"source": "sim", "dtype": "number", "shape": []}}}),
        ),
    ];
    for i in 1..=events {
        docs.push(("event".to_string(), json!({"uid": format!("{uid}-e{i}"), "time": 1.0 + i as f64,
            "data": {"x": i as f64, "det": (i as f64 / 100.0).sin()},
            "timestamps": {"x": 1.0, "det": 1.0}, "seq_num": i, "filled": {}, "descriptor": descriptor})));
    }
    docs.push((
        "stop".to_string(),
        json!({"uid": format!("{uid}-stop"), "run_start": uid, "time": 2.0,
        "exit_status": "success", "num_events": {"primary": events}}),
    ));
    docs
}

/// Stores documents through the server's writer in batches of `batch`, waiting for each commit.
pub async fn store(server: &TestServer, docs: &[(String, Value)], batch: usize) {
    for chunk in docs.chunks(batch.max(1)) {
        server
            .state
            .docs
            .store(chunk.to_vec(), None)
            .await
            .expect("documents are stored");
    }
}

/// Subscribes `ws` (past its hello) to `topic` with extra subscribe fields; returns `subscribed`.
pub async fn subscribe_topic(ws: &mut Ws, topic: &str, extra: Value) -> Value {
    let mut msg = serde_json::json!({"type": "subscribe", "topics": [topic]});
    if let (Some(m), Some(e)) = (msg.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    send_json(ws, msg).await;
    next_matching(ws, |f| f["type"] == "subscribed" || f["type"] == "error").await
}

/// What a client saw of a run topic: every document (pages opened into events) in order, and
/// any `gap` frames. Panics if a frame's seq does not continue the previous one.
#[derive(Default, Debug)]
pub struct RunLog {
    pub seq: u64,
    pub docs: Vec<(String, Value)>,
    pub gaps: usize,
}

impl RunLog {
    /// Reads frames of `topic` until the stop document; checks seq continuity on the way.
    pub async fn read_until_stop(ws: &mut Ws, topic: &str, start_seq: u64) -> RunLog {
        let mut log = RunLog {
            seq: start_seq,
            ..RunLog::default()
        };
        loop {
            let f = next_json(ws).await;
            if f["topic"] != topic {
                continue;
            }
            match f["type"].as_str() {
                Some("gap") => {
                    log.gaps += 1;
                    assert_eq!(f["seq"], log.seq, "a gap names the last seq delivered: {f}");
                }
                Some("subscribed") => {
                    assert_eq!(f["seq"], log.seq, "resubscribed where it left off")
                }
                Some("update") => {
                    let name = f["data"]["name"].as_str().unwrap().to_string();
                    let doc = f["data"]["doc"].clone();
                    let n = if name == "event_page" {
                        doc["uid"].as_array().unwrap().len() as u64
                    } else {
                        1
                    };
                    assert_eq!(
                        f["seq"].as_u64().unwrap(),
                        log.seq + n,
                        "seq continues without a hole: {name}"
                    );
                    log.seq += n;
                    if name == "event_page" {
                        log.docs
                            .extend(unpage(&doc).into_iter().map(|e| ("event".to_string(), e)));
                    } else {
                        let stop = name == "stop";
                        log.docs.push((name, doc));
                        if stop {
                            return log;
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The events of an event_page, as single events.
pub fn unpage(page: &Value) -> Vec<Value> {
    use serde_json::{json, Map};
    let n = page["uid"].as_array().map_or(0, Vec::len);
    let cell = |part: &str, i: usize| -> Value {
        let cols = page[part].as_object().cloned().unwrap_or_default();
        Value::Object(
            cols.iter()
                .map(|(k, c)| (k.clone(), c[i].clone()))
                .collect::<Map<_, _>>(),
        )
    };
    (0..n)
        .map(|i| {
            json!({"uid": page["uid"][i], "time": page["time"][i], "data": cell("data", i),
                        "timestamps": cell("timestamps", i), "seq_num": page["seq_num"][i],
                        "filled": cell("filled", i), "descriptor": page["descriptor"]})
        })
        .collect()
}

/// Asserts two document lists are equal, showing only the first difference (they can be long).
#[track_caller]
pub fn assert_same_docs(got: &[(String, Value)], want: &[(String, Value)]) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "document {i} differs:\n got: {:?}\nwant: {:?}",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "document counts differ");
}

/// A cheap reading of a run topic for high-volume tests: only frame kinds, seqs and event
/// `seq_num`s are decoded (no JSON tree per event). Checks seq continuity like [`RunLog`].
#[derive(Default, Debug)]
pub struct SeqLog {
    pub seq: u64,
    pub names: Vec<String>,
    pub seq_nums: Vec<i64>,
    pub gaps: usize,
}

impl SeqLog {
    pub async fn read_until_stop(ws: &mut Ws, start_seq: u64) -> SeqLog {
        #[derive(serde::Deserialize)]
        struct Doc {
            #[serde(default)]
            seq_num: Option<serde_json::Value>,
        }
        #[derive(serde::Deserialize)]
        struct Data {
            name: String,
            doc: Doc,
        }
        #[derive(serde::Deserialize)]
        struct Frame {
            r#type: String,
            #[serde(default)]
            seq: u64,
            data: Option<Data>,
        }
        let mut log = SeqLog {
            seq: start_seq,
            ..SeqLog::default()
        };
        loop {
            let text = next_text(ws).await;
            let f: Frame = serde_json::from_str(&text).expect("a frame");
            match (f.r#type.as_str(), f.data) {
                ("gap", _) => log.gaps += 1,
                ("update", Some(d)) => {
                    let before = log.seq_nums.len();
                    match d.doc.seq_num {
                        Some(Value::Array(list)) => {
                            log.seq_nums.extend(list.iter().filter_map(Value::as_i64))
                        }
                        Some(Value::Number(n)) => log.seq_nums.extend(n.as_i64()),
                        _ => {}
                    }
                    let n = if d.name == "event_page" {
                        (log.seq_nums.len() - before) as u64
                    } else {
                        1
                    };
                    assert_eq!(
                        f.seq,
                        log.seq + n,
                        "seq continues without a hole ({})",
                        d.name
                    );
                    log.seq = f.seq;
                    if log.names.last() != Some(&d.name) {
                        log.names.push(d.name.clone());
                    }
                    if d.name == "stop" {
                        return log;
                    }
                }
                _ => {}
            }
        }
    }
}

/// A signed-in client subscribed to `topic`, past its `subscribed` and `snapshot` frames;
/// returns the socket and the snapshot's data.
pub async fn watching(server: &TestServer, topic: &str) -> (Ws, Value) {
    let mut ws = server.ws().await;
    next_json(&mut ws).await; // hello
    let sub = subscribe_topic(&mut ws, topic, serde_json::json!({})).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    if topic == "console" {
        return (ws, Value::Null); // the console has no snapshot
    }
    let snap = next_matching(&mut ws, |f| f["type"] == "snapshot").await;
    (ws, snap["data"].clone())
}

/// The next `update` of `topic` whose data satisfies `pred`.
pub async fn next_update(ws: &mut Ws, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    next_matching(ws, |f| {
        f["type"] == "update" && f["topic"] == topic && pred(&f["data"])
    })
    .await["data"]
        .clone()
}

/// Waits until `path` exists and its text satisfies `pred` (files are written by a task, with
/// no event to await); fails at the deadline.
pub async fn wait_file(path: &std::path::Path, pred: impl Fn(&str) -> bool) -> String {
    let until = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if pred(&text) {
                return text;
            }
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{} never got the expected content",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Opens the simulated environment, queues `item` (a queue item as JSON), starts the queue and
/// waits until it has finished; returns the status socket for more waiting.
pub async fn run_plan(server: &TestServer, item: Value) -> Ws {
    let (mut ws, _) = subscribed_to_status(server).await;
    api_ok(
        server,
        "POST",
        "/api/environment/open",
        serde_json::json!({}),
    )
    .await;
    wait_status(&mut ws, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
    api_ok(
        server,
        "POST",
        "/api/queue/item/add",
        serde_json::json!({ "item": item }),
    )
    .await;
    api_ok(server, "POST", "/api/queue/start", serde_json::json!({})).await;
    wait_status(&mut ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 1
    })
    .await;
    ws
}
