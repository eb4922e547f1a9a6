//! One run's documents folded into columns a plot can read: per stream, `seq_num`, `time` and one
//! column per numeric scalar field, plus the newest frame of each 2-D field.
//!
//! Columns are ring buffers of at most [`MAX_POINTS`] values: a run longer than that keeps its
//! newest points, so a tab's memory stays bounded however long the run. Missing values are NaN.

use std::collections::BTreeMap;

use crate::model::docs::{DataKey, DocName, Document, Start, Stop};
use serde_json::Value;

/// Points kept per column (and so per stream). At 8 bytes a value, a stream of four fields holds
/// at most 48 MB.
pub const MAX_POINTS: usize = 1_000_000;

/// A field as its descriptor describes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyInfo {
    pub units: Option<String>,
    pub shape: Vec<usize>,
    pub dtype: String,
}

impl KeyInfo {
    fn from_key(k: &DataKey) -> KeyInfo {
        KeyInfo {
            units: k.units.clone().filter(|u| !u.is_empty()),
            // A length not known in advance cannot be drawn as a frame: dropped.
            shape: k
                .shape
                .iter()
                .flatten()
                .filter_map(|n| usize::try_from(*n).ok())
                .collect(),
            dtype: k.dtype.clone(),
        }
    }

    pub fn is_scalar_number(&self) -> bool {
        self.shape.is_empty() && matches!(self.dtype.as_str(), "number" | "integer" | "boolean")
    }
}

/// A column of values, at most [`MAX_POINTS`] long: when full, the oldest value goes. Always one
/// contiguous slice (drawing walks it at memory speed); it knows whether it only ever grew, so
/// the extent of a scan's `seq_num`, `time` or motor is its first and last value.
#[derive(Clone, Debug, Default)]
pub struct Column {
    values: Vec<f64>,
    start: usize,
    ascending: bool,
}

impl Column {
    fn new() -> Column {
        Column {
            ascending: true,
            ..Column::default()
        }
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.values[self.start..]
    }

    pub fn len(&self) -> usize {
        self.values.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn last(&self) -> Option<f64> {
        self.as_slice().last().copied()
    }

    fn push(&mut self, v: f64) {
        if let Some(last) = self.last() {
            self.ascending &= v >= last;
        } else {
            self.ascending = v.is_finite();
        }
        self.values.push(v);
    }

    /// Forgets the oldest value. The space is reclaimed in one move once half the buffer is
    /// forgotten, so dropping stays O(1) on average and memory stays within 1.5 × the points.
    fn drop_oldest(&mut self) {
        self.start += 1;
        if self.start >= MAX_POINTS / 2 {
            self.values.drain(..self.start);
            self.start = 0;
        }
    }

    /// The finite `[min, max]`, from the ends when the column only grew.
    pub fn extent(&self) -> Option<(f64, f64)> {
        let s = self.as_slice();
        match (self.ascending, s.first(), s.last()) {
            (true, Some(a), Some(b)) => Some((*a, *b)),
            _ => super::decimate::extent(s.iter().copied()),
        }
    }
}

impl std::ops::Index<usize> for Column {
    type Output = f64;
    fn index(&self, i: usize) -> &f64 {
        &self.as_slice()[i]
    }
}

/// The newest value of a 2-D field: `rows` × `cols`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f64>,
}

/// One event stream (one descriptor).
#[derive(Clone, Debug, Default)]
pub struct StreamData {
    pub name: String,
    pub keys: BTreeMap<String, KeyInfo>,
    /// Detector fields the descriptor hints at (`hints.<device>.fields`), in order.
    pub hinted: Vec<String>,
    pub seq_num: Column,
    pub time: Column,
    pub columns: BTreeMap<String, Column>,
    pub frames: BTreeMap<String, Frame>,
    /// Events dropped from the front because the stream outgrew [`MAX_POINTS`].
    pub dropped: u64,
}

impl StreamData {
    pub fn len(&self) -> usize {
        self.seq_num.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seq_num.is_empty()
    }

    /// A column by field name; `seq_num` and `time` are columns too.
    pub fn column(&self, field: &str) -> Option<&Column> {
        match field {
            "seq_num" => Some(&self.seq_num),
            "time" => Some(&self.time),
            f => self.columns.get(f),
        }
    }

    /// `field [units]` for an axis label.
    pub fn label(&self, field: &str) -> String {
        match self.keys.get(field).and_then(|k| k.units.as_deref()) {
            Some(units) => format!("{field} [{units}]"),
            None if field == "time" => "time [s]".to_string(),
            None => field.to_string(),
        }
    }

    /// An axis label for several fields drawn on one axis: their names (when short enough to
    /// read) and their unit when they share one (`det, noisy_det [counts]`).
    pub fn label_of(&self, fields: &[String]) -> String {
        if let [one] = fields {
            return self.label(one);
        }
        let units = |f: &String| self.keys.get(f).and_then(|k| k.units.as_deref());
        let shared = fields
            .first()
            .and_then(units)
            .filter(|u| fields.iter().all(|f| units(f) == Some(u)));
        let names = fields.join(", ");
        match (names.chars().count() <= 32, shared) {
            (true, Some(u)) => format!("{names} [{u}]"),
            (true, None) => names,
            (false, Some(u)) => format!("value [{u}]"),
            (false, None) => String::new(),
        }
    }

