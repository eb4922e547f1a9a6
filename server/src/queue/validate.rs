//! Plan validation against the catalogue: never eval, only data.
//!
//! Arguments are bound to parameters the way Python's `inspect.Signature.bind` does (so the
//! messages for missing, duplicate or unexpected arguments match bluesky's), then every value is
//! checked against its [`ValueType`], device names included.

use serde_json::{Map, Value};

use super::catalog::{Catalog, ParamKind, ParamSpec, PlanSpec, ValueType};
use values::check;

// The path is spelled out because server/fuzz compiles this file by `#[path]`, where a plain
// `mod` would be looked up beside the file instead of in its folder.
#[path = "validate/values.rs"]
mod values;

/// Most points (readings) one plan of the simulated environment may take.
pub const MAX_POINTS: u64 = 1_000_000;
/// Longest wait a plan argument may ask for: a day.
pub const MAX_SECONDS: f64 = 86_400.0;
/// Farthest a simulated motor may be sent (either way, in its units).
pub const MAX_POSITION: f64 = 1e9;

/// Checks a plan call; the error names the problem so the user can fix it.
pub fn validate_plan(
    catalog: &Catalog,
    name: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<(), String> {
    let plan = catalog
        .plans
        .get(name)
        .ok_or_else(|| format!("Plan '{name}' is not in the list of allowed plans."))?;
    for (param, value) in bind(plan, args, kwargs)? {
        if param.ty == ValueType::ScanArgs {
            let groups = value.as_array().map_or(0, Vec::len);
            let num_in_args = groups % 3 == 1;
            let num_in_kwargs = kwargs.get("num").is_some_and(|n| !n.is_null());
            if !num_in_args && !num_in_kwargs {
                return Err(format!(
                    "plan '{}' needs the number of points: pass num=N",
                    plan.name
                ));
            }
            if num_in_args && num_in_kwargs {
                return Err(format!(
                    "plan '{}' got the number of points twice (in args and as num)",
                    plan.name
                ));
            }
        }
        check(catalog, plan, param, &value)?;
    }
    let strict_num = plan
        .parameters
        .iter()
        .any(|p| p.name == "num" && p.ty == ValueType::OptInt);
    if let Some(num) = kwargs.get("num").filter(|n| !n.is_null() && strict_num) {
        if num.as_u64().is_none_or(|n| !(1..=MAX_POINTS).contains(&n)) {
            return Err(format!(
                "parameter 'num' of plan '{}' must be an integer from 1 to {MAX_POINTS}, got {}",
                plan.name,
                describe(num)
            ));
        }
    }
    Ok(())
}

/// Pairs each parameter with the value it receives (`*args` as one array).
fn bind<'p>(
    plan: &'p PlanSpec,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Vec<(&'p ParamSpec, Value)>, String> {
    let mut bound: Vec<(&ParamSpec, Value)> = Vec::new();
    let mut rest = args.iter();
    for param in &plan.parameters {
        match param.kind {
            ParamKind::PositionalOnly => {
                if let Some(v) = rest.next() {
                    bound.push((param, v.clone()));
                } else if param.required() {
                    return Err(format!("missing a required argument: '{}'", param.name));
                }
            }
            ParamKind::PositionalOrKeyword => {
                if let Some(v) = rest.next() {
                    if kwargs.contains_key(&param.name) {
                        return Err(format!("multiple values for argument '{}'", param.name));
                    }
                    bound.push((param, v.clone()));
                } else if let Some(v) = kwargs.get(&param.name) {
                    bound.push((param, v.clone()));
                } else if param.required() {
                    return Err(format!("missing a required argument: '{}'", param.name));
                }
            }
            ParamKind::VarPositional => {
                let values: Vec<Value> = rest.by_ref().cloned().collect();
                bound.push((param, Value::Array(values)));
            }
            ParamKind::KeywordOnly => {
                if let Some(v) = kwargs.get(&param.name) {
                    bound.push((param, v.clone()));
                } else if param.required() {
                    return Err(format!("missing a required argument: '{}'", param.name));
                }
            }
            ParamKind::VarKeyword => {}
        }
    }
    if rest.next().is_some() {
        return Err("too many positional arguments".into());
    }
    let accepts_any_kwarg = plan
        .parameters
        .iter()
        .any(|p| p.kind == ParamKind::VarKeyword);
    for key in kwargs.keys() {
        let known = plan.parameters.iter().any(|p| {
            p.name == *key
                && matches!(
                    p.kind,
                    ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
                )
        });
        if !known && !accepts_any_kwarg {
            return Err(format!("got an unexpected keyword argument '{key}'"));
        }
    }
    Ok(bound)
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

#[cfg(test)]
mod annotated_tests {
    use super::*;
    use serde_json::json;

    /// A catalogue as a bluesky environment describes it (no hutch types).
    fn bluesky_catalog() -> Catalog {
        let plans = json!({"count": {"name": "count", "module": "bluesky.plans", "parameters": [
            {"name": "detectors", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1},
             "annotation": {"type": "collections.abc.Sequence[__READABLE__]"}, "convert_device_names": true},
            {"name": "num", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1},
             "annotation": {"type": "int | None"}, "default": "1", "min": "1", "max": "100"},
            {"name": "md", "kind": {"name": "KEYWORD_ONLY", "value": 3}, "default": "None"},
        ]}, "move_to": {"name": "move_to", "parameters": [
            {"name": "where", "kind": {"name": "POSITIONAL_ONLY", "value": 0},
             "annotation": {"type": "Places", "enums": {"Places": ["in", "out"]}}},
            {"name": "motor", "kind": {"name": "POSITIONAL_OR_KEYWORD", "value": 1},
             "annotation": {"type": "__MOVABLE__"}},
        ]}});
        let devices = json!({
            "det1": {"is_readable": true, "is_movable": false, "components": {"val": {"is_readable": true}}},
            "motor": {"is_readable": true, "is_movable": true},
        });
        Catalog::from_json(&plans, &devices, None).unwrap()
    }

    fn check(name: &str, args: Value, kwargs: Value) -> Result<(), String> {
        let kwargs = kwargs.as_object().cloned().unwrap_or_default();
        validate_plan(&bluesky_catalog(), name, args.as_array().unwrap(), &kwargs)
    }

    #[test]
    fn plans_described_by_annotations_are_checked() {
        check("count", json!([["det1"]]), json!({"num": 3})).unwrap();
        check("count", json!([["det1.val", "motor"]]), json!({})).unwrap();
        check("count", json!([["det1"]]), json!({"md": {"any": "thing"}})).unwrap();
        let e = check("count", json!([["nodet"]]), json!({})).unwrap_err();
        assert!(
            e.contains("'nodet' is not a readable device") && e.contains("det1, motor"),
            "{e}"
        );
        let e = check("count", json!([["det1"]]), json!({"num": 2.5})).unwrap_err();
        assert!(e.contains("must be an integer or null"), "{e}");
        let e = check("count", json!([["det1"]]), json!({"num": 1000})).unwrap_err();
        assert!(e.contains("out of range [1, 100]"), "{e}");
        let e = check("count", json!([]), json!({})).unwrap_err();
        assert!(
            e.contains("missing a required argument: 'detectors'"),
            "{e}"
        );
        check("move_to", json!(["in", "motor"]), json!({})).unwrap();
        let e = check("move_to", json!(["sideways", "motor"]), json!({})).unwrap_err();
        assert!(e.contains("one of in, out"), "{e}");
        let e = check("move_to", json!(["in", "det1"]), json!({})).unwrap_err();
        assert!(e.contains("'det1' is not a movable device"), "{e}");
        let e = check(
            "move_to",
            json!([]),
            json!({"where": "in", "motor": "motor"}),
        )
        .unwrap_err();
        assert!(
            e.contains("missing a required argument: 'where'"),
            "positional only: {e}"
        );
    }
}
