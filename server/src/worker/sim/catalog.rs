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

// The path is spelled out because server/fuzz compiles this file by `#[path]`, where a plain
// `mod` would be looked up beside the file instead of in its folder.
#[cfg(test)]
#[path = "catalog/tests.rs"]
mod tests;
