//! The simulated environment's catalogue: plans and devices as published by
//! `/api/plans/allowed` and `/api/devices/allowed`, mirroring bluesky's own descriptions.

use crate::queue::catalog::{Catalog, DeviceSpec, ParamKind, ParamSpec, PlanSpec, ValueType};

const DETECTORS: &str = "collections.abc.Sequence[__READABLE__]";
const MD: &str = "dict[str, typing.Any] | None";

fn p(
    name: &'static str,
    kind: ParamKind,
    ty: ValueType,
    annotation: Option<&'static str>,
) -> ParamSpec {
    ParamSpec::new(name, kind, ty, annotation, None, None)
}

fn with(mut p: ParamSpec, default: Option<&'static str>, description: &'static str) -> ParamSpec {
    p.default = default.map(String::from);
    p.description = Some(description.into());
    p
}

/// Limits a user can read in `plans/allowed` (`min`, `max`) and validation enforces.
fn bounded(mut p: ParamSpec, min: f64, max: f64) -> ParamSpec {
    p.min = Some(min);
    p.max = Some(max);
    p
}

const MAX_POINTS: f64 = crate::queue::validate::MAX_POINTS as f64;

fn detectors() -> ParamSpec {
    with(
        p(
            "detectors",
            ParamKind::PositionalOrKeyword,
            ValueType::Detectors,
            Some(DETECTORS),
        ),
        None,
        "list of 'readable' objects",
    )
}

fn md() -> ParamSpec {
    with(
        p("md", ParamKind::KeywordOnly, ValueType::Metadata, Some(MD)),
        Some("None"),
        "metadata",
    )
}

fn per_step() -> ParamSpec {
    with(
        p(
            "per_step",
            ParamKind::KeywordOnly,
            ValueType::NullOnly,
            None,
        ),
        Some("None"),
        "hook for customizing action of inner loop (messages per step); must be null in hutch",
    )
}

fn snake_axes() -> ParamSpec {
    with(
        p(
            "snake_axes",
            ParamKind::KeywordOnly,
            ValueType::SnakeAxes,
            Some("collections.abc.Iterable[typing.Any] | bool | None"),
        ),
        Some("None"),
        "which axes should be snaked, either ``False`` (do not snake any axes), ``True`` (snake all axes) or a list of axes to snake",
    )
}

fn plan(
    name: &'static str,
    description: &'static str,
    module: &'static str,
    parameters: Vec<ParamSpec>,
) -> PlanSpec {
    PlanSpec {
        name: name.into(),
        description: description.into(),
        module: module.into(),
        is_generator: module == "bluesky.plans",
        parameters,
        raw: None,
    }
}

