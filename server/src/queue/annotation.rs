//! Python type annotations as bluesky-queueserver publishes them (`"int | None"`,
//! `"typing.List[__READABLE__]"`, `"collections.abc.Sequence[Motors]"`, …), parsed into a small
//! type language that plan arguments are checked against. Pure: no IO.
//!
//! Only what can be decided from JSON is checked; a type we cannot read (a class of the beamline's
//! own) accepts anything, and the environment checks it when the plan runs.

use std::collections::BTreeMap;

use serde_json::Value;

/// The device capability a `__READABLE__`-style marker asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Readable,
    Movable,
    Flyable,
    Any,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    Any,
    Null,
    Bool,
    Int,
    Float,
    Str,
    /// A JSON object (`dict`).
    Object,
    /// A list (or tuple, set, sequence, iterable) of the inner type.
    List(Box<TypeExpr>),
    Union(Vec<TypeExpr>),
    /// The name of a device with this capability.
    Device(DeviceKind),
    /// The name of a plan of the environment.
    Plan,
    /// One of these strings (custom `devices`/`plans`/`enums` types of the annotation).
    OneOf(Vec<String>),
}

/// Deepest nesting read; deeper annotations accept anything (bounds the recursion).
const MAX_DEPTH: usize = 16;

impl TypeExpr {
    /// Parses an annotation: `ty` is its `type` string, `custom` the annotation object's `devices`,
    /// `plans` and `enums` maps (name → list of allowed strings).
    pub fn parse(ty: &str, custom: &BTreeMap<String, Vec<String>>) -> TypeExpr {
        let tokens = tokenize(ty);
        let mut p = Parser {
            tokens: &tokens,
            at: 0,
            custom,
        };
        let t = p.union(0);
        if p.at == tokens.len() {
            t
        } else {
            TypeExpr::Any
        }
    }

    /// The custom type names of an annotation object (`{"type": …, "devices": {"Motors": [...]}}`).
    pub fn custom_types(annotation: &Value) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for key in ["devices", "plans", "enums"] {
            if let Some(map) = annotation.get(key).and_then(Value::as_object) {
                for (name, values) in map {
                    let list = values
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    out.insert(name.clone(), list);
                }
            }
        }
        out
    }

    /// Words for a message: "an integer or null".
    pub fn describe(&self) -> String {
        match self {
            TypeExpr::Any => "any value".into(),
            TypeExpr::Null => "null".into(),
            TypeExpr::Bool => "true or false".into(),
            TypeExpr::Int => "an integer".into(),
            TypeExpr::Float => "a number".into(),
            TypeExpr::Str => "a string".into(),
            TypeExpr::Object => "an object".into(),
            TypeExpr::List(inner) => format!("a list of ({})", inner.describe()),
            TypeExpr::Union(parts) => parts
                .iter()
                .map(TypeExpr::describe)
                .collect::<Vec<_>>()
                .join(" or "),
            TypeExpr::Device(DeviceKind::Readable) => "the name of a readable device".into(),
            TypeExpr::Device(DeviceKind::Movable) => "the name of a movable device".into(),
            TypeExpr::Device(DeviceKind::Flyable) => "the name of a flyable device".into(),
            TypeExpr::Device(DeviceKind::Any) => "the name of a device".into(),
            TypeExpr::Plan => "the name of a plan".into(),
            TypeExpr::OneOf(v) => format!("one of {}", v.join(", ")),
        }
    }
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

struct Parser<'a> {
    tokens: &'a [String],
    at: usize,
    custom: &'a BTreeMap<String, Vec<String>>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn eat(&mut self, t: &str) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// `a | b | c`
    fn union(&mut self, depth: usize) -> TypeExpr {
        let mut parts = vec![self.term(depth)];
        while self.eat("|") {
            parts.push(self.term(depth));
        }
        union_of(parts)
    }

    /// The bracketed arguments of a generic: `[a, b]`.
    fn args(&mut self, depth: usize) -> Vec<TypeExpr> {
        let mut out = Vec::new();
        if !self.eat("[") {
            return out;
        }
        loop {
            if self.eat("]") || self.peek().is_none() {
                return out;
            }
            if self.eat("...") || self.eat(".") {
                // `tuple[int, ...]`: the tokenizer keeps dots in words, so `...` is a word.
                while self.eat(".") {}
            } else {
                out.push(self.union(depth + 1));
            }
            self.eat(",");
        }
    }

    fn term(&mut self, depth: usize) -> TypeExpr {
        let Some(word) = self.peek().map(String::from) else {
            return TypeExpr::Any;
        };
        self.at += 1;
        if depth > MAX_DEPTH {
            return TypeExpr::Any;
        }
        if word == "[" {
            // A bare list literal, e.g. `[int, str]` in Callable: read and ignore.
            self.at -= 1;
            self.args(depth);
            return TypeExpr::Any;
        }
        let args = self.args(depth);
        let base = word.rsplit('.').next().unwrap_or(&word).to_string();
        if let Some(values) = self.custom.get(&word) {
            return TypeExpr::OneOf(values.clone());
        }
        let first = || args.first().cloned().unwrap_or(TypeExpr::Any);
        match base.as_str() {
            "None" | "NoneType" => TypeExpr::Null,
            "bool" => TypeExpr::Bool,
            "int" => TypeExpr::Int,
            "float" | "complex" | "Number" | "Real" => TypeExpr::Float,
            "str" => TypeExpr::Str,
            "dict" | "Dict" | "Mapping" | "MutableMapping" => TypeExpr::Object,
            "Optional" => union_of(vec![first(), TypeExpr::Null]),
            "Union" => union_of(args),
            "list" | "List" | "Sequence" | "MutableSequence" | "Iterable" | "Collection"
            | "set" | "Set" | "frozenset" | "FrozenSet" => TypeExpr::List(Box::new(first())),
            "tuple" | "Tuple" => {
                let inner = if args.is_empty() {
                    TypeExpr::Any
                } else {
                    union_of(args)
                };
                TypeExpr::List(Box::new(inner))
            }
            "__READABLE__" => TypeExpr::Device(DeviceKind::Readable),
            "__MOVABLE__" => TypeExpr::Device(DeviceKind::Movable),
            "__FLYABLE__" => TypeExpr::Device(DeviceKind::Flyable),
            "__DEVICE__" => TypeExpr::Device(DeviceKind::Any),
            "__PLAN__" => TypeExpr::Plan,
            "__CALLABLE__" => TypeExpr::Str,
            _ => TypeExpr::Any,
        }
    }
}

