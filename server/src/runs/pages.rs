//! Turning a run's events into `event_page`s and back, without IO: the live feed and the replay
//! of a stored run both send events to browsers in pages, one frame per page instead of one per
//! event.

use hutch_app::model::docs::{Event, EventPage};
use serde::Deserialize;
use serde_json::Value;

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
    keys: Vec<String>,
    /// Run seq of the first event and one past the last.
    first: u64,
    end: u64,
    /// Values in `data` so far (see [`weight`]).
    values: usize,
    page: EventPage,
}

/// A page ready to send: `[first, end)` are the run seqs of its events.
#[derive(Debug, PartialEq)]
pub struct Finished {
    pub first: u64,
    pub end: u64,
    pub page: EventPage,
}

/// Collects consecutive events of one run into pages.
#[derive(Debug, Default)]
pub struct Pager {
    pages: Vec<Page>,
}

/// The keys of an event's `data` and `filled`: a page holds events with the same ones.
fn keys(event: &Event) -> Vec<String> {
    let data = event.data.keys().map(|k| format!("data.{k}"));
    let filled = event.filled.keys().map(|k| format!("filled.{k}"));
    let mut keys: Vec<String> = data.chain(filled).collect();
    keys.sort_unstable();
    keys
}

impl Pager {
    /// Adds the event stored at run seq `seq`.
    pub fn push(&mut self, seq: u64, event: Event) {
        let keys = keys(&event);
        let values: usize = event.data.values().map(weight).sum();
        let fits = self.pages.last().is_some_and(|p| {
            p.page.descriptor == event.descriptor
                && p.end == seq
                && p.keys == keys
                && p.page.len() < MAX_PAGE
                && p.values + values <= MAX_PAGE_VALUES
        });
        if !fits {
            self.pages.push(Page {
                keys,
                first: seq,
                end: seq,
                values: 0,
                page: EventPage::new(&event.descriptor),
            });
        }
        if let Some(page) = self.pages.last_mut() {
            page.end = seq + 1;
            page.values += values;
            page.page.push(event);
        }
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.page.len()).sum()
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
                page: p.page,
            })
            .collect()
    }
}

/// The events of a (validated) `event_page` document, in order.
pub fn unpage(page: &Value) -> Vec<Event> {
    EventPage::deserialize(page)
        .map(EventPage::into_events)
        .unwrap_or_default()
}

/// A (validated) `event` document, typed.
pub fn event(doc: &Value) -> Option<Event> {
    Event::deserialize(doc).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn event(d: &str, n: i64, keys: &[&str]) -> Event {
        let data: Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), json!(n * 10)))
            .collect();
        let ts: Map<String, Value> = keys.iter().map(|k| (k.to_string(), json!(1.5))).collect();
        serde_json::from_value(
            json!({"uid": format!("{d}-{n}"), "time": n as f64, "data": data,
               "timestamps": ts, "seq_num": n, "filled": {}, "descriptor": d}),
        )
        .unwrap()
    }

    #[test]
    fn consecutive_events_share_a_page_and_round_trip() {
        let mut p = Pager::default();
        let events: Vec<Event> = (1..=3).map(|n| event("d1", n, &["x", "y"])).collect();
        for (i, e) in events.iter().enumerate() {
            p.push(10 + i as u64, e.clone());
        }
        assert_eq!(p.len(), 3);
        let pages = p.take();
        assert!(p.is_empty());
        assert_eq!(pages.len(), 1);
        assert_eq!((pages[0].first, pages[0].end), (10, 13));
        assert_eq!(pages[0].page.data["x"], [json!(10), json!(20), json!(30)]);
        let doc = serde_json::to_value(&pages[0].page).unwrap();
        assert_eq!(unpage(&doc), events);
    }

    #[test]
    fn a_new_page_starts_on_another_descriptor_other_keys_or_a_hole() {
        let mut p = Pager::default();
        p.push(0, event("a", 1, &["x"]));
        p.push(1, event("b", 1, &["x"]));
        p.push(2, event("b", 2, &["x", "z"]));
        p.push(4, event("b", 3, &["x", "z"])); // seq 3 was another document
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
            e.data = img.as_object().unwrap().clone();
            e.timestamps = json!({"img": 1.0, "det": 1.0}).as_object().unwrap().clone();
            p.push(n as u64, e);
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
            p.push(n, event("a", n as i64, &["x"]));
        }
        let pages = p.take();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].end - pages[1].first, 5);
    }
}
