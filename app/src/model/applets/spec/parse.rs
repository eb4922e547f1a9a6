//! [`AppletSpec::parse`]: the JSON object a user writes, checked field by field into the type.

use serde_json::{Map, Value};

use super::*;

impl AppletSpec {
    /// Validates `spec` for `kind` and returns it typed. Specs are JSON objects:
    ///
    /// - data source, for plots and tables (exactly one of): `"run": "<uid>"` (a fixed run),
    ///   `"latest_of_plan": "<plan name>"` (the newest run of that plan, following new runs as
    ///   they start), `"latest": true` (the newest run of any plan), or `"datasets": ["key", …]`
    ///   (dataset values instead of a run); with a run source, `"stream"` (default `"primary"`).
    /// - `line`, `scatter`: `"x"` (a field; default `seq_num`), `"y"` (a field or a list of
    ///   fields, at least one), optional `"overlay"` (0–20 previous runs drawn beside the live one).
    /// - `image`: `"field"` (a 2-D array field), or for grid scans `"x"`, `"y"`, `"z"`; optional
    ///   `"colormap"`.
    /// - `histogram`: `"field"`, optional `"bins"` (1–10 000).
    /// - `value`: `"dataset"` (a key) or a run source with `"field"`; optional `"precision"`.
    /// - `table`: a source with optional `"fields"` (a list), optional `"rows"` (1–10 000).
    /// - `markdown`: `"text"` (at most 100 000 characters).
    ///
    /// Unknown keys are refused so a typo is reported, not ignored.
    pub fn parse(kind: AppletKind, spec: &Value) -> Result<AppletSpec, SpecError> {
        let Some(obj) = spec.as_object() else {
            return Err(err("", "the spec must be a JSON object"));
        };
        let s = Spec(obj);
        let own: &[&str] = match kind {
            AppletKind::Line | AppletKind::Scatter => &["x", "y", "overlay"],
            AppletKind::Image => &["field", "x", "y", "z", "colormap"],
            AppletKind::Histogram => &["field", "bins"],
            AppletKind::Value => &["dataset", "field", "precision"],
            AppletKind::Table => &["fields", "rows"],
            AppletKind::Markdown => &["text"],
        };
        let allowed: Vec<&str> = match kind {
            AppletKind::Markdown => own.to_vec(),
            // A readout shows one value: a list of datasets is a table's.
            AppletKind::Value => ["dataset", "run", "latest_of_plan", "latest", "stream"]
                .into_iter()
                .chain(["field", "precision"])
                .collect(),
            _ => SOURCE_KEYS.iter().chain(own).copied().collect(),
        };
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(err(
                k,
                format!(
                    "unknown for a {} applet; it takes {}",
                    kind.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
        Ok(match kind {
            AppletKind::Markdown => {
                let text = s.required("text", "is required")?;
                if text.len() > 100_000 {
                    return Err(err("text", "must be at most 100 000 characters"));
                }
                AppletSpec::Markdown { text }
            }
            AppletKind::Value => {
                let dataset = s.string("dataset")?;
                let data = s.data()?;
                let reading = match (dataset, data) {
                    (Some(_), Some(_)) => {
                        return Err(err(
                            "dataset",
                            "give either a dataset or a run source, not both",
                        ))
                    }
                    (None, None) => {
                        return Err(err("dataset", "is required (or a run source with a field)"))
                    }
                    (None, Some(data)) => Reading::Field {
                        data,
                        field: s.required("field", "is required with a run source")?,
                    },
                    (Some(key), None) => Reading::Dataset(key),
                };
                ValueSpec {
                    reading,
                    precision: s.int_range("precision", 0, 15)?,
                }
                .into()
            }
            AppletKind::Line | AppletKind::Scatter => {
                let data = s.source_required()?;
                let x = s.string("x")?.unwrap_or_else(|| "seq_num".to_string());
                let y = match obj.get("y") {
                    Some(Value::String(y)) if !y.is_empty() => vec![y.clone()],
                    Some(Value::Array(ys)) if !ys.is_empty() => ys
                        .iter()
                        .map(|y| y.as_str().filter(|y| !y.is_empty()).map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(y_error)?,
                    None if obj.contains_key("datasets") => Vec::new(),
                    _ => return Err(y_error()),
                };
                let overlay = s.int_range("overlay", 0, 20)?.unwrap_or(0);
                let xy = XySpec {
                    data,
                    x,
                    y,
                    overlay,
                };
                match kind {
                    AppletKind::Line => AppletSpec::Line(xy),
                    _ => AppletSpec::Scatter(xy),
                }
            }
            AppletKind::Image => {
                let data = s.source_required()?;
                let field = s.string("field")?;
                let (x, y, z) = (s.string("x")?, s.string("y")?, s.string("z")?);
                let image = match (field, x, y, z) {
                    (Some(f), None, None, None) => Image::Field(f),
                    (None, Some(x), Some(y), Some(z)) => Image::Grid { x, y, z },
                    (Some(_), ..) => {
                        return Err(err(
                            "field",
                            "give either a 2-D field or x, y and z of a grid scan, not both",
                        ))
                    }
                    (None, ..) => {
                        return Err(err("field", "is required (or x, y and z for a grid scan)"))
                    }
                };
                ImageSpec {
                    data,
                    image,
                    colormap: s.string("colormap")?,
                }
                .into()
            }
            AppletKind::Histogram => HistogramSpec {
                data: s.source_required()?,
                field: s.required("field", "is required")?,
                bins: s.int_range("bins", 1, 10_000)?.unwrap_or(50),
            }
            .into(),
            AppletKind::Table => {
                let data = s.source_required()?;
                let fields = match obj.get("fields") {
                    None => None,
                    Some(f) => Some(
                        f.as_array()
                            .and_then(|l| {
                                l.iter()
                                    .map(|f| f.as_str().map(str::to_string))
                                    .collect::<Option<Vec<_>>>()
                            })
                            .ok_or_else(|| err("fields", "must be a list of field names"))?,
                    ),
                };
                TableSpec {
                    data,
                    fields,
                    rows: s.int_range("rows", 1, 10_000)?.unwrap_or(20),
                }
                .into()
            }
        })
    }
}

fn err(field: &str, msg: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        msg: msg.into(),
    }
}

fn y_error() -> SpecError {
    err(
        "y",
        "must be a field name or a non-empty list of field names",
    )
}

struct Spec<'a>(&'a Map<String, Value>);

impl Spec<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, SpecError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(err(key, "must be a non-empty string")),
        }
    }

    fn required(&self, key: &str, missing: &str) -> Result<String, SpecError> {
        self.string(key)?.ok_or_else(|| err(key, missing))
    }

    fn int_range(&self, key: &str, lo: usize, hi: usize) -> Result<Option<usize>, SpecError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (lo..=hi).contains(n))
                .map(Some)
                .ok_or_else(|| err(key, format!("must be an integer from {lo} to {hi}"))),
        }
    }

    fn given(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn source_required(&self) -> Result<Data, SpecError> {
        self.data()?.ok_or_else(|| {
            err(
                "run",
                "a data source is required: run, latest_of_plan, latest or datasets",
            )
        })
    }

    /// The data source, if one is given (more than one is refused).
    fn data(&self) -> Result<Option<Data>, SpecError> {
        let given: Vec<&str> = SOURCE_KEYS[..4]
            .iter()
            .copied()
            .filter(|k| self.given(k).is_some())
            .collect();
        if given.len() > 1 {
            return Err(err(
                given[1],
                format!(
                    "give one data source, not both '{}' and '{}'",
                    given[0], given[1]
                ),
            ));
        }
        let run = self.string("run")?;
        let plan = self.string("latest_of_plan")?;
        let stream = self
            .string("stream")?
            .unwrap_or_else(|| "primary".to_string());
        if let Some(v) = self.given("latest") {
            if v != &Value::Bool(true) {
                return Err(err("latest", "must be true (or left out)"));
            }
        }
        let datasets = match self.given("datasets") {
            None => None,
            Some(d) => Some(
                d.as_array()
                    .filter(|l| !l.is_empty())
                    .and_then(|l| {
                        l.iter()
                            .map(|k| k.as_str().filter(|k| !k.is_empty()).map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| err("datasets", "must be a non-empty list of dataset keys"))?,
            ),
        };
        let source = match (run, plan, datasets) {
            (Some(uid), ..) => Source::Run(uid),
            (_, Some(plan), _) => Source::LatestOfPlan(plan),
            (.., Some(keys)) => Source::Datasets(keys),
            _ if self.given("latest").is_some() => Source::Latest,
            _ => return Ok(None),
        };
        Ok(Some(Data { source, stream }))
    }
}
