//! Document ingest over HTTP and WebSocket: what is stored, what is refused, and that a refused
//! batch leaves everything as it was.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn fixture(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bluesky-docs")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .expect("server/tests/fixtures/bluesky-docs is in the repository");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn documents(server: &TestServer, run: &str) -> Vec<Value> {
    let (code, body) = api_raw(server, "GET", &format!("/api/runs/{run}/documents"), "").await;
    assert_eq!(code, 200);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn posted_fixtures_are_stored_unchanged() {
    let server = TestServer::start().await;
    for file in ["scan_with_baseline.jsonl", "count_img_external.jsonl"] {
        let docs = fixture(file);
        let reply = api_ok(
            &server,
            "POST",
            "/api/documents",
            Value::Array(docs.clone()),
        )
        .await;
        assert_eq!(reply["stored"], docs.len());
        let run = docs[0][1]["uid"].as_str().unwrap();
        assert_eq!(documents(&server, run).await, docs, "{file}");
    }
    // One pair on its own is a batch too.
    let single = json!(["start", {"uid": "lonely", "time": 5.0}]);
    assert_eq!(
        api_ok(&server, "POST", "/api/documents", single).await["stored"],
        1
    );
}

#[tokio::test]
async fn stream_resources_and_datums_are_stored_in_order() {
    // ophyd-async's detectors write frames to files and describe them with these (event-model
    // 1.19+); a real RunEngine's documents of that kind must not fail the batch.
    let server = TestServer::start().await;
    let docs = json!([
        ["start", {"uid": "sr-run", "time": 1.0, "plan_name": "count"}],
        ["descriptor", {"uid": "sr-d", "run_start": "sr-run", "time": 1.1, "name": "primary",
            "data_keys": {"cam": {"source": "sim", "dtype": "array", "shape": [1, 64, 64], "external": "STREAM:"}}}],
        ["stream_resource", {"uid": "sr-res", "run_start": "sr-run", "data_key": "cam",
            "mimetype": "application/x-hdf5", "uri": "file://localhost/tmp/cam.h5", "parameters": {"dataset": "/data"}}],
        ["stream_datum", {"uid": "sr-res/0", "stream_resource": "sr-res", "descriptor": "sr-d",
            "indices": {"start": 0, "stop": 2}, "seq_nums": {"start": 1, "stop": 3}}],
        ["stop", {"uid": "sr-stop", "run_start": "sr-run", "time": 2.0, "exit_status": "success"}],
    ]);
    let reply = api_ok(&server, "POST", "/api/documents", docs.clone()).await;
    assert_eq!(reply["stored"], 5);
    assert_eq!(Value::Array(documents(&server, "sr-run").await), docs);
    // A datum of a stream resource nobody sent is refused, naming it.
    let stray = json!([["stream_datum", {"uid": "x/0", "stream_resource": "nope", "descriptor": "sr-d",
        "indices": {"start": 0, "stop": 1}, "seq_nums": {"start": 1, "stop": 2}}]]);
    let (code, r) = api(&server, "POST", "/api/documents", stray).await;
    assert_eq!(code, 422, "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("unknown resource 'nope'"),
        "{r}"
    );
}

#[tokio::test]
async fn event_pages_are_accepted_and_read_back_as_events() {
    let server = TestServer::start().await;
    let docs = synthetic_run("paged", 3);
    api_ok(&server, "POST", "/api/documents", json!([docs[0], docs[1]])).await;
    let page = json!({"descriptor": "paged-d", "uid": ["p1", "p2"], "time": [1.5, 1.6], "seq_num": [1, 2],
                      "data": {"x": [1.0, 2.0], "det": [0.1, 0.2]}, "timestamps": {"x": [1, 1], "det": [1, 1]},
                      "filled": {}});
    api_ok(
        &server,
        "POST",
        "/api/documents",
        json!([["event_page", page]]),
    )
    .await;
    let stored = documents(&server, "paged").await;
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[3][0], "event");
    assert_eq!(stored[3][1]["uid"], "p2");
    assert_eq!(stored[3][1]["data"]["x"], 2.0);
}

