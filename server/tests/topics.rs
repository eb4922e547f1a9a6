//! The `queue`, `history` and `console` topics of `/api/stream`, and bluesky's own
//! `/api/status/ws` and `/api/console_output/ws`.

mod common;

use common::*;
use serde_json::{json, Value};

async fn subscribe(server: &TestServer, topic: &str) -> (Ws, Value) {
    let mut ws = server.ws().await;
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    send_json(&mut ws, json!({"type": "subscribe", "topics": [topic]})).await;
    assert_eq!(next_json(&mut ws).await["type"], "subscribed");
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    (ws, snapshot)
}

/// Applies a queue delta to a list of uids, as a browser would.
fn apply(order: &mut Vec<String>, delta: &Value) {
    let uid = |v: &Value| v.as_str().unwrap().to_string();
    match delta["op"].as_str().unwrap() {
        "insert" => order.insert(
            delta["index"].as_u64().unwrap() as usize,
            uid(&delta["item"]["item_uid"]),
        ),
        "remove" => order.retain(|u| *u != delta["uid"]),
        "move" => {
            order.retain(|u| *u != delta["uid"]);
            order.insert(
                delta["index"].as_u64().unwrap() as usize,
                uid(&delta["uid"]),
            );
        }
        "replace" => {
            let i = order.iter().position(|u| *u == delta["uid"]).unwrap();
            order[i] = uid(&delta["item"]["item_uid"]);
        }
        "clear" => order.clear(),
        "running" => {}
        other => panic!("unknown op {other}"),
    }
}

fn count(det: &str) -> Value {
    json!({"item": {"name": "count", "args": [[det]], "kwargs": {"num": 1}, "item_type": "plan"}})
}

#[tokio::test]
async fn queue_deltas_rebuild_the_queue_in_order() {
    let server = TestServer::start().await;
    api_ok(&server, "POST", "/api/queue/item/add", count("det1")).await;
    let (mut ws, snapshot) = subscribe(&server, "queue").await;
    let mut order: Vec<String> = snapshot["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_uid"].as_str().unwrap().into())
        .collect();
    assert_eq!(order.len(), 1);
    let mut seq = snapshot["seq"].as_u64().unwrap();

    let b = api_ok(&server, "POST", "/api/queue/item/add", count("det2")).await["item"]["item_uid"]
        .clone();
    api_ok(
        &server,
        "POST",
        "/api/queue/item/add",
        json!({"item": count("det")["item"], "pos": "front"}),
    )
    .await;
    api_ok(
        &server,
        "POST",
        "/api/queue/item/move",
        json!({"uid": b, "pos_dest": "front"}),
    )
    .await;
    api_ok(&server, "POST", "/api/queue/item/update", json!({"item": {"name": "count", "args": [["det4"]], "kwargs": {}, "item_type": "plan", "item_uid": b}, "replace": true})).await;
    api_ok(
        &server,
        "POST",
        "/api/queue/item/remove",
        json!({"pos": "back"}),
    )
    .await;
    let expected: Vec<String> = api_ok(&server, "GET", "/api/queue/get", json!({})).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_uid"].as_str().unwrap().into())
        .collect();
    for _ in 0..5 {
        let frame = next_matching(&mut ws, |f| f["type"] == "update").await;
        assert_eq!(
            frame["seq"].as_u64().unwrap(),
            seq + 1,
            "no gaps, no repeats"
        );
        seq += 1;
        apply(&mut order, &frame["data"]);
    }
    assert_eq!(order, expected);
}

#[tokio::test]
async fn a_finished_plan_moves_from_running_to_history() {
    let server = TestServer::start().await;
    let (mut status, _) = subscribed_to_status(&server).await;
    let (mut history, snap) = subscribe(&server, "history").await;
    assert_eq!(snap["data"]["items"], json!([]));
    let (mut queue, _) = subscribe(&server, "queue").await;
    api_ok(&server, "POST", "/api/environment/open", json!({})).await;
    wait_status(&mut status, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
    let uid = api_ok(&server, "POST", "/api/queue/item/add", count("det1")).await["item"]
        ["item_uid"]
        .clone();
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    let running = next_matching(&mut queue, |f| {
        f["data"]["op"] == "running" && !f["data"]["item"].is_null()
    })
    .await;
    assert_eq!(running["data"]["item"]["item_uid"], uid);
    let appended = next_matching(&mut history, |f| f["type"] == "update").await;
    assert_eq!(appended["data"]["op"], "append");
    assert_eq!(appended["data"]["item"]["item_uid"], uid);
    assert_eq!(
        appended["data"]["item"]["result"]["exit_status"],
        "completed"
    );
    next_matching(&mut queue, |f| {
        f["data"]["op"] == "running" && f["data"]["item"].is_null()
    })
    .await;
}

#[tokio::test]
async fn bluesky_status_and_console_sockets() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start().await;
    let connect = |path: &'static str| {
        let addr = server.addr;
        async move {
            let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
            req.headers_mut()
                .insert("authorization", format!("ApiKey {KEY}").parse().unwrap());
            tokio_tungstenite::connect_async(req)
                .await
                .expect("connects")
                .0
        }
    };
    let mut status_ws = connect("/api/status/ws").await;
    let mut console_ws = connect("/api/console_output/ws").await;
    let first = next_json(&mut status_ws).await;
    assert_eq!(first["msg"]["status"]["manager_state"], "idle");
    assert!(first["time"].is_f64());
    api_ok(&server, "POST", "/api/environment/open", json!({})).await;
    next_matching(&mut status_ws, |f| {
        f["msg"]["status"]["worker_environment_exists"] == true
    })
    .await;
    let line = next_json(&mut console_ws).await;
    assert!(
        line["msg"]
            .as_str()
            .unwrap()
            .contains("Creating the RE Worker environment"),
        "{line}"
    );
    assert!(line["time"].is_f64());
    // Without the key the upgrade is refused.
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/api/status/ws", server.addr)).await;
    assert!(refused.is_err());
}