fn plans() -> Vec<PlanSpec> {
    use ParamKind::*;
    use ValueType::*;
    let scan_args = |description| {
        with(
            p(
                "args",
                VarPositional,
                ScanArgs,
                Some("__MOVABLE__ | typing.Any"),
            ),
            None,
            description,
        )
    };
    let num = |ty, annotation| {
        bounded(
            with(
                p("num", KeywordOnly, ty, annotation),
                Some("None"),
                "number of points",
            ),
            1.0,
            MAX_POINTS,
        )
    };
    let grid_args = with(
        p(
            "args",
            VarPositional,
            GridArgs,
            Some("__MOVABLE__ | typing.Any"),
        ),
        None,
        "patterned like (``motor1, start1, stop1, num1,`` ``motor2, start2, stop2, num2,`` ...)",
    );
    let move_args = |description| {
        with(
            p(
                "args",
                VarPositional,
                MoveArgs,
                Some("__MOVABLE__ | typing.Any"),
            ),
            None,
            description,
        )
    };
    let group = with(
        p(
            "group",
            KeywordOnly,
            OptStr,
            Some("collections.abc.Hashable | None"),
        ),
        Some("None"),
        "Used to mark these as a unit to be waited on.",
    );
    let timeout = with(
        p("timeout", KeywordOnly, OptFloat, Some("float | None")),
        Some("None"),
        "Specify a maximum time that the move(s) can be waited for.",
    );
    vec![
        plan("count", "Take one or more readings from detectors.", "bluesky.plans", vec![
            detectors(),
            bounded(with(p("num", PositionalOrKeyword, OptInt, Some("int | None")), Some("1"),
                "number of readings to take; default is 1; if None, capture data until canceled"), 1.0, MAX_POINTS),
            with(p("delay", PositionalOrKeyword, Delay, Some("float | collections.abc.Iterable[float]")), Some("0.0"),
                "Time delay in seconds between successive readings; default is 0."),
            with(p("per_shot", KeywordOnly, NullOnly, None), Some("None"),
                "hook for customizing action of inner loop (messages per step); must be null in hutch"),
            md(),
        ]),
        plan("scan", "Scan over one multi-motor trajectory.", "bluesky.plans", vec![
            detectors(),
            scan_args("For one dimension, ``motor, start, stop``. In general: ``motor1, start1, stop1, motor2, start2, stop2, ...``"),
            num(OptInt, Some("int | None")),
            per_step(),
            md(),
        ]),
        plan("rel_scan", "Scan over one multi-motor trajectory relative to current position.", "bluesky.plans", vec![
            detectors(),
            scan_args("For one dimension, ``motor, start, stop``. In general: ``motor1, start1, stop1, motor2, start2, stop2, ...``"),
            num(OptInt, None),
            per_step(),
            md(),
        ]),
        plan("list_scan", "Scan over one or more variables in steps simultaneously (inner product).", "bluesky.plans", vec![
            detectors(),
            with(p("args", VarPositional, ListArgs, Some("tuple[__MOVABLE__ | typing.Any, list[typing.Any]]")), None,
                "For one dimension, ``motor, [point1, point2, ....]``. In general: ``motor1, [point1, point2, ...], motor2, [point1, point2, ...], ...``"),
            per_step(),
            md(),
        ]),
        plan("grid_scan", "Scan over a mesh; each motor is on an independent trajectory.", "bluesky.plans", vec![
            detectors(), grid_args.clone(), snake_axes(), per_step(), md(),
        ]),
        plan("rel_grid_scan", "Scan over a mesh relative to current position.", "bluesky.plans", vec![
            detectors(), grid_args, snake_axes(), per_step(), md(),
        ]),
        plan("mv", "Move one or more devices to a setpoint. Wait for all to complete.", "bluesky.plan_stubs", vec![
            move_args("device1, value1, device2, value2, ..."), group.clone(), timeout.clone(),
        ]),
        plan("mvr", "Move one or more devices to a relative setpoint. Wait for all to complete.", "bluesky.plan_stubs", vec![
            move_args("device1, value1, device2, value2, ..."), group, timeout,
        ]),
        plan("sleep", "Tell the RunEngine to sleep, while asynchronously doing other processing.", "bluesky.plan_stubs", vec![
            bounded(with(p("time", PositionalOrKeyword, Seconds, Some("float")), None, "seconds"),
                0.0, crate::queue::validate::MAX_SECONDS),
        ]),
    ]
}

fn devices() -> Vec<DeviceSpec> {
    let motor = |name: &str| DeviceSpec {
        name: name.into(),
        classname: "SynAxis".into(),
        module: "ophyd.sim".into(),
        is_readable: true,
        is_movable: true,
        is_flyable: false,
        raw: None,
        components: vec![
            ("acceleration", "Signal"),
            ("readback", "_ReadbackSignal"),
            ("setpoint", "_SetpointSignal"),
            ("unused", "Signal"),
            ("velocity", "Signal"),
        ],
    };
    let gauss_parts = vec![
        ("Imax", "Signal"),
        ("center", "Signal"),
        ("noise", "EnumSignal"),
        ("noise_multiplier", "Signal"),
        ("sigma", "Signal"),
        ("val", "SynSignal"),
    ];
    let det = |name: &str, classname: &str| DeviceSpec {
        name: name.into(),
        classname: classname.into(),
        module: "ophyd.sim".into(),
        is_readable: true,
        is_movable: false,
        is_flyable: false,
        raw: None,
        components: gauss_parts.clone(),
    };
    vec![
        motor("motor"),
        motor("motor1"),
        motor("motor2"),
        motor("motor3"),
        det("det", "SynGauss"),
        det("det1", "SynGauss"),
        det("det2", "SynGauss"),
        det("det3", "SynGauss"),
        det("det4", "Syn2DGauss"),
        det("noisy_det", "SynGauss"),
        DeviceSpec {
            name: "img".into(),
            classname: "SynSignalWithRegistry".into(),
            module: "ophyd.sim".into(),
            is_readable: true,
            is_movable: false,
            is_flyable: false,
            components: vec![],
            raw: None,
        },
    ]
}

/// The simulated environment's plans and devices.
pub fn catalog() -> Catalog {
    Catalog::new(plans(), devices())
}

#[cfg(test)]
mod tests {
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
}
