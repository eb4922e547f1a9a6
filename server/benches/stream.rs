//! Stream load tool: a `hutch` process, a publisher on `/api/documents/ws` at a set rate, and N
//! subscribers on `/api/stream` following the run. Reports ingest rate, delivery latency
//! (publisher clock → subscriber receipt, both on this machine) p50/p99/max, loss, and the
//! server's CPU and peak RSS. Prints a Markdown table for docs/benchmarks.md.
//!
//! Run: `cargo bench -p hutch-server --bench stream`. One scenario alone:
//! `HUTCH_BENCH_SCENARIO=fanout cargo bench -p hutch-server --bench stream`
//! (ingest | fanout | stalled | images). `HUTCH_BENCH_SECONDS` (default 10) sets the length of the
//! timed scenarios. Subscribers run in this process, so they share the 2 cores with the server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "bench-key";

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn start_server(dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hutch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("HUTCH_API_KEY", KEY)
        .env("HUTCH_CONFIG", "/dev/null")
        .env("RUST_LOG", "warn,hutch=info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("hutch starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("hutch logs its address").expect("line");
        if let Some(rest) = line.split("API at http://").nth(1) {
            break rest.trim().parse().expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// CPU seconds (user + system) and peak RSS in MiB of a process.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, r)| r.split_whitespace().collect());
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, hwm / 1024.0)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, path: &str) -> Ws {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("ApiKey {KEY}").parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket")
        .0
}

#[derive(serde::Deserialize)]
struct Frame {
    r#type: String,
    data: Option<FrameData>,
}

#[derive(serde::Deserialize)]
struct FrameData {
    name: String,
    doc: PageTimes,
}

#[derive(serde::Deserialize, Default)]
struct PageTimes {
    #[serde(default)]
    time: Option<Value>,
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f32>,
    events: u64,
    gaps: u64,
}

/// Follows `run:<uid>` until its stop; records each event's latency (receipt − event time).
async fn subscribe(addr: SocketAddr, run: String, stall: bool, ready: Arc<AtomicU64>) -> Seen {
    let mut ws = connect(addr, "/api/stream").await;
    let topic = format!("run:{run}");
    ws.send(Message::Text(
        json!({"type": "subscribe", "topics": [topic]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let mut seen = Seen::default();
    loop {
        let Some(Ok(msg)) = ws.next().await else {
            break;
        };
        let Message::Text(text) = msg else { continue };
        let frame: Frame = serde_json::from_str(&text).expect("a frame");
        match (frame.r#type.as_str(), frame.data) {
            ("subscribed", _) => {
                ready.fetch_add(1, Ordering::SeqCst);
                if stall {
                    // Never read again: the server must cope without anyone else noticing.
                    std::future::pending::<()>().await;
                }
            }
            ("gap", _) => seen.gaps += 1,
            ("update", Some(d)) => {
                let t = now();
                match (d.name.as_str(), d.doc.time) {
                    ("event_page", Some(Value::Array(times))) => {
                        for time in times.iter().filter_map(Value::as_f64) {
                            seen.latencies_ms.push(((t - time) * 1e3) as f32);
                            seen.events += 1;
                        }
                    }
                    ("stop", _) => break,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    seen
}

/// An event of `n` scalars (or a `side`×`side` image) stamped with the current time.
fn event(run: &str, i: u64, side: usize) -> Value {
    let data = if side > 0 {
        let img: Vec<Vec<u8>> = (0..side)
            .map(|r| {
                (0..side)
                    .map(|c| ((r + c + i as usize) % 251) as u8)
                    .collect()
            })
            .collect();
        json!({"img": img, "det": i as f64})
    } else {
        json!({"det": (i as f64 / 1000.0).sin(), "motor": i as f64 * 1e-3, "motor_setpoint": i as f64 * 1e-3})
    };
    let keys: Vec<String> = data.as_object().unwrap().keys().cloned().collect();
    let t = now();
    let stamps: serde_json::Map<String, Value> =
        keys.iter().map(|k| (k.clone(), json!(t))).collect();
    json!(["event", {"uid": format!("{run}-e{i}"), "time": t, "descriptor": format!("{run}-d"),
                     "seq_num": i, "data": data, "timestamps": stamps, "filled": {}}])
}

fn opening(run: &str, side: usize) -> Value {
    let keys = if side > 0 {
        json!({"img": {"dtype": "array", "shape": [side, side], "source": "sim"},
               "det": {"dtype": "number", "shape": [], "source": "sim"}})
    } else {
        json!({"det": {"dtype": "number", "shape": [], "source": "sim"},
               "motor": {"dtype": "number", "shape": [], "source": "sim"},
               "motor_setpoint": {"dtype": "number", "shape": [], "source": "sim"}})
    };
    json!([["start", {"uid": run, "time": now(), "plan_name": "bench", "scan_id": 1}],
           ["descriptor", {"uid": format!("{run}-d"), "run_start": run, "time": now(), "name": "primary", "data_keys": keys}]])
}

/// Publishes `total` events over the ingest socket, `per_tick` per `tick` (or as fast as the
/// acknowledgements allow when `tick` is zero); returns when the stop is acknowledged.
async fn publish(
    addr: SocketAddr,
    run: &str,
    total: u64,
    per_tick: u64,
    tick: Duration,
    side: usize,
) -> Duration {
    let ws = connect(addr, "/api/documents/ws").await;
    let (mut tx, mut rx) = ws.split();
    // The publisher closes only after the answer to its last frame (a closed socket gets none).
    let (last_tx, last_rx) = tokio::sync::oneshot::channel::<u64>();
    let acks = tokio::spawn(async move {
        let mut last_rx = Some(last_rx);
        let (mut n, mut last) = (0u64, u64::MAX);
        while n < last {
            tokio::select! {
                Ok(l) = async { last_rx.as_mut().unwrap().await }, if last_rx.is_some() => {
                    last = l;
                    last_rx = None;
                }
                msg = rx.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        assert_eq!(v["type"], "ack", "{v}");
                        n += 1;
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }
        n
    });
    let started = Instant::now();
    tx.send(Message::Text(opening(run, side).to_string().into()))
        .await
        .unwrap();
    let mut frames = 1u64;
    let mut i = 0u64;
    let mut next = Instant::now();
    while i < total {
        let batch: Vec<Value> = (i + 1..=(i + per_tick).min(total))
            .map(|k| event(run, k, side))
            .collect();
        i += batch.len() as u64;
        tx.send(Message::Text(Value::Array(batch).to_string().into()))
            .await
            .unwrap();
        frames += 1;
        if !tick.is_zero() {
            next += tick;
            tokio::time::sleep_until(next.into()).await;
        }
    }
    let stop = json!([["stop", {"uid": format!("{run}-stop"), "run_start": run, "time": now(), "exit_status": "success"}]]);
    tx.send(Message::Text(stop.to_string().into()))
        .await
        .unwrap();
    frames += 1;
    let _ = last_tx.send(frames);
    let acked = acks.await.unwrap();
    assert_eq!(acked, frames, "every frame acknowledged");
    let took = started.elapsed();
    let _ = tx.send(Message::Close(None)).await;
    took
}

struct Outcome {
    name: String,
    figures: Vec<(String, String)>,
}

fn percentile(sorted: &[f32], p: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// One timed scenario: `subs` readers (+ `stalled` that never read) at `rate` events/s.
async fn fanout(
    name: &str,
    subs: usize,
    stalled: usize,
    rate: u64,
    seconds: u64,
    side: usize,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_server(dir.path());
    let pid = child.id();
    let run = format!("{name}-run");
    let ready = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for k in 0..subs + stalled {
        readers.push(tokio::spawn(subscribe(
            addr,
            run.clone(),
            k >= subs,
            ready.clone(),
        )));
    }
    while ready.load(Ordering::SeqCst) < (subs + stalled) as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (cpu0, _) = usage(pid);
    // 100 ticks a second (fewer for images: one event per tick).
    let (per_tick, tick) = if side > 0 {
        (1, Duration::from_secs_f64(1.0 / rate as f64))
    } else {
        ((rate / 100).max(1), Duration::from_millis(10))
    };
    let total = rate * seconds;
    let took = publish(addr, &run, total, per_tick, tick, side).await;
    let mut all = Vec::new();
    let (mut lost, mut gaps) = (0u64, 0u64);
    for r in readers.into_iter().take(subs) {
        let seen = r.await.unwrap();
        lost += total.saturating_sub(seen.events);
        gaps += seen.gaps;
        all.extend(seen.latencies_ms);
    }
    let (cpu1, rss) = usage(pid);
    let _ = child.kill();
    let _ = child.wait();
    all.sort_by(|a, b| a.total_cmp(b));
    let wall = took.as_secs_f64();
    Outcome {
        name: format!(
            "{name}: {subs} subscribers{}, {rate} events/s{} for {seconds} s",
            if stalled > 0 {
                format!(" + {stalled} stalled")
            } else {
                String::new()
            },
            if side > 0 {
                format!(" of {side}×{side} images")
            } else {
                String::new()
            }
        ),
        figures: vec![
            (
                "latency p50 / p99 / max".into(),
                format!(
                    "{:.1} / {:.1} / {:.1} ms",
                    percentile(&all, 0.5),
                    percentile(&all, 0.99),
                    all.last().copied().unwrap_or(f32::NAN)
                ),
            ),
            (
                "events delivered / lost".into(),
                format!("{} / {lost} (gaps: {gaps})", all.len()),
            ),
            (
                "published rate achieved".into(),
                format!("{:.0} events/s", total as f64 / wall),
            ),
            (
                "server CPU".into(),
                format!("{:.0} % of one core", (cpu1 - cpu0) / wall * 100.0),
            ),
            ("server peak RSS".into(), format!("{rss:.0} MiB")),
        ],
    }
}

async fn ingest(total: u64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_server(dir.path());
    let pid = child.id();
    let took = publish(addr, "ingest-run", total, 1000, Duration::ZERO, 0).await;
    let (cpu, rss) = usage(pid);
    let _ = child.kill();
    let _ = child.wait();
    let rate = total as f64 / took.as_secs_f64();
    Outcome {
        name: format!(
            "ingest: {total} events over /api/documents/ws in batches of 1000, no subscriber"
        ),
        figures: vec![
            (
                "stored and acknowledged".into(),
                format!("{rate:.0} events/s ({:.2} s)", took.as_secs_f64()),
            ),
            (
                "server CPU (whole run, start-up included)".into(),
                format!("{cpu:.1} s"),
            ),
            ("server peak RSS".into(), format!("{rss:.0} MiB")),
        ],
    }
}

#[tokio::main]
async fn main() {
    let only = std::env::var("HUTCH_BENCH_SCENARIO").ok();
    let seconds: u64 = std::env::var("HUTCH_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let want = |s: &str| only.as_deref().is_none_or(|o| o == s);
    let mut out = Vec::new();
    if want("ingest") {
        out.push(ingest(1_000_000).await);
    }
    if want("fanout") || want("stalled") {
        out.push(fanout("fanout", 50, 0, 20_000, seconds, 0).await);
    }
    if want("stalled") {
        out.push(fanout("stalled", 50, 1, 20_000, seconds, 0).await);
    }
    if want("images") {
        out.push(fanout("images", 10, 0, 30, seconds, 512).await);
    }
    println!("\n| scenario | figure | value |\n|---|---|---|");
    for o in out {
        for (k, v) in o.figures {
            println!("| {} | {k} | {v} |", o.name);
        }
    }
}
