//! From an applet's spec and the data at hand to what it shows: a [`Picture`] for the plot kinds,
//! a [`Readout`] for `value`, a [`TableView`] for `table`. Pure: the browser and the server's
//! `plot.svg` call the same functions.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::chart::{Colormap, Heatmap, Histogram, Picture, XyChart, XySeries};
use super::decimate::{self, extent, padded};
use super::run_data::{Column, RunData, StreamData};
use crate::model::applets::spec::{
    AppletSpec, Data, HistogramSpec, Image, ImageSpec, Reading, Source, TableSpec, ValueSpec,
    XySpec,
};

/// A dashboard's own way of looking at one applet (never stored on the server).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewState {
    /// Zoomed x range; `None` follows the data (auto-scale).
    pub x: Option<Range<f64>>,
    /// Zoomed y range; `None` follows the data.
    pub y: Option<Range<f64>>,
}

/// The data an applet is drawn from.
#[derive(Default)]
pub struct Inputs<'a> {
    /// The run the applet follows (its source), if it has one yet.
    pub live: Option<&'a RunData>,
    /// Earlier runs (overlay) and bookmarked runs, drawn faded beside the live one.
    pub beside: Vec<&'a RunData>,
    /// Dataset values by key, for dataset sources.
    pub datasets: Option<&'a BTreeMap<String, Value>>,
}

/// The picture of a plot applet, `width` × `height` pixels big.
pub fn picture(
    spec: &AppletSpec,
    inputs: &Inputs,
    view: &ViewState,
    (width, height): (u32, u32),
) -> Picture {
    let result = match spec {
        AppletSpec::Line(xy_spec) => xy(xy_spec, true, inputs, view, (width, height)),
        AppletSpec::Scatter(xy_spec) => xy(xy_spec, false, inputs, view, (width, height)),
        AppletSpec::Image(image) => heatmap(image, inputs),
        AppletSpec::Histogram(h) => histogram(h, inputs),
        _ => Err(format!("a {} applet is not a plot", spec.kind().as_str())),
    };
    result.unwrap_or_else(Picture::Message)
}

fn live_stream<'a>(
    data: &Data,
    inputs: &Inputs<'a>,
) -> Result<(&'a RunData, &'a StreamData), String> {
    let run = inputs.live.ok_or_else(|| match &data.source {
        Source::LatestOfPlan(plan) => format!("waiting for a run of '{plan}'"),
        Source::Run(uid) => format!("loading run {uid}"),
        _ => "waiting for a run".to_string(),
    })?;
    let name = data.stream.as_str();
    let stream = run
        .stream(name)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{}: waiting for '{name}' events", run.short_name()))?;
    Ok((run, stream))
}

fn title(run: &RunData) -> String {
    match run.plan_name() {
        "" => run.short_name(),
        plan => format!("{} · {plan}", run.short_name()),
    }
}

/// One curve's points: an x column against a y column (no copy of a million points), or a
/// dataset against its index.
enum Curve<'a> {
    Columns(&'a Column, &'a Column),
    Owned(Vec<(f64, f64)>),
}

enum CurveIter<'a> {
    Columns(std::iter::Zip<std::slice::Iter<'a, f64>, std::slice::Iter<'a, f64>>),
    Owned(std::slice::Iter<'a, (f64, f64)>),
}

impl Iterator for CurveIter<'_> {
    type Item = (f64, f64);
    #[inline]
    fn next(&mut self) -> Option<(f64, f64)> {
        match self {
            CurveIter::Columns(it) => it.next().map(|(x, y)| (*x, *y)),
            CurveIter::Owned(it) => it.next().copied(),
        }
    }
}

impl Curve<'_> {
    fn points(&self) -> CurveIter<'_> {
        match self {
            Curve::Columns(xs, ys) => {
                CurveIter::Columns(xs.as_slice().iter().zip(ys.as_slice().iter()))
            }
            Curve::Owned(p) => CurveIter::Owned(p.iter()),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Curve::Columns(xs, _) => xs.is_empty(),
            Curve::Owned(p) => p.is_empty(),
        }
    }

    /// The x extent; for a column that only grew, from its ends.
    fn x_extent(&self) -> Option<(f64, f64)> {
        match self {
            Curve::Columns(xs, _) => xs.extent(),
            Curve::Owned(p) => extent(p.iter().map(|p| p.0)),
        }
    }
}

