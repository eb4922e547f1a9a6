//! Event data checked against its descriptor's `data_keys`, without IO: every field is declared,
//! a value fits its `dtype`, an array is rectangular, matches the declared `shape` and is not
//! larger than [`MAX_ELEMENTS`]. Values stored outside the event (`external` keys, datum ids) and
//! `null` (a reading that failed) are not checked.
//!
//! Without this a publisher could store an "image" of one long row and a million empty rows,
//! which everything that later reads it as a rectangle would have to survive.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Elements one array value may have (a 4096 × 4096 frame).
pub const MAX_ELEMENTS: u64 = 4096 * 4096;
/// Dimensions one array value may have.
const MAX_DIMS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    String,
    Number,
    Integer,
    Boolean,
    Array,
}

#[derive(Debug)]
struct Key {
    dtype: Dtype,
    /// The declared shape; `None` where a dimension is unknown (`null`).
    shape: Option<Vec<u64>>,
    external: bool,
}

/// A descriptor's data keys, as the writer keeps them for its events.
#[derive(Debug, Default)]
pub struct Keys(HashMap<String, Key>);

impl Keys {
    /// Reads `data_keys` of a descriptor that passed `validate::check`.
    pub fn of(descriptor: &Value) -> Keys {
        let Some(keys) = descriptor["data_keys"].as_object() else {
            return Keys::default();
        };
        Keys(
            keys.iter()
                .map(|(name, spec)| {
                    let dtype = match spec["dtype"].as_str() {
                        Some("string") => Dtype::String,
                        Some("integer") => Dtype::Integer,
                        Some("boolean") => Dtype::Boolean,
                        Some("array") => Dtype::Array,
                        _ => Dtype::Number,
                    };
                    let shape = spec["shape"]
                        .as_array()
                        .and_then(|s| s.iter().map(Value::as_u64).collect::<Option<Vec<_>>>());
                    let external = spec.get("external").is_some_and(|e| !e.is_null());
                    (
                        name.clone(),
                        Key {
                            dtype,
                            shape,
                            external,
                        },
                    )
                })
                .collect(),
        )
    }

    /// Checks one event's `data` (and `filled`: a field filled `false` holds a datum id).
    pub fn check_event(&self, data: &Map<String, Value>, filled: &Value) -> Result<(), String> {
        for (field, value) in data {
            let by_reference = filled.get(field).is_some_and(|f| f == &Value::Bool(false));
            self.check_value(field, value, by_reference)?;
        }
        Ok(())
    }

    /// Checks an `event_page`'s `data` columns (their lengths are checked by `validate`).
    pub fn check_page(&self, data: &Map<String, Value>, filled: &Value) -> Result<(), String> {
        for (field, column) in data {
            for (i, value) in column.as_array().into_iter().flatten().enumerate() {
                let by_reference = filled[field][i] == Value::Bool(false);
                self.check_value(field, value, by_reference)
                    .map_err(|e| format!("event {i} of the page: {e}"))?;
            }
        }
        Ok(())
    }

    fn check_value(&self, field: &str, value: &Value, by_reference: bool) -> Result<(), String> {
        let Some(key) = self.0.get(field) else {
            let mut known: Vec<&str> = self.0.keys().map(String::as_str).collect();
            known.sort_unstable();
            known.truncate(20);
            return Err(format!(
                "'data.{field}' is not in the descriptor's data_keys (it has: {})",
                known.join(", ")
            ));
        };
        if key.external || by_reference || value.is_null() {
            return Ok(());
        }
        // A shape with an unknown dimension is not compared (only the rectangle is checked).
        let scalar = key.shape.as_ref().is_some_and(Vec::is_empty);
        let declared = key.shape.as_deref().unwrap_or_default();
        if let Value::Array(_) = value {
            let dims = dims_of(value).map_err(|e| format!("'data.{field}': {e}"))?;
            if !declared.is_empty() && declared != dims.as_slice() {
                return Err(format!(
                    "'data.{field}' has shape {dims:?} but its descriptor says {declared:?}"
                ));
            }
            if key.dtype != Dtype::Array && scalar {
                return Err(format!(
                    "'data.{field}' is an array but its descriptor says dtype '{}' with shape []",
                    name(key.dtype)
                ));
            }
            return Ok(());
        }
        let fits = match key.dtype {
            Dtype::String => value.is_string(),
            Dtype::Number => value.is_number(),
            Dtype::Integer => value.is_i64() || value.is_u64(),
            Dtype::Boolean => value.is_boolean() || value.is_number(),
            // A scalar for an array key of unknown or empty shape (a 0-d array) is allowed.
            Dtype::Array => declared.is_empty() && !value.is_object(),
        };
        if fits {
            Ok(())
        } else {
            Err(format!(
                "'data.{field}' is {} but its descriptor says dtype '{}'{}",
                kind(value),
                name(key.dtype),
                if declared.is_empty() {
                    String::new()
                } else {
                    format!(" with shape {declared:?}")
                }
            ))
        }
    }
}

