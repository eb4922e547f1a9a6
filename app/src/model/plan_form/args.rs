//! The bluesky `*args` pattern of scans as rows a person fills in: `scan(dets, motor, start,
//! stop, …)` is a row per motor (motor, start, stop); `grid_scan` adds `num`; `list_scan` takes
//! a list of positions; `mv` a value. The pattern is read from the parameter's description (the
//! plan's docstring, which is what bluesky and the simulated catalogue both document it by);
//! a plan whose args follow no known pattern keeps the JSON list field.

use serde_json::Value;

use super::{plain_text, Param, Widget};

/// What one column of a row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Motor,
    Number(&'static str),
    Count(&'static str),
    /// A JSON list of positions.
    Points,
}

impl Cell {
    pub fn label(self) -> &'static str {
        match self {
            Cell::Motor => "motor",
            Cell::Number(n) | Cell::Count(n) => n,
            Cell::Points => "positions",
        }
    }
}

/// The row pattern of a `*args` parameter, if it follows one of bluesky's.
pub fn pattern(p: &Param) -> Option<Vec<Cell>> {
    if p.widget != Widget::VarArgs || !p.type_text.contains("__MOVABLE__") {
        return None;
    }
    let doc = plain_text(&p.description).to_ascii_lowercase();
    // Only bluesky's own wording: a wrong guess would make a valid plan impossible to submit.
    let row = if doc.contains("start1, stop1, num1") {
        vec![
            Cell::Motor,
            Cell::Number("start"),
            Cell::Number("stop"),
            Cell::Count("num"),
        ]
    } else if doc.contains("motor, start, stop") || doc.contains("motor1, start1, stop1") {
        vec![Cell::Motor, Cell::Number("start"), Cell::Number("stop")]
    } else if doc.contains("[point1") || doc.contains("list[") || p.type_text.contains("list[") {
        vec![Cell::Motor, Cell::Points]
    } else if doc.contains("value1") || doc.contains("position1") {
        vec![Cell::Motor, Cell::Number("value")]
    } else {
        return None;
    };
    Some(row)
}

/// The rows shown for an args field's text (a JSON list); a row more than the list fills is
/// not added here (the form adds an empty one).
pub fn rows(pattern: &[Cell], text: &str) -> Vec<Vec<String>> {
    let values = match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Array(a)) => a,
        _ => return Vec::new(),
    };
    values
        .chunks(pattern.len())
        .map(|chunk| {
            (0..pattern.len())
                .map(|i| match chunk.get(i) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                })
                .collect()
        })
        .collect()
}

/// The args field's text (a JSON list) for rows as typed: numbers as numbers, positions as
/// lists; a cell that is not what its column holds is kept as text, for [`check`] to name.
/// Empty rows are left out.
pub fn text(pattern: &[Cell], rows: &[Vec<String>]) -> String {
    let mut out = Vec::new();
    for row in rows {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        for (i, cell) in pattern.iter().enumerate() {
            let t = row.get(i).map(|s| s.trim()).unwrap_or("");
            let v = match cell {
                Cell::Motor => Value::String(t.to_string()),
                Cell::Number(_) | Cell::Count(_) | Cell::Points => {
                    serde_json::from_str::<Value>(t).unwrap_or_else(|_| Value::String(t.into()))
                }
            };
            out.push(v);
        }
    }
    Value::Array(out).to_string()
}

/// Whether the args list fits the pattern: whole rows, a motor name, numbers where numbers go.
/// The error names the row and the column ("row 2: stop 'x' is not a number").
pub fn check(pattern: &[Cell], args: &[Value]) -> Result<(), String> {
    if args.is_empty() {
        return Err("give at least one motor".into());
    }
    for (r, chunk) in args.chunks(pattern.len()).enumerate() {
        let row = r + 1;
        for (i, cell) in pattern.iter().enumerate() {
            let Some(v) = chunk.get(i) else {
                return Err(format!("row {row}: {} is missing", cell.label()));
            };
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let fits = match cell {
                Cell::Motor => v.as_str().is_some_and(|s| !s.is_empty()),
                Cell::Number(_) => v.is_number(),
                Cell::Count(_) => v.as_u64().is_some_and(|n| n >= 1),
                Cell::Points => v
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_number)),
            };
            if !fits {
                let empty = v.as_str().is_some_and(|s| s.trim().is_empty());
                let what = match cell {
                    _ if empty && *cell != Cell::Motor => format!("{} is missing", cell.label()),
                    Cell::Motor => "choose a motor".to_string(),
                    Cell::Number(n) => format!("{n} '{shown}' is not a number"),
                    Cell::Count(n) => format!("{n} '{shown}' is not a whole number of points"),
                    Cell::Points => format!("positions '{shown}' is not a list like [1, 2.5, 4]"),
                };
                return Err(format!("row {row}: {what}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(description: &str, type_text: &str) -> Param {
        Param {
            name: "args".into(),
            kind: "VAR_POSITIONAL".into(),
            widget: Widget::VarArgs,
            default: None,
            description: description.into(),
            type_text: type_text.into(),
        }
    }

    #[test]
    fn patterns_are_read_from_bluesky_docstrings() {
        let any = "__MOVABLE__ | typing.Any";
        let scan = args(
            "For one dimension, ``motor, start, stop``. In general: ``motor1, start1, stop1, ...``",
            any,
        );
        assert_eq!(
            pattern(&scan).unwrap(),
            [Cell::Motor, Cell::Number("start"), Cell::Number("stop")]
        );
        let grid = args("patterned like (``motor1, start1, stop1, num1,`` ...)", any);
        assert_eq!(pattern(&grid).unwrap().len(), 4);
        let list = args(
            "For one dimension, ``motor, [point1, point2, ....]``.",
            "tuple[__MOVABLE__ | typing.Any, list[typing.Any]]",
        );
        assert_eq!(pattern(&list).unwrap(), [Cell::Motor, Cell::Points]);
        let mv = args("device1, value1, device2, value2, ...", any);
        assert_eq!(pattern(&mv).unwrap(), [Cell::Motor, Cell::Number("value")]);
        assert_eq!(pattern(&args("anything", "typing.Any")), None);
    }

    #[test]
    fn rows_and_text_round_trip_and_bad_cells_are_named() {
        let grid = [
            Cell::Motor,
            Cell::Number("start"),
            Cell::Number("stop"),
            Cell::Count("num"),
        ];
        let t = r#"["motor1",-1,1,5,"motor2",-2.5,2.5,7]"#;
        let r = rows(&grid, t);
        assert_eq!(r[1], ["motor2", "-2.5", "2.5", "7"]);
        let mut typed = r.clone();
        typed.push(vec![String::new(); 4]);
        assert_eq!(text(&grid, &typed), t, "an empty row is left out");
        let parsed: Vec<Value> = serde_json::from_str(t).unwrap();
        assert_eq!(check(&grid, &parsed), Ok(()));

        typed[1][2] = "two".into();
        let bad: Vec<Value> = serde_json::from_str(&text(&grid, &typed)).unwrap();
        assert_eq!(
            check(&grid, &bad),
            Err("row 2: stop 'two' is not a number".into())
        );
        let short = [json!("motor1"), json!(-1)];
        assert_eq!(check(&grid, &short), Err("row 1: stop is missing".into()));
        let list = [Cell::Motor, Cell::Points];
        assert!(check(&list, &[json!("m"), json!([1, 2])]).is_ok());
        assert!(check(&list, &[json!("m"), json!("1,2")])
            .unwrap_err()
            .contains("not a list"));
        assert_eq!(check(&grid, &[]), Err("give at least one motor".into()));
    }
}