fn xy(
    spec: &XySpec,
    line: bool,
    inputs: &Inputs,
    view: &ViewState,
    (width, height): (u32, u32),
) -> Result<Picture, String> {
    let columns = (width as usize).saturating_sub(70).max(10);
    let rows = (height as usize).saturating_sub(60).max(10);
    let x_field = spec.x.as_str();
    let y_fields = &spec.y;

    // (label, points, drawn beside the live run?)
    let mut curves: Vec<(String, Curve, bool)> = Vec::new();
    let (title, x_label, y_label);
    if let Some(keys) = spec.data.datasets() {
        let datasets = inputs.datasets.ok_or("loading datasets")?;
        for key in keys {
            let values: Vec<(f64, f64)> = match datasets.get(key) {
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, v.as_f64().unwrap_or(f64::NAN)))
                    .collect(),
                Some(v) => v.as_f64().map(|y| vec![(0.0, y)]).unwrap_or_default(),
                None => Vec::new(),
            };
            curves.push((key.clone(), Curve::Owned(values), false));
        }
        if curves.iter().all(|(_, c, _)| c.is_empty()) {
            return Err(format!("waiting for dataset {}", keys.join(", ")));
        }
        title = "datasets".to_string();
        x_label = "index".to_string();
        y_label = keys.join(", ");
    } else {
        let (run, stream) = live_stream(&spec.data, inputs)?;
        let missing = |f: &str| {
            format!(
                "no numeric field '{f}' in '{}'; it has {}",
                stream.name,
                fields_of(stream)
            )
        };
        let xs = stream.column(x_field).ok_or_else(|| missing(x_field))?;
        for y in y_fields {
            let ys = stream.column(y).ok_or_else(|| missing(y))?;
            let label = if y_fields.len() > 1 || !inputs.beside.is_empty() {
                y.clone()
            } else {
                String::new()
            };
            curves.push((label, Curve::Columns(xs, ys), false));
        }
        for other in &inputs.beside {
            let Some(s) = other.stream(&spec.data.stream) else {
                continue;
            };
            for y in y_fields {
                if let (Some(xs), Some(ys)) = (s.column(x_field), s.column(y)) {
                    let label = format!("{y} ({})", other.short_name());
                    curves.push((label, Curve::Columns(xs, ys), true));
                }
            }
        }
        title = title_of(run, stream);
        x_label = stream.label(x_field);
        y_label = match y_fields.as_slice() {
            [one] => stream.label(one),
            _ => String::new(),
        };
    }

    let x_range = match &view.x {
        Some(r) => r.clone(),
        None => padded(
            curves
                .iter()
                .filter_map(|(_, c, _)| c.x_extent())
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                .unwrap_or((0.0, 1.0)),
        ),
    };
    let within = |p: &(f64, f64)| p.0 >= x_range.start && p.0 <= x_range.end;
    // Lines are decimated before the y range is known (min/max keeps every extreme); scatter
    // points are decimated per pixel, which needs the y range first.
    let reduced: Vec<Option<Vec<(f64, f64)>>> = curves
        .iter()
        .map(|(_, c, _)| line.then(|| decimate::min_max_columns(c.points(), &x_range, columns)))
        .collect();
    let y_range = match &view.y {
        Some(r) => r.clone(),
        None => {
            let ys = curves.iter().zip(&reduced).flat_map(|((_, c, _), r)| {
                let it: Box<dyn Iterator<Item = (f64, f64)>> = match r {
                    Some(r) => Box::new(r.iter().copied()),
                    None => Box::new(c.points()),
                };
                it.filter(within).map(|p| p.1)
            });
            padded(extent(ys).unwrap_or((0.0, 1.0)))
        }
    };
    let live_count = curves.iter().filter(|(_, _, beside)| !beside).count();
    let mut series = Vec::with_capacity(curves.len());
    for (i, ((label, curve, faded), reduced)) in curves.iter().zip(reduced).enumerate() {
        let points = match reduced {
            Some(r) => r,
            // Markers are a few pixels wide: one per 3 × 3 pixel cell is all that shows.
            None => {
                decimate::one_per_pixel(curve.points(), &x_range, &y_range, columns / 3, rows / 3)
            }
        };
        series.push(XySeries {
            label: label.clone(),
            // Earlier runs take the colour of their field, faded.
            color: if *faded {
                (i - live_count) % y_fields.len().max(1)
            } else {
                i
            },
            faded: *faded,
            line,
            markers: !line || points.len() <= 60,
            points,
        });
    }
    Ok(Picture::Xy(XyChart {
        title,
        x_label,
        y_label,
        x_range,
        y_range,
        series,
    }))
}

