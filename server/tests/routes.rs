//! Every HTTP route, table-driven: an accepted request, a rejected one (HTTP 200 with
//! `success: false` and a message), and malformed bodies (not JSON, not an object → 422; a key
//! the route does not take → 400). Nothing may change on a rejection or a malformed request.

mod common;

use common::*;
use serde_json::{json, Value};

struct Route {
    method: &'static str,
    path: &'static str,
    ok: Value,
    /// A request the manager rejects, and a piece of its message.
    rejected: Option<(Value, &'static str)>,
    /// Whether an unknown body key is refused with 400.
    strict_keys: bool,
}

fn r(
    method: &'static str,
    path: &'static str,
    ok: Value,
    rejected: Option<(Value, &'static str)>,
) -> Route {
    Route {
        method,
        path,
        ok,
        rejected,
        strict_keys: true,
    }
}

fn plan() -> Value {
    json!({"name": "count", "args": [["det1"]], "kwargs": {"num": 1}, "item_type": "plan"})
}

#[tokio::test]
async fn every_route_accepts_rejects_and_refuses_malformed_bodies() {
    let server = TestServer::start().await;
    // Two items to work on.
    let a = api_ok(
        &server,
        "POST",
        "/api/queue/item/add",
        json!({"item": plan()}),
    )
    .await["item"]["item_uid"]
        .clone();
    let b = api_ok(
        &server,
        "POST",
        "/api/queue/item/add",
        json!({"item": plan()}),
    )
    .await["item"]["item_uid"]
        .clone();
    let mut updated = plan();
    updated["item_uid"] = a.clone();
    let routes = vec![
        r("GET", "/api/queue/get", json!({}), None),
        r(
            "GET",
            "/api/queue/item/get",
            json!({"uid": a}),
            Some((json!({"uid": "nope"}), "is not in the queue")),
        ),
        r(
            "POST",
            "/api/queue/item/update",
            json!({"item": updated}),
            Some((
                json!({"item": {"name": "count", "item_type": "plan", "item_uid": "nope", "args": [["det1"]]}}),
                "is not in the queue",
            )),
        ),
        r(
            "POST",
            "/api/queue/item/move",
            json!({"uid": b, "pos_dest": "front"}),
            Some((json!({"uid": "nope", "pos_dest": "front"}), "was not found")),
        ),
        r(
            "POST",
            "/api/queue/item/move/batch",
            json!({"uids": [a], "pos_dest": "front"}),
            Some((
                json!({"uids": ["nope"], "pos_dest": "front"}),
                "does not contain",
            )),
        ),
        r(
            "POST",
            "/api/queue/item/add",
            json!({"item": plan()}),
            Some((
                json!({"item": {"name": "nope", "item_type": "plan"}}),
                "not in the list of allowed plans",
            )),
        ),
        r(
            "POST",
            "/api/queue/item/add/batch",
            json!({"items": [plan()]}),
            Some((
                json!({"items": [{"name": "nope", "item_type": "plan"}]}),
                "validation of 1 out of 1",
            )),
        ),
        r(
            "POST",
            "/api/queue/item/validate",
            json!({"items": [plan()]}),
            Some((
                json!({"items": [{"name": "nope", "item_type": "plan"}]}),
                "validation of 1 out of 1",
            )),
        ),
        r(
            "POST",
            "/api/queue/item/remove",
            json!({"pos": "back"}),
            Some((json!({"uid": "nope"}), "is not in the queue")),
        ),
        r(
            "POST",
            "/api/queue/item/remove/batch",
            json!({"uids": ["nope"]}),
            Some((
                json!({"uids": ["nope"], "ignore_missing": false}),
                "does not contain",
            )),
        ),
        // A body without `mode` is the mode itself (as in bluesky), so unknown keys are mode errors.
        r(
            "POST",
            "/api/queue/mode/set",
            json!({"mode": "default"}),
            Some((
                json!({"mode": {"bogus": true}}),
                "Unsupported plan queue mode parameter",
            )),
        )
        .lenient(),
        r(
            "POST",
            "/api/queue/autostart",
            json!({"enable": false}),
            None,
        ),
        r("POST", "/api/queue/stop/cancel", json!({}), None),
        r("POST", "/api/queue/stop", json!({}), None)
            .rejected_only(json!({}), "Queue is not running"),
        r("POST", "/api/queue/start", json!({}), None)
            .rejected_only(json!({}), "environment does not exist"),
        r("POST", "/api/queue/item/execute", json!({}), None)
            .rejected_only(json!({"item": plan()}), "environment does not exist"),
        r("GET", "/api/history/get", json!({}), None),
        r(
            "POST",
            "/api/history/clear",
            json!({}),
            Some((json!({"size": 1, "item_uid": "x"}), "mutually exclusive")),
        ),
        r("POST", "/api/environment/close", json!({}), None)
            .rejected_only(json!({}), "environment does not exist"),
        r("POST", "/api/environment/destroy", json!({}), None)
            .rejected_only(json!({}), "RE environment does not exist"),
        r("POST", "/api/re/pause", json!({}), None)
            .rejected_only(json!({}), "Environment does not exist"),
        r("POST", "/api/re/resume", json!({}), None).rejected_only(json!({}), "not paused"),
        r("POST", "/api/re/stop", json!({}), None).rejected_only(json!({}), "not paused"),
        r("POST", "/api/re/abort", json!({}), None).rejected_only(json!({}), "not paused"),
        r("POST", "/api/re/halt", json!({}), None).rejected_only(json!({}), "not paused"),
        r("POST", "/api/re/runs", json!({"option": "open"}), None),
        r("GET", "/api/re/runs/active", json!({}), None).lenient(),
        r("GET", "/api/plans/allowed", json!({"reduced": true}), None),
        r("GET", "/api/plans/existing", json!({}), None),
        r("GET", "/api/devices/allowed", json!({}), None),
        r("GET", "/api/devices/existing", json!({}), None),
        r("GET", "/api/lock/info", json!({}), None),
        r(
            "POST",
            "/api/lock",
            json!({"lock_key": "k", "queue": true}),
            Some((
                json!({"lock_key": "k"}),
                "environment and/or queue must be selected",
            )),
        ),
        r("POST", "/api/unlock", json!({"lock_key": "k"}), None),
        r("GET", "/api/config/get", json!({}), None),
        r("GET", "/api/console_output", json!({}), None).lenient(),
        r("GET", "/api/console_output/uid", json!({}), None).lenient(),
        r(
            "GET",
            "/api/console_output_update",
            json!({"last_msg_uid": "ALL"}),
            None,
        ),
        r("GET", "/api/status", json!({}), None).lenient(),
        r("POST", "/api/environment/open", json!({}), None),
        r("POST", "/api/environment/open", json!({}), None).rejected_only(json!({}), "already"),
    ];
    for route in &routes {
        let (m, p) = (route.method, route.path);
        let before = api(&server, "GET", "/api/queue/get", json!({})).await.1["items"].clone();
        for bad in ["[1, 2]", "{not json"] {
            let (code, v) = raw(&server, m, p, bad).await;
            if !route.path.ends_with("/uid") && !route.path.ends_with("/active") {
                assert_eq!(code, 422, "{m} {p} with body {bad}: {v}");
                assert_eq!(v["success"], false, "{m} {p}");
            }
        }
        if route.strict_keys {
            let (code, v) = api(&server, m, p, json!({"bogus_key": 1})).await;
            assert_eq!(code, 400, "{m} {p} with an unknown key: {v}");
            assert!(
                v["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("bogus_key"),
                "{m} {p}: {v}"
            );
        }
        if let Some((body, want)) = &route.rejected {
            let (code, v) = api(&server, m, p, body.clone()).await;
            assert_eq!(code, 200, "{m} {p} {body}: {v}");
            assert_eq!(v["success"], false, "{m} {p} {body}: {v}");
            assert!(
                v["msg"].as_str().unwrap().contains(want),
                "{m} {p} {body}: {v} should say {want:?}"
            );
            let after = api(&server, "GET", "/api/queue/get", json!({})).await.1["items"].clone();
            assert_eq!(
                before, after,
                "{m} {p}: a rejected request changed the queue"
            );
        }
        if !route.ok.is_null() {
            let (code, v) = api(&server, m, p, route.ok.clone()).await;
            assert_eq!(code, 200, "{m} {p}: {v}");
            assert_ne!(v["success"], false, "{m} {p} {}: {v}", route.ok);
        }
    }
}

impl Route {
    /// Routes that cannot succeed here (no environment): only the rejection is checked.
    fn rejected_only(mut self, body: Value, want: &'static str) -> Route {
        self.ok = Value::Null;
        self.rejected = Some((body, want));
        self
    }

    /// Routes that ignore body keys, as their bluesky counterparts do.
    fn lenient(mut self) -> Route {
        self.strict_keys = false;
        self
    }
}

async fn raw(server: &TestServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (code, bytes) = api_raw(server, method, path, body).await;
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}
