//! What an environment offers: plans with typed parameters and devices, and their JSON
//! descriptions in bluesky-queueserver's format (`/api/plans/allowed`, `/api/devices/allowed`,
//! full and `reduced`).
//!
//! Each parameter carries a [`ValueType`], hutch's own strict type, which validation checks
//! (device names included, which bluesky does not); the Python-style `annotation` string is only
//! published for clients that read it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// `inspect.Parameter.kind`, as published in `{"name", "value"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    PositionalOrKeyword,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

impl ParamKind {
    fn json(self) -> Value {
        let (name, value) = match self {
            ParamKind::PositionalOrKeyword => ("POSITIONAL_OR_KEYWORD", 1),
            ParamKind::VarPositional => ("VAR_POSITIONAL", 2),
            ParamKind::KeywordOnly => ("KEYWORD_ONLY", 3),
            ParamKind::VarKeyword => ("VAR_KEYWORD", 4),
        };
        json!({"name": name, "value": value})
    }
}

/// The values a parameter accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
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
    pub name: &'static str,
    pub kind: ParamKind,
    pub ty: ValueType,
    /// The Python type string published as `annotation.type`; `None` publishes no annotation.
    pub annotation: Option<&'static str>,
    /// Python `repr` of the default, as bluesky publishes it; `None` means required.
    pub default: Option<&'static str>,
    pub description: Option<&'static str>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ParamSpec {
    pub fn required(&self) -> bool {
        self.default.is_none()
            && matches!(
                self.kind,
                ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly
            )
    }

    fn converts_device_names(&self) -> bool {
        self.annotation
            .is_some_and(|a| a.contains("__READABLE__") || a.contains("__MOVABLE__"))
    }

    fn full_json(&self) -> Value {
        let mut p = Map::new();
        if let Some(t) = self.annotation {
            p.insert("annotation".into(), json!({ "type": t }));
        }
        if self.converts_device_names() {
            p.insert("convert_device_names".into(), json!(true));
        }
        if let Some(d) = self.default {
            p.insert("default".into(), json!(d));
        }
        if let Some(d) = self.description {
            p.insert("description".into(), json!(d));
        }
        p.insert("kind".into(), self.kind.json());
        if let Some(v) = self.max {
            p.insert("max".into(), json!(number_repr(v)));
        }
        if let Some(v) = self.min {
            p.insert("min".into(), json!(number_repr(v)));
        }
        p.insert("name".into(), json!(self.name));
        Value::Object(p)
    }

    fn reduced_json(&self) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(self.name));
        p.insert("kind".into(), self.kind.json());
        if let Some(d) = self.description {
            p.insert("description".into(), json!(d));
        }
        if let Some(t) = self.annotation {
            let lower = t.to_lowercase();
            let word = |w: &str| {
                lower
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .any(|tok| tok == w)
            };
            let ty = ["float", "int", "str"].into_iter().find(|w| word(w));
            if let Some(ty) = ty {
                p.insert("type".into(), json!(ty));
            }
            let is_list = lower.starts_with("typing.list[") || lower.starts_with("list[");
            p.insert("is_list".into(), json!(is_list));
        }
        if let Some(d) = self.default {
            p.insert("default".into(), python_literal(d));
        }
        p.insert("is_optional".into(), json!(self.default.is_some()));
        if let Some(v) = self.min {
            p.insert("min".into(), json!(v));
        }
        if let Some(v) = self.max {
            p.insert("max".into(), json!(v));
        }
        Value::Object(p)
    }
}

fn number_repr(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The JSON value of the few Python literals our defaults use.
fn python_literal(repr: &str) -> Value {
    match repr {
        "None" => Value::Null,
        "True" => json!(true),
        "False" => json!(false),
        other => serde_json::from_str(&other.replace('\'', "\"")).unwrap_or_else(|_| json!(other)),
    }
}

#[derive(Clone, Debug)]
pub struct PlanSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub module: &'static str,
    pub is_generator: bool,
    pub parameters: Vec<ParamSpec>,
}

impl PlanSpec {
    pub fn full_json(&self) -> Value {
        json!({
            "description": self.description,
            "module": self.module,
            "name": self.name,
            "parameters": self.parameters.iter().map(ParamSpec::full_json).collect::<Vec<_>>(),
            "properties": {"is_generator": self.is_generator},
        })
    }

