//! Plan parameters as JSON Schema 2020-12 (`GET /api/plans/schema`): one object schema per plan,
//! its properties the plan's parameters by name (as a queue item's `kwargs` names them; `*args`
//! under its own name as a list), generated from the same types validation checks — device
//! parameters as enums of the device names (components included) the caller's group may use.
//! Pure: no IO.

use serde_json::{json, Map, Value};

use super::super::annotation::{DeviceKind, TypeExpr};
use super::{Catalog, ParamKind, ParamSpec, PlanSpec, ValueType};

pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Most device names one enum lists (bounds the schema of a huge environment; a longer list is
/// left out and the parameter accepts any string, which the server still checks).
const MAX_NAMES: usize = 5_000;

/// Device names by capability, as the schema's enums list them (each list once per plan, in
/// its `$defs`, referred to by every parameter that takes one).
struct Enums {
    readable: Vec<String>,
    movable: Vec<String>,
    flyable: Vec<String>,
    any: Vec<String>,
    plans: Vec<String>,
    /// More names than [`MAX_NAMES`]: every device list is then a plain string (a partial list
    /// would refuse names the server accepts).
    truncated: bool,
}

/// The `$defs` names of the lists, and the list each stands for.
const DEFS: [&str; 5] = ["readable", "movable", "flyable", "device", "plan"];

impl Enums {
    fn list(&self, def: &str) -> &[String] {
        match def {
            "readable" => &self.readable,
            "movable" => &self.movable,
            "flyable" => &self.flyable,
            "device" => &self.any,
            _ => &self.plans,
        }
    }

    /// The `$defs` a plan's properties refer to.
    fn defs(&self, properties: &Value) -> Map<String, Value> {
        let mut used = Vec::new();
        refs(properties, &mut used);
        DEFS.iter()
            .filter(|d| used.iter().any(|u| u.strip_prefix("#/$defs/") == Some(**d)))
            .map(|d| {
                let list = self.list(d);
                let schema = if self.truncated && *d != "plan" {
                    json!({"type": "string"})
                } else {
                    json!({"type": "string", "enum": list})
                };
                (d.to_string(), schema)
            })
            .collect()
    }
}

/// Every `$ref` in a schema (as deep as the schemas written here go).
fn refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn reference(def: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{def}") })
}

impl Catalog {
    /// The schema of every plan `group` may use (all plans when `None` or without permissions).
    pub fn plan_schemas(&self, group: Option<&str>) -> Map<String, Value> {
        let names = self.names(group);
        self.plans
            .values()
            .filter(|p| self.plan_permitted(group, &p.name))
            .map(|p| (p.name.clone(), plan_schema(p, &names)))
            .collect()
    }

    /// The schema of one plan, if `group` may use it.
    pub fn plan_schema(&self, name: &str, group: Option<&str>) -> Option<Value> {
        let plan = self.plans.get(name)?;
        self.plan_permitted(group, name)
            .then(|| plan_schema(plan, &self.names(group)))
    }

    fn plan_permitted(&self, group: Option<&str>, name: &str) -> bool {
        match (&self.permissions, group) {
            (Some(p), Some(g)) => p.plan_allowed(g, name),
            _ => true,
        }
    }

    fn names(&self, group: Option<&str>) -> Enums {
        let permitted = |name: &str| match (&self.permissions, group) {
            (Some(p), Some(g)) => p.device_allowed(g, name),
            _ => true,
        };
        let mut all: Vec<String> = Vec::new();
        for d in self.devices.values().filter(|d| permitted(&d.name)) {
            all.push(d.name.clone());
            match &d.raw {
                Some(raw) => components(&d.name, raw, 0, &mut all),
                None => all.extend(d.components.iter().map(|(c, _)| format!("{}.{c}", d.name))),
            }
            if all.len() > MAX_NAMES {
                break;
            }
        }
        let truncated = all.len() > MAX_NAMES;
        let of = |kind: DeviceKind| -> Vec<String> {
            all.iter()
                .filter(|n| super::super::annotation::Names::device(self, n, kind))
                .cloned()
                .collect()
        };
        Enums {
            readable: of(DeviceKind::Readable),
            movable: of(DeviceKind::Movable),
            flyable: of(DeviceKind::Flyable),
            any: all.clone(),
            plans: self
                .plans
                .keys()
                .filter(|p| self.plan_permitted(group, p))
                .cloned()
                .collect(),
            truncated,
        }
    }
}

/// `det1.val`, `det1.val.x`, … from an environment's nested `components` description.
fn components(prefix: &str, raw: &Value, depth: usize, out: &mut Vec<String>) {
    let Some(map) = raw.get("components").and_then(Value::as_object) else {
        return;
    };
    // As deep as the server looks a component up (`Catalog::lookup`).
    if depth >= 16 {
        return;
    }
    for (name, sub) in map {
        if out.len() > MAX_NAMES {
            return;
        }
        let path = format!("{prefix}.{name}");
        out.push(path.clone());
        components(&path, sub, depth + 1, out);
    }
}

fn plan_schema(plan: &PlanSpec, names: &Enums) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut open = false;
    for p in &plan.parameters {
        if p.kind == ParamKind::VarKeyword {
            open = true;
            continue;
        }
        properties.insert(p.name.clone(), param_schema(p));
        if p.required() {
            required.push(json!(p.name));
        }
    }
    let properties = Value::Object(properties);
    let defs = names.defs(&properties);
    let mut schema = json!({
        "$schema": DIALECT,
        "title": plan.name,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": open,
    });
    if !plan.description.is_empty() {
        schema["description"] = json!(plan.description);
    }
    if !defs.is_empty() {
        schema["$defs"] = Value::Object(defs);
    }
    schema
}

