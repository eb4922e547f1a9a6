//! The queue as a tab holds it: the `queue` topic's snapshot with its deltas applied, and the
//! readable one-line summary of an item that the queue and history pages show. Pure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::queue::QueueItem;
use super::stream::{HistoryDelta, QueueDelta};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub items: Vec<QueueItem>,
    /// The running item (`None`, or bluesky's `{}`, when nothing runs).
    #[serde(default, deserialize_with = "running_or_empty")]
    pub running_item: Option<QueueItem>,
}

fn running_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<QueueItem>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Object(m) if m.is_empty() => Ok(None),
        Value::Null => Ok(None),
        _ => serde_json::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl QueueView {
    pub fn apply(&mut self, delta: QueueDelta) {
        match delta {
            QueueDelta::Insert { index, item } => {
                let at = index.min(self.items.len());
                self.items.insert(at, *item);
            }
            QueueDelta::Remove { uid } => self.items.retain(|i| i.item_uid != uid),
            QueueDelta::Move { uid, index } => {
                if let Some(from) = self.items.iter().position(|i| i.item_uid == uid) {
                    let item = self.items.remove(from);
                    let at = index.min(self.items.len());
                    self.items.insert(at, item);
                }
            }
            QueueDelta::Replace { uid, item } => {
                if let Some(slot) = self.items.iter_mut().find(|i| i.item_uid == uid) {
                    *slot = *item;
                }
            }
            QueueDelta::Clear => self.items.clear(),
            QueueDelta::Running { item } => self.running_item = item.map(|b| *b),
        }
    }
}

/// History as the `history` topic keeps it (only its length matters to the pages, which read the
/// dispatch database; a change makes them reload).
pub fn history_len(len: usize, delta: &HistoryDelta) -> usize {
    match delta {
        HistoryDelta::Append { .. } => len + 1,
        HistoryDelta::Trim { count } => len.saturating_sub(*count),
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(short).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// The item in one line, without uids: `scan(det, motor, -1, 1, 11; num=5)`.
pub fn summary(item: &QueueItem) -> String {
    if !item.is_plan() {
        return item.name.clone();
    }
    let mut parts: Vec<String> = item.args().iter().map(short).collect();
    let kw: Vec<String> = item
        .kwargs
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", short(v)))
        .collect();
    let mut text = format!("{}({}", item.name, parts.join(", "));
    if !kw.is_empty() {
        if !parts.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&kw.join(", "));
    }
    parts.clear();
    text.push(')');
    text
}

/// How long something took, for people: `0.4 s`, `12 s`, `3 min 05 s`, `2 h 07 min`.
pub fn duration_text(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return String::new();
    }
    if secs < 10.0 {
        return format!("{secs:.1} s");
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(uid: &str) -> QueueItem {
        serde_json::from_value(
            json!({"name": "count", "args": [["det1"]], "kwargs": {"num": 3},
            "item_type": "plan", "item_uid": uid}),
        )
        .unwrap()
    }

    #[test]
    fn deltas_keep_the_order_the_server_has() {
        let mut q: QueueView =
            serde_json::from_value(json!({"items": [item("a"), item("b")], "running_item": {}}))
                .unwrap();
        assert!(q.running_item.is_none());
        q.apply(QueueDelta::Insert {
            index: 1,
            item: Box::new(item("c")),
        });
        q.apply(QueueDelta::Move {
            uid: "a".into(),
            index: 2,
        });
        let uids: Vec<&str> = q.items.iter().map(|i| i.item_uid.as_str()).collect();
        assert_eq!(uids, ["c", "b", "a"]);
        q.apply(QueueDelta::Remove { uid: "b".into() });
        q.apply(QueueDelta::Running {
            item: Some(Box::new(item("r"))),
        });
        assert_eq!(q.items.len(), 2);
        assert_eq!(q.running_item.as_ref().unwrap().item_uid, "r");
        q.apply(QueueDelta::Clear);
        assert!(q.items.is_empty());
    }

    #[test]
    fn summaries_are_readable() {
        assert_eq!(summary(&item("a")), "count([det1]; num=3)");
        assert_eq!(duration_text(0.42), "0.4 s");
        assert_eq!(duration_text(12.4), "12 s");
        assert_eq!(duration_text(185.0), "3 min 05 s");
        assert_eq!(duration_text(7620.0), "2 h 07 min");
        assert_eq!(duration_text(f64::NAN), "");
        let stop: QueueItem =
            serde_json::from_value(json!({"name": "queue_stop", "item_type": "instruction"}))
                .unwrap();
        assert_eq!(summary(&stop), "queue_stop");
    }
}
