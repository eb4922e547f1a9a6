//! Forms generated from the allowed plans' parameter descriptions (bluesky's format, see
//! `PLANS_ALLOWED_FORMAT.md`): what widget each parameter gets, and the queue item built from the
//! filled-in fields, with an error per field. Pure; the queue page draws it.

pub mod args;
mod json;
mod words;
use json::json_field;
pub use words::{plain_text, type_words};

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Widget {
    /// Several devices (`Sequence[__READABLE__]`): checkboxes.
    Devices(DeviceClass),
    /// One device (`__MOVABLE__`, …): a picker.
    Device(DeviceClass),
    Int,
    Float,
    Bool,
    /// `*args`: a JSON list.
    VarArgs,
    /// Anything else: JSON, or text.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    Readable,
    Movable,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    /// `POSITIONAL_ONLY`, `POSITIONAL_OR_KEYWORD`, `VAR_POSITIONAL`, `KEYWORD_ONLY`, `VAR_KEYWORD`.
    pub kind: String,
    pub widget: Widget,
    /// The Python repr of the default; `None`: required.
    pub default: Option<String>,
    pub description: String,
    pub type_text: String,
}

impl Param {
    pub fn required(&self) -> bool {
        self.default.is_none() && self.kind != "VAR_POSITIONAL" && self.kind != "VAR_KEYWORD"
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanSpec {
    pub name: String,
    pub description: String,
    pub params: Vec<Param>,
}

fn widget_for(type_text: &str, kind: &str) -> Widget {
    let class = if type_text.contains("__READABLE__") {
        Some(DeviceClass::Readable)
    } else if type_text.contains("__MOVABLE__") {
        Some(DeviceClass::Movable)
    } else if type_text.contains("__DEVICE__") {
        Some(DeviceClass::Any)
    } else {
        None
    };
    let list = type_text.contains("Sequence[")
        || type_text.contains("list[")
        || type_text.contains("List[");
    match (kind, class) {
        ("VAR_POSITIONAL", _) => Widget::VarArgs,
        (_, Some(c)) if list => Widget::Devices(c),
        (_, Some(c)) if !type_text.contains("tuple") => Widget::Device(c),
        _ => {
            // `int | None` is an int; `float | Iterable[float]` may be a list: JSON.
            let kinds: Vec<&str> = type_text
                .split('|')
                .map(str::trim)
                .filter(|t| *t != "None")
                .collect();
            match kinds.as_slice() {
                ["int"] => Widget::Int,
                ["float"] => Widget::Float,
                ["bool"] => Widget::Bool,
                _ => Widget::Json,
            }
        }
    }
}

/// The plans of `/api/plans/allowed`, sorted by name.
pub fn plans(allowed: &Value) -> Vec<PlanSpec> {
    let mut out: Vec<PlanSpec> = allowed
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, p)| PlanSpec {
            name: name.clone(),
            description: p["description"].as_str().unwrap_or("").to_string(),
            params: p["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|q| {
                    let name = q["name"].as_str().unwrap_or("");
                    let annotation = q["annotation"]["type"].as_str().unwrap_or("");
                    !words::internal(name, annotation, q.get("default").is_some())
                })
                .map(|q| {
                    let kind = q["kind"]["name"]
                        .as_str()
                        .unwrap_or("POSITIONAL_OR_KEYWORD")
                        .to_string();
                    let type_text = q["annotation"]["type"].as_str().unwrap_or("").to_string();
                    Param {
                        name: q["name"].as_str().unwrap_or("").to_string(),
                        widget: widget_for(&type_text, &kind),
                        default: q["default"].as_str().map(String::from),
                        description: q["description"].as_str().unwrap_or("").to_string(),
                        kind,
                        type_text,
                    }
                })
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn parse_field(p: &Param, text: &str) -> Result<Value, String> {
    let t = text.trim();
    match &p.widget {
        Widget::Int => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("'{t}' is not a whole number")),
        Widget::Float => t
            .parse::<f64>()
            .map(|f| json!(f))
            .map_err(|_| format!("'{t}' is not a number")),
        Widget::Bool => Ok(Value::Bool(t == "true")),
        Widget::Devices(_) => Ok(Value::Array(
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        )),
        Widget::Device(_) => Ok(Value::String(t.into())),
        Widget::VarArgs => match serde_json::from_str::<Value>(t) {
            Ok(Value::Array(a)) => {
                if let Some(pattern) = args::pattern(p) {
                    args::check(&pattern, &a)?;
                }
                Ok(Value::Array(a))
            }
            _ => Err(format!(
                "give a JSON list, e.g. [\"motor\", -1, 1]; got '{t}'"
            )),
        },
        Widget::Json => json_field(p, t),
    }
}

/// The error of one field as typed (nothing for an empty one: "required" is said on submit).
pub fn field_error(p: &Param, text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return None;
    }
    parse_field(p, text).err()
}

