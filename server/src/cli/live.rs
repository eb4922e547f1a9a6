//! `hutch monitor` and `hutch wait idle`: the live stream in a terminal.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use hutch_app::model::progress::Progress;
use hutch_app::model::stream::RunsDelta;

use super::client::{Client, Failure, Ws};
use super::table::Out;

async fn subscribe(ws: &mut Ws, msg: Value) -> Result<(), Failure> {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .map_err(|e| Failure::Connect(format!("the live connection broke: {e}")))
}

/// The next JSON frame, or `None` when the server closed the connection.
async fn next(ws: &mut Ws) -> Result<Option<Value>, Failure> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).ok()),
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Err(Failure::Connect(format!("the live connection broke: {e}")))
            }
        }
    }
}

fn status_line(s: &Value) -> String {
    let running = s["running_item_uid"]
        .as_str()
        .map_or_else(String::new, |u| {
            format!(", running {}", &u[..u.len().min(8)])
        });
    format!(
        "manager {} | RE {} | environment {} | queue {} | history {}{running}",
        s["manager_state"].as_str().unwrap_or("?"),
        s["re_state"].as_str().unwrap_or("-"),
        if s["worker_environment_exists"] == true {
            "open"
        } else {
            "closed"
        },
        s["items_in_queue"],
        s["items_in_history"],
    )
}

/// Prints each status change and every console line until the server goes away or Ctrl-C.
pub async fn monitor(client: &Client, out: &Out) -> Result<(), Failure> {
    let mut ws = client.stream().await?;
    subscribe(
        &mut ws,
        json!({"type": "subscribe", "topics": ["status", "console"]}),
    )
    .await?;
    let mut last = String::new();
    let stdout = std::io::stdout();
    while let Some(f) = next(&mut ws).await? {
        let data = &f["data"];
        let line = match (f["type"].as_str(), f["topic"].as_str()) {
            (Some("error"), _) => {
                return Err(Failure::Auth(
                    f["msg"].as_str().unwrap_or("refused").to_string(),
                ))
            }
            _ if out.json && f["topic"].is_string() && f["type"] != "heartbeat" => f.to_string(),
            (Some("snapshot" | "update"), Some("status")) => {
                let l = status_line(data);
                if l == last {
                    continue;
                }
                last = l.clone();
                format!("[status] {l}")
            }
            (Some("update"), Some("console")) => {
                data["msg"].as_str().unwrap_or("").trim_end().to_string()
            }
            _ => continue,
        };
        let mut o = stdout.lock();
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    }
    Err(Failure::Connect(
        "hutch closed the live connection (did it stop?)".into(),
    ))
}

/// Waits until the manager is idle; meanwhile draws the running plan's progress on a terminal.
pub async fn wait_idle(client: &Client, timeout: Option<f64>) -> Result<(), Failure> {
    let work = async {
        let mut ws = client.stream().await?;
        subscribe(
            &mut ws,
            json!({"type": "subscribe", "topics": ["status", "runs"]}),
        )
        .await?;
        let tty = std::io::stderr().is_terminal();
        let mut progress = Progress::default();
        while let Some(f) = next(&mut ws).await? {
            let (kind, topic) = (
                f["type"].as_str().unwrap_or(""),
                f["topic"].as_str().unwrap_or(""),
            );
            match (kind, topic) {
                ("error", _) => {
                    return Err(Failure::Auth(
                        f["msg"].as_str().unwrap_or("refused").to_string(),
                    ))
                }
                ("snapshot" | "update", "status") if f["data"]["manager_state"] == "idle" => {
                    if tty {
                        eprintln!();
                    }
                    return Ok(());
                }
                ("update", "runs") => {
                    let Ok(RunsDelta::Opened { run }) = serde_json::from_value(f["data"].clone())
                    else {
                        continue;
                    };
                    if let Some(old) = progress.run.replace(run.uid.clone()) {
                        subscribe(
                            &mut ws,
                            json!({"type": "unsubscribe", "topics": [format!("run:{old}")]}),
                        )
                        .await?;
                    }
                    progress = Progress::new(&run.uid, run.plan_name.as_deref().unwrap_or(""));
                    let topic = format!("run:{}", run.uid);
                    // Two points per stream are enough: the updates carry the event counts.
                    subscribe(&mut ws, json!({"type": "subscribe", "topics": [topic], "options": {topic.clone(): {"max_points": 2, "max_rate": 5}}})).await?;
                }
                ("update", t) if t.starts_with("run:") => {
                    progress.update(&f["data"]);
                    if tty {
                        eprint!("\r{}", progress.bar());
                    }
                }
                _ => {}
            }
        }
        Err(Failure::Connect(
            "hutch closed the live connection (did it stop?)".into(),
        ))
    };
    match timeout {
        Some(s) => tokio::time::timeout(Duration::from_secs_f64(s.max(0.0)), work)
            .await
            .map_err(|_| Failure::Timeout(format!("hutch was not idle after {s} s")))?,
        None => work.await,
    }
}
