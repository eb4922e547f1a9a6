//! JSON fields read as their annotation types them (`dict[str, Any] | None`,
//! `Optional[list[float]]`, …): what the form sends, or why it cannot.

use serde_json::Value;

use super::{words, Param};

/// The alternatives of an annotation without modules, `Optional[…]` and `Union[…]` unwrapped:
/// `Optional[dict[str, Any]]` → `dict[str, Any]`, `None`.
fn alternatives(ty: &str, depth: usize, out: &mut Vec<String>) {
    for a in words::split_top(ty, '|') {
        let a = a.trim();
        let inner = |head: &str| a.strip_prefix(head).and_then(|r| r.strip_suffix(']'));
        if depth < 8 {
            if let Some(inner) = inner("Optional[") {
                alternatives(inner, depth + 1, out);
                out.push("None".into());
                continue;
            }
            if let Some(inner) = inner("Union[") {
                for part in words::split_top(inner, ',') {
                    alternatives(part, depth + 1, out);
                }
                continue;
            }
        }
        if !a.is_empty() {
            out.push(a.to_string());
        }
    }
}

/// A JSON field as its annotation types it: a dictionary must be a JSON object, a list a JSON
/// list, `null` only where `None` is allowed; text that starts like JSON must be valid JSON
/// (broken JSON is never sent as a string); other text is sent as text only where the
/// annotation allows text (a string, a device or plan name, `Any`).
pub(super) fn json_field(p: &Param, t: &str) -> Result<Value, String> {
    let ty = p
        .type_text
        .replace("collections.abc.", "")
        .replace("typing.", "");
    let mut all = Vec::new();
    alternatives(&ty, 0, &mut all);
    let starts = |a: &str, heads: &[&str]| heads.iter().any(|h| a.starts_with(h));
    let is_object = |a: &str| starts(a, &["dict", "Dict", "Mapping"]);
    let is_list = |a: &str| {
        starts(
            a,
            &["list", "List", "Sequence", "Iterable", "tuple", "Tuple"],
        )
    };
    let object = all.iter().any(|a| is_object(a));
    let list = all.iter().any(|a| is_list(a));
    // Anything else: a scalar type, text, a device, a class of the beamline's own.
    let other = all.is_empty()
        || all
            .iter()
            .any(|a| a != "None" && !is_object(a) && !is_list(a));
    let nullable = other || all.iter().any(|a| a == "None");
    let text_allowed = all.is_empty()
        || all.iter().any(|a| {
            matches!(a.as_str(), "str" | "Any") || a.starts_with("__") || a.starts_with("Literal")
        });
    let example = if object {
        r#"{"sample": "Si"}"#
    } else {
        "[1, 2, 3]"
    };
    let wanted = match (object, list) {
        (true, true) => "a JSON object or list",
        (true, false) => "a JSON object",
        _ => "a JSON list",
    };
    let refuse = || Err(format!("give {wanted}, e.g. {example}"));
    match serde_json::from_str::<Value>(t) {
        Ok(v @ Value::Object(_)) if object || other => Ok(v),
        Ok(v @ Value::Array(_)) if list || other => Ok(v),
        Ok(Value::Null) if nullable => Ok(Value::Null),
        Ok(Value::Object(_) | Value::Array(_) | Value::Null) => refuse(),
        Ok(v) if other => Ok(v),
        Ok(_) => refuse(),
        Err(e) if t.starts_with(['{', '[', '"']) => {
            Err(format!("not valid JSON ({e}); write it like {example}"))
        }
        Err(_) if text_allowed => Ok(Value::String(t.into())),
        Err(_) => refuse(),
    }
}