/// The queue item for `plan` from the fields (parameter name → text); empty fields are left to
/// their defaults. Errors are per field, to show beside it.
pub fn build_item(
    plan: &PlanSpec,
    fields: &BTreeMap<String, String>,
) -> Result<Value, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let mut values: Vec<(&Param, Option<Value>)> = Vec::new();
    for p in &plan.params {
        let text = fields.get(&p.name).map(String::as_str).unwrap_or("").trim();
        let empty = text.is_empty()
            || (matches!(p.widget, Widget::Devices(_))
                && text.split(',').all(|s| s.trim().is_empty()));
        if empty {
            if p.required() {
                errors.insert(p.name.clone(), "required".to_string());
            }
            values.push((p, None));
            continue;
        }
        match parse_field(p, text) {
            Ok(v) => values.push((p, Some(v))),
            Err(e) => {
                errors.insert(p.name.clone(), e);
                values.push((p, None));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Parameters up to a filled `*args` go by position (Python needs it); the rest by keyword.
    let var_at = values
        .iter()
        .position(|(p, v)| p.kind == "VAR_POSITIONAL" && v.is_some());
    let mut args = Vec::new();
    let mut kwargs = Map::new();
    for (i, (p, v)) in values.into_iter().enumerate() {
        let Some(v) = v else { continue };
        let positional = p.kind == "POSITIONAL_ONLY" || var_at.is_some_and(|at| i < at);
        if p.kind == "VAR_POSITIONAL" {
            args.extend(v.as_array().cloned().unwrap_or_default());
        } else if positional {
            args.push(v);
        } else {
            kwargs.insert(p.name.clone(), v);
        }
    }
    Ok(json!({"name": plan.name, "args": args, "kwargs": kwargs, "item_type": "plan"}))
}

/// The fields that show an existing item (for editing), parameter name → text.
pub fn fields_of(plan: &PlanSpec, item: &Value) -> BTreeMap<String, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    let mut out = BTreeMap::new();
    let args = item["args"].as_array().cloned().unwrap_or_default();
    let mut i = 0;
    for p in &plan.params {
        if p.kind == "VAR_POSITIONAL" {
            if i < args.len() {
                out.insert(p.name.clone(), Value::Array(args[i..].to_vec()).to_string());
                i = args.len();
            }
        } else if i < args.len() && p.kind != "KEYWORD_ONLY" {
            let shown = match &p.widget {
                Widget::Json => json_text(&args[i]),
                Widget::Int | Widget::Float | Widget::Bool => args[i].to_string(),
                _ => text(&args[i]),
            };
            out.insert(p.name.clone(), shown);
            i += 1;
        } else if let Some(v) = item["kwargs"].get(&p.name) {
            let shown = match &p.widget {
                Widget::Json => json_text(v),
                _ => text(v),
            };
            out.insert(p.name.clone(), shown);
        }
    }
    out
}

/// A JSON field's text: a plain string as itself (it is read back as text), anything else as
/// JSON, so that lists and objects survive an edit.
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) if serde_json::from_str::<Value>(s).is_err() => s.clone(),
        other => other.to_string(),
    }
}

/// Which field a server message is about: the first parameter named in quotes in it.
pub fn field_of_message<'a>(plan: &'a PlanSpec, msg: &str) -> Option<&'a str> {
    plan.params
        .iter()
        .map(|p| p.name.as_str())
        .find(|n| msg.contains(&format!("'{n}'")))
}

#[cfg(test)]
mod tests;
