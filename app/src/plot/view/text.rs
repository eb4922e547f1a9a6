//! The applets shown as text rather than a plot: a `value` applet's [`Readout`] and a `table`
//! applet's [`TableView`].

use serde_json::Value;

use super::{live_stream, title_of, Inputs};
use crate::model::applets::spec::{Reading, TableSpec, ValueSpec};

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
