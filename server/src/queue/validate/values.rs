//! Checks of each bound argument against its parameter's [`ValueType`]: annotations, device
//! names (saying which devices exist when one does not), ranges, and motor groups of `*args`.

use serde_json::Value;

use super::{describe, MAX_POINTS, MAX_POSITION, MAX_SECONDS};
use crate::queue::catalog::{Catalog, ParamKind, ParamSpec, PlanSpec, ValueType};

pub(super) fn check(
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
            let fits = |v: &Value| crate::queue::annotation::fits(expr, v, catalog);
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
    expr: &crate::queue::annotation::TypeExpr,
    value: &Value,
) -> Option<String> {
    use crate::queue::annotation::{fits, DeviceKind, TypeExpr};
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
