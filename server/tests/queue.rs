//! The queue end to end: HTTP routes, the manager, a real worker process running the simulated
//! environment, and the database.

mod common;

use common::*;
use serde_json::{json, Value};

fn count(det: &str, num: u64) -> Value {
    json!({"item": {"name": "count", "args": [[det]], "kwargs": {"num": num}, "item_type": "plan"}})
}

async fn open_environment(server: &TestServer, ws: &mut Ws) {
    api_ok(server, "POST", "/api/environment/open", json!({})).await;
    wait_status(ws, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
}

#[tokio::test]
async fn a_queue_runs_in_a_real_worker_and_lands_in_history() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    open_environment(&server, &mut ws).await;
    let a = api_ok(&server, "POST", "/api/queue/item/add", count("det1", 3)).await;
    assert_eq!(a["qsize"], 1);
    assert_eq!(a["item"]["user"], "UNAUTHENTICATED_SINGLE_USER");
    api_ok(
        &server,
        "POST",
        "/api/queue/item/add",
        json!({"item": {"name": "queue_stop", "item_type": "instruction"}}),
    )
    .await;
    let scan = json!({"item": {"name": "scan", "args": [["det"], "motor", -1, 1, 5], "kwargs": {}, "item_type": "plan"}});
    api_ok(&server, "POST", "/api/queue/item/add", scan).await;

    let started = api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    assert_eq!(started["msg"], "");
    let idle = wait_status(&mut ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 1
    })
    .await;
    assert_eq!(
        idle["items_in_queue"], 1,
        "the queue_stop instruction stopped the queue before the scan"
    );

    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    let item = &history["items"][0];
    assert_eq!(item["item_uid"], a["item"]["item_uid"]);
    assert_eq!(item["result"]["exit_status"], "completed");
    assert_eq!(item["result"]["run_uids"].as_array().unwrap().len(), 1);
    assert_eq!(item["result"]["scan_ids"], json!([1]));

    // The rest of the queue runs on the next start, with the next scan id.
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    wait_status(&mut ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 2
    })
    .await;
    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    assert_eq!(history["items"][1]["name"], "scan");
    assert_eq!(history["items"][1]["result"]["scan_ids"], json!([2]));

    api_ok(&server, "POST", "/api/environment/close", json!({})).await;
    wait_status(&mut ws, |s| {
        s["worker_environment_exists"] == false && s["manager_state"] == "idle"
    })
    .await;
}

#[tokio::test]
async fn pause_then_resume_and_pause_then_abort() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    open_environment(&server, &mut ws).await;
    let slow = json!({"item": {"name": "count", "args": [["det1"]], "kwargs": {"num": 200, "delay": 0.05}, "item_type": "plan"}});
    api_ok(&server, "POST", "/api/queue/item/add", slow.clone()).await;
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    wait_status(&mut ws, |s| s["re_state"] == "running").await;
    let runs = api_ok(&server, "GET", "/api/re/runs/active", json!({})).await;
    assert!(runs["run_list"].is_array());

    api_ok(
        &server,
        "POST",
        "/api/re/pause",
        json!({"option": "deferred"}),
    )
    .await;
    let paused = wait_status(&mut ws, |s| s["manager_state"] == "paused").await;
    assert_eq!(paused["re_state"], "paused");
    let (_, bad) = api(&server, "POST", "/api/re/pause", json!({"option": "bogus"})).await;
    assert_eq!(
        bad["msg"],
        "Option 'bogus' is not supported. Available options: ('deferred', 'immediate')"
    );
    api_ok(&server, "POST", "/api/re/resume", json!({})).await;
    wait_status(&mut ws, |s| {
        s["manager_state"] == "executing_queue" && s["re_state"] == "running"
    })
    .await;

    api_ok(
        &server,
        "POST",
        "/api/re/pause",
        json!({"option": "immediate"}),
    )
    .await;
    wait_status(&mut ws, |s| s["manager_state"] == "paused").await;
    api_ok(&server, "POST", "/api/re/abort", json!({})).await;
    wait_status(&mut ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 1
    })
    .await;
    // The dispatch records the pauses and the resume, in the same commits as the state.
    let log: Vec<String> = sqlx::query_scalar("SELECT status FROM dispatch_status_log ORDER BY id")
        .fetch_all(&server.state.db)
        .await
        .unwrap();
    assert_eq!(log, ["running", "paused", "running", "paused", "aborted"]);
    let queue = api_ok(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        1,
        "an aborted plan goes back to the front"
    );
    assert_eq!(queue["items"][0]["result"]["exit_status"], "aborted");
    let (_, not_paused) = api(&server, "POST", "/api/re/resume", json!({})).await;
    assert_eq!(
        not_paused["msg"],
        "RE Manager is not paused: current state is 'idle'"
    );
}

