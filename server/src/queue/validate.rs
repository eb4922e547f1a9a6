//! Plan validation against the catalogue: never eval, only data.
//!
//! Arguments are bound to parameters the way Python's `inspect.Signature.bind` does (so the
//! messages for missing, duplicate or unexpected arguments match bluesky's), then every value is
//! checked against its [`ValueType`], device names included.

use serde_json::{Map, Value};

use super::catalog::{Catalog, ParamKind, ParamSpec, PlanSpec, ValueType};

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

fn check(
    catalog: &Catalog,
    plan: &PlanSpec,
    param: &ParamSpec,
    value: &Value,
) -> Result<(), String> {
    let fail = |what: &str| {
        Err(format!(
            "parameter '{}' of plan '{}' must be {what}, got {}",
            param.name,
            plan.name,
            describe(value)
        ))
    };
    let number = |v: &Value| v.as_f64().filter(|f| f.is_finite());
    let ok = match param.ty {
        ValueType::Any => true,
        ValueType::Annotated => {
            let Some(expr) = &param.expr else {
                return Ok(());
            };
            // `*args` arrive as one list: each element must fit.
            let fits = |v: &Value| super::annotation::fits(expr, v, catalog);
            let good = match param.kind {
                ParamKind::VarPositional => value.as_array().is_none_or(|a| a.iter().all(fits)),
                _ => fits(value),
            };
            if !good {
                if let Some(msg) = unknown_device(catalog, plan, param, expr, value) {
                    return Err(msg);
                }
                let what = expr.describe();
                return fail(&what);
            }
            good
        }
        ValueType::Detectors => return check_detectors(catalog, plan, param, value),
        ValueType::Float => number(value).is_some(),
        ValueType::OptFloat => value.is_null() || number(value).is_some(),
        ValueType::OptInt => value.is_null() || value.as_i64().is_some(),
        ValueType::Seconds => number(value).is_some_and(|s| (0.0..=MAX_SECONDS).contains(&s)),
        ValueType::Delay => {
            let wait = |v: &Value| number(v).is_some_and(|s| (0.0..=MAX_SECONDS).contains(&s));
            value.is_null()
                || wait(value)
                || value
                    .as_array()
                    .is_some_and(|a| a.len() as u64 <= MAX_POINTS && a.iter().all(wait))
        }
        ValueType::Metadata => value.is_null() || value.is_object(),
        ValueType::NullOnly => value.is_null(),
        ValueType::OptStr => value.is_null() || value.is_string(),
        ValueType::SnakeAxes => {
            value.is_null()
                || value.is_boolean()
                || value.as_array().is_some_and(|a| {
                    a.iter()
                        .all(|m| m.as_str().is_some_and(|m| catalog.movable(m)))
                })
        }
        ValueType::ScanArgs | ValueType::GridArgs | ValueType::ListArgs | ValueType::MoveArgs => {
            return check_motor_groups(
                catalog,
                plan,
                param.ty,
                value.as_array().map_or(&[][..], Vec::as_slice),
            );
        }
    };
    if !ok {
        return fail(match param.ty {
            ValueType::Float => "a number",
            ValueType::OptFloat => "a number or null",
            ValueType::OptInt => "an integer or null",
            ValueType::Seconds => "a number of seconds from 0 to 86400 (a day)",
            ValueType::Delay => "a delay in seconds from 0 to 86400 or a list of delays",
            ValueType::Metadata => "an object of metadata or null",
            ValueType::NullOnly => "null (hutch cannot receive callables)",
            ValueType::OptStr => "a string or null",
            ValueType::SnakeAxes => "true, false, null or a list of motor names",
            _ => "valid",
        });
    }
    check_range(plan, param, value)
}

/// For a device-name parameter given a name the environment does not have: says which, and
/// what it has instead (the usual mistake, so the message should fix it).
fn unknown_device(
    catalog: &Catalog,
    plan: &PlanSpec,
    param: &ParamSpec,
    expr: &super::annotation::TypeExpr,
    value: &Value,
) -> Option<String> {
    use super::annotation::{fits, DeviceKind, TypeExpr};
    let kind = |t: &TypeExpr| match t {
        TypeExpr::Device(k) => Some(*k),
        TypeExpr::List(inner) => match **inner {
            TypeExpr::Device(k) => Some(k),
            _ => None,
        },
        _ => None,
    };
    let kind = match expr {
        TypeExpr::Union(parts) => parts.iter().find_map(kind),
        other => kind(other),
    }?;
    let names: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    let bad = names
        .into_iter()
        .find(|v| !fits(&TypeExpr::Device(kind), v, catalog))?
        .as_str()?;
    let (what, known) = match kind {
        DeviceKind::Movable => ("movable device", catalog.movable_names()),
        DeviceKind::Readable => ("readable device", catalog.readable_names()),
        DeviceKind::Flyable | DeviceKind::Any => (
            "device",
            catalog.devices.keys().map(String::as_str).collect(),
        ),
    };
    let mut known = known.join(", ");
    if known.len() > 400 {
        let cut = known
            .char_indices()
            .nth(400)
            .map_or(known.len(), |(i, _)| i);
        known.truncate(cut);
        known.push('…');
    }
    Some(format!(
        "parameter '{}' of plan '{}': '{bad}' is not a {what} of this environment; {what}s: {known}",
        param.name, plan.name
    ))
}

