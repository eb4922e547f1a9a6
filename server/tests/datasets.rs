//! Datasets: the HTTP routes, the `datasets` topic, persistence, the mirror file, and the
//! simulated environment's datasets.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn datasets_are_set_read_changed_and_deleted() {
    let server = TestServer::start().await;
    let d = api_ok(
        &server,
        "PUT",
        "/api/datasets/beam.current",
        json!({"value": 101.5, "unit": "mA", "precision": 1}),
    )
    .await;
    assert_eq!(d["dataset"]["version"], 1);
    assert_eq!(d["dataset"]["unit"], "mA");
    assert_eq!(d["dataset"]["set_by"], "UNAUTHENTICATED_SINGLE_USER");
    api_ok(
        &server,
        "PUT",
        "/api/datasets/beam.energy",
        json!({"value": 12.4}),
    )
    .await;
    api_ok(&server, "PUT", "/api/datasets/other", json!({"value": "x"})).await;
    let list = api_ok(&server, "GET", "/api/datasets?prefix=beam.", json!({})).await;
    let keys: Vec<&str> = list["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["beam.current", "beam.energy"]);
    // A new value keeps the metadata.
    let d = api_ok(
        &server,
        "PUT",
        "/api/datasets/beam.current",
        json!({"value": 99.0}),
    )
    .await;
    assert_eq!(
        (
            d["dataset"]["unit"].clone(),
            d["dataset"]["version"].clone()
        ),
        (json!("mA"), json!(2))
    );

    api_ok(
        &server,
        "PUT",
        "/api/datasets/trace",
        json!({"value": [1, 2]}),
    )
    .await;
    let d = api_ok(
        &server,
        "POST",
        "/api/datasets/trace/append",
        json!({"values": [3, 4]}),
    )
    .await;
    assert_eq!(d["dataset"]["value"], json!([1, 2, 3, 4]));
    let d = api_ok(
        &server,
        "POST",
        "/api/datasets/trace/set_element",
        json!({"index": 0, "value": 9}),
    )
    .await;
    assert_eq!(d["dataset"]["value"], json!([9, 2, 3, 4]));
    api_ok(
        &server,
        "PUT",
        "/api/datasets/map",
        json!({"value": [[1, 2], [3, 4]]}),
    )
    .await;
    let d = api_ok(
        &server,
        "POST",
        "/api/datasets/map/set_element",
        json!({"index": [1, 0], "value": 7}),
    )
    .await;
    assert_eq!(d["dataset"]["value"], json!([[1, 2], [7, 4]]));

    api_ok(&server, "DELETE", "/api/datasets/other", json!({})).await;
    let (code, _) = api(&server, "GET", "/api/datasets/other", json!({})).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn bad_requests_say_what_to_fix_and_change_nothing() {
    let server = TestServer::start().await;
    api_ok(&server, "PUT", "/api/datasets/kept", json!({"value": 1.0})).await;
    let cases = [
        (
            "PUT",
            "/api/datasets/bad%20key",
            json!({"value": 1}),
            422,
            "dotted words",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": {"a": 1}}),
            422,
            "must be a number, string, bool",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": [[1], [2, 3]]}),
            422,
            "equal length",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({}),
            422,
            "'value' is missing",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": 1, "colour": "red"}),
            400,
            "unknown key 'colour'",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": 1, "precision": 99}),
            422,
            "'precision'",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": 1, "unit": 5}),
            422,
            "PUT /api/datasets/{key}: 'unit' cannot be 5: it must be a string",
        ),
        (
            "PUT",
            "/api/datasets/kept",
            json!({"value": 1, "persist": "yes"}),
            422,
            "'persist' cannot be \"yes\": it must be a boolean",
        ),
        (
            "POST",
            "/api/datasets/kept/append",
            json!({"value": 2}),
            422,
            "single value, not a list",
        ),
        (
            "POST",
            "/api/datasets/kept/set_element",
            json!({"index": 0, "value": 2}),
            422,
            "outside dataset",
        ),
        (
            "POST",
            "/api/datasets/none/set_element",
            json!({"index": 0, "value": 2}),
            404,
            "no dataset 'none'",
        ),
        (
            "DELETE",
            "/api/datasets/none",
            json!({}),
            404,
            "no dataset 'none'",
        ),
    ];
    for (method, path, body, status, want) in cases {
        let (code, reply) = api(&server, method, path, body.clone()).await;
        assert_eq!(code, status, "{method} {path} {body}: {reply}");
        assert!(
            reply["msg"].as_str().unwrap().contains(want),
            "{method} {path} {body}: {reply}"
        );
    }
    let d = api_ok(&server, "GET", "/api/datasets/kept", json!({})).await;
    assert_eq!(
        (
            d["dataset"]["value"].clone(),
            d["dataset"]["version"].clone()
        ),
        (json!(1.0), json!(1))
    );
}

#[tokio::test]
async fn changes_reach_subscribers_as_diffs() {
    let server = TestServer::start().await;
    api_ok(&server, "PUT", "/api/datasets/a", json!({"value": [1]})).await;
    let (mut ws, snapshot) = watching(&server, "datasets").await;
    assert_eq!(snapshot["datasets"][0]["key"], "a");
    api_ok(
        &server,
        "POST",
        "/api/datasets/a/append",
        json!({"value": 2}),
    )
    .await;
    let delta = next_update(&mut ws, "datasets", |_| true).await;
    assert_eq!(
        delta,
        json!({"op": "append", "key": "a", "values": [2], "version": 2,
        "set_by": "UNAUTHENTICATED_SINGLE_USER", "updated_at": delta["updated_at"]})
    );
    api_ok(&server, "DELETE", "/api/datasets/a", json!({})).await;
    assert_eq!(
        next_update(&mut ws, "datasets", |_| true).await,
        json!({"op": "delete", "key": "a"})
    );
}

#[tokio::test]
async fn persistent_datasets_survive_a_restart_and_are_mirrored() {
    let mut server = TestServer::start().await;
    api_ok(
        &server,
        "PUT",
        "/api/datasets/cal.offset",
        json!({"value": 0.25, "persist": true, "unit": "mm"}),
    )
    .await;
    api_ok(&server, "PUT", "/api/datasets/scratch", json!({"value": 5})).await;
    let mirror = server.dir.path().join("datasets.json");
    let text = wait_file(&mirror, |t| t.contains("cal.offset")).await;
    assert!(
        !text.contains("scratch"),
        "only persistent datasets are mirrored:\n{text}"
    );
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["datasets"]["cal.offset"]["value"], 0.25);
    assert_eq!(file["datasets"]["cal.offset"]["unit"], "mm");

    server.shutdown().await;
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    let server = TestServer::start_in(dir, |_| {}).await;
    let d = api_ok(&server, "GET", "/api/datasets/cal.offset", json!({})).await;
    assert_eq!(d["dataset"]["value"], 0.25);
    let (code, _) = api(&server, "GET", "/api/datasets/scratch", json!({})).await;
    assert_eq!(
        code, 404,
        "a non-persistent dataset is gone after a restart"
    );
}

