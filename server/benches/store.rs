//! Storage benchmark: document ingest rate through the storage path, list-page latency with a
//! large database, and the columnar read of a 100 000-event stream. Prints a Markdown table.
//!
//! Run: `cargo bench -p hutch-server --bench store`. Sizes: HUTCH_BENCH_DISPATCHES (default
//! 1 000 000) and HUTCH_BENCH_EVENTS (default 10 000 000). The database goes to a temporary
//! directory (about 2 GB at the default sizes).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use hutch_server::config::Config;
use serde_json::{json, Value};
use tower::ServiceExt;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn p99(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[(v.len() * 99 / 100).min(v.len() - 1)])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A run of `n` events with three scalar fields, as documents.
fn run_docs(run: &str, n: usize, t0: f64) -> Vec<Vec<(String, Value)>> {
    let desc = format!("{run}-d");
    let mut batches = vec![vec![
        (
            "start".to_string(),
            json!({"uid": run, "time": t0, "plan_name": "scan", "scan_id": 1}),
        ),
        (
            "descriptor".to_string(),
            json!({"uid": desc, "run_start": run, "name": "primary", "time": t0,
            "data_keys": {"det": {"dtype": "number", "shape": [], "source": "sim"},
                          "motor": {"dtype": "number", "shape": [], "source": "sim"},
                          "motor_setpoint": {"dtype": "number", "shape": [], "source": "sim"}}}),
        ),
    ]];
    let mut i = 0;
    while i < n {
        let chunk: Vec<(String, Value)> = (i..(i + 1000).min(n))
            .map(|k| {
                let x = k as f64 / n as f64;
                ("event".to_string(), json!({"uid": format!("{run}-e{k}"), "time": t0 + k as f64 * 1e-3,
                    "descriptor": desc, "seq_num": k + 1,
                    "data": {"det": (-(x - 0.5).powi(2) * 50.0).exp(), "motor": x, "motor_setpoint": x},
                    "timestamps": {"det": t0, "motor": t0, "motor_setpoint": t0}, "filled": {}}))
            })
            .collect();
        batches.push(chunk);
        i += 1000;
    }
    batches.push(vec![(
        "stop".to_string(),
        json!({"uid": format!("{run}-s"), "run_start": run, "time": t0 + 1.0,
        "exit_status": "success", "num_events": {"primary": n}}),
    )]);
    batches
}

