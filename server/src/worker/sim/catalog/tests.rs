//! Tests of `catalog`.

use serde_json::{json, Map, Value};

use super::catalog;
use crate::queue::validate::validate_plan;

fn check(name: &str, args: Value, kwargs: Value) -> Result<(), String> {
    let kwargs: Map<String, Value> = serde_json::from_value(kwargs).unwrap();
    validate_plan(&catalog(), name, args.as_array().unwrap(), &kwargs)
}

#[test]
fn good_plans_pass() {
    let ok = [
        ("count", json!([["det1"]]), json!({"num": 2})),
        (
            "count",
            json!([["det1", "det2"]]),
            json!({"num": 5, "delay": 0.1}),
        ),
        ("count", json!([["det1"], 3, 0.5]), json!({})),
        (
            "count",
            json!([["img", "det1"]]),
            json!({"num": 3, "md": {"sample": "Si"}}),
        ),
        ("scan", json!([["det1"], "motor", -1, 1, 10]), json!({})),
        ("scan", json!([["det"], "motor", -1, 1]), json!({"num": 25})),
        (
            "scan",
            json!([["det4"], "motor1", -1, 1, "motor2", 0, 2, 5]),
            json!({}),
        ),
        (
            "rel_scan",
            json!([["det"], "motor", -1, 1]),
            json!({"num": 5}),
        ),
        ("list_scan", json!([["det"], "motor", [1, 2, 3]]), json!({})),
        (
            "grid_scan",
            json!([["det4"], "motor1", -1, 1, 3, "motor2", -1, 1, 4]),
            json!({"snake_axes": true}),
        ),
        (
            "rel_grid_scan",
            json!([["det4"], "motor1", -1, 1, 3]),
            json!({}),
        ),
        ("mv", json!(["motor", 1.5, "motor1", -2]), json!({})),
        ("sleep", json!([0.5]), json!({})),
    ];
    for (name, args, kwargs) in ok {
        assert_eq!(
            check(name, args.clone(), kwargs.clone()),
            Ok(()),
            "{name} {args} {kwargs}"
        );
    }
}

#[test]
fn bad_plans_are_refused_with_a_message_that_names_the_problem() {
    let bad = [
        // Arguments that would hang or exhaust the worker are bounded.
        ("sleep", json!([1e300]), json!({}), "from 0 to 86400"),
        (
            "count",
            json!([["det1"]]),
            json!({"num": 2_000_000_000u64}),
            "out of range [1, 1000000]",
        ),
        (
            "count",
            json!([["det1"], 2_000_000_000u64]),
            json!({}),
            "out of range",
        ),
        (
            "count",
            json!([["det1"]]),
            json!({"delay": 1e300}),
            "from 0 to 86400",
        ),
        ("mv", json!(["motor", 1e300]), json!({}), "positions within"),
        (
            "scan",
            json!([["det"], "motor", -1, 1, 2_000_000_000u64]),
            json!({}),
            "from 1 to 1000000",
        ),
        (
            "grid_scan",
            json!([["det4"], "motor1", -1, 1, 1000, "motor2", -1, 1, 1001]),
            json!({}),
            "at most 1000000",
        ),
        (
            "nonexistent_plan",
            json!([]),
            json!({}),
            "Plan 'nonexistent_plan' is not in the list of allowed plans.",
        ),
        (
            "count",
            json!([["det1"]]),
            json!({"num": "abc"}),
            "parameter 'num' of plan 'count' must be an integer",
        ),
        (
            "count",
            json!([["det1"]]),
            json!({"bogus": 1}),
            "got an unexpected keyword argument 'bogus'",
        ),
        (
            "count",
            json!([]),
            json!({}),
            "missing a required argument: 'detectors'",
        ),
        (
            "count",
            json!([["det1"], 1, 0.0, 7]),
            json!({}),
            "too many positional arguments",
        ),
        (
            "count",
            json!([["det1"], 2]),
            json!({"num": 3}),
            "multiple values for argument 'num'",
        ),
        (
            "count",
            json!([["nodevice"]]),
            json!({}),
            "\"nodevice\" is not a readable device",
        ),
        (
            "count",
            json!(["det1"]),
            json!({}),
            "must be a non-empty list of detector names",
        ),
        (
            "count",
            json!([["det1"]]),
            json!({"delay": -1}),
            "must be a delay in seconds",
        ),
        (
            "scan",
            json!([["det1"], "nomotor", -1, 1, 10]),
            json!({}),
            "\"nomotor\" is not a movable device",
        ),
        (
            "scan",
            json!([["det1"], "motor", -1, 1]),
            json!({}),
            "needs the number of points",
        ),
        (
            "scan",
            json!([["det1"], "motor", -1]),
            json!({"num": 3}),
            "expects its positional arguments",
        ),
        (
            "scan",
            json!([["det1"], "motor", "a", 1, 3]),
            json!({}),
            "\"a\" after motor",
        ),
        (
            "scan",
            json!([["det1"], "motor", -1, 1]),
            json!({"num": 0}),
            "out of range [1, 1000000]",
        ),
        (
            "grid_scan",
            json!([["det4"], "motor1", -1, 1, 0]),
            json!({}),
            "0 after motor",
        ),
        (
            "list_scan",
            json!([["det"], "motor", [1, 2], "motor1", [1]]),
            json!({}),
            "after motor",
        ),
        (
            "mv",
            json!(["motor", "not-a-number"]),
            json!({}),
            "\"not-a-number\" after motor",
        ),
        (
            "mv",
            json!(["det1", 1]),
            json!({}),
            "\"det1\" is not a movable device",
        ),
        (
            "sleep",
            json!([-1]),
            json!({}),
            "must be a number of seconds",
        ),
        (
            "count",
            json!([["det1"]]),
            json!({"md": 5}),
            "must be an object of metadata",
        ),
    ];
    for (name, args, kwargs, want) in bad {
        let err = check(name, args.clone(), kwargs.clone())
            .expect_err(&format!("{name} {args} {kwargs} is refused"));
        assert!(
            err.contains(want),
            "{name} {args} {kwargs}: {err:?} should contain {want:?}"
        );
    }
}

