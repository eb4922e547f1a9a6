//! The `line` and `scatter` applets' picture: curves of a run's columns (or of datasets), with
//! earlier runs faded beside the live one, decimated to what the pixels can show.

use serde_json::Value;

use super::{fields_of, live_stream, title_of, Inputs, ViewState};
use crate::model::applets::spec::XySpec;
use crate::plot::chart::{Picture, XyChart, XySeries};
use crate::plot::decimate::{self, extent, padded};
use crate::plot::run_data::Column;

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

pub(super) fn xy(
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
        y_label = stream.label_of(y_fields);
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
            // Each curve its own colour, earlier runs' too (lighter), so they are told apart.
            color: i,
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
