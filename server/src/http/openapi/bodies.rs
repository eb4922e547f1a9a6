//! What the OpenAPI document says of bodies, route by route, where hutch's checks are known: the
//! bluesky queue, run-engine, lock and history routes, and hutch's datasets and applets. Routes
//! not listed here take and give a JSON object (their fields are in docs/api.md).
//!
//! Request schemas list the keys a route takes (a key it does not take is refused with 400,
//! hence `additionalProperties: false`); reply schemas list what a successful reply carries
//! besides `success` and `msg`.

use hutch_app::model::applets::AppletKind;
use serde_json::{json, Map, Value};

fn item() -> Value {
    json!({"$ref": "#/components/schemas/Item"})
}

fn text() -> Value {
    json!({"type": "string"})
}

fn lock_key() -> Value {
    json!({"type": "string", "description": "the lock's key, when the queue or environment is locked"})
}

fn position() -> Value {
    json!({"oneOf": [{"type": "integer"}, {"enum": ["front", "back"]}]})
}

/// An object of `props`, `required` among them, and no other key.
fn body(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// `props` and the keys every queue-editing route also takes.
fn editing(props: Value) -> Value {
    let mut all: Map<String, Value> = props.as_object().cloned().unwrap_or_default();
    all.insert("lock_key".into(), lock_key());
    all.insert("user".into(), text());
    all.insert("user_group".into(), text());
    Value::Object(all)
}

/// The body a route takes, where it is described here.
pub fn request(method: &str, path: &str) -> Option<Value> {
    let placed = |key: &str, schema: Value| {
        editing(json!({key: schema, "pos": position(), "before_uid": text(), "after_uid": text()}))
    };
    let uids = || json!({"type": "array", "items": text()});
    Some(match (method, path) {
        ("POST", "/api/queue/item/add") => body(placed("item", item()), &["item"]),
        ("POST", "/api/queue/item/add/batch") => body(
            placed("items", json!({"type": "array", "items": item()})),
            &["items"],
        ),
        ("POST", "/api/queue/item/validate") => body(
            json!({"items": {"type": "array", "items": item()}}),
            &["items"],
        ),
        ("POST", "/api/queue/item/update") => body(
            editing(json!({"item": item(), "replace": {"type": "boolean"}})),
            &["item"],
        ),
        ("POST", "/api/queue/item/execute") => body(editing(json!({"item": item()})), &["item"]),
        ("POST", "/api/queue/item/remove") => body(
            json!({"uid": text(), "pos": position(), "lock_key": lock_key()}),
            &[],
        ),
        ("POST", "/api/queue/item/remove/batch") => body(
            json!({"uids": uids(), "ignore_missing": {"type": "boolean"}, "lock_key": lock_key()}),
            &["uids"],
        ),
        ("POST", "/api/queue/item/move") => body(
            json!({"uid": text(), "pos": position(), "pos_dest": position(),
                   "before_uid": text(), "after_uid": text(), "lock_key": lock_key()}),
            &[],
        ),
        ("POST", "/api/queue/item/move/batch") => body(
            json!({"uids": uids(), "pos_dest": {"enum": ["front", "back"]},
                   "before_uid": text(), "after_uid": text(), "reorder": {"type": "boolean"},
                   "lock_key": lock_key()}),
            &["uids"],
        ),
        ("POST", "/api/queue/autostart") => body(
            json!({"enable": {"type": "boolean"}, "lock_key": lock_key()}),
            &["enable"],
        ),
        ("POST", "/api/queue/mode/set") => json!({
            "type": "object", "required": ["mode"],
            "properties": {"mode": {"oneOf": [
                {"const": "default"},
                {"type": "object", "properties": {"loop": {"type": "boolean"},
                 "ignore_failures": {"type": "boolean"}}, "additionalProperties": false}]},
                "lock_key": lock_key()}}),
        ("POST", "/api/history/clear") => body(
            json!({"size": {"type": "integer", "minimum": 0}, "item_uid": text(),
                   "lock_key": lock_key()}),
            &[],
        ),
        ("POST", "/api/re/pause") => body(
            json!({"option": {"enum": ["deferred", "immediate"]}, "lock_key": lock_key()}),
            &[],
        ),
        ("POST", "/api/lock") => body(
            json!({"lock_key": text(), "environment": {"type": "boolean"},
                   "queue": {"type": "boolean"}, "note": {"type": ["string", "null"]},
                   "user": text()}),
            &["lock_key"],
        ),
        ("POST", "/api/unlock") => body(json!({"lock_key": text()}), &["lock_key"]),
        (
            "POST",
            "/api/queue/clear"
            | "/api/environment/open"
            | "/api/environment/close"
            | "/api/environment/destroy"
            | "/api/re/resume"
            | "/api/re/stop"
            | "/api/re/abort"
            | "/api/re/halt",
        ) => body(json!({"lock_key": lock_key()}), &[]),
        ("PUT", "/api/datasets/{key}") => json!({"type": "object", "required": ["value"],
            "properties": {"value": {}, "persist": {"type": "boolean"}, "unit": text(),
                           "description": text()}}),
        ("POST", "/api/datasets/{key}/append") => json!({"type": "object", "required": ["values"],
            "properties": {"values": {"type": "array"}}}),
        ("POST", "/api/applets") => json!({"$ref": "#/components/schemas/AppletContent"}),
        _ => return None,
    })
}

/// What a successful reply of the route carries: `success`, `msg` and, where described here,
/// its other fields.
pub fn reply(path: &str) -> Value {
    let props = match path {
        "/api/status" | "/api/ping" | "/api/" => json!({
            "manager_state": text(), "re_state": {"type": ["string", "null"]},
            "items_in_queue": {"type": "integer"}, "items_in_history": {"type": "integer"},
            "running_item_uid": {"type": ["string", "null"]},
            "worker_environment_exists": {"type": "boolean"},
            "plan_queue_uid": text(), "plan_history_uid": text(),
            "plan_queue_mode": {"type": "object"}}),
        "/api/queue/get" => json!({"items": {"type": "array", "items": item()},
            "running_item": {"type": "object"}, "plan_queue_uid": text()}),
        "/api/history/get" => json!({"items": {"type": "array", "items": item()},
            "plan_history_uid": text()}),
        "/api/queue/item/add" | "/api/queue/item/update" | "/api/queue/item/execute" => {
            json!({"qsize": {"type": "integer"}, "item": item()})
        }
        "/api/queue/item/validate" => json!({"results": {"type": "array"}}),
        "/api/queue/item/add/batch" => json!({"qsize": {"type": "integer"},
            "items": {"type": "array", "items": item()}, "results": {"type": "array"}}),
        "/api/plans/allowed" => {
            json!({"plans_allowed": {"type": "object"}, "plans_allowed_uid": text()})
        }
        "/api/devices/allowed" => {
            json!({"devices_allowed": {"type": "object"}, "devices_allowed_uid": text()})
        }
        "/api/lock" | "/api/unlock" | "/api/lock/info" => json!({"lock_info": {"type": "object"},
            "lock_info_uid": text()}),
        "/api/plans/existing" => {
            json!({"plans_existing": {"type": "object"}, "plans_existing_uid": text()})
        }
        "/api/devices/existing" => {
            json!({"devices_existing": {"type": "object"}, "devices_existing_uid": text()})
        }
        "/api/re/runs" => json!({"run_list": list(), "run_list_uid": text()}),
        "/api/runs" => json!({"runs": list(), "next": {"type": ["string", "null"],
            "description": "pass as `before` for the next page; null on the last"}}),
        "/api/dispatches" => json!({"dispatches": list(), "next": {"type": ["integer", "null"],
            "description": "pass as `after` for the next page; null on the last"}}),
        "/api/dispatches/overview" => {
            json!({"counts": {"type": "object"}, "total": {"type": "integer"}})
        }
        "/api/audit" => json!({"entries": list()}),
        "/api/config/get" => json!({"config": {"type": "object"}}),
        "/api/console_output" => json!({"text": text()}),
        "/api/datasets" => json!({"datasets": list()}),
        "/api/applets" | "/api/applets/export" => {
            json!({"applets": list(), "groups": {"type": "object"}})
        }
        "/api/applets/conflicts" => json!({"conflicts": list()}),
        "/api/auth/whoami" => json!({"user": text(), "user_group": text(), "role": text(),
            "mode": text(), "scopes": {"type": "array", "items": text()},
            "csrf_token": {"type": ["string", "null"]}}),
        _ => json!({}),
    };
    let mut all: Map<String, Value> = props.as_object().cloned().unwrap_or_default();
    // Every reply says whether it worked; most (bluesky's) also carry a message.
    all.insert("success".into(), json!({"type": "boolean"}));
    all.insert("msg".into(), text());
    // A refusal keeps bluesky's keys but may null them or echo the request as
    // given (`"qsize": null, "item": null` in the recorded replies), so the
    // per-route shapes bind only when `success` is true.
    json!({"type": "object",
        "properties": {"success": {"type": "boolean"}, "msg": text()},
        "if": {"properties": {"success": {"const": true}}},
        "then": {"properties": all}})
}

fn list() -> Value {
    json!({"type": "array", "items": {"type": "object"}})
}

/// Schemas the descriptions above refer to.
pub fn components() -> Value {
    let kinds: Vec<&str> = AppletKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "Item": {
            "type": "object",
            "description": "a queue item as bluesky-queueserver has it",
            "properties": {
                "name": text(),
                "args": {"type": "array"},
                "kwargs": {"type": "object"},
                "item_type": {"enum": ["plan", "instruction", "function"]},
                "item_uid": text(),
                "meta": {"type": "object"},
                "user": text(),
                "user_group": text(),
                "result": {"type": "object"},
            },
        },
        "AppletContent": {
            "type": "object",
            "required": ["name", "group", "kind"],
            "properties": {
                "name": text(),
                "group": text(),
                "kind": {"enum": kinds},
                "spec": {"type": "object"},
                "auto_enable": {"type": "boolean"},
            },
        },
    })
}
