//! Tests of `run_data`, and the [`fixture`] that reads a recorded run for other modules' tests.

use super::*;
use serde_json::json;

pub(crate) fn fixture(name: &str) -> RunData {
    let path = format!(
        "{}/../server/tests/fixtures/bluesky-docs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture");
    let mut run = RunData::default();
    for line in text.lines() {
        let [name, doc]: [Value; 2] = serde_json::from_str(line).expect("[name, doc]");
        if name == "start" {
            run.uid = doc["uid"].as_str().unwrap().to_string();
        }
        run.apply(name.as_str().unwrap(), doc);
    }
    run
}

#[test]
fn a_recorded_scan_becomes_columns_with_units_and_hints() {
    let run = fixture("scan_det_motor.jsonl");
    let primary = run.stream("primary").expect("primary stream");
    assert_eq!(primary.len(), 25);
    assert_eq!(run.motors(), ["motor"]);
    assert!(
        primary.hinted.contains(&"det".to_string()),
        "{:?}",
        primary.hinted
    );
    let motor = primary.column("motor").unwrap();
    assert!(motor[0] < motor[24], "the motor moves: {motor:?}");
    assert!(primary
        .column("det")
        .unwrap()
        .as_slice()
        .iter()
        .all(|v| v.is_finite()));
    assert_eq!(
        primary.column("seq_num").unwrap().extent(),
        Some((1.0, 25.0))
    );
    assert!(run.stop.is_some());
    assert_eq!(run.plan_name(), "scan");
}

#[test]
fn event_pages_and_events_fill_the_same_columns_and_memory_is_bounded() {
    let mut run = RunData::new("r");
    run.apply(
        "descriptor",
        json!({"uid": "d", "run_start": "s", "name": "primary", "data_keys": {
            "x": {"dtype": "number", "shape": [], "units": "mm"},
            "img": {"dtype": "array", "shape": [2, 3]},
            "label": {"dtype": "string", "shape": []}}}),
    );
    run.apply(
        "event",
        json!({"uid": "e1", "descriptor": "d", "seq_num": 1, "time": 1.0,
                "data": {"x": 2.5, "img": [[1, 2, 3], [4, 5, 6]], "label": "a"}}),
    );
    run.apply(
        "event_page",
        json!({"uid": ["e2", "e3"], "descriptor": "d", "seq_num": [2, 3], "time": [2.0, 3.0],
                "data": {"x": [3.5, null]}}),
    );
    let s = run.stream("primary").unwrap();
    assert_eq!(s.len(), 3);
    let x: Vec<f64> = s.column("x").unwrap().as_slice().to_vec();
    assert_eq!(x[..2], [2.5, 3.5]);
    assert!(
        x[2].is_nan(),
        "a missing value is NaN, not a shifted column"
    );
    assert!(s.column("label").is_none(), "strings are not plotted");
    assert_eq!(s.frames["img"].values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(s.label("x"), "x [mm]");

    let n = MAX_POINTS + 10;
    let page = json!({"descriptor": "d",
        "uid": (0..n).map(|i| i.to_string()).collect::<Vec<_>>(),
        "seq_num": (0..n).collect::<Vec<_>>(),
        "time": (0..n).collect::<Vec<_>>(),
        "data": {"x": (0..n).collect::<Vec<_>>()}});
    run.apply("event_page", page);
    let s = run.stream("primary").unwrap();
    assert_eq!(
        s.len(),
        MAX_POINTS,
        "the ring buffer keeps the newest points"
    );
    assert_eq!(s.column("x").unwrap().len(), MAX_POINTS);
    assert_eq!(s.column("x").unwrap().last(), Some((n - 1) as f64));
    assert_eq!(s.column("x").unwrap()[0], 10.0, "the 13 oldest values went");
    assert_eq!(s.dropped, 13);
    assert_eq!(run.events, n as u64 + 3);
}

#[test]
fn ragged_or_huge_frames_are_refused_without_allocating() {
    let mut rows = vec![Value::Array(vec![Value::from(1.0); 1000])];
    rows.extend(std::iter::repeat_n(Value::Array(vec![]), 100_000));
    assert_eq!(frame(&Value::Array(rows)), None);
    let ok = serde_json::json!([[1, 2], [3, 4]]);
    assert_eq!(
        frame(&ok).map(|f| (f.rows, f.cols, f.values)),
        Some((2, 2, vec![1.0, 2.0, 3.0, 4.0]))
    );
}