#[tokio::test]
async fn an_edit_of_the_mirror_file_is_imported_and_a_broken_file_changes_nothing() {
    let server = TestServer::start().await;
    api_ok(
        &server,
        "PUT",
        "/api/datasets/cal.offset",
        json!({"value": 0.25, "persist": true}),
    )
    .await;
    let mirror = server.dir.path().join("datasets.json");
    let text = wait_file(&mirror, |t| t.contains("cal.offset")).await;
    let (mut ws, _) = watching(&server, "datasets").await;
    std::fs::write(&mirror, text.replace("0.25", "0.5")).unwrap();
    let delta = next_update(&mut ws, "datasets", |d| d["op"] == "set").await;
    assert_eq!(delta["dataset"]["value"], 0.5);
    assert!(
        delta["dataset"]["set_by"]
            .as_str()
            .unwrap()
            .starts_with("file:"),
        "{delta}"
    );

    // hutch rewrites the file after the import; break it only after that.
    wait_file(&mirror, |t| t.contains("\"set_by\": \"file:")).await;
    let (mut console, _) = watching(&server, "console").await;
    std::fs::write(&mirror, "{ not json").unwrap();
    let line = next_update(&mut console, "console", |l| {
        l["msg"].as_str().unwrap().contains("not imported")
    })
    .await;
    assert!(
        line["msg"].as_str().unwrap().contains("not valid JSON"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(mirror.with_extension("json.rejected")).unwrap(),
        "{ not json"
    );
    let d = api_ok(&server, "GET", "/api/datasets/cal.offset", json!({})).await;
    assert_eq!(d["dataset"]["value"], 0.5, "the database is untouched");
}

#[tokio::test]
async fn a_simulated_scan_sets_readings_and_its_peak_and_asks_for_a_plot() {
    let server = TestServer::start().await;
    let _ws = run_plan(&server, json!({"name": "scan", "args": [["det"], "motor", -1, 1, 11], "kwargs": {}, "item_type": "plan"})).await;

    let last = api_ok(&server, "GET", "/api/datasets/det.last", json!({})).await["dataset"].clone();
    assert!(last["value"].is_number());
    assert_eq!(last["persist"], false);
    assert!(
        last["set_by"].as_str().unwrap().starts_with("dispatch:"),
        "{last}"
    );
    // det is a Gaussian centred on motor = 0: the scan's peak is there.
    let peak =
        api_ok(&server, "GET", "/api/datasets/peak.det.motor", json!({})).await["dataset"].clone();
    assert!(peak["value"].as_f64().unwrap().abs() < 0.21, "{peak}");
    assert_eq!(peak["persist"], true);
    let applets = api_ok(&server, "GET", "/api/applets", json!({})).await;
    let plot = &applets["applets"][0];
    assert_eq!(plot["name"], "scan: det vs motor");
    assert_eq!(plot["updated_by"], "plan:scan");
    assert_eq!(
        plot["spec"],
        json!({"latest_of_plan": "scan", "x": "motor", "y": ["det"]})
    );
}
