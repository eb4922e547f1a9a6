//! The bluesky routes that work on the environment itself, against the simulated environment:
//! the catalogue it sends, environment/update and tasks, what needs Python, permissions in
//! bluesky's form, the spreadsheet upload and manager/stop. (The same routes against a real
//! RunEngine: end2end/python/test_bluesky_environment.py.)

mod common;

use common::*;
use serde_json::{json, Value};

async fn open(server: &TestServer, ws: &mut Ws) {
    api_ok(server, "POST", "/api/environment/open", json!({})).await;
    wait_status(ws, |s| {
        s["worker_environment_exists"] == true && s["manager_state"] == "idle"
    })
    .await;
}

#[tokio::test]
async fn the_simulated_environment_sends_its_catalogue_and_updates_it_as_a_task() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    let before = api_ok(&server, "GET", "/api/plans/allowed", json!({})).await;
    assert!(
        before["plans_allowed"]["grid_scan"].is_object(),
        "known before the first open"
    );
    let closed = api(&server, "POST", "/api/environment/update", json!({}))
        .await
        .1;
    assert_eq!(closed["success"], false);
    assert_eq!(closed["task_uid"], Value::Null);
    open(&server, &mut ws).await;
    let after = api_ok(&server, "GET", "/api/plans/allowed", json!({})).await;
    assert_eq!(
        before["plans_allowed"], after["plans_allowed"],
        "the same description, now from the worker"
    );
    // Strict types survive the trip: a scan without points is refused as before.
    let bad =
        json!({"item": {"name": "scan", "args": [["det"], "motor", -1, 1], "item_type": "plan"}});
    let r = api(&server, "POST", "/api/queue/item/add", bad).await.1;
    assert_eq!(r["success"], false);
    assert!(
        r["msg"].as_str().unwrap().contains("number of points"),
        "{r}"
    );

    let status_before = api(&server, "GET", "/api/status", json!({})).await.1;
    let task = api_ok(&server, "POST", "/api/environment/update", json!({})).await;
    let uid = task["task_uid"].as_str().unwrap().to_string();
    wait_status(&mut ws, |s| {
        s["task_results_uid"] != status_before["task_results_uid"] && s["manager_state"] == "idle"
    })
    .await;
    let done = api_ok(&server, "GET", "/api/task/result", json!({"task_uid": uid})).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"]["success"], true, "{done}");
    let many = api_ok(
        &server,
        "GET",
        "/api/task/status",
        json!({"task_uid": [uid, "nope"]}),
    )
    .await;
    assert_eq!(many["status"][&uid], "completed");
    assert_eq!(many["status"]["nope"], "not_found");
    let none = api_ok(
        &server,
        "GET",
        "/api/task/result",
        json!({"task_uid": "nope"}),
    )
    .await;
    assert_eq!(
        (none["status"].clone(), none["result"].clone()),
        (json!("not_found"), json!({}))
    );
}

#[tokio::test]
async fn scripts_and_functions_need_python_and_say_so() {
    let server = TestServer::start().await;
    let (mut ws, _) = subscribed_to_status(&server).await;
    open(&server, &mut ws).await;
    let r = api(
        &server,
        "POST",
        "/api/script/upload",
        json!({"script": "x = 1"}),
    )
    .await
    .1;
    assert_eq!(r["success"], false);
    assert!(
        r["msg"].as_str().unwrap().contains("--environment bluesky"),
        "{r}"
    );
    let f = json!({"item": {"name": "function_sleep", "args": [1], "item_type": "function"}});
    let r = api(&server, "POST", "/api/function/execute", f).await.1;
    assert_eq!(r["success"], false);
    assert_eq!(r["task_uid"], Value::Null);
    let r = api(&server, "POST", "/api/script/upload", json!({}))
        .await
        .1;
    assert!(
        r["msg"].as_str().unwrap().contains("'script' is missing"),
        "{r}"
    );
    let (code, _) = api(
        &server,
        "POST",
        "/api/script/upload",
        json!({"script": "x", "bogus": 1}),
    )
    .await;
    assert_eq!(
        code, 400,
        "unknown keys are refused like bluesky-httpserver"
    );
    let r = api(&server, "POST", "/api/kernel/interrupt", json!({}))
        .await
        .1;
    assert_eq!(r["success"], false);
    assert!(r["msg"].as_str().unwrap().contains("not in IPython mode"));
    // A function is never queued.
    let q = json!({"item": {"name": "f", "item_type": "function"}});
    let r = api(&server, "POST", "/api/queue/item/add", q).await.1;
    assert_eq!(r["success"], false);
}