/// A union, flattened; one that contains `Any` is `Any`.
fn union_of(parts: Vec<TypeExpr>) -> TypeExpr {
    let mut flat = Vec::new();
    for p in parts {
        match p {
            TypeExpr::Union(inner) => flat.extend(inner),
            TypeExpr::Any => return TypeExpr::Any,
            other => {
                if !flat.contains(&other) {
                    flat.push(other);
                }
            }
        }
    }
    match flat.len() {
        0 => TypeExpr::Any,
        1 => flat.pop().unwrap_or(TypeExpr::Any),
        _ => TypeExpr::Union(flat),
    }
}

/// What a value is checked against besides its shape.
pub trait Names {
    fn device(&self, name: &str, kind: DeviceKind) -> bool;
    fn plan(&self, name: &str) -> bool;
}

/// Whether `value` fits `t`.
pub fn fits(t: &TypeExpr, value: &Value, names: &dyn Names) -> bool {
    match t {
        TypeExpr::Any => true,
        TypeExpr::Null => value.is_null(),
        TypeExpr::Bool => value.is_boolean(),
        TypeExpr::Int => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
        }
        TypeExpr::Float => value.as_f64().is_some_and(f64::is_finite),
        TypeExpr::Str => value.is_string(),
        TypeExpr::Object => value.is_object(),
        TypeExpr::List(inner) => value
            .as_array()
            .is_some_and(|a| a.iter().all(|v| fits(inner, v, names))),
        TypeExpr::Union(parts) => parts.iter().any(|p| fits(p, value, names)),
        TypeExpr::Device(kind) => value.as_str().is_some_and(|n| names.device(n, *kind)),
        TypeExpr::Plan => value.as_str().is_some_and(|n| names.plan(n)),
        TypeExpr::OneOf(list) => value.as_str().is_some_and(|s| list.iter().any(|l| l == s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct N;
    impl Names for N {
        fn device(&self, name: &str, kind: DeviceKind) -> bool {
            match kind {
                DeviceKind::Movable => name.starts_with("motor"),
                _ => name.starts_with("det") || name.starts_with("motor"),
            }
        }
        fn plan(&self, name: &str) -> bool {
            name == "count"
        }
    }

    fn parse(s: &str) -> TypeExpr {
        TypeExpr::parse(s, &BTreeMap::new())
    }

    #[test]
    fn annotations_of_bluesky_plans_parse() {
        use TypeExpr::*;
        assert_eq!(parse("int | None"), Union(vec![Int, Null]));
        assert_eq!(parse("typing.Optional[float]"), Union(vec![Float, Null]));
        assert_eq!(
            parse("collections.abc.Sequence[__READABLE__]"),
            List(Box::new(Device(DeviceKind::Readable)))
        );
        assert_eq!(
            parse("float | collections.abc.Iterable[float]"),
            Union(vec![Float, List(Box::new(Float))])
        );
        assert_eq!(parse("__MOVABLE__ | typing.Any"), Any);
        assert_eq!(
            parse("dict[str, typing.Any] | None"),
            Union(vec![Object, Null])
        );
        assert_eq!(parse("tuple[int, ...]"), List(Box::new(Int)));
        assert_eq!(
            parse("ophyd.Device"),
            Any,
            "a class of its own accepts anything"
        );
        assert!(
            matches!(parse("typing.List[[[[[["), Any | List(_)),
            "garbage is lenient"
        );
        let deep = "typing.List[".repeat(200) + "int" + &"]".repeat(200);
        assert!(
            matches!(parse(&deep), List(_) | Any),
            "deep nesting is bounded"
        );
    }

    #[test]
    fn custom_types_become_lists_of_names() {
        let ann = json!({"type": "typing.List[Motors]", "devices": {"Motors": ["m1", "m2"]}});
        let t = TypeExpr::parse("typing.List[Motors]", &TypeExpr::custom_types(&ann));
        assert_eq!(
            t,
            TypeExpr::List(Box::new(TypeExpr::OneOf(vec!["m1".into(), "m2".into()])))
        );
        assert!(fits(&t, &json!(["m2"]), &N));
        assert!(!fits(&t, &json!(["m3"]), &N));
    }

    #[test]
    fn values_are_checked() {
        let t = parse("collections.abc.Sequence[__READABLE__]");
        assert!(fits(&t, &json!(["det1"]), &N));
        assert!(!fits(&t, &json!(["nope"]), &N));
        assert!(!fits(&t, &json!("det1"), &N));
        let t = parse("int | None");
        assert!(fits(&t, &json!(3), &N));
        assert!(fits(&t, &json!(3.0), &N));
        assert!(fits(&t, &json!(null), &N));
        assert!(!fits(&t, &json!(3.5), &N));
        assert!(!fits(&t, &json!("3"), &N));
        assert!(fits(&parse("__PLAN__"), &json!("count"), &N));
        assert!(!fits(&parse("__MOVABLE__"), &json!("det1"), &N));
    }
}
