//! `hutch queue …`: the queue and its items, where they go (`front`, `before UID`, …).

use super::*;

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
pub(super) struct ListReply {
    pub(super) items: Vec<QueueItem>,
    #[serde(default, deserialize_with = "some_item")]
    running_item: Option<QueueItem>,
}

pub(super) async fn queue(action: QueueAction, client: &Client, out: &Out) -> Result<(), Failure> {
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
                    let item = v.get("item").unwrap_or(&Value::Null);
                    serde_json::to_string_pretty(item).unwrap_or_default()
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