#[tokio::main]
async fn main() {
    let dispatches = env_usize("HUTCH_BENCH_DISPATCHES", 1_000_000);
    let events = env_usize("HUTCH_BENCH_EVENTS", 10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_data_dir(dir.path());
    config.worker_exe = Some(env!("CARGO_BIN_EXE_hutch").into());
    let prepared = hutch_server::prepare(config)
        .await
        .expect("server prepares");
    let state = prepared.state().clone();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // 1. Ingest: 1 000 000 events of three scalar fields, batches of 1 000, one producer that
    // keeps 8 batches in flight (as a publisher does).
    let ingest = 1_000_000.min(events.max(1));
    let mut batches = run_docs("ingest-run", ingest, 1.0e9).into_iter();
    let t = Instant::now();
    // The start and descriptor first: events need their descriptor stored.
    state
        .docs
        .store(batches.next().expect("a first batch"), None)
        .await
        .expect("stored");
    let mut inflight = tokio::task::JoinSet::new();
    for b in batches {
        let docs = state.docs.clone();
        inflight.spawn(async move { docs.store(b, None).await.expect("stored") });
        while inflight.len() >= 8 {
            inflight.join_next().await;
        }
    }
    while inflight.join_next().await.is_some() {}
    let took = t.elapsed();
    rows.push((
        "store events (3 scalar fields), 1 000 per batch".into(),
        format!(
            "{:.0} events/s ({ingest} in {:.1} s)",
            ingest as f64 / took.as_secs_f64(),
            took.as_secs_f64()
        ),
        "≥ 100 000 events/s".into(),
    ));

    // 2. Fill up: dispatches and the rest of the events, as runs of 100 000 events.
    let t = Instant::now();
    let mut tx = state.db.begin().await.unwrap();
    for i in 0..dispatches {
        if i % 50_000 == 0 && i > 0 {
            tx.commit().await.unwrap();
            tx = state.db.begin().await.unwrap();
        }
        let status = ["completed", "failed", "stopped", "aborted"][i % 4];
        sqlx::query("INSERT INTO dispatches (uid, item_uid, kind, item, plan_name, user, user_group, status, created_at, updated_at, finished_at, in_history) VALUES (?, ?, 'queue', ?, ?, ?, 'primary', ?, ?, ?, ?, 0)")
            .bind(format!("d{i}")).bind(format!("i{i}"))
            .bind(if i % 100_000 == 7 {
                json!({"name": "count", "args": [["det1"]], "kwargs": {"num": 1}, "meta": {"sample": "unobtanium"}})
            } else {
                json!({"name": "count", "args": [["det1"]], "kwargs": {"num": i % 10}})
            }.to_string())
            .bind(if i % 3 == 0 { "scan" } else { "count" }).bind(if i % 7 == 0 { "bob" } else { "ann" })
            .bind(status).bind(i as f64).bind(i as f64).bind(i as f64)
            .execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut stored = ingest;
    let mut run = 0;
    while stored < events {
        let n = 100_000.min(events - stored);
        for b in run_docs(&format!("fill-{run}"), n, 1.0e9 + run as f64) {
            state.docs.send(b, None).await.unwrap();
        }
        stored += n;
        run += 1;
    }
    state.docs.flush().await.unwrap();
    let fill = t.elapsed();

    // 3. List pages, through the HTTP router.
    let router = hutch_server::http::router(state.clone());
    let get = |path: String| {
        let router = router.clone();
        async move {
            let req = Request::builder()
                .uri(path)
                .header("authorization", "ApiKey test-key")
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 30)
                .await
                .unwrap();
            assert!(
                status.is_success(),
                "{status}: {}",
                String::from_utf8_lossy(&body)
            );
            (t.elapsed(), body)
        }
    };
    let pages = [
        "/api/dispatches?limit=50".to_string(),
        "/api/dispatches?status=failed&limit=50".to_string(),
        "/api/dispatches?plan=scan&user=bob&limit=50".to_string(),
        format!(
            "/api/dispatches?sort=oldest&after={}&limit=50",
            dispatches / 2
        ),
        "/api/runs?limit=50".to_string(),
        "/api/runs?plan=scan&limit=50".to_string(),
    ];
    let mut lat = Vec::new();
    for _ in 0..50 {
        for p in &pages {
            lat.push(get(p.clone()).await.0);
        }
    }
    let (p50, p99v) = p99(lat);
    rows.push((
        format!("list pages (6 kinds) with {dispatches} dispatches, {events} events"),
        format!("p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99v)),
        "p99 ≤ 10 ms".into(),
    ));
    let mut lat = Vec::new();
    for _ in 0..10 {
        lat.push(get("/api/dispatches?q=kwargs&limit=50".to_string()).await.0);
    }
    let (p50, p99v) = p99(lat);
    rows.push((
        "free-text page (`q=`)".into(),
        format!("p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99v)),
        "p99 ≤ 10 ms".into(),
    ));

    let mut lat = Vec::new();
    for _ in 0..5 {
        let (d, body) = get("/api/dispatches?q=unobtanium&limit=50".to_string()).await;
        assert!(String::from_utf8_lossy(&body).contains("unobtanium"));
        lat.push(d);
    }
    let (p50, p99v) = p99(lat);
    rows.push((
        "free-text page, rare word (scans every item)".into(),
        format!("p50 {:.1} ms, p99 {:.1} ms", ms(p50), ms(p99v)),
        "p99 ≤ 10 ms".into(),
    ));

    // 4. Columnar data of a 100 000-event stream.
    if events >= ingest + 100_000 {
        let mut lat = Vec::new();
        for _ in 0..5 {
            let (d, body) =
                get("/api/runs/fill-0/streams/primary/data?fields=det,motor".to_string()).await;
            assert!(body.len() > 1_000_000);
            lat.push(d);
        }
        let (p50, _) = p99(lat);
        rows.push((
            "columnar data of a 100 000-event stream".into(),
            format!("{:.0} ms", ms(p50)),
            "≤ 100 ms".into(),
        ));
        let (d, _) =
            get("/api/runs/fill-0/streams/primary/data?fields=det&max_points=2000".to_string())
                .await;
        rows.push((
            "… decimated to 2 000 points".into(),
            format!("{:.0} ms", ms(d)),
            "".into(),
        ));
    }
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    rows.push((
        "filling the database (dispatches + events)".into(),
        format!(
            "{:.0} s; files {:.2} GB",
            fill.as_secs_f64(),
            size as f64 / 1e9
        ),
        "".into(),
    ));

    println!("| measurement | hutch | target |");
    println!("|---|---|---|");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
}
