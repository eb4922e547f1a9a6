//! An applet's spec as a type: [`AppletSpec::parse`] is the validation, and what it returns is
//! what the plots read (every default decided here, once).
//!
//! The wire form stays the JSON object bluesky users write (`{"latest": true, "y": "det"}`);
//! parsing is by hand rather than by serde so that every refusal names the field and says what
//! to write instead (`spec.overlay: must be an integer from 0 to 20`).

use super::{AppletKind, SpecError};

/// Where a plot's or a table's data comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One fixed run.
    Run(String),
    /// The newest run of this plan, following new runs as they start.
    LatestOfPlan(String),
    /// The newest run of any plan.
    Latest,
    /// Dataset values instead of a run.
    Datasets(Vec<String>),
}

/// A source and, for run sources, the stream read (`primary` unless the spec says otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    pub source: Source,
    pub stream: String,
}

impl Data {
    /// The dataset keys, for a datasets source.
    pub fn datasets(&self) -> Option<&[String]> {
        match &self.source {
            Source::Datasets(keys) => Some(keys),
            _ => None,
        }
    }
}

/// `line` and `scatter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XySpec {
    pub data: Data,
    /// `seq_num` unless given.
    pub x: String,
    /// At least one field for a run source; empty for datasets (the keys are the curves).
    pub y: Vec<String>,
    /// Earlier runs drawn beside the live one, 0–20.
    pub overlay: usize,
}

/// What an `image` applet draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Image {
    /// A 2-D array field, one frame per event.
    Field(String),
    /// A grid scan: `z` at (`x`, `y`).
    Grid { x: String, y: String, z: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    pub data: Data,
    pub image: Image,
    pub colormap: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistogramSpec {
    pub data: Data,
    /// A field of the run, or a dataset key for a datasets source.
    pub field: String,
    /// 1–10 000; 50 unless given.
    pub bins: usize,
}

/// What a `value` applet reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    Dataset(String),
    /// The newest value of a field of a run.
    Field {
        data: Data,
        field: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSpec {
    pub reading: Reading,
    /// Decimals shown, 0–15.
    pub precision: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub data: Data,
    /// `None`: every numeric field of the stream.
    pub fields: Option<Vec<String>>,
    /// The newest rows shown, 1–10 000; 20 unless given.
    pub rows: usize,
}

/// A valid spec of one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppletSpec {
    Line(XySpec),
    Scatter(XySpec),
    Image(ImageSpec),
    Histogram(HistogramSpec),
    Value(ValueSpec),
    Table(TableSpec),
    Markdown { text: String },
}

const SOURCE_KEYS: [&str; 5] = ["run", "latest_of_plan", "latest", "datasets", "stream"];

impl AppletSpec {
    pub fn kind(&self) -> AppletKind {
        match self {
            AppletSpec::Line(_) => AppletKind::Line,
            AppletSpec::Scatter(_) => AppletKind::Scatter,
            AppletSpec::Image(_) => AppletKind::Image,
            AppletSpec::Histogram(_) => AppletKind::Histogram,
            AppletSpec::Value(_) => AppletKind::Value,
            AppletSpec::Table(_) => AppletKind::Table,
            AppletSpec::Markdown { .. } => AppletKind::Markdown,
        }
    }

    /// Where the applet's data comes from; `None` for markdown and a dataset readout.
    pub fn data(&self) -> Option<&Data> {
        match self {
            AppletSpec::Line(s) | AppletSpec::Scatter(s) => Some(&s.data),
            AppletSpec::Image(s) => Some(&s.data),
            AppletSpec::Histogram(s) => Some(&s.data),
            AppletSpec::Value(ValueSpec {
                reading: Reading::Field { data, .. },
                ..
            }) => Some(data),
            AppletSpec::Table(s) => Some(&s.data),
            AppletSpec::Value(_) | AppletSpec::Markdown { .. } => None,
        }
    }

    /// The plan whose newest run the applet follows, if it follows one.
    pub fn followed_plan(&self) -> Option<&str> {
        match self.data().map(|d| &d.source) {
            Some(Source::LatestOfPlan(plan)) => Some(plan),
            _ => None,
        }
    }

    /// The fields of its run the applet reads (none for a datasets source or a whole table).
    pub fn fields(&self) -> Vec<&str> {
        if self.data().is_some_and(|d| d.datasets().is_some()) {
            return Vec::new();
        }
        match self {
            AppletSpec::Line(s) | AppletSpec::Scatter(s) => std::iter::once(s.x.as_str())
                .chain(s.y.iter().map(String::as_str))
                .collect(),
            AppletSpec::Image(s) => match &s.image {
                Image::Field(f) => vec![f],
                Image::Grid { x, y, z } => vec![x, y, z],
            },
            AppletSpec::Histogram(s) => vec![&s.field],
            AppletSpec::Value(ValueSpec {
                reading: Reading::Field { field, .. },
                ..
            }) => vec![field],
            AppletSpec::Table(s) => s.fields.iter().flatten().map(String::as_str).collect(),
            AppletSpec::Value(_) | AppletSpec::Markdown { .. } => Vec::new(),
        }
    }

    /// Earlier runs the spec asks to draw beside the live one (0 but for line and scatter).
    pub fn overlay(&self) -> usize {
        match self {
            AppletSpec::Line(s) | AppletSpec::Scatter(s) => s.overlay,
            _ => 0,
        }
    }
}

impl From<ValueSpec> for AppletSpec {
    fn from(s: ValueSpec) -> Self {
        AppletSpec::Value(s)
    }
}

impl From<ImageSpec> for AppletSpec {
    fn from(s: ImageSpec) -> Self {
        AppletSpec::Image(s)
    }
}

impl From<HistogramSpec> for AppletSpec {
    fn from(s: HistogramSpec) -> Self {
        AppletSpec::Histogram(s)
    }
}

impl From<TableSpec> for AppletSpec {
    fn from(s: TableSpec) -> Self {
        AppletSpec::Table(s)
    }
}

mod parse;
