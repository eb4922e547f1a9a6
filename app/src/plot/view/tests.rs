//! Tests of `view`.

use super::*;
use crate::model::applets::spec::{TableSpec, ValueSpec};
use crate::model::applets::AppletKind;
use crate::plot::chart::Colormap;
use crate::plot::run_data::tests::fixture;
use serde_json::json;

fn typed(kind: AppletKind, spec: Value) -> AppletSpec {
    AppletSpec::parse(kind, &spec).unwrap()
}

fn value_spec(v: Value) -> ValueSpec {
    match typed(AppletKind::Value, v) {
        AppletSpec::Value(s) => s,
        other => panic!("{other:?}"),
    }
}

fn table_spec(v: Value) -> TableSpec {
    match typed(AppletKind::Table, v) {
        AppletSpec::Table(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_line_applet_draws_the_live_run_and_earlier_runs_faded_with_units_in_labels() {
    let live = fixture("scan_det_motor.jsonl");
    let mut earlier = live.clone();
    earlier.uid = "earlier".into();
    let spec = json!({"latest": true, "x": "motor", "y": "det"});
    let inputs = Inputs {
        live: Some(&live),
        beside: vec![&earlier],
        ..Inputs::default()
    };
    let Picture::Xy(c) = picture(
        &typed(AppletKind::Line, spec.clone()),
        &inputs,
        &ViewState::default(),
        (600, 300),
    ) else {
        panic!("an xy chart")
    };
    assert_eq!(c.series.len(), 2);
    assert!(!c.series[0].faded && c.series[1].faded);
    assert_ne!(
        c.series[0].color, c.series[1].color,
        "an earlier run has a colour of its own, not only a fainter one"
    );
    assert_eq!(
        c.series[0].points.len(),
        25,
        "few points are not decimated away"
    );
    assert_eq!(c.x_label, "motor");
    assert!(c.title.contains("scan"), "{}", c.title);
    let det_max = c.series[0]
        .points
        .iter()
        .map(|p| p.1)
        .fold(f64::MIN, f64::max);
    assert!(c.y_range.contains(&det_max));
}

#[test]
fn zoom_limits_the_points_and_an_unknown_field_is_named() {
    let live = fixture("scan_det_motor.jsonl");
    let inputs = Inputs {
        live: Some(&live),
        ..Inputs::default()
    };
    let spec = json!({"latest": true, "x": "motor", "y": ["det"]});
    let all = picture(
        &typed(AppletKind::Line, spec.clone()),
        &inputs,
        &ViewState::default(),
        (600, 300),
    );
    let zoomed = picture(
        &typed(AppletKind::Line, spec.clone()),
        &inputs,
        &ViewState {
            x: Some(-0.5..0.5),
            y: None,
        },
        (600, 300),
    );
    let (Picture::Xy(all), Picture::Xy(zoomed)) = (all, zoomed) else {
        panic!()
    };
    assert!(zoomed.series[0].points.len() < all.series[0].points.len());
    assert_eq!(zoomed.x_range, -0.5..0.5);
    let bad = json!({"latest": true, "y": "nope"});
    match picture(
        &typed(AppletKind::Line, bad.clone()),
        &inputs,
        &ViewState::default(),
        (600, 300),
    ) {
        Picture::Message(m) => assert!(m.contains("'nope'") && m.contains("det"), "{m}"),
        other => panic!("{other:?}"),
    }
    match picture(
        &typed(AppletKind::Line, spec.clone()),
        &Inputs::default(),
        &ViewState::default(),
        (600, 300),
    ) {
        Picture::Message(m) => assert!(m.contains("waiting"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_image_detector_frame_becomes_a_heatmap() {
    let run = fixture("count_direct_img.jsonl");
    let inputs = Inputs {
        live: Some(&run),
        ..Inputs::default()
    };
    let spec = json!({"latest": true, "field": "img", "colormap": "gray"});
    let Picture::Heatmap(h) = picture(
        &typed(AppletKind::Image, spec.clone()),
        &inputs,
        &ViewState::default(),
        (400, 300),
    ) else {
        panic!("a heatmap")
    };
    assert_eq!((h.grid.nx, h.grid.ny), (10, 10));
    assert!(h.grid.cells.iter().all(|v| v.is_finite()));
    assert_eq!(h.colormap, Colormap::Gray);
    assert!(h.title.contains("event 3"), "{}", h.title);
}

#[test]
fn readouts_tables_histograms_and_datasets() {
    let live = fixture("scan_det_motor.jsonl");
    let mut datasets = BTreeMap::new();
    datasets.insert("temp".to_string(), json!(21.456));
    datasets.insert("trace".to_string(), json!([1.0, 3.0, 2.0]));
    let inputs = Inputs {
        live: Some(&live),
        datasets: Some(&datasets),
        ..Inputs::default()
    };
    let r = readout(
        &value_spec(json!({"dataset": "temp", "precision": 1})),
        &inputs,
    );
    assert_eq!(r.value, "21.5");
    let r = readout(
        &value_spec(json!({"latest": true, "field": "motor", "precision": 2})),
        &inputs,
    );
    assert!(r.detail.ends_with("event 25"), "{r:?}");
    let r = readout(
        &value_spec(json!({"latest": true, "field": "det4"})),
        &inputs,
    );
    assert_eq!(
        (r.value.as_str(), r.detail.as_str()),
        ("–", "scan 2 has no numeric field 'det4' in 'primary'")
    );
    let t = table(
        &table_spec(json!({"latest": true, "fields": ["det"], "rows": 3})),
        &inputs,
    )
    .unwrap();
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.rows[0][0], "25", "newest first");
    let Picture::Histogram(h) = picture(
        &typed(
            AppletKind::Histogram,
            json!({"latest": true, "field": "det", "bins": 5}),
        ),
        &inputs,
        &ViewState::default(),
        (400, 300),
    ) else {
        panic!()
    };
    assert_eq!(h.counts.iter().sum::<u64>(), 25);
    let Picture::Xy(c) = picture(
        &typed(AppletKind::Line, json!({"datasets": ["trace"]})),
        &inputs,
        &ViewState::default(),
        (400, 300),
    ) else {
        panic!()
    };
    assert_eq!(c.series[0].points, [(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)]);
}

#[test]
fn an_applet_whose_latest_run_lacks_its_field_keeps_the_last_run_that_had_it_and_says_so() {
    let with_det = fixture("scan_det_motor.jsonl");
    let without = fixture("count_direct_img.jsonl");
    let spec = typed(
        AppletKind::Line,
        json!({"latest": true, "x": "motor", "y": "det"}),
    );
    assert_eq!(lacks(&spec, &without), Some("motor"));
    assert_eq!(lacks(&spec, &with_det), None);
    let inputs = Inputs {
        live: Some(&without),
        kept: Some(&with_det),
        ..Inputs::default()
    };
    let Picture::Xy(c) = picture(&spec, &inputs, &ViewState::default(), (600, 300)) else {
        panic!("the kept run drawn")
    };
    assert_eq!(c.series[0].points.len(), 25);
    assert!(
        c.title.contains(&format!(
            "the latest, {}, has no 'motor'",
            without.short_name()
        )),
        "{}",
        c.title
    );
    let (drawn, missing) = drawn_run(&spec, &inputs).unwrap();
    assert_eq!(
        (drawn.uid.as_str(), missing.as_deref()),
        (with_det.uid.as_str(), Some("motor"))
    );
    // Without a kept run, the reason is shown as before.
    let alone = Inputs {
        live: Some(&without),
        ..Inputs::default()
    };
    let Picture::Message(m) = picture(&spec, &alone, &ViewState::default(), (600, 300)) else {
        panic!("a message")
    };
    assert!(m.contains("no numeric field 'motor'"), "{m}");
}
