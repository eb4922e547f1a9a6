//! What a client submits for the queue: parsing the item and checking it (plan validation,
//! group permissions) before it is stamped with its user, group and a new uid.

use hutch_app::model::queue::{ItemType, QueueItem};
use serde_json::{Map, Value};

use crate::queue::catalog::Catalog;
use crate::queue::state::Ctx;
use crate::queue::validate::validate_plan;

/// Parses a submitted item; the error is bluesky's "Incorrect request format" message.
pub fn parse_item(v: Option<&Value>) -> Result<QueueItem, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Err("Incorrect request format: request contains no item info".into());
    };
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "Incorrect request format: the item must be an object, got {v}"
        ));
    };
    match obj.get("item_type").and_then(Value::as_str) {
        None => return Err("Incorrect request format: 'item_type' key is not found".into()),
        Some("plan" | "instruction") => {}
        Some(other) => {
            return Err(format!(
                "Incorrect request format: unsupported 'item_type' value: '{other}', supported item types ('plan', 'instruction')"
            ))
        }
    }
    let mut clean = Map::new();
    for key in ["name", "args", "kwargs", "item_type", "meta", "item_uid"] {
        if let Some(v) = obj.get(key) {
            clean.insert(key.into(), v.clone());
        }
    }
    serde_json::from_value(Value::Object(clean))
        .map_err(|e| format!("Incorrect request format: {e}"))
}

/// Checks a submitted item and prepares it for the queue: stamps user, group and a new uid.
pub fn prepare_item(
    catalog: &Catalog,
    mut item: QueueItem,
    ctx: &mut Ctx,
) -> Result<QueueItem, String> {
    match item.item_type {
        ItemType::Plan => {
            let kwargs = item.kwargs.clone().unwrap_or_default();
            validate_plan(catalog, &item.name, item.args(), &kwargs)
                .map_err(|e| format!("Plan validation failed: {e}"))?;
            if let Some(perm) = &catalog.permissions {
                let is_device = |d: &str| catalog.devices.contains_key(d);
                perm.check(ctx.user_group, &item.name, item.args(), &kwargs, &is_device)
                    .map_err(|e| format!("Plan validation failed: {e}"))?;
            }
            item.args.get_or_insert_with(Vec::new);
            item.kwargs.get_or_insert_with(Default::default);
        }
        ItemType::Instruction => {
            if item.name != "queue_stop" {
                return Err(format!(
                    "Unrecognized instruction: '{}'; the only instruction is 'queue_stop'",
                    item.name
                ));
            }
            item.args = None;
            item.kwargs = None;
        }
        ItemType::Function => {
            return Err(format!(
                "'{}' is a function: functions are not queued; run it with function/execute",
                item.name
            ))
        }
    }
    item.user = ctx.user.to_string();
    item.user_group = ctx.user_group.to_string();
    item.item_uid = (ctx.new_uid)();
    item.properties = None;
    item.result = None;
    Ok(item)
}
