//! Live min/max decimation of one stream for a plot, without IO.
//!
//! Events are folded into buckets of `width` consecutive events; each bucket keeps, for every
//! numeric scalar field, the minimum and the maximum. When there are more buckets than the plot
//! asked for, neighbours are merged pairwise and the width doubles, so however long the run, the
//! browser holds at most `max_points` values per field and drawing min and max per bucket shows
//! every peak. Updates carry only the buckets that changed (`start` onward).

use hutch_app::model::docs::EventPage;
use hutch_app::model::stream::{Decimated, MinMax};
use serde_json::{Map, Value};

#[derive(Clone, Debug)]
struct Bucket {
    seq_num: i64,
    time: f64,
    count: u64,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Bucket {
    fn absorb(&mut self, other: &Bucket) {
        self.count += other.count;
        for i in 0..self.min.len() {
            self.min[i] = fmin(self.min[i], other.min[i]);
            self.max[i] = fmax(self.max[i], other.max[i]);
        }
    }
}

fn fmin(a: f64, b: f64) -> f64 {
    if a.is_nan() || b < a {
        b
    } else {
        a
    }
}

fn fmax(a: f64, b: f64) -> f64 {
    if a.is_nan() || b > a {
        b
    } else {
        a
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

#[derive(Debug)]
pub struct Decimator {
    max_buckets: usize,
    width: u64,
    fields: Vec<String>,
    buckets: Vec<Bucket>,
    /// The first bucket changed since the last update, if any.
    dirty_from: Option<usize>,
}

impl Decimator {
    /// A decimator keeping at most `max_points` values per field (half of them minima).
    pub fn new(max_points: usize) -> Self {
        Decimator {
            max_buckets: (max_points / 2).max(1),
            width: 1,
            fields: Vec::new(),
            buckets: Vec::new(),
            dirty_from: None,
        }
    }

    /// Folds in one event's `seq_num`, `time` and `data`.
    pub fn push(&mut self, seq_num: i64, time: f64, data: &Map<String, Value>) {
        if self.buckets.is_empty() && self.fields.is_empty() {
            self.fields = data
                .iter()
                .filter(|(_, v)| number(v).is_some())
                .map(|(k, _)| k.clone())
                .collect();
        }
        let values: Vec<f64> = self
            .fields
            .iter()
            .map(|f| data.get(f).and_then(number).unwrap_or(f64::NAN))
            .collect();
        let last = self.buckets.len().wrapping_sub(1);
        match self.buckets.last_mut() {
            Some(b) if b.count < self.width => {
                b.count += 1;
                for (i, v) in values.iter().enumerate() {
                    b.min[i] = fmin(b.min[i], *v);
                    b.max[i] = fmax(b.max[i], *v);
                }
                self.mark(last);
            }
            _ => {
                self.buckets.push(Bucket {
                    seq_num,
                    time,
                    count: 1,
                    min: values.clone(),
                    max: values,
                });
                self.mark(self.buckets.len() - 1);
            }
        }
        if self.buckets.len() > self.max_buckets {
            self.halve();
        }
    }

    /// Folds in every event of an `event_page`.
    pub fn push_page(&mut self, page: &EventPage) {
        let mut row = Map::new();
        for (i, (seq_num, time)) in page.seq_num.iter().zip(&page.time).enumerate() {
            row.clear();
            for (k, col) in &page.data {
                if let Some(v) = col.get(i).filter(|v| number(v).is_some()) {
                    row.insert(k.clone(), v.clone());
                }
            }
            self.push(*seq_num, *time, &row);
        }
    }

    fn mark(&mut self, index: usize) {
        self.dirty_from = Some(self.dirty_from.map_or(index, |d| d.min(index)));
    }

    fn halve(&mut self) {
        self.width *= 2;
        let old = std::mem::take(&mut self.buckets);
        for pair in old.chunks(2) {
            let mut b = pair[0].clone();
            if let Some(second) = pair.get(1) {
                b.absorb(second);
            }
            self.buckets.push(b);
        }
        self.dirty_from = Some(0);
    }

    /// Events folded in so far.
    pub fn events(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum()
    }

    /// The changed buckets since the last call (`descriptor` left for the caller to fill).
    pub fn take_update(&mut self) -> Option<Decimated> {
        let start = self.dirty_from.take()?;
        let changed = &self.buckets[start..];
        let data = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let min_max = MinMax {
                    min: changed.iter().map(|b| finite(b.min[i])).collect(),
                    max: changed.iter().map(|b| finite(b.max[i])).collect(),
                };
                (field.clone(), min_max)
            })
            .collect();
        Some(Decimated {
            descriptor: String::new(),
            width: self.width,
            start,
            seq_num: changed.iter().map(|b| b.seq_num).collect(),
            time: changed.iter().map(|b| finite(b.time)).collect(),
            count: changed.iter().map(|b| b.count).collect(),
            data,
        })
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn push(d: &mut Decimator, n: i64, x: f64) {
        let data = json!({"x": x, "name": "text"});
        d.push(n, n as f64, data.as_object().unwrap());
    }

    #[test]
    fn a_long_stream_stays_within_max_points_and_keeps_its_extremes() {
        let mut d = Decimator::new(100);
        for n in 0..100_000 {
            let x = if n == 73_321 {
                1e6
            } else if n == 5 {
                -1e6
            } else {
                (n as f64 / 1000.0).sin()
            };
            push(&mut d, n, x);
        }
        assert_eq!(d.events(), 100_000);
        let u = d.take_update().unwrap();
        assert_eq!(u.start, 0);
        let x = &u.data["x"];
        assert!(x.max.len() <= 50, "{} buckets", x.max.len());
        assert!(x.max.contains(&Some(1e6)));
        assert!(x.min.contains(&Some(-1e6)));
        assert!(!u.data.contains_key("name"), "text fields are not plotted");
        assert_eq!(u.count.iter().sum::<u64>(), 100_000);
    }

    #[test]
    fn updates_carry_only_the_changed_tail() {
        let mut d = Decimator::new(1000);
        for n in 0..10 {
            push(&mut d, n, n as f64);
        }
        assert_eq!(d.take_update().unwrap().seq_num.len(), 10);
        assert!(d.take_update().is_none(), "nothing changed");
        push(&mut d, 10, 3.0);
        let u = d.take_update().unwrap();
        assert_eq!(u.start, 10);
        assert_eq!(u.data["x"].max, [Some(3.0)]);
    }

    #[test]
    fn missing_values_do_not_poison_a_bucket() {
        let mut d = Decimator::new(2);
        d.push(1, 1.0, json!({"x": 1.0}).as_object().unwrap());
        d.push(2, 2.0, json!({}).as_object().unwrap());
        d.push(3, 3.0, json!({"x": 5.0}).as_object().unwrap());
        let u = d.take_update().unwrap();
        assert_eq!(u.data["x"].min, [Some(1.0)]);
        assert_eq!(u.data["x"].max, [Some(5.0)]);
    }
}