fn title_of(run: &RunData, stream: &StreamData) -> String {
    let t = title(run);
    match stream.name.as_str() {
        "primary" => t,
        other => format!("{t} · {other}"),
    }
}

fn fields_of(stream: &StreamData) -> String {
    let mut names: Vec<&str> = vec!["seq_num", "time"];
    names.extend(stream.columns.keys().map(String::as_str));
    names.join(", ")
}

fn heatmap(spec: &ImageSpec, inputs: &Inputs) -> Result<Picture, String> {
    let (run, stream) = live_stream(&spec.data, inputs)?;
    let colormap = Colormap::named(spec.colormap.as_deref());
    let (x, y, z) = match &spec.image {
        Image::Grid { x, y, z } => (x.as_str(), y.as_str(), z.as_str()),
        Image::Field(field) => {
            let field = field.as_str();
            let frame = stream.frames.get(field).ok_or_else(|| {
                format!(
                "{}: no 2-D values of '{field}' in the events (images written to files are not \
                 sent over the stream)",
                run.short_name()
            )
            })?;
            let (ny, nx, cells) =
                decimate::shrink_frame(frame.rows, frame.cols, &frame.values, 128);
            let grid = decimate::Grid {
                x_range: 0.0..frame.cols as f64,
                y_range: 0.0..frame.rows as f64,
                nx,
                ny,
                cells,
            };
            return Ok(Picture::Heatmap(Heatmap {
                title: format!("{} · event {}", title(run), stream.len()),
                x_label: "column".into(),
                y_label: "row".into(),
                z_label: stream.label(field),
                grid,
                colormap,
            }));
        }
    };
    let col = |f: &str| {
        stream
            .column(f)
            .ok_or_else(|| format!("no numeric field '{f}'; it has {}", fields_of(stream)))
    };
    let (xs, ys, zs) = (col(x)?, col(y)?, col(z)?);
    let points: Vec<(f64, f64, f64)> = xs
        .as_slice()
        .iter()
        .zip(ys.as_slice())
        .zip(zs.as_slice())
        .map(|((&x, &y), &z)| (x, y, z))
        .collect();
    // bluesky's grid_scan puts `shape: [rows, cols]` in the start document.
    let shape = run.start.as_ref().and_then(|s| s.grid_shape());
    let grid = decimate::grid(&points, shape, 256).ok_or("waiting for the first point")?;
    Ok(Picture::Heatmap(Heatmap {
        title: title(run),
        x_label: stream.label(x),
        y_label: stream.label(y),
        z_label: stream.label(z),
        grid,
        colormap,
    }))
}

fn histogram(spec: &HistogramSpec, inputs: &Inputs) -> Result<Picture, String> {
    let field = spec.field.as_str();
    let bins = spec.bins;
    let (edges, counts, title, x_label) = if spec.data.datasets().is_some() {
        let values: Vec<f64> = match inputs.datasets.and_then(|d| d.get(field)) {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_f64).collect(),
            _ => return Err(format!("waiting for dataset '{field}'")),
        };
        let (e, c) = decimate::histogram(values.iter().copied(), bins);
        (e, c, "dataset".to_string(), field.to_string())
    } else {
        let (run, stream) = live_stream(&spec.data, inputs)?;
        let values = stream
            .column(field)
            .ok_or_else(|| format!("no numeric field '{field}'; it has {}", fields_of(stream)))?;
        let (e, c) = decimate::histogram(values.as_slice().iter().copied(), bins);
        (e, c, title_of(run, stream), stream.label(field))
    };
    Ok(Picture::Histogram(Histogram {
        title,
        x_label,
        edges,
        counts,
    }))
}

