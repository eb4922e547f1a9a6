//! Applets — the dashboard's live panels — and the rules their specs follow.
//!
//! An applet lives in the master's database and is the same for every dashboard; whether a
//! dashboard shows it (and where, how big) is that dashboard's own business, kept in the browser.
//! The server validates every spec with [`validate`]; the dashboard's editor uses the same code.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One applet as stored and sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Applet {
    pub uid: String,
    pub name: String,
    /// Free-form grouping ("alignment", "experiment", …); experiments create applets per group.
    pub group: String,
    pub kind: AppletKind,
    pub spec: Value,
    /// 1 for a new applet, one more with every change.
    pub version: i64,
    /// Who made this version: a user, `plan:<name>`, `publisher:<user>` or `file:<path>`.
    pub updated_by: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Dashboards that have not decided yet show it (the group's `create_enable` policy).
    #[serde(default)]
    pub auto_enable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppletKind {
    Line,
    Scatter,
    Image,
    Histogram,
    Value,
    Table,
    Markdown,
}

impl AppletKind {
    pub const ALL: [AppletKind; 7] = [
        AppletKind::Line,
        AppletKind::Scatter,
        AppletKind::Image,
        AppletKind::Histogram,
        AppletKind::Value,
        AppletKind::Table,
        AppletKind::Markdown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppletKind::Line => "line",
            AppletKind::Scatter => "scatter",
            AppletKind::Image => "image",
            AppletKind::Histogram => "histogram",
            AppletKind::Value => "value",
            AppletKind::Table => "table",
            AppletKind::Markdown => "markdown",
        }
    }
}

/// What a group does when an experiment (a plan or a publisher) creates or updates an applet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupPolicy {
    /// Experiments may not create applets in this group (updates of their own are still refused).
    Ignore,
    /// Create or update; dashboards decide themselves whether to show it.
    #[default]
    Create,
    /// Create or update, and dashboards that have not decided show it.
    CreateEnable,
}

/// One change of the applets, as the `applets` topic's `update` data. The topic's snapshot is
/// `{applets, groups}`; a dashboard that keeps the list applies these in `seq` order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AppletDelta {
    /// The server (re)started: take the snapshot.
    Reset,
    /// A group's policy was set.
    Group {
        group: String,
        policy: GroupPolicy,
    },
    /// An applet was created or got a new version.
    Upsert {
        applet: Box<Applet>,
    },
    Delete {
        uid: String,
    },
    /// A mirror import: every applet at once.
    Replace {
        applets: Vec<Applet>,
    },
}

impl AppletDelta {
    /// Applies the change to a dashboard's list (group policies are not part of it).
    pub fn apply(self, list: &mut Vec<Applet>) {
        match self {
            AppletDelta::Upsert { applet } => match list.iter_mut().find(|o| o.uid == applet.uid) {
                Some(o) => *o = *applet,
                None => list.push(*applet),
            },
            AppletDelta::Delete { uid } => list.retain(|a| a.uid != uid),
            AppletDelta::Replace { applets } => *list = applets,
            AppletDelta::Reset | AppletDelta::Group { .. } => {}
        }
    }
}

/// A spec problem: the field (a dotted path inside the spec) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub field: String,
    pub msg: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field.as_str() {
            "" => write!(f, "spec: {}", self.msg),
            field => write!(f, "spec.{field}: {}", self.msg),
        }
    }
}

fn err(field: &str, msg: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        msg: msg.into(),
    }
}

