//! Tests of `applets`.

use super::*;
use serde_json::json;

fn applet(uid: &str, version: i64) -> Applet {
    serde_json::from_value(
        json!({"uid": uid, "name": uid, "group": "g", "kind": "markdown",
        "spec": {"text": ""}, "version": version, "updated_by": "u", "updated_at": "t"}),
    )
    .unwrap()
}

#[test]
fn applet_deltas_apply_to_a_list() {
    let mut list = vec![applet("a", 1)];
    let up = |a| AppletDelta::Upsert {
        applet: Box::new(a),
    };
    up(applet("a", 2)).apply(&mut list);
    up(applet("b", 1)).apply(&mut list);
    assert_eq!(list.iter().map(|a| a.version).collect::<Vec<_>>(), [2, 1]);
    AppletDelta::Delete { uid: "a".into() }.apply(&mut list);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].uid, "b");
    let group: AppletDelta =
        serde_json::from_value(json!({"op": "group", "group": "g", "policy": "create_enable"}))
            .unwrap();
    group.apply(&mut list);
    assert_eq!(list.len(), 1);
    AppletDelta::Replace {
        applets: vec![applet("c", 7)],
    }
    .apply(&mut list);
    assert_eq!(list, vec![applet("c", 7)]);
    assert_eq!(
        serde_json::to_value(AppletDelta::Delete { uid: "c".into() }).unwrap(),
        json!({"op": "delete", "uid": "c"})
    );
}

#[test]
fn good_specs_pass() {
    let good = [
        (
            AppletKind::Line,
            json!({"latest_of_plan": "scan", "x": "motor", "y": ["det"]}),
        ),
        (AppletKind::Line, json!({"datasets": ["scan.peak"]})),
        (
            AppletKind::Scatter,
            json!({"run": "abc", "x": "motor", "y": "det", "overlay": 3}),
        ),
        (AppletKind::Image, json!({"latest": true, "field": "img"})),
        (
            AppletKind::Image,
            json!({"latest_of_plan": "grid_scan", "x": "motor1", "y": "motor2", "z": "det"}),
        ),
        (
            AppletKind::Histogram,
            json!({"latest": true, "field": "det", "bins": 50}),
        ),
        (
            AppletKind::Value,
            json!({"dataset": "det.last", "precision": 3}),
        ),
        (AppletKind::Value, json!({"latest": true, "field": "det"})),
        (
            AppletKind::Table,
            json!({"latest": true, "fields": ["det"], "rows": 20}),
        ),
        (AppletKind::Markdown, json!({"text": "# Notes"})),
    ];
    for (kind, spec) in good {
        assert_eq!(validate(kind, &spec), Ok(()), "{kind:?} {spec}");
    }
}

#[test]
fn a_parsed_spec_carries_its_defaults() {
    use spec::{Data, Image, ImageSpec, Reading, Source, TableSpec, ValueSpec, XySpec};
    let primary = |source| Data {
        source,
        stream: "primary".into(),
    };
    assert_eq!(
        AppletSpec::parse(AppletKind::Scatter, &json!({"latest": true, "y": "det"})).unwrap(),
        AppletSpec::Scatter(XySpec {
            data: primary(Source::Latest),
            x: "seq_num".into(),
            y: vec!["det".into()],
            overlay: 0,
        })
    );
    let grid = json!({"latest_of_plan": "grid_scan", "stream": "baseline",
        "x": "m1", "y": "m2", "z": "det"});
    assert_eq!(
        AppletSpec::parse(AppletKind::Image, &grid).unwrap(),
        AppletSpec::Image(ImageSpec {
            data: Data {
                source: Source::LatestOfPlan("grid_scan".into()),
                stream: "baseline".into(),
            },
            image: Image::Grid {
                x: "m1".into(),
                y: "m2".into(),
                z: "det".into()
            },
            colormap: None,
        })
    );
    let table = AppletSpec::parse(AppletKind::Table, &json!({"datasets": ["a", "b"]})).unwrap();
    assert_eq!(
        table,
        AppletSpec::Table(TableSpec {
            data: primary(Source::Datasets(vec!["a".into(), "b".into()])),
            fields: None,
            rows: 20,
        })
    );
    assert_eq!(table.followed_plan(), None);
    let value = AppletSpec::parse(AppletKind::Value, &json!({"dataset": "t"})).unwrap();
    assert_eq!(
        value,
        AppletSpec::Value(ValueSpec {
            reading: Reading::Dataset("t".into()),
            precision: None
        })
    );
    assert_eq!(value.data(), None);
    let histogram = json!({"run": "r1", "field": "det"});
    match AppletSpec::parse(AppletKind::Histogram, &histogram).unwrap() {
        AppletSpec::Histogram(h) => {
            assert_eq!((h.bins, h.data.source), (50, Source::Run("r1".into())))
        }
        other => panic!("{other:?}"),
    }
    let line = json!({"latest_of_plan": "scan", "y": ["a", "b"], "overlay": 3});
    let line = AppletSpec::parse(AppletKind::Line, &line).unwrap();
    assert_eq!((line.followed_plan(), line.overlay()), (Some("scan"), 3));
}

#[test]
fn errors_name_the_bad_field() {
    let bad = [
        (
            AppletKind::Line,
            json!({"x": "motor", "y": "det"}),
            "run",
            "data source is required",
        ),
        (
            AppletKind::Line,
            json!({"latest": true, "y": []}),
            "y",
            "non-empty list",
        ),
        (
            AppletKind::Line,
            json!({"latest": true, "y": "det", "colour": "red"}),
            "colour",
            "unknown for a line applet",
        ),
        (
            AppletKind::Line,
            json!({"run": "a", "latest": true, "y": "det"}),
            "latest",
            "one data source",
        ),
        (
            AppletKind::Scatter,
            json!({"latest": true, "y": "d", "overlay": 99}),
            "overlay",
            "from 0 to 20",
        ),
        (
            AppletKind::Image,
            json!({"latest": true, "x": "m"}),
            "field",
            "is required",
        ),
        (
            AppletKind::Histogram,
            json!({"latest": true, "field": "det", "bins": 0}),
            "bins",
            "from 1 to 10000",
        ),
        (AppletKind::Value, json!({}), "dataset", "is required"),
        (
            AppletKind::Markdown,
            json!({"text": 5}),
            "text",
            "non-empty string",
        ),
        (AppletKind::Markdown, json!([1]), "", "JSON object"),
        (
            AppletKind::Table,
            json!({"datasets": "x"}),
            "datasets",
            "list of dataset keys",
        ),
    ];
    for (kind, spec, field, msg) in bad {
        let e = validate(kind, &spec).unwrap_err();
        assert_eq!(e.field, field, "{kind:?} {spec}: {e}");
        assert!(e.msg.contains(msg), "{kind:?} {spec}: {e}");
    }
}

#[test]
fn kinds_and_policies_use_snake_case() {
    assert_eq!(
        serde_json::to_value(AppletKind::Histogram).unwrap(),
        json!("histogram")
    );
    assert_eq!(
        serde_json::to_value(GroupPolicy::CreateEnable).unwrap(),
        json!("create_enable")
    );
    assert!(validate_name("name", " ").is_err());
}