/// A `value` applet's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    pub label: String,
    pub value: String,
    /// Where it comes from: `scan 12, event 40` or `dataset, version 3`.
    pub detail: String,
}

pub fn readout(spec: &ValueSpec, inputs: &Inputs) -> Readout {
    let precision = spec.precision;
    let fmt = |v: &Value| match (v.as_f64(), precision) {
        (Some(f), Some(p)) => format!("{f:.p$}"),
        (Some(f), None) if f.fract() != 0.0 => format!("{f:.6}").trim_end_matches('0').to_string(),
        (_, _) => match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    };
    let (data, field) = match &spec.reading {
        Reading::Field { data, field } => (data, field.as_str()),
        Reading::Dataset(key) => {
            let value = inputs.datasets.and_then(|d| d.get(key));
            return Readout {
                label: key.to_string(),
                value: value.map(fmt).unwrap_or_else(|| "–".into()),
                detail: if value.is_some() {
                    "dataset".into()
                } else {
                    "no such dataset yet".into()
                },
            };
        }
    };
    match live_stream(data, inputs) {
        Ok((run, stream)) => {
            let last = stream
                .column(field)
                .and_then(|c| c.last())
                .filter(|v| v.is_finite());
            let units = stream
                .keys
                .get(field)
                .and_then(|k| k.units.clone())
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            Readout {
                label: field.to_string(),
                value: last
                    .map(|v| format!("{}{units}", fmt(&Value::from(v))))
                    .unwrap_or_else(|| "–".into()),
                detail: if stream.column(field).is_none() {
                    format!(
                        "{} has no numeric field '{field}' in '{}'",
                        run.short_name(),
                        stream.name
                    )
                } else {
                    format!(
                        "{}, event {}",
                        run.short_name(),
                        stream.len() as u64 + stream.dropped
                    )
                },
            }
        }
        Err(why) => Readout {
            label: field.to_string(),
            value: "–".into(),
            detail: why,
        },
    }
}

/// A `table` applet's content: the newest rows first.
#[derive(Clone, Debug, PartialEq)]
pub struct TableView {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub fn table(spec: &TableSpec, inputs: &Inputs) -> Result<TableView, String> {
    let limit = spec.rows;
    if let Some(keys) = spec.data.datasets() {
        let datasets = inputs.datasets.ok_or("loading datasets")?;
        return Ok(TableView {
            caption: "datasets".into(),
            headers: vec!["dataset".into(), "value".into()],
            rows: keys
                .iter()
                .map(|k| {
                    let v = datasets
                        .get(k)
                        .map(Value::to_string)
                        .unwrap_or_else(|| "–".into());
                    vec![k.clone(), v]
                })
                .collect(),
        });
    }
    let (run, stream) = live_stream(&spec.data, inputs)?;
    let fields: Vec<String> = match &spec.fields {
        Some(f) => f.clone(),
        None => stream.columns.keys().cloned().collect(),
    };
    let mut headers = vec!["seq_num".to_string()];
    headers.extend(fields.iter().map(|f| stream.label(f)));
    let n = stream.len();
    let rows = (n.saturating_sub(limit)..n)
        .rev()
        .map(|i| {
            let mut row = vec![format!("{}", stream.seq_num[i])];
            row.extend(fields.iter().map(|f| {
                match stream.column(f).map(|c| c[i]) {
                    Some(v) if v.is_finite() => format!("{v:.6}")
                        .trim_end_matches('0')
                        .trim_end_matches('.')
                        .to_string(),
                    _ => "–".into(),
                }
            }));
            row
        })
        .collect();
    Ok(TableView {
        caption: title_of(run, stream),
        headers,
        rows,
    })
}

#[cfg(test)]
mod tests;
