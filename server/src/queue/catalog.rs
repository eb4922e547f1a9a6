//! What an environment offers: plans with typed parameters and devices, and their JSON
//! descriptions in bluesky-queueserver's format (`/api/plans/allowed`, `/api/devices/allowed`,
//! full and `reduced`).
//!
//! Each parameter carries a [`ValueType`], hutch's own strict type, which validation checks
//! (device names included, which bluesky does not); the Python-style `annotation` string is only
//! published for clients that read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::annotation::TypeExpr;

// The path is spelled out because server/fuzz compiles this file by `#[path]`, where a plain
// `mod` would be looked up beside the file instead of in its folder.
#[path = "catalog/describe.rs"]
mod describe;
#[path = "catalog/parse.rs"]
mod parse;
#[path = "catalog/schema.rs"]
pub mod schema;

/// `inspect.Parameter.kind`, as published in `{"name", "value"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

/// The values a parameter accepts. The simulated environment names these for its own plans
/// (hutch's strict checks); a parameter an environment describes only by its annotation is
/// `Annotated` (checked against [`TypeExpr`]) or, without one, `Any`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Checked against the parsed annotation ([`ParamSpec::expr`]).
    Annotated,
    /// Anything JSON.
    Any,
    /// A list of names of readable devices.
    Detectors,
    Float,
    /// An integer or null.
    OptInt,
    /// A float, or a list of floats (per-reading delays), or null.
    Delay,
    /// A JSON object (run metadata) or null.
    Metadata,
    /// `snake_axes`: a bool, a list of motor names, or null.
    SnakeAxes,
    /// A float or null.
    OptFloat,
    /// Anything JSON (parameters kept for compatibility that hutch ignores, e.g. `per_step`,
    /// which must stay null since a callable cannot be sent).
    NullOnly,
    /// `*args` of `scan`/`rel_scan`: (motor, start, stop)…, optionally a trailing point count.
    ScanArgs,
    /// `*args` of `grid_scan`/`rel_grid_scan`: (motor, start, stop, num)….
    GridArgs,
    /// `*args` of `list_scan`: (motor, [points…])….
    ListArgs,
    /// `*args` of `mv`/`mvr`: (motor, position)….
    MoveArgs,
    /// A number of seconds, ≥ 0.
    Seconds,
    /// Any string (e.g. `group`), or null.
    OptStr,
}

#[derive(Clone, Debug)]
pub struct ParamSpec {
    pub name: String,
    pub kind: ParamKind,
    pub ty: ValueType,
    /// The Python type string published as `annotation.type`; `None` publishes no annotation.
    pub annotation: Option<String>,
    /// The annotation parsed, for `ValueType::Annotated`.
    pub expr: Option<TypeExpr>,
    /// Python `repr` of the default, as bluesky publishes it; `None` means required.
    pub default: Option<String>,
    pub description: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ParamSpec {
    /// A parameter of the simulated environment's own plans.
    pub fn new(
        name: &str,
        kind: ParamKind,
        ty: ValueType,
        annotation: Option<&str>,
        default: Option<&str>,
        description: Option<&str>,
    ) -> Self {
        ParamSpec {
            name: name.into(),
            kind,
            ty,
            annotation: annotation.map(String::from),
            expr: None,
            default: default.map(String::from),
            description: description.map(String::from),
            min: None,
            max: None,
        }
    }

    pub fn required(&self) -> bool {
        self.default.is_none()
            && matches!(
                self.kind,
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
            )
    }
}

#[derive(Clone, Debug)]
pub struct PlanSpec {
    pub name: String,
    pub description: String,
    pub module: String,
    pub is_generator: bool,
    pub parameters: Vec<ParamSpec>,
    /// The description exactly as the environment sent it (published as `plans/allowed`).
    pub raw: Option<Value>,
}

/// What a device can do, in `devices/allowed` terms.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    pub name: String,
    pub classname: String,
    pub module: String,
    pub is_readable: bool,
    pub is_movable: bool,
    pub is_flyable: bool,
    /// Sub-signals, each readable and movable (ophyd signals are), of the simulated devices.
    pub components: Vec<(&'static str, &'static str)>,
    /// The description exactly as the environment sent it, components included.
    pub raw: Option<Value>,
}

impl DeviceSpec {
    /// The description of `path` inside this device (`["val"]` for `det1.val`), if it exists.
    fn component(&self, path: &[&str]) -> Option<(bool, bool, bool)> {
        if path.is_empty() {
            return Some((self.is_readable, self.is_movable, self.is_flyable));
        }
        if let Some(raw) = &self.raw {
            let mut at = raw;
            for part in path {
                at = at.get("components")?.get(*part)?;
            }
            let flag = |key: &str| at.get(key).and_then(Value::as_bool).unwrap_or(false);
            return Some((flag("is_readable"), flag("is_movable"), flag("is_flyable")));
        }
        match path {
            [one] if self.components.iter().any(|(n, _)| n == one) => Some((true, true, false)),
            _ => None,
        }
    }
}

/// Most plans and devices one environment may describe (bounds what a worker can make us hold).
pub const MAX_ENTRIES: usize = 20_000;

/// The plans and devices an environment offers.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub plans: BTreeMap<String, PlanSpec>,
    pub devices: BTreeMap<String, DeviceSpec>,
    /// Per-group allowed plans and devices; everything for everyone when `None`.
    pub permissions: Option<std::sync::Arc<super::permissions::Permissions>>,
}

impl Catalog {
    pub fn new(plans: Vec<PlanSpec>, devices: Vec<DeviceSpec>) -> Self {
        Catalog {
            plans: plans.into_iter().map(|p| (p.name.clone(), p)).collect(),
            devices: devices.into_iter().map(|d| (d.name.clone(), d)).collect(),
            permissions: None,
        }
    }

    /// A device or one of its components (`det1.val`): (readable, movable, flyable).
    fn lookup(&self, name: &str) -> Option<(bool, bool, bool)> {
        let mut parts = name.split('.');
        let top = self.devices.get(parts.next()?)?;
        let rest: Vec<&str> = parts.collect();
        if rest.len() > 16 {
            return None;
        }
        top.component(&rest)
    }

    pub fn is_device(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    pub fn readable(&self, name: &str) -> bool {
        self.lookup(name).is_some_and(|d| d.0)
    }

    pub fn movable(&self, name: &str) -> bool {
        self.lookup(name).is_some_and(|d| d.1)
    }

    pub fn flyable(&self, name: &str) -> bool {
        self.lookup(name).is_some_and(|d| d.2)
    }

    pub fn readable_names(&self) -> Vec<&str> {
        self.devices
            .values()
            .filter(|d| d.is_readable)
            .map(|d| d.name.as_str())
            .collect()
    }

    pub fn movable_names(&self) -> Vec<&str> {
        self.devices
            .values()
            .filter(|d| d.is_movable)
            .map(|d| d.name.as_str())
            .collect()
    }
}

impl super::annotation::Names for Catalog {
    fn device(&self, name: &str, kind: super::annotation::DeviceKind) -> bool {
        use super::annotation::DeviceKind as K;
        match kind {
            K::Readable => self.readable(name),
            K::Movable => self.movable(name),
            K::Flyable => self.flyable(name),
            K::Any => self.is_device(name),
        }
    }

    fn plan(&self, name: &str) -> bool {
        self.plans.contains_key(name)
    }
}