#[tokio::test]
async fn permissions_in_bluesky_form_are_set_shown_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("permissions.toml");
    std::fs::write(
        &file,
        "[groups.primary]\nallowed_plans = [\".*\"]\nallowed_devices = [\".*\"]\n",
    )
    .unwrap();
    let path = file.clone();
    let server = TestServer::start_with(move |c| c.permissions = Some(path)).await;
    let shown = api_ok(&server, "GET", "/api/permissions/get", json!({})).await;
    assert!(
        shown["user_group_permissions"]["user_groups"]["primary"]["allowed_plans"][0]
            .as_str()
            .unwrap()
            .starts_with(':')
    );
    let set = json!({"user_group_permissions": {"user_groups": {"primary": {
        "allowed_plans": [":^count$"], "forbidden_plans": [null],
        "allowed_devices": [":?.*:depth=5"], "forbidden_devices": [":^det2$"]}}}});
    let before = api(&server, "GET", "/api/status", json!({})).await.1;
    api_ok(&server, "POST", "/api/permissions/set", set).await;
    let after = api(&server, "GET", "/api/status", json!({})).await.1;
    assert_ne!(
        before["plans_allowed_uid"], after["plans_allowed_uid"],
        "clients re-read the list"
    );
    let plans = api_ok(&server, "GET", "/api/plans/allowed", json!({})).await;
    let names: Vec<&String> = plans["plans_allowed"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["count"]);
    let det2 = json!({"item": {"name": "count", "args": [["det2"]], "item_type": "plan"}});
    let r = api(&server, "POST", "/api/queue/item/add", det2.clone())
        .await
        .1;
    assert!(r["msg"].as_str().unwrap().contains("device 'det2'"), "{r}");
    let bad = json!({"user_group_permissions": {"user_groups": {"primary": {"allowed_plan": []}}}});
    let r = api(&server, "POST", "/api/permissions/set", bad).await.1;
    assert_eq!(r["success"], false);
    assert!(r["msg"].as_str().unwrap().contains("allowed_plan"), "{r}");
    // Reload reads the file again: everything allowed once more.
    api_ok(&server, "POST", "/api/permissions/reload", json!({})).await;
    api_ok(&server, "POST", "/api/queue/item/add", det2).await;
    // A broken file changes nothing.
    std::fs::write(&file, "[groups.primary]\nallowed_plans = [\"(\"]\n").unwrap();
    let r = api(&server, "POST", "/api/permissions/reload", json!({}))
        .await
        .1;
    assert_eq!(r["success"], false);
    assert!(
        r["msg"].as_str().unwrap().contains("nothing was changed"),
        "{r}"
    );
    let plans = api_ok(&server, "GET", "/api/plans/allowed", json!({})).await;
    assert!(plans["plans_allowed"]["scan"].is_object());
}

async fn upload(server: &TestServer, csv: &str) -> (u16, Value) {
    use tower::ServiceExt;
    let boundary = "hutchboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"data_type\"\r\n\r\ncsv\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"spreadsheet\"; filename=\"plans.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/queue/upload/spreadsheet")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("authorization", format!("ApiKey {KEY}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = hutch_server::http::router(server.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_spreadsheet_upload_adds_all_rows_or_none() {
    let server = TestServer::start().await;
    let (code, r) = upload(
        &server,
        "name,args,num\ncount,\"[[\"\"det1\"\"]]\",3\ncount,\"[[\"\"det2\"\"]]\",2\n",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["qsize"], 2);
    let (_, r) = upload(
        &server,
        "name,args,num\ncount,\"[[\"\"det1\"\"]]\",3\nno_such_plan,,\n",
    )
    .await;
    assert_eq!(r["success"], false, "{r}");
    let q = api_ok(&server, "GET", "/api/queue/get", json!({})).await;
    assert_eq!(
        q["items"].as_array().unwrap().len(),
        2,
        "nothing of the bad sheet was added"
    );
}

#[tokio::test]
async fn manager_stop_checks_its_option_then_stops_hutch() {
    let mut server = TestServer::start().await;
    let r = api(
        &server,
        "POST",
        "/api/manager/stop",
        json!({"option": "later"}),
    )
    .await
    .1;
    assert_eq!(r["success"], false);
    api_ok(&server, "POST", "/api/manager/stop", json!({})).await;
    // The server shuts down by itself (the test's own stop is not needed).
    let mut shutdown = server.state.shutdown.clone();
    tokio::time::timeout(DEADLINE, shutdown.wait_for(|s| *s))
        .await
        .expect("hutch stops after manager/stop")
        .unwrap();
    server.shutdown().await;
}
