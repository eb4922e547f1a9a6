//! The `histogram` applet's picture: the counts of one field's values (or a dataset's) in bins.

use serde_json::Value;

use super::{fields_of, live_stream, title_of, Inputs};
use crate::model::applets::spec::HistogramSpec;
use crate::plot::chart::{Histogram, Picture};
use crate::plot::decimate;

pub(super) fn histogram(spec: &HistogramSpec, inputs: &Inputs) -> Result<Picture, String> {
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
