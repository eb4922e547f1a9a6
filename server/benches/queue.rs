//! Queue benchmark: starts the real `hutch` binary (release) on a free port and measures, over
//! one keep-alive HTTP connection, the targets of the queue issue. Prints a Markdown table.
//!
//! Run: `cargo bench -p hutch-server --bench queue`. No timed assertions: it reports.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const KEY: &str = "benchkey";

/// A blocking HTTP/1.1 keep-alive client: enough for JSON requests with Content-Length replies.
struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    addr: SocketAddr,
}

impl Http {
    fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Http {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
            addr,
        }
    }

    fn call(&mut self, method: &str, path: &str, body: &Value) -> Value {
        serde_json::from_slice(&self.call_raw(method, path, body)).unwrap_or(Value::Null)
    }

    /// The reply's bytes, unparsed (timings then measure the server, not the client's parser).
    fn call_raw(&mut self, method: &str, path: &str, body: &Value) -> Vec<u8> {
        let body = body.to_string();
        // One write per request, as a real client sends it.
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: ApiKey {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.writer.write_all(request.as_bytes()).expect("write");
        let mut line = String::new();
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("read header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
        }
        let mut buf = vec![0; length];
        self.reader.read_exact(&mut buf).expect("body");
        buf
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(String::from)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn wait(http: &mut Http, pred: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let s = http.call("GET", "/api/status", &json!({}));
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < until, "status never matched: {s}");
    }
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

fn count(num: u64) -> Value {
    json!({"name": "count", "args": [["det1"]], "kwargs": {"num": num}, "item_type": "plan"})
}

/// Single adds against queue length: fills the queue to each length with batches, then times
/// 500 single adds over one connection there. Returns (length, adds/s, p50 ms, p99 ms).
fn add_curve(http: &mut Http) -> Vec<(usize, f64, f64, f64)> {
    const WINDOW: usize = 500;
    http.call("POST", "/api/queue/clear", &json!({}));
    let mut len = 0;
    let mut out = Vec::new();
    for target in [0usize, 1_000, 2_500, 5_000, 10_000, 20_000] {
        while len < target {
            let n = (target - len).min(1000);
            let items: Vec<Value> = (0..n).map(|_| count(1)).collect();
            let r = http.call(
                "POST",
                "/api/queue/item/add/batch",
                &json!({"items": items}),
            );
            assert_eq!(r["success"], true, "{r}");
            len += n;
        }
        let mut lat = Vec::with_capacity(WINDOW);
        let t = Instant::now();
        for _ in 0..WINDOW {
            let s = Instant::now();
            http.call_raw("POST", "/api/queue/item/add", &json!({"item": count(1)}));
            lat.push(s.elapsed());
        }
        let took = t.elapsed();
        lat.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        out.push((
            target,
            WINDOW as f64 / took.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
        ));
        len += WINDOW;
    }
    let status = http.call("GET", "/api/status", &json!({}));
    assert_eq!(
        status["items_in_queue"].as_u64(),
        Some(len as u64),
        "{status}"
    );
    http.call("POST", "/api/queue/clear", &json!({}));
    out
}

fn print_curve(curve: &[(usize, f64, f64, f64)]) {
    println!("| queue length before the 500 adds | single adds/s | p50 / p99 ms |");
    println!("|---|---|---|");
    for (len, rate, p50, p99) in curve {
        println!("| {len} | {rate:.0} | {p50:.3} / {p99:.3} |");
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, addr) = start_server(dir.path());
    let mut http = Http::connect(addr);
    if std::env::var_os("HUTCH_BENCH_CURVE_ONLY").is_some() {
        http.call("POST", "/api/environment/open", &json!({}));
        wait(&mut http, |s| s["manager_state"] == "idle");
        print_curve(&add_curve(&mut http));
        let _ = child.kill();
        let _ = child.wait();
        return;
    }
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // Environment open: from the request to "ready".
    let t = Instant::now();
    http.call("POST", "/api/environment/open", &json!({}));
    wait(&mut http, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    });
    rows.push((
        "environment open → ready".into(),
        format!("{:.1} ms", t.elapsed().as_secs_f64() * 1e3),
        "≤ 100 ms".into(),
    ));

    // /api/status, one connection.
    let n = 20_000;
    let mut lat = Vec::with_capacity(n);
    let t = Instant::now();
    for _ in 0..n {
        let s = Instant::now();
        http.call("GET", "/api/status", &json!({}));
        lat.push(s.elapsed());
    }
    let total = t.elapsed();
    lat.sort();
    rows.push((
        "`/api/status`, 1 connection".into(),
        format!("{:.0} req/s", n as f64 / total.as_secs_f64()),
        "≥ 10 000 req/s".into(),
    ));
    rows.push((
        "`/api/status` latency p50 / p99".into(),
        format!(
            "{:.3} / {:.3} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        ),
        "p99 ≤ 1 ms".into(),
    ));

    // 1 000 single adds.
    let t = Instant::now();
    for _ in 0..1000 {
        http.call("POST", "/api/queue/item/add", &json!({"item": count(1)}));
    }
    let took = t.elapsed();
    rows.push((
        "1 000 single `item/add`".into(),
        format!(
            "{:.0} items/s ({:.0} ms)",
            1000.0 / took.as_secs_f64(),
            took.as_secs_f64() * 1e3
        ),
        "≥ 5 000 items/s".into(),
    ));

    // 1 000 adds from 4 clients at once (group commit shares transactions between them).
    http.call("POST", "/api/queue/clear", &json!({}));
    let t = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Http::connect(addr);
                for _ in 0..250 {
                    c.call("POST", "/api/queue/item/add", &json!({"item": count(1)}));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("client thread");
    }
    let took = t.elapsed();
    rows.push((
        "1 000 `item/add` from 4 connections".into(),
        format!(
            "{:.0} items/s ({:.0} ms)",
            1000.0 / took.as_secs_f64(),
            took.as_secs_f64() * 1e3
        ),
        "≥ 5 000 items/s".into(),
    ));

    // queue/get of 1 000 items.
    let q = http.call("GET", "/api/queue/get", &json!({}));
    assert_eq!(q["items"].as_array().map(Vec::len), Some(1000));
    let mut lat = Vec::new();
    for _ in 0..200 {
        let s = Instant::now();
        let bytes = http.call_raw("GET", "/api/queue/get", &json!({}));
        lat.push(s.elapsed());
        assert!(bytes.len() > 100_000);
    }
    lat.sort();
    rows.push((
        "`queue/get` of 1 000 items p50 / p99".into(),
        format!(
            "{:.2} / {:.2} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        ),
        "≤ 2 ms".into(),
    ));

    // One 1 000-item batch.
    http.call("POST", "/api/queue/clear", &json!({}));
    let items: Vec<Value> = (0..1000).map(|_| count(1)).collect();
    let body = json!({"items": items});
    let t = Instant::now();
    let r = http.call("POST", "/api/queue/item/add/batch", &body);
    let took = t.elapsed();
    assert_eq!(r["success"], true, "{r}");
    rows.push((
        "one 1 000-item `item/add/batch`".into(),
        format!("{:.1} ms", took.as_secs_f64() * 1e3),
        "≤ 50 ms".into(),
    ));

    // 100 × count([det1], num=1): queue start → idle.
    http.call("POST", "/api/queue/clear", &json!({}));
    let items: Vec<Value> = (0..100).map(|_| count(1)).collect();
    http.call(
        "POST",
        "/api/queue/item/add/batch",
        &json!({"items": items}),
    );
    let before = http.call("GET", "/api/status", &json!({}))["items_in_history"]
        .as_u64()
        .unwrap_or(0);
    let t = Instant::now();
    http.call("POST", "/api/queue/start", &json!({}));
    wait(&mut http, |s| {
        s["manager_state"] == "idle" && s["items_in_history"].as_u64() == Some(before + 100)
    });
    let took = t.elapsed();
    rows.push((
        "100 × `count([det1], num=1)`, start → idle".into(),
        format!(
            "{:.0} ms ({:.1} ms/plan)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 10.0
        ),
        "≤ 1 s".into(),
    ));

    // 1 000 frames of the 512×512 image detector (written to files, referenced by datums).
    http.call("POST", "/api/queue/clear", &json!({}));
    let images = json!({"item": {"name": "count", "args": [["img", "det1"]], "kwargs": {"num": 1000}, "item_type": "plan"}});
    http.call("POST", "/api/queue/item/add", &images);
    let before = http.call("GET", "/api/status", &json!({}))["items_in_history"]
        .as_u64()
        .unwrap_or(0);
    let t = Instant::now();
    http.call("POST", "/api/queue/start", &json!({}));
    wait(&mut http, |s| {
        s["manager_state"] == "idle" && s["items_in_history"].as_u64() == Some(before + 1)
    });
    let took = t.elapsed();
    let last = http.call("GET", "/api/history/get", &json!({}))["items"]
        .as_array()
        .and_then(|a| a.last().cloned())
        .unwrap_or_default();
    assert_eq!(last["result"]["exit_status"], "completed", "{last}");
    rows.push((
        "`count([img, det1], num=1000)`, 512×512 frames".into(),
        format!(
            "{:.1} s ({:.0} frames/s)",
            took.as_secs_f64(),
            1000.0 / took.as_secs_f64()
        ),
        "works".into(),
    ));

    // A 10 000-point scan.
    let scan = json!({"item": {"name": "scan", "args": [["det"], "motor", -1, 1, 10000], "kwargs": {}, "item_type": "plan"}});
    http.call("POST", "/api/queue/item/add", &scan);
    let t = Instant::now();
    http.call("POST", "/api/queue/start", &json!({}));
    wait(&mut http, |s| {
        s["manager_state"] == "idle" && s["items_in_history"].as_u64() == Some(before + 2)
    });
    rows.push((
        "`scan([det], motor, -1, 1, 10000)`".into(),
        format!("{:.2} s", t.elapsed().as_secs_f64()),
        "works".into(),
    ));

    // Memory with the environment open.
    let status = http.call("GET", "/api/status", &json!({}));
    let worker = status["hutch"]["worker_pid"]
        .as_u64()
        .map_or(0, |p| rss_kib(p as u32));
    let server = rss_kib(child.id());
    rows.push((
        "RSS, environment open: server / worker".into(),
        format!(
            "{:.1} / {:.1} MiB",
            server as f64 / 1024.0,
            worker as f64 / 1024.0
        ),
        "≤ 40 MiB".into(),
    ));

    let curve = add_curve(&mut http);

    println!("| measurement | hutch | target |");
    println!("|---|---|---|");
    for (what, value, target) in rows {
        println!("| {what} | {value} | {target} |");
    }
    println!();
    print_curve(&curve);
    let _ = child.kill();
    let _ = child.wait();
}