#[test]
fn descriptions_match_the_reference_format() {
    let cat = catalog();
    let full = cat.plans_json(false);
    let count = &full["count"];
    assert_eq!(count["module"], "bluesky.plans");
    assert_eq!(count["properties"]["is_generator"], true);
    let det = &count["parameters"][0];
    assert_eq!(
        det["annotation"]["type"],
        "collections.abc.Sequence[__READABLE__]"
    );
    assert_eq!(det["convert_device_names"], true);
    assert_eq!(
        det["kind"],
        json!({"name": "POSITIONAL_OR_KEYWORD", "value": 1})
    );
    assert!(
        det.get("default").is_none(),
        "required parameters have no default"
    );
    assert_eq!(count["parameters"][1]["default"], "1");
    assert_eq!(full["mv"]["properties"]["is_generator"], false);

    let reduced = cat.plans_json(true);
    let num = &reduced["count"]["parameters"][1];
    assert_eq!(num["type"], "int");
    assert_eq!(num["default"], 1);
    assert_eq!(num["is_optional"], true);
    assert_eq!(
        reduced["count"]["parameters"][4]["type"], "str",
        "md reduces to str as in bluesky"
    );
    assert_eq!(reduced["count"]["parameters"][0]["is_list"], false);
    assert!(reduced["count"].get("module").is_none());

    let devices = cat.devices_json();
    assert_eq!(devices["motor"]["classname"], "SynAxis");
    assert_eq!(
        devices["motor"]["components"]["readback"]["classname"],
        "_ReadbackSignal"
    );
    assert_eq!(devices["det"]["is_movable"], false);
    assert!(devices["img"].get("components").is_none());
}

#[test]
fn reduced_count_parameters_equal_the_captured_reference() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bluesky-httpserver-api/plans_allowed.json");
    let text =
        std::fs::read_to_string(&path).expect("server/tests/fixtures holds the recorded reply");
    let reference: Value = serde_json::from_str(&text).unwrap();
    let theirs = &reference["exchanges"][1]["response"]["plans_allowed"]["count"]["parameters"];
    let ours = &catalog().plans_json(true)["count"]["parameters"];
    for (a, b) in theirs
        .as_array()
        .unwrap()
        .iter()
        .zip(ours.as_array().unwrap())
    {
        for key in ["name", "kind", "type", "is_list", "default", "is_optional"] {
            assert_eq!(a.get(key), b.get(key), "count.{}: {key}", a["name"]);
        }
    }
}
