//! What an environment offers: plans with typed parameters and devices, and their JSON
//! descriptions in bluesky-queueserver's format (`/api/plans/allowed`, `/api/devices/allowed`,
//! full and `reduced`).
//!
//! Each parameter carries a [`ValueType`], hutch's own strict type, which validation checks
//! (device names included, which bluesky does not); the Python-style `annotation` string is only
//! published for clients that read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::annotation::TypeExpr;

/// `inspect.Parameter.kind`, as published in `{"name", "value"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    PositionalOnly,
    PositionalOrKeyword,
    VarPositional,
    KeywordOnly,
    VarKeyword,
}

impl ParamKind {
    fn json(self) -> Value {
        let (name, value) = match self {
            ParamKind::PositionalOnly => ("POSITIONAL_ONLY", 0),
            ParamKind::PositionalOrKeyword => ("POSITIONAL_OR_KEYWORD", 1),
            ParamKind::VarPositional => ("VAR_POSITIONAL", 2),
            ParamKind::KeywordOnly => ("KEYWORD_ONLY", 3),
            ParamKind::VarKeyword => ("VAR_KEYWORD", 4),
        };
        json!({"name": name, "value": value})
    }

    fn from_json(v: &Value) -> Option<ParamKind> {
        let n = v
            .get("value")
            .and_then(Value::as_u64)
            .or_else(|| v.as_u64());
        match n {
            Some(0) => Some(ParamKind::PositionalOnly),
            Some(1) => Some(ParamKind::PositionalOrKeyword),
            Some(2) => Some(ParamKind::VarPositional),
            Some(3) => Some(ParamKind::KeywordOnly),
            Some(4) => Some(ParamKind::VarKeyword),
            _ => None,
        }
    }
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

    fn converts_device_names(&self) -> bool {
        self.annotation
            .as_deref()
            .is_some_and(|a| a.contains("__READABLE__") || a.contains("__MOVABLE__"))
    }