#[tokio::test]
async fn malformed_batches_are_refused_whole_and_nothing_changes() {
    let server = TestServer::start().await;
    let run = synthetic_run("kept", 3);
    let (head, stop) = (&run[..run.len() - 1], &run[run.len() - 1]);
    api_ok(&server, "POST", "/api/documents", json!(head)).await;
    let before = documents(&server, "kept").await;
    let event = |uid: &str, descriptor: &str, seq: Value| {
        json!(["event", {"uid": uid, "time": 1.0, "data": {"x": 1.0}, "timestamps": {"x": 1.0},
                          "seq_num": seq, "descriptor": descriptor}])
    };
    let new_start = json!(["start", {"uid": "fresh", "time": 1.0}]);
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "not valid JSON"),
        (
            json!({"name": "start"}).to_string(),
            422,
            "must be a JSON array",
        ),
        (json!([["start"]]).to_string(), 422, "two-element array"),
        (
            json!([["start", {"uid": "no-time"}]]).to_string(),
            422,
            "document 0 (start): 'time' is missing",
        ),
        (
            json!([new_start, event("e-x", "nowhere", json!(1))]).to_string(),
            422,
            "document 1 (event): unknown descriptor 'nowhere'",
        ),
        (
            json!([new_start, run[0]]).to_string(),
            422,
            "document 1 (start): a document with this uid is already stored",
        ),
        (
            json!([event("kept-e1", "kept-d", json!(9))]).to_string(),
            422,
            "already stored",
        ),
        (
            json!([event("e-y", "kept-d", json!("1"))]).to_string(),
            422,
            "'seq_num' must be an integer",
        ),
        (
            json!([["stop", {"uid": "s", "run_start": "kept", "time": 1, "exit_status": "maybe"}]])
                .to_string(),
            422,
            "success, abort or fail",
        ),
        (
            json!([["datum", {"datum_id": "d/1", "resource": "nope", "datum_kwargs": {}}]])
                .to_string(),
            422,
            "unknown resource 'nope'",
        ),
        (
            json!([["movie", {}]]).to_string(),
            422,
            "unknown document type 'movie'",
        ),
        (
            format!(
                "[[\"start\", {{\"uid\": \"big\", \"time\": 1, \"pad\": \"{}\"}}]]",
                "x".repeat(40 << 20)
            ),
            413,
            "larger than the 32 MiB",
        ),
    ];
    for (body, status, want) in &cases {
        let (code, reply) = api_raw(&server, "POST", "/api/documents", body).await;
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        let shown = &body[..body.len().min(80)];
        assert_eq!(code, *status, "{shown}: {reply}");
        assert_eq!(reply["success"], false);
        assert!(
            reply["msg"].as_str().unwrap().contains(want),
            "{shown}: {reply}"
        );
    }
    // Nothing of any refused batch was stored, not even its valid first document.
    assert_eq!(documents(&server, "kept").await, before);
    let (code, _) = api(&server, "GET", "/api/runs/fresh", json!({})).await;
    assert_eq!(code, 404, "the start of a refused batch is not stored");
    // The server is healthy and the run can still be finished; nothing joins it after its stop.
    api_ok(&server, "POST", "/api/documents", json!([stop])).await;
    let (code, reply) = api(
        &server,
        "POST",
        "/api/documents",
        json!([event("late", "kept-d", json!(4))]),
    )
    .await;
    assert_eq!(code, 422);
    assert!(
        reply["msg"].as_str().unwrap().contains("already stopped"),
        "{reply}"
    );
    assert_eq!(documents(&server, "kept").await.len(), run.len());
}