#[tokio::test]
async fn a_worker_that_dies_fails_its_item_and_a_new_environment_can_open() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    open_environment(&server, &mut ws).await;
    let slow = json!({"item": {"name": "count", "args": [["det1"]], "kwargs": {"num": 1000, "delay": 0.05}, "item_type": "plan"}});
    api_ok(&server, "POST", "/api/queue/item/add", slow).await;
    let (mut runs, _) = watching(&server, "runs").await;
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    let opened = next_update(&mut runs, "runs", |d| d["op"] == "opened").await;
    let run = opened["run"]["uid"].as_str().unwrap().to_string();
    let running = wait_status(&mut ws, |s| {
        s["re_state"] == "running" && s["hutch"]["worker_pid"].is_u64()
    })
    .await;
    let pid = running["hutch"]["worker_pid"].as_u64().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap()
        .success());

    let gone = wait_status(&mut ws, |s| s["worker_environment_exists"] == false).await;
    assert_eq!(gone["manager_state"], "idle");
    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    let result = &history["items"][0]["result"];
    assert_eq!(result["exit_status"], "failed");
    assert!(
        result["msg"].as_str().unwrap().contains("killed"),
        "{result}"
    );
    let queue = api_ok(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        1,
        "the item is back in front"
    );
    // The run the worker opened is not left open: hutch stopped it, and said why.
    let closed = next_update(&mut runs, "runs", |d| d["op"] == "closed").await;
    assert_eq!(closed["run"]["uid"], run.as_str(), "{closed}");
    assert_eq!(closed["run"]["exit_status"], "abort", "{closed}");
    let stored = api_ok(&server, "GET", &format!("/api/runs/{run}"), json!({})).await;
    let reason = stored["run"]["stop"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("closed by hutch: RE Worker process was killed"),
        "{stored}"
    );
    open_environment(&server, &mut ws).await;
}

#[tokio::test]
async fn rejected_requests_say_why_and_change_nothing() {
    let server = TestServer::start().await;
    let (status, v) = api(&server, "POST", "/api/queue/item/add", json!({"item": {"name": "nonexistent_plan", "args": [], "kwargs": {}, "item_type": "plan"}})).await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], false);
    assert_eq!(v["msg"], "Failed to add an item: Plan validation failed: Plan 'nonexistent_plan' is not in the list of allowed plans.");
    assert_eq!(v["qsize"], Value::Null);
    let (_, v) = api(&server, "POST", "/api/queue/item/add", count("nodevice", 1)).await;
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("\"nodevice\" is not a readable device"),
        "{v}"
    );
    let (_, v) = api(&server, "POST", "/api/queue/item/add", json!({})).await;
    assert_eq!(
        v["msg"],
        "Failed to add an item: Incorrect request format: request contains no item info"
    );
    let (_, v) = api(
        &server,
        "POST",
        "/api/queue/item/add",
        json!({"item": {"name": "count", "args": [["det1"]]}}),
    )
    .await;
    assert_eq!(
        v["msg"],
        "Failed to add an item: Incorrect request format: 'item_type' key is not found"
    );
    let (status, v) = api(&server, "POST", "/api/queue/start", json!({"bogus": 1})).await;
    assert_eq!(status, 400);
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("unexpected keyword argument 'bogus'"));
    let (_, v) = api(&server, "POST", "/api/queue/start", json!({})).await;
    assert_eq!(v["msg"], "RE Worker environment does not exist.");
    let (_, v) = api(
        &server,
        "GET",
        "/api/queue/item/get",
        json!({"uid": "no-such-uid"}),
    )
    .await;
    assert_eq!(
        v["msg"],
        "Failed to get an item: Item with UID 'no-such-uid' is not in the queue."
    );
    let queue = api_ok(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(queue["items"], json!([]));
}

