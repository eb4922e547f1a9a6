//! Events and event pages: their types, read in one pass (they are most of what is ingested),
//! and one into the other (event-model's `pack_event_page` and `unpack_event_page`; keys outside
//! event-model's own are not carried across).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::document::Rest;

/// Readings at one moment; `data`, `timestamps` and `filled` map field to value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Rest")]
pub struct Event {
    pub uid: String,
    pub descriptor: String,
    pub time: f64,
    pub seq_num: i64,
    #[serde(default)]
    pub data: Map<String, Value>,
    #[serde(default)]
    pub timestamps: Map<String, Value>,
    #[serde(default)]
    pub filled: Map<String, Value>,
    #[serde(flatten)]
    pub rest: Rest,
}

/// Events of one descriptor as columns: `data`, `timestamps` and `filled` map field to a list
/// with one value per event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Rest")]
pub struct EventPage {
    pub descriptor: String,
    pub uid: Vec<String>,
    pub time: Vec<f64>,
    pub seq_num: Vec<i64>,
    #[serde(default)]
    pub data: BTreeMap<String, Vec<Value>>,
    #[serde(default)]
    pub timestamps: BTreeMap<String, Vec<Value>>,
    #[serde(default)]
    pub filled: BTreeMap<String, Vec<Value>>,
    #[serde(flatten)]
    pub rest: Rest,
}

// Events and pages are read by taking their known keys out of the JSON object, in one pass:
// serde's derived `flatten` buffers every value of the document first, which halved the rate
// at which the store takes events.
impl TryFrom<Rest> for Event {
    type Error = String;

    fn try_from(m: Rest) -> Result<Event, String> {
        let mut f = Fields(m);
        Ok(Event {
            uid: f.take("uid")?,
            descriptor: f.take("descriptor")?,
            time: f.take("time")?,
            seq_num: f.take("seq_num")?,
            data: f.object("data")?,
            timestamps: f.object("timestamps")?,
            filled: f.object("filled")?,
            rest: f.0,
        })
    }
}

impl TryFrom<Rest> for EventPage {
    type Error = String;

    fn try_from(m: Rest) -> Result<EventPage, String> {
        let mut f = Fields(m);
        Ok(EventPage {
            descriptor: f.take("descriptor")?,
            uid: f.take("uid")?,
            time: f.take("time")?,
            seq_num: f.take("seq_num")?,
            data: f.or_default("data")?,
            timestamps: f.or_default("timestamps")?,
            filled: f.or_default("filled")?,
            rest: f.0,
        })
    }
}

/// A document's object, its known keys taken out one by one; what is left is its `rest`.
struct Fields(Rest);

impl Fields {
    fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<T, String> {
        let v = self
            .0
            .remove(key)
            .ok_or_else(|| format!("'{key}' is missing"))?;
        serde_json::from_value(v).map_err(|e| format!("'{key}': {e}"))
    }

    fn or_default<T: DeserializeOwned + Default>(&mut self, key: &str) -> Result<T, String> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(v) => serde_json::from_value(v).map_err(|e| format!("'{key}': {e}")),
        }
    }

    /// An object kept as it is (moved, not rebuilt).
    fn object(&mut self, key: &str) -> Result<Map<String, Value>, String> {
        match self.0.remove(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(format!("'{key}' must be an object")),
        }
    }
}

impl EventPage {
    /// An empty page of `descriptor`'s events.
    pub fn new(descriptor: &str) -> EventPage {
        EventPage {
            descriptor: descriptor.to_string(),
            ..EventPage::default()
        }
    }

    /// Events on the page.
    pub fn len(&self) -> usize {
        self.uid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uid.is_empty()
    }

    /// Appends `event` (of this page's descriptor, with the keys of the events before it).
    pub fn push(&mut self, event: Event) {
        self.uid.push(event.uid);
        self.time.push(event.time);
        self.seq_num.push(event.seq_num);
        push_columns(&mut self.data, event.data);
        push_columns(&mut self.timestamps, event.timestamps);
        push_columns(&mut self.filled, event.filled);
    }

    /// Drops the first `n` events (a client already has them).
    pub fn skip(&mut self, n: usize) {
        let n = n.min(self.uid.len());
        self.uid.drain(..n);
        self.time.drain(..n.min(self.time.len()));
        self.seq_num.drain(..n.min(self.seq_num.len()));
        for cols in [&mut self.data, &mut self.timestamps, &mut self.filled] {
            for col in cols.values_mut() {
                col.drain(..n.min(col.len()));
            }
        }
    }