    fn push<'v>(&mut self, seq_num: f64, time: f64, data: impl Fn(&str) -> Option<&'v Value>) {
        if self.seq_num.len() >= MAX_POINTS {
            self.seq_num.drop_oldest();
            self.time.drop_oldest();
            for c in self.columns.values_mut() {
                c.drop_oldest();
            }
            self.dropped += 1;
        }
        self.seq_num.push(seq_num);
        self.time.push(time);
        for (field, column) in self.columns.iter_mut() {
            column.push(data(field).map(number).unwrap_or(f64::NAN));
        }
        for (field, info) in &self.keys {
            if info.shape.len() == 2 {
                if let Some(frame) = data(field).and_then(frame) {
                    self.frames.insert(field.clone(), frame);
                }
            }
        }
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => f64::NAN,
    }
}

/// Most values one 2-D frame may hold (a 2896 × 2896 image); a larger one is not drawn.
pub const MAX_FRAME_VALUES: usize = 8 << 20;

fn frame(v: &Value) -> Option<Frame> {
    let rows = v.as_array()?;
    let cols = rows.first()?.as_array()?.len();
    // Check the shape before allocating: a ragged "image" (one long row and a million empty
    // ones) must not ask for rows × cols values.
    if rows.len().checked_mul(cols)? > MAX_FRAME_VALUES
        || rows
            .iter()
            .any(|r| r.as_array().is_none_or(|r| r.len() != cols))
    {
        return None;
    }
    let mut values = Vec::with_capacity(rows.len() * cols);
    for row in rows {
        values.extend(row.as_array()?.iter().map(number));
    }
    Some(Frame {
        rows: rows.len(),
        cols,
        values,
    })
}

/// A run as far as its documents have arrived.
#[derive(Clone, Debug, Default)]
pub struct RunData {
    pub uid: String,
    pub start: Option<Start>,
    pub stop: Option<Stop>,
    /// Descriptor uid → stream.
    pub streams: BTreeMap<String, StreamData>,
    /// Events in all streams so far (including dropped ones).
    pub events: u64,
}

impl RunData {
    pub fn new(uid: &str) -> RunData {
        RunData {
            uid: uid.to_string(),
            ..RunData::default()
        }
    }

    /// Folds in one document, given by its name on the wire. Other names (hutch's decimated
    /// buckets) and documents that do not read as their type are ignored.
    pub fn apply(&mut self, name: &str, doc: Value) {
        let Ok(name) = name.parse::<DocName>() else {
            return;
        };
        if let Ok(doc) = Document::from_value(name, doc) {
            self.fold(doc);
        }
    }

    /// Folds in one document. Resources and datums are not drawn; events of a descriptor not
    /// seen are dropped.
    pub fn fold(&mut self, doc: Document) {
        match doc {
            Document::Start(start) => self.start = Some(start),
            Document::Stop(stop) => self.stop = Some(stop),
            Document::Descriptor(d) => {
                let keys: BTreeMap<String, KeyInfo> = d
                    .data_keys
                    .iter()
                    .map(|(k, v)| (k.clone(), KeyInfo::from_key(v)))
                    .collect();
                let columns = keys
                    .iter()
                    .filter(|(_, k)| k.is_scalar_number())
                    .map(|(f, _)| (f.clone(), Column::new()))
                    .collect();
                let hinted = d.hinted();
                self.streams.insert(
                    d.uid,
                    StreamData {
                        name: d.name,
                        keys,
                        hinted,
                        columns,
                        ..StreamData::default()
                    },
                );
            }
            Document::Event(e) => {
                let Some(s) = self.streams.get_mut(&e.descriptor) else {
                    return;
                };
                s.push(e.seq_num as f64, e.time, |f: &str| e.data.get(f));
                self.events += 1;
            }
            Document::EventPage(page) => {
                let Some(s) = self.streams.get_mut(&page.descriptor) else {
                    return;
                };
                for (i, seq_num) in page.seq_num.iter().enumerate() {
                    let at = |f: &str| page.data.get(f).and_then(|c| c.get(i));
                    let time = page.time.get(i).copied().unwrap_or(f64::NAN);
                    s.push(*seq_num as f64, time, at);
                }
                self.events += page.seq_num.len() as u64;
            }
            _ => {}
        }
    }

    /// The first stream with this name (`primary`, `baseline`, …).
    pub fn stream(&self, name: &str) -> Option<&StreamData> {
        self.streams.values().find(|s| s.name == name)
    }

    pub fn plan_name(&self) -> &str {
        self.start
            .as_ref()
            .and_then(|s| s.plan_name.as_deref())
            .unwrap_or("")
    }

    pub fn scan_id(&self) -> Option<i64> {
        self.start.as_ref()?.scan_id
    }

    /// Motors named in the start document (`motors`), for the default x axis.
    pub fn motors(&self) -> Vec<String> {
        self.start.as_ref().map(Start::motors).unwrap_or_default()
    }

    /// `scan 12` (or the start of the uid) for legends.
    pub fn short_name(&self) -> String {
        match self.scan_id() {
            Some(id) => format!("scan {id}"),
            None => self.uid.chars().take(8).collect(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