#[tokio::test]
async fn editing_routes_follow_the_reference() {
    let server = TestServer::start().await;
    let mut uids = Vec::new();
    for det in ["det1", "det2", "det4"] {
        uids.push(
            api_ok(&server, "POST", "/api/queue/item/add", count(det, 1)).await["item"]["item_uid"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let front = api_ok(&server, "POST", "/api/queue/item/add", json!({"item": {"name": "count", "args": [["det"]], "kwargs": {}, "item_type": "plan"}, "pos": "front"})).await;
    let f = front["item"]["item_uid"].as_str().unwrap().to_string();
    let order = |q: &Value| {
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item_uid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(&api_ok(&server, "GET", "/api/queue/get", json!({})).await),
        [f.clone(), uids[0].clone(), uids[1].clone(), uids[2].clone()]
    );

    api_ok(
        &server,
        "POST",
        "/api/queue/item/move",
        json!({"uid": f, "pos_dest": "back"}),
    )
    .await;
    api_ok(
        &server,
        "POST",
        "/api/queue/item/move/batch",
        json!({"uids": [uids[2], uids[1]], "pos_dest": "front"}),
    )
    .await;
    assert_eq!(
        order(&api_ok(&server, "GET", "/api/queue/get", json!({})).await),
        [uids[2].clone(), uids[1].clone(), uids[0].clone(), f.clone()]
    );

    let got = api_ok(&server, "GET", "/api/queue/item/get", json!({"pos": 0})).await;
    assert_eq!(got["item"]["item_uid"], uids[2]);
    let updated = api_ok(&server, "POST", "/api/queue/item/update", json!({"item": {"name": "count", "args": [["det1"]], "kwargs": {"num": 7}, "item_type": "plan", "item_uid": uids[2]}})).await;
    assert_eq!(updated["item"]["item_uid"], uids[2]);
    assert_eq!(updated["item"]["kwargs"]["num"], 7);
    let removed = api_ok(&server, "POST", "/api/queue/item/remove", json!({})).await;
    assert_eq!(removed["item"]["item_uid"], f, "default removes the back");
    let batch = api_ok(
        &server,
        "POST",
        "/api/queue/item/remove/batch",
        json!({"uids": [uids[0], "missing"]}),
    )
    .await;
    assert_eq!(batch["items"].as_array().unwrap().len(), 1);
    let (_, v) = api(
        &server,
        "POST",
        "/api/queue/item/remove/batch",
        json!({"uids": ["missing"], "ignore_missing": false}),
    )
    .await;
    assert_eq!(v["msg"], "Failed to remove a batch of items: The queue does not contain items with the following UIDs: ['missing']");

    let added = api_ok(
        &server,
        "POST",
        "/api/queue/item/add/batch",
        json!({"items": [count("det1", 1)["item"], count("det2", 2)["item"]]}),
    )
    .await;
    assert_eq!(
        added["results"],
        json!([{"success": true, "msg": ""}, {"success": true, "msg": ""}])
    );
    let (_, bad) = api(&server, "POST", "/api/queue/item/add/batch", json!({"items": [count("det1", 1)["item"], {"name": "nope", "args": [], "kwargs": {}, "item_type": "plan"}]})).await;
    assert_eq!(bad["success"], false);
    assert_eq!(
        bad["msg"],
        "Failed to add all items: validation of 1 out of 2 submitted items failed"
    );
    assert_eq!(bad["qsize"], 4, "nothing was added");

    // The spreadsheet preview's check: a verdict per item, in the words item/add uses, and
    // nothing added.
    let (code, checked) = api(
        &server,
        "POST",
        "/api/queue/item/validate",
        json!({"items": [count("det1", 1)["item"], {"name": "count", "args": [["det1"]], "kwargs": {"num": "five"}, "item_type": "plan"}]}),
    )
    .await;
    assert_eq!(code, 200, "{checked}");
    assert_eq!(checked["success"], false);
    assert_eq!(checked["results"][0], json!({"success": true, "msg": ""}));
    let why = checked["results"][1]["msg"].as_str().unwrap();
    assert!(
        why.starts_with("Plan validation failed:") && why.contains("num"),
        "{why}"
    );
    let (_, queue) = api(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(
        queue["items"].as_array().unwrap().len(),
        4,
        "validation adds nothing"
    );
    let (code, none) = api(&server, "POST", "/api/queue/item/validate", json!({})).await;
    assert_eq!(code, 400, "{none}");
    assert!(none["msg"].as_str().unwrap().contains("'items'"), "{none}");

    api_ok(
        &server,
        "POST",
        "/api/queue/mode/set",
        json!({"mode": {"loop": true}}),
    )
    .await;
    let status = api(&server, "GET", "/api/status", json!({})).await.1;
    assert_eq!(status["plan_queue_mode"]["loop"], true);
    let (_, v) = api(
        &server,
        "POST",
        "/api/queue/mode/set",
        json!({"mode": {"bogus": true}}),
    )
    .await;
    assert_eq!(v["msg"], "Failed to set queue mode: Unsupported plan queue mode parameter 'bogus': supported parameters ['loop', 'ignore_failures']");
    api_ok(&server, "POST", "/api/queue/clear", json!({})).await;
    assert_eq!(
        api_ok(&server, "GET", "/api/queue/get", json!({})).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn the_lock_guards_the_queue_and_the_emergency_key_unlocks() {
    let server = TestServer::start_with(|c| c.emergency_lock_key = Some("sos".into())).await;
    let locked = api_ok(
        &server,
        "POST",
        "/api/lock",
        json!({"lock_key": "k1", "environment": true, "queue": true, "note": "beamtime"}),
    )
    .await;
    assert_eq!(locked["lock_info"]["queue"], true);
    assert_eq!(locked["lock_info"]["emergency_lock_key_is_set"], true);
    let (_, v) = api(&server, "POST", "/api/queue/item/add", count("det1", 1)).await;
    assert!(v["msg"].as_str().unwrap().starts_with("Failed to add an item: Invalid lock key: \nRE Manager is locked by UNAUTHENTICATED_SINGLE_USER"));
    assert_eq!(v["item"], Value::Null);
    let mut with_key = count("det1", 1);
    with_key["lock_key"] = json!("k1");
    api_ok(&server, "POST", "/api/queue/item/add", with_key).await;
    let status = api(&server, "GET", "/api/status", json!({})).await.1;
    assert_eq!(status["lock"], json!({"environment": true, "queue": true}));
    let (_, v) = api(&server, "POST", "/api/unlock", json!({"lock_key": "wrong"})).await;
    assert_eq!(v["success"], false);
    api_ok(&server, "POST", "/api/unlock", json!({"lock_key": "sos"})).await;
    api_ok(&server, "POST", "/api/queue/item/add", count("det1", 1)).await;
}

#[tokio::test]
async fn plans_and_devices_are_published_in_the_reference_format() {
    let server = TestServer::start().await;
    let full = api_ok(&server, "GET", "/api/plans/allowed", json!({})).await;
    assert!(full["plans_allowed"]["grid_scan"]["parameters"].is_array());
    let status = api(&server, "GET", "/api/status", json!({})).await.1;
    assert_eq!(full["plans_allowed_uid"], status["plans_allowed_uid"]);
    let reduced = api_ok(
        &server,
        "GET",
        "/api/plans/allowed",
        json!({"reduced": true}),
    )
    .await;
    assert_eq!(
        reduced["plans_allowed"]["count"]["parameters"][1]["type"],
        "int"
    );
    let (code, v) = api(&server, "GET", "/api/plans/allowed", json!({"bogus": 1})).await;
    assert_eq!(code, 400);
    assert_eq!(
        v["detail"],
        "Request contains keys the are not supported: {'bogus'}."
    );
    let devices = api_ok(&server, "GET", "/api/devices/allowed", json!({})).await;
    assert_eq!(devices["devices_allowed"]["motor1"]["is_movable"], true);
}

#[tokio::test]
async fn a_10000_point_scan_runs_to_completion() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    open_environment(&server, &mut ws).await;
    let scan = json!({"item": {"name": "scan", "args": [["det", "noisy_det"], "motor", -1, 1, 10000], "kwargs": {}, "item_type": "plan"}});
    api_ok(&server, "POST", "/api/queue/item/add", scan).await;
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    wait_status(&mut ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 1
    })
    .await;
    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    assert_eq!(history["items"][0]["result"]["exit_status"], "completed");
}

/// Commit, then publish: a change the database refuses (here a trigger stands in for a full
/// disk) is answered as not made, is not published, and leaves the state as stored; once the
/// database accepts again everything works on from there.
#[tokio::test]
async fn a_change_the_database_refuses_is_not_made_and_not_published() {
    let server = TestServer::start().await;
    let (mut status_ws, _) = subscribed_to_status(&server).await;
    open_environment(&server, &mut status_ws).await;
    let kept = api_ok(&server, "POST", "/api/queue/item/add", count("det1", 1)).await;
    let (mut queue_ws, _) = watching(&server, "queue").await;
    let refuse = |table: &str| {
        format!("CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
    };

    sqlx::query(&refuse("queue_items"))
        .execute(&server.state.db)
        .await
        .unwrap();
    let (_, r) = api(&server, "POST", "/api/queue/item/add", count("det1", 2)).await;
    assert_eq!(r["success"], false, "{r}");
    let msg = r["msg"].as_str().unwrap();
    assert!(
        msg.contains("could not store this change") && msg.contains("disk full (test)"),
        "{msg}"
    );
    let q = api_ok(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(q["items"].as_array().unwrap().len(), 1, "{q}");
    sqlx::query("DROP TRIGGER refuse_queue_items")
        .execute(&server.state.db)
        .await
        .unwrap();
    let next = api_ok(&server, "POST", "/api/queue/item/add", count("det1", 3)).await;
    let update = next_update(&mut queue_ws, "queue", |_| true).await;
    assert_eq!(update["op"], "insert", "the refused add went out: {update}");
    assert_eq!(update["item"]["item_uid"], next["item"]["item_uid"]);
    assert_eq!(update["index"], 1);

    // A start whose execution record cannot be written does not start anything.
    sqlx::query(&refuse("dispatches"))
        .execute(&server.state.db)
        .await
        .unwrap();
    let (_, r) = api(&server, "POST", "/api/queue/start", json!({})).await;
    assert_eq!(r["success"], false, "{r}");
    let (_, s) = api(&server, "GET", "/api/status", json!({})).await;
    assert_eq!(s["manager_state"], "idle", "{s}");
    assert_eq!(s["items_in_queue"], 2, "{s}");
    assert_eq!(s["running_item_uid"], Value::Null, "{s}");
    sqlx::query("DROP TRIGGER refuse_dispatches")
        .execute(&server.state.db)
        .await
        .unwrap();
    api_ok(&server, "POST", "/api/queue/start", json!({})).await;
    let done = wait_status(&mut status_ws, |s| {
        s["manager_state"] == "idle" && s["items_in_history"] == 2
    })
    .await;
    assert_eq!(done["items_in_queue"], 0, "{done}");
    let history = api_ok(&server, "GET", "/api/history/get", json!({})).await;
    assert_eq!(history["items"][0]["item_uid"], kept["item"]["item_uid"]);
    assert_eq!(history["items"][0]["result"]["exit_status"], "completed");
}