    pub fn reduced_json(&self) -> Value {
        let mut p = Map::new();
        p.insert("name".into(), json!(self.name));
        p.insert("description".into(), json!(self.description));
        if !self.parameters.is_empty() {
            let params: Vec<Value> = self
                .parameters
                .iter()
                .map(ParamSpec::reduced_json)
                .collect();
            p.insert("parameters".into(), Value::Array(params));
        }
        Value::Object(p)
    }
}

/// What a device can do, in `devices/allowed` terms.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    pub name: &'static str,
    pub classname: &'static str,
    pub module: &'static str,
    pub is_readable: bool,
    pub is_movable: bool,
    /// Sub-signals, each readable and movable (ophyd signals are).
    pub components: Vec<(&'static str, &'static str)>,
}

impl DeviceSpec {
    pub fn json(&self) -> Value {
        let mut d = Map::new();
        d.insert("classname".into(), json!(self.classname));
        if !self.components.is_empty() {
            let comps: Map<String, Value> = self
                .components
                .iter()
                .map(|(name, class)| {
                    let module = if class.starts_with("Syn")
                        || class.starts_with('_')
                        || *class == "EnumSignal"
                    {
                        "ophyd.sim"
                    } else {
                        "ophyd.signal"
                    };
                    (
                        name.to_string(),
                        json!({"classname": class, "is_flyable": false, "is_movable": true,
                               "is_readable": true, "module": module}),
                    )
                })
                .collect();
            d.insert("components".into(), Value::Object(comps));
        }
        d.insert("is_flyable".into(), json!(false));
        d.insert("is_movable".into(), json!(self.is_movable));
        d.insert("is_readable".into(), json!(self.is_readable));
        d.insert("module".into(), json!(self.module));
        Value::Object(d)
    }
}

/// The plans and devices an environment offers.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub plans: BTreeMap<&'static str, PlanSpec>,
    pub devices: BTreeMap<&'static str, DeviceSpec>,
    /// Per-group allowed plans and devices; everything for everyone when `None`.
    pub permissions: Option<std::sync::Arc<super::permissions::Permissions>>,
}

impl Catalog {
    pub fn new(plans: Vec<PlanSpec>, devices: Vec<DeviceSpec>) -> Self {
        Catalog {
            plans: plans.into_iter().map(|p| (p.name, p)).collect(),
            devices: devices.into_iter().map(|d| (d.name, d)).collect(),
            permissions: None,
        }
    }

    pub fn plans_json(&self, reduced: bool) -> Value {
        self.plans_json_for(None, reduced)
    }

    /// The plans, only those `group` may queue when given and a permissions file is in force.
    pub fn plans_json_for(&self, group: Option<&str>, reduced: bool) -> Value {
        let permitted = |name: &str| match (&self.permissions, group) {
            (Some(p), Some(g)) => p.plan_allowed(g, name),
            _ => true,
        };
        let map: Map<String, Value> = self
            .plans
            .values()
            .filter(|p| permitted(p.name))
            .map(|p| {
                (
                    p.name.to_string(),
                    if reduced {
                        p.reduced_json()
                    } else {
                        p.full_json()
                    },
                )
            })
            .collect();
        Value::Object(map)
    }

    pub fn devices_json(&self) -> Value {
        self.devices_json_for(None)
    }

    /// The devices, only those `group` may use when given and a permissions file is in force.
    pub fn devices_json_for(&self, group: Option<&str>) -> Value {
        let permitted = |name: &str| match (&self.permissions, group) {
            (Some(p), Some(g)) => p.device_allowed(g, name),
            _ => true,
        };
        Value::Object(
            self.devices
                .values()
                .filter(|d| permitted(d.name))
                .map(|d| (d.name.to_string(), d.json()))
                .collect(),
        )
    }

    pub fn readable(&self, name: &str) -> bool {
        self.devices.get(name).is_some_and(|d| d.is_readable)
    }

    pub fn movable(&self, name: &str) -> bool {
        self.devices.get(name).is_some_and(|d| d.is_movable)
    }

    pub fn readable_names(&self) -> Vec<&'static str> {
        self.devices
            .values()
            .filter(|d| d.is_readable)
            .map(|d| d.name)
            .collect()
    }

    pub fn movable_names(&self) -> Vec<&'static str> {
        self.devices
            .keys()
            .copied()
            .filter(|n| self.movable(n))
            .collect()
    }
}
