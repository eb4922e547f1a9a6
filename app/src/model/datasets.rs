//! Datasets: named values that plans set and applets show (ARTIQ's datasets).
//!
//! A key is dotted (`det1.last`, `scan.peak.motor`); a value is a number, string, bool, list or
//! list of lists (a 2-D array). Persistent datasets survive a restart and go to the
//! `datasets.json` mirror; the others live in memory only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Display metadata of a dataset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One dataset as stored and sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub key: String,
    pub value: Value,
    #[serde(flatten)]
    pub meta: DatasetMeta,
    pub persist: bool,
    /// Who set it last: a user, `dispatch:<uid>` (a plan of the queue), `run:<uid>` or `file:<path>`.
    pub set_by: String,
    /// RFC 3339.
    pub updated_at: String,
    /// One more with every change.
    pub version: i64,
}

/// A change, as the `datasets` topic's update data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DatasetDelta {
    /// Created or replaced (value and/or metadata).
    Set {
        dataset: Box<Dataset>,
    },
    /// Values appended to a list dataset; `version`, `set_by`, `updated_at` as after the change.
    Append {
        key: String,
        values: Vec<Value>,
        version: i64,
        set_by: String,
        updated_at: String,
    },
    /// One element replaced: `index` is `[i]` for a list, `[row, column]` for a 2-D array.
    SetElement {
        key: String,
        index: Vec<usize>,
        value: Value,
        version: i64,
        set_by: String,
        updated_at: String,
    },
    Delete {
        key: String,
    },
    /// The server (re)started: take the snapshot.
    Reset,
}

/// Checks a dataset key: dotted words of letters, digits, `_` and `-`.
pub fn validate_key(key: &str) -> Result<(), String> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if key.len() > 200 || !key.split('.').all(ok_part) {
        return Err(format!(
            "dataset key '{key}' is not valid: use dotted words of letters, digits, '_' and '-', e.g. 'det1.last' (at most 200 characters)"
        ));
    }
    Ok(())
}

/// Checks a value: a number, string, bool, a list of those, or a list of equal-length lists
/// (a 2-D array). `null` is refused: delete the dataset instead.
pub fn validate_value(value: &Value) -> Result<(), String> {
    let scalar = |v: &Value| matches!(v, Value::Number(_) | Value::String(_) | Value::Bool(_));
    match value {
        v if scalar(v) => Ok(()),
        Value::Array(items) if items.iter().all(scalar) => Ok(()),
        Value::Array(rows) if rows.iter().all(Value::is_array) => {
            let width = rows.first().and_then(Value::as_array).map_or(0, Vec::len);
            let rectangular = rows
                .iter()
                .filter_map(Value::as_array)
                .all(|r| r.len() == width && r.iter().all(scalar));
            if rectangular {
                Ok(())
            } else {
                Err("a 2-D value must be a list of rows of equal length holding numbers, strings or bools".into())
            }
        }
        Value::Null => Err("'value' is missing or null; to remove a dataset, DELETE it".into()),
        _ => Err("'value' must be a number, string, bool, a list of those, or a list of equal-length lists (2-D)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_dotted_words() {
        assert!(validate_key("det1.last").is_ok());
        assert!(validate_key("scan.peak-position_2").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a b", "ä", &"x".repeat(201)] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_scalars_lists_or_rectangles() {
        for good in [
            json!(1.5),
            json!("on"),
            json!(true),
            json!([1, 2]),
            json!([[1, 2], [3, 4]]),
            json!([]),
        ] {
            assert!(validate_value(&good).is_ok(), "{good}");
        }
        for bad in [
            json!(null),
            json!({"a": 1}),
            json!([[1], [2, 3]]),
            json!([[1], 2]),
            json!([[[1]]]),
        ] {
            assert!(validate_value(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_is_flattened_into_the_dataset() {
        let d = Dataset {
            key: "det.last".into(),
            value: json!(3.0),
            meta: DatasetMeta {
                unit: Some("counts".into()),
                ..Default::default()
            },
            persist: true,
            set_by: "ann".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            version: 1,
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["unit"], "counts");
        assert!(v.get("precision").is_none());
        assert_eq!(serde_json::from_value::<Dataset>(v).unwrap(), d);
    }
}