fn position_ok(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_POSITION
}

fn check_range(plan: &PlanSpec, param: &ParamSpec, value: &Value) -> Result<(), String> {
    let Some(v) = value.as_f64() else {
        return Ok(());
    };
    let below = param.min.is_some_and(|m| v < m);
    let above = param.max.is_some_and(|m| v > m);
    if below || above {
        let bound = |b: Option<f64>, inf: &str| b.map_or(inf.to_string(), |b| b.to_string());
        return Err(format!(
            "parameter '{}' of plan '{}': Value {v} is out of range [{}, {}]",
            param.name,
            plan.name,
            bound(param.min, "-inf"),
            bound(param.max, "inf")
        ));
    }
    Ok(())
}

fn check_detectors(
    catalog: &Catalog,
    plan: &PlanSpec,
    param: &ParamSpec,
    value: &Value,
) -> Result<(), String> {
    let Some(list) = value.as_array().filter(|l| !l.is_empty()) else {
        return Err(format!(
            "parameter '{}' of plan '{}' must be a non-empty list of detector names, e.g. [\"det1\"], got {}",
            param.name,
            plan.name,
            describe(value)
        ));
    };
    for d in list {
        let name = d.as_str().unwrap_or_default();
        if !catalog.readable(name) {
            return Err(format!(
                "parameter '{}' of plan '{}': {} is not a readable device of this environment; readable devices: {}",
                param.name,
                plan.name,
                describe(d),
                catalog.readable_names().join(", ")
            ));
        }
    }
    Ok(())
}

fn check_motor(catalog: &Catalog, plan: &PlanSpec, v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(m) if catalog.movable(m) => Ok(()),
        _ => Err(format!(
            "plan '{}': {} is not a movable device of this environment; movable devices: {}",
            plan.name,
            describe(v),
            catalog.movable_names().join(", ")
        )),
    }
}

/// `*args` made of groups that each start with a motor name.
fn check_motor_groups(
    catalog: &Catalog,
    plan: &PlanSpec,
    ty: ValueType,
    args: &[Value],
) -> Result<(), String> {
    let (group, shape) = match ty {
        ValueType::ScanArgs => (3, "motor, start, stop[, motor2, start2, stop2…][, num]"),
        ValueType::GridArgs => (4, "motor, start, stop, num[, motor2, start2, stop2, num2…]"),
        ValueType::ListArgs => (2, "motor, [point, …][, motor2, [point, …]…]"),
        _ => (2, "motor, position[, motor2, position2…]"),
    };
    let trailing_num = ty == ValueType::ScanArgs && args.len() % group == 1;
    let body = if trailing_num {
        &args[..args.len() - 1]
    } else {
        args
    };
    if body.is_empty() || body.len() % group != 0 {
        return Err(format!(
            "plan '{}' expects its positional arguments after the detectors as {shape}; got {}",
            plan.name,
            describe(&Value::Array(args.to_vec()))
        ));
    }
    let mut list_len = None;
    for chunk in body.chunks(group) {
        check_motor(catalog, plan, &chunk[0])?;
        for (i, v) in chunk[1..].iter().enumerate() {
            let good = match ty {
                ValueType::GridArgs if i == 2 => {
                    v.as_u64().is_some_and(|n| (1..=MAX_POINTS).contains(&n))
                }
                ValueType::ListArgs => {
                    let points = v.as_array().filter(|a| {
                        !a.is_empty()
                            && a.len() as u64 <= MAX_POINTS
                            && a.iter().all(|p| p.as_f64().is_some_and(position_ok))
                    });
                    let same_len =
                        points.is_some_and(|p| *list_len.get_or_insert(p.len()) == p.len());
                    points.is_some() && same_len
                }
                _ => v.as_f64().is_some_and(position_ok),
            };
            if !good {
                return Err(format!(
                    "plan '{}': {} after motor {} is not valid; expected {shape} (positions within ±{MAX_POSITION:e}, at most {MAX_POINTS} points)",
                    plan.name,
                    describe(v),
                    chunk[0]
                ));
            }
        }
    }
    if trailing_num
        && args[args.len() - 1]
            .as_u64()
            .is_none_or(|n| !(1..=MAX_POINTS).contains(&n))
    {
        return Err(format!(
            "plan '{}': the number of points must be an integer from 1 to {MAX_POINTS}",
            plan.name
        ));
    }
    if ty == ValueType::GridArgs {
        let total = body
            .chunks(group)
            .map(|c| c[3].as_u64().unwrap_or(1))
            .try_fold(1u64, |acc, n| acc.checked_mul(n))
            .unwrap_or(u64::MAX);
        if total > MAX_POINTS {
            return Err(format!(
                "plan '{}' would take {total} points; the grid may have at most {MAX_POINTS}",
                plan.name
            ));
        }
    }
    Ok(())
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
