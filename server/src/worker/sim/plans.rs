//! Turns a validated plan item into what the runner executes: a trajectory of motor positions
//! with detectors to read at each point, a move, or a sleep. Pure.

use hutch_app::model::queue::QueueItem;
use serde_json::{json, Value};

use super::devices::Devices;

/// A run: at each point move the motors, then read the detectors.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    pub plan_name: String,
    pub detectors: Vec<String>,
    pub motors: Vec<String>,
    /// One row per point: the position of each motor, in `motors` order.
    pub points: Vec<Vec<f64>>,
    /// Seconds to wait after each reading (count's `delay`), per point.
    pub delays: Vec<f64>,
    /// Positions to return the motors to at the end (relative scans).
    pub restore: Vec<(String, f64)>,
    /// `start` document keys this plan sets (plan_args, hints, md, …).
    pub start_extra: serde_json::Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SimPlan {
    Run(Trajectory),
    /// Moves without a run (`mv`, `mvr`).
    Move(Vec<(String, f64)>),
    Sleep(f64),
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_default()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A number of points that cannot exhaust memory, whatever reached the worker (validation bounds
/// it too; this is the worker's own guard).
fn points_of(n: u64) -> Result<usize, String> {
    let max = crate::queue::validate::MAX_POINTS;
    if n > max {
        return Err(format!(
            "{n} points are more than the simulated environment takes ({max})"
        ));
    }
    Ok(n as usize)
}

fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![start],
        _ => (0..n)
            .map(|i| start + (stop - start) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

/// Builds the plan. The item was validated against the catalogue, so shapes are right; runtime
/// problems (nothing can be wrong in the simulation today) would be returned as errors.
pub fn build(item: &QueueItem, devices: &Devices) -> Result<SimPlan, String> {
    let args = item.args();
    let kw = |k: &str| item.kwarg(k).filter(|v| !v.is_null());
    let position = |m: &str| devices.motor(m).map_or(0.0, |m| m.position);
    let detectors = args.first().map(names).unwrap_or_default();
    let rest = if args.is_empty() { &[][..] } else { &args[1..] };
    let relative = item.name.starts_with("rel_");
    let offset = |m: &str| if relative { position(m) } else { 0.0 };

    let mut motors = Vec::new();
    let points: Vec<Vec<f64>>;
    let mut delays = Vec::new();
    let mut plan_args = serde_json::Map::new();
    plan_args.insert("detectors".into(), json!(detectors));
    match item.name.as_str() {
        "count" => {
            let n = points_of(
                kw("num")
                    .or(rest.first())
                    .and_then(Value::as_u64)
                    .unwrap_or(1),
            )?;
            let delay = kw("delay").or(rest.get(1)).cloned().unwrap_or(json!(0.0));
            points = vec![vec![]; n];
            delays = match &delay {
                Value::Array(list) => (0..n).map(|i| list.get(i).map_or(0.0, num)).collect(),
                v => vec![num(v); n],
            };
            plan_args.insert("num".into(), json!(n));
            plan_args.insert("delay".into(), delay);
        }
        "scan" | "rel_scan" => {
            let (body, n) = if rest.len() % 3 == 1 {
                (
                    &rest[..rest.len() - 1],
                    rest[rest.len() - 1].as_u64().unwrap_or(1),
                )
            } else {
                (rest, kw("num").and_then(Value::as_u64).unwrap_or(1))
            };
            let n = points_of(n)? as u64;
            let mut columns = Vec::new();
            for g in body.chunks(3) {
                let m = g[0].as_str().unwrap_or_default().to_string();
                columns.push(linspace(
                    num(&g[1]) + offset(&m),
                    num(&g[2]) + offset(&m),
                    n as usize,
                ));
                motors.push(m);
            }
            points = (0..n as usize)
                .map(|i| columns.iter().map(|c| c[i]).collect())
                .collect();
            plan_args.insert("args".into(), Value::Array(body.to_vec()));
            plan_args.insert("num".into(), json!(n));
        }
        "list_scan" => {
            let mut columns = Vec::new();
            for g in rest.chunks(2) {
                motors.push(g[0].as_str().unwrap_or_default().to_string());
                columns.push(
                    g[1].as_array()
                        .map(|a| a.iter().map(num).collect::<Vec<_>>())
                        .unwrap_or_default(),
                );
            }
            let n = columns.first().map_or(0, Vec::len);
            points = (0..n)
                .map(|i| columns.iter().map(|c| c[i]).collect())
                .collect();
            plan_args.insert("args".into(), Value::Array(rest.to_vec()));
        }
        "grid_scan" | "rel_grid_scan" => {
            let snake = kw("snake_axes").cloned().unwrap_or(json!(false));
            let mut axes = Vec::new();
            for g in rest.chunks(4) {
                let m = g[0].as_str().unwrap_or_default().to_string();
                axes.push(linspace(
                    num(&g[1]) + offset(&m),
                    num(&g[2]) + offset(&m),
                    points_of(g[3].as_u64().unwrap_or(1))?,
                ));
                motors.push(m);
            }
            let snaked: Vec<bool> = motors
                .iter()
                .enumerate()
                .map(|(i, m)| i > 0 && (snake == json!(true) || names(&snake).contains(m)))
                .collect();
            let total = axes
                .iter()
                .try_fold(1u64, |acc, a| acc.checked_mul(a.len() as u64))
                .unwrap_or(u64::MAX);
            points_of(total)?;
            points = grid(&axes, &snaked);
            plan_args.insert("args".into(), Value::Array(rest.to_vec()));
            plan_args.insert("snake_axes".into(), snake);
            let shape: Vec<usize> = axes.iter().map(Vec::len).collect();
            plan_args.insert("shape".into(), json!(shape));
        }
        "mv" | "mvr" => {
            let moves = args
                .chunks(2)
                .map(|g| {
                    let m = g[0].as_str().unwrap_or_default().to_string();
                    let base = if item.name == "mvr" {
                        position(&m)
                    } else {
                        0.0
                    };
                    (m, base + num(&g[1]))
                })
                .collect();
            return Ok(SimPlan::Move(moves));
        }
        "sleep" => return Ok(SimPlan::Sleep(args.first().map_or(0.0, num))),
        other => return Err(format!("the simulated environment has no plan '{other}'")),
    }
    if delays.is_empty() {
        delays = vec![0.0; points.len()];
    }
    let restore = if relative {
        motors.iter().map(|m| (m.clone(), position(m))).collect()
    } else {
        vec![]
    };
    let mut start_extra = serde_json::Map::new();
    let dims: Vec<Value> = if motors.is_empty() {
        vec![json!([["time"], "primary"])]
    } else if item.name.contains("grid") {
        motors.iter().map(|m| json!([[m], "primary"])).collect()
    } else {
        vec![json!([motors.clone(), "primary"])]
    };
    start_extra.insert("plan_type".into(), json!("generator"));
    start_extra.insert("plan_name".into(), json!(item.name));
    start_extra.insert("detectors".into(), json!(detectors));
    start_extra.insert("motors".into(), json!(motors));
    start_extra.insert("num_points".into(), json!(points.len()));
    start_extra.insert(
        "num_intervals".into(),
        json!(points.len().saturating_sub(1)),
    );
    // As bluesky's grid_scan: the grid's shape in the start document (plots draw a heatmap).
    if let Some(shape) = plan_args.get("shape") {
        start_extra.insert("shape".into(), shape.clone());
    }
    start_extra.insert("plan_args".into(), Value::Object(plan_args));
    start_extra.insert("hints".into(), json!({ "dimensions": dims }));
    for source in [item.meta.as_ref(), kw("md")] {
        if let Some(Value::Object(md)) = source {
            for (k, v) in md {
                start_extra.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(SimPlan::Run(Trajectory {
        plan_name: item.name.clone(),
        detectors,
        motors,
        points,
        delays,
        restore,
        start_extra,
    }))
}

/// The outer product of the axes, first axis slowest; snaked axes reverse on every other pass.
fn grid(axes: &[Vec<f64>], snaked: &[bool]) -> Vec<Vec<f64>> {
    let mut rows: Vec<Vec<f64>> = vec![vec![]];
    for (axis, &snake) in axes.iter().zip(snaked) {
        let mut next = Vec::with_capacity(rows.len() * axis.len());
        for (k, row) in rows.iter().enumerate() {
            let forward = !snake || k % 2 == 0;
            let values: Box<dyn Iterator<Item = &f64>> = if forward {
                Box::new(axis.iter())
            } else {
                Box::new(axis.iter().rev())
            };
            for v in values {
                let mut r = row.clone();
                r.push(*v);
                next.push(r);
            }
        }
        rows = next;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, args: Value, kwargs: Value) -> QueueItem {
        serde_json::from_value(
            json!({"name": name, "args": args, "kwargs": kwargs, "item_type": "plan"}),
        )
        .unwrap()
    }

    fn traj(plan: SimPlan) -> Trajectory {
        match plan {
            SimPlan::Run(t) => t,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn scans_make_the_points_bluesky_makes() {
        let d = Devices::default();
        let t = traj(
            build(
                &item("scan", json!([["det"], "motor", -1, 1, 5]), json!({})),
                &d,
            )
            .unwrap(),
        );
        assert_eq!(
            t.points,
            vec![vec![-1.0], vec![-0.5], vec![0.0], vec![0.5], vec![1.0]]
        );
        assert_eq!(t.start_extra["num_points"], 5);
        assert_eq!(
            t.start_extra["hints"]["dimensions"],
            json!([[["motor"], "primary"]])
        );
        let t = traj(
            build(
                &item("count", json!([["det1"]]), json!({"num": 3, "delay": 0.1})),
                &d,
            )
            .unwrap(),
        );
        assert_eq!(t.points.len(), 3);
        assert_eq!(t.delays, vec![0.1, 0.1, 0.1]);
        assert_eq!(
            t.start_extra["hints"]["dimensions"],
            json!([[["time"], "primary"]])
        );
    }

    #[test]
    fn grid_scans_snake_when_asked() {
        let d = Devices::default();
        let args = json!([["det4"], "motor1", 0, 1, 2, "motor2", 0, 2, 3]);
        let t = traj(
            build(
                &item("grid_scan", args.clone(), json!({"snake_axes": true})),
                &d,
            )
            .unwrap(),
        );
        let m2: Vec<f64> = t.points.iter().map(|p| p[1]).collect();
        assert_eq!(m2, vec![0.0, 1.0, 2.0, 2.0, 1.0, 0.0]);
        let t = traj(build(&item("grid_scan", args, json!({})), &d).unwrap());
        let m2: Vec<f64> = t.points.iter().map(|p| p[1]).collect();
        assert_eq!(m2, vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn relative_scans_are_offset_and_restore() {
        let mut d = Devices::default();
        d.motor_mut("motor").unwrap().position = 2.0;
        let t = traj(
            build(
                &item(
                    "rel_scan",
                    json!([["det"], "motor", -1, 1]),
                    json!({"num": 3}),
                ),
                &d,
            )
            .unwrap(),
        );
        assert_eq!(t.points, vec![vec![1.0], vec![2.0], vec![3.0]]);
        assert_eq!(t.restore, vec![("motor".to_string(), 2.0)]);
    }

    #[test]
    fn moves_and_metadata() {
        let mut d = Devices::default();
        d.motor_mut("motor1").unwrap().position = 1.0;
        let p = build(&item("mvr", json!(["motor1", 0.5]), json!({})), &d).unwrap();
        assert_eq!(p, SimPlan::Move(vec![("motor1".into(), 1.5)]));
        let mut it = item("count", json!([["det"]]), json!({"md": {"sample": "Si"}}));
        it.meta = Some(json!({"operator": "ann"}));
        let t = traj(build(&it, &d).unwrap());
        assert_eq!(t.start_extra["sample"], "Si");
        assert_eq!(t.start_extra["operator"], "ann");
    }
}