    fn full_json(&self) -> Value {
        let mut p = Map::new();
        if let Some(t) = &self.annotation {
            p.insert("annotation".into(), json!({ "type": t }));
        }
        if self.converts_device_names() {
            p.insert("convert_device_names".into(), json!(true));
        }
        if let Some(d) = &self.default {
            p.insert("default".into(), json!(d));
        }
        if let Some(d) = &self.description {
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
        if let Some(d) = &self.description {
            p.insert("description".into(), json!(d));
        }
        if let Some(t) = &self.annotation {
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
        if let Some(d) = &self.default {
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

    /// Reads one parameter of bluesky's full description; `ty` is the simulated environment's
    /// own type name when it sent one.
    fn from_json(v: &Value, ty: Option<ValueType>) -> Result<ParamSpec, String> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a parameter has no name")?;
        let kind = v
            .get("kind")
            .and_then(ParamKind::from_json)
            .ok_or_else(|| format!("parameter '{name}' has no valid kind"))?;
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(String::from);
        let bound = |key: &str| {
            v.get(key).and_then(|b| {
                b.as_f64()
                    .or_else(|| b.as_str().and_then(|s| s.trim().parse().ok()))
                    .filter(|f: &f64| f.is_finite())
            })
        };
        let annotation_obj = v.get("annotation");
        let annotation = annotation_obj
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            .map(String::from);
        let expr = annotation.as_deref().map(|t| {
            let custom = annotation_obj
                .map(TypeExpr::custom_types)
                .unwrap_or_default();
            TypeExpr::parse(t, &custom)
        });
        let ty = ty.unwrap_or(if expr.is_some() {
            ValueType::Annotated
        } else {
            ValueType::Any
        });
        Ok(ParamSpec {
            name: name.into(),
            kind,
            ty,
            annotation,
            expr,
            default: text("default"),
            description: text("description"),
            min: bound("min"),
            max: bound("max"),
        })
    }
}

fn number_repr(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
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
    pub name: String,
    pub description: String,
    pub module: String,
    pub is_generator: bool,
    pub parameters: Vec<ParamSpec>,
    /// The description exactly as the environment sent it (published as `plans/allowed`).
    pub raw: Option<Value>,
}

impl PlanSpec {
    pub fn full_json(&self) -> Value {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
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

    fn from_json(
        name: &str,
        v: &Value,
        types: Option<&Map<String, Value>>,
    ) -> Result<PlanSpec, String> {
        let params = match v.get("parameters") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(format!("plan '{name}': parameters must be a list")),
        };
        let parameters = params
            .iter()
            .map(|p| {
                let pname = p.get("name").and_then(Value::as_str).unwrap_or_default();
                let ty = types
                    .and_then(|t| t.get(pname))
                    .and_then(|t| serde_json::from_value::<ValueType>(t.clone()).ok());
                ParamSpec::from_json(p, ty).map_err(|e| format!("plan '{name}': {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = |key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(PlanSpec {
            name: name.into(),
            description: text("description"),
            module: text("module"),
            is_generator: v
                .pointer("/properties/is_generator")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            parameters,
            raw: Some(v.clone()),
        })
    }
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
    pub fn json(&self) -> Value {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
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
        d.insert("is_flyable".into(), json!(self.is_flyable));
        d.insert("is_movable".into(), json!(self.is_movable));
        d.insert("is_readable".into(), json!(self.is_readable));
        d.insert("module".into(), json!(self.module));
        Value::Object(d)
    }

    fn from_json(name: &str, v: &Value) -> DeviceSpec {
        let flag = |key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
        let text = |key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        DeviceSpec {
            name: name.into(),
            classname: text("classname"),
            module: text("module"),
            is_readable: flag("is_readable"),
            is_movable: flag("is_movable"),
            is_flyable: flag("is_flyable"),
            components: Vec::new(),
            raw: Some(v.clone()),
        }
    }

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

    /// Reads the environment's own description (`plans`, `devices` in bluesky-queueserver's
    /// "existing" format, as in the worker's `ready` message); `types` names hutch's strict
    /// parameter types per plan (`{plan: {param: type}}`, sent by the simulated environment).
    pub fn from_json(
        plans: &Value,
        devices: &Value,
        types: Option<&Value>,
    ) -> Result<Self, String> {
        let plans = plans
            .as_object()
            .ok_or("the environment's plans must be an object of plan descriptions")?;
        let devices = match devices {
            Value::Null => &Map::new(),
            Value::Object(m) => m,
            _ => {
                return Err(
                    "the environment's devices must be an object of device descriptions".into(),
                )
            }
        };
        if plans.len() + devices.len() > MAX_ENTRIES {
            return Err(format!(
                "the environment describes {} plans and devices, more than hutch takes ({MAX_ENTRIES})",
                plans.len() + devices.len()
            ));
        }
        let types = types.and_then(Value::as_object);
        let mut out = Catalog::default();
        for (name, v) in plans {
            let t = types.and_then(|t| t.get(name)).and_then(Value::as_object);
            out.plans
                .insert(name.clone(), PlanSpec::from_json(name, v, t)?);
        }
        for (name, v) in devices {
            out.devices
                .insert(name.clone(), DeviceSpec::from_json(name, v));
        }
        Ok(out)
    }

    /// The strict parameter types of plans whose types are hutch's own (the `types` of
    /// [`Catalog::from_json`]).
    pub fn types_json(&self) -> Value {
        let mut out = Map::new();
        for (name, plan) in &self.plans {
            let t: Map<String, Value> = plan
                .parameters
                .iter()
                .filter(|p| !matches!(p.ty, ValueType::Annotated | ValueType::Any))
                .map(|p| (p.name.clone(), json!(p.ty)))
                .collect();
            if !t.is_empty() {
                out.insert(name.clone(), Value::Object(t));
            }
        }
        Value::Object(out)
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
            .filter(|p| permitted(&p.name))
            .map(|p| {
                (
                    p.name.clone(),
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
                .filter(|d| permitted(&d.name))
                .map(|d| (d.name.clone(), d.json()))
                .collect(),
        )
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
