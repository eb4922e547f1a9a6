//! `hutch monitor` and `hutch wait idle`: the live stream in a terminal.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use hutch_app::model::progress::Progress;
use hutch_app::model::status::ServerStatus;
use hutch_app::model::stream::{
    ClientMessage, ConsoleLine, RunsDelta, ServerMessage, Topic, TopicOptions,
};
use serde::Deserialize;

use super::client::{Client, Failure, Ws};
use super::table::Out;

async fn send(ws: &mut Ws, msg: &ClientMessage) -> Result<(), Failure> {
    let text = serde_json::to_string(msg).unwrap_or_default();
    ws.send(Message::Text(text.into()))
        .await
        .map_err(|e| Failure::Connect(format!("the live connection broke: {e}")))
}

fn subscribe(topics: Vec<Topic>) -> ClientMessage {
    ClientMessage::Subscribe {
        topics,
        since: Default::default(),
        options: Default::default(),
    }
}

/// The next frame (as sent, and parsed), or `None` when the server closed the connection.
/// A frame this client does not understand is skipped.
async fn next(ws: &mut Ws) -> Result<Option<(String, ServerMessage)>, Failure> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if let Ok(m) = serde_json::from_str(&t) {
                    return Ok(Some((t.to_string(), m)));
                }
            }
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Err(Failure::Connect(format!("the live connection broke: {e}")))
            }
        }
    }
}

/// The status a frame carries: a `status` snapshot or update, read as [`ServerStatus`].
fn status_of(frame: &ServerMessage) -> Option<ServerStatus> {
    match frame {
        ServerMessage::Snapshot {
            topic: Topic::Status,
            data,
            ..
        }
        | ServerMessage::Update {
            topic: Topic::Status,
            data,
            ..
        } => ServerStatus::deserialize(data).ok(),
        _ => None,
    }
}

fn status_line(s: &ServerStatus) -> String {
    let running = s.running_item_uid.as_deref().map_or_else(String::new, |u| {
        format!(", running {}", u.chars().take(8).collect::<String>())
    });
    format!(
        "manager {} | RE {} | environment {} | queue {} | history {}{running}",
        s.manager_state,
        s.re_state.as_deref().unwrap_or("-"),
        if s.worker_environment_exists {
            "open"
        } else {
            "closed"
        },
        s.items_in_queue,
        s.items_in_history,
    )
}

/// Prints each status change and every console line until the server goes away or Ctrl-C.
pub async fn monitor(client: &Client, out: &Out) -> Result<(), Failure> {
    let mut ws = client.stream().await?;
    send(&mut ws, &subscribe(vec![Topic::Status, Topic::Console])).await?;
    let mut last = String::new();
    let stdout = std::io::stdout();
    while let Some((raw, frame)) = next(&mut ws).await? {
        let line = match frame {
            ServerMessage::Error { msg } => return Err(Failure::Auth(msg)),
            ServerMessage::Hello { .. } | ServerMessage::Heartbeat { .. } => continue,
            _ if out.json => raw,
            ServerMessage::Update {
                topic: Topic::Console,
                data,
                ..
            } => match ConsoleLine::deserialize(&data) {
                Ok(line) => line.msg.trim_end().to_string(),
                Err(e) => format!("(a console line hutch sent could not be read: {e})"),
            },
            other => {
                let Some(status) = status_of(&other) else {
                    continue;
                };
                let l = status_line(&status);
                if l == last {
                    continue;
                }
                last = l.clone();
                format!("[status] {l}")
            }
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
        send(&mut ws, &subscribe(vec![Topic::Status, Topic::Runs])).await?;
        let tty = std::io::stderr().is_terminal();
        let mut progress = Progress::default();
        while let Some((_, frame)) = next(&mut ws).await? {
            match frame {
                ServerMessage::Error { msg } => return Err(Failure::Auth(msg)),
                ref f if status_of(f).is_some_and(|s| s.manager_state == "idle") => {
                    if tty {
                        eprintln!();
                    }
                    return Ok(());
                }
                ServerMessage::Update {
                    topic: Topic::Runs,
                    data,
                    ..
                } => {
                    let Ok(RunsDelta::Opened { run }) = serde_json::from_value(data) else {
                        continue;
                    };
                    if let Some(old) = progress.run.replace(run.uid.clone()) {
                        let topics = vec![Topic::Run(old)];
                        send(&mut ws, &ClientMessage::Unsubscribe { topics }).await?;
                    }
                    progress = Progress::new(&run.uid, run.plan_name.as_deref().unwrap_or(""));
                    let topic = Topic::Run(run.uid);
                    // Two points per stream are enough: the updates carry the event counts.
                    let options = TopicOptions {
                        max_points: Some(2),
                        max_rate: Some(5.0),
                    };
                    send(
                        &mut ws,
                        &ClientMessage::Subscribe {
                            options: [(topic.to_string(), options)].into(),
                            topics: vec![topic],
                            since: Default::default(),
                        },
                    )
                    .await?;
                }
                ServerMessage::Update {
                    topic: Topic::Run(_),
                    data,
                    ..
                } => {
                    if let Ok(frame) = serde_json::from_value(data) {
                        progress.update(&frame);
                    }
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
