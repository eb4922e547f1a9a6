//! `kill -9` of the whole server while a plan runs: after a restart the interrupted item is back
//! at the front of the queue, history records the interrupted attempt, nothing else is lost or
//! duplicated.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn kill_9_while_a_plan_runs_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut hutch = Process::start(dir.path());
    let addr = hutch.addr;
    http(addr, "POST", "/api/environment/open", json!({})).await;
    wait_process_status(addr, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
    let done = json!({"item": {"name": "count", "args": [["det1"]], "kwargs": {"num": 1}, "item_type": "plan"}});
    let slow = json!({"item": {"name": "count", "args": [["det1"]], "kwargs": {"num": 1000, "delay": 0.05}, "item_type": "plan"}});
    let waiting = json!({"item": {"name": "scan", "args": [["det"], "motor", -1, 1, 3], "kwargs": {}, "item_type": "plan"}});
    // One completed item in history first.
    http(addr, "POST", "/api/queue/item/add", done.clone()).await;
    http(addr, "POST", "/api/queue/start", json!({})).await;
    wait_process_status(addr, |s| {
        s["items_in_history"] == 1 && s["manager_state"] == "idle"
    })
    .await;
    let (_, slow_added) = http(addr, "POST", "/api/queue/item/add", slow).await;
    let (_, waiting_added) = http(addr, "POST", "/api/queue/item/add", waiting).await;
    http(
        addr,
        "POST",
        "/api/queue/mode/set",
        json!({"mode": {"ignore_failures": true}}),
    )
    .await;
    http(addr, "POST", "/api/queue/start", json!({})).await;
    let running = wait_process_status(addr, |s| s["re_state"] == "running").await;
    assert_eq!(running["running_item_uid"], slow_added["item"]["item_uid"]);
    let worker_pid = running["hutch"]["worker_pid"].as_u64().unwrap();
    // Its run is open (start stored) when the server dies.
    let open = wait_process_get(addr, "/api/runs?status=open", |r| {
        r["runs"].as_array().is_some_and(|l| l.len() == 1)
    })
    .await;
    let run = open["runs"][0]["uid"].as_str().unwrap().to_string();

    hutch.kill9();
    // The orphaned worker sees its stdin close and exits at once; make sure of it anyway.
    let _ = std::process::Command::new("kill")
        .args(["-9", &worker_pid.to_string()])
        .status();

    let hutch = Process::start(dir.path());
    let addr = hutch.addr;
    let (_, queue) = http(addr, "GET", "/api/queue/get", json!({})).await;
    let items = queue["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the interrupted item and the waiting one: {queue}"
    );
    assert_eq!(items[0]["name"], "count");
    assert_eq!(items[0]["kwargs"]["num"], 1000);
    assert_eq!(items[0]["result"]["exit_status"], "interrupted");
    assert_eq!(items[1]["item_uid"], waiting_added["item"]["item_uid"]);
    let (_, history) = http(addr, "GET", "/api/history/get", json!({})).await;
    let h = history["items"].as_array().unwrap();
    assert_eq!(
        h.len(),
        2,
        "the completed run and the interrupted attempt: {history}"
    );
    assert_eq!(h[0]["result"]["exit_status"], "completed");
    assert_eq!(h[1]["item_uid"], slow_added["item"]["item_uid"]);
    assert_eq!(h[1]["result"]["exit_status"], "interrupted");
    let (_, status) = http(addr, "GET", "/api/status", json!({})).await;
    assert_eq!(
        status["plan_queue_mode"]["ignore_failures"], true,
        "modes survive"
    );
    assert_eq!(status["worker_environment_exists"], false);
    assert_eq!(status["manager_state"], "idle");
    // The run the dead server left open is stopped, saying so; none stays open.
    let (_, open) = http(addr, "GET", "/api/runs?status=open", json!({})).await;
    assert_eq!(open["runs"], json!([]), "{open}");
    let (_, stored) = http(addr, "GET", &format!("/api/runs/{run}"), json!({})).await;
    assert_eq!(stored["run"]["exit_status"], "abort", "{stored}");
    let reason = stored["run"]["stop"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("closed by hutch: hutch stopped while this run was open"),
        "{stored}"
    );
}
