//! The catalogue as clients read it: bluesky-queueserver's full and `reduced` JSON descriptions
//! of plans and devices, and only what a group may use when a permissions file is in force.

use serde_json::{json, Map, Value};

use super::{Catalog, DeviceSpec, ParamKind, ParamSpec, PlanSpec, ValueType};

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
}

impl ParamSpec {
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
}

impl Catalog {
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
}
