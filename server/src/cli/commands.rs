//! What each client command sends and how it shows the answer.

use serde_json::{json, Map, Value};

use super::args::*;
use super::client::{Client, Failure};
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

/// `[]`, `front`, `back`, `N`, `before UID`, `after UID` → the request keys that place an item.
pub fn placement(words: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut m = Map::new();
    match words {
        [] => {}
        [w] if w == "front" || w == "back" => {
            m.insert("pos".into(), json!(w));
        }
        [w] if w.parse::<i64>().is_ok() => {
            m.insert("pos".into(), json!(w.parse::<i64>().unwrap_or_default()));
        }
        [b, uid] if b == "before" || b == "after" => {
            m.insert(format!("{b}_uid"), json!(uid));
        }
        other => {
            return Err(Failure::Usage(format!(
                "cannot tell where '{}' is: use front, back, an index N, before UID or after UID",
                other.join(" ")
            )))
        }
    }
    Ok(m)
}

/// `front`, `back`, `N` → `pos`; anything else is a uid.
fn item_at(at: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    match at {
        None => {}
        Some(w @ ("front" | "back")) => {
            m.insert("pos".into(), json!(w));
        }
        Some(w) => match w.parse::<i64>() {
            Ok(n) => {
                m.insert("pos".into(), json!(n));
            }
            Err(_) => {
                m.insert("uid".into(), json!(w));
            }
        },
    }
    m
}

fn queue_rows(items: &[QueueItem], first_index: usize) -> Vec<Vec<String>> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            vec![
                (i + first_index).to_string(),
                call(it),
                it.user.clone(),
                uid8(&it.item_uid),
            ]
        })
        .collect()
}

/// The reply of `item/add`, `item/remove`, `item/move`, `item/update`.
#[derive(Deserialize)]
struct ItemReply {
    #[serde(default, deserialize_with = "some_item")]
    item: Option<QueueItem>,
    #[serde(default)]
    qsize: Option<usize>,
}

impl ItemReply {
    /// `count(['det1']) (1a2b3c4d)`.
    fn item(&self) -> String {
        self.item.as_ref().map_or_else(
            || "?".into(),
            |i| format!("{} ({})", call(i), uid8(&i.item_uid)),
        )
    }

    /// `count(['det1'])`.
    fn call(&self) -> String {
        self.item.as_ref().map_or_else(|| "?".into(), call)
    }

    fn qsize(&self) -> String {
        self.qsize.map_or_else(|| "?".into(), |n| n.to_string())
    }
}