fn param_schema(p: &ParamSpec) -> Value {
    let mut s = match p.ty {
        ValueType::Annotated => p
            .expr
            .as_ref()
            .map_or_else(|| json!({}), |e| expr_schema(e, 0)),
        other => value_schema(other),
    };
    if p.kind == ParamKind::VarPositional && s.get("type") != Some(&json!("array")) {
        s = json!({"type": "array", "items": s});
    }
    if let Some(obj) = s.as_object_mut() {
        // `minimum`/`maximum` constrain numbers only, as the server's bounds do.
        if let Some(min) = p.min {
            obj.insert("minimum".into(), json!(min));
        }
        if let Some(max) = p.max {
            obj.insert("maximum".into(), json!(max));
        }
        if let Some(d) = p.description.as_deref().filter(|d| !d.is_empty()) {
            obj.insert("description".into(), json!(d));
        }
        if let Some(d) = p.default.as_deref().and_then(python_literal) {
            obj.insert("default".into(), d);
        }
    }
    s
}

fn any_of(options: Vec<Value>) -> Value {
    json!({ "anyOf": options })
}

fn value_schema(ty: ValueType) -> Value {
    let null = json!({"type": "null"});
    let number = json!({"type": "number"});
    let numbers = json!({"type": "array", "items": {"type": "number"}});
    let repeating = |cell: Vec<Value>| json!({"type": "array", "items": any_of(cell)});
    match ty {
        ValueType::Annotated | ValueType::Any => json!({}),
        ValueType::Detectors => {
            json!({"type": "array", "items": reference("readable"), "minItems": 1})
        }
        ValueType::Float => number,
        ValueType::OptInt => any_of(vec![json!({"type": "integer"}), null]),
        ValueType::Delay => any_of(vec![number, numbers, null]),
        ValueType::Metadata => any_of(vec![json!({"type": "object"}), null]),
        ValueType::SnakeAxes => any_of(vec![
            json!({"type": "boolean"}),
            json!({"type": "array", "items": reference("movable")}),
            null,
        ]),
        ValueType::OptFloat => any_of(vec![number, null]),
        ValueType::NullOnly => null,
        ValueType::ScanArgs | ValueType::GridArgs | ValueType::MoveArgs => {
            repeating(vec![reference("movable"), number])
        }
        ValueType::ListArgs => repeating(vec![reference("movable"), numbers]),
        ValueType::Seconds => json!({"type": "number", "minimum": 0}),
        ValueType::OptStr => any_of(vec![json!({"type": "string"}), null]),
    }
}

/// Deepest nesting written (as the annotation parser reads at most so deep).
const MAX_DEPTH: usize = 16;

fn expr_schema(e: &TypeExpr, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return json!({});
    }
    match e {
        TypeExpr::Any => json!({}),
        TypeExpr::Null => json!({"type": "null"}),
        TypeExpr::Bool => json!({"type": "boolean"}),
        TypeExpr::Int => json!({"type": "integer"}),
        TypeExpr::Float => json!({"type": "number"}),
        TypeExpr::Str => json!({"type": "string"}),
        TypeExpr::Object => json!({"type": "object"}),
        TypeExpr::List(inner) => {
            json!({"type": "array", "items": expr_schema(inner, depth + 1)})
        }
        TypeExpr::Union(options) => {
            any_of(options.iter().map(|o| expr_schema(o, depth + 1)).collect())
        }
        TypeExpr::Device(kind) => reference(match kind {
            DeviceKind::Readable => "readable",
            DeviceKind::Movable => "movable",
            DeviceKind::Flyable => "flyable",
            DeviceKind::Any => "device",
        }),
        TypeExpr::Plan => reference("plan"),
        TypeExpr::OneOf(values) => json!({"type": "string", "enum": values}),
    }
}

/// A Python literal default (`None`, `True`, `5`, `0.1`, `'text'`, `[1, 2]`) as JSON, when it
/// is one; `None` for what JSON cannot say (a callable, an object's repr).
fn python_literal(repr: &str) -> Option<Value> {
    let t = repr.trim();
    match t {
        "None" => return Some(Value::Null),
        "True" => return Some(Value::Bool(true)),
        "False" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Ok(v) = serde_json::from_str::<Value>(t) {
        return Some(v);
    }
    let quoted = t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'');
    (quoted && !t[1..t.len() - 1].contains(['\'', '\\']))
        .then(|| Value::String(t[1..t.len() - 1].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_defaults_become_json_where_json_can_say_them() {
        assert_eq!(python_literal("None"), Some(Value::Null));
        assert_eq!(python_literal("True"), Some(json!(true)));
        assert_eq!(python_literal("0.5"), Some(json!(0.5)));
        assert_eq!(python_literal("'primary'"), Some(json!("primary")));
        assert_eq!(python_literal("[1, 2]"), Some(json!([1, 2])));
        assert_eq!(python_literal("<function f at 0x7f>"), None);
        assert_eq!(python_literal("'it\\'s'"), None);
    }
}
