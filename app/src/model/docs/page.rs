//! Events and event pages, one into the other (event-model's `pack_event_page` and
//! `unpack_event_page`). Keys outside event-model's own are not carried across.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::document::{Event, EventPage};

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
