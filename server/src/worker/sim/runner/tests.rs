//! Tests of the simulated runner: the documents a plan emits, images stored outside the
//! events, and pause, stop and abort as the manager drives them.

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::queue::state::PauseOption;
use crate::worker::sim::devices::IMG_SIZE;

fn item(name: &str, args: Value, kwargs: Value) -> QueueItem {
    serde_json::from_value(json!({"name": name, "args": args, "kwargs": kwargs, "item_type": "plan", "item_uid": "i1"}))
        .unwrap()
}

fn run(sim: &mut Sim, it: &QueueItem, control: &Control) -> (Vec<FromWorker>, FromWorker) {
    let mut out = Vec::new();
    let fin = sim.execute(it, 7, control, &mut |m| out.push(m));
    (out, fin)
}

fn docs(out: &[FromWorker]) -> Vec<(String, Value)> {
    out.iter()
        .filter_map(|m| match m {
            FromWorker::Document { name, doc } => Some((name.clone(), doc.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn waits_never_panic() {
    assert_eq!(seconds(-1.0), Duration::ZERO);
    assert_eq!(seconds(f64::NAN), Duration::ZERO);
    assert_eq!(
        seconds(1e300).as_secs_f64(),
        crate::queue::validate::MAX_SECONDS
    );
    assert_eq!(seconds(0.5), Duration::from_millis(500));
}

#[test]
fn a_scan_emits_start_descriptor_events_stop() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = Sim::new(dir.path().into(), 1);
    let (out, fin) = run(
        &mut sim,
        &item("scan", json!([["det"], "motor", -1, 1, 5]), json!({})),
        &Control::default(),
    );
    let d = docs(&out);
    let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "start",
            "descriptor",
            "event",
            "event",
            "event",
            "event",
            "event",
            "stop"
        ]
    );
    let start = &d[0].1;
    assert_eq!(start["plan_name"], "scan");
    assert_eq!(start["scan_id"], 7);
    assert_eq!(start["queue_item_uid"], "i1");
    assert_eq!(start["num_points"], 5);
    assert_eq!(d[1].1["data_keys"]["det"]["dtype"], "number");
    let peak = &d[4].1;
    assert_eq!(peak["seq_num"], 3);
    assert_eq!(peak["data"]["motor"], 0.0);
    assert!((peak["data"]["det"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert_eq!(d[7].1["exit_status"], "success");
    assert_eq!(d[7].1["num_events"]["primary"], 5);
    assert!(
        matches!(fin, FromWorker::Finished { exit_status: ExitStatus::Completed, ref scan_ids, .. } if scan_ids == &[7])
    );
}

#[test]
fn images_are_stored_outside_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = Sim::new(dir.path().into(), 1);
    let (out, _) = run(
        &mut sim,
        &item("count", json!([["img", "det1"]]), json!({"num": 2})),
        &Control::default(),
    );
    let d = docs(&out);
    let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "start",
            "descriptor",
            "resource",
            "datum",
            "event",
            "datum",
            "event",
            "stop"
        ]
    );
    let event = &d[4].1;
    assert_eq!(event["filled"]["img"], false);
    let run_uid = d[0].1["uid"].as_str().unwrap();
    let frame = std::fs::read(dir.path().join(run_uid).join("0.u16")).unwrap();
    assert_eq!(frame.len(), IMG_SIZE * IMG_SIZE * 2);
}

#[test]
fn deferred_pause_then_abort() {
    let dir = tempfile::tempdir().unwrap();
    let control = Arc::new(Control::default());
    let c2 = control.clone();
    let it = item(
        "count",
        json!([["det1"]]),
        json!({"num": 50, "delay": 0.01}),
    );
    let handle = std::thread::spawn(move || {
        let mut sim = Sim::new(dir.path().into(), 1);
        let mut out = Vec::new();
        let fin = sim.execute(&it, 1, &c2, &mut |m| {
            if m == FromWorker::Paused {
                c2.command(Command::Abort);
            }
            out.push(m);
        });
        (out, fin)
    });
    control.request_pause(PauseOption::Deferred);
    let (out, fin) = handle.join().unwrap();
    assert!(out.contains(&FromWorker::Paused));
    let d = docs(&out);
    let stop = &d.last().unwrap().1;
    assert_eq!(stop["exit_status"], "abort");
    assert!(stop["num_events"]["primary"].as_u64().unwrap_or(0) < 50);
    assert!(matches!(
        fin,
        FromWorker::Finished {
            exit_status: ExitStatus::Aborted,
            ..
        }
    ));
}

#[test]
fn stop_while_paused_closes_the_run_as_success_and_the_item_as_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let control = Control::default();
    control.request_pause(PauseOption::Immediate);
    control.command(Command::Stop);
    let mut sim = Sim::new(dir.path().into(), 1);
    let (out, fin) = run(
        &mut sim,
        &item("scan", json!([["det"], "motor", -1, 1, 5]), json!({})),
        &control,
    );
    assert_eq!(docs(&out).last().unwrap().1["exit_status"], "success");
    assert!(matches!(
        fin,
        FromWorker::Finished {
            exit_status: ExitStatus::Stopped,
            ..
        }
    ));
}