/// The reply of `queue/get` and `history/get`.
#[derive(Deserialize)]
struct ListReply {
    items: Vec<QueueItem>,
    #[serde(default, deserialize_with = "some_item")]
    running_item: Option<QueueItem>,
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
        ClientCommand::Queue { action, .. } => queue(action, client, out).await,
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
                    human(v, |l: ListReply| {
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
        ClientCommand::Allowed { what, .. } => allowed(what, client, out).await,
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
        ClientCommand::Applets { action, .. } => applets(action, client, out).await,
        ClientCommand::Datasets { action, .. } => datasets(action, client, out).await,
        ClientCommand::Runs { action, .. } => runs(action, client, out).await,
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
            let mut body = placement(&place)?;
            body.insert("items".into(), json!(items));
            let v = client
                .call_keeping(
                    "POST",
                    "/api/queue/item/add/batch",
                    Some(&Value::Object(body)),
                    true,
                )
                .await?;
            if v["success"] == false {
                // hutch adds all or nothing; say which rows it refused (the header is row 1).
                let rows: Vec<String> = v["results"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r["success"] == false)
                    .map(|(i, r)| {
                        format!("row {}: {}", i + 2, r["msg"].as_str().unwrap_or("refused"))
                    })
                    .collect();
                return Err(Failure::Refused(format!(
                    "nothing was added; {}:\n  {}",
                    v["msg"].as_str().unwrap_or(""),
                    rows.join("\n  ")
                )));
            }
            out.show(&v, |v| {
                format!("added {} plans; the queue has {}", items.len(), v["qsize"])
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

async fn queue(action: QueueAction, client: &Client, out: &Out) -> Result<(), Failure> {
    match action {
        QueueAction::Get => {
            let v = client
                .call("GET", "/api/queue/get", Some(&json!({})))
                .await?;
            out.show(&v, |v| {
                human(v, |l: ListReply| {
                    let mut text = String::new();
                    if let Some(r) = &l.running_item {
                        text.push_str(&format!("running: {} ({})\n", call(r), uid8(&r.item_uid)));
                    }
                    if l.items.is_empty() {
                        text.push_str("the queue is empty");
                    } else {
                        text.push_str(&table(
                            &["#", "plan", "user", "uid"],
                            &queue_rows(&l.items, 0),
                        ));
                    }
                    text
                })
            });
        }
        QueueAction::Clear => {
            let v = client
                .call("POST", "/api/queue/clear", Some(&json!({})))
                .await?;
            out.done(&v, "queue cleared");
        }
        QueueAction::Add { what } => {
            let (kind, words) = match what {
                AddWhat::Plan { words } => ("plan", words),
                AddWhat::Instruction { words } => ("instruction", words),
            };
            let (last, place) = words
                .split_last()
                .ok_or_else(|| Failure::Usage("say what to add".into()))?;
            let mut item = if kind == "instruction" && !last.trim_start().starts_with('{') {
                json!({"name": last.replace('-', "_")})
            } else {
                parse_json(&format!("the {kind}"), last)?
            };
            item["item_type"] = json!(kind);
            let mut body = placement(place)?;
            body.insert("item".into(), item);
            let v = client
                .call("POST", "/api/queue/item/add", Some(&Value::Object(body)))
                .await?;
            out.show(&v, |v| {
                human(v, |r: ItemReply| {
                    format!("added {}; the queue has {}", r.item(), r.qsize())
                })
            });
        }
        QueueAction::Item { action } => match action {
            ItemAction::Get { at } => {
                let v = client
                    .call(
                        "GET",
                        "/api/queue/item/get",
                        Some(&Value::Object(item_at(at.as_deref()))),
                    )
                    .await?;
                out.show(&v, |v| {
                    serde_json::to_string_pretty(&v["item"]).unwrap_or_default()
                });
            }
            ItemAction::Remove { at } => {
                let v = client
                    .call(
                        "POST",
                        "/api/queue/item/remove",
                        Some(&Value::Object(item_at(at.as_deref()))),
                    )
                    .await?;
                out.show(&v, |v| {
                    human(v, |r: ItemReply| {
                        format!("removed {}; the queue has {}", r.call(), r.qsize())
                    })
                });
            }
            ItemAction::Move { from, to } => {
                let mut body = item_at(Some(&from));
                let dest = placement(&to)?;
                for (k, v) in dest {
                    body.insert(if k == "pos" { "pos_dest".into() } else { k }, v);
                }
                let v = client
                    .call("POST", "/api/queue/item/move", Some(&Value::Object(body)))
                    .await?;
                out.show(&v, |v| {
                    human(v, |r: ItemReply| format!("moved {}", r.call()))
                });
            }
            ItemAction::Update { uid, item, replace } => {
                let mut item = parse_json("the item", &item)?;
                item["item_uid"] = json!(uid);
                if item.get("item_type").is_none() {
                    item["item_type"] = json!("plan");
                }
                let v = client
                    .call(
                        "POST",
                        "/api/queue/item/update",
                        Some(&json!({"item": item, "replace": replace})),
                    )
                    .await?;
                out.show(&v, |v| {
                    human(v, |r: ItemReply| format!("updated: {}", r.item()))
                });
            }
        },
        QueueAction::Start => {
            let v = client
                .call("POST", "/api/queue/start", Some(&json!({})))
                .await?;
            out.done(
                &v,
                "queue started (follow it with `hutch monitor` or `hutch wait idle`)",
            );
        }
        QueueAction::Stop { cancel } => {
            let (path, what) = match cancel {
                Some(_) => ("/api/queue/stop/cancel", "the stop request is cancelled"),
                None => ("/api/queue/stop", "the queue stops after the running plan"),
            };
            let v = client.call("POST", path, Some(&json!({}))).await?;
            out.done(&v, what);
        }
        QueueAction::Mode {
            action: ModeAction::Set { key, value },
        } => {
            if key != "loop" && key != "ignore_failures" {
                return Err(Failure::Usage(format!(
                    "unknown queue mode '{key}'; use loop or ignore_failures"
                )));
            }
            let v = client
                .call(
                    "POST",
                    "/api/queue/mode/set",
                    Some(&json!({"mode": {key.clone(): value}})),
                )
                .await?;
            out.done(&v, &format!("queue mode {key} = {value}"));
        }
    }
    Ok(())
}

async fn allowed(what: AllowedWhat, client: &Client, out: &Out) -> Result<(), Failure> {
    let (path, key) = match what {
        AllowedWhat::Plans => ("/api/plans/allowed", "plans_allowed"),
        AllowedWhat::Devices => ("/api/devices/allowed", "devices_allowed"),
    };
    let v = client.call("GET", path, Some(&json!({}))).await?;
    out.show(&v, |v| {
        let map = v[key].as_object().cloned().unwrap_or_default();
        let rows: Vec<Vec<String>> = map
            .iter()
            .map(|(name, d)| match what {
                AllowedWhat::Plans => {
                    let params: Vec<String> =
                        d["parameters"].as_array().map_or_else(Vec::new, |ps| {
                            ps.iter()
                                .map(|p| {
                                    let n = p["name"].as_str().unwrap_or("?");
                                    match p.get("default") {
                                        Some(def) => format!(
                                            "{n}={}",
                                            def.as_str().unwrap_or(&def.to_string())
                                        ),
                                        None => n.to_string(),
                                    }
                                })
                                .collect()
                        });
                    vec![
                        name.clone(),
                        params.join(", "),
                        d["description"]
                            .as_str()
                            .unwrap_or("")
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    ]
                }
                AllowedWhat::Devices => {
                    let caps: Vec<&str> = [
                        ("is_movable", "movable"),
                        ("is_readable", "readable"),
                        ("is_flyable", "flyable"),
                    ]
                    .iter()
                    .filter(|(k, _)| d[*k] == true)
                    .map(|(_, w)| *w)
                    .collect();
                    vec![
                        name.clone(),
                        d["classname"].as_str().unwrap_or("").to_string(),
                        caps.join(", "),
                    ]
                }
            })
            .collect();
        if rows.is_empty() {
            // A bluesky environment describes its plans and devices when it opens.
            return "none yet: the environment describes them when it opens (hutch environment open)".to_string();
        }
        match what {
            AllowedWhat::Plans => table(&["plan", "parameters", "description"], &rows),
            AllowedWhat::Devices => table(&["device", "class", "can be"], &rows),
        }
    });
    Ok(())
}

async fn applets(action: AppletsAction, client: &Client, out: &Out) -> Result<(), Failure> {
    match action {
        AppletsAction::List => {
            let v = client.call("GET", "/api/applets", None).await?;
            #[derive(Deserialize)]
            struct Reply {
                applets: Vec<Applet>,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let rows: Vec<Vec<String>> = r
                        .applets
                        .iter()
                        .map(|a| {
                            vec![
                                a.group.clone(),
                                a.name.clone(),
                                a.kind.as_str().into(),
                                a.version.to_string(),
                                a.updated_by.clone(),
                                uid8(&a.uid),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no applets".into()
                    } else {
                        table(&["group", "name", "kind", "version", "by", "uid"], &rows)
                    }
                })
            });
        }
        AppletsAction::Export { file } => {
            let (status, body) = client.raw("GET", "/api/applets/export", None).await?;
            if status != 200 {
                return Err(Failure::Refused(String::from_utf8_lossy(&body).into()));
            }
            write_out(file.as_deref(), &body)?;
        }
        AppletsAction::Import { file } => {
            let text = std::fs::read(&file)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", file.display())))?;
            let (status, body) = client
                .raw("POST", "/api/applets/import", Some(&text))
                .await?;
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if status != 200 {
                let msg = v["msg"]
                    .as_str()
                    .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), String::from);
                return Err(Failure::Refused(format!(
                    "{} was not imported, nothing changed: {msg}",
                    file.display()
                )));
            }
            out.show(&v, |v| {
                let r = &v["report"];
                let n = |k: &str| r[k].as_array().map_or(0, Vec::len);
                let mut text = format!(
                    "{} created, {} updated, {} restored, {} deleted, {} unchanged",
                    n("created"),
                    n("updated"),
                    n("restored"),
                    n("deleted"),
                    r["unchanged"]
                );
                for c in r["conflicts"].as_array().cloned().unwrap_or_default() {
                    text.push_str(&format!("\nconflict: {}", c.as_str().unwrap_or("")));
                }
                text
            });
        }
    }
    Ok(())
}

fn write_out(file: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    match file {
        Some(f) => std::fs::write(f, bytes)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", f.display()))),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| Failure::Usage(format!("cannot write the output: {e}"))),
    }
}

async fn datasets(action: DatasetsAction, client: &Client, out: &Out) -> Result<(), Failure> {
    #[derive(Deserialize)]
    struct One {
        dataset: Dataset,
    }
    #[derive(Deserialize)]
    struct List {
        datasets: Vec<Dataset>,
    }
    let describe = |d: &Dataset| {
        let unit = d
            .meta
            .unit
            .as_ref()
            .map_or_else(String::new, |u| format!(" {u}"));
        format!("{} = {}{unit}", d.key, short(&d.value))
    };
    match action {
        DatasetsAction::Get { key } => {
            let v = client
                .call("GET", &format!("/api/datasets/{key}"), None)
                .await?;
            out.show(&v, |v| {
                human(v, |One { dataset: d }| {
                    format!(
                        "{}\n(set by {} at {}, version {}{})",
                        describe(&d),
                        d.set_by,
                        d.updated_at,
                        d.version,
                        if d.persist { ", persistent" } else { "" }
                    )
                })
            });
        }
        DatasetsAction::Set {
            key,
            value,
            persist,
            unit,
        } => {
            let value = serde_json::from_str(&value).unwrap_or(Value::String(value));
            let mut body = json!({"value": value});
            if persist {
                body["persist"] = json!(true);
            }
            if let Some(u) = unit {
                body["unit"] = json!(u);
            }
            let v = client
                .call("PUT", &format!("/api/datasets/{key}"), Some(&body))
                .await?;
            out.show(&v, |v| human(v, |r: One| describe(&r.dataset)));
        }
        DatasetsAction::List { prefix } => {
            let path = match prefix {
                Some(p) => format!("/api/datasets?prefix={p}"),
                None => "/api/datasets".into(),
            };
            let v = client.call("GET", &path, None).await?;
            out.show(&v, |v| {
                human(v, |l: List| {
                    let rows: Vec<Vec<String>> = l
                        .datasets
                        .iter()
                        .map(|d| {
                            vec![
                                d.key.clone(),
                                short(&d.value),
                                d.meta.unit.clone().unwrap_or_default(),
                                if d.persist { "yes".into() } else { "".into() },
                                d.set_by.clone(),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no datasets".into()
                    } else {
                        table(&["key", "value", "unit", "persist", "set by"], &rows)
                    }
                })
            });
        }
    }
    Ok(())
}

async fn runs(action: RunsAction, client: &Client, out: &Out) -> Result<(), Failure> {
    match action {
        RunsAction::List { plan, limit } => {
            let mut path = format!("/api/runs?limit={limit}");
            if let Some(p) = plan {
                path.push_str(&format!("&plan={p}"));
            }
            let v = client.call("GET", &path, None).await?;
            #[derive(Deserialize)]
            struct Reply {
                runs: Vec<RunSummary>,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let rows: Vec<Vec<String>> = r
                        .runs
                        .iter()
                        .map(|r| {
                            vec![
                                time(&json!(r.time_start)),
                                r.scan_id.map_or_else(|| "null".into(), |n| n.to_string()),
                                r.plan_name.clone(),
                                r.exit_status.clone().unwrap_or_else(|| "open".into()),
                                r.events().to_string(),
                                r.uid.clone(),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        "no runs".into()
                    } else {
                        table(&["started", "scan", "plan", "exit", "events", "uid"], &rows)
                    }
                })
            });
        }
        RunsAction::Show { uid } => {
            let v = client
                .call("GET", &format!("/api/runs/{uid}"), None)
                .await?;
            #[derive(Deserialize)]
            struct Run {
                #[serde(flatten)]
                summary: RunSummary,
                #[serde(default)]
                streams: Vec<StreamInfo>,
            }
            #[derive(Deserialize)]
            struct Reply {
                run: Run,
            }
            out.show(&v, |v| {
                human(v, |r: Reply| {
                    let (r, streams) = (r.run.summary, r.run.streams);
                    let streams: Vec<String> = streams
                        .iter()
                        .map(|s| {
                            let events = r
                                .num_events
                                .get(&s.name)
                                .map_or_else(|| "null".into(), u64::to_string);
                            format!("{} ({} fields, {events} events)", s.name, s.data_keys.len())
                        })
                        .collect();
                    format!(
                        "run {}\nplan      {} (scan {})\nstarted   {}\nstopped   {}\nexit      {}\nstreams   {}",
                        r.uid,
                        r.plan_name,
                        r.scan_id.map_or_else(|| "null".into(), |n| n.to_string()),
                        time(&json!(r.time_start)),
                        time(&json!(r.time_stop)),
                        r.exit_status.as_deref().unwrap_or("open"),
                        streams.join(", ")
                    )
                })
            });
        }
        RunsAction::Export { uid, file } => {
            let (status, body) = client
                .raw("GET", &format!("/api/runs/{uid}/documents"), None)
                .await?;
            if status != 200 {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                return Err(Failure::Refused(
                    v["msg"]
                        .as_str()
                        .unwrap_or("the run could not be exported")
                        .into(),
                ));
            }
            write_out(file.as_deref(), &body)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn places_read_like_qserver() {
        assert_eq!(placement(&words(&[])).unwrap(), Map::new());
        assert_eq!(
            Value::Object(placement(&words(&["front"])).unwrap()),
            json!({"pos": "front"})
        );
        assert_eq!(
            Value::Object(placement(&words(&["-2"])).unwrap()),
            json!({"pos": -2})
        );
        assert_eq!(
            Value::Object(placement(&words(&["after", "u1"])).unwrap()),
            json!({"after_uid": "u1"})
        );
        assert_eq!(placement(&words(&["sideways"])).unwrap_err().code(), 2);
        assert_eq!(
            Value::Object(item_at(Some("abc-123"))),
            json!({"uid": "abc-123"})
        );
    }
}