fn name(d: Dtype) -> &'static str {
    match d {
        Dtype::String => "string",
        Dtype::Number => "number",
        Dtype::Integer => "integer",
        Dtype::Boolean => "boolean",
        Dtype::Array => "array",
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The dimensions of a nested array, if it is rectangular and small enough.
fn dims_of(value: &Value) -> Result<Vec<u64>, String> {
    let mut dims = Vec::new();
    let mut at = value;
    while let Value::Array(items) = at {
        if dims.len() == MAX_DIMS {
            return Err(format!("more than {MAX_DIMS} dimensions"));
        }
        dims.push(items.len() as u64);
        match items.first() {
            Some(first) => at = first,
            None => break,
        }
    }
    let elements = dims.iter().try_fold(1u64, |n, d| n.checked_mul(*d));
    if elements.is_none_or(|n| n > MAX_ELEMENTS) {
        return Err(format!(
            "{dims:?} is more than the {MAX_ELEMENTS} elements an array may have"
        ));
    }
    rectangular(value, &dims).map(|()| dims)
}

fn rectangular(value: &Value, dims: &[u64]) -> Result<(), String> {
    match (value, dims.split_first()) {
        (Value::Array(items), Some((&n, rest))) => {
            if items.len() as u64 != n {
                return Err(format!(
                    "ragged: a row has {} elements where the first has {n}",
                    items.len()
                ));
            }
            items.iter().try_for_each(|v| rectangular(v, rest))
        }
        (Value::Array(_), None) => Err("ragged: an element is nested deeper than the first".into()),
        (Value::Object(_), _) => Err("an array element is an object".into()),
        (_, Some(_)) => Err("ragged: an element is a scalar where the first is a list".into()),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> Keys {
        Keys::of(&json!({"data_keys": {
            "x": {"dtype": "number", "shape": [], "source": "s"},
            "n": {"dtype": "integer", "shape": [], "source": "s"},
            "img": {"dtype": "array", "shape": [2, 3], "source": "s"},
            "wave": {"dtype": "array", "shape": [null], "source": "s"},
            "ext": {"dtype": "array", "shape": [512, 512], "source": "s", "external": "FILESTORE:"},
            "name": {"dtype": "string", "shape": [], "source": "s"},
        }}))
    }

    fn check(data: Value) -> Result<(), String> {
        keys().check_event(data.as_object().unwrap(), &json!({}))
    }

    #[test]
    fn values_that_fit_their_descriptor_pass() {
        check(
            json!({"x": 1.5, "n": 3, "img": [[1, 2, 3], [4, 5, 6]], "wave": [1, 2, 3, 4],
                     "ext": "datum/0", "name": "a", }),
        )
        .unwrap();
        check(json!({"x": null})).unwrap();
        let filled = json!({"img": false});
        keys()
            .check_event(json!({"img": "datum/1"}).as_object().unwrap(), &filled)
            .unwrap();
    }

    #[test]
    fn misfits_are_named_with_the_field() {
        for (data, want) in [
            (
                json!({"y": 1}),
                "'data.y' is not in the descriptor's data_keys (it has: ext, img",
            ),
            (
                json!({"x": "1"}),
                "'data.x' is a string but its descriptor says dtype 'number'",
            ),
            (
                json!({"n": 1.5}),
                "'data.n' is a fractional number but its descriptor says dtype 'integer'",
            ),
            (
                json!({"img": [[1, 2, 3]]}),
                "'data.img' has shape [1, 3] but its descriptor says [2, 3]",
            ),
            (
                json!({"img": [[1, 2, 3], [4, 5]]}),
                "'data.img': ragged: a row has 2 elements",
            ),
            (json!({"wave": [[1], 2]}), "ragged: an element is a scalar"),
            (
                json!({"x": [1, 2]}),
                "'data.x' is an array but its descriptor says dtype 'number' with shape []",
            ),
            (
                json!({"img": 7}),
                "'data.img' is an integer but its descriptor says dtype 'array' with shape [2, 3]",
            ),
        ] {
            let err = check(data.clone()).unwrap_err();
            assert!(err.contains(want), "{data}: {err}");
        }
    }

    #[test]
    fn one_long_row_and_a_million_empty_ones_is_refused_before_any_walk() {
        let mut rows = vec![json!(vec![0; 1000])];
        rows.extend(std::iter::repeat_n(json!([]), 1_000_000));
        let err = check(json!({"wave": rows})).unwrap_err();
        assert!(err.contains("more than the 16777216 elements"), "{err}");
        let err = check(json!({"wave": [[0, 0, 0], []]})).unwrap_err();
        assert!(err.contains("ragged"), "{err}");
    }

    #[test]
    fn pages_say_which_event() {
        let data = json!({"x": [1.0, "two"]});
        let err = keys()
            .check_page(data.as_object().unwrap(), &json!({}))
            .unwrap_err();
        assert!(
            err.starts_with("event 1 of the page: 'data.x' is a string"),
            "{err}"
        );
    }
}
