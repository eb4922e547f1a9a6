//! Turning a run's events into `event_page`s and back, without IO: the live feed and the replay
//! of a stored run both send events to browsers in pages, one frame per page instead of one per
//! event.

use serde_json::{Map, Value};

/// Events per page at most, so one frame stays a few hundred kilobytes for scalar streams.
pub const MAX_PAGE: usize = 2000;
/// Values (numbers, strings, …) in the data of one page at most: about 1 MB of JSON, so a
/// stream of images gets one or a few per page instead of megabyte frames.
pub const MAX_PAGE_VALUES: usize = 100_000;

/// How many plain values an event's data holds (an image of 512×512 holds 262 144).
pub fn weight(data: &Value) -> usize {
    match data {
        Value::Array(a) => a.iter().map(weight).sum(),
        Value::Object(m) => m.values().map(weight).sum(),
        _ => 1,
    }
}

/// One page being filled: consecutive events of one descriptor with the same keys.
#[derive(Debug)]
struct Page {
    descriptor: String,
    keys: Vec<String>,
    /// Run seq of the first event and one past the last.
    first: u64,
    /// Values in `data` so far (see [`weight`]).
    values: usize,
    end: u64,
    uid: Vec<Value>,
    time: Vec<Value>,
    seq_num: Vec<Value>,
    data: Map<String, Value>,
    timestamps: Map<String, Value>,
    filled: Map<String, Value>,
}

impl Page {
    fn into_doc(self) -> Value {
        let mut doc = Map::new();
        doc.insert("descriptor".into(), Value::String(self.descriptor));
        doc.insert("uid".into(), Value::Array(self.uid));
        doc.insert("time".into(), Value::Array(self.time));
        doc.insert("seq_num".into(), Value::Array(self.seq_num));
        doc.insert("data".into(), Value::Object(self.data));
        doc.insert("timestamps".into(), Value::Object(self.timestamps));
        doc.insert("filled".into(), Value::Object(self.filled));
        Value::Object(doc)
    }
}

/// A page ready to send: `[first, end)` are the run seqs of its events.
#[derive(Debug, PartialEq)]
pub struct Finished {
    pub first: u64,
    pub end: u64,
    pub doc: Value,
}

/// Collects consecutive events of one run into pages.
#[derive(Debug, Default)]
pub struct Pager {
    pages: Vec<Page>,
}

fn keys(event: &Value) -> Vec<String> {
    let mut keys: Vec<String> = ["data", "filled"]
        .iter()
        .flat_map(|part| {
            event[part]
                .as_object()
                .into_iter()
                .flat_map(move |m| m.keys().map(move |k| format!("{part}.{k}")))
        })
        .collect();
    keys.sort_unstable();
    keys
}

fn push_column(columns: &mut Map<String, Value>, from: &Value) {
    if let Some(from) = from.as_object() {
        for (k, v) in from {
            if let Value::Array(col) = columns.entry(k.clone()).or_insert(Value::Array(Vec::new()))
            {
                col.push(v.clone());
            }
        }
    }
}