    /// Whether `other`'s events can follow this page's in one page: the same descriptor and the
    /// same keys.
    pub fn same_columns(&self, other: &EventPage) -> bool {
        let keys = |m: &BTreeMap<String, Vec<Value>>| m.keys().cloned().collect::<Vec<_>>();
        self.descriptor == other.descriptor
            && keys(&self.data) == keys(&other.data)
            && keys(&self.timestamps) == keys(&other.timestamps)
            && keys(&self.filled) == keys(&other.filled)
    }

    /// Appends `other`'s events (see [`EventPage::same_columns`]).
    pub fn append(&mut self, other: &EventPage) {
        self.uid.extend_from_slice(&other.uid);
        self.time.extend_from_slice(&other.time);
        self.seq_num.extend_from_slice(&other.seq_num);
        for (to, from) in [
            (&mut self.data, &other.data),
            (&mut self.timestamps, &other.timestamps),
            (&mut self.filled, &other.filled),
        ] {
            for (k, col) in from {
                to.entry(k.clone()).or_default().extend_from_slice(col);
            }
        }
    }

    /// The page's events, in order. A column shorter than the page (a page that was not checked)
    /// leaves its field out of the events it does not reach.
    pub fn into_events(self) -> Vec<Event> {
        let mut data = columns(self.data);
        let mut timestamps = columns(self.timestamps);
        let mut filled = columns(self.filled);
        let mut time = self.time.into_iter();
        let mut seq_num = self.seq_num.into_iter();
        self.uid
            .into_iter()
            .map(|uid| Event {
                uid,
                descriptor: self.descriptor.clone(),
                time: time.next().unwrap_or(f64::NAN),
                seq_num: seq_num.next().unwrap_or_default(),
                data: row(&mut data),
                timestamps: row(&mut timestamps),
                filled: row(&mut filled),
                rest: Map::new(),
            })
            .collect()
    }
}

fn push_columns(columns: &mut BTreeMap<String, Vec<Value>>, cells: Map<String, Value>) {
    for (k, v) in cells {
        columns.entry(k).or_default().push(v);
    }
}

type Columns = Vec<(String, std::vec::IntoIter<Value>)>;

fn columns(cols: BTreeMap<String, Vec<Value>>) -> Columns {
    cols.into_iter().map(|(k, v)| (k, v.into_iter())).collect()
}

/// The next value of every column, as one event's map.
fn row(columns: &mut Columns) -> Map<String, Value> {
    columns
        .iter_mut()
        .filter_map(|(k, col)| col.next().map(|v| (k.clone(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(n: i64) -> Event {
        serde_json::from_value(
            json!({"uid": format!("e{n}"), "descriptor": "d", "time": n as f64,
            "seq_num": n, "data": {"x": n * 10, "y": [n, n]}, "timestamps": {"x": 1.5, "y": 2.5},
            "filled": {}}),
        )
        .unwrap()
    }

    #[test]
    fn events_pack_into_a_page_and_unpack_unchanged() {
        let events: Vec<Event> = (1..=3).map(event).collect();
        let mut page = EventPage::new("d");
        for e in events.clone() {
            page.push(e);
        }
        assert_eq!(page.len(), 3);
        assert_eq!(page.data["x"], [json!(10), json!(20), json!(30)]);
        assert_eq!(page.seq_num, [1, 2, 3]);
        assert_eq!(page.into_events(), events);
    }

    #[test]
    fn pages_skip_and_append_like_their_events() {
        let mut a = EventPage::new("d");
        let mut b = EventPage::new("d");
        for n in 1..=3 {
            a.push(event(n));
        }
        for n in 4..=5 {
            b.push(event(n));
        }
        assert!(a.same_columns(&b));
        a.append(&b);
        a.skip(2);
        let seqs: Vec<i64> = a.clone().into_events().iter().map(|e| e.seq_num).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(a.data["x"].len(), 3);
        assert!(!a.same_columns(&EventPage::new("other")));
    }

    #[test]
    fn a_short_column_leaves_its_field_out_instead_of_panicking() {
        let page: EventPage = serde_json::from_value(json!({"descriptor": "d", "uid": ["a", "b"],
            "time": [1.0], "seq_num": [1, 2], "data": {"x": [5]}, "timestamps": {}}))
        .unwrap();
        let events = page.into_events();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data["x"], 5);
        assert!(events[1].data.is_empty() && events[1].time.is_nan());
    }
}
