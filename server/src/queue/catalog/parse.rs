//! Reading an environment's own description of its plans and devices (bluesky-queueserver's
//! "existing" format, as in the worker's `ready` message) into a [`Catalog`].

use serde_json::{Map, Value};

use super::{Catalog, DeviceSpec, ParamKind, ParamSpec, PlanSpec, ValueType, MAX_ENTRIES};
use crate::queue::annotation::TypeExpr;

impl ParamKind {
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

impl ParamSpec {
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

impl PlanSpec {
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

impl DeviceSpec {
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
}

impl Catalog {
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
}
