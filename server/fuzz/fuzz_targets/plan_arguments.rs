//! Any bytes as a queue item's plan call (`{"name", "args", "kwargs"}`) against the simulated
//! environment's catalogue: the binder and every bound check run; nothing may panic, whatever
//! the numbers, nesting or names.
#![no_main]

use std::sync::OnceLock;

use hutch_fuzz::queue::{catalog::Catalog, validate::validate_plan};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(hutch_fuzz::sim::catalog::catalog)
}

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(item)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let name = item.get("name").and_then(Value::as_str).unwrap_or("count");
    let args = match item.get("args") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    let kwargs = match item.get("kwargs") {
        Some(Value::Object(k)) => k.clone(),
        _ => Map::new(),
    };
    let _ = validate_plan(catalog(), name, &args, &kwargs);
});
