//! Any bytes as a `POST /api/documents` body: parsed as a batch, every document checked, and
//! every event (or event page) checked against the batch's descriptors. Nothing may panic, and
//! a document the checks accept must also pass its descriptor's check without allocating more
//! than its own bytes hold (the sanitizer's allocation limit catches that).
#![no_main]

use hutch_fuzz::runs::{conform::Keys, validate};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(batch) = validate::parse_batch(body) else {
        return;
    };
    let mut descriptors = Vec::new();
    for (name, doc) in &batch {
        if validate::check(name, doc).is_err() {
            continue;
        }
        match name.as_str() {
            "descriptor" => descriptors.push(Keys::of(doc)),
            "event" | "event_page" => {
                let empty = serde_json::Map::new();
                let data = doc.get("data").and_then(Value::as_object).unwrap_or(&empty);
                let filled = doc.get("filled").cloned().unwrap_or(Value::Null);
                for keys in &descriptors {
                    let _ = if name == "event" {
                        keys.check_event(data, &filled)
                    } else {
                        keys.check_page(data, &filled)
                    };
                }
            }
            _ => {}
        }
    }
});