impl Pager {
    /// Adds the event stored at run seq `seq`.
    pub fn push(&mut self, seq: u64, event: &Value) {
        let descriptor = event["descriptor"].as_str().unwrap_or_default();
        let keys = keys(event);
        let values = weight(&event["data"]);
        let fits = self.pages.last().is_some_and(|p| {
            p.descriptor == descriptor
                && p.end == seq
                && p.keys == keys
                && p.uid.len() < MAX_PAGE
                && p.values + values <= MAX_PAGE_VALUES
        });
        if !fits {
            self.pages.push(Page {
                descriptor: descriptor.to_string(),
                keys,
                first: seq,
                end: seq,
                values: 0,
                uid: Vec::new(),
                time: Vec::new(),
                seq_num: Vec::new(),
                data: Map::new(),
                timestamps: Map::new(),
                filled: Map::new(),
            });
        }
        let page = self.pages.last_mut().expect("pushed above");
        page.end = seq + 1;
        page.values += values;
        page.uid.push(event["uid"].clone());
        page.time.push(event["time"].clone());
        page.seq_num.push(event["seq_num"].clone());
        push_column(&mut page.data, &event["data"]);
        push_column(&mut page.timestamps, &event["timestamps"]);
        push_column(&mut page.filled, &event["filled"]);
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.uid.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The pages collected so far, in order; the pager is empty afterwards.
    pub fn take(&mut self) -> Vec<Finished> {
        self.pages
            .drain(..)
            .map(|p| Finished {
                first: p.first,
                end: p.end,
                doc: p.into_doc(),
            })
            .collect()
    }
}

/// The events of a (validated) `event_page`, in order.
pub fn unpage(page: &Value) -> Vec<Value> {
    let n = page["uid"].as_array().map_or(0, Vec::len);
    let cell = |part: &str, i: usize| -> Value {
        let Some(cols) = page[part].as_object() else {
            return Value::Object(Map::new());
        };
        Value::Object(
            cols.iter()
                .map(|(k, col)| (k.clone(), col[i].clone()))
                .collect(),
        )
    };
    (0..n)
        .map(|i| {
            let mut e = Map::new();
            e.insert("uid".into(), page["uid"][i].clone());
            e.insert("time".into(), page["time"][i].clone());
            e.insert("data".into(), cell("data", i));
            e.insert("timestamps".into(), cell("timestamps", i));
            e.insert("seq_num".into(), page["seq_num"][i].clone());
            e.insert("filled".into(), cell("filled", i));
            e.insert("descriptor".into(), page["descriptor"].clone());
            Value::Object(e)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(d: &str, n: i64, keys: &[&str]) -> Value {
        let data: Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), json!(n * 10)))
            .collect();
        let ts: Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(1.5))).collect();
        json!({"uid": format!("{d}-{n}"), "time": n as f64, "data": data, "timestamps": ts,
               "seq_num": n, "filled": {}, "descriptor": d})
    }

    #[test]
    fn consecutive_events_share_a_page_and_round_trip() {
        let mut p = Pager::default();
        let events: Vec<Value> = (1..=3).map(|n| event("d1", n, &["x", "y"])).collect();
        for (i, e) in events.iter().enumerate() {
            p.push(10 + i as u64, e);
        }
        assert_eq!(p.len(), 3);
        let pages = p.take();
        assert!(p.is_empty());
        assert_eq!(pages.len(), 1);
        assert_eq!((pages[0].first, pages[0].end), (10, 13));
        assert_eq!(pages[0].doc["data"]["x"], json!([10, 20, 30]));
        assert_eq!(unpage(&pages[0].doc), events);
    }

    #[test]
    fn a_new_page_starts_on_another_descriptor_other_keys_or_a_hole() {
        let mut p = Pager::default();
        p.push(0, &event("a", 1, &["x"]));
        p.push(1, &event("b", 1, &["x"]));
        p.push(2, &event("b", 2, &["x", "z"]));
        p.push(4, &event("b", 3, &["x", "z"])); // seq 3 was another document
        let pages = p.take();
        let spans: Vec<(u64, u64)> = pages.iter().map(|f| (f.first, f.end)).collect();
        assert_eq!(spans, vec![(0, 1), (1, 2), (2, 3), (4, 5)]);
    }

    #[test]
    fn big_arrays_get_small_pages() {
        let mut p = Pager::default();
        let img = json!({"img": vec![vec![0u8; 200]; 200], "det": 1.0});
        assert_eq!(weight(&img), 40_001);
        for n in 0..5 {
            let mut e = event("a", n, &[]);
            e["data"] = img.clone();
            e["timestamps"] = json!({"img": 1.0, "det": 1.0});
            p.push(n as u64, &e);
        }
        let sizes: Vec<u64> = p.take().iter().map(|f| f.end - f.first).collect();
        assert_eq!(
            sizes,
            vec![2, 2, 1],
            "at most {MAX_PAGE_VALUES} values per page"
        );
    }

    #[test]
    fn pages_are_bounded() {
        let mut p = Pager::default();
        for n in 0..(MAX_PAGE as u64 + 5) {
            p.push(n, &event("a", n as i64, &["x"]));
        }
        let pages = p.take();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].end - pages[1].first, 5);
    }
}