/// Checks an applet's name and group (shown in lists and used in the mirror file).
pub fn validate_name(what: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(format!("'{what}' must be 1 to 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("'{what}' must not contain control characters"));
    }
    Ok(())
}

/// Validates a spec for its kind. Specs are JSON objects:
///
/// - data source, for plots and tables (exactly one of):
///   `"run": "<uid>"` (a fixed run), `"latest_of_plan": "<plan name>"` (the newest run of that
///   plan, following new runs as they start), `"latest": true` (the newest run of any plan), or
///   `"datasets": ["key", …]` (dataset values instead of a run); with a run source, `"stream"`
///   (default `"primary"`).
/// - `line`, `scatter`: `"x"` (a field; default `seq_num`), `"y"` (a field or a list of fields, at
///   least one), optional `"overlay"` (0–20 previous runs drawn beside the live one).
/// - `image`: `"field"` (a 2-D array field), or for grid scans `"x"`, `"y"`, `"z"`; optional
///   `"colormap"`.
/// - `histogram`: `"field"`, optional `"bins"` (1–10 000).
/// - `value`: `"dataset"` (a key) or a run source with `"field"`; optional `"precision"`.
/// - `table`: a source with optional `"fields"` (a list), optional `"rows"` (1–10 000).
/// - `markdown`: `"text"` (at most 100 000 characters).
///
/// Unknown keys are refused so a typo is reported, not ignored.
pub fn validate(kind: AppletKind, spec: &Value) -> Result<(), SpecError> {
    let Some(obj) = spec.as_object() else {
        return Err(err("", "the spec must be a JSON object"));
    };
    let s = Spec(obj);
    let source = ["run", "latest_of_plan", "latest", "datasets", "stream"];
    let allowed: Vec<&str> = match kind {
        AppletKind::Line | AppletKind::Scatter => [&source[..], &["x", "y", "overlay"]].concat(),
        AppletKind::Image => [&source[..], &["field", "x", "y", "z", "colormap"]].concat(),
        AppletKind::Histogram => [&source[..], &["field", "bins"]].concat(),
        AppletKind::Value => vec![
            "dataset",
            "run",
            "latest_of_plan",
            "latest",
            "stream",
            "field",
            "precision",
        ],
        AppletKind::Table => [&source[..], &["fields", "rows"]].concat(),
        AppletKind::Markdown => vec!["text"],
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
    match kind {
        AppletKind::Markdown => {
            let text = s
                .string("text")?
                .ok_or_else(|| err("text", "is required"))?;
            if text.len() > 100_000 {
                return Err(err("text", "must be at most 100 000 characters"));
            }
        }
        AppletKind::Value => {
            let dataset = s.string("dataset")?;
            let run = s.source(false)?;
            match (dataset, run) {
                (Some(_), true) => {
                    return Err(err(
                        "dataset",
                        "give either a dataset or a run source, not both",
                    ))
                }
                (None, false) => {
                    return Err(err("dataset", "is required (or a run source with a field)"))
                }
                (None, true) => {
                    s.string("field")?
                        .ok_or_else(|| err("field", "is required with a run source"))?;
                }
                (Some(_), false) => {}
            }
            s.int_range("precision", 0, 15)?;
        }
        AppletKind::Line | AppletKind::Scatter => {
            s.source(true)?;
            s.string("x")?;
            match obj.get("y") {
                Some(Value::String(y)) if !y.is_empty() => {}
                Some(Value::Array(ys))
                    if !ys.is_empty()
                        && ys.iter().all(|y| y.as_str().is_some_and(|y| !y.is_empty())) => {}
                None if obj.contains_key("datasets") => {}
                _ => {
                    return Err(err(
                        "y",
                        "must be a field name or a non-empty list of field names",
                    ))
                }
            }
            s.int_range("overlay", 0, 20)?;
        }
        AppletKind::Image => {
            s.source(true)?;
            let field = s.string("field")?;
            let grid = ["x", "y", "z"].map(|k| s.string(k));
            let grid_given = grid.iter().filter(|g| matches!(g, Ok(Some(_)))).count();
            for g in grid {
                g?;
            }
            match (field, grid_given) {
                (Some(_), 0) | (None, 3) => {}
                (Some(_), _) => {
                    return Err(err(
                        "field",
                        "give either a 2-D field or x, y and z of a grid scan, not both",
                    ))
                }
                (None, _) => {
                    return Err(err("field", "is required (or x, y and z for a grid scan)"))
                }
            }
            s.string("colormap")?;
        }
        AppletKind::Histogram => {
            s.source(true)?;
            s.string("field")?
                .ok_or_else(|| err("field", "is required"))?;
            s.int_range("bins", 1, 10_000)?;
        }
        AppletKind::Table => {
            s.source(true)?;
            if let Some(f) = obj.get("fields") {
                if !f.as_array().is_some_and(|l| l.iter().all(Value::is_string)) {
                    return Err(err("fields", "must be a list of field names"));
                }
            }
            s.int_range("rows", 1, 10_000)?;
        }
    }
    Ok(())
}

struct Spec<'a>(&'a Map<String, Value>);

impl Spec<'_> {
    fn string(&self, key: &str) -> Result<Option<&str>, SpecError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(err(key, "must be a non-empty string")),
        }
    }

    fn int_range(&self, key: &str, lo: i64, hi: i64) -> Result<(), SpecError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) if v.as_i64().is_some_and(|n| (lo..=hi).contains(&n)) => Ok(()),
            Some(_) => Err(err(key, format!("must be an integer from {lo} to {hi}"))),
        }
    }

    /// Checks the data source; `required`: one must be given. Returns whether one was.
    fn source(&self, required: bool) -> Result<bool, SpecError> {
        let given: Vec<&str> = ["run", "latest_of_plan", "latest", "datasets"]
            .into_iter()
            .filter(|k| self.0.get(*k).is_some_and(|v| !v.is_null()))
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
        self.string("run")?;
        self.string("latest_of_plan")?;
        self.string("stream")?;
        if let Some(v) = self.0.get("latest").filter(|v| !v.is_null()) {
            if v != &Value::Bool(true) {
                return Err(err("latest", "must be true (or left out)"));
            }
        }
        if let Some(d) = self.0.get("datasets").filter(|v| !v.is_null()) {
            if !d.as_array().is_some_and(|l| {
                !l.is_empty() && l.iter().all(|k| k.as_str().is_some_and(|k| !k.is_empty()))
            }) {
                return Err(err("datasets", "must be a non-empty list of dataset keys"));
            }
        }
        if required && given.is_empty() {
            return Err(err(
                "run",
                "a data source is required: run, latest_of_plan, latest or datasets",
            ));
        }
        Ok(!given.is_empty())
    }
}

#[cfg(test)]
mod tests;