#[tokio::test]
async fn websocket_publishers_get_one_answer_per_frame_in_order() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start().await;
    let mut req = format!("ws://{}/api/documents/ws", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("ApiKey {KEY}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connects");
    let run = synthetic_run("ws-run", 2000);
    let mut frames: Vec<String> = vec![json!(run[..2]).to_string(), "oops".to_string()];
    frames.extend(run[2..].chunks(100).map(|c| json!(c).to_string()));
    // Sent without waiting: acknowledgements come back in frame order.
    for f in &frames {
        ws.send(Message::Text(f.clone().into())).await.unwrap();
    }
    for n in 1..=frames.len() {
        let reply: Value = loop {
            match tokio::time::timeout(DEADLINE, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
            {
                Message::Text(t) => break serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        };
        assert_eq!(reply["frame"], n, "{reply}");
        if n == 2 {
            assert_eq!(reply["type"], "error");
            assert_eq!(reply["status"], 400);
            assert!(reply["msg"].as_str().unwrap().contains("not valid JSON"));
        } else {
            assert_eq!(reply["type"], "ack", "{reply}");
        }
    }
    assert_eq!(documents(&server, "ws-run").await.len(), run.len());
    // Without the key the socket is refused before it opens.
    let anonymous =
        tokio_tungstenite::connect_async(format!("ws://{}/api/documents/ws", server.addr)).await;
    assert!(anonymous.is_err());
}

/// A bluesky callback that POSTs each document on its own is never refused, however fast it
/// goes; a publisher whose requests keep being refused is slowed down after a burst.
#[tokio::test]
async fn a_publisher_posting_every_event_is_never_refused_and_a_failing_one_is_slowed() {
    let server = TestServer::start().await;
    let docs = synthetic_run("each", 2998);
    for (i, (name, doc)) in docs.iter().enumerate() {
        let (code, reply) = api(&server, "POST", "/api/documents", json!([[name, doc]])).await;
        assert_eq!(code, 200, "document {i} was refused: {reply}");
    }
    assert_eq!(documents(&server, "each").await.len(), 3001);

    let bad = json!([["event", {"uid": "x", "time": 1.0, "data": {}, "timestamps": {},
                               "seq_num": 1, "descriptor": "nowhere"}]]);
    let mut first_429 = None;
    for i in 0..40 {
        let (code, reply) = api(&server, "POST", "/api/documents", bad.clone()).await;
        assert_eq!(reply["success"], false, "{reply}");
        match code {
            422 => {}
            429 => {
                assert!(
                    reply["msg"]
                        .as_str()
                        .unwrap()
                        .contains("refused ingest requests"),
                    "{reply}"
                );
                first_429.get_or_insert(i);
            }
            _ => panic!("request {i}: {code} {reply}"),
        }
    }
    let first = first_429.expect("a failing publisher is slowed");
    assert!(
        first >= 20,
        "the first 20 refusals are answered in full, not {first}"
    );
}

/// The crafted event of issue 17 (a 2-D field of one long row and a million empty rows, ~7 MB)
/// and other misfits are refused at ingest, naming the document and the field; the run stays
/// readable and drawable.
#[tokio::test]
async fn event_data_must_fit_the_descriptor() {
    let server = TestServer::start().await;
    let start = json!(["start", {"uid": "img", "time": 1.0}]);
    let descriptor = json!(["descriptor", {"uid": "img-d", "run_start": "img", "time": 1.0,
        "name": "primary", "data_keys": {
            "frame": {"dtype": "array", "shape": [null, null], "source": "sim"},
            "x": {"dtype": "number", "shape": [], "source": "sim"}}}]);
    api_ok(
        &server,
        "POST",
        "/api/documents",
        json!([start, descriptor]),
    )
    .await;
    let event = |i: u64, frame: Value| {
        json!(["event", {"uid": format!("img-e{i}"), "time": 1.0, "data": {"frame": frame, "x": 1.0},
                         "timestamps": {"frame": 1.0, "x": 1.0}, "seq_num": i, "descriptor": "img-d"}])
    };
    api_ok(
        &server,
        "POST",
        "/api/documents",
        json!([event(1, json!([[1, 2], [3, 4]]))]),
    )
    .await;

    let mut rows = vec![json!(vec![0.0; 1_000_000])];
    rows.extend(std::iter::repeat_n(json!([]), 1_000_000));
    let crafted = json!([event(2, Value::Array(rows))]).to_string();
    assert!(crafted.len() > 6_000_000, "{}", crafted.len());
    let cases = [
        (
            crafted,
            "document 0 (event): 'data.frame': [1000001, 1000000] is more than the",
        ),
        (
            json!([event(2, json!([[1, 2], [3]]))]).to_string(),
            "'data.frame': ragged",
        ),
        (
            json!([["event", {"uid": "img-e2", "time": 1.0, "data": {"x": "one"},
                              "timestamps": {"x": 1.0}, "seq_num": 2, "descriptor": "img-d"}]])
            .to_string(),
            "'data.x' is a string but its descriptor says dtype 'number'",
        ),
        (
            json!([["event", {"uid": "img-e2", "time": 1.0, "data": {"y": 1},
                              "timestamps": {"y": 1.0}, "seq_num": 2, "descriptor": "img-d"}]])
            .to_string(),
            "'data.y' is not in the descriptor's data_keys (it has: frame, x)",
        ),
    ];
    for (body, want) in &cases {
        let (code, reply) = api_raw(&server, "POST", "/api/documents", body).await;
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(code, 422, "{reply}");
        assert!(reply["msg"].as_str().unwrap().contains(want), "{reply}");
    }
    assert_eq!(
        documents(&server, "img").await.len(),
        3,
        "nothing refused was stored"
    );
    let (code, _) = api_raw(
        &server,
        "GET",
        "/api/runs/img/plot.png?kind=image&field=frame",
        "",
    )
    .await;
    assert_eq!(code, 200, "the run is still drawn");
}
