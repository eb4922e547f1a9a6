//! What each client command sends and how it shows the answer.

use serde_json::{json, Map, Value};

use super::args::*;
use super::client::{Client, Failure, Refusal};
use hutch_app::model::applets::Applet;
use hutch_app::model::datasets::Dataset;
use hutch_app::model::queue::QueueItem;
use hutch_app::model::runs::{RunSummary, StreamInfo};
use hutch_app::model::status::ServerStatus;
use serde::Deserialize;

use super::table::{call, human, short, some_item, table, time, uid8, Out};

fn parse_json(what: &str, text: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::Usage(format!(
            "{what} is not valid JSON ({e}); quote it for the shell, e.g. '{{\"name\": \"count\", \"args\": [[\"det1\"]]}}'"
        ))
    })
}

/// The reply of `queue/item/add/batch`: all or nothing, with one result per item.
#[derive(Deserialize)]
struct BatchReply {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    results: Vec<Refusal>,
    #[serde(default)]
    qsize: Option<usize>,
}

mod applets;
mod catalog;
mod data;
mod queue;

pub(super) fn write_out(file: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    match file {
        Some(f) => std::fs::write(f, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", f.display()))),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| Failure::Usage(format!("cannot write the output: {e}"))),
    }
}

pub async fn run(cmd: ClientCommand, client: &Client, out: &Out) -> Result<(), Failure> {
    match cmd {
        ClientCommand::Status { .. } => status(client, out).await,
        ClientCommand::Ping { .. } => {
            let v = client.call("GET", "/api/ping", None).await?;
            out.show(&v, |v| {
                human(v, |s: ServerStatus| {
                    format!(
                        "hutch {} at {} answers: manager {}",
                        s.hutch.version, client.url, s.manager_state
                    )
                })
            });
            Ok(())
        }
        ClientCommand::Environment { action, .. } => {
            let (path, what) = match action {
                EnvironmentAction::Open => (
                    "open",
                    "the environment is opening or open (`hutch wait idle`, then `hutch status`)",
                ),
                EnvironmentAction::Close => ("close", "closing the environment"),
                EnvironmentAction::Destroy => ("destroy", "destroying the environment"),
            };
            let v = client
                .call(
                    "POST",
                    &format!("/api/environment/{path}"),
                    Some(&json!({})),
                )
                .await?;
            out.done(&v, what);
            Ok(())
        }
        ClientCommand::Queue { action, .. } => queue::queue(action, client, out).await,
        ClientCommand::Re { action, .. } => {
            let (path, body, what) = match action {
                ReAction::Pause { when } => {
                    let option = match when {
                        PauseWhen::Deferred => "deferred",
                        PauseWhen::Immediate => "immediate",
                    };
                    ("pause", json!({"option": option}), "pause requested")
                }
                ReAction::Resume => ("resume", json!({}), "resumed"),
                ReAction::Stop => ("stop", json!({}), "stopped"),
                ReAction::Abort => ("abort", json!({}), "aborted"),
                ReAction::Halt => ("halt", json!({}), "halted"),
            };
            let v = client
                .call("POST", &format!("/api/re/{path}"), Some(&body))
                .await?;
            out.done(&v, what);
            Ok(())
        }
        ClientCommand::History { action, .. } => match action {
            HistoryAction::Get => {
                let v = client
                    .call("GET", "/api/history/get", Some(&json!({})))
                    .await?;
                out.show(&v, |v| {
                    human(v, |l: queue::ListReply| {
                        if l.items.is_empty() {
                            return "history is empty".into();
                        }
                        let rows: Vec<Vec<String>> = l
                            .items
                            .iter()
                            .map(|it| {
                                let r = it.result.as_ref();
                                vec![
                                    r.map(|r| time(&json!(r.time_stop))).unwrap_or_default(),
                                    call(it),
                                    r.map(|r| r.exit_status.as_str().to_string())
                                        .unwrap_or_default(),
                                    r.map(|r| r.msg.clone()).unwrap_or_default(),
                                    uid8(&it.item_uid),
                                ]
                            })
                            .collect();
                        table(&["finished", "plan", "exit", "message", "uid"], &rows)
                    })
                });
                Ok(())
            }
            HistoryAction::Clear => {
                let v = client
                    .call("POST", "/api/history/clear", Some(&json!({})))
                    .await?;
                out.done(&v, "history cleared");
                Ok(())
            }
        },
        ClientCommand::Allowed { what, .. } => catalog::allowed(what, client, out).await,
        ClientCommand::Lock {
            scope, key, note, ..
        } => {
            let (environment, queue) = match scope {
                LockScope::Environment => (true, false),
                LockScope::Queue => (false, true),
                LockScope::All => (true, true),
            };
            let mut body = json!({"lock_key": key, "environment": environment, "queue": queue});
            if let Some(n) = note {
                body["note"] = json!(n);
            }
            let v = client.call("POST", "/api/lock", Some(&body)).await?;
            out.done(&v, "locked; unlock with `hutch unlock --key KEY`");
            Ok(())
        }
        ClientCommand::Unlock { key, .. } => {
            let v = client
                .call("POST", "/api/unlock", Some(&json!({"lock_key": key})))
                .await?;
            out.done(&v, "unlocked");
            Ok(())
        }
        ClientCommand::Applets { action, .. } => applets::applets(action, client, out).await,
        ClientCommand::Datasets { action, .. } => data::datasets(action, client, out).await,
        ClientCommand::Runs { action, .. } => data::runs(action, client, out).await,
        ClientCommand::Upload {
            what: UploadWhat::Spreadsheet { file, place },
            ..
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
            let items = hutch_app::model::spreadsheet::items(&text).map_err(|errors| {
                Failure::Usage(format!(
                    "{} has problems; nothing was added:\n  {}",
                    file.display(),
                    errors.join("\n  ")
                ))
            })?;
            let mut body = queue::placement(&place)?;
            body.insert("items".into(), json!(items));
            let v = client
                .call_keeping(
                    "POST",
                    "/api/queue/item/add/batch",
                    Some(&Value::Object(body)),
                    true,
                )
                .await?;
            // A reply that cannot be read must not be taken for "nothing was added".
            let reply = BatchReply::deserialize(&v).map_err(|e| {
                Failure::Refused(format!(
                    "hutch's reply to the batch add could not be read ({e}); `hutch queue list` shows what the queue holds now: {v}"
                ))
            })?;
            if !reply.success {
                // hutch adds all or nothing; say which rows it refused (the header is row 1).
                let rows: Vec<String> = reply
                    .results
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.success == Some(false))
                    .map(|(i, r)| {
                        format!(
                            "row {}: {}",
                            i + 2,
                            r.text().unwrap_or_else(|| "refused".into())
                        )
                    })
                    .collect();
                return Err(Failure::Refused(format!(
                    "nothing was added; {}:\n  {}",
                    reply.msg,
                    rows.join("\n  ")
                )));
            }
            let qsize = reply
                .qsize
                .map_or_else(|| "?".to_string(), |n| n.to_string());
            out.show(&v, |_| {
                format!("added {} plans; the queue has {qsize}", items.len())
            });
            Ok(())
        }
        ClientCommand::Monitor { .. } => super::live::monitor(client, out).await,
        ClientCommand::Wait {
            what: WaitWhat::Idle { timeout },
            ..
        } => super::live::wait_idle(client, timeout).await,
    }
}

async fn status(client: &Client, out: &Out) -> Result<(), Failure> {
    let v = client.call("GET", "/api/status", None).await?;
    out.show(&v, |v| {
        human(v, |s: ServerStatus| {
            let locked = match (s.lock.environment, s.lock.queue) {
                (true, true) => "environment and queue",
                (true, false) => "environment",
                (false, true) => "queue",
                (false, false) => "no",
            };
            let mode = &s.plan_queue_mode;
            let or_dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
            let rows = [
                ("manager", s.manager_state),
                ("run engine", or_dash(s.re_state)),
                ("environment open", s.worker_environment_exists.to_string()),
                ("queue", s.items_in_queue.to_string()),
                ("history", s.items_in_history.to_string()),
                ("running item", or_dash(s.running_item_uid)),
                ("queue stop pending", s.queue_stop_pending.to_string()),
                ("autostart", s.queue_autostart_enabled.to_string()),
                (
                    "loop / ignore failures",
                    format!("{} / {}", mode.loop_, mode.ignore_failures),
                ),
                ("locked", locked.to_string()),
            ];
            rows.iter()
                .map(|(k, v)| format!("{k:<24}{v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
    });
    Ok(())
}
