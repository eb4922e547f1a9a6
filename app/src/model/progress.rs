//! Progress of the running plan from its run topic: events seen in the primary stream against
//! the start document's `num_points`. Shared by the dashboard and `hutch wait idle`.

use serde::Deserialize;

use crate::model::docs::{Descriptor, DocName, Start};
use crate::model::stream::{Decimated, RunFrame, DECIMATED};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub run: Option<String>,
    pub plan: String,
    /// `num_points` of the start document.
    pub total: Option<u64>,
    /// The start document's `scan_id` and `time` (seconds since the epoch).
    pub scan_id: Option<i64>,
    pub started: Option<f64>,
    /// Events seen per descriptor.
    seen: std::collections::HashMap<String, u64>,
    primary: Option<String>,
}

impl Progress {
    /// 0.0–1.0 when `num_points` is known.
    pub fn fraction(&self) -> Option<f64> {
        self.total
            .filter(|t| *t > 0)
            .map(|t| (self.events().min(t) as f64) / t as f64)
    }

    pub fn new(run: &str, plan: &str) -> Self {
        Progress {
            run: Some(run.into()),
            plan: plan.into(),
            ..Progress::default()
        }
    }

    /// Takes one update of the run topic (subscribed with `max_points`).
    pub fn update(&mut self, frame: &RunFrame) {
        let doc = &frame.doc;
        match frame.name.parse::<DocName>() {
            Ok(DocName::Start) => {
                if let Ok(start) = Start::deserialize(doc) {
                    self.total = start.num_points();
                    self.scan_id = start.scan_id;
                    self.started = Some(start.time);
                }
            }
            Ok(DocName::Descriptor) => match Descriptor::deserialize(doc) {
                Ok(d) if d.name == "primary" => self.primary = Some(d.uid),
                _ => {}
            },
            // Not a document: the decimated buckets of a plot subscription.
            Err(_) if frame.name == DECIMATED => {
                let Ok(d) = Decimated::deserialize(doc) else {
                    return;
                };
                let n: u64 = d.count.iter().sum();
                // Buckets before `start` are unchanged; with two points per stream they hold all
                // but the last bucket, so count from the whole picture when `start` is 0.
                let entry = self.seen.entry(d.descriptor).or_default();
                *entry = if d.start == 0 { n } else { (*entry).max(n) };
            }
            _ => {}
        }
    }

    /// Events seen in the primary stream (or the busiest one before its descriptor).
    pub fn events(&self) -> u64 {
        match &self.primary {
            Some(p) => self.seen.get(p).copied().unwrap_or(0),
            None => self.seen.values().copied().max().unwrap_or(0),
        }
    }

    /// Seconds since the run started, at `now` (seconds since the epoch).
    pub fn elapsed(&self, now: f64) -> Option<f64> {
        self.started.map(|t| (now - t).max(0.0))
    }

    /// Seconds left at the pace so far (time since the start per point seen), once a point was
    /// seen and `num_points` is known.
    pub fn remaining(&self, now: f64) -> Option<f64> {
        let (n, total) = (self.events(), self.total?);
        let elapsed = self.elapsed(now)?;
        (n > 0 && n < total).then(|| elapsed / n as f64 * (total - n) as f64)
    }

    /// What the run is doing, in a scientist's words: before its first point the motors are
    /// moving to the start (or the detectors are staging).
    pub fn phase(&self) -> &'static str {
        match (self.started, self.events()) {
            (None, _) => "Starting",
            (Some(_), 0) => "Moving to start",
            (Some(_), n) if self.total.is_some_and(|t| n >= t) => "Finishing",
            _ => "Taking data",
        }
    }

    /// A text bar for terminals.
    pub fn bar(&self) -> String {
        let n = self.events();
        match self.total {
            Some(t) if t > 0 => {
                let filled = ((n.min(t) * 30) / t) as usize;
                format!(
                    "{} [{}{}] {n}/{t}",
                    self.plan,
                    "#".repeat(filled),
                    ".".repeat(30 - filled)
                )
            }
            _ => format!("{}: {n} events", self.plan),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bar_counts_primary_events_against_num_points() {
        let mut p = Progress::new("r", "scan");
        let frame = |v| serde_json::from_value::<RunFrame>(v).unwrap();
        p.update(&frame(
            json!({"name": "start", "doc": {"uid": "r", "time": 1.0, "num_points": 10, "scan_id": 7}}),
        ));
        assert_eq!(p.phase(), "Moving to start");
        assert_eq!(p.remaining(3.0), None, "no estimate before the first point");
        p.update(&frame(
            json!({"name": "descriptor", "doc": {"name": "primary", "uid": "d", "run_start": "r"}}),
        ));
        p.update(&frame(
            json!({"name": "decimated", "doc": {"descriptor": "d", "start": 0, "count": [2, 3]}}),
        ));
        assert_eq!(
            p.bar(),
            format!("scan [{}{}] 5/10", "#".repeat(15), ".".repeat(15))
        );
        assert_eq!(p.fraction(), Some(0.5));
        assert_eq!(p.scan_id, Some(7));
        assert_eq!(p.phase(), "Taking data");
        // 5 points in 10 s: 5 more take about 10 s.
        assert_eq!(p.elapsed(11.0), Some(10.0));
        assert_eq!(p.remaining(11.0), Some(10.0));
    }
}
