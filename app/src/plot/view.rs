//! From an applet's spec and the data at hand to what it shows: a [`Picture`] for the plot kinds,
//! a [`Readout`] for `value`, a [`TableView`] for `table`. Pure: the browser and the server's
//! `plot.svg` call the same functions.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::chart::Picture;
use super::run_data::{RunData, StreamData};
use crate::model::applets::spec::{AppletSpec, Data, Source};

mod heatmap;
mod histogram;
mod text;
mod xy;

use heatmap::heatmap;
use histogram::histogram;
use xy::xy;

pub use text::{readout, table, Readout, TableView};

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
    /// The last run the applet drew: shown, saying so, when the run it follows lacks its field
    /// (a plan without that detector), rather than a blank applet.
    pub kept: Option<&'a RunData>,
}

/// The first field `spec` reads that `run` does not record in the spec's stream, once that
/// stream has events (before, nothing can be said).
pub fn lacks<'s>(spec: &'s AppletSpec, run: &RunData) -> Option<&'s str> {
    let data = spec.data()?;
    let stream = run.stream(&data.stream).filter(|s| !s.is_empty())?;
    spec.fields()
        .into_iter()
        .find(|f| !matches!(*f, "seq_num" | "time") && !stream.keys.contains_key(*f))
}

/// The run a picture of `spec` is drawn from: the live one, or the kept one when the live run
/// lacks a field the kept one has (with the field it lacks).
pub fn drawn_run<'a>(
    spec: &AppletSpec,
    inputs: &Inputs<'a>,
) -> Option<(&'a RunData, Option<String>)> {
    let live = inputs.live?;
    match (lacks(spec, live), inputs.kept) {
        (Some(field), Some(kept)) if kept.uid != live.uid && lacks(spec, kept).is_none() => {
            Some((kept, Some(field.to_string())))
        }
        _ => Some((live, None)),
    }
}

/// The picture of a plot applet, `width` × `height` pixels big.
pub fn picture(spec: &AppletSpec, inputs: &Inputs, view: &ViewState, size: (u32, u32)) -> Picture {
    if let Some((kept, Some(field))) = drawn_run(spec, inputs) {
        let live = inputs.live.map(RunData::short_name).unwrap_or_default();
        let inputs = Inputs {
            live: Some(kept),
            // The kept run is often the first earlier run too: drawn once, as the main curve.
            beside: inputs
                .beside
                .iter()
                .copied()
                .filter(|r| r.uid != kept.uid)
                .collect(),
            datasets: inputs.datasets,
            kept: None,
        };
        let mut p = picture_of(spec, &inputs, view, size);
        p.note(&format!("(the latest, {live}, has no '{field}')"));
        return p;
    }
    picture_of(spec, inputs, view, size)
}

fn picture_of(
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

#[cfg(test)]
mod tests;
